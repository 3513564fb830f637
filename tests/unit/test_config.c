/* test_config.c -- the worker's configuration table and its start-up checks.
 *
 * Each rule of pw_config is tried with a bad value and a good one, on top
 * of an environment that is good otherwise: the bad one must be exactly one
 * line naming the variable (and quoting the value, unless it is a secret),
 * the good one must load. The environment is the test's own list, never the
 * process's (which holds the harness's PAYW_BUILD_DIR and the like). */
#include "testutil.h"

#include <event2/event.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pw_config.h"
#include "pw_http.h"
#include "pw_store.h"

#define ENV_MAX 32

/* A provider and its credentials: enough for a load to succeed. */
static const char *const good_env[] = {
    "PAYW_PAYOFIN_URL=http://127.0.0.1:1",
    "PAYW_PAYOFIN_API_KEY=k",
    "PAYW_PAYOFIN_SECRET_KEY=s",
    NULL,
};

/* extra first (the first of a name wins), then good_env. */
static void env_with(const char **out, const char *const *extra)
{
    size_t n = 0;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n + 1 < ENV_MAX; i++)
        out[n++] = extra[i];
    for (size_t i = 0; good_env[i] != NULL && n + 1 < ENV_MAX; i++)
        out[n++] = good_env[i];
    out[n] = NULL;
}

static size_t count_lines(const char *s)
{
    size_t n = s[0] != '\0';
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static void test_config_defaults_and_one_provider(void **state)
{
    (void)state;
    pw_config c;
    char err[512];
    if (pw_config_load(&c, good_env, err, sizeof(err)) != 0)
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
    assert_null(c.errors);
    assert_int_equal(c.nkafka, 0);
    pw_config_free(&c);
}

/* Problems of the table's own checks and the provider settings (the cases
 * that predate the start-up checks), on an environment of their own. */
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
        char err[2048] = "";
        if (pw_config_load(&c, cases[i].env, err, sizeof(err)) == 0)
            fail_msg("case %zu loaded", i);
        if (strstr(err, cases[i].says) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].says);
        pw_config_free(&c);
    }
}

/* One bad setting over a good environment: one line, starting with the
 * variable, saying `says`, never containing `never` (a secret). */
typedef struct bad_case {
    const char *env[4];
    const char *says;
    const char *never;
} bad_case;

static void expect_bad(const bad_case *cases, size_t n, const char *rule)
{
    for (size_t i = 0; i < n; i++) {
        const char *env[ENV_MAX];
        pw_config c;
        char err[2048] = "";
        env_with(env, cases[i].env);
        if (pw_config_load(&c, env, err, sizeof(err)) == 0)
            fail_msg("%s case %zu (%s) loaded", rule, i, cases[i].env[0]);
        if (strstr(err, cases[i].says) == NULL)
            fail_msg("%s case %zu: \"%s\" lacks \"%s\"", rule, i, err, cases[i].says);
        if (count_lines(err) != 1)
            fail_msg("%s case %zu: one problem, %zu lines: \"%s\"", rule, i, count_lines(err), err);
        if (cases[i].never != NULL && strstr(err, cases[i].never) != NULL)
            fail_msg("%s case %zu: \"%s\" shows the secret \"%s\"", rule, i, err, cases[i].never);
        assert_string_equal(err, c.errors);
        pw_config_free(&c);
    }
}

static void expect_good(const char *const *extra, const char *rule)
{
    const char *env[ENV_MAX];
    pw_config c;
    char err[2048] = "";
    env_with(env, extra);
    if (pw_config_load(&c, env, err, sizeof(err)) != 0)
        fail_msg("%s: %s refused: %s", rule, extra[0], err);
    pw_config_free(&c);
}

#define EXPECT_BAD(cases, rule) expect_bad(cases, sizeof(cases) / sizeof(cases[0]), rule)

