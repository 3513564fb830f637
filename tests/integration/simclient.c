/* simclient.c -- the provider-sim tests' harness; see simclient.h. */
#include "simclient.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_util.h"
#include "../unit/testutil.h"

#include "pv_json.h"
#include "pv_money.h"

const char *const st_payofin_headers[] = {"ApiKey: sim-payofin-api-key",
                                          "SecretKey: sim-payofin-secret-key",
                                          "Content-Type: application/json", NULL};
const char *const st_paywall_headers[] = {"apikeypublic: sim-paywall-key-public",
                                          "apiclientpublic: sim-paywall-client-public",
                                          "paymentid: 123456", NULL};
const char *const st_json_headers[] = {"Content-Type: application/json", NULL};
const char *const st_form_headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};

st_state st_g;

/*---- The simulator process ----*/

/* Starts provider-sim with the standard arguments plus `extra` (NULL-
 * terminated, may be NULL). */
void st_start(const char *const extra[])
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
    assert_int_equal(it_spawn(&st_g.sim, "provider-sim", argv, NULL), 0);
    char line[256];
    if (it_read_line(&st_g.sim, line, sizeof(line), 10000) != 0) {
        it_dump_log(&st_g.sim);
        fail_msg("provider-sim printed no listening= line");
    }
    assert_int_equal(strncmp(line, "listening=127.0.0.1:", 20), 0);
    st_g.port = (int)strtol(line + 20, NULL, 10);
    assert_true(st_g.port > 0 && st_g.port < 65536);
    snprintf(st_g.base, sizeof(st_g.base), "http://127.0.0.1:%d", st_g.port);
}

int st_setup(void **state)
{
    (void)state;
    it_test_begin();
    st_start(NULL);
    return 0;
}

int st_teardown(void **state)
{
    (void)state;
    int status = st_g.sim.pid > 0 ? it_stop(&st_g.sim, SIGTERM, 5000) : 0;
    it_test_end();
    /* SIGTERM must end it cleanly */
    assert_int_equal(status, 0);
    return 0;
}

/*---- HTTP with libcurl easy ----*/

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

void st_resp_free(st_resp *r)
{
    free(r->body);
    free(r->hdrs);
    memset(r, 0, sizeof(*r));
}

