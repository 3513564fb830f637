/* pv_sipay.c -- Sipay Wallet invoice payment (seed 001, PROVIDERS.md "Sipay Wallet").
 *
 * DESIGN
 * POST /v1/InvoicePayment/MakePayment pays one invoice, found beforehand with
 * GetInvoicesByProductAndSubscriber, from a customer's e-money wallet. Headers:
 * `Authorization: Bearer <token>` (the worker fetches and caches the token with
 * the hooks below and hands it in pv_ctx.token), `x-client-id` (setting
 * client_id: the docs call it "your platform-specific client key"; we assume it
 * is the OAuth client id), Content-Type and Accept application/json.
 *
 * Body: every documented parameter, under its documented name and type, taken
 * from the command and checked here so that a wrong command is REJECTED before
 * it reaches Sipay:
 *   account_type_id   JSON integer, 1 (individual) or 2 (business); a digit
 *                     string is accepted and sent as an integer
 *   account_number, wallet_number, inv_payment_transaction_query_oid,
 *   product_oid, subscriber_no, bill_term, bill_no
 *                     JSON strings, non-empty, at most PV_ID_MAX-1 bytes, no
 *                     control characters. A JSON number is a type error, never
 *                     converted: subscriber_no "5536557580" has to stay a string
 *                     (leading zeros of GSM numbers and ids would be lost).
 *   invoice_amount, payment_amount
 *                     TRY, given as a JSON number or a decimal string, at most
 *                     2 decimals (TRY's exponent; "196.500" is refused rather
 *                     than silently reinterpreted), > 0, payment_amount <=
 *                     invoice_amount (partial payments: PV_CAP_PARTIAL).
 *                     Written with pv_json_new_money: 196.50 goes out as 196.50.
 *   tenant_id         not in the parameter table but present (an integer, 0)
 *                     in the seed's sample request: always sent, from the
 *                     command's tenant_id when given, otherwise from the
 *                     setting tenant_id (default "0").
 * An optional `currency` in the command is never sent; when present it must be
 * "TRY", so that a command meant for another currency cannot be paid in lira.
 * The lock key is inv_payment_transaction_query_oid; besides the checks above
 * it may hold no blank and no brace (it becomes part of a Redis hash tag).
 *
 * Answer: the envelope {status, code, message, payload}. `code` is documented
 * as a string ("100"); an integer is tolerated. `status` is not used: the docs
 * give it no meaning (the successful sample says 0). Classification:
 *   "100"  SUCCEEDED  paid.
 *   "300"  DECLINED   wallet not found or invalid: the payer's wallet named by
 *                     the command does not exist at Sipay; nothing was debited
 *                     and the same command can never succeed. Not INVALID: the
 *                     request was well formed, the refusal is about the data.
 *   "301"  DECLINED   duplicate external transaction id. MakePayment takes no
 *                     id of ours: Sipay uses inv_payment_transaction_query_oid
 *                     as the external id (the sample's ext_order_id equals it),
 *                     so 301 says this invoice transaction was already used by
 *                     an earlier payment. This call moved no money, and sending
 *                     it again gets 301 again: a final refusal. Whether that
 *                     earlier payment is ours (the idempotency store blocks a
 *                     second attempt of ours after an UNKNOWN, so normally it is
 *                     not) is for reconciliation; provider_code 301 lets
 *                     consumers tell it from other refusals.
 *   "311"  DECLINED   insufficient wallet balance.
 *   other codes       UNKNOWN on a 2xx answer: an undocumented code on a
 *                     payment may hide a payment that happened. On a non-2xx
 *                     answer an undocumented code adds nothing to the HTTP
 *                     status, which decides (pv_classify_http_default: 401/403
 *                     FATAL, 429/503 RETRY, other 4xx INVALID, 5xx UNKNOWN).
 *   "100" on a non-2xx answer, a body that is no envelope on a 2xx answer, or
 *   a success whose payload names another invoice transaction: UNKNOWN.
 *   no usable envelope on a non-2xx answer: pv_classify_http_default.
 *
 * Payload of a success (the payload of a refusal is not documented and is not
 * read): references payment_transaction_id, transaction_id, ext_order_id and
 * inv_payment_transaction_query_oid (what reconciliation needs), each under its
 * documented name. Amounts in TRY, exact text kept: transaction_amount
 * -> paid, transaction_fee -> fee, charged_amount -> charged (the sample's
 * 196.5000 / 0.000000 / 196.500000; digits past TRY's 2 are rounded half to
 * even by pv_money and flagged `rounded`, the text stays as received).
 * There is no payment time in the answer (created_date_utc is the wallet's
 * creation), so paid_at stays 0. The detail holds the receipt-related strings
 * (institution_name, receipt_output_print, receiver account and wallet, ...).
 * sender_wallet_info becomes one balance update: account = the wallet `number`
 * (account_number when absent), currency = currency_code (TRY when null),
 * total = total_balance, buckets "payment" and "cash" from payment_balance and
 * cash_balance, available / unavailable = the sums of the buckets', and the
 * six transaction_limits under their documented names. A success whose
 * payload cannot all be read (a reference, an amount, the wallet's balances
 * or limits) is UNKNOWN with res->error naming the field, as the core's
 * invariant demands: a garbled answer is not trusted to say what was paid.
 * What could be read (the references first) stays in the result. A success
 * with no payload at all is SUCCEEDED with nothing more to record.
 *
 * No inquiry hook: Sipay has no status call for one payment. Reconciliation is
 * a report (POST /v1/TransactionData/SummaryRecordByFilter, by wallet, date
 * range and external transaction id) whose rows an operator compares; an
 * UNKNOWN payment therefore waits for `payctl resolve`.
 *
 * Token (PV_CAP_OAUTH): POST /connect/token, a form body grant_type=
 * client_credentials, client_id, client_secret and scope (setting scope,
 * default "sts_business_api", the scope in Sipay's token example). The answer
 * {access_token, token_type, expires_in} gives the token; expires_in defaults
 * to the documented 3600 s when absent, and a token_type other than Bearer is
 * refused. Errors never quote the token nor the secret: a token body that is
 * not JSON is reported by its size only (the parser's excerpt could hold the
 * token). Non-2xx: 400/401/403 are PV_ECONFIG (RFC 6749 §5.2: bad client,
 * grant or scope), others PV_ERANGE (the status is out of the accepted range;
 * the worker may try again later). Sipay serves tokens from another host than
 * the API (idsuat.walletgate.io vs stsapiuat.walletgate.io in UAT): the path
 * is relative to the token base URL the worker is configured with.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider.h"
#include "pv_json.h"

enum { SIPAY_CLIENT_ID, SIPAY_CLIENT_SECRET, SIPAY_SCOPE, SIPAY_TENANT_ID };

static const pv_setting pv_sipay_settings[] = {
    [SIPAY_CLIENT_ID] = {.name = "client_id",
                         .secret = false,
                         .required = true,
                         .doc = "OAuth client id issued by Sipay, also sent as x-client-id"},
    [SIPAY_CLIENT_SECRET] = {.name = "client_secret",
                             .secret = true,
                             .required = true,
                             .doc = "OAuth client secret issued by Sipay"},
    [SIPAY_SCOPE] = {.name = "scope",
                     .default_value = "sts_business_api",
                     .doc = "OAuth scope asked for at /connect/token"},
    [SIPAY_TENANT_ID] = {.name = "tenant_id",
                         .default_value = "0",
                         .doc = "tenant_id sent when the command gives none (an integer)"},
    {.name = NULL},
};

#define SIPAY_CURRENCY         "TRY"
#define SIPAY_TOKEN_LIFETIME_S 3600 /* documented lifetime, used when expires_in is absent */
#define SIPAY_DETAIL_MAX       256  /* longest string copied into the detail (bytes) */
#define SIPAY_REF_QUERY_OID    "inv_payment_transaction_query_oid"

