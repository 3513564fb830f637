/* provider-sim.c -- one HTTP server that simulates the five payment providers
 * (Payofin, Sipay, Paywall, İş Bankası, PayOne) at their documented paths,
 * with deterministic invoices, balances that go down, double-payment
 * detection and fault injection (issue 4).
 *
 * DESIGN
 * One libevent loop, one thread: an evhttp server whose single generic
 * callback routes by exact path (ps_routes). Every provider endpoint is a
 * handler that reads the request the way the provider's document describes
 * it and writes an answer in exactly the seed's shape: same keys, same order,
 * same casing, the same number formats (Sipay's 196.5000 / 0.000000, Payofin's
 * 110740.99 and 1.0, Paywall's 120.00). This file is an independent reading of
 * the documents (shared/seeds, shared/PROVIDERS.md): it uses libprovider only
 * for exact money (pv_money), bounded JSON reading (pv_json) and Istanbul time
 * (pv_time), never the adapters, so that a misreading shared with them cannot
 * cancel out in the tests.
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
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <json-c/json.h>

#include "pv_json.h"
#include "pv_money.h"
#include "pv_time.h"

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

static const char *const ps_provider_names[PS_NPROV] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK",
                                                        "PAYONE"};

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

static const char *const ps_fault_names[PS_NFAULT] = {
    "none", "reset",   "5xx",      "429",         "blackhole", "malformed",
    "late", "latency", "paid_5xx", "reset_after", "badtext",
};

typedef struct ps_faults {
    int64_t latency_ms, jitter_ms, late_ms, status_5xx;
    double rate_reset, rate_5xx, rate_429, rate_blackhole, rate_malformed, rate_late;
    double rate_paid_5xx, rate_reset_after, rate_badtext;
    bool only_payments; /* faults only on payment endpoints */
} ps_faults;

typedef enum ps_fk_type { PS_FK_MS, PS_FK_RATE, PS_FK_STATUS, PS_FK_BOOL } ps_fk_type;

/* The fault settings: one table drives parsing (JSON and --fault),
 * validation and printing. */
static const struct ps_fault_key {
    const char *name;
    ps_fk_type type;
    size_t off;
} ps_fault_keys[] = {
    {"latency_ms", PS_FK_MS, offsetof(ps_faults, latency_ms)},
    {"jitter_ms", PS_FK_MS, offsetof(ps_faults, jitter_ms)},
    {"rate_reset", PS_FK_RATE, offsetof(ps_faults, rate_reset)},
    {"rate_5xx", PS_FK_RATE, offsetof(ps_faults, rate_5xx)},
    {"status_5xx", PS_FK_STATUS, offsetof(ps_faults, status_5xx)},
    {"rate_429", PS_FK_RATE, offsetof(ps_faults, rate_429)},
    {"rate_blackhole", PS_FK_RATE, offsetof(ps_faults, rate_blackhole)},
    {"rate_malformed", PS_FK_RATE, offsetof(ps_faults, rate_malformed)},
    {"late_ms", PS_FK_MS, offsetof(ps_faults, late_ms)},
    {"rate_late", PS_FK_RATE, offsetof(ps_faults, rate_late)},
    {"rate_paid_5xx", PS_FK_RATE, offsetof(ps_faults, rate_paid_5xx)},
    {"rate_reset_after", PS_FK_RATE, offsetof(ps_faults, rate_reset_after)},
    {"rate_badtext", PS_FK_RATE, offsetof(ps_faults, rate_badtext)},
    {"only_payments", PS_FK_BOOL, offsetof(ps_faults, only_payments)},
};
#define PS_NFAULT_KEYS (sizeof(ps_fault_keys) / sizeof(ps_fault_keys[0]))

typedef enum ps_stat {
    PS_ST_REQUESTS,
    PS_ST_PAYMENTS,
    PS_ST_DECLINES,
    PS_ST_DOUBLE,
    PS_ST_AUTH,
    PS_ST_BAD,
    PS_NSTAT
} ps_stat;

static const char *const ps_stat_names[PS_NSTAT] = {
    "requests", "payments", "declines", "double_payment_attempts", "auth_failures", "bad_requests",
};

typedef struct ps_stats {
    uint64_t n[PS_NSTAT];
    uint64_t faults[PS_NFAULT];
} ps_stats;

/*---- Configuration: one table of options ----*/

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

typedef enum ps_opt_type { PS_OPT_STR, PS_OPT_INT, PS_OPT_FLAG, PS_OPT_FAULT } ps_opt_type;

static const struct ps_option {
    const char *name;
    ps_opt_type type;
    size_t off;
    int64_t min, max;
    const char *def;
    const char *doc;
} ps_options[] = {
    {"bind", PS_OPT_STR, offsetof(ps_config, bind), 0, 0, "127.0.0.1", "address to listen on"},
    {"port", PS_OPT_INT, offsetof(ps_config, port), 0, 65535, "8090",
     "port to listen on; 0 picks a free one (see the listening= line)"},
    {"seed", PS_OPT_INT, offsetof(ps_config, seed), 0, INT64_MAX, "1",
     "seed of the generated invoices"},
    {"invoices", PS_OPT_INT, offsetof(ps_config, invoices), 1, PS_INVOICES_MAX, "100",
     "invoices (payments, orders) generated per provider"},
    {"token-ttl", PS_OPT_INT, offsetof(ps_config, token_ttl_s), 1, 86400, "3600",
     "lifetime of issued OAuth tokens, seconds"},
    {"max-body", PS_OPT_INT, offsetof(ps_config, max_body), 1024, 16 << 20, "65536",
     "largest request body accepted, bytes (larger: 413)"},
    {"ledger-max", PS_OPT_INT, offsetof(ps_config, ledger_max), 1, 100000000, "1000000",
     "payments kept in the ledger (and İş Bankası references remembered)"},
    {"isbank-service", PS_OPT_STR, offsetof(ps_config, isbank_service), 0, 0,
     "tests/fixtures/isbank/bill-institution-service.response.json",
     "İş Bankası service object served byte for byte (searched from the working directory, "
     "then upwards from the binary)"},
    {"fault", PS_OPT_FAULT, 0, 0, 0, NULL,
     "PROVIDER:key=value[,key=value]: a fault setting at start (repeatable; PROVIDER may be ALL)"},
    {"verbose", PS_OPT_FLAG, offsetof(ps_config, verbose), 0, 0, NULL,
     "log every request on stderr"},
    {"payofin-api-key", PS_OPT_STR, offsetof(ps_config, payofin_api_key), 0, 0,
     "sim-payofin-api-key", "Payofin ApiKey header"},
    {"payofin-secret-key", PS_OPT_STR, offsetof(ps_config, payofin_secret_key), 0, 0,
     "sim-payofin-secret-key", "Payofin SecretKey header"},
    {"sipay-client-id", PS_OPT_STR, offsetof(ps_config, sipay_client_id), 0, 0, "sim-sipay-client",
     "Sipay OAuth client_id (and x-client-id)"},
    {"sipay-client-secret", PS_OPT_STR, offsetof(ps_config, sipay_client_secret), 0, 0,
     "sim-sipay-secret", "Sipay OAuth client_secret"},
    {"sipay-scope", PS_OPT_STR, offsetof(ps_config, sipay_scope), 0, 0, "sts_business_api",
     "Sipay OAuth scope granted"},
    {"paywall-api-key-public", PS_OPT_STR, offsetof(ps_config, paywall_key_public), 0, 0,
     "sim-paywall-key-public", "Paywall apikeypublic header"},
    {"paywall-api-client-public", PS_OPT_STR, offsetof(ps_config, paywall_client_public), 0, 0,
     "sim-paywall-client-public", "Paywall apiclientpublic header"},
    {"isbank-client-id", PS_OPT_STR, offsetof(ps_config, isbank_client_id), 0, 0,
     "sim-isbank-client", "İş Bankası X-IBM-client-id and OAuth client_id"},
    {"isbank-client-secret", PS_OPT_STR, offsetof(ps_config, isbank_client_secret), 0, 0,
     "sim-isbank-secret", "İş Bankası X-IBM-client-secret and OAuth client_secret"},
    {"payone-merchant-id", PS_OPT_STR, offsetof(ps_config, payone_merchant_id), 0, 0,
     "testMercahnt", "PayOne merchantID (the seed's sample request's)"},
    {"payone-authentication-token", PS_OPT_STR, offsetof(ps_config, payone_token), 0, 0,
     "N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm", "PayOne authenticationToken (the seed's sample's)"},
    {"payone-form-field", PS_OPT_STR, offsetof(ps_config, payone_form_field), 0, 0, "invoice",
     "PayOne form parameter carrying the JSON"},
    {"help", PS_OPT_FLAG, 0, 0, 0, NULL, "this text"},
};
#define PS_NOPTIONS (sizeof(ps_options) / sizeof(ps_options[0]))

/*---- Logging ----*/

static void ps_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ps_log(const char *level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "provider-sim level=%s %s\n", level, msg);
}

/* snprintf for texts whose buffers are sized for their values: false (and
 * the text cut, never overrun) if one did not fit after all. */
static bool ps_fmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool ps_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

/*---- Growable output buffer and JSON writer ----*/

typedef struct ps_buf {
    char *data;
    size_t len, cap;
    bool failed; /* out of memory or past PS_BUF_MAX: the content is cut */
} ps_buf;

static void ps_buf_add(ps_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = cap <= PS_BUF_MAX ? realloc(b->data, cap) : NULL;
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void ps_buf_adds(ps_buf *b, const char *s)
{
    ps_buf_add(b, s, strlen(s));
}

static void ps_buf_reset(ps_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->cap > (1 << 20)) { /* do not keep a huge ledger answer around */
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

#define PS_JW_DEPTH 16

typedef struct ps_jw {
    ps_buf *b;
    int depth;
    bool after_key;
    bool comma[PS_JW_DEPTH + 1];
} ps_jw;

static void ps_jw_init(ps_jw *w, ps_buf *b)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
}

static void ps_jw_sep(ps_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->comma[w->depth])
        ps_buf_add(w->b, ",", 1);
    w->comma[w->depth] = true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t ps_utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* A JSON string: quotes, backslashes and control characters escaped, invalid
 * UTF-8 replaced by U+FFFD, so that echoing hostile input stays valid JSON. */
static void ps_jw_escape(ps_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t start = 0, i = 0;
    ps_buf_add(b, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        size_t l = ps_utf8_len(p + i, n - i);
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && l > 0) {
            i += l;
            continue;
        }
        ps_buf_add(b, s + start, i - start);
        if (l == 0) {
            ps_buf_adds(b, "\\ufffd");
        } else if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ps_buf_add(b, e, 2);
        } else if (c == '\n') {
            ps_buf_adds(b, "\\n");
        } else if (c == '\r') {
            ps_buf_adds(b, "\\r");
        } else if (c == '\t') {
            ps_buf_adds(b, "\\t");
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            ps_buf_add(b, e, 6);
        }
        i++;
        start = i;
    }
    ps_buf_add(b, s + start, n - start);
    ps_buf_add(b, "\"", 1);
}

static void ps_jw_open(ps_jw *w, const char *c)
{
    ps_jw_sep(w);
    ps_buf_adds(w->b, c);
    if (w->depth < PS_JW_DEPTH)
        w->depth++;
    w->comma[w->depth] = false;
}

static void ps_jw_close(ps_jw *w, const char *c)
{
    ps_buf_adds(w->b, c);
    if (w->depth > 0)
        w->depth--;
}

#define ps_jw_obj(w)     ps_jw_open((w), "{")
#define ps_jw_end(w)     ps_jw_close((w), "}")
#define ps_jw_arr(w)     ps_jw_open((w), "[")
#define ps_jw_end_arr(w) ps_jw_close((w), "]")

static void ps_jw_key(ps_jw *w, const char *key)
{
    ps_jw_sep(w);
    ps_jw_escape(w->b, key, strlen(key));
    ps_buf_add(w->b, ":", 1);
    w->after_key = true;
}

static void ps_jw_strn(ps_jw *w, const char *s, size_t n)
{
    ps_jw_sep(w);
    ps_jw_escape(w->b, s, n);
}

static void ps_jw_str(ps_jw *w, const char *s)
{
    ps_jw_strn(w, s, strlen(s));
}

/* A number (or literal) written as the given text. */
static void ps_jw_raw(ps_jw *w, const char *text)
{
    ps_jw_sep(w);
    ps_buf_adds(w->b, text);
}

static void ps_jw_int(ps_jw *w, int64_t v)
{
    char t[24];
    snprintf(t, sizeof(t), "%" PRId64, v);
    ps_jw_raw(w, t);
}

static void ps_jw_bool(ps_jw *w, bool v)
{
    ps_jw_raw(w, v ? "true" : "false");
}

static void ps_jw_kstr(ps_jw *w, const char *key, const char *s)
{
    ps_jw_key(w, key);
    ps_jw_str(w, s);
}

static void ps_jw_kraw(ps_jw *w, const char *key, const char *text)
{
    ps_jw_key(w, key);
    ps_jw_raw(w, text);
}

static void ps_jw_kint(ps_jw *w, const char *key, int64_t v)
{
    ps_jw_key(w, key);
    ps_jw_int(w, v);
}

static void ps_jw_kbool(ps_jw *w, const char *key, bool v)
{
    ps_jw_key(w, key);
    ps_jw_bool(w, v);
}

static void ps_jw_knull(ps_jw *w, const char *key)
{
    ps_jw_kraw(w, key, "null");
}

/*---- Exact amounts ----*/

static const int64_t ps_pow10[] = {1,
                                   10,
                                   100,
                                   1000,
                                   10000,
                                   100000,
                                   1000000,
                                   10000000,
                                   100000000,
                                   1000000000,
                                   10000000000,
                                   100000000000,
                                   1000000000000,
                                   10000000000000,
                                   100000000000000,
                                   1000000000000000,
                                   10000000000000000,
                                   100000000000000000,
                                   1000000000000000000};

/* Writes `minor` units of a currency with `exponent` minor digits as decimal
 * text with `decimals` fraction digits (decimals >= exponent pads with zeros,
 * as the seeds' 196.5000 does); decimals < 0 writes as few as needed (265,
 * 265.5). Never through a double. */
