/* test_payofin.c -- the Payofin adapter against seed 000 and PROVIDERS.md. */
#include "testutil.h"

#include <string.h>

#include "pv_utf8.h"
#include "pv_time.h"

static const char *const payofin_settings[] = {"api-key-1", "secret-key-1"};
static const pv_ctx payofin_ctx = {.settings = payofin_settings};

/* The seed's sample request comes out of a command carrying the same
 * parameters: JSON-equal, integers stay integers. */
static void test_payofin_build_seed_request(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    char *sample = tu_fixture("payofin/invoicepayment.request.json", NULL);

    tu_command(&cmd, &pv_payofin, sample);
    assert_int_equal(pv_payofin.build_request(&cmd, &payofin_ctx, &req, &err), PV_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/invoices/invoicepayment");
    assert_string_equal(pv_request_header(&req, "ApiKey"), "api-key-1");
    assert_string_equal(pv_request_header(&req, "SecretKey"), "secret-key-1");
    assert_string_equal(pv_request_header(&req, "Content-Type"), "application/json");

    json_object *got = tu_json(req.body), *want = tu_json(sample);
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    pv_request_clear(&req);
    pv_command_clear(&cmd);
    free(sample);
}

static void test_payofin_partial_amount_only_when_given(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};

    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": \"615209\"}");
    assert_int_equal(pv_payofin.build_request(&cmd, &payofin_ctx, &req, &err), PV_OK);
    json_object *got = tu_json(req.body), *want = tu_json("{\"invoiceQueryId\": 615209}");
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    pv_request_clear(&req);
    pv_command_clear(&cmd);
}

static void test_payofin_rejects_bad_commands(void **state)
{
    (void)state;
    static const struct {
        const char *request;
        int code;
        const char *field;
        const char *quoted; /* the value the message must quote */
    } cases[] = {
        {"{}", PV_EMISSING, "request.invoiceQueryId", NULL},
        {"{\"invoiceQueryId\": 1.5}", PV_ETYPE, "request.invoiceQueryId", "1.5"},
        {"{\"invoiceQueryId\": \"12a\"}", PV_EFORMAT, "request.invoiceQueryId", "12a"},
        {"{\"invoiceQueryId\": -4}", PV_ERANGE, "request.invoiceQueryId", "-4"},
        {"{\"invoiceQueryId\": 123456789012345678901234567890}", PV_ERANGE,
         "request.invoiceQueryId", NULL},
        {"{\"invoiceQueryId\": 5, \"partialAmount\": 1.5}", PV_EFORMAT, "request.partialAmount",
         "1.5"},
        {"{\"invoiceQueryId\": 5, \"partialAmount\": 0}", PV_ERANGE, "request.partialAmount", "0"},
        {"{\"invoiceQueryId\": 5, \"partialAmount\": true}", PV_ETYPE, "request.partialAmount",
         "true"},
        {"[1]", PV_ETYPE, "request", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        tu_command(&cmd, &pv_payofin, cases[i].request);
        int rc = pv_payofin.build_request(&cmd, &payofin_ctx, &req, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu %s: rc %s, want %s (%s)", i, cases[i].request, pv_error_name(rc),
                     pv_error_name(cases[i].code), err.errstr);
        assert_string_equal(err.field, cases[i].field);
        assert_non_null(strstr(err.errstr, cases[i].field));
        if (cases[i].quoted != NULL && strstr(err.errstr, cases[i].quoted) == NULL)
            fail_msg("case %zu: message \"%s\" does not quote %s", i, err.errstr, cases[i].quoted);
        pv_command_clear(&cmd);
    }
}

static void test_payofin_missing_credentials(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    const pv_ctx empty = {0};
    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 7}");
    assert_int_equal(pv_payofin.build_request(&cmd, &empty, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "ApiKey");
    pv_command_clear(&cmd);
}

/* The seed's sample response gives exactly the documented values. */
static void test_payofin_parse_seed_response(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    char when[40];
    char *body = tu_fixture("payofin/invoicepayment.response.json", NULL);

    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 615209, \"partialAmount\": 1}");
    snprintf(cmd.merchant, sizeof(cmd.merchant), "m-42");
    tu_parse(&pv_payofin, &cmd, 200, body, &res);
    assert_string_equal(res.error, "");
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_string_equal(res.provider_code, "1");
    assert_string_equal(res.provider_message, "İşlem Başarılı");
    assert_string_equal(pv_result_ref(&res, "invoicePaymentId"), "1786");
    assert_string_equal(res.paid.currency, "TRY");
    assert_int_equal(res.paid.minor, 100);
    assert_string_equal(res.paid.text, "1.0");
    assert_int_equal(res.fee.minor, 50);
    assert_string_equal(res.fee.text, "0.50");
    assert_false(pv_money_isset(&res.charged));
    pv_time_format_utc(res.paid_at_ms, when, sizeof(when));
    assert_string_equal(when, "2022-05-10T12:41:49.000Z"); /* 15:41:49 Istanbul, UTC+3 */
    assert_int_equal(res.nbalances, 1);
    assert_string_equal(res.balances[0].account, "default"); /* not the command's merchant */
    assert_string_equal(res.balances[0].currency, "TRY");
    assert_int_equal(res.balances[0].total.minor, 11074099);
    assert_string_equal(res.balances[0].total.text, "110740.99");
    pv_result_clear(&res);
    pv_command_clear(&cmd);
    free(body);
}

