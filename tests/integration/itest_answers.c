/* itest_answers.c -- every answer about money is true (issue 10): each
 * command gets one final answer, decided by the store, the same each time it
 * is redelivered or replayed; and the worker stays live through rebalances
 * and shutdowns. One test per path that once gave a false or no answer,
 * each against a private stack (teststack.h): redis-server, devkafka,
 * provider-sim and payworker processes on free 127.0.0.1 ports. The
 * simulator's ledger and request counts are the ground truth. */
#include <curl/curl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "teststack.h"

/*---- helpers ----*/

/* A command JSON line with an expires_at (ms since the epoch). */
static char *command_expiring(const char *id, const char *provider, const char *request,
                              long long expires_at)
{
    char *out = malloc(4096);
    snprintf(out, 4096,
             "{\"command_id\": \"%s\", \"provider\": \"%s\", \"created_at\": %lld, "
             "\"expires_at\": %lld, \"request\": %s}",
             id, provider, wall_ms(), expires_at, request);
    return out;
}

static void send_one(stack *s, const char *cmd)
{
    const char *one[] = {cmd};
    send_lines(s, one, 1, 0);
}

/* The status and event_id of every result of command id in events. */
static int results_of(json_object *events, const char *id, const char **status,
                      const char **event_id, int max)
{
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(events) && n < max; i++) {
        json_object *e = json_object_array_get_idx(events, i);
        if (strcmp(json_object_get_string(pv_json_member(e, "command_id")), id) != 0)
            continue;
        status[n] = json_object_get_string(pv_json_member(e, "status"));
        event_id[n] = json_object_get_string(pv_json_member(e, "event_id"));
        n++;
    }
    return n;
}

/* Every result of id has status want and one event id; returns how many. */
static int assert_same_answer(json_object *events, const char *id, const char *want)
{
    const char *status[64], *ev[64];
    int n = results_of(events, id, status, ev, 64);
    for (int i = 0; i < n; i++) {
        if (strcmp(status[i], want) != 0)
            fail_msg("%s: result %d is %s, want %s every time", id, i, status[i], want);
        if (strcmp(ev[i], ev[0]) != 0)
            fail_msg("%s: result %d has event_id %s, the first %s", id, i, ev[i], ev[0]);
    }
    return n;
}

/* One Paywall read answered: the worker has joined its group and owns the
 * partitions (a join takes seconds on devkafka: longer than a short
 * expires_at). One result event. */
static void warm_up(stack *s)
{
    char *warm = command("warm-up", "PAYWALL", "{\"paymentid\": 123456}");
    send_one(s, warm);
    json_object_put(tail(s, "results", 1, 60000));
    free(warm);
}

static void wait_payments(stack *s, const char *provider, int64_t want)
{
    for (int i = 0; i < 300 && sim_payments(s, provider) < want; i++)
        it_sleep_ms(50);
    assert_int_equal(sim_payments(s, provider), want);
}

static void wait_past(long long wall)
{
    while (wall_ms() <= wall)
        it_sleep_ms(100);
}

static void kill9(stack *s, int i)
{
    it_stop(&s->w[i], SIGKILL, 5000);
    s->w[i].pid = 0;
}

/* Waits for /readyz of worker i to say substring (e.g. a stopped provider). */
static void wait_ready_says(stack *s, int i, const char *substring)
{
    char url[96];
    long code = 0;
    char *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", s->metrics_port[i]);
    for (int k = 0; k < 200; k++) {
        free(body);
        body = http(url, NULL, &code);
        if (body != NULL && strstr(body, substring) != NULL)
            break;
        it_sleep_ms(100);
    }
    assert_non_null(body);
    assert_non_null(strstr(body, substring));
    free(body);
}

/* payctl ARGS...: its first stdout lines (max 8) into lines; exit status. */
static int payctl(stack *s, char lines[][LINE], int *n, const char *a1, const char *a2)
{
    char path[512], err[4096];
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path, (char *)a1, "--redis", s->redis_url, (char *)a2, NULL};
    if (a2 == NULL)
        argv[4] = NULL;
    return it_run(argv, NULL, &lines[0][0], LINE, 8, n, err, sizeof(err), 20000);
}

/*---- tests ----*/

/* Paid, then redelivered (offset never committed, worker killed) and
 * replayed, both past the command's expires_at: the stored SUCCEEDED every
 * time, the same event, never EXPIRED, never paid again. */
