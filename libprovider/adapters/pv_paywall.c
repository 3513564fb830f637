/* pv_paywall.c -- Paywall marketplace debt report (seed 002, PROVIDERS.md "Paywall").
 *
 * DESIGN
 * GET /api/paywall/marketplace/report/debt/payment with no body and the
 * headers apikeypublic and apiclientpublic (settings api_key_public and
 * api_client_public), paymentid (the command's `paymentid`) and Accept:
 * application/json. `paymentid` is documented as an int: a JSON integer or a
 * string of digits is accepted, must be positive, and is sent (and used as the
 * lock key) in canonical decimal, so "00042" and 42 are the same payment.
 *
 * The report moves no money (PV_CAP_READONLY): every failure is safe to
 * retry, so nothing here is ever UNKNOWN.
 *
 *   answer                                         outcome
 *   2xx, ErrorCode 0 and Result true, Body valid   SUCCEEDED, detail = the debts
 *   2xx, ErrorCode 0 and Result true, Body bad     RETRY, error names the field
 *   ErrorCode non-zero or Result false             DECLINED, provider_code =
 *     (2xx, or a 4xx other than 401/403/408/        ErrorCode, provider_message =
 *     425/429)                                      Message
 *   401/403 (envelope or not)                      FATAL (credentials)
 *   408/425/429, 1xx, 3xx, 5xx (envelope or not)   RETRY
 *   other 4xx without a refusal envelope           INVALID
 *   2xx without a readable envelope                RETRY
 * The non-2xx rows are pv_classify_http_default; only a plain 4xx that
 * carries Paywall's own refusal is turned into DECLINED, because then the
 * provider has answered the question (e.g. "no such payment") and asking again
 * cannot change it. No ErrorCode other than 0 is documented, so every
 * non-zero code is a refusal (not UNKNOWN: nothing can have been paid); the
 * envelope's ErrorCode and Result are recorded whenever they can be read, and
 * a Result that contradicts ErrorCode counts as a refusal.
 *
 * Envelope: ErrorCode (integer) and Result (boolean) are required; Message is
 * optional (absent or null reads as "") but must be a string, and is cut at a
 * UTF-8 boundary to fit provider_message. Body is required on success and must
 * be an array of at most PV_PAYWALL_DEBTS_MAX debts; [] is a payment without
 * debts. Body is ignored on a refusal.
 *
 * Detail (res->detail) on SUCCEEDED; every documented member keeps its
 * documented name and spelling, whatever case Paywall used:
 *   {"debts": [{"DebtId": 947, "Type": 2, "TypeName": "Cargo",
 *               "MemberId": 148, "MemberName": "test", "CurrencyId": 1,
 *               "Currency": "TRY", "ProductId": 2114065,
 *               "ProductAmount": 100.00, "ProductAmountMinor": 10000,
 *               "DebtAmount": 120.00, "DebtAmountMinor": 12000,
 *               "DebtStatusId": 1, "DebtTransactionId": 0,
 *               "Cargo": {"CargoId": 466722, "CargoOwnerType": 1,
 *                         "CargoCost": 120.00, "CargoCostMinor": 12000},
 *               "Discount": null,
 *               "CalculationDateTime": "2023-09-15T14:53:58.5074",
 *               "CalculationDateTimeUtc": "2023-09-15T11:53:58.507Z"}, ...],
 *    "totals": [{"Currency": "TRY", "Count": 2, "DebtAmount": 129.90,
 *                "DebtAmountMinor": 12990}]}
 * - Amounts are written as the exact number text received ("120.00" stays
 *   "120.00"); `<name>Minor` adds the value in minor units of the entry's
 *   currency for consumers that compute (digits below the minor unit, which
 *   the seed never shows, are rounded half to even in the Minor value only).
 *   Discount.Discount gets no Minor value: with DiscountType undocumented it
 *   may be a rate rather than an amount, so only its text is kept (checked to
 *   be a plain decimal).
 * - CalculationDateTime is kept as received (full precision) and
 *   CalculationDateTimeUtc adds it in UTC (ms precision): without an offset
 *   the text is Istanbul local time (pv_time_parse_iso8601).
 * - totals: the DebtAmounts summed per currency, in order of first
 *   appearance, with the number of debts. paid, fee and charged stay unset:
 *   nothing was paid by this call.
 *
 * Validation of each entry, field by field (errors name "Body[i].Field" and
 * quote the value). One bad entry fails the whole report (RETRY, no detail):
 * a partial list would under-state what the sub-merchant owes. Assumptions
 * where the documents are silent:
 * - DebtId and CurrencyId are positive integers; every other id and code is
 *   an integer >= 0 (integers may arrive as strings of digits).
 * - Type is 1 (Discount) or 2 (Cargo); anything else is an error. A Cargo
 *   entry must carry a Cargo object and a Discount entry a Discount object;
 *   the other one may be null, and is validated and kept if given.
 * - TypeName and MemberName are free text (TypeName follows the locale, so it
 *   is not compared with Type); they may be null (kept as null), at most
 *   PV_PAYWALL_NAME_MAX bytes.
 * - Currency must be an ISO 4217 code we know (amounts are parsed in it);
 *   CurrencyId 1 means TRY, so CurrencyId 1 with another code, or TRY with
 *   another id, is a contradiction. Other ids are accepted with their code.
 * - Amounts are JSON numbers or strings of plain decimal text ("1e3", blanks,
 *   leading zeros are errors). Signs are not restricted (a negative debt is
 *   reported as such).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "provider.h"
#include "pv_json.h"
#include "pv_time.h"
#include "pv_utf8.h"

enum { PAYWALL_API_KEY_PUBLIC, PAYWALL_API_CLIENT_PUBLIC };

static const pv_setting pv_paywall_settings[] = {
    [PAYWALL_API_KEY_PUBLIC] = {.name = "api_key_public",
                                .secret = true,
                                .required = true,
                                .doc = "apikeypublic header: the Public Key from the Paywall "
                                       "merchant panel"},
    [PAYWALL_API_CLIENT_PUBLIC] = {.name = "api_client_public",
                                   .secret = true,
                                   .required = true,
                                   .doc = "apiclientpublic header: the Public Client from the "
                                          "Paywall merchant panel"},
    {.name = NULL},
};

#define PV_PAYWALL_PATH           "/api/paywall/marketplace/report/debt/payment"
#define PV_PAYWALL_DEBTS_MAX      1000 /* debts accepted in one report */
#define PV_PAYWALL_CURRENCIES_MAX 16   /* distinct currencies in one report */
#define PV_PAYWALL_NAME_MAX       256  /* TypeName, MemberName (bytes, NUL included) */
#define PV_PAYWALL_TIME_MAX       64   /* CalculationDateTime (bytes, NUL included) */
#define PV_PAYWALL_TYPE_DISCOUNT  1
#define PV_PAYWALL_TYPE_CARGO     2
#define PV_PAYWALL_CURRENCY_TRY   1