/* Every documented resultCode (PROVIDERS.md) has its class. */
static void test_payofin_result_codes(void **state)
{
    (void)state;
    static const struct {
        int code;
        pv_outcome outcome;
    } cases[] = {
        {1, PV_OUTCOME_SUCCEEDED},  {-1, PV_OUTCOME_DECLINED},  {-3, PV_OUTCOME_DECLINED},
        {-4, PV_OUTCOME_DECLINED},  {-5, PV_OUTCOME_DECLINED},  {-6, PV_OUTCOME_RETRY},
        {-8, PV_OUTCOME_INVALID},   {-10, PV_OUTCOME_DECLINED}, {-11, PV_OUTCOME_DECLINED},
        {-14, PV_OUTCOME_INVALID},  {-15, PV_OUTCOME_INVALID},  {-16, PV_OUTCOME_INVALID},
        {-17, PV_OUTCOME_INVALID},  {-18, PV_OUTCOME_UNKNOWN},  {-19, PV_OUTCOME_DECLINED},
        {-20, PV_OUTCOME_INVALID},  {-22, PV_OUTCOME_FATAL},    {-24, PV_OUTCOME_RETRY},
        {-25, PV_OUTCOME_DECLINED}, {-2, PV_OUTCOME_UNKNOWN},   {-99, PV_OUTCOME_UNKNOWN},
        {0, PV_OUTCOME_UNKNOWN},
    };
    pv_command cmd;
    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 615209}");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[160];
        pv_result res;
        snprintf(body, sizeof(body),
                 "{\"result\": %s, \"resultCode\": %d, \"resultMessage\": \"m\"}",
                 cases[i].code == 1 ? "true" : "false", cases[i].code);
        tu_parse(&pv_payofin, &cmd, 200, body, &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("resultCode %d: %s, want %s", cases[i].code, pv_outcome_name(res.outcome),
                     pv_outcome_name(cases[i].outcome));
        char want[16];
        snprintf(want, sizeof(want), "%d", cases[i].code);
        assert_string_equal(res.provider_code, want);
        pv_result_clear(&res);
    }
    pv_command_clear(&cmd);
}

static void test_payofin_contradictory_envelope_is_unknown(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 615209}");
    tu_parse(&pv_payofin, &cmd, 200, "{\"result\": true, \"resultCode\": -10}", &res);
    assert_int_equal(res.outcome, PV_OUTCOME_UNKNOWN);
    assert_non_null(strstr(res.error, "contradicts"));
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/* A paid answer whose text is not UTF-8 is still SUCCEEDED, the bad bytes
 * carried as U+FFFD and counted; an answer with a key twice (or in two
 * cases) is not trusted either way (issue 11). */
static void test_payofin_hostile_answers(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    char *seed = tu_fixture("payofin/invoicepayment.response.json", NULL);
    char *at = strstr(seed, "\"resultMessage\"");
    assert_non_null(at);
    at = strchr(at + 16, '"'); /* the value's opening quote */
    assert_non_null(at);
    at[1] = (char)0xff; /* over the first byte of "İ" (c4 b0): two bytes are no longer UTF-8 */
    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 615209}");
    tu_parse(&pv_payofin, &cmd, 200, seed, &res);
    assert_string_equal(res.error, "");
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_int_equal(res.text_replaced, 2);
    assert_true(pv_utf8_valid(res.provider_message, strlen(res.provider_message)));
    assert_non_null(strstr(res.provider_message, "\xef\xbf\xbd"));
    pv_result_clear(&res);
    free(seed);

    static const char *const ambiguous[] = {
        "{\"result\": true, \"resultCode\": 1, \"resultMessage\": \"m\", \"resultCode\": -19}",
        "{\"result\": false, \"resultCode\": -19, \"resultMessage\": \"m\", \"resultCode\": 1}",
        "{\"result\": true, \"resultCode\": 1, \"ResultCode\": -19, \"resultMessage\": \"m\"}",
        "{\"result\": true, \"Result\": false, \"resultCode\": 1, \"resultMessage\": \"m\"}",
    };
    for (size_t i = 0; i < sizeof(ambiguous) / sizeof(ambiguous[0]); i++) {
        tu_parse(&pv_payofin, &cmd, 200, ambiguous[i], &res);
        if (res.outcome != PV_OUTCOME_UNKNOWN || strstr(res.error, "ambiguous") == NULL)
            fail_msg("%s: %s (%s), want UNKNOWN", ambiguous[i], pv_outcome_name(res.outcome),
                     res.error);
        pv_result_clear(&res);
    }
    pv_command_clear(&cmd);
}