static void ps_amount(char *buf, size_t cap, int64_t minor, int exponent, int decimals)
{
    uint64_t u = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t scale = (uint64_t)ps_pow10[exponent];
    uint64_t whole = u / scale, frac = u % scale;
    int digits = exponent;
    const char *sign = minor < 0 ? "-" : "";

    if (decimals < 0) {
        while (digits > 0 && frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        decimals = digits;
    }
    if (decimals < digits)
        decimals = digits; /* never drop significant digits */
    int n = snprintf(buf, cap, "%s%" PRIu64, sign, whole);
    if (decimals == 0 || n < 0 || (size_t)n >= cap)
        return;
    char ftext[24] = "";
    if (digits > 0)
        ps_fmt(ftext, sizeof(ftext), "%0*" PRIu64, digits, frac);
    snprintf(buf + n, cap - (size_t)n, ".%s%.*s", ftext, decimals - digits, "000000000000000000");
}

/* Amounts in TRY kuruş (2 digits). */
static void ps_try(char *buf, size_t cap, int64_t kurus, int decimals)
{
    ps_amount(buf, cap, kurus, 2, decimals);
}

static void ps_jw_kamount(ps_jw *w, const char *key, int64_t minor, int exponent, int decimals)
{
    char t[48];
    ps_amount(t, sizeof(t), minor, exponent, decimals);
    ps_jw_kraw(w, key, t);
}

/*---- Time ----*/

static int64_t ps_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Istanbul wall-clock time of a UTC instant, its offset in seconds, and the
 * 100 ns ticks within the second (for .NET's 7-digit fractions). */
static void ps_istanbul(struct tm *tm, int *offset_s, long *ticks)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int off = pv_time_istanbul_offset_s((int64_t)ts.tv_sec + 3 * 3600);
    time_t local = ts.tv_sec + off;
    gmtime_r(&local, tm);
    if (offset_s != NULL)
        *offset_s = off;
    if (ticks != NULL)
        *ticks = ts.tv_nsec / 100;
}

/*---- Deterministic randomness ----*/

typedef struct ps_rng {
    uint64_t s;
} ps_rng;

static uint64_t ps_rng_next(ps_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void ps_rng_seed(ps_rng *r, int64_t seed, uint64_t stream)
{
    r->s = (uint64_t)seed * 0x2545f4914f6cdd1dULL ^ (stream + 1) * 0x9e3779b97f4a7c15ULL;
    ps_rng_next(r);
}

/* Uniform in [lo, hi]. */
static int64_t ps_rng_range(ps_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(ps_rng_next(r) % span);
}

/* Uniform in [0, 1) (fault draws only: no money here). */
static double ps_rng_unit(ps_rng *r)
{
    return (double)(ps_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/*---- String map (open addressing) ----*/

typedef struct ps_slot {
    char *key; /* NULL: empty */
    int64_t value;
} ps_slot;

typedef struct ps_map {
    ps_slot *slots;
    size_t cap, n;
} ps_map;

static uint64_t ps_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static bool ps_map_get(const ps_map *m, const char *key, size_t n, int64_t *out)
{
    if (m->cap == 0)
        return false;
    for (size_t i = ps_hash(key, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const ps_slot *s = &m->slots[i];
        if (s->key == NULL)
            return false;
        if (strlen(s->key) == n && memcmp(s->key, key, n) == 0) {
            *out = s->value;
            return true;
        }
    }
}

static bool ps_map_put(ps_map *m, const char *key, size_t n, int64_t value);

static bool ps_map_grow(ps_map *m)
{
    ps_map bigger = {.cap = m->cap != 0 ? m->cap * 2 : 64};
    bigger.slots = calloc(bigger.cap, sizeof(ps_slot));
    if (bigger.slots == NULL)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        ps_slot *s = &m->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = ps_hash(s->key, strlen(s->key)) & (bigger.cap - 1);
        while (bigger.slots[j].key != NULL)
            j = (j + 1) & (bigger.cap - 1);
        bigger.slots[j] = *s;
        bigger.n++;
    }
    free(m->slots);
    *m = bigger;
    return true;
}

/* Adds key -> value (the key is copied). False when out of memory. */
static bool ps_map_put(ps_map *m, const char *key, size_t n, int64_t value)
{
    if ((m->n + 1) * 10 > m->cap * 7 && !ps_map_grow(m))
        return false;
    size_t i = ps_hash(key, n) & (m->cap - 1);
    while (m->slots[i].key != NULL) {
        if (strlen(m->slots[i].key) == n && memcmp(m->slots[i].key, key, n) == 0) {
            m->slots[i].value = value;
            return true;
        }
        i = (i + 1) & (m->cap - 1);
    }
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return false;
    memcpy(copy, key, n);
    copy[n] = '\0';
    m->slots[i].key = copy;
    m->slots[i].value = value;
    m->n++;
    return true;
}

static void ps_map_free(ps_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static bool ps_map_puts(ps_map *m, const char *key, int64_t value)
{
    return ps_map_put(m, key, strlen(key), value);
}

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

static const ps_sipay_product ps_sipay_products[] = {
    {"8064fb0c-c556-4104-8fe4-9779c6dc3721", "Türk Telekom (Mobil)", "412XX50", "126XX30"},
    {"2b1f4a7e-93c0-4d5e-a1f2-6c8d9e0f1a2b", "İSKİ", "413XX51", "127XX31"},
    {"5c3e7d9a-1b2f-4c6e-8a0d-3f5e7b9c1d2e", "Enerjisa", "414XX52", "128XX32"},
};

typedef struct ps_sipay_invoice {
    char oid[48];
    int64_t amount; /* kuruş */
    int product;
    char subscriber[16], bill_term[8], bill_no[16];
    bool paid;
} ps_sipay_invoice;

enum { PS_LIMIT_MAX_BALANCE, PS_LIMIT_PAYMENT = 4, PS_NLIMITS = 6 };

static const char *const ps_sipay_limit_names[PS_NLIMITS] = {
    "max_balance",      "topup_credit_limit", "topup_cash_limit",
    "withdrawal_limit", "payment_limit",      "wallet_to_wallet_limit",
};

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
    char *isbank_raw; /* the service object, byte for byte */
    size_t isbank_raw_len;
    json_object *isbank_spec;
    int64_t isbank_service_id;
    int64_t started_ms;
};

static ps_stats *ps_stats_of(ps_call *c);

static void ps_count(ps_call *c, ps_stat s)
{
    ps_stats_of(c)->n[s]++;
}

/*---- Ledger operations ----*/

static void ps_ledger_clear(ps_ledger *l)
{
    l->base_seq = l->next_seq;
    l->n = 0;
    l->dropped = 0;
}

/* Copies a request id, cut at a character boundary when it is too long (so
 * that the ledger's JSON stays valid UTF-8). */
static void ps_rid_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Records a payment of the call; its seq goes into the call so that the
 * answer can mark it answered. */
static void ps_ledger_add(ps_call *c, const char *query_id, int64_t minor, const char *currency,
                          const char *reference)
{
    ps_ledger *l = &c->sim->ledger;
    if (l->n >= (size_t)c->sim->cfg.ledger_max) {
        l->dropped++;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 1024;
        ps_entry *e = realloc(l->e, cap * sizeof(*e));
        if (e == NULL) {
            l->dropped++;
            return;
        }
        l->e = e;
        l->cap = cap;
    }
    ps_entry *e = &l->e[l->n++];
    memset(e, 0, sizeof(*e));
    e->seq = l->next_seq++;
    e->at_ms = ps_now_ms();
    e->minor = minor;
    e->provider = (uint8_t)c->provider;
    snprintf(e->currency, sizeof(e->currency), "%s", currency);
    snprintf(e->query_id, sizeof(e->query_id), "%s", query_id);
    snprintf(e->reference, sizeof(e->reference), "%s", reference);
    const char *rid = evhttp_find_header(evhttp_request_get_input_headers(c->req), "X-Request-Id");
    ps_rid_copy(e->request_id, sizeof(e->request_id), rid != NULL ? rid : "");
    if (c->nledger < PS_CALL_LEDGER_MAX)
        c->ledger[c->nledger++] = e->seq;
    ps_count(c, PS_ST_PAYMENTS);
}

static ps_entry *ps_ledger_find(ps_ledger *l, uint64_t seq)
{
    if (seq < l->base_seq || seq - l->base_seq >= l->n)
        return NULL;
    return &l->e[seq - l->base_seq];
}

/* Marks the call's ledger entries: the fault they met, whether answered. */
static void ps_ledger_mark(ps_call *c, bool answered)
{
    for (size_t i = 0; i < c->nledger; i++) {
        ps_entry *e = ps_ledger_find(&c->sim->ledger, c->ledger[i]);
        if (e == NULL)
            continue;
        e->answered = answered;
        e->fault = (uint8_t)c->fault;
    }
}

/*---- Tokens ----*/

/* Issues a token for provider p: "<slot in hex>.<32 hex digits>"; the slot
 * makes the check O(1). */
static const char *ps_token_issue(ps_sim *sim, ps_pid p)
{
    ps_tokens *ts = &sim->tokens[p];
    unsigned slot = ts->next++ % PS_TOKENS;
    ps_token *t = &ts->t[slot];
    uint64_t a = ps_rng_next(&sim->token_rng), b = ps_rng_next(&sim->token_rng);
    snprintf(t->value, sizeof(t->value), "%02x.%016" PRIx64 "%016" PRIx64, slot, a, b);
    t->expires_ms = ps_now_ms() + sim->cfg.token_ttl_s * 1000;
    return t->value;
}

/* True when `auth` is "Bearer <a live token of provider p>". */
static bool ps_token_check(ps_sim *sim, ps_pid p, const char *auth)
{
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *tok = auth + 7;
    while (*tok == ' ')
        tok++;
    char *end;
    errno = 0;
    unsigned long slot = strtoul(tok, &end, 16);
    if (errno != 0 || end != tok + 2 || slot >= PS_TOKENS)
        return false;
    const ps_token *t = &sim->tokens[p].t[slot];
    return t->value[0] != '\0' && strcmp(t->value, tok) == 0 && ps_now_ms() < t->expires_ms;
}

/*---- Generating the state ----*/

static bool ps_gen_payofin(ps_state *st, int64_t seed)
{
    static const char *const soots[] = {"1001", "2002", "3003"};
    ps_rng r;
    int64_t total = 0;
    char key[48];

    ps_rng_seed(&r, seed, PS_PAYOFIN);
    st->payofin = calloc(st->n, sizeof(*st->payofin));
    st->payofin_payments = calloc(st->n, sizeof(*st->payofin_payments));
    if (st->payofin == NULL || st->payofin_payments == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_payofin_invoice *inv = &st->payofin[i];
        if (i == 0) { /* the seed's sample: invoiceQueryId 615209 */
            inv->id = 615209;
            snprintf(inv->soot, sizeof(inv->soot), "1001");
            snprintf(inv->subscriber, sizeof(inv->subscriber), "1000615209");
            inv->amount = 25075;
            inv->profit = 50;
        } else {
            inv->id = 700000 + (int64_t)i * 10 + ps_rng_range(&r, 0, 9);
            snprintf(inv->soot, sizeof(inv->soot), "%s", soots[ps_rng_range(&r, 0, 2)]);
            ps_fmt(inv->subscriber, sizeof(inv->subscriber), "%" PRId64,
                   5000000000 + (int64_t)i * 1000 + ps_rng_range(&r, 0, 999));
            /* one in 50 is above the 20,000 TL per-transaction cap (-5) */
            inv->amount =
                i % 50 == 49 ? ps_rng_range(&r, 2000001, 2500000) : ps_rng_range(&r, 500, 250000);
            inv->profit = ps_rng_range(&r, 25, 300);
        }
        snprintf(inv->invoice_no, sizeof(inv->invoice_no), "2026%09" PRId64, inv->id);
        snprintf(inv->exp_date, sizeof(inv->exp_date), "%02d.%02d.2026",
                 (int)ps_rng_range(&r, 1, 28), (int)ps_rng_range(&r, 1, 12));
        snprintf(key, sizeof(key), "%" PRId64, inv->id);
        if (!ps_map_puts(&st->payofin_ids, key, (int64_t)i))
            return false;
        snprintf(key, sizeof(key), "%s|%s", inv->soot, inv->subscriber);
        if (!ps_map_puts(&st->payofin_subscribers, key, (int64_t)i))
            return false;
        total += inv->amount + inv->profit;
    }
    /* after every invoice is paid once, the seed's sample balance is left */
    st->payofin_balance = 11074099 + total;
    st->payofin_payment_base = 1786; /* the seed's invoicePaymentId */
    st->payofin_next_payment = st->payofin_payment_base;
    return true;
}

static void ps_wallet_init(ps_wallet *w, const char *id, const char *account, const char *number,
                           int64_t cash)
{
    /* the seed's limits, in 1/10000 TRY */
    static const int64_t limits[PS_NLIMITS] = {10000000000, 9960040060, 9960040060,
                                               10000000000, 9974349300, 9996998000};
    w->id = id;
    w->account = account;
    w->number = number;
    w->cash = cash;
    w->monthly_out = 0;
    memcpy(w->limits, limits, sizeof(limits));
}

static bool ps_gen_sipay(ps_state *st, int64_t seed)
{
    ps_rng r;
    int64_t total = 0;

    ps_rng_seed(&r, seed, PS_SIPAY);
    st->sipay = calloc(st->n, sizeof(*st->sipay));
    if (st->sipay == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_sipay_invoice *inv = &st->sipay[i];
        if (i == 0) { /* the seed's sample request */
            snprintf(inv->oid, sizeof(inv->oid), "90XX46-FXX5-4XX3-8DXX-B1XX97");
            inv->amount = 19650;
            inv->product = 0;
            snprintf(inv->subscriber, sizeof(inv->subscriber), "5536557580");
            snprintf(inv->bill_term, sizeof(inv->bill_term), "03/2023");
            snprintf(inv->bill_no, sizeof(inv->bill_no), "2023XXX887");
        } else {
            uint64_t a = ps_rng_next(&r), b = ps_rng_next(&r);
            snprintf(inv->oid, sizeof(inv->oid),
                     "%08" PRIX64 "-%04" PRIX64 "-4%03" PRIX64 "-8%03" PRIX64 "-%012" PRIX64,
                     a >> 32, (a >> 16) & 0xffff, a & 0xfff, b >> 52, b & (uint64_t)0xffffffffffff);
            inv->amount = ps_rng_range(&r, 1001, 150000); /* above the poor wallet's 10.00 */
            inv->product = (int)ps_rng_range(&r, 0, 2);
            snprintf(inv->subscriber, sizeof(inv->subscriber), "55%08" PRId64,
                     ps_rng_range(&r, 0, 99999999));
            snprintf(inv->bill_term, sizeof(inv->bill_term), "%02d/2026",
                     (int)ps_rng_range(&r, 1, 12));
            ps_fmt(inv->bill_no, sizeof(inv->bill_no), "2026%06zu", i);
        }
        if (!ps_map_puts(&st->sipay_oids, inv->oid, (int64_t)i))
            return false;
        total += inv->amount;
    }
    /* wallet 0 is the sample's: it can pay every invoice and ends at the
     * sample's 899.47; wallet 1 holds 10.00, less than any invoice (311) */
    ps_wallet_init(&st->wallets[0], "45X9XX21", "28XX01", "25XX25", 89947 + total);
    ps_wallet_init(&st->wallets[1], "45X9XX22", "28XX02", "25XX26", 1000);
    st->sipay_next_payment = 9623002189;
    st->sipay_next_transaction = 7304;
    return true;
}

static void ps_debt_seed(ps_debt *d, int64_t id, int type, int64_t debt, int64_t sub_id,
                         int64_t discount, const char *calc)
{
    d->debt_id = id;
    d->type = type;
    d->member_id = 148;
    snprintf(d->member_name, sizeof(d->member_name), "test");
    d->product_id = 2114065;
    d->product_amount = 10000;
    d->debt_amount = debt;
    d->sub_id = sub_id;
    d->discount = discount;
    snprintf(d->calc, sizeof(d->calc), "%s", calc);
}

static bool ps_gen_paywall(ps_state *st, int64_t seed)
{
    ps_rng r;
    char key[24];

    ps_rng_seed(&r, seed, PS_PAYWALL);
    st->paywall = calloc(st->n, sizeof(*st->paywall));
    st->debts = calloc(st->n * 3 + 2, sizeof(*st->debts));
    if (st->paywall == NULL || st->debts == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_paywall_payment *p = &st->paywall[i];
        p->first = st->ndebts;
        if (i == 0) { /* paymentid 123456 carries the seed's two debts */
            p->id = 123456;
            ps_debt_seed(&st->debts[st->ndebts++], 947, 2, 12000, 466722, 0,
                         "2023-09-15T14:53:58.5074");
            ps_debt_seed(&st->debts[st->ndebts++], 948, 1, 990, 465176, 1000,
                         "2023-09-15T14:53:58.530093");
            p->n = 2;
        } else {
            p->id = 200000 + (int64_t)i;
            p->n = (size_t)ps_rng_range(&r, 0, 3);
            for (size_t k = 0; k < p->n; k++) {
                ps_debt *d = &st->debts[st->ndebts];
                d->debt_id = 1000 + (int64_t)st->ndebts;
                st->ndebts++;
                d->type = (int)ps_rng_range(&r, 1, 2);
                d->member_id = ps_rng_range(&r, 100, 999);
                snprintf(d->member_name, sizeof(d->member_name), "member-%" PRId64, d->member_id);
                d->product_id = ps_rng_range(&r, 2000000, 2999999);
                d->product_amount = ps_rng_range(&r, 1000, 100000);
                d->sub_id = ps_rng_range(&r, 400000, 499999);
                if (d->type == 2) {
                    d->debt_amount = ps_rng_range(&r, 500, 15000);
                } else {
                    d->discount = ps_rng_range(&r, 100, 2500); /* 1.00 .. 25.00 */
                    d->debt_amount = d->product_amount * d->discount / 10000;
                }
                int digits = (int)ps_rng_range(&r, 4, 7);
                ps_fmt(d->calc, sizeof(d->calc), "2026-%02d-%02dT%02d:%02d:%02d.%0*" PRId64,
                       (int)ps_rng_range(&r, 1, 12), (int)ps_rng_range(&r, 1, 28),
                       (int)ps_rng_range(&r, 0, 23), (int)ps_rng_range(&r, 0, 59),
                       (int)ps_rng_range(&r, 0, 59), digits,
                       ps_rng_range(&r, 1, ps_pow10[digits] - 1));
            }
        }
        snprintf(key, sizeof(key), "%" PRId64, p->id);
        if (!ps_map_puts(&st->paywall_ids, key, (int64_t)i))
            return false;
    }
    return true;
}

static bool ps_gen_isbank(ps_state *st, int64_t seed)
{
    static const char *const names[] = {"Ayşe Yılmaz", "Mehmet Demir", "Zeynep Kaya",
                                        "Ali Çelik",   "Elif Şahin",   "Mustafa Öztürk"};
    static const struct {
        const char *code;
        int64_t min; /* the service object's min_value, major units */
    } currencies[] = {{"TRY", 900}, {"USD", 295}, {"EUR", 265}};
    ps_rng r;

    ps_rng_seed(&r, seed, PS_ISBANK);
    st->isbank = calloc(st->n, sizeof(*st->isbank));
    if (st->isbank == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_isbank_order *o = &st->isbank[i];
        if (i == 0) { /* the contract command: exactly the EUR minimum */
            snprintf(o->reference, sizeof(o->reference), "PAY-20200814-0001");
            o->currency = "EUR";
            o->amount = 26500;
            snprintf(o->name, sizeof(o->name), "%s", names[0]);
            snprintf(o->tckn, sizeof(o->tckn), "10000000146");
            continue;
        }
        int c = (int)ps_rng_range(&r, 0, 2);
        snprintf(o->reference, sizeof(o->reference), "ISB-%" PRId64 "-%06zu", seed % 1000000, i);
        o->currency = currencies[c].code;
        o->amount =
            (currencies[c].min + ps_rng_range(&r, 0, 4000)) * 100 + ps_rng_range(&r, 0, 1) * 50;
        snprintf(o->name, sizeof(o->name), "%s", names[ps_rng_range(&r, 0, 5)]);
        snprintf(o->tckn, sizeof(o->tckn), "%011" PRId64,
                 ps_rng_range(&r, 10000000000, 99999999999));
    }
    st->isbank_next_payment = 2493761; /* the seed's payment_id */
    return true;
}

static bool ps_gen_payone(ps_state *st, int64_t seed)
{
    static const char *const currencies[] = {"840", "400", "682"}; /* USD, JOD, SAR */
    ps_rng r;

    ps_rng_seed(&r, seed, PS_PAYONE);
    st->payone = calloc(st->n, sizeof(*st->payone));
    if (st->payone == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_payone_invoice *inv = &st->payone[i];
        if (i == 0) { /* the seed's sample: 100 minor units of USD */
            snprintf(inv->id, sizeof(inv->id), "30231175");
            inv->currency = pv_currency_by_numeric("840");
            inv->preauth = 100;
            inv->is_preauth = true;
        } else {
            ps_fmt(inv->id, sizeof(inv->id), "%" PRId64,
                   30300000 + (int64_t)i * 7 + ps_rng_range(&r, 0, 6));
            inv->currency = pv_currency_by_numeric(currencies[ps_rng_range(&r, 0, 2)]);
            inv->preauth = ps_rng_range(&r, 100, 500000);
            inv->is_preauth = i % 10 != 9; /* one in ten was never pre-authorised (00035) */
        }
        snprintf(inv->approval, sizeof(inv->approval), "%06" PRId64, ps_rng_range(&r, 0, 999999));
        if (inv->currency == NULL || !ps_map_puts(&st->payone_ids, inv->id, (int64_t)i))
            return false;
    }
    st->payone_next_rrn = 5230000000000; /* the seed's rrn ends 5230000000000 */
    return true;
}

static void ps_state_free(ps_state *st)
{
    free(st->payofin);
    free(st->payofin_payments);
    ps_map_free(&st->payofin_ids);
    ps_map_free(&st->payofin_subscribers);
    free(st->sipay);
    ps_map_free(&st->sipay_oids);
    free(st->paywall);
    free(st->debts);
    ps_map_free(&st->paywall_ids);
    free(st->isbank);
    ps_map_free(&st->isbank_paid);
    free(st->payone);
    ps_map_free(&st->payone_ids);
    memset(st, 0, sizeof(*st));
}

static bool ps_state_generate(ps_state *st, const ps_config *cfg)
{
    memset(st, 0, sizeof(*st));
    st->n = (size_t)cfg->invoices;
    if (ps_gen_payofin(st, cfg->seed) && ps_gen_sipay(st, cfg->seed) &&
        ps_gen_paywall(st, cfg->seed) && ps_gen_isbank(st, cfg->seed) &&
        ps_gen_payone(st, cfg->seed))
        return true;
    ps_state_free(st);
    return false;
}

/*---- Reading requests ----*/

static ps_stats *ps_stats_of(ps_call *c)
{
    return &c->sim->stats[c->provider];
}

static const char *ps_in_header(ps_call *c, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(c->req), name);
}

static void ps_out_header(ps_call *c, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(c->req), name, value);
}

/* True when the header `name` is present and equals `want`. */
static bool ps_header_is(ps_call *c, const char *name, const char *want)
{
    const char *v = ps_in_header(c, name);
    return v != NULL && strcmp(v, want) == 0;
}

/* True when the request says its body is a form. */
static bool ps_is_form(ps_call *c)
{
    const char *ct = ps_in_header(c, "Content-Type");
    static const char form[] = "application/x-www-form-urlencoded";
    return ct != NULL && strncasecmp(ct, form, sizeof(form) - 1) == 0 &&
           (ct[sizeof(form) - 1] == '\0' || ct[sizeof(form) - 1] == ';' ||
            ct[sizeof(form) - 1] == ' ');
}

static int ps_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes application/x-www-form-urlencoded text s[0..n) ('+' is a blank,
 * %XX a byte) into out (room for n+1 bytes). Returns the length or -1 for a
 * bad escape. */
static long ps_form_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n)
                return -1; /* "%" or "%X" at the end */
            int hi = ps_hexval(s[i + 1]), lo = ps_hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return (long)o;
}

