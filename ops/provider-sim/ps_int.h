/* ps_int.h -- the provider simulator's shared types and functions.
 *
 * ops/provider-sim/ is one program (ops/README.md maps its files): one HTTP
 * server that simulates the five payment providers (Payofin, Sipay, Paywall,
 * İş Bankası, PayOne) at their documented paths, with deterministic invoices,
 * balances that go down, double-payment detection and fault injection
 * (issue 4).
 *
 * DESIGN
 * One libevent loop, one thread: an evhttp server whose single generic
 * callback routes by exact path (ps_routes). Every provider endpoint is a
 * handler that reads the request the way the provider's document describes
 * it and writes an answer in exactly the seed's shape: same keys, same order,
 * same casing, the same number formats (Sipay's 196.5000 / 0.000000, Payofin's
 * 110740.99 and 1.0, Paywall's 120.00). The simulator is an independent
 * reading of the documents (shared/seeds, shared/PROVIDERS.md): it uses
 * libprovider only for exact money (pv_money), bounded JSON reading (pv_json)
 * and Istanbul time (pv_time), never the adapters, so that a misreading shared
 * with them cannot cancel out in the tests; of the worker it uses only the
 * logger (pw_log.h).
 *
 * Money never passes through a double: amounts are int64 minor units, parsed
 * from the JSON number's text (pv_json keeps it) and written by ps_amount with
 * the digits the seed shows. The JSON answers are written by a small writer
 * (ps_jw) into one reusable buffer: it keeps key order and number text exact.
 *
 * State (ps_state) is generated from --seed and --invoices, so a run is
 * reproducible: invoice 0 of every provider is the seed's own sample (Payofin
 * 615209, Sipay 90XX46-FXX5-4XX3-8DXX-B1XX97 from wallet 28XX01/25XX25,
 * Paywall paymentid 123456 with the seed's two debts, İş Bankası reference
 * PAY-20200814-0001 for service 10065, PayOne 30231175 in USD), the others
 * are drawn from a splitmix64 stream per provider. Paying an invoice closes
 * it, partial payments included (a second payment of one invoice is the
 * event this simulator exists to make visible); paying it again gets the
 * provider's documented "already paid" answer and counts one
 * double_payment_attempt. Payofin's prepaid merchant balance and Sipay's
 * wallet start at the sum of their invoices plus the balance the seed's
 * sample shows after paying, so every invoice can be paid once and the
 * balances only go down.
 *
 * Faults (ps_faults, per provider, POST /_sim/faults or --fault) are decided
 * when a request arrives: one uniform draw picks at most one of reset, 5xx,
 * 429, blackhole, malformed, late, paid_5xx, reset_after, badtext (in that order; each
 * rate is the probability of its outcome, a sum past 1 leaves the later ones
 * the rest). Latency (latency_ms + uniform jitter) delays the request before
 * anything else. reset closes the connection with an RST and nothing is
 * processed; 5xx and 429 answer before the provider logic (nothing is paid);
 * blackhole, malformed, late, paid_5xx and reset_after run the provider logic
 * first (the payment happens and is in the ledger), then: blackhole never
 * answers and keeps the connection open, malformed sends half the real answer
 * followed by garbage, late answers after late_ms, paid_5xx throws the real
 * answer away and answers status_5xx with the gateway's short body (ledger:
 * answered, fault paid_5xx), reset_after closes the connection with an RST
 * (ledger: not answered, fault reset_after), badtext answers the real answer
 * with the bytes ff fe (not UTF-8) at the start of its message. The ledger says for every
 * payment whether an answer was written to the connection (`answered`),
 * which fault it met, and the request's X-Request-Id header (`request_id`,
 * empty when absent; the worker sends its command_id there), so a test can
 * tell which command's call made a payment.
 *
 * Held requests (latency, late, blackhole, reset) sit in a list with their
 * timer. evhttp stops reading a connection while its request waits for an
 * answer, so a held request stays attached to its connection until we reply
 * or free it: a reset frees the connection after setting SO_LINGER 0 (the
 * client sees ECONNRESET), shutdown frees every held request through
 * evhttp_free. Blackholes are bounded (PS_BLACKHOLE_MAX): past it the oldest
 * is reset. Bodies are bounded by --max-body (evhttp answers 413), headers
 * by PS_HEADERS_MAX, JSON by pv_json_parse's size and depth limits, the
 * ledger by --ledger-max and İş Bankası references by the same bound.
 *
 * Where the documents are silent the simulator chooses, and says so here
 * and in ops/README.md:
 * - Payofin answers every resultCode with HTTP 200; payofinPaymentDetails is
 *   null on a refusal. A body that is not a JSON object gets HTTP 400 with an
 *   ASP.NET ProblemDetails body (so do Sipay, Paywall and PayOne).
 * - Sipay: an unknown invoice transaction, or data or amounts that do not
 *   match it, is HTTP 400 with the envelope and code "400" (undocumented); a
 *   parameter of the wrong type is ProblemDetails; an invalid or expired
 *   token (or another x-client-id) is HTTP 401 with WWW-Authenticate and no
 *   body.
 * - Paywall: ErrorCode 1001 bad keys (HTTP 401), 1002 bad paymentid header
 *   (HTTP 400), 1003 payment not found (HTTP 200).
 * - İş Bankası infos codes: "2000" malformed request, "2001" input field
 *   invalid, "2002" amount/currency refused (HTTP 400), "2003" unknown
 *   service (HTTP 404), "2010" payment_reference already paid (HTTP 409,
 *   a double payment attempt). Gateway failures (X-IBM headers, bearer
 *   token) are API Connect's {httpCode, httpMessage, moreInformation}, 401.
 * - PayOne envelopes go out with HTTP 200; 00010 = an invoiceID twice in one
 *   call; a per-invoice currency mismatch or an amount above the pre-authorised
 *   one is status "failed". inquireInvoice answers a top-level object
 *   {merchantID, invoiceID, amount, currency, status, statusDescription, rrn,
 *   approvalCode} with status completed / preauthorized / created.
 *
 * Runs on the one thread of its event loop; no locks.
 */
