/* test_codec.c -- the event codec: round trips, golden bytes, malformed input. */
#include "testutil.h"

#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "sc_avro.h"
#include "sc_codec.h"

/* A JSON command for provider p carrying the contract fixture's request. */
static char *command_json(const pv_provider *p, const char *extra)
{
    char rel[64], dir[16];
    size_t i;
    for (i = 0; p->name[i] != '\0' && i + 1 < sizeof(dir); i++)
        dir[i] = (char)(p->name[i] - 'A' + 'a');
    dir[i] = '\0';
    snprintf(rel, sizeof(rel), "%s/contract.json", dir);
    char *text = tu_fixture(rel, NULL);
    json_object *desc = tu_json(text);
    free(text);
    json_object *cmd = json_object_new_object();
    json_object_object_add(cmd, "command_id", json_object_new_string("cmd-ü-1"));
    json_object_object_add(cmd, "provider", json_object_new_string(p->name));
    json_object_object_add(cmd, "operation", json_object_new_string(p->operation));
    json_object_object_add(cmd, "created_at", json_object_new_int64(1700000000123));
    json_object_object_add(cmd, "merchant", json_object_new_string("Ödeme A.Ş."));
    json_object_object_add(cmd, "request", json_object_get(pv_json_member(desc, "command")));
    if (extra != NULL) {
        json_object *x = tu_json(extra);
        json_object_object_foreach(x, k, v) json_object_object_add(cmd, k, json_object_get(v));
        json_object_put(x);
    }
    char *out = strdup(pv_json_dump(cmd, NULL));
    json_object_put(cmd);
    json_object_put(desc);
    return out;
}

/* The provider request an adapter builds from cmd, as one comparable string. */
static char *provider_request(const pv_command *cmd)
{
    const pv_provider *p = cmd->provider;
    const char *settings[16];
    pv_request req;
    pv_error err = {0};
    void *spec = NULL;
    for (size_t i = 0; i < 16; i++)
        settings[i] = "x-setting";
    pv_ctx ctx = {.settings = settings, .token = "tok"};
    if (p->caps & PV_CAP_SPEC) {
        size_t len;
        char *s = tu_fixture("isbank/bill-institution-service.response.json", &len);
        spec = p->parse_spec(200, s, len, &err);
        free(s);
        ctx.spec = spec;
    }
    if (pv_provider_build_request(p, cmd, &ctx, &req, &err) != PV_OK)
        fail_msg("%s: build_request: %s", p->name, err.errstr);
    size_t cap = 1024 + req.body_len;
    char *out = malloc(cap);
    int n = snprintf(out, cap, "%s %s\n", req.method, req.path);
    for (size_t i = 0; i < req.nheaders; i++)
        n += snprintf(out + n, cap - (size_t)n, "%s\n", req.headers[i]);
    snprintf(out + n, cap - (size_t)n, "\n%s", req.body != NULL ? req.body : "");
    pv_request_clear(&req);
    if (spec != NULL)
        p->free_spec(spec);
    return out;
}

static void test_codec_command_round_trip_every_provider(void **state)
{
    sc_codec *c = *state;
    for (const pv_provider *const *pp = pv_providers; *pp != NULL; pp++) {
        pv_command a, b;
        pv_error err = {0};
        char *bytes;
        size_t len;
        char *json = command_json(*pp, "{\"expires_at\": \"2030-01-01T00:00:00Z\"}");

        if (sc_command_decode(c, json, strlen(json), &a, &err) != PV_OK)
            fail_msg("%s JSON: %s", (*pp)->name, err.errstr);
        if (sc_command_encode(c, &a, &bytes, &len, &err) != PV_OK)
            fail_msg("%s encode: %s", (*pp)->name, err.errstr);
        assert_int_equal(sc_frame_id(bytes, len), SC_LOCAL_ID_COMMAND);
        if (sc_command_decode(c, bytes, len, &b, &err) != PV_OK)
            fail_msg("%s Avro: %s", (*pp)->name, err.errstr);

        assert_string_equal(a.command_id, "cmd-ü-1");
        assert_string_equal(b.command_id, a.command_id);
        assert_ptr_equal(b.provider, *pp);
        assert_string_equal(b.operation, (*pp)->operation);
        assert_int_equal(b.created_at_ms, 1700000000123);
        assert_int_equal(a.expires_at_ms, 1893456000000);
        assert_int_equal(b.expires_at_ms, a.expires_at_ms);
        assert_string_equal(b.merchant, "Ödeme A.Ş.");
        /* both wire forms make the provider request byte for byte */
        char *ra = provider_request(&a), *rb = provider_request(&b);
        assert_string_equal(ra, rb);
        free(ra);
        free(rb);
        free(bytes);
        free(json);
        pv_command_clear(&a);
        pv_command_clear(&b);
    }
}