/* Finds the form field `name` in the body and decodes its value into a new
 * NUL-terminated string (*out, the caller frees it; *len its length; it may
 * hold NUL bytes). Returns 1 found, 0 absent, -1 malformed. The first of
 * repeated fields wins. */
static int ps_form_get(const char *body, size_t n, const char *name, char **out, size_t *len)
{
    size_t i = 0;
    while (i < n) {
        const char *seg = body + i;
        const char *amp = memchr(seg, '&', n - i);
        size_t seglen = amp != NULL ? (size_t)(amp - seg) : n - i;
        const char *eq = memchr(seg, '=', seglen);
        size_t klen = eq != NULL ? (size_t)(eq - seg) : seglen;
        char key[128];
        if (klen < sizeof(key)) {
            long kl = ps_form_decode(seg, klen, key);
            if (kl < 0)
                return -1;
            if ((size_t)kl == strlen(name) && memcmp(key, name, (size_t)kl) == 0) {
                const char *val = eq != NULL ? eq + 1 : seg + seglen;
                size_t vlen = eq != NULL ? seglen - klen - 1 : 0;
                char *v = malloc(vlen + 1);
                if (v == NULL)
                    return -1;
                long vl = ps_form_decode(val, vlen, v);
                if (vl < 0) {
                    free(v);
                    return -1;
                }
                *out = v;
                *len = (size_t)vl;
                return 1;
            }
        }
        i += seglen + 1;
    }
    return 0;
}

/* The text of an identifier given as a JSON string or integer. False for
 * other types, for NUL bytes and for text that does not fit. */
