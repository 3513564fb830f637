/* itest_provider_sim_faults.c -- ops/provider-sim's faults over real HTTP (issue 4):
 * latency, 5xx and 429, malformed, reset, paid_5xx, reset_after, blackhole,
 * late, --fault, token expiry and hostile requests. The harness is
 * simclient.c (its header says how every test runs); the providers' answers
 * are itest_provider_sim.c.
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

#include "pv_json.h"

/*---- Faults ----*/

static void test_fault_latency(void **state)
{
    (void)state;
    st_resp r;
    st_faults("{\"provider\":\"PAYWALL\",\"latency_ms\":300,\"jitter_ms\":50}");
    st_get(&r, "/api/paywall/marketplace/report/debt/payment", st_paywall_headers);
    assert_int_equal(r.status, 200);
    assert_true(r.ms >= 250); /* a lower bound only */
    st_resp_free(&r);
    assert_int_equal(st_stat("PAYWALL", "faults.latency"), 1);
    /* other providers are not delayed (no upper bound asserted) */
    st_post(&r, "/invoices/invoicequery", st_payofin_headers,
            "{\"sootCode\":\"1001\",\"subscriberNo\":\"1000615209\"}");
    assert_int_equal(r.status, 200);
    st_resp_free(&r);
    assert_int_equal(st_stat("PAYOFIN", "faults.latency"), 0);
    it_test_pass();
}

static void test_fault_5xx_429(void **state)
{
    (void)state;
    st_resp r;
    st_faults("{\"provider\":\"PAYOFIN\",\"rate_5xx\":1}");
    for (int i = 0; i < 3; i++) {
        st_post(&r, "/invoices/invoicepayment", st_payofin_headers, "{\"invoiceQueryId\":615209}");
        assert_int_equal(r.status, 500);
        st_resp_free(&r);
    }
    st_faults("{\"provider\":\"PAYOFIN\",\"rate_5xx\":1,\"status_5xx\":503}");
    st_post(&r, "/invoices/invoicepayment", st_payofin_headers, "{\"invoiceQueryId\":615209}");
    assert_int_equal(r.status, 503);
    st_resp_free(&r);
    st_faults("{\"provider\":\"PAYOFIN\",\"rate_429\":1}");
    st_post(&r, "/invoices/invoicepayment", st_payofin_headers, "{\"invoiceQueryId\":615209}");
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.hdrs, "Retry-After: 1"));
    st_resp_free(&r);
    assert_int_equal(st_stat("PAYOFIN", "faults.5xx"), 4);
    assert_int_equal(st_stat("PAYOFIN", "faults.429"), 1);
    /* answered before the provider logic: nothing was paid */
    assert_int_equal(st_stat("PAYOFIN", "payments"), 0);
    json_object *root;
    assert_int_equal(json_object_array_length(st_ledger("PAYOFIN", &root)), 0);
    json_object_put(root);
    it_test_pass();
}

static void test_fault_malformed(void **state)
{
    (void)state;
    st_resp r;
    st_faults("{\"provider\":\"PAYOFIN\",\"rate_malformed\":1}");
    st_post(&r, "/invoices/invoicepayment", st_payofin_headers, "{\"invoiceQueryId\":615209}");
    assert_int_equal(r.status, 200);
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, r.body, (int)r.len);
    assert_true(o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
                (size_t)json_tokener_get_parse_end(tok) < r.len);
    json_object_put(o);
    json_tokener_free(tok);
    st_resp_free(&r);
    /* the payment happened and was answered (garbled) */
    json_object *root;
    json_object *e = st_ledger("PAYOFIN", &root);
    assert_int_equal(json_object_array_length(e), 1);
    assert_string_equal(st_str(e, "0.fault"), "malformed");
    assert_true(st_bool(e, "0.answered"));
    json_object_put(root);
    assert_int_equal(st_stat("PAYOFIN", "faults.malformed"), 1);
    it_test_pass();
}

static void test_fault_reset(void **state)
{
    (void)state;
    st_resp r;
    st_faults("{\"provider\":\"SIPAY\",\"rate_reset\":1}");
    st_post(&r, "/connect/token", st_form_headers,
            "grant_type=client_credentials&client_id=sim-sipay-client&client_secret=sim-sipay-"
            "secret");
    /* no answer: the connection is reset */
    assert_true(r.rc == CURLE_RECV_ERROR || r.rc == CURLE_GOT_NOTHING);
    assert_int_equal(r.status, 0);
    st_resp_free(&r);
    assert_int_equal(st_stat("SIPAY", "faults.reset"), 1);
    /* only_payments: the token endpoint is spared, payments are not */
    st_faults("{\"provider\":\"SIPAY\",\"rate_reset\":1,\"only_payments\":true}");
    char token[128];
    st_token("/connect/token", st_form_headers,
             "grant_type=client_credentials&client_id=sim-sipay-client&client_secret=sim-sipay-"
             "secret",
             token, sizeof(token));
    char auth[256];
    const char *h[4];
    size_t len;
    st_sipay_headers(token, auth, sizeof(auth), h);
    char *sample = tu_fixture("sipay/makepayment.request.json", &len);
    st_post(&r, "/v1/InvoicePayment/MakePayment", h, sample);
    assert_true(r.rc == CURLE_RECV_ERROR || r.rc == CURLE_GOT_NOTHING);
    st_resp_free(&r);
    free(sample);
    assert_int_equal(st_stat("SIPAY", "payments"), 0); /* reset before processing */
    it_test_pass();
}

