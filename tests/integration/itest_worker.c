/* itest_worker.c -- payworker end to end against real processes: a private
 * redis-server, devkafka, provider-sim and one or two workers, all on free
 * 127.0.0.1 ports, commands sent and results read with payctl.
 *
 * Each test starts its own stack, so topics start empty and every check can
 * count. The provider simulator's ledger and stats are the ground truth for
 * "paid exactly once". */
#include <curl/curl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "teststack.h"

/*---- tests ----*/

/* All five providers, then the same command five times and five different
 * commands for one invoice spread over partitions and two workers. */
static void test_worker_five_providers_and_no_double_payment(void **state)
{
    stack *s = *state;
    static const char *const dirs[] = {"payofin", "sipay", "paywall", "isbank", "payone"};
    static const char *const provs[] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};
    stack_up(s);
    worker_up(s, 0);
    worker_up(s, 1);
    char *cmds[5];
    for (int i = 0; i < 5; i++) {
        char id[32];
        char *req = contract_request(dirs[i]);
        snprintf(id, sizeof(id), "e2e-%s", dirs[i]);
        cmds[i] = command(id, provs[i], req);
        free(req);
    }
    send_lines(s, (const char *const *)cmds, 5, 0);
    json_object *res = tail(s, "results", 5, 60000);
    assert_int_equal(count_status(res, "e2e-", "SUCCEEDED"), 5);
    for (size_t i = 0; i < 5; i++) {
        json_object *e = json_object_array_get_idx(res, i);
        const char *p = json_object_get_string(pv_json_member(e, "provider"));
        json_object *refs = pv_json_member(e, "references");
        if (strcmp(p, "PAYOFIN") == 0)
            assert_non_null(pv_json_member(refs, "invoicePaymentId"));
        if (strcmp(p, "SIPAY") == 0)
            assert_non_null(pv_json_member(refs, "payment_transaction_id"));
        if (strcmp(p, "ISBANK") == 0)
            assert_non_null(pv_json_member(refs, "payment_id"));
        if (strcmp(p, "PAYONE") == 0)
            assert_non_null(pv_json_member(refs, "rrn"));
        if (strcmp(p, "PAYWALL") == 0) /* the debt list */
            assert_non_null(
                strstr(json_object_get_string(pv_json_member(e, "detail_json")), "\"debts\""));
    }
    json_object_put(res);
    json_object *bal = tail(s, "balances", 2, 30000); /* Payofin and Sipay */
    json_object_put(bal);
    assert_int_equal(sim_payments(s, NULL), 4); /* the Paywall report pays nothing */

    /* the same Payofin command 5 times, and 5 different commands for the
     * Sipay invoice, unkeyed so they spread over partitions and workers */
    char *again[10];
    for (int i = 0; i < 5; i++)
        again[i] = strdup(cmds[0]);
    for (int i = 0; i < 5; i++) {
        char id[32];
        char *req = contract_request("sipay");
        snprintf(id, sizeof(id), "dup-sipay-%d", i);
        again[5 + i] = command(id, "SIPAY", req);
        free(req);
    }
    send_lines(s, (const char *const *)again, 10, 1);
    /* at least once: a rebalance may deliver a command again (its replay is
     * the same event); every command is answered, none otherwise */
    res = tail(s, "results", 15, 60000);
    for (int i = 0; i < 8 && (count_status(res, "e2e-payofin", "SUCCEEDED") < 6 ||
                              count_distinct(res, "dup-sipay", "DUPLICATE") < 5);
         i++) {
        json_object_put(res);
        res = tail_upto(s, "results", 200, 5000);
    }
    assert_true(count_status(res, "e2e-payofin", "SUCCEEDED") >= 6); /* 1 + 5 replays */
    assert_int_equal(count_distinct(res, "dup-sipay", "DUPLICATE"), 5);
    assert_int_equal(count_status(res, "dup-sipay", "DUPLICATE"),
                     (int)json_object_array_length(res) - count_status(res, NULL, "SUCCEEDED"));
    /* replays carry the original event id */
    const char *first = NULL;
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        json_object *e = json_object_array_get_idx(res, i);
        if (strcmp(json_object_get_string(pv_json_member(e, "command_id")), "e2e-payofin"))
            continue;
        const char *ev = json_object_get_string(pv_json_member(e, "event_id"));
        if (first == NULL)
            first = ev;
        assert_string_equal(ev, first);
    }
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 1);
    assert_int_equal(sim_payments(s, "SIPAY"), 1);
    assert_int_equal(sim_stat(s, "PAYOFIN", "double_payment_attempts"), 0);
    assert_int_equal(sim_stat(s, "SIPAY", "double_payment_attempts"), 0);
    for (int i = 0; i < 5; i++)
        free(cmds[i]);
    for (int i = 0; i < 10; i++)
        free(again[i]);
    stack_down(s);
    it_test_pass();
}