static bool ps_json_text(json_object *v, char *buf, size_t cap)
{
    if (v == NULL)
        return false;
    if (json_object_is_type(v, json_type_int)) {
        int64_t i64;
        pv_error ignored = {0};
        if (pv_json_value_int64(v, "", &i64, &ignored) != PV_OK)
            return false;
        snprintf(buf, cap, "%" PRId64, i64);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    size_t len = (size_t)json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (len >= cap || memchr(s, '\0', len) != NULL)
        return false;
    memcpy(buf, s, len + 1);
    return true;
}

/* Quotes a JSON value for a message: its type and a bounded excerpt. */
static void ps_describe(json_object *v, char *buf, size_t cap)
{
    if (v == NULL)
        snprintf(buf, cap, "nothing");
    else
        pv_json_describe(v, buf, cap);
}

/*---- Writing answers ----*/

/* Starts the answer of the call: the JSON writer over the sim's buffer. */
static void ps_answer(ps_call *c, int status, ps_jw *w)
{
    ps_buf_reset(&c->sim->out);
    ps_jw_init(w, &c->sim->out);
    c->status = status;
}

static void ps_vmsg(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void ps_vmsg(char *buf, size_t cap, const char *fmt, va_list ap)
{
    vsnprintf(buf, cap, fmt, ap);
}

/* ASP.NET's ProblemDetails for a request the provider cannot read (the .NET
 * providers answer model-binding failures so): HTTP 400 naming the field. */
static void ps_problem(ps_call *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ps_problem(ps_call *c, const char *field, const char *fmt, ...)
{
    char msg[PS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    ps_vmsg(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps_jw w;
    ps_answer(c, 400, &w);
    ps_count(c, PS_ST_BAD);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "type", "https://tools.ietf.org/html/rfc7231#section-6.5.1");
    ps_jw_kstr(&w, "title", "One or more validation errors occurred.");
    ps_jw_kint(&w, "status", 400);
    ps_jw_key(&w, "errors");
    ps_jw_obj(&w);
    ps_jw_key(&w, field);
    ps_jw_arr(&w);
    ps_jw_str(&w, msg);
    ps_jw_end_arr(&w);
    ps_jw_end(&w);
    ps_jw_end(&w);
}

/* Parses the body as a JSON object into c->root; on failure msg says why. */
static bool ps_json_body(ps_call *c, char *msg, size_t cap)
{
    pv_error err = {0};
    if (pv_json_parse(c->body, c->body_len, "request body", &c->root, &err) != PV_OK) {
        snprintf(msg, cap, "%s", err.errstr);
        pv_error_clear(&err);
        return false;
    }
    if (!json_object_is_type(c->root, json_type_object)) {
        char d[128];
        ps_describe(c->root, d, sizeof(d));
        snprintf(msg, cap, "request body: expected a JSON object, got %s", d);
        return false;
    }
    return true;
}

/* ps_json_body answering ProblemDetails on failure. */
static bool ps_json_body_or_problem(ps_call *c)
{
    char msg[PS_MSG_MAX];
    if (ps_json_body(c, msg, sizeof(msg)))
        return true;
    ps_problem(c, "$", "%s", msg);
    return false;
}

/*---- Payofin (seed 000) ----*/

/* A refusal: {<data>: null, result: false, resultCode, resultMessage},
 * HTTP 200. */
static void ps_payofin_refuse(ps_call *c, const char *data_key, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ps_payofin_refuse(ps_call *c, const char *data_key, int code, const char *fmt, ...)
{
    char msg[PS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    ps_vmsg(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps_jw w;
    ps_answer(c, 200, &w);
    /* -22 is counted as an auth failure by the caller; -8 and -14..-17 say
     * the request was wrong; the others refuse the payment */
    if (code == -8 || (code <= -14 && code >= -17))
        ps_count(c, PS_ST_BAD);
    else if (code != -22)
        ps_count(c, PS_ST_DECLINES);
    ps_jw_obj(&w);
    ps_jw_knull(&w, data_key);
    ps_jw_kbool(&w, "result", false);
    ps_jw_kint(&w, "resultCode", code);
    ps_jw_kstr(&w, "resultMessage", msg);
    ps_jw_end(&w);
}

/* ApiKey and SecretKey; -22 otherwise. */
static bool ps_payofin_auth(ps_call *c, const char *data_key)
{
    const ps_config *cfg = &c->sim->cfg;
    if (ps_header_is(c, "ApiKey", cfg->payofin_api_key) &&
        ps_header_is(c, "SecretKey", cfg->payofin_secret_key))
        return true;
    ps_count(c, PS_ST_AUTH);
    /* it echoes the key it got, as careless gateways do: the worker must
     * never repeat it (issue 11, secrets) */
    const char *got = ps_in_header(c, "ApiKey");
    if (got != NULL)
        ps_payofin_refuse(c, data_key, -22,
                          "ApiKey/SecretKey: invalid credentials (ApiKey=%.40s not recognised)",
                          got);
    else
        ps_payofin_refuse(c, data_key, -22,
                          "ApiKey/SecretKey: invalid credentials (ApiKey missing)");
    return false;
}

static ps_payofin_invoice *ps_payofin_by_id(ps_state *st, int64_t id)
{
    char key[24];
    int64_t i;
    snprintf(key, sizeof(key), "%" PRId64, id);
    return ps_map_get(&st->payofin_ids, key, strlen(key), &i) ? &st->payofin[i] : NULL;
}

/* "dd.MM.yyyy HH:mm:ss" now, Istanbul time. */
static void ps_payofin_now(char *buf, size_t cap)
{
    struct tm tm;
    ps_istanbul(&tm, NULL, NULL);
    ps_fmt(buf, cap, "%02d.%02d.%04d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
           tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* paymentAmount as the seed writes it: a partial (whole lira) as 1.0, an
 * invoice amount with its two decimals. */
static void ps_payofin_paid_text(const ps_payofin_invoice *inv, char *buf, size_t cap)
{
    if (inv->paid_partial) /* whole lira */
        ps_fmt(buf, cap, "%" PRId64 ".0", inv->paid_amount / 100);
    else
        ps_try(buf, cap, inv->paid_amount, 2);
}

static void ps_payofin_pay(ps_call *c)
{
    static const char data[] = "payofinPaymentDetails";
    ps_state *st = &c->sim->st;
    char d[128], amount[48];
    int64_t id, partial = 0;

    if (!ps_payofin_auth(c, data) || !ps_json_body_or_problem(c))
        return;
    json_object *idv = pv_json_member(c->root, "invoiceQueryId");
    pv_error ignored = {0};
    if (idv == NULL || !json_object_is_type(idv, json_type_int) ||
        pv_json_value_int64(idv, "invoiceQueryId", &id, &ignored) != PV_OK) {
        ps_describe(idv, d, sizeof(d));
        ps_payofin_refuse(c, data, -19, "invoiceQueryId: %s is not an invoice query id", d);
        return;
    }
    ps_payofin_invoice *inv = ps_payofin_by_id(st, id);
    if (inv == NULL) {
        ps_payofin_refuse(c, data, -19, "invoiceQueryId %" PRId64 ": invoice not found", id);
        return;
    }
    json_object *pa = pv_json_member(c->root, "partialAmount");
    if (pa != NULL) {
        ps_describe(pa, d, sizeof(d));
        if (!json_object_is_type(pa, json_type_int) ||
            pv_json_value_int64(pa, "partialAmount", &partial, &ignored) != PV_OK || partial <= 0) {
            ps_payofin_refuse(c, data, -8, "partialAmount: %s must be a positive integer", d);
            return;
        }
    }
    if (inv->paid) {
        ps_count(c, PS_ST_DOUBLE);
        ps_payofin_refuse(c, data, -10,
                          "invoiceQueryId %" PRId64 ": already paid (invoicePaymentId %" PRId64
                          " on %s)",
                          id, inv->payment_id, inv->paid_date);
        return;
    }
    int64_t pay = inv->amount;
    if (pa != NULL) {
        if (partial > inv->amount / 100 || partial * 100 > inv->amount) {
            ps_try(amount, sizeof(amount), inv->amount, 2);
            ps_payofin_refuse(c, data, -20,
                              "partialAmount: %" PRId64 " is greater than the invoice amount %s",
                              partial, amount);
            return;
        }
        pay = partial * 100;
    }
    if (pay > 2000000) {
        ps_try(amount, sizeof(amount), pay, 2);
        ps_payofin_refuse(c, data, -5, "amount %s is over 20,000 TL per transaction", amount);
        return;
    }

    /* pay: the invoice is closed, the merchant's prepaid balance goes down
     * by the amount and the service fee */
    inv->paid = true;
    inv->paid_partial = pa != NULL;
    inv->paid_amount = pay;
    inv->payment_id = st->payofin_next_payment++;
    st->payofin_payments[inv->payment_id - st->payofin_payment_base] = (size_t)(inv - st->payofin);
    st->payofin_balance -= pay + inv->profit;
    ps_payofin_now(inv->paid_date, sizeof(inv->paid_date));
    char qid[24], ref[24];
    snprintf(qid, sizeof(qid), "%" PRId64, id);
    snprintf(ref, sizeof(ref), "%" PRId64, inv->payment_id);
    ps_ledger_add(c, qid, pay, "TRY", ref);

    ps_jw w;
    ps_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_key(&w, data);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "invoicePaymentId", inv->payment_id);
    ps_jw_kamount(&w, "balance", st->payofin_balance, 2, 2);
    ps_payofin_paid_text(inv, amount, sizeof(amount));
    ps_jw_kraw(&w, "paymentAmount", amount);
    ps_jw_kamount(&w, "profit", inv->profit, 2, 2);
    ps_jw_kstr(&w, "paymentDate", inv->paid_date);
    ps_jw_end(&w);
    ps_jw_kbool(&w, "result", true);
    ps_jw_kint(&w, "resultCode", 1);
    ps_jw_kstr(&w, "resultMessage", PS_OK_TR);
    ps_jw_end(&w);
}

/* Reads a query parameter given as a string or an integer; absent reads as
 * "" when `optional`. False when it is of another type or too long. */
static bool ps_payofin_param(json_object *root, const char *key, bool optional, char *buf,
                             size_t cap)
{
    json_object *v = pv_json_member(root, key);
    if (v == NULL) {
        buf[0] = '\0';
        return optional;
    }
    return ps_json_text(v, buf, cap) && (optional || buf[0] != '\0');
}

static void ps_payofin_query(ps_call *c)
{
    static const char data[] = "invoiceList";
    static const struct {
        const char *key;
        int code;
        bool optional;
    } params[] = {
        {"sootCode", -17, false},
        {"subscriberNo", -14, false},
        {"firmRefNo", -15, true},
        {"additionalNo", -16, true},
    };
    char val[4][64], key[160], d[128];

    if (!ps_payofin_auth(c, data) || !ps_json_body_or_problem(c))
        return;
    for (size_t i = 0; i < 4; i++) {
        if (!ps_payofin_param(c->root, params[i].key, params[i].optional, val[i], sizeof(val[i]))) {
            ps_describe(pv_json_member(c->root, params[i].key), d, sizeof(d));
            ps_payofin_refuse(c, data, params[i].code, "%s: %s is not valid", params[i].key, d);
            return;
        }
    }
    int64_t idx;
    snprintf(key, sizeof(key), "%s|%s", val[0], val[1]);
    if (!ps_map_get(&c->sim->st.payofin_subscribers, key, strlen(key), &idx)) {
        ps_payofin_refuse(c, data, -11, "no record for subscriberNo %s at sootCode %s", val[1],
                          val[0]);
        return;
    }
    ps_payofin_invoice *inv = &c->sim->st.payofin[idx];
    /* the generated invoices carry no firm reference nor additional number */
    if (val[2][0] != '\0') {
        ps_payofin_refuse(c, data, -15, "firmRefNo: \"%s\" is not valid for subscriberNo %s",
                          val[2], val[1]);
        return;
    }
    if (val[3][0] != '\0') {
        ps_payofin_refuse(c, data, -16, "additionalNo: \"%s\" is not valid for subscriberNo %s",
                          val[3], val[1]);
        return;
    }
    if (inv->paid) {
        ps_payofin_refuse(c, data, -10, "subscriberNo %s: the invoice is already paid", val[1]);
        return;
    }
    ps_jw w;
    ps_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_key(&w, data);
    ps_jw_arr(&w);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "invoiceQueryId", inv->id);
    ps_jw_kstr(&w, "invoiceNo", inv->invoice_no);
    ps_jw_kstr(&w, "expDate", inv->exp_date);
    ps_jw_kamount(&w, "invoiceAmount", inv->amount, 2, 2);
    ps_jw_kamount(&w, "merchantProfit", inv->profit, 2, 2);
    ps_jw_end(&w);
    ps_jw_end_arr(&w);
    ps_jw_kbool(&w, "result", true);
    ps_jw_kint(&w, "resultCode", 1);
    ps_jw_kstr(&w, "resultMessage", PS_OK_TR);
    ps_jw_end(&w);
}

static void ps_payofin_check(ps_call *c)
{
    static const char data[] = "invoiceDetail";
    ps_state *st = &c->sim->st;
    char d[128], amount[48];
    int64_t id;

    if (!ps_payofin_auth(c, data) || !ps_json_body_or_problem(c))
        return;
    json_object *v = pv_json_member(c->root, "invoicePaymentId");
    pv_error ignored = {0};
    if (v == NULL || !json_object_is_type(v, json_type_int) ||
        pv_json_value_int64(v, "invoicePaymentId", &id, &ignored) != PV_OK) {
        ps_describe(v, d, sizeof(d));
        ps_payofin_refuse(c, data, -11, "invoicePaymentId: %s is not a payment id", d);
        return;
    }
    if (id < st->payofin_payment_base || id >= st->payofin_next_payment) {
        ps_payofin_refuse(c, data, -11, "invoicePaymentId %" PRId64 ": no record", id);
        return;
    }
    const ps_payofin_invoice *inv =
        &st->payofin[st->payofin_payments[id - st->payofin_payment_base]];
    ps_jw w;
    ps_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_key(&w, data);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "invoicePaymentId", id);
    ps_jw_kint(&w, "invoiceQueryId", inv->id);
    ps_jw_kstr(&w, "invoiceNo", inv->invoice_no);
    ps_payofin_paid_text(inv, amount, sizeof(amount));
    ps_jw_kraw(&w, "paymentAmount", amount);
    ps_jw_kamount(&w, "profit", inv->profit, 2, 2);
    ps_jw_kstr(&w, "paymentDate", inv->paid_date);
    ps_jw_kstr(&w, "status", "Paid");
    ps_jw_end(&w);
    ps_jw_kbool(&w, "result", true);
    ps_jw_kint(&w, "resultCode", 1);
    ps_jw_kstr(&w, "resultMessage", PS_OK_TR);
    ps_jw_end(&w);
}

/*---- OAuth2 client credentials (Sipay, İş Bankası) ----*/

static void ps_oauth_error(ps_call *c, int status, const char *error, const char *description)
{
    ps_jw w;
    ps_answer(c, status, &w);
    ps_count(c, status == 401 ? PS_ST_AUTH : PS_ST_BAD);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "error", error);
    ps_jw_kstr(&w, "error_description", description);
    ps_jw_end(&w);
}

/* Reads a form field into buf ("" when absent). False when malformed or
 * too long. */
static bool ps_form_field(ps_call *c, const char *name, char *buf, size_t cap)
{
    char *v = NULL;
    size_t len = 0;
    int rc = ps_form_get(c->body, c->body_len, name, &v, &len);
    buf[0] = '\0';
    if (rc == 0)
        return true;
    bool ok = rc > 0 && len < cap && memchr(v, '\0', len) == NULL;
    if (ok)
        memcpy(buf, v, len + 1);
    free(v);
    return ok;
}

/* The token endpoint of provider p: grant_type=client_credentials with the
 * client in the form (RFC 6749 §4.4, client_secret_post). Answers the
 * token, or the RFC's error codes. */
static void ps_oauth_token(ps_call *c, const char *client_id, const char *client_secret,
                           const char *scope_granted)
{
    char grant[64], id[256], secret[256], scope[256];
    if (!ps_is_form(c)) {
        ps_oauth_error(c, 400, "invalid_request",
                       "Content-Type must be application/x-www-form-urlencoded");
        return;
    }
    if (!ps_form_field(c, "grant_type", grant, sizeof(grant)) ||
        !ps_form_field(c, "client_id", id, sizeof(id)) ||
        !ps_form_field(c, "client_secret", secret, sizeof(secret)) ||
        !ps_form_field(c, "scope", scope, sizeof(scope))) {
        ps_oauth_error(c, 400, "invalid_request", "the form body is malformed");
        return;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        ps_oauth_error(c, 400, "unsupported_grant_type",
                       grant[0] == '\0' ? "grant_type is missing"
                                        : "only client_credentials is supported");
        return;
    }
    if (strcmp(id, client_id) != 0 || strcmp(secret, client_secret) != 0) {
        ps_oauth_error(c, 401, "invalid_client", "unknown client or wrong secret");
        return;
    }
    /* every scope asked for must be the one granted */
    if (scope_granted != NULL) {
        size_t glen = strlen(scope_granted);
        for (const char *s = scope; *s != '\0';) {
            size_t n = strcspn(s, " ");
            if (n > 0 && (n != glen || memcmp(s, scope_granted, n) != 0)) {
                ps_oauth_error(c, 400, "invalid_scope", "the scope asked for is not granted");
                return;
            }
            s += n;
            s += strspn(s, " ");
        }
    }
    const char *token = ps_token_issue(c->sim, c->provider);
    ps_jw w;
    ps_answer(c, 200, &w);
    ps_out_header(c, "Cache-Control", "no-store");
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "access_token", token);
    ps_jw_kint(&w, "expires_in", c->sim->cfg.token_ttl_s);
    ps_jw_kstr(&w, "token_type", "Bearer");
    if (scope_granted != NULL)
        ps_jw_kstr(&w, "scope", scope_granted);
    else if (scope[0] != '\0')
        ps_jw_kstr(&w, "scope", scope);
    ps_jw_end(&w);
}

/*---- Sipay Wallet (seed 001) ----*/

static void ps_sipay_token(ps_call *c)
{
    const ps_config *cfg = &c->sim->cfg;
    ps_oauth_token(c, cfg->sipay_client_id, cfg->sipay_client_secret, cfg->sipay_scope);
}

/* The envelope of a refusal: {status, code, message, payload: null}. */
static void ps_sipay_refuse(ps_call *c, int http, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ps_sipay_refuse(ps_call *c, int http, const char *code, const char *fmt, ...)
{
    char msg[PS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    ps_vmsg(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps_jw w;
    ps_answer(c, http, &w);
    ps_count(c, http == 200 ? PS_ST_DECLINES : PS_ST_BAD);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "status", 1);
    ps_jw_kstr(&w, "code", code);
    ps_jw_kstr(&w, "message", msg);
    ps_jw_knull(&w, "payload");
    ps_jw_end(&w);
}

/* A documented string parameter: present, a JSON string, not empty. */
static bool ps_sipay_text(ps_call *c, const char *key, char *buf, size_t cap)
{
    char d[128];
    json_object *v = pv_json_member(c->root, key);
    if (v != NULL && json_object_is_type(v, json_type_string) && ps_json_text(v, buf, cap) &&
        buf[0] != '\0')
        return true;
    ps_describe(v, d, sizeof(d));
    ps_problem(c, key, "%s: %s must be a non-empty string", key, d);
    return false;
}

/* A documented decimal parameter in TRY: a JSON number (or decimal string),
 * at most two decimals. */
static bool ps_sipay_amount(ps_call *c, const char *key, int64_t *minor)
{
    char d[128];
    pv_money m;
    pv_error err = {0};
    json_object *v = pv_json_member(c->root, key);
    if (v == NULL || pv_json_value_money(v, key, "TRY", &m, &err) != PV_OK || m.rounded) {
        ps_describe(v, d, sizeof(d));
        ps_problem(c, key, "%s: %s must be an amount in TRY with at most 2 decimals", key, d);
        pv_error_clear(&err);
        return false;
    }
    *minor = m.minor;
    return true;
}

static ps_wallet *ps_sipay_wallet(ps_state *st, const char *account, const char *number)
{
    for (size_t i = 0; i < PS_NWALLETS; i++)
        if (strcmp(st->wallets[i].account, account) == 0 &&
            strcmp(st->wallets[i].number, number) == 0)
            return &st->wallets[i];
    return NULL;
}

/* sender_wallet_info, in the seed's order and number formats. */
static void ps_sipay_wallet_info(ps_jw *w, const ps_wallet *wal)
{
    char t[48];
    ps_jw_obj(w);
    ps_jw_kstr(w, "id", wal->id);
    ps_jw_kstr(w, "tenant_id", "5");
    ps_jw_kstr(w, "name", "");
    ps_jw_kstr(w, "account_number", wal->account);
    ps_jw_kstr(w, "account_type", "Personal");
    ps_jw_kstr(w, "created_date_utc", "2022-01-18T07:48:51.7092961+00:00");
    ps_jw_kstr(w, "number", wal->number);
    ps_jw_knull(w, "phone_country_code");
    ps_jw_knull(w, "phone_number");
    ps_jw_knull(w, "email");
    ps_jw_kamount(w, "total_balance", wal->cash, 2, 2);
    ps_jw_kraw(w, "monthly_incoming_total", "0.0");
    if (wal->monthly_out == 0)
        snprintf(t, sizeof(t), "0.0");
    else
        ps_try(t, sizeof(t), wal->monthly_out, 2);
    ps_jw_kraw(w, "monthly_outgoing_total", t);
    ps_jw_kint(w, "access_level_status_id", 1);
    ps_jw_kstr(w, "access_level_status", "Aktif");
    ps_jw_key(w, "payment_balance");
    ps_jw_obj(w);
    ps_jw_kraw(w, "available", "0.0");
    ps_jw_kraw(w, "unavailable", "0.00");
    ps_jw_end(w);
    ps_jw_key(w, "cash_balance");
    ps_jw_obj(w);
    ps_jw_kamount(w, "available", wal->cash, 2, 2);
    ps_jw_kraw(w, "unavailable", "0.00");
    ps_jw_end(w);
    ps_jw_key(w, "transaction_limits");
    ps_jw_obj(w);
    for (size_t i = 0; i < PS_NLIMITS; i++)
        ps_jw_kamount(w, ps_sipay_limit_names[i], wal->limits[i], 4, 4);
    ps_jw_end(w);
    ps_jw_knull(w, "kyc_level_status");
    ps_jw_kstr(w, "currency_code", "TRY");
    ps_jw_knull(w, "user_kyc_info");
    ps_jw_kbool(w, "is_topup_default", false);
    ps_jw_knull(w, "tax_number");
    ps_jw_kbool(w, "loyalty_record_required", false);
    ps_jw_end(w);
}

static void ps_sipay_pay(ps_call *c)
{
    static const char *const text_keys[] = {
        "account_number", "wallet_number", "inv_payment_transaction_query_oid",
        "product_oid",    "subscriber_no", "bill_term",
        "bill_no",
    };
    enum { ACCOUNT, WALLET, OID, PRODUCT, SUBSCRIBER, TERM, BILL, NTEXT };
    ps_state *st = &c->sim->st;
    char text[NTEXT][96], d[128], a1[48], a2[48];
    int64_t type_id, tenant, invoice_amount, payment_amount, idx;
    pv_error ignored = {0};

    if (!ps_token_check(c->sim, PS_SIPAY, ps_in_header(c, "Authorization")) ||
        !ps_header_is(c, "x-client-id", c->sim->cfg.sipay_client_id)) {
        ps_jw w;
        ps_answer(c, 401, &w); /* no body: the bearer scheme's challenge says it */
        ps_count(c, PS_ST_AUTH);
        ps_out_header(c, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        return;
    }
    if (!ps_json_body_or_problem(c))
        return;
    json_object *tv = pv_json_member(c->root, "tenant_id");
    if (tv != NULL && (!json_object_is_type(tv, json_type_int) ||
                       pv_json_value_int64(tv, "tenant_id", &tenant, &ignored) != PV_OK)) {
        ps_describe(tv, d, sizeof(d));
        ps_problem(c, "tenant_id", "tenant_id: %s must be an integer", d);
        return;
    }
    json_object *av = pv_json_member(c->root, "account_type_id");
    if (av == NULL || !json_object_is_type(av, json_type_int) ||
        pv_json_value_int64(av, "account_type_id", &type_id, &ignored) != PV_OK ||
        (type_id != 1 && type_id != 2)) {
        ps_describe(av, d, sizeof(d));
        ps_problem(c, "account_type_id", "account_type_id: %s must be 1 or 2", d);
        return;
    }
    for (size_t i = 0; i < NTEXT; i++)
        if (!ps_sipay_text(c, text_keys[i], text[i], sizeof(text[i])))
            return;
    if (!ps_sipay_amount(c, "invoice_amount", &invoice_amount) ||
        !ps_sipay_amount(c, "payment_amount", &payment_amount))
        return;

    ps_wallet *wal = ps_sipay_wallet(st, text[ACCOUNT], text[WALLET]);
    if (wal == NULL) {
        ps_sipay_refuse(c, 200, "300", "wallet %s of account %s not found", text[WALLET],
                        text[ACCOUNT]);
        return;
    }
    if (!ps_map_get(&st->sipay_oids, text[OID], strlen(text[OID]), &idx)) {
        ps_sipay_refuse(c, 400, "400", "inv_payment_transaction_query_oid: \"%s\" not found",
                        text[OID]);
        return;
    }
    ps_sipay_invoice *inv = &st->sipay[idx];
    if (inv->paid) {
        ps_count(c, PS_ST_DOUBLE);
        ps_sipay_refuse(c, 200, "301", "duplicate external transaction id \"%s\": already paid",
                        inv->oid);
        return;
    }
    const ps_sipay_product *prod = &ps_sipay_products[inv->product];
    const char *bad = strcmp(text[PRODUCT], prod->oid) != 0            ? "product_oid"
                      : strcmp(text[SUBSCRIBER], inv->subscriber) != 0 ? "subscriber_no"
                      : strcmp(text[TERM], inv->bill_term) != 0        ? "bill_term"
                      : strcmp(text[BILL], inv->bill_no) != 0          ? "bill_no"
                                                                       : NULL;
    if (bad != NULL) {
        ps_sipay_refuse(c, 400, "400", "%s: does not match invoice transaction \"%s\"", bad,
                        inv->oid);
        return;
    }
    if (invoice_amount != inv->amount || payment_amount <= 0 || payment_amount > inv->amount) {
        ps_try(a1, sizeof(a1), inv->amount, 2);
        ps_try(a2, sizeof(a2), payment_amount, 2);
        ps_sipay_refuse(c, 400, "400",
                        "%s: the invoice amount is %s; payment_amount %s must be above 0 and "
                        "at most that",
                        invoice_amount != inv->amount ? "invoice_amount" : "payment_amount", a1,
                        a2);
        return;
    }
    if (wal->cash < payment_amount) {
        ps_try(a1, sizeof(a1), wal->cash, 2);
        ps_sipay_refuse(c, 200, "311", "insufficient balance: wallet %s holds %s", wal->number, a1);
        return;
    }

    /* pay from the wallet's cash balance */
    inv->paid = true;
    wal->cash -= payment_amount;
    wal->monthly_out += payment_amount;
    wal->limits[PS_LIMIT_PAYMENT] -= payment_amount * 100;
    if (wal->limits[PS_LIMIT_PAYMENT] < 0)
        wal->limits[PS_LIMIT_PAYMENT] = 0;
    char ptid[24], tid[24];
    snprintf(ptid, sizeof(ptid), "%" PRId64, st->sipay_next_payment++);
    snprintf(tid, sizeof(tid), "ABRV%07" PRId64, st->sipay_next_transaction++);
    ps_ledger_add(c, inv->oid, payment_amount, "TRY", ptid);

    ps_jw w;
    ps_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "status", 0);
    ps_jw_kstr(&w, "code", "100");
    ps_jw_kstr(&w, "message", PS_OK_TR_LC);
    ps_jw_key(&w, "payload");
    ps_jw_obj(&w);
    ps_jw_knull(&w, "invoice_type");
    ps_jw_kstr(&w, "inv_payment_transaction_query_oid", inv->oid);
    ps_jw_kstr(&w, "receipt_output_print", "termal");
    ps_jw_kstr(&w, "institution_name", prod->name);
    ps_jw_kstr(&w, "payment_transaction_id", ptid);
    ps_jw_kstr(&w, "transaction_id", tid);
    ps_jw_kamount(&w, "transaction_amount", payment_amount, 2, 4);
    ps_jw_kamount(&w, "transaction_fee", 0, 2, 6);
    ps_jw_kamount(&w, "charged_amount", payment_amount, 2, 6);
    ps_jw_kstr(&w, "ext_order_id", inv->oid);
    ps_jw_kstr(&w, "business_code", "");
    ps_jw_kstr(&w, "business_name", "");
    ps_jw_kstr(&w, "friendly_name", "");
    ps_jw_kstr(&w, "receiver_account_number", prod->receiver_account);
    ps_jw_kstr(&w, "receiver_wallet_number", prod->receiver_wallet);
    ps_jw_key(&w, "sender_wallet_info");
    ps_sipay_wallet_info(&w, wal);
    ps_jw_end(&w);
    ps_jw_end(&w);
}

/*---- Paywall (seed 002) ----*/

static void ps_paywall_refuse(ps_call *c, int http, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ps_paywall_refuse(ps_call *c, int http, int code, const char *fmt, ...)
{
    char msg[PS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    ps_vmsg(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps_jw w;
    ps_answer(c, http, &w);
    ps_count(c, http == 401 ? PS_ST_AUTH : http == 400 ? PS_ST_BAD : PS_ST_DECLINES);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "ErrorCode", code);
    ps_jw_kbool(&w, "Result", false);
    ps_jw_kstr(&w, "Message", msg);
    ps_jw_knull(&w, "Body");
    ps_jw_end(&w);
}

static void ps_paywall_debt_json(ps_jw *w, const ps_debt *d)
{
    ps_jw_obj(w);
    ps_jw_kint(w, "DebtId", d->debt_id);
    ps_jw_kint(w, "Type", d->type);
    ps_jw_kstr(w, "TypeName", d->type == 2 ? "Cargo" : "Discount");
    ps_jw_kint(w, "MemberId", d->member_id);
    ps_jw_kstr(w, "MemberName", d->member_name);
    ps_jw_kint(w, "CurrencyId", 1);
    ps_jw_kstr(w, "Currency", "TRY");
    ps_jw_kint(w, "ProductId", d->product_id);
    ps_jw_kamount(w, "ProductAmount", d->product_amount, 2, 2);
    ps_jw_kamount(w, "DebtAmount", d->debt_amount, 2, 2);
    ps_jw_kint(w, "DebtStatusId", 1);
    ps_jw_kint(w, "DebtTransactionId", 0);
    if (d->type == 2) {
        ps_jw_key(w, "Cargo");
        ps_jw_obj(w);
        ps_jw_kint(w, "CargoId", d->sub_id);
        ps_jw_kint(w, "CargoOwnerType", 1);
        ps_jw_kamount(w, "CargoCost", d->debt_amount, 2, 2);
        ps_jw_end(w);
        ps_jw_knull(w, "Discount");
    } else {
        ps_jw_knull(w, "Cargo");
        ps_jw_key(w, "Discount");
        ps_jw_obj(w);
        ps_jw_kint(w, "DiscountId", d->sub_id);
        ps_jw_kint(w, "DiscountOwnerType", 1);
        ps_jw_kint(w, "DiscountType", 1);
        ps_jw_kamount(w, "Discount", d->discount, 2, 2);
        ps_jw_end(w);
    }
    ps_jw_kstr(w, "CalculationDateTime", d->calc);
    ps_jw_end(w);
}

static void ps_paywall_debt(ps_call *c)
{
    const ps_config *cfg = &c->sim->cfg;
    ps_state *st = &c->sim->st;
    char q[96];
    int64_t id, idx;

    if (!ps_header_is(c, "apikeypublic", cfg->paywall_key_public) ||
        !ps_header_is(c, "apiclientpublic", cfg->paywall_client_public)) {
        ps_paywall_refuse(c, 401, 1001, "apikeypublic/apiclientpublic: not recognised");
        return;
    }
    const char *pid = ps_in_header(c, "paymentid");
    size_t len = pid != NULL ? strlen(pid) : 0;
    if (pid == NULL || len == 0 || len > 18 || strspn(pid, "0123456789") != len ||
        pv_money_parse_int64(pid, len, &id) != PV_OK || id <= 0) {
        pv_utf8_quote(q, sizeof(q), pid != NULL ? pid : "", len);
        ps_paywall_refuse(c, 400, 1002, "paymentid: \"%s\" must be a positive integer", q);
        return;
    }
    char key[24];
    snprintf(key, sizeof(key), "%" PRId64, id);
    if (!ps_map_get(&st->paywall_ids, key, strlen(key), &idx)) {
        ps_paywall_refuse(c, 200, 1003, "paymentid %" PRId64 ": payment not found", id);
        return;
    }
    const ps_paywall_payment *p = &st->paywall[idx];
    ps_jw w;
    ps_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "ErrorCode", 0);
    ps_jw_kbool(&w, "Result", true);
    ps_jw_kstr(&w, "Message", "");
    ps_jw_key(&w, "Body");
    ps_jw_arr(&w);
    for (size_t i = 0; i < p->n; i++)
        ps_paywall_debt_json(&w, &st->debts[p->first + i]);
    ps_jw_end_arr(&w);
    ps_jw_end(&w);
}

/*---- İş Bankası (seed 003) ----*/

#define PS_ISBANK_API "/api/isbank/v1"

/* API Connect's own refusal (no envelope). */
static void ps_isbank_gateway_error(ps_call *c, const char *more)
{
    ps_jw w;
    ps_answer(c, 401, &w);
    ps_count(c, PS_ST_AUTH);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "httpCode", "401");
    ps_jw_kstr(&w, "httpMessage", "Unauthorized");
    ps_jw_kstr(&w, "moreInformation", more);
    ps_jw_end(&w);
}

static bool ps_isbank_gateway(ps_call *c)
{
    const ps_config *cfg = &c->sim->cfg;
    if (ps_header_is(c, "X-IBM-client-id", cfg->isbank_client_id) &&
        ps_header_is(c, "X-IBM-client-secret", cfg->isbank_client_secret))
        return true;
    ps_isbank_gateway_error(c, "Invalid client id or secret.");
    return false;
}

static bool ps_isbank_bearer(ps_call *c)
{
    if (ps_token_check(c->sim, PS_ISBANK, ps_in_header(c, "Authorization")))
        return true;
    ps_isbank_gateway_error(c, "Cannot pass the security checks that are required by the target "
                               "API or operation, Enable debug headers for more details.");
    return false;
}

static void ps_isbank_token(ps_call *c)
{
    if (ps_isbank_gateway(c))
        ps_oauth_token(c, c->sim->cfg.isbank_client_id, c->sim->cfg.isbank_client_secret, NULL);
}

/* The infos of a refusal, collected before answering. */
typedef struct ps_infos {
    size_t n, more;
    const char *code[PS_INFOS_MAX];
    char msg[PS_INFOS_MAX][256];
} ps_infos;

static void ps_infos_add(ps_infos *in, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ps_infos_add(ps_infos *in, const char *code, const char *fmt, ...)
{
    if (in->n == PS_INFOS_MAX) {
        in->more++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    ps_vmsg(in->msg[in->n], sizeof(in->msg[in->n]), fmt, ap);
    va_end(ap);
    in->code[in->n++] = code;
}

/* {data: null, infos: [{code, message, message_for_customer}]} */
static void ps_isbank_refuse(ps_call *c, int http, const ps_infos *in)
{
    ps_jw w;
    ps_answer(c, http, &w);
    ps_count(c, http == 400 ? PS_ST_BAD : PS_ST_DECLINES);
    ps_jw_obj(&w);
    ps_jw_knull(&w, "data");
    ps_jw_key(&w, "infos");
    ps_jw_arr(&w);
    for (size_t i = 0; i < in->n; i++) {
        ps_jw_obj(&w);
        ps_jw_kstr(&w, "code", in->code[i]);
        ps_jw_kstr(&w, "message", in->msg[i]);
        ps_jw_kstr(&w, "message_for_customer",
                   strcmp(in->code[i], "2010") == 0
                       ? "Bu ödeme daha önce gerçekleştirilmiştir."
                       : "İşleminiz gerçekleştirilemedi. Lütfen bilgilerinizi kontrol ediniz.");
        ps_jw_end(&w);
    }
    if (in->more > 0) {
        ps_jw_obj(&w);
        ps_jw_kstr(&w, "code", in->code[0]);
        char t[64];
        snprintf(t, sizeof(t), "%zu more errors", in->more);
        ps_jw_kstr(&w, "message", t);
        ps_jw_kstr(&w, "message_for_customer", "");
        ps_jw_end(&w);
    }
    ps_jw_end_arr(&w);
    ps_jw_end(&w);
}

static void ps_isbank_refuse1(ps_call *c, int http, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ps_isbank_refuse1(ps_call *c, int http, const char *code, const char *fmt, ...)
{
    ps_infos in = {0};
    va_list ap;
    va_start(ap, fmt);
    ps_vmsg(in.msg[0], sizeof(in.msg[0]), fmt, ap);
    va_end(ap);
    in.code[0] = code;
    in.n = 1;
    ps_isbank_refuse(c, http, &in);
}

static void ps_isbank_service(ps_call *c)
{
    ps_sim *sim = c->sim;
    if (!ps_isbank_gateway(c) || !ps_isbank_bearer(c))
        return;
    const char *uri = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(c->req));
    const char *id = uri + strlen(PS_ISBANK_API "/bill-institution-services/");
    char want[24], q[96];
    snprintf(want, sizeof(want), "%" PRId64, sim->isbank_service_id);
    if (strcmp(id, want) != 0) {
        pv_utf8_quote(q, sizeof(q), id, strlen(id));
        ps_isbank_refuse1(c, 404, "2003", "service_id \"%s\" not found", q);
        return;
    }
    ps_jw w;
    ps_answer(c, 200, &w);
    ps_buf_add(&sim->out, sim->isbank_raw, sim->isbank_raw_len);
}

/* One input value of the payment: a basic value or a selected key. */
typedef struct ps_isb_input {
    const char *name, *value;
    size_t value_len;
    bool selected, used;
} ps_isb_input;

typedef struct ps_isb_check {
    ps_isb_input in[PS_INPUTS_MAX];
    size_t n;
    ps_infos infos;
} ps_isb_check;

static bool ps_isb_truthy(json_object *v)
{
    if (v == NULL)
        return false;
    if (json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v);
    return json_object_is_type(v, json_type_string) &&
           strcasecmp(json_object_get_string(v), "true") == 0;
}

/* A length bound: an integer or a string of digits; absent = no bound. */
static bool ps_isb_bound(json_object *pl, const char *key, int64_t *out)
{
    char t[24];
    json_object *v = pl != NULL ? pv_json_member(pl, key) : NULL;
    if (!ps_json_text(v, t, sizeof(t)) || t[0] == '\0' || strspn(t, "0123456789") != strlen(t))
        return false;
    return pv_money_parse_int64(t, strlen(t), out) == PV_OK;
}

static bool ps_isb_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
            return false;
    return true;
}

static const char *ps_isb_name(json_object *field)
{
    json_object *v = pv_json_member(field, "name");
    if (v == NULL || !json_object_is_type(v, json_type_string) ||
        ps_isb_blank(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
        return NULL;
    return json_object_get_string(v);
}

static ps_isb_input *ps_isb_find(ps_isb_check *k, const char *name)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->in[i].name, name) == 0)
            return &k->in[i];
    return NULL;
}

/* Checks one named (non-group) field of the service object. */
static void ps_isb_check_field(ps_isb_check *k, json_object *f, const char *name)
{
    char q[96];
    ps_isb_input *in = ps_isb_find(k, name);
    if (in != NULL)
        in->used = true;
    json_object *items = pv_json_member(f, "items");
    size_t nitems = 0;
    if (items != NULL && json_object_is_type(items, json_type_array))
        for (size_t i = 0; i < json_object_array_length(items); i++)
            if (pv_json_member(json_object_array_get_idx(items, i), "key") != NULL)
                nitems++;
    if (in == NULL || (!in->selected && ps_isb_blank(in->value, in->value_len))) {
        if (ps_isb_truthy(pv_json_member(f, "required")))
            ps_infos_add(&k->infos, "2001", "%s: required", name);
        return;
    }
    pv_utf8_quote(q, sizeof(q), in->value, in->value_len);
    if (nitems > 0) {
        if (!in->selected) {
            ps_infos_add(&k->infos, "2001",
                         "%s: an enumerated field, give it in selected_input_values", name);
            return;
        }
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *key = pv_json_member(json_object_array_get_idx(items, i), "key");
            if (key != NULL && json_object_is_type(key, json_type_string) &&
                (size_t)json_object_get_string_len(key) == in->value_len &&
                memcmp(json_object_get_string(key), in->value, in->value_len) == 0)
                return;
        }
        ps_infos_add(&k->infos, "2001", "%s: key \"%s\" is not one of its items", name, q);
        return;
    }
    if (in->selected) {
        ps_infos_add(&k->infos, "2001",
                     "%s: not an enumerated field, give it in basic_input_values", name);
        return;
    }
    /* length in code points, and the type */
    size_t points = 0;
    bool control = false, digits = true;
    for (size_t i = 0; i < in->value_len;) {
        unsigned char ch = (unsigned char)in->value[i];
        size_t l = ps_utf8_len((const unsigned char *)in->value + i, in->value_len - i);
        if (l == 0) {
            ps_infos_add(&k->infos, "2001", "%s: \"%s\" is not UTF-8 text", name, q);
            return;
        }
        if (ch < 0x20 || ch == 0x7f)
            control = true;
        if (ch < '0' || ch > '9')
            digits = false;
        points++;
        i += l;
    }
    json_object *pl = pv_json_member(f, "parameter_length");
    int64_t min, max;
    if (ps_isb_bound(pl, "min", &min) && (int64_t)points < min)
        ps_infos_add(&k->infos, "2001", "%s: \"%s\" is %zu characters, the minimum is %" PRId64,
                     name, q, points, min);
    if (ps_isb_bound(pl, "max", &max) && (int64_t)points > max)
        ps_infos_add(&k->infos, "2001", "%s: \"%s\" is %zu characters, the maximum is %" PRId64,
                     name, q, points, max);
    json_object *type = pv_json_member(f, "parameter_type");
    const char *t = type != NULL && json_object_is_type(type, json_type_string)
                        ? json_object_get_string(type)
                        : "";
    if (strcasecmp(t, "Numeric") == 0 && !digits)
        ps_infos_add(&k->infos, "2001", "%s: \"%s\" must hold digits only", name, q);
    else if (control)
        ps_infos_add(&k->infos, "2001", "%s: \"%s\" holds control characters", name, q);
}

/* Collects the input values of the payment; false (and an info) when a
 * list or an entry is malformed. */
static bool ps_isb_collect(ps_isb_check *k, json_object *root, const char *list, bool selected)
{
    char d[128];
    json_object *arr = pv_json_member(root, list);
    if (arr == NULL)
        return true;
    if (!json_object_is_type(arr, json_type_array)) {
        ps_describe(arr, d, sizeof(d));
        ps_infos_add(&k->infos, "2000", "%s: expected an array, got %s", list, d);
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        json_object *name = pv_json_member(e, "name");
        json_object *val = selected ? pv_json_member(pv_json_member(e, "selected_item"), "key")
                                    : pv_json_member(e, "value");
        if (!json_object_is_type(e, json_type_object) || name == NULL ||
            !json_object_is_type(name, json_type_string) ||
            (val != NULL && !json_object_is_type(val, json_type_string))) {
            ps_describe(e, d, sizeof(d));
            ps_infos_add(&k->infos, "2000", "%s[%zu]: %s is not {name, %s}", list, i, d,
                         selected ? "selected_item{key, value}" : "value");
            return false;
        }
        if (k->n == PS_INPUTS_MAX) {
            ps_infos_add(&k->infos, "2000", "%s: more than %d input values", list, PS_INPUTS_MAX);
            return false;
        }
        const char *nm = json_object_get_string(name);
        if (ps_isb_find(k, nm) != NULL) {
            ps_infos_add(&k->infos, "2001", "%s: given twice", nm);
            continue;
        }
        ps_isb_input *in = &k->in[k->n++];
        in->name = nm;
        in->value = val != NULL ? json_object_get_string(val) : "";
        in->value_len = val != NULL ? (size_t)json_object_get_string_len(val) : 0;
        in->selected = selected;
    }
    return true;
}

/* Validates the inputs against the service object's fields. */
static void ps_isb_check_inputs(ps_isb_check *k, json_object *spec)
{
    json_object *fields =
        pv_json_member(pv_json_member(pv_json_member(spec, "data"), "free_collection_query_specs"),
                       "input_fields");
    size_t nf = fields != NULL && json_object_is_type(fields, json_type_array)
                    ? json_object_array_length(fields)
                    : 0;
    for (size_t i = 0; i < nf; i++) {
        json_object *f = json_object_array_get_idx(fields, i);
        const char *name = ps_isb_name(f);
        if (name == NULL)
            continue;
        json_object *kids = pv_json_member(f, "input_fields");
        size_t nk = kids != NULL && json_object_is_type(kids, json_type_array)
                        ? json_object_array_length(kids)
                        : 0;
        bool group = false, given = false;
        for (size_t j = 0; j < nk; j++) {
            const char *kn = ps_isb_name(json_object_array_get_idx(kids, j));
            if (kn == NULL)
                continue;
            group = true;
            if (ps_isb_find(k, kn) != NULL)
                given = true;
        }
        if (!group) {
            ps_isb_check_field(k, f, name);
            continue;
        }
        /* a group (the Address): its fields are checked when it is required
         * or when any of them is given */
        if (!given && !ps_isb_truthy(pv_json_member(f, "required")))
            continue;
        for (size_t j = 0; j < nk; j++) {
            json_object *kid = json_object_array_get_idx(kids, j);
            const char *kn = ps_isb_name(kid);
            if (kn != NULL)
                ps_isb_check_field(k, kid, kn);
        }
    }
    for (size_t i = 0; i < k->n; i++)
        if (!k->in[i].used)
            ps_infos_add(&k->infos, "2001", "%s: not an input of this service", k->in[i].name);
}

/* Validates the amount against amount_input; *minor gets it. */
static void ps_isb_check_amount(ps_isb_check *k, json_object *spec, json_object *root,
                                const char *currency, int64_t *minor)
{
    char d[128], lo[48], hi[48];
    pv_money m, mn, mx;
    pv_error err = {0};
    json_object *ai = pv_json_member(pv_json_member(spec, "data"), "amount_input");
    json_object *ranges = pv_json_member(pv_json_member(ai, "amount_limitations"), "amount_range");
    const pv_currency *cur = pv_currency_by_alpha(currency);
    json_object *range = NULL;
    size_t nr = ranges != NULL && json_object_is_type(ranges, json_type_array)
                    ? json_object_array_length(ranges)
                    : 0;
    for (size_t i = 0; i < nr; i++) {
        json_object *r = json_object_array_get_idx(ranges, i);
        json_object *cc = pv_json_member(r, "currency_code");
        if (cc != NULL && json_object_is_type(cc, json_type_string) &&
            strcmp(json_object_get_string(cc), currency) == 0)
            range = r;
    }
    if (cur == NULL || (nr > 0 && range == NULL)) {
        ps_infos_add(&k->infos, "2002", "currency_code: \"%s\" is not accepted by this service",
                     currency);
        return;
    }
    json_object *v = pv_json_member(root, "amount");
    ps_describe(v, d, sizeof(d));
    if (v == NULL || pv_json_value_money(v, "amount", currency, &m, &err) != PV_OK || m.rounded ||
        m.minor <= 0) {
        pv_error_clear(&err);
        ps_infos_add(&k->infos, "2002",
                     "amount: %s must be a positive amount of %s with at most %d decimals", d,
                     currency, cur->exponent);
        return;
    }
    *minor = m.minor;
    if (range != NULL &&
        pv_json_value_money(pv_json_member(range, "min_value"), "min_value", currency, &mn, &err) ==
            PV_OK &&
        pv_json_value_money(pv_json_member(range, "max_value"), "max_value", currency, &mx, &err) ==
            PV_OK &&
        (m.minor < mn.minor || m.minor > mx.minor)) {
        ps_amount(lo, sizeof(lo), mn.minor, cur->exponent, -1);
        ps_amount(hi, sizeof(hi), mx.minor, cur->exponent, -1);
        ps_infos_add(&k->infos, "2002", "amount: %s %s is outside %s..%s", m.text, currency, lo,
                     hi);
    }
    pv_error_clear(&err);
    json_object *frac = pv_json_member(ai, "decimal_fraction_allowed");
    if (frac != NULL && !ps_isb_truthy(frac) && m.minor % ps_pow10[cur->exponent] != 0)
        ps_infos_add(&k->infos, "2002", "amount: %s has a fraction, the service takes none",
                     m.text);
}

/* execution_date as the seed writes it: Istanbul time, 7 digits, offset. */
static void ps_isbank_now(char *buf, size_t cap)
{
    struct tm tm;
    int off;
    long ticks;
    ps_istanbul(&tm, &off, &ticks);
    ps_fmt(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%07ld%c%02d:%02d", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ticks, off < 0 ? '-' : '+',
           abs(off) / 3600, abs(off) % 3600 / 60);
}

/* A payment_reference: 1..64 visible ASCII characters. */
static bool ps_isbank_reference(json_object *v, char *buf, size_t cap)
{
    if (v == NULL || !json_object_is_type(v, json_type_string) || !ps_json_text(v, buf, cap) ||
        buf[0] == '\0' || strlen(buf) > PS_REF_MAX)
        return false;
    for (const char *p = buf; *p != '\0'; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}

static void ps_isbank_pay(ps_call *c)
{
    ps_sim *sim = c->sim;
    ps_state *st = &sim->st;
    char msg[PS_MSG_MAX], d[128], ref[PS_REF_MAX + 8], currency[8], when[48], amount[48];
    int64_t service_id, minor = 0, paid;
    pv_error ignored = {0};

    if (!ps_isbank_gateway(c) || !ps_isbank_bearer(c))
        return;
    if (!ps_json_body(c, msg, sizeof(msg))) {
        ps_isbank_refuse1(c, 400, "2000", "%s", msg);
        return;
    }
    json_object *sv = pv_json_member(c->root, "service_id");
    if (sv == NULL || !json_object_is_type(sv, json_type_int) ||
        pv_json_value_int64(sv, "service_id", &service_id, &ignored) != PV_OK) {
        ps_describe(sv, d, sizeof(d));
        ps_isbank_refuse1(c, 400, "2000", "service_id: %s must be an integer", d);
        return;
    }
    if (service_id != sim->isbank_service_id) {
        ps_isbank_refuse1(c, 404, "2003", "service_id %" PRId64 " not found", service_id);
        return;
    }
    json_object *rv = pv_json_member(c->root, "payment_reference");
    if (!ps_isbank_reference(rv, ref, sizeof(ref))) {
        ps_describe(rv, d, sizeof(d));
        ps_isbank_refuse1(c, 400, "2000",
                          "payment_reference: %s must be 1..%d visible ASCII characters", d,
                          PS_REF_MAX);
        return;
    }
    json_object *cv = pv_json_member(c->root, "currency_code");
    if (cv == NULL || !json_object_is_type(cv, json_type_string) ||
        !ps_json_text(cv, currency, sizeof(currency))) {
        ps_describe(cv, d, sizeof(d));
        ps_isbank_refuse1(c, 400, "2000", "currency_code: %s must be an ISO 4217 code", d);
        return;
    }
    ps_isb_check *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        ps_isbank_refuse1(c, 503, "2099", "out of memory");
        return;
    }
    if (ps_isb_collect(k, c->root, "basic_input_values", false) &&
        ps_isb_collect(k, c->root, "selected_input_values", true))
        ps_isb_check_inputs(k, sim->isbank_spec);
    ps_isb_check_amount(k, sim->isbank_spec, c->root, currency, &minor);
    if (k->infos.n > 0) {
        ps_isbank_refuse(c, 400, &k->infos);
        free(k);
        return;
    }
    free(k);
    if (ps_map_get(&st->isbank_paid, ref, strlen(ref), &paid)) {
        ps_count(c, PS_ST_DOUBLE);
        ps_isbank_refuse1(c, 409, "2010",
                          "payment_reference \"%s\" was already paid (payment_id %" PRId64 ")", ref,
                          paid);
        return;
    }
    if ((int64_t)st->isbank_paid.n >= sim->cfg.ledger_max) {
        ps_isbank_refuse1(c, 503, "2099", "simulator capacity reached (--ledger-max %" PRId64 ")",
                          sim->cfg.ledger_max);
        return;
    }
    int64_t payment_id = st->isbank_next_payment++;
    if (!ps_map_puts(&st->isbank_paid, ref, payment_id)) {
        ps_isbank_refuse1(c, 503, "2099", "out of memory");
        return;
    }
    char pid[24];
    snprintf(pid, sizeof(pid), "%" PRId64, payment_id);
    ps_ledger_add(c, ref, minor, currency, pid);
    ps_isbank_now(when, sizeof(when));
    ps_amount(amount, sizeof(amount), minor, pv_currency_by_alpha(currency)->exponent, -1);

    ps_jw w;
    ps_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_key(&w, "data");
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "payment_id", pid);
    ps_jw_kstr(&w, "execution_date", when);
    ps_jw_kraw(&w, "amount", amount);
    ps_jw_kint(&w, "overdraft_amount", 0);
    ps_jw_kbool(&w, "sos_used", false);
    ps_jw_kstr(&w, "overdraft_currency_code", "TRY");
    ps_jw_kstr(&w, "currency_code", currency);
    ps_jw_end(&w);
    ps_jw_end(&w);
}

/*---- PayOne SmartLink (seed 004) ----*/

static const struct ps_payone_error {
    const char *code, *message;
    ps_stat stat;
} ps_payone_errors[] = {
    {"00007", "Merchant Is Not Available", PS_ST_AUTH},
    {"00010", "Duplicate Invoice ID", PS_ST_DECLINES},
    {"00021", "Authentication Token Is Missing", PS_ST_AUTH},
    {"00022", "Invalid Authentication Token", PS_ST_AUTH},
    {"00028", "Invoice Not Found", PS_ST_DECLINES},
    {"00035", "Invoice Is Not Pre-Auth", PS_ST_DECLINES},
    {"00036", "Transaction Already Completed", PS_ST_DECLINES},
};

/* {"Error":"000NN","ErrorMessage":...}, HTTP 200. */
static void ps_payone_error(ps_call *c, const char *code, const char *detail)
{
    const struct ps_payone_error *e = NULL;
    for (size_t i = 0; i < sizeof(ps_payone_errors) / sizeof(ps_payone_errors[0]); i++)
        if (strcmp(ps_payone_errors[i].code, code) == 0)
            e = &ps_payone_errors[i];
    char msg[PS_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s%s%s", e != NULL ? e->message : "Error",
             detail != NULL ? ": " : "", detail != NULL ? detail : "");
    ps_jw w;
    ps_answer(c, 200, &w);
    ps_count(c, e != NULL ? e->stat : PS_ST_DECLINES);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "Error", code);
    ps_jw_kstr(&w, "ErrorMessage", msg);
    ps_jw_end(&w);
}

/* Decodes the form field holding the JSON into c->root and checks the
 * merchant and its token. False when it answered. */
static bool ps_payone_request(ps_call *c)
{
    const ps_config *cfg = &c->sim->cfg;
    const char *field = cfg->payone_form_field;
    char *json = NULL, msg[PS_MSG_MAX];
    size_t len = 0;

    if (!ps_is_form(c)) {
        ps_problem(c, field, "Content-Type must be application/x-www-form-urlencoded");
        return false;
    }
    int rc = ps_form_get(c->body, c->body_len, field, &json, &len);
    if (rc <= 0) {
        ps_problem(c, field, "form field %s is %s", field, rc == 0 ? "missing" : "malformed");
        return false;
    }
    const char *saved = c->body;
    size_t saved_len = c->body_len;
    c->body = json;
    c->body_len = len;
    bool ok = ps_json_body(c, msg, sizeof(msg));
    c->body = saved;
    c->body_len = saved_len;
    free(json);
    if (!ok) {
        ps_problem(c, field, "%s", msg);
        return false;
    }
    char t[256];
    json_object *mid = pv_json_member(c->root, "merchantID");
    if (!ps_json_text(mid, t, sizeof(t)) || strcmp(t, cfg->payone_merchant_id) != 0) {
        ps_payone_error(c, "00007", NULL);
        return false;
    }
    json_object *tok = pv_json_member(c->root, "authenticationToken");
    if (tok == NULL ||
        (json_object_is_type(tok, json_type_string) && json_object_get_string_len(tok) == 0)) {
        ps_payone_error(c, "00021", NULL);
        return false;
    }
    if (!ps_json_text(tok, t, sizeof(t)) || strcmp(t, cfg->payone_token) != 0) {
        ps_payone_error(c, "00022", NULL);
        return false;
    }
    return true;
}

static ps_payone_invoice *ps_payone_find(ps_state *st, const char *id)
{
    int64_t i;
    return ps_map_get(&st->payone_ids, id, strlen(id), &i) ? &st->payone[i] : NULL;
}

/* The amount of one invoice: minor units as a string of digits (a JSON
 * integer is tolerated), no decimal point. */
static bool ps_payone_amount(json_object *v, int64_t *out)
{
    char t[32];
    if (!ps_json_text(v, t, sizeof(t)) || t[0] == '\0' || strlen(t) > 18 ||
        strspn(t, "0123456789") != strlen(t))
        return false;
    return pv_money_parse_int64(t, strlen(t), out) == PV_OK;
}

typedef struct ps_payone_item {
    char id[72];
    int64_t amount;
    const pv_currency *currency;
    ps_payone_invoice *inv;
} ps_payone_item;

static void ps_payone_complete(ps_call *c)
{
    ps_state *st = &c->sim->st;
    const ps_config *cfg = &c->sim->cfg;
    ps_payone_item items[PS_PAYONE_BATCH];
    char d[128], path[64], t[16];

    if (!ps_payone_request(c))
        return;
    json_object *list = pv_json_member(c->root, "invoicesDetails");
    size_t n = list != NULL && json_object_is_type(list, json_type_array)
                   ? json_object_array_length(list)
                   : 0;
    if (n == 0 || n > PS_PAYONE_BATCH) {
        ps_describe(list, d, sizeof(d));
        ps_problem(c, "invoicesDetails", "invoicesDetails: %s must be an array of 1..%d invoices",
                   d, PS_PAYONE_BATCH);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ps_payone_item *it = &items[i];
        json_object *e = json_object_array_get_idx(list, i);
        json_object *idv = pv_json_member(e, "invoiceID");
        json_object *av = pv_json_member(e, "amount");
        json_object *cv = pv_json_member(e, "currency");
        const char *bad = NULL;
        json_object *badv = NULL;
        if (idv == NULL || !json_object_is_type(idv, json_type_string) ||
            !ps_json_text(idv, it->id, sizeof(it->id)) || it->id[0] == '\0') {
            bad = "invoiceID";
            badv = idv;
        } else if (!ps_payone_amount(av, &it->amount)) {
            bad = "amount";
            badv = av;
        } else {
            it->currency = cv != NULL && json_object_is_type(cv, json_type_string) &&
                                   ps_json_text(cv, t, sizeof(t))
                               ? pv_currency_by_numeric(t)
                               : NULL;
            if (it->currency == NULL) {
                bad = "currency";
                badv = cv;
            }
        }
        if (bad != NULL) {
            snprintf(path, sizeof(path), "invoicesDetails[%zu].%s", i, bad);
            ps_describe(badv, d, sizeof(d));
            ps_problem(c, path, "%s: %s is not valid", path, d);
            return;
        }
    }
    /* the whole call is refused on an invoice ID given twice, then on the
     * first invoice that cannot be completed at all */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(items[j].id, items[i].id) == 0) {
                ps_payone_error(c, "00010", items[i].id);
                return;
            }
    for (size_t i = 0; i < n; i++) {
        ps_payone_item *it = &items[i];
        it->inv = ps_payone_find(st, it->id);
        if (it->inv == NULL) {
            ps_payone_error(c, "00028", it->id);
            return;
        }
        if (!it->inv->is_preauth) {
            ps_payone_error(c, "00035", it->id);
            return;
        }
        if (it->inv->completed) {
            ps_count(c, PS_ST_DOUBLE);
            ps_payone_error(c, "00036", it->id);
            return;
        }
    }
    ps_jw w;
    ps_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "authenticationToken", cfg->payone_token);
    ps_jw_kstr(&w, "merchantID", cfg->payone_merchant_id);
    ps_jw_key(&w, "invoicesDetails");
    ps_jw_arr(&w);
    for (size_t i = 0; i < n; i++) {
        ps_payone_item *it = &items[i];
        ps_payone_invoice *inv = it->inv;
        const char *status = "success", *desc = "INVOICE COMPLETED SUCCESSFULLY";
        if (it->currency != inv->currency) {
            status = "failed";
            desc = "CURRENCY DOES NOT MATCH THE PRE-AUTHORIZED INVOICE";
        } else if (it->amount == 0) {
            status = "failed";
            desc = "INVALID AMOUNT";
        } else if (it->amount > inv->preauth) {
            status = "failed";
            desc = "AMOUNT EXCEEDS THE PRE-AUTHORIZED AMOUNT";
        }
        bool ok = strcmp(status, "success") == 0;
        if (ok) {
            struct tm tm;
            time_t now = time(NULL);
            gmtime_r(&now, &tm);
            inv->completed = true;
            inv->completed_amount = it->amount;
            ps_fmt(inv->rrn, sizeof(inv->rrn), "%s%04d%02d%02d%02d%02d%02d%013" PRId64,
                   inv->currency->numeric, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, st->payone_next_rrn++);
            ps_ledger_add(c, inv->id, it->amount, inv->currency->alpha, inv->rrn);
        } else {
            ps_count(c, PS_ST_DECLINES);
        }
        snprintf(t, sizeof(t), "%" PRId64, it->amount);
        ps_jw_obj(&w);
        ps_jw_kstr(&w, "invoiceID", it->id);
        ps_jw_kstr(&w, "amount", t);
        ps_jw_kstr(&w, "currency", it->currency->numeric);
        if (ok)
            ps_jw_kstr(&w, "rrn", inv->rrn);
        ps_jw_kstr(&w, "status", status);
        ps_jw_kstr(&w, "statusDescription", desc);
        ps_jw_end(&w);
    }
    ps_jw_end_arr(&w);
    ps_jw_end(&w);
}

static void ps_payone_inquire(ps_call *c)
{
    char id[72], d[128], t[24];
    if (!ps_payone_request(c))
        return;
    json_object *idv = pv_json_member(c->root, "invoiceID");
    if (idv == NULL || !json_object_is_type(idv, json_type_string) ||
        !ps_json_text(idv, id, sizeof(id)) || id[0] == '\0') {
        ps_describe(idv, d, sizeof(d));
        ps_problem(c, "invoiceID", "invoiceID: %s is not valid", d);
        return;
    }
    const ps_payone_invoice *inv = ps_payone_find(&c->sim->st, id);
    if (inv == NULL) {
        ps_payone_error(c, "00028", id);
        return;
    }
    snprintf(t, sizeof(t), "%" PRId64, inv->completed ? inv->completed_amount : inv->preauth);
    ps_jw w;
    ps_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "merchantID", c->sim->cfg.payone_merchant_id);
    ps_jw_kstr(&w, "invoiceID", inv->id);
    ps_jw_kstr(&w, "amount", t);
    ps_jw_kstr(&w, "currency", inv->currency->numeric);
    ps_jw_kstr(&w, "status",
               inv->completed    ? "completed"
               : inv->is_preauth ? "preauthorized"
                                 : "created");
    ps_jw_kstr(&w, "statusDescription",
               inv->completed    ? "INVOICE COMPLETED SUCCESSFULLY"
               : inv->is_preauth ? "INVOICE IS PRE-AUTHORIZED"
                                 : "INVOICE IS CREATED");
    if (inv->completed)
        ps_jw_kstr(&w, "rrn", inv->rrn);
    if (inv->is_preauth)
        ps_jw_kstr(&w, "approvalCode", inv->approval);
    ps_jw_end(&w);
}

