/* test_money.c -- exact money parsing, rounding and formatting. */
#include "testutil.h"

#include <string.h>

static void test_money_parse_exact(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *ccy;
        int64_t minor;
        bool rounded;
    } cases[] = {
        {"196.50", "TRY", 19650, false},
        {"196.5", "TRY", 19650, false},
        {"196.5000", "TRY", 19650, false},
        {"0.000000", "TRY", 0, false},
        {"110740.99", "TRY", 11074099, false},
        {"1", "TRY", 100, false},
        {"-12.34", "EUR", -1234, false},
        {"1.234", "JOD", 1234, false},
        {"1.2345", "KWD", 1234, true},
        {"1.5", "JPY", 2, true}, /* half to even: 1.5 -> 2 */
        {"2.5", "JPY", 2, true}, /* 2.5 -> 2 */
        {"3.5", "JPY", 4, true},
        {"0.125", "USD", 12, true}, /* .125 -> .12 (2 is even) */
        {"0.135", "USD", 14, true}, /* .135 -> .14 */
        {"0.1251", "USD", 13, true},
        {"996004.0060", "TRY", 99600401, true},
        {"0.005", "TRY", 0, true},
        {"0.0050001", "TRY", 1, true},
        {"92233720368547758.07", "TRY", INT64_MAX, false},
        {"-92233720368547758.07", "TRY", -INT64_MAX, false},
        {"0.10", "USD", 10, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_money m;
        pv_error err = {0};
        int rc =
            pv_money_parse(cases[i].text, strlen(cases[i].text), cases[i].ccy, "amount", &m, &err);
        if (rc != PV_OK)
            fail_msg("%s %s: %s", cases[i].text, cases[i].ccy, err.errstr);
        if (m.minor != cases[i].minor || m.rounded != cases[i].rounded)
            fail_msg("%s %s: got %lld rounded=%d, want %lld rounded=%d", cases[i].text,
                     cases[i].ccy, (long long)m.minor, m.rounded, (long long)cases[i].minor,
                     cases[i].rounded);
        assert_string_equal(m.text, cases[i].text);
        assert_string_equal(m.currency, cases[i].ccy);
    }
}

static void test_money_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *ccy;
        int code;
    } cases[] = {
        {"1e3", "TRY", PV_EFORMAT},
        {"1E3", "TRY", PV_EFORMAT},
        {"+1", "TRY", PV_EFORMAT},
        {" 1", "TRY", PV_EFORMAT},
        {"1 ", "TRY", PV_EFORMAT},
        {"1.", "TRY", PV_EFORMAT},
        {".5", "TRY", PV_EFORMAT},
        {"", "TRY", PV_EFORMAT},
        {"-", "TRY", PV_EFORMAT},
        {"1,50", "TRY", PV_EFORMAT},
        {"NaN", "TRY", PV_EFORMAT},
        {"Infinity", "TRY", PV_EFORMAT},
        {"0x10", "TRY", PV_EFORMAT},
        {"007.5", "TRY", PV_EFORMAT},
        {"00", "TRY", PV_EFORMAT},
        {"92233720368547758.08", "TRY", PV_ERANGE},
        {"123456789012345678901234567890", "TRY", PV_ERANGE},
        {"1234567890123456789012345678901234567890123456789", "TRY", PV_ERANGE},
        {"10", "XXX", PV_ECURRENCY},
        {"10", "try", PV_ECURRENCY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_money m;
        pv_error err = {0};
        int rc = pv_money_parse(cases[i].text, strlen(cases[i].text), cases[i].ccy,
                                "request.amount", &m, &err);
        if (rc != cases[i].code)
            fail_msg("\"%s\": rc %s, want %s", cases[i].text, pv_error_name(rc),
                     pv_error_name(cases[i].code));
        assert_string_equal(err.field, "request.amount");
        assert_non_null(strstr(err.errstr, "request.amount"));
    }
    /* the message quotes the value */
    pv_money m;
    pv_error err = {0};
    pv_money_parse("1e3", 3, "TRY", "request.amount", &m, &err);
    assert_non_null(strstr(err.errstr, "\"1e3\""));
}