/*---- Request ----*/

static int pv_paywall_payment_id(const pv_command *cmd, int64_t *id, pv_error *err)
{
    json_object *in;
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_json_int64(in, "paymentid", "request.paymentid", true, id, NULL, err);
    if (rc != PV_OK)
        return rc;
    if (*id <= 0)
        return pv_error_set(err, PV_ERANGE, "request.paymentid",
                            "request.paymentid: %" PRId64 " must be a positive integer", *id);
    return PV_OK;
}

static int pv_paywall_query_id(const pv_command *cmd, char *buf, size_t cap, pv_error *err)
{
    int64_t id;
    int rc = pv_paywall_payment_id(cmd, &id, err);
    if (rc != PV_OK)
        return rc;
    int n = snprintf(buf, cap, "%" PRId64, id);
    if (n < 0 || (size_t)n >= cap)
        return pv_error_set(err, PV_ETOOBIG, "request.paymentid",
                            "request.paymentid: %" PRId64 " does not fit the %zu byte key buffer",
                            id, cap);
    return PV_OK;
}

static int pv_paywall_build_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                    pv_error *err)
{
    char idbuf[24];

    pv_request_init(req);
    int rc = pv_paywall_query_id(cmd, idbuf, sizeof(idbuf), err);
    if (rc != PV_OK)
        return rc;
    rc = pv_request_add_header(req, "apikeypublic",
                               pv_provider_setting(&pv_paywall, ctx, PAYWALL_API_KEY_PUBLIC), err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "apiclientpublic",
                                   pv_provider_setting(&pv_paywall, ctx, PAYWALL_API_CLIENT_PUBLIC),
                                   err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "paymentid", idbuf, err);
    return pv_request_get_json(req, rc, PV_PAYWALL_PATH, err);
}

