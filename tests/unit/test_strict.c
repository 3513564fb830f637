/* test_strict.c -- JSON commands are strict (issue 11): a key the schema
 * (schemas/payment_command.avsc) does not have, at any level, spelt in any
 * other way, is refused naming its path, with a suggestion when a known name
 * is near; every sample we have is still accepted; Avro commands are not
 * touched; a refused command keeps its readable command_id and provider. */
#include "testutil.h"

#include <string.h>

#include "sc_avro.h"
#include "sc_codec.h"

/* A JSON command of provider with the given request (and extra envelope
 * text before it, "" for none). Caller frees. */
static char *cmd_text(const char *provider, const char *extra, const char *request)
{
    size_t cap = strlen(extra) + strlen(request) + 256;
    char *out = malloc(cap);
    snprintf(out, cap,
             "{\"command_id\": \"s-1\", \"provider\": \"%s\", \"created_at\": 1700000000000%s, "
             "\"request\": %s}",
             provider, extra, request);
    return out;
}

/* Decodes text, expecting a refusal naming field with message why; the
 * command keeps command_id/provider when given, never its request. */
static void expect_refused(sc_codec *c, const char *text, const char *field, const char *why,
                           const char *command_id, const pv_provider *provider)
{
    pv_command cmd;
    pv_error err = {0};
    int rc = sc_command_decode(c, text, strlen(text), &cmd, &err);
    if (rc != PV_EVALIDATION)
        fail_msg("%s: rc %s (%s), want EVALIDATION", text, pv_error_name(rc), err.errstr);
    assert_string_equal(err.field, field);
    if (strstr(err.errstr, why) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.errstr, why);
    assert_null(cmd.request); /* nothing of it is used */
    assert_string_equal(cmd.command_id, command_id);
    assert_ptr_equal(cmd.provider, provider);
    if (provider != NULL)
        assert_string_equal(cmd.operation, provider->operation);
    /* every unknown key is listed for the REJECTED result's field_errors */
    json_object *fe = pv_json_member(err.detail, "field_errors");
    assert_true(json_object_array_length(fe) >= 1);
    json_object *first = json_object_array_get_idx(fe, 0);
    assert_string_equal(json_object_get_string(pv_json_member(first, "field")), field);
    assert_null(pv_json_member(first, "value")); /* the key is named, no value is quoted */
    pv_error_clear(&err);
    pv_command_clear(&cmd);
}

static void expect_decodes(sc_codec *c, const char *text)
{
    pv_command cmd;
    pv_error err = {0};
    if (sc_command_decode(c, text, strlen(text), &cmd, &err) != PV_OK)
        fail_msg("refused: %s\n  %s", err.errstr, text);
    pv_command_clear(&cmd);
}

/* The incident: partial_amount for partialAmount paid the whole invoice. */
static void test_strict_partial_amount(void **state)
{
    sc_codec *c = *state;
    char *text = cmd_text("PAYOFIN", "", "{\"invoiceQueryId\": 719967, \"partial_amount\": 1}");
    expect_refused(c, text, "request.partial_amount",
                   "request.partial_amount: unknown field (did you mean partialAmount?)", "s-1",
                   &pv_payofin);
    free(text);

    /* why it matters: the adapter, handed such a request, asks for the full
     * invoice (it only knows partialAmount) */
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    const char *settings[] = {"k", "s", NULL};
    pv_ctx ctx = {.settings = settings};
    tu_command(&cmd, &pv_payofin, "{\"invoiceQueryId\": 719967, \"partial_amount\": 1}");
    assert_int_equal(pv_payofin.build_request(&cmd, &ctx, &req, &err), PV_OK);
    assert_string_equal(req.body, "{\"invoiceQueryId\":719967}");
    pv_request_clear(&req);
    pv_command_clear(&cmd);
}

