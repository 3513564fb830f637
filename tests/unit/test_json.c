/* test_json.c -- bounded JSON parsing and typed readers. */
#include "testutil.h"

#include <string.h>

static int parse(const char *text, json_object **o, pv_error *err)
{
    return pv_json_parse(text, strlen(text), "doc", o, err);
}

static void test_json_parse_limits(void **state)
{
    (void)state;
    json_object *o = NULL;
    pv_error err = {0};

    assert_int_equal(parse("{\"a\": 1} \n", &o, &err), PV_OK);
    json_object_put(o);
    assert_int_equal(parse("{\"a\": 1", &o, &err), PV_EPARSE);
    assert_non_null(strstr(err.errstr, "truncated"));
    assert_null(o);
    assert_int_equal(parse("{\"a\": 1} x", &o, &err), PV_EPARSE);
    assert_non_null(strstr(err.errstr, "\"x\""));
    assert_int_equal(parse("123", &o, &err), PV_OK); /* a bare number is a document */
    assert_int_equal(json_object_get_int(o), 123);
    json_object_put(o);
    assert_int_equal(parse("[1", &o, &err), PV_EPARSE);
    assert_non_null(strstr(err.errstr, "truncated"));
    assert_int_equal(parse("", &o, &err), PV_EPARSE);
    assert_int_equal(parse("{a: 1}", &o, &err), PV_EPARSE); /* strict: keys are quoted */
    assert_int_equal(parse("[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", &o, &err), PV_EPARSE);

    /* a 10 MB body is refused before parsing */
    size_t big = 10u * 1024 * 1024;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    assert_int_equal(pv_json_parse(body, big, "Big response", &o, &err), PV_ETOOBIG);
    assert_non_null(strstr(err.errstr, "Big response"));
    assert_non_null(strstr(err.errstr, "10485760"));
    free(body);
}

static void test_json_int64(void **state)
{
    (void)state;
    json_object *o = tu_json("{\"i\": 615209, \"s\": \"42\", \"d\": 1.0, \"big\": "
                             "123456789012345678901234567890, \"neg\": "
                             "-123456789012345678901234567890, \"u\": 9223372036854775808, "
                             "\"b\": true, \"n\": null, \"x\": \"4 2\"}");
    int64_t v;
    bool present = true;
    pv_error err = {0};

    assert_int_equal(pv_json_int64(o, "i", "i", true, &v, NULL, &err), PV_OK);
    assert_int_equal(v, 615209);
    assert_int_equal(pv_json_int64(o, "s", "s", true, &v, NULL, &err), PV_OK);
    assert_int_equal(v, 42);
    assert_int_equal(pv_json_int64(o, "d", "r.d", true, &v, NULL, &err), PV_ETYPE);
    assert_string_equal(err.field, "r.d");
    assert_non_null(strstr(err.errstr, "1.0"));
    assert_int_equal(pv_json_int64(o, "big", "big", true, &v, NULL, &err), PV_ERANGE);
    assert_int_equal(pv_json_int64(o, "neg", "neg", true, &v, NULL, &err), PV_ERANGE);
    assert_int_equal(pv_json_int64(o, "u", "u", true, &v, NULL, &err), PV_ERANGE);
    assert_int_equal(pv_json_int64(o, "b", "b", true, &v, NULL, &err), PV_ETYPE);
    assert_int_equal(pv_json_int64(o, "x", "x", true, &v, NULL, &err), PV_EFORMAT);
    /* null counts as absent */
    assert_int_equal(pv_json_int64(o, "n", "n", true, &v, NULL, &err), PV_EMISSING);
    assert_int_equal(pv_json_int64(o, "n", "n", false, &v, &present, &err), PV_OK);
    assert_false(present);
    /* case-insensitive fallback (Payofin's ResultCode/resultCode) */
    assert_int_equal(pv_json_int64(o, "I", "I", true, &v, NULL, &err), PV_OK);
    json_object_put(o);
}