/*---- Debt entries: one table drives validation and the detail ----*/

typedef enum pv_paywall_kind {
    PW_INT,         /* integer >= min */
    PW_TYPE,        /* Type: 1 Discount, 2 Cargo */
    PW_NAME,        /* free text, may be null */
    PW_CURRENCY_ID, /* CurrencyId: 1 = TRY */
    PW_CURRENCY,    /* ISO 4217 alpha code, agrees with CurrencyId */
    PW_AMOUNT,      /* amount: exact text + <key>Minor */
    PW_DECIMAL,     /* plain decimal, text only */
    PW_OBJECT,      /* nested object (Cargo, Discount), may be null */
    PW_TIME,        /* ISO 8601, Istanbul time when without offset */
} pv_paywall_kind;

typedef struct pv_paywall_field {
    const char *key; /* documented name; NULL ends a table */
    pv_paywall_kind kind;
    int64_t min;                           /* PW_INT: smallest value accepted */
    bool summed;                           /* PW_AMOUNT: goes into totals */
    const struct pv_paywall_field *fields; /* PW_OBJECT: its members */
    int64_t required_for_type;             /* PW_OBJECT: required when Type is this */
} pv_paywall_field;

static const pv_paywall_field pv_paywall_cargo_fields[] = {
    {.key = "CargoId", .kind = PW_INT},
    {.key = "CargoOwnerType", .kind = PW_INT},
    {.key = "CargoCost", .kind = PW_AMOUNT},
    {.key = NULL},
};

static const pv_paywall_field pv_paywall_discount_fields[] = {
    {.key = "DiscountId", .kind = PW_INT},
    {.key = "DiscountOwnerType", .kind = PW_INT},
    {.key = "DiscountType", .kind = PW_INT},
    {.key = "Discount", .kind = PW_DECIMAL},
    {.key = NULL},
};

/* In the documented order, which is also the order of dependence: Type
 * before Cargo/Discount, CurrencyId and Currency before the amounts. */
static const pv_paywall_field pv_paywall_debt_fields[] = {
    {.key = "DebtId", .kind = PW_INT, .min = 1},
    {.key = "Type", .kind = PW_TYPE},
    {.key = "TypeName", .kind = PW_NAME},
    {.key = "MemberId", .kind = PW_INT},
    {.key = "MemberName", .kind = PW_NAME},
    {.key = "CurrencyId", .kind = PW_CURRENCY_ID, .min = 1},
    {.key = "Currency", .kind = PW_CURRENCY},
    {.key = "ProductId", .kind = PW_INT},
    {.key = "ProductAmount", .kind = PW_AMOUNT},
    {.key = "DebtAmount", .kind = PW_AMOUNT, .summed = true},
    {.key = "DebtStatusId", .kind = PW_INT},
    {.key = "DebtTransactionId", .kind = PW_INT},
    {.key = "Cargo",
     .kind = PW_OBJECT,
     .fields = pv_paywall_cargo_fields,
     .required_for_type = PV_PAYWALL_TYPE_CARGO},
    {.key = "Discount",
     .kind = PW_OBJECT,
     .fields = pv_paywall_discount_fields,
     .required_for_type = PV_PAYWALL_TYPE_DISCOUNT},
    {.key = "CalculationDateTime", .kind = PW_TIME},
    {.key = NULL},
};