static void test_answers_paid_then_expired(void **state)
{
    stack *s = *state;
    stack_up(s);
    env_set(s, "PAYW_COMMIT_INTERVAL_MS", "60000"); /* nothing is committed */
    worker_up(s, 0);
    warm_up(s);
    long long expires = wall_ms() + 3000;
    char *cmd = command_expiring("px-1", "PAYOFIN", "{\"invoiceQueryId\": 700017}", expires);
    send_one(s, cmd);
    json_object *res = tail(s, "results", 2, 60000);
    assert_int_equal(assert_same_answer(res, "px-1", "SUCCEEDED"), 1);
    json_object_put(res);
    kill9(s, 0);
    wait_past(expires + 200);
    worker_up(s, 1);                    /* the uncommitted command comes again */
    send_one(s, cmd);                   /* and a late replay of it */
    res = tail(s, "results", 5, 60000); /* warm-up and px-1, both again, the replay */
    assert_int_equal(assert_same_answer(res, "px-1", "SUCCEEDED"), 3);
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 1);
    assert_int_equal(sim_stat(s, "PAYOFIN", "double_payment_attempts"), 0);
    free(cmd);
    stack_down(s);
    it_test_pass();
}

/* Killed while the provider held its paid call, redelivered past its
 * expiry: UNKNOWN (it may have paid), never EXPIRED; payctl unknowns lists
 * it with its command, and lookup shows the command's record. */
static void test_answers_killed_mid_call_unknown(void **state)
{
    stack *s = *state;
    char lines[8][LINE];
    int n = 0;
    stack_up(s);
    worker_up(s, 0);
    warm_up(s);
    sim_faults(s, "{\"provider\": \"PAYOFIN\", \"rate_blackhole\": 1, \"only_payments\": true}");
    long long expires = wall_ms() + 3000;
    char *cmd = command_expiring("km-1", "PAYOFIN", "{\"invoiceQueryId\": 700017}", expires);
    send_one(s, cmd);
    wait_payments(s, "PAYOFIN", 1); /* paid, never answered */
    kill9(s, 0);
    sim_faults(s, "{\"provider\": \"ALL\"}");
    wait_past(expires + 200);
    worker_up(s, 1);
    send_one(s, cmd);                                /* a replay too */
    json_object *res = tail(s, "results", 3, 60000); /* warm-up, km-1 twice */
    assert_int_equal(assert_same_answer(res, "km-1", "UNKNOWN"), 2);
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 1);

    assert_int_equal(payctl(s, lines, &n, "unknowns", NULL), 0);
    assert_int_equal(n, 1);
    assert_non_null(strstr(lines[0], "\"provider\":\"PAYOFIN\""));
    assert_non_null(strstr(lines[0], "\"query_id\":\"700017\""));
    assert_non_null(strstr(lines[0], "\"command_id\":\"km-1\""));
    assert_non_null(strstr(lines[0], "\"age_s\":"));
    char path[512], err[4096];
    it_build_path(path, sizeof(path), "worker/payctl");
    char *lookup[] = {path, "lookup", "PAYOFIN", "700017", "--redis", s->redis_url, NULL};
    assert_int_equal(it_run(lookup, NULL, &lines[0][0], LINE, 1, &n, err, sizeof(err), 20000), 0);
    assert_non_null(strstr(lines[0], "\"command_id\":\"km-1\",\"status\":\"UNKNOWN\""));
    free(cmd);
    stack_down(s);
    it_test_pass();
}

/* Payofin refuses the credentials (-22): the provider stops, its command is
 * held unanswered and uncommitted; after the fix and a restart it is paid,
 * once, and answered SUCCEEDED (not "already settled by itself"). */
static void test_answers_fatal_fix_restart(void **state)
{
    stack *s = *state;
    stack_up(s);
    env_set(s, "PAYW_PAYOFIN_API_KEY", "not-the-key");
    worker_up(s, 0);
    char *cmd = command("fx-1", "PAYOFIN", "{\"invoiceQueryId\": 700017}");
    send_one(s, cmd);
    wait_ready_says(s, 0, "PAYOFIN stopped");
    /* held: nothing answered; the drain says so in its exit status */
    assert_int_equal(it_stop(&s->w[0], SIGTERM, 30000), 3);
    s->w[0].pid = 0;
    env_set(s, "PAYW_PAYOFIN_API_KEY", "sim-payofin-api-key");
    worker_up(s, 1);
    json_object *res = tail(s, "results", 1, 60000);
    assert_int_equal(assert_same_answer(res, "fx-1", "SUCCEEDED"), 1);
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 1);
    free(cmd);
    stack_down(s);
    it_test_pass();
}

