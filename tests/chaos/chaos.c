/* chaos.c -- `make chaos`: the project's own fault test (issue 10, item 10).
 *
 * DESIGN
 * One private stack (teststack.h) on free 127.0.0.1 ports: devkafka (one
 * broker, six partitions per topic), provider-sim, a redis-server of our own
 * with AOF (appendonly yes, appendfsync always, its own directory) and three
 * payworker processes in one consumer group. The workers are a black box:
 * their binary, their environment, their Kafka topics, payctl.
 *
 * Load. Commands for the simulator's own invoices of all five providers
 * (weighted to those that pay; Paywall only reads), produced as JSON with
 * librdkafka, keyed by the lock key PROVIDER:query_id:
 *  - one first command per invoice, spread over the first part of the run;
 *  - a second command (another command_id) for some invoices, half with the
 *    same request, half with other parameters (Payofin partialAmount, Sipay
 *    payment_amount, İş Bankası amount, PayOne amount), soon after the first
 *    or later;
 *  - replays: the same command bytes again, soon (0.2-5 s) or late (>= 60 s
 *    in the full run, >= 15 s in the quick one);
 *  - expires_at on some commands: already expired when sent, expiring during
 *    the run (1-10 s after sending), or far in the future.
 * Every choice comes from one splitmix64 stream (PAYW_CHAOS_SEED), so a run
 * sends the same commands in the same order at the same offsets; what the
 * faults hit depends on timing and is not reproducible.
 *
 * Faults while the load runs:
 *  - kill -9 of a random worker every 2-8 s, restarted 0.3-1.5 s later;
 *  - provider faults on every payment endpoint (provider-sim, only_payments):
 *    rate_blackhole (paid, then no answer), rate_paid_5xx (paid, then 500),
 *    rate_5xx (500, nothing paid), rate_reset (RST, nothing processed),
 *    rate_reset_after (paid, then RST), plus latency so that calls are in
 *    flight when a worker dies;
 *  - kill -9 of redis-server, restarted on the same port from its AOF;
 *  - the broker down for 5 s (devkafka's `broker down all` / `broker up all`).
 * Then the faults stop and everything settles: the loop waits (bounded)
 * until every delivered command has a result and the group's committed
 * offsets reach the end of the commands topic, reads on for a quiet period,
 * stops the workers with SIGTERM and reads the results topic to its end.
 *
 * The checker reads every result event (`payctl tail -B -m results`, one
 * JSON object per line, running from the start; partition/offset pairs
 * de-duplicate re-reads), the simulator's ledger (GET /_sim/ledger, paged)
 * and stats (GET /_sim/stats), `payctl lookup` for the invoices it must ask
 * the store about, and the group's committed offsets (librdkafka committed()
 * and query_watermark_offsets with the workers' group id). It prints one
 * line per check with its figure and goal, counts by status, and last the
 * line `N passed, N failed`; it exits 1 when a check failed.
 *
 * Attribution (check 4): a ledger entry's request_id is the X-Request-Id of
 * the call that paid, the command_id when the worker sends it. Without one,
 * an invoice that only one command_id was ever sent for can only have been
 * paid by that command (nobody else pays through the simulator); any other
 * entry is counted as unattributed and said so.
 *
 * Self-test (PAYW_CHAOS_BREAK, comma-separated): `drop` ignores the events
 * of every 40th command (check 2), `fakesuccess` books a SUCCEEDED for
 * an unpaid command (check 3), `foreignpay` pays an unpaid Payofin invoice
 * straight at the simulator with one of its commands' id as X-Request-Id
 * (checks 4 and 6), `flip` books a DECLINED after a SUCCEEDED (check 5),
 * `doublepay` pays an already paid invoice at the simulator (check 1),
 * `lag` stops the workers and produces one more command before the lag is
 * read (check 7), `crash` sends one worker SIGSEGV as a crash would
 * (check 8).
 *
 * Logs: every process's log goes to a private directory ($TMPDIR/payw-chaos-
 * XXXXXX, set as TMPDIR for the children); it is removed when every check
 * passed, kept and its path printed otherwise (PAYW_CHAOS_KEEP_LOGS=1 keeps
 * it always). Every child is killed at exit, also on a failed assertion
 * (atexit) or a signal.
 *
 *   chaos [--quick]     PAYW_BUILD_DIR=build/normal build/normal/chaos/chaos
 *
 * Environment: PAYW_CHAOS_SEED (default 1), PAYW_CHAOS_KEEP_LOGS,
 * PAYW_CHAOS_BREAK, PAYW_CHAOS_CALM (the same load without faults),
 * PAYW_CHAOS_WORKER_ENV="NAME=VALUE ..." (worker settings), PAYW_CHAOS_CORES
 * (core files on, every process runs in the log directory).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../integration/teststack.h"

#define NPROV      5
#define NWORKERS   3
#define SEQ_MAX    8
#define MAX_PARTS  64
#define GROUP      "chaos-workers"
#define T_COMMANDS "payments.commands"
#define T_RESULTS  "payments.results"
#define EXAMPLES   5
#define LOOKUP_MAX 600

enum { P_PAYOFIN, P_SIPAY, P_PAYWALL, P_ISBANK, P_PAYONE };
static const char *const provs[NPROV] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};

enum {
    S_SUCCEEDED,
    S_DECLINED,
    S_FAILED,
    S_REJECTED,
    S_EXPIRED,
    S_UNKNOWN,
    S_DUPLICATE,
    S_OTHER,
    NST
};
static const char *const st_names[NST] = {"SUCCEEDED", "DECLINED", "FAILED",    "REJECTED",
                                          "EXPIRED",   "UNKNOWN",  "DUPLICATE", "OTHER"};
#define BAD_FOR_PAID \
    ((1u << S_DECLINED) | (1u << S_FAILED) | (1u << S_REJECTED) | (1u << S_EXPIRED))

enum { K_FIRST, K_SAME, K_OTHER };
static const char *const kind_names[] = {"first", "second-same", "second-other"};
enum { E_NONE, E_PAST, E_DURING, E_FAR };
static const char *const exp_names[] = {"none", "expired-when-sent", "expiring", "far"};

typedef struct params {
    int invoices[NPROV];   /* per provider */
    double second_frac;    /* invoices that get a second command */
    int total;             /* sends, replays included */
    double late_frac;      /* of the replays */
    int64_t first_span_ms; /* first commands go out over this span */
    int64_t late_min_ms, late_max_ms;
    int64_t load_ms; /* sending and faults */
    int64_t settle_ms;
    int64_t redis_kill_at[2];
    int nredis;
    int64_t broker_down_at;
    int64_t kill_from_ms;
} params;

typedef struct cmd {
    int inv, kind, exp;
    char *body; /* the exact bytes, built at the first send */
    int len;
    int64_t planned; /* ms after the start */
    int sends, dr_ok, dr_fail;
    int part;             /* the commands partition it went to */
    int nev;              /* result events (unique offsets) */
    uint8_t seq[SEQ_MAX]; /* statuses in order, consecutive repeats folded */
    int nseq, seq_more;
    unsigned mask; /* statuses seen */
    char reason[200];
    char worker[64];
} cmd;

typedef struct invoice {
    int prov;
    char qid[96];
    char key[112];
    char req[1200], alt[1200];
    int cmds[4], ncmds;
    int paid;       /* ledger entries */
    int succeeded;  /* a command of it got SUCCEEDED */
    char store[32]; /* payctl lookup's state.status, when asked */
} invoice;

typedef struct sendev {
    int64_t at;
    int cmd, late;
} sendev;

typedef struct lreader {
    char *buf;
    size_t len, cap;
} lreader;

typedef struct chaos {
    params p;
    int quick;
    uint64_t seed, rng;
    stack s;
    char rundir[256], redisdir[320];
    invoice *inv;
    int ninv;
    int *ht; /* key -> invoice index, open addressing */
    size_t htcap;
    cmd *cmds;
    int ncmds;
    sendev *sends;
    int nsends, next_send;
    rd_kafka_t *prod, *admin;
    int ncmd_parts, nres_parts;
    /* the results reader */
    it_proc tail;
    lreader lr;
    uint8_t *seen[MAX_PARTS];
    int64_t seen_cap[MAX_PARTS];
    int64_t events, dup_events, bad_lines, foreign, dropped;
    int tail_restarts;
    /* the workers */
    int64_t restart_at[NWORKERS];
    int gen[NWORKERS];
    int kills, crashes, signalled, term_bad;
    char crash_note[512];
    int64_t next_kill;
    /* redis, broker */
    int redis_kills, redis_next, broker_outages, broker_is_down;
    int64_t redis_restart_at, broker_up_at;
    int dr_fail;
    /* self-test */
    int brk_drop, brk_fake, brk_foreign, brk_flip, brk_double, brk_lag, brk_crash;
    int calm; /* PAYW_CHAOS_CALM: the same load without any fault (a control run) */
    int64_t t0;
} chaos;