/*---- Result codes ----*/

typedef struct pv_sipay_code {
    const char *code;
    pv_outcome outcome;
    const char *meaning;
} pv_sipay_code;

/* PROVIDERS.md "Sipay Wallet"; the reasons are in the DESIGN comment. */
static const pv_sipay_code pv_sipay_codes[] = {
    {"100", PV_OUTCOME_SUCCEEDED, "success"},
    {"300", PV_OUTCOME_DECLINED, "wallet not found or invalid"},
    {"301", PV_OUTCOME_DECLINED, "duplicate external transaction id"},
    {"311", PV_OUTCOME_DECLINED, "insufficient wallet balance"},
};

static const pv_sipay_code *pv_sipay_lookup(const char *code)
{
    for (size_t i = 0; i < sizeof(pv_sipay_codes) / sizeof(pv_sipay_codes[0]); i++)
        if (strcmp(pv_sipay_codes[i].code, code) == 0)
            return &pv_sipay_codes[i];
    return NULL;
}

/*---- Request ----*/

/* The documented string parameters, in the order of the seed's sample. */
static const char *const pv_sipay_text_fields[] = {
    "account_number", "wallet_number", "inv_payment_transaction_query_oid",
    "product_oid",    "subscriber_no", "bill_term",
    "bill_no",
};
#define SIPAY_NTEXT (sizeof(pv_sipay_text_fields) / sizeof(pv_sipay_text_fields[0]))

