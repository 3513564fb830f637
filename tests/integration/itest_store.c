/* itest_store.c -- the Redis idempotency store (worker/store/pw_store.c) against a
 * real redis-server.
 *
 * DESIGN
 * The group setup starts a private redis-server on a free 127.0.0.1 port (and
 * a unix socket in a temporary directory), without persistence; the group
 * teardown kills it, and the child is also killed by the kernel if this
 * process dies (PR_SET_PDEATHSIG). Each test opens its own store on a libevent
 * loop driven here, uses its own invoice keys, and reads Redis back through a
 * synchronous hiredis connection to check the exact fields written. Waits are
 * generous upper bounds (the loop stops as soon as the answer arrives); no test
 * asserts a tight timing. The last tests stop, freeze and kill the server and
 * start it again on the same port.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "pw_store.h"
#include "pw_store_int.h" /* the script table */

#define MS_DAY (24LL * 3600 * 1000)

/*---- Fixture: redis-server, the loop, a checking connection ---------------*/

static struct {
    pid_t pid;
    int port;
    char dir[64];
    char sock[128];
    char url[128];
    struct event_base *base;
    struct event *tick;
    redisContext *rc;
    void *kept[256]; /* allocations freed after each test */
    size_t nkept;
} g;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Memory that lives until the end of the current test. */
static void *keep(size_t n)
{
    assert_true(g.nkept < sizeof(g.kept) / sizeof(g.kept[0]));
    void *p = calloc(1, n + 1);
    assert_non_null(p);
    g.kept[g.nkept++] = p;
    return p;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Connects the checking connection; 0 or -1. */
static int rc_connect(void)
{
    if (g.rc != NULL)
        redisFree(g.rc);
    struct timeval tv = {2, 0};
    g.rc = redisConnectWithTimeout("127.0.0.1", g.port, tv);
    if (g.rc == NULL || g.rc->err)
        return -1;
    redisSetTimeout(g.rc, tv);
    redisReply *r = redisCommand(g.rc, "PING");
    int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
    if (r != NULL)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Starts redis-server on g.port and waits (up to 10 s) until it answers. */
static int redis_start(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", g.port);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", "--unixsocket", g.sock,
               "--unixsocketperm", "700", (char *)NULL);
        _exit(127);
    }
    g.pid = pid;
    int64_t deadline = mono_ms() + 10000;
    while (mono_ms() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            g.pid = 0;
            return -1;
        }
        if (rc_connect() == 0)
            return 0;
        sleep_ms(20);
    }
    return -1;
}

static void redis_kill(void)
{
    if (g.pid > 0) {
        kill(g.pid, SIGCONT);
        kill(g.pid, SIGKILL);
        waitpid(g.pid, NULL, 0);
        g.pid = 0;
    }
    if (g.rc != NULL) {
        redisFree(g.rc);
        g.rc = NULL;
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* hiredis 0.14 writes with write(2) */
    snprintf(g.dir, sizeof(g.dir), "/tmp/itest-store-XXXXXX");
    if (mkdtemp(g.dir) == NULL)
        return -1;
    snprintf(g.sock, sizeof(g.sock), "%s/redis.sock", g.dir);
    g.port = free_port();
    snprintf(g.url, sizeof(g.url), "redis://127.0.0.1:%d", g.port);
    if (redis_start() != 0) {
        fprintf(stderr, "itest_store: cannot start redis-server on port %d\n", g.port);
        return -1;
    }
    g.base = event_base_new();
    g.tick = event_new(g.base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 5000};
    event_add(g.tick, &tv);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    redis_kill();
    if (g.tick != NULL)
        event_free(g.tick);
    if (g.base != NULL)
        event_base_free(g.base);
    unlink(g.sock);
    rmdir(g.dir);
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g.nkept; i++)
        free(g.kept[i]);
    g.nkept = 0;
    return 0;
}

/* Runs the loop until *counter >= target or timeout_ms passed. */
static void loop_until(const int *counter, int target, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    while (*counter < target && mono_ms() < deadline)
        event_base_loop(g.base, EVLOOP_ONCE);
}

static void loop_for(int ms)
{
    int never = 0;
    loop_until(&never, 1, ms);
}

/*---- Checking Redis -------------------------------------------------------*/