/* Reason phrases for the statuses the simulator sends (libevent calls 429
 * "Client Error"). */
static const char *ps_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        {200, "OK"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return NULL; /* libevent's own */
}

/*---- Routes ----*/

typedef void (*ps_handler)(ps_call *c);

struct ps_route {
    ps_pid provider;
    enum evhttp_cmd_type method;
    const char *path;
    bool prefix;  /* path is a prefix (followed by an id) */
    bool payment; /* moves money: only_payments faults apply */
    ps_handler handler;
};

static const ps_route ps_routes[] = {
    {PS_PAYOFIN, EVHTTP_REQ_POST, "/invoices/invoicepayment", false, true, ps_payofin_pay},
    {PS_PAYOFIN, EVHTTP_REQ_POST, "/invoices/invoicequery", false, false, ps_payofin_query},
    {PS_PAYOFIN, EVHTTP_REQ_POST, "/invoices/invoicecheck", false, false, ps_payofin_check},
    {PS_SIPAY, EVHTTP_REQ_POST, "/connect/token", false, false, ps_sipay_token},
    {PS_SIPAY, EVHTTP_REQ_POST, "/v1/InvoicePayment/MakePayment", false, true, ps_sipay_pay},
    {PS_PAYWALL, EVHTTP_REQ_GET, "/api/paywall/marketplace/report/debt/payment", false, false,
     ps_paywall_debt},
    {PS_ISBANK, EVHTTP_REQ_POST, PS_ISBANK_API "/oauth2/token", false, false, ps_isbank_token},
    {PS_ISBANK, EVHTTP_REQ_GET, PS_ISBANK_API "/bill-institution-services/", true, false,
     ps_isbank_service},
    {PS_ISBANK, EVHTTP_REQ_POST, PS_ISBANK_API "/bill-payments", false, true, ps_isbank_pay},
    {PS_PAYONE, EVHTTP_REQ_POST, "/rest/InvoicesService/completeInvoice", false, true,
     ps_payone_complete},
    {PS_PAYONE, EVHTTP_REQ_POST, "/rest/InvoicesService/inquireInvoice", false, false,
     ps_payone_inquire},
};
#define PS_NROUTES (sizeof(ps_routes) / sizeof(ps_routes[0]))