/* Reads the required string parameter `key` of the command into buf. */
static int pv_sipay_text(json_object *in, const char *key, char *buf, size_t cap, pv_error *err)
{
    char path[64], q[96];
    snprintf(path, sizeof(path), "request.%s", key);
    int rc = pv_json_string(in, key, path, true, buf, cap, NULL, err);
    if (rc != PV_OK)
        return rc;
    if (buf[0] == '\0')
        return pv_error_set(err, PV_EFORMAT, path, "%s: string \"\" must not be empty", path);
    for (const char *p = buf; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f) {
            pv_utf8_quote(q, sizeof(q), buf, strlen(buf));
            return pv_error_set(err, PV_EFORMAT, path,
                                "%s: string \"%s\" contains a control character", path, q);
        }
    }
    return PV_OK;
}

static int pv_sipay_query_id(const pv_command *cmd, char *buf, size_t cap, pv_error *err)
{
    static const char path[] = "request.inv_payment_transaction_query_oid";
    char id[PV_ID_MAX], q[96];
    json_object *in;
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_sipay_text(in, "inv_payment_transaction_query_oid", id, sizeof(id), err);
    if (rc != PV_OK)
        return rc;
    if (strpbrk(id, " {}") != NULL) {
        pv_utf8_quote(q, sizeof(q), id, strlen(id));
        return pv_error_set(err, PV_EFORMAT, path,
                            "%s: \"%s\" may not contain blanks or braces (it is the lock key)",
                            path, q);
    }
    if (strlen(id) >= cap)
        return pv_error_set(err, PV_ETOOBIG, path, "%s: lock key buffer too small", path);
    snprintf(buf, cap, "%s", id);
    return PV_OK;
}

/* Reads the amount `key` in TRY: > 0 and at most TRY's 2 decimals. */
static int pv_sipay_amount(json_object *in, const char *key, pv_money *out, pv_error *err)
{
    char path[64], q[96];
    snprintf(path, sizeof(path), "request.%s", key);
    int rc = pv_json_money(in, key, path, true, SIPAY_CURRENCY, out, err);
    if (rc != PV_OK)
        return rc;
    pv_utf8_quote(q, sizeof(q), out->text, strlen(out->text));
    const char *dot = strchr(out->text, '.');
    size_t decimals = dot != NULL ? strlen(dot + 1) : 0;
    if (decimals > 2)
        return pv_error_set(err, PV_EFORMAT, path, "%s: amount \"%s\" has %zu decimals, TRY has 2",
                            path, q, decimals);
    if (out->minor <= 0)
        return pv_error_set(err, PV_ERANGE, path, "%s: amount \"%s\" must be greater than zero",
                            path, q);
    return PV_OK;
}