static redisReply *rcall(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(g.rc, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    return r;
}

/* A field of payw:{key}:state (a kept copy), or NULL when absent. */
static const char *hget(const char *key, const char *field, size_t *len)
{
    char name[600];
    snprintf(name, sizeof(name), "payw:{%s}:state", key);
    redisReply *r = rcall("HGET %s %s", name, field);
    char *out = NULL;
    if (r->type == REDIS_REPLY_STRING) {
        out = keep(r->len);
        memcpy(out, r->str, r->len);
        if (len != NULL)
            *len = r->len;
    }
    freeReplyObject(r);
    return out;
}

static long long rint_cmd(const char *fmt, const char *arg)
{
    redisReply *r = rcall(fmt, arg);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static long long state_pttl(const char *key)
{
    char name[600];
    snprintf(name, sizeof(name), "payw:{%s}:state", key);
    return rint_cmd("PTTL %s", name);
}

static long long lock_pttl(const char *key)
{
    char name[600];
    snprintf(name, sizeof(name), "payw:{%s}:lock", key);
    return rint_cmd("PTTL %s", name);
}

/* The lock's token (kept copy) or NULL. */
static const char *lock_value(const char *key)
{
    char name[600];
    snprintf(name, sizeof(name), "payw:{%s}:lock", key);
    redisReply *r = rcall("GET %s", name);
    char *out = NULL;
    if (r->type == REDIS_REPLY_STRING) {
        out = keep(r->len);
        memcpy(out, r->str, r->len);
    }
    freeReplyObject(r);
    return out;
}

/* The whole state hash as sorted "name=value\n" text, to compare snapshots. */
static const char *state_dump(const char *key, size_t *len)
{
    char name[600];
    snprintf(name, sizeof(name), "payw:{%s}:state", key);
    redisReply *r = rcall("HGETALL %s", name);
    size_t total = 0;
    for (size_t i = 0; i < r->elements; i++)
        total += r->element[i]->len + 1;
    char *out = keep(total);
    size_t n = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) { /* field order is stable for one hash */
        memcpy(out + n, r->element[i]->str, r->element[i]->len);
        n += r->element[i]->len;
        out[n++] = '=';
        memcpy(out + n, r->element[i + 1]->str, r->element[i + 1]->len);
        n += r->element[i + 1]->len;
        out[n++] = '\n';
    }
    freeReplyObject(r);
    *len = n;
    return out;
}

#define assert_field(key, field, want) assert_string_equal(hget((key), (field), NULL), (want))

/*---- Driving the store ----------------------------------------------------*/

typedef struct watch {
    int ups, downs;
    char why[512];
} watch;

static void on_state(void *ud, pw_store_state state, const char *why)
{
    watch *w = ud;
    if (state == PW_STORE_UP)
        w->ups++;
    else
        w->downs++;
    snprintf(w->why, sizeof(w->why), "%s", why);
}

/* A copy of one reply. */
typedef struct got {
    int n;
    pw_store_outcome outcome;
    int64_t fence, busy_ms;
    unsigned char *result;
    size_t result_len;
    char command_id[128], status[32], error[512];
    size_t nfields;
    int has_result_field;
    int64_t lock_pttl, state_pttl;
} got;

static void on_got(void *ud, const pw_store_reply *r)
{
    got *x = ud;
    x->n++;
    x->outcome = r->outcome;
    x->fence = r->fence;
    x->busy_ms = r->busy_ms;
    x->result = keep(r->result_len);
    memcpy(x->result, r->result, r->result_len);
    assert_int_equal(r->result[r->result_len], '\0');
    x->result_len = r->result_len;
    snprintf(x->command_id, sizeof(x->command_id), "%s", r->command_id);
    snprintf(x->status, sizeof(x->status), "%s", r->status);
    snprintf(x->error, sizeof(x->error), "%s", r->error);
    x->nfields = r->nfields;
    for (size_t i = 0; i < r->nfields; i++) {
        if (strcmp(r->fields[i].name, "result") == 0)
            x->has_result_field = 1;
    }
    x->lock_pttl = r->lock_pttl_ms;
    x->state_pttl = r->state_pttl_ms;
}

static pw_store_options test_opts(void)
{
    pw_store_options o;
    pw_store_options_init(&o);
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    return o;
}

static pw_store *open_store(const char *url, const pw_store_options *opts, watch *w)
{
    char err[512] = "";
    pw_store *s = pw_store_new(g.base, url, opts, on_state, w, err, sizeof(err));
    if (s == NULL)
        fail_msg("pw_store_new(%s): %s", url, err);
    assert_int_equal(pw_store_ready(s), 0);
    loop_until(&w->ups, 1, 10000);
    if (w->ups != 1)
        fail_msg("store %s never came up: %s", url, w->why);
    assert_int_equal(pw_store_ready(s), 1);
    return s;
}

/* Waits for the single answer of an accepted operation (never synchronous). */
static void await(got *x, int rc)
{
    assert_int_equal(rc, 0);
    assert_int_equal(x->n, 0);
    loop_until(&x->n, 1, 10000);
    assert_int_equal(x->n, 1);
}

/* Which command each claim token was used by: finish records that
 * command's answer (test plumbing: the tests name tokens, not commands). */
static struct {
    char token[64], cmd[64];
} claims[128];
static int nclaims;

static const char *claim_cmd(const char *token)
{
    for (int i = nclaims - 1; i >= 0; i--)
        if (strcmp(claims[i].token, token) == 0)
            return claims[i].cmd;
    return "cmd-unclaimed";
}

static got claim_t(pw_store *s, const char *key, const char *token, int64_t ttl_ms, const char *cmd,
                   const char *digest, int64_t now_ms)
{
    got x = {0};
    if (nclaims < 128) {
        snprintf(claims[nclaims].token, sizeof(claims[0].token), "%s", token);
        snprintf(claims[nclaims].cmd, sizeof(claims[0].cmd), "%s", cmd);
        nclaims++;
    }
    pw_store_claim_args a = {.key = key,
                             .token = token,
                             .ttl_ms = ttl_ms,
                             .command_id = cmd,
                             .digest = digest,
                             .worker = "w-1",
                             .now_ms = now_ms};
    await(&x, pw_store_claim(s, &a, on_got, &x));
    return x;
}

static got claim(pw_store *s, const char *key, const char *token, const char *cmd,
                 const char *digest)
{
    return claim_t(s, key, token, 30000, cmd, digest, 0);
}

static got finish_r(pw_store *s, const char *key, int64_t fence, const char *token,
                    pw_store_outcome status, const void *result, size_t len, const char *reason)
{
    got x = {0};
    pw_store_finish_args a = {.key = key,
                              .fence = fence,
                              .token = token,
                              .status = status,
                              .result = result,
                              .result_len = len,
                              .reason = reason,
                              .command_id = claim_cmd(token),
                              .answer = status == PW_STORE_DONE      ? "SUCCEEDED"
                                        : status == PW_STORE_UNKNOWN ? "UNKNOWN"
                                                                     : "DECLINED",
                              .digest = "dig"};
    await(&x, pw_store_finish(s, &a, on_got, &x));
    return x;
}

static got finish(pw_store *s, const char *key, int64_t fence, const char *token,
                  pw_store_outcome status, const char *result)
{
    return finish_r(s, key, fence, token, status, result, strlen(result), NULL);
}

static got resolve(pw_store *s, const char *key, int paid, int64_t now_ms)
{
    got x = {0};
    pw_store_resolve_args a = {.key = key,
                               .paid = paid,
                               .reason = "checked with bank",
                               .operator_name = "alice",
                               .now_ms = now_ms};
    await(&x, pw_store_resolve(s, &a, on_got, &x));
    return x;
}

#define assert_outcome(x, want)                                                             \
    do {                                                                                    \
        if ((x).outcome != (want))                                                          \
            fail_msg("outcome %s, want %s (error: %s)", pw_store_outcome_name((x).outcome), \
                     pw_store_outcome_name(want), (x).error);                               \
    } while (0)

/*---- State machine --------------------------------------------------------*/

static void test_claim_busy_finish_done(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    const char *key = "PAYOFIN:615209";
    int64_t now = wall_ms();

    got c = claim_t(s, key, "tok-a", 30000, "cmd-1", "dig-1", now);
    assert_outcome(c, PW_STORE_CLAIMED);
    assert_int_equal(c.fence, 1);
    /* exact fields, with the hash tag in both key names */
    assert_field(key, "status", "INFLIGHT");
    assert_field(key, "command_id", "cmd-1");
    assert_field(key, "digest", "dig-1");
    assert_field(key, "fence", "1");
    assert_field(key, "fence_seq", "1");
    assert_field(key, "worker", "w-1");
    char nows[32];
    snprintf(nows, sizeof(nows), "%lld", (long long)now);
    assert_field(key, "started_at", nows);
    assert_null(hget(key, "result", NULL));
    assert_string_equal(lock_value(key), "tok-a");
    assert_true(lock_pttl(key) > 0 && lock_pttl(key) <= 30000);
    assert_true(state_pttl(key) > 6 * MS_DAY); /* the ceiling: max(ttl, retention) */
    redisReply *r = rcall("EXISTS payw:{PAYOFIN:615209}:state payw:{PAYOFIN:615209}:lock");
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);

    got b = claim(s, key, "tok-b", "cmd-1", "dig-1");
    assert_outcome(b, PW_STORE_BUSY);
    assert_true(b.busy_ms > 0 && b.busy_ms <= 30000);
    assert_string_equal(lock_value(key), "tok-a");

    /* a retried claim (same token, same command: its reply was lost) */
    got again = claim(s, key, "tok-a", "cmd-1", "dig-1");
    assert_outcome(again, PW_STORE_CLAIMED);
    assert_int_equal(again.fence, 1);
    assert_field(key, "fence_seq", "1");

    /* binary result bytes with NULs and high bytes */
    static const unsigned char bytes[] = {0x00, 0x00, 0x00, 0x00, 0x02, 'o', 'k',
                                          0x00, 0xff, 0x80, '\n', 0x00, 'z'};
    got f = finish_r(s, key, 1, "tok-a", PW_STORE_DONE, bytes, sizeof(bytes), NULL);
    assert_outcome(f, PW_STORE_OK);
    assert_field(key, "status", "DONE");
    size_t len = 0;
    const char *stored = hget(key, "result", &len);
    assert_int_equal(len, sizeof(bytes));
    assert_memory_equal(stored, bytes, sizeof(bytes));
    assert_non_null(hget(key, "finished_at", NULL));
    assert_null(lock_value(key));
    long long ttl = state_pttl(key); /* the default retention, 7 days */
    assert_true(ttl > 7 * MS_DAY - 600000 && ttl <= 7 * MS_DAY);

    got d = claim(s, key, "tok-c", "cmd-1", "dig-1"); /* its own answer */
    assert_outcome(d, PW_STORE_ANSWERED);
    assert_string_equal(d.status, "SUCCEEDED");
    assert_int_equal(d.result_len, sizeof(bytes));
    assert_memory_equal(d.result, bytes, sizeof(bytes));
    assert_string_equal(d.command_id, "cmd-1");
    assert_int_equal(d.fence, 1);

    /* another command, same request: DONE with the original command id (the
     * caller answers DUPLICATE) */
    got dup = claim(s, key, "tok-d", "cmd-2", "dig-1");
    assert_outcome(dup, PW_STORE_DONE);
    assert_string_equal(dup.command_id, "cmd-1");
    assert_int_equal(dup.result_len, sizeof(bytes));

    got conf = claim(s, key, "tok-e", "cmd-3", "dig-OTHER");
    assert_outcome(conf, PW_STORE_CONFLICT);
    assert_string_equal(conf.command_id, "cmd-1");
    assert_string_equal(conf.status, "DONE");

    assert_null(lock_value(key)); /* none of these took the lock */
    assert_field(key, "status", "DONE");
    assert_field(key, "fence_seq", "1");
    pw_store_free(s);
}