static chaos *g_ch;

/*---- small things ----*/

static uint64_t rng_next(chaos *ch)
{
    uint64_t z = (ch->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unit(chaos *ch)
{
    return (double)(rng_next(ch) >> 11) / 9007199254740992.0;
}

static int64_t rng_range(chaos *ch, int64_t lo, int64_t hi)
{
    return hi <= lo ? lo : lo + (int64_t)(rng_next(ch) % (uint64_t)(hi - lo + 1));
}

static int64_t elapsed(const chaos *ch)
{
    return it_now_ms() - ch->t0;
}

static void say(const chaos *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const chaos *ch, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "chaos %6.1fs: ", ch->t0 > 0 ? (double)elapsed(ch) / 1000.0 : 0.0);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *jstr(json_object *o, const char *key)
{
    const char *v = json_object_get_string(pv_json_member(o, key));
    return v != NULL ? v : "";
}

static int st_index(const char *s)
{
    for (int i = 0; i < S_OTHER; i++)
        if (strcmp(s, st_names[i]) == 0)
            return i;
    return S_OTHER;
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void ht_put(chaos *ch, int idx)
{
    size_t i = fnv(ch->inv[idx].key) & (ch->htcap - 1);
    while (ch->ht[i] >= 0)
        i = (i + 1) & (ch->htcap - 1);
    ch->ht[i] = idx;
}

static int ht_get(const chaos *ch, const char *key)
{
    size_t i = fnv(key) & (ch->htcap - 1);
    for (size_t n = 0; n < ch->htcap && ch->ht[i] >= 0; n++, i = (i + 1) & (ch->htcap - 1))
        if (strcmp(ch->inv[ch->ht[i]].key, key) == 0)
            return ch->ht[i];
    return -1;
}

/* "c000123" -> 123, or -1 when it is not one of ours. */
static int cmd_index(const chaos *ch, const char *id)
{
    if (id[0] != 'c' || strlen(id) != 7 || strspn(id + 1, "0123456789") != 6)
        return -1;
    long v = strtol(id + 1, NULL, 10);
    return v < ch->ncmds ? (int)v : -1;
}

/* Decimal text ("81.59", "196.5") -> minor units with 2 decimals. */
static int64_t minor2(const char *t)
{
    int64_t v = 0;
    int frac = -1;
    for (; *t != '\0'; t++) {
        if (*t == '.') {
            frac = 0;
            continue;
        }
        if (*t < '0' || *t > '9' || frac >= 2)
            break;
        v = v * 10 + (*t - '0');
        if (frac >= 0)
            frac++;
    }
    for (int f = frac < 0 ? 0 : frac; f < 2; f++)
        v *= 10;
    return v;
}

/*---- children: every one is killed at exit ----*/

static void kill_children(void)
{
    chaos *ch = g_ch;
    if (ch == NULL)
        return;
    it_proc *ps[] = {&ch->tail,    &ch->s.w[0], &ch->s.w[1], &ch->s.w[2],
                     &ch->s.redis, &ch->s.dk,   &ch->s.sim};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        if (ps[i]->pid > 0) {
            kill(ps[i]->pid, SIGKILL);
            waitpid(ps[i]->pid, NULL, 0);
            ps[i]->pid = 0;
        }
}

static void on_signal(int sig)
{
    chaos *ch = g_ch;
    if (ch != NULL) {
        pid_t pids[] = {ch->tail.pid,    ch->s.w[0].pid, ch->s.w[1].pid, ch->s.w[2].pid,
                        ch->s.redis.pid, ch->s.dk.pid,   ch->s.sim.pid};
        for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++)
            if (pids[i] > 0)
                kill(pids[i], SIGKILL);
    }
    _exit(128 + sig);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/*---- the invoices and the commands ----*/

static void add_invoice(chaos *ch, int prov, const char *qid, const char *req, const char *alt)
{
    invoice *v = &ch->inv[ch->ninv];
    memset(v, 0, sizeof(*v));
    v->prov = prov;
    snprintf(v->qid, sizeof(v->qid), "%s", qid);
    snprintf(v->key, sizeof(v->key), "%s:%s", provs[prov], qid);
    snprintf(v->req, sizeof(v->req), "%s", req);
    snprintf(v->alt, sizeof(v->alt), "%s", alt);
    ht_put(ch, ch->ninv);
    ch->ninv++;
}

/* Invoices 1..n of every provider (0 is the seed's sample), from the
 * simulator's own listing; İş Bankası references are ours. */
static void load_invoices(chaos *ch)
{
    int want = 0;
    for (int p = 0; p < NPROV; p++)
        want += ch->p.invoices[p];
    ch->inv = calloc((size_t)want, sizeof(*ch->inv));
    for (ch->htcap = 16; ch->htcap < (size_t)want * 4; ch->htcap *= 2)
        ;
    ch->ht = malloc(ch->htcap * sizeof(int));
    for (size_t i = 0; i < ch->htcap; i++)
        ch->ht[i] = -1;
    for (int p = 0; p < NPROV; p++) {
        char path[96], req[1200], alt[1200], qid[96];
        json_object *list = NULL, *arr = NULL;
        if (p != P_ISBANK) {
            snprintf(path, sizeof(path), "/_sim/invoices?provider=%s", provs[p]);
            list = sim_get(&ch->s, path);
            arr = pv_json_member(list, p == P_PAYWALL ? "payments" : "invoices");
            if (arr == NULL || (int)json_object_array_length(arr) <= ch->p.invoices[p])
                fail_msg("%s: the simulator lists too few invoices", provs[p]);
        }
        for (int i = 1; i <= ch->p.invoices[p]; i++) {
            json_object *o = arr != NULL ? json_object_array_get_idx(arr, (size_t)i) : NULL;
            switch (p) {
            case P_PAYOFIN: {
                int64_t id = json_object_get_int64(pv_json_member(o, "invoiceQueryId"));
                int64_t lira = minor2(jstr(o, "invoiceAmount")) / 100;
                snprintf(qid, sizeof(qid), "%" PRId64, id);
                if (rng_unit(ch) < 0.6) { /* the whole invoice; the other: a partial */
                    snprintf(req, sizeof(req), "{\"invoiceQueryId\": %" PRId64 "}", id);
                    snprintf(alt, sizeof(alt),
                             "{\"invoiceQueryId\": %" PRId64 ", \"partialAmount\": 1}", id);
                } else {
                    snprintf(req, sizeof(req),
                             "{\"invoiceQueryId\": %" PRId64 ", \"partialAmount\": %" PRId64 "}",
                             id, lira > 2 ? lira - 1 : 1);
                    snprintf(alt, sizeof(alt),
                             "{\"invoiceQueryId\": %" PRId64 ", \"partialAmount\": %" PRId64 "}",
                             id, lira > 3 ? lira - 2 : 2);
                }
                break;
            }
            case P_SIPAY: {
                const char *amt = jstr(o, "invoice_amount");
                int64_t half = minor2(amt) / 2;
                char halft[32];
                snprintf(halft, sizeof(halft), "%" PRId64 ".%02" PRId64,
                         (half > 0 ? half : 1) / 100, (half > 0 ? half : 1) % 100);
                snprintf(qid, sizeof(qid), "%s", jstr(o, "inv_payment_transaction_query_oid"));
                const char *fmt =
                    "{\"account_type_id\": 1, \"account_number\": \"28XX01\", \"wallet_number\": "
                    "\"25XX25\", \"inv_payment_transaction_query_oid\": \"%s\", "
                    "\"invoice_amount\": "
                    "\"%s\", \"payment_amount\": \"%s\", \"product_oid\": \"%s\", "
                    "\"subscriber_no\": "
                    "\"%s\", \"bill_term\": \"%s\", \"bill_no\": \"%s\"}";
                snprintf(req, sizeof(req), fmt, qid, amt, amt, jstr(o, "product_oid"),
                         jstr(o, "subscriber_no"), jstr(o, "bill_term"), jstr(o, "bill_no"));
                snprintf(alt, sizeof(alt), fmt, qid, amt, halft, jstr(o, "product_oid"),
                         jstr(o, "subscriber_no"), jstr(o, "bill_term"), jstr(o, "bill_no"));
                break;
            }
            case P_PAYWALL: {
                int64_t id = json_object_get_int64(pv_json_member(o, "paymentid"));
                snprintf(qid, sizeof(qid), "%" PRId64, id);
                snprintf(req, sizeof(req), "{\"paymentid\": %" PRId64 "}", id);
                snprintf(alt, sizeof(alt), "%s", req); /* a report has nothing else to vary */
                break;
            }
            case P_ISBANK: {
                const char *fmt =
                    "{\"service_id\": 10065, \"payment_reference\": \"%s\", \"amount\": %d, "
                    "\"currency_code\": \"TRY\", \"basic_input_values\": [{\"name\": "
                    "\"SubscriberName\", \"value\": \"Ayşe Yılmaz\"}, {\"name\": \"Tckn_Vkn_Ykn\", "
                    "\"value\": \"12345678901\"}]}";
                snprintf(qid, sizeof(qid), "CHAOS-%" PRIu64 "-%06d", ch->seed, i);
                snprintf(req, sizeof(req), fmt, qid, 950);
                snprintf(alt, sizeof(alt), fmt, qid, 960);
                break;
            }
            default: {
                const char *amount = jstr(o, "amount");
                int64_t a = strtoll(amount, NULL, 10);
                const char *fmt = "{\"invoicesDetails\": [{\"invoiceID\": \"%s\", \"amount\": "
                                  "\"%" PRId64 "\", \"currency\": \"%s\"}]}";
                snprintf(qid, sizeof(qid), "%s", jstr(o, "invoiceID"));
                snprintf(req, sizeof(req), fmt, qid, a, jstr(o, "currency"));
                snprintf(alt, sizeof(alt), fmt, qid, a > 1 ? a - 1 : a, jstr(o, "currency"));
                break;
            }
            }
            add_invoice(ch, p, qid, req, alt);
        }
        json_object_put(list);
    }
}

static int cmp_send(const void *a, const void *b)
{
    const sendev *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->cmd - y->cmd;
}

static int new_cmd(chaos *ch, int inv, int kind, int64_t at)
{
    cmd *c = &ch->cmds[ch->ncmds];
    memset(c, 0, sizeof(*c));
    c->inv = inv;
    c->kind = kind;
    c->planned = at;
    double r = rng_unit(ch);
    c->exp = r < 0.08 ? E_PAST : r < 0.18 ? E_DURING : r < 0.38 ? E_FAR : E_NONE;
    invoice *v = &ch->inv[inv];
    if (v->ncmds < 4)
        v->cmds[v->ncmds++] = ch->ncmds;
    ch->sends[ch->nsends++] = (sendev){at, ch->ncmds, 0};
    return ch->ncmds++;
}

/* The whole plan: commands, their kinds and expiry, and every send time. */
static void plan(chaos *ch)
{
    int base_max = ch->ninv * 2;
    ch->cmds = calloc((size_t)base_max, sizeof(*ch->cmds));
    ch->sends = calloc((size_t)(base_max + ch->p.total), sizeof(*ch->sends));
    /* invoices in a random order, first commands spread over the span */
    int *order = malloc((size_t)ch->ninv * sizeof(int));
    for (int i = 0; i < ch->ninv; i++)
        order[i] = i;
    for (int i = ch->ninv - 1; i > 0; i--) {
        int j = (int)(rng_next(ch) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < ch->ninv; k++) {
        int i = order[k];
        int64_t at = ch->p.first_span_ms * k / ch->ninv + rng_range(ch, 0, 50);
        new_cmd(ch, i, K_FIRST, at);
        if (rng_unit(ch) < ch->p.second_frac) {
            int kind = ch->inv[i].prov == P_PAYWALL || rng_unit(ch) < 0.5 ? K_SAME : K_OTHER;
            int64_t later =
                rng_unit(ch) < 0.7 ? rng_range(ch, 0, 3000) : rng_range(ch, 3000, 12000);
            new_cmd(ch, i, kind, at + later);
        }
    }
    free(order);
    int nbase = ch->ncmds;
    for (int r = nbase; r < ch->p.total; r++) {
        int c = (int)(rng_next(ch) % (uint64_t)nbase);
        int late = rng_unit(ch) < ch->p.late_frac;
        int64_t d =
            late ? rng_range(ch, ch->p.late_min_ms, ch->p.late_max_ms) : rng_range(ch, 200, 5000);
        ch->sends[ch->nsends++] = (sendev){ch->cmds[c].planned + d, c, late};
    }
    qsort(ch->sends, (size_t)ch->nsends, sizeof(*ch->sends), cmp_send);
}

/*---- Kafka: producing, lag ----*/

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    chaos *ch = opaque;
    intptr_t i = (intptr_t)m->_private;
    if (i < 0 || i >= ch->ncmds)
        return;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ch->cmds[i].dr_fail++;
        ch->dr_fail++;
    } else {
        ch->cmds[i].dr_ok++;
        ch->cmds[i].part = m->partition;
    }
}

static void produce_raw(chaos *ch, const char *key, const char *body, size_t len, intptr_t opaque)
{
    for (int tries = 0; tries < 1000; tries++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            ch->prod, RD_KAFKA_V_TOPIC(T_COMMANDS), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)body, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)opaque), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            fail_msg("produce: %s", rd_kafka_err2str(err));
        rd_kafka_poll(ch->prod, 10);
    }
    fail_msg("produce: the queue stayed full");
}

