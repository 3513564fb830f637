/* test_isbank.c -- the İş Bankası adapter against seed 003 and PROVIDERS.md:
 * the provider table, the payment request, the token hooks and the
 * classification of answers. The service object and validation:
 * test_isbank_spec.c. */
#include "test_isbank.h"

#include "pv_time.h"

/*---- The provider table ----*/

static void test_isbank_provider_table(void **state)
{
    (void)state;
    assert_string_equal(pv_isbank.name, "ISBANK");
    assert_string_equal(pv_isbank.query_id_field, "payment_reference");
    assert_int_equal(pv_isbank.caps, PV_CAP_OAUTH | PV_CAP_SPEC);
    /* no status inquiry exists: an UNKNOWN waits for an operator */
    assert_null(pv_isbank.build_inquiry);
    assert_null(pv_isbank.parse_inquiry);
    assert_int_equal(pv_provider_setting_index(&pv_isbank, "client_id"), 0);
    assert_int_equal(pv_provider_setting_index(&pv_isbank, "client_secret"), 1);
    assert_int_equal(pv_provider_setting_index(&pv_isbank, "token_path"), 2);
    assert_int_equal(pv_provider_setting_index(&pv_isbank, "scope"), 3);
    assert_true(pv_isbank.settings[0].required);
    assert_false(pv_isbank.settings[0].secret);
    assert_true(pv_isbank.settings[1].required);
    assert_true(pv_isbank.settings[1].secret);
    assert_string_equal(pv_isbank.settings[2].default_value, "/api/isbank/v1/oauth2/token");
    assert_null(pv_isbank.settings[3].default_value);
    assert_null(pv_isbank.settings[4].name);
}

/*---- The payment request ----*/

/* A command with every kind of input builds this exact body: integers stay
 * integers, the amount keeps the currency's two decimals, the selected
 * item's label comes from the spec, a blank optional value is not sent. */
