/* test_sipay.c -- the Sipay Wallet adapter against seed 001 and PROVIDERS.md. */
#include "testutil.h"

#include <string.h>

#define SIPAY_TOKEN "eyJhbGciOiJSUzI1NiJ9.tok-123"

static const char *const sipay_settings[] = {"client-1", "s3cr3t-value", NULL, NULL};
static const pv_ctx sipay_ctx = {.settings = sipay_settings, .token = SIPAY_TOKEN};

static void sipay_seed_command(pv_command *cmd)
{
    char *sample = tu_fixture("sipay/makepayment.request.json", NULL);
    tu_command(cmd, &pv_sipay, sample);
    free(sample);
}

/* The request body must equal want_json (strict: ints stay ints, "196.50"
 * keeps its decimals). */
static void sipay_assert_body(const pv_request *req, const char *want_json)
{
    json_object *got = tu_json(req->body), *want = tu_json(want_json);
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
}

/*---- Registration ----*/

static void test_sipay_ops_table(void **state)
{
    (void)state;
    assert_ptr_equal(pv_provider_find("SIPAY"), &pv_sipay);
    assert_string_equal(pv_sipay.operation, "MakePayment");
    assert_string_equal(pv_sipay.query_id_field, "inv_payment_transaction_query_oid");
    assert_int_equal(pv_sipay.caps, PV_CAP_OAUTH | PV_CAP_BALANCE | PV_CAP_PARTIAL);
    assert_null(pv_sipay.build_inquiry);
    assert_null(pv_sipay.parse_inquiry);
    assert_non_null(pv_sipay.build_token_request);
    assert_non_null(pv_sipay.parse_token);

    int id = pv_provider_setting_index(&pv_sipay, "client_id");
    int secret = pv_provider_setting_index(&pv_sipay, "client_secret");
    int scope = pv_provider_setting_index(&pv_sipay, "scope");
    int tenant = pv_provider_setting_index(&pv_sipay, "tenant_id");
    assert_int_equal(id, 0);
    assert_int_equal(secret, 1);
    assert_int_equal(scope, 2);
    assert_int_equal(tenant, 3);
    assert_true(pv_sipay.settings[id].required);
    assert_false(pv_sipay.settings[id].secret);
    assert_true(pv_sipay.settings[secret].required);
    assert_true(pv_sipay.settings[secret].secret);
    assert_string_equal(pv_provider_setting(&pv_sipay, &sipay_ctx, scope), "sts_business_api");
    assert_string_equal(pv_provider_setting(&pv_sipay, &sipay_ctx, tenant), "0");
    assert_null(pv_sipay.settings[4].name);
}

/*---- Request ----*/

/* The seed's sample request comes out of a command carrying the same
 * parameters: JSON-equal, with every header. */
