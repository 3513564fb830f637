/* itest_provider_sim.c -- ops/provider-sim over real HTTP (issue 4): the five
 * providers, the control endpoints and the adapters against the simulator.
 * The faults, token expiry and hostile input are itest_provider_sim_faults.c;
 * the harness (spawning, HTTP, JSON checks) is simclient.c, whose header says
 * how every test runs.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_util.h"
#include "simclient.h"
#include "../unit/testutil.h"

#include "provider.h"
#include "pv_json.h"
#include "pv_money.h"

static void test_payofin(void **state)
{
    (void)state;
    st_resp r;
    char body[256], path[64];
    size_t len;

    /* the seed's sample request, byte for byte */
    char *sample = tu_fixture("payofin/invoicepayment.request.json", &len);
    st_payofin_pay(&r, sample);
    assert_int_equal(r.status, 200);
    json_object *first = st_json(&r);
    st_assert_shape("payofin/invoicepayment.response.json", first);
    assert_true(st_bool(first, "result"));
    assert_int_equal(st_int(first, "resultCode"), 1);
    assert_non_null(strstr(r.body, "\"paymentAmount\":1.0,")); /* the seed's number format */
    assert_int_equal(st_minor(first, "payofinPaymentDetails.paymentAmount", "TRY"), 100);
    assert_int_equal(st_minor(first, "payofinPaymentDetails.profit", "TRY"), 50);
    int64_t payment_id = st_int(first, "payofinPaymentDetails.invoicePaymentId");
    int64_t balance1 = st_minor(first, "payofinPaymentDetails.balance", "TRY");
    const char *date = st_str(first, "payofinPaymentDetails.paymentDate");
    assert_int_equal(strlen(date), 19); /* dd.MM.yyyy HH:mm:ss */
    assert_true(date[2] == '.' && date[5] == '.' && date[10] == ' ' && date[13] == ':');
    st_resp_free(&r);

    /* the same invoice again: -10, counted as a double payment attempt */
    st_payofin_refused(sample, -10);
    assert_int_equal(st_stat("PAYOFIN", "double_payment_attempts"), 1);
    free(sample);

    /* a second invoice: the balance goes down by its amount and fee */
    json_object *inv = st_control("/_sim/invoices?provider=PAYOFIN");
    json_object *second = st_at(inv, "invoices.1");
    int64_t id2 = st_int(second, "invoiceQueryId");
    int64_t amount2 = st_minor(second, "invoiceAmount", "TRY");
    int64_t profit2 = st_minor(second, "merchantProfit", "TRY");
    /* the query lists it while it is open */
    snprintf(body, sizeof(body), "{\"sootCode\":\"%s\",\"subscriberNo\":\"%s\"}",
             st_str(second, "sootCode"), st_str(second, "subscriberNo"));
    char query[256];
    snprintf(query, sizeof(query), "%s", body);
    st_post(&r, "/invoices/invoicequery", st_payofin_headers, query);
    json_object *q = st_json(&r);
    assert_int_equal(st_int(q, "resultCode"), 1);
    assert_int_equal(st_int(q, "invoiceList.0.invoiceQueryId"), id2);
    assert_int_equal(st_minor(q, "invoiceList.0.invoiceAmount", "TRY"), amount2);
    assert_non_null(st_at(q, "invoiceList.0.invoiceNo"));
    assert_non_null(st_at(q, "invoiceList.0.expDate"));
    json_object_put(q);
    st_resp_free(&r);

    snprintf(body, sizeof(body), "{\"invoiceQueryId\":%" PRId64 "}", id2);
    st_payofin_pay(&r, body);
    json_object *paid = st_json(&r);
    assert_int_equal(st_int(paid, "resultCode"), 1);
    assert_int_equal(st_minor(paid, "payofinPaymentDetails.paymentAmount", "TRY"), amount2);
    assert_int_equal(st_minor(paid, "payofinPaymentDetails.balance", "TRY"),
                     balance1 - amount2 - profit2);
    assert_int_equal(st_int(paid, "payofinPaymentDetails.invoicePaymentId"), payment_id + 1);
    json_object_put(paid);
    st_resp_free(&r);

    /* once paid the query answers -10, the documented "already paid" */
    st_post(&r, "/invoices/invoicequery", st_payofin_headers, query);
    q = st_json(&r);
    assert_int_equal(st_int(q, "resultCode"), -10);
    json_object_put(q);
    st_resp_free(&r);

    /* invoicecheck: Paid */
    snprintf(body, sizeof(body), "{\"invoicePaymentId\":%" PRId64 "}", payment_id);
    st_post(&r, "/invoices/invoicecheck", st_payofin_headers, body);
    json_object *chk = st_json(&r);
    assert_int_equal(st_int(chk, "resultCode"), 1);
    assert_string_equal(st_str(chk, "invoiceDetail.status"), "Paid");
    assert_int_equal(st_int(chk, "invoiceDetail.invoiceQueryId"), 615209);
    json_object_put(chk);
    st_resp_free(&r);

    /* documented refusals */
    st_payofin_refused("{\"invoiceQueryId\":1}", -19);       /* not found */
    st_payofin_refused("{\"invoiceQueryId\":\"abc\"}", -19); /* not an id */
    json_object *third = st_at(inv, "invoices.2");
    snprintf(body, sizeof(body), "{\"invoiceQueryId\":%" PRId64 ",\"partialAmount\":1.5}",
             st_int(third, "invoiceQueryId"));
    st_payofin_refused(body, -8);
    snprintf(body, sizeof(body), "{\"invoiceQueryId\":%" PRId64 ",\"partialAmount\":99999999}",
             st_int(third, "invoiceQueryId"));
    st_payofin_refused(body, -20);
    st_post(&r, "/invoices/invoicequery", st_payofin_headers,
            "{\"sootCode\":\"1001\",\"subscriberNo\":\"42\"}");
    q = st_json(&r);
    assert_int_equal(st_int(q, "resultCode"), -11);
    json_object_put(q);
    st_resp_free(&r);
    st_post(&r, "/invoices/invoicequery", st_payofin_headers, "{\"subscriberNo\":\"42\"}");
    q = st_json(&r);
    assert_int_equal(st_int(q, "resultCode"), -17); /* sootCode missing */
    json_object_put(q);
    st_resp_free(&r);

    /* wrong credentials: -22 */
    const char *const bad[] = {"ApiKey: nope", "SecretKey: sim-payofin-secret-key", NULL};
    st_post(&r, "/invoices/invoicepayment", bad, "{\"invoiceQueryId\":615209}");
    json_object *o = st_json(&r);
    assert_int_equal(st_int(o, "resultCode"), -22);
    json_object_put(o);
    st_resp_free(&r);
    assert_int_equal(st_stat("PAYOFIN", "auth_failures"), 1);
    assert_int_equal(st_stat("PAYOFIN", "payments"), 2);

    /* the ledger holds both payments, answered */
    json_object *root;
    json_object *entries = st_ledger("PAYOFIN", &root);
    assert_int_equal(json_object_array_length(entries), 2);
    assert_string_equal(st_str(entries, "0.query_id"), "615209");
    assert_int_equal(st_int(entries, "0.amount_minor"), 100);
    assert_string_equal(st_str(entries, "0.currency"), "TRY");
    assert_true(st_bool(entries, "0.answered"));
    snprintf(path, sizeof(path), "%" PRId64, payment_id);
    assert_string_equal(st_str(entries, "0.reference"), path);
    json_object_put(root);
    json_object_put(first);
    json_object_put(inv);
    it_test_pass();
}

