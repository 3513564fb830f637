/* storetest.h -- the fixture of the store's integration tests (itest_store*.c):
 * the Redis idempotency store (worker/store/) against a real redis-server.
 *
 * DESIGN
 * The group setup starts a private redis-server on a free 127.0.0.1 port (and
 * a unix socket in a temporary directory), without persistence; the group
 * teardown kills it, and the child is also killed by the kernel if this
 * process dies (PR_SET_PDEATHSIG). Each test opens its own store on a libevent
 * loop driven here, uses its own invoice keys, and reads Redis back through a
 * synchronous hiredis connection to check the exact fields written. Waits are
 * generous upper bounds (the loop stops as soon as the answer arrives); no test
 * asserts a tight timing. The connection tests (itest_store_conn.c) stop,
 * freeze and kill the server and start it again on the same port.
 */
#ifndef STORETEST_H
#define STORETEST_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "itest_util.h"
#include "pw_store.h"

#define MS_DAY (24LL * 3600 * 1000)

/* The fixture (storetest.c): the server, the loop, the checking connection. */
typedef struct store_fixture {
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
} store_fixture;

extern store_fixture g;

/* ms since the epoch (teststack.c) */
long long wall_ms(void);

typedef struct watch {
    int ups, downs;
    char why[512];
} watch;

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

/*---- Fixture (group_setup, group_teardown, test_teardown as cmocka's) ----*/
void *keep(size_t n);  /* memory that lives until the end of the current test */
int free_port(void);   /* it_free_port, asserted */
int rc_connect(void);  /* the checking connection, g.rc: 0 or -1 */
int redis_start(void); /* redis-server on g.port, answering (10 s at most): 0 or -1 */
void redis_kill(void);
int group_setup(void **state);
int group_teardown(void **state);
int test_teardown(void **state);
void loop_until(const int *counter, int target, int timeout_ms);
void loop_for(int ms);

/*---- Checking Redis (through g.rc; strings are kept copies) ---------------*/
redisReply *rcall(const char *fmt, ...);
const char *hget(const char *key, const char *field, size_t *len); /* payw:{key}:state */
long long rint_cmd(const char *fmt, const char *arg);
long long state_pttl(const char *key);
long long lock_pttl(const char *key);
const char *lock_value(const char *key);
const char *state_dump(const char *key, size_t *len);

/*---- Driving the store (each call waits for its single answer) ------------*/
void on_state(void *ud, pw_store_state state, const char *why); /* ud: a watch */
void on_got(void *ud, const pw_store_reply *r);                 /* ud: a got */
pw_store_options test_opts(void);
pw_store *open_store(const char *url, const pw_store_options *opts, watch *w);
void await(got *x, int rc);
got claim_t(pw_store *s, const char *key, const char *token, int64_t ttl_ms, const char *cmd,
            const char *digest, int64_t now_ms);
got claim(pw_store *s, const char *key, const char *token, const char *cmd, const char *digest);
got finish_r(pw_store *s, const char *key, int64_t fence, const char *token,
             pw_store_outcome status, const void *result, size_t len, const char *reason);
got finish(pw_store *s, const char *key, int64_t fence, const char *token, pw_store_outcome status,
           const char *result);
got resolve(pw_store *s, const char *key, int paid, int64_t now_ms);

#define assert_field(key, field, want) assert_string_equal(hget((key), (field), NULL), (want))

#define assert_outcome(x, want)                                                             \
    do {                                                                                    \
        if ((x).outcome != (want))                                                          \
            fail_msg("outcome %s, want %s (error: %s)", pw_store_outcome_name((x).outcome), \
                     pw_store_outcome_name(want), (x).error);                               \
    } while (0)

#endif