/* tenant_id: the command's, else the setting's. */
static int pv_sipay_tenant(json_object *in, const pv_ctx *ctx, int64_t *tenant, pv_error *err)
{
    static const char path[] = "request.tenant_id";
    char q[96];
    json_object *v = pv_json_member(in, "tenant_id");
    if (v != NULL) {
        int rc = pv_json_value_int64(v, path, tenant, err);
        if (rc != PV_OK)
            return rc;
        if (*tenant < 0)
            return pv_error_set(err, PV_ERANGE, path, "%s: %" PRId64 " must not be negative", path,
                                *tenant);
        return PV_OK;
    }
    const char *s = pv_provider_setting(&pv_sipay, ctx, SIPAY_TENANT_ID);
    if (s == NULL || pv_money_parse_int64(s, strlen(s), tenant) != PV_OK || *tenant < 0) {
        pv_utf8_quote(q, sizeof(q), s, s != NULL ? strlen(s) : 0);
        return pv_error_set(err, PV_ECONFIG, "tenant_id",
                            "setting tenant_id: \"%s\" is not a non-negative whole number", q);
    }
    return PV_OK;
}

static int pv_sipay_currency(json_object *in, pv_error *err)
{
    static const char path[] = "request.currency";
    char d[128];
    json_object *v = pv_json_member(in, "currency");
    if (v == NULL)
        return PV_OK;
    if (!json_object_is_type(v, json_type_string) ||
        strcmp(json_object_get_string(v), SIPAY_CURRENCY) != 0) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ECURRENCY, path,
                            "%s: %s is not TRY, the only currency of Sipay invoice payments", path,
                            d);
    }
    return PV_OK;
}

/* Authorization and x-client-id (Content-Type and Accept follow:
 * pv_request_post_json). Never quotes a value. */
static int pv_sipay_headers(const pv_ctx *ctx, pv_request *req, pv_error *err)
{
    char auth[PV_TOKEN_MAX + 8];
    const char *token = ctx != NULL ? ctx->token : NULL;
    const char *client_id = pv_provider_setting(&pv_sipay, ctx, SIPAY_CLIENT_ID);

    if (token == NULL || token[0] == '\0')
        return pv_error_set(err, PV_ECONFIG, "Authorization",
                            "Authorization: no bearer token (fetch one from /connect/token)");
    if (strlen(token) >= PV_TOKEN_MAX)
        return pv_error_set(err, PV_ETOOBIG, "Authorization",
                            "Authorization: bearer token longer than %d bytes", PV_TOKEN_MAX - 1);
    if (client_id == NULL)
        return pv_error_set(err, PV_ECONFIG, "client_id",
                            "setting client_id is not configured (x-client-id header)");
    snprintf(auth, sizeof(auth), "Bearer %s", token);
    int rc = pv_request_add_header(req, "Authorization", auth, err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "x-client-id", client_id, err);
    return rc;
}