/*---- Sipay ----*/

/* A MakePayment body for invoice `inv` of /_sim/invoices from a wallet. */
static void st_sipay_body(json_object *inv, const char *account, const char *wallet, char *buf,
                          size_t cap)
{
    const char *amount = json_object_to_json_string(st_at(inv, "invoice_amount"));
    snprintf(buf, cap,
             "{\"tenant_id\":0,\"account_type_id\":1,\"account_number\":\"%s\","
             "\"wallet_number\":\"%s\",\"inv_payment_transaction_query_oid\":\"%s\","
             "\"invoice_amount\":%s,\"payment_amount\":%s,\"product_oid\":\"%s\","
             "\"subscriber_no\":\"%s\",\"bill_term\":\"%s\",\"bill_no\":\"%s\"}",
             account, wallet, st_str(inv, "inv_payment_transaction_query_oid"), amount, amount,
             st_str(inv, "product_oid"), st_str(inv, "subscriber_no"), st_str(inv, "bill_term"),
             st_str(inv, "bill_no"));
}

static void st_sipay_code(const char *const h[], const char *body, long http, const char *code)
{
    st_resp r;
    st_post(&r, "/v1/InvoicePayment/MakePayment", h, body);
    assert_int_equal(r.status, http);
    json_object *o = st_json(&r);
    assert_string_equal(st_str(o, "code"), code);
    assert_true(strlen(st_str(o, "message")) > 0);
    json_object_put(o);
    st_resp_free(&r);
}

