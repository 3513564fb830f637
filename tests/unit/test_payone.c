/* test_payone.c -- the PayOne SmartLink adapter against seed 004 and PROVIDERS.md. */
#include "testutil.h"

#include <string.h>

#define SEED_MERCHANT "testMercahnt"
#define SEED_TOKEN    "N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm"
/* the seed's parameters without the opening brace, then as a command */
#define SEED_PARAMS \
    "\"invoicesDetails\":[{\"invoiceID\":\"30231175\",\"amount\":\"100\",\"currency\":\"840\"}]}"
#define SEED_COMMAND "{" SEED_PARAMS

/* settings in the order of pv_payone.settings: merchant_id,
 * authentication_token, form_field (unset: its default "invoice") */
static const char *const payone_settings[] = {SEED_MERCHANT, SEED_TOKEN, NULL};
static const pv_ctx payone_ctx = {.settings = payone_settings};

/*---- Helpers ----*/

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The body must be exactly one form field `field`; returns its URL-decoded
 * value (caller frees). Fails the test on anything else. */
static char *form_value(const pv_request *req, const char *field)
{
    size_t n = strlen(field);
    assert_non_null(req->body);
    assert_int_equal(req->body_len, strlen(req->body));
    if (strncmp(req->body, field, n) != 0 || req->body[n] != '=')
        fail_msg("body does not start with %s=: %.80s", field, req->body);
    const char *s = req->body + n + 1;
    /* one field: nothing but encoded characters after "name=" */
    for (const char *p = s; *p; p++)
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*%+", *p) ==
            NULL)
            fail_msg("unencoded byte 0x%02x in the form value", (unsigned char)*p);
    char *out = malloc(strlen(s) + 1);
    assert_non_null(out);
    size_t o = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi = hexval(s[i + 1]), lo = hi >= 0 ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                fail_msg("bad %%-escape at %zu", i);
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Asserts the form value of req is JSON-equal to want_json. */
static void assert_form_json(const pv_request *req, const char *field, const char *want_json)
{
    char *value = form_value(req, field);
    json_object *got = tu_json(value), *want = tu_json(want_json);
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    free(value);
}

static void expect_ref(const pv_result *res, const char *name, const char *value)
{
    const char *got = pv_result_ref(res, name);
    if (value == NULL) {
        if (got != NULL)
            fail_msg("unexpected reference %s = %s", name, got);
        return;
    }
    if (got == NULL)
        fail_msg("reference %s missing", name);
    assert_string_equal(got, value);
}

/*---- Request ----*/

/* The seed's sample request comes out of a command carrying the same
 * parameters (the sample minus its credentials, which come from settings). */