#ifndef PS_INT_H
#define PS_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "pv_json.h"
#include "pv_money.h"
#include "pv_time.h"
#include "pw_opt.h"

/*---- Limits and defaults ----*/

#define PS_DEFAULT_PORT    8090
#define PS_INVOICES_MAX    100000
#define PS_HEADERS_MAX     16384       /* request headers, bytes */
#define PS_BUF_MAX         (512 << 20) /* largest answer written (bytes) */
#define PS_BLACKHOLE_MAX   4096        /* connections held without an answer */
#define PS_TOKENS          256         /* live tokens kept per OAuth provider */
#define PS_CALL_LEDGER_MAX 16          /* ledger entries one call may add */
#define PS_INPUTS_MAX      64          /* İş Bankası input values in one payment */
#define PS_INFOS_MAX       16          /* İş Bankası infos in one answer */
#define PS_PAYONE_BATCH    64          /* invoices in one completeInvoice */
#define PS_MSG_MAX         512         /* one message text */
#define PS_IDLE_TIMEOUT_S  120         /* idle keep-alive connections */
#define PS_FAULT_MS_MAX    600000      /* latency, jitter, late: 10 minutes */
#define PS_REF_MAX         64          /* İş Bankası payment_reference, characters */
#define PS_RID_MAX         128         /* X-Request-Id kept in the ledger, bytes */

#define PS_JSON_TYPE "application/json; charset=utf-8"
#define PS_OK_TR     "İşlem Başarılı" /* Payofin's success message (seed 000) */
#define PS_OK_TR_LC  "İşlem başarılı" /* Sipay's (seed 001) */

/*---- Providers, faults, stats ----*/

typedef enum ps_pid { PS_PAYOFIN, PS_SIPAY, PS_PAYWALL, PS_ISBANK, PS_PAYONE, PS_NPROV } ps_pid;

typedef enum ps_fault {
    PS_F_NONE,
    PS_F_RESET,
    PS_F_5XX,
    PS_F_429,
    PS_F_BLACKHOLE,
    PS_F_MALFORMED,
    PS_F_LATE,
    PS_F_LATENCY, /* counted only: it delays, then another fault may follow */
    PS_F_PAID_5XX,
    PS_F_RESET_AFTER,
    PS_F_BADTEXT,
    PS_NFAULT
} ps_fault;

typedef struct ps_faults {
    int64_t latency_ms, jitter_ms, late_ms, status_5xx;
    double rate_reset, rate_5xx, rate_429, rate_blackhole, rate_malformed, rate_late;
    double rate_paid_5xx, rate_reset_after, rate_badtext;
    bool only_payments; /* faults only on payment endpoints */
} ps_faults;

typedef enum ps_stat {
    PS_ST_REQUESTS,
    PS_ST_PAYMENTS,
    PS_ST_DECLINES,
    PS_ST_DOUBLE,
    PS_ST_AUTH,
    PS_ST_BAD,
    PS_NSTAT
} ps_stat;