/* Eleven kinds of malformed commands: each REJECTED with a reason and copied
 * to the dead-letter topic, naming the command where it was readable; the
 * worker goes on with the next command. */
static void test_worker_rejects_malformed(void **state)
{
    stack *s = *state;
    stack_up(s);
    worker_up(s, 0);
    const char *bad[] = {
        "hello, not json",
        "{\"command_id\": \"t1\", \"provider\": \"PAYOFIN\"",
        "{\"command_id\": \"t2\", \"provider\": \"VISA\", \"created_at\": @NOW, \"request\": {}}",
        "{\"provider\": \"PAYOFIN\", \"created_at\": @NOW, \"request\": {\"invoiceQueryId\": 1}}",
        "{\"command_id\": \"t4\", \"provider\": \"PAYOFIN\", \"created_at\": \"soon\", "
        "\"request\": {\"invoiceQueryId\": 1}}",
        "{\"command_id\": \"t5\", \"provider\": \"PAYOFIN\", \"created_at\": @NOW}",
        "{\"command_id\": \"t6\", \"provider\": \"PAYOFIN\", \"created_at\": @NOW, \"request\": "
        "{\"invoiceQueryId\": \"abc\"}}",
        "{\"command_id\": \"t7\", \"provider\": \"PAYOFIN\", \"created_at\": @NOW, \"request\": "
        "{\"invoiceQueryId\": 700017, \"partialAmount\": 1.5}}",
        "{\"command_id\": \"t8\", \"provider\": \"PAYONE\", \"created_at\": @NOW, \"request\": "
        "{\"invoicesDetails\": [{\"invoiceID\": \"A1\", \"amount\": \"1.00\", \"currency\": "
        "\"840\"}]}}",
        "{\"command_id\": \"t9\", \"provider\": \"ISBANK\", \"created_at\": @NOW, \"request\": "
        "{\"service_id\": 10065, \"payment_reference\": \"R-9\", \"amount\": 950, "
        "\"currency_code\": \"TRY\", \"basic_input_values\": [{\"name\": \"SubscriberName\", "
        "\"value\": \"Ayşe\"}, {\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"12ab\"}]}}",
        /* issue 11: this paid the whole invoice */
        "{\"command_id\": \"t10\", \"provider\": \"PAYOFIN\", \"created_at\": @NOW, "
        "\"request\": {\"invoiceQueryId\": 700017, \"partial_amount\": 1}}",
    };
    enum { NBAD = sizeof(bad) / sizeof(bad[0]) };
    char *good = command("after-bad", "PAYWALL", "{\"paymentid\": 123456}");
    const char *all[NBAD + 1];
    char *stamped[NBAD];
    for (int i = 0; i < NBAD; i++)
        all[i] = stamped[i] = stamp_now(bad[i]);
    all[NBAD] = good;
    send_lines(s, all, NBAD + 1, 1);
    for (int i = 0; i < NBAD; i++)
        free(stamped[i]);
    json_object *res = tail(s, "results", NBAD + 1, 60000);
    assert_int_equal(count_status(res, NULL, "REJECTED"), NBAD);
    assert_int_equal(count_status(res, "after-bad", "SUCCEEDED"), 1);
    int named = 0;
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        json_object *e = json_object_array_get_idx(res, i);
        const char *id = json_object_get_string(pv_json_member(e, "command_id"));
        const char *provider = json_object_get_string(pv_json_member(e, "provider"));
        if (strcmp(json_object_get_string(pv_json_member(e, "status")), "REJECTED") == 0)
            assert_true(strlen(json_object_get_string(pv_json_member(e, "reason"))) > 10);
        if (strcmp(id, "t9") == 0) {
            json_object *fe = pv_json_member(e, "field_errors");
            assert_true(json_object_array_length(fe) >= 1); /* İş Bankası: per field */
        }
        /* refused by the codec, yet the result names the command */
        if (strcmp(id, "t4") == 0 || strcmp(id, "t5") == 0 || strcmp(id, "t10") == 0) {
            assert_non_null(provider);
            assert_string_equal(provider, "PAYOFIN");
            assert_string_equal(json_object_get_string(pv_json_member(e, "operation")),
                                "invoicepayment");
            named++;
        }
        if (strcmp(id, "t10") == 0) {
            assert_non_null(strstr(json_object_get_string(pv_json_member(e, "reason")),
                                   "request.partial_amount: unknown field (did you mean "
                                   "partialAmount?)"));
            json_object *fe = pv_json_member(e, "field_errors");
            assert_int_equal(json_object_array_length(fe), 1);
        }
    }
    assert_int_equal(named, 3);
    json_object_put(res);
    json_object *dlq = tail(s, "dlq", NBAD, 30000);
    int t10 = 0;
    for (size_t i = 0; i < json_object_array_length(dlq); i++) {
        json_object *h = pv_json_member(json_object_array_get_idx(dlq, i), "headers");
        assert_true(strlen(json_object_get_string(pv_json_member(h, "payw-reason"))) > 10);
        if (strcmp(json_object_get_string(pv_json_member(h, "payw-command-id")), "t10") == 0) {
            assert_string_equal(json_object_get_string(pv_json_member(h, "payw-field")),
                                "request.partial_amount");
            t10++;
        }
    }
    assert_int_equal(t10, 1);
    json_object_put(dlq);
    assert_int_equal(sim_payments(s, NULL), 0);
    free(good);
    stack_down(s);
    it_test_pass();
}