static void test_payone_build_seed_request(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    char qid[PV_ID_MAX];
    char *sample = tu_fixture("payone/completeInvoice.request.json", NULL);

    json_object *params = tu_json(sample);
    json_object_object_del(params, "merchantID");
    json_object_object_del(params, "authenticationToken");
    tu_command(&cmd, &pv_payone, pv_json_dump(params, NULL));
    json_object_put(params);

    assert_int_equal(pv_payone.query_id(&cmd, qid, sizeof(qid), &err), PV_OK);
    assert_string_equal(qid, "30231175");

    assert_int_equal(pv_payone.build_request(&cmd, &payone_ctx, &req, &err), PV_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/rest/InvoicesService/completeInvoice");
    assert_int_equal(req.nheaders, 2);
    assert_string_equal(pv_request_header(&req, "Content-Type"),
                        "application/x-www-form-urlencoded");
    assert_string_equal(pv_request_header(&req, "Accept"), "application/json");
    assert_form_json(&req, "invoice", sample);
    /* and the exact bytes: compact JSON, form-encoded */
    assert_string_equal(
        req.body,
        "invoice=%7B%22merchantID%22%3A%22testMercahnt%22%2C%22authenticationToken%22%3A%"
        "22N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm%22%2C%22invoicesDetails%22%3A%5B%7B%22invoiceID%22%3A%"
        "2230231175%22%2C%22amount%22%3A%22100%22%2C%22currency%22%3A%22840%22%7D%5D%7D");
    pv_request_clear(&req);
    pv_command_clear(&cmd);
    free(sample);
}

/* form_field renames the parameter; every byte outside the form-safe set is
 * escaped, so a credential with '&', '=', '+' or '%' cannot break the form. */
static void test_payone_form_field_and_encoding(void **state)
{
    (void)state;
    static const char *const settings[] = {"m x&y=z+%/\xc3\xa9\"", "t&k=n", "data"};
    const pv_ctx ctx = {.settings = settings};
    pv_command cmd;
    pv_request req;
    pv_error err = {0};

    tu_command(&cmd, &pv_payone, SEED_COMMAND);
    assert_int_equal(pv_payone.build_request(&cmd, &ctx, &req, &err), PV_OK);
    assert_non_null(strstr(req.body,
                           "data=%7B%22merchantID%22%3A%22m+x%26y%3Dz%2B%25%2F%C3%A9%5C%22"
                           "%22%2C%22authenticationToken%22%3A%22t%26k%3Dn%22"));
    assert_form_json(&req, "data",
                     "{\"merchantID\":\"m x&y=z+%/\xc3\xa9\\\"\",\"authenticationToken\":"
                     "\"t&k=n\",\"invoicesDetails\":[{\"invoiceID\":\"30231175\",\"amount\":"
                     "\"100\",\"currency\":\"840\"}]}");
    pv_request_clear(&req);
    pv_command_clear(&cmd);
}

/* What a command may say, and what is sent for it. */
static void test_payone_command_variants(void **state)
{
    (void)state;
    static const struct {
        const char *invoice; /* the one element of invoicesDetails */
        const char *sent;    /* the element sent */
    } cases[] = {
        {"{\"invoiceID\":\"A1b2\",\"amount\":\"100\",\"currency\":\"USD\"}",
         "{\"invoiceID\":\"A1b2\",\"amount\":\"100\",\"currency\":\"840\"}"},
        {"{\"invoiceID\":\"7\",\"amount\":100,\"currency\":\"840\"}",
         "{\"invoiceID\":\"7\",\"amount\":\"100\",\"currency\":\"840\"}"},
        {"{\"invoiceID\":\"7\",\"amount\":\"1500\",\"currency\":\"400\"}",
         "{\"invoiceID\":\"7\",\"amount\":\"1500\",\"currency\":\"400\"}"},
        {"{\"invoiceID\":\"7\",\"amount\":\"1\",\"currency\":\"JOD\"}",
         "{\"invoiceID\":\"7\",\"amount\":\"1\",\"currency\":\"400\"}"},
        {"{\"invoiceID\":\"7\",\"amount\":\"25000\",\"currency\":\"682\"}",
         "{\"invoiceID\":\"7\",\"amount\":\"25000\",\"currency\":\"682\"}"},
        {"{\"invoiceID\":\"7\",\"amount\":\"0100\",\"currency\":\"048\"}",
         "{\"invoiceID\":\"7\",\"amount\":\"100\",\"currency\":\"048\"}"},
        {"{\"invoiceID\":\"7\",\"amount\":\"9223372036854775807\",\"currency\":\"840\"}",
         "{\"invoiceID\":\"7\",\"amount\":\"9223372036854775807\",\"currency\":\"840\"}"},
        /* members we do not know are not sent */
        {"{\"invoiceID\":\"7\",\"amount\":\"5\",\"currency\":\"840\",\"note\":\"x\"}",
         "{\"invoiceID\":\"7\",\"amount\":\"5\",\"currency\":\"840\"}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char command[512], want[512];
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        snprintf(command, sizeof(command), "{\"invoicesDetails\":[%s]}", cases[i].invoice);
        snprintf(want, sizeof(want),
                 "{\"merchantID\":\"" SEED_MERCHANT "\",\"authenticationToken\":\"" SEED_TOKEN
                 "\",\"invoicesDetails\":[%s]}",
                 cases[i].sent);
        tu_command(&cmd, &pv_payone, command);
        if (pv_payone.build_request(&cmd, &payone_ctx, &req, &err) != PV_OK)
            fail_msg("case %zu %s: %s", i, command, err.errstr);
        assert_form_json(&req, "invoice", want);
        pv_request_clear(&req);
        pv_command_clear(&cmd);
    }
}

static void test_payone_rejects_bad_commands(void **state)
{
    (void)state;
#define INV(x) "{\"invoicesDetails\":[" x "]}"
    static const struct {
        const char *request;
        int code;
        const char *field;
        const char *quoted; /* the value the message must quote */
    } cases[] = {
        {"{}", PV_EMISSING, "request.invoicesDetails", NULL},
        {"{\"invoicesDetails\":null}", PV_EMISSING, "request.invoicesDetails", NULL},
        {"{\"invoicesDetails\":{\"invoiceID\":\"1\"}}", PV_ETYPE, "request.invoicesDetails",
         "{\\\"invoiceID\\\":\\\"1\\\"}"},
        {"{\"invoicesDetails\":\"30231175\"}", PV_ETYPE, "request.invoicesDetails", "30231175"},
        {"{\"invoicesDetails\":[]}", PV_ERANGE, "request.invoicesDetails", "[]"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1\",\"currency\":\"840\"},"
             "{\"invoiceID\":\"2\",\"amount\":\"1\",\"currency\":\"840\"}"),
         PV_EUNSUPPORTED, "request.invoicesDetails", "holds 2 invoices"},
        {INV("5"), PV_ETYPE, "request.invoicesDetails[0]", "5"},
        {INV("{\"amount\":\"1\",\"currency\":\"840\"}"), PV_EMISSING,
         "request.invoicesDetails[0].invoiceID", NULL},
        {INV("{\"invoiceID\":30231175,\"amount\":\"1\",\"currency\":\"840\"}"), PV_ETYPE,
         "request.invoicesDetails[0].invoiceID", "30231175"},
        {INV("{\"invoiceID\":\"\",\"amount\":\"1\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].invoiceID", "string \\\"\\\""},
        {INV("{\"invoiceID\":\"12-34\",\"amount\":\"1\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].invoiceID", "12-34"},
        {INV("{\"invoiceID\":\"12 34\",\"amount\":\"1\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].invoiceID", "12 34"},
        {INV("{\"invoiceID\":\"ab\\u0000c\",\"amount\":\"1\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].invoiceID", "ab"},
        {INV("{\"invoiceID\":\"A23456789012345678901234567890123456789012345678901234567890123"
             "45\",\"amount\":\"1\",\"currency\":\"840\"}"),
         PV_ETOOBIG, "request.invoicesDetails[0].invoiceID", "A2345678901234567890"},
        {INV("{\"invoiceID\":\"1\",\"currency\":\"840\"}"), PV_EMISSING,
         "request.invoicesDetails[0].amount", NULL},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1.00\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "1.00"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1,00\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "1,00"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1e3\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "1e3"},
        {INV("{\"invoiceID\":\"1\",\"amount\":1e3,\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "1e3"},
        {INV("{\"invoiceID\":\"1\",\"amount\":1.5,\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "1.5"},
        {INV("{\"invoiceID\":\"1\",\"amount\":100.0,\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "100.0"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"0\",\"currency\":\"840\"}"), PV_ERANGE,
         "request.invoicesDetails[0].amount", "\"0\""},
        {INV("{\"invoiceID\":\"1\",\"amount\":0,\"currency\":\"840\"}"), PV_ERANGE,
         "request.invoicesDetails[0].amount", "\"0\""},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"-5\",\"currency\":\"840\"}"), PV_ERANGE,
         "request.invoicesDetails[0].amount", "-5"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"+5\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "+5"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\" 100\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", " 100"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"100 \",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "100 "},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"\",\"currency\":\"840\"}"), PV_EFORMAT,
         "request.invoicesDetails[0].amount", "\"\""},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"9223372036854775808\",\"currency\":\"840\"}"),
         PV_ERANGE, "request.invoicesDetails[0].amount", "9223372036854775808"},
        {INV("{\"invoiceID\":\"1\",\"amount\":123456789012345678901234567890,\"currency\":"
             "\"840\"}"),
         PV_ERANGE, "request.invoicesDetails[0].amount", NULL},
        {INV("{\"invoiceID\":\"1\",\"amount\":true,\"currency\":\"840\"}"), PV_ETYPE,
         "request.invoicesDetails[0].amount", "true"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1\"}"), PV_EMISSING,
         "request.invoicesDetails[0].currency", NULL},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1\",\"currency\":840}"), PV_ETYPE,
         "request.invoicesDetails[0].currency", "840"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1\",\"currency\":\"999\"}"), PV_ECURRENCY,
         "request.invoicesDetails[0].currency", "999"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1\",\"currency\":\"usd\"}"), PV_ECURRENCY,
         "request.invoicesDetails[0].currency", "usd"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1\",\"currency\":\"XXX\"}"), PV_ECURRENCY,
         "request.invoicesDetails[0].currency", "XXX"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1\",\"currency\":\"0840\"}"), PV_ECURRENCY,
         "request.invoicesDetails[0].currency", "0840"},
        {INV("{\"invoiceID\":\"1\",\"amount\":\"1\",\"currency\":\"\"}"), PV_ECURRENCY,
         "request.invoicesDetails[0].currency", "string \\\"\\\""},
        {"[1]", PV_ETYPE, "request", NULL},
    };