static void test_sipay(void **state)
{
    (void)state;
    st_resp r;
    char token[128], auth[256], body[1024];
    const char *h[4];
    size_t len;

    /* wrong client: 401 invalid_client; wrong grant: 400 */
    st_post(&r, "/connect/token", st_form_headers,
            "grant_type=client_credentials&client_id=sim-sipay-client&client_secret=nope");
    assert_int_equal(r.status, 401);
    json_object *e = st_json(&r);
    assert_string_equal(st_str(e, "error"), "invalid_client");
    json_object_put(e);
    st_resp_free(&r);
    st_post(&r, "/connect/token", st_form_headers,
            "grant_type=password&client_id=sim-sipay-client&client_secret=sim-sipay-secret");
    assert_int_equal(r.status, 400);
    st_resp_free(&r);

    st_token("/connect/token", st_form_headers,
             "grant_type=client_credentials&client_id=sim-sipay-client&client_secret=sim-sipay-"
             "secret&scope=sts_business_api",
             token, sizeof(token));
    st_sipay_headers(token, auth, sizeof(auth), h);

    /* the seed's sample request */
    char *sample = tu_fixture("sipay/makepayment.request.json", &len);
    st_post(&r, "/v1/InvoicePayment/MakePayment", h, sample);
    assert_int_equal(r.status, 200);
    json_object *o = st_json(&r);
    st_assert_shape("sipay/makepayment.response.json", o);
    assert_string_equal(st_str(o, "code"), "100");
    assert_non_null(strstr(r.body, "\"transaction_amount\":196.5000,"));
    assert_non_null(strstr(r.body, "\"transaction_fee\":0.000000,"));
    assert_non_null(strstr(r.body, "\"charged_amount\":196.500000,"));
    assert_string_equal(st_str(o, "payload.inv_payment_transaction_query_oid"),
                        "90XX46-FXX5-4XX3-8DXX-B1XX97");
    assert_string_equal(st_str(o, "payload.sender_wallet_info.number"), "25XX25");
    int64_t bal1 = st_minor(o, "payload.sender_wallet_info.total_balance", "TRY");
    assert_int_equal(st_minor(o, "payload.sender_wallet_info.cash_balance.available", "TRY"), bal1);
    json_object_put(o);
    st_resp_free(&r);

    /* the same invoice again: 301, a double payment attempt */
    st_sipay_code(h, sample, 200, "301");
    assert_int_equal(st_stat("SIPAY", "double_payment_attempts"), 1);

    /* another invoice: the wallet goes down by exactly its amount */
    json_object *inv = st_control("/_sim/invoices?provider=SIPAY");
    json_object *second = st_at(inv, "invoices.1");
    int64_t amount2 = st_minor(second, "invoice_amount", "TRY");
    st_sipay_body(second, "28XX01", "25XX25", body, sizeof(body));
    st_post(&r, "/v1/InvoicePayment/MakePayment", h, body);
    o = st_json(&r);
    assert_string_equal(st_str(o, "code"), "100");
    assert_int_equal(st_minor(o, "payload.transaction_amount", "TRY"), amount2);
    assert_int_equal(st_minor(o, "payload.sender_wallet_info.total_balance", "TRY"),
                     bal1 - amount2);
    json_object_put(o);
    st_resp_free(&r);

    /* the poor wallet (10.00): 311; an unknown wallet: 300 */
    st_sipay_body(st_at(inv, "invoices.2"), "28XX02", "25XX26", body, sizeof(body));
    st_sipay_code(h, body, 200, "311");
    st_sipay_body(st_at(inv, "invoices.2"), "28XX99", "25XX99", body, sizeof(body));
    st_sipay_code(h, body, 200, "300");

    /* an unknown or stale token: 401 and nothing paid */
    const char *bad[4];
    st_sipay_headers("00.0000000000000000000000000000000", auth, sizeof(auth), bad);
    st_sipay_body(st_at(inv, "invoices.3"), "28XX01", "25XX25", body, sizeof(body));
    st_post(&r, "/v1/InvoicePayment/MakePayment", bad, body);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.hdrs, "WWW-Authenticate: Bearer"));
    st_resp_free(&r);
    assert_int_equal(st_stat("SIPAY", "payments"), 2);
    json_object_put(inv);
    free(sample);
    it_test_pass();
}

/*---- Paywall ----*/