/* Unicode, the longest strings and the extreme amounts survive both ways. */
static void test_codec_command_limits_round_trip(void **state)
{
    sc_codec *c = *state;
    static const char *const requests[] = {
        /* Sipay: zero and the largest TRY amount the request can express */
        "{\"account_type_id\": 1, \"account_number\": \"A\", \"wallet_number\": \"W\", "
        "\"inv_payment_transaction_query_oid\": \"Q\", \"invoice_amount\": 0.00, "
        "\"payment_amount\": \"92233720368547758.07\", \"product_oid\": \"P\", "
        "\"subscriber_no\": \"Türk Telekom (Mobil) — İşlem\", \"bill_term\": \"03/2023\", "
        "\"bill_no\": \"B\"}",
        /* PayOne: the largest minor-unit amount */
        "{\"invoicesDetails\": [{\"invoiceID\": \"X1\", \"amount\": 9223372036854775807, "
        "\"currency\": \"400\"}]}",
    };
    static const char *const providers[] = {"SIPAY", "PAYONE"};
    for (size_t i = 0; i < 2; i++) {
        char text[1024];
        pv_command a, b;
        pv_error err = {0};
        char *bytes;
        size_t len;
        snprintf(text, sizeof(text),
                 "{\"command_id\": \"c\", \"provider\": \"%s\", \"created_at\": 0, \"request\": "
                 "%s}",
                 providers[i], requests[i]);
        assert_int_equal(sc_command_decode(c, text, strlen(text), &a, &err), PV_OK);
        if (sc_command_encode(c, &a, &bytes, &len, &err) != PV_OK)
            fail_msg("encode: %s", err.errstr);
        assert_int_equal(sc_command_decode(c, bytes, len, &b, &err), PV_OK);
        json_object *rb = b.request;
        if (i == 0) {
            assert_string_equal(json_object_get_string(pv_json_member(rb, "invoice_amount")),
                                "0.00");
            assert_string_equal(json_object_get_string(pv_json_member(rb, "payment_amount")),
                                "92233720368547758.07");
            assert_string_equal(json_object_get_string(pv_json_member(rb, "subscriber_no")),
                                "Türk Telekom (Mobil) — İşlem");
        } else {
            json_object *inv = json_object_array_get_idx(pv_json_member(rb, "invoicesDetails"), 0);
            assert_true(json_object_get_int64(pv_json_member(inv, "amount")) == INT64_MAX);
        }
        free(bytes);
        pv_command_clear(&a);
        pv_command_clear(&b);
    }

    /* a string of exactly SC_STRING_MAX bytes passes, one more is refused */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = SC_STRING_MAX + (size_t)extra;
        char *big = malloc(n + 512);
        int o = snprintf(big, n + 512,
                         "{\"command_id\": \"c\", \"provider\": \"ISBANK\", \"created_at\": 0, "
                         "\"request\": {\"service_id\": 1, \"payment_reference\": \"R\", "
                         "\"amount\": \"1\", \"currency_code\": \"TRY\", "
                         "\"basic_input_values\": [{\"name\": \"n\", \"value\": \"");
        memset(big + o, 'y', n);
        snprintf(big + o + n, 64, "\"}]}}");
        pv_command a;
        pv_error err = {0};
        char *bytes = NULL;
        size_t len;
        assert_int_equal(sc_command_decode(c, big, strlen(big), &a, &err), PV_OK);
        int rc = sc_command_encode(c, &a, &bytes, &len, &err);
        if (extra == 0) {
            assert_int_equal(rc, PV_OK);
            pv_command b;
            assert_int_equal(sc_command_decode(c, bytes, len, &b, &err), PV_OK);
            pv_command_clear(&b);
        } else {
            assert_int_equal(rc, PV_ETOOBIG);
            assert_non_null(strstr(err.errstr, "basic_input_values[0].value"));
        }
        free(bytes);
        free(big);
        pv_command_clear(&a);
    }
}