#undef INV
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        char qid[PV_ID_MAX];
        tu_command(&cmd, &pv_payone, cases[i].request);
        int rc = pv_payone.build_request(&cmd, &payone_ctx, &req, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu %s: rc %s, want %s (%s)", i, cases[i].request, pv_error_name(rc),
                     pv_error_name(cases[i].code), err.errstr);
        assert_string_equal(err.field, cases[i].field);
        assert_non_null(strstr(err.errstr, cases[i].field));
        if (cases[i].quoted != NULL && strstr(err.errstr, cases[i].quoted) == NULL)
            fail_msg("case %zu: message \"%s\" does not quote %s", i, err.errstr, cases[i].quoted);
        assert_null(strstr(err.errstr, SEED_TOKEN));
        assert_null(req.body); /* left empty */
        assert_int_equal(req.nheaders, 0);
        /* the lock key is refused the same way */
        pv_error qerr = {0};
        assert_int_equal(pv_payone.query_id(&cmd, qid, sizeof(qid), &qerr), cases[i].code);
        assert_string_equal(qerr.field, cases[i].field);
        pv_command_clear(&cmd);
    }
}

/* Credentials never travel in commands: the seed's own sample, credentials
 * included, is refused as a command, without quoting the token. */
static void test_payone_refuses_credentials_in_commands(void **state)
{
    (void)state;
    static const struct {
        const char *request;
        const char *field;
    } cases[] = {
        {"{\"merchantID\":\"testMercahnt\"," SEED_PARAMS, "request.merchantID"},
        {"{\"authenticationToken\":\"" SEED_TOKEN "\"," SEED_PARAMS, "request.authenticationToken"},
        {"{\"AuthenticationToken\":\"" SEED_TOKEN "\"," SEED_PARAMS, "request.authenticationToken"},
        {"{\"invoicesDetails\":[{\"invoiceID\":\"1\",\"amount\":\"1\",\"currency\":\"840\","
         "\"authenticationToken\":\"" SEED_TOKEN "\"}]}",
         "request.invoicesDetails[0].authenticationToken"},
        {NULL, "request.merchantID"}, /* the seed's sample */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        char *sample = cases[i].request == NULL
                           ? tu_fixture("payone/completeInvoice.request.json", NULL)
                           : NULL;
        tu_command(&cmd, &pv_payone, sample != NULL ? sample : cases[i].request);
        assert_int_equal(pv_payone.build_request(&cmd, &payone_ctx, &req, &err), PV_EVALIDATION);
        assert_string_equal(err.field, cases[i].field);
        assert_non_null(strstr(err.errstr, "credentials never travel in commands"));
        assert_null(strstr(err.errstr, SEED_TOKEN));
        assert_null(strstr(err.errstr, SEED_MERCHANT));
        assert_int_equal(pv_payone.build_inquiry(&cmd, &payone_ctx, &req, &err), PV_EVALIDATION);
        pv_command_clear(&cmd);
        free(sample);
    }
}