static void test_strict_unknown_top_level(void **state)
{
    sc_codec *c = *state;
    char *text = cmd_text("PAYOFIN", ", \"priority\": 3", "{\"invoiceQueryId\": 1}");
    /* nothing near: the message lists the fields there are */
    expect_refused(c, text, "priority",
                   "priority: unknown field (PaymentCommand has command_id, provider, operation, "
                   "created_at, expires_at, merchant, request)",
                   "s-1", &pv_payofin);
    free(text);
    text = cmd_text("PAYOFIN", ", \"createdAt\": 5", "{\"invoiceQueryId\": 1}");
    expect_refused(c, text, "createdAt", "createdAt: unknown field (did you mean created_at?)",
                   "s-1", &pv_payofin);
    free(text);
    text = cmd_text("PAYOFIN", ", \"expire_at\": 5", "{\"invoiceQueryId\": 1}");
    expect_refused(c, text, "expire_at", "expire_at: unknown field (did you mean expires_at?)",
                   "s-1", &pv_payofin);
    free(text);
    /* a key that is not text we can print is quoted, never raw */
    text = cmd_text("PAYOFIN", ", \"a\\u0001\\\"b\": 5", "{\"invoiceQueryId\": 1}");
    expect_refused(c, text, "a\\x01\\\"b", "a\\x01\\\"b: unknown field (PaymentCommand has", "s-1",
                   &pv_payofin);
    free(text);
}

/* Exact spelling: case variants were read by pv_json_member's fallback. */
static void test_strict_case_variants(void **state)
{
    sc_codec *c = *state;
    static const char text[] = "{\"Command_ID\": \"c-9\", \"provider\": \"PAYOFIN\", "
                               "\"created_at\": 1, \"request\": {\"invoiceQueryId\": 1}}";
    /* Command_ID is not the command's id: none is kept */
    expect_refused(c, text, "Command_ID", "Command_ID: unknown field (did you mean command_id?)",
                   "", &pv_payofin);
    char *t2 = cmd_text("PAYOFIN", "", "{\"InvoiceQueryId\": 1}");
    expect_refused(c, t2, "request.InvoiceQueryId",
                   "request.InvoiceQueryId: unknown field (did you mean invoiceQueryId?)", "s-1",
                   &pv_payofin);
    free(t2);
    t2 = cmd_text("PAYWALL", "", "{\"PaymentId\": 1}");
    expect_refused(c, t2, "request.PaymentId",
                   "request.PaymentId: unknown field (did you mean paymentid?)", "s-1",
                   &pv_paywall);
    free(t2);
    /* the provider answers keep their case-insensitive look-up */
    json_object *answer = tu_json("{\"ResultCode\": 1}");
    assert_non_null(pv_json_member(answer, "resultCode"));
    json_object_put(answer);
}

