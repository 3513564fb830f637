/* test_json.c -- bounded JSON parsing and typed readers. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "pv_utf8.h"

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
    pv_utf8_quote(buf, sizeof(buf), "a\"b\n", 4);
    assert_string_equal(buf, "a\\\"b\\x0a");
    char longv[200];
    memset(longv, 'x', sizeof(longv));
    pv_utf8_quote(buf, sizeof(buf), longv, sizeof(longv));
    assert_true(strlen(buf) <= 64 + 3);
    assert_non_null(strstr(buf, "..."));
    pv_utf8_quote(buf, 8, longv, sizeof(longv));
    assert_true(strlen(buf) < 8);
}

static void test_quote_utf8(void **state)
{
    (void)state;
    char buf[160];
    /* bytes that are not UTF-8 are escaped, characters kept whole */
    pv_utf8_quote(buf, sizeof(buf), "\xff\xfe\xc5\x9e", 4);
    assert_string_equal(buf, "\\xff\\xfe\xc5\x9e");
    assert_true(pv_utf8_valid(buf, strlen(buf)));
    /* 40 x "\xc5\x9e" (80 bytes): cut at 64 bytes, between two characters */
    char sh[81];
    for (int i = 0; i < 40; i++)
        memcpy(sh + 2 * i, "\xc5\x9e", 2);
    sh[80] = '\0';
    pv_utf8_quote(buf, sizeof(buf), sh, 80);
    assert_true(pv_utf8_valid(buf, strlen(buf)));
    assert_int_equal(strlen(buf), 64 + 3);
    /* 3-byte characters: 64 is not a boundary (63 is) */
    char eu[301];
    for (int i = 0; i < 100; i++)
        memcpy(eu + 3 * i, "\xe2\x82\xac", 3);
    eu[300] = '\0';
    pv_utf8_quote(buf, sizeof(buf), eu, 300);
    assert_true(pv_utf8_valid(buf, strlen(buf)));
    assert_int_equal(strlen(buf), 63 + 3);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(pv_utf8_valid("T\xc3\xbcrk \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    assert_false(pv_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(pv_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(pv_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(pv_utf8_valid("\xe2\x82", 2));         /* truncated */
    assert_int_equal(pv_utf8_bad_at("ab\xff"
                                    "c",
                                    4),
                     2);
    assert_int_equal(pv_utf8_cut("\xe2\x82\xac\xe2\x82\xac", 6, 4), 3);
    assert_int_equal(pv_utf8_cut("ab\xff\xfe", 4, 3), 3);

    /* the one copy-and-cut: "Türk €" into 8 bytes keeps "Türk " (6) and not
     * half the euro sign; a copy within the same buffer moves */
    char cut[8];
    assert_int_equal(pv_utf8_copy(cut, sizeof(cut), "T\xc3\xbcrk \xe2\x82\xac", 9), 6);
    assert_string_equal(cut, "T\xc3\xbcrk ");
    assert_int_equal(pv_utf8_copy(cut, sizeof(cut), "T\xc3\xbcrk \xe2\x82\xac", 5), 5);
    assert_int_equal(pv_utf8_copy(cut, sizeof(cut), NULL, 0), 0);
    assert_string_equal(cut, "");
    char self[8] = "abcdef";
    assert_int_equal(pv_utf8_copy(self, 4, self + 2, 4), 3);
    assert_string_equal(self, "cde");
    assert_true(pv_utf8_control(0) && pv_utf8_control(0x1f) && pv_utf8_control(0x7f));
    assert_true(pv_utf8_control(0x9f));
    assert_false(pv_utf8_control(' ') || pv_utf8_control(0xa0) || pv_utf8_control(0x11e));
    assert_int_equal(pv_utf8_hex_digit('0'), 0);
    assert_int_equal(pv_utf8_hex_digit('9'), 9);
    assert_int_equal(pv_utf8_hex_digit('a'), 10);
    assert_int_equal(pv_utf8_hex_digit('F'), 15);
    assert_int_equal(pv_utf8_hex_digit('g'), -1);
    assert_int_equal(pv_utf8_hex_digit('/'), -1);

    size_t n, bad;
    char *r = pv_utf8_repair("a\xff"
                             "b\xc5",
                             4, &n, &bad);
    assert_string_equal(r, "a\xef\xbf\xbd"
                           "b\xef\xbf\xbd");
    assert_int_equal(n, 8);
    assert_int_equal(bad, 2);
    free(r);

    char buf[8] = "ab\xff\xfe";
    assert_int_equal(pv_utf8_fix(buf, sizeof(buf)), 2);
    /* "ab" + U+FFFD (3) fits in 7 bytes, the second does not: cut whole */
    assert_string_equal(buf, "ab\xef\xbf\xbd");
    char ok[8] = "Ş";
    assert_int_equal(pv_utf8_fix(ok, sizeof(ok)), 0);
    assert_string_equal(ok, "Ş");
}

static void test_json_string_not_utf8(void **state)
{
    (void)state;
    json_object *o = NULL;
    pv_error err = {0};
    const char doc[] = "{\"command_id\": \"\xff\xfe\"}";
    assert_int_equal(pv_json_parse(doc, strlen(doc), "doc", &o, &err), PV_OK);
    char buf[32];
    assert_int_equal(
        pv_json_string(o, "command_id", "command_id", true, buf, sizeof(buf), NULL, &err),
        PV_EFORMAT);
    assert_string_equal(err.field, "command_id");
    assert_non_null(strstr(err.errstr, "\\xff\\xfe"));
    assert_non_null(strstr(err.errstr, "not UTF-8"));
    assert_true(pv_utf8_valid(err.errstr, strlen(err.errstr)));
    json_object_put(o);
}

static int keys(const char *doc, pv_error *err)
{
    pv_error_clear(err);
    return pv_json_check_keys(doc, strlen(doc), "answer", err);
}

static void test_json_check_keys(void **state)
{
    (void)state;
    pv_error err = {0};
    assert_int_equal(keys("{\"resultCode\": 1, \"resultMessage\": \"ok\"}", &err), PV_OK);
    assert_int_equal(
        keys("{\"a\": {\"x\": 1}, \"b\": {\"x\": 2}, \"c\": [{\"x\": 1}, {\"x\": 2}]}", &err),
        PV_OK); /* the same key in different objects */
    assert_int_equal(keys("{\"resultCode\": 1, \"x\": 2, \"resultCode\": -19}", &err), PV_EFORMAT);
    assert_string_equal(err.field, "resultCode");
    assert_non_null(strstr(err.errstr, "appears twice"));
    assert_int_equal(keys("{\"resultCode\": -19, \"ResultCode\": 1}", &err), PV_EFORMAT);
    assert_non_null(strstr(err.errstr, "ResultCode"));
    assert_non_null(strstr(err.errstr, "differ only in case"));
    /* an escape spelling the same key */
    assert_int_equal(keys("{\"code\": 1, \"\\u0063ode\": 2}", &err), PV_EFORMAT);
    /* nested, and inside an array */
    assert_int_equal(keys("{\"d\": [1, {\"k\": 1, \"k\": 1}]}", &err), PV_EFORMAT);
    assert_string_equal(err.field, "k");
    assert_int_equal(keys("{\"d\": {\"e\": {\"K\": 1, \"k\": 2}}}", &err), PV_EFORMAT);
    /* not JSON, or no object: the parser's business */
    assert_int_equal(keys("{\"a\": ", &err), PV_OK);
    assert_int_equal(keys("[1, 2]", &err), PV_OK);
    assert_int_equal(keys("\"text\"", &err), PV_OK);
    /* many keys in one object: all distinct, then one repeated at the end */
    size_t cap = 20000 * 12 + 64, o = 0;
    char *big = malloc(cap);
    o += (size_t)snprintf(big + o, cap - o, "{");
    for (int i = 0; i < 20000; i++)
        o += (size_t)snprintf(big + o, cap - o, "%s\"k%d\":1", i > 0 ? "," : "", i);
    snprintf(big + o, cap - o, "}");
    assert_int_equal(keys(big, &err), PV_OK);
    snprintf(big + o, cap - o, ",\"K19999\":2}");
    assert_int_equal(keys(big, &err), PV_EFORMAT);
    free(big);
    pv_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parse_limits),
        cmocka_unit_test(test_json_int64),
        cmocka_unit_test(test_json_strings_and_bools),
        cmocka_unit_test(test_json_money),
        cmocka_unit_test(test_json_number_text_roundtrip),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_quote_utf8),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_json_string_not_utf8),
        cmocka_unit_test(test_json_check_keys),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
