/* itest_store.c -- the store's state machine (pw_store.h's DESIGN): claims,
 * fences, finish, extend, resolve, lookup, the NOSCRIPT fallback and WAIT,
 * against a real redis-server (the fixture: storetest.h). */
#include <string.h>

#include "storetest.h"

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
    it_sleep_ms(200); /* the worker "dies": its lock expires */
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
    it_sleep_ms(200);
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
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
