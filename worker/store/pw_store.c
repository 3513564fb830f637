/* pw_store.c -- the async store: its life (new, free), the connection
 * (connect, handshake, reconnect with backoff, heartbeat) and the public
 * operations, which pw_store_op.c sends and answers. The contract and the
 * state machine: pw_store.h; the store's other files: pw_store_int.h.
 *
 * DESIGN (implementation)
 * Runs on the owner's libevent loop only; no locks.
 *
 * Operations. Each accepted operation is a pw_store_op, linked in store->ops
 * until it is answered. It owns a copy of its script arguments (KEYS and
 * ARGV), so it can be sent again as EVAL when Redis answers NOSCRIPT, and a
 * libevent timer: the command timeout while it is on the connection, or a
 * zero-delay timer that delivers a deferred ERROR (store not ready), so that
 * no callback ever runs inside the call that started the operation.
 *
 * Op lifetime. hiredis keeps the op as the privdata of its reply callback and
 * always calls that callback exactly once: with the reply, or with NULL when the
 * context is freed. An op is therefore freed when it is answered AND hiredis no
 * longer holds it (op->in_redis == 0). Answering sets op->store to NULL, so a
 * late hiredis callback (after a timeout, a drop or pw_store_free) only frees it.
 *
 * Connections. store->ac is the current hiredis context or NULL. Whenever the
 * store lets go of one, it clears ac->data first, so hiredis's later callbacks
 * for it (handshake replies, onDisconnect) see NULL and do nothing. Two ways to
 * let go: pw_store_lost (hiredis is already tearing the context down: connect
 * failed, EOF, I/O error) and pw_store_drop (we close it: command timeout,
 * handshake failure or timeout, a read-only replica, pw_store_free). Both answer
 * every op sent on it with ERROR, report DOWN and schedule a reconnect.
 *
 * Re-entrancy. Every entry point from the loop (hiredis callbacks, timers)
 * brackets its work with pw_store_enter/pw_store_leave. A user callback may
 * call pw_store_free: while depth > 0 that only marks the store closing, and the
 * outermost pw_store_leave destroys it once the current work is done. Lists
 * being answered are first moved to a local chain, so callbacks that start new
 * operations never disturb an iteration.
 *
 * hiredis 0.14 quirks handled here: redisAsyncConnect resolves host names with
 * a blocking getaddrinfo; a refused connect to a local port may fail inside
 * redisAsyncConnect (ac->err set, the context must be freed by us); on a failed
 * asynchronous connect onConnect(REDIS_ERR) runs with the reason in ac->c.errstr
 * (ac->errstr is copied only afterwards), then the context frees itself without
 * onDisconnect; redisAsyncFree inside a reply callback is deferred until that
 * callback returns; there is no command timeout in the async API (ours is a
 * libevent timer per op).
 */
#include "pw_store_int.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "pw_alloc.h"

/*---- Outcomes -------------------------------------------------------------*/

const char *const pw_store_outcome_names[] = {
    [PW_STORE_ERROR] = "ERROR",
    [PW_STORE_CLAIMED] = "CLAIMED",
    [PW_STORE_DONE] = "DONE",
    [PW_STORE_BUSY] = "BUSY",
    [PW_STORE_UNKNOWN] = "UNKNOWN",
    [PW_STORE_CONFLICT] = "CONFLICT",
    [PW_STORE_RELEASED] = "RELEASED",
    [PW_STORE_OK] = "OK",
    [PW_STORE_LOST] = "LOST",
    [PW_STORE_FENCED] = "FENCED",
    [PW_STORE_NOT_UNKNOWN] = "NOT_UNKNOWN",
    [PW_STORE_NOT_FOUND] = "NOT_FOUND",
    [PW_STORE_ANSWERED] = "ANSWERED",
    [PW_STORE_EXPIRED] = "EXPIRED",
};

#define PW_STORE_NOUTCOMES (sizeof(pw_store_outcome_names) / sizeof(pw_store_outcome_names[0]))