static const ps_route *ps_route_find(const char *path, bool *path_known,
                                     enum evhttp_cmd_type method)
{
    *path_known = false;
    for (size_t i = 0; i < PS_NROUTES; i++) {
        const ps_route *r = &ps_routes[i];
        size_t n = strlen(r->path);
        bool match = r->prefix ? strncmp(path, r->path, n) == 0 && path[n] != '\0' &&
                                     strchr(path + n, '/') == NULL
                               : strcmp(path, r->path) == 0;
        if (!match)
            continue;
        *path_known = true;
        if (r->method == method)
            return r;
    }
    return NULL;
}

/*---- Sending, holding, faults ----*/

static void ps_send(ps_call *c)
{
    bool attached = evhttp_request_get_connection(c->req) != NULL;
    if (c->sim->cfg.verbose)
        ps_log("debug", "provider=%s path=%s status=%d fault=%s", ps_provider_names[c->provider],
               c->route->path, c->status, ps_fault_names[c->fault]);
    evhttp_send_reply(c->req, c->status, ps_reason(c->status), NULL); /* frees req in time */
    ps_ledger_mark(c, attached);
}

/* Closes the request's connection with an RST (SO_LINGER 0); frees the
 * request with it. Never called from inside an evhttp callback. */
static void ps_reset_connection(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon == NULL) { /* detached: we own the request */
        evhttp_request_free(req);
        return;
    }
    /* evhttp_connection_free shuts the write side down (a FIN) before its
     * bufferevent closes the socket later in the loop: the client would read
     * an orderly end of stream. So the socket is taken from the bufferevent
     * and closed here with SO_LINGER 0, which sends the RST at once. */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd >= 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        bufferevent_setfd(bev, -1);
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        evutil_closesocket(fd);
    }
    evhttp_connection_free(evcon);
}

static void ps_held_unlink(ps_sim *sim, ps_held *h)
{
    if (h->prev != NULL)
        h->prev->next = h->next;
    else
        sim->held_head = h->next;
    if (h->next != NULL)
        h->next->prev = h->prev;
    else
        sim->held_tail = h->prev;
    sim->nheld--;
    if (h->kind == PS_HOLD_BLACKHOLE)
        sim->nblackholes--;
    if (h->timer != NULL)
        event_free(h->timer);
    h->timer = NULL;
}

static void ps_execute(ps_call *c);

static void ps_held_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ps_held *h = arg;
    ps_call c = h->call;
    ps_hold kind = h->kind;
    ps_held_unlink(c.sim, h);
    free(h);
    switch (kind) {
    case PS_HOLD_LATENCY:
        ps_execute(&c);
        break;
    case PS_HOLD_RESET:
        ps_reset_connection(c.req);
        break;
    case PS_HOLD_LATE:
        ps_send(&c);
        break;
    case PS_HOLD_BLACKHOLE:
        break;
    }
}

/* Keeps the call's request: for delay_ms (a timer), or for good (a
 * blackhole, delay_ms < 0). When it cannot, the request is answered now. */
static void ps_hold_call(ps_call *c, ps_hold kind, int64_t delay_ms)
{
    ps_sim *sim = c->sim;
    if (kind == PS_HOLD_BLACKHOLE && sim->nblackholes >= PS_BLACKHOLE_MAX) {
        for (ps_held *o = sim->held_head; o != NULL; o = o->next) {
            if (o->kind != PS_HOLD_BLACKHOLE)
                continue;
            struct evhttp_request *old = o->call.req;
            ps_held_unlink(sim, o);
            free(o);
            ps_log("warn", "msg=\"blackhole limit %d reached: oldest connection reset\"",
                   PS_BLACKHOLE_MAX);
            ps_reset_connection(old);
            break;
        }
    }
    ps_held *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        ps_send(c);
        return;
    }
    h->call = *c;
    h->call.root = NULL;
    h->call.body = NULL;
    h->kind = kind;
    if (kind != PS_HOLD_BLACKHOLE) {
        h->timer = evtimer_new(sim->base, ps_held_fire, h);
        struct timeval tv = {.tv_sec = (time_t)(delay_ms / 1000),
                             .tv_usec = (suseconds_t)(delay_ms % 1000) * 1000};
        if (h->timer == NULL || evtimer_add(h->timer, &tv) != 0) {
            if (h->timer != NULL)
                event_free(h->timer);
            free(h);
            ps_send(c);
            return;
        }
    } else {
        sim->nblackholes++;
    }
    h->prev = sim->held_tail;
    if (sim->held_tail != NULL)
        sim->held_tail->next = h;
    else
        sim->held_head = h;
    sim->held_tail = h;
    sim->nheld++;
}

/* The late rate: late_ms alone makes every answer late. */
static double ps_rate_late(const ps_faults *f)
{
    if (f->late_ms <= 0)
        return 0;
    return f->rate_late > 0 ? f->rate_late : 1;
}

/* One draw decides the call's fault (DESIGN). */
static ps_fault ps_fault_draw(ps_sim *sim, const ps_faults *f)
{
    const struct {
        ps_fault fault;
        double rate;
    } order[] = {
        {PS_F_RESET, f->rate_reset},
        {PS_F_5XX, f->rate_5xx},
        {PS_F_429, f->rate_429},
        {PS_F_BLACKHOLE, f->rate_blackhole},
        {PS_F_MALFORMED, f->rate_malformed},
        {PS_F_LATE, ps_rate_late(f)},
        {PS_F_PAID_5XX, f->rate_paid_5xx},
        {PS_F_RESET_AFTER, f->rate_reset_after},
        {PS_F_BADTEXT, f->rate_badtext},
    };
    double total = 0;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        total += order[i].rate;
    if (total <= 0)
        return PS_F_NONE;
    double u = ps_rng_unit(&sim->fault_rng), acc = 0;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        acc += order[i].rate;
        if (order[i].rate > 0 && u < acc)
            return order[i].fault;
    }
    return PS_F_NONE;
}

/* An answer from the "gateway" in front of the provider: 5xx or 429. */
static void ps_fault_answer(ps_call *c, int status)
{
    ps_jw w;
    ps_answer(c, status, &w);
    if (status == 429)
        ps_out_header(c, "Retry-After", "1");
    ps_jw_obj(&w);
    ps_jw_kint(&w, "status", status);
    ps_jw_kstr(&w, "error", status == 429 ? "Too Many Requests" : "simulated server error");
    ps_jw_end(&w);
}

/* The first needle in d[0..n), or NULL. */
static const char *ps_find(const char *d, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(d + i, needle, k) == 0)
            return d + i;
    return NULL;
}

/* Moves the answer written in the sim's buffer into the request; a
 * malformed fault keeps its first half and appends garbage, a badtext one
 * puts two bytes that are not UTF-8 into its text. */