/* paid_5xx: the payment happens, then the gateway answers 500; the ledger
 * keeps the request's X-Request-Id. */
static void test_fault_paid_5xx(void **state)
{
    (void)state;
    st_resp r;
    const char *const h[] = {"ApiKey: sim-payofin-api-key", "SecretKey: sim-payofin-secret-key",
                             "Content-Type: application/json", "X-Request-Id: cmd-paid-5xx-1",
                             NULL};
    st_faults("{\"provider\":\"PAYOFIN\",\"rate_paid_5xx\":1}");
    st_post(&r, "/invoices/invoicepayment", h, "{\"invoiceQueryId\":615209}");
    assert_int_equal(r.status, 500);
    json_object *o = st_json(&r);
    assert_int_equal(st_int(o, "status"), 500);
    json_object_put(o);
    st_resp_free(&r);
    /* ... but it was paid, and the ledger says the answer was a fault */
    json_object *root;
    json_object *e = st_ledger("PAYOFIN", &root);
    assert_int_equal(json_object_array_length(e), 1);
    assert_string_equal(st_str(e, "0.query_id"), "615209");
    assert_string_equal(st_str(e, "0.fault"), "paid_5xx");
    assert_true(st_bool(e, "0.answered"));
    assert_string_equal(st_str(e, "0.request_id"), "cmd-paid-5xx-1");
    json_object_put(root);
    assert_int_equal(st_stat("PAYOFIN", "faults.paid_5xx"), 1);
    assert_int_equal(st_stat("PAYOFIN", "payments"), 1);
    /* status_5xx applies to it too; the invoice is paid: "already paid" */
    st_faults("{\"provider\":\"PAYOFIN\",\"rate_paid_5xx\":1,\"status_5xx\":502}");
    st_post(&r, "/invoices/invoicepayment", st_payofin_headers, "{\"invoiceQueryId\":615209}");
    assert_int_equal(r.status, 502);
    st_resp_free(&r);
    assert_int_equal(st_stat("PAYOFIN", "double_payment_attempts"), 1);
    /* without the header the ledger's request_id is empty */
    json_object *list = st_control("/_sim/invoices?provider=PAYOFIN");
    char body[128];
    snprintf(body, sizeof(body), "{\"invoiceQueryId\":%" PRId64 "}",
             st_int(list, "invoices.1.invoiceQueryId"));
    json_object_put(list);
    st_post(&r, "/invoices/invoicepayment", st_payofin_headers, body);
    assert_int_equal(r.status, 502);
    st_resp_free(&r);
    e = st_ledger("PAYOFIN", &root);
    assert_int_equal(json_object_array_length(e), 2);
    assert_string_equal(st_str(e, "1.request_id"), "");
    json_object_put(root);
    it_test_pass();
}

/* reset_after: the payment happens, then the connection is reset. */
static void test_fault_reset_after(void **state)
{
    (void)state;
    st_resp r;
    const char *const h[] = {"ApiKey: sim-payofin-api-key", "SecretKey: sim-payofin-secret-key",
                             "Content-Type: application/json", "X-Request-Id: cmd-reset-after-1",
                             NULL};
    st_faults("{\"provider\":\"PAYOFIN\",\"rate_reset_after\":1,\"only_payments\":true}");
    st_post(&r, "/invoices/invoicepayment", h, "{\"invoiceQueryId\":615209}");
    /* no answer: the connection is reset */
    assert_true(r.rc == CURLE_RECV_ERROR || r.rc == CURLE_GOT_NOTHING);
    assert_int_equal(r.status, 0);
    st_resp_free(&r);
    json_object *root;
    json_object *e = st_ledger("PAYOFIN", &root);
    assert_int_equal(json_object_array_length(e), 1);
    assert_string_equal(st_str(e, "0.query_id"), "615209");
    assert_string_equal(st_str(e, "0.fault"), "reset_after");
    assert_false(st_bool(e, "0.answered"));
    assert_string_equal(st_str(e, "0.request_id"), "cmd-reset-after-1");
    json_object_put(root);
    assert_int_equal(st_stat("PAYOFIN", "faults.reset_after"), 1);
    assert_int_equal(st_stat("PAYOFIN", "faults.reset"), 0);
    assert_int_equal(st_stat("PAYOFIN", "payments"), 1);
    /* a retry of the same invoice finds it paid */
    st_faults("{\"provider\":\"PAYOFIN\"}");
    st_payofin_refused("{\"invoiceQueryId\":615209}", -10);
    assert_int_equal(st_stat("PAYOFIN", "double_payment_attempts"), 1);
    it_test_pass();
}