static void test_config_redis_url(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {{"PAYW_REDIS_URL=redis://127.0.0.1:notaport", NULL},
         "PAYW_REDIS_URL: redis URL \"redis://127.0.0.1:notaport\": port must be 1..65535",
         NULL},
        {{"PAYW_REDIS_URL=redis://:hunter2@127.0.0.1:notaport", NULL},
         "PAYW_REDIS_URL: redis URL \"redis://:***@127.0.0.1:notaport\"",
         "hunter2"},
        {{"PAYW_REDIS_URL=redis://admin:hunter2@[::1:6379", NULL},
         "\"redis://admin:***@[::1:6379\": unclosed '['",
         "hunter2"},
        {{"PAYW_REDIS_URL=redis://hunter2@127.0.0.1", NULL}, "redis://***@127.0.0.1", "hunter2"},
        {{"PAYW_REDIS_URL=rediss://:hunter2@h:6379", NULL}, "TLS", "hunter2"},
        {{"PAYW_REDIS_URL=redis://h:6379/zero", NULL}, "database number", NULL},
        {{"PAYW_REDIS_URL=http://h:6379", NULL},
         "PAYW_REDIS_URL: redis URL \"http://h:6379\"",
         NULL},
        {{"PAYW_REDIS_URL=redis://:hunt\x01er2@h:1", NULL},
         "PAYW_REDIS_URL: \"redis://:***@h:1\"",
         "hunt"},
    };
    EXPECT_BAD(bad, "redis");
    static const char *const good1[] = {"PAYW_REDIS_URL=redis://:pw@127.0.0.1:6380/2", NULL};
    static const char *const good2[] = {"PAYW_REDIS_URL=unix:///tmp/r.sock?db=1", NULL};
    expect_good(good1, "redis");
    expect_good(good2, "redis");

    /* the store's own check, NULL-safe, never the password */
    char err[256];
    assert_int_equal(pw_store_url_check(NULL, err, sizeof(err)), -1);
    assert_int_equal(pw_store_url_check("redis://u:pw@h:99999", err, sizeof(err)), -1);
    assert_null(strstr(err, "pw@"));
    assert_int_equal(pw_store_url_check("redis://h", err, sizeof(err)), 0);
    pw_store_url_shown("redis://u:p:w@h:1/0", err, sizeof(err));
    assert_string_equal(err, "redis://u:***@h:1/0");
    pw_store_url_shown(NULL, err, sizeof(err));
    assert_string_equal(err, "(null)");
}

static void test_config_provider_urls(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {{"PAYW_PAYOFIN_URL=http://[::1", NULL},
         "PAYW_PAYOFIN_URL: \"http://[::1\": not a URL",
         NULL},
        {{"PAYW_PAYOFIN_URL=ftp://127.0.0.1", NULL},
         "PAYW_PAYOFIN_URL: \"ftp://127.0.0.1\": an "
         "http:// or https://",
         NULL},
        {{"PAYW_PAYOFIN_URL=gopherz://h", NULL}, "PAYW_PAYOFIN_URL: \"gopherz://h\"", NULL},
        {{"PAYW_PAYOFIN_URL=payofin.test", NULL}, "PAYW_PAYOFIN_URL: \"payofin.test\"", NULL},
        {{"PAYW_PAYOFIN_URL=http://h:0", NULL}, "\"http://h:0\": the port must be 1..65535", NULL},
        {{"PAYW_PAYOFIN_URL=http://h:70000", NULL}, "PAYW_PAYOFIN_URL: \"http://h:70000\"", NULL},
        {{"PAYW_PAYOFIN_URL=http://u:hunter2@h/", NULL},
         "\"http://***@h/\": a user:password",
         "hunter2"},
        {{"PAYW_PAYOFIN_URL=http://h/api#x", NULL}, "\"http://h/api#x\": a fragment", NULL},
        {{"PAYW_PAYOFIN_URL=http://h/api?x=1", NULL}, "\"http://h/api?x=1\": a query", NULL},
        {{"PAYW_PAYOFIN_URL=http://h/a b", NULL}, "PAYW_PAYOFIN_URL: \"http://h/a b\"", NULL},
        /* a provider not served has its URL checked all the same */
        {{"PAYW_PROVIDERS=PAYOFIN", "PAYW_SIPAY_URL=http://[::1", NULL},
         "PAYW_SIPAY_URL: \"http://[::1\"",
         NULL},
    };
    EXPECT_BAD(bad, "provider URL");
    static const char *const good1[] = {"PAYW_PAYOFIN_URL=https://payofin.test:8443/base/", NULL};
    static const char *const good2[] = {"PAYW_PAYOFIN_URL=http://[::1]:8080", NULL};
    expect_good(good1, "provider URL");
    expect_good(good2, "provider URL");
}