static void test_inflight_expiry_is_unknown(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    const char *key = "SIPAY:90XX46-expire";

    got c = claim_t(s, key, "tok-a", 50, "cmd-1", "dig-1", 0);
    assert_outcome(c, PW_STORE_CLAIMED);
    sleep_ms(200); /* the worker "dies": its lock expires */
    assert_null(lock_value(key));
    assert_field(key, "status", "INFLIGHT");

    int64_t now = wall_ms();
    got u = claim_t(s, key, "tok-b", 30000, "cmd-1", "dig-1", now);
    assert_outcome(u, PW_STORE_UNKNOWN);
    assert_string_equal(u.command_id, "cmd-1");
    assert_int_equal(u.result_len, 0);
    assert_int_equal(u.fence, 1);
    assert_field(key, "status", "UNKNOWN");
    assert_field(key, "unknown_reason", "the claim expired while the provider was being called");
    char nows[32];
    snprintf(nows, sizeof(nows), "%lld", (long long)now);
    assert_field(key, "unknown_at", nows);
    assert_null(lock_value(key));          /* the provider is not to be called: no lock */
    assert_int_equal(state_pttl(key), -1); /* UNKNOWN never expires */

    got u2 = claim(s, key, "tok-c", "cmd-2", "dig-1");
    assert_outcome(u2, PW_STORE_UNKNOWN);
    assert_string_equal(u2.command_id, "cmd-1");
    got cf = claim(s, key, "tok-d", "cmd-3", "dig-2"); /* blocked, whatever its parameters */
    assert_outcome(cf, PW_STORE_UNKNOWN);
    assert_string_equal(cf.status, "UNKNOWN");
    assert_field(key, "fence_seq", "1");
    assert_null(lock_value(key));
    pw_store_free(s);
}

