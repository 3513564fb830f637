/* itest_store_conn.c -- the store's connection (storetest.h): URLs, an
 * unreachable server, pw_store_free with operations pending and from a
 * callback, and a server frozen, then killed and started again. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storetest.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_urls, test_teardown),
        cmocka_unit_test_teardown(test_unreachable, test_teardown),
        cmocka_unit_test_teardown(test_free_answers_pending, test_teardown),
        cmocka_unit_test_teardown(test_free_inside_callback, test_teardown),
        cmocka_unit_test_teardown(test_redis_frozen_times_out, test_teardown),
        cmocka_unit_test_teardown(test_redis_killed_and_restarted, test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