static void test_config_ca_path(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {{"PAYW_CA_PATH=/nonexistent/ca.pem", NULL},
         "PAYW_CA_PATH: \"/nonexistent/ca.pem\": No such file",
         NULL},
        {{"PAYW_CA_PATH=/", NULL}, "PAYW_CA_PATH: \"/\" is not a file", NULL},
    };
    EXPECT_BAD(bad, "CA path");
    char path[] = "/tmp/payw-ca-XXXXXX", var[64];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(var, sizeof(var), "PAYW_CA_PATH=%s", path);
    const char *good[] = {var, NULL};
    expect_good(good, "CA path");
    unlink(path);
}

static void test_config_topics(void **state)
{
    (void)state;
    static char long_topic[300], ok_topic[300];
    snprintf(long_topic, sizeof(long_topic), "PAYW_TOPIC_RESULTS=%0250d", 0);
    snprintf(ok_topic, sizeof(ok_topic), "PAYW_TOPIC_RESULTS=%0249d", 0);
    const bad_case bad[] = {
        {{"PAYW_TOPIC_RESULTS=a b", NULL},
         "PAYW_TOPIC_RESULTS: \"a b\" is not a Kafka topic",
         NULL},
        {{"PAYW_TOPIC_COMMANDS=.", NULL}, "PAYW_TOPIC_COMMANDS: \".\"", NULL},
        {{"PAYW_TOPIC_DLQ=..", NULL}, "PAYW_TOPIC_DLQ: \"..\"", NULL},
        {{"PAYW_TOPIC_BALANCES=pay/ments", NULL}, "PAYW_TOPIC_BALANCES: \"pay/ments\"", NULL},
        {{long_topic, NULL}, "PAYW_TOPIC_RESULTS: \"000", NULL},
        {{"PAYW_TOPIC_DLQ=payments.results", NULL},
         "PAYW_TOPIC_DLQ: \"payments.results\" is the topic of PAYW_TOPIC_RESULTS too",
         NULL},
        {{"PAYW_TOPIC_DLQ=payments_results", NULL}, "'.' and '_'", NULL},
    };
    EXPECT_BAD(bad, "topics");
    const char *good[] = {ok_topic, "PAYW_TOPIC_DLQ=my-dlq_1.x", NULL};
    expect_good(good, "topics");
}

