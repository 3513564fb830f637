/* pv_payone.c -- STS PayOne SmartLink completeInvoice: capture of a
 * pre-authorised invoice (seed 004, PROVIDERS.md "PayOne SmartLink").
 *
 * DESIGN
 * What it sends. POST /rest/InvoicesService/completeInvoice (the seed writes
 * the path without its leading slash) with Content-Type
 * application/x-www-form-urlencoded and ONE form field, `invoice` by default
 * (setting form_field), whose value is the URL-encoded compact JSON
 *   {"merchantID", "authenticationToken",
 *    "invoicesDetails":[{"invoiceID", "amount", "currency"}]}
 * merchantID and authenticationToken come from the settings merchant_id and
 * authentication_token: credentials never travel in commands, so a command
 * that carries either, at its top level or in its invoice, is refused
 * (EVALIDATION; the value is never quoted).
 * The form value is encoded as HTML forms do: ASCII letters, digits and
 * "-._*" stay, a blank becomes '+', every other byte becomes %XX.
 *
 * The command carries the documented parameters:
 *   {"invoicesDetails":[{"invoiceID":"30231175","amount":"100","currency":"840"}]}
 * - invoicesDetails: an array of exactly one invoice. PayOne completes several
 *   per call (PV_CAP_BATCH), but the lock key is one invoiceID (query_id), so
 *   a command with more than one is refused (EUNSUPPORTED) and an empty one
 *   too (ERANGE).
 * - invoiceID: a JSON string of 1..64 ASCII letters and digits (the docs say
 *   "alphanumeric"; 64 is our bound, PayOne gives none).
 * - currency: a JSON string, the numeric ISO 4217 code ("840", "400" JOD with
 *   3 minor digits, "682" SAR) or, for convenience, the alpha code ("USD"),
 *   which is sent as its numeric code. Not a JSON number: "048" (BHD) would
 *   lose its leading zero. Unknown → ECURRENCY.
 * - amount: minor units, as a string of digits or a JSON integer, > 0 and
 *   within int64 (pv_money_parse_minor). A decimal point ("1.00"), an
 *   exponent, a sign or a JSON fraction is refused: PayOne reads the digits as
 *   minor units, so "1.00" is not one dollar but an error. It is sent as the
 *   canonical string of the minor units ("100"), the currency as the numeric
 *   code string ("840"), exactly like the seed.
 * Other members of the command are ignored (never sent).
 *
 * The answer. Either an error envelope {"Error":"000NN","ErrorMessage":...}
 * (a refusal of the whole call) or the echo of the request with, per invoice,
 * status, statusDescription (the table spells it statusDescreption: both are
 * read) and rrn. The echoed merchantID/authenticationToken are ignored (the
 * seed's differ from its request). provider_code is the Error value or the
 * per-invoice status; provider_message the ErrorMessage or status description.
 *
 * Error codes (compared by number: "00007" and 7 are the same code):
 *   00007 merchant not available     FATAL: the merchant enrolment/config is
 *                                    wrong or disabled; every command fails
 *                                    until an operator acts.
 *   00021 token missing              FATAL: credentials.
 *   00022 token invalid              FATAL: credentials.
 *   00010 duplicate invoice id       DECLINED: PayOne refused this invoice ID
 *                                    as a whole; the same ID gets the same
 *                                    answer, and nothing was completed by it.
 *   00028 invoice not found          DECLINED: final; like Payofin's -19.
 *   00035 invoice is not pre-auth    DECLINED: the invoice is not in a state
 *                                    that can be captured; final.
 *   00036 already completed          DECLINED: this call captured nothing (the
 *                                    invoice was captured before); like
 *                                    Payofin's -10. The code tells consumers.
 *   any other Error                  UNKNOWN: undocumented, may have happened.
 * An error envelope is classified by its code whatever the HTTP status (a 401
 * carrying 00022 is FATAL). An empty Error string is taken as "no error".
 *
 * A per-invoice answer is used only under 2xx (under any other status it
 * contradicts the transport: UNKNOWN). Our invoiceID must appear exactly once
 * in invoicesDetails, with the amount and currency we sent (compared as minor
 * units and ISO currency, so "840"/"USD" and "100"/100 match); otherwise
 * UNKNOWN with res->error saying what differs. status "success" → SUCCEEDED,
 * paid = the echoed amount (minor units, currency converted numeric → alpha,
 * text kept as received); "failed" → DECLINED (the docs' two values, compared
 * without regard to case); anything else → UNKNOWN. References: "invoiceID"
 * (ours) and "rrn" when given (a string; a JSON integer is accepted when it
 * fits 64 bits, since json-c clamps longer ones). A success whose rrn cannot
 * be read is UNKNOWN, like any success with unreadable fields; on a "failed"
 * invoice the rrn is informative only and a bad one is ignored.
 * A body that is not JSON, not an object, or has neither an Error nor an
 * invoicesDetails array: UNKNOWN under 2xx, pv_classify_http_default
 * otherwise (401/403 FATAL, 429/503 RETRY, other 4xx INVALID, 5xx UNKNOWN).
 *
 * Inquiry. POST /rest/InvoicesService/inquireInvoice, the same form field
 * carrying {"merchantID","authenticationToken","invoiceID"}. PROVIDERS.md says
 * it returns rrn, approval code etc. but not its shape, so parse_inquiry
 * assumes either a top-level object with (invoiceID,) status, rrn,
 * approvalCode, amount, currency, or the completeInvoice shape (an
 * invoicesDetails array holding our invoiceID). A top-level invoiceID, when
 * present, must be ours. The status is compared after lower-casing and
 * dropping blanks, '-' and '_':
 *   success, successful, completed, complete, paid, captured → SUCCEEDED
 *     (with rrn/approvalCode references; if the answer gives amount or
 *     currency they must equal what we sent, or UNKNOWN: a capture of another
 *     amount is not provably ours);
 *   failed, failure, notcompleted, incomplete, preauth, preauthorized,
 *   preauthorised, pendingpreauth, pendingcompletion → DECLINED (the invoice
 *     is not captured, so ours did not happen);
 *   anything else (a bare "pending", "refunded", a number, none) → UNKNOWN.
 * Under a non-2xx status, with an error envelope (even 00028: a lookup that
 * fails proves nothing about the capture) or with an unreadable body the
 * payment stays UNKNOWN.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider.h"
#include "pv_json.h"

enum { PAYONE_MERCHANT_ID, PAYONE_AUTH_TOKEN, PAYONE_FORM_FIELD };

static const pv_setting pv_payone_settings[] = {
    [PAYONE_MERCHANT_ID] = {.name = "merchant_id",
                            .secret = false,
                            .required = true,
                            .doc = "merchantID issued by the PayOne operation team at enrolment"},
    [PAYONE_AUTH_TOKEN] = {.name = "authentication_token",
                           .secret = true,
                           .required = true,
                           .doc = "authenticationToken issued with the merchant ID"},
    [PAYONE_FORM_FIELD] = {.name = "form_field",
                           .secret = false,
                           .required = false,
                           .default_value = "invoice",
                           .doc = "name of the form parameter that carries the JSON request"},
    {.name = NULL},
};

#define PAYONE_PATH_COMPLETE  "/rest/InvoicesService/completeInvoice"
#define PAYONE_PATH_INQUIRE   "/rest/InvoicesService/inquireInvoice"
#define PAYONE_INVOICE_ID_MAX 64 /* our bound on invoiceID (characters) */
#define PAYONE_FORM_FIELD_MAX 64 /* our bound on the form field name */