static void test_strict_nested(void **state)
{
    sc_codec *c = *state;
    static const struct {
        const char *provider, *request, *field, *why;
    } cases[] = {
        {"PAYONE",
         "{\"invoicesDetails\": [{\"invoiceID\": \"A\", \"amout\": \"100\", \"currency\": "
         "\"840\"}]}",
         "request.invoicesDetails[0].amout",
         "request.invoicesDetails[0].amout: unknown field (did you mean amount?)"},
        {"ISBANK",
         "{\"service_id\": 10065, \"payment_reference\": \"R\", \"amount\": 1, "
         "\"currency_code\": \"TRY\", \"basic_input_values\": [{\"name\": \"A\", \"value\": "
         "\"1\"}, {\"name\": \"B\", \"valeu\": \"2\"}]}",
         "request.basic_input_values[1].valeu",
         "request.basic_input_values[1].valeu: unknown field (did you mean value?)"},
        {"ISBANK",
         "{\"service_id\": 10065, \"payment_reference\": \"R\", \"amount\": 1, "
         "\"currency_code\": \"TRY\", \"selected_input_values\": [{\"name\": \"OnBehalfOf\", "
         "\"selected_item\": {\"kye\": \"K\"}}]}",
         "request.selected_input_values[0].selected_item.kye",
         "request.selected_input_values[0].selected_item.kye: unknown field (did you mean "
         "key?)"},
        {"PAYOFIN", "{\"invoiceQueryId\": 1, \"invoiceQuery\": {\"subscriber_no\": \"5\"}}",
         "request.invoiceQuery.subscriber_no",
         "request.invoiceQuery.subscriber_no: unknown field (did you mean subscriberNo?)"},
        {"SIPAY",
         "{\"account_type_id\": 1, \"account_number\": \"A\", \"wallet_number\": \"W\", "
         "\"inv_payment_transaction_query_oid\": \"Q\", \"invoice_amount\": 1, "
         "\"payment_amount\": 1, \"product_oid\": \"P\", \"subscriber_no\": \"S\", "
         "\"bill_term\": \"T\", \"bill_no\": \"B\", \"tennant_id\": 5}",
         "request.tennant_id", "request.tennant_id: unknown field (did you mean tenant_id?)"},
        /* pv_sipay.c also reads a currency (it must be TRY), but neither the
         * seed's MakePayment nor the schema has one: TRY is implied */
        {"SIPAY",
         "{\"account_type_id\": 1, \"account_number\": \"A\", \"wallet_number\": \"W\", "
         "\"inv_payment_transaction_query_oid\": \"Q\", \"invoice_amount\": 1, "
         "\"payment_amount\": 1, \"product_oid\": \"P\", \"subscriber_no\": \"S\", "
         "\"bill_term\": \"T\", \"bill_no\": \"B\", \"currency\": \"TRY\"}",
         "request.currency", "request.currency: unknown field (SipayMakePayment has tenant_id, "},
        /* another provider's field is not this one's */
        {"PAYWALL", "{\"paymentid\": 1, \"invoiceQueryId\": 2}", "request.invoiceQueryId",
         "request.invoiceQueryId: unknown field (PaywallDebtReport has paymentid)"},
        /* credentials: the seed documents them in the request, but they come
         * from settings (the adapter refuses them too, pv_payone.c) */
        {"PAYONE",
         "{\"merchantID\": \"m\", \"invoicesDetails\": [{\"invoiceID\": \"A\", \"amount\": "
         "\"1\", \"currency\": \"840\"}]}",
         "request.merchantID", "request.merchantID: unknown field"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = cmd_text(cases[i].provider, "", cases[i].request);
        expect_refused(c, text, cases[i].field, cases[i].why, "s-1",
                       pv_provider_find(cases[i].provider));
        free(text);
    }

    /* several: the first is named, all are listed */
    char *text = cmd_text("PAYONE", ", \"Merchant\": \"x\"",
                          "{\"invoicesDetails\": [{\"invoiceId\": \"A\", \"amount\": \"1\", "
                          "\"currency\": \"840\"}]}");
    pv_command cmd;
    pv_error err = {0};
    assert_int_equal(sc_command_decode(c, text, strlen(text), &cmd, &err), PV_EVALIDATION);
    assert_string_equal(err.field, "Merchant");
    assert_non_null(strstr(err.errstr, "(2 unknown fields in all)"));
    json_object *fe = pv_json_member(err.detail, "field_errors");
    assert_int_equal(json_object_array_length(fe), 2);
    assert_string_equal(
        json_object_get_string(pv_json_member(json_object_array_get_idx(fe, 1), "field")),
        "request.invoicesDetails[0].invoiceId");
    assert_non_null(
        strstr(json_object_get_string(pv_json_member(json_object_array_get_idx(fe, 1), "error")),
               "did you mean invoiceID?"));
    pv_error_clear(&err);
    free(text);

    /* values of another shape are the converter's and adapters' to name */
    text = cmd_text("PAYONE", "", "{\"invoicesDetails\": {\"invoiceID\": \"A\"}}");
    assert_int_equal(sc_command_decode(c, text, strlen(text), &cmd, &err), PV_OK);
    pv_command_clear(&cmd);
    free(text);
}

/* Every sample we have: the contract fixtures (the seeds' requests without
 * credentials), the seeds' request samples, the golden command, the demo
 * commands and the README's example. */
static void test_strict_samples_accepted(void **state)
{
    sc_codec *c = *state;
    static const char *const dirs[] = {"payofin", "sipay", "paywall", "isbank", "payone"};
    static const char *const names[] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};
    for (int i = 0; i < 5; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "%s/contract.json", dirs[i]);
        char *t = tu_fixture(rel, NULL);
        json_object *desc = tu_json(t);
        char *text = cmd_text(names[i],
                              ", \"operation\": \"\", \"expires_at\": null, "
                              "\"merchant\": \"m\"",
                              pv_json_dump(pv_json_member(desc, "command"), NULL));
        expect_decodes(c, text);
        free(text);
        json_object_put(desc);
        free(t);
    }
    static const struct {
        const char *file, *provider;
    } seeds[] = {
        {"payofin/invoicepayment.request.json", "PAYOFIN"},
        {"sipay/makepayment.request.json", "SIPAY"},
    };
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char *t = tu_fixture(seeds[i].file, NULL);
        char *text = cmd_text(seeds[i].provider, "", t);
        expect_decodes(c, text);
        free(text);
        free(t);
    }
    /* PayOne's sample carries the merchant's credentials, which never
     * travel in commands (they come from the settings) */
    char *t = tu_fixture("payone/completeInvoice.request.json", NULL);
    char *text = cmd_text("PAYONE", "", t);
    expect_refused(c, text, "request.merchantID", "request.merchantID: unknown field", "s-1",
                   &pv_payone);
    free(text);
    free(t);

    t = tu_fixture("events/command.golden.json", NULL);
    expect_decodes(c, t);
    free(t);

    /* the demo's commands (make run): each line decodes, the malformed one
     * is the adapter's to refuse */
    t = tu_fixture("../../ops/demo/commands.jsonl", NULL);
    size_t n = 0;
    for (char *line = t, *nl; *line != '\0'; line = nl + 1, n++) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        expect_decodes(c, line);
    }
    assert_int_equal(n, 7);
    free(t);

    /* the README's JSON command examples (```json blocks that are commands) */
    t = tu_fixture("../../README.md", NULL);
    n = 0;
    for (char *p = strstr(t, "```json\n"); p != NULL; p = strstr(p, "```json\n")) {
        p += 8;
        char *end = strstr(p, "```");
        assert_non_null(end);
        *end = '\0';
        if (strstr(p, "\"command_id\"") != NULL && strstr(p, "\"request\"") != NULL) {
            /* a block may hold several commands, each starting a line */
            for (char *q = p; q != NULL;) {
                char *next = strstr(q + 1, "\n{\"command_id\"");
                if (next != NULL)
                    *next = '\0';
                expect_decodes(c, q);
                n++;
                q = next != NULL ? next + 1 : NULL;
            }
        }
        p = end + 3;
    }
    assert_true(n >= 5); /* one per provider */
    free(t);
}

