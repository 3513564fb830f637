/* itest_provider_sim.c -- ops/provider-sim over real HTTP (issue 4).
 *
 * DESIGN
 * Every test starts its own provider-sim (--port 0 on 127.0.0.1, seed 7, 20
 * invoices per provider) with it_spawn, reads the listening= line for the
 * port, calls it with libcurl easy the way the adapters do, and stops it
 * with SIGTERM in the teardown, which must end with exit status 0.
 *
 * Answers are compared with the seeds' samples (tests/fixtures) by shape:
 * the same keys and the same JSON types (an integer is not a double),
 * recursively, every array element against the sample's first. Amounts are
 * compared exactly, as pv_money minor units parsed from the number text.
 * Valid ids come from GET /_sim/invoices. One test runs the five adapters
 * of libprovider against the simulator (token, spec, payment, inquiry): the
 * two are independent readings of the same documents, so agreement is news.
 *
 * Timing: latency is checked as a lower bound only; timeouts are generous
 * (the blackhole and late tests give the client 400 ms, then poll the ledger
 * for up to 5 s).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_util.h"
#include "../unit/testutil.h"

#include "provider.h"
#include "pv_json.h"
#include "pv_money.h"

#define ST_SEED     "7"
#define ST_INVOICES "20"

static const char *const st_payofin_headers[] = {"ApiKey: sim-payofin-api-key",
                                                 "SecretKey: sim-payofin-secret-key",
                                                 "Content-Type: application/json", NULL};
static const char *const st_paywall_headers[] = {"apikeypublic: sim-paywall-key-public",
                                                 "apiclientpublic: sim-paywall-client-public",
                                                 "paymentid: 123456", NULL};
static const char *const st_json_headers[] = {"Content-Type: application/json", NULL};
static const char *const st_form_headers[] = {"Content-Type: application/x-www-form-urlencoded",
                                              NULL};

static struct {
    it_proc sim;
    char base[64];
    int port;
} g;

/*---- The simulator process ----*/

/* Starts provider-sim with the standard arguments plus `extra` (NULL-
 * terminated, may be NULL). */
static void st_start(const char *const extra[])
{
    char bin[512];
    char *argv[32];
    size_t n = 0;
    it_build_path(bin, sizeof(bin), "ops/provider-sim");
    argv[n++] = bin;
    argv[n++] = (char *)"--port";
    argv[n++] = (char *)"0";
    argv[n++] = (char *)"--seed";
    argv[n++] = (char *)ST_SEED;
    argv[n++] = (char *)"--invoices";
    argv[n++] = (char *)ST_INVOICES;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    assert_int_equal(it_spawn(&g.sim, "provider-sim", argv, NULL), 0);
    char line[256];
    if (it_read_line(&g.sim, line, sizeof(line), 10000) != 0) {
        it_dump_log(&g.sim);
        fail_msg("provider-sim printed no listening= line");
    }
    assert_int_equal(strncmp(line, "listening=127.0.0.1:", 20), 0);
    g.port = (int)strtol(line + 20, NULL, 10);
    assert_true(g.port > 0 && g.port < 65536);
    snprintf(g.base, sizeof(g.base), "http://127.0.0.1:%d", g.port);
}

static int st_setup(void **state)
{
    (void)state;
    it_test_begin();
    st_start(NULL);
    return 0;
}

static int st_teardown(void **state)
{
    (void)state;
    int status = g.sim.pid > 0 ? it_stop(&g.sim, SIGTERM, 5000) : 0;
    it_test_end();
    /* SIGTERM must end it cleanly */
    assert_int_equal(status, 0);
    return 0;
}

/*---- HTTP with libcurl easy ----*/

typedef struct st_resp {
    CURLcode rc;
    long status;
    char *body, *hdrs;
    size_t len, hlen;
    int64_t ms; /* wall time of the call */
} st_resp;

typedef struct st_sink {
    char **buf;
    size_t *len;
} st_sink;

static size_t st_collect(char *p, size_t size, size_t n, void *ud)
{
    st_sink *s = ud;
    size_t add = size * n;
    char *b = realloc(*s->buf, *s->len + add + 1);
    if (b == NULL)
        return 0;
    memcpy(b + *s->len, p, add);
    *s->len += add;
    b[*s->len] = '\0';
    *s->buf = b;
    return add;
}