static void test_paywall(void **state)
{
    (void)state;
    st_resp r;
    size_t len;

    /* paymentid 123456 is the seed's own answer, value for value */
    st_get(&r, "/api/paywall/marketplace/report/debt/payment", st_paywall_headers);
    assert_int_equal(r.status, 200);
    json_object *o = st_json(&r);
    char *text = tu_fixture("paywall/debt_payment.response.json", &len);
    json_object *want = tu_json(text);
    tu_assert_json_equal(want, o);
    json_object_put(want);
    free(text);
    json_object_put(o);
    st_resp_free(&r);

    /* the other generated payments have the same shape */
    json_object *inv = st_control("/_sim/invoices?provider=PAYWALL");
    size_t shown = 0;
    for (size_t i = 1; i < json_object_array_length(st_at(inv, "payments")); i++) {
        char id[64], path[64];
        snprintf(path, sizeof(path), "payments.%zu.paymentid", i);
        snprintf(id, sizeof(id), "paymentid: %" PRId64, st_int(inv, path));
        const char *const h[] = {st_paywall_headers[0], st_paywall_headers[1], id, NULL};
        st_get(&r, "/api/paywall/marketplace/report/debt/payment", h);
        o = st_json(&r);
        st_assert_shape("paywall/debt_payment.response.json", o);
        shown += json_object_array_length(st_at(o, "Body"));
        json_object_put(o);
        st_resp_free(&r);
    }
    assert_true(shown > 0);
    json_object_put(inv);

    /* unknown payment, bad keys, bad paymentid: a non-zero ErrorCode with a
     * Message */
    const char *const unknown[] = {st_paywall_headers[0], st_paywall_headers[1], "paymentid: 9",
                                   NULL};
    const char *const badkey[] = {"apikeypublic: nope", st_paywall_headers[1], "paymentid: 123456",
                                  NULL};
    const char *const badid[] = {st_paywall_headers[0], st_paywall_headers[1], "paymentid: x1",
                                 NULL};
    const char *const *cases[] = {unknown, badkey, badid};
    const long statuses[] = {200, 401, 400};
    for (size_t i = 0; i < 3; i++) {
        st_get(&r, "/api/paywall/marketplace/report/debt/payment", cases[i]);
        assert_int_equal(r.status, statuses[i]);
        o = st_json(&r);
        assert_true(st_int(o, "ErrorCode") != 0);
        assert_false(st_bool(o, "Result"));
        assert_true(strlen(st_str(o, "Message")) > 0);
        json_object_put(o);
        st_resp_free(&r);
    }
    assert_int_equal(st_stat("PAYWALL", "auth_failures"), 1);
    it_test_pass();
}

static void test_isbank(void **state)
{
    (void)state;
    st_resp r;
    char token[128], auth[256], body[1024];
    const char *h[5];
    size_t len;
    const char *const ibm[] = {"X-IBM-client-id: sim-isbank-client",
                               "X-IBM-client-secret: sim-isbank-secret",
                               "Content-Type: application/x-www-form-urlencoded", NULL};
    const char *const ibm_bad[] = {"X-IBM-client-id: sim-isbank-client",
                                   "X-IBM-client-secret: nope",
                                   "Content-Type: application/x-www-form-urlencoded", NULL};

    /* bad gateway credentials: API Connect's 401; bad client secret: 401 */
    st_post(&r, "/api/isbank/v1/oauth2/token", ibm_bad, st_isbank_form);
    assert_int_equal(r.status, 401);
    json_object *o = st_json(&r);
    assert_string_equal(st_str(o, "httpCode"), "401");
    json_object_put(o);
    st_resp_free(&r);
    st_post(&r, "/api/isbank/v1/oauth2/token", ibm,
            "grant_type=client_credentials&client_id=sim-isbank-client&client_secret=x");
    assert_int_equal(r.status, 401);
    o = st_json(&r);
    assert_string_equal(st_str(o, "error"), "invalid_client");
    json_object_put(o);
    st_resp_free(&r);

    st_token("/api/isbank/v1/oauth2/token", ibm, st_isbank_form, token, sizeof(token));
    st_isbank_headers(token, auth, sizeof(auth), h);

    /* the service object, byte for byte */
    st_get(&r, "/api/isbank/v1/bill-institution-services/10065", h);
    assert_int_equal(r.status, 200);
    char *spec = tu_fixture("isbank/bill-institution-service.response.json", &len);
    assert_int_equal(r.len, len);
    assert_memory_equal(r.body, spec, len);
    free(spec);
    st_resp_free(&r);
    st_get(&r, "/api/isbank/v1/bill-institution-services/999", h);
    assert_int_equal(r.status, 404);
    st_resp_free(&r);

    /* the contract command pays: the seed's Payments shape */
    st_isbank_body("PAY-20200814-0001", "265.00", body, sizeof(body));
    st_post(&r, "/api/isbank/v1/bill-payments", h, body);
    assert_int_equal(r.status, 200);
    o = st_json(&r);
    st_assert_shape("isbank/bill-payment.response.json", o);
    assert_int_equal(st_int(o, "data.amount"), 265);
    assert_string_equal(st_str(o, "data.currency_code"), "EUR");
    const char *when = st_str(o, "data.execution_date");
    assert_true(strlen(when) == 33 && strcmp(when + 27, "+03:00") == 0);
    json_object_put(o);
    st_resp_free(&r);

    /* the same payment_reference again: 409, infos code 2010, counted */
    st_isbank_refused(h, body, 409, "2010");
    assert_int_equal(st_stat("ISBANK", "double_payment_attempts"), 1);

    /* validation against the service object: all errors listed */
    st_isbank_refused(h,
                      "{\"service_id\":10065,\"payment_reference\":\"R-2\",\"basic_input_values\":"
                      "[{\"name\":\"Tckn_Vkn_Ykn\",\"value\":\"12a\"}],\"amount\":265,"
                      "\"currency_code\":\"EUR\"}",
                      400, "2001");
    st_isbank_body("R-3", "264.99", body, sizeof(body)); /* below the EUR minimum 265 */
    st_isbank_refused(h, body, 400, "2002");
    st_isbank_refused(h, "{\"service_id\":1,\"payment_reference\":\"R-4\"}", 404, "2003");
    st_isbank_refused(h, "not json", 400, "2000");

    /* a bad bearer token: the gateway's 401 */
    const char *bad[5];
    char bad_auth[256];
    st_isbank_headers("00.nope", bad_auth, sizeof(bad_auth), bad);
    st_isbank_body("R-5", "300", body, sizeof(body));
    st_post(&r, "/api/isbank/v1/bill-payments", bad, body);
    assert_int_equal(r.status, 401);
    st_resp_free(&r);

    /* a generated order pays too */
    json_object *inv = st_control("/_sim/invoices?provider=ISBANK");
    json_object *order = st_at(inv, "orders.3");
    json_object_object_del(order, "paid");
    st_post(&r, "/api/isbank/v1/bill-payments", h, json_object_to_json_string(order));
    assert_int_equal(r.status, 200);
    st_resp_free(&r);
    json_object_put(inv);
    assert_int_equal(st_stat("ISBANK", "payments"), 2);
    it_test_pass();
}