/* What one entry's fields tell the fields after them. */
typedef struct pv_paywall_entry {
    int64_t type;
    int64_t currency_id;
    char currency[4];
    pv_money debt;
} pv_paywall_entry;

typedef struct pv_paywall_total {
    pv_money sum;
    int64_t count;
} pv_paywall_total;

typedef struct pv_paywall_totals {
    pv_paywall_total t[PV_PAYWALL_CURRENCIES_MAX];
    size_t n;
} pv_paywall_totals;

/* Adds v to obj under key; a NULL v (out of memory) is an error. */
static int pv_paywall_add(json_object *obj, const char *key, json_object *v, const char *path,
                          pv_error *err)
{
    if (v == NULL || json_object_object_add(obj, key, v) != 0) {
        json_object_put(v);
        return pv_error_set(err, PV_ENOMEM, path, "%s: out of memory", path);
    }
    return PV_OK;
}

static int pv_paywall_add_null(json_object *obj, const char *key, const char *path, pv_error *err)
{
    if (json_object_object_add(obj, key, NULL) != 0)
        return pv_error_set(err, PV_ENOMEM, path, "%s: out of memory", path);
    return PV_OK;
}

/* json-c writes a number's text as it parsed it, but a JSON string of
 * decimal text ("007.5") need not be a valid JSON number: refuse leading
 * zeros so that the text can be written back as a number. */
static bool pv_paywall_json_number(const char *text)
{
    const char *p = text[0] == '-' ? text + 1 : text;
    return !(p[0] == '0' && p[1] >= '0' && p[1] <= '9');
}

static int pv_paywall_number(json_object *in, const char *key, const char *path,
                             const char *currency, pv_money *m, pv_error *err)
{
    int rc = pv_json_money(in, key, path, true, currency, m, err);
    if (rc != PV_OK)
        return rc;
    if (!pv_paywall_json_number(m->text))
        return pv_error_set(err, PV_EFORMAT, path,
                            "%s: amount \"%s\" has a leading zero (not a JSON number)", path,
                            m->text);
    return PV_OK;
}

static int pv_paywall_fields(json_object *in, const pv_paywall_field *fields, const char *prefix,
                             pv_paywall_entry *e, json_object *out, pv_error *err);

