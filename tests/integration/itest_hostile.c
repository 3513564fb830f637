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

#include "pv_text.h"
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
static json_object *dlq_first(stack *s, int timeout_ms)
{
    char path[512], wait[16], out[600];
    snprintf(wait, sizeof(wait), "%d", timeout_ms);
    snprintf(out, sizeof(out), "%s/dlq.jsonl", s->dir);
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path, "tail", "-b", s->bootstrap, "-B", "-n", "1", "-w", wait, "dlq", NULL};
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
            rd_kafka_producev(prod, RD_KAFKA_V_TOPIC("payments.commands"), RD_KAFKA_V_PARTITION(0),
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
    json_object *d = dlq_first(s, 30000);
    size_t n = strlen(json_object_get_string(pv_json_member(d, "payload_text")));
    assert_true(n < 1000000 && n > 900000);
    assert_string_equal(
        json_object_get_string(pv_json_member(pv_json_member(d, "headers"), "payw-truncated-from")),
        "1010000");
    json_object_put(d);
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
    };
    if (getenv("PAYW_ITEST_FILTER") != NULL) /* e.g. "*too_large*": one test */
        cmocka_set_test_filter(getenv("PAYW_ITEST_FILTER"));
    int rc = cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