static void test_config_cross_field_rules(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {{"PAYW_RETRY_BASE_MS=20000", NULL},
         "PAYW_RETRY_BASE_MS: \"20000\" is more than PAYW_RETRY_MAX_MS (10000)",
         NULL},
        {{"PAYW_RETRY_BASE_MS=500", "PAYW_RETRY_MAX_MS=499", NULL}, "PAYW_RETRY_BASE_MS", NULL},
        {{"PAYW_PAYOFIN_CONNECT_TIMEOUT_MS=5000", "PAYW_PAYOFIN_TIMEOUT_MS=2000", NULL},
         "PAYW_PAYOFIN_CONNECT_TIMEOUT_MS: \"5000\" is more than PAYW_PAYOFIN_TIMEOUT_MS (2000)",
         NULL},
        {{"PAYW_SIPAY_TENANT_ID=abc", NULL},
         "PAYW_SIPAY_TENANT_ID: \"abc\" is not a whole number",
         NULL},
        {{"PAYW_SIPAY_TENANT_ID=-1", NULL}, "PAYW_SIPAY_TENANT_ID: \"-1\"", NULL},
    };
    EXPECT_BAD(bad, "cross-field");
    static const char *const good1[] = {"PAYW_RETRY_BASE_MS=10000", NULL};
    static const char *const good2[] = {"PAYW_SIPAY_TENANT_ID=42", NULL};
    expect_good(good1, "cross-field");
    expect_good(good2, "cross-field");

    /* the default connect timeout gives way to a shorter call (teststack
     * sets PAYW_PAYOFIN_TIMEOUT_MS=2000 alone) */
    const char *env[ENV_MAX];
    static const char *const shorter[] = {"PAYW_PAYOFIN_TIMEOUT_MS=2000", NULL};
    env_with(env, shorter);
    pw_config c;
    char err[512];
    if (pw_config_load(&c, env, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(pw_config_provider(&c, &pv_payofin)->connect_timeout_ms, 2000);
    assert_int_equal(pw_config_provider(&c, &pv_sipay)->connect_timeout_ms, 3000);
    pw_config_free(&c);
}

static void test_config_text_is_utf8(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {{"PAYW_WORKER_ID=w\xff", NULL}, "PAYW_WORKER_ID: \"w\\xff\" is not UTF-8 text", NULL},
        {{"PAYW_GROUP=a\tb", NULL}, "PAYW_GROUP: \"a\\x09b\"", NULL},
        {{"PAYW_GROUP=a\xc2\x85"
          "b",
          NULL},
         "PAYW_GROUP: \"a\\xc2\\x85b\"",
         NULL},
        {{"PAYW_GROUP=\xc0\xaf", NULL}, "PAYW_GROUP", NULL}, /* overlong */
        {{"PAYW_PAYOFIN_API_KEY=sekrit\x01", NULL},
         "PAYW_PAYOFIN_API_KEY: the value (a secret",
         "sekrit"},
        {{"PAYW_SIPAY_SCOPE=a\x7f", NULL}, "PAYW_SIPAY_SCOPE: \"a\\x7f\"", NULL},
        {{"PAYW_PAYOFIN_URL=http://h/\xff", NULL}, "PAYW_PAYOFIN_URL: \"http://h/\\xff\"", NULL},
        {{"PAYW_PAYOFIN_TIMEOUT_MS=20\xff", NULL}, "PAYW_PAYOFIN_TIMEOUT_MS: \"20\\xff\"", NULL},
    };
    EXPECT_BAD(bad, "text");
    static const char *const good[] = {"PAYW_WORKER_ID=w\xc3\xb6rker-1", "PAYW_GROUP=gr\xc3\xbcp",
                                       NULL};
    expect_good(good, "text");
}