/* kill -9 of a worker while the provider holds its payment: the restarted
 * fleet never pays again, publishes UNKNOWN, and payctl resolve settles it. */
static void test_worker_kill9_unknown_then_resolve(void **state)
{
    stack *s = *state;
    char path[512], err[4096];
    int n;
    stack_up(s);
    worker_up(s, 0);
    sim_faults(s, "{\"provider\": \"PAYOFIN\", \"rate_blackhole\": 1, \"only_payments\": true}");
    char *cmd = command("k9-1", "PAYOFIN", "{\"invoiceQueryId\": 700017}");
    const char *one[] = {cmd};
    send_lines(s, one, 1, 0);
    /* wait until the provider has processed it without answering */
    int paid = 0;
    for (int i = 0; i < 300 && !paid; i++) {
        paid = sim_payments(s, "PAYOFIN") == 1;
        if (!paid)
            it_sleep_ms(50);
    }
    assert_true(paid);
    it_stop(&s->w[0], SIGKILL, 5000);
    s->w[0].pid = 0;
    sim_faults(s, "{\"provider\": \"ALL\"}");
    worker_up(s, 1); /* the command is consumed again: never committed */
    json_object *res = tail(s, "results", 1, 60000);
    assert_int_equal(count_status(res, "k9-1", "UNKNOWN"), 1);
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 1); /* never paid again */
    assert_int_equal(sim_stat(s, "PAYOFIN", "double_payment_attempts"), 0);

    it_build_path(path, sizeof(path), "worker/payctl");
    char line[1][LINE];
    char *resolve[] = {path,
                       "resolve",
                       "PAYOFIN",
                       "700017",
                       "--paid",
                       "--reason",
                       "Payofin confirmed the payment",
                       "--yes", /* unattended: no terminal to confirm on */
                       "--redis",
                       s->redis_url,
                       NULL};
    assert_int_equal(it_run(resolve, NULL, &line[0][0], LINE, 1, &n, err, sizeof(err), 20000), 0);
    assert_non_null(strstr(line[0], "\"status\":\"DONE\""));
    char *lookup[] = {path, "lookup", "PAYOFIN", "700017", "--redis", s->redis_url, NULL};
    assert_int_equal(it_run(lookup, NULL, &line[0][0], LINE, 1, &n, err, sizeof(err), 20000), 0);
    assert_non_null(strstr(line[0], "\"resolved_reason\":\"Payofin confirmed the payment\""));
    /* a new command for the invoice is now a duplicate, not a payment */
    char *cmd2 = command("k9-2", "PAYOFIN", "{\"invoiceQueryId\": 700017}");
    const char *two[] = {cmd2};
    send_lines(s, two, 1, 0);
    res = tail(s, "results", 2, 60000);
    assert_int_equal(count_status(res, "k9-2", "DUPLICATE"), 1);
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 1);
    free(cmd);
    free(cmd2);
    stack_down(s);
    it_test_pass();
}