static void test_payone_settings_errors(void **state)
{
    (void)state;
    static const char *const no_token[] = {SEED_MERCHANT, NULL, NULL};
    static const char *const bad_field[] = {SEED_MERCHANT, SEED_TOKEN, "inv&oice"};
    static const char *const empty_field[] = {SEED_MERCHANT, SEED_TOKEN, ""};
    static const char *const long_field[] = {
        SEED_MERCHANT, SEED_TOKEN,
        "f2345678901234567890123456789012345678901234567890123456789012345"};
    static const struct {
        pv_ctx ctx;
        int code;
        const char *field;
    } cases[] = {
        {{0}, PV_ECONFIG, "merchant_id"},
        {{.settings = no_token}, PV_ECONFIG, "authentication_token"},
        {{.settings = bad_field}, PV_ECONFIG, "form_field"},
        {{.settings = long_field}, PV_ECONFIG, "form_field"},
        {{.settings = empty_field}, PV_OK, ""}, /* empty: the default "invoice" */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        tu_command(&cmd, &pv_payone, SEED_COMMAND);
        int rc = pv_payone.build_request(&cmd, &cases[i].ctx, &req, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu: rc %s, want %s (%s)", i, pv_error_name(rc),
                     pv_error_name(cases[i].code), err.errstr);
        assert_string_equal(err.field, cases[i].field);
        assert_null(strstr(err.errstr, SEED_TOKEN));
        if (rc == PV_OK) {
            char *v = form_value(&req, "invoice");
            free(v);
            pv_request_clear(&req);
        } else {
            assert_null(req.body);
            assert_int_equal(pv_payone.build_inquiry(&cmd, &cases[i].ctx, &req, &err), rc);
        }
        pv_command_clear(&cmd);
    }
}

/*---- Response ----*/

/* The seed's sample response gives exactly the documented values. */
static void test_payone_parse_seed_response(void **state)
{
    (void)state;
    pv_command cmd;
    pv_result res;
    char *body = tu_fixture("payone/completeInvoice.response.json", NULL);

    tu_command(&cmd, &pv_payone, SEED_COMMAND);
    tu_parse(&pv_payone, &cmd, 200, body, &res);
    assert_string_equal(res.error, "");
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_int_equal(res.http_status, 200);
    assert_string_equal(res.provider_code, "success");
    assert_string_equal(res.provider_message, "INVOICE COMPLETED SUCCESSFULLY");
    assert_int_equal(res.nrefs, 2);
    expect_ref(&res, "rrn", "840201608161029435230000000000");
    expect_ref(&res, "invoiceID", "30231175");
    assert_string_equal(res.paid.currency, "USD");
    assert_int_equal(res.paid.minor, 100);
    assert_string_equal(res.paid.text, "100");
    assert_false(res.paid.rounded);
    assert_string_equal(tu_money(&res.paid), "1.00");
    assert_false(pv_money_isset(&res.fee));
    assert_false(pv_money_isset(&res.charged));
    assert_int_equal(res.paid_at_ms, 0);
    assert_int_equal(res.nbalances, 0);
    assert_null(res.detail);
    pv_result_clear(&res);
    pv_command_clear(&cmd);
    free(body);
}