static int pv_paywall_field_read(json_object *in, const pv_paywall_field *f, const char *path,
                                 pv_paywall_entry *e, json_object *out, pv_error *err)
{
    char text[PV_PAYWALL_NAME_MAX];
    char key[64];
    char d[128];
    int64_t v = 0, ms = 0;
    pv_money m;
    bool present = false;
    json_object *sub, *obj;
    int rc = PV_OK;

    switch (f->kind) {
    case PW_INT:
    case PW_TYPE:
    case PW_CURRENCY_ID:
        rc = pv_json_int64(in, f->key, path, true, &v, NULL, err);
        if (rc != PV_OK)
            return rc;
        if (f->kind == PW_TYPE && v != PV_PAYWALL_TYPE_DISCOUNT && v != PV_PAYWALL_TYPE_CARGO)
            return pv_error_set(err, PV_ERANGE, path,
                                "%s: %" PRId64 " is not a documented debt type (1 Discount, "
                                "2 Cargo)",
                                path, v);
        if (v < f->min)
            return pv_error_set(err, PV_ERANGE, path,
                                "%s: %" PRId64 " is below the smallest accepted value %" PRId64,
                                path, v, f->min);
        if (f->kind == PW_TYPE)
            e->type = v;
        else if (f->kind == PW_CURRENCY_ID)
            e->currency_id = v;
        return pv_paywall_add(out, f->key, json_object_new_int64(v), path, err);
    case PW_NAME:
        rc = pv_json_string(in, f->key, path, false, text, sizeof(text), &present, err);
        if (rc != PV_OK)
            return rc;
        if (!present)
            return pv_paywall_add_null(out, f->key, path, err);
        return pv_paywall_add(out, f->key, json_object_new_string(text), path, err);
    case PW_CURRENCY:
        rc = pv_json_string(in, f->key, path, true, e->currency, sizeof(e->currency), NULL, err);
        if (rc != PV_OK)
            return rc;
        if (pv_currency_by_alpha(e->currency) == NULL) {
            pv_utf8_quote(d, sizeof(d), e->currency, strlen(e->currency));
            return pv_error_set(err, PV_ECURRENCY, path, "%s: unknown currency \"%s\"", path, d);
        }
        if ((e->currency_id == PV_PAYWALL_CURRENCY_TRY) != (strcmp(e->currency, "TRY") == 0))
            return pv_error_set(err, PV_EFORMAT, path,
                                "%s: \"%s\" contradicts CurrencyId %" PRId64 " (1 is TRY)", path,
                                e->currency, e->currency_id);
        return pv_paywall_add(out, f->key, json_object_new_string(e->currency), path, err);
    case PW_AMOUNT:
    case PW_DECIMAL:
        rc = pv_paywall_number(in, f->key, path, e->currency, &m, err);
        if (rc == PV_OK)
            rc = pv_paywall_add(out, f->key, pv_json_new_number_text(m.text), path, err);
        if (rc != PV_OK || f->kind == PW_DECIMAL)
            return rc;
        if (f->summed)
            e->debt = m;
        snprintf(key, sizeof(key), "%sMinor", f->key);
        return pv_paywall_add(out, key, json_object_new_int64(m.minor), path, err);
    case PW_OBJECT:
        sub = pv_json_member(in, f->key);
        if (sub == NULL) {
            if (e->type == f->required_for_type)
                return pv_error_set(err, PV_EMISSING, path,
                                    "%s: required for a debt of Type %" PRId64
                                    " but missing or null",
                                    path, e->type);
            return pv_paywall_add_null(out, f->key, path, err);
        }
        if (!json_object_is_type(sub, json_type_object)) {
            pv_json_describe(sub, d, sizeof(d));
            return pv_error_set(err, PV_ETYPE, path, "%s: expected an object, got %s", path, d);
        }
        obj = json_object_new_object();
        rc = pv_paywall_add(out, f->key, obj, path, err);
        if (rc == PV_OK)
            rc = pv_paywall_fields(sub, f->fields, path, e, obj, err);
        return rc;
    case PW_TIME:
        rc = pv_json_string(in, f->key, path, true, text, PV_PAYWALL_TIME_MAX, NULL, err);
        if (rc == PV_OK)
            rc = pv_time_parse_iso8601(text, path, &ms, err);
        if (rc == PV_OK)
            rc = pv_paywall_add(out, f->key, json_object_new_string(text), path, err);
        if (rc != PV_OK)
            return rc;
        pv_time_format_utc(ms, d, sizeof(d));
        snprintf(key, sizeof(key), "%sUtc", f->key);
        return pv_paywall_add(out, key, json_object_new_string(d), path, err);
    }
    return pv_error_set(err, PV_EUNSUPPORTED, path, "%s: unhandled field kind", path);
}

static int pv_paywall_fields(json_object *in, const pv_paywall_field *fields, const char *prefix,
                             pv_paywall_entry *e, json_object *out, pv_error *err)
{
    char path[PV_ERR_FIELD_MAX];
    for (const pv_paywall_field *f = fields; f->key != NULL; f++) {
        snprintf(path, sizeof(path), "%s.%s", prefix, f->key);
        int rc = pv_paywall_field_read(in, f, path, e, out, err);
        if (rc != PV_OK)
            return rc;
    }
    return PV_OK;
}

/*---- Totals per currency ----*/