/*---- PayOne ----*/

static void st_payone_error(const char *service, const char *json, const char *code)
{
    st_resp r;
    st_payone(&r, service, json);
    assert_int_equal(r.status, 200);
    json_object *o = st_json(&r);
    assert_string_equal(st_str(o, "Error"), code);
    assert_true(strlen(st_str(o, "ErrorMessage")) > 0);
    json_object_put(o);
    st_resp_free(&r);
}

static void test_payone(void **state)
{
    (void)state;
    st_resp r;
    char json[512];
    size_t len;

    /* the seed's sample request, form-encoded */
    char *sample = tu_fixture("payone/completeInvoice.request.json", &len);
    st_payone(&r, "completeInvoice", sample);
    assert_int_equal(r.status, 200);
    json_object *o = st_json(&r);
    st_assert_shape("payone/completeInvoice.response.json", o);
    assert_string_equal(st_str(o, "invoicesDetails.0.status"), "success");
    assert_string_equal(st_str(o, "invoicesDetails.0.amount"), "100");
    assert_string_equal(st_str(o, "invoicesDetails.0.currency"), "840");
    char rrn[64];
    snprintf(rrn, sizeof(rrn), "%s", st_str(o, "invoicesDetails.0.rrn"));
    assert_int_equal(strlen(rrn), 30);
    json_object_put(o);
    st_resp_free(&r);

    /* again: 00036 already completed, a double payment attempt */
    st_payone_error("completeInvoice", sample, "00036");
    assert_int_equal(st_stat("PAYONE", "double_payment_attempts"), 1);
    free(sample);

    /* inquireInvoice: completed, with the rrn of the completion */
    snprintf(json, sizeof(json), "{" ST_PAYONE_AUTH ",\"invoiceID\":\"30231175\"}");
    st_payone(&r, "inquireInvoice", json);
    o = st_json(&r);
    assert_string_equal(st_str(o, "invoiceID"), "30231175");
    assert_string_equal(st_str(o, "status"), "completed");
    assert_string_equal(st_str(o, "rrn"), rrn);
    assert_string_equal(st_str(o, "amount"), "100");
    json_object_put(o);
    st_resp_free(&r);

    /* documented errors */
    json_object *inv = st_control("/_sim/invoices?provider=PAYONE");
    snprintf(json, sizeof(json),
             "{" ST_PAYONE_AUTH ",\"invoicesDetails\":[{\"invoiceID\":\"%s\",\"amount\":\"1\","
             "\"currency\":\"%s\"}]}",
             st_str(inv, "invoices.9.invoiceID"), st_str(inv, "invoices.9.currency"));
    assert_false(st_bool(inv, "invoices.9.preauthorized"));
    st_payone_error("completeInvoice", json, "00035");
    st_payone_error("completeInvoice",
                    "{" ST_PAYONE_AUTH ",\"invoicesDetails\":[{\"invoiceID\":\"1\",\"amount\":"
                    "\"1\",\"currency\":\"840\"}]}",
                    "00028");
    st_payone_error("completeInvoice",
                    "{" ST_PAYONE_AUTH ",\"invoicesDetails\":[{\"invoiceID\":\"30231175\","
                    "\"amount\":\"1\",\"currency\":\"840\"},{\"invoiceID\":\"30231175\","
                    "\"amount\":\"1\",\"currency\":\"840\"}]}",
                    "00010");
    st_payone_error(
        "completeInvoice",
        "{\"merchantID\":\"other\",\"authenticationToken\":\"x\",\"invoicesDetails\":[]}", "00007");
    st_payone_error("completeInvoice", "{\"merchantID\":\"testMercahnt\",\"invoicesDetails\":[]}",
                    "00021");
    st_payone_error("inquireInvoice",
                    "{\"merchantID\":\"testMercahnt\",\"authenticationToken\":\"x\","
                    "\"invoiceID\":\"30231175\"}",
                    "00022");
    st_payone_error("inquireInvoice", "{" ST_PAYONE_AUTH ",\"invoiceID\":\"77\"}", "00028");

    /* a pre-authorised invoice in another currency: more than authorised
     * fails, the authorised amount succeeds */
    const char *id = st_str(inv, "invoices.1.invoiceID");
    const char *cur = st_str(inv, "invoices.1.currency");
    int64_t pre = strtoll(st_str(inv, "invoices.1.amount"), NULL, 10);
    snprintf(json, sizeof(json),
             "{" ST_PAYONE_AUTH ",\"invoicesDetails\":[{\"invoiceID\":\"%s\",\"amount\":\"%" PRId64
             "\",\"currency\":\"%s\"}]}",
             id, pre + 1, cur);
    st_payone(&r, "completeInvoice", json);
    o = st_json(&r);
    assert_string_equal(st_str(o, "invoicesDetails.0.status"), "failed");
    json_object_put(o);
    st_resp_free(&r);
    snprintf(json, sizeof(json),
             "{" ST_PAYONE_AUTH ",\"invoicesDetails\":[{\"invoiceID\":\"%s\",\"amount\":\"%" PRId64
             "\",\"currency\":\"%s\"}]}",
             id, pre, cur);
    st_payone(&r, "completeInvoice", json);
    o = st_json(&r);
    assert_string_equal(st_str(o, "invoicesDetails.0.status"), "success");
    json_object_put(o);
    st_resp_free(&r);

    json_object *root;
    json_object *entries = st_ledger("PAYONE", &root);
    assert_int_equal(json_object_array_length(entries), 2);
    assert_string_equal(st_str(entries, "0.currency"), "USD");
    assert_string_equal(st_str(entries, "0.reference"), rrn);
    assert_string_equal(st_str(entries, "1.query_id"), id);
    assert_int_equal(st_int(entries, "1.amount_minor"), pre);
    json_object_put(root);
    json_object_put(inv);
    it_test_pass();
}