/* Redis stopped for 5 s: no provider call without a claim; then recovery
 * with nothing lost. */
static void test_worker_redis_outage(void **state)
{
    stack *s = *state;
    char url[96];
    long code;
    stack_up(s);
    worker_up(s, 0);
    char *warm = command("warm-1", "PAYWALL", "{\"paymentid\": 123456}");
    const char *w1[] = {warm};
    send_lines(s, w1, 1, 0);
    json_object_put(tail(s, "results", 1, 60000));
    int64_t before = sim_stat(s, "PAYOFIN", "requests");

    it_stop(&s->redis, SIGTERM, 10000);
    s->redis.pid = 0;
    char *cmds[3];
    cmds[0] = command("r-1", "PAYOFIN", "{\"invoiceQueryId\": 700017}");
    json_object *inv = sim_get(s, "/_sim/invoices?provider=PAYOFIN");
    json_object *list = pv_json_member(inv, "invoices");
    char req[128];
    snprintf(req, sizeof(req), "{\"invoiceQueryId\": %lld}",
             (long long)json_object_get_int64(
                 pv_json_member(json_object_array_get_idx(list, 2), "invoiceQueryId")));
    cmds[1] = command("r-2", "PAYOFIN", req);
    snprintf(req, sizeof(req), "{\"invoiceQueryId\": %lld}",
             (long long)json_object_get_int64(
                 pv_json_member(json_object_array_get_idx(list, 3), "invoiceQueryId")));
    cmds[2] = command("r-3", "PAYOFIN", req);
    json_object_put(inv);
    send_lines(s, (const char *const *)cmds, 3, 0);
    it_sleep_ms(5000);
    assert_int_equal(sim_stat(s, "PAYOFIN", "requests"), before); /* no call without a claim */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", s->metrics_port[0]);
    char *ready = http(url, NULL, &code);
    assert_int_equal(code, 503);
    assert_non_null(strstr(ready, "redis"));
    free(ready);

    start_redis(s); /* same port */
    json_object *res = tail(s, "results", 4, 60000);
    assert_int_equal(count_status(res, "r-", "SUCCEEDED"), 3);
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 3);
    for (int i = 0; i < 3; i++)
        free(cmds[i]);
    free(warm);
    stack_down(s);
    it_test_pass();
}

/* Every command produced gets a result event: a count check with two
 * workers (PAYW_ITEST_COUNT, default 10000). */