static void ps_commit_body(ps_call *c)
{
    ps_buf *out = &c->sim->out;
    struct evbuffer *ob = evhttp_request_get_output_buffer(c->req);
    if (out->failed) {
        c->status = 500;
        ps_buf_reset(out);
        ps_buf_adds(out, "{\"error\":\"answer too large\"}");
    }
    if (c->fault == PS_F_BADTEXT && out->len > 0) {
        /* the real answer with two bytes that are not UTF-8 at the start of
         * its message (the first "...essage":"), else of its first string */
        const char *d = out->data;
        size_t cut = 0;
        const char *m = ps_find(d, out->len, "essage\":\"");
        if (m != NULL) {
            cut = (size_t)(m - d) + 9;
        } else if ((m = ps_find(d, out->len, "\":\"")) != NULL) {
            cut = (size_t)(m - d) + 3;
        }
        evbuffer_add(ob, d, cut);
        evbuffer_add(ob, "\xff\xfe", 2);
        evbuffer_add(ob, d + cut, out->len - cut);
    } else if (c->fault == PS_F_MALFORMED) {
        static const char garbage[] = "\x01<html>\"}]simulated malformed answer";
        evbuffer_add(ob, out->data != NULL ? out->data : "", out->len / 2);
        evbuffer_add(ob, garbage, sizeof(garbage) - 1);
    } else if (out->len > 0) {
        evbuffer_add(ob, out->data, out->len);
    }
    ps_buf_reset(out);
}

/* Runs the call: the fault decided on arrival, then the provider. */
static void ps_execute(ps_call *c)
{
    ps_stats *s = ps_stats_of(c);
    const ps_faults *f = &c->sim->faults[c->provider];

    switch (c->fault) {
    case PS_F_RESET:
        s->faults[PS_F_RESET]++;
        ps_hold_call(c, PS_HOLD_RESET, 0); /* not from inside the evhttp callback */
        return;
    case PS_F_5XX:
    case PS_F_429:
        s->faults[c->fault]++;
        ps_fault_answer(c, c->fault == PS_F_5XX ? (int)f->status_5xx : 429);
        ps_commit_body(c);
        ps_send(c);
        return;
    default:
        break;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    c->body_len = evbuffer_get_length(in);
    c->body = c->body_len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    if (c->body == NULL) {
        c->body = "";
        c->body_len = 0;
    }
    c->status = 500;
    ps_buf_reset(&c->sim->out);
    c->route->handler(c);
    json_object_put(c->root);
    c->root = NULL;
    c->body = NULL;
    if (c->fault == PS_F_PAID_5XX) { /* processed, then the gateway's 500 instead */
        evhttp_clear_headers(evhttp_request_get_output_headers(c->req));
        ps_fault_answer(c, (int)f->status_5xx);
    }
    ps_commit_body(c);
    switch (c->fault) {
    case PS_F_MALFORMED:
        s->faults[PS_F_MALFORMED]++;
        ps_send(c);
        break;
    case PS_F_BLACKHOLE:
        s->faults[PS_F_BLACKHOLE]++;
        ps_ledger_mark(c, false);
        ps_hold_call(c, PS_HOLD_BLACKHOLE, -1);
        break;
    case PS_F_LATE:
        s->faults[PS_F_LATE]++;
        ps_ledger_mark(c, false);
        ps_hold_call(c, PS_HOLD_LATE, f->late_ms);
        break;
    case PS_F_PAID_5XX:
        s->faults[PS_F_PAID_5XX]++;
        ps_send(c); /* answered (a 500); the ledger's fault says which */
        break;
    case PS_F_BADTEXT:
        s->faults[PS_F_BADTEXT]++;
        ps_send(c); /* answered, with text that is not UTF-8 */
        break;
    case PS_F_RESET_AFTER:
        s->faults[PS_F_RESET_AFTER]++;
        ps_ledger_mark(c, false);
        ps_hold_call(c, PS_HOLD_RESET, 0); /* not from inside the evhttp callback */
        break;
    default:
        ps_send(c);
        break;
    }
}

/*---- Fault settings ----*/

static void ps_faults_default(ps_faults *f)
{
    memset(f, 0, sizeof(*f));
    f->status_5xx = 500;
}

/* Sets one fault key from a number (booleans as 0/1). msg says what is
 * wrong otherwise. */
static bool ps_fault_set(ps_faults *f, const char *name, double v, char *msg, size_t cap)
{
    const struct ps_fault_key *k = NULL;
    for (size_t i = 0; i < PS_NFAULT_KEYS; i++)
        if (strcmp(ps_fault_keys[i].name, name) == 0)
            k = &ps_fault_keys[i];
    if (k == NULL) {
        char keys[512] = "";
        size_t o = 0;
        for (size_t i = 0; i < PS_NFAULT_KEYS && o < sizeof(keys); i++)
            o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%s", i > 0 ? ", " : "",
                                  ps_fault_keys[i].name);
        snprintf(msg, cap, "%s: not a fault setting (known: provider, %s)", name, keys);
        return false;
    }
    char *field = (char *)f + k->off;
    switch (k->type) {
    case PS_FK_MS:
        if (!(v >= 0 && v <= PS_FAULT_MS_MAX) || v != (double)(int64_t)v) {
            snprintf(msg, cap, "%s: %g must be a whole number of milliseconds in 0..%d", name, v,
                     PS_FAULT_MS_MAX);
            return false;
        }
        *(int64_t *)(void *)field = (int64_t)v;
        return true;
    case PS_FK_RATE:
        if (!(v >= 0 && v <= 1)) {
            snprintf(msg, cap, "%s: %g must be a probability in 0..1", name, v);
            return false;
        }
        *(double *)(void *)field = v;
        return true;
    case PS_FK_STATUS:
        if (!(v >= 500 && v <= 599) || v != (double)(int64_t)v) {
            snprintf(msg, cap, "%s: %g must be an HTTP status in 500..599", name, v);
            return false;
        }
        *(int64_t *)(void *)field = (int64_t)v;
        return true;
    case PS_FK_BOOL:
        if (v != 0 && v != 1) {
            snprintf(msg, cap, "%s: %g must be true or false", name, v);
            return false;
        }
        *(bool *)(void *)field = v != 0;
        return true;
    }
    return false;
}

static void ps_faults_json(ps_jw *w, const ps_faults *f)
{
    char t[32];
    ps_jw_obj(w);
    for (size_t i = 0; i < PS_NFAULT_KEYS; i++) {
        const char *field = (const char *)f + ps_fault_keys[i].off;
        switch (ps_fault_keys[i].type) {
        case PS_FK_MS:
        case PS_FK_STATUS:
            ps_jw_kint(w, ps_fault_keys[i].name, *(const int64_t *)(const void *)field);
            break;
        case PS_FK_RATE:
            snprintf(t, sizeof(t), "%.6g", *(const double *)(const void *)field);
            ps_jw_kraw(w, ps_fault_keys[i].name, t);
            break;
        case PS_FK_BOOL:
            ps_jw_kbool(w, ps_fault_keys[i].name, *(const bool *)(const void *)field);
            break;
        }
    }
    ps_jw_end(w);
}

/* A provider name (any case); PS_NPROV for ALL or "*"; -1 when unknown. */
static int ps_provider_parse(const char *s, size_t n)
{
    if ((n == 3 && strncasecmp(s, "ALL", 3) == 0) || (n == 1 && s[0] == '*'))
        return PS_NPROV;
    for (int p = 0; p < PS_NPROV; p++)
        if (strlen(ps_provider_names[p]) == n && strncasecmp(s, ps_provider_names[p], n) == 0)
            return p;
    return -1;
}