static void send_cmd(chaos *ch, int i)
{
    cmd *c = &ch->cmds[i];
    invoice *v = &ch->inv[c->inv];
    if (c->body == NULL) {
        char buf[2048], exp[48] = "";
        int64_t now = wall_ms(), created = now;
        if (c->exp == E_PAST) {
            created = now - 90000;
            snprintf(exp, sizeof(exp), ", \"expires_at\": %" PRId64,
                     now - rng_range(ch, 1000, 60000));
        } else if (c->exp == E_DURING) {
            snprintf(exp, sizeof(exp), ", \"expires_at\": %" PRId64,
                     now + rng_range(ch, 1000, 10000));
        } else if (c->exp == E_FAR) {
            snprintf(exp, sizeof(exp), ", \"expires_at\": %" PRId64, now + 3600000);
        }
        c->len = snprintf(buf, sizeof(buf),
                          "{\"command_id\": \"c%06d\", \"provider\": \"%s\", \"created_at\": "
                          "%" PRId64 "%s, \"request\": %s}",
                          i, provs[v->prov], created, exp, c->kind == K_OTHER ? v->alt : v->req);
        c->body = strdup(buf);
    }
    c->sends++;
    produce_raw(ch, v->key, c->body, (size_t)c->len, i);
}

static int partitions_of(chaos *ch, const char *topic)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(ch->admin, topic, NULL);
    int n = -1;
    for (int tries = 0; tries < 10 && n < 0; tries++) {
        if (rd_kafka_metadata(ch->admin, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                n = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
    }
    rd_kafka_topic_destroy(t);
    if (n <= 0 || n > MAX_PARTS)
        fail_msg("%s: no metadata (%d partitions)", topic, n);
    return n;
}

/* Sum over the topic's partitions of high watermark - low watermark. -1 when
 * the broker did not answer. */
static int64_t topic_messages(chaos *ch, const char *topic, int nparts)
{
    int64_t total = 0;
    for (int p = 0; p < nparts; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(ch->admin, topic, p, &lo, &hi, 5000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            return -1;
        total += hi - lo;
    }
    return total;
}

/* Commands not yet committed by the workers' group: for every partition,
 * high watermark - committed offset (- low when nothing is committed). -1
 * when the broker did not answer; detail gets "p=lag" of the lagging ones. */
static int64_t group_lag(chaos *ch, char *detail, size_t cap)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(ch->ncmd_parts);
    for (int p = 0; p < ch->ncmd_parts; p++)
        rd_kafka_topic_partition_list_add(l, T_COMMANDS, p);
    int64_t lag = 0;
    size_t o = 0;
    if (detail != NULL && cap > 0)
        detail[0] = '\0';
    if (rd_kafka_committed(ch->admin, l, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    for (int i = 0; i < l->cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(ch->admin, T_COMMANDS, l->elems[i].partition, &lo, &hi,
                                             5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            lag = -1;
            break;
        }
        int64_t c = l->elems[i].offset;
        int64_t d = c >= 0 ? hi - c : hi - lo;
        lag += d;
        if (d != 0 && detail != NULL && o < cap)
            o += (size_t)snprintf(detail + o, cap - o,
                                  " p%d=%" PRId64 "(committed %" PRId64 ", end %" PRId64 ")",
                                  l->elems[i].partition, d, c, hi);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return lag;
}

/*---- the results reader: payctl tail -B -m results ----*/

static void tail_start(chaos *ch)
{
    char path[512];
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path,      "tail", "-b", ch->s.bootstrap,
                    "-B",      "-m",   "-X", "fetch.wait.max.ms=10",
                    "results", NULL};
    if (it_spawn(&ch->tail, "payctl-tail", argv, NULL) != 0)
        fail_msg("payctl tail did not start");
}

static void record(chaos *ch, int ci, int st, json_object *ev)
{
    cmd *c = &ch->cmds[ci];
    c->nev++;
    c->mask |= 1u << st;
    if (c->nseq == 0 || c->seq[c->nseq - 1] != st) {
        if (c->nseq < SEQ_MAX)
            c->seq[c->nseq++] = (uint8_t)st;
        else
            c->seq_more = 1;
    }
    if (ev != NULL) {
        const char *r = jstr(ev, "reason");
        if (r[0] != '\0')
            snprintf(c->reason, sizeof(c->reason), "%s", r);
        snprintf(c->worker, sizeof(c->worker), "%s", jstr(ev, "worker"));
    }
}

static void on_line(chaos *ch, char *line)
{
    json_object *w = json_tokener_parse(line);
    if (w == NULL) {
        ch->bad_lines++;
        return;
    }
    int part = json_object_get_int(pv_json_member(w, "partition"));
    int64_t off = json_object_get_int64(pv_json_member(w, "offset"));
    if (part < 0 || part >= MAX_PARTS || off < 0 || off > (int64_t)1 << 32) {
        ch->bad_lines++;
        json_object_put(w);
        return;
    }
    if (off >= ch->seen_cap[part]) {
        int64_t cap = ch->seen_cap[part] > 0 ? ch->seen_cap[part] : 4096;
        while (cap <= off)
            cap *= 2;
        ch->seen[part] = realloc(ch->seen[part], (size_t)cap);
        memset(ch->seen[part] + ch->seen_cap[part], 0, (size_t)(cap - ch->seen_cap[part]));
        ch->seen_cap[part] = cap;
    }
    if (ch->seen[part][off]) {
        ch->dup_events++; /* the reader read it again (a rebalance of its own group) */
        json_object_put(w);
        return;
    }
    ch->seen[part][off] = 1;
    ch->events++;
    json_object *ev = pv_json_member(w, "event");
    int ci = cmd_index(ch, jstr(ev, "command_id"));
    if (ci < 0) {
        ch->foreign++;
    } else if (ch->brk_drop && ci % 40 == 7) {
        ch->dropped++;
    } else {
        record(ch, ci, st_index(jstr(ev, "status")), ev);
    }
    json_object_put(w);
}

/* Reads what the reader printed, up to budget_ms; restarts it when it died. */
static void pump(chaos *ch, int budget_ms)
{
    int64_t end = it_now_ms() + budget_ms;
    do {
        if (ch->tail.pid <= 0 || ch->tail.out_fd < 0) {
            if (ch->tail.pid > 0)
                it_stop(&ch->tail, SIGTERM, 2000);
            ch->tail_restarts++;
            tail_start(ch);
        }
        struct pollfd pfd = {.fd = ch->tail.out_fd, .events = POLLIN};
        int left = (int)(end - it_now_ms());
        int rc = poll(&pfd, 1, left > 0 ? left : 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        lreader *r = &ch->lr;
        if (r->cap - r->len < 65536) {
            r->cap = r->cap > 0 ? r->cap * 2 : 1 << 20;
            r->buf = realloc(r->buf, r->cap);
        }
        ssize_t n = read(ch->tail.out_fd, r->buf + r->len, r->cap - r->len - 1);
        if (n <= 0) {
            say(ch, "payctl tail ended: restarting it (read again from the beginning)");
            it_stop(&ch->tail, SIGTERM, 2000);
            continue;
        }
        r->len += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < r->len; i++)
            if (r->buf[i] == '\n') {
                r->buf[i] = '\0';
                on_line(ch, r->buf + start);
                start = i + 1;
            }
        memmove(r->buf, r->buf + start, r->len - start);
        r->len -= start;
    } while (it_now_ms() < end);
}

/*---- the workers, redis, the broker ----*/

static void worker_start(chaos *ch, int i)
{
    stack *s = &ch->s;
    char path[512], addr[96], wid[64], name[32];
    s->metrics_port[i] = it_free_port();
    ch->gen[i]++;
    snprintf(addr, sizeof(addr), "PAYW_HTTP_ADDR=127.0.0.1:%d", s->metrics_port[i]);
    snprintf(wid, sizeof(wid), "PAYW_WORKER_ID=w%d.%d", i, ch->gen[i]);
    snprintf(name, sizeof(name), "worker-w%d.%d", i, ch->gen[i]);
    char *env[72];
    int n = 0;
    for (; s->env[n] != NULL && n < 68; n++)
        env[n] = s->env[n];
    env[n++] = addr;
    env[n++] = wid;
    env[n] = NULL;
    it_build_path(path, sizeof(path), "worker/payworker");
    char *argv[] = {path, NULL};
    if (it_spawn(&s->w[i], name, argv, env) != 0)
        fail_msg("%s did not start", name);
    ch->restart_at[i] = 0;
}

/* A worker that exited on its own is noted and restarted. */
static void reap_workers(chaos *ch)
{
    for (int i = 0; i < NWORKERS; i++) {
        it_proc *w = &ch->s.w[i];
        int status;
        if (w->pid <= 0 || waitpid(w->pid, &status, WNOHANG) != w->pid)
            continue;
        ch->crashes++;
        ch->signalled += WIFSIGNALED(status);
        size_t o = strlen(ch->crash_note);
        if (o < sizeof(ch->crash_note) - 100)
            snprintf(ch->crash_note + o, sizeof(ch->crash_note) - o, " w%d.%d %s %d (log %s);", i,
                     ch->gen[i], WIFSIGNALED(status) ? "signal" : "exit",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), w->log_path);
        say(ch, "worker w%d.%d exited on its own (%s %d): restarting it", i, ch->gen[i],
            WIFSIGNALED(status) ? "signal" : "exit",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        w->pid = 0;
        it_close(w);
        ch->restart_at[i] = it_now_ms() + 500;
    }
}

static void dk_control(chaos *ch, const char *line)
{
    char reply[512];
    if (it_request(&ch->s.dk, line, reply, sizeof(reply), 10000) != 0 ||
        strncmp(reply, "ok", 2) != 0)
        fail_msg("devkafka \"%s\": %s", line, reply);
}

static void redis_start(chaos *ch)
{
    start_redis_aof(&ch->s, ch->redisdir);
}

/* One step of the fault schedule (load phase only). */
/* The broker must outlive the run: devkafka is librdkafka 2.0.2's mock
 * cluster, which aborts (rd_kafka_mock_cgrp_member_add: Assertion
 * `!member->resp' failed) when a member joins again while an earlier
 * JoinGroup of it is still unanswered: a broker outage in the middle of a
 * rebalance does it. That is the mock's failure, not the workers': say so
 * and stop (exit 255: the harness could not run), never blame a check. */
static void broker_alive(chaos *ch)
{
    if (ch->s.dk.pid <= 0 || waitpid(ch->s.dk.pid, NULL, WNOHANG) != ch->s.dk.pid)
        return;
    ch->s.dk.pid = 0;
    say(ch, "devkafka (librdkafka's mock cluster) died: the run cannot go on; its log:");
    it_dump_log(&ch->s.dk);
    kill_children();
    exit(255);
}

/* No worker is killed from QUIET_BEFORE_MS before the broker outage until
 * QUIET_AFTER_MS after it: the group is stable when the broker goes down, so
 * that the mock does not abort (broker_alive). A real broker needs no such
 * window (issue 13). */
#define QUIET_BEFORE_MS 12000
#define QUIET_AFTER_MS  7000

static void faults_step(chaos *ch)
{
    int64_t now = it_now_ms(), t = now - ch->t0;
    int quiet =
        t >= ch->p.broker_down_at - QUIET_BEFORE_MS && t < ch->p.broker_down_at + QUIET_AFTER_MS;
    broker_alive(ch);
    if (quiet && now >= ch->next_kill)
        ch->next_kill = now + 1000; /* after the window */
    if (ch->brk_crash == 1 && t >= ch->p.kill_from_ms && ch->s.w[0].pid > 0) {
        /* self-test: a crash as a worker would crash, not one of our kills */
        kill(ch->s.w[0].pid, SIGSEGV);
        ch->brk_crash = 2;
    }
    if (t >= ch->p.kill_from_ms && now >= ch->next_kill) {
        int up[NWORKERS], n = 0;
        for (int i = 0; i < NWORKERS; i++)
            if (ch->s.w[i].pid > 0)
                up[n++] = i;
        if (n > 0) {
            int i = up[rng_next(ch) % (uint64_t)n];
            it_stop(&ch->s.w[i], SIGKILL, 5000);
            ch->kills++;
            ch->restart_at[i] = now + rng_range(ch, 300, 1500);
        }
        ch->next_kill = now + rng_range(ch, 2000, 8000);
    }
    if (ch->redis_next < ch->p.nredis && t >= ch->p.redis_kill_at[ch->redis_next] &&
        ch->s.redis.pid > 0) {
        say(ch, "redis-server: kill -9");
        it_stop(&ch->s.redis, SIGKILL, 5000);
        ch->redis_kills++;
        ch->redis_next++;
        ch->redis_restart_at = now + rng_range(ch, 1000, 3000);
    }
    if (ch->s.redis.pid <= 0 && ch->redis_restart_at > 0 && now >= ch->redis_restart_at) {
        redis_start(ch);
        ch->redis_restart_at = 0;
        say(ch, "redis-server restarted from its AOF");
    }
    if (!ch->broker_is_down && ch->broker_outages == 0 && t >= ch->p.broker_down_at) {
        say(ch, "broker down for 5 s");
        dk_control(ch, "broker down all");
        ch->broker_is_down = 1;
        ch->broker_outages++;
        ch->broker_up_at = now + 5000;
    }
    if (ch->broker_is_down && now >= ch->broker_up_at) {
        dk_control(ch, "broker up all");
        ch->broker_is_down = 0;
        say(ch, "broker up");
    }
}

static void workers_step(chaos *ch)
{
    reap_workers(ch);
    int64_t now = it_now_ms();
    for (int i = 0; i < NWORKERS; i++)
        if (ch->s.w[i].pid <= 0 && ch->restart_at[i] > 0 && now >= ch->restart_at[i])
            worker_start(ch, i);
}

static int missing_results(const chaos *ch, int *undelivered)
{
    int n = 0, u = 0;
    for (int i = 0; i < ch->ncmds; i++) {
        const cmd *c = &ch->cmds[i];
        if (c->dr_ok == 0)
            u++;
        else if (c->nev == 0)
            n++;
    }
    if (undelivered != NULL)
        *undelivered = u;
    return n;
}

/*---- the direct payments of the self-test ----*/

static long sim_pay_payofin(chaos *ch, const char *qid, const char *request_id)
{
    char url[128], body[128], rid[160];
    snprintf(url, sizeof(url), "%s/invoices/invoicepayment", ch->s.sim_url);
    snprintf(body, sizeof(body), "{\"invoiceQueryId\": %s}", qid);
    snprintf(rid, sizeof(rid), "X-Request-Id: %s", request_id);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "ApiKey: sim-payofin-api-key");
    h = curl_slist_append(h, "SecretKey: sim-payofin-secret-key");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, rid);
    CURL *c = curl_easy_init();
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (sink != NULL)
        fclose(sink);
    return code;
}

/*---- the checker ----*/

typedef struct ledger_fig {
    int64_t entries, by_rid, by_sole, unattributed, foreign, rid_unknown;
} ledger_fig;

static void seq_text(const cmd *c, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < c->nseq && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i > 0 ? ">" : "", st_names[c->seq[i]]);
    if (c->nseq == 0)
        snprintf(out, cap, "(none)");
    else if (c->seq_more && o < cap)
        snprintf(out + o, cap - o, ">...");
}