#define PAYONE_F_LIST     "request.invoicesDetails"
#define PAYONE_F_ITEM     "request.invoicesDetails[0]"
#define PAYONE_F_ID       "request.invoicesDetails[0].invoiceID"
#define PAYONE_F_AMOUNT   "request.invoicesDetails[0].amount"
#define PAYONE_F_CURRENCY "request.invoicesDetails[0].currency"

/* The one invoice a command completes, validated. */
typedef struct pv_payone_invoice {
    char id[PAYONE_INVOICE_ID_MAX + 1];
    const pv_currency *currency;
    pv_money amount; /* minor units in currency->alpha */
} pv_payone_invoice;

/*---- Error codes ----*/

typedef struct pv_payone_code {
    int code;
    pv_outcome outcome;
    const char *meaning;
} pv_payone_code;

/* PROVIDERS.md "PayOne SmartLink"; the reasons are in the DESIGN comment. */
static const pv_payone_code pv_payone_codes[] = {
    {7, PV_OUTCOME_FATAL, "merchant not available"},
    {10, PV_OUTCOME_DECLINED, "duplicate invoice id"},
    {21, PV_OUTCOME_FATAL, "missing authentication token"},
    {22, PV_OUTCOME_FATAL, "invalid authentication token"},
    {28, PV_OUTCOME_DECLINED, "invoice not found"},
    {35, PV_OUTCOME_DECLINED, "invoice is not pre-auth"},
    {36, PV_OUTCOME_DECLINED, "transaction already completed"},
};

static const pv_payone_code *pv_payone_lookup(int64_t code)
{
    for (size_t i = 0; i < sizeof(pv_payone_codes) / sizeof(pv_payone_codes[0]); i++)
        if (pv_payone_codes[i].code == code)
            return &pv_payone_codes[i];
    return NULL;
}