/*---- Control endpoints ----*/

static void test_control(void **state)
{
    (void)state;
    st_resp r;
    static const char *const providers[] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};
    static const char *const lists[] = {"invoices", "invoices", "payments", "orders", "invoices"};
    for (size_t i = 0; i < 5; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/_sim/invoices?provider=%s", providers[i]);
        json_object *o = st_control(path);
        assert_string_equal(st_str(o, "provider"), providers[i]);
        assert_int_equal(json_object_array_length(st_at(o, lists[i])), 20);
        json_object_put(o);
    }
    json_object *all = st_control("/_sim/invoices");
    assert_non_null(st_at(all, "PAYONE.invoices"));
    json_object_put(all);

    /* same seed, same invoices: a second simulator agrees */
    json_object *a = st_control("/_sim/invoices?provider=SIPAY");
    int saved_port = st_g.port;
    it_proc first = st_g.sim;
    st_start(NULL);
    json_object *b = st_control("/_sim/invoices?provider=SIPAY");
    tu_assert_json_equal(a, b);
    assert_int_equal(it_stop(&st_g.sim, SIGTERM, 5000), 0);
    st_g.sim = first;
    st_g.port = saved_port;
    snprintf(st_g.base, sizeof(st_g.base), "http://127.0.0.1:%d", st_g.port);
    json_object_put(a);
    json_object_put(b);

    /* bad control requests are refused, naming what is wrong */
    st_get(&r, "/_sim/invoices?provider=NOPE", NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "NOPE"));
    st_resp_free(&r);
    st_post(&r, "/_sim/faults", st_json_headers, "{\"provider\":\"SIPAY\",\"rate_bogus\":1}");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "rate_bogus"));
    st_resp_free(&r);
    st_post(&r, "/_sim/faults", st_json_headers, "{\"provider\":\"SIPAY\",\"rate_5xx\":1.5}");
    assert_int_equal(r.status, 400);
    st_resp_free(&r);
    st_post(&r, "/_sim/faults", st_json_headers, "{\"rate_5xx\":1}");
    assert_int_equal(r.status, 400);
    st_resp_free(&r);
    st_get(&r, "/_sim/nothing", NULL);
    assert_int_equal(r.status, 404);
    st_resp_free(&r);

    /* faults read back; reset restores the start state */
    st_faults("{\"provider\":\"ALL\",\"latency_ms\":5}");
    json_object *f = st_control("/_sim/faults");
    assert_int_equal(st_int(f, "ISBANK.latency_ms"), 5);
    json_object_put(f);
    st_post(&r, "/invoices/invoicepayment", st_payofin_headers, "{\"invoiceQueryId\":615209}");
    assert_int_equal(r.status, 200);
    st_resp_free(&r);
    assert_int_equal(st_stat("PAYOFIN", "payments"), 1);
    st_post(&r, "/_sim/reset", st_json_headers, "{}");
    assert_int_equal(r.status, 200);
    st_resp_free(&r);
    assert_int_equal(st_stat("PAYOFIN", "payments"), 0);
    json_object *inv = st_control("/_sim/invoices?provider=PAYOFIN");
    assert_false(st_bool(inv, "invoices.0.paid"));
    json_object_put(inv);
    f = st_control("/_sim/faults");
    assert_int_equal(st_int(f, "ISBANK.latency_ms"), 0);
    json_object_put(f);
    json_object *cfg = st_control("/_sim/config");
    assert_string_equal(st_str(cfg, "payofin-api-key"), "sim-payofin-api-key");
    json_object_put(cfg);
    it_test_pass();
}