static void st_resp_free(st_resp *r)
{
    free(r->body);
    free(r->hdrs);
    memset(r, 0, sizeof(*r));
}

/* One call: body == NULL is a GET, otherwise a POST of body[0..len). */
static void st_call(st_resp *r, const char *path, const char *const headers[], const char *body,
                    size_t len, long timeout_ms)
{
    char url[512];
    struct curl_slist *hl = NULL;
    memset(r, 0, sizeof(*r));
    st_sink bs = {&r->body, &r->len}, hs = {&r->hdrs, &r->hlen};
    CURL *h = curl_easy_init();
    assert_non_null(h);
    snprintf(url, sizeof(url), "%s%s", g.base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, st_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &bs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, st_collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hs);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    int64_t t0 = it_now_ms();
    r->rc = curl_easy_perform(h);
    r->ms = it_now_ms() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    if (r->body == NULL) {
        r->body = calloc(1, 1);
        assert_non_null(r->body);
    }
}

static void st_get(st_resp *r, const char *path, const char *const headers[])
{
    st_call(r, path, headers, NULL, 0, 10000);
}

static void st_post(st_resp *r, const char *path, const char *const headers[], const char *body)
{
    st_call(r, path, headers, body, strlen(body), 10000);
}

/* The answer as JSON; fails the test when it is not. Caller puts. */
static json_object *st_json(const st_resp *r)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, r->body, (int)r->len);
    bool ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!ok)
        fail_msg("not JSON (HTTP %ld, curl %d): %.300s", r->status, (int)r->rc, r->body);
    return o;
}

/*---- JSON helpers ----*/

/* The value at a dotted path ("payload.sender_wallet_info.number",
 * "invoicesDetails.0.rrn"); NULL when absent. */
static json_object *st_at(json_object *o, const char *path)
{
    char part[128];
    while (o != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");
        assert_true(n < sizeof(part));
        memcpy(part, path, n);
        part[n] = '\0';
        path += n + (path[n] == '.');
        if (json_object_is_type(o, json_type_array)) {
            size_t i = (size_t)strtoul(part, NULL, 10);
            o = i < json_object_array_length(o) ? json_object_array_get_idx(o, i) : NULL;
        } else if (json_object_is_type(o, json_type_object)) {
            json_object *v = NULL;
            o = json_object_object_get_ex(o, part, &v) ? v : NULL;
        } else {
            o = NULL;
        }
    }
    return o;
}

static int64_t st_int(json_object *o, const char *path)
{
    json_object *v = st_at(o, path);
    if (v == NULL || !json_object_is_type(v, json_type_int))
        fail_msg("%s: expected an integer in %s", path, json_object_to_json_string(o));
    return json_object_get_int64(v);
}

static const char *st_str(json_object *o, const char *path)
{
    json_object *v = st_at(o, path);
    if (v == NULL || !json_object_is_type(v, json_type_string))
        fail_msg("%s: expected a string in %.400s", path, json_object_to_json_string(o));
    return json_object_get_string(v);
}

static bool st_bool(json_object *o, const char *path)
{
    json_object *v = st_at(o, path);
    if (v == NULL || !json_object_is_type(v, json_type_boolean))
        fail_msg("%s: expected a boolean in %.400s", path, json_object_to_json_string(o));
    return json_object_get_boolean(v);
}

/* An amount at path, exactly (minor units of currency). */
static int64_t st_minor(json_object *o, const char *path, const char *currency)
{
    pv_money m;
    pv_error err = {0};
    json_object *v = st_at(o, path);
    if (v == NULL || pv_json_value_money(v, path, currency, &m, &err) != PV_OK)
        fail_msg("%s: not an amount: %s", path, err.errstr);
    return m.minor;
}