static void test_released_replay_and_stale_fence(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    const char *key = "ISBANK:ref-77";

    got c = claim(s, key, "tok-a", "cmd-1", "dig-1");
    assert_outcome(c, PW_STORE_CLAIMED);
    assert_int_equal(c.fence, 1);
    got f = finish(s, key, 1, "tok-a", PW_STORE_RELEASED, "declined-event");
    assert_outcome(f, PW_STORE_OK);
    assert_field(key, "status", "RELEASED");
    assert_field(key, "result", "declined-event");
    assert_null(lock_value(key));

    /* the same command again: the same answer, no new attempt, whatever
     * its parameters say now */
    got rep = claim(s, key, "tok-b", "cmd-1", "dig-1");
    assert_outcome(rep, PW_STORE_ANSWERED);
    assert_string_equal(rep.status, "DECLINED");
    assert_int_equal(rep.result_len, strlen("declined-event"));
    assert_memory_equal(rep.result, "declined-event", rep.result_len);
    assert_string_equal(rep.command_id, "cmd-1");
    assert_null(lock_value(key));
    got rc = claim(s, key, "tok-b", "cmd-1", "dig-CHANGED");
    assert_outcome(rc, PW_STORE_ANSWERED);

    /* another command may try to pay after a decline */
    got c2 = claim(s, key, "tok-c", "cmd-2", "dig-2");
    assert_outcome(c2, PW_STORE_CLAIMED);
    assert_int_equal(c2.fence, 2);
    assert_field(key, "status", "INFLIGHT");
    assert_field(key, "command_id", "cmd-2");
    assert_field(key, "digest", "dig-2");
    assert_field(key, "fence", "2");
    assert_field(key, "fence_seq", "2");
    assert_null(hget(key, "result", NULL)); /* the previous attempt's result is gone */
    assert_string_equal(lock_value(key), "tok-c");

    /* the first attempt comes back late with its fence: nothing is written */
    size_t before_len, after_len;
    const char *before = state_dump(key, &before_len);
    got st = finish(s, key, 1, "tok-a", PW_STORE_DONE, "late-success");
    assert_outcome(st, PW_STORE_FENCED);
    assert_int_equal(st.fence, 2);
    const char *after = state_dump(key, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    assert_string_equal(lock_value(key), "tok-c");

    /* the owner finishes */
    got f2 = finish(s, key, 2, "tok-c", PW_STORE_DONE, "paid-event");
    assert_outcome(f2, PW_STORE_OK);
    assert_field(key, "status", "DONE");
    assert_null(lock_value(key));
    got d = claim(s, key, "tok-d", "cmd-9", "dig-2");
    assert_outcome(d, PW_STORE_DONE);
    assert_string_equal(d.command_id, "cmd-2");
    got own = claim(s, key, "tok-e", "cmd-1", "dig-1"); /* declined stays declined */
    assert_outcome(own, PW_STORE_ANSWERED);
    assert_string_equal(own.status, "DECLINED");
    pw_store_free(s);
}

static void test_extend(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    const char *key = "PAYONE:inv-5";
    got c = claim_t(s, key, "tok-a", 20000, "cmd-1", "dig-1", 0);
    assert_outcome(c, PW_STORE_CLAIMED);

    got x = {0};
    await(&x, pw_store_extend(s, key, "tok-WRONG", 600000, on_got, &x));
    assert_outcome(x, PW_STORE_LOST);
    assert_true(lock_pttl(key) <= 20000);
    assert_string_equal(lock_value(key), "tok-a");

    got y = {0};
    await(&y, pw_store_extend(s, key, "tok-a", 600000, on_got, &y));
    assert_outcome(y, PW_STORE_OK);
    assert_true(lock_pttl(key) > 20000);

    got z = {0};
    await(&z, pw_store_extend(s, "PAYONE:no-such", "tok-a", 1000, on_got, &z));
    assert_outcome(z, PW_STORE_LOST);

    /* invalid arguments: -1 and the callback is never called */
    got bad = {0};
    assert_int_equal(pw_store_extend(s, "", "tok-a", 1000, on_got, &bad), -1);
    assert_int_equal(pw_store_extend(s, key, "tok-a", 0, on_got, &bad), -1);
    pw_store_finish_args fa = {.key = key, .fence = 1, .token = "tok-a", .status = PW_STORE_BUSY};
    assert_int_equal(pw_store_finish(s, &fa, on_got, &bad), -1);
    pw_store_claim_args ca = {.key = key, .token = "t", .ttl_ms = 10, .command_id = "c"};
    assert_int_equal(pw_store_claim(s, &ca, on_got, &bad), -1); /* no digest */
    loop_for(50);
    assert_int_equal(bad.n, 0);
    pw_store_free(s);
}

static void test_resolve(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);

    /* INFLIGHT whose worker died, resolved as paid */
    const char *k1 = "PAYOFIN:res-1";
    got c = claim_t(s, k1, "tok-a", 50, "cmd-1", "dig-1", 0);
    assert_outcome(c, PW_STORE_CLAIMED);
    sleep_ms(200);
    int64_t now = wall_ms();
    got r1 = resolve(s, k1, 1, now);
    assert_outcome(r1, PW_STORE_OK);
    assert_string_equal(r1.status, "DONE");
    assert_int_equal(r1.fence, 2);
    assert_field(k1, "status", "DONE");
    assert_field(k1, "resolved_by", "alice");
    assert_field(k1, "resolved_reason", "checked with bank");
    assert_field(k1, "resolved_paid", "1");
    char nows[32];
    snprintf(nows, sizeof(nows), "%lld", (long long)now);
    assert_field(k1, "resolved_at", nows);
    assert_field(k1, "fence", "2");
    got d = claim(s, k1, "tok-b", "cmd-9", "dig-1");
    assert_outcome(d, PW_STORE_DONE);
    assert_string_equal(d.command_id, "cmd-1");
    /* the dead worker's fence no longer writes */
    got late = finish(s, k1, 1, "tok-a", PW_STORE_RELEASED, "x");
    assert_outcome(late, PW_STORE_FENCED);
    assert_field(k1, "status", "DONE");
    /* not UNKNOWN any more */
    got again = resolve(s, k1, 0, 0);
    assert_outcome(again, PW_STORE_NOT_UNKNOWN);
    assert_string_equal(again.status, "DONE");

    /* UNKNOWN recorded by the worker, resolved as unpaid */
    const char *k2 = "SIPAY:res-2";
    c = claim(s, k2, "tok-a", "cmd-1", "dig-1");
    assert_outcome(c, PW_STORE_CLAIMED);
    got busy_resolve = resolve(s, k2, 0, 0); /* in flight with a live lock: refused */
    assert_outcome(busy_resolve, PW_STORE_NOT_UNKNOWN);
    assert_string_equal(busy_resolve.status, "INFLIGHT");
    got fu =
        finish_r(s, k2, 1, "tok-a", PW_STORE_UNKNOWN, "unknown-event", 13, "timeout after sending");
    assert_outcome(fu, PW_STORE_OK);
    assert_field(k2, "status", "UNKNOWN");
    assert_field(k2, "unknown_reason", "timeout after sending");
    assert_int_equal(state_pttl(k2), -1); /* blocks the key until resolved */
    got u = claim(s, k2, "tok-b", "cmd-1", "dig-1");
    assert_outcome(u, PW_STORE_ANSWERED);
    assert_string_equal(u.status, "UNKNOWN");
    assert_int_equal(u.result_len, 13);
    assert_memory_equal(u.result, "unknown-event", 13);

    /* the synchronous helper (payctl) */
    char err[256] = "";
    pw_store_sync *sync = pw_store_sync_new(g.url, 2000, err, sizeof(err));
    if (sync == NULL)
        fail_msg("pw_store_sync_new: %s", err);
    pw_store_resolve_args ra = {
        .key = k2, .paid = 0, .reason = "bank says unpaid", .operator_name = "bob"};
    pw_store_reply *sr = pw_store_sync_resolve(sync, &ra);
    assert_non_null(sr);
    assert_int_equal(sr->outcome, PW_STORE_OK);
    assert_string_equal(sr->status, "RELEASED");
    assert_int_equal(sr->fence, 2);
    pw_store_reply_free(sr);
    assert_field(k2, "status", "RELEASED");
    assert_field(k2, "resolved_by", "bob");
    assert_field(k2, "resolved_paid", "0");
    assert_null(hget(k2, "result", NULL));
    assert_field(k2, "result_before_resolve", "unknown-event");

    pw_store_reply *lk = pw_store_sync_lookup(sync, k2);
    assert_non_null(lk);
    assert_int_equal(lk->outcome, PW_STORE_OK);
    assert_string_equal(lk->status, "RELEASED");
    assert_string_equal(lk->command_id, "cmd-1");
    assert_int_equal(lk->fence, 2);
    assert_int_equal(lk->lock_pttl_ms, -2);
    assert_true(lk->state_pttl_ms > 6 * MS_DAY);
    int seen = 0;
    for (size_t i = 0; i < lk->nfields; i++) {
        if (strcmp(lk->fields[i].name, "resolved_reason") == 0) {
            assert_int_equal(lk->fields[i].len, strlen("bank says unpaid"));
            assert_memory_equal(lk->fields[i].value, "bank says unpaid", lk->fields[i].len);
            seen = 1;
        }
    }
    assert_true(seen);
    pw_store_reply_free(lk);
    pw_store_reply *nf = pw_store_sync_resolve(
        sync, &(pw_store_resolve_args){.key = "SIPAY:none", .reason = "r", .operator_name = "o"});
    assert_int_equal(nf->outcome, PW_STORE_NOT_FOUND);
    pw_store_reply_free(nf);
    pw_store_sync_free(sync);

    /* released by the operator: the command whose call was unknown now has
     * its answer (FAILED: not paid, no event yet), another command claims
     * afresh with a fence past the operator's */
    got rel = claim(s, k2, "tok-c", "cmd-1", "dig-1");
    assert_outcome(rel, PW_STORE_ANSWERED);
    assert_string_equal(rel.status, "FAILED");
    assert_int_equal(rel.result_len, 0);
    assert_int_equal(rel.fence, 2);
    got fresh = claim(s, k2, "tok-d", "cmd-2", "dig-1");
    assert_outcome(fresh, PW_STORE_CLAIMED);
    assert_int_equal(fresh.fence, 3);
    assert_null(hget(k2, "resolved_by", NULL));
    pw_store_free(s);
}

