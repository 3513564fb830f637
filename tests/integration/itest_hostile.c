/* itest_hostile.c -- nothing vanishes or stalls (issue 11): bytes that are
 * not UTF-8 in a command, in a provider's answer or in the worker's own
 * settings still give every command a result, and the next command on the
 * same partition is answered. Before issue 11 each of these left a result
 * the codec could not encode: no result, no DLQ copy, and the partition
 * never committed past it. Each test runs a private stack (teststack.h). */
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pv_utf8.h"
#include "teststack.h"

/* A Payofin invoice of the simulator's (the k-th), as its query id. */
static long long payofin_invoice(stack *s, int k)
{
    json_object *po = sim_get(s, "/_sim/invoices?provider=PAYOFIN");
    json_object *one = json_object_array_get_idx(pv_json_member(po, "invoices"), (size_t)k);
    assert_non_null(one);
    long long q = (long long)json_object_get_int64(pv_json_member(one, "invoiceQueryId"));
    json_object_put(po);
    return q;
}

/* Every string of every event is UTF-8 (payctl tail decoded them) and the
 * reasons of the rejected ones are long enough to name something. */
static void assert_reasons(json_object *res)
{
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        json_object *e = json_object_array_get_idx(res, i);
        const char *reason = json_object_get_string(pv_json_member(e, "reason"));
        if (strcmp(json_object_get_string(pv_json_member(e, "status")), "REJECTED") == 0) {
            assert_non_null(reason);
            assert_true(strlen(reason) > 10);
        }
        if (reason != NULL)
            assert_true(pv_utf8_valid(reason, strlen(reason)));
    }
}

/* Commands with bytes that are not UTF-8 where text is expected, one after
 * another on one partition with one call slot, then a good one. */
static void test_hostile_commands_one_partition(void **state)
{
    stack *s = *state;
    stack_up(s);
    env_set(s, "PAYW_MAX_INFLIGHT", "1");
    long long q = payofin_invoice(s, 1);
    char good[512], sh[1024], badid[256], dup[512];
    /* 40 x "Ş" as the invoice's query id: the error quote was cut at 64
     * bytes in the middle of a character */
    char shin[81];
    for (int i = 0; i < 40; i++)
        memcpy(shin + 2 * i, "\xc5\x9e", 2);
    shin[80] = '\0';
    snprintf(sh, sizeof(sh),
             "{\"command_id\": \"h-sh\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": \"%s\"}}",
             wall_ms(), shin);
    snprintf(badid, sizeof(badid),
             "{\"command_id\": \"h-\xff\xfe\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": %lld}}",
             wall_ms(), q);
    snprintf(dup, sizeof(dup),
             "{\"command_id\": \"h-dup\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": %lld, \"invoiceQueryId\": 1}}",
             wall_ms(), q);
    snprintf(good, sizeof(good),
             "{\"command_id\": \"h-good\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": %lld}}",
             wall_ms(), q);
    static const char noise[] = "\x7f\xff\x13\x80\xfe garbage \xc3";
    const char *msgs[] = {noise, badid, sh, dup, good};
    size_t lens[] = {sizeof(noise) - 1, strlen(badid), strlen(sh), strlen(dup), strlen(good)};
    enum { N = 5 };
    produce_at(s, 0, msgs, lens, N);
    worker_up(s, 0);
    json_object *res = tail(s, "results", N, 60000);
    assert_int_equal(json_object_array_length(res), N);
    assert_int_equal(count_status(res, NULL, "REJECTED"), N - 1);
    assert_int_equal(count_status(res, "h-good", "SUCCEEDED"), 1);
    assert_reasons(res);
    int64_t last_bad = 0, good_at = 0;
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        json_object *e = json_object_array_get_idx(res, i);
        int64_t at = json_object_get_int64(pv_json_member(e, "processed_at"));
        if (strcmp(json_object_get_string(pv_json_member(e, "status")), "REJECTED") == 0)
            last_bad = at > last_bad ? at : last_bad;
        else
            good_at = at;
    }
    /* a figure for the notes (issue 11 asks for under 1 s), not a timed assertion */
    print_message("the good command after the bad ones: answered %lld ms after the last reject\n",
                  (long long)(good_at - last_bad));
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        json_object *e = json_object_array_get_idx(res, i);
        const char *id = json_object_get_string(pv_json_member(e, "command_id"));
        const char *reason = json_object_get_string(pv_json_member(e, "reason"));
        if (strcmp(id, "h-dup") == 0)
            assert_non_null(strstr(reason, "invoiceQueryId"));
        if (strcmp(id, "h-sh") == 0)
            assert_non_null(strstr(reason, "invoiceQueryId"));
    }
    json_object_put(res);
    json_object *dlq = tail(s, "dlq", N - 1, 30000);
    assert_int_equal(json_object_array_length(dlq), N - 1);
    json_object_put(dlq);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 1); /* h-good only */
    stack_down(s);
    it_test_pass();
}