static void test_isbank_build_payment_request(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    void *spec = isbank_seed_spec(false);
    const pv_ctx ctx = isbank_ctx(spec);

    tu_command(&cmd, &pv_isbank,
               "{\"service_id\": 10065, \"payment_reference\": \"PAY-20200814-0001\","
               " \"query_flow_id\": \"QF-778899\", \"amount\": 265, \"currency_code\": \"EUR\","
               " \"basic_input_values\": ["
               "  {\"name\": \"SubscriberName\", \"value\": \"Ayşe Yılmaz\"},"
               "  {\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"10000000146\"},"
               "  {\"name\": \"Country\", \"value\": \"Türkiye\"},"
               "  {\"name\": \"Province\", \"value\": \"İstanbul\"},"
               "  {\"name\": \"District\", \"value\": \"Kadıköy\"},"
               "  {\"name\": \"AddressText\", \"value\": \"Moda Cad. No: 1/3\"},"
               "  {\"name\": \"Email\", \"value\": \"ayse@example.com\"},"
               "  {\"name\": \"Description\", \"value\": \"\\n \"}],"
               " \"selected_input_values\": ["
               "  {\"name\": \"OnBehalfOf\", \"selected_item\": {\"key\": \"B\"}}]}");
    if (pv_isbank.build_request(&cmd, &ctx, &req, &err) != PV_OK)
        fail_msg("build_request: %s", err.errstr);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/api/isbank/v1/bill-payments");
    assert_int_equal(req.nheaders, 5);
    assert_string_equal(pv_request_header(&req, "X-IBM-client-id"), "client-id-1");
    assert_string_equal(pv_request_header(&req, "X-IBM-client-secret"), "client-secret-1");
    assert_string_equal(pv_request_header(&req, "Authorization"), "Bearer " ISBANK_TOKEN);
    assert_string_equal(pv_request_header(&req, "Content-Type"), "application/json");
    assert_string_equal(pv_request_header(&req, "Accept"), "application/json");
    assert_int_equal(req.body_len, strlen(req.body));

    json_object *got = tu_json(req.body);
    json_object *want = tu_json(
        "{\"service_id\": 10065, \"query_flow_id\": \"QF-778899\","
        " \"payment_reference\": \"PAY-20200814-0001\","
        " \"basic_input_values\": ["
        "  {\"name\": \"SubscriberName\", \"value\": \"Ayşe Yılmaz\"},"
        "  {\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"10000000146\"},"
        "  {\"name\": \"Country\", \"value\": \"Türkiye\"},"
        "  {\"name\": \"Province\", \"value\": \"İstanbul\"},"
        "  {\"name\": \"District\", \"value\": \"Kadıköy\"},"
        "  {\"name\": \"AddressText\", \"value\": \"Moda Cad. No: 1/3\"},"
        "  {\"name\": \"Email\", \"value\": \"ayse@example.com\"}],"
        " \"selected_input_values\": ["
        "  {\"name\": \"OnBehalfOf\", \"selected_item\": {\"key\": \"B\", \"value\": \"Başkası "
        "adına\"}}],"
        " \"amount\": 265.00, \"currency_code\": \"EUR\"}");
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    pv_request_clear(&req);
    pv_command_clear(&cmd);

    /* a decimal string amount and an integer query_flow_id; no lists at all
     * when the spec requires nothing is fine for a spec without fields */
    tu_command(&cmd, &pv_isbank,
               "{\"service_id\": 10065, \"payment_reference\": \"R-2\", \"query_flow_id\": 42,"
               " \"amount\": \"1250.5\", \"currency_code\": \"TRY\","
               " \"basic_input_values\": [" BASIC_OK "]}");
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_OK);
    got = tu_json(req.body);
    want = tu_json("{\"service_id\": 10065, \"query_flow_id\": 42, \"payment_reference\": \"R-2\","
                   " \"basic_input_values\": [" BASIC_OK "], \"selected_input_values\": [],"
                   " \"amount\": 1250.50, \"currency_code\": \"TRY\"}");
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    pv_request_clear(&req);
    pv_command_clear(&cmd);
    pv_isbank.free_spec(spec);
}
static void test_isbank_config_errors(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    void *spec = isbank_seed_spec(false);
    isbank_cmd(&cmd, "265", "EUR", BASIC_OK, "");

    pv_ctx ctx = isbank_ctx(NULL);
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "spec");
    assert_int_equal(pv_isbank.build_request(&cmd, NULL, &req, &err), PV_ECONFIG);

    /* something that is not our spec */
    static const char foreign[4096];
    ctx.spec = foreign;
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "spec");

    ctx = isbank_ctx(spec);
    ctx.token = NULL;
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "Authorization");
    ctx.token = "";
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_ECONFIG);
    ctx.token = "abc\r\nX-Evil: 1";
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_EFORMAT);
    assert_null(strstr(err.errstr, "Evil"));
    assert_int_equal(req.nheaders, 0);

    static const char *const no_id[] = {NULL, "client-secret-1", NULL, NULL};
    static const char *const no_secret[] = {"client-id-1", NULL, NULL, NULL};
    ctx = isbank_ctx(spec);
    ctx.settings = no_id;
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "X-IBM-client-id");
    ctx.settings = no_secret;
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "X-IBM-client-secret");
    assert_int_equal(req.nheaders, 0);
    pv_command_clear(&cmd);

    /* the spec of one service cannot validate a command for another */
    tu_command(&cmd, &pv_isbank,
               "{\"service_id\": 99, \"payment_reference\": \"R-1\", \"amount\": 265, "
               "\"currency_code\": \"EUR\", \"basic_input_values\": [" BASIC_OK "]}");
    ctx = isbank_ctx(spec);
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "spec");
    assert_non_null(strstr(err.errstr, "10065"));
    assert_non_null(strstr(err.errstr, "99"));
    pv_command_clear(&cmd);
    pv_isbank.free_spec(spec);
}