const size_t pw_store_noutcomes = PW_STORE_NOUTCOMES;

const char *pw_store_outcome_name(pw_store_outcome outcome)
{
    if ((size_t)outcome >= PW_STORE_NOUTCOMES)
        return "ERROR";
    return pw_store_outcome_names[outcome];
}

void pw_store_options_init(pw_store_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->command_timeout_ms = 2000;
    opts->connect_timeout_ms = 2000;
    opts->backoff_min_ms = 100;
    opts->backoff_max_ms = 5000;
    opts->replicas = 0;
    opts->replicas_timeout_ms = 500;
    opts->retention_ms = 7 * PW_STORE_DAY_MS;
    opts->ping_interval_ms = 1000;
}

int pw_store_ready(const pw_store *store)
{
    return store != NULL && store->ready && !store->closing;
}

int pw_store_token(char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    if (buf == NULL || cap < 2 * sizeof(raw) + 1)
        return -1;
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++) {
        buf[2 * i] = hex[raw[i] >> 4];
        buf[2 * i + 1] = hex[raw[i] & 15];
    }
    buf[2 * sizeof(raw)] = '\0';
    return 0;
}

static void pw_store_destroy(pw_store *s);
static void pw_store_schedule(pw_store *s);

void pw_store_enter(pw_store *s)
{
    s->depth++;
}

/* After this the caller must not touch s: it may have been freed. */
void pw_store_leave(pw_store *s)
{
    s->depth--;
    if (s->depth == 0 && s->closing)
        pw_store_destroy(s);
}

void pw_store_timeval(struct timeval *tv, int64_t ms)
{
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static void pw_store_report(pw_store *s, pw_store_state state, const char *why)
{
    if (s->closing || s->reported == (int)state)
        return;
    s->reported = (int)state;
    if (s->state_cb != NULL)
        s->state_cb(s->state_ud, state, why);
}

/*---- Connection -----------------------------------------------------------*/

/* Common part of losing a connection (s->ac already cleared). */
static void pw_store_down(pw_store *s, const char *why)
{
    s->ready = 0;
    s->handshake_left = 0;
    evtimer_del(s->handshake_timer);
    event_del(s->ping_timer);
    snprintf(s->why, sizeof(s->why), "%s", why);
    pw_store_report(s, PW_STORE_DOWN, s->why);
    pw_store_op_fail_all(s, 1, s->why);
    pw_store_schedule(s);
}

/* hiredis is tearing ac down by itself. */
void pw_store_lost(pw_store *s, redisAsyncContext *ac, const char *why)
{
    if (s->ac != ac)
        return;
    char msg[PW_STORE_WHY_MAX];
    snprintf(msg, sizeof(msg), "redis %s: %.200s", s->addr.display,
             why != NULL && why[0] != '\0' ? why : "connection closed");
    ac->data = NULL;
    s->ac = NULL;
    pw_store_down(s, msg);
}

/* We close the current connection (why is the full message). */
void pw_store_drop(pw_store *s, const char *why)
{
    redisAsyncContext *ac = s->ac;
    if (ac == NULL)
        return;
    ac->data = NULL;
    s->ac = NULL;
    pw_store_down(s, why);
    redisAsyncFree(ac); /* deferred by hiredis when inside one of its callbacks */
}

static void pw_store_on_connect(const redisAsyncContext *cac, int status)
{
    pw_store *s = cac->data;
    if (s == NULL || s->ac != cac || status == REDIS_OK)
        return;
    pw_store_enter(s);
    pw_store_lost(s, s->ac, cac->c.errstr);
    pw_store_leave(s);
}

static void pw_store_on_disconnect(const redisAsyncContext *cac, int status)
{
    (void)status;
    pw_store *s = cac->data;
    if (s == NULL || s->ac != cac)
        return;
    pw_store_enter(s);
    pw_store_lost(s, s->ac, cac->errstr != NULL ? cac->errstr : cac->c.errstr);
    pw_store_leave(s);
}

/* Handshake steps: privdata is the step (-2 AUTH, -1 SELECT, 0.. a script). */
static void pw_store_on_handshake(redisAsyncContext *ac, void *r, void *privdata)
{
    pw_store *s = ac->data;
    redisReply *reply = r;
    if (s == NULL || s->ac != ac || reply == NULL)
        return; /* an abandoned connection, or one being torn down */
    int step = (int)(intptr_t)privdata;
    const char *what = step == -2 ? "AUTH" : step == -1 ? "SELECT" : "SCRIPT LOAD";
    char why[PW_STORE_WHY_MAX];
    pw_store_enter(s);
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "redis %s: %s failed: %.150s", s->addr.display, what,
                 reply->str != NULL ? reply->str : "");
        pw_store_drop(s, why);
    } else if (step >= 0 && (reply->type != REDIS_REPLY_STRING || reply->len != 40)) {
        snprintf(why, sizeof(why), "redis %s: SCRIPT LOAD %s: unexpected answer", s->addr.display,
                 pw_store_script_name[step]);
        pw_store_drop(s, why);
    } else {
        if (step >= 0)
            memcpy(s->sha[step], reply->str, 41);
        s->handshake_left--;
        if (s->handshake_left == 0) {
            evtimer_del(s->handshake_timer);
            s->ready = 1;
            s->attempt = 0;
            if (s->opts.ping_interval_ms > 0) {
                struct timeval tv;
                pw_store_timeval(&tv, s->opts.ping_interval_ms);
                event_add(s->ping_timer, &tv);
            }
            s->why[0] = '\0';
            snprintf(why, sizeof(why), "redis %s: connected", s->addr.display);
            pw_store_report(s, PW_STORE_UP, why);
        }
    }
    pw_store_leave(s);
}