/* An answer that echoes a credential: every copy is "***" before anything
 * reads it (pv_provider_redact, run by the worker on every answer). */
static void test_payofin_redacts_echoed_secrets(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 615209}");
    tu_parse(&pv_payofin, &cmd, 200,
             "{\"result\": false, \"resultCode\": -22, \"resultMessage\": \"ApiKey=api-key-1 "
             "SecretKey=secret-key-1 refused (api-key-1)\"}",
             &res);
    assert_int_equal(res.outcome, PV_OUTCOME_FATAL);
    assert_int_equal(pv_provider_redact(&pv_payofin, &payofin_ctx, &res), 3);
    assert_string_equal(res.provider_message, "ApiKey=*** SecretKey=*** refused (***)");
    /* in a detail too, at any depth; strings without a secret are left alone */
    res.detail = tu_json("{\"a\": [\"x secret-key-1 y\", {\"b\": \"plain\"}]}");
    pv_provider_redact(&pv_payofin, &payofin_ctx, &res);
    json_object *want = tu_json("{\"a\": [\"x *** y\", {\"b\": \"plain\"}]}");
    tu_assert_json_equal(res.detail, want);
    json_object_put(want);
    char buf[64] = "token api-key-1";
    assert_int_equal(pv_provider_redact_text(&pv_payofin, &payofin_ctx, buf, sizeof(buf)), 1);
    assert_string_equal(buf, "token ***");
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/* Inquiry re-runs the invoice query and reads the answer. */
static void test_payofin_inquiry(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    pv_result res;

    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 615209}");
    assert_int_equal(pv_payofin.build_inquiry(&cmd, &payofin_ctx, &req, &err), PV_EUNSUPPORTED);
    pv_command_clear(&cmd);

    tu_command(&cmd, &pv_payofin,
               "{\"invoiceQueryId\": 615209, \"invoiceQuery\": {\"sootCode\": \"S1\", "
               "\"subscriberNo\": \"123\", \"additionalNo\": \"\", \"firmRefNo\": \"F\"}}");
    assert_int_equal(pv_payofin.build_inquiry(&cmd, &payofin_ctx, &req, &err), PV_OK);
    assert_string_equal(req.path, "/invoices/invoicequery");
    json_object *got = tu_json(req.body);
    json_object *want = tu_json("{\"sootCode\": \"S1\", \"subscriberNo\": \"123\", "
                                "\"additionalNo\": \"\", \"firmRefNo\": \"F\"}");
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    pv_request_clear(&req);

    static const struct {
        const char *body;
        pv_outcome outcome;
    } answers[] = {
        {"{\"result\": false, \"resultCode\": -10}", PV_OUTCOME_SUCCEEDED},
        {"{\"result\": false, \"resultCode\": -1}", PV_OUTCOME_SUCCEEDED},
        {"{\"result\": true, \"resultCode\": 1, \"invoiceList\": [{\"invoiceQueryId\": 615209}]}",
         PV_OUTCOME_DECLINED},
        {"{\"result\": true, \"resultCode\": 1, \"invoiceList\": [{\"invoiceQueryId\": 1}]}",
         PV_OUTCOME_UNKNOWN},
        {"{\"result\": false, \"resultCode\": -6}", PV_OUTCOME_UNKNOWN},
        {"<html>", PV_OUTCOME_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        pv_result_init(&res);
        pv_payofin.parse_inquiry(&cmd, 200, answers[i].body, strlen(answers[i].body), &res);
        if (res.outcome != answers[i].outcome)
            fail_msg("inquiry answer %zu: %s, want %s", i, pv_outcome_name(res.outcome),
                     pv_outcome_name(answers[i].outcome));
        pv_result_clear(&res);
    }
    pv_command_clear(&cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payofin_build_seed_request),
        cmocka_unit_test(test_payofin_partial_amount_only_when_given),
        cmocka_unit_test(test_payofin_rejects_bad_commands),
        cmocka_unit_test(test_payofin_missing_credentials),
        cmocka_unit_test(test_payofin_parse_seed_response),
        cmocka_unit_test(test_payofin_result_codes),
        cmocka_unit_test(test_payofin_contradictory_envelope_is_unknown),
        cmocka_unit_test(test_payofin_hostile_answers),
        cmocka_unit_test(test_payofin_redacts_echoed_secrets),
        cmocka_unit_test(test_payofin_inquiry),
    };
    return cmocka_run_group_tests_name("payofin", tests, NULL, NULL);
}