/*---- The adapters against the simulator ----*/

typedef struct st_adapter_case {
    const pv_provider *p;
    const char *command;
    const char *settings[8]; /* name, value pairs */
} st_adapter_case;

/* Sends an adapter's request to the simulator. */
static void st_send(const pv_request *req, st_resp *r)
{
    const char *h[PV_HEADERS_MAX + 1];
    for (size_t i = 0; i < req->nheaders; i++)
        h[i] = req->headers[i];
    h[req->nheaders] = NULL;
    if (strcmp(req->method, "GET") == 0)
        st_call(r, req->path, h, NULL, 0, 10000);
    else
        st_call(r, req->path, h, req->body != NULL ? req->body : "", req->body_len, 10000);
}

static void st_adapter_run(const st_adapter_case *tc)
{
    const pv_provider *p = tc->p;
    const char *values[16] = {0};
    pv_ctx ctx = {.settings = values};
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    pv_token tok;
    pv_result res;
    st_resp r;
    void *spec = NULL;

    for (size_t i = 0; tc->settings[i] != NULL; i += 2) {
        int k = pv_provider_setting_index(p, tc->settings[i]);
        assert_true(k >= 0);
        values[k] = tc->settings[i + 1];
    }
    tu_command(&cmd, p, tc->command);
    if (p->caps & PV_CAP_OAUTH) {
        assert_int_equal(p->build_token_request(&ctx, &req, &err), PV_OK);
        st_send(&req, &r);
        if (p->parse_token((int)r.status, r.body, r.len, &tok, &err) != PV_OK)
            fail_msg("%s token: %s", p->name, err.errstr);
        ctx.token = tok.access_token;
        pv_request_clear(&req);
        st_resp_free(&r);
    }
    if (p->caps & PV_CAP_SPEC) {
        assert_int_equal(p->build_spec_request(&cmd, &ctx, &req, &err), PV_OK);
        st_send(&req, &r);
        spec = p->parse_spec((int)r.status, r.body, r.len, &err);
        if (spec == NULL)
            fail_msg("%s spec: %s", p->name, err.errstr);
        ctx.spec = spec;
        pv_request_clear(&req);
        st_resp_free(&r);
    }
    /* the payment: SUCCEEDED; the same command again: refused */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (pv_provider_build_request(p, &cmd, &ctx, &req, &err) != PV_OK)
            fail_msg("%s build_request: %s", p->name, err.errstr);
        st_send(&req, &r);
        pv_result_init(&res);
        pv_provider_parse_response(p, &cmd, (int)r.status, r.body, r.len, &res);
        pv_outcome want = attempt == 0 || (p->caps & PV_CAP_READONLY) ? PV_OUTCOME_SUCCEEDED
                                                                      : PV_OUTCOME_DECLINED;
        if (res.outcome != want)
            fail_msg("%s attempt %d: %s (%s %s) %s; HTTP %ld %.300s", p->name, attempt + 1,
                     pv_outcome_name(res.outcome), res.provider_code, res.provider_message,
                     res.error, r.status, r.body);
        pv_result_clear(&res);
        pv_request_clear(&req);
        st_resp_free(&r);
    }
    /* the status inquiry settles the payment as done */
    if (p->caps & PV_CAP_INQUIRY) {
        if (p->build_inquiry(&cmd, &ctx, &req, &err) != PV_OK)
            fail_msg("%s build_inquiry: %s", p->name, err.errstr);
        st_send(&req, &r);
        pv_result_init(&res);
        pv_provider_parse_inquiry(p, &cmd, (int)r.status, r.body, r.len, &res);
        if (res.outcome != PV_OUTCOME_SUCCEEDED)
            fail_msg("%s inquiry: %s %s; HTTP %ld %.300s", p->name, pv_outcome_name(res.outcome),
                     res.error, r.status, r.body);
        pv_result_clear(&res);
        pv_request_clear(&req);
        st_resp_free(&r);
    }
    if (spec != NULL)
        p->free_spec(spec);
    pv_command_clear(&cmd);
}

