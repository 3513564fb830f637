/* test_opt.c -- the dev tools' option table (pw_opt): defaults, both value
 * forms, each type, the errors (the option named, the value quoted once,
 * "did you mean"), --help and the usage lines. One table is shaped like
 * provider-sim's (string defaults, int ranges, a flag, a repeatable custom
 * type), one like devkafka's. */
#include "testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pw_opt.h"

typedef struct topt_cfg {
    const char *bind;
    int64_t port, seed;
    bool verbose;
    const char *control;
    char faults[4][32]; /* what the custom type kept */
    int nfaults;
} topt_cfg;

/* "PROVIDER:key=value", repeatable. */
static int topt_fault(void *cfg, const char *value, char *why, size_t cap)
{
    topt_cfg *c = cfg;
    if (strchr(value, ':') == NULL) {
        snprintf(why, cap, "want PROVIDER:key=value");
        return -1;
    }
    if (c->nfaults == 4) {
        snprintf(why, cap, "too many (max 4)");
        return -1;
    }
    snprintf(c->faults[c->nfaults++], sizeof(c->faults[0]), "%s", value);
    return 0;
}

static const pw_opt topt_opts[] = {
    {"bind", "ADDR", PW_OPT_STR, offsetof(topt_cfg, bind), 0, 0, "127.0.0.1",
     "address to listen on", NULL},
    {"port", "PORT", PW_OPT_INT, offsetof(topt_cfg, port), 0, 65535, "8090", "port to listen on",
     NULL},
    {"seed", "N", PW_OPT_INT, offsetof(topt_cfg, seed), 0, INT64_MAX, "1", "seed", NULL},
    {"fault", "SPEC", PW_OPT_FUNC, 0, 0, 0, NULL, "a fault (repeatable)", topt_fault},
    {"verbose", NULL, PW_OPT_FLAG, offsetof(topt_cfg, verbose), 0, 0, NULL, "log every request",
     NULL},
    {"control", "PATH", PW_OPT_PATH, offsetof(topt_cfg, control), 0, 0, NULL, "a socket", NULL},
    {"help", NULL, PW_OPT_HELP, 0, 0, 0, NULL, "this text", NULL},
};
static const pw_opt_table topt_table = {"sim", topt_opts, sizeof(topt_opts) / sizeof(topt_opts[0])};

/* Parses the NULL-terminated words after a program name. */
static int topt_parse(topt_cfg *c, char *err, size_t cap, ...)
{
    char *argv[16] = {"sim"};
    int argc = 1;
    va_list ap;
    va_start(ap, cap);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 15;)
        argv[argc++] = a;
    va_end(ap);
    memset(c, 0, sizeof(*c));
    return pw_opt_parse_msg(&topt_table, c, argc, argv, err, cap);
}

static void test_opt_defaults_and_values(void **state)
{
    (void)state;
    topt_cfg c;
    char err[512];
    assert_int_equal(topt_parse(&c, err, sizeof(err), NULL), PW_OPT_OK);
    assert_string_equal(c.bind, "127.0.0.1");
    assert_int_equal(c.port, 8090);
    assert_int_equal(c.seed, 1);
    assert_false(c.verbose);
    assert_null(c.control);

    assert_int_equal(topt_parse(&c, err, sizeof(err), "--port", "0", "--seed=9223372036854775807",
                                "--bind=", "--verbose", "--control", "/tmp/s", "--port=65535",
                                NULL),
                     PW_OPT_OK);
    assert_int_equal(c.port, 65535); /* the last one wins */
    assert_true(c.seed == INT64_MAX);
    assert_string_equal(c.bind, ""); /* a string may be empty */
    assert_true(c.verbose);
    assert_string_equal(c.control, "/tmp/s");
}