static void test_lookup_and_large_result(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    o.retention_ms = 3600 * 1000; /* a store-wide retention */
    pw_store *s = open_store(g.url, &o, &w);
    const char *key = "PAYWALL:pay-1";

    got none = {0};
    await(&none, pw_store_lookup(s, key, on_got, &none));
    assert_outcome(none, PW_STORE_NOT_FOUND);
    assert_int_equal(none.nfields, 0);
    assert_int_equal(none.lock_pttl, -2);
    assert_int_equal(none.state_pttl, -2);

    got c = claim(s, key, "tok-a", "cmd-1", "dig-1");
    assert_outcome(c, PW_STORE_CLAIMED);
    long long ceiling = state_pttl(key);
    assert_true(ceiling > 3000 * 1000 && ceiling <= 3600 * 1000);
    got in = {0};
    await(&in, pw_store_lookup(s, key, on_got, &in));
    assert_outcome(in, PW_STORE_OK);
    assert_string_equal(in.status, "INFLIGHT");
    assert_true(in.lock_pttl > 0 && in.lock_pttl <= 30000);
    /* status command_id fence fence_seq worker started_at digest */
    assert_int_equal(in.nfields, 7);

    size_t big = 200 * 1024;
    unsigned char *bytes = keep(big);
    for (size_t i = 0; i < big; i++)
        bytes[i] = (unsigned char)(i * 7 + (i >> 8));
    got f = finish_r(s, key, 1, "tok-a", PW_STORE_DONE, bytes, big, NULL);
    assert_outcome(f, PW_STORE_OK);
    long long ttl = state_pttl(key);
    assert_true(ttl > 3000 * 1000 && ttl <= 3600 * 1000);

    got after = {0};
    await(&after, pw_store_lookup(s, key, on_got, &after));
    assert_outcome(after, PW_STORE_OK);
    assert_string_equal(after.status, "DONE");
    assert_true(after.has_result_field);
    assert_int_equal(after.result_len, big);
    assert_memory_equal(after.result, bytes, big);
    assert_int_equal(after.lock_pttl, -2);

    got d = claim(s, key, "tok-b", "cmd-1", "dig-1");
    assert_outcome(d, PW_STORE_ANSWERED);
    assert_int_equal(d.result_len, big);
    assert_memory_equal(d.result, bytes, big);
    pw_store_free(s);
}

/*---- Scripts, replicas, URLs ----------------------------------------------*/

static void test_noscript_falls_back_to_eval(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    freeReplyObject(rcall("SCRIPT FLUSH"));
    freeReplyObject(rcall("CONFIG RESETSTAT"));
    got c = claim(s, "PAYOFIN:noscript", "tok-a", "cmd-1", "dig-1");
    assert_outcome(c, PW_STORE_CLAIMED);
    assert_int_equal(c.fence, 1);
    got f = finish(s, "PAYOFIN:noscript", 1, "tok-a", PW_STORE_DONE, "r");
    assert_outcome(f, PW_STORE_OK);
    assert_int_equal(w.downs, 0);
    /* both went EVALSHA (NOSCRIPT) then EVAL */
    redisReply *info = rcall("INFO commandstats");
    const char *eval = strstr(info->str, "cmdstat_eval:calls=");
    const char *evalsha = strstr(info->str, "cmdstat_evalsha:calls=");
    assert_non_null(eval);
    assert_non_null(evalsha);
    assert_int_equal(strtol(eval + strlen("cmdstat_eval:calls="), NULL, 10), 2);
    assert_true(strstr(evalsha, "failed_calls=2") != NULL ||
                strstr(evalsha, "rejected_calls=2") != NULL);
    freeReplyObject(info);
    /* SCRIPT LOAD again happens on the next connection; EVAL cached them too */
    got d = claim(s, "PAYOFIN:noscript", "tok-b", "cmd-1", "dig-1");
    assert_outcome(d, PW_STORE_ANSWERED);
    pw_store_free(s);
}

static void test_wait_replicas(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    o.replicas = 1; /* there are none: WAIT answers 0 */
    o.replicas_timeout_ms = 100;
    pw_store *s = open_store(g.url, &o, &w);
    const char *key = "ISBANK:wait-1";
    got c = claim(s, key, "tok-a", "cmd-1", "dig-1");
    assert_outcome(c, PW_STORE_ERROR);
    assert_non_null(strstr(c.error, "0 of 1 replicas"));
    assert_int_equal(c.fence, 1);
    pw_store_free(s);

    /* the claim was applied; retrying it with the same token gets it back */
    watch w2 = {0};
    pw_store_options o2 = test_opts();
    pw_store *s2 = open_store(g.url, &o2, &w2);
    got again = claim(s2, key, "tok-a", "cmd-1", "dig-1");
    assert_outcome(again, PW_STORE_CLAIMED);
    assert_int_equal(again.fence, 1);
    got other = claim(s2, key, "tok-b", "cmd-1", "dig-1");
    assert_outcome(other, PW_STORE_BUSY);
    pw_store_free(s2);
}

static void test_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "http://127.0.0.1:6379",
        "redis://",
        "redis://h:0",
        "redis://h:70000",
        "redis://h:12x",
        "redis://h/db",
        "redis://user@h",
        "rediss://h:6379",
        "unix://relative",
        "unix:///p?x=1",
        "redis://[::1",
        "redis://:%zz@h",
    };
    char err[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        pw_store *s = pw_store_new(g.base, bad[i], NULL, NULL, NULL, err, sizeof(err));
        if (s != NULL)
            fail_msg("URL \"%s\" accepted", bad[i]);
        assert_true(err[0] != '\0');
    }
    pw_store_options o = test_opts();
    o.backoff_max_ms = 1; /* < min */
    assert_null(pw_store_new(g.base, g.url, &o, NULL, NULL, err, sizeof(err)));

    /* unix socket */
    char url[256];
    snprintf(url, sizeof(url), "unix://%s", g.sock);
    watch w = {0};
    o = test_opts();
    pw_store *s = open_store(url, &o, &w);
    got c = claim(s, "PAYONE:unix", "tok-a", "cmd-1", "dig-1");
    assert_outcome(c, PW_STORE_CLAIMED);
    pw_store_free(s);

    /* database number */
    /* 127.0.0.1, not localhost: tests touch that address only, and localhost
     * may resolve to ::1 first (or not at all in a minimal root) */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", g.port);
    watch w3 = {0};
    s = open_store(url, &o, &w3);
    c = claim(s, "PAYONE:db3", "tok-a", "cmd-1", "dig-1");
    assert_outcome(c, PW_STORE_CLAIMED);
    pw_store_free(s);
    assert_null(hget("PAYONE:db3", "status", NULL));
    freeReplyObject(rcall("SELECT 3"));
    assert_field("PAYONE:db3", "status", "INFLIGHT");
    freeReplyObject(rcall("SELECT 0"));

    /* password: wrong one -> DOWN with the reason, right one -> UP */
    freeReplyObject(rcall("CONFIG SET requirepass %s", "s3cr/t@x"));
    snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d", g.port);
    watch wb = {0};
    s = pw_store_new(g.base, url, &o, on_state, &wb, err, sizeof(err));
    assert_non_null(s);
    loop_until(&wb.downs, 1, 10000);
    assert_int_equal(wb.downs, 1);
    assert_int_equal(wb.ups, 0);
    assert_non_null(strstr(wb.why, "AUTH failed"));
    assert_null(strstr(wb.why, "wrong")); /* the password is never in a message */
    got un = {0};
    await(&un, pw_store_lookup(s, "X:1", on_got, &un));
    assert_outcome(un, PW_STORE_ERROR);
    assert_non_null(strstr(un.error, "redis unavailable"));
    pw_store_free(s);
    snprintf(url, sizeof(url), "redis://default:s3cr%%2Ft%%40x@127.0.0.1:%d", g.port);
    watch wg = {0};
    s = open_store(url, &o, &wg);
    c = claim(s, "PAYONE:auth", "tok-a", "cmd-1", "dig-1");
    assert_outcome(c, PW_STORE_CLAIMED);
    pw_store_free(s);
    freeReplyObject(rcall("CONFIG SET requirepass %s", ""));

    char token[33], token2[33];
    assert_int_equal(pw_store_token(token, sizeof(token)), 0);
    assert_int_equal(pw_store_token(token2, sizeof(token2)), 0);
    assert_int_equal(strlen(token), 32);
    assert_string_not_equal(token, token2);
    assert_int_equal(pw_store_token(token, 32), -1);
}