static void example(const chaos *ch, int ci, const char *why)
{
    const cmd *c = &ch->cmds[ci];
    char seq[160];
    seq_text(c, seq, sizeof(seq));
    printf("      e.g. c%06d %s %s, expiry %s, sent %d, events %d, statuses %s%s%s%s%s\n", ci,
           ch->inv[c->inv].key, kind_names[c->kind], exp_names[c->exp], c->sends, c->nev, seq,
           c->worker[0] ? ", last by " : "", c->worker, c->reason[0] ? ", reason: " : "",
           c->reason);
    if (why != NULL && why[0] != '\0')
        printf("           %s\n", why);
}

static int g_passed, g_failed;

static void check_line(int n, const char *what, int64_t figure, const char *extra)
{
    int ok = figure == 0;
    printf("%s check %d  %s: %" PRId64 " (goal 0)%s%s\n", ok ? "ok  " : "FAIL", n, what, figure,
           extra != NULL && extra[0] ? "  " : "", extra != NULL ? extra : "");
    if (ok)
        g_passed++;
    else
        g_failed++;
}

/* payctl lookup PROVIDER QUERY_ID: state.status into v->store. */
static void lookup(chaos *ch, invoice *v)
{
    char path[512], err[2048];
    char *line = malloc(LINE);
    int n = 0;
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path, "lookup", (char *)provs[v->prov], v->qid, "--redis", ch->s.redis_url,
                    NULL};
    int rc = it_run(argv, NULL, line, LINE, 1, &n, err, sizeof(err), 10000);
    snprintf(v->store, sizeof(v->store), "?");
    if (n == 1) {
        json_object *o = json_tokener_parse(line);
        json_object *st = pv_json_member(o, "state");
        const char *status = jstr(st, "status");
        int64_t ttl = json_object_get_int64(pv_json_member(o, "lock_ttl_ms"));
        if (strcmp(status, "INFLIGHT") == 0 && ttl <= 0)
            snprintf(v->store, sizeof(v->store), "INFLIGHT-unlocked");
        else
            snprintf(v->store, sizeof(v->store), "%s", status[0] ? status : jstr(o, "outcome"));
        json_object_put(o);
    } else {
        snprintf(v->store, sizeof(v->store), "lookup-failed-%d", rc);
    }
    free(line);
}