static void test_worker_count_check(void **state)
{
    stack *s = *state;
    const char *env = getenv("PAYW_ITEST_COUNT");
    int n = env != NULL ? (int)strtol(env, NULL, 10) : 10000;
    stack_up(s);
    worker_up(s, 0);
    worker_up(s, 1);
    json_object *inv = sim_get(s, "/_sim/invoices?provider=PAYWALL");
    json_object *list = pv_json_member(inv, "payments");
    size_t ninv = json_object_array_length(list);
    assert_true(ninv > 0);
    char **cmds = malloc((size_t)n * sizeof(*cmds));
    for (int i = 0; i < n; i++) {
        char id[32], req[96];
        json_object *one = json_object_array_get_idx(list, (size_t)i % ninv);
        snprintf(id, sizeof(id), "cnt-%d", i);
        snprintf(req, sizeof(req), "{\"paymentid\": %lld}",
                 (long long)json_object_get_int64(pv_json_member(one, "paymentid")));
        cmds[i] = command(id, "PAYWALL", req);
    }
    json_object_put(inv);
    send_lines(s, (const char *const *)cmds, n, 0);
    json_object *res = tail(s, "results", n, 240000);
    int settled = 0;
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        const char *st =
            json_object_get_string(pv_json_member(json_object_array_get_idx(res, i), "status"));
        settled += strcmp(st, "SUCCEEDED") == 0 || strcmp(st, "DUPLICATE") == 0;
    }
    assert_int_equal(settled, n);
    json_object_put(res);
    for (int i = 0; i < n; i++)
        free(cmds[i]);
    free(cmds);
    stack_down(s);
    it_test_pass();
}

/* A commands topic with more partitions than the worker's first table held
 * (1,024: the rest were refused at assignment and never consumed, issue 11):
 * a command on its last partition is answered like one on its first. */
static void test_worker_many_partitions(void **state)
{
    stack *s = *state;
    setenv("PAYW_STACK_COMMANDS_PARTITIONS", "1100", 1);
    stack_up(s);
    unsetenv("PAYW_STACK_COMMANDS_PARTITIONS");
    json_object *pw = sim_get(s, "/_sim/invoices?provider=PAYWALL");
    char *cmds[2];
    for (int i = 0; i < 2; i++) {
        json_object *one = json_object_array_get_idx(pv_json_member(pw, "payments"), (size_t)i);
        char req[96];
        snprintf(req, sizeof(req), "{\"paymentid\": %lld}",
                 (long long)json_object_get_int64(pv_json_member(one, "paymentid")));
        cmds[i] = command(i == 0 ? "part-0" : "part-1099", "PAYWALL", req);
    }
    json_object_put(pw);
    char *first = cmds[0], *last = cmds[1];
    produce_at(s, 0, (const char *const *)&first, NULL, 1);
    produce_at(s, 1099, (const char *const *)&last, NULL, 1);
    worker_up(s, 0);
    json_object *res = tail(s, "results", 2, 60000);
    assert_int_equal(json_object_array_length(res), 2);
    int seen = 0;
    for (size_t i = 0; i < 2; i++) {
        json_object *r = json_object_array_get_idx(res, i);
        const char *id = json_object_get_string(pv_json_member(r, "command_id"));
        seen |= strcmp(id, "part-0") == 0 ? 1 : strcmp(id, "part-1099") == 0 ? 2 : 0;
        assert_string_equal(json_object_get_string(pv_json_member(r, "status")), "SUCCEEDED");
    }
    assert_int_equal(seen, 3);
    json_object_put(res);
    free(first);
    free(last);
    stack_down(s);
    it_test_pass();
}

/* A command stuck at the head of its partitions (a slow provider) while the
 * later ones complete fills each partition's offset window: the worker pauses
 * the partition and reads it again from the first message it could not
 * take. Messages consumed in the same batch as that one must not be taken
 * (they come again): every command gets exactly one result, none is lost. */