/* --fault PROVIDER:key=value[,key=value...] */
static bool ps_fault_arg(ps_sim *sim, const char *arg)
{
    char msg[PS_MSG_MAX], name[64], q[96];
    const char *colon = strchr(arg, ':');
    int p = colon != NULL ? ps_provider_parse(arg, (size_t)(colon - arg)) : -1;
    pv_utf8_quote(q, sizeof(q), arg, strlen(arg));
    if (p < 0) {
        fprintf(stderr,
                "provider-sim: --fault \"%s\": expected PROVIDER:key=value, PROVIDER one "
                "of PAYOFIN SIPAY PAYWALL ISBANK PAYONE ALL\n",
                q);
        return false;
    }
    for (const char *s = colon + 1; *s != '\0';) {
        size_t n = strcspn(s, ",");
        const char *eq = memchr(s, '=', n);
        if (eq == NULL || (size_t)(eq - s) >= sizeof(name)) {
            fprintf(stderr, "provider-sim: --fault \"%s\": expected key=value\n", q);
            return false;
        }
        memcpy(name, s, (size_t)(eq - s));
        name[eq - s] = '\0';
        char val[64];
        size_t vlen = n - (size_t)(eq - s) - 1;
        if (vlen == 0 || vlen >= sizeof(val)) {
            fprintf(stderr, "provider-sim: --fault \"%s\": %s has no value\n", q, name);
            return false;
        }
        memcpy(val, eq + 1, vlen);
        val[vlen] = '\0';
        char *end;
        double v = strcmp(val, "true") == 0 ? 1 : strcmp(val, "false") == 0 ? 0 : strtod(val, &end);
        bool parsed = strcmp(val, "true") == 0 || strcmp(val, "false") == 0 || *end == '\0';
        for (int i = 0; i < PS_NPROV; i++) {
            if (p != PS_NPROV && p != i)
                continue;
            if (!parsed || !ps_fault_set(&sim->faults[i], name, v, msg, sizeof(msg))) {
                if (!parsed)
                    snprintf(msg, sizeof(msg), "%s: \"%s\" is not a number", name, val);
                fprintf(stderr, "provider-sim: --fault \"%s\": %s\n", q, msg);
                return false;
            }
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return true;
}

/*---- Control endpoints (/_sim/...) ----*/

static void ps_control_send(ps_sim *sim, struct evhttp_request *req, int status)
{
    struct evbuffer *ob = evhttp_request_get_output_buffer(req);
    if (sim->out.failed) {
        status = 500;
        ps_buf_reset(&sim->out);
        ps_buf_adds(&sim->out, "{\"error\":\"answer too large\"}");
    }
    evbuffer_add(ob, sim->out.data != NULL ? sim->out.data : "", sim->out.len);
    ps_buf_reset(&sim->out);
    evhttp_send_reply(req, status, ps_reason(status), NULL);
}

static void ps_control_error(ps_sim *sim, struct evhttp_request *req, int status, const char *fmt,
                             ...) __attribute__((format(printf, 4, 5)));

static void ps_control_error(ps_sim *sim, struct evhttp_request *req, int status, const char *fmt,
                             ...)
{
    char msg[PS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    ps_vmsg(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps_jw w;
    ps_buf_reset(&sim->out);
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "error", msg);
    ps_jw_end(&w);
    ps_control_send(sim, req, status);
}

static void ps_invoices_payofin(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    ps_jw_kamount(w, "merchant_balance", st->payofin_balance, 2, 2);
    ps_jw_key(w, "invoices");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        const ps_payofin_invoice *inv = &st->payofin[i];
        ps_jw_obj(w);
        ps_jw_kint(w, "invoiceQueryId", inv->id);
        ps_jw_kstr(w, "invoiceNo", inv->invoice_no);
        ps_jw_kstr(w, "expDate", inv->exp_date);
        ps_jw_kamount(w, "invoiceAmount", inv->amount, 2, 2);
        ps_jw_kamount(w, "merchantProfit", inv->profit, 2, 2);
        ps_jw_kstr(w, "sootCode", inv->soot);
        ps_jw_kstr(w, "subscriberNo", inv->subscriber);
        ps_jw_kstr(w, "additionalNo", "");
        ps_jw_kstr(w, "firmRefNo", "");
        ps_jw_kbool(w, "paid", inv->paid);
        if (inv->paid)
            ps_jw_kint(w, "invoicePaymentId", inv->payment_id);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_invoices_sipay(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    ps_jw_key(w, "wallets");
    ps_jw_arr(w);
    for (size_t i = 0; i < PS_NWALLETS; i++) {
        ps_jw_obj(w);
        ps_jw_kstr(w, "account_number", st->wallets[i].account);
        ps_jw_kstr(w, "wallet_number", st->wallets[i].number);
        ps_jw_kamount(w, "total_balance", st->wallets[i].cash, 2, 2);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
    ps_jw_key(w, "invoices");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        const ps_sipay_invoice *inv = &st->sipay[i];
        ps_jw_obj(w);
        ps_jw_kstr(w, "inv_payment_transaction_query_oid", inv->oid);
        ps_jw_kamount(w, "invoice_amount", inv->amount, 2, 2);
        ps_jw_kstr(w, "product_oid", ps_sipay_products[inv->product].oid);
        ps_jw_kstr(w, "institution_name", ps_sipay_products[inv->product].name);
        ps_jw_kstr(w, "subscriber_no", inv->subscriber);
        ps_jw_kstr(w, "bill_term", inv->bill_term);
        ps_jw_kstr(w, "bill_no", inv->bill_no);
        ps_jw_kbool(w, "paid", inv->paid);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_invoices_paywall(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    ps_jw_key(w, "payments");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        ps_jw_obj(w);
        ps_jw_kint(w, "paymentid", st->paywall[i].id);
        ps_jw_kint(w, "debts", (int64_t)st->paywall[i].n);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_invoices_isbank(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    ps_jw_kint(w, "service_id", sim->isbank_service_id);
    ps_jw_kint(w, "paid_references", (int64_t)st->isbank_paid.n);
    ps_jw_key(w, "orders");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        const ps_isbank_order *o = &st->isbank[i];
        int64_t paid;
        ps_jw_obj(w);
        ps_jw_kint(w, "service_id", sim->isbank_service_id);
        ps_jw_kstr(w, "payment_reference", o->reference);
        ps_jw_kamount(w, "amount", o->amount, pv_currency_by_alpha(o->currency)->exponent, -1);
        ps_jw_kstr(w, "currency_code", o->currency);
        ps_jw_key(w, "basic_input_values");
        ps_jw_arr(w);
        ps_jw_obj(w);
        ps_jw_kstr(w, "name", "SubscriberName");
        ps_jw_kstr(w, "value", o->name);
        ps_jw_end(w);
        ps_jw_obj(w);
        ps_jw_kstr(w, "name", "Tckn_Vkn_Ykn");
        ps_jw_kstr(w, "value", o->tckn);
        ps_jw_end(w);
        ps_jw_end_arr(w);
        ps_jw_key(w, "selected_input_values");
        ps_jw_arr(w);
        ps_jw_obj(w);
        ps_jw_kstr(w, "name", "OnBehalfOf");
        ps_jw_key(w, "selected_item");
        ps_jw_obj(w);
        ps_jw_kstr(w, "key", "K");
        ps_jw_kstr(w, "value", "Kendi adıma");
        ps_jw_end(w);
        ps_jw_end(w);
        ps_jw_end_arr(w);
        ps_jw_kbool(w, "paid",
                    ps_map_get(&st->isbank_paid, o->reference, strlen(o->reference), &paid));
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_invoices_payone(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    char t[24];
    ps_jw_key(w, "invoices");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        const ps_payone_invoice *inv = &st->payone[i];
        ps_jw_obj(w);
        ps_jw_kstr(w, "invoiceID", inv->id);
        snprintf(t, sizeof(t), "%" PRId64, inv->preauth);
        ps_jw_kstr(w, "amount", t);
        ps_jw_kstr(w, "currency", inv->currency->numeric);
        ps_jw_kstr(w, "currency_alpha", inv->currency->alpha);
        ps_jw_kbool(w, "preauthorized", inv->is_preauth);
        ps_jw_kbool(w, "completed", inv->completed);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_invoices_of(ps_sim *sim, ps_jw *w, int p)
{
    static void (*const fns[PS_NPROV])(ps_sim *, ps_jw *) = {
        ps_invoices_payofin, ps_invoices_sipay,  ps_invoices_paywall,
        ps_invoices_isbank,  ps_invoices_payone,
    };
    ps_jw_obj(w);
    ps_jw_kstr(w, "provider", ps_provider_names[p]);
    fns[p](sim, w);
    ps_jw_end(w);
}

/* The query parameter `name` of the control request, or NULL. */
static const char *ps_query_param(struct evkeyvalq *q, const char *name)
{
    return evhttp_find_header(q, name);
}

/* Reads ?provider=: *p gets the provider, PS_NPROV when absent or ALL. */
static bool ps_query_provider(ps_sim *sim, struct evhttp_request *req, struct evkeyvalq *q, int *p)
{
    const char *v = ps_query_param(q, "provider");
    *p = v != NULL ? ps_provider_parse(v, strlen(v)) : PS_NPROV;
    if (*p >= 0)
        return true;
    char qt[96];
    pv_utf8_quote(qt, sizeof(qt), v, strlen(v));
    ps_control_error(sim, req, 400,
                     "provider: \"%s\" is not one of PAYOFIN SIPAY PAYWALL ISBANK PAYONE", qt);
    return false;
}

static void ps_control_invoices(ps_sim *sim, struct evhttp_request *req, struct evkeyvalq *q)
{
    int p;
    if (!ps_query_provider(sim, req, q, &p))
        return;
    ps_jw w;
    ps_buf_reset(&sim->out);
    ps_jw_init(&w, &sim->out);
    if (p != PS_NPROV) {
        ps_invoices_of(sim, &w, p);
    } else {
        ps_jw_obj(&w);
        for (int i = 0; i < PS_NPROV; i++) {
            ps_jw_key(&w, ps_provider_names[i]);
            ps_invoices_of(sim, &w, i);
        }
        ps_jw_end(&w);
    }
    ps_control_send(sim, req, 200);
}

static void ps_control_stats(ps_sim *sim, struct evhttp_request *req)
{
    ps_jw w;
    ps_buf_reset(&sim->out);
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_key(&w, "providers");
    ps_jw_obj(&w);
    for (int p = 0; p < PS_NPROV; p++) {
        const ps_stats *s = &sim->stats[p];
        ps_jw_key(&w, ps_provider_names[p]);
        ps_jw_obj(&w);
        for (int i = 0; i < PS_NSTAT; i++)
            ps_jw_kint(&w, ps_stat_names[i], (int64_t)s->n[i]);
        ps_jw_key(&w, "faults");
        ps_jw_obj(&w);
        for (int f = PS_F_RESET; f < PS_NFAULT; f++)
            ps_jw_kint(&w, ps_fault_names[f], (int64_t)s->faults[f]);
        ps_jw_end(&w);
        ps_jw_end(&w);
    }
    ps_jw_end(&w);
    ps_jw_kint(&w, "held_requests", (int64_t)sim->nheld);
    ps_jw_kint(&w, "blackholes", (int64_t)sim->nblackholes);
    ps_jw_kint(&w, "ledger_entries", (int64_t)sim->ledger.n);
    ps_jw_kint(&w, "ledger_dropped", (int64_t)sim->ledger.dropped);
    ps_jw_kint(&w, "uptime_ms", ps_now_ms() - sim->started_ms);
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

/* An unsigned query parameter, def when absent. */
static bool ps_query_u64(ps_sim *sim, struct evhttp_request *req, struct evkeyvalq *q,
                         const char *name, uint64_t def, uint64_t *out)
{
    const char *v = ps_query_param(q, name);
    int64_t i64;
    *out = def;
    if (v == NULL)
        return true;
    if (strspn(v, "0123456789") == strlen(v) && v[0] != '\0' &&
        pv_money_parse_int64(v, strlen(v), &i64) == PV_OK) {
        *out = (uint64_t)i64;
        return true;
    }
    char qt[96];
    pv_utf8_quote(qt, sizeof(qt), v, strlen(v));
    ps_control_error(sim, req, 400, "%s: \"%s\" must be a whole number", name, qt);
    return false;
}

static void ps_control_ledger(ps_sim *sim, struct evhttp_request *req, struct evkeyvalq *q)
{
    const ps_ledger *l = &sim->ledger;
    int p;
    uint64_t since, limit;
    char t[40];
    if (!ps_query_provider(sim, req, q, &p) || !ps_query_u64(sim, req, q, "since", 0, &since) ||
        !ps_query_u64(sim, req, q, "limit", 100000, &limit))
        return;
    ps_jw w;
    ps_buf_reset(&sim->out);
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "total", (int64_t)l->n);
    ps_jw_kint(&w, "dropped", (int64_t)l->dropped);
    ps_jw_key(&w, "entries");
    ps_jw_arr(&w);
    uint64_t shown = 0, last = since;
    size_t start = since > l->base_seq ? (size_t)(since - l->base_seq) : 0;
    for (size_t i = start; i < l->n && shown < limit; i++) {
        const ps_entry *e = &l->e[i];
        if (p != PS_NPROV && e->provider != p)
            continue;
        const pv_currency *cur = pv_currency_by_alpha(e->currency);
        ps_jw_obj(&w);
        ps_jw_kint(&w, "seq", (int64_t)e->seq);
        ps_jw_kstr(&w, "provider", ps_provider_names[e->provider]);
        ps_jw_kstr(&w, "query_id", e->query_id);
        ps_jw_kamount(&w, "amount", e->minor, cur != NULL ? cur->exponent : 2,
                      cur != NULL ? cur->exponent : 2);
        ps_jw_kint(&w, "amount_minor", e->minor);
        ps_jw_kstr(&w, "currency", e->currency);
        pv_time_format_utc(e->at_ms, t, sizeof(t));
        ps_jw_kstr(&w, "time", t);
        ps_jw_kbool(&w, "answered", e->answered);
        if (e->fault != PS_F_NONE)
            ps_jw_kstr(&w, "fault", ps_fault_names[e->fault]);
        else
            ps_jw_knull(&w, "fault");
        ps_jw_kstr(&w, "reference", e->reference);
        ps_jw_kstr(&w, "request_id", e->request_id);
        ps_jw_end(&w);
        shown++;
        last = e->seq + 1;
    }
    ps_jw_end_arr(&w);
    ps_jw_kint(&w, "next_since", (int64_t)(shown > 0 ? last : l->next_seq));
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

static void ps_control_faults_get(ps_sim *sim, struct evhttp_request *req)
{
    ps_jw w;
    ps_buf_reset(&sim->out);
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    for (int p = 0; p < PS_NPROV; p++) {
        ps_jw_key(&w, ps_provider_names[p]);
        ps_faults_json(&w, &sim->faults[p]);
    }
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

/* POST /_sim/faults {provider, key: value...}: replaces the provider's
 * fault settings (absent keys take their defaults). */
static void ps_control_faults_set(ps_sim *sim, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    json_object *root = NULL;
    pv_error err = {0};
    char msg[PS_MSG_MAX], d[128];
    ps_faults f;

    if (pv_json_parse(body != NULL ? body : "", body != NULL ? len : 0, "faults", &root, &err) !=
            PV_OK ||
        !json_object_is_type(root, json_type_object)) {
        ps_control_error(sim, req, 400, "%s",
                         err.code != PV_OK ? err.errstr : "faults: expected a JSON object");
        pv_error_clear(&err);
        json_object_put(root);
        return;
    }
    json_object *pv = pv_json_member(root, "provider");
    int p =
        pv != NULL && json_object_is_type(pv, json_type_string)
            ? ps_provider_parse(json_object_get_string(pv), (size_t)json_object_get_string_len(pv))
            : -1;
    if (p < 0) {
        ps_describe(pv, d, sizeof(d));
        ps_control_error(sim, req, 400,
                         "provider: %s is not one of PAYOFIN SIPAY PAYWALL ISBANK PAYONE ALL", d);
        json_object_put(root);
        return;
    }
    ps_faults_default(&f);
    json_object_object_foreach(root, key, val)
    {
        if (strcmp(key, "provider") == 0)
            continue;
        double v;
        if (json_object_is_type(val, json_type_boolean)) {
            v = json_object_get_boolean(val) ? 1 : 0;
        } else if (json_object_is_type(val, json_type_int) ||
                   json_object_is_type(val, json_type_double)) {
            v = json_object_get_double(val);
        } else {
            ps_describe(val, d, sizeof(d));
            ps_control_error(sim, req, 400, "%s: %s must be a number", key, d);
            json_object_put(root);
            return;
        }
        if (!ps_fault_set(&f, key, v, msg, sizeof(msg))) {
            ps_control_error(sim, req, 400, "%s", msg);
            json_object_put(root);
            return;
        }
    }
    json_object_put(root);
    for (int i = 0; i < PS_NPROV; i++)
        if (p == PS_NPROV || p == i)
            sim->faults[i] = f;
    ps_log("info", "msg=\"faults set\" provider=%s", p == PS_NPROV ? "ALL" : ps_provider_names[p]);
    ps_jw w;
    ps_buf_reset(&sim->out);
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "provider", p == PS_NPROV ? "ALL" : ps_provider_names[p]);
    ps_jw_key(&w, "faults");
    ps_faults_json(&w, &f);
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

static void ps_control_reset(ps_sim *sim, struct evhttp_request *req)
{
    ps_state fresh;
    if (!ps_state_generate(&fresh, &sim->cfg)) {
        ps_control_error(sim, req, 500, "reset: out of memory");
        return;
    }
    ps_state_free(&sim->st);
    sim->st = fresh;
    ps_ledger_clear(&sim->ledger);
    memset(sim->stats, 0, sizeof(sim->stats));
    memset(sim->tokens, 0, sizeof(sim->tokens));
    memcpy(sim->faults, sim->start_faults, sizeof(sim->faults));
    ps_rng_seed(&sim->fault_rng, sim->cfg.seed, 100);
    ps_log("info", "msg=\"state reset\" seed=%" PRId64 " invoices=%" PRId64, sim->cfg.seed,
           sim->cfg.invoices);
    ps_jw w;
    ps_buf_reset(&sim->out);
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_kbool(&w, "reset", true);
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

static void ps_control_config(ps_sim *sim, struct evhttp_request *req)
{
    ps_jw w;
    ps_buf_reset(&sim->out);
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    for (size_t i = 0; i < PS_NOPTIONS; i++) {
        const struct ps_option *o = &ps_options[i];
        const char *field = (const char *)&sim->cfg + o->off;
        if (o->type == PS_OPT_STR)
            ps_jw_kstr(&w, o->name, *(const char *const *)(const void *)field);
        else if (o->type == PS_OPT_INT)
            ps_jw_kint(&w, o->name, *(const int64_t *)(const void *)field);
    }
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

static void ps_control(ps_sim *sim, struct evhttp_request *req, const char *path, const char *query)
{
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
        ps_control_error(sim, req, 400, "the query string is malformed");
        evhttp_clear_headers(&q);
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const char *name = path + strlen("/_sim/");
    bool get = m == EVHTTP_REQ_GET, post = m == EVHTTP_REQ_POST;
    if (strcmp(name, "invoices") == 0 && get)
        ps_control_invoices(sim, req, &q);
    else if (strcmp(name, "stats") == 0 && get)
        ps_control_stats(sim, req);
    else if (strcmp(name, "ledger") == 0 && get)
        ps_control_ledger(sim, req, &q);
    else if (strcmp(name, "faults") == 0 && get)
        ps_control_faults_get(sim, req);
    else if (strcmp(name, "faults") == 0 && post)
        ps_control_faults_set(sim, req);
    else if (strcmp(name, "reset") == 0 && post)
        ps_control_reset(sim, req);
    else if (strcmp(name, "config") == 0 && get)
        ps_control_config(sim, req);
    else
        ps_control_error(sim, req, 404,
                         "no such control endpoint: GET invoices, stats, ledger, faults, config; "
                         "POST faults, reset");
    evhttp_clear_headers(&q);
}

/*---- The request entry point ----*/

static void ps_on_request(struct evhttp_request *req, void *arg)
{
    ps_sim *sim = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || path[0] == '\0')
        path = "/";
    if (strncmp(path, "/_sim/", 6) == 0) {
        ps_control(sim, req, path, evhttp_uri_get_query(uri));
        return;
    }
    bool known;
    const ps_route *r = ps_route_find(path, &known, evhttp_request_get_command(req));
    if (r == NULL) {
        char q[96];
        pv_utf8_quote(q, sizeof(q), path, strlen(path));
        ps_control_error(sim, req, known ? 405 : 404, "%s: %s", q,
                         known ? "method not allowed" : "no such endpoint");
        return;
    }
    ps_call c;
    memset(&c, 0, sizeof(c));
    c.sim = sim;
    c.req = req;
    c.route = r;
    c.provider = r->provider;
    ps_count(&c, PS_ST_REQUESTS);
    const ps_faults *f = &sim->faults[r->provider];
    int64_t delay = 0;
    if (r->payment || !f->only_payments) {
        c.fault = ps_fault_draw(sim, f);
        delay = f->latency_ms;
        if (f->jitter_ms > 0)
            delay += ps_rng_range(&sim->fault_rng, 0, f->jitter_ms);
    }
    if (delay > 0) {
        sim->stats[r->provider].faults[PS_F_LATENCY]++;
        ps_hold_call(&c, PS_HOLD_LATENCY, delay);
        return;
    }
    ps_execute(&c);
}

/*---- Start-up ----*/

static void ps_usage(FILE *out)
{
    fprintf(out, "usage: provider-sim [--option value | --option=value]...\n"
                 "Simulates Payofin, Sipay, Paywall, İş Bankası and PayOne over HTTP.\n"
                 "Prints listening=ADDRESS:PORT first on stdout. See ops/README.md.\n\n");
    for (size_t i = 0; i < PS_NOPTIONS; i++) {
        const struct ps_option *o = &ps_options[i];
        fprintf(out, "  --%-28s %s", o->name, o->doc);
        if (o->def != NULL)
            fprintf(out, " (default %s)", o->def);
        fprintf(out, "\n");
    }
}

static bool ps_option_set(ps_sim *sim, const struct ps_option *o, const char *value)
{
    char *field = (char *)&sim->cfg + o->off;
    switch (o->type) {
    case PS_OPT_STR:
        *(const char **)(void *)field = value;
        return true;
    case PS_OPT_INT: {
        int64_t v;
        char q[96];
        if (value[0] == '\0' || strspn(value, "0123456789") != strlen(value) ||
            pv_money_parse_int64(value, strlen(value), &v) != PV_OK || v < o->min || v > o->max) {
            pv_utf8_quote(q, sizeof(q), value, strlen(value));
            fprintf(stderr,
                    "provider-sim: --%s: \"%s\" must be a whole number in %" PRId64 "..%" PRId64
                    "\n",
                    o->name, q, o->min, o->max);
            return false;
        }
        *(int64_t *)(void *)field = v;
        return true;
    }
    case PS_OPT_FLAG:
        *(bool *)(void *)field = true;
        return true;
    case PS_OPT_FAULT:
        return ps_fault_arg(sim, value);
    }
    return false;
}

/* Returns 0 to run, 1 when --help was printed, -1 on a bad argument. */
static int ps_parse_args(ps_sim *sim, int argc, char **argv)
{
    for (size_t i = 0; i < PS_NOPTIONS; i++)
        if (ps_options[i].def != NULL && !ps_option_set(sim, &ps_options[i], ps_options[i].def))
            return -1;
    for (int i = 0; i < PS_NPROV; i++)
        ps_faults_default(&sim->faults[i]);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "provider-sim: unexpected argument \"%s\" (try --help)\n", arg);
            return -1;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t n = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const struct ps_option *o = NULL;
        for (size_t k = 0; k < PS_NOPTIONS; k++)
            if (strlen(ps_options[k].name) == n && strncmp(ps_options[k].name, name, n) == 0)
                o = &ps_options[k];
        if (o == NULL) {
            fprintf(stderr, "provider-sim: unknown option \"%s\" (try --help)\n", arg);
            return -1;
        }
        if (strcmp(o->name, "help") == 0) {
            ps_usage(stdout);
            return 1;
        }
        const char *value = NULL;
        if (o->type == PS_OPT_FLAG) {
            if (eq != NULL) {
                fprintf(stderr, "provider-sim: --%s takes no value\n", o->name);
                return -1;
            }
        } else if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "provider-sim: --%s needs a value\n", o->name);
            return -1;
        }
        if (!ps_option_set(sim, o, value))
            return -1;
    }
    memcpy(sim->start_faults, sim->faults, sizeof(sim->faults));
    return 0;
}

/* Reads a whole (small) file; NULL when it cannot. */
static char *ps_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (buf != NULL) {
        n = fread(buf, 1, cap + 1, f);
        if (n > cap || ferror(f)) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Loads the İş Bankası service object: the path as given, else (relative)
 * searched upwards from the binary's directory. */
static bool ps_load_isbank(ps_sim *sim)
{
    const char *rel = sim->cfg.isbank_service;
    char path[4096], dir[4096];
    size_t len = 0;
    char *raw = ps_read_file(rel, &len);
    if (raw == NULL && rel[0] != '/') {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
        if (n > 0) {
            dir[n] = '\0';
            for (int up = 0; up < 8 && raw == NULL; up++) {
                char *slash = strrchr(dir, '/');
                if (slash == NULL)
                    break;
                *slash = '\0';
                if (ps_fmt(path, sizeof(path), "%s/%s", dir, rel))
                    raw = ps_read_file(path, &len);
            }
        }
    }
    if (raw == NULL) {
        fprintf(stderr,
                "provider-sim: --isbank-service \"%s\": cannot read it (from the working "
                "directory or above the binary): %s\n",
                rel, strerror(errno));
        return false;
    }
    pv_error err = {0};
    int64_t id;
    if (pv_json_parse(raw, len, "İş Bankası service object", &sim->isbank_spec, &err) != PV_OK ||
        pv_json_int64(pv_json_member(sim->isbank_spec, "data"), "service_id", "data.service_id",
                      true, &id, NULL, &err) != PV_OK) {
        fprintf(stderr, "provider-sim: --isbank-service \"%s\": %s\n", rel, err.errstr);
        pv_error_clear(&err);
        free(raw);
        return false;
    }
    sim->isbank_raw = raw;
    sim->isbank_raw_len = len;
    sim->isbank_service_id = id;
    return true;
}

static void ps_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    ps_sim *sim = arg;
    ps_log("info", "msg=\"signal %d: stopping\" held=%zu", (int)sig, sim->nheld);
    event_base_loopbreak(sim->base);
}

static void ps_shutdown(ps_sim *sim)
{
    /* held requests still attached to a connection go with it in
     * evhttp_free; detached ones are ours */
    while (sim->held_head != NULL) {
        ps_held *h = sim->held_head;
        struct evhttp_request *req = h->call.req;
        ps_held_unlink(sim, h);
        free(h);
        if (evhttp_request_get_connection(req) == NULL)
            evhttp_request_free(req);
    }
    if (sim->http != NULL)
        evhttp_free(sim->http);
    if (sim->base != NULL)
        event_base_free(sim->base);
    ps_state_free(&sim->st);
    free(sim->ledger.e);
    json_object_put(sim->isbank_spec);
    free(sim->isbank_raw);
    free(sim->out.data);
}

int main(int argc, char **argv)
{
    static ps_sim sim; /* large: not on the stack */
    struct event *sigterm = NULL, *sigint = NULL;
    int rc = ps_parse_args(&sim, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (!ps_load_isbank(&sim))
        return 2;
    if (!ps_state_generate(&sim.st, &sim.cfg)) {
        fprintf(stderr, "provider-sim: out of memory generating %" PRId64 " invoices\n",
                sim.cfg.invoices);
        ps_shutdown(&sim);
        return 1;
    }
    ps_rng_seed(&sim.fault_rng, sim.cfg.seed, 100);
    ps_rng_seed(&sim.token_rng, sim.cfg.seed, 101);
    sim.ledger.next_seq = sim.ledger.base_seq = 1;
    sim.started_ms = ps_now_ms();
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    sim.base = event_base_new();
    sim.http = sim.base != NULL ? evhttp_new(sim.base) : NULL;
    if (sim.http == NULL) {
        fprintf(stderr, "provider-sim: cannot create the event loop\n");
        ps_shutdown(&sim);
        return 1;
    }
    evhttp_set_max_body_size(sim.http, (ev_ssize_t)sim.cfg.max_body);
    evhttp_set_max_headers_size(sim.http, PS_HEADERS_MAX);
    evhttp_set_timeout(sim.http, PS_IDLE_TIMEOUT_S);
    evhttp_set_default_content_type(sim.http, PS_JSON_TYPE);
    evhttp_set_gencb(sim.http, ps_on_request, &sim);
    /* the handlers are in place before the listening= line: a SIGTERM sent
     * right after reading it stops the simulator cleanly */
    sigterm = evsignal_new(sim.base, SIGTERM, ps_on_signal, &sim);
    sigint = evsignal_new(sim.base, SIGINT, ps_on_signal, &sim);
    if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
        event_add(sigint, NULL) != 0) {
        fprintf(stderr, "provider-sim: cannot install signal handlers\n");
        rc = 1;
        goto out;
    }
    struct evhttp_bound_socket *bound =
        evhttp_bind_socket_with_handle(sim.http, sim.cfg.bind, (ev_uint16_t)sim.cfg.port);
    if (bound == NULL) {
        fprintf(stderr, "provider-sim: cannot listen on %s:%" PRId64 ": %s\n", sim.cfg.bind,
                sim.cfg.port, strerror(errno));
        rc = 1;
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int port = (int)sim.cfg.port;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0)
        port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    bool v6 = strchr(sim.cfg.bind, ':') != NULL;
    printf("listening=%s%s%s:%d\n", v6 ? "[" : "", sim.cfg.bind, v6 ? "]" : "", port);
    fflush(stdout);

    ps_log("info",
           "msg=started port=%d seed=%" PRId64 " invoices=%" PRId64 " isbank_service=%" PRId64,
           port, sim.cfg.seed, sim.cfg.invoices, sim.isbank_service_id);
    event_base_dispatch(sim.base);
out:
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    ps_shutdown(&sim);
    libevent_global_shutdown();
    return rc;
}