/*---- Field readers (commands and answers) ----*/

static bool pv_payone_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* An invoice ID: a JSON string of 1..PAYONE_INVOICE_ID_MAX ASCII letters and
 * digits. */
static int pv_payone_read_id(json_object *v, const char *path, char *buf, size_t cap, pv_error *err)
{
    char d[128];
    const char *s;
    size_t len;
    int rc = pv_json_value_string(v, path, &s, &len, err);
    if (rc != PV_OK)
        return rc;
    if (len > PAYONE_INVOICE_ID_MAX || len >= cap) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETOOBIG, path, "%s: %s is %zu characters long, the limit is %d",
                            path, d, len, PAYONE_INVOICE_ID_MAX);
    }
    if (len == 0) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_EFORMAT, path, "%s: %s is empty", path, d);
    }
    for (size_t i = 0; i < len; i++)
        if (!pv_payone_is_alnum((unsigned char)s[i])) {
            pv_json_describe(v, d, sizeof(d));
            return pv_error_set(err, PV_EFORMAT, path,
                                "%s: %s must hold only ASCII letters and digits", path, d);
        }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return PV_OK;
}

/* A currency: a JSON string holding the numeric ISO 4217 code ("840") or the
 * alpha code ("USD"). */
static int pv_payone_read_currency(json_object *v, const char *path, const pv_currency **out,
                                   pv_error *err)
{
    char d[128];
    if (v == NULL)
        return pv_error_set(err, PV_EMISSING, path, "%s: required field is missing", path);
    pv_json_describe(v, d, sizeof(d));
    if (!json_object_is_type(v, json_type_string))
        return pv_error_set(err, PV_ETYPE, path,
                            "%s: expected the numeric ISO 4217 code as a string (\"840\"), got %s",
                            path, d);
    const char *s = json_object_get_string(v);
    const pv_currency *c = NULL;
    if (json_object_get_string_len(v) == 3) {
        if (s[0] >= '0' && s[0] <= '9')
            c = pv_currency_by_numeric(s);
        else
            c = pv_currency_by_alpha(s);
    }
    if (c == NULL)
        return pv_error_set(err, PV_ECURRENCY, path,
                            "%s: unknown currency %s (expected an ISO 4217 numeric code such as "
                            "\"840\" or an alpha code such as \"USD\")",
                            path, d);
    *out = c;
    return PV_OK;
}

/* An amount in minor units: a string of digits or a JSON integer, never a
 * decimal point. The sign and the range are pv_money_parse_minor's. */
static int pv_payone_read_amount(json_object *v, const char *path, const pv_currency *c,
                                 pv_money *out, pv_error *err)
{
    char d[128], text[32];
    const char *s;
    size_t len;
    int64_t i64;

    if (v == NULL)
        return pv_error_set(err, PV_EMISSING, path, "%s: required field is missing", path);
    pv_json_describe(v, d, sizeof(d));
    switch (json_object_get_type(v)) {
    case json_type_int: {
        int rc = pv_json_value_int64(v, path, &i64, err); /* refuses clamped values */
        if (rc != PV_OK)
            return rc;
        snprintf(text, sizeof(text), "%" PRId64, i64);
        s = text;
        len = strlen(text);
        break;
    }
    case json_type_string:
        s = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
        if (memchr(s, '.', len) != NULL || memchr(s, ',', len) != NULL)
            return pv_error_set(err, PV_EFORMAT, path,
                                "%s: %s must be whole minor units with no decimal point (\"100\" "
                                "for 1.00 USD)",
                                path, d);
        break;
    case json_type_double:
        return pv_error_set(err, PV_EFORMAT, path,
                            "%s: %s must be whole minor units with no decimal point or exponent",
                            path, d);
    default:
        return pv_error_set(err, PV_ETYPE, path,
                            "%s: expected minor units as a string of digits, got %s", path, d);
    }
    return pv_money_parse_minor(s, len, c->alpha, path, out, err);
}

/* Text of an identifier the provider returns (rrn): a string, or a JSON
 * integer that fits 64 bits. */