/* Per-invoice answers: the status, the echo of our invoice, the rrn. */
static void test_payone_invoice_answers(void **state)
{
    (void)state;
#define ANSWER(x) "{\"merchantID\":\"M\",\"invoicesDetails\":[" x "]}"
#define OURS      "\"invoiceID\":\"30231175\",\"amount\":\"100\",\"currency\":\"840\""
    static const struct {
        const char *body;
        pv_outcome outcome;
        const char *code;    /* provider_code */
        const char *message; /* provider_message, NULL: not checked */
        const char *rrn;     /* the rrn reference, NULL: none */
        const char *error;   /* a part of res.error; NULL: res.error is empty */
    } cases[] = {
        {ANSWER("{" OURS ",\"status\":\"failed\",\"statusDescreption\":\"INSUFFICIENT\"}"),
         PV_OUTCOME_DECLINED, "failed", "INSUFFICIENT", NULL, NULL},
        {ANSWER("{" OURS ",\"status\":\"failed\",\"rrn\":\"R9\"}"), PV_OUTCOME_DECLINED, "failed",
         "", "R9", NULL},
        /* a refusal's rrn is informative only */
        {ANSWER("{" OURS ",\"status\":\"failed\",\"rrn\":{}}"), PV_OUTCOME_DECLINED, "failed", "",
         NULL, NULL},
        {ANSWER("{" OURS ",\"status\":\"SUCCESS\",\"statusDescreption\":\"OK\"}"),
         PV_OUTCOME_SUCCEEDED, "SUCCESS", "OK", NULL, NULL},
        {ANSWER("{\"invoiceID\":\"30231175\",\"amount\":100,\"currency\":\"USD\","
                "\"status\":\"success\",\"rrn\":12345}"),
         PV_OUTCOME_SUCCEEDED, "success", "", "12345", NULL},
        /* the batch answer may list other invoices */
        {ANSWER("{\"invoiceID\":\"1\",\"amount\":\"5\",\"currency\":\"840\",\"status\":"
                "\"failed\"},{" OURS ",\"status\":\"success\",\"rrn\":\"R1\"}"),
         PV_OUTCOME_SUCCEEDED, "success", "", "R1", NULL},
        {"{\"Error\":\"\",\"invoicesDetails\":[{" OURS ",\"status\":\"success\"}]}",
         PV_OUTCOME_SUCCEEDED, "success", "", NULL, NULL},
        /* statuses that are not documented */
        {ANSWER("{" OURS ",\"status\":\"pending\"}"), PV_OUTCOME_UNKNOWN, "pending", NULL, NULL,
         "invoicesDetails[0].status: string \\\"pending\\\""},
        {ANSWER("{" OURS "}"), PV_OUTCOME_UNKNOWN, "", NULL, NULL, "status"},
        {ANSWER("{" OURS ",\"status\":1}"), PV_OUTCOME_UNKNOWN, "", NULL, NULL, "status"},
        /* our invoice missing, twice, or echoed differently */
        {ANSWER("{\"invoiceID\":\"30231176\",\"amount\":\"100\",\"currency\":\"840\","
                "\"status\":\"success\"}"),
         PV_OUTCOME_UNKNOWN, "", NULL, NULL, "\"30231175\" is not in the answer"},
        {ANSWER(""), PV_OUTCOME_UNKNOWN, "", NULL, NULL, "\"30231175\" is not in the answer"},
        {ANSWER("{" OURS ",\"status\":\"success\"},{" OURS ",\"status\":\"failed\"}"),
         PV_OUTCOME_UNKNOWN, "", NULL, NULL, "appears 2 times"},
        {ANSWER("{\"invoiceID\":\"30231175\",\"amount\":\"150\",\"currency\":\"840\","
                "\"status\":\"success\"}"),
         PV_OUTCOME_UNKNOWN, "success", NULL, NULL, "invoicesDetails[0].amount: \"150\" differs"},
        {ANSWER("{\"invoiceID\":\"30231175\",\"amount\":\"150\",\"currency\":\"840\","
                "\"status\":\"failed\"}"),
         PV_OUTCOME_UNKNOWN, "failed", NULL, NULL, "invoicesDetails[0].amount"},
        {ANSWER("{\"invoiceID\":\"30231175\",\"amount\":\"1.00\",\"currency\":\"840\","
                "\"status\":\"success\"}"),
         PV_OUTCOME_UNKNOWN, "success", NULL, NULL,
         "invoicesDetails[0].amount: string \\\"1.00\\\""},
        {ANSWER("{\"invoiceID\":\"30231175\",\"currency\":\"840\",\"status\":\"success\"}"),
         PV_OUTCOME_UNKNOWN, "success", NULL, NULL, "invoicesDetails[0].amount: required"},
        {ANSWER("{\"invoiceID\":\"30231175\",\"amount\":\"100\",\"currency\":\"978\","
                "\"status\":\"success\"}"),
         PV_OUTCOME_UNKNOWN, "success", NULL, NULL, "invoicesDetails[0].currency: \"978\" (EUR)"},
        {ANSWER("{\"invoiceID\":\"30231175\",\"amount\":\"100\",\"status\":\"success\"}"),
         PV_OUTCOME_UNKNOWN, "success", NULL, NULL, "invoicesDetails[0].currency: required"},
        /* a success whose rrn cannot be read */
        {ANSWER("{" OURS ",\"status\":\"success\",\"rrn\":840201608161029435230000000000}"),
         PV_OUTCOME_UNKNOWN, "success", NULL, NULL, "invoicesDetails[0].rrn"},
        {ANSWER("{" OURS ",\"status\":\"success\",\"rrn\":[\"1\"]}"), PV_OUTCOME_UNKNOWN, "success",
         NULL, NULL, "invoicesDetails[0].rrn"},
        /* not the documented shape */
        {"{\"invoicesDetails\":{" OURS ",\"status\":\"success\"}}", PV_OUTCOME_UNKNOWN, "", NULL,
         NULL, "invoicesDetails: expected an array"},
        {"{\"merchantID\":\"M\",\"status\":\"success\"}", PV_OUTCOME_UNKNOWN, "", NULL, NULL,
         "invoicesDetails: expected an array"},
    };
#undef ANSWER
#undef OURS
    pv_command cmd;
    tu_command(&cmd, &pv_payone, SEED_COMMAND);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_result res;
        tu_parse(&pv_payone, &cmd, 200, cases[i].body, &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("case %zu: %s, want %s (%s)", i, pv_outcome_name(res.outcome),
                     pv_outcome_name(cases[i].outcome), res.error);
        assert_string_equal(res.provider_code, cases[i].code);
        if (cases[i].message != NULL)
            assert_string_equal(res.provider_message, cases[i].message);
        if (cases[i].error == NULL && res.error[0] != '\0')
            fail_msg("case %zu: unexpected error \"%s\"", i, res.error);
        if (cases[i].error != NULL && strstr(res.error, cases[i].error) == NULL)
            fail_msg("case %zu: error \"%s\" does not say \"%s\"", i, res.error, cases[i].error);
        /* the invoiceID reference is there once our invoice was found */
        bool found =
            cases[i].error == NULL || (strstr(cases[i].error, "in the answer") == NULL &&
                                       strstr(cases[i].error, "appears") == NULL &&
                                       strstr(cases[i].error, "expected an array") == NULL);
        expect_ref(&res, "invoiceID", found ? "30231175" : NULL);
        expect_ref(&res, "rrn", cases[i].rrn);
        if (res.outcome == PV_OUTCOME_SUCCEEDED) {
            assert_int_equal(res.paid.minor, 100);
            assert_string_equal(res.paid.currency, "USD");
        } else {
            assert_false(pv_money_isset(&res.paid));
        }
        pv_result_clear(&res);
    }
    pv_command_clear(&cmd);
}