static void pw_store_on_handshake_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_store *s = arg;
    char why[PW_STORE_WHY_MAX];
    snprintf(why, sizeof(why), "redis %s: no connection within %d ms", s->addr.display,
             s->opts.connect_timeout_ms);
    pw_store_enter(s);
    pw_store_drop(s, why);
    pw_store_leave(s);
}

static int pw_store_handshake_send(pw_store *s, int step, int argc, const char **argv,
                                   const size_t *lens)
{
    if (redisAsyncCommandArgv(s->ac, pw_store_on_handshake, (void *)(intptr_t)step, argc, argv,
                              lens) != REDIS_OK)
        return -1;
    s->handshake_left++;
    return 0;
}

/* One connection attempt (from the retry timer). */
static void pw_store_connect(pw_store *s)
{
    char why[PW_STORE_WHY_MAX];
    redisAsyncContext *ac = s->addr.is_unix ? redisAsyncConnectUnix(s->addr.path)
                                            : redisAsyncConnect(s->addr.host, s->addr.port);
    if (ac == NULL || ac->err) {
        snprintf(why, sizeof(why), "redis %s: %s", s->addr.display,
                 ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        pw_store_down(s, why);
        return;
    }
    if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
        redisAsyncFree(ac);
        snprintf(why, sizeof(why), "redis %s: cannot attach to the event loop", s->addr.display);
        pw_store_down(s, why);
        return;
    }
    ac->data = s;
    s->ac = ac;
    s->handshake_left = 0;
    redisAsyncSetConnectCallback(ac, pw_store_on_connect);
    redisAsyncSetDisconnectCallback(ac, pw_store_on_disconnect);
    if (!s->addr.is_unix)
        redisEnableKeepAlive(&ac->c);

    int rc = 0;
    if (s->addr.has_auth) { /* AUTH [user] password */
        const char *argv[3] = {"AUTH", s->addr.user, s->addr.pass};
        size_t lens[3] = {4, strlen(s->addr.user), strlen(s->addr.pass)};
        int argc = 3;
        if (s->addr.user[0] == '\0') {
            argv[1] = argv[2];
            lens[1] = lens[2];
            argc = 2;
        }
        rc |= pw_store_handshake_send(s, -2, argc, argv, lens);
    }
    if (s->addr.db != 0) {
        char db[24];
        snprintf(db, sizeof(db), "%ld", s->addr.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        rc |= pw_store_handshake_send(s, -1, 2, argv, lens);
    }
    for (int i = 0; i < PW_SCRIPT_COUNT; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", pw_store_lua[i]};
        size_t lens[3] = {6, 4, strlen(pw_store_lua[i])};
        rc |= pw_store_handshake_send(s, i, 3, argv, lens);
    }
    if (rc != 0) {
        snprintf(why, sizeof(why), "redis %s: cannot queue the handshake", s->addr.display);
        pw_store_drop(s, why);
        return;
    }
    struct timeval tv;
    pw_store_timeval(&tv, s->opts.connect_timeout_ms);
    evtimer_add(s->handshake_timer, &tv);
}

static void pw_store_on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_store *s = arg;
    pw_store_enter(s);
    if (!s->closing && s->ac == NULL)
        pw_store_connect(s);
    pw_store_leave(s);
}