static int pv_payone_read_ref(json_object *v, const char *path, char *buf, size_t cap,
                              pv_error *err)
{
    char d[128];
    int64_t i64;
    if (json_object_is_type(v, json_type_string)) {
        size_t len = (size_t)json_object_get_string_len(v);
        if (len >= cap || memchr(json_object_get_string(v), '\0', len) != NULL) {
            pv_json_describe(v, d, sizeof(d));
            return pv_error_set(err, PV_EFORMAT, path,
                                "%s: %s is not a usable reference (%zu bytes)", path, d, len);
        }
        memcpy(buf, json_object_get_string(v), len);
        buf[len] = '\0';
        return PV_OK;
    }
    if (json_object_is_type(v, json_type_int)) {
        int rc = pv_json_value_int64(v, path, &i64, err);
        if (rc == PV_OK)
            snprintf(buf, cap, "%" PRId64, i64);
        return rc;
    }
    pv_json_describe(v, d, sizeof(d));
    return pv_error_set(err, PV_ETYPE, path, "%s: expected a string, got %s", path, d);
}

/*---- The command ----*/

/* Refuses credentials in the command object obj (at `where`): they come from
 * settings only. The value is never quoted. */
static int pv_payone_no_credentials(json_object *obj, const char *where, pv_error *err)
{
    static const struct {
        const char *key;
        const char *setting;
    } creds[] = {
        {"merchantID", "merchant_id"},
        {"authenticationToken", "authentication_token"},
    };
    char path[PV_ERR_FIELD_MAX];
    for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
        if (pv_json_member(obj, creds[i].key) == NULL)
            continue;
        snprintf(path, sizeof(path), "%s.%s", where, creds[i].key);
        return pv_error_set(err, PV_EVALIDATION, path,
                            "%s: credentials never travel in commands (value not shown); "
                            "configure the PAYONE setting %s instead",
                            path, creds[i].setting);
    }
    return PV_OK;
}

/* Validates the command's parameters into *inv (see DESIGN). */
static int pv_payone_invoice_parse(const pv_command *cmd, pv_payone_invoice *inv, pv_error *err)
{
    json_object *in;
    char d[128];

    memset(inv, 0, sizeof(*inv));
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_payone_no_credentials(in, "request", err);
    if (rc != PV_OK)
        return rc;

    json_object *list = pv_json_member(in, "invoicesDetails");
    if (list == NULL)
        return pv_error_set(err, PV_EMISSING, PAYONE_F_LIST, "%s: required field is missing",
                            PAYONE_F_LIST);
    pv_json_describe(list, d, sizeof(d));
    if (!json_object_is_type(list, json_type_array))
        return pv_error_set(err, PV_ETYPE, PAYONE_F_LIST,
                            "%s: expected an array of one invoice, got %s", PAYONE_F_LIST, d);
    size_t n = json_object_array_length(list);
    if (n == 0)
        return pv_error_set(err, PV_ERANGE, PAYONE_F_LIST,
                            "%s: %s holds no invoice; a command completes exactly one",
                            PAYONE_F_LIST, d);
    if (n > 1)
        return pv_error_set(err, PV_EUNSUPPORTED, PAYONE_F_LIST,
                            "%s: %s holds %zu invoices; a command completes exactly one (its "
                            "invoiceID is the lock key): send one command per invoice",
                            PAYONE_F_LIST, d, n);
    json_object *item = json_object_array_get_idx(list, 0);
    if (item == NULL || !json_object_is_type(item, json_type_object)) {
        pv_json_describe(item, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, PAYONE_F_ITEM, "%s: expected an object, got %s",
                            PAYONE_F_ITEM, d);
    }

    rc = pv_payone_no_credentials(item, PAYONE_F_ITEM, err);
    if (rc == PV_OK)
        rc = pv_payone_read_id(pv_json_member(item, "invoiceID"), PAYONE_F_ID, inv->id,
                               sizeof(inv->id), err);
    if (rc == PV_OK)
        rc = pv_payone_read_currency(pv_json_member(item, "currency"), PAYONE_F_CURRENCY,
                                     &inv->currency, err);
    if (rc == PV_OK)
        rc = pv_payone_read_amount(pv_json_member(item, "amount"), PAYONE_F_AMOUNT, inv->currency,
                                   &inv->amount, err);
    if (rc != PV_OK)
        return rc;
    if (inv->amount.minor <= 0)
        return pv_error_set(err, PV_ERANGE, PAYONE_F_AMOUNT,
                            "%s: amount \"%s\" must be greater than zero", PAYONE_F_AMOUNT,
                            inv->amount.text);
    return PV_OK;
}

static int pv_payone_query_id(const pv_command *cmd, char *buf, size_t cap, pv_error *err)
{
    pv_payone_invoice inv;
    int rc = pv_payone_invoice_parse(cmd, &inv, err);
    if (rc != PV_OK)
        return rc;
    if (strlen(inv.id) >= cap)
        return pv_error_set(err, PV_ETOOBIG, PAYONE_F_ID, "%s: \"%s\" does not fit %zu bytes",
                            PAYONE_F_ID, inv.id, cap);
    snprintf(buf, cap, "%s", inv.id);
    return PV_OK;
}