/* A paid call whose answer is not UTF-8 (the simulator's badtext fault puts
 * ff fe into its message) is SUCCEEDED, the bytes read as U+FFFD and said
 * so; the next command on the partition is answered. */
static void test_hostile_provider_text(void **state)
{
    stack *s = *state;
    stack_up(s);
    env_set(s, "PAYW_MAX_INFLIGHT", "1");
    sim_faults(s, "{\"provider\": \"PAYOFIN\", \"rate_badtext\": 1, \"only_payments\": true}");
    char a[512], b[512];
    snprintf(a, sizeof(a),
             "{\"command_id\": \"bt-1\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": %lld}}",
             wall_ms(), payofin_invoice(s, 1));
    snprintf(b, sizeof(b),
             "{\"command_id\": \"bt-2\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": %lld}}",
             wall_ms(), payofin_invoice(s, 2));
    const char *msgs[] = {a, b};
    size_t lens[] = {strlen(a), strlen(b)};
    produce_at(s, 0, msgs, lens, 2);
    worker_up(s, 0);
    json_object *res = tail(s, "results", 2, 60000);
    assert_int_equal(json_object_array_length(res), 2);
    assert_int_equal(count_status(res, "bt-", "SUCCEEDED"), 2);
    assert_reasons(res);
    for (size_t i = 0; i < 2; i++) {
        json_object *e = json_object_array_get_idx(res, i);
        const char *msg = json_object_get_string(pv_json_member(e, "provider_message"));
        const char *reason = json_object_get_string(pv_json_member(e, "reason"));
        assert_non_null(msg);
        assert_non_null(strstr(msg, "\xef\xbf\xbd")); /* U+FFFD where ff fe was */
        assert_non_null(reason);
        assert_non_null(strstr(reason, "U+FFFD"));
    }
    json_object_put(res);
    assert_int_equal(sim_payments(s, "PAYOFIN"), 2);
    assert_int_equal(sim_stat(s, "PAYOFIN", "double_payment_attempts"), 0);
    stack_down(s);
    it_test_pass();
}

/* The first message of the dead-letter topic as payctl tail shows it
 * (headers, payload_text). Its line is a megabyte: payctl writes to a file
 * (it_run reads lines of a few KiB). */
static json_object *dlq_first(stack *s, int timeout_ms, int meta)
{
    char path[512], wait[16], out[600];
    snprintf(wait, sizeof(wait), "%d", timeout_ms);
    snprintf(out, sizeof(out), "%s/dlq.jsonl", s->dir);
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path, "tail", "-b", s->bootstrap, "-B", "-n",
                    "1",  "-w",   wait, "dlq",        NULL, NULL};
    if (meta) { /* -m: wrapped with topic, partition, offset and key */
        argv[10] = argv[9];
        argv[9] = "-m";
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(126);
        execv(path, argv);
        _exit(127);
    }
    int status = 0;
    int64_t end = it_now_ms() + timeout_ms + 30000;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (it_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("payctl tail dlq: no exit within %d ms", timeout_ms + 30000);
        }
        it_sleep_ms(50);
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    assert_true(getline(&line, &cap, f) > 0);
    fclose(f);
    json_object *o = tu_json(line);
    free(line);
    return o;
}