/* Avro commands are strict by construction; one written with a newer
 * version of the schema (a field we do not know) still decodes, as the
 * README promises, and a JSON command refused is refused before payctl send
 * would encode it to Avro. */
static void test_strict_avro_unaffected(void **state)
{
    sc_codec *c = *state;
    size_t len;
    const char *schema = sc_schema_text(SC_COMMAND, &len);
    json_object *newer = tu_json(schema);
    json_object_array_add(pv_json_member(newer, "fields"),
                          tu_json("{\"name\": \"priority\", \"type\": \"int\", \"default\": 0}"));
    const char *newer_text = pv_json_dump(newer, NULL);
    pv_error err = {0};
    assert_int_equal(sc_codec_add_writer(c, SC_COMMAND, 77, newer_text, strlen(newer_text), &err),
                     PV_OK);

    /* the newer writer's message, built with its own schema */
    avro_schema_t s;
    avro_value_t v;
    sc_marks m;
    assert_int_equal(avro_schema_from_json_length(newer_text, strlen(newer_text), &s), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    avro_generic_value_new(iface, &v);
    assert_int_equal(sc_marks_collect(&m, newer_text, strlen(newer_text), &err), PV_OK);
    json_object *j = tu_json("{\"command_id\": \"n-1\", \"provider\": \"PAYOFIN\", \"operation\": "
                             "\"invoicepayment\", \"created_at\": 7, \"priority\": 3, "
                             "\"request\": {\"invoiceQueryId\": 42, \"partialAmount\": 5}}");
    assert_int_equal(sc_avro_from_json(&v, j, "", &m, "PayofinInvoicePayment", &err), PV_OK);
    size_t size;
    avro_value_sizeof(&v, &size);
    char *buf = malloc(size + 5);
    memcpy(buf, "\0\0\0\0\x4d", 5); /* id 77 */
    avro_writer_t w = avro_writer_memory(buf + 5, (int64_t)size);
    assert_int_equal(avro_value_write(w, &v), 0);
    avro_writer_free(w);
    pv_command cmd;
    if (sc_command_decode(c, buf, size + 5, &cmd, &err) != PV_OK)
        fail_msg("newer Avro: %s", err.errstr);
    assert_string_equal(cmd.command_id, "n-1");
    assert_int_equal(json_object_get_int64(pv_json_member(cmd.request, "partialAmount")), 5);
    pv_command_clear(&cmd);
    free(buf);
    json_object_put(j);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    json_object_put(newer);

    /* JSON -> Avro, as payctl send does it (decode, then encode: a misspelt
     * line is refused by the decode, test_strict_partial_amount): the Avro of
     * a good command decodes to the same request */
    char *text = cmd_text("PAYOFIN", "", "{\"invoiceQueryId\": 719967, \"partialAmount\": 1}");
    pv_command a, b;
    char *bytes;
    assert_int_equal(sc_command_decode(c, text, strlen(text), &a, &err), PV_OK);
    assert_int_equal(sc_command_encode(c, &a, &bytes, &len, &err), PV_OK);
    assert_int_equal(sc_command_decode(c, bytes, len, &b, &err), PV_OK);
    assert_int_equal(json_object_get_int64(pv_json_member(b.request, "partialAmount")), 1);
    assert_int_equal(json_object_get_int64(pv_json_member(b.request, "invoiceQueryId")), 719967);
    pv_command_clear(&a);
    pv_command_clear(&b);
    free(bytes);
    free(text);
}

/* A refusal keeps the command's identity where it decoded validly, so that
 * the worker's REJECTED result and dead letter name the command. */
static void test_strict_refusals_keep_identity(void **state)
{
    sc_codec *c = *state;
    static const struct {
        const char *text;
        const char *command_id;
        const char *provider; /* NULL: none */
        const char *operation;
    } cases[] = {
        /* refused after the envelope's first fields */
        {"{\"command_id\": \"k-1\", \"provider\": \"SIPAY\", \"created_at\": \"soon\", "
         "\"request\": {}}",
         "k-1", "SIPAY", "MakePayment"},
        {"{\"command_id\": \"k-2\", \"provider\": \"PAYOFIN\", \"created_at\": 1}", "k-2",
         "PAYOFIN", "invoicepayment"},
        {"{\"command_id\": \"k-3\", \"provider\": \"VISA\", \"created_at\": 1, \"request\": {}}",
         "k-3", NULL, ""},
        {"{\"command_id\": \"k-4\", \"provider\": \"PAYOFIN\", \"operation\": \"refund\", "
         "\"created_at\": 1, \"request\": {}}",
         "k-4", "PAYOFIN", ""},
        /* refused before any field is read: the unknown key */
        {"{\"command_id\": \"k-5\", \"provider\": \"ISBANK\", \"operation\": \"bill-payments\", "
         "\"created_at\": 1, \"merchent\": \"m\", \"request\": {}}",
         "k-5", "ISBANK", "bill-payments"},
        /* what is not valid is not kept */
        {"{\"command_id\": 5, \"provider\": \"PAYOFIN\", \"created_at\": 1, \"request\": {}}", "",
         "PAYOFIN", "invoicepayment"},
        {"{\"command_id\": \"k-7\", \"provider\": \"payofin\", \"created_at\": 1, \"request\": "
         "{}}",
         "k-7", NULL, ""},
        /* a key twice: nothing of it is read */
        {"{\"command_id\": \"k-8\", \"command_id\": \"k-9\", \"provider\": \"PAYOFIN\", "
         "\"created_at\": 1, \"request\": {}}",
         "", NULL, ""},
        {"[\"k-10\"]", "", NULL, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_error err = {0};
        assert_int_not_equal(sc_command_decode(c, cases[i].text, strlen(cases[i].text), &cmd, &err),
                             PV_OK);
        assert_string_equal(cmd.command_id, cases[i].command_id);
        assert_ptr_equal(cmd.provider, pv_provider_find(cases[i].provider));
        assert_string_equal(cmd.operation, cases[i].operation);
        assert_null(cmd.request);
        pv_error_clear(&err);
        pv_command_clear(&cmd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strict_partial_amount),
        cmocka_unit_test(test_strict_unknown_top_level),
        cmocka_unit_test(test_strict_case_variants),
        cmocka_unit_test(test_strict_nested),
        cmocka_unit_test(test_strict_samples_accepted),
        cmocka_unit_test(test_strict_avro_unaffected),
        cmocka_unit_test(test_strict_refusals_keep_identity),
    };
    return cmocka_run_group_tests_name("strict", tests, tu_codec_setup, tu_codec_teardown);
}