static void test_isbank_query_id(void **state)
{
    (void)state;
    pv_command cmd;
    pv_error err = {0};
    char buf[PV_ID_MAX];

    tu_command(&cmd, &pv_isbank, "{\"service_id\": 10065, \"payment_reference\": \"PAY-1/a_b\"}");
    assert_int_equal(pv_isbank.query_id(&cmd, buf, sizeof(buf), &err), PV_OK);
    assert_string_equal(buf, "PAY-1/a_b");
    assert_int_equal(pv_isbank.query_id(&cmd, buf, 4, &err), PV_ETOOBIG);
    pv_command_clear(&cmd);

    tu_command(&cmd, &pv_isbank, "{\"service_id\": 10065}");
    assert_int_equal(pv_isbank.query_id(&cmd, buf, sizeof(buf), &err), PV_EMISSING);
    assert_string_equal(err.field, "request.payment_reference");
    pv_command_clear(&cmd);

    tu_command(&cmd, &pv_isbank, "{\"payment_reference\": \" PAY-1\"}");
    assert_int_equal(pv_isbank.query_id(&cmd, buf, sizeof(buf), &err), PV_EFORMAT);
    pv_command_clear(&cmd);
}

/*---- Token ----*/

static void test_isbank_token_request(void **state)
{
    (void)state;
    pv_request req;
    pv_error err = {0};
    pv_ctx ctx = isbank_ctx(NULL);

    assert_int_equal(pv_isbank.build_token_request(&ctx, &req, &err), PV_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/api/isbank/v1/oauth2/token");
    assert_string_equal(pv_request_header(&req, "Content-Type"),
                        "application/x-www-form-urlencoded");
    assert_string_equal(pv_request_header(&req, "Accept"), "application/json");
    assert_string_equal(pv_request_header(&req, "X-IBM-client-id"), "client-id-1");
    assert_null(pv_request_header(&req, "Authorization"));
    assert_string_equal(req.body,
                        "grant_type=client_credentials&client_id=client-id-1&client_secret="
                        "client-secret-1");
    assert_int_equal(req.body_len, strlen(req.body));
    pv_request_clear(&req);

    static const char *const custom[] = {"id 1", "s&c=r+t/é",
                                         "api/isbank/v1/identity-provider/"
                                         "oauth2/token",
                                         "bill-payments read"};
    ctx.settings = custom;
    assert_int_equal(pv_isbank.build_token_request(&ctx, &req, &err), PV_OK);
    assert_string_equal(req.path, "/api/isbank/v1/identity-provider/oauth2/token");
    assert_string_equal(req.body, "grant_type=client_credentials&client_id=id+1&client_secret="
                                  "s%26c%3Dr%2Bt%2F%C3%A9&scope=bill-payments+read");
    pv_request_clear(&req);

    static const char *const bad_path[] = {"id", "secret", "/token?x=1", NULL};
    ctx.settings = bad_path;
    assert_int_equal(pv_isbank.build_token_request(&ctx, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "token_path");
    static const char *const no_secret[] = {"id", NULL, NULL, NULL};
    ctx.settings = no_secret;
    assert_int_equal(pv_isbank.build_token_request(&ctx, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "client_secret");
    assert_int_equal(req.nheaders, 0);
}

static void test_isbank_parse_token(void **state)
{
    (void)state;
    static char huge[5200];
    memset(huge, 0, sizeof(huge));
    memcpy(huge, "{\"access_token\": \"", 18);
    memset(huge + 18, 'a', 5000);
    memcpy(huge + 5018, "\"}", 2);

    const struct {
        int status;
        const char *body;
        int code;
        const char *token;
        int64_t expires;
        const char *field;
    } cases[] = {
        {200,
         "{\"access_token\": \"eyJ.abc-_~+/=\", \"token_type\": \"Bearer\", \"expires_in\": "
         "3600}",
         PV_OK, "eyJ.abc-_~+/=", 3600, ""},
        {200, "{\"access_token\": \"t\", \"token_type\": \"bearer\", \"expires_in\": \"1800\"}",
         PV_OK, "t", 1800, ""},
        {200, "{\"access_token\": \"t\"}", PV_OK, "t", 0, ""},
        {200, "{}", PV_EMISSING, NULL, 0, "access_token"},
        {200, "{\"access_token\": 5}", PV_ETYPE, NULL, 0, "access_token"},
        {200, "{\"access_token\": \"sec ret\"}", PV_EFORMAT, NULL, 0, "access_token"},
        {200, "{\"access_token\": \"\"}", PV_EFORMAT, NULL, 0, "access_token"},
        {200, huge, PV_ETOOBIG, NULL, 0, "access_token"},
        {200, "{\"access_token\": \"t\", \"token_type\": \"mac\"}", PV_EUNSUPPORTED, NULL, 0,
         "token_type"},
        {200, "{\"access_token\": \"t\", \"expires_in\": 0}", PV_ERANGE, NULL, 0, "expires_in"},
        {200, "{\"access_token\": \"t\", \"expires_in\": \"soon\"}", PV_EFORMAT, NULL, 0,
         "expires_in"},
        {200, "not json", PV_EPARSE, NULL, 0, ""},
        {401, "{\"error\": \"invalid_client\"}", PV_ECONFIG, NULL, 0, "http_status"},
        {400, "{\"error\": \"invalid_scope\", \"error_description\": \"bad scope\"}", PV_ECONFIG,
         NULL, 0, "http_status"},
        {403, "", PV_ECONFIG, NULL, 0, "http_status"},
        {500, "oops", PV_EUNAVAILABLE, NULL, 0, "http_status"},
        {503, "", PV_EUNAVAILABLE, NULL, 0, "http_status"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_token tok;
        pv_error err = {0};
        int rc = pv_isbank.parse_token(cases[i].status, cases[i].body, strlen(cases[i].body), &tok,
                                       &err);
        if (rc != cases[i].code)
            fail_msg("case %zu: %s (%s), want %s", i, pv_error_name(rc), err.errstr,
                     pv_error_name(cases[i].code));
        if (rc == PV_OK) {
            assert_string_equal(tok.access_token, cases[i].token);
            assert_int_equal(tok.expires_in_s, cases[i].expires);
            continue;
        }
        assert_string_equal(err.field, cases[i].field);
        assert_string_equal(tok.access_token, "");
        assert_null(strstr(err.errstr, "sec ret")); /* the token is never quoted */
        assert_null(strstr(err.errstr, "aaaaaaaa"));
    }
}

/*---- The payment answer ----*/

/* The seed's Payments sample: exactly the documented values. */
static void test_isbank_parse_seed_response(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    char when[40];
    char *body = tu_fixture(PAYMENT_FIXTURE, NULL);

    isbank_cmd(&cmd, "265", "EUR", BASIC_OK, SELF);
    tu_parse(&pv_isbank, &cmd, 200, body, &res);
    assert_string_equal(res.error, "");
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_int_equal(res.http_status, 200);
    assert_string_equal(res.provider_code, ""); /* the sample has no infos */
    assert_string_equal(res.provider_message, "");
    assert_int_equal(res.nrefs, 1);
    assert_string_equal(pv_result_ref(&res, "payment_id"), "2493761");
    assert_string_equal(res.paid.currency, "EUR");
    assert_int_equal(res.paid.minor, 26500);
    assert_string_equal(res.paid.text, "265");
    assert_false(res.paid.rounded);
    assert_false(pv_money_isset(&res.fee));
    assert_false(pv_money_isset(&res.charged));
    pv_time_format_utc(res.paid_at_ms, when, sizeof(when));
    assert_string_equal(when, "2020-08-14T07:03:14.745Z"); /* 10:03:14.7450165+03:00 */
    assert_int_equal(res.nbalances, 0);
    assert_non_null(res.detail);
    json_object *got = tu_json(pv_json_dump(res.detail, NULL));
    json_object *want = tu_json(
        "{\"overdraft_amount\": 0, \"overdraft_currency_code\": \"TRY\", \"sos_used\": false}");
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    pv_result_clear(&res);

    /* the raw hook agrees with the checked entry point */
    pv_result_init(&res);
    pv_isbank.parse_response(&cmd, 200, body, strlen(body), &res);
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_string_equal(res.error, "");
    pv_result_clear(&res);
    pv_command_clear(&cmd);
    free(body);
}

/* Every documented code ("0" is the only one), refusals, contradictions and
 * unreadable infos, under the statuses they come with. */
static void test_isbank_result_classification(void **state)
{
    (void)state;
#define PAID "\"data\": {\"payment_id\": \"9\", \"amount\": 265, \"currency_code\": \"EUR\"}"
#define REFUSED                                                             \
    "\"infos\": [{\"code\": \"BPY017\", \"message\": \"Yetersiz bakiye\", " \
    "\"message_for_customer\": \"Hesabınızda yeterli bakiye yok\"}]"
    static const struct {
        int status;
        const char *body;
        pv_outcome outcome;
        const char *code;
        const char *message;
    } cases[] = {
        {200, "{" PAID ", \"infos\": [{\"code\": \"0\", \"message\": \"İşlem başarılı\"}]}",
         PV_OUTCOME_SUCCEEDED, "0", "İşlem başarılı"},
        {200, "{" PAID ", \"infos\": [{\"code\": 0}]}", PV_OUTCOME_SUCCEEDED, "0", ""},
        {200, "{" PAID ", \"infos\": []}", PV_OUTCOME_SUCCEEDED, "", ""},
        {201, "{" PAID "}", PV_OUTCOME_SUCCEEDED, "", ""},
        {200, "{\"data\": {\"payment_id\": 2493761}}", PV_OUTCOME_SUCCEEDED, "", ""},
        /* "0" but no payment id: no proof of payment */
        {200, "{\"data\": {\"amount\": 265}}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"infos\": [{\"code\": \"0\"}]}", PV_OUTCOME_UNKNOWN, "0", ""},
        {200, "{\"data\": {\"payment_id\": \"\\n \"}}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"data\": {\"payment_id\": {}}}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"data\": null, \"infos\": null}", PV_OUTCOME_UNKNOWN, "", ""},
        /* the bank refused: an info code other than "0" and no payment id */
        {200, "{" REFUSED "}", PV_OUTCOME_DECLINED, "BPY017", "Yetersiz bakiye"},
        {200, "{\"data\": {}, " REFUSED "}", PV_OUTCOME_DECLINED, "BPY017", "Yetersiz bakiye"},
        {400, "{" REFUSED "}", PV_OUTCOME_DECLINED, "BPY017", "Yetersiz bakiye"},
        {404, "{\"infos\": [{\"code\": \"404\", \"message\": \"Servis bulunamadı\"}]}",
         PV_OUTCOME_DECLINED, "404", "Servis bulunamadı"},
        {409, "{\"infos\": [{\"code\": 12}]}", PV_OUTCOME_DECLINED, "12", ""},
        {422, "{" REFUSED "}", PV_OUTCOME_DECLINED, "BPY017", "Yetersiz bakiye"},
        {200, "{\"infos\": [{\"code\": \"0\"}, {\"code\": \"W1\", \"message\": \"uyarı\"}]}",
         PV_OUTCOME_DECLINED, "W1", "uyarı"},
        /* a refusal next to a payment id contradicts itself */
        {200, "{" PAID ", " REFUSED "}", PV_OUTCOME_UNKNOWN, "BPY017", "Yetersiz bakiye"},
        /* credentials, throttling, server errors */
        {401, "{" REFUSED "}", PV_OUTCOME_FATAL, "BPY017", "Yetersiz bakiye"},
        {403, "{" REFUSED "}", PV_OUTCOME_FATAL, "BPY017", "Yetersiz bakiye"},
        {429, "{" REFUSED "}", PV_OUTCOME_RETRY, "BPY017", "Yetersiz bakiye"},
        {500, "{" REFUSED "}", PV_OUTCOME_UNKNOWN, "BPY017", "Yetersiz bakiye"},
        {503, "{" REFUSED "}", PV_OUTCOME_UNKNOWN, "BPY017", "Yetersiz bakiye"},
        {502, "{" PAID "}", PV_OUTCOME_UNKNOWN, "", ""},
        {500, "{" PAID ", \"infos\": [{\"code\": \"0\"}]}", PV_OUTCOME_UNKNOWN, "0", ""},
        {302, "{" REFUSED "}", PV_OUTCOME_UNKNOWN, "BPY017", "Yetersiz bakiye"},
        /* infos we cannot read: the answer cannot be classified */
        {200, "{\"infos\": [{\"message\": \"no code\"}]}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"infos\": [{\"code\": \"\\n \"}]}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"infos\": [{\"code\": {}}]}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"infos\": [{\"code\": 1.5}]}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"infos\": \"x\"}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"infos\": [\"0\"]}", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"data\": \"paid\"}", PV_OUTCOME_UNKNOWN, "", ""},
        {400, "{\"infos\": [{}]}", PV_OUTCOME_INVALID, "", ""},
    };
#undef PAID
#undef REFUSED
    pv_command cmd;
    isbank_cmd(&cmd, "265", "EUR", BASIC_OK, "");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_result res;
        tu_parse(&pv_isbank, &cmd, cases[i].status, cases[i].body, &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("case %zu (HTTP %d %s): %s, want %s (%s)", i, cases[i].status, cases[i].body,
                     pv_outcome_name(res.outcome), pv_outcome_name(cases[i].outcome), res.error);
        if (strcmp(res.provider_code, cases[i].code) != 0 ||
            strcmp(res.provider_message, cases[i].message) != 0)
            fail_msg("case %zu: code/message %s/%s, want %s/%s", i, res.provider_code,
                     res.provider_message, cases[i].code, cases[i].message);
        assert_int_equal(res.http_status, cases[i].status);
        if (res.outcome == PV_OUTCOME_SUCCEEDED)
            assert_non_null(pv_result_ref(&res, "payment_id"));
        else
            assert_null(pv_result_ref(&res, "payment_id"));
        if (res.outcome == PV_OUTCOME_UNKNOWN && cases[i].status >= 200 && cases[i].status < 300)
            assert_true(res.error[0] != '\0'); /* says why */
        pv_result_clear(&res);
    }
    pv_command_clear(&cmd);
}

/* A refusal keeps message (code/message) and the customer's message and
 * every info in the detail. */
static void test_isbank_declined_detail(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    isbank_cmd(&cmd, "265", "EUR", BASIC_OK, "");
    tu_parse(&pv_isbank, &cmd, 200,
             "{\"data\": null, \"infos\": [{\"code\": \"0\", \"message\": \"ok\"}, {\"code\": "
             "\"BPY017\", \"message\": \"Yetersiz bakiye\", \"message_for_customer\": "
             "\"Hesabınızda yeterli bakiye yok\"}]}",
             &res);
    assert_int_equal(res.outcome, PV_OUTCOME_DECLINED);
    assert_string_equal(res.provider_code, "BPY017");
    assert_string_equal(res.provider_message, "Yetersiz bakiye");
    json_object *got = tu_json(pv_json_dump(res.detail, NULL));
    json_object *want =
        tu_json("{\"message_for_customer\": \"Hesabınızda yeterli bakiye yok\", \"infos\": ["
                "{\"code\": \"0\", \"message\": \"ok\", \"message_for_customer\": \"\"},"
                "{\"code\": \"BPY017\", \"message\": \"Yetersiz bakiye\", "
                "\"message_for_customer\": \"Hesabınızda yeterli bakiye yok\"}]}");
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    pv_result_clear(&res);

    /* a long Turkish message is cut at a character boundary */
    char body[1024], msg[600];
    size_t o = 0;
    for (int i = 0; i < 150; i++)
        o += (size_t)snprintf(msg + o, sizeof(msg) - o, "ş");
    snprintf(body, sizeof(body), "{\"infos\": [{\"code\": \"E\", \"message\": \"a%s\"}]}", msg);
    tu_parse(&pv_isbank, &cmd, 200, body, &res);
    assert_int_equal(res.outcome, PV_OUTCOME_DECLINED);
    size_t n = strlen(res.provider_message);
    assert_true(n < PV_MSG_MAX && n % 2 == 1); /* "a" + whole two-byte letters */
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/* HTTP statuses with no envelope, garbage and gateway answers. */
static void test_isbank_http_without_envelope(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *body;
        pv_outcome outcome;
        const char *code;
        const char *message;
    } cases[] = {
        {401, "", PV_OUTCOME_FATAL, "", ""},
        {403, "Forbidden", PV_OUTCOME_FATAL, "", ""},
        {429, "", PV_OUTCOME_RETRY, "", ""},
        {500, "", PV_OUTCOME_UNKNOWN, "", ""},
        {503, "<html>Service Unavailable</html>", PV_OUTCOME_RETRY, "", ""},
        {502, "<html>Bad Gateway</html>", PV_OUTCOME_UNKNOWN, "", ""},
        {504, "", PV_OUTCOME_UNKNOWN, "", ""},
        {400, "Bad Request", PV_OUTCOME_INVALID, "", ""},
        {404, "{}", PV_OUTCOME_INVALID, "", ""},
        {200, "", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "<html>", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{\"data\": {\"payment_id\": \"1\"", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "[]", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "null", PV_OUTCOME_UNKNOWN, "", ""},
        {200, "{}", PV_OUTCOME_UNKNOWN, "", ""},
        {401,
         "{\"httpCode\": \"401\", \"httpMessage\": \"Unauthorized\", \"moreInformation\": "
         "\"Client id not registered.\"}",
         PV_OUTCOME_FATAL, "401", "Client id not registered."},
        {429, "{\"httpCode\": 429, \"httpMessage\": \"Too Many Requests\"}", PV_OUTCOME_RETRY,
         "429", "Too Many Requests"},
        {500, "{\"httpCode\": \"500\", \"httpMessage\": \"Internal Server Error\"}",
         PV_OUTCOME_UNKNOWN, "500", "Internal Server Error"},
        {503, "{\"httpCode\": \"503\", \"httpMessage\": \"Service Unavailable\"}", PV_OUTCOME_RETRY,
         "503", "Service Unavailable"},
    };
    pv_command cmd;
    isbank_cmd(&cmd, "265", "EUR", BASIC_OK, "");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_result res;
        tu_parse(&pv_isbank, &cmd, cases[i].status, cases[i].body, &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("case %zu (HTTP %d %s): %s, want %s", i, cases[i].status, cases[i].body,
                     pv_outcome_name(res.outcome), pv_outcome_name(cases[i].outcome));
        assert_string_equal(res.provider_code, cases[i].code);
        assert_string_equal(res.provider_message, cases[i].message);
        assert_int_equal(res.nrefs, 0);
        pv_result_clear(&res);
    }
    pv_command_clear(&cmd);
}

/* A success whose details cannot all be read: the adapter says which field;
 * the checked entry point then makes it UNKNOWN (we do not know what was
 * paid). Without data.currency_code, the command's currency is used. */
static void test_isbank_success_details(void **state)
{
    (void)state;
    static const struct {
        const char *data;
        const char *error; /* substring of res.error; NULL: none */
    } cases[] = {
        {"\"amount\": \"x\", \"currency_code\": \"EUR\"", "data.amount"},
        {"\"amount\": 1e400, \"currency_code\": \"EUR\"", "data.amount"},
        {"\"amount\": 265, \"currency_code\": \"EURO\"", "data.currency_code"},
        {"\"amount\": 265, \"currency_code\": \"XYZ\"", "data.amount"},
        {"\"amount\": 265, \"execution_date\": \"yesterday\"", "data.execution_date"},
        {"\"amount\": 265, \"overdraft_amount\": \"1e3\", \"overdraft_currency_code\": \"TRY\"",
         "data.overdraft_amount"},
        {"\"amount\": 265, \"overdraft_amount\": 5", "data.overdraft_amount"},
        {"\"amount\": 265, \"sos_used\": \"maybe\"", "data.sos_used"},
        {"\"amount\": 265.50", NULL},
    };
    pv_command cmd;
    isbank_cmd(&cmd, "265", "EUR", BASIC_OK, "");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512];
        pv_result res;
        snprintf(body, sizeof(body), "{\"data\": {\"payment_id\": \"77\", %s}}", cases[i].data);
        pv_result_init(&res); /* the raw hook: paid, with a note */
        pv_isbank.parse_response(&cmd, 200, body, strlen(body), &res);
        if (res.outcome != PV_OUTCOME_SUCCEEDED)
            fail_msg("case %zu: %s (%s), want SUCCEEDED with a note", i,
                     pv_outcome_name(res.outcome), res.error);
        assert_string_equal(pv_result_ref(&res, "payment_id"), "77");
        if (cases[i].error == NULL) {
            assert_string_equal(res.error, "");
            assert_string_equal(res.paid.currency, "EUR"); /* from the command */
            assert_int_equal(res.paid.minor, 26550);
            assert_string_equal(res.paid.text, "265.50");
        } else if (strstr(res.error, cases[i].error) == NULL) {
            fail_msg("case %zu: error \"%s\" does not name %s", i, res.error, cases[i].error);
        }
        pv_result_clear(&res);

        tu_parse(&pv_isbank, &cmd, 200, body, &res); /* the checked entry point */
        assert_int_equal(res.outcome,
                         cases[i].error == NULL ? PV_OUTCOME_SUCCEEDED : PV_OUTCOME_UNKNOWN);
        pv_result_clear(&res);
    }
    pv_command_clear(&cmd);

    /* overdraft given as a string keeps its exact text */
    pv_result res;
    isbank_cmd(&cmd, "265", "EUR", BASIC_OK, "");
    tu_parse(&pv_isbank, &cmd, 200,
             "{\"data\": {\"payment_id\": \"1\", \"overdraft_amount\": \"12.50\", "
             "\"overdraft_currency_code\": \"TRY\", \"sos_used\": \"true\"}}",
             &res);
    assert_string_equal(res.error, "");
    json_object *got = tu_json(pv_json_dump(res.detail, NULL));
    json_object *want = tu_json("{\"overdraft_amount\": \"12.50\", \"overdraft_currency_code\": "
                                "\"TRY\", \"sos_used\": true}");
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isbank_provider_table),
        cmocka_unit_test(test_isbank_build_payment_request),
        cmocka_unit_test(test_isbank_config_errors),
        cmocka_unit_test(test_isbank_query_id),
        cmocka_unit_test(test_isbank_token_request),
        cmocka_unit_test(test_isbank_parse_token),
        cmocka_unit_test(test_isbank_parse_seed_response),
        cmocka_unit_test(test_isbank_result_classification),
        cmocka_unit_test(test_isbank_declined_detail),
        cmocka_unit_test(test_isbank_http_without_envelope),
        cmocka_unit_test(test_isbank_success_details),
    };
    return cmocka_run_group_tests_name("isbank", tests, NULL, NULL);
}