static void test_config_unknown_names(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {{"PAYW_MAX_INFLIGT=3", NULL},
         "PAYW_MAX_INFLIGT: not a payworker setting; did you mean PAYW_MAX_INFLIGHT?",
         NULL},
        {{"PAYW_max_inflight=3", NULL}, "did you mean PAYW_MAX_INFLIGHT?", NULL},
        {{"PAYW_RETRY_MAX_ATTMEPTS=3", NULL}, "did you mean PAYW_RETRY_MAX_ATTEMPTS?", NULL},
        {{"PAYW_PAYOFIN_APIKEY=topsecret", NULL},
         "did you mean PAYW_PAYOFIN_API_KEY?",
         "topsecret"},
        {{"PAYW_PAYOFIN_API_KEY_FIEL=/run/k", NULL},
         "did you mean PAYW_PAYOFIN_API_KEY_FILE?",
         NULL},
        {{"PAYW_NOTHING_LIKE_IT=1", NULL}, "PAYW_NOTHING_LIKE_IT: not a payworker setting (", NULL},
        {{"PAYW_VISA_URL=http://h", NULL}, "PAYW_VISA_URL: not a payworker setting", NULL},
        {{"PAYW_CONFIG_FILE_FILE=/x", NULL}, "PAYW_CONFIG_FILE_FILE", NULL},
    };
    EXPECT_BAD(bad, "names");
    /* the tools' own names, each secret's _FILE, PAYW_CONFIG_FILE */
    char secret[] = "/tmp/payw-secret-XXXXXX", conf[] = "/tmp/payw-conf-XXXXXX", v1[300], v2[300];
    int fd = mkstemp(secret);
    assert_int_equal(write(fd, "s\n", 2), 2);
    close(fd);
    fd = mkstemp(conf);
    close(fd);
    snprintf(v1, sizeof(v1), "PAYW_PAYOFIN_SECRET_KEY_FILE=%s", secret);
    snprintf(v2, sizeof(v2), "PAYW_CONFIG_FILE=%s", conf);
    const char *env[] = {"PAYW_PAYOFIN_URL=http://127.0.0.1:1",
                         "PAYW_PAYOFIN_API_KEY=k",
                         v1,
                         v2,
                         "PAYW_BUILD_DIR=build/x",
                         "PAYW_ITEST_FILTER=*x*",
                         "PAYW_ITEST_COUNT=10",
                         "PAYW_STACK_INVOICES=3",
                         "PAYW_CHAOS_SEED=1",
                         "PAYW_CHAOS_WORKER_ENV=A=B",
                         "PAYW_BENCH_ONLY=1",
                         "PAYW_TEST_ANYTHING=1",
                         "PAYW_FIXTURES=tests/fixtures",
                         "PAYW_GOLDEN_PRINT=1",
                         "NOT_PAYW=1",
                         NULL};
    pw_config c;
    char err[1024];
    if (pw_config_load(&c, env, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    pw_config_free(&c);
    unlink(secret);
    unlink(conf);
}

static void test_config_file_names_and_values(void **state)
{
    (void)state;
    char conf[] = "/tmp/payw-conf-XXXXXX", v[300];
    int fd = mkstemp(conf);
    const char *text = "PAYW_MAX_INFLIGT=3\nPAYW_KAFKA_LINGER_MS=7\nPAYW_KAFKA_CLIENT_ID=file\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(v, sizeof(v), "PAYW_CONFIG_FILE=%s", conf);
    const char *extra[] = {v, "PAYW_KAFKA_CLIENT_ID=env", NULL};
    const char *env[ENV_MAX];
    env_with(env, extra);
    pw_config c;
    char err[1024];
    assert_int_equal(pw_config_load(&c, env, err, sizeof(err)), -1);
    assert_string_equal(err, "PAYW_MAX_INFLIGT: not a payworker setting; did you mean "
                             "PAYW_MAX_INFLIGHT?");
    assert_int_equal(c.nkafka, 2); /* the environment's client.id, the file's linger.ms */
    assert_string_equal(c.kafka[0].var, "PAYW_KAFKA_CLIENT_ID");
    assert_string_equal(c.kafka[0].value, "env");
    assert_string_equal(c.kafka[1].name, "linger.ms");
    assert_string_equal(c.kafka[1].value, "7");
    pw_config_free(&c);
    unlink(conf);
}

static void test_config_kafka_properties(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {{"PAYW_KAFKA_FOO_BAR=1", NULL},
         "PAYW_KAFKA_FOO_BAR: librdkafka has no property foo.bar",
         NULL},
        {{"PAYW_KAFKA_SESION_TIMEOUT_MS=6000", NULL},
         "did you mean PAYW_KAFKA_SESSION_TIMEOUT_MS?",
         NULL},
        {{"PAYW_KAFKA_SESSION_TIMEOUT_MS=abc", NULL},
         "PAYW_KAFKA_SESSION_TIMEOUT_MS: \"abc\" is not a valid session.timeout.ms (1 .. ",
         NULL},
        {{"PAYW_KAFKA_SECURITY_PROTOCOL=bogus", NULL},
         "PAYW_KAFKA_SECURITY_PROTOCOL: \"bogus\" is not a valid security.protocol",
         NULL},
        {{"PAYW_KAFKA_DR_MSG_CB=x", NULL}, "PAYW_KAFKA_DR_MSG_CB: \"x\"", NULL},
        {{"PAYW_KAFKA_SASL_PASSWORD=hunter2\x01", NULL},
         "PAYW_KAFKA_SASL_PASSWORD: the value (a secret",
         "hunter2"},
        {{"PAYW_KAFKA_SASL_PASSWORD_FILE=/run/pw", NULL}, "are not read from files", NULL},
        {{"PAYW_KAFKA_=1", NULL}, "PAYW_KAFKA_: librdkafka has no property", NULL},
    };
    EXPECT_BAD(bad, "kafka");

    /* each property with the client it goes to */
    static const char *const extra[] = {
        "PAYW_KAFKA_SESSION_TIMEOUT_MS=6000",
        "PAYW_KAFKA_LINGER_MS=5",
        "PAYW_KAFKA_CLIENT_ID=w1",
        "PAYW_KAFKA_LOG_LEVEL=6", /* log_level: an '_' of librdkafka's own */
        "PAYW_KAFKA_ACKS=all",    /* a topic property */
        "PAYW_KAFKA_SASL_PASSWORD=hunter2",
        "PAYW_KAFKA_SSL_KEY_PEM=-----BEGIN KEY-----\nAAAA\n-----END KEY-----",
        NULL,
    };
    const char *env[ENV_MAX];
    env_with(env, extra);
    pw_config c;
    char err[1024];
    if (pw_config_load(&c, env, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.nkafka, 7);
    static const struct {
        const char *name;
        pw_kafka_scope scope;
        bool secret;
    } want[] = {
        {"session.timeout.ms", PW_KAFKA_CONSUMER, false},
        {"linger.ms", PW_KAFKA_PRODUCER, false},
        {"client.id", PW_KAFKA_BOTH, false},
        {"log_level", PW_KAFKA_BOTH, false},
        {"acks", PW_KAFKA_PRODUCER, false},
        {"sasl.password", PW_KAFKA_BOTH, true},
        {"ssl.key.pem", PW_KAFKA_BOTH, true},
    };
    for (size_t i = 0; i < c.nkafka; i++) {
        assert_string_equal(c.kafka[i].name, want[i].name);
        assert_int_equal(c.kafka[i].scope, want[i].scope);
        assert_int_equal(c.kafka[i].secret, want[i].secret);
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    pw_config_print(&c, f);
    fclose(f);
    assert_non_null(
        strstr(out, "# session.timeout.ms: consumer\nPAYW_KAFKA_SESSION_TIMEOUT_MS=6000\n"));
    assert_non_null(strstr(out, "# linger.ms: producer\nPAYW_KAFKA_LINGER_MS=5\n"));
    assert_non_null(strstr(out, "# client.id: consumer and producer\nPAYW_KAFKA_CLIENT_ID=w1\n"));
    assert_non_null(strstr(out, "PAYW_KAFKA_SASL_PASSWORD=(set)\n"));
    assert_null(strstr(out, "hunter2"));
    assert_null(strstr(out, "AAAA"));
    free(out);
    pw_config_free(&c);
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
    const char *env[] = {v1, v2, "PAYW_GROUP=from-env",
                         "PAYW_REDIS_URL=redis://:hunter2@127.0.0.1:6379/1", NULL};
    pw_config c;
    char err[512];
    if (pw_config_load(&c, env, err, sizeof(err)) != 0)
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
    assert_null(strstr(out, "hunter2"));
    assert_non_null(strstr(out, "PAYW_PAYOFIN_SECRET_KEY=(set)\n"));
    assert_non_null(strstr(out, "PAYW_SIPAY_CLIENT_SECRET=(unset)\n"));
    assert_non_null(strstr(out, "PAYW_SIPAY_SCOPE=sts_business_api\n")); /* a default */
    assert_non_null(strstr(out, "PAYW_CA_PATH=(unset)\n"));
    assert_non_null(strstr(out, "PAYW_GROUP=from-env\n"));
    assert_non_null(strstr(out, "PAYW_REDIS_URL=redis://:***@127.0.0.1:6379/1\n"));
    assert_non_null(strstr(out, "PAYW_MAX_INFLIGHT=1024\n"));
    char line[400];
    snprintf(line, sizeof(line), "PAYW_CONFIG_FILE=%s\n", conf);
    assert_non_null(strstr(out, line));
    free(out);
    pw_config_free(&c);
    unlink(secret);
    unlink(conf);

    f = open_memstream(&out, &len);
    pw_config_print_help(f);
    fclose(f);
    assert_non_null(strstr(out, "PAYW_ISBANK_CLIENT_SECRET"));
    assert_non_null(strstr(out, "PAYW_MAX_INFLIGHT"));
    assert_non_null(strstr(out, "PAYW_ITEST_"));
    free(out);
}

/* --print-config shows every setting of --help's table, and a bad one as
 * invalid (not the default that stands in for it). */
static void test_config_print_every_setting(void **state)
{
    (void)state;
    static const char *const extra[] = {"PAYW_MAX_INFLIGHT=lots", "PAYW_WORKER_ID=w\xff",
                                        "PAYW_PAYOFIN_URL=http://[::1", NULL};
    const char *env[ENV_MAX];
    env_with(env, extra);
    pw_config c;
    char err[1024];
    assert_int_equal(pw_config_load(&c, env, err, sizeof(err)), -1);
    assert_int_equal(count_lines(err), 3);
    char *out = NULL, *help = NULL;
    size_t len = 0, hlen = 0;
    FILE *f = open_memstream(&out, &len);
    pw_config_print(&c, f);
    fclose(f);
    f = open_memstream(&help, &hlen);
    pw_config_print_help(f);
    fclose(f);
    assert_non_null(strstr(out, "PAYW_MAX_INFLIGHT=(invalid)\n"));
    assert_non_null(strstr(out, "PAYW_WORKER_ID=(invalid)\n"));
    assert_non_null(strstr(out, "PAYW_PAYOFIN_URL=(invalid)\n"));
    assert_null(strstr(out, "\xff"));
    size_t rows = 0;
    for (const char *l = help; (l = strstr(l, "\n  PAYW_")) != NULL; l++) {
        char name[64], want[70];
        if (sscanf(l + 3, "%63[A-Z0-9_]", name) != 1 || l[3 + strlen(name)] != ' ')
            continue; /* PAYW_<PROVIDER>_... */
        snprintf(want, sizeof(want), "\n%s=", name);
        if (strstr(out, want) == NULL)
            fail_msg("--print-config lacks %s", name);
        rows++;
    }
    assert_true(rows > 40);
    free(out);
    free(help);
    pw_config_free(&c);
}

/* Problems do not stop the load: each is told, one line each. */
static void test_config_every_problem_at_once(void **state)
{
    (void)state;
    static const char *const extra[] = {"PAYW_REDIS_URL=redis://127.0.0.1:notaport",
                                        "PAYW_KAFKA_FOO_BAR=1", "PAYW_MAX_INFLIGT=3",
                                        "PAYW_RETRY_BASE_MS=x", NULL};
    const char *env[ENV_MAX];
    env_with(env, extra);
    pw_config c;
    char err[4096], small[80];
    assert_int_equal(pw_config_load(&c, env, err, sizeof(err)), -1);
    assert_int_equal(count_lines(err), 4);
    assert_non_null(strstr(err, "PAYW_REDIS_URL"));
    assert_non_null(strstr(err, "PAYW_KAFKA_FOO_BAR"));
    assert_non_null(strstr(err, "PAYW_MAX_INFLIGT"));
    assert_non_null(strstr(err, "PAYW_RETRY_BASE_MS: \"x\""));
    assert_int_equal(c.retry_base_ms, 200); /* its default stands in */
    pw_config_free(&c);
    /* a short errstr is cut at a line */
    assert_int_equal(pw_config_load(&c, env, small, sizeof(small)), -1);
    assert_null(strchr(small, '\n'));
    assert_true(strlen(small) > 0);
    pw_config_free(&c);
    /* NULL-safe, and free twice is harmless */
    pw_config_free(NULL);
    pw_config_free(&c);
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
        cmocka_unit_test(test_config_redis_url),
        cmocka_unit_test(test_config_provider_urls),
        cmocka_unit_test(test_config_ca_path),
        cmocka_unit_test(test_config_topics),
        cmocka_unit_test(test_config_cross_field_rules),
        cmocka_unit_test(test_config_text_is_utf8),
        cmocka_unit_test(test_config_unknown_names),
        cmocka_unit_test(test_config_file_names_and_values),
        cmocka_unit_test(test_config_kafka_properties),
        cmocka_unit_test(test_config_files_and_redaction),
        cmocka_unit_test(test_config_print_every_setting),
        cmocka_unit_test(test_config_every_problem_at_once),
        cmocka_unit_test(test_http_url_errors_are_not_sent),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