static void read_ledger(chaos *ch, ledger_fig *lf, int **entry_cmd, int *nentries)
{
    uint64_t since = 0;
    int cap = 1024, n = 0;
    int *ec = malloc((size_t)cap * sizeof(int));
    memset(lf, 0, sizeof(*lf));
    for (int v = 0; v < ch->ninv; v++)
        ch->inv[v].paid = 0;
    for (int page = 0; page < 10000; page++) {
        char path[96];
        snprintf(path, sizeof(path), "/_sim/ledger?since=%" PRIu64 "&limit=5000", since);
        json_object *j = sim_get(&ch->s, path);
        json_object *es = pv_json_member(j, "entries");
        size_t len = es != NULL ? json_object_array_length(es) : 0;
        for (size_t i = 0; i < len; i++) {
            json_object *e = json_object_array_get_idx(es, i);
            char key[200];
            snprintf(key, sizeof(key), "%s:%s", jstr(e, "provider"), jstr(e, "query_id"));
            int vi = ht_get(ch, key);
            lf->entries++;
            if (n == cap) {
                cap *= 2;
                ec = realloc(ec, (size_t)cap * sizeof(int));
            }
            ec[n] = -1;
            if (vi < 0) {
                lf->foreign++;
                n++;
                continue;
            }
            invoice *v = &ch->inv[vi];
            v->paid++;
            const char *rid = jstr(e, "request_id");
            if (rid[0] != '\0') {
                int ci = cmd_index(ch, rid);
                if (ci >= 0 && ch->cmds[ci].inv == vi) {
                    lf->by_rid++;
                    ec[n] = ci;
                } else {
                    lf->rid_unknown++; /* a request id that is no command of this invoice */
                }
            } else if (v->ncmds == 1) {
                lf->by_sole++;
                ec[n] = v->cmds[0];
            } else {
                lf->unattributed++;
            }
            n++;
        }
        since = (uint64_t)json_object_get_int64(pv_json_member(j, "next_since"));
        json_object_put(j);
        if (len == 0)
            break;
    }
    *entry_cmd = ec;
    *nentries = n;
}