static void test_json_strings_and_bools(void **state)
{
    (void)state;
    json_object *o = tu_json("{\"s\": \"Türk Telekom\", \"n\": 5536557580, \"t\": \"true\", "
                             "\"f\": false, \"z\": \"a\\u0000b\"}");
    char buf[16];
    bool b;
    pv_error err = {0};

    assert_int_equal(pv_json_string(o, "s", "s", true, buf, sizeof(buf), NULL, &err), PV_OK);
    assert_string_equal(buf, "Türk Telekom");
    assert_int_equal(pv_json_string(o, "s", "s", true, buf, 8, NULL, &err), PV_ETOOBIG);
    assert_int_equal(pv_json_string(o, "n", "req.n", true, buf, sizeof(buf), NULL, &err), PV_ETYPE);
    assert_non_null(strstr(err.errstr, "5536557580"));
    assert_int_equal(pv_json_string(o, "z", "z", true, buf, sizeof(buf), NULL, &err), PV_EFORMAT);
    assert_int_equal(pv_json_bool(o, "t", "t", true, &b, NULL, &err), PV_OK);
    assert_true(b);
    assert_int_equal(pv_json_bool(o, "f", "f", true, &b, NULL, &err), PV_OK);
    assert_false(b);
    assert_int_equal(pv_json_bool(o, "s", "s", true, &b, NULL, &err), PV_ETYPE);
    json_object_put(o);
}

static void test_json_money(void **state)
{
    (void)state;
    json_object *o = tu_json("{\"a\": 196.50, \"b\": \"196.50\", \"c\": 1e400, \"d\": "
                             "123456789012345678901234567890, \"e\": 12, \"f\": [1], \"g\": "
                             "12.345}");
    pv_money m;
    pv_error err = {0};

    assert_int_equal(pv_json_money(o, "a", "a", true, "TRY", &m, &err), PV_OK);
    assert_int_equal(m.minor, 19650);
    assert_string_equal(m.text, "196.50");
    assert_int_equal(pv_json_money(o, "b", "b", true, "TRY", &m, &err), PV_OK);
    assert_int_equal(m.minor, 19650);
    assert_int_equal(pv_json_money(o, "c", "x.c", true, "TRY", &m, &err), PV_EFORMAT);
    assert_non_null(strstr(err.errstr, "1e400"));
    assert_string_equal(err.field, "x.c");
    assert_int_equal(pv_json_money(o, "d", "d", true, "TRY", &m, &err), PV_ERANGE);
    assert_int_equal(pv_json_money(o, "e", "e", true, "JOD", &m, &err), PV_OK);
    assert_int_equal(m.minor, 12000);
    assert_int_equal(pv_json_money(o, "f", "f", true, "TRY", &m, &err), PV_ETYPE);
    assert_int_equal(pv_json_money(o, "g", "g", true, "TRY", &m, &err), PV_OK);
    assert_true(m.rounded); /* 12.345 TRY: kept exact in text, flagged */
    assert_string_equal(m.text, "12.345");
    assert_int_equal(pv_json_money(o, "missing", "missing", true, "TRY", &m, &err), PV_EMISSING);
    assert_int_equal(pv_json_money(o, "missing", "missing", false, "TRY", &m, &err), PV_OK);
    assert_false(pv_money_isset(&m));
    json_object_put(o);
}

static void test_json_number_text_roundtrip(void **state)
{
    (void)state;
    pv_money m;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "a", pv_json_new_number_text("196.50"));
    pv_money_from_minor(100, "JOD", &m, NULL);
    json_object_object_add(o, "b", pv_json_new_money(&m));
    json_object_object_add(o, "c", json_object_new_string("x/y"));
    assert_string_equal(pv_json_dump(o, NULL), "{\"a\":196.50,\"b\":0.100,\"c\":\"x/y\"}");
    json_object_put(o);
}

static void test_quote(void **state)
{
    (void)state;
    char buf[128];
    pv_quote(buf, sizeof(buf), "a\"b\n", 4);
    assert_string_equal(buf, "a\\\"b\\x0a");
    char longv[200];
    memset(longv, 'x', sizeof(longv));
    pv_quote(buf, sizeof(buf), longv, sizeof(longv));
    assert_true(strlen(buf) <= 64 + 3);
    assert_non_null(strstr(buf, "..."));
    pv_quote(buf, 8, longv, sizeof(longv));
    assert_true(strlen(buf) < 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parse_limits),          cmocka_unit_test(test_json_int64),
        cmocka_unit_test(test_json_strings_and_bools),     cmocka_unit_test(test_json_money),
        cmocka_unit_test(test_json_number_text_roundtrip), cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