/*---- Request ----*/

/* Starts a JSON body with the configured credentials and checks the form
 * field name. The token is never quoted. */
static int pv_payone_credentials(const pv_ctx *ctx, json_object **root, const char **field,
                                 pv_error *err)
{
    char q[96];
    const char *merchant = pv_provider_setting(&pv_payone, ctx, PAYONE_MERCHANT_ID);
    const char *token = pv_provider_setting(&pv_payone, ctx, PAYONE_AUTH_TOKEN);
    const char *name = pv_provider_setting(&pv_payone, ctx, PAYONE_FORM_FIELD);

    if (merchant == NULL)
        return pv_error_set(err, PV_ECONFIG, "merchant_id",
                            "merchant_id: not configured (PAYW_PAYONE_MERCHANT_ID)");
    if (token == NULL)
        return pv_error_set(err, PV_ECONFIG, "authentication_token",
                            "authentication_token: not configured "
                            "(PAYW_PAYONE_AUTHENTICATION_TOKEN)");
    size_t nlen = name != NULL ? strlen(name) : 0;
    bool ok = nlen > 0 && nlen <= PAYONE_FORM_FIELD_MAX;
    for (size_t i = 0; ok && i < nlen; i++)
        ok = pv_payone_is_alnum((unsigned char)name[i]) || name[i] == '-' || name[i] == '.' ||
             name[i] == '_';
    if (!ok) {
        pv_utf8_quote(q, sizeof(q), name, nlen);
        return pv_error_set(err, PV_ECONFIG, "form_field",
                            "form_field: \"%s\" is not a form parameter name (1..%d ASCII "
                            "letters, digits, '-', '.', '_')",
                            q, PAYONE_FORM_FIELD_MAX);
    }
    *field = name;
    *root = json_object_new_object();
    if (*root == NULL)
        return pv_error_set(err, PV_ENOMEM, "", "PayOne request: out of memory");
    json_object_object_add(*root, "merchantID", json_object_new_string(merchant));
    json_object_object_add(*root, "authenticationToken", json_object_new_string(token));
    return PV_OK;
}

/* Fills req with a form POST to path carrying root as `field`. Takes root. */
static int pv_payone_form_request(const char *path, const char *field, json_object *root,
                                  pv_request *req, pv_error *err)
{
    const pv_form_field form[] = {{field, pv_json_dump(root, NULL)}};

    pv_request_init(req);
    int rc = pv_request_post_form(req, path, form, 1, err);
    json_object_put(root);
    return rc;
}

/* What both calls start with: req emptied, the command's invoice read into
 * *inv, the body begun with the credentials (pv_payone_credentials). */
static int pv_payone_start(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                           pv_payone_invoice *inv, json_object **root, const char **field,
                           pv_error *err)
{
    pv_request_init(req);
    int rc = pv_payone_invoice_parse(cmd, inv, err);
    if (rc == PV_OK)
        rc = pv_payone_credentials(ctx, root, field, err);
    return rc;
}

static int pv_payone_build_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                   pv_error *err)
{
    pv_payone_invoice inv;
    json_object *root;
    const char *field;
    char minor[32];

    int rc = pv_payone_start(cmd, ctx, req, &inv, &root, &field, err);
    if (rc != PV_OK)
        return rc;
    pv_money_format_minor(&inv.amount, minor, sizeof(minor));
    json_object *item = json_object_new_object();
    json_object_object_add(item, "invoiceID", json_object_new_string(inv.id));
    json_object_object_add(item, "amount", json_object_new_string(minor));
    json_object_object_add(item, "currency", json_object_new_string(inv.currency->numeric));
    json_object *list = json_object_new_array();
    json_object_array_add(list, item);
    json_object_object_add(root, "invoicesDetails", list);
    return pv_payone_form_request(PAYONE_PATH_COMPLETE, field, root, req, err);
}

/*---- Response ----*/

/* Sets provider_message, keeping provider_code (pv_result_set_code must not
 * be handed res->provider_code itself: source and destination would overlap). */
static void pv_payone_set_message(pv_result *res, const char *message)
{
    char code[PV_CODE_MAX];
    memcpy(code, res->provider_code, sizeof(code));
    pv_result_set_code(res, code, message);
}

/* Copies a string member into the message, cut to its bound; other types
 * are ignored (a message is not worth failing for). */
static void pv_payone_message(pv_result *res, json_object *v)
{
    if (v != NULL && json_object_is_type(v, json_type_string))
        pv_payone_set_message(res, json_object_get_string(v));
}

/* The error envelope. Returns true when root is one (res filled: outcome from
 * the code table, UNKNOWN for undocumented codes). */