/* Polls the ledger until entry 0 of provider has answered == want. */
static bool st_wait_answered(const char *provider, bool want, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    do {
        json_object *root;
        json_object *e = st_ledger(provider, &root);
        bool ok = json_object_array_length(e) > 0 && st_bool(e, "0.answered") == want;
        json_object_put(root);
        if (ok)
            return true;
        it_sleep_ms(50);
    } while (it_now_ms() < end);
    return false;
}

static void test_fault_blackhole(void **state)
{
    (void)state;
    st_resp r;
    char body[1024];
    st_faults("{\"provider\":\"ISBANK\",\"rate_blackhole\":1,\"only_payments\":true}");
    char token[128], auth[256];
    const char *h[5];
    const char *const ibm[] = {"X-IBM-client-id: sim-isbank-client",
                               "X-IBM-client-secret: sim-isbank-secret", NULL};
    st_token("/api/isbank/v1/oauth2/token", ibm, st_isbank_form, token, sizeof(token));
    st_isbank_headers(token, auth, sizeof(auth), h);
    st_isbank_body("BH-1", "300", body, sizeof(body));
    st_call(&r, "/api/isbank/v1/bill-payments", h, body, strlen(body), 400);
    /* the client gives up: no answer ever came */
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(r.status, 0);
    st_resp_free(&r);
    /* ... but the payment is in the ledger, unanswered */
    json_object *root;
    json_object *e = st_ledger("ISBANK", &root);
    assert_int_equal(json_object_array_length(e), 1);
    assert_string_equal(st_str(e, "0.query_id"), "BH-1");
    assert_int_equal(st_int(e, "0.amount_minor"), 30000);
    assert_string_equal(st_str(e, "0.fault"), "blackhole");
    assert_false(st_bool(e, "0.answered"));
    json_object_put(root);
    json_object *s = st_control("/_sim/stats");
    assert_int_equal(st_int(s, "providers.ISBANK.faults.blackhole"), 1);
    assert_int_equal(st_int(s, "blackholes"), 1);
    json_object_put(s);
    /* a retry of the same reference is refused as already paid */
    st_faults("{\"provider\":\"ISBANK\"}");
    st_isbank_refused(h, body, 409, "2010");
    it_test_pass();
}

static void test_fault_late(void **state)
{
    (void)state;
    st_resp r;
    st_faults("{\"provider\":\"PAYONE\",\"late_ms\":1200}");
    char json[512];
    snprintf(json, sizeof(json),
             "{" ST_PAYONE_AUTH ",\"invoicesDetails\":[{\"invoiceID\":\"30231175\",\"amount\":"
             "\"100\",\"currency\":\"840\"}]}");
    char *enc = st_form_encode(json);
    char body[1024];
    snprintf(body, sizeof(body), "invoice=%s", enc);
    free(enc);
    st_call(&r, "/rest/InvoicesService/completeInvoice", st_form_headers, body, strlen(body), 400);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    st_resp_free(&r);
    /* processed at once, answered only later (to a client that is gone) */
    json_object *root;
    json_object *e = st_ledger("PAYONE", &root);
    assert_int_equal(json_object_array_length(e), 1);
    assert_string_equal(st_str(e, "0.fault"), "late");
    json_object_put(root);
    assert_true(st_wait_answered("PAYONE", true, 5000));
    assert_int_equal(st_stat("PAYONE", "faults.late"), 1);
    /* a patient client gets the late answer */
    st_faults("{\"provider\":\"PAYONE\",\"late_ms\":300}");
    snprintf(json, sizeof(json), "{" ST_PAYONE_AUTH ",\"invoiceID\":\"30231175\"}");
    st_payone(&r, "inquireInvoice", json);
    assert_int_equal(r.status, 200);
    assert_true(r.ms >= 250);
    json_object *o = st_json(&r);
    assert_string_equal(st_str(o, "status"), "completed");
    json_object_put(o);
    st_resp_free(&r);
    it_test_pass();
}