static int pv_sipay_build_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                  pv_error *err)
{
    json_object *in;
    char id[PV_ID_MAX];
    char text[SIPAY_NTEXT][PV_ID_MAX];
    int64_t type_id, tenant;
    pv_money invoice, payment;

    pv_request_init(req);
    int rc = pv_sipay_query_id(cmd, id, sizeof(id), err);
    if (rc != PV_OK)
        return rc;
    pv_command_request(cmd, &in, err);
    rc = pv_sipay_tenant(in, ctx, &tenant, err);
    if (rc == PV_OK)
        rc = pv_json_int64(in, "account_type_id", "request.account_type_id", true, &type_id, NULL,
                           err);
    if (rc == PV_OK && type_id != 1 && type_id != 2)
        rc = pv_error_set(err, PV_ERANGE, "request.account_type_id",
                          "request.account_type_id: %" PRId64
                          " is neither 1 (individual) nor 2 (business)",
                          type_id);
    for (size_t i = 0; i < SIPAY_NTEXT && rc == PV_OK; i++)
        rc = pv_sipay_text(in, pv_sipay_text_fields[i], text[i], sizeof(text[i]), err);
    if (rc == PV_OK)
        rc = pv_sipay_amount(in, "invoice_amount", &invoice, err);
    if (rc == PV_OK)
        rc = pv_sipay_amount(in, "payment_amount", &payment, err);
    if (rc == PV_OK && payment.minor > invoice.minor) {
        char qp[96], qi[96];
        pv_utf8_quote(qp, sizeof(qp), payment.text, strlen(payment.text));
        pv_utf8_quote(qi, sizeof(qi), invoice.text, strlen(invoice.text));
        rc = pv_error_set(err, PV_ERANGE, "request.payment_amount",
                          "request.payment_amount: \"%s\" exceeds invoice_amount \"%s\"", qp, qi);
    }
    if (rc == PV_OK)
        rc = pv_sipay_currency(in, err);
    if (rc != PV_OK)
        return rc;

    json_object *body = json_object_new_object();
    json_object_object_add(body, "tenant_id", json_object_new_int64(tenant));
    json_object_object_add(body, "account_type_id", json_object_new_int64(type_id));
    for (size_t i = 0; i < SIPAY_NTEXT; i++) {
        json_object_object_add(body, pv_sipay_text_fields[i], json_object_new_string(text[i]));
        if (i == 2) { /* the amounts follow the query oid, as in the sample */
            json_object_object_add(body, "invoice_amount", pv_json_new_money(&invoice));
            json_object_object_add(body, "payment_amount", pv_json_new_money(&payment));
        }
    }

    rc = pv_sipay_headers(ctx, req, err);
    return pv_request_post_json(req, rc, "/v1/InvoicePayment/MakePayment", body, err);
}

/*---- Response ----*/

/* Reads the envelope: code (string, or an integer tolerated) and message. */
static int pv_sipay_envelope(const char *body, size_t len, json_object **root, char *code,
                             size_t cap, pv_result *res, pv_error *err)
{
    char msg[PV_MSG_MAX] = "";
    int64_t n;

    int rc = pv_json_parse_object(body, len, "Sipay response", root, err);
    if (rc != PV_OK)
        return rc;
    json_object *c = pv_json_member(*root, "code");
    if (c == NULL)
        return pv_error_set(err, PV_EMISSING, "code", "code: required field is missing");
    if (json_object_is_type(c, json_type_int)) {
        rc = pv_json_value_int64(c, "code", &n, err);
        if (rc != PV_OK)
            return rc;
        snprintf(code, cap, "%" PRId64, n);
    } else {
        rc = pv_json_string(*root, "code", "code", true, code, cap, NULL, err);
        if (rc != PV_OK)
            return rc;
    }
    /* a message that is not a string or is too long is not worth failing for */
    pv_error ignored = {0};
    pv_json_string(*root, "message", "message", false, msg, sizeof(msg), NULL, &ignored);
    pv_result_set_code(res, code, msg);
    return PV_OK;
}

/* The member `key` as the reference `name`: a string (an integer tolerated);
 * absent, null or "" is skipped. An id too long for a reference is an error,
 * never cut. */
static int pv_sipay_ref(json_object *payload, const char *key, const char *name, pv_result *res,
                        pv_error *err)
{
    char path[64], value[PV_ID_MAX];
    int64_t n;
    bool present;
    int rc;

    snprintf(path, sizeof(path), "payload.%s", key);
    json_object *v = pv_json_member(payload, key);
    if (v != NULL && json_object_is_type(v, json_type_int)) {
        rc = pv_json_value_int64(v, path, &n, err);
        if (rc != PV_OK)
            return rc;
        snprintf(value, sizeof(value), "%" PRId64, n);
        present = true;
    } else {
        rc = pv_json_string(payload, key, path, false, value, sizeof(value), &present, err);
        if (rc != PV_OK)
            return rc;
    }
    if (present && value[0] != '\0')
        return pv_result_add_ref(res, name, value);
    return PV_OK;
}