static void test_worker_window_overrun(void **state)
{
    stack *s = *state;
    enum { SLOW = 12, FAST = 3000 };
    stack_up(s);
    env_set(s, "PAYW_MAX_INFLIGHT", "64"); /* backlog 256, window 512 a partition */
    sim_faults(s, "{\"provider\": \"PAYOFIN\", \"latency_ms\": 8000, \"only_payments\": true}");
    json_object *po = sim_get(s, "/_sim/invoices?provider=PAYOFIN");
    json_object *pw = sim_get(s, "/_sim/invoices?provider=PAYWALL");
    json_object *pol = pv_json_member(po, "invoices"), *pwl = pv_json_member(pw, "payments");
    assert_true(json_object_array_length(pol) > SLOW && json_object_array_length(pwl) > 0);
    char **cmds = malloc((SLOW + FAST) * sizeof(*cmds));
    for (int i = 0; i < SLOW + FAST; i++) {
        char id[32], req[96];
        if (i < SLOW) {
            json_object *one = json_object_array_get_idx(pol, (size_t)i + 1);
            snprintf(req, sizeof(req), "{\"invoiceQueryId\": %lld}",
                     (long long)json_object_get_int64(pv_json_member(one, "invoiceQueryId")));
        } else {
            json_object *one =
                json_object_array_get_idx(pwl, (size_t)(i - SLOW) % json_object_array_length(pwl));
            snprintf(req, sizeof(req), "{\"paymentid\": %lld}",
                     (long long)json_object_get_int64(pv_json_member(one, "paymentid")));
        }
        snprintf(id, sizeof(id), "ovr-%d", i);
        cmds[i] = command(id, i < SLOW ? "PAYOFIN" : "PAYWALL", req);
    }
    json_object_put(po);
    json_object_put(pw);
    /* all on the topic first, and all in partition 0: its window certainly
     * overruns behind the slow heads (with the messages spread over the
     * partitions by key, whether one partition got more than a window's
     * worth decided the test) */
    produce_at(s, 0, (const char *const *)cmds, NULL, SLOW + FAST);
    worker_up(s, 0);
    json_object *res = tail(s, "results", SLOW + FAST, 180000);
    assert_int_equal(json_object_array_length(res), SLOW + FAST);
    char *seen = calloc(SLOW + FAST, 1);
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        const char *id =
            json_object_get_string(pv_json_member(json_object_array_get_idx(res, i), "command_id"));
        int k = (int)strtol(id + 4, NULL, 10);
        assert_true(k >= 0 && k < SLOW + FAST);
        assert_int_equal(seen[k], 0); /* one result each */
        seen[k] = 1;
    }
    /* the path under test ran: the worker said so */
    FILE *f = fopen(s->w[0].log_path, "r");
    char line[2048];
    int overruns = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        overruns += strstr(line, "offset window full") != NULL;
    if (f != NULL)
        fclose(f);
    assert_true(overruns > 0);
    free(seen);
    json_object_put(res);
    for (int i = 0; i < SLOW + FAST; i++)
        free(cmds[i]);
    free(cmds);
    stack_down(s);
    it_test_pass();
}

/* The other outcome paths: 429s retried with back-off then FAILED, a command
 * past expires_at answered EXPIRED without a call, and refused credentials
 * stopping the provider with /readyz saying why. */
