/* test_time.c -- provider timestamps to UTC. */
#include "testutil.h"

#include <string.h>

#include "pv_time.h"

static void check(const char *in, int tr_local, const char *want)
{
    int64_t ms;
    char got[40];
    pv_error err = {0};
    int rc = tr_local ? pv_time_parse_tr_local(in, "t", &ms, &err)
                      : pv_time_parse_iso8601(in, "t", &ms, &err);
    if (rc != PV_OK)
        fail_msg("%s: %s", in, err.errstr);
    pv_time_format_utc(ms, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", in, got, want);
}

static void test_time_payofin_local(void **state)
{
    (void)state;
    check("10.05.2022 15:41:49", 1, "2022-05-10T12:41:49.000Z"); /* seed 000 */
    check("01.01.2020 00:00:00", 1, "2019-12-31T21:00:00.000Z"); /* +3 all year since 2016 */
    check("15.01.2015 12:00:00", 1, "2015-01-15T10:00:00.000Z"); /* winter, +2 */
    check("15.07.2015 12:00:00", 1, "2015-07-15T09:00:00.000Z"); /* summer, +3 */
    check("29.02.2024 23:59:59", 1, "2024-02-29T20:59:59.000Z");
}

static void test_time_iso8601(void **state)
{
    (void)state;
    check("2020-08-14T10:03:14.7450165+03:00", 0, "2020-08-14T07:03:14.745Z"); /* seed 003 */
    check("2022-01-18T07:48:51.7092961+00:00", 0, "2022-01-18T07:48:51.709Z"); /* seed 001 */
    check("2023-09-15T14:53:58.5074", 0, "2023-09-15T11:53:58.507Z"); /* seed 002, Istanbul */
    check("2023-09-15T14:53:58Z", 0, "2023-09-15T14:53:58.000Z");
    check("2023-09-15T14:53:58.5-05:30", 0, "2023-09-15T20:23:58.500Z");
    check("1969-12-31T23:59:59.999Z", 0, "1969-12-31T23:59:59.999Z");
}

static void test_time_errors(void **state)
{
    (void)state;
    static const char *const bad_local[] = {
        "10.05.2022",
        "32.01.2022 10:00:00",
        "29.02.2023 10:00:00",
        "10-05-2022 15:41:49",
        "10.05.2022 24:00:00",
        "aa.05.2022 15:41:49",
        "",
        "10.05.2022 15:41:49 ",
    };
    static const char *const bad_iso[] = {
        "2020-08-14",           "2020-13-14T10:00:00",        "2020-08-14T10:00:00+3",
        "2020-08-14T10:00:00.", "2020-08-14T10:00:00+03:00x", "garbage-in-here-xx",
    };
    int64_t ms;
    for (size_t i = 0; i < sizeof(bad_local) / sizeof(bad_local[0]); i++) {
        pv_error err = {0};
        assert_int_equal(pv_time_parse_tr_local(bad_local[i], "paymentDate", &ms, &err),
                         PV_EFORMAT);
        assert_string_equal(err.field, "paymentDate");
        assert_non_null(strstr(err.errstr, "paymentDate"));
    }
    for (size_t i = 0; i < sizeof(bad_iso) / sizeof(bad_iso[0]); i++) {
        pv_error err = {0};
        assert_int_equal(pv_time_parse_iso8601(bad_iso[i], "execution_date", &ms, &err),
                         PV_EFORMAT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_payofin_local),
        cmocka_unit_test(test_time_iso8601),
        cmocka_unit_test(test_time_errors),
    };
    return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