/* Adds m to *sum when m is set; *any tells whether *sum holds a value yet. */
static int pv_sipay_sum(pv_money *sum, bool *any, const pv_money *m, const char *path,
                        pv_error *err)
{
    if (!pv_money_isset(m))
        return PV_OK;
    if (!*any) {
        pv_money_from_minor(0, m->currency, sum, NULL);
        *any = true;
    }
    if (pv_money_add(sum, m, sum) != PV_OK)
        return pv_error_set(err, PV_ERANGE, path, "%s: the sum of the buckets overflows", path);
    return PV_OK;
}

static int pv_sipay_object(json_object *parent, const char *key, const char *path,
                           json_object **out, pv_error *err)
{
    char d[128];
    *out = pv_json_member(parent, key);
    if (*out != NULL && !json_object_is_type(*out, json_type_object)) {
        pv_json_describe(*out, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, path, "%s: expected an object, got %s", path, d);
    }
    return PV_OK;
}

/* sender_wallet_info -> *b. */
static int pv_sipay_balance(json_object *w, pv_balance *b, pv_error *err)
{
    static const struct {
        const char *name, *key;
    } buckets[] = {{"payment", "payment_balance"}, {"cash", "cash_balance"}};
    static const char *const limits[] = {
        "max_balance",      "topup_credit_limit", "topup_cash_limit",
        "withdrawal_limit", "payment_limit",      "wallet_to_wallet_limit",
    };
    char path[128], q[96];
    bool present, any_available = false, any_unavailable = false;
    json_object *o;

    memset(b, 0, sizeof(*b));
    int rc = pv_json_string(w, "number", "payload.sender_wallet_info.number", false, b->account,
                            sizeof(b->account), &present, err);
    if (rc == PV_OK && (!present || b->account[0] == '\0'))
        rc = pv_json_string(w, "account_number", "payload.sender_wallet_info.account_number", true,
                            b->account, sizeof(b->account), NULL, err);
    if (rc == PV_OK)
        rc = pv_json_string(w, "currency_code", "payload.sender_wallet_info.currency_code", false,
                            b->currency, sizeof(b->currency), &present, err);
    if (rc != PV_OK)
        return rc;
    if (!present)
        snprintf(b->currency, sizeof(b->currency), "%s", SIPAY_CURRENCY);
    if (pv_currency_by_alpha(b->currency) == NULL) {
        pv_utf8_quote(q, sizeof(q), b->currency, strlen(b->currency));
        return pv_error_set(err, PV_ECURRENCY, "payload.sender_wallet_info.currency_code",
                            "payload.sender_wallet_info.currency_code: unknown currency \"%s\"", q);
    }
    rc = pv_json_money(w, "total_balance", "payload.sender_wallet_info.total_balance", false,
                       b->currency, &b->total, err);
    for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]) && rc == PV_OK; i++) {
        snprintf(path, sizeof(path), "payload.sender_wallet_info.%s", buckets[i].key);
        rc = pv_sipay_object(w, buckets[i].key, path, &o, err);
        if (rc != PV_OK || o == NULL)
            continue;
        pv_bucket *k = &b->buckets[b->nbuckets++];
        snprintf(k->name, sizeof(k->name), "%s", buckets[i].name);
        snprintf(path, sizeof(path), "payload.sender_wallet_info.%s.available", buckets[i].key);
        rc = pv_json_money(o, "available", path, false, b->currency, &k->available, err);
        if (rc == PV_OK)
            rc = pv_sipay_sum(&b->available, &any_available, &k->available, path, err);
        snprintf(path, sizeof(path), "payload.sender_wallet_info.%s.unavailable", buckets[i].key);
        if (rc == PV_OK)
            rc = pv_json_money(o, "unavailable", path, false, b->currency, &k->unavailable, err);
        if (rc == PV_OK)
            rc = pv_sipay_sum(&b->unavailable, &any_unavailable, &k->unavailable, path, err);
    }
    if (rc == PV_OK)
        rc = pv_sipay_object(w, "transaction_limits",
                             "payload.sender_wallet_info.transaction_limits", &o, err);
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]) && rc == PV_OK && o != NULL; i++) {
        pv_limit *l = &b->limits[b->nlimits];
        snprintf(path, sizeof(path), "payload.sender_wallet_info.transaction_limits.%s", limits[i]);
        rc = pv_json_money(o, limits[i], path, false, b->currency, &l->amount, err);
        if (rc == PV_OK && pv_money_isset(&l->amount)) {
            snprintf(l->name, sizeof(l->name), "%s", limits[i]);
            b->nlimits++;
        }
    }
    return rc;
}