static void test_money_minor_and_format(void **state)
{
    (void)state;
    pv_money m;
    pv_error err = {0};
    char buf[64];

    assert_int_equal(pv_money_parse_minor("100", 3, "USD", "amount", &m, &err), PV_OK);
    assert_int_equal(m.minor, 100);
    assert_int_equal(pv_money_format(&m, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "1.00");
    assert_int_equal(pv_money_parse_minor("1.00", 4, "USD", "amount", &m, &err), PV_EFORMAT);
    assert_int_equal(pv_money_parse_minor("99999999999999999999", 20, "USD", "amount", &m, &err),
                     PV_ERANGE);

    static const struct {
        int64_t minor;
        const char *ccy;
        const char *major;
    } fmt[] = {
        {0, "TRY", "0.00"},
        {5, "TRY", "0.05"},
        {-5, "TRY", "-0.05"},
        {1234, "JOD", "1.234"},
        {7, "KWD", "0.007"},
        {5, "JPY", "5"},
        {INT64_MIN, "TRY", "-92233720368547758.08"},
        {INT64_MAX, "BHD", "9223372036854775.807"},
    };
    for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
        assert_int_equal(pv_money_from_minor(fmt[i].minor, fmt[i].ccy, &m, &err), PV_OK);
        assert_true(pv_money_format(&m, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, fmt[i].major);
    }
    assert_int_equal(pv_money_format(&m, buf, 4), -1); /* too small: refused, not cut */
    assert_int_equal(pv_money_format_minor(&m, buf, sizeof(buf)), 19);
    assert_string_equal(buf, "9223372036854775807");
}

static void test_money_currency_table(void **state)
{
    (void)state;
    static const struct {
        const char *alpha, *numeric;
        int exponent;
    } want[] = {
        {"TRY", "949", 2}, {"USD", "840", 2}, {"EUR", "978", 2}, {"GBP", "826", 2},
        {"JOD", "400", 3}, {"SAR", "682", 2}, {"AED", "784", 2}, {"KWD", "414", 3},
        {"BHD", "048", 3}, {"EGP", "818", 2},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const pv_currency *a = pv_currency_by_alpha(want[i].alpha);
        const pv_currency *n = pv_currency_by_numeric(want[i].numeric);
        assert_non_null(a);
        assert_ptr_equal(a, n);
        assert_int_equal(a->exponent, want[i].exponent);
    }
    assert_null(pv_currency_by_alpha("XYZ"));
    assert_null(pv_currency_by_numeric("999"));
    assert_null(pv_currency_by_alpha(NULL));
}

static void test_money_add(void **state)
{
    (void)state;
    pv_money a, b, c;
    pv_money_from_minor(INT64_MAX, "TRY", &a, NULL);
    pv_money_from_minor(1, "TRY", &b, NULL);
    assert_int_equal(pv_money_add(&a, &b, &c), PV_ERANGE);
    pv_money_from_minor(1, "USD", &a, NULL);
    assert_int_equal(pv_money_add(&a, &b, &c), PV_ERANGE);
    pv_money_from_minor(41, "TRY", &a, NULL);
    assert_int_equal(pv_money_add(&a, &b, &c), PV_OK);
    assert_int_equal(c.minor, 42);
}

static void test_parse_int64(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(pv_money_parse_int64("9223372036854775807", 19, &v), PV_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(pv_money_parse_int64("-9223372036854775808", 20, &v), PV_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(pv_money_parse_int64("9223372036854775808", 19, &v), PV_ERANGE);
    assert_int_equal(pv_money_parse_int64("-9223372036854775809", 20, &v), PV_ERANGE);
    assert_int_equal(pv_money_parse_int64("12a", 3, &v), PV_EFORMAT);
    assert_int_equal(pv_money_parse_int64("", 0, &v), PV_EFORMAT);
    assert_int_equal(pv_money_parse_int64("-", 1, &v), PV_EFORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_parse_exact),
        cmocka_unit_test(test_money_parse_errors),
        cmocka_unit_test(test_money_minor_and_format),
        cmocka_unit_test(test_money_currency_table),
        cmocka_unit_test(test_money_add),
        cmocka_unit_test(test_parse_int64),
    };
    return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