/* One call: body == NULL is a GET, otherwise a POST of body[0..len). */
void st_call(st_resp *r, const char *path, const char *const headers[], const char *body,
             size_t len, long timeout_ms)
{
    char url[512];
    struct curl_slist *hl = NULL;
    memset(r, 0, sizeof(*r));
    st_sink bs = {&r->body, &r->len}, hs = {&r->hdrs, &r->hlen};
    CURL *h = curl_easy_init();
    assert_non_null(h);
    snprintf(url, sizeof(url), "%s%s", st_g.base, path);
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

void st_get(st_resp *r, const char *path, const char *const headers[])
{
    st_call(r, path, headers, NULL, 0, 10000);
}

void st_post(st_resp *r, const char *path, const char *const headers[], const char *body)
{
    st_call(r, path, headers, body, strlen(body), 10000);
}

/* The answer as JSON; fails the test when it is not. Caller puts. */
json_object *st_json(const st_resp *r)
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
json_object *st_at(json_object *o, const char *path)
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

int64_t st_int(json_object *o, const char *path)
{
    json_object *v = st_at(o, path);
    if (v == NULL || !json_object_is_type(v, json_type_int))
        fail_msg("%s: expected an integer in %s", path, json_object_to_json_string(o));
    return json_object_get_int64(v);
}

const char *st_str(json_object *o, const char *path)
{
    json_object *v = st_at(o, path);
    if (v == NULL || !json_object_is_type(v, json_type_string))
        fail_msg("%s: expected a string in %.400s", path, json_object_to_json_string(o));
    return json_object_get_string(v);
}

bool st_bool(json_object *o, const char *path)
{
    json_object *v = st_at(o, path);
    if (v == NULL || !json_object_is_type(v, json_type_boolean))
        fail_msg("%s: expected a boolean in %.400s", path, json_object_to_json_string(o));
    return json_object_get_boolean(v);
}

/* An amount at path, exactly (minor units of currency). */
int64_t st_minor(json_object *o, const char *path, const char *currency)
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

void st_assert_shape(const char *fixture, json_object *got)
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

json_object *st_control(const char *path)
{
    st_resp r;
    st_get(&r, path, NULL);
    assert_int_equal(r.status, 200);
    json_object *o = st_json(&r);
    st_resp_free(&r);
    return o;
}

/* providers.<P>.<key> of /_sim/stats ("faults.blackhole" works too). */
int64_t st_stat(const char *provider, const char *key)
{
    char path[128];
    json_object *s = st_control("/_sim/stats");
    snprintf(path, sizeof(path), "providers.%s.%s", provider, key);
    int64_t v = st_int(s, path);
    json_object_put(s);
    return v;
}

void st_faults(const char *json)
{
    st_resp r;
    st_post(&r, "/_sim/faults", st_json_headers, json);
    if (r.status != 200)
        fail_msg("POST /_sim/faults %s: HTTP %ld %s", json, r.status, r.body);
    st_resp_free(&r);
}

/* The ledger entries of a provider (owned by *root, which the caller puts). */
json_object *st_ledger(const char *provider, json_object **root)
{
    char path[64];
    snprintf(path, sizeof(path), "/_sim/ledger?provider=%s", provider);
    *root = st_control(path);
    json_object *e = st_at(*root, "entries");
    assert_non_null(e);
    return e;
}

/* Form-encodes text (as HTML forms do) into a new string. */
char *st_form_encode(const char *text)
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
void st_payone(st_resp *r, const char *service, const char *json)
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
void st_token(const char *path, const char *const headers[], const char *form, char *out,
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

void st_payofin_pay(st_resp *r, const char *body)
{
    st_post(r, "/invoices/invoicepayment", st_payofin_headers, body);
}

/* Pays body and expects the refusal code. */
void st_payofin_refused(const char *body, int64_t code)
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

/*---- Sipay ----*/

void st_sipay_headers(const char *token, char *auth, size_t cap, const char *h[4])
{
    snprintf(auth, cap, "Authorization: Bearer %s", token);
    h[0] = auth;
    h[1] = "x-client-id: sim-sipay-client";
    h[2] = "Content-Type: application/json";
    h[3] = NULL;
}

/*---- İş Bankası ----*/

const char st_isbank_form[] =
    "grant_type=client_credentials&client_id=sim-isbank-client&client_secret=sim-isbank-secret";

void st_isbank_headers(const char *token, char *auth, size_t cap, const char *h[5])
{
    snprintf(auth, cap, "Authorization: Bearer %s", token);
    h[0] = auth;
    h[1] = "X-IBM-client-id: sim-isbank-client";
    h[2] = "X-IBM-client-secret: sim-isbank-secret";
    h[3] = "Content-Type: application/json";
    h[4] = NULL;
}

/* The contract command's body, with another reference and amount. */
void st_isbank_body(const char *reference, const char *amount, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"service_id\":10065,\"payment_reference\":\"%s\","
             "\"basic_input_values\":[{\"name\":\"SubscriberName\",\"value\":\"Ayşe Yılmaz\"},"
             "{\"name\":\"Tckn_Vkn_Ykn\",\"value\":\"10000000146\"}],"
             "\"selected_input_values\":[{\"name\":\"OnBehalfOf\",\"selected_item\":"
             "{\"key\":\"K\",\"value\":\"Kendi adıma\"}}],\"amount\":%s,\"currency_code\":\"EUR\"}",
             reference, amount);
}

void st_isbank_refused(const char *const h[], const char *body, long http, const char *code)
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

void st_run_begin(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int st_run_end(int failed)
{
    curl_global_cleanup();
    return failed;
}