static int run_checks(chaos *ch, int64_t lag, const char *lagdetail)
{
    char extra[1024];
    /* the ledger and the store */
    ledger_fig lf;
    int *entry_cmd = NULL, nentries = 0;
    if (ch->brk_foreign) { /* an unpaid Payofin invoice, paid behind the worker's back */
        for (int ci = 0; ci < ch->ncmds; ci++) {
            cmd *c = &ch->cmds[ci];
            invoice *v = &ch->inv[c->inv];
            if (v->prov == P_PAYOFIN && (c->mask & BAD_FOR_PAID) != 0 &&
                (c->mask & (1u << S_SUCCEEDED)) == 0 && v->ncmds == 1) {
                char rid[16];
                snprintf(rid, sizeof(rid), "c%06d", ci);
                long code = sim_pay_payofin(ch, v->qid, rid);
                say(ch, "self-test foreignpay: paid %s as %s at the simulator (HTTP %ld)", v->key,
                    rid, code);
                break;
            }
        }
    }
    read_ledger(ch, &lf, &entry_cmd, &nentries);
    if (ch->brk_double) {
        for (int v = 0; v < ch->ninv; v++)
            if (ch->inv[v].prov == P_PAYOFIN && ch->inv[v].paid > 0) {
                long code = sim_pay_payofin(ch, ch->inv[v].qid, "chaos-self-test");
                say(ch, "self-test doublepay: paid %s again at the simulator (HTTP %ld)",
                    ch->inv[v].key, code);
                break;
            }
    }
    json_object *stats = sim_get(&ch->s, "/_sim/stats");
    json_object *pstats = pv_json_member(stats, "providers");
    if (ch->brk_fake) {
        for (int ci = 0; ci < ch->ncmds; ci++) {
            cmd *c = &ch->cmds[ci];
            if (ch->inv[c->inv].prov != P_PAYWALL && ch->inv[c->inv].paid == 0 && c->nev > 0 &&
                c->mask == (1u << S_DECLINED)) {
                say(ch, "self-test fakesuccess: c%06d booked SUCCEEDED", ci);
                record(ch, ci, S_SUCCEEDED, NULL);
                break;
            }
        }
    }
    if (ch->brk_flip) {
        for (int ci = 0; ci < ch->ncmds; ci++)
            if (ch->cmds[ci].nseq == 1 && ch->cmds[ci].seq[0] == S_SUCCEEDED) {
                say(ch, "self-test flip: c%06d booked DECLINED after its SUCCEEDED", ci);
                record(ch, ci, S_DECLINED, NULL);
                break;
            }
    }
    for (int v = 0; v < ch->ninv; v++) {
        ch->inv[v].succeeded = 0;
        for (int k = 0; k < ch->inv[v].ncmds; k++)
            if (ch->cmds[ch->inv[v].cmds[k]].mask & (1u << S_SUCCEEDED))
                ch->inv[v].succeeded = 1;
    }

    printf("\n");
    /* 1 */
    int64_t dbl = 0;
    size_t o = 0;
    extra[0] = '\0';
    for (int p = 0; p < NPROV; p++) {
        int64_t d = json_object_get_int64(
            pv_json_member(pv_json_member(pstats, provs[p]), "double_payment_attempts"));
        dbl += d;
        if (d > 0)
            o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s %" PRId64 " ", provs[p], d);
    }
    check_line(1,
               "payment requests for an already-paid invoice (simulator double_payment_attempts)",
               dbl, extra);

    /* 2 */
    int undelivered = 0;
    int missing = missing_results(ch, &undelivered);
    snprintf(extra, sizeof(extra), "(of %d commands delivered to Kafka; %d never delivered)",
             ch->ncmds - undelivered, undelivered);
    check_line(2, "commands without a result", missing, extra);
    if (missing > 0) {
        int byp[MAX_PARTS] = {0};
        for (int ci = 0; ci < ch->ncmds; ci++)
            if (ch->cmds[ci].dr_ok > 0 && ch->cmds[ci].nev == 0 && ch->cmds[ci].part >= 0 &&
                ch->cmds[ci].part < MAX_PARTS)
                byp[ch->cmds[ci].part]++;
        printf("      by commands partition:");
        for (int p = 0; p < ch->ncmd_parts; p++)
            if (byp[p] > 0)
                printf(" p%d %d", p, byp[p]);
        printf("%s\n", ch->dropped > 0 ? " (the self-test ignored some events)" : "");
    }
    for (int ci = 0, shown = 0; ci < ch->ncmds && shown < EXAMPLES; ci++)
        if (ch->cmds[ci].dr_ok > 0 && ch->cmds[ci].nev == 0) {
            example(ch, ci, NULL);
            shown++;
        }

    /* 3 */
    int64_t unpaid_ok = 0;
    int ex3[EXAMPLES], nex3 = 0;
    for (int ci = 0; ci < ch->ncmds; ci++) {
        const cmd *c = &ch->cmds[ci];
        if (ch->inv[c->inv].prov != P_PAYWALL && (c->mask & (1u << S_SUCCEEDED)) &&
            ch->inv[c->inv].paid == 0) {
            if (nex3 < EXAMPLES)
                ex3[nex3++] = ci;
            unpaid_ok++;
        }
    }
    check_line(3, "SUCCEEDED for an unpaid invoice (no ledger payment)", unpaid_ok,
               "(Paywall only reads: not counted)");
    for (int k = 0; k < nex3; k++)
        example(ch, ex3[k], NULL);

    /* 4 */
    int64_t paid_refused = 0;
    int *flagged = calloc((size_t)ch->ncmds, sizeof(int));
    for (int e = 0; e < nentries; e++) {
        int ci = entry_cmd[e];
        if (ci >= 0 && (ch->cmds[ci].mask & BAD_FOR_PAID) && !flagged[ci]) {
            flagged[ci] = 1;
            paid_refused++;
        }
    }
    snprintf(
        extra, sizeof(extra),
        "(ledger entries %" PRId64 ": attributed by request_id %" PRId64
        ", by the invoice's only command %" PRId64 "; attribution UNAVAILABLE for %" PRId64
        " (no request_id, several commands); a request_id of no command of that invoice %" PRId64
        ")",
        lf.entries, lf.by_rid, lf.by_sole, lf.unattributed, lf.rid_unknown);
    check_line(4, "DECLINED/FAILED/REJECTED/EXPIRED for a command whose own call paid",
               paid_refused, extra);
    if (lf.by_rid == 0 && lf.entries > 0)
        printf("      note: no ledger entry carries a request_id (the worker does not send "
               "X-Request-Id yet)\n");
    for (int ci = 0, shown = 0; ci < ch->ncmds && shown < EXAMPLES; ci++)
        if (flagged[ci]) {
            example(ch, ci, NULL);
            shown++;
        }
    free(flagged);

    /* 5 */
    int64_t two = 0;
    int shown5 = 0;
    for (int ci = 0; ci < ch->ncmds; ci++) {
        const cmd *c = &ch->cmds[ci];
        int bad = c->seq_more || c->nseq > 2 || (c->nseq == 2 && c->seq[0] != S_UNKNOWN);
        if (bad)
            two++;
    }
    check_line(5, "commands with two different statuses (an UNKNOWN later settled excepted)", two,
               "");
    for (int ci = 0; ci < ch->ncmds && shown5 < EXAMPLES; ci++) {
        const cmd *c = &ch->cmds[ci];
        if (c->seq_more || c->nseq > 2 || (c->nseq == 2 && c->seq[0] != S_UNKNOWN)) {
            example(ch, ci, NULL);
            shown5++;
        }
    }

    /* 6 */
    int64_t unanswered = 0, cand = 0, by_events = 0, by_store = 0, lookups = 0;
    int shown6 = 0;
    for (int vi = 0; vi < ch->ninv; vi++) {
        invoice *v = &ch->inv[vi];
        if (v->prov == P_PAYWALL || v->paid == 0 || v->succeeded)
            continue;
        cand++;
        int ok = 0;
        for (int k = 0; k < v->ncmds && !ok; k++) {
            const cmd *c = &ch->cmds[v->cmds[k]];
            ok = c->nseq > 0 && c->seq[c->nseq - 1] == S_UNKNOWN;
        }
        if (ok) {
            by_events++;
            continue;
        }
        if (lookups < (ch->quick ? LOOKUP_MAX / 3 : LOOKUP_MAX)) {
            lookup(ch, v);
            lookups++;
        } else {
            snprintf(v->store, sizeof(v->store), "not-asked");
        }
        if (strcmp(v->store, "UNKNOWN") == 0 || strcmp(v->store, "INFLIGHT-unlocked") == 0) {
            by_store++;
            continue;
        }
        unanswered++;
        if (shown6 < EXAMPLES) {
            char why[300];
            snprintf(why, sizeof(why), "invoice %s: paid %d time(s) in the ledger, store says %s",
                     v->key, v->paid, v->store);
            for (int k = 0; k < v->ncmds; k++)
                example(ch, v->cmds[k], k == v->ncmds - 1 ? why : NULL);
            shown6++;
        }
    }
    snprintf(extra, sizeof(extra),
             "(paid invoices without a SUCCEEDED: %" PRId64 "; UNKNOWN in the results %" PRId64
             ", in the store %" PRId64 ")",
             cand, by_events, by_store);
    check_line(6, "paid-but-unanswered invoices neither UNKNOWN nor settled", unanswered, extra);

    /* 7 */
    snprintf(extra, sizeof(extra), "%s%s", lag < 0 ? "(the broker did not answer)" : "", lagdetail);
    check_line(7, "lag after settling (commands not committed by the workers' group)",
               lag < 0 ? 1 : lag, extra);

    /* 8: a worker is only ever killed by us; dying of another signal is a
     * crash (SIGSEGV, SIGABRT), whatever the answers say */
    check_line(8, "workers that died of a signal nobody sent them", ch->signalled,
               ch->signalled > 0 ? ch->crash_note : "");

    /* counts */
    int64_t by[NST] = {0}, none = 0, unk_inv = 0;
    for (int ci = 0; ci < ch->ncmds; ci++) {
        const cmd *c = &ch->cmds[ci];
        if (c->nseq == 0)
            none++;
        else
            by[c->seq[c->nseq - 1]]++;
    }
    for (int vi = 0; vi < ch->ninv; vi++) {
        int u = 0;
        for (int k = 0; k < ch->inv[vi].ncmds; k++) {
            const cmd *c = &ch->cmds[ch->inv[vi].cmds[k]];
            u |= c->nseq > 0 && c->seq[c->nseq - 1] == S_UNKNOWN;
        }
        unk_inv += u;
    }
    printf("\ncommands by last status:");
    for (int i = 0; i < NST; i++)
        if (by[i] > 0)
            printf(" %s %" PRId64, st_names[i], by[i]);
    printf(" (no result %" PRId64 ")\n", none);
    printf("UNKNOWNs left: %" PRId64 " commands, %" PRId64 " invoices\n", by[S_UNKNOWN], unk_inv);
    int64_t f[6] = {0};
    static const char *const fk[] = {"reset",    "5xx",         "blackhole",
                                     "paid_5xx", "reset_after", "latency"};
    for (int p = 0; p < NPROV; p++)
        for (int k = 0; k < 6; k++)
            f[k] += json_object_get_int64(
                pv_json_member(pv_json_member(pv_json_member(pstats, provs[p]), "faults"), fk[k]));
    printf("faults: worker kill -9 %d, worker exits of their own %d, redis kill -9 %d, broker "
           "outages %d; provider reset %" PRId64 ", 5xx %" PRId64 ", blackhole %" PRId64
           ", paid_5xx %" PRId64 ", reset_after %" PRId64 "\n",
           ch->kills, ch->crashes, ch->redis_kills, ch->broker_outages, f[0], f[1], f[2], f[3],
           f[4]);
    if (ch->crashes > 0)
        printf("worker exits of their own:%s\n", ch->crash_note);
    if (ch->term_bad > 0)
        printf("workers that did not exit 0 on SIGTERM at the end: %d\n", ch->term_bad);
    printf("results: %" PRId64 " events (re-read %" PRId64 ", unparsable %" PRId64
           ", of no command of ours %" PRId64 ", ignored by the self-test %" PRId64
           "; reader restarts %d), ledger %" PRId64 " payments (%" PRId64
           " of invoices not ours)\n",
           ch->events, ch->dup_events, ch->bad_lines, ch->foreign, ch->dropped, ch->tail_restarts,
           lf.entries, lf.foreign);
    json_object_put(stats);
    free(entry_cmd);
    return g_failed;
}