static bool pv_payone_error_envelope(json_object *root, pv_result *res)
{
    char d[128], code[PV_CODE_MAX];
    int64_t num = 0;
    pv_error err = {0};

    json_object *v = pv_json_member(root, "Error");
    if (v == NULL)
        return false;
    if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0)
        return false; /* an empty Error is no error */
    const char *t = NULL;
    size_t len = 0;
    if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))
        t = pv_json_number_text(v, &len);
    pv_json_describe(v, d, sizeof(d));
    if (t == NULL || len >= sizeof(code) || memchr(t, '\0', len) != NULL) {
        pv_result_set_code(res, "", "");
        pv_error_set(&err, PV_ETYPE, "Error", "Error: %s is not a PayOne error code", d);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        return true;
    }
    memcpy(code, t, len);
    code[len] = '\0';
    pv_result_set_code(res, code, "");
    pv_payone_message(res, pv_json_member(root, "ErrorMessage"));

    const pv_payone_code *c = NULL;
    bool digits = len > 0 && len <= 9 && strspn(code, "0123456789") == len;
    if (digits && pv_money_parse_int64(code, len, &num) == PV_OK)
        c = pv_payone_lookup(num);
    if (c == NULL) {
        pv_error_set(&err, PV_ERANGE, "Error", "Error: %s is not a documented PayOne error code",
                     d);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        return true;
    }
    res->outcome = c->outcome;
    if (res->provider_message[0] == '\0')
        pv_payone_set_message(res, c->meaning);
    return true;
}

/* Finds our invoice in invoicesDetails: exactly one entry with our ID.
 * *path receives its path ("invoicesDetails[0]"). */
static int pv_payone_find(json_object *list, const char *id, json_object **entry, char *path,
                          size_t cap, pv_error *err)
{
    char q[96], ref[PV_ID_MAX];
    size_t found = 0;
    *entry = NULL;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        json_object *v = pv_json_member(e, "invoiceID");
        pv_error ignored = {0};
        if (v == NULL || pv_payone_read_ref(v, "invoiceID", ref, sizeof(ref), &ignored) != PV_OK)
            continue;
        if (strcmp(ref, id) != 0)
            continue;
        if (found++ == 0) {
            *entry = e;
            snprintf(path, cap, "invoicesDetails[%zu]", i);
        }
    }
    pv_utf8_quote(q, sizeof(q), id, strlen(id));
    if (found == 0)
        return pv_error_set(err, PV_EMISSING, "invoicesDetails",
                            "invoicesDetails: our invoiceID \"%s\" is not in the answer", q);
    if (found > 1)
        return pv_error_set(err, PV_EFORMAT, "invoicesDetails",
                            "invoicesDetails: our invoiceID \"%s\" appears %zu times", q, found);
    return PV_OK;
}

/* Checks the echoed amount and currency against what we sent; on success
 * *paid holds the echoed amount. `required`: both must be present. */
static int pv_payone_check_echo(json_object *entry, const char *path, const pv_payone_invoice *inv,
                                bool required, pv_money *paid, pv_error *err)
{
    char fa[128], fc[128];
    const pv_currency *c = inv->currency;
    json_object *va = pv_json_member(entry, "amount");
    json_object *vc = pv_json_member(entry, "currency");

    memset(paid, 0, sizeof(*paid));
    snprintf(fa, sizeof(fa), "%s.amount", path);
    snprintf(fc, sizeof(fc), "%s.currency", path);
    if (vc != NULL || required) {
        int rc = pv_payone_read_currency(vc, fc, &c, err);
        if (rc != PV_OK)
            return rc;
        if (c != inv->currency)
            return pv_error_set(
                err, PV_EVALIDATION, fc, "%s: \"%s\" (%s) differs from the %s (%s) we sent", fc,
                json_object_get_string(vc), c->alpha, inv->currency->numeric, inv->currency->alpha);
    }
    if (va != NULL || required) {
        int rc = pv_payone_read_amount(va, fa, c, paid, err);
        if (rc != PV_OK)
            return rc;
        if (paid->minor != inv->amount.minor)
            return pv_error_set(err, PV_EVALIDATION, fa,
                                "%s: \"%s\" differs from the %" PRId64 " minor units we sent", fa,
                                paid->text, inv->amount.minor);
    }
    return PV_OK;
}

/* Reads status and its description into res; *status gets the status text
 * ("" when absent or not a string). */