static int pv_paywall_total_add(pv_paywall_totals *totals, const pv_money *m, const char *path,
                                pv_error *err)
{
    pv_paywall_total *t = NULL;
    for (size_t i = 0; i < totals->n; i++)
        if (strcmp(totals->t[i].sum.currency, m->currency) == 0)
            t = &totals->t[i];
    if (t == NULL) {
        if (totals->n == PV_PAYWALL_CURRENCIES_MAX)
            return pv_error_set(err, PV_ETOOBIG, path,
                                "%s: currency \"%s\" is one more than the %d currencies a report "
                                "may hold",
                                path, m->currency, PV_PAYWALL_CURRENCIES_MAX);
        t = &totals->t[totals->n++];
        memset(t, 0, sizeof(*t));
        pv_money_from_minor(0, m->currency, &t->sum, NULL);
    }
    if (pv_money_add(&t->sum, m, &t->sum) != PV_OK)
        return pv_error_set(err, PV_ERANGE, path,
                            "%s: adding \"%s\" takes the %s total out of the 64-bit range", path,
                            m->text, m->currency);
    t->count++;
    return PV_OK;
}

static int pv_paywall_totals_json(const pv_paywall_totals *totals, json_object *arr, pv_error *err)
{
    for (size_t i = 0; i < totals->n; i++) {
        const pv_paywall_total *t = &totals->t[i];
        json_object *o = json_object_new_object();
        int rc =
            o != NULL ? PV_OK : pv_error_set(err, PV_ENOMEM, "totals", "totals: out of memory");
        if (rc == PV_OK && json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            rc = pv_error_set(err, PV_ENOMEM, "totals", "totals: out of memory");
        }
        if (rc == PV_OK)
            rc = pv_paywall_add(o, "Currency", json_object_new_string(t->sum.currency), "totals",
                                err);
        if (rc == PV_OK)
            rc = pv_paywall_add(o, "Count", json_object_new_int64(t->count), "totals", err);
        if (rc == PV_OK)
            rc = pv_paywall_add(o, "DebtAmount", pv_json_new_money(&t->sum), "totals", err);
        if (rc == PV_OK)
            rc = pv_paywall_add(o, "DebtAmountMinor", json_object_new_int64(t->sum.minor), "totals",
                                err);
        if (rc != PV_OK)
            return rc;
    }
    return PV_OK;
}

/*---- Response ----*/

/* Reads the envelope into *code and *ok and records them in res. */
static int pv_paywall_envelope(const char *body, size_t len, json_object **root, int64_t *code,
                               bool *ok, pv_result *res, pv_error *err)
{
    char msg[PV_MSG_MAX] = "";
    char codebuf[24];
    char d[128];

    int rc = pv_json_parse_object(body, len, "Paywall response", root, err);
    if (rc != PV_OK)
        return rc;
    rc = pv_json_int64(*root, "ErrorCode", "ErrorCode", true, code, NULL, err);
    if (rc == PV_OK)
        rc = pv_json_bool(*root, "Result", "Result", true, ok, NULL, err);
    if (rc != PV_OK)
        return rc;
    json_object *m = pv_json_member(*root, "Message");
    if (m != NULL && !json_object_is_type(m, json_type_string)) {
        pv_json_describe(m, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, "Message", "Message: expected a string, got %s", d);
    }
    if (m != NULL)
        pv_utf8_copy(msg, sizeof(msg), json_object_get_string(m),
                     (size_t)json_object_get_string_len(m));
    snprintf(codebuf, sizeof(codebuf), "%" PRId64, *code);
    pv_result_set_code(res, codebuf, msg);
    return PV_OK;
}