typedef struct ps_stats {
    uint64_t n[PS_NSTAT];
    uint64_t faults[PS_NFAULT];
} ps_stats;

/*---- Configuration (ps_main.c holds the table of options) ----*/

typedef struct ps_config {
    const char *bind;
    int64_t port, seed, invoices, token_ttl_s, max_body, ledger_max;
    const char *isbank_service;
    bool verbose;
    const char *payofin_api_key, *payofin_secret_key;
    const char *sipay_client_id, *sipay_client_secret, *sipay_scope;
    const char *paywall_key_public, *paywall_client_public;
    const char *isbank_client_id, *isbank_client_secret;
    const char *payone_merchant_id, *payone_token, *payone_form_field;
} ps_config;

/*---- Output buffer and JSON writer ----*/

typedef struct ps_buf {
    char *data;
    size_t len, cap;
    bool failed; /* out of memory or past PS_BUF_MAX: the content is cut */
} ps_buf;

#define PS_JW_DEPTH 16

typedef struct ps_jw {
    ps_buf *b;
    int depth;
    bool after_key;
    bool comma[PS_JW_DEPTH + 1];
} ps_jw;

#define ps_jw_obj(w)     ps_jw_open((w), "{")
#define ps_jw_end(w)     ps_jw_close((w), "}")
#define ps_jw_arr(w)     ps_jw_open((w), "[")
#define ps_jw_end_arr(w) ps_jw_close((w), "]")

/*---- Randomness, string map ----*/

typedef struct ps_rng {
    uint64_t s;
} ps_rng;

typedef struct ps_slot {
    char *key; /* NULL: empty */
    int64_t value;
} ps_slot;

typedef struct ps_map {
    ps_slot *slots;
    size_t cap, n;
} ps_map;

/*---- State: the generated invoices and what happened to them ----*/

typedef struct ps_payofin_invoice {
    int64_t id; /* invoiceQueryId */
    char invoice_no[24];
    char exp_date[16]; /* dd.MM.yyyy */
    char soot[8];
    char subscriber[16];
    int64_t amount, profit; /* kuruş */
    bool paid;
    int64_t payment_id, paid_amount;
    bool paid_partial;
    char paid_date[24]; /* dd.MM.yyyy HH:mm:ss, Istanbul */
} ps_payofin_invoice;

typedef struct ps_sipay_product {
    const char *oid, *name, *receiver_account, *receiver_wallet;
} ps_sipay_product;

typedef struct ps_sipay_invoice {
    char oid[48];
    int64_t amount; /* kuruş */
    int product;
    char subscriber[16], bill_term[8], bill_no[16];
    bool paid;
} ps_sipay_invoice;

enum { PS_LIMIT_MAX_BALANCE, PS_LIMIT_PAYMENT = 4, PS_NLIMITS = 6 };

typedef struct ps_wallet {
    const char *id, *account, *number;
    int64_t cash, monthly_out;  /* kuruş */
    int64_t limits[PS_NLIMITS]; /* 1/10000 TRY: the seed writes 996004.0060 */
} ps_wallet;

#define PS_NWALLETS 2

typedef struct ps_debt {
    int64_t debt_id, member_id, product_id, sub_id; /* sub_id: CargoId or DiscountId */
    int type;                                       /* 1 Discount, 2 Cargo */
    int64_t product_amount, debt_amount, discount;  /* kuruş; discount: 10.00 = 1000 */
    char member_name[16];
    char calc[32];
} ps_debt;

typedef struct ps_paywall_payment {
    int64_t id;
    size_t first, n; /* debts[first .. first+n) */
} ps_paywall_payment;

typedef struct ps_isbank_order {
    char reference[40];
    const char *currency;
    int64_t amount; /* minor units */
    char name[32], tckn[12];
} ps_isbank_order;

typedef struct ps_payone_invoice {
    char id[16];
    const pv_currency *currency;
    int64_t preauth; /* minor units */
    bool is_preauth, completed;
    int64_t completed_amount;
    char rrn[32], approval[8];
} ps_payone_invoice;

typedef struct ps_state {
    size_t n; /* invoices per provider */
    ps_payofin_invoice *payofin;
    ps_map payofin_ids, payofin_subscribers;
    int64_t payofin_balance, payofin_payment_base, payofin_next_payment;
    size_t *payofin_payments; /* payment id - base -> invoice index */

    ps_sipay_invoice *sipay;
    ps_map sipay_oids;
    ps_wallet wallets[PS_NWALLETS];
    int64_t sipay_next_payment, sipay_next_transaction;

    ps_paywall_payment *paywall;
    ps_debt *debts;
    size_t ndebts;
    ps_map paywall_ids;

    ps_isbank_order *isbank;
    ps_map isbank_paid; /* payment_reference -> payment_id */
    int64_t isbank_next_payment;

    ps_payone_invoice *payone;
    ps_map payone_ids;
    int64_t payone_next_rrn;
} ps_state;