/*---- Availability and lifetime --------------------------------------------*/

static void test_unreachable(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", free_port());
    watch w = {0};
    char err[256];
    pw_store_options o = test_opts();
    pw_store *s = pw_store_new(g.base, url, &o, on_state, &w, err, sizeof(err));
    assert_non_null(s);
    loop_until(&w.downs, 1, 10000);
    assert_int_equal(w.downs, 1);
    assert_int_equal(pw_store_ready(s), 0);
    got x = {0};
    await(&x, pw_store_claim(
                  s,
                  &(pw_store_claim_args){
                      .key = "A:1", .token = "t", .ttl_ms = 1000, .command_id = "c", .digest = "d"},
                  on_got, &x));
    assert_outcome(x, PW_STORE_ERROR);
    assert_non_null(strstr(x.error, "redis unavailable"));
    loop_for(300); /* several retries: DOWN is reported once */
    assert_int_equal(w.downs, 1);
    assert_int_equal(w.ups, 0);
    pw_store_free(s);
    pw_store_free(NULL);
}

static void test_free_answers_pending(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    got x[3] = {{0}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pw_store_lookup(s, "PAYOFIN:free", on_got, &x[i]), 0);
    pw_store_free(s);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(x[i].n, 1);
        assert_outcome(x[i], PW_STORE_ERROR);
        assert_string_equal(x[i].error, "store closed");
    }
    loop_for(100);
    for (int i = 0; i < 3; i++)
        assert_int_equal(x[i].n, 1);
    assert_int_equal(w.downs, 0); /* no state callback after free */
}

typedef struct freer {
    pw_store *store;
    int n;
    int refused;
    char first_error[64];
    char last_error[64];
} freer;

static void on_free_in_cb(void *ud, const pw_store_reply *r)
{
    freer *f = ud;
    f->n++;
    if (f->n == 1) {
        snprintf(f->first_error, sizeof(f->first_error), "%s", r->error);
        pw_store_free(f->store); /* from inside a callback */
        pw_store_free(f->store); /* twice is harmless */
        got ignored = {0};
        if (pw_store_lookup(f->store, "A:1", on_got, &ignored) == -1)
            f->refused = 1;
    } else {
        snprintf(f->last_error, sizeof(f->last_error), "%s", r->error);
    }
}

static void test_free_inside_callback(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    freer f = {0};
    f.store = open_store(g.url, &o, &w);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pw_store_lookup(f.store, "PAYOFIN:cbfree", on_free_in_cb, &f), 0);
    loop_until(&f.n, 4, 5000);
    assert_int_equal(f.n, 4);
    assert_string_equal(f.first_error, "");
    assert_string_equal(f.last_error, "store closed");
    assert_int_equal(f.refused, 1);
    loop_for(100);
    assert_int_equal(f.n, 4);
}

static void test_redis_frozen_times_out(void **state)
{
    (void)state;
    watch w = {0}, wi = {0};
    pw_store_options o = test_opts();
    o.command_timeout_ms = 500;
    o.connect_timeout_ms = 500;
    o.ping_interval_ms = 0; /* this one notices through its claim */
    pw_store *s = open_store(g.url, &o, &w);
    pw_store_options oi = o;
    oi.ping_interval_ms = 100; /* this one stays idle: its heartbeat notices */
    pw_store *idle = open_store(g.url, &oi, &wi);
    const char *key = "PAYOFIN:frozen";
    int downs = w.downs, ups = w.ups; /* a slow machine may have retried once */
    int idle_downs = wi.downs, idle_ups = wi.ups;

    kill(g.pid, SIGSTOP);
    got x = {0};
    pw_store_claim_args a = {
        .key = key, .token = "tok-a", .ttl_ms = 30000, .command_id = "cmd-1", .digest = "dig-1"};
    await(&x, pw_store_claim(s, &a, on_got, &x));
    assert_outcome(x, PW_STORE_ERROR);
    assert_non_null(strstr(x.error, "no answer to claim"));
    assert_int_equal(w.downs, downs + 1);
    assert_int_equal(pw_store_ready(s), 0);
    got y = {0};
    await(&y, pw_store_claim(s, &a, on_got, &y));
    assert_non_null(strstr(y.error, "redis unavailable"));
    loop_until(&wi.downs, idle_downs + 1, 10000);
    assert_int_equal(wi.downs, idle_downs + 1);
    assert_non_null(strstr(wi.why, "no answer to PING"));
    assert_int_equal(pw_store_ready(idle), 0);

    kill(g.pid, SIGCONT);
    loop_until(&w.ups, ups + 1, 15000);
    assert_int_equal(w.ups, ups + 1);
    loop_until(&wi.ups, idle_ups + 1, 15000);
    assert_int_equal(wi.ups, idle_ups + 1);
    /* the timed-out claim may or may not have been applied: retrying it with
     * the same token is safe either way */
    got z = claim(s, key, "tok-a", "cmd-1", "dig-1");
    assert_outcome(z, PW_STORE_CLAIMED);
    assert_int_equal(z.fence, 1);
    loop_for(300); /* heartbeats on a healthy server change nothing */
    assert_int_equal(wi.downs, idle_downs + 1);
    assert_int_equal(pw_store_ready(idle), 1);
    pw_store_free(idle);
    pw_store_free(s);
}

static void test_redis_killed_and_restarted(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    int downs = w.downs, ups = w.ups;

    got x[3] = {{0}};
    pw_store_claim_args a = {
        .key = "PAYOFIN:kill", .token = "tok-a", .ttl_ms = 30000, .command_id = "c", .digest = "d"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pw_store_claim(s, &a, on_got, &x[i]), 0);
    redis_kill(); /* mid-flight: nothing has been answered */
    for (int i = 0; i < 3; i++) {
        loop_until(&x[i].n, 1, 10000);
        assert_int_equal(x[i].n, 1);
        assert_outcome(x[i], PW_STORE_ERROR);
    }
    loop_until(&w.downs, downs + 1, 5000);
    assert_int_equal(w.downs, downs + 1);
    assert_int_equal(pw_store_ready(s), 0);
    got u = {0};
    await(&u, pw_store_claim(s, &a, on_got, &u));
    assert_outcome(u, PW_STORE_ERROR);
    assert_non_null(strstr(u.error, "redis unavailable"));

    loop_for(300); /* let it fail to reconnect a few times: DOWN is said once */
    assert_int_equal(w.downs, downs + 1);
    assert_int_equal(redis_start(), 0);
    loop_until(&w.ups, ups + 1, 15000);
    assert_int_equal(w.ups, ups + 1);
    assert_int_equal(pw_store_ready(s), 1);
    got c = claim(s, "PAYOFIN:kill", "tok-b", "c", "d");
    assert_outcome(c, PW_STORE_CLAIMED);
    assert_int_equal(c.fence, 1); /* a fresh server (no persistence) */
    for (int i = 0; i < 3; i++)
        assert_int_equal(x[i].n, 1);
    pw_store_free(s);
}