/* Every documented Error code (PROVIDERS.md) has its class; others are UNKNOWN. */
static void test_payone_error_codes(void **state)
{
    (void)state;
    static const struct {
        const char *error; /* the Error member's JSON */
        int status;
        pv_outcome outcome;
        const char *code;
    } cases[] = {
        {"\"00007\"", 200, PV_OUTCOME_FATAL, "00007"},
        {"\"00010\"", 200, PV_OUTCOME_DECLINED, "00010"},
        {"\"00021\"", 200, PV_OUTCOME_FATAL, "00021"},
        {"\"00022\"", 200, PV_OUTCOME_FATAL, "00022"},
        {"\"00028\"", 200, PV_OUTCOME_DECLINED, "00028"},
        {"\"00035\"", 200, PV_OUTCOME_DECLINED, "00035"},
        {"\"00036\"", 200, PV_OUTCOME_DECLINED, "00036"},
        /* the envelope decides whatever the HTTP status */
        {"\"00022\"", 401, PV_OUTCOME_FATAL, "00022"},
        {"\"00028\"", 404, PV_OUTCOME_DECLINED, "00028"},
        {"\"00036\"", 500, PV_OUTCOME_DECLINED, "00036"},
        /* compared by number */
        {"7", 200, PV_OUTCOME_FATAL, "7"},
        {"36", 200, PV_OUTCOME_DECLINED, "36"},
        /* undocumented */
        {"\"00000\"", 200, PV_OUTCOME_UNKNOWN, "00000"},
        {"\"00001\"", 200, PV_OUTCOME_UNKNOWN, "00001"},
        {"\"00099\"", 200, PV_OUTCOME_UNKNOWN, "00099"},
        {"\"99999\"", 500, PV_OUTCOME_UNKNOWN, "99999"},
        {"\"E0007\"", 200, PV_OUTCOME_UNKNOWN, "E0007"},
        {"\"-7\"", 200, PV_OUTCOME_UNKNOWN, "-7"},
        {"\"0000000007\"", 200, PV_OUTCOME_UNKNOWN, "0000000007"},
        {"123456789012345678901234567890", 200, PV_OUTCOME_UNKNOWN, "18446744073709551615"},
        {"true", 200, PV_OUTCOME_UNKNOWN, ""},
        {"{}", 400, PV_OUTCOME_UNKNOWN, ""},
    };
    pv_command cmd;
    tu_command(&cmd, &pv_payone, SEED_COMMAND);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[256];
        pv_result res;
        snprintf(body, sizeof(body), "{\"Error\":%s,\"ErrorMessage\":\"msg %zu\"}", cases[i].error,
                 i);
        tu_parse(&pv_payone, &cmd, cases[i].status, body, &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("Error %s (HTTP %d): %s, want %s", cases[i].error, cases[i].status,
                     pv_outcome_name(res.outcome), pv_outcome_name(cases[i].outcome));
        assert_string_equal(res.provider_code, cases[i].code);
        if (cases[i].code[0] != '\0') {
            char want[32];
            snprintf(want, sizeof(want), "msg %zu", i);
            assert_string_equal(res.provider_message, want);
        }
        if (res.outcome == PV_OUTCOME_UNKNOWN)
            assert_non_null(strstr(res.error, "Error"));
        else
            assert_string_equal(res.error, "");
        assert_int_equal(res.nrefs, 0);
        pv_result_clear(&res);
    }

    /* without ErrorMessage the meaning is the message; the envelope wins
     * over a per-invoice answer in the same body */
    pv_result res;
    tu_parse(&pv_payone, &cmd, 200,
             "{\"Error\":\"00035\",\"invoicesDetails\":[{\"invoiceID\":\"30231175\",\"amount\":"
             "\"100\",\"currency\":\"840\",\"status\":\"success\"}]}",
             &res);
    assert_int_equal(res.outcome, PV_OUTCOME_DECLINED);
    assert_string_equal(res.provider_code, "00035");
    assert_string_equal(res.provider_message, "invoice is not pre-auth");
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/* Statuses without a usable envelope, garbage, and a success body under a
 * status that contradicts it. */
static void test_payone_http_and_garbage(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "",
        "<html><body>Service Unavailable</body></html>",
        "{}",
        "null",
        "[]",
        "{\"Error\":null}",
        "{\"invoicesDetails\":",
    };
    static const struct {
        int status;
        pv_outcome outcome;
    } statuses[] = {
        {200, PV_OUTCOME_UNKNOWN}, {201, PV_OUTCOME_UNKNOWN}, {400, PV_OUTCOME_INVALID},
        {401, PV_OUTCOME_FATAL},   {403, PV_OUTCOME_FATAL},   {404, PV_OUTCOME_INVALID},
        {429, PV_OUTCOME_RETRY},   {500, PV_OUTCOME_UNKNOWN}, {502, PV_OUTCOME_UNKNOWN},
        {503, PV_OUTCOME_RETRY},   {504, PV_OUTCOME_UNKNOWN}, {302, PV_OUTCOME_UNKNOWN},
    };
    pv_command cmd;
    tu_command(&cmd, &pv_payone, SEED_COMMAND);
    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
        for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
            pv_result res;
            tu_parse(&pv_payone, &cmd, statuses[s].status, bodies[b], &res);
            if (res.outcome != statuses[s].outcome)
                fail_msg("HTTP %d body \"%s\": %s, want %s", statuses[s].status, bodies[b],
                         pv_outcome_name(res.outcome), pv_outcome_name(statuses[s].outcome));
            assert_true(res.error[0] != '\0');
            assert_int_equal(res.http_status, statuses[s].status);
            pv_result_clear(&res);
        }
    }

    /* the seed's success body: SUCCEEDED only under 2xx, UNKNOWN otherwise */
    char *ok = tu_fixture("payone/completeInvoice.response.json", NULL);
    static const int others[] = {100, 302, 400, 401, 404, 429, 500, 503};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        pv_result res;
        tu_parse(&pv_payone, &cmd, others[i], ok, &res);
        if (res.outcome != PV_OUTCOME_UNKNOWN)
            fail_msg("HTTP %d with the success body: %s", others[i], pv_outcome_name(res.outcome));
        assert_non_null(strstr(res.error, "HTTP"));
        pv_result_clear(&res);
    }
    /* every truncation of it is UNKNOWN under 200 */
    size_t n = strlen(ok);
    for (size_t len = 0; len < n; len++) {
        pv_result res;
        pv_result_init(&res);
        pv_provider_parse_response(&pv_payone, &cmd, 200, ok, len, &res);
        if (res.outcome != PV_OUTCOME_UNKNOWN)
            fail_msg("cut at %zu: %s", len, pv_outcome_name(res.outcome));
        pv_result_clear(&res);
    }
    free(ok);
    pv_command_clear(&cmd);
}