static uint64_t pw_store_rand(pw_store *s)
{
    uint64_t x = s->rng; /* xorshift64: jitter only */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x;
}

/* Arms the next connection attempt: min * 2^attempt capped at max, jittered
 * uniformly in [d/2, d]. */
static void pw_store_schedule(pw_store *s)
{
    if (s->closing || s->ac != NULL || evtimer_pending(s->retry_timer, NULL))
        return;
    int64_t d = s->opts.backoff_min_ms;
    for (int i = 0; i < s->attempt && d < s->opts.backoff_max_ms; i++)
        d *= 2;
    if (d > s->opts.backoff_max_ms)
        d = s->opts.backoff_max_ms;
    d = d / 2 + (int64_t)(pw_store_rand(s) % (uint64_t)(d / 2 + 1));
    if (s->attempt < 64)
        s->attempt++;
    struct timeval tv;
    pw_store_timeval(&tv, d);
    evtimer_add(s->retry_timer, &tv);
}

static void pw_store_on_ping_reply(void *ud, const pw_store_reply *reply)
{
    (void)reply; /* an ERROR has already dropped the connection */
    pw_store *s = ud;
    s->ping_out = 0;
}

/* Heartbeat: an idle store still notices a hung or vanished Redis (and a
 * server-side idle timeout never closes the connection). */
static void pw_store_on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_store *s = arg;
    pw_store_enter(s);
    if (s->ready && !s->ping_out && !s->closing) {
        pw_store_args none = {0};
        if (pw_store_op_submit(s, PW_SCRIPT_PING, &none, pw_store_on_ping_reply, s) == 0)
            s->ping_out = 1;
    }
    pw_store_leave(s);
}

/*---- Public API -----------------------------------------------------------*/

