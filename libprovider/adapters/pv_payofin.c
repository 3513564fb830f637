/* pv_payofin.c -- Payofin invoice payment (seed 000, PROVIDERS.md "Payofin").
 *
 * DESIGN
 * POST /invoices/invoicepayment {invoiceQueryId, partialAmount?} with the
 * headers ApiKey and SecretKey. Both body fields are JSON integers: the seed
 * says partialAmount "must be (int)", so a command's 1.5 is refused here
 * instead of being sent and answered -8. partialAmount is sent only when the
 * command gives it.
 *
 * The answer is the envelope {result, resultCode, resultMessage} (the document
 * spells the keys with a capital, the sample in lower case: look-ups ignore
 * case) with payofinPaymentDetails on success. Every documented resultCode is
 * mapped in pv_payofin_codes; an undocumented code on a payment is UNKNOWN.
 * paymentAmount becomes `paid`, profit `fee`, paymentDate (Istanbul local
 * time) `paid_at` in UTC, and balance (the merchant's prepaid balance at
 * Payofin, TRY) a balance update for account "default": the balance is the
 * one of the merchant whose ApiKey made the call, whatever the command's
 * `merchant` says (keying it by that field put one balance under two keys,
 * PAYOFIN:default and PAYOFIN:<merchant>, issue 11). One fleet serves one
 * set of Payofin credentials; two fleets with different credentials need
 * their own balances topics.
 *
 * Inquiry: after a timeout Payofin has no status call keyed by what we know
 * (invoicecheck needs the invoicePaymentId the lost answer carried), so the
 * inquiry re-runs the invoice query when the command carries the optional
 * `invoiceQuery` object {sootCode, subscriberNo, additionalNo, firmRefNo}
 * (never sent with the payment). -10 (already paid) or -1 (no debt) settle the
 * payment as done; the invoice still listed as open settles it as not paid.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "provider.h"
#include "pv_json.h"
#include "pv_time.h"

enum { PAYOFIN_API_KEY, PAYOFIN_SECRET_KEY };

static const pv_setting pv_payofin_settings[] = {
    [PAYOFIN_API_KEY] = {.name = "api_key",
                         .secret = true,
                         .required = true,
                         .doc = "ApiKey header issued by Payofin"},
    [PAYOFIN_SECRET_KEY] = {.name = "secret_key",
                            .secret = true,
                            .required = true,
                            .doc = "SecretKey header issued by Payofin"},
    {.name = NULL},
};

/*---- Result codes ----*/

typedef struct pv_payofin_code {
    int code;
    pv_outcome outcome;
    const char *meaning;
} pv_payofin_code;

/* PROVIDERS.md "Payofin". Closed institutions (-3/-4) and the per-transaction
 * cap (-5) are business refusals: retrying within minutes cannot help. -6 and
 * -24 say nothing reached the institution for us: safe to retry. -18 is a
 * server error on a payment: it may have happened. */
static const pv_payofin_code pv_payofin_codes[] = {
    {1, PV_OUTCOME_SUCCEEDED, "success"},
    {-1, PV_OUTCOME_DECLINED, "no debt"},
    {-3, PV_OUTCOME_DECLINED, "institution closed (working hours)"},
    {-4, PV_OUTCOME_DECLINED, "institution closed (holiday)"},
    {-5, PV_OUTCOME_DECLINED, "over 20,000 TL per transaction"},
    {-6, PV_OUTCOME_RETRY, "institution connection problem"},
    {-8, PV_OUTCOME_INVALID, "partial amount must be an integer"},
    {-10, PV_OUTCOME_DECLINED, "already paid"},
    {-11, PV_OUTCOME_DECLINED, "no record"},
    {-14, PV_OUTCOME_INVALID, "invalid subscriberNo"},
    {-15, PV_OUTCOME_INVALID, "invalid firmRefNo"},
    {-16, PV_OUTCOME_INVALID, "invalid additionalNo"},
    {-17, PV_OUTCOME_INVALID, "invalid sootCode"},
    {-18, PV_OUTCOME_UNKNOWN, "server error"},
    {-19, PV_OUTCOME_DECLINED, "invoice not found"},
    {-20, PV_OUTCOME_INVALID, "partial amount greater than invoice"},
    {-22, PV_OUTCOME_FATAL, "bad credentials"},
    {-24, PV_OUTCOME_RETRY, "subscriber being processed at another bank"},
    {-25, PV_OUTCOME_DECLINED, "not authorised for this debt"},
};