/*---- Inquiry ----*/

static void test_payone_build_inquiry(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};

    tu_command(&cmd, &pv_payone, SEED_COMMAND);
    assert_int_equal(pv_payone.build_inquiry(&cmd, &payone_ctx, &req, &err), PV_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/rest/InvoicesService/inquireInvoice");
    assert_int_equal(req.nheaders, 2);
    assert_string_equal(pv_request_header(&req, "Content-Type"),
                        "application/x-www-form-urlencoded");
    assert_string_equal(pv_request_header(&req, "Accept"), "application/json");
    assert_form_json(&req, "invoice",
                     "{\"merchantID\":\"" SEED_MERCHANT "\",\"authenticationToken\":\"" SEED_TOKEN
                     "\",\"invoiceID\":\"30231175\"}");
    assert_string_equal(req.body, "invoice=%7B%22merchantID%22%3A%22testMercahnt%22%2C%"
                                  "22authenticationToken%22%3A%22N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm%"
                                  "22%2C%22invoiceID%22%3A%2230231175%22%7D");
    pv_request_clear(&req);
    pv_command_clear(&cmd);

    tu_command(&cmd, &pv_payone, "{\"invoicesDetails\":[]}");
    assert_int_equal(pv_payone.build_inquiry(&cmd, &payone_ctx, &req, &err), PV_ERANGE);
    assert_string_equal(err.field, "request.invoicesDetails");
    assert_null(req.body);
    pv_command_clear(&cmd);
}

/* The inquiry's shape is not documented: both assumed shapes, every status
 * family, and everything that must stay UNKNOWN. */
static void test_payone_parse_inquiry(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *body;
        pv_outcome outcome;
        const char *rrn;
        const char *error; /* a part of res.error; NULL: empty */
    } cases[] = {
        {200,
         "{\"invoiceID\":\"30231175\",\"status\":\"completed\",\"rrn\":\"R1\",\"approvalCode\":"
         "\"A1\"}",
         PV_OUTCOME_SUCCEEDED, "R1", NULL},
        {200, "{\"status\":\"Paid\",\"rrn\":\"R2\"}", PV_OUTCOME_SUCCEEDED, "R2", NULL},
        {200,
         "{\"invoiceID\":\"30231175\",\"status\":\"SUCCESS\",\"amount\":\"100\",\"currency\":"
         "\"840\"}",
         PV_OUTCOME_SUCCEEDED, NULL, NULL},
        {200,
         "{\"invoicesDetails\":[{\"invoiceID\":\"1\",\"status\":\"failed\"},{\"invoiceID\":"
         "\"30231175\",\"status\":\"success\",\"rrn\":\"R3\"}]}",
         PV_OUTCOME_SUCCEEDED, "R3", NULL},
        {200, "{\"status\":\"captured\"}", PV_OUTCOME_SUCCEEDED, NULL, NULL},
        {200, "{\"invoiceID\":\"30231175\",\"status\":\"failed\"}", PV_OUTCOME_DECLINED, NULL,
         NULL},
        {200, "{\"status\":\"Not Completed\",\"rrn\":\"R4\"}", PV_OUTCOME_DECLINED, "R4", NULL},
        {200, "{\"status\":\"not_completed\"}", PV_OUTCOME_DECLINED, NULL, NULL},
        {200, "{\"status\":\"PENDING-PREAUTH\"}", PV_OUTCOME_DECLINED, NULL, NULL},
        {200, "{\"status\":\"PreAuthorized\"}", PV_OUTCOME_DECLINED, NULL, NULL},
        /* a declined invoice's odd amount or rrn does not matter */
        {200, "{\"status\":\"failed\",\"amount\":\"7\",\"rrn\":{}}", PV_OUTCOME_DECLINED, NULL,
         NULL},
        /* stays unknown */
        {200, "{\"status\":\"pending\"}", PV_OUTCOME_UNKNOWN, NULL, "string \\\"pending\\\""},
        {200, "{\"status\":\"refunded\"}", PV_OUTCOME_UNKNOWN, NULL, "refunded"},
        {200, "{\"status\":1}", PV_OUTCOME_UNKNOWN, NULL, "inquiry.status"},
        {200, "{\"invoiceID\":\"30231175\"}", PV_OUTCOME_UNKNOWN, NULL, "inquiry.status"},
        {200, "{\"invoiceID\":\"99\",\"status\":\"completed\"}", PV_OUTCOME_UNKNOWN, NULL,
         "not our \"30231175\""},
        {200, "{\"invoiceID\":30231175,\"status\":\"completed\"}", PV_OUTCOME_SUCCEEDED, NULL,
         NULL},
        {200, "{\"invoicesDetails\":[{\"invoiceID\":\"1\",\"status\":\"success\"}]}",
         PV_OUTCOME_UNKNOWN, NULL, "is not in the answer"},
        {200, "{\"status\":\"completed\",\"amount\":\"50\",\"currency\":\"840\"}",
         PV_OUTCOME_UNKNOWN, NULL, "inquiry.amount: \"50\" differs"},
        {200, "{\"status\":\"completed\",\"currency\":\"682\"}", PV_OUTCOME_UNKNOWN, NULL,
         "inquiry.currency"},
        {200, "{\"status\":\"completed\",\"rrn\":840201608161029435230000000000}",
         PV_OUTCOME_UNKNOWN, NULL, "inquiry.rrn"},
        {200, "{\"Error\":\"00028\",\"ErrorMessage\":\"invoice not found\"}", PV_OUTCOME_UNKNOWN,
         NULL, "00028"},
        {200, "{\"Error\":\"00036\"}", PV_OUTCOME_UNKNOWN, NULL, "00036"},
        {500, "{\"status\":\"completed\"}", PV_OUTCOME_UNKNOWN, NULL, "HTTP 500"},
        {404, "{\"status\":\"failed\"}", PV_OUTCOME_UNKNOWN, NULL, "HTTP 404"},
        {401, "", PV_OUTCOME_UNKNOWN, NULL, "empty"},
        {200, "<html>", PV_OUTCOME_UNKNOWN, NULL, "invalid JSON"},
        {200, "[{\"status\":\"completed\"}]", PV_OUTCOME_UNKNOWN, NULL, "expected an object"},
    };
    pv_command cmd;
    tu_command(&cmd, &pv_payone, SEED_COMMAND);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_result res;
        pv_result_init(&res);
        pv_provider_parse_inquiry(&pv_payone, &cmd, cases[i].status, cases[i].body,
                                  strlen(cases[i].body), &res);
        if (res.outcome != cases[i].outcome)
            fail_msg("inquiry %zu %s: %s, want %s (%s)", i, cases[i].body,
                     pv_outcome_name(res.outcome), pv_outcome_name(cases[i].outcome), res.error);
        if (cases[i].error == NULL && res.error[0] != '\0')
            fail_msg("inquiry %zu: unexpected error \"%s\"", i, res.error);
        if (cases[i].error != NULL && strstr(res.error, cases[i].error) == NULL)
            fail_msg("inquiry %zu: error \"%s\" does not say \"%s\"", i, res.error, cases[i].error);
        if (res.outcome != PV_OUTCOME_UNKNOWN)
            expect_ref(&res, "invoiceID", "30231175");
        if (res.outcome != PV_OUTCOME_UNKNOWN || cases[i].rrn != NULL)
            expect_ref(&res, "rrn", cases[i].rrn);
        pv_result_clear(&res);
    }

    /* the details of a settled capture */
    pv_result res;
    pv_result_init(&res);
    const char *body = "{\"invoiceID\":\"30231175\",\"status\":\"completed\",\"statusDescription\":"
                       "\"INVOICE COMPLETED\",\"rrn\":\"R1\",\"approvalCode\":\"A1\",\"amount\":"
                       "\"100\",\"currency\":\"840\"}";
    pv_provider_parse_inquiry(&pv_payone, &cmd, 200, body, strlen(body), &res);
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_string_equal(res.provider_code, "completed");
    assert_string_equal(res.provider_message, "INVOICE COMPLETED");
    assert_int_equal(res.nrefs, 3);
    expect_ref(&res, "approvalCode", "A1");
    assert_int_equal(res.paid.minor, 100);
    assert_string_equal(res.paid.currency, "USD");
    assert_string_equal(res.paid.text, "100");
    pv_result_clear(&res);

    /* an inquiry that names no amount leaves `paid` unset */
    body = "{\"status\":\"completed\"}";
    pv_result_init(&res);
    pv_provider_parse_inquiry(&pv_payone, &cmd, 200, body, strlen(body), &res);
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_false(pv_money_isset(&res.paid));
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/*---- The ops table ----*/