/* FAILED (429 until the retries ran out) stays FAILED for that command,
 * also after a second command failed on the same invoice: redelivered once
 * the provider works again, 0 provider calls. And a command created longer
 * ago than the store's retention is refused, never sent. */
static void test_answers_failed_stays_failed(void **state)
{
    stack *s = *state;
    stack_up(s);
    env_set(s, "PAYW_RETRY_MAX_ATTEMPTS", "2");
    env_set(s, "PAYW_RETRY_BASE_MS", "20");
    worker_up(s, 0);
    sim_faults(s, "{\"provider\": \"PAYOFIN\", \"rate_429\": 1}");
    char *a = command("ff-A", "PAYOFIN", "{\"invoiceQueryId\": 700017}");
    char *b = command("ff-B", "PAYOFIN", "{\"invoiceQueryId\": 700017}");
    send_one(s, a);
    json_object_put(tail(s, "results", 1, 60000));
    send_one(s, b);
    json_object *res = tail(s, "results", 2, 60000);
    assert_int_equal(assert_same_answer(res, "ff-A", "FAILED"), 1);
    assert_int_equal(assert_same_answer(res, "ff-B", "FAILED"), 1);
    json_object_put(res);
    int64_t calls = sim_stat(s, "PAYOFIN", "requests");
    assert_int_equal(calls, 4);
    sim_faults(s, "{\"provider\": \"ALL\"}");
    send_one(s, a);
    char old[256];
    snprintf(old, sizeof(old),
             "{\"command_id\": \"ff-old\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": 700017}}",
             wall_ms() - 8LL * 24 * 3600 * 1000); /* the retention is 7 days */
    send_one(s, old);
    res = tail(s, "results", 4, 60000);
    assert_int_equal(assert_same_answer(res, "ff-A", "FAILED"), 2);
    assert_int_equal(assert_same_answer(res, "ff-old", "REJECTED"), 1);
    for (size_t i = 0; i < 4; i++) {
        json_object *e = json_object_array_get_idx(res, i);
        if (strcmp(json_object_get_string(pv_json_member(e, "command_id")), "ff-old") == 0)
            assert_non_null(
                strstr(json_object_get_string(pv_json_member(e, "reason")), "retention"));
    }
    json_object_put(res);
    assert_int_equal(sim_stat(s, "PAYOFIN", "requests"), calls); /* no call since */
    assert_int_equal(sim_payments(s, "PAYOFIN"), 0);
    free(a);
    free(b);
    stack_down(s);
    it_test_pass();
}

/* Sipay's token endpoint fails twice, then works: the waiting payment
 * backs off within its own budget and is paid. */
static void test_answers_token_fails_then_paid(void **state)
{
    stack *s = *state;
    stack_up(s);
    env_set(s, "PAYW_RETRY_BASE_MS", "300");
    env_set(s, "PAYW_RETRY_MAX_ATTEMPTS", "10");
    worker_up(s, 0);
    sim_faults(s, "{\"provider\": \"SIPAY\", \"rate_5xx\": 1}"); /* the token endpoint too */
    char *req = contract_request("sipay");
    char *cmd = command("tk-1", "SIPAY", req);
    send_one(s, cmd);
    for (int i = 0; i < 300 && sim_stat(s, "SIPAY", "requests") < 2; i++)
        it_sleep_ms(20);
    assert_true(sim_stat(s, "SIPAY", "requests") >= 2);
    sim_faults(s, "{\"provider\": \"ALL\"}");
    json_object *res = tail(s, "results", 1, 60000);
    assert_int_equal(assert_same_answer(res, "tk-1", "SUCCEEDED"), 1);
    json_object_put(res);
    assert_int_equal(sim_payments(s, "SIPAY"), 1);
    free(req);
    free(cmd);
    stack_down(s);
    it_test_pass();
}

/* A partition revoked from a worker (a second one joined) and assigned back
 * to it (the second one left) is read again: every command answered. */