static const pv_payofin_code *pv_payofin_lookup(int64_t code)
{
    for (size_t i = 0; i < sizeof(pv_payofin_codes) / sizeof(pv_payofin_codes[0]); i++)
        if (pv_payofin_codes[i].code == code)
            return &pv_payofin_codes[i];
    return NULL;
}

/*---- Request ----*/

static int pv_payofin_query_id(const pv_command *cmd, char *buf, size_t cap, pv_error *err)
{
    json_object *req;
    int64_t id;
    int rc = pv_command_request(cmd, &req, err);
    if (rc == PV_OK)
        rc = pv_json_int64(req, "invoiceQueryId", "request.invoiceQueryId", true, &id, NULL, err);
    if (rc != PV_OK)
        return rc;
    if (id <= 0)
        return pv_error_set(err, PV_ERANGE, "request.invoiceQueryId",
                            "request.invoiceQueryId: %" PRId64 " must be a positive integer", id);
    snprintf(buf, cap, "%" PRId64, id);
    return PV_OK;
}

static int pv_payofin_auth_headers(const pv_ctx *ctx, pv_request *req, pv_error *err)
{
    int rc = pv_request_add_header(req, "ApiKey",
                                   pv_provider_setting(&pv_payofin, ctx, PAYOFIN_API_KEY), err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "SecretKey",
                                   pv_provider_setting(&pv_payofin, ctx, PAYOFIN_SECRET_KEY), err);
    return rc;
}

/* Fills req with a POST of body (taken) to path, with the headers above
 * (then Content-Type and Accept: pv_request_post_json). */
static int pv_payofin_post(const pv_ctx *ctx, const char *path, json_object *body, pv_request *req,
                           pv_error *err)
{
    pv_request_init(req);
    int rc = pv_payofin_auth_headers(ctx, req, err);
    return pv_request_post_json(req, rc, path, body, err);
}

static int pv_payofin_build_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                    pv_error *err)
{
    json_object *in;
    int64_t id, partial = 0;
    bool has_partial = false;
    char idbuf[32];

    int rc = pv_payofin_query_id(cmd, idbuf, sizeof(idbuf), err);
    if (rc != PV_OK)
        return rc;
    pv_command_request(cmd, &in, err);
    pv_json_int64(in, "invoiceQueryId", "request.invoiceQueryId", true, &id, NULL, err);
    json_object *pa = pv_json_member(in, "partialAmount");
    if (pa != NULL) {
        char d[128];
        if (json_object_is_type(pa, json_type_double)) {
            pv_json_describe(pa, d, sizeof(d));
            return pv_error_set(err, PV_EFORMAT, "request.partialAmount",
                                "request.partialAmount: %s must be a whole number (Payofin "
                                "takes integer partial amounts)",
                                d);
        }
        rc = pv_json_value_int64(pa, "request.partialAmount", &partial, err);
        if (rc != PV_OK)
            return rc;
        if (partial <= 0)
            return pv_error_set(err, PV_ERANGE, "request.partialAmount",
                                "request.partialAmount: %" PRId64 " must be greater than zero",
                                partial);
        has_partial = true;
    }

    json_object *body = json_object_new_object();
    json_object_object_add(body, "invoiceQueryId", json_object_new_int64(id));
    if (has_partial)
        json_object_object_add(body, "partialAmount", json_object_new_int64(partial));

    return pv_payofin_post(ctx, "/invoices/invoicepayment", body, req, err);
}

/*---- Response ----*/

/* Reads the envelope; on success *code holds resultCode. Returns PV_OK or an
 * error describing what is wrong with the body. */