/*---- main ----*/

static void set_params(chaos *ch)
{
    params *p = &ch->p;
    if (ch->quick) {
        /* ~800 sends over 300 invoices in under 2 minutes */
        int inv[NPROV] = {100, 75, 20, 60, 45};
        memcpy(p->invoices, inv, sizeof(inv));
        p->second_frac = 0.3;
        p->total = 820;
        p->late_frac = 0.3;
        p->first_span_ms = 18000;
        p->late_min_ms = 15000;
        p->late_max_ms = 17000;
        p->load_ms = 36000;
        p->settle_ms = 45000;
        p->redis_kill_at[0] = 11000;
        p->nredis = 1;
        p->broker_down_at = 22000;
        p->kill_from_ms = 4000;
    } else {
        /* >= 5,000 commands (distinct command ids: ~3,950 first ones, ~1,190
         * second ones) over >= 2,000 invoices, 8,200 sends with the replays,
         * in under 10 minutes */
        int inv[NPROV] = {1300, 1000, 300, 800, 550};
        memcpy(p->invoices, inv, sizeof(inv));
        p->second_frac = 0.3;
        p->total = 8200;
        p->late_frac = 0.35;
        p->first_span_ms = 150000;
        p->late_min_ms = 60000;
        p->late_max_ms = 85000;
        p->load_ms = 240000;
        p->settle_ms = 180000;
        p->redis_kill_at[0] = 70000;
        p->redis_kill_at[1] = 170000;
        p->nredis = 2;
        p->broker_down_at = 120000;
        p->kill_from_ms = 5000;
    }
}

static void worker_env(chaos *ch)
{
    stack *s = &ch->s;
    env_set(s, "PAYW_GROUP", GROUP);
    env_set(s, "PAYW_LOG_LEVEL", "info");
    env_set(s, "PAYW_DRAIN_TIMEOUT_MS", "1000");
    env_set(s, "PAYW_RETRY_BUDGET_MS", "15000");
    env_set(s, "PAYW_RETRY_MAX_MS", "2000");
    env_set(s, "PAYW_REDIS_TIMEOUT_MS", "1000");
    env_set(s, "PAYW_KAFKA_FETCH_WAIT_MAX_MS", "10");
    /* An eager assignor on devkafka: with cooperative-sticky (the worker's
     * default) librdkafka 2.0.2 and its mock cluster, under kills, went on
     * revoking and re-assigning the same partitions in rounds of
     * session.timeout.ms - 1 s; every commit in between failed with
     * ILLEGAL_GENERATION and the lag stayed for over 45 s (seen in CI), and
     * once the mock answered a JoinGroup with no members, which crashed the
     * sticky assignor (SIGSEGV in the worker). Issue 13 runs this test on
     * Apache Kafka with the default. */
    env_set(s, "PAYW_KAFKA_PARTITION_ASSIGNMENT_STRATEGY", "roundrobin");
    for (int p = 0; p < NPROV; p++) {
        char name[64];
        snprintf(name, sizeof(name), "PAYW_%s_TIMEOUT_MS", provs[p]);
        env_set(s, name, "2000"); /* paid-then-hang is UNKNOWN after 2 s */
        snprintf(name, sizeof(name), "PAYW_%s_CONNECT_TIMEOUT_MS", provs[p]);
        env_set(s, name, "1000");
    }
    const char *extra = getenv("PAYW_CHAOS_WORKER_ENV"); /* "NAME=VALUE NAME=VALUE" */
    while (extra != NULL && *extra != '\0') {
        size_t len = strcspn(extra, " ");
        char pair[256], *eq;
        snprintf(pair, sizeof(pair), "%.*s", (int)len, extra);
        if ((eq = strchr(pair, '=')) != NULL) {
            *eq = '\0';
            env_set(s, pair, eq + 1);
        }
        extra += len + strspn(extra + len, " ");
    }
}

static void parse_break(chaos *ch)
{
    const char *b = getenv("PAYW_CHAOS_BREAK");
    if (b == NULL)
        return;
    ch->brk_drop = strstr(b, "drop") != NULL;
    ch->brk_fake = strstr(b, "fakesuccess") != NULL;
    ch->brk_foreign = strstr(b, "foreignpay") != NULL;
    ch->brk_flip = strstr(b, "flip") != NULL;
    ch->brk_double = strstr(b, "doublepay") != NULL;
    ch->brk_lag = strstr(b, "lag") != NULL;
    ch->brk_crash = strstr(b, "crash") != NULL;
}