static void test_fault_flag(void **state)
{
    (void)state;
    st_resp r;
    /* faults given at start-up, and POST /_sim/reset keeps them */
    assert_int_equal(it_stop(&st_g.sim, SIGTERM, 5000), 0);
    const char *const extra[] = {"--fault", "PAYWALL:rate_5xx=1,status_5xx=502", NULL};
    st_start(extra);
    st_get(&r, "/api/paywall/marketplace/report/debt/payment", st_paywall_headers);
    assert_int_equal(r.status, 502);
    st_resp_free(&r);
    st_post(&r, "/_sim/reset", st_json_headers, "{}");
    st_resp_free(&r);
    st_get(&r, "/api/paywall/marketplace/report/debt/payment", st_paywall_headers);
    assert_int_equal(r.status, 502);
    st_resp_free(&r);
    it_test_pass();
}

static void test_token_expiry(void **state)
{
    (void)state;
    st_resp r;
    char token[128], auth[256];
    const char *h[4];
    size_t len;
    /* tokens live --token-ttl seconds: an expired one gets 401 */
    assert_int_equal(it_stop(&st_g.sim, SIGTERM, 5000), 0);
    const char *const extra[] = {"--token-ttl", "1", NULL};
    st_start(extra);
    st_token("/connect/token", st_form_headers,
             "grant_type=client_credentials&client_id=sim-sipay-client&client_secret=sim-sipay-"
             "secret",
             token, sizeof(token));
    st_sipay_headers(token, auth, sizeof(auth), h);
    it_sleep_ms(1300);
    char *sample = tu_fixture("sipay/makepayment.request.json", &len);
    st_post(&r, "/v1/InvoicePayment/MakePayment", h, sample);
    assert_int_equal(r.status, 401);
    st_resp_free(&r);
    /* a fresh token pays */
    st_token("/connect/token", st_form_headers,
             "grant_type=client_credentials&client_id=sim-sipay-client&client_secret=sim-sipay-"
             "secret",
             token, sizeof(token));
    st_sipay_headers(token, auth, sizeof(auth), h);
    st_post(&r, "/v1/InvoicePayment/MakePayment", h, sample);
    assert_int_equal(r.status, 200);
    st_resp_free(&r);
    free(sample);
    it_test_pass();
}

/*---- Hostile requests ----*/

static void test_hostile(void **state)
{
    (void)state;
    st_resp r;
    static const char *const bodies[] = {"",
                                         "{",
                                         "[]",
                                         "null",
                                         "{\"invoiceQueryId\":",
                                         "{\"invoiceQueryId\":1e999}",
                                         "{\"invoiceQueryId\":123456789012345678901234567890}",
                                         "\xff\xfe\x00garbage"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        size_t n = i == 7 ? 11 : strlen(bodies[i]);
        st_call(&r, "/invoices/invoicepayment", st_payofin_headers, bodies[i], n, 10000);
        assert_true(r.status == 200 || r.status == 400);
        st_resp_free(&r);
    }
    /* bad form encodings at PayOne and the token endpoint */
    static const char *const forms[] = {
        "invoice=%", "invoice=%zz", "invoice",
        "=&&=",      "invoice=",    "invoice=%7B%22merchantID%22%3A"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        st_post(&r, "/rest/InvoicesService/completeInvoice", st_form_headers, forms[i]);
        assert_true(r.status == 400 || r.status == 200);
        st_resp_free(&r);
        st_post(&r, "/connect/token", st_form_headers, forms[i]);
        assert_true(r.status == 400 || r.status == 401);
        st_resp_free(&r);
    }
    /* a body over --max-body: 413 */
    size_t big = 70000;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, 'a', big);
    st_call(&r, "/invoices/invoicepayment", st_payofin_headers, huge, big, 10000);
    assert_int_equal(r.status, 413);
    st_resp_free(&r);
    free(huge);
    /* unknown path, wrong method */
    st_get(&r, "/nothing/here", NULL);
    assert_int_equal(r.status, 404);
    st_resp_free(&r);
    st_get(&r, "/invoices/invoicepayment", NULL);
    assert_int_equal(r.status, 405);
    st_resp_free(&r);
    /* still serving */
    st_post(&r, "/invoices/invoicepayment", st_payofin_headers, "{\"invoiceQueryId\":615209}");
    assert_int_equal(r.status, 200);
    st_resp_free(&r);
    it_test_pass();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ST_TEST(test_fault_latency),   ST_TEST(test_fault_5xx_429),
        ST_TEST(test_fault_malformed), ST_TEST(test_fault_reset),
        ST_TEST(test_fault_paid_5xx),  ST_TEST(test_fault_reset_after),
        ST_TEST(test_fault_blackhole), ST_TEST(test_fault_late),
        ST_TEST(test_fault_flag),      ST_TEST(test_token_expiry),
        ST_TEST(test_hostile),
    };
    return ST_RUN("provider-sim faults", tests);
}