static void pv_payone_status(json_object *entry, pv_result *res, char *status, size_t cap)
{
    json_object *v = pv_json_member(entry, "status");
    status[0] = '\0';
    if (v != NULL && json_object_is_type(v, json_type_string))
        snprintf(status, cap, "%s", json_object_get_string(v));
    pv_result_set_code(res, status, "");
    json_object *m = pv_json_member(entry, "statusDescription");
    if (m == NULL)
        m = pv_json_member(entry, "statusDescreption"); /* the docs' spelling */
    pv_payone_message(res, m);
}

/* Adds the optional reference `key` of entry as `name`. */
static int pv_payone_add_ref(json_object *entry, const char *key, const char *name,
                             const char *path, pv_result *res, pv_error *err)
{
    char buf[PV_ID_MAX], field[128];
    json_object *v = pv_json_member(entry, key);
    if (v == NULL)
        return PV_OK;
    snprintf(field, sizeof(field), "%s.%s", path, key);
    int rc = pv_payone_read_ref(v, field, buf, sizeof(buf), err);
    if (rc == PV_OK)
        pv_result_add_ref(res, name, buf);
    return rc;
}

static void pv_payone_parse_response(const pv_command *cmd, int http_status, const char *body,
                                     size_t len, pv_result *res)
{
    json_object *root = NULL, *entry;
    pv_payone_invoice inv;
    pv_error err = {0};
    char path[48], status[PV_CODE_MAX], d[128];

    res->http_status = http_status;
    bool ok2xx = http_status >= 200 && http_status <= 299;
    int rc = pv_payone_invoice_parse(cmd, &inv, &err);
    if (rc != PV_OK) {
        /* cannot happen for a command build_request accepted */
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    rc = pv_json_parse_object(body, len, "PayOne completeInvoice response", &root, &err);
    if (rc == PV_OK && pv_payone_error_envelope(root, res))
        goto out;
    json_object *list = rc == PV_OK ? pv_json_member(root, "invoicesDetails") : NULL;
    if (rc == PV_OK && (list == NULL || !json_object_is_type(list, json_type_array))) {
        pv_json_describe(list, d, sizeof(d));
        rc = pv_error_set(&err, list == NULL ? PV_EMISSING : PV_ETYPE, "invoicesDetails",
                          "invoicesDetails: expected an array of invoices or an Error, got %s", d);
    }
    if (rc != PV_OK) {
        /* no usable envelope: the HTTP status decides; a 2xx we cannot read
         * on a capture may have captured */
        pv_result_fail(
            res, ok2xx ? PV_OUTCOME_UNKNOWN : pv_classify_http_default(&pv_payone, http_status),
            &err);
        goto out;
    }
    if (!ok2xx) {
        pv_error_set(&err, PV_EFORMAT, "", "HTTP %d carries a per-invoice answer: not trusted",
                     http_status);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    if (pv_payone_find(list, inv.id, &entry, path, sizeof(path), &err) != PV_OK) {
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    pv_result_add_ref(res, "invoiceID", inv.id);
    pv_payone_status(entry, res, status, sizeof(status));

    pv_money paid;
    if (pv_payone_check_echo(entry, path, &inv, true, &paid, &err) != PV_OK) {
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    if (strcasecmp(status, "success") == 0) {
        res->outcome = PV_OUTCOME_SUCCEEDED;
        res->paid = paid;
    } else if (strcasecmp(status, "failed") == 0) {
        res->outcome = PV_OUTCOME_DECLINED;
    } else {
        pv_json_describe(pv_json_member(entry, "status"), d, sizeof(d));
        pv_error_set(&err, PV_ERANGE, "status", "%s.status: %s is not a documented status", path,
                     d);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    /* a success whose rrn we cannot read is UNKNOWN: reconciliation needs it
     * (on a refusal the rrn is only informative) */
    if (pv_payone_add_ref(entry, "rrn", "rrn", path, res, &err) != PV_OK &&
        res->outcome == PV_OUTCOME_SUCCEEDED) {
        memset(&res->paid, 0, sizeof(res->paid));
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
    }
out:
    pv_error_clear(&err);
    json_object_put(root);
}

/*---- Inquiry ----*/

static int pv_payone_build_inquiry(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                   pv_error *err)
{
    pv_payone_invoice inv;
    json_object *root;
    const char *field;

    int rc = pv_payone_start(cmd, ctx, req, &inv, &root, &field, err);
    if (rc != PV_OK)
        return rc;
    json_object_object_add(root, "invoiceID", json_object_new_string(inv.id));
    return pv_payone_form_request(PAYONE_PATH_INQUIRE, field, root, req, err);
}

/* Class of an inquiry status (DESIGN): SUCCEEDED, DECLINED or UNKNOWN. */
static pv_outcome pv_payone_inquiry_class(const char *status)
{
    static const char *const done[] = {"success",  "successful", "completed",
                                       "complete", "paid",       "captured"};
    static const char *const not_done[] = {
        "failed",        "failure",       "notcompleted",   "incomplete",        "preauth",
        "preauthorized", "preauthorised", "pendingpreauth", "pendingcompletion",
    };
    char norm[PV_CODE_MAX];
    size_t o = 0;
    for (const char *s = status; *s != '\0' && o + 1 < sizeof(norm); s++) {
        char c = *s;
        if (c == ' ' || c == '-' || c == '_')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        norm[o++] = c;
    }
    norm[o] = '\0';
    for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
        if (strcmp(norm, done[i]) == 0)
            return PV_OUTCOME_SUCCEEDED;
    for (size_t i = 0; i < sizeof(not_done) / sizeof(not_done[0]); i++)
        if (strcmp(norm, not_done[i]) == 0)
            return PV_OUTCOME_DECLINED;
    return PV_OUTCOME_UNKNOWN;
}

static void pv_payone_parse_inquiry(const pv_command *cmd, int http_status, const char *body,
                                    size_t len, pv_result *res)
{
    json_object *root = NULL, *entry = NULL;
    pv_payone_invoice inv;
    pv_error err = {0};
    char path[48] = "", status[PV_CODE_MAX], d[128];

    res->http_status = http_status;
    res->outcome = PV_OUTCOME_UNKNOWN;
    if (pv_payone_invoice_parse(cmd, &inv, &err) != PV_OK ||
        pv_json_parse_object(body, len, "PayOne inquireInvoice response", &root, &err) != PV_OK) {
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    if (pv_payone_error_envelope(root, res)) {
        /* a refused inquiry says nothing about the capture */
        pv_error_set(&err, PV_EVALIDATION, "Error",
                     "inquiry refused with Error \"%s\": the capture stays unknown",
                     res->provider_code);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    if (http_status < 200 || http_status > 299) {
        pv_error_set(&err, PV_EFORMAT, "", "inquiry answered HTTP %d: the capture stays unknown",
                     http_status);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    json_object *list = pv_json_member(root, "invoicesDetails");
    if (list != NULL && json_object_is_type(list, json_type_array)) {
        if (pv_payone_find(list, inv.id, &entry, path, sizeof(path), &err) != PV_OK) {
            pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
            goto out;
        }
    } else {
        char id[PV_ID_MAX];
        json_object *v = pv_json_member(root, "invoiceID");
        entry = root;
        snprintf(path, sizeof(path), "inquiry");
        if (v != NULL && (pv_payone_read_ref(v, "invoiceID", id, sizeof(id), &err) != PV_OK ||
                          strcmp(id, inv.id) != 0)) {
            pv_json_describe(v, d, sizeof(d));
            pv_error_set(&err, PV_EVALIDATION, "invoiceID",
                         "invoiceID: the answer is about %s, not our \"%s\"", d, inv.id);
            pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
            goto out;
        }
    }
    pv_result_add_ref(res, "invoiceID", inv.id);
    pv_payone_status(entry, res, status, sizeof(status));
    pv_outcome o = pv_payone_inquiry_class(status);
    if (o == PV_OUTCOME_UNKNOWN) {
        pv_json_describe(pv_json_member(entry, "status"), d, sizeof(d));
        pv_error_set(&err, PV_ERANGE, "status",
                     "%s.status: %s does not tell whether the invoice was captured", path, d);
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    res->outcome = o;
    /* references help the operator whatever the status; unreadable ones
     * only matter for a success */
    int rc = pv_payone_add_ref(entry, "rrn", "rrn", path, res, &err);
    if (rc == PV_OK)
        rc = pv_payone_add_ref(entry, "approvalCode", "approvalCode", path, res, &err);
    if (rc == PV_OK && o == PV_OUTCOME_SUCCEEDED)
        rc = pv_payone_check_echo(entry, path, &inv, false, &res->paid, &err);
    if (rc != PV_OK && o == PV_OUTCOME_SUCCEEDED) {
        memset(&res->paid, 0, sizeof(res->paid));
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
    }
out:
    pv_error_clear(&err);
    json_object_put(root);
}

const pv_provider pv_payone = {
    .name = "PAYONE",
    .operation = "completeInvoice",
    .query_id_field = "invoiceID",
    .caps = PV_CAP_INQUIRY | PV_CAP_BATCH | PV_CAP_PARTIAL,
    .settings = pv_payone_settings,
    .query_id = pv_payone_query_id,
    .build_request = pv_payone_build_request,
    .parse_response = pv_payone_parse_response,
    .build_inquiry = pv_payone_build_inquiry,
    .parse_inquiry = pv_payone_parse_inquiry,
};