static int pv_payofin_envelope(const char *body, size_t len, json_object **root, int64_t *code,
                               pv_result *res, pv_error *err)
{
    char msg[PV_MSG_MAX] = "";
    char codebuf[24];
    bool ok = false, has_ok = false;

    int rc = pv_json_parse(body, len, "Payofin response", root, err);
    if (rc != PV_OK)
        return rc;
    if (!json_object_is_type(*root, json_type_object))
        return pv_error_set(err, PV_ETYPE, "", "Payofin response: expected an object");
    rc = pv_json_int64(*root, "resultCode", "resultCode", true, code, NULL, err);
    if (rc != PV_OK)
        return rc;
    rc = pv_json_bool(*root, "result", "result", false, &ok, &has_ok, err);
    if (rc != PV_OK)
        return rc;
    /* a message that is not a string or is too long is not worth failing for */
    pv_error ignored = {0};
    pv_json_string(*root, "resultMessage", "resultMessage", false, msg, sizeof(msg), NULL,
                   &ignored);
    snprintf(codebuf, sizeof(codebuf), "%" PRId64, *code);
    pv_result_set_code(res, codebuf, msg);
    if (has_ok && ok != (*code == 1))
        return pv_error_set(err, PV_EFORMAT, "result", "result: %s contradicts resultCode %" PRId64,
                            ok ? "true" : "false", *code);
    return PV_OK;
}

static int pv_payofin_details(json_object *root, pv_result *res, pv_error *err)
{
    char when[40];
    int64_t payment_id;
    bool present;
    pv_money balance;

    json_object *det = pv_json_member(root, "payofinPaymentDetails");
    if (det == NULL)
        return PV_OK; /* success without details: paid, nothing more to record */
    if (!json_object_is_type(det, json_type_object)) {
        char d[128];
        pv_json_describe(det, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, "payofinPaymentDetails",
                            "payofinPaymentDetails: expected an object, got %s", d);
    }
    int rc = pv_json_int64(det, "invoicePaymentId", "payofinPaymentDetails.invoicePaymentId", false,
                           &payment_id, &present, err);
    if (rc != PV_OK)
        return rc;
    if (present) {
        char idbuf[24];
        snprintf(idbuf, sizeof(idbuf), "%" PRId64, payment_id);
        pv_result_add_ref(res, "invoicePaymentId", idbuf);
    }
    rc = pv_json_money(det, "paymentAmount", "payofinPaymentDetails.paymentAmount", false, "TRY",
                       &res->paid, err);
    if (rc == PV_OK)
        rc = pv_json_money(det, "profit", "payofinPaymentDetails.profit", false, "TRY", &res->fee,
                           err);
    if (rc == PV_OK)
        rc = pv_json_money(det, "balance", "payofinPaymentDetails.balance", false, "TRY", &balance,
                           err);
    if (rc != PV_OK)
        return rc;
    if (pv_money_isset(&balance)) {
        pv_balance *b = &res->balances[res->nbalances++];
        memset(b, 0, sizeof(*b));
        /* the credentials' merchant's balance: one account, one key */
        snprintf(b->account, sizeof(b->account), "default");
        memcpy(b->currency, "TRY", 4);
        b->total = balance;
        b->available = balance;
    }
    rc = pv_json_string(det, "paymentDate", "payofinPaymentDetails.paymentDate", false, when,
                        sizeof(when), &present, err);
    if (rc == PV_OK && present)
        rc = pv_time_parse_tr_local(when, "payofinPaymentDetails.paymentDate", &res->paid_at_ms,
                                    err);
    return rc;
}