pw_store *pw_store_new(struct event_base *base, const char *url, const pw_store_options *opts,
                       pw_store_state_cb state_cb, void *state_ud, char *errstr, size_t cap)
{
    if (base == NULL) {
        snprintf(errstr, cap, "redis store: no event base");
        return NULL;
    }
    pw_store *s = pw_alloc_calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(errstr, cap, "redis store: out of memory");
        return NULL;
    }
    if (pw_store_url_parse(url, &s->addr, errstr, cap) != 0) {
        free(s);
        return NULL;
    }
    if (opts != NULL)
        s->opts = *opts;
    else
        pw_store_options_init(&s->opts);
    const pw_store_options *o = &s->opts;
    if (o->command_timeout_ms <= 0 || o->connect_timeout_ms <= 0 || o->backoff_min_ms <= 0 ||
        o->backoff_max_ms < o->backoff_min_ms || o->replicas < 0 ||
        (o->replicas > 0 && o->replicas_timeout_ms <= 0) || o->retention_ms <= 0 ||
        o->ping_interval_ms < 0) {
        snprintf(errstr, cap,
                 "redis store: bad options (timeouts and backoff must be > 0, backoff_max >= "
                 "backoff_min, retention > 0)");
        free(s);
        return NULL;
    }
    s->base = base;
    s->state_cb = state_cb;
    s->state_ud = state_ud;
    s->reported = -1;
    snprintf(s->why, sizeof(s->why), "redis %s: connecting", s->addr.display);
    if (getrandom(&s->rng, sizeof(s->rng), GRND_NONBLOCK) != (ssize_t)sizeof(s->rng))
        s->rng = (uint64_t)pw_store_args_now_ms() ^ ((uint64_t)getpid() << 32);
    if (s->rng == 0)
        s->rng = 0x9e3779b97f4a7c15ULL;
    s->retry_timer = evtimer_new(base, pw_store_on_retry_timer, s);
    s->handshake_timer = evtimer_new(base, pw_store_on_handshake_timer, s);
    s->ping_timer = event_new(base, -1, EV_PERSIST, pw_store_on_ping_timer, s);
    if (s->retry_timer == NULL || s->handshake_timer == NULL || s->ping_timer == NULL) {
        if (s->retry_timer != NULL)
            event_free(s->retry_timer);
        if (s->handshake_timer != NULL)
            event_free(s->handshake_timer);
        if (s->ping_timer != NULL)
            event_free(s->ping_timer);
        free(s);
        snprintf(errstr, cap, "redis store: cannot create timers");
        return NULL;
    }
    struct timeval now = {0, 0};
    evtimer_add(s->retry_timer, &now); /* first attempt on the next loop iteration */
    return s;
}

static void pw_store_destroy(pw_store *s)
{
    redisAsyncContext *ac = s->ac;
    if (ac != NULL) {
        ac->data = NULL;
        s->ac = NULL;
    }
    s->ready = 0;
    event_free(s->retry_timer);
    event_free(s->handshake_timer);
    event_free(s->ping_timer);
    s->depth++; /* "store closed" callbacks cannot re-enter the destruction */
    pw_store_op_fail_all(s, 0, "store closed");
    if (ac != NULL)
        redisAsyncFree(ac); /* ops still held by hiredis are freed by their callbacks */
    free(s);
}

void pw_store_free(pw_store *store)
{
    if (store == NULL || store->closing)
        return;
    store->closing = 1;
    if (store->depth == 0)
        pw_store_destroy(store);
    /* else: the outermost pw_store_leave destroys it */
}

int pw_store_claim(pw_store *store, const pw_store_claim_args *args, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_args_build_claim(&a, args, store->opts.retention_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_op_submit(store, PW_SCRIPT_CLAIM, &a, cb, ud);
}

int pw_store_extend(pw_store *store, const char *key, const char *token, int64_t ttl_ms,
                    pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_args_build_extend(&a, key, token, ttl_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_op_submit(store, PW_SCRIPT_EXTEND, &a, cb, ud);
}

int pw_store_finish(pw_store *store, const pw_store_finish_args *args, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_args_build_finish(&a, args, store->opts.retention_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_op_submit(store, PW_SCRIPT_FINISH, &a, cb, ud);
}

int pw_store_record(pw_store *store, const pw_store_record_args *args, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_args_build_record(&a, args, store->opts.retention_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_op_submit(store, PW_SCRIPT_RECORD, &a, cb, ud);
}

int pw_store_resolve(pw_store *store, const pw_store_resolve_args *args, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_args_build_resolve(&a, args, store->opts.retention_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_op_submit(store, PW_SCRIPT_RESOLVE, &a, cb, ud);
}

int pw_store_lookup(pw_store *store, const char *key, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_args_build_lookup(&a, key) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_op_submit(store, PW_SCRIPT_LOOKUP, &a, cb, ud);
}