static void test_worker_retry_expired_fatal(void **state)
{
    stack *s = *state;
    char url[96];
    long code;
    stack_up(s);
    env_set(s, "PAYW_RETRY_MAX_ATTEMPTS", "3");
    env_set(s, "PAYW_RETRY_BASE_MS", "50");
    env_set(s, "PAYW_PAYONE_AUTHENTICATION_TOKEN", "not-the-token");
    worker_up(s, 0);
    sim_faults(s, "{\"provider\": \"PAYWALL\", \"rate_429\": 1}");
    char *retry = command("o-retry", "PAYWALL", "{\"paymentid\": 123456}");
    char *expired = malloc(512);
    snprintf(expired, 512,
             "{\"command_id\": \"o-expired\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"expires_at\": 2, \"request\": {\"invoiceQueryId\": 700017}}",
             wall_ms());
    const char *cmds[] = {retry, expired};
    send_lines(s, cmds, 2, 0);
    json_object *res = tail(s, "results", 2, 60000);
    assert_int_equal(count_status(res, "o-retry", "FAILED"), 1);
    assert_int_equal(count_status(res, "o-expired", "EXPIRED"), 1);
    for (size_t i = 0; i < 2; i++) {
        json_object *e = json_object_array_get_idx(res, i);
        if (strcmp(json_object_get_string(pv_json_member(e, "command_id")), "o-retry") == 0)
            assert_int_equal(json_object_get_int64(pv_json_member(e, "attempts")), 3);
    }
    json_object_put(res);
    assert_int_equal(sim_stat(s, "PAYWALL", "requests"), 3);
    assert_int_equal(sim_stat(s, "PAYOFIN", "requests"), 0); /* expired: never called */

    /* PayOne answers 00022 (invalid token): FATAL, provider stopped */
    char *req = contract_request("payone");
    char *fatal = command("o-fatal", "PAYONE", req);
    const char *f1[] = {fatal};
    send_lines(s, f1, 1, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", s->metrics_port[0]);
    char *ready = NULL;
    for (int i = 0; i < 200; i++) {
        free(ready);
        ready = http(url, NULL, &code);
        if (code == 503 && ready != NULL && strstr(ready, "PAYONE stopped") != NULL)
            break;
        it_sleep_ms(100);
    }
    assert_int_equal(code, 503);
    assert_non_null(strstr(ready, "PAYONE stopped"));
    free(ready);
    assert_int_equal(sim_payments(s, "PAYONE"), 0);
    /* the held command is unanswered: the drain says so (exit 3) */
    assert_int_equal(it_stop(&s->w[0], SIGTERM, 30000), 3);
    s->w[0].pid = 0;
    free(retry);
    free(expired);
    free(req);
    free(fatal);
    stack_down(s);
    it_test_pass();
}

/* With PAYW_SCHEMA_REGISTRY_URL the worker registers its schemas and uses the
 * registry's ids (from 100 in tests/tools/registry_sim.py): a consumer
 * reading through the registry decodes its results, one without it cannot
 * (the worker used to write the local ids 1-3 whatever the setting). */
static void test_worker_schema_registry(void **state)
{
    stack *s = *state;
    char url[64], path[512], err[8192];
    static char lines[4][LINE];
    int n;
    it_proc reg;
    stack_up(s); /* first: its it_test_begin() forgets the logs spawned before */
    it_start_registry(&reg, url, sizeof(url));
    env_set(s, "PAYW_SCHEMA_REGISTRY_URL", url);
    worker_up(s, 0);
    char *cmd = command("reg-1", "PAYWALL", "{\"paymentid\": 123456}");
    char file[512];
    snprintf(file, sizeof(file), "%s/reg.jsonl", s->dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", cmd);
    fclose(f);
    it_build_path(path, sizeof(path), "worker/payctl");
    char *send[] = {path, "send", "-q", "-b", s->bootstrap, "--registry", url, file, NULL};
    assert_int_equal(it_run(send, NULL, NULL, 0, 0, &n, err, sizeof(err), 60000), 0);
    char *with[] = {path, "tail", "-b", s->bootstrap, "--registry", url, "-B",
                    "-n", "1",    "-w", "30000",      "results",    NULL};
    assert_int_equal(it_run(with, NULL, &lines[0][0], LINE, 1, &n, err, sizeof(err), 60000), 0);
    assert_int_equal(n, 1);
    json_object *ev = tu_json(lines[0]);
    assert_string_equal(json_object_get_string(pv_json_member(ev, "command_id")), "reg-1");
    json_object_put(ev);
    char *bare[] = {path, "tail", "-b",    s->bootstrap, "-B", "-n",
                    "1",  "-w",   "15000", "results",    NULL};
    assert_int_equal(it_run(bare, NULL, &lines[0][0], LINE, 1, &n, err, sizeof(err), 60000), 1);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "schema_id: 10"));
    free(cmd);
    stack_down(s);
    assert_int_equal(it_stop(&reg, SIGTERM, 10000), 0);
    it_test_pass();
}