/*---- Ledger ----*/

typedef struct ps_entry {
    uint64_t seq;
    int64_t at_ms, minor;
    uint8_t provider, fault;
    bool answered;
    char currency[4];
    char query_id[PS_REF_MAX + 1];
    char reference[40];
    char request_id[PS_RID_MAX + 1]; /* the request's X-Request-Id, "" when absent */
} ps_entry;

typedef struct ps_ledger {
    ps_entry *e;
    size_t n, cap;
    uint64_t base_seq, next_seq; /* seq of e[0]; seq of the next entry */
    uint64_t dropped;            /* payments past --ledger-max */
} ps_ledger;

/*---- Tokens ----*/

typedef struct ps_token {
    char value[48];
    int64_t expires_ms;
} ps_token;

typedef struct ps_tokens {
    ps_token t[PS_TOKENS];
    unsigned next;
} ps_tokens;

/*---- The simulator ----*/

typedef struct ps_sim ps_sim;
typedef struct ps_route ps_route;
typedef struct ps_held ps_held;

/* One provider call on its way through routing, faults and the handler. */
typedef struct ps_call {
    ps_sim *sim;
    struct evhttp_request *req;
    const ps_route *route;
    ps_pid provider;
    ps_fault fault;
    int status;        /* status of the answer the handler wrote */
    const char *body;  /* request body (contiguous, not NUL-terminated) */
    size_t body_len;   /* its length */
    json_object *root; /* parsed body, when the handler parsed one */
    uint64_t ledger[PS_CALL_LEDGER_MAX];
    size_t nledger;
} ps_call;

typedef enum ps_hold { PS_HOLD_LATENCY, PS_HOLD_RESET, PS_HOLD_LATE, PS_HOLD_BLACKHOLE } ps_hold;

struct ps_held {
    ps_call call;
    ps_hold kind;
    struct event *timer; /* NULL for a blackhole */
    ps_held *prev, *next;
};

struct ps_sim {
    ps_config cfg;
    struct event_base *base;
    struct evhttp *http;
    ps_rng fault_rng, token_rng;
    ps_faults faults[PS_NPROV], start_faults[PS_NPROV];
    ps_stats stats[PS_NPROV];
    ps_state st;
    ps_ledger ledger;
    ps_tokens tokens[PS_NPROV];
    ps_held *held_head, *held_tail;
    size_t nheld, nblackholes;
    ps_buf out;
    char msg[PS_MSG_MAX]; /* the message of the refusal being written (ps_call_vrefuse) */
    char *isbank_raw;     /* the service object, byte for byte */
    size_t isbank_raw_len;
    json_object *isbank_spec;
    int64_t isbank_service_id;
    int64_t started_ms;
};

#define PS_ISBANK_API "/api/isbank/v1"

/*---- Shared tables ----*/

extern const char *const ps_provider_names[PS_NPROV]; /* ps_server.c */
extern const char *const ps_fault_names[PS_NFAULT];   /* ps_faults.c */
extern const ps_sipay_product ps_sipay_products[];    /* ps_sipay.c */
extern const int64_t ps_pow10[];                      /* ps_amount.c: 10^0 .. 10^18 */
extern const pw_opt_table ps_options;                 /* ps_main.c: offsets into ps_sim */

/*---- Functions, by file ----*/