/* The receipt-related strings of the payload, as the result's detail. */
static json_object *pv_sipay_detail(json_object *payload)
{
    static const char *const keys[] = {
        "invoice_type",
        "receipt_output_print",
        "institution_name",
        "business_code",
        "business_name",
        "friendly_name",
        "receiver_account_number",
        "receiver_wallet_number",
    };
    json_object *detail = NULL;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_object *v = pv_json_member(payload, keys[i]);
        if (v == NULL || !json_object_is_type(v, json_type_string))
            continue;
        int len = json_object_get_string_len(v);
        if (len == 0 || len >= SIPAY_DETAIL_MAX)
            continue;
        if (detail == NULL)
            detail = json_object_new_object();
        json_object_object_add(detail, keys[i],
                               json_object_new_string_len(json_object_get_string(v), len));
    }
    return detail;
}

static int pv_sipay_payload(json_object *root, pv_result *res, pv_error *err)
{
    static const struct {
        const char *key, *name;
    } refs[] = {
        {"inv_payment_transaction_query_oid", SIPAY_REF_QUERY_OID},
        {"payment_transaction_id", "payment_transaction_id"},
        {"transaction_id", "transaction_id"},
        {"ext_order_id", "ext_order_id"},
    };
    json_object *p, *w;
    pv_balance balance;

    int rc = pv_sipay_object(root, "payload", "payload", &p, err);
    if (rc != PV_OK || p == NULL)
        return rc; /* success without a payload: paid, nothing more to record */
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]) && rc == PV_OK; i++)
        rc = pv_sipay_ref(p, refs[i].key, refs[i].name, res, err);
    if (rc == PV_OK)
        rc = pv_json_money(p, "transaction_amount", "payload.transaction_amount", false,
                           SIPAY_CURRENCY, &res->paid, err);
    if (rc == PV_OK)
        rc = pv_json_money(p, "transaction_fee", "payload.transaction_fee", false, SIPAY_CURRENCY,
                           &res->fee, err);
    if (rc == PV_OK)
        rc = pv_json_money(p, "charged_amount", "payload.charged_amount", false, SIPAY_CURRENCY,
                           &res->charged, err);
    if (rc != PV_OK)
        return rc;
    res->detail = pv_sipay_detail(p);
    rc = pv_sipay_object(p, "sender_wallet_info", "payload.sender_wallet_info", &w, err);
    if (rc != PV_OK || w == NULL)
        return rc;
    rc = pv_sipay_balance(w, &balance, err);
    if (rc == PV_OK && res->nbalances < PV_BALANCES_MAX)
        res->balances[res->nbalances++] = balance;
    return rc;
}

/* The payload of a success must be about the command's invoice transaction. */
static int pv_sipay_same_invoice(const pv_command *cmd, const pv_result *res, pv_error *err)
{
    char want[PV_ID_MAX], q1[96], q2[96];
    pv_error ignored = {0};
    const char *got = pv_result_ref(res, SIPAY_REF_QUERY_OID);
    if (cmd == NULL || got == NULL || pv_sipay_query_id(cmd, want, sizeof(want), &ignored) != PV_OK)
        return PV_OK;
    if (strcmp(got, want) == 0)
        return PV_OK;
    pv_utf8_quote(q1, sizeof(q1), got, strlen(got));
    pv_utf8_quote(q2, sizeof(q2), want, strlen(want));
    return pv_error_set(err, PV_EVALIDATION, "payload.inv_payment_transaction_query_oid",
                        "payload.inv_payment_transaction_query_oid: \"%s\" is not the command's "
                        "\"%s\"",
                        q1, q2);
}

