/* itest_store_records.c -- every command's own answer (issue 10) and the
 * UNKNOWN index, on a fresh redis-server (storetest.h): the index test counts
 * every UNKNOWN invoice the server holds. */
#include <string.h>

#include "storetest.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_command_records, test_teardown),
        cmocka_unit_test_teardown(test_unknowns_index, test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