static void test_opt_custom_type(void **state)
{
    (void)state;
    topt_cfg c;
    char err[512];
    assert_int_equal(topt_parse(&c, err, sizeof(err), "--fault", "SIPAY:rate_500=0.5",
                                "--fault=ALL:latency_ms=10", NULL),
                     PW_OPT_OK);
    assert_int_equal(c.nfaults, 2);
    assert_string_equal(c.faults[0], "SIPAY:rate_500=0.5");
    assert_string_equal(c.faults[1], "ALL:latency_ms=10");

    assert_int_equal(topt_parse(&c, err, sizeof(err), "--fault", "nonsense", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "--fault: \"nonsense\": want PROVIDER:key=value");
}

static void test_opt_bad_values(void **state)
{
    (void)state;
    topt_cfg c;
    char err[512];
    static const char *const bad[] = {
        "65536", "-1", "", "8o", " 80", "+80", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[256];
        assert_int_equal(topt_parse(&c, err, sizeof(err), "--port", bad[i], NULL), PW_OPT_ERROR);
        snprintf(want, sizeof(want), "--port: \"%s\" is not a whole number from 0 to 65535",
                 bad[i]);
        assert_string_equal(err, want);
    }
    /* quoted once, escaped: a control character cannot reach the terminal */
    assert_int_equal(topt_parse(&c, err, sizeof(err), "--port=1\n2", NULL), PW_OPT_ERROR);
    assert_null(strchr(err, '\n'));
    assert_non_null(strstr(err, "--port: \""));

    assert_int_equal(topt_parse(&c, err, sizeof(err), "--control=", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "--control: empty path");
    assert_int_equal(topt_parse(&c, err, sizeof(err), "--verbose=yes", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "--verbose takes no value");
    assert_int_equal(topt_parse(&c, err, sizeof(err), "--seed", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "--seed needs a value N");
}

static void test_opt_unknown(void **state)
{
    (void)state;
    topt_cfg c;
    char err[512];
    assert_int_equal(topt_parse(&c, err, sizeof(err), "--prot", "80", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "unknown option \"--prot\"; did you mean --port?");
    assert_int_equal(topt_parse(&c, err, sizeof(err), "--VERBOSE", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "unknown option \"--VERBOSE\"; did you mean --verbose?");
    /* nothing near: no guess; and the value after '=' is never shown */
    assert_int_equal(topt_parse(&c, err, sizeof(err), "--password=hunter2", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "unknown option \"--password\" (try --help)");
    assert_int_equal(topt_parse(&c, err, sizeof(err), "port", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "unexpected argument \"port\" (try --help)");
    assert_int_equal(topt_parse(&c, err, sizeof(err), "-p", "80", NULL), PW_OPT_ERROR);
    assert_string_equal(err, "unexpected argument \"-p\" (try --help)");
}

static void test_opt_help(void **state)
{
    (void)state;
    topt_cfg c;
    char err[512];
    assert_int_equal(topt_parse(&c, err, sizeof(err), "--port", "1", "--help", "--bogus", NULL),
                     PW_OPT_HELP_ASKED);
}

static void test_opt_usage(void **state)
{
    (void)state;
    char buf[2048] = "";
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_non_null(f);
    pw_opt_usage(&topt_table, f);
    fclose(f);
    assert_non_null(
        strstr(buf, "  --port PORT                  port to listen on (default 8090)\n"));
    assert_non_null(strstr(buf, "  --verbose                    log every request\n"));
    assert_non_null(strstr(buf, "  --help                       this text\n"));
    assert_null(strstr(buf, "(default (null))"));
}

/* An option wider than the column: every help text moves with it. */
static void test_opt_usage_wide(void **state)
{
    (void)state;
    typedef struct {
        const char *token;
        bool verbose;
    } wide_cfg;
    static const pw_opt opts[] = {
        {"payone-authentication-token", NULL, PW_OPT_STR, offsetof(wide_cfg, token), 0, 0, "x",
         "a token", NULL},
        {"verbose", NULL, PW_OPT_FLAG, offsetof(wide_cfg, verbose), 0, 0, NULL, "more", NULL},
    };
    static const pw_opt_table t = {"sim", opts, 2};
    char buf[512] = "";
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_non_null(f);
    pw_opt_usage(&t, f);
    fclose(f);
    assert_string_equal(buf, "  --payone-authentication-token a token (default x)\n"
                             "  --verbose                     more\n");
}

/* A table shaped like devkafka's: no default in the table where the help
 * text says it (replication depends on brokers). */
typedef struct topt_dk {
    int64_t brokers, replication;
} topt_dk;

static void test_opt_stderr(void **state)
{
    (void)state;
    static const pw_opt opts[] = {
        {"brokers", "N", PW_OPT_INT, offsetof(topt_dk, brokers), 1, 32, "3", "brokers", NULL},
        {"replication", "R", PW_OPT_INT, offsetof(topt_dk, replication), 1, 32, NULL,
         "replication (default min(3,N))", NULL},
    };
    static const pw_opt_table t = {"devkafka", opts, 2};
    topt_dk d = {0};
    char *ok[] = {"devkafka", "--replication=2", NULL};
    char *bad[] = {"devkafka", "--brokers", "x", NULL};
    assert_int_equal(pw_opt_parse(&t, &d, 2, ok), PW_OPT_OK);
    assert_int_equal(d.brokers, 3);
    assert_int_equal(d.replication, 2);
    assert_int_equal(pw_opt_parse(&t, &d, 3, bad), PW_OPT_ERROR); /* told on stderr */
}

static void test_opt_distance(void **state)
{
    (void)state;
    assert_int_equal(pw_opt_distance("brokers", "brokers"), 0);
    assert_int_equal(pw_opt_distance("brokers", "BROKERS"), 0);
    assert_int_equal(pw_opt_distance("borkers", "brokers"), 1); /* a transposition */
    assert_int_equal(pw_opt_distance("broker", "brokers"), 1);
    assert_int_equal(pw_opt_distance("", "abc"), 3);
    char longname[PW_OPT_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_true(pw_opt_distance(longname, "a") == SIZE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opt_defaults_and_values),
        cmocka_unit_test(test_opt_custom_type),
        cmocka_unit_test(test_opt_bad_values),
        cmocka_unit_test(test_opt_unknown),
        cmocka_unit_test(test_opt_help),
        cmocka_unit_test(test_opt_usage),
        cmocka_unit_test(test_opt_usage_wide),
        cmocka_unit_test(test_opt_stderr),
        cmocka_unit_test(test_opt_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