/* Same keys and JSON types as the sample, recursively (see DESIGN). */
static bool st_shape(json_object *want, json_object *got, const char *path, char *why, size_t cap)
{
    json_type tw = json_object_get_type(want), tg = json_object_get_type(got);
    char sub[256];
    if (tw != tg) {
        snprintf(why, cap, "%s: %s in the sample, %s here", path[0] ? path : "$",
                 json_type_to_name(tw), json_type_to_name(tg));
        return false;
    }
    if (tw == json_type_object) {
        json_object_object_foreach(want, k, wv)
        {
            json_object *gv = NULL;
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            if (!json_object_object_get_ex(got, k, &gv)) {
                snprintf(why, cap, "%s: missing", sub);
                return false;
            }
            if (!st_shape(wv, gv, sub, why, cap))
                return false;
        }
        json_object_object_foreach(got, k2, gv2)
        {
            (void)gv2;
            if (!json_object_object_get_ex(want, k2, NULL)) {
                snprintf(why, cap, "%s.%s: not in the sample", path, k2);
                return false;
            }
        }
    } else if (tw == json_type_array) {
        /* each element has the shape of one of the sample's elements (a
         * Paywall Cargo debt is shaped like the sample's Cargo debt) */
        size_t nw = json_object_array_length(want);
        for (size_t i = 0; nw > 0 && i < json_object_array_length(got); i++) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            bool any = false;
            for (size_t k = 0; k < nw && !any; k++)
                any = st_shape(json_object_array_get_idx(want, nw - 1 - k),
                               json_object_array_get_idx(got, i), sub, why, cap);
            if (!any)
                return false; /* why: the mismatch with the first sample element */
        }
    }
    return true;
}

static void st_assert_shape(const char *fixture, json_object *got)
{
    char why[512] = "";
    size_t len;
    char *text = tu_fixture(fixture, &len);
    json_object *want = tu_json(text);
    bool ok = st_shape(want, got, "", why, sizeof(why));
    json_object_put(want);
    free(text);
    if (!ok)
        fail_msg("%s: shape differs: %s", fixture, why);
}

/*---- Control endpoints ----*/

static json_object *st_control(const char *path)
{
    st_resp r;
    st_get(&r, path, NULL);
    assert_int_equal(r.status, 200);
    json_object *o = st_json(&r);
    st_resp_free(&r);
    return o;
}

/* providers.<P>.<key> of /_sim/stats ("faults.blackhole" works too). */
static int64_t st_stat(const char *provider, const char *key)
{
    char path[128];
    json_object *s = st_control("/_sim/stats");
    snprintf(path, sizeof(path), "providers.%s.%s", provider, key);
    int64_t v = st_int(s, path);
    json_object_put(s);
    return v;
}

static void st_faults(const char *json)
{
    st_resp r;
    st_post(&r, "/_sim/faults", st_json_headers, json);
    if (r.status != 200)
        fail_msg("POST /_sim/faults %s: HTTP %ld %s", json, r.status, r.body);
    st_resp_free(&r);
}

/* The ledger entries of a provider (owned by *root, which the caller puts). */
static json_object *st_ledger(const char *provider, json_object **root)
{
    char path[64];
    snprintf(path, sizeof(path), "/_sim/ledger?provider=%s", provider);
    *root = st_control(path);
    json_object *e = st_at(*root, "entries");
    assert_non_null(e);
    return e;
}

/* Form-encodes text (as HTML forms do) into a new string. */
static char *st_form_encode(const char *text)
{
    CURL *h = curl_easy_init();
    char *e = curl_easy_escape(h, text, 0);
    char *copy = strdup(e);
    curl_free(e);
    curl_easy_cleanup(h);
    assert_non_null(copy);
    return copy;
}

/* POST form field `invoice`=<json> to a PayOne service. */
static void st_payone(st_resp *r, const char *service, const char *json)
{
    char path[128];
    char *enc = st_form_encode(json);
    size_t n = strlen(enc) + 16;
    char *body = malloc(n);
    assert_non_null(body);
    snprintf(body, n, "invoice=%s", enc);
    snprintf(path, sizeof(path), "/rest/InvoicesService/%s", service);
    st_post(r, path, st_form_headers, body);
    free(body);
    free(enc);
}

/* A bearer token from a token endpoint (form client credentials). */
static void st_token(const char *path, const char *const headers[], const char *form, char *out,
                     size_t cap)
{
    st_resp r;
    st_post(&r, path, headers, form);
    assert_int_equal(r.status, 200);
    json_object *o = st_json(&r);
    assert_string_equal(st_str(o, "token_type"), "Bearer");
    assert_true(st_int(o, "expires_in") > 0);
    snprintf(out, cap, "%s", st_str(o, "access_token"));
    json_object_put(o);
    st_resp_free(&r);
}