static void test_answers_partition_comes_back(void **state)
{
    stack *s = *state;
    char url[96];
    long code;
    stack_up(s);
    worker_up(s, 0);
    char *warm = command("warm-pb", "PAYWALL", "{\"paymentid\": 123456}");
    send_one(s, warm);
    json_object_put(tail(s, "results", 1, 60000));
    worker_up(s, 1);
    /* until the second worker has partitions: its /readyz is 200 */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", s->metrics_port[1]);
    int assigned = 0;
    for (int i = 0; i < 300 && !assigned; i++) {
        char *m = http(url, NULL, &code);
        assigned = m != NULL && strstr(m, "payworker_up{dependency=\"kafka\"} 1") != NULL;
        free(m);
        if (!assigned)
            it_sleep_ms(100);
    }
    assert_true(assigned);
    it_sleep_ms(2000); /* the cooperative rebalance settles */
    assert_int_equal(it_stop(&s->w[1], SIGTERM, 30000), 0);
    s->w[1].pid = 0;
    it_sleep_ms(8000); /* the group gives its partitions back to worker 0 */
    enum { N = 24 };
    char *cmds[N];
    json_object *inv = sim_get(s, "/_sim/invoices?provider=PAYWALL");
    json_object *list = pv_json_member(inv, "payments");
    assert_true(json_object_array_length(list) > N);
    for (int i = 0; i < N; i++) {
        char id[32], req[64];
        json_object *one = json_object_array_get_idx(list, (size_t)i + 1);
        snprintf(id, sizeof(id), "pb-%d", i);
        snprintf(req, sizeof(req), "{\"paymentid\": %lld}",
                 (long long)json_object_get_int64(pv_json_member(one, "paymentid")));
        cmds[i] = command(id, "PAYWALL", req);
    }
    json_object_put(inv);
    send_lines(s, (const char *const *)cmds, N, 0); /* keyed by invoice: every partition */
    json_object *res = tail_distinct(s, "results", "pb-", "SUCCEEDED", N);
    assert_int_equal(count_distinct(res, "pb-", "SUCCEEDED"), N);
    json_object_put(res);
    for (int i = 0; i < N; i++)
        free(cmds[i]);
    free(warm);
    stack_down(s);
    it_test_pass();
}

/* SIGTERM while a command sits in back-off past the drain timeout: the
 * worker exits in time, saying commands were left (3); the claim was given
 * back, so the next worker pays it (not UNKNOWN). */
static void test_answers_sigterm_in_backoff(void **state)
{
    stack *s = *state;
    stack_up(s);
    env_set(s, "PAYW_DRAIN_TIMEOUT_MS", "1000");
    env_set(s, "PAYW_RETRY_BASE_MS", "8000"); /* back-off 4-8 s */
    env_set(s, "PAYW_RETRY_MAX_ATTEMPTS", "5");
    worker_up(s, 0);
    sim_faults(s, "{\"provider\": \"PAYOFIN\", \"rate_429\": 1}");
    char *cmd = command("sb-1", "PAYOFIN", "{\"invoiceQueryId\": 700017}");
    send_one(s, cmd);
    for (int i = 0; i < 300 && sim_stat(s, "PAYOFIN", "requests") < 1; i++)
        it_sleep_ms(20);
    assert_int_equal(sim_stat(s, "PAYOFIN", "requests"), 1);
    /* the 429 read and the back-off begun (the simulator counts a request
     * when it arrives: a SIGTERM right then found the call still in flight,
     * whose claim is not given back) */
    char url[128];
    long code = 0;
    int backing_off = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", s->metrics_port[0]);
    for (int i = 0; i < 300 && !backing_off; i++) {
        char *m = http(url, NULL, &code);
        backing_off = m != NULL && strstr(m, "\npayworker_retries_total 1") != NULL;
        free(m);
        if (!backing_off)
            it_sleep_ms(20);
    }
    assert_true(backing_off);
    /* the drain timeout + 5 s, and 3 s for the process to be reaped; past
     * that it_stop kills it (137) */
    assert_int_equal(it_stop(&s->w[0], SIGTERM, 1000 + 5000 + 3000), 3);
    s->w[0].pid = 0;
    sim_faults(s, "{\"provider\": \"ALL\"}");
    env_set(s, "PAYW_RETRY_BASE_MS", "50");
    worker_up(s, 1);
    json_object *res = tail(s, "results", 1, 60000);
    assert_int_equal(assert_same_answer(res, "sb-1", "SUCCEEDED"), 1);
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 1);
    free(cmd);
    stack_down(s);
    it_test_pass();
}

/*---- main ----*/

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (getenv("PAYW_ITEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("PAYW_ITEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answers_paid_then_expired, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_answers_killed_mid_call_unknown, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_answers_fatal_fix_restart, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_answers_failed_stays_failed, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_answers_token_fails_then_paid, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_answers_partition_comes_back, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_answers_sigterm_in_backoff, stack_setup,
                                        stack_teardown),
    };
    int rc = cmocka_run_group_tests_name("answers", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