/* ps_fmt.c */
bool ps_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ps_fmt_vmsg(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* ps_buf.c */
void ps_buf_add(ps_buf *b, const char *s, size_t n);
void ps_buf_adds(ps_buf *b, const char *s);
void ps_buf_reset(ps_buf *b);

/* ps_jw.c */
void ps_jw_init(ps_jw *w, ps_buf *b);
void ps_jw_open(ps_jw *w, const char *c);
void ps_jw_close(ps_jw *w, const char *c);
void ps_jw_kamount(ps_jw *w, const char *key, int64_t minor, int exponent, int decimals);
void ps_jw_kbool(ps_jw *w, const char *key, bool v);
void ps_jw_key(ps_jw *w, const char *key);
void ps_jw_kint(ps_jw *w, const char *key, int64_t v);
void ps_jw_knull(ps_jw *w, const char *key);
void ps_jw_kraw(ps_jw *w, const char *key, const char *text);
void ps_jw_kstr(ps_jw *w, const char *key, const char *s);
void ps_jw_str(ps_jw *w, const char *s);
size_t ps_jw_utf8_len(const unsigned char *s, size_t n);

/* ps_amount.c */
void ps_amount(char *buf, size_t cap, int64_t minor, int exponent, int decimals);
void ps_amount_try(char *buf, size_t cap, int64_t kurus, int decimals);

/* ps_time.c */
void ps_time_istanbul(struct tm *tm, int *offset_s, long *ticks);
int64_t ps_time_now_ms(void);

/* ps_rng.c */
uint64_t ps_rng_next(ps_rng *r);
int64_t ps_rng_range(ps_rng *r, int64_t lo, int64_t hi);
void ps_rng_seed(ps_rng *r, int64_t seed, uint64_t stream);
double ps_rng_unit(ps_rng *r);

/* ps_map.c */
void ps_map_free(ps_map *m);
bool ps_map_get(const ps_map *m, const char *key, size_t n, int64_t *out);
bool ps_map_puts(ps_map *m, const char *key, int64_t value);

/* ps_ledger.c */
void ps_ledger_add(ps_call *c, const char *query_id, int64_t minor, const char *currency,
                   const char *reference);
void ps_ledger_clear(ps_ledger *l);
void ps_ledger_mark(ps_call *c, bool answered);

/* ps_oauth.c */
void ps_oauth_token(ps_call *c, const char *client_id, const char *client_secret,
                    const char *scope_granted);
bool ps_oauth_token_check(ps_sim *sim, ps_pid p, const char *auth);

/* ps_state.c */
void ps_state_free(ps_state *st);
bool ps_state_generate(ps_state *st, const ps_config *cfg);

/* ps_call.c */
void ps_call_answer(ps_call *c, int status, ps_jw *w);
void ps_call_count(ps_call *c, ps_stat s);
void ps_call_describe(json_object *v, char *buf, size_t cap);
int ps_call_form_get(const char *body, size_t n, const char *name, char **out, size_t *len);
bool ps_call_header_is(ps_call *c, const char *name, const char *want);
const char *ps_call_in_header(ps_call *c, const char *name);
bool ps_call_is_form(ps_call *c);
bool ps_call_json_body(ps_call *c, char *msg, size_t cap);
bool ps_call_json_body_or_problem(ps_call *c);
bool ps_call_json_text(json_object *v, char *buf, size_t cap);
void ps_call_out_header(ps_call *c, const char *name, const char *value);
void ps_call_problem(ps_call *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ps_call_refuse(ps_call *c, int status, ps_stat s, ps_jw *w);
const char *ps_call_vrefuse(ps_call *c, int status, ps_stat s, ps_jw *w, const char *fmt,
                            va_list ap) __attribute__((format(printf, 5, 0)));
ps_stats *ps_call_stats(ps_call *c);

/* ps_payofin.c */
void ps_payofin_check(ps_call *c);
void ps_payofin_pay(ps_call *c);
void ps_payofin_query(ps_call *c);

/* ps_sipay.c */
void ps_sipay_pay(ps_call *c);
void ps_sipay_token(ps_call *c);

/* ps_paywall.c */
void ps_paywall_debt(ps_call *c);

/* ps_isbank.c */
void ps_isbank_pay(ps_call *c);
void ps_isbank_service(ps_call *c);
void ps_isbank_token(ps_call *c);

/* ps_payone.c */
void ps_payone_complete(ps_call *c);
void ps_payone_inquire(ps_call *c);

/* ps_server.c */
void ps_server_held_unlink(ps_sim *sim, ps_held *h);
void ps_server_on_request(struct evhttp_request *req, void *arg);
const char *ps_server_reason(int status);

/* ps_faults.c */
void ps_faults_answer(ps_call *c, int status);
int ps_faults_arg(void *sim, const char *arg, char *why, size_t cap); /* a pw_opt_fn */
ps_fault ps_faults_draw(ps_sim *sim, const ps_faults *f);
bool ps_faults_set(ps_faults *f, const char *name, double v, char *msg, size_t cap);
void ps_faults_default(ps_faults *f);
void ps_faults_json(ps_jw *w, const ps_faults *f);
int ps_faults_provider_parse(const char *s, size_t n);

/* ps_control.c */
void ps_control(ps_sim *sim, struct evhttp_request *req, const char *path, const char *query);
void ps_control_error(ps_sim *sim, struct evhttp_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