static void test_adapters_roundtrip(void **state)
{
    (void)state;
    const st_adapter_case cases[] = {
        {&pv_payofin,
         "{\"invoiceQueryId\":615209,\"partialAmount\":1,\"invoiceQuery\":{\"sootCode\":\"1001\","
         "\"subscriberNo\":\"1000615209\"}}",
         {"api_key", "sim-payofin-api-key", "secret_key", "sim-payofin-secret-key", NULL}},
        {&pv_sipay,
         "{\"tenant_id\":0,\"account_type_id\":1,\"account_number\":\"28XX01\",\"wallet_number\":"
         "\"25XX25\",\"inv_payment_transaction_query_oid\":\"90XX46-FXX5-4XX3-8DXX-B1XX97\","
         "\"invoice_amount\":196.50,\"payment_amount\":196.50,\"product_oid\":\"8064fb0c-c556-"
         "4104-8fe4-9779c6dc3721\",\"subscriber_no\":\"5536557580\",\"bill_term\":\"03/2023\","
         "\"bill_no\":\"2023XXX887\"}",
         {"client_id", "sim-sipay-client", "client_secret", "sim-sipay-secret", NULL}},
        {&pv_paywall,
         "{\"paymentid\":123456}",
         {"api_key_public", "sim-paywall-key-public", "api_client_public",
          "sim-paywall-client-public", NULL}},
        {&pv_isbank,
         "{\"service_id\":10065,\"payment_reference\":\"PAY-20200814-0001\",\"amount\":265,"
         "\"currency_code\":\"EUR\",\"basic_input_values\":[{\"name\":\"SubscriberName\","
         "\"value\":\"Ayşe Yılmaz\"},{\"name\":\"Tckn_Vkn_Ykn\",\"value\":\"10000000146\"}],"
         "\"selected_input_values\":[{\"name\":\"OnBehalfOf\",\"selected_item\":{\"key\":\"K\","
         "\"value\":\"Kendi adıma\"}}]}",
         {"client_id", "sim-isbank-client", "client_secret", "sim-isbank-secret", NULL}},
        {&pv_payone,
         "{\"invoicesDetails\":[{\"invoiceID\":\"30231175\",\"amount\":\"100\",\"currency\":"
         "\"840\"}]}",
         {"merchant_id", "testMercahnt", "authentication_token", "N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm",
          NULL}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        st_adapter_run(&cases[i]);
    it_test_pass();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ST_TEST(test_payofin),
        ST_TEST(test_sipay),
        ST_TEST(test_paywall),
        ST_TEST(test_isbank),
        ST_TEST(test_payone),
        ST_TEST(test_control),
        ST_TEST(test_adapters_roundtrip),
    };
    return ST_RUN("provider-sim", tests);
}