/*---- Payofin ----*/

static void st_payofin_pay(st_resp *r, const char *body)
{
    st_post(r, "/invoices/invoicepayment", st_payofin_headers, body);
}

/* Pays body and expects the refusal code. */
static void st_payofin_refused(const char *body, int64_t code)
{
    st_resp r;
    st_payofin_pay(&r, body);
    assert_int_equal(r.status, 200);
    json_object *o = st_json(&r);
    assert_false(st_bool(o, "result"));
    assert_int_equal(st_int(o, "resultCode"), code);
    assert_true(strlen(st_str(o, "resultMessage")) > 0);
    assert_true(json_object_is_type(st_at(o, "payofinPaymentDetails"), json_type_null));
    json_object_put(o);
    st_resp_free(&r);
}

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

static void st_sipay_headers(const char *token, char *auth, size_t cap, const char *h[4])
{
    snprintf(auth, cap, "Authorization: Bearer %s", token);
    h[0] = auth;
    h[1] = "x-client-id: sim-sipay-client";
    h[2] = "Content-Type: application/json";
    h[3] = NULL;
}

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

/*---- İş Bankası ----*/

static const char st_isbank_form[] =
    "grant_type=client_credentials&client_id=sim-isbank-client&client_secret=sim-isbank-secret";

static void st_isbank_headers(const char *token, char *auth, size_t cap, const char *h[5])
{
    snprintf(auth, cap, "Authorization: Bearer %s", token);
    h[0] = auth;
    h[1] = "X-IBM-client-id: sim-isbank-client";
    h[2] = "X-IBM-client-secret: sim-isbank-secret";
    h[3] = "Content-Type: application/json";
    h[4] = NULL;
}

/* The contract command's body, with another reference and amount. */
static void st_isbank_body(const char *reference, const char *amount, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"service_id\":10065,\"payment_reference\":\"%s\","
             "\"basic_input_values\":[{\"name\":\"SubscriberName\",\"value\":\"Ayşe Yılmaz\"},"
             "{\"name\":\"Tckn_Vkn_Ykn\",\"value\":\"10000000146\"}],"
             "\"selected_input_values\":[{\"name\":\"OnBehalfOf\",\"selected_item\":"
             "{\"key\":\"K\",\"value\":\"Kendi adıma\"}}],\"amount\":%s,\"currency_code\":\"EUR\"}",
             reference, amount);
}

static void st_isbank_refused(const char *const h[], const char *body, long http, const char *code)
{
    st_resp r;
    st_post(&r, "/api/isbank/v1/bill-payments", h, body);
    assert_int_equal(r.status, http);
    json_object *o = st_json(&r);
    assert_true(json_object_is_type(st_at(o, "data"), json_type_null));
    assert_string_equal(st_str(o, "infos.0.code"), code);
    assert_true(strlen(st_str(o, "infos.0.message")) > 0);
    assert_non_null(st_at(o, "infos.0.message_for_customer"));
    json_object_put(o);
    st_resp_free(&r);
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

#define ST_PAYONE_AUTH \
    "\"merchantID\":\"testMercahnt\",\"authenticationToken\":\"N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm\""

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
    int saved_port = g.port;
    it_proc first = g.sim;
    st_start(NULL);
    json_object *b = st_control("/_sim/invoices?provider=SIPAY");
    tu_assert_json_equal(a, b);
    assert_int_equal(it_stop(&g.sim, SIGTERM, 5000), 0);
    g.sim = first;
    g.port = saved_port;
    snprintf(g.base, sizeof(g.base), "http://127.0.0.1:%d", g.port);
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
    assert_int_equal(it_stop(&g.sim, SIGTERM, 5000), 0);
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
    assert_int_equal(it_stop(&g.sim, SIGTERM, 5000), 0);
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
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_payofin, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_sipay, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_paywall, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_isbank, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_payone, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_control, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_adapters_roundtrip, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_latency, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_5xx_429, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_malformed, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_reset, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_paid_5xx, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_reset_after, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_blackhole, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_late, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_fault_flag, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_token_expiry, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_hostile, st_setup, st_teardown),
    };
    int failed = cmocka_run_group_tests_name("provider-sim", tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