static void pv_payofin_parse_response(const pv_command *cmd, int http_status, const char *body,
                                      size_t len, pv_result *res)
{
    (void)cmd; /* the answer alone says what happened */
    json_object *root = NULL;
    int64_t code = 0;
    pv_error err = {0};

    res->http_status = http_status;
    int rc = pv_payofin_envelope(body, len, &root, &code, res, &err);
    if (rc != PV_OK) {
        /* no usable envelope: the HTTP status decides; a 2xx we cannot read
         * on a payment may have paid */
        pv_outcome o = http_status >= 200 && http_status < 300
                           ? PV_OUTCOME_UNKNOWN
                           : pv_classify_http_default(&pv_payofin, http_status);
        pv_result_fail(res, o, &err);
        goto out;
    }
    const pv_payofin_code *c = pv_payofin_lookup(code);
    if (c == NULL) {
        pv_error_set(&err, PV_ERANGE, "resultCode", "resultCode: %" PRId64 " is not documented",
                     code);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    res->outcome = c->outcome;
    if (res->provider_message[0] == '\0')
        pv_result_set_message(res, c->meaning);
    if (c->outcome == PV_OUTCOME_SUCCEEDED) {
        /* a success whose details we cannot read is UNKNOWN: we do not know
         * what was paid */
        if (pv_payofin_details(root, res, &err) != PV_OK)
            pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
    }
out:
    pv_error_clear(&err);
    json_object_put(root);
}

/*---- Inquiry: re-run the invoice query ----*/

static int pv_payofin_build_inquiry(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                    pv_error *err)
{
    static const char *const keys[] = {"sootCode", "subscriberNo", "additionalNo", "firmRefNo"};
    json_object *in;
    int rc = pv_command_request(cmd, &in, err);
    if (rc != PV_OK)
        return rc;
    json_object *q = pv_json_member(in, "invoiceQuery");
    if (q == NULL || !json_object_is_type(q, json_type_object))
        return pv_error_set(err, PV_EUNSUPPORTED, "request.invoiceQuery",
                            "request.invoiceQuery: absent, so the payment cannot be re-queried");
    json_object *body = json_object_new_object();
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_object *v = pv_json_member(q, keys[i]);
        if (v != NULL)
            json_object_object_add(body, keys[i], json_object_get(v));
    }
    return pv_payofin_post(ctx, "/invoices/invoicequery", body, req, err);
}

static void pv_payofin_parse_inquiry(const pv_command *cmd, int http_status, const char *body,
                                     size_t len, pv_result *res)
{
    json_object *root = NULL;
    int64_t code = 0, want = 0;
    pv_error err = {0};

    res->http_status = http_status;
    if (pv_payofin_envelope(body, len, &root, &code, res, &err) != PV_OK ||
        pv_json_int64(cmd->request, "invoiceQueryId", "request.invoiceQueryId", true, &want, NULL,
                      &err) != PV_OK) {
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    if (code == -10 || code == -1) {
        res->outcome = PV_OUTCOME_SUCCEEDED; /* nothing left to pay: ours went through */
        goto out;
    }
    res->outcome = PV_OUTCOME_UNKNOWN;
    json_object *list = pv_json_member(root, "invoiceList");
    if (code != 1 || list == NULL || !json_object_is_type(list, json_type_array))
        goto out;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        int64_t id;
        pv_error ignored = {0};
        json_object *inv = json_object_array_get_idx(list, i);
        if (pv_json_int64(inv, "invoiceQueryId", "invoiceList[].invoiceQueryId", true, &id, NULL,
                          &ignored) == PV_OK &&
            id == want) {
            res->outcome = PV_OUTCOME_DECLINED; /* still open: ours did not pay it */
            break;
        }
    }
out:
    pv_error_clear(&err);
    json_object_put(root);
}

const pv_provider pv_payofin = {
    .name = "PAYOFIN",
    .operation = "invoicepayment",
    .query_id_field = "invoiceQueryId",
    .caps = PV_CAP_INQUIRY | PV_CAP_PARTIAL | PV_CAP_BALANCE,
    .settings = pv_payofin_settings,
    .query_id = pv_payofin_query_id,
    .build_request = pv_payofin_build_request,
    .parse_response = pv_payofin_parse_response,
    .build_inquiry = pv_payofin_build_inquiry,
    .parse_inquiry = pv_payofin_parse_inquiry,
};