/*---- Per-command records (issue 10) ---------------------------------------*/

static got claim_x(pw_store *s, const char *key, const char *token, const char *cmd,
                   int64_t expires_at_ms)
{
    got x = {0};
    pw_store_claim_args a = {.key = key,
                             .token = token,
                             .ttl_ms = 30000,
                             .command_id = cmd,
                             .digest = "dig-1",
                             .worker = "w-1",
                             .expires_at_ms = expires_at_ms};
    await(&x, pw_store_claim(s, &a, on_got, &x));
    return x;
}

/* finish with an explicit answer (NULL: the claim given back unanswered) */
static got finish_a(pw_store *s, const char *key, int64_t fence, const char *token, const char *cmd,
                    pw_store_outcome status, const char *answer, const char *result)
{
    got x = {0};
    pw_store_finish_args a = {.key = key,
                              .fence = fence,
                              .token = token,
                              .status = status,
                              .result = (const unsigned char *)result,
                              .result_len = strlen(result),
                              .command_id = cmd,
                              .answer = answer,
                              .digest = "dig-1"};
    await(&x, pw_store_finish(s, &a, on_got, &x));
    return x;
}

static got record(pw_store *s, const char *key, const char *cmd, const char *answer,
                  const char *result)
{
    got x = {0};
    pw_store_record_args a = {.key = key,
                              .command_id = cmd,
                              .answer = answer,
                              .result = (const unsigned char *)result,
                              .result_len = strlen(result),
                              .digest = "dig-1"};
    await(&x, pw_store_record(s, &a, on_got, &x));
    return x;
}

#define assert_answer(x, want_status, want_result)                    \
    do {                                                              \
        assert_outcome(x, PW_STORE_ANSWERED);                         \
        assert_string_equal((x).status, want_status);                 \
        assert_int_equal((x).result_len, strlen(want_result));        \
        assert_memory_equal((x).result, want_result, (x).result_len); \
    } while (0)

/* A command's answer is its own, whatever other commands do to the invoice
 * since; expiry is judged only after the store. */
static void test_command_records(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    const char *key = "PAYOFIN:rec-1";
    int64_t past = wall_ms() - 1000, later = wall_ms() + 3600 * 1000;

    /* FAILED stays FAILED, also after another command failed on the invoice */
    got a = claim_x(s, key, "t-a", "cmd-A", later);
    assert_outcome(a, PW_STORE_CLAIMED);
    assert_outcome(
        finish_a(s, key, a.fence, "t-a", "cmd-A", PW_STORE_RELEASED, "FAILED", "a-failed"),
        PW_STORE_OK);
    got b = claim_x(s, key, "t-b", "cmd-B", later);
    assert_outcome(b, PW_STORE_CLAIMED);
    assert_outcome(finish_a(s, key, b.fence, "t-b", "cmd-B", PW_STORE_RELEASED, "DECLINED", "b-no"),
                   PW_STORE_OK);
    assert_answer(claim_x(s, key, "t-a2", "cmd-A", later), "FAILED", "a-failed");
    assert_null(lock_value(key)); /* no claim: no provider call */

    /* never claimed and past its expiry: EXPIRED, recorded, the same again */
    assert_outcome(claim_x(s, key, "t-c", "cmd-C", past), PW_STORE_EXPIRED);
    assert_null(lock_value(key));
    assert_outcome(record(s, key, "cmd-C", "EXPIRED", "c-expired"), PW_STORE_OK);
    assert_answer(claim_x(s, key, "t-c2", "cmd-C", past), "EXPIRED", "c-expired");
    assert_answer(record(s, key, "cmd-C", "DUPLICATE", "c-other"), "EXPIRED", "c-expired");

    /* paid: its own result even past its expiry; another command DUPLICATE */
    got d = claim_x(s, key, "t-d", "cmd-D", later);
    assert_outcome(d, PW_STORE_CLAIMED);
    assert_outcome(finish_a(s, key, d.fence, "t-d", "cmd-D", PW_STORE_DONE, "SUCCEEDED", "d-paid"),
                   PW_STORE_OK);
    assert_answer(claim_x(s, key, "t-d2", "cmd-D", past), "SUCCEEDED", "d-paid");
    got e = claim_x(s, key, "t-e", "cmd-E", past);
    assert_outcome(e, PW_STORE_DONE);
    assert_string_equal(e.command_id, "cmd-D");

    /* a claim given back unanswered (provider stopped): claimed again later */
    const char *k2 = "PAYOFIN:rec-2";
    got h = claim_x(s, k2, "t-h", "cmd-H", 0);
    assert_outcome(h, PW_STORE_CLAIMED);
    assert_outcome(finish_a(s, k2, h.fence, "t-h", "cmd-H", PW_STORE_RELEASED, NULL, ""),
                   PW_STORE_OK);
    assert_null(lock_value(k2));
    got h2 = claim_x(s, k2, "t-h2", "cmd-H", 0);
    assert_outcome(h2, PW_STORE_CLAIMED);
    assert_int_equal(h2.fence, h.fence + 1);

    /* the lookup lists every command record of the invoice */
    char err[512];
    pw_store_sync *sync = pw_store_sync_new(g.url, 2000, err, sizeof(err));
    assert_non_null(sync);
    pw_store_reply *lk = pw_store_sync_lookup(sync, key);
    assert_int_equal(lk->outcome, PW_STORE_OK);
    assert_int_equal(lk->ncmds, 4); /* A, B, C, D (E was not recorded here) */
    int seen = 0;
    for (size_t i = 0; i < lk->ncmds; i++)
        if (strcmp(lk->cmds[i].command_id, "cmd-C") == 0) {
            assert_string_equal(lk->cmds[i].status, "EXPIRED");
            seen = 1;
        }
    assert_true(seen);
    pw_store_reply_free(lk);
    pw_store_sync_free(sync);
    pw_store_free(s);
}

/* A call whose worker died: UNKNOWN at the next touch (a claim, or the
 * operators' list), for every command, never EXPIRED; listed until settled,
 * and the settled command gets its answer. */