/* A rejected command over the producer's message.max.bytes (1,000,000):
 * its dead-letter copy was refused as "queue full" and retried every 20 ms
 * forever. Now it goes out cut to fit, with a header giving its length. */
static void test_hostile_dlq_too_large(void **state)
{
    stack *s = *state;
    enum { BIG = 1010000 };
    stack_up(s);
    char *big = malloc(BIG);
    memset(big, 'x', BIG);
    big[0] = '{'; /* JSON that never ends: rejected */
    char good[512];
    snprintf(good, sizeof(good),
             "{\"command_id\": \"big-after\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": %lld}}",
             wall_ms(), payofin_invoice(s, 1));
    const char *kv[] = {"message.max.bytes", "2000000", NULL};
    rd_kafka_t *prod = it_kafka_new(RD_KAFKA_PRODUCER, it_kafka_conf(s->bootstrap, kv));
    const char *msgs[] = {big, good};
    size_t lens[] = {BIG, strlen(good)};
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(s->t_commands), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE((void *)msgs[i], lens[i]),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_flush(prod, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(prod);
    free(big);
    worker_up(s, 0);
    json_object *res = tail(s, "results", 2, 60000);
    assert_int_equal(json_object_array_length(res), 2);
    assert_int_equal(count_status(res, NULL, "REJECTED"), 1);
    assert_int_equal(count_status(res, "big-after", "SUCCEEDED"), 1);
    json_object_put(res);
    json_object *d = dlq_first(s, 30000, 0);
    size_t n = strlen(json_object_get_string(pv_json_member(d, "payload_text")));
    assert_true(n < 1000000 && n > 900000);
    assert_string_equal(
        json_object_get_string(pv_json_member(pv_json_member(d, "headers"), "payw-truncated-from")),
        "1010000");
    json_object_put(d);
    stack_down(s);
    it_test_pass();
}

/* The dead-letter copies keep their message's key byte for byte (a 300-byte
 * key came back as 127 bytes, a key with a NUL was cut), and two different
 * rejected messages are two events (two rejects without a readable
 * command_id shared one event_id). */