static void test_codec_command_malformed(void **state)
{
    sc_codec *c = *state;
    static const struct {
        const char *json;
        int code;
        const char *field;
        const char *quoted;
    } cases[] = {
        {"{\"provider\": \"PAYOFIN\", \"created_at\": 1, \"request\": {}}", PV_EMISSING,
         "command_id", NULL},
        {"{\"command_id\": 5, \"provider\": \"PAYOFIN\", \"created_at\": 1, \"request\": {}}",
         PV_ETYPE, "command_id", "5"},
        {"{\"command_id\": \"\", \"provider\": \"PAYOFIN\", \"created_at\": 1, \"request\": {}}",
         PV_EFORMAT, "command_id", NULL},
        {"{\"command_id\": \"c\", \"created_at\": 1, \"request\": {}}", PV_EMISSING, "provider",
         NULL},
        {"{\"command_id\": \"c\", \"provider\": \"VISA\", \"created_at\": 1, \"request\": {}}",
         PV_ERANGE, "provider", "VISA"},
        {"{\"command_id\": \"c\", \"provider\": \"PAYOFIN\", \"operation\": \"refund\", "
         "\"created_at\": 1, \"request\": {}}",
         PV_EUNSUPPORTED, "operation", "refund"},
        {"{\"command_id\": \"c\", \"provider\": \"PAYOFIN\", \"request\": {}}", PV_EMISSING,
         "created_at", NULL},
        {"{\"command_id\": \"c\", \"provider\": \"PAYOFIN\", \"created_at\": \"yesterday\", "
         "\"request\": {}}",
         PV_EFORMAT, "created_at", "yesterday"},
        {"{\"command_id\": \"c\", \"provider\": \"PAYOFIN\", \"created_at\": 1.5, \"request\": "
         "{}}",
         PV_ETYPE, "created_at", "1.5"},
        {"{\"command_id\": \"c\", \"provider\": \"PAYOFIN\", \"created_at\": 1}", PV_EMISSING,
         "request", NULL},
        {"{\"command_id\": \"c\", \"provider\": \"PAYOFIN\", \"created_at\": 1, \"request\": "
         "[1]}",
         PV_ETYPE, "request", "[1]"},
        {"{\"command_id\": \"c\", \"provider\": \"PAYOFIN\", \"created_at\": 1, \"request\": "
         "{}, \"merchant\": 7}",
         PV_ETYPE, "merchant", "7"},
        {"{\"command_id\": \"c\", \"provider\": \"PAYOFIN\"", PV_EPARSE, "", "truncated"},
        {"[]", PV_EFORMAT, "", "[]"},
        {"\x01\x00\x00\x00\x01xx", PV_EFORMAT, "", "\\x01"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_error err = {0};
        int rc = sc_command_decode(c, cases[i].json, strlen(cases[i].json), &cmd, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu: rc %s (%s), want %s", i, pv_error_name(rc), err.errstr,
                     pv_error_name(cases[i].code));
        assert_string_equal(err.field, cases[i].field);
        if (cases[i].quoted != NULL && strstr(err.errstr, cases[i].quoted) == NULL)
            fail_msg("case %zu: \"%s\" does not quote %s", i, err.errstr, cases[i].quoted);
        assert_null(cmd.request);
    }

    /* 10 MB is refused unread */
    size_t big = 10u * 1024 * 1024;
    char *buf = calloc(1, big);
    buf[0] = '{';
    pv_command cmd;
    pv_error err = {0};
    assert_int_equal(sc_command_decode(c, buf, big, &cmd, &err), PV_ETOOBIG);
    free(buf);

    /* amounts the x-decimal fields refuse on the way into Avro */
    static const char *const bad_amounts[] = {"\"1e3\"", "1e3", "\"12,50\"", "1e400",
                                              "123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof(bad_amounts) / sizeof(bad_amounts[0]); i++) {
        char text[512];
        char *bytes = NULL;
        size_t len;
        snprintf(text, sizeof(text),
                 "{\"command_id\": \"c\", \"provider\": \"SIPAY\", \"created_at\": 0, "
                 "\"request\": {\"account_type_id\": 1, \"account_number\": \"A\", "
                 "\"wallet_number\": \"W\", \"inv_payment_transaction_query_oid\": \"Q\", "
                 "\"invoice_amount\": %s, \"payment_amount\": \"1\", \"product_oid\": \"P\", "
                 "\"subscriber_no\": \"S\", \"bill_term\": \"T\", \"bill_no\": \"B\"}}",
                 bad_amounts[i]);
        assert_int_equal(sc_command_decode(c, text, strlen(text), &cmd, &err), PV_OK);
        int rc = sc_command_encode(c, &cmd, &bytes, &len, &err);
        if (rc == PV_OK)
            fail_msg("amount %s was encoded", bad_amounts[i]);
        assert_non_null(strstr(err.errstr, "invoice_amount"));
        /* the JSON path refuses it in the adapter, naming the same field */
        pv_request req;
        const char *settings[] = {"id", "secret", NULL, NULL};
        pv_ctx ctx = {.settings = settings, .token = "t"};
        assert_int_not_equal(pv_provider_build_request(cmd.provider, &cmd, &ctx, &req, &err),
                             PV_OK);
        assert_string_equal(err.field, "request.invoice_amount");
        pv_command_clear(&cmd);
    }
}

/* 12.345 TRY is decimal text, so the codec carries it; the adapter, which
 * knows the currency, refuses it naming the field and quoting the value. */
static void test_codec_amount_with_too_many_decimals(void **state)
{
    sc_codec *c = *state;
    static const char text[] =
        "{\"command_id\": \"c\", \"provider\": \"SIPAY\", \"created_at\": 0, \"request\": "
        "{\"account_type_id\": 1, \"account_number\": \"A\", \"wallet_number\": \"W\", "
        "\"inv_payment_transaction_query_oid\": \"Q\", \"invoice_amount\": 12.345, "
        "\"payment_amount\": \"1\", \"product_oid\": \"P\", \"subscriber_no\": \"S\", "
        "\"bill_term\": \"T\", \"bill_no\": \"B\"}}";
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    const char *settings[] = {"id", "secret", NULL, NULL};
    pv_ctx ctx = {.settings = settings, .token = "t"};
    assert_int_equal(sc_command_decode(c, text, strlen(text), &cmd, &err), PV_OK);
    assert_int_not_equal(pv_provider_build_request(cmd.provider, &cmd, &ctx, &req, &err), PV_OK);
    assert_string_equal(err.field, "request.invoice_amount");
    assert_non_null(strstr(err.errstr, "12.345"));
    pv_command_clear(&cmd);
}

static void test_codec_avro_malformed(void **state)
{
    sc_codec *c = *state;
    pv_command cmd;
    pv_error err = {0};
    char *json = command_json(&pv_sipay, NULL), *bytes;
    size_t len;
    assert_int_equal(sc_command_decode(c, json, strlen(json), &cmd, &err), PV_OK);
    assert_int_equal(sc_command_encode(c, &cmd, &bytes, &len, &err), PV_OK);
    pv_command_clear(&cmd);

    /* every truncation of a valid message is an error, never a crash */
    for (size_t n = 0; n < len; n++) {
        int rc = sc_command_decode(c, bytes, n, &cmd, &err);
        if (rc == PV_OK)
            fail_msg("truncated to %zu of %zu bytes decoded", n, len);
    }
    /* trailing garbage */
    char *longer = malloc(len + 1);
    memcpy(longer, bytes, len);
    longer[len] = 'x';
    assert_int_equal(sc_command_decode(c, longer, len + 1, &cmd, &err), PV_EPARSE);
    assert_non_null(strstr(err.errstr, "trailing"));
    free(longer);

    /* unknown schema id */
    bytes[4] = 99;
    assert_int_equal(sc_command_decode(c, bytes, len, &cmd, &err), PV_EUNSUPPORTED);
    assert_string_equal(err.field, "schema_id");
    assert_non_null(strstr(err.errstr, "99"));
    bytes[4] = SC_LOCAL_ID_COMMAND;

    /* wrong magic byte */
    bytes[0] = 1;
    assert_int_equal(sc_command_decode(c, bytes, len, &cmd, &err), PV_EFORMAT);
    assert_non_null(strstr(err.errstr, "magic byte"));
    bytes[0] = 0;

    /* a huge declared string length is refused before avro-c allocates it:
     * the first field (command_id) claims 2^62 bytes */
    static const unsigned char huge[] = {0,    0,    0,    0,    1,    0xfe, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(sc_command_decode(c, huge, sizeof(huge), &cmd, &err), PV_EPARSE);
    assert_string_equal(err.field, "command_id");
    /* invalid UTF-8 in a string */
    static const unsigned char badutf[] = {0, 0, 0, 0, 1, 0x04, 0xc3, 0x28};
    assert_int_equal(sc_command_decode(c, badutf, sizeof(badutf), &cmd, &err), PV_EFORMAT);
    assert_non_null(strstr(err.errstr, "UTF-8"));
    /* enum index out of range (provider = 9) */
    static const unsigned char badenum[] = {0, 0, 0, 0, 1, 0x02, 'c', 0x12};
    assert_int_equal(sc_command_decode(c, badenum, sizeof(badenum), &cmd, &err), PV_ERANGE);
    assert_string_equal(err.field, "provider");
    free(bytes);
    free(json);
}

static void test_codec_result_and_balance(void **state)
{
    sc_codec *c = *state;
    pv_command cmd;
    pv_result res;
    pv_error err = {0};
    char *bytes;
    size_t len;
    json_object *j;

    /* Sipay's seed answer: references, three amounts, a balance with buckets
     * and limits */
    char *body = tu_fixture("sipay/makepayment.response.json", NULL);
    char *req = tu_fixture("sipay/makepayment.request.json", NULL);
    tu_command(&cmd, &pv_sipay, req);
    tu_parse(&pv_sipay, &cmd, 200, body, &res);
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);

    pv_result_event ev = {.provider = &pv_sipay,
                          .status = PV_STATUS_SUCCEEDED,
                          .result = &res,
                          .attempts = 1,
                          .fence = 42,
                          .processed_at_ms = 1700000000999};
    snprintf(ev.event_id, sizeof(ev.event_id), "ev-1");
    snprintf(ev.command_id, sizeof(ev.command_id), "cmd-1");
    snprintf(ev.operation, sizeof(ev.operation), "MakePayment");
    snprintf(ev.query_id, sizeof(ev.query_id), "90XX46-FXX5-4XX3-8DXX-B1XX97");
    snprintf(ev.worker, sizeof(ev.worker), "w-1");
    if (sc_result_encode(c, &ev, &bytes, &len, &err) != PV_OK)
        fail_msg("result encode: %s", err.errstr);
    assert_int_equal(sc_frame_id(bytes, len), SC_LOCAL_ID_RESULT);
    assert_int_equal(sc_event_to_json(c, SC_RESULT, bytes, len, &j, &err), PV_OK);
    json_object *want = tu_json(
        "{\"event_id\": \"ev-1\", \"command_id\": \"cmd-1\", \"provider\": \"SIPAY\", "
        "\"operation\": \"MakePayment\", \"query_id\": \"90XX46-FXX5-4XX3-8DXX-B1XX97\", "
        "\"status\": \"SUCCEEDED\", \"provider_code\": \"100\", \"provider_message\": \"İşlem "
        "başarılı\", \"references\": {\"payment_transaction_id\": \"9623XX2189\", "
        "\"transaction_id\": \"ABRVXXX7304\", \"ext_order_id\": "
        "\"90XX46-FXX5-4XX3-8DXX-B1XX97\", \"inv_payment_transaction_query_oid\": "
        "\"90XX46-FXX5-4XX3-8DXX-B1XX97\"}, \"paid\": {\"minor\": 19650, \"currency\": \"TRY\", "
        "\"exact\": null}, "
        "\"fee\": {\"minor\": 0, \"currency\": \"TRY\", \"exact\": null}, \"charged\": {\"minor\": "
        "19650, "
        "\"currency\": \"TRY\", \"exact\": null}, \"paid_at\": null, \"attempts\": 1, \"fence\": "
        "42, "
        "\"worker\": \"w-1\", \"processed_at\": 1700000000999, \"reason\": null, "
        "\"field_errors\": [], \"detail_json\": \"x\"}");
    /* the detail is the adapter's JSON text: compare it separately */
    json_object *dj = pv_json_member(j, "detail_json");
    assert_non_null(dj);
    json_object *detail = tu_json(json_object_get_string(dj));
    assert_string_equal(json_object_get_string(pv_json_member(detail, "institution_name")),
                        "Türk Telekom (Mobil)");
    json_object_put(detail);
    json_object_object_add(j, "detail_json", json_object_new_string("x"));
    tu_assert_json_equal(j, want);
    json_object_put(want);
    json_object_put(j);
    free(bytes);

    pv_balance_event bev = {.provider = &pv_sipay,
                            .balance = &res.balances[0],
                            .observed_at_ms = 1700000001000,
                            .fence = 42};
    snprintf(bev.event_id, sizeof(bev.event_id), "bal-1");
    snprintf(bev.source_command_id, sizeof(bev.source_command_id), "cmd-1");
    if (sc_balance_encode(c, &bev, &bytes, &len, &err) != PV_OK)
        fail_msg("balance encode: %s", err.errstr);
    assert_int_equal(sc_frame_id(bytes, len), SC_LOCAL_ID_BALANCE);
    assert_int_equal(sc_event_to_json(c, SC_BALANCE, bytes, len, &j, &err), PV_OK);
    assert_string_equal(json_object_get_string(pv_json_member(j, "account")), "25XX25");
    json_object *total = pv_json_member(j, "total");
    assert_int_equal(json_object_get_int64(pv_json_member(total, "minor")), 89947);
    json_object *limits = pv_json_member(j, "limits");
    assert_int_equal(json_object_object_length(limits), 6);
    json_object *pl = pv_json_member(limits, "payment_limit");
    assert_int_equal(json_object_get_int64(pv_json_member(pl, "minor")), 99723843);
    assert_null(pv_json_member(pl, "exact")); /* 997238.4300: exact in minor units */
    /* 996004.0060 has digits below the kuruş: minor is rounded, and says so */
    json_object *tcl = pv_json_member(limits, "topup_credit_limit");
    assert_int_equal(json_object_get_int64(pv_json_member(tcl, "minor")), 99600401);
    assert_string_equal(json_object_get_string(pv_json_member(tcl, "exact")), "996004.0060");
    json_object *buckets = pv_json_member(j, "buckets");
    assert_int_equal(json_object_array_length(buckets), 2);
    json_object_put(j);
    free(bytes);
    pv_result_clear(&res);
    pv_command_clear(&cmd);
    free(body);
    free(req);

    /* a REJECTED result with no provider, no call and per-field errors */
    pv_result_event rej = {.status = PV_STATUS_REJECTED, .processed_at_ms = 5};
    snprintf(rej.event_id, sizeof(rej.event_id), "ev-r");
    snprintf(rej.reason, sizeof(rej.reason), "provider: \"VISA\" is not one of ...");
    json_object *fe = tu_json("[{\"field\": \"Tckn_Vkn_Ykn\", \"value\": \"12\", \"error\": "
                              "\"length 2 is below the minimum 11\"}]");
    rej.field_errors = fe;
    assert_int_equal(sc_result_encode(c, &rej, &bytes, &len, &err), PV_OK);
    assert_int_equal(sc_event_to_json(c, SC_RESULT, bytes, len, &j, &err), PV_OK);
    assert_null(pv_json_member(j, "provider"));
    assert_string_equal(json_object_get_string(pv_json_member(j, "status")), "REJECTED");
    json_object *fe0 = json_object_array_get_idx(pv_json_member(j, "field_errors"), 0);
    assert_string_equal(json_object_get_string(pv_json_member(fe0, "value")), "12");
    json_object_put(j);
    json_object_put(fe);
    free(bytes);
}

/* Known command and result encode to known bytes (tests/fixtures/events). */
static void test_codec_golden(void **state)
{
    sc_codec *c = *state;
    pv_command cmd;
    pv_error err = {0};
    char *bytes;
    size_t len;
    char *golden_json = tu_fixture("events/command.golden.json", NULL);
    assert_int_equal(sc_command_decode(c, golden_json, strlen(golden_json), &cmd, &err), PV_OK);
    assert_int_equal(sc_command_encode(c, &cmd, &bytes, &len, &err), PV_OK);

    size_t hex_len;
    char *hex = tu_fixture("events/command.golden.hex", &hex_len);
    char *got = malloc(2 * len + 1);
    for (size_t i = 0; i < len; i++)
        snprintf(got + 2 * i, 3, "%02x", (unsigned char)bytes[i]);
    while (hex_len > 0 && (hex[hex_len - 1] == '\n' || hex[hex_len - 1] == ' '))
        hex[--hex_len] = '\0';
    if (getenv("PAYW_GOLDEN_PRINT") != NULL)
        printf("golden: %s\n", got);
    assert_string_equal(got, hex);
    free(got);
    free(hex);
    free(bytes);
    free(golden_json);
    pv_command_clear(&cmd);
}

/* Writes the JSON command j with schema_text, framed with id (a test stand-in
 * for another producer's schema version). */
static char *encode_with(const char *schema_text, int32_t id, const char *j, size_t *len)
{
    avro_schema_t s;
    avro_value_t v;
    pv_error err = {0};
    sc_marks m;
    assert_int_equal(avro_schema_from_json_length(schema_text, strlen(schema_text), &s), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    avro_generic_value_new(iface, &v);
    assert_int_equal(sc_marks_collect(&m, schema_text, strlen(schema_text), &err), PV_OK);
    json_object *jo = tu_json(j);
    if (sc_avro_from_json(&v, jo, "", &m, "PayofinInvoicePayment", &err) != PV_OK)
        fail_msg("test encode: %s", err.errstr);
    size_t size;
    avro_value_sizeof(&v, &size);
    char *buf = malloc(size + 5);
    buf[0] = 0;
    buf[1] = buf[2] = buf[3] = 0;
    buf[4] = (char)id;
    avro_writer_t w = avro_writer_memory(buf + 5, (int64_t)size);
    assert_int_equal(avro_value_write(w, &v), 0);
    avro_writer_free(w);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    json_object_put(jo);
    *len = size + 5;
    return buf;
}

/* Messages written by an older version (no merchant, no expires_at) and a
 * newer one (an extra field) of PaymentCommand decode once their schema is
 * registered under their id. */
static void test_codec_reads_other_schema_versions(void **state)
{
    sc_codec *c = *state;
    size_t len;
    const char *text = sc_schema_text(SC_COMMAND, &len);
    /* older: PaymentCommand without expires_at and merchant (fields 4, 5) */
    json_object *older = tu_json(text);
    json_object_array_del_idx(pv_json_member(older, "fields"), 4, 2);
    char *older_text = strdup(pv_json_dump(older, NULL));
    json_object_put(older);
    /* newer: with an extra field that has a default */
    json_object *newer = tu_json(text);
    json_object_array_add(pv_json_member(newer, "fields"),
                          tu_json("{\"name\": \"priority\", \"type\": \"int\", "
                                  "\"default\": 0}"));
    char *newer_text = strdup(pv_json_dump(newer, NULL));
    json_object_put(newer);

    static const char cmd[] = "{\"command_id\": \"old-1\", \"provider\": \"PAYOFIN\", "
                              "\"operation\": \"invoicepayment\", \"created_at\": 7, "
                              "\"priority\": 3, \"request\": {\"invoiceQueryId\": 42}}";
    const char *texts[] = {older_text, newer_text};
    for (int i = 0; i < 2; i++) {
        pv_command out;
        pv_error err = {0};
        int32_t id = 100 + i;
        char *bytes = encode_with(texts[i], id, cmd, &len);
        assert_int_equal(sc_command_decode(c, bytes, len, &out, &err), PV_EUNSUPPORTED);
        assert_int_equal(sc_codec_add_writer(c, SC_COMMAND, id, texts[i], strlen(texts[i]), &err),
                         PV_OK);
        if (sc_command_decode(c, bytes, len, &out, &err) != PV_OK)
            fail_msg("version %d: %s", i, err.errstr);
        assert_string_equal(out.command_id, "old-1");
        assert_string_equal(out.merchant, "");
        assert_int_equal(out.expires_at_ms, 0);
        assert_int_equal(json_object_get_int64(pv_json_member(out.request, "invoiceQueryId")), 42);
        pv_command_clear(&out);
        free(bytes);
    }
    /* a schema of another record is refused */
    pv_error err = {0};
    const char *result_text = sc_schema_text(SC_RESULT, &len);
    assert_int_equal(sc_codec_add_writer(c, SC_COMMAND, 200, result_text, len, &err),
                     PV_EUNSUPPORTED);
    free(older_text);
    free(newer_text);
}

/* The Python decoder written from the Avro spec (tests/tools/avro_wire.py)
 * reads what the C codec writes. */
static void test_codec_python_reads_our_events(void **state)
{
    sc_codec *c = *state;
    pv_command cmd;
    pv_result res;
    pv_error err = {0};
    char *bytes, path[] = "/tmp/payw-codec-XXXXXX";
    size_t len;
    char *body = tu_fixture("payofin/invoicepayment.response.json", NULL);
    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 615209}");
    tu_parse(&pv_payofin, &cmd, 200, body, &res);
    pv_result_event ev = {.provider = &pv_payofin,
                          .status = PV_STATUS_SUCCEEDED,
                          .result = &res,
                          .attempts = 1,
                          .fence = 9,
                          .processed_at_ms = 11};
    snprintf(ev.event_id, sizeof(ev.event_id), "ev-py");
    snprintf(ev.query_id, sizeof(ev.query_id), "615209");
    assert_int_equal(sc_result_encode(c, &ev, &bytes, &len, &err), PV_OK);

    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; i < len; i++)
        fprintf(f, "%02x", (unsigned char)bytes[i]);
    fclose(f);
    char command[512], out[4096];
    snprintf(command, sizeof(command),
             "python3 tests/tools/avro_wire.py decode schemas/payment_result.avsc < %s", path);
    FILE *p = popen(command, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    unlink(path);
    json_object *py = tu_json(out), *ours;
    assert_int_equal(sc_event_to_json(c, SC_RESULT, bytes, len, &ours, &err), PV_OK);
    tu_assert_json_equal(py, ours);
    assert_string_equal(json_object_get_string(pv_json_member(py, "provider_message")),
                        "İşlem Başarılı");
    json_object *paid = pv_json_member(py, "paid");
    assert_int_equal(json_object_get_int64(pv_json_member(paid, "minor")), 100);
    json_object_put(py);
    json_object_put(ours);
    free(bytes);
    free(body);
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

/* Encodes ev (or bev) the direct way and the checked JSON way: same bytes, or
 * the same error. */
static void same_both_ways(sc_codec *c, const pv_result_event *ev, const pv_balance_event *bev)
{
    char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    pv_error e1 = {0}, e2 = {0};
    int r1 = ev != NULL ? sc_result_encode(c, ev, &a, &al, &e1)
                        : sc_balance_encode(c, bev, &a, &al, &e1);
    sc_codec_set_json_only(c, 1);
    int r2 = ev != NULL ? sc_result_encode(c, ev, &b, &bl, &e2)
                        : sc_balance_encode(c, bev, &b, &bl, &e2);
    sc_codec_set_json_only(c, 0);
    assert_int_equal(r1, r2);
    if (r1 == PV_OK) {
        assert_int_equal(al, bl);
        assert_memory_equal(a, b, al);
        free(a);
        free(b);
    } else {
        assert_string_equal(e1.errstr, e2.errstr);
    }
}

/* Results and balances are written straight to Avro (the hot path); the
 * checked JSON way is the reference: every provider's sample answer under
 * every status, with and without a call, every balance it reports, and the
 * cases the direct writer must leave to the JSON way. */
static void test_codec_direct_matches_json(void **state)
{
    sc_codec *c = *state;
    int events = 0;
    for (size_t p = 0; pv_providers[p] != NULL; p++) {
        const pv_provider *pr = pv_providers[p];
        char rel[96], dir[16];
        size_t i;
        for (i = 0; pr->name[i] != '\0' && i + 1 < sizeof(dir); i++)
            dir[i] = (char)tolower((unsigned char)pr->name[i]);
        dir[i] = '\0';
        snprintf(rel, sizeof(rel), "%s/contract.json", dir);
        char *text = tu_fixture(rel, NULL);
        json_object *desc = tu_json(text);
        free(text);
        pv_command cmd;
        pv_result res;
        tu_command(&cmd, pr, pv_json_dump(pv_json_member(desc, "command"), NULL));
        char *body =
            tu_fixture(json_object_get_string(pv_json_member(desc, "success_response")), NULL);
        tu_parse(pr, &cmd, 200, body, &res);
        for (int st = 0; st < PV_STATUS__COUNT; st++) {
            pv_result_event ev = {.provider = pr,
                                  .status = (pv_status)st,
                                  .result = st % 2 == 0 ? &res : NULL,
                                  .attempts = st % 2 == 0 ? 1 : 0,
                                  .fence = st % 3 == 0 ? 0 : 1234567890123LL,
                                  .processed_at_ms = 1700000000999LL + st};
            snprintf(ev.event_id, sizeof(ev.event_id), "ev-%s-%d", pr->name, st);
            snprintf(ev.command_id, sizeof(ev.command_id), "cmd-%d", st);
            snprintf(ev.operation, sizeof(ev.operation), "%s", cmd.operation);
            snprintf(ev.query_id, sizeof(ev.query_id), "q-%s", pr->name);
            snprintf(ev.worker, sizeof(ev.worker), "w-1");
            if (st == PV_STATUS_UNKNOWN)
                snprintf(ev.reason, sizeof(ev.reason), "outcome unknown: İşlem zaman aşımı");
            same_both_ways(c, &ev, NULL);
            events++;
        }
        for (size_t b = 0; b < res.nbalances; b++) {
            pv_balance_event bev = {.provider = pr,
                                    .balance = &res.balances[b],
                                    .observed_at_ms = 1700000001000LL,
                                    .fence = (int64_t)b};
            snprintf(bev.event_id, sizeof(bev.event_id), "bal-%zu", b);
            snprintf(bev.source_command_id, sizeof(bev.source_command_id), "cmd-1");
            same_both_ways(c, NULL, &bev);
            events++;
        }
        /* text that is not UTF-8: the direct writer steps aside, the JSON
         * way refuses it naming the field */
        if (res.provider_message[0] != '\0' || res.provider_code[0] != '\0') {
            snprintf(res.provider_message, sizeof(res.provider_message), "bad \xff byte");
            pv_result_event ev = {.provider = pr, .status = PV_STATUS_DECLINED, .result = &res};
            same_both_ways(c, &ev, NULL);
        }
        pv_result_clear(&res);
        pv_command_clear(&cmd);
        free(body);
        json_object_put(desc);
    }
    /* a rejected command: no provider, field errors (the JSON way) */
    pv_result_event rej = {.status = PV_STATUS_REJECTED, .processed_at_ms = 5};
    snprintf(rej.reason, sizeof(rej.reason), "provider: \"VISA\" is not one of ...");
    same_both_ways(c, &rej, NULL);
    json_object *fe =
        tu_json("[{\"field\": \"amount\", \"value\": \"-1\", \"error\": \"below 0\"}]");
    rej.field_errors = fe;
    same_both_ways(c, &rej, NULL);
    json_object_put(fe);
    assert_true(events > 5 * PV_STATUS__COUNT);
}

static void test_codec_kinds_and_schemas(void **state)
{
    (void)state;
    for (int k = 0; k < SC_KIND__COUNT; k++) {
        size_t len;
        const char *text = sc_schema_text((sc_kind)k, &len);
        assert_non_null(text);
        assert_int_equal(strlen(text), len);
        assert_int_equal(sc_kind_from_name(sc_kind_name((sc_kind)k)), k);
        json_object *j = tu_json(text);
        assert_string_equal(json_object_get_string(pv_json_member(j, "name")),
                            sc_kind_name((sc_kind)k));
        json_object_put(j);
    }
    assert_int_equal(sc_kind_from_name("result"), SC_RESULT);
    assert_int_equal(sc_kind_from_name("nope"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_command_round_trip_every_provider),
        cmocka_unit_test(test_codec_command_limits_round_trip),
        cmocka_unit_test(test_codec_command_malformed),
        cmocka_unit_test(test_codec_amount_with_too_many_decimals),
        cmocka_unit_test(test_codec_avro_malformed),
        cmocka_unit_test(test_codec_result_and_balance),
        cmocka_unit_test(test_codec_golden),
        cmocka_unit_test(test_codec_reads_other_schema_versions),
        cmocka_unit_test(test_codec_python_reads_our_events),
        cmocka_unit_test(test_codec_kinds_and_schemas),
        cmocka_unit_test(test_codec_direct_matches_json),
    };
    return cmocka_run_group_tests_name("codec", tests, tu_codec_setup, tu_codec_teardown);
}