static void test_sipay_build_seed_request(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    char *sample = tu_fixture("sipay/makepayment.request.json", NULL);

    tu_command(&cmd, &pv_sipay, sample);
    assert_int_equal(pv_sipay.build_request(&cmd, &sipay_ctx, &req, &err), PV_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/v1/InvoicePayment/MakePayment");
    assert_int_equal(req.nheaders, 4);
    assert_string_equal(pv_request_header(&req, "Authorization"), "Bearer " SIPAY_TOKEN);
    assert_string_equal(pv_request_header(&req, "x-client-id"), "client-1");
    assert_string_equal(pv_request_header(&req, "Content-Type"), "application/json");
    assert_string_equal(pv_request_header(&req, "Accept"), "application/json");
    sipay_assert_body(&req, sample);
    /* byte-level: the amounts keep TRY's two decimals, subscriber_no stays text */
    assert_non_null(strstr(req.body, "\"invoice_amount\":196.50,"));
    assert_non_null(strstr(req.body, "\"payment_amount\":196.50,"));
    assert_non_null(strstr(req.body, "\"subscriber_no\":\"5536557580\""));
    assert_non_null(strstr(req.body, "\"tenant_id\":0,"));
    assert_int_equal(req.body_len, strlen(req.body));
    pv_request_clear(&req);
    pv_command_clear(&cmd);
    free(sample);
}

static void test_sipay_query_id(void **state)
{
    (void)state;
    pv_command cmd;
    pv_error err = {0};
    char buf[PV_ID_MAX];

    sipay_seed_command(&cmd);
    assert_int_equal(pv_sipay.query_id(&cmd, buf, sizeof(buf), &err), PV_OK);
    assert_string_equal(buf, "90XX46-FXX5-4XX3-8DXX-B1XX97");
    assert_int_equal(pv_sipay.query_id(&cmd, buf, 8, &err), PV_ETOOBIG);
    pv_command_clear(&cmd);

    tu_command(&cmd, &pv_sipay, "{\"inv_payment_transaction_query_oid\": \"a}b\"}");
    assert_int_equal(pv_sipay.query_id(&cmd, buf, sizeof(buf), &err), PV_EFORMAT);
    assert_string_equal(err.field, "request.inv_payment_transaction_query_oid");
    assert_non_null(strstr(err.errstr, "\"a}b\""));
    pv_command_clear(&cmd);
}

/* tenant_id: the command's when given, else the setting's (default 0);
 * amounts arrive as numbers or decimal strings and leave with 2 decimals. */
static void test_sipay_tenant_and_amount_forms(void **state)
{
    (void)state;
    static const char base[] =
        "{\"account_type_id\": %s, \"account_number\": \"A1\", \"wallet_number\": \"W1\", "
        "\"inv_payment_transaction_query_oid\": \"Q1\", \"invoice_amount\": %s, "
        "\"payment_amount\": %s, \"product_oid\": \"P1\", \"subscriber_no\": \"0555\", "
        "\"bill_term\": \"03/2023\", \"bill_no\": \"B1\"%s}";
    static const char want[] =
        "{\"tenant_id\": %s, \"account_type_id\": %s, \"account_number\": \"A1\", "
        "\"wallet_number\": \"W1\", \"inv_payment_transaction_query_oid\": \"Q1\", "
        "\"invoice_amount\": %s, \"payment_amount\": %s, \"product_oid\": \"P1\", "
        "\"subscriber_no\": \"0555\", \"bill_term\": \"03/2023\", \"bill_no\": \"B1\"}";
    static const char *const tenant7[] = {"client-1", "s", NULL, "7"};
    static const pv_ctx ctx7 = {.settings = tenant7, .token = "t"};
    static const struct {
        const pv_ctx *ctx; /* NULL: sipay_ctx */
        const char *type_id, *invoice, *payment, *extra;
        const char *want_tenant, *want_type, *want_invoice, *want_payment;
    } cases[] = {
        {NULL, "2", "100", "\"99.9\"", "", "0", "2", "100.00", "99.90"},
        {&ctx7, "\"1\"", "\"250.75\"", "0.01", "", "7", "1", "250.75", "0.01"},
        {&ctx7, "1", "10.5", "10.50", ", \"tenant_id\": 3", "3", "1", "10.50", "10.50"},
        {NULL, "1", "5", "5", ", \"tenant_id\": \"12\", \"currency\": \"TRY\"", "12", "1", "5.00",
         "5.00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char in[1024], out[1024];
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        snprintf(in, sizeof(in), base, cases[i].type_id, cases[i].invoice, cases[i].payment,
                 cases[i].extra);
        snprintf(out, sizeof(out), want, cases[i].want_tenant, cases[i].want_type,
                 cases[i].want_invoice, cases[i].want_payment);
        tu_command(&cmd, &pv_sipay, in);
        int rc = pv_sipay.build_request(&cmd, cases[i].ctx != NULL ? cases[i].ctx : &sipay_ctx,
                                        &req, &err);
        if (rc != PV_OK)
            fail_msg("case %zu: %s", i, err.errstr);
        sipay_assert_body(&req, out);
        pv_request_clear(&req);
        pv_command_clear(&cmd);
    }
}

static void test_sipay_rejects_bad_commands(void **state)
{
    (void)state;
    char long_value[160];
    memset(long_value, 'x', sizeof(long_value));
    long_value[0] = '"';
    long_value[129] = '"';
    long_value[130] = '\0'; /* a string of 128 bytes: one past the limit */

    const struct {
        const char *key;
        const char *value; /* JSON; NULL deletes the key */
        int code;
        const char *quoted; /* the value the message must quote, NULL when none */
    } cases[] = {
        {"account_type_id", NULL, PV_EMISSING, NULL},
        {"account_type_id", "3", PV_ERANGE, "3"},
        {"account_type_id", "0", PV_ERANGE, "0"},
        {"account_type_id", "\"x\"", PV_EFORMAT, "x"},
        {"account_type_id", "1.0", PV_ETYPE, "1.0"},
        {"account_number", NULL, PV_EMISSING, NULL},
        {"account_number", "\"\"", PV_EFORMAT, "\"\""},
        {"account_number", "2801", PV_ETYPE, "2801"},
        {"wallet_number", long_value, PV_ETOOBIG, "xxxxxxxx"},
        {"wallet_number", "[\"25XX25\"]", PV_ETYPE, "25XX25"},
        {"inv_payment_transaction_query_oid", NULL, PV_EMISSING, NULL},
        {"inv_payment_transaction_query_oid", "\"90 46\"", PV_EFORMAT, "90 46"},
        {"inv_payment_transaction_query_oid", "\"{9046}\"", PV_EFORMAT, "{9046}"},
        {"inv_payment_transaction_query_oid", "9046", PV_ETYPE, "9046"},
        {"product_oid", "null", PV_EMISSING, NULL},
        {"subscriber_no", "5536557580", PV_ETYPE, "5536557580"},
        {"bill_term", "\"03/\\n2023\"", PV_EFORMAT, "03/\\x0a2023"},
        {"bill_no", "2023887", PV_ETYPE, "2023887"},
        {"bill_no", "{}", PV_ETYPE, "{"},
        {"invoice_amount", NULL, PV_EMISSING, NULL},
        {"invoice_amount", "\"1e3\"", PV_EFORMAT, "1e3"},
        {"invoice_amount", "1e3", PV_EFORMAT, "1e3"},
        {"invoice_amount", "\"abc\"", PV_EFORMAT, "abc"},
        {"invoice_amount", "\" 196.50\"", PV_EFORMAT, " 196.50"},
        {"invoice_amount", "196.505", PV_EFORMAT, "196.505"},
        {"invoice_amount", "123456789012345678901234567890", PV_ERANGE, NULL},
        {"payment_amount", "\"196.500\"", PV_EFORMAT, "196.500"},
        {"payment_amount", "0", PV_ERANGE, "0"},
        {"payment_amount", "0.00", PV_ERANGE, "0.00"},
        {"payment_amount", "-5", PV_ERANGE, "-5"},
        {"payment_amount", "196.51", PV_ERANGE, "196.51"},
        {"payment_amount", "true", PV_ETYPE, "true"},
        {"tenant_id", "-1", PV_ERANGE, "-1"},
        {"tenant_id", "\"t1\"", PV_EFORMAT, "t1"},
        {"tenant_id", "1.5", PV_ETYPE, "1.5"},
        {"currency", "\"USD\"", PV_ECURRENCY, "USD"},
        {"currency", "949", PV_ECURRENCY, "949"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char field[96];
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        sipay_seed_command(&cmd);
        json_object_object_del(cmd.request, cases[i].key);
        if (cases[i].value != NULL)
            json_object_object_add(cmd.request, cases[i].key, tu_json(cases[i].value));
        int rc = pv_sipay.build_request(&cmd, &sipay_ctx, &req, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu %s=%s: rc %s, want %s (%s)", i, cases[i].key,
                     cases[i].value != NULL ? cases[i].value : "(deleted)", pv_error_name(rc),
                     pv_error_name(cases[i].code), err.errstr);
        snprintf(field, sizeof(field), "request.%s", cases[i].key);
        assert_string_equal(err.field, field);
        assert_non_null(strstr(err.errstr, field));
        if (cases[i].quoted != NULL && strstr(err.errstr, cases[i].quoted) == NULL)
            fail_msg("case %zu: message \"%s\" does not quote %s", i, err.errstr, cases[i].quoted);
        /* a refused command leaves the request empty */
        assert_null(req.body);
        assert_int_equal(req.nheaders, 0);
        pv_command_clear(&cmd);
    }

    /* not an object at all */
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    tu_command(&cmd, &pv_sipay, "[1]");
    assert_int_equal(pv_sipay.build_request(&cmd, &sipay_ctx, &req, &err), PV_ETYPE);
    assert_string_equal(err.field, "request");
    pv_command_clear(&cmd);
}

/* Credentials and settings: refused without quoting any secret. */
static void test_sipay_configuration_errors(void **state)
{
    (void)state;
    static const char *const no_client[] = {NULL, "s3cr3t-value", NULL, NULL};
    static const char *const bad_tenant[] = {"client-1", "s3cr3t-value", NULL, "-x"};
    const struct {
        pv_ctx ctx;
        int code;
        const char *field;
    } cases[] = {
        {{.settings = sipay_settings, .token = NULL}, PV_ECONFIG, "Authorization"},
        {{.settings = sipay_settings, .token = ""}, PV_ECONFIG, "Authorization"},
        {{.settings = sipay_settings, .token = "tok\r\nX-Evil: 1"}, PV_EFORMAT, "Authorization"},
        {{.settings = no_client, .token = SIPAY_TOKEN}, PV_ECONFIG, "client_id"},
        {{.settings = bad_tenant, .token = SIPAY_TOKEN}, PV_ECONFIG, "tenant_id"},
        {{.settings = bad_tenant, .token = NULL}, PV_ECONFIG, "tenant_id"},
        {{.settings = NULL, .token = NULL}, PV_ECONFIG, "Authorization"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        sipay_seed_command(&cmd);
        json_object_object_del(cmd.request, "tenant_id"); /* the setting's tenant_id is used */
        int rc = pv_sipay.build_request(&cmd, &cases[i].ctx, &req, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu: rc %s, want %s (%s)", i, pv_error_name(rc),
                     pv_error_name(cases[i].code), err.errstr);
        assert_string_equal(err.field, cases[i].field);
        assert_non_null(strstr(err.errstr, cases[i].field));
        assert_null(strstr(err.errstr, "tok-123"));
        assert_null(strstr(err.errstr, "X-Evil"));
        assert_null(strstr(err.errstr, "s3cr3t"));
        assert_null(req.body);
        assert_int_equal(req.nheaders, 0);
        pv_command_clear(&cmd);
    }

    /* a token past PV_TOKEN_MAX */
    char *huge = malloc(PV_TOKEN_MAX + 1);
    assert_non_null(huge);
    memset(huge, 'a', PV_TOKEN_MAX);
    huge[PV_TOKEN_MAX] = '\0';
    const pv_ctx ctx = {.settings = sipay_settings, .token = huge};
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    sipay_seed_command(&cmd);
    assert_int_equal(pv_sipay.build_request(&cmd, &ctx, &req, &err), PV_ETOOBIG);
    assert_null(strstr(err.errstr, "aaaa"));
    pv_command_clear(&cmd);
    free(huge);
}

/*---- Response ----*/

/* The seed's sample response gives exactly the documented values. */
static void test_sipay_parse_seed_response(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    char *body = tu_fixture("sipay/makepayment.response.json", NULL);

    sipay_seed_command(&cmd);
    tu_parse(&pv_sipay, &cmd, 200, body, &res);
    assert_string_equal(res.error, "");
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_int_equal(res.http_status, 200);
    assert_string_equal(res.provider_code, "100");
    assert_string_equal(res.provider_message, "İşlem başarılı");

    assert_int_equal(res.nrefs, 4);
    assert_string_equal(pv_result_ref(&res, "inv_payment_transaction_query_oid"),
                        "90XX46-FXX5-4XX3-8DXX-B1XX97");
    assert_string_equal(pv_result_ref(&res, "payment_transaction_id"), "9623XX2189");
    assert_string_equal(pv_result_ref(&res, "transaction_id"), "ABRVXXX7304");
    assert_string_equal(pv_result_ref(&res, "ext_order_id"), "90XX46-FXX5-4XX3-8DXX-B1XX97");

    assert_string_equal(res.paid.currency, "TRY");
    assert_int_equal(res.paid.minor, 19650);
    assert_string_equal(res.paid.text, "196.5000");
    assert_false(res.paid.rounded);
    assert_string_equal(res.fee.currency, "TRY");
    assert_int_equal(res.fee.minor, 0);
    assert_string_equal(res.fee.text, "0.000000");
    assert_string_equal(res.charged.currency, "TRY");
    assert_int_equal(res.charged.minor, 19650);
    assert_string_equal(res.charged.text, "196.500000");
    assert_int_equal(res.paid_at_ms, 0); /* the answer carries no payment time */

    json_object *want = tu_json("{\"receipt_output_print\": \"termal\", "
                                "\"institution_name\": \"Türk Telekom (Mobil)\", "
                                "\"receiver_account_number\": \"412XX50\", "
                                "\"receiver_wallet_number\": \"126XX30\"}");
    assert_non_null(res.detail);
    tu_assert_json_equal(res.detail, want);
    json_object_put(want);

    assert_int_equal(res.nbalances, 1);
    const pv_balance *b = &res.balances[0];
    assert_string_equal(b->account, "25XX25");
    assert_string_equal(b->currency, "TRY");
    assert_int_equal(b->total.minor, 89947);
    assert_string_equal(b->total.text, "899.47");
    assert_string_equal(b->available.currency, "TRY");
    assert_int_equal(b->available.minor, 89947);
    assert_string_equal(b->unavailable.currency, "TRY");
    assert_int_equal(b->unavailable.minor, 0);
    assert_int_equal(b->nbuckets, 2);
    assert_string_equal(b->buckets[0].name, "payment");
    assert_int_equal(b->buckets[0].available.minor, 0);
    assert_string_equal(b->buckets[0].available.text, "0.0");
    assert_int_equal(b->buckets[0].unavailable.minor, 0);
    assert_string_equal(b->buckets[0].unavailable.text, "0.00");
    assert_string_equal(b->buckets[1].name, "cash");
    assert_int_equal(b->buckets[1].available.minor, 89947);
    assert_string_equal(b->buckets[1].available.text, "899.47");
    assert_int_equal(b->buckets[1].unavailable.minor, 0);
    assert_string_equal(b->buckets[1].unavailable.text, "0.00");

    static const struct {
        const char *name;
        int64_t minor;
        const char *text;
        bool rounded;
    } limits[] = {
        {"max_balance", 100000000, "1000000.0000", false},
        {"topup_credit_limit", 99600401, "996004.0060", true},
        {"topup_cash_limit", 99600401, "996004.0060", true},
        {"withdrawal_limit", 100000000, "1000000.0000", false},
        {"payment_limit", 99723843, "997238.4300", false},
        {"wallet_to_wallet_limit", 99969980, "999699.8000", false},
    };
    assert_int_equal(b->nlimits, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(b->limits[i].name, limits[i].name);
        assert_string_equal(b->limits[i].amount.currency, "TRY");
        assert_int_equal(b->limits[i].amount.minor, limits[i].minor);
        assert_string_equal(b->limits[i].amount.text, limits[i].text);
        assert_int_equal(b->limits[i].amount.rounded, limits[i].rounded);
    }
    pv_result_clear(&res);
    pv_command_clear(&cmd);
    free(body);
}

/* Every documented code (PROVIDERS.md), as a string and as an integer, plus
 * undocumented ones, and the HTTP status around them. */
static void test_sipay_result_codes(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *code; /* JSON text of the code member */
        pv_outcome outcome;
        const char *want_code;
    } cases[] = {
        {200, "\"100\"", PV_OUTCOME_SUCCEEDED, "100"},
        {200, "100", PV_OUTCOME_SUCCEEDED, "100"},
        {200, "\"300\"", PV_OUTCOME_DECLINED, "300"},
        {200, "300", PV_OUTCOME_DECLINED, "300"},
        {200, "\"301\"", PV_OUTCOME_DECLINED, "301"},
        {200, "301", PV_OUTCOME_DECLINED, "301"},
        {200, "\"311\"", PV_OUTCOME_DECLINED, "311"},
        {200, "311", PV_OUTCOME_DECLINED, "311"},
        /* a documented refusal decides whatever the HTTP status */
        {400, "\"311\"", PV_OUTCOME_DECLINED, "311"},
        {500, "\"300\"", PV_OUTCOME_DECLINED, "300"},
        /* undocumented codes: UNKNOWN on a 2xx */
        {200, "\"306\"", PV_OUTCOME_UNKNOWN, "306"},
        {200, "\"200\"", PV_OUTCOME_UNKNOWN, "200"},
        {200, "\"0\"", PV_OUTCOME_UNKNOWN, "0"},
        {200, "\"\"", PV_OUTCOME_UNKNOWN, ""},
        {200, "\" 100\"", PV_OUTCOME_UNKNOWN, " 100"},
        {200, "999", PV_OUTCOME_UNKNOWN, "999"},
        {201, "\"500\"", PV_OUTCOME_UNKNOWN, "500"},
        /* ... and the HTTP status decides on a non-2xx */
        {401, "\"401\"", PV_OUTCOME_FATAL, "401"},
        {429, "\"999\"", PV_OUTCOME_RETRY, "999"},
        {400, "\"999\"", PV_OUTCOME_INVALID, "999"},
        {500, "\"999\"", PV_OUTCOME_UNKNOWN, "999"},
        /* success with a failing HTTP status contradicts itself */
        {500, "\"100\"", PV_OUTCOME_UNKNOWN, "100"},
        {404, "100", PV_OUTCOME_UNKNOWN, "100"},
    };
    pv_command cmd;
    sipay_seed_command(&cmd);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[200];
        pv_result res;
        snprintf(body, sizeof(body),
                 "{\"status\": 0, \"code\": %s, \"message\": \"m\", \"payload\": null}",
                 cases[i].code);
        tu_parse(&pv_sipay, &cmd, cases[i].status, body, &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("HTTP %d code %s: %s, want %s (%s)", cases[i].status, cases[i].code,
                     pv_outcome_name(res.outcome), pv_outcome_name(cases[i].outcome), res.error);
        assert_string_equal(res.provider_code, cases[i].want_code);
        assert_string_equal(res.provider_message, "m");
        assert_int_equal(res.http_status, cases[i].status);
        if (cases[i].outcome == PV_OUTCOME_SUCCEEDED || cases[i].outcome == PV_OUTCOME_DECLINED)
            assert_string_equal(res.error, "");
        else
            assert_string_not_equal(res.error, "");
        pv_result_clear(&res);
    }

    /* without a message the documented meaning is given */
    pv_result res;
    tu_parse(&pv_sipay, &cmd, 200, "{\"code\": \"311\"}", &res);
    assert_int_equal(res.outcome, PV_OUTCOME_DECLINED);
    assert_string_equal(res.provider_message, "insufficient wallet balance");
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/* No usable envelope: the HTTP status decides, and a 2xx is UNKNOWN. */
static void test_sipay_http_without_envelope(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *body;
        pv_outcome outcome;
    } cases[] = {
        {401, "", PV_OUTCOME_FATAL},
        {403, "<html>Forbidden</html>", PV_OUTCOME_FATAL},
        {429, "", PV_OUTCOME_RETRY},
        {503, "<html>Service Unavailable</html>", PV_OUTCOME_RETRY},
        {500, "{\"error\": \"boom\"}", PV_OUTCOME_UNKNOWN},
        {502, "Bad Gateway", PV_OUTCOME_UNKNOWN},
        {504, "", PV_OUTCOME_UNKNOWN},
        {400, "{\"title\": \"One or more validation errors occurred.\"}", PV_OUTCOME_INVALID},
        {404, "", PV_OUTCOME_INVALID},
        {200, "", PV_OUTCOME_UNKNOWN},
        {200, "<html>", PV_OUTCOME_UNKNOWN},
        {200, "{", PV_OUTCOME_UNKNOWN},
        {200, "{\"code\": \"100\"} trailing", PV_OUTCOME_UNKNOWN},
        {200, "[]", PV_OUTCOME_UNKNOWN},
        {200, "null", PV_OUTCOME_UNKNOWN},
        {200, "\"100\"", PV_OUTCOME_UNKNOWN},
        {200, "{\"status\": 0, \"message\": \"ok\"}", PV_OUTCOME_UNKNOWN},
        {200, "{\"code\": null}", PV_OUTCOME_UNKNOWN},
        {200, "{\"code\": true}", PV_OUTCOME_UNKNOWN},
        {200, "{\"code\": 1.0E2}", PV_OUTCOME_UNKNOWN},
        {200, "{\"code\": {\"v\": 100}}", PV_OUTCOME_UNKNOWN},
        {200, "{\"code\": 123456789012345678901234567890}", PV_OUTCOME_UNKNOWN},
        {200, "{\"code\": \"1000000000000000000000000000000000000\"}", PV_OUTCOME_UNKNOWN},
    };
    pv_command cmd;
    sipay_seed_command(&cmd);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_result res;
        tu_parse(&pv_sipay, &cmd, cases[i].status, cases[i].body, &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("case %zu HTTP %d \"%s\": %s, want %s", i, cases[i].status, cases[i].body,
                     pv_outcome_name(res.outcome), pv_outcome_name(cases[i].outcome));
        assert_string_not_equal(res.error, "");
        assert_int_equal(res.nrefs, 0);
        assert_int_equal(res.nbalances, 0);
        assert_null(res.detail);
        pv_result_clear(&res);
    }
    /* a NULL body */
    pv_result res;
    pv_result_init(&res);
    pv_sipay.parse_response(&cmd, 503, NULL, 0, &res);
    assert_int_equal(res.outcome, PV_OUTCOME_RETRY);
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/* Successful answers whose payload is odd: SUCCEEDED only when everything
 * present could be read; otherwise UNKNOWN with the error naming the field,
 * the references read so far kept for reconciliation. A payload about another
 * invoice transaction is UNKNOWN too. */
static void test_sipay_success_payload_variants(void **state)
{
    (void)state;
    static const struct {
        const char *payload;
        pv_outcome outcome;
        const char *error; /* substring of res.error; "" when none */
        size_t nrefs, nbalances;
        const char *account, *currency;
    } cases[] = {
        {"null", PV_OUTCOME_SUCCEEDED, "", 0, 0, NULL, NULL},
        {"{}", PV_OUTCOME_SUCCEEDED, "", 0, 0, NULL, NULL},
        {"{\"payment_transaction_id\": 9623, \"transaction_id\": \"T1\"}", PV_OUTCOME_SUCCEEDED, "",
         2, 0, NULL, NULL},
        {"{\"transaction_id\": \"T1\", \"sender_wallet_info\": {\"account_number\": \"28XX01\", "
         "\"number\": null, \"currency_code\": null, \"total_balance\": 10}}",
         PV_OUTCOME_SUCCEEDED, "", 1, 1, "28XX01", "TRY"},
        {"{\"sender_wallet_info\": {\"number\": \"\", \"account_number\": \"A2\", "
         "\"currency_code\": \"USD\", \"total_balance\": \"1.5\"}}",
         PV_OUTCOME_SUCCEEDED, "", 0, 1, "A2", "USD"},
        {"{\"inv_payment_transaction_query_oid\": \"90XX46-FXX5-4XX3-8DXX-B1XX97\"}",
         PV_OUTCOME_SUCCEEDED, "", 1, 0, NULL, NULL},
        {"[1]", PV_OUTCOME_UNKNOWN, "payload: expected an object", 0, 0, NULL, NULL},
        {"{\"transaction_id\": \"T1\", \"transaction_amount\": \"1e3\"}", PV_OUTCOME_UNKNOWN,
         "payload.transaction_amount", 1, 0, NULL, NULL},
        {"{\"transaction_id\": \"T1\", \"charged_amount\": true}", PV_OUTCOME_UNKNOWN,
         "payload.charged_amount", 1, 0, NULL, NULL},
        {"{\"transaction_id\": [\"T1\"]}", PV_OUTCOME_UNKNOWN, "payload.transaction_id", 0, 0, NULL,
         NULL},
        {"{\"transaction_id\": \"T1\", \"sender_wallet_info\": {\"number\": \"W\", "
         "\"currency_code\": \"XYZ\"}}",
         PV_OUTCOME_UNKNOWN, "\"XYZ\"", 1, 0, NULL, NULL},
        {"{\"sender_wallet_info\": {\"currency_code\": \"TRY\"}}", PV_OUTCOME_UNKNOWN,
         "payload.sender_wallet_info.account_number", 0, 0, NULL, NULL},
        {"{\"sender_wallet_info\": {\"number\": \"W\", \"cash_balance\": 5}}", PV_OUTCOME_UNKNOWN,
         "payload.sender_wallet_info.cash_balance", 0, 0, NULL, NULL},
        {"{\"sender_wallet_info\": {\"number\": \"W\", \"transaction_limits\": "
         "{\"payment_limit\": \"lots\"}}}",
         PV_OUTCOME_UNKNOWN, "payload.sender_wallet_info.transaction_limits.payment_limit", 0, 0,
         NULL, NULL},
        {"{\"inv_payment_transaction_query_oid\": \"OTHER-OID\", \"transaction_id\": \"T1\"}",
         PV_OUTCOME_UNKNOWN, "\"OTHER-OID\"", 2, 0, NULL, NULL},
    };
    pv_command cmd;
    sipay_seed_command(&cmd);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512];
        pv_result res;
        snprintf(body, sizeof(body), "{\"status\": 0, \"code\": \"100\", \"payload\": %s}",
                 cases[i].payload);
        tu_parse(&pv_sipay, &cmd, 200, body, &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("case %zu: %s, want %s (%s)", i, pv_outcome_name(res.outcome),
                     pv_outcome_name(cases[i].outcome), res.error);
        if (cases[i].error[0] == '\0')
            assert_string_equal(res.error, "");
        else if (strstr(res.error, cases[i].error) == NULL)
            fail_msg("case %zu: error \"%s\" lacks %s", i, res.error, cases[i].error);
        assert_int_equal(res.nrefs, cases[i].nrefs);
        assert_int_equal(res.nbalances, cases[i].nbalances);
        if (cases[i].nbalances > 0) {
            assert_string_equal(res.balances[0].account, cases[i].account);
            assert_string_equal(res.balances[0].currency, cases[i].currency);
            assert_false(pv_money_isset(&res.balances[0].available));
            assert_int_equal(res.balances[0].nbuckets, 0);
        }
        pv_result_clear(&res);
    }
    pv_command_clear(&cmd);
}

/* An integer reference is kept as its digits. */
static void test_sipay_integer_reference(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    sipay_seed_command(&cmd);
    tu_parse(&pv_sipay, &cmd, 200,
             "{\"code\": \"100\", \"payload\": {\"payment_transaction_id\": 96232189, "
             "\"transaction_amount\": \"196.50\", \"transaction_fee\": 1.25}}",
             &res);
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_string_equal(pv_result_ref(&res, "payment_transaction_id"), "96232189");
    assert_int_equal(res.paid.minor, 19650);
    assert_int_equal(res.fee.minor, 125);
    assert_false(pv_money_isset(&res.charged));
    assert_null(res.detail);
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/*---- Token ----*/

static void test_sipay_token_request(void **state)
{
    (void)state;
    pv_request req;
    pv_error err = {0};

    assert_int_equal(pv_sipay.build_token_request(&sipay_ctx, &req, &err), PV_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/connect/token");
    assert_int_equal(req.nheaders, 2);
    assert_string_equal(pv_request_header(&req, "Content-Type"),
                        "application/x-www-form-urlencoded");
    assert_string_equal(pv_request_header(&req, "Accept"), "application/json");
    assert_null(pv_request_header(&req, "Authorization"));
    assert_string_equal(req.body, "grant_type=client_credentials&client_id=client-1&"
                                  "client_secret=s3cr3t-value&scope=sts_business_api");
    assert_int_equal(req.body_len, strlen(req.body));
    pv_request_clear(&req);

    /* values are form-encoded */
    static const char *const odd[] = {"id/1", "a&b=c+d %é~", "api read", NULL};
    const pv_ctx ctx = {.settings = odd};
    assert_int_equal(pv_sipay.build_token_request(&ctx, &req, &err), PV_OK);
    assert_string_equal(req.body, "grant_type=client_credentials&client_id=id%2F1&"
                                  "client_secret=a%26b%3Dc%2Bd+%25%C3%A9%7E&scope=api+read");
    pv_request_clear(&req);

    /* missing credentials: named, never quoted */
    static const char *const no_secret[] = {"client-1", NULL, NULL, NULL};
    static const char *const no_id[] = {NULL, "s3cr3t-value", NULL, NULL};
    const pv_ctx c1 = {.settings = no_secret}, c2 = {.settings = no_id}, c3 = {0};
    assert_int_equal(pv_sipay.build_token_request(&c1, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "client_secret");
    assert_null(req.body);
    assert_int_equal(pv_sipay.build_token_request(&c2, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "client_id");
    assert_null(strstr(err.errstr, "s3cr3t"));
    assert_int_equal(pv_sipay.build_token_request(&c3, &req, &err), PV_ECONFIG);
    assert_int_equal(pv_sipay.build_token_request(NULL, &req, &err), PV_ECONFIG);
}

static void test_sipay_parse_token(void **state)
{
    (void)state;
    pv_token tok;
    pv_error err = {0};
    static const char ok[] = "{\"access_token\": \"eyJhbGciOiJIUzI1NiJ9.abc-_~+/=\", "
                             "\"token_type\": \"Bearer\", \"expires_in\": 3600, "
                             "\"scope\": \"sts_business_api\"}";
    assert_int_equal(pv_sipay.parse_token(200, ok, strlen(ok), &tok, &err), PV_OK);
    assert_string_equal(tok.access_token, "eyJhbGciOiJIUzI1NiJ9.abc-_~+/=");
    assert_int_equal(tok.expires_in_s, 3600);

    static const char defaults[] = "{\"access_token\": \"t0\"}";
    assert_int_equal(pv_sipay.parse_token(200, defaults, strlen(defaults), &tok, &err), PV_OK);
    assert_string_equal(tok.access_token, "t0");
    assert_int_equal(tok.expires_in_s, 3600);

    static const char lower[] =
        "{\"access_token\": \"t1\", \"token_type\": \"bearer\", \"expires_in\": \"120\"}";
    assert_int_equal(pv_sipay.parse_token(200, lower, strlen(lower), &tok, &err), PV_OK);
    assert_int_equal(tok.expires_in_s, 120);

    /* errors: the field is named, the token never quoted */
    static const struct {
        int status;
        const char *body;
        int code;
        const char *field;
        const char *says; /* substring of the message, NULL when none */
    } cases[] = {
        {200, "{\"token_type\": \"Bearer\"}", PV_EMISSING, "access_token", NULL},
        {200, "{\"access_token\": null}", PV_EMISSING, "access_token", NULL},
        {200, "{\"access_token\": 12345678}", PV_ETYPE, "access_token", "int"},
        {200, "{\"access_token\": \"\"}", PV_EFORMAT, "access_token", NULL},
        {200, "{\"access_token\": \"SECRETTOKEN x\"}", PV_EFORMAT, "access_token", "blanks"},
        {200, "{\"access_token\": \"SECRETTOKEN\", \"token_type\": \"mac\"}", PV_EUNSUPPORTED,
         "token_type", "\"mac\""},
        {200, "{\"access_token\": \"SECRETTOKEN\", \"expires_in\": 0}", PV_ERANGE, "expires_in",
         "0"},
        {200, "{\"access_token\": \"SECRETTOKEN\", \"expires_in\": 36.5}", PV_ETYPE, "expires_in",
         "36.5"},
        {200, "{\"access_token\": \"SECRETTOKEN\",, }", PV_EPARSE, "", "not a JSON document"},
        {200, "{\"access_token\": \"SECRETTOKEN\"} x", PV_EPARSE, "", NULL},
        {200, "[\"SECRETTOKEN\"]", PV_ETYPE, "", "array"},
        {200, "", PV_EPARSE, "", NULL},
        {400, "{\"error\": \"invalid_client\"}", PV_ECONFIG, "http_status", "\"invalid_client\""},
        {401, "", PV_ECONFIG, "http_status", "HTTP 401"},
        {403, "<html>", PV_ECONFIG, "http_status", "HTTP 403"},
        {500, "{\"access_token\": \"SECRETTOKEN\"}", PV_EUNAVAILABLE, "http_status", "HTTP 500"},
        {503, "busy", PV_EUNAVAILABLE, "http_status", "HTTP 503"},
        {302, "", PV_EUNAVAILABLE, "http_status", "HTTP 302"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_error_clear(&err);
        int rc =
            pv_sipay.parse_token(cases[i].status, cases[i].body, strlen(cases[i].body), &tok, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu: rc %s, want %s (%s)", i, pv_error_name(rc),
                     pv_error_name(cases[i].code), err.errstr);
        assert_string_equal(err.field, cases[i].field);
        if (cases[i].says != NULL && strstr(err.errstr, cases[i].says) == NULL)
            fail_msg("case %zu: message \"%s\" lacks %s", i, err.errstr, cases[i].says);
        if (strstr(err.errstr, "SECRETTOKEN") != NULL || strstr(err.errstr, "12345678") != NULL)
            fail_msg("case %zu: message quotes the token: %s", i, err.errstr);
        assert_string_equal(tok.access_token, "");
    }

    /* a token that does not fit pv_token */
    size_t n = PV_TOKEN_MAX + 40;
    char *big = malloc(n);
    assert_non_null(big);
    int len = snprintf(big, n, "{\"access_token\": \"");
    memset(big + len, 'a', PV_TOKEN_MAX);
    snprintf(big + len + PV_TOKEN_MAX, n - (size_t)len - PV_TOKEN_MAX, "\"}");
    assert_int_equal(pv_sipay.parse_token(200, big, strlen(big), &tok, &err), PV_ETOOBIG);
    assert_string_equal(err.field, "access_token");
    assert_null(strstr(err.errstr, "aaaa"));
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sipay_ops_table),
        cmocka_unit_test(test_sipay_build_seed_request),
        cmocka_unit_test(test_sipay_query_id),
        cmocka_unit_test(test_sipay_tenant_and_amount_forms),
        cmocka_unit_test(test_sipay_rejects_bad_commands),
        cmocka_unit_test(test_sipay_configuration_errors),
        cmocka_unit_test(test_sipay_parse_seed_response),
        cmocka_unit_test(test_sipay_result_codes),
        cmocka_unit_test(test_sipay_http_without_envelope),
        cmocka_unit_test(test_sipay_success_payload_variants),
        cmocka_unit_test(test_sipay_integer_reference),
        cmocka_unit_test(test_sipay_token_request),
        cmocka_unit_test(test_sipay_parse_token),
    };
    return cmocka_run_group_tests_name("sipay", tests, NULL, NULL);
}