/* Validates Body and builds the detail (*detail owned by the caller). */
static int pv_paywall_body(json_object *root, json_object **detail, pv_error *err)
{
    char d[128], prefix[32], path[PV_ERR_FIELD_MAX];
    pv_paywall_totals totals;
    json_object *list = pv_json_member(root, "Body");

    *detail = NULL;
    if (list == NULL)
        return pv_error_set(err, PV_EMISSING, "Body",
                            "Body: required field is missing or null on a successful answer");
    if (!json_object_is_type(list, json_type_array)) {
        pv_json_describe(list, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, "Body", "Body: expected an array of debts, got %s", d);
    }
    size_t n = json_object_array_length(list);
    if (n > PV_PAYWALL_DEBTS_MAX)
        return pv_error_set(err, PV_ETOOBIG, "Body",
                            "Body: %zu debts exceed the limit of %d per report", n,
                            PV_PAYWALL_DEBTS_MAX);

    memset(&totals, 0, sizeof(totals));
    json_object *out = json_object_new_object();
    json_object *debts = json_object_new_array();
    json_object *sums = json_object_new_array();
    int rc = pv_paywall_add(out, "debts", debts, "Body", err);
    if (rc == PV_OK)
        rc = pv_paywall_add(out, "totals", sums, "Body", err);
    else
        json_object_put(sums);
    for (size_t i = 0; rc == PV_OK && i < n; i++) {
        json_object *in = json_object_array_get_idx(list, i);
        pv_paywall_entry e;
        memset(&e, 0, sizeof(e));
        snprintf(prefix, sizeof(prefix), "Body[%zu]", i);
        if (!json_object_is_type(in, json_type_object)) {
            pv_json_describe(in, d, sizeof(d));
            rc = pv_error_set(err, PV_ETYPE, prefix, "%s: expected a debt object, got %s", prefix,
                              d);
            break;
        }
        json_object *entry = json_object_new_object();
        if (entry == NULL || json_object_array_add(debts, entry) != 0) {
            json_object_put(entry);
            rc = pv_error_set(err, PV_ENOMEM, prefix, "%s: out of memory", prefix);
            break;
        }
        rc = pv_paywall_fields(in, pv_paywall_debt_fields, prefix, &e, entry, err);
        if (rc == PV_OK) {
            snprintf(path, sizeof(path), "%s.DebtAmount", prefix);
            rc = pv_paywall_total_add(&totals, &e.debt, path, err);
        }
    }
    if (rc == PV_OK)
        rc = pv_paywall_totals_json(&totals, sums, err);
    if (rc != PV_OK) {
        json_object_put(out);
        return rc;
    }
    *detail = out;
    return PV_OK;
}

static void pv_paywall_parse_response(const pv_command *cmd, int http_status, const char *body,
                                      size_t len, pv_result *res)
{
    json_object *root = NULL;
    int64_t code = 0;
    bool ok = false;
    pv_error err = {0};
    (void)cmd;

    res->http_status = http_status;
    if (pv_paywall_envelope(body, len, &root, &code, &ok, res, &err) != PV_OK) {
        /* no usable envelope: the HTTP status decides (READONLY: never UNKNOWN) */
        pv_result_fail(res, pv_classify_http_default(&pv_paywall, http_status), &err);
        goto out;
    }
    bool refused = code != 0 || !ok;
    if (http_status < 200 || http_status >= 300) {
        pv_outcome o = pv_classify_http_default(&pv_paywall, http_status);
        res->outcome = refused && o == PV_OUTCOME_INVALID ? PV_OUTCOME_DECLINED : o;
        if (res->outcome != PV_OUTCOME_DECLINED)
            snprintf(res->error, sizeof(res->error),
                     "HTTP %d with ErrorCode %" PRId64 " and Result %s", http_status, code,
                     ok ? "true" : "false");
        goto out;
    }
    if (refused) {
        res->outcome = PV_OUTCOME_DECLINED;
        goto out;
    }
    if (pv_paywall_body(root, &res->detail, &err) != PV_OK) {
        pv_result_fail(res, pv_classify_http_default(&pv_paywall, http_status), &err);
        goto out;
    }
    res->outcome = PV_OUTCOME_SUCCEEDED;
out:
    pv_error_clear(&err);
    json_object_put(root);
}

const pv_provider pv_paywall = {
    .name = "PAYWALL",
    .operation = "debtreport",
    .query_id_field = "paymentid",
    .caps = PV_CAP_READONLY,
    .settings = pv_paywall_settings,
    .query_id = pv_paywall_query_id,
    .build_request = pv_paywall_build_request,
    .parse_response = pv_paywall_parse_response,
};
