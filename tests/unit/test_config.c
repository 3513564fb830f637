/* test_config.c -- the worker's configuration table. */
#include "testutil.h"

#include <event2/event.h>

#include <string.h>
#include <unistd.h>

#include "pw_config.h"
#include "pw_http.h"
#include "pw_store.h"

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; fake_env[i] != NULL; i++)
        if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
            return fake_env[i] + n + 1;
    return NULL;
}

static int load(pw_config *c, const char *const *env, char *errstr, size_t cap)
{
    fake_env = env;
    return pw_config_load(c, fake_getenv, errstr, cap);
}

static void test_config_defaults_and_one_provider(void **state)
{
    (void)state;
    static const char *const env[] = {"PAYW_PAYOFIN_URL=http://127.0.0.1:1",
                                      "PAYW_PAYOFIN_API_KEY=k", "PAYW_PAYOFIN_SECRET_KEY=s", NULL};
    pw_config c;
    char err[512];
    if (load(&c, env, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.brokers, "127.0.0.1:9092");
    assert_string_equal(c.topic_commands, "payments.commands");
    assert_int_equal(c.max_inflight, 1024);
    assert_int_equal(c.retention_s, 604800);
    pw_provider_conf *pc = pw_config_provider(&c, &pv_payofin);
    assert_true(pc->enabled);
    assert_false(pw_config_provider(&c, &pv_sipay)->enabled);
    assert_int_equal(pc->timeout_ms, 10000);
    assert_int_equal(pw_config_lock_ttl_ms(&c, pc), 25000);
    assert_string_equal(pc->settings[0], "k");
    assert_non_null(c.worker_id);
    pw_config_free(&c);
}

static void test_config_errors_name_the_variable(void **state)
{
    (void)state;
    static const struct {
        const char *env[6];
        const char *says;
    } cases[] = {
        {{"PAYW_PAYOFIN_URL=http://x", "PAYW_PAYOFIN_API_KEY=k", NULL}, "PAYW_PAYOFIN_SECRET_KEY"},
        {{"PAYW_PAYOFIN_URL=ftp://x", "PAYW_PAYOFIN_API_KEY=k", "PAYW_PAYOFIN_SECRET_KEY=s", NULL},
         "PAYW_PAYOFIN_URL: \"ftp://x\""},
        {{"PAYW_MAX_INFLIGHT=lots", "PAYW_PAYOFIN_URL=http://x", NULL},
         "PAYW_MAX_INFLIGHT: \"lots\""},
        {{"PAYW_MAX_INFLIGHT=0", NULL}, "from 1 to 65536"},
        {{"PAYW_PAYOFIN_TIMEOUT_MS=5", NULL}, "PAYW_PAYOFIN_TIMEOUT_MS"},
        {{"PAYW_LOG_LEVEL=loud", NULL}, "PAYW_LOG_LEVEL: \"loud\""},
        {{"PAYW_PROVIDERS=PAYOFIN,VISA", NULL}, "\"VISA\""},
        {{"PAYW_PROVIDERS=SIPAY", NULL}, "PAYW_SIPAY_URL: unset"},
        {{NULL}, "no provider is configured"},
        {{"PAYW_PAYOFIN_API_KEY_FILE=/nonexistent/k", NULL}, "PAYW_PAYOFIN_API_KEY_FILE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pw_config c;
        char err[512] = "";
        if (load(&c, cases[i].env, err, sizeof(err)) == 0)
            fail_msg("case %zu loaded", i);
        if (strstr(err, cases[i].says) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].says);
    }
}

static void test_config_files_and_redaction(void **state)
{
    (void)state;
    char secret[] = "/tmp/payw-secret-XXXXXX", conf[] = "/tmp/payw-conf-XXXXXX";
    int fd = mkstemp(secret);
    assert_int_equal(write(fd, "s3cr3t-from-file\n", 17), 17);
    close(fd);
    fd = mkstemp(conf);
    const char *text = "# comment\nPAYW_GROUP=from-file\nPAYW_PAYOFIN_URL=https://payofin.test\n"
                       "PAYW_PAYOFIN_API_KEY=key-in-file\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char v1[300], v2[300];
    snprintf(v1, sizeof(v1), "PAYW_PAYOFIN_SECRET_KEY_FILE=%s", secret);
    snprintf(v2, sizeof(v2), "PAYW_CONFIG_FILE=%s", conf);
    const char *env[] = {v1, v2, "PAYW_GROUP=from-env", NULL};
    pw_config c;
    char err[512];
    if (load(&c, env, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.group, "from-env"); /* the environment wins over the file */
    pw_provider_conf *pc = pw_config_provider(&c, &pv_payofin);
    assert_string_equal(pc->settings[0], "key-in-file");
    assert_string_equal(pc->settings[1], "s3cr3t-from-file");

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    pw_config_print(&c, f);
    fclose(f);
    assert_null(strstr(out, "s3cr3t"));
    assert_null(strstr(out, "key-in-file"));
    assert_non_null(strstr(out, "PAYW_PAYOFIN_SECRET_KEY=<redacted>"));
    assert_non_null(strstr(out, "PAYW_GROUP=from-env"));
    free(out);
    pw_config_free(&c);
    unlink(secret);
    unlink(conf);

    f = open_memstream(&out, &len);
    pw_config_print_help(f);
    fclose(f);
    assert_non_null(strstr(out, "PAYW_ISBANK_CLIENT_SECRET"));
    assert_non_null(strstr(out, "PAYW_MAX_INFLIGHT"));
    free(out);
}

/* The store's URL check, for PAYW_REDIS_URL at start-up: NULL-safe, and no
 * message ever shows the password. */
static void test_config_store_url_check(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(pw_store_check_url(NULL, err, sizeof(err)), -1);
    assert_int_equal(pw_store_check_url("redis://127.0.0.1:notaport", err, sizeof(err)), -1);
    assert_string_equal(err, "redis URL \"redis://127.0.0.1:notaport\": port must be 1..65535");
    static const char *const bad[] = {"redis://u:hunter2@h:99999", "redis://:hunter2@[::1:1",
                                      "redis://hunter2@h", "rediss://:hunter2@h",
                                      "redis://:hunter2@h/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pw_store_check_url(bad[i], err, sizeof(err)), -1);
        if (strstr(err, "hunter2") != NULL || strstr(err, "***") == NULL)
            fail_msg("%s: \"%s\"", bad[i], err);
    }
    assert_int_equal(pw_store_check_url("redis://:pw@127.0.0.1:6380/2", err, sizeof(err)), 0);
    assert_int_equal(pw_store_check_url("unix:///tmp/r.sock?db=1", err, sizeof(err)), 0);
    pw_store_url_shown("redis://u:p:w@h:1/0", err, sizeof(err));
    assert_string_equal(err, "redis://u:***@h:1/0");
    pw_store_url_shown(NULL, err, sizeof(err));
    assert_string_equal(err, "(null)");
}

/*---- a URL error that reaches the transport: "not sent" ----*/

typedef struct url_outcome {
    int done, fault, status;
} url_outcome;

static void on_url_done(void *ud, const pw_http_result *r)
{
    url_outcome *o = ud;
    o->done = 1;
    o->fault = r->fault;
    o->status = r->status;
}

static void test_http_url_errors_are_not_sent(void **state)
{
    (void)state;
    static const char *const urls[] = {"http://[::1", "ftp://127.0.0.1:1"};
    struct event_base *base = event_base_new();
    char err[256];
    pw_http *h = pw_http_new(base, NULL, err, sizeof(err));
    assert_non_null(h);
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        pv_request req;
        url_outcome o = {0};
        pv_request_init(&req);
        req.method = "GET";
        snprintf(req.path, sizeof(req.path), "/pay");
        assert_non_null(
            pw_http_send(h, urls[i], &req, 2000, 1000, on_url_done, &o, err, sizeof(err)));
        pv_request_clear(&req);
        for (int k = 0; k < 2000 && !o.done; k++)
            event_base_loop(base, EVLOOP_ONCE);
        assert_int_equal(o.done, 1);
        if (o.fault != PV_FAULT_CONNECT)
            fail_msg("%s: fault %d, not PV_FAULT_CONNECT (nothing was sent)", urls[i], o.fault);
        assert_int_equal(pv_classify_fault(&pv_payofin, (pv_fault)o.fault), PV_OUTCOME_RETRY);
    }
    pw_http_free(h);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_and_one_provider),
        cmocka_unit_test(test_config_errors_name_the_variable),
        cmocka_unit_test(test_config_files_and_redaction),
        cmocka_unit_test(test_config_store_url_check),
        cmocka_unit_test(test_http_url_errors_are_not_sent),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