/* A command's traceparent header comes back on its result event. */
static void test_worker_traceparent(void **state)
{
    stack *s = *state;
    static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    stack_up(s);
    worker_up(s, 0);
    char *cmd = command("tp-1", "PAYWALL", "{\"paymentid\": 123456}");
    rd_kafka_t *prod = it_kafka_new(RD_KAFKA_PRODUCER, it_kafka_conf(s->bootstrap, NULL));
    assert_int_equal(rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(s->t_commands),
                                       RD_KAFKA_V_KEY("PAYWALL:123456", 14),
                                       RD_KAFKA_V_VALUE(cmd, strlen(cmd)),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_HEADER("traceparent", tp, -1), RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_flush(prod, 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(prod);

    static const char *const ckv[] = {"group.id", "tp-reader", "auto.offset.reset", "earliest",
                                      NULL};
    rd_kafka_t *cons = it_kafka_new(RD_KAFKA_CONSUMER, it_kafka_conf(s->bootstrap, ckv));
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, s->t_results, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(cons, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    int found = 0;
    int64_t deadline = it_now_ms() + 60000;
    while (!found && it_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 200);
        if (m == NULL)
            continue;
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t len;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(h, "traceparent", &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            assert_int_equal(len, strlen(tp));
            assert_memory_equal(v, tp, len);
            found = 1;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    assert_true(found);
    free(cmd);
    stack_down(s);
    it_test_pass();
}

/* valgrind: no memory error and no leak after a drained shutdown, with
 * payments, replays, a duplicate and a rejection on the way (normal build
 * only: sanitizer builds cannot run under valgrind). */
static void test_worker_valgrind_drained_shutdown(void **state)
{
    stack *s = *state;
    if (strstr(it_build_dir(), "asan") != NULL) {
        print_message("skipped: sanitizer build\n");
        return;
    }
    stack_up(s);
    worker_up_with(s, 0, 1);
    char *a = command("vg-1", "PAYOFIN", "{\"invoiceQueryId\": 700017}");
    char *req = contract_request("sipay");
    char *b = command("vg-2", "SIPAY", req);
    char *c = command("vg-3", "SIPAY", req);
    const char *cmds[] = {a, a, b, c, "not a command"};
    send_lines(s, cmds, 5, 1);
    json_object *res = tail(s, "results", 5, 120000);
    assert_int_equal(count_status(res, "vg-", "DUPLICATE") + count_status(res, "vg-", "SUCCEEDED"),
                     4);
    json_object_put(res);
    assert_int_equal(it_stop(&s->w[0], SIGTERM, 60000), 0); /* 97: valgrind found something */
    s->w[0].pid = 0;
    free(a);
    free(b);
    free(c);
    free(req);
    stack_down(s);
    it_test_pass();
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (getenv("PAYW_ITEST_FILTER") != NULL) /* e.g. "*overrun*": one test */
        cmocka_set_test_filter(getenv("PAYW_ITEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_worker_five_providers_and_no_double_payment,
                                        stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_rejects_malformed, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_kill9_unknown_then_resolve, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_redis_outage, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_count_check, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_window_overrun, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_many_partitions, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_retry_expired_fatal, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_schema_registry, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_traceparent, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_worker_valgrind_drained_shutdown, stack_setup,
                                        stack_teardown),
    };
    int rc = cmocka_run_group_tests_name("worker", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