static void test_hostile_dlq_keys_and_event_ids(void **state)
{
    stack *s = *state;
    stack_up(s);
    char key[300];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (char)('a' + i % 26);
    key[10] = '\0';
    static const char bad1[] = "not a command", bad2[] = "not a command either";
    rd_kafka_t *prod = it_kafka_new(RD_KAFKA_PRODUCER, it_kafka_conf(s->bootstrap, NULL));
    const char *vals[] = {bad1, bad2};
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(s->t_commands), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_KEY(key, sizeof(key)),
                              RD_KAFKA_V_VALUE((void *)vals[i], strlen(vals[i])),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_flush(prod, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(prod);
    worker_up(s, 0);
    json_object *res = tail(s, "results", 2, 60000);
    assert_int_equal(count_status(res, NULL, "REJECTED"), 2);
    json_object *d = dlq_first(s, 30000, 1);
    json_object *k = pv_json_member(d, "key");
    assert_int_equal(json_object_get_string_len(k), sizeof(key));
    assert_memory_equal(json_object_get_string(k), key, sizeof(key));
    json_object_put(d);
    const char *e0 =
        json_object_get_string(pv_json_member(json_object_array_get_idx(res, 0), "event_id"));
    const char *e1 =
        json_object_get_string(pv_json_member(json_object_array_get_idx(res, 1), "event_id"));
    assert_string_not_equal(e0, e1);
    json_object_put(res);

    stack_down(s);
    it_test_pass();
}

/* A provider answer that echoes the credentials (the simulator's Payofin -22
 * quotes the ApiKey it got) reaches neither /readyz, nor the log. */
static void test_hostile_secret_echoed(void **state)
{
    stack *s = *state;
    static const char secret[] = "wrong-key-7c1d9e";
    stack_up(s);
    env_set(s, "PAYW_PAYOFIN_API_KEY", secret);
    worker_up(s, 0);
    char good[512], url[96];
    snprintf(good, sizeof(good),
             "{\"command_id\": \"sec-1\", \"provider\": \"PAYOFIN\", \"created_at\": %lld, "
             "\"request\": {\"invoiceQueryId\": %lld}}",
             wall_ms(), payofin_invoice(s, 1));
    const char *one[] = {good};
    send_lines(s, one, 1, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", s->metrics_port[0]);
    char *ready = NULL;
    long code = 0;
    for (int i = 0; i < 300; i++) {
        free(ready);
        ready = http(url, NULL, &code);
        if (code == 503 && ready != NULL && strstr(ready, "PAYOFIN stopped") != NULL)
            break;
        it_sleep_ms(100);
    }
    assert_int_equal(code, 503);
    assert_non_null(strstr(ready, "not recognised")); /* the provider's text is there */
    assert_null(strstr(ready, secret));
    free(ready);
    assert_int_equal(it_stop(&s->w[0], SIGTERM, 30000), 3); /* held: unanswered */
    s->w[0].pid = 0;
    FILE *f = fopen(s->w[0].log_path, "r");
    assert_non_null(f);
    char line[4096];
    int lines = 0, leaks = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lines++;
        leaks += strstr(line, secret) != NULL;
    }
    fclose(f);
    assert_true(lines > 0);
    assert_int_equal(leaks, 0);
    stack_down(s);
    it_test_pass();
}

/* A burst to a cold provider over plain HTTP goes out at once: 40 payments
 * to a Payofin that holds every answer for 3 s are all at the provider
 * together (with every call waiting for the first connections to say
 * whether they multiplex, 2 were). */
static void test_hostile_cold_burst_plain_http(void **state)
{
    stack *s = *state;
    enum { N = 40 };
    stack_up(s);
    env_set(s, "PAYW_PAYOFIN_TIMEOUT_MS", "10000");
    sim_faults(s, "{\"provider\": \"PAYOFIN\", \"latency_ms\": 3000, \"only_payments\": true}");
    char *cmds[N];
    for (int i = 0; i < N; i++) {
        char id[32], req[96];
        snprintf(id, sizeof(id), "burst-%d", i);
        snprintf(req, sizeof(req), "{\"invoiceQueryId\": %lld}", payofin_invoice(s, i + 1));
        cmds[i] = command(id, "PAYOFIN", req);
    }
    send_lines(s, (const char *const *)cmds, N, 0);
    worker_up(s, 0);
    int64_t most = 0;
    for (int i = 0; i < 200 && most < N; i++) { /* 20 s at most */
        json_object *st = sim_get(s, "/_sim/stats");
        int64_t held = json_object_get_int64(pv_json_member(st, "held_requests"));
        json_object_put(st);
        most = held > most ? held : most;
        it_sleep_ms(100);
    }
    print_message("most payments held by the provider at once: %lld of %d\n", (long long)most, N);
    assert_true(most >= N * 3 / 4);
    json_object *res = tail(s, "results", N, 60000);
    assert_int_equal(count_status(res, "burst-", "SUCCEEDED"), N);
    json_object_put(res);
    for (int i = 0; i < N; i++)
        free(cmds[i]);
    stack_down(s);
    it_test_pass();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_commands_one_partition, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_provider_text, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_dlq_too_large, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_dlq_keys_and_event_ids, stack_setup,
                                        stack_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_secret_echoed, stack_setup, stack_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_cold_burst_plain_http, stack_setup,
                                        stack_teardown),
    };
    if (getenv("PAYW_ITEST_FILTER") != NULL) /* e.g. "*too_large*": one test */
        cmocka_set_test_filter(getenv("PAYW_ITEST_FILTER"));
    int rc = cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
