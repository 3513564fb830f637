/* storetest.c -- see storetest.h: the store tests' redis-server, loop, checks
 * of what Redis holds and the calls that drive a store and wait for the answer. */
#include "storetest.h"

#include <event2/event.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

store_fixture g;

/*---- Fixture: redis-server, the loop, a checking connection ---------------*/

/* Memory that lives until the end of the current test. */
void *keep(size_t n)
{
    assert_true(g.nkept < sizeof(g.kept) / sizeof(g.kept[0]));
    void *p = calloc(1, n + 1);
    assert_non_null(p);
    g.kept[g.nkept++] = p;
    return p;
}

int free_port(void)
{
    int port = it_free_port();
    assert_true(port > 0);
    return port;
}

/* Connects the checking connection; 0 or -1. */
int rc_connect(void)
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
int redis_start(void)
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
    int64_t deadline = it_now_ms() + 10000;
    while (it_now_ms() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            g.pid = 0;
            return -1;
        }
        if (rc_connect() == 0)
            return 0;
        it_sleep_ms(20);
    }
    return -1;
}

void redis_kill(void)
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

int group_setup(void **state)
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

int group_teardown(void **state)
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

int test_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g.nkept; i++)
        free(g.kept[i]);
    g.nkept = 0;
    return 0;
}

/* Runs the loop until *counter >= target or timeout_ms passed. */
void loop_until(const int *counter, int target, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    while (*counter < target && it_now_ms() < deadline)
        event_base_loop(g.base, EVLOOP_ONCE);
}

void loop_for(int ms)
{
    int never = 0;
    loop_until(&never, 1, ms);
}

/*---- Checking Redis -------------------------------------------------------*/

redisReply *rcall(const char *fmt, ...)
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
const char *hget(const char *key, const char *field, size_t *len)
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

long long rint_cmd(const char *fmt, const char *arg)
{
    redisReply *r = rcall(fmt, arg);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

long long state_pttl(const char *key)
{
    char name[600];
    snprintf(name, sizeof(name), "payw:{%s}:state", key);
    return rint_cmd("PTTL %s", name);
}

long long lock_pttl(const char *key)
{
    char name[600];
    snprintf(name, sizeof(name), "payw:{%s}:lock", key);
    return rint_cmd("PTTL %s", name);
}

/* The lock's token (kept copy) or NULL. */
const char *lock_value(const char *key)
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
const char *state_dump(const char *key, size_t *len)
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

/*---- Driving the store ----------------------------------------------------*/

void on_state(void *ud, pw_store_state state, const char *why)
{
    watch *w = ud;
    if (state == PW_STORE_UP)
        w->ups++;
    else
        w->downs++;
    snprintf(w->why, sizeof(w->why), "%s", why);
}

void on_got(void *ud, const pw_store_reply *r)
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

pw_store_options test_opts(void)
{
    pw_store_options o;
    pw_store_options_init(&o);
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    return o;
}

pw_store *open_store(const char *url, const pw_store_options *opts, watch *w)
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
void await(got *x, int rc)
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

got claim_t(pw_store *s, const char *key, const char *token, int64_t ttl_ms, const char *cmd,
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

got claim(pw_store *s, const char *key, const char *token, const char *cmd, const char *digest)
{
    return claim_t(s, key, token, 30000, cmd, digest, 0);
}

got finish_r(pw_store *s, const char *key, int64_t fence, const char *token,
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

got finish(pw_store *s, const char *key, int64_t fence, const char *token, pw_store_outcome status,
           const char *result)
{
    return finish_r(s, key, fence, token, status, result, strlen(result), NULL);
}

got resolve(pw_store *s, const char *key, int paid, int64_t now_ms)
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