static void pv_sipay_parse_response(const pv_command *cmd, int http_status, const char *body,
                                    size_t len, pv_result *res)
{
    json_object *root = NULL;
    char code[PV_CODE_MAX] = "";
    pv_error err = {0};
    bool is_2xx = http_status >= 200 && http_status < 300;

    res->http_status = http_status;
    int rc = pv_sipay_envelope(body, len, &root, code, sizeof(code), res, &err);
    if (rc != PV_OK) {
        /* no usable envelope: the HTTP status decides; a 2xx we cannot read
         * on a payment may have paid */
        pv_result_fail(
            res, is_2xx ? PV_OUTCOME_UNKNOWN : pv_classify_http_default(&pv_sipay, http_status),
            &err);
        goto out;
    }
    const pv_sipay_code *c = pv_sipay_lookup(code);
    if (c == NULL) {
        char q[96];
        pv_utf8_quote(q, sizeof(q), code, strlen(code));
        pv_error_set(&err, PV_ERANGE, "code", "code: \"%s\" is not documented (HTTP %d)", q,
                     http_status);
        pv_result_fail(
            res, is_2xx ? PV_OUTCOME_UNKNOWN : pv_classify_http_default(&pv_sipay, http_status),
            &err);
        goto out;
    }
    if (res->provider_message[0] == '\0')
        pv_result_set_code(res, code, c->meaning); /* code: not res's own buffer */
    if (c->outcome != PV_OUTCOME_SUCCEEDED) {
        res->outcome = c->outcome;
        goto out;
    }
    if (!is_2xx) {
        pv_error_set(&err, PV_EVALIDATION, "code",
                     "code: \"%s\" (success) contradicts HTTP status %d", code, http_status);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    res->outcome = PV_OUTCOME_SUCCEEDED;
    /* a success whose payload we cannot read is UNKNOWN: we do not know what
     * was paid (the core enforces it too); a success about another invoice
     * transaction says nothing of ours. What was read (the references) stays
     * in res for reconciliation. */
    if (pv_sipay_payload(root, res, &err) != PV_OK ||
        pv_sipay_same_invoice(cmd, res, &err) != PV_OK)
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
out:
    pv_error_clear(&err);
    json_object_put(root);
}

/*---- Token ----*/

static int pv_sipay_build_token_request(const pv_ctx *ctx, pv_request *req, pv_error *err)
{
    return pv_oauth_token_request(req, "/connect/token",
                                  pv_provider_setting(&pv_sipay, ctx, SIPAY_CLIENT_ID),
                                  pv_provider_setting(&pv_sipay, ctx, SIPAY_CLIENT_SECRET),
                                  pv_provider_setting(&pv_sipay, ctx, SIPAY_SCOPE), err);
}

static int pv_sipay_parse_token(int http_status, const char *body, size_t len, pv_token *tok,
                                pv_error *err)
{
    return pv_oauth_parse_token("Sipay token endpoint", http_status, body, len,
                                SIPAY_TOKEN_LIFETIME_S, tok, err);
}

const pv_provider pv_sipay = {
    .name = "SIPAY",
    .operation = "MakePayment",
    .query_id_field = "inv_payment_transaction_query_oid",
    .caps = PV_CAP_OAUTH | PV_CAP_BALANCE | PV_CAP_PARTIAL,
    .settings = pv_sipay_settings,
    .query_id = pv_sipay_query_id,
    .build_request = pv_sipay_build_request,
    .parse_response = pv_sipay_parse_response,
    .build_token_request = pv_sipay_build_token_request,
    .parse_token = pv_sipay_parse_token,
};