static void test_payone_ops_table(void **state)
{
    (void)state;
    assert_ptr_equal(pv_provider_find("PAYONE"), &pv_payone);
    assert_string_equal(pv_payone.operation, "completeInvoice");
    assert_string_equal(pv_payone.query_id_field, "invoiceID");
    assert_int_equal(pv_payone.caps, PV_CAP_INQUIRY | PV_CAP_BATCH | PV_CAP_PARTIAL);
    assert_int_equal(pv_provider_setting_index(&pv_payone, "merchant_id"), 0);
    assert_int_equal(pv_provider_setting_index(&pv_payone, "authentication_token"), 1);
    assert_int_equal(pv_provider_setting_index(&pv_payone, "form_field"), 2);
    assert_null(pv_payone.settings[3].name);
    assert_true(pv_payone.settings[0].required);
    assert_false(pv_payone.settings[0].secret);
    assert_true(pv_payone.settings[1].required);
    assert_true(pv_payone.settings[1].secret);
    assert_false(pv_payone.settings[2].required);
    assert_string_equal(pv_payone.settings[2].default_value, "invoice");
    /* a capture that may have reached PayOne is UNKNOWN, never retried */
    assert_int_equal(pv_classify_fault(&pv_payone, PV_FAULT_CONNECT), PV_OUTCOME_RETRY);
    assert_int_equal(pv_classify_fault(&pv_payone, PV_FAULT_SEND), PV_OUTCOME_UNKNOWN);
    assert_int_equal(pv_classify_fault(&pv_payone, PV_FAULT_NO_ANSWER), PV_OUTCOME_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payone_build_seed_request),
        cmocka_unit_test(test_payone_form_field_and_encoding),
        cmocka_unit_test(test_payone_command_variants),
        cmocka_unit_test(test_payone_rejects_bad_commands),
        cmocka_unit_test(test_payone_refuses_credentials_in_commands),
        cmocka_unit_test(test_payone_settings_errors),
        cmocka_unit_test(test_payone_parse_seed_response),
        cmocka_unit_test(test_payone_invoice_answers),
        cmocka_unit_test(test_payone_error_codes),
        cmocka_unit_test(test_payone_http_and_garbage),
        cmocka_unit_test(test_payone_build_inquiry),
        cmocka_unit_test(test_payone_parse_inquiry),
        cmocka_unit_test(test_payone_ops_table),
    };
    return cmocka_run_group_tests_name("payone", tests, NULL, NULL);
}