int main(int argc, char **argv)
{
    static chaos chs;
    chaos *ch = &chs;
    g_ch = ch;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            ch->quick = 1;
        } else {
            fprintf(stderr, "usage: chaos [--quick]   (see tests/chaos/README.md)\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *seed = getenv("PAYW_CHAOS_SEED");
    ch->seed = seed != NULL ? strtoull(seed, NULL, 10) : 1;
    ch->rng = ch->seed;
    parse_break(ch);
    ch->calm = getenv("PAYW_CHAOS_CALM") != NULL && strcmp(getenv("PAYW_CHAOS_CALM"), "0") != 0;
    set_params(ch);
    ch->tail.pid = 0;
    atexit(kill_children);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* every log of the run in one private directory */
    const char *tmp = getenv("TMPDIR");
    snprintf(ch->rundir, sizeof(ch->rundir), "%s/payw-chaos-XXXXXX",
             tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    if (mkdtemp(ch->rundir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    setenv("TMPDIR", ch->rundir, 1);
    snprintf(ch->redisdir, sizeof(ch->redisdir), "%.250s/redis", ch->rundir);
    if (getenv("PAYW_CHAOS_CORES") != NULL) {
        /* core files of crashed processes in the log directory: run there
         * (with a relative core_pattern, the kernel writes them to the cwd) */
        char abs[PATH_MAX];
        struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
        if (realpath(it_build_dir(), abs) == NULL || setrlimit(RLIMIT_CORE, &rl) != 0 ||
            setenv("PAYW_BUILD_DIR", abs, 1) != 0 || chdir(ch->rundir) != 0) {
            perror("PAYW_CHAOS_CORES");
            return 2;
        }
    }
    mkdir(ch->redisdir, 0700);
    int total_inv = 0;
    for (int p = 0; p < NPROV; p++)
        total_inv += ch->p.invoices[p];
    char ninv[16];
    snprintf(ninv, sizeof(ninv), "%d", ch->p.invoices[P_PAYOFIN] + 20);
    setenv("PAYW_STACK_INVOICES", ninv, 1);
    printf("chaos%s%s: seed %" PRIu64 ", %d invoices, logs in %s\n", ch->quick ? " --quick" : "",
           ch->calm ? " (CALM: no faults)" : "", ch->seed, total_inv, ch->rundir);

    stack_up(&ch->s);
    it_stop(&ch->s.redis, SIGTERM, 10000); /* ours has AOF */
    redis_start(ch);
    worker_env(ch);
    load_invoices(ch);
    plan(ch);
    int late = 0, seconds[3] = {0}, exps[4] = {0};
    for (int i = 0; i < ch->nsends; i++)
        late += ch->sends[i].late;
    for (int i = 0; i < ch->ncmds; i++) {
        seconds[ch->cmds[i].kind]++;
        exps[ch->cmds[i].exp]++;
    }
    printf("plan: %d sends = %d commands (%d first, %d second with the same request, %d second "
           "with other parameters) + %d replays (%d late, >= %" PRId64 " s); expires_at: %d "
           "expired when sent, %d expiring during the run, %d far, %d none\n",
           ch->nsends, ch->ncmds, seconds[K_FIRST], seconds[K_SAME], seconds[K_OTHER],
           ch->nsends - ch->ncmds, late, ch->p.late_min_ms / 1000, exps[E_PAST], exps[E_DURING],
           exps[E_FAR], exps[E_NONE]);

    char mto[32];
    snprintf(mto, sizeof(mto), "%" PRId64, ch->p.load_ms + ch->p.settle_ms);
    const char *pkv[] = {"log_level",
                         "2",
                         "linger.ms",
                         "5",
                         "enable.idempotence",
                         "true",
                         "message.timeout.ms",
                         mto,
                         "queue.buffering.max.messages",
                         "1000000",
                         NULL};
    rd_kafka_conf_t *pc = it_kafka_conf(ch->s.bootstrap, pkv);
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    rd_kafka_conf_set_opaque(pc, ch);
    ch->prod = it_kafka_new(RD_KAFKA_PRODUCER, pc);
    static const char *const akv[] = {"log_level",          "2",     "group.id", GROUP,
                                      "enable.auto.commit", "false", NULL};
    ch->admin = it_kafka_new(RD_KAFKA_CONSUMER, it_kafka_conf(ch->s.bootstrap, akv));
    ch->ncmd_parts = partitions_of(ch, T_COMMANDS);
    ch->nres_parts = partitions_of(ch, T_RESULTS);

    /* faults on every payment endpoint for the whole load */
    if (!ch->calm)
        sim_faults(&ch->s,
                   "{\"provider\": \"ALL\", \"only_payments\": true, \"latency_ms\": 10, "
                   "\"jitter_ms\": 60, \"rate_reset\": 0.03, \"rate_5xx\": 0.03, "
                   "\"rate_blackhole\": 0.02, \"rate_paid_5xx\": 0.02, \"rate_reset_after\": "
                   "0.02}");
    ch->t0 = it_now_ms();
    for (int i = 0; i < NWORKERS; i++)
        worker_start(ch, i);
    tail_start(ch);
    ch->next_kill = ch->t0 + ch->p.kill_from_ms;
    say(ch, "load: %d sends over %" PRId64 " s with faults", ch->nsends, ch->p.load_ms / 1000);

    /* the load and the faults */
    int64_t next_note = ch->t0 + 10000;
    while (elapsed(ch) < ch->p.load_ms) {
        while (ch->next_send < ch->nsends && ch->sends[ch->next_send].at <= elapsed(ch))
            send_cmd(ch, ch->sends[ch->next_send++].cmd);
        rd_kafka_poll(ch->prod, 0);
        if (!ch->calm)
            faults_step(ch);
        workers_step(ch);
        pump(ch, 10);
        if (it_now_ms() >= next_note) {
            int und;
            int miss = missing_results(ch, &und);
            say(ch,
                "sent %d/%d, %" PRId64 " events, %d delivered commands without a result, "
                "kills %d",
                ch->next_send, ch->nsends, ch->events, miss, ch->kills);
            next_note += 10000;
        }
    }
    while (ch->next_send < ch->nsends) /* none should be left; bounded anyway */
        send_cmd(ch, ch->sends[ch->next_send++].cmd);

    /* settle: faults off, everything up, wait for results and commits */
    sim_faults(&ch->s, "{\"provider\": \"ALL\"}");
    if (ch->broker_is_down) {
        dk_control(ch, "broker up all");
        ch->broker_is_down = 0;
    }
    if (ch->s.redis.pid <= 0)
        redis_start(ch);
    reap_workers(ch);
    for (int i = 0; i < NWORKERS; i++)
        if (ch->s.w[i].pid <= 0)
            worker_start(ch, i);
    say(ch, "settling (at most %" PRId64 " s)", ch->p.settle_ms / 1000);
    int64_t settle_end = it_now_ms() + ch->p.settle_ms, next_check = 0;
    int64_t lag = -1;
    char lagdetail[512] = "";
    while (it_now_ms() < settle_end) {
        rd_kafka_poll(ch->prod, 0);
        workers_step(ch);
        pump(ch, 50);
        if (it_now_ms() < next_check)
            continue;
        next_check = it_now_ms() + 1000;
        int und, miss = missing_results(ch, &und);
        if (miss == 0 && rd_kafka_outq_len(ch->prod) == 0) {
            lag = group_lag(ch, lagdetail, sizeof(lagdetail));
            if (lag == 0)
                break;
        }
        if (it_now_ms() >= next_note) {
            say(ch, "settling: %" PRId64 " events, %d delivered commands without a result",
                ch->events, miss);
            next_note += 10000;
        }
    }
    pump(ch, 3000); /* a quiet period: what comes now comes late */
    workers_step(ch);
    if (ch->brk_lag) {
        for (int i = 0; i < NWORKERS; i++)
            it_stop(&ch->s.w[i], SIGTERM, 10000);
        produce_raw(ch, "PAYOFIN:1", "{\"command_id\": \"self-test-lag\"}", 31, -1);
        rd_kafka_flush(ch->prod, 10000);
        say(ch, "self-test lag: workers stopped, one more command produced");
    }
    lag = group_lag(ch, lagdetail, sizeof(lagdetail));
    say(ch, "settled: %" PRId64 " events, lag %" PRId64 "; stopping the workers", ch->events, lag);

    /* stop the workers (all at once), read the results topic to its end */
    for (int i = 0; i < NWORKERS; i++)
        if (ch->s.w[i].pid > 0)
            kill(ch->s.w[i].pid, SIGTERM);
    for (int i = 0; i < NWORKERS; i++)
        if (ch->s.w[i].pid > 0) {
            int rc = it_stop(&ch->s.w[i], 0, 10000);
            if (rc != 0) {
                ch->term_bad++;
                say(ch, "worker w%d.%d: exit %d on SIGTERM (log %s)", i, ch->gen[i], rc,
                    ch->s.w[i].log_path);
            }
        }
    rd_kafka_flush(ch->prod, 10000);
    int64_t want = topic_messages(ch, T_RESULTS, ch->nres_parts);
    for (int64_t end = it_now_ms() + (ch->quick ? 15000 : 30000);
         ch->events < want && it_now_ms() < end;)
        pump(ch, 200);
    if (want >= 0 && ch->events < want)
        say(ch, "read %" PRId64 " of the %" PRId64 " result events", ch->events, want);
    it_stop(&ch->tail, SIGTERM, 5000);

    int failed = run_checks(ch, lag, lagdetail);
    if (want >= 0 && ch->events < want)
        printf("WARNING: the checker read %" PRId64 " of the %" PRId64 " result events\n",
               ch->events, want);

    /* the stack down; the logs go unless a check failed */
    rd_kafka_destroy(ch->prod);
    rd_kafka_destroy_flags(ch->admin, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    ch->prod = ch->admin = NULL;
    stack_down(&ch->s);
    int keep = failed > 0 || getenv("PAYW_CHAOS_KEEP_LOGS") != NULL;
    if (keep)
        printf("logs kept: %s (every process's log: worker-w<slot>.<start>, redis/, devkafka, "
               "provider-sim)\n",
               ch->rundir);
    else
        nftw(ch->rundir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < ch->ncmds; i++)
        free(ch->cmds[i].body);
    free(ch->cmds);
    free(ch->sends);
    free(ch->inv);
    free(ch->ht);
    free(ch->lr.buf);
    for (int p = 0; p < MAX_PARTS; p++)
        free(ch->seen[p]);
    curl_global_cleanup();
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return failed > 0 ? 1 : 0;
}