static void test_unknowns_index(void **state)
{
    (void)state;
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    const char *key = "PAYONE:unk-1";
    int64_t past = wall_ms() - 1000;
    got c = claim_t(s, key, "t-u", 50, "cmd-U", "dig-1", 0);
    assert_outcome(c, PW_STORE_CLAIMED);
    loop_for(120); /* the lock expires: its worker is gone */

    char err[512];
    pw_store_sync *sync = pw_store_sync_new(g.url, 2000, err, sizeof(err));
    assert_non_null(sync);
    pw_store_reply *u = pw_store_sync_unknowns(sync, 100);
    assert_int_equal(u->outcome, PW_STORE_OK);
    assert_int_equal(u->nunknowns, 1);
    assert_string_equal(u->unknowns[0].key, key);
    assert_string_equal(u->unknowns[0].command_id, "cmd-U");
    assert_string_equal(u->unknowns[0].worker, "w-1");
    assert_true(u->unknowns[0].since_ms >= u->unknowns[0].started_ms);
    pw_store_reply_free(u);
    assert_field(key, "status", "UNKNOWN");

    /* redelivered past its expiry: UNKNOWN, not EXPIRED; so is another one */
    assert_outcome(claim_x(s, key, "t-u2", "cmd-U", past), PW_STORE_UNKNOWN);
    assert_outcome(record(s, key, "cmd-U", "UNKNOWN", "u-unknown"), PW_STORE_OK);
    assert_answer(claim_x(s, key, "t-u3", "cmd-U", past), "UNKNOWN", "u-unknown");
    assert_outcome(claim_x(s, key, "t-v", "cmd-V", past), PW_STORE_UNKNOWN);

    /* settled paid: off the list; the command answered SUCCEEDED from now on */
    pw_store_reply *r = pw_store_sync_resolve(
        sync, &(pw_store_resolve_args){
                  .key = key, .paid = 1, .reason = "bank says paid", .operator_name = "op"});
    assert_int_equal(r->outcome, PW_STORE_OK);
    pw_store_reply_free(r);
    u = pw_store_sync_unknowns(sync, 100);
    assert_int_equal(u->nunknowns, 0);
    pw_store_reply_free(u);
    got after = claim_x(s, key, "t-u4", "cmd-U", past);
    assert_outcome(after, PW_STORE_ANSWERED);
    assert_string_equal(after.status, "SUCCEEDED");
    assert_int_equal(after.result_len, 0); /* the worker builds and records its event */
    assert_outcome(record(s, key, "cmd-U", "SUCCEEDED", "u-settled"), PW_STORE_OK);
    assert_answer(claim_x(s, key, "t-u5", "cmd-U", past), "SUCCEEDED", "u-settled");
    assert_outcome(claim_x(s, key, "t-v2", "cmd-V", past), PW_STORE_DONE); /* DUPLICATE */
    pw_store_sync_free(sync);
    pw_store_free(s);
}

/*---- The scripts as files -------------------------------------------------*/

/* A file's bytes (kept copy, NUL-terminated). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("%s: %s (run from the repository root)", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = keep(cap);
    n = fread(buf, 1, cap, f);
    assert_true(n < cap);
    fclose(f);
    *len = n;
    return buf;
}

/* Every script runs as it is in the repository: what the store sends (its
 * script table, compiled in by schemas/embed.c) is the file's text, byte for
 * byte (so it holds no NUL either: it is sent as a C string). */
static void test_scripts_embedded_from_files(void **state)
{
    (void)state;
    for (int i = 0; i < PW_SCRIPT_COUNT; i++) {
        char path[128];
        snprintf(path, sizeof(path), "worker/store/scripts/%s.lua", pw_store_script_name[i]);
        size_t len = 0;
        const char *file = read_file(path, &len);
        if (strlen(pw_store_lua[i]) != len || memcmp(file, pw_store_lua[i], len) != 0)
            fail_msg("%s: the embedded script differs from the file (rebuild)", path);
        /* and Redis compiles it */
        redisReply *r = rcall("SCRIPT LOAD %b", file, len);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_int_equal(r->len, 40);
        freeReplyObject(r);
    }
}

/* redis-cli --eval FILE KEYS , ARGV against the test's server: its raw
 * output (one line per element), kept. */
static const char *cli_eval(const char *script, const char *keys_and_args)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "redis-cli -h 127.0.0.1 -p %d --eval worker/store/scripts/%s.lua %s",
             g.port, script, keys_and_args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 4096;
    char *out = keep(cap);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0)
        fail_msg("%s: failed: %s", cmd, out);
    return out;
}

#define HAND_KEYS(id)                                                                  \
    "'payw:{PAYOFIN:by-hand}:state' 'payw:{PAYOFIN:by-hand}:lock' "                    \
    "'payw:{PAYOFIN:by-hand}:cmd:" id "' 'payw:{PAYOFIN:by-hand}:cmds' payw:unknowns " \
    "payw:inflight"

/* The scripts run by hand (the way their header says) do what the store's
 * operations do, and the store sees it. */
static void test_scripts_run_by_hand(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof(args), HAND_KEYS("cmd-h") " , tok-h 30000 cmd-h dig-h w-hand %lld %lld 0",
             (long long)wall_ms(), 7 * MS_DAY);
    assert_string_equal(cli_eval("claim", args), "CLAIMED\n1\n0\ncmd-h\n\nINFLIGHT\n");
    assert_field("PAYOFIN:by-hand", "status", "INFLIGHT");
    assert_field("PAYOFIN:by-hand", "worker", "w-hand");
    assert_string_equal(cli_eval("extend", HAND_KEYS("") " , tok-other 30000"),
                        "LOST\n0\n0\n\n\n\n");
    assert_string_equal(cli_eval("extend", HAND_KEYS("") " , tok-h 30000"), "OK\n0\n0\n\n\n\n");
    const char *lk = cli_eval("lookup", HAND_KEYS("") " ,");
    assert_true(strncmp(lk, "OK\n", 3) == 0);
    assert_non_null(strstr(lk, "\nfence_seq\n1\n"));

    /* the store meets the hand-made claim */
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    assert_outcome(claim(s, "PAYOFIN:by-hand", "tok-x", "cmd-x", "dig-h"), PW_STORE_BUSY);
    got again = claim(s, "PAYOFIN:by-hand", "tok-h", "cmd-h", "dig-h");
    assert_outcome(again, PW_STORE_CLAIMED);
    assert_int_equal(again.fence, 1);
    pw_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_claim_busy_finish_done, test_teardown),
        cmocka_unit_test_teardown(test_inflight_expiry_is_unknown, test_teardown),
        cmocka_unit_test_teardown(test_released_replay_and_stale_fence, test_teardown),
        cmocka_unit_test_teardown(test_extend, test_teardown),
        cmocka_unit_test_teardown(test_resolve, test_teardown),
        cmocka_unit_test_teardown(test_lookup_and_large_result, test_teardown),
        cmocka_unit_test_teardown(test_noscript_falls_back_to_eval, test_teardown),
        cmocka_unit_test_teardown(test_wait_replicas, test_teardown),
        cmocka_unit_test_teardown(test_urls, test_teardown),
        cmocka_unit_test_teardown(test_unreachable, test_teardown),
        cmocka_unit_test_teardown(test_free_answers_pending, test_teardown),
        cmocka_unit_test_teardown(test_free_inside_callback, test_teardown),
        cmocka_unit_test_teardown(test_redis_frozen_times_out, test_teardown),
        cmocka_unit_test_teardown(test_redis_killed_and_restarted, test_teardown),
        cmocka_unit_test_teardown(test_command_records, test_teardown),
        cmocka_unit_test_teardown(test_unknowns_index, test_teardown),
        cmocka_unit_test_teardown(test_scripts_embedded_from_files, test_teardown),
        cmocka_unit_test_teardown(test_scripts_run_by_hand, test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
