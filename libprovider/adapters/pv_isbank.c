/* pv_isbank.c -- Türkiye İş Bankası bill payment / donation services (seed 003,
 * PROVIDERS.md "İş Bankası bill payments").
 *
 * DESIGN
 * The operation validates a command against the bank's service object, then
 * pays: POST /api/isbank/v1/bill-payments. Every call carries the IBM API
 * Connect headers X-IBM-client-id / X-IBM-client-secret (settings) and
 * `Authorization: Bearer <token>`; the worker fetches and caches the token
 * with the token hooks (PV_CAP_OAUTH) and the service object with the spec
 * hooks (PV_CAP_SPEC), and hands both in through pv_ctx.
 *
 * The command (DESIGN.md §5: the bank's own vocabulary) is
 *   {"service_id": 10065, "payment_reference": "R-1", "amount": 265,
 *    "currency_code": "EUR", "query_flow_id": "…" (optional),
 *    "basic_input_values": [{"name": "SubscriberName", "value": "…"}],
 *    "selected_input_values": [{"name": "OnBehalfOf",
 *                               "selected_item": {"key": "K", "value": "…"}}]}
 * and the body sent is the same object: service_id (integer),
 * query_flow_id (as given, only when given and not blank),
 * payment_reference, basic_input_values (blank values dropped),
 * selected_input_values (selected_item.value set to the spec's label of the
 * key), amount (exact decimal with the currency's digits: 265 EUR is sent as
 * 265.00, never through a double) and currency_code. The seed documents
 * this vocabulary for bill-payment-queries (PROVIDERS.md) but not the body
 * of bill-payments: ours mirrors the queries' shape. payment_reference is
 * our own reference of the payment and the lock key: 1..64 visible ASCII
 * characters (0x21-0x7e), no blanks, because a key the bank might trim or
 * fold would let two of our keys pay once each; the bound is ours, the bank's
 * is not in the seed.
 *
 * The spec (GET /api/isbank/v1/bill-institution-services/{service_id},
 * cached per service_id) is parsed into a bounded struct: at most
 * ISBANK_FIELDS_MAX fields (group children included), ISBANK_ITEMS_MAX
 * enumerated items in all, ISBANK_RANGES_MAX amount ranges, one level of
 * groups. A spec past a bound is an error, never truncated: a cut spec would
 * refuse good input or miss a required field. Read from
 * data.free_collection_query_specs.input_fields[]:
 * - A string of white space only ("\n " in the seed) is an absent value
 *   everywhere: parameter_type "\n " = no type constraint, regex "\n " = none.
 * - An entry with no name ({"items": []}, under every field of the seed) is
 *   a placeholder and ignored; so is an item with no key.
 * - required arrives as true/false or "true"/"false"; parameter_length
 *   min/max as numbers or digit strings ("100"). Absent = not required / no
 *   bound.
 * - parameter_type "Numeric" = ASCII digits only; "Alphanumeric" = printable
 *   text, i.e. no control characters (C0, DEL, C1): the bank gives Email that
 *   type, so it cannot mean letters and digits only. Type names compare
 *   without case. Any other type is refused when the spec is parsed: a spec
 *   we do not understand cannot validate anything. Whatever the type, a
 *   value must be UTF-8 without control characters: it travels as JSON text.
 * - regex is not enforced: its dialect is undocumented and the seed has none;
 *   the bank validates again anyway.
 * - A field whose input_fields hold named entries is a group (the seed's
 *   Address): it carries no value; its children are given by their own names.
 * - amount_input.amount_limitations.amount_range[] gives per currency
 *   min_value/max_value; decimal_fraction_allowed (absent = allowed) says
 *   whether the amount may have a fraction.
 * min_value/max_value are MAJOR units (900 TRY, not 9.00 TRY): the seed's
 * Payments sample pays amount 265 in EUR, exactly the EUR min_value, and that
 * amount is plainly a major-unit decimal (a JSON number the bank compares
 * with decimal_fraction_allowed); a flag about decimal fractions has no
 * meaning for counts of minor units; and 900 TRY / 295 USD / 265 EUR are
 * plausible minimum donations where 9.00 TRY / 2.65 EUR are not. So bounds
 * and amounts are both parsed with pv_money in major units and compared in
 * minor units.
 *
 * Validation (build_request, against ctx->spec; none → PV_ECONFIG; a spec of
 * another service_id → PV_ECONFIG). First the command's own shape, with the
 * first error returned under its own code (missing/ill-typed fields, a bad
 * amount such as "1e3" or more decimals than the currency has, unknown
 * currency, lists too long). Then every rule of the spec, ALL failures
 * collected: unknown input names; a name given twice; a group given a value;
 * required fields (blank = not given); length in UTF-8 code points, not
 * bytes ("Adına Bağış Yapılan"); Numeric / Alphanumeric; an enumerated field
 * must come in selected_input_values with one of its keys (and, if the
 * command gives selected_item.value, the spec's label of that key), never as
 * a basic value; a group (Address) that is required or has any child given
 * needs all its required children (Country, Province, AddressText); the
 * currency must have a range when the spec lists any; min <= amount <= max;
 * no fraction when decimal_fraction_allowed is false. The result is
 * PV_EVALIDATION with err->field / errstr naming the first failure (quoting
 * its value) and err->detail =
 *   {"field_errors": [{"field": "Tckn_Vkn_Ykn", "value": "123",
 *                      "error": "length 3 is below the minimum 11"}, …]}
 * (at most ISBANK_ERRORS_MAX entries, then "more": N). Names compare
 * exactly, as the bank spells them. Values are sent as the command's own
 * text, never trimmed or re-cased.
 *
 * The answer is the envelope {data, infos: [{code, message,
 * message_for_customer}]}; code "0" is OK. Classification:
 *   status        envelope                              outcome
 *   401, 403      any                                   FATAL (credentials)
 *   408/425/429   any                                   RETRY (gateway throttled it)
 *   2xx           no infos or all "0", data.payment_id  SUCCEEDED
 *   2xx           no infos or all "0", no payment_id    UNKNOWN (no proof of payment)
 *   2xx, 4xx      an info code other than "0"           DECLINED (the bank refused)
 *   2xx, 4xx      such a code AND data.payment_id       UNKNOWN (contradiction)
 *   5xx           infos or data present                 UNKNOWN (the bank was at work)
 *   other         no usable envelope                    pv_classify_http_default
 *   2xx           unreadable                            UNKNOWN
 * The seed documents no code but "0", so every other code is taken as the
 * bank's refusal because it arrives without a payment_id: the envelope puts
 * failures in infos, and a payment that went through carries its id. (The
 * risk: an undocumented code meaning "already paid under this reference"
 * would read as DECLINED; add it here as UNKNOWN or SUCCEEDED once known.)
 * The first non-"0" info (else the first info) gives provider_code /
 * provider_message (its message, not the customer's); its
 * message_for_customer and every info go in the detail. Answers of the
 * API Connect gateway itself ({httpCode, httpMessage, moreInformation}) have
 * no envelope; their code and text are kept as provider code / message.
 * On success: refs payment_id; paid = data.amount in data.currency_code (the
 * command's currency when absent; exact text kept); paid_at =
 * execution_date (ISO 8601 with offset); detail keeps overdraft_amount (exact
 * text, checked as an amount of overdraft_currency_code),
 * overdraft_currency_code and sos_used. A success whose details cannot all
 * be read stays SUCCEEDED here with res->error naming the field (the money
 * moved); pv_provider_parse_response then makes it UNKNOWN, because we do
 * not know what was paid. No status inquiry exists for bill
 * payments (no PV_CAP_INQUIRY): an UNKNOWN here stays UNKNOWN in Redis and
 * needs an operator (payctl resolve) who asks the bank.
 *
 * Token: POST <token_path> (default /api/isbank/v1/oauth2/token; public
 * integrations show product-specific paths such as
 * /api/isbank/v1/identity-provider/oauth2/token, hence a setting; a missing
 * leading '/' is added), form
 * grant_type=client_credentials&client_id&client_secret[&scope] with the
 * X-IBM headers too (API Connect checks the client id on every path); scope is
 * sent only when configured (RFC 6749 §3.3 lets the server apply the
 * client's default scope). The answer's access_token and expires_in are
 * read; expires_in absent = 0 (unknown: the worker applies its own default).
 * Neither the token nor the secret ever appears in an error message.
 *
 * Errors of the spec and token hooks: 401/403 (and a token endpoint's 400,
 * RFC 6749 §5.2 invalid_client / invalid_scope) → PV_ECONFIG (credentials:
 * stop and alert); any other non-2xx → PV_ERANGE on field "http_status" (the
 * fetch moves no money: the worker may try it again later); a 2xx service
 * object whose infos carry an error → PV_EUNSUPPORTED. The bank's code and
 * message are quoted in the error when the body has them.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider.h"
#include "pv_json.h"
#include "pv_time.h"
#include "pv_text.h"

/*---- Settings and bounds ----*/

enum { ISBANK_CLIENT_ID, ISBANK_CLIENT_SECRET, ISBANK_TOKEN_PATH, ISBANK_SCOPE };

static const pv_setting pv_isbank_settings[] = {
    [ISBANK_CLIENT_ID] = {.name = "client_id",
                          .required = true,
                          .doc = "IBM API Connect client id: X-IBM-client-id header and OAuth "
                                 "client_id"},
    [ISBANK_CLIENT_SECRET] = {.name = "client_secret",
                              .secret = true,
                              .required = true,
                              .doc = "IBM API Connect client secret: X-IBM-client-secret header "
                                     "and OAuth client_secret"},
    [ISBANK_TOKEN_PATH] = {.name = "token_path",
                           .default_value = "/api/isbank/v1/oauth2/token",
                           .doc = "path of the OAuth2 token endpoint (client credentials)"},
    [ISBANK_SCOPE] = {.name = "scope",
                      .doc = "OAuth2 scope to ask for (space-separated); unset sends none and "
                             "the bank applies the application's default scope"},
    {.name = NULL},
};

#define ISBANK_FIELDS_MAX 48   /* input fields of one service, group children included */
#define ISBANK_ITEMS_MAX  128  /* enumerated items of one service, all fields together */
#define ISBANK_RANGES_MAX 16   /* amount ranges (one per currency) */
#define ISBANK_NAME_MAX   64   /* field names and item keys, NUL included */
#define ISBANK_LABEL_MAX  128  /* item labels, NUL included */
#define ISBANK_INPUTS_MAX 64   /* entries of each input list of a command */
#define ISBANK_VALUE_MAX  1024 /* bytes of one input value */
#define ISBANK_ERRORS_MAX 32   /* field errors listed in the detail */
#define ISBANK_REF_MAX    64   /* characters of payment_reference */
#define ISBANK_FLOW_MAX   128  /* bytes of query_flow_id */
#define ISBANK_INFOS_MAX  8    /* infos kept in a result's detail */
#define ISBANK_QUOTE_MAX  320  /* a quoted value (64 input bytes, escaped) */
#define ISBANK_SPEC_MAGIC 0x49534253u

#define ISBANK_API "/api/isbank/v1"

/*---- The parsed service object ----*/

typedef enum pv_isbank_type {
    ISBANK_TYPE_ANY,     /* "\n " or absent: no constraint */
    ISBANK_TYPE_NUMERIC, /* ASCII digits only */
    ISBANK_TYPE_ALNUM,   /* printable: no control characters */
} pv_isbank_type;

typedef struct pv_isbank_item {
    char key[ISBANK_NAME_MAX];
    char label[ISBANK_LABEL_MAX]; /* the item's "value": a display text */
} pv_isbank_item;

typedef struct pv_isbank_field {
    char name[ISBANK_NAME_MAX];
    int parent; /* index of the group in fields[], -1 at the top level */
    bool required;
    bool group;      /* has named children: carries no value itself */
    int64_t min_len; /* in code points; -1 when not bounded */
    int64_t max_len;
    pv_isbank_type type;
    size_t item0; /* the field's items are items[item0 .. item0+nitems) */
    size_t nitems;
} pv_isbank_field;

typedef struct pv_isbank_range {
    char currency[4];
    bool known;   /* in our ISO 4217 table: bounds parsed */
    pv_money min; /* unset when the spec gives no bound */
    pv_money max;
} pv_isbank_range;

typedef struct pv_isbank_spec {
    uint32_t magic;     /* ISBANK_SPEC_MAGIC: ctx->spec really is ours */
    int64_t service_id; /* 0 when the object does not say */
    pv_isbank_field fields[ISBANK_FIELDS_MAX];
    size_t nfields;
    pv_isbank_item items[ISBANK_ITEMS_MAX];
    size_t nitems;
    pv_isbank_range ranges[ISBANK_RANGES_MAX];
    size_t nranges;
    bool decimal_fraction_allowed;
} pv_isbank_spec;

/* Exported for the tests and operator tools: the parsed spec as canonical
 * JSON (would be declared in a pv_isbank.h; see the report). */
json_object *pv_isbank_spec_to_json(const void *spec);

/*---- Text helpers ----*/

static void pv_isbank_path(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pv_isbank_path(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static bool pv_isbank_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool pv_isbank_blank_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!pv_isbank_space(s[i]))
            return false;
    return true;
}

/* JSON null, absence and a string of white space only ("\n ") are all "no
 * value" in the bank's documents. */
static bool pv_isbank_blank(json_object *v)
{
    if (v == NULL)
        return true;
    if (!json_object_is_type(v, json_type_string))
        return false;
    return pv_isbank_blank_text(json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static json_object *pv_isbank_value(const json_object *obj, const char *key)
{
    json_object *v = pv_json_member(obj, key);
    return pv_isbank_blank(v) ? NULL : v;
}

static bool pv_isbank_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* What validation needs to know about one value. */
typedef struct pv_isbank_text {
    bool utf8;    /* valid UTF-8 */
    size_t chars; /* code points (when utf8) */
    bool control; /* holds a control character (NUL included) */
    bool digits;  /* ASCII digits only (and not empty) */
} pv_isbank_text;

static pv_isbank_text pv_isbank_scan(const char *s, size_t len)
{
    pv_isbank_text t = {.utf8 = true, .digits = len > 0};
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = pv_utf8_next(u + i, len - i, &cp);
        if (n == 0) {
            t.utf8 = false;
            t.digits = false;
            return t;
        }
        if (pv_isbank_control(cp))
            t.control = true;
        if (cp < '0' || cp > '9')
            t.digits = false;
        t.chars++;
        i += n;
    }
    return t;
}

/* Copies at most cap-1 bytes of s without cutting a UTF-8 sequence. */
static void pv_isbank_copy(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    if (n < len)
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Text of a string or integer JSON value (codes, keys, ids) into buf. */
static int pv_isbank_scalar(json_object *v, const char *path, char *buf, size_t cap, pv_error *err)
{
    char d[128];
    size_t len = 0;
    const char *t = NULL;

    if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))
        t = pv_json_number_text(v, &len);
    if (t == NULL) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, path, "%s: expected a string or an integer, got %s",
                            path, d);
    }
    pv_json_describe(v, d, sizeof(d));
    if (len >= cap)
        return pv_error_set(err, PV_ETOOBIG, path, "%s: %s is %zu bytes long, the limit is %zu",
                            path, d, len, cap - 1);
    pv_isbank_text s = pv_isbank_scan(t, len);
    if (!s.utf8 || s.control || pv_isbank_blank_text(t, len))
        return pv_error_set(err, PV_EFORMAT, path,
                            "%s: %s must be printable text that is not blank", path, d);
    memcpy(buf, t, len);
    buf[len] = '\0';
    return PV_OK;
}

/* "a, b, c" from up to n names, cut with "..." when it does not fit. */
static void pv_isbank_join(char *buf, size_t cap, const char *const *names, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (o + len + 2 + 4 >= cap) {
            snprintf(buf + o, cap - o, "...");
            return;
        }
        if (i > 0) {
            memcpy(buf + o, ", ", 2);
            o += 2;
        }
        memcpy(buf + o, names[i], len);
        o += len;
        buf[o] = '\0';
    }
}

/*---- Spec: parsing ----*/

static int pv_isbank_find(const pv_isbank_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->nfields; i++)
        if (strcmp(spec->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int pv_isbank_expect(json_object *v, json_type type, const char *path, const char *what,
                            pv_error *err)
{
    char d[128];
    if (json_object_is_type(v, type))
        return PV_OK;
    pv_json_describe(v, d, sizeof(d));
    return pv_error_set(err, PV_ETYPE, path, "%s: expected %s, got %s", path, what, d);
}

static int pv_isbank_length_bound(json_object *pl, const char *key, const char *path, int64_t *out,
                                  pv_error *err)
{
    char p[PV_ERR_FIELD_MAX];
    *out = -1;
    json_object *v = pv_isbank_value(pl, key);
    if (v == NULL)
        return PV_OK;
    pv_isbank_path(p, sizeof(p), "%s.%s", path, key);
    int rc = pv_json_value_int64(v, p, out, err);
    if (rc != PV_OK)
        return rc;
    if (*out < 0)
        return pv_error_set(err, PV_ERANGE, p, "%s: %" PRId64 " must not be negative", p, *out);
    return PV_OK;
}

static int pv_isbank_parse_items(pv_isbank_spec *spec, pv_isbank_field *f, json_object *items,
                                 const char *path, pv_error *err)
{
    char p[PV_ERR_FIELD_MAX], kp[PV_ERR_FIELD_MAX];
    int rc = pv_isbank_expect(items, json_type_array, path, "an array of {key, value}", err);
    if (rc != PV_OK)
        return rc;
    f->item0 = spec->nitems;
    f->nitems = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i);
        pv_isbank_path(p, sizeof(p), "%s[%zu]", path, i);
        rc = pv_isbank_expect(it, json_type_object, p, "an object {key, value}", err);
        if (rc != PV_OK)
            return rc;
        json_object *key = pv_isbank_value(it, "key");
        if (key == NULL)
            continue; /* no key: nothing can select it */
        if (spec->nitems == ISBANK_ITEMS_MAX)
            return pv_error_set(err, PV_ETOOBIG, p,
                                "%s: the service has more than %d enumerated items in all", p,
                                ISBANK_ITEMS_MAX);
        pv_isbank_item *item = &spec->items[spec->nitems];
        memset(item, 0, sizeof(*item));
        pv_isbank_path(kp, sizeof(kp), "%s.key", p);
        rc = pv_isbank_scalar(key, kp, item->key, sizeof(item->key), err);
        if (rc != PV_OK)
            return rc;
        for (size_t j = f->item0; j < spec->nitems; j++)
            if (strcmp(spec->items[j].key, item->key) == 0)
                return pv_error_set(err, PV_EFORMAT, kp, "%s: key \"%s\" appears twice", kp,
                                    item->key);
        if (pv_isbank_value(it, "value") != NULL) {
            pv_isbank_path(kp, sizeof(kp), "%s.value", p);
            rc = pv_json_string(it, "value", kp, true, item->label, sizeof(item->label), NULL, err);
            if (rc != PV_OK)
                return rc;
        }
        spec->nitems++;
        f->nitems++;
    }
    return PV_OK;
}

static int pv_isbank_parse_field(pv_isbank_spec *spec, json_object *fo, int parent,
                                 const char *path, pv_error *err);

static int pv_isbank_parse_children(pv_isbank_spec *spec, json_object *list, int parent,
                                    const char *path, pv_error *err)
{
    char p[PV_ERR_FIELD_MAX];
    int rc = pv_isbank_expect(list, json_type_array, path, "an array of input fields", err);
    for (size_t i = 0; rc == PV_OK && i < json_object_array_length(list); i++) {
        pv_isbank_path(p, sizeof(p), "%s[%zu]", path, i);
        rc = pv_isbank_parse_field(spec, json_object_array_get_idx(list, i), parent, p, err);
    }
    return rc;
}

static int pv_isbank_parse_field(pv_isbank_spec *spec, json_object *fo, int parent,
                                 const char *path, pv_error *err)
{
    char p[PV_ERR_FIELD_MAX], d[128];
    int rc = pv_isbank_expect(fo, json_type_object, path, "an input field object", err);
    if (rc != PV_OK)
        return rc;
    json_object *name = pv_isbank_value(fo, "name");
    if (name == NULL)
        return PV_OK; /* the {"items": []} placeholder: not a field */
    if (parent >= 0 && spec->fields[parent].parent >= 0)
        return pv_error_set(err, PV_EUNSUPPORTED, path,
                            "%s: input fields nested deeper than one group are not supported",
                            path);
    if (spec->nfields == ISBANK_FIELDS_MAX)
        return pv_error_set(err, PV_ETOOBIG, path, "%s: the service has more than %d input fields",
                            path, ISBANK_FIELDS_MAX);

    size_t idx = spec->nfields;
    pv_isbank_field *f = &spec->fields[idx];
    memset(f, 0, sizeof(*f));
    f->parent = parent;
    f->min_len = -1;
    f->max_len = -1;

    pv_isbank_path(p, sizeof(p), "%s.name", path);
    rc = pv_isbank_expect(name, json_type_string, p, "a string", err);
    if (rc == PV_OK)
        rc = pv_isbank_scalar(name, p, f->name, sizeof(f->name), err);
    if (rc != PV_OK)
        return rc;
    if (pv_isbank_find(spec, f->name) >= 0)
        return pv_error_set(err, PV_EFORMAT, p, "%s: field \"%s\" is defined twice", p, f->name);
    spec->nfields++;

    if (pv_isbank_value(fo, "required") != NULL) {
        pv_isbank_path(p, sizeof(p), "%s.required", path);
        rc = pv_json_bool(fo, "required", p, true, &f->required, NULL, err);
        if (rc != PV_OK)
            return rc;
    }

    json_object *pl = pv_isbank_value(fo, "parameter_length");
    if (pl != NULL) {
        pv_isbank_path(p, sizeof(p), "%s.parameter_length", path);
        rc = pv_isbank_expect(pl, json_type_object, p, "an object {min, max}", err);
        if (rc == PV_OK)
            rc = pv_isbank_length_bound(pl, "min", p, &f->min_len, err);
        if (rc == PV_OK)
            rc = pv_isbank_length_bound(pl, "max", p, &f->max_len, err);
        if (rc != PV_OK)
            return rc;
        if (f->min_len >= 0 && f->max_len >= 0 && f->min_len > f->max_len)
            return pv_error_set(err, PV_ERANGE, p,
                                "%s: min %" PRId64 " is greater than max %" PRId64, p, f->min_len,
                                f->max_len);
    }

    json_object *pt = pv_isbank_value(fo, "parameter_type");
    if (pt != NULL) {
        pv_isbank_path(p, sizeof(p), "%s.parameter_type", path);
        rc = pv_isbank_expect(pt, json_type_string, p, "a string", err);
        if (rc != PV_OK)
            return rc;
        const char *t = json_object_get_string(pt);
        if (strcasecmp(t, "Numeric") == 0) {
            f->type = ISBANK_TYPE_NUMERIC;
        } else if (strcasecmp(t, "Alphanumeric") == 0) {
            f->type = ISBANK_TYPE_ALNUM;
        } else {
            pv_json_describe(pt, d, sizeof(d));
            return pv_error_set(err, PV_EUNSUPPORTED, p,
                                "%s: %s is not a known type (Numeric, Alphanumeric)", p, d);
        }
    }

    json_object *items = pv_isbank_value(fo, "items");
    if (items != NULL) {
        pv_isbank_path(p, sizeof(p), "%s.items", path);
        rc = pv_isbank_parse_items(spec, f, items, p, err);
        if (rc != PV_OK)
            return rc;
    }

    json_object *children = pv_isbank_value(fo, "input_fields");
    if (children != NULL) {
        pv_isbank_path(p, sizeof(p), "%s.input_fields", path);
        rc = pv_isbank_parse_children(spec, children, (int)idx, p, err);
        if (rc != PV_OK)
            return rc;
        f->group = spec->nfields > idx + 1;
    }
    return PV_OK;
}

static int pv_isbank_parse_ranges(pv_isbank_spec *spec, json_object *ranges, pv_error *err)
{
    static const char *const base = "data.amount_input.amount_limitations.amount_range";
    char p[PV_ERR_FIELD_MAX], cp[PV_ERR_FIELD_MAX], d[128];
    int rc = pv_isbank_expect(ranges, json_type_array, base, "an array", err);
    if (rc != PV_OK)
        return rc;
    for (size_t i = 0; i < json_object_array_length(ranges); i++) {
        json_object *ro = json_object_array_get_idx(ranges, i);
        pv_isbank_path(p, sizeof(p), "%s[%zu]", base, i);
        rc = pv_isbank_expect(ro, json_type_object, p, "an object", err);
        if (rc != PV_OK)
            return rc;
        if (spec->nranges == ISBANK_RANGES_MAX)
            return pv_error_set(err, PV_ETOOBIG, p, "%s: more than %d amount ranges", p,
                                ISBANK_RANGES_MAX);
        pv_isbank_range *r = &spec->ranges[spec->nranges];
        memset(r, 0, sizeof(*r));
        pv_isbank_path(cp, sizeof(cp), "%s.currency_code", p);
        rc = pv_json_string(ro, "currency_code", cp, true, r->currency, sizeof(r->currency), NULL,
                            err);
        if (rc != PV_OK)
            return rc;
        if (strlen(r->currency) != 3 || strspn(r->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
            pv_json_describe(pv_json_member(ro, "currency_code"), d, sizeof(d));
            return pv_error_set(err, PV_EFORMAT, cp, "%s: %s is not an ISO 4217 code", cp, d);
        }
        for (size_t j = 0; j < spec->nranges; j++)
            if (strcmp(spec->ranges[j].currency, r->currency) == 0)
                return pv_error_set(err, PV_EFORMAT, cp, "%s: \"%s\" has two ranges", cp,
                                    r->currency);
        /* a currency we do not know keeps its place (it is listed) but its
         * bounds cannot be read: a command in it fails as an unknown currency */
        r->known = pv_currency_by_alpha(r->currency) != NULL;
        static const char *const keys[] = {"min_value", "max_value"};
        for (size_t k = 0; r->known && k < 2; k++) {
            pv_money *m = k == 0 ? &r->min : &r->max;
            json_object *v = pv_isbank_value(ro, keys[k]);
            if (v == NULL)
                continue;
            pv_isbank_path(cp, sizeof(cp), "%s.%s", p, keys[k]);
            rc = pv_json_value_money(v, cp, r->currency, m, err);
            if (rc != PV_OK)
                return rc;
            if (m->rounded)
                return pv_error_set(err, PV_EFORMAT, cp,
                                    "%s: \"%s\" has more decimals than %s has minor digits", cp,
                                    m->text, r->currency);
        }
        if (pv_money_isset(&r->min) && pv_money_isset(&r->max) && r->min.minor > r->max.minor)
            return pv_error_set(err, PV_ERANGE, p, "%s: min_value %s is greater than max_value %s",
                                p, r->min.text, r->max.text);
        spec->nranges++;
    }
    return PV_OK;
}

static int pv_isbank_parse_amount(pv_isbank_spec *spec, json_object *data, pv_error *err)
{
    spec->decimal_fraction_allowed = true; /* absent: no constraint */
    json_object *ai = pv_isbank_value(data, "amount_input");
    if (ai == NULL)
        return PV_OK;
    int rc = pv_isbank_expect(ai, json_type_object, "data.amount_input", "an object", err);
    if (rc != PV_OK)
        return rc;
    if (pv_isbank_value(ai, "decimal_fraction_allowed") != NULL) {
        rc = pv_json_bool(ai, "decimal_fraction_allowed",
                          "data.amount_input.decimal_fraction_allowed", true,
                          &spec->decimal_fraction_allowed, NULL, err);
        if (rc != PV_OK)
            return rc;
    }
    json_object *lim = pv_isbank_value(ai, "amount_limitations");
    if (lim == NULL)
        return PV_OK;
    rc = pv_isbank_expect(lim, json_type_object, "data.amount_input.amount_limitations",
                          "an object", err);
    if (rc != PV_OK)
        return rc;
    json_object *ranges = pv_isbank_value(lim, "amount_range");
    return ranges == NULL ? PV_OK : pv_isbank_parse_ranges(spec, ranges, err);
}

/*---- The envelope's infos (spec, payment) ----*/

typedef struct pv_isbank_info {
    char code[PV_CODE_MAX];
    char message[PV_MSG_MAX];
    char customer[PV_MSG_MAX]; /* message_for_customer */
} pv_isbank_info;

typedef struct pv_isbank_infos {
    size_t n;             /* entries */
    bool refused;         /* an entry's code is not "0" */
    pv_isbank_info first; /* the first refusing entry, else the first entry */
    json_object *list;    /* bounded copy for a detail (owned), NULL when none */
} pv_isbank_infos;

static void pv_isbank_msg(json_object *o, const char *key, char *buf, size_t cap)
{
    json_object *v = pv_json_member(o, key);
    buf[0] = '\0';
    if (v != NULL && json_object_is_type(v, json_type_string) && !pv_isbank_blank(v))
        pv_isbank_copy(buf, cap, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* Reads root.infos (absent = none). An entry without a readable code is an
 * error: the answer cannot be classified. */
static int pv_isbank_read_infos(json_object *root, pv_isbank_infos *out, pv_error *err)
{
    char p[PV_ERR_FIELD_MAX];
    memset(out, 0, sizeof(*out));
    json_object *infos = pv_json_member(root, "infos");
    if (infos == NULL)
        return PV_OK;
    int rc = pv_isbank_expect(infos, json_type_array, "infos", "an array", err);
    if (rc != PV_OK)
        return rc;
    for (size_t i = 0; i < json_object_array_length(infos); i++) {
        pv_isbank_info info;
        json_object *io = json_object_array_get_idx(infos, i);
        pv_isbank_path(p, sizeof(p), "infos[%zu]", i);
        rc = pv_isbank_expect(io, json_type_object, p, "an object", err);
        if (rc != PV_OK)
            return rc;
        pv_isbank_path(p, sizeof(p), "infos[%zu].code", i);
        json_object *code = pv_isbank_value(io, "code");
        if (code == NULL)
            return pv_error_set(err, PV_EMISSING, p, "%s: required field is missing", p);
        rc = pv_isbank_scalar(code, p, info.code, sizeof(info.code), err);
        if (rc != PV_OK)
            return rc;
        pv_isbank_msg(io, "message", info.message, sizeof(info.message));
        pv_isbank_msg(io, "message_for_customer", info.customer, sizeof(info.customer));
        bool bad = strcmp(info.code, "0") != 0;
        if (out->n == 0 || (bad && !out->refused))
            out->first = info;
        if (bad)
            out->refused = true;
        out->n++;
        if (i < ISBANK_INFOS_MAX) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "code", json_object_new_string(info.code));
            json_object_object_add(e, "message", json_object_new_string(info.message));
            json_object_object_add(e, "message_for_customer",
                                   json_object_new_string(info.customer));
            if (out->list == NULL)
                out->list = json_object_new_array();
            json_object_array_add(out->list, e);
        }
    }
    return PV_OK;
}

/* Code and text of an API Connect gateway answer, which has no envelope. */
static void pv_isbank_gateway_error(json_object *root, pv_result *res)
{
    char code[PV_CODE_MAX], msg[PV_MSG_MAX];
    pv_error ignored = {0};
    json_object *hc = pv_json_member(root, "httpCode");
    if (hc == NULL || pv_isbank_scalar(hc, "httpCode", code, sizeof(code), &ignored) != PV_OK)
        return;
    pv_isbank_msg(root, "moreInformation", msg, sizeof(msg));
    if (msg[0] == '\0')
        pv_isbank_msg(root, "httpMessage", msg, sizeof(msg));
    pv_result_set_code(res, code, msg);
}

/*---- Spec hooks ----*/

/* An error for a non-2xx answer of the spec or token endpoint; the bank's
 * own code and message are quoted when the body has them. */
static int pv_isbank_status_error(int http_status, const char *body, size_t len, const char *what,
                                  pv_error *err)
{
    char extra[PV_ERR_STR_MAX / 2] = "";
    json_object *root = NULL;
    pv_error ignored = {0};
    pv_isbank_infos infos;

    if (pv_json_parse(body, len, what, &root, &ignored) == PV_OK &&
        json_object_is_type(root, json_type_object)) {
        char q[ISBANK_QUOTE_MAX], m[PV_MSG_MAX];
        if (pv_isbank_read_infos(root, &infos, &ignored) == PV_OK && infos.n > 0) {
            pv_quote(q, sizeof(q), infos.first.message, strlen(infos.first.message));
            pv_isbank_path(extra, sizeof(extra), " (infos code \"%s\": \"%s\")", infos.first.code,
                           q);
        } else {
            pv_isbank_msg(root, "error_description", m, sizeof(m));
            if (m[0] == '\0')
                pv_isbank_msg(root, "moreInformation", m, sizeof(m));
            if (m[0] == '\0')
                pv_isbank_msg(root, "error", m, sizeof(m));
            if (m[0] != '\0') {
                pv_quote(q, sizeof(q), m, strlen(m));
                pv_isbank_path(extra, sizeof(extra), " (\"%s\")", q);
            }
        }
        json_object_put(infos.list);
    }
    json_object_put(root);
    if (http_status == 401 || http_status == 403)
        return pv_error_set(err, PV_ECONFIG, "http_status",
                            "%s: HTTP %d: the credentials were refused%s", what, http_status,
                            extra);
    /* a refused request (a service id that does not exist) will not change on
     * retry; a server error may */
    return pv_error_set(err, http_status >= 400 && http_status < 500 ? PV_ERANGE : PV_EUNAVAILABLE,
                        "http_status", "%s: HTTP %d is not a success%s", what, http_status, extra);
}

static int pv_isbank_service_id(json_object *in, int64_t *id, pv_error *err)
{
    int rc = pv_json_int64(in, "service_id", "request.service_id", true, id, NULL, err);
    if (rc != PV_OK)
        return rc;
    if (*id <= 0)
        return pv_error_set(err, PV_ERANGE, "request.service_id",
                            "request.service_id: %" PRId64 " must be a positive integer", *id);
    return PV_OK;
}

static int pv_isbank_spec_key(const pv_command *cmd, char *buf, size_t cap, pv_error *err)
{
    json_object *in;
    int64_t id;
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_isbank_service_id(in, &id, err);
    if (rc != PV_OK)
        return rc;
    int n = snprintf(buf, cap, "%" PRId64, id);
    if (n < 0 || (size_t)n >= cap)
        return pv_error_set(err, PV_ETOOBIG, "request.service_id",
                            "request.service_id: %" PRId64 " does not fit the key buffer", id);
    return PV_OK;
}

/* The headers every API call carries. */
static int pv_isbank_headers(const pv_ctx *ctx, pv_request *req, bool json_body, pv_error *err)
{
    char auth[PV_TOKEN_MAX + 16];
    if (ctx == NULL || ctx->token == NULL || ctx->token[0] == '\0')
        return pv_error_set(err, PV_ECONFIG, "Authorization",
                            "Authorization: no bearer token (the worker fetches it with the "
                            "token hooks)");
    if (strlen(ctx->token) >= PV_TOKEN_MAX)
        return pv_error_set(err, PV_ECONFIG, "Authorization",
                            "Authorization: the bearer token is longer than %d bytes",
                            PV_TOKEN_MAX - 1);
    snprintf(auth, sizeof(auth), "Bearer %s", ctx->token);
    int rc = pv_request_add_header(req, "X-IBM-client-id",
                                   pv_ctx_setting(&pv_isbank, ctx, ISBANK_CLIENT_ID), err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "X-IBM-client-secret",
                                   pv_ctx_setting(&pv_isbank, ctx, ISBANK_CLIENT_SECRET), err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "Authorization", auth, err);
    if (rc == PV_OK && json_body)
        rc = pv_request_add_header(req, "Content-Type", "application/json", err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "Accept", "application/json", err);
    return rc;
}

static int pv_isbank_build_spec_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                        pv_error *err)
{
    char key[32];
    pv_request_init(req);
    int rc = pv_isbank_spec_key(cmd, key, sizeof(key), err);
    if (rc != PV_OK)
        return rc;
    req->method = "GET";
    snprintf(req->path, sizeof(req->path), ISBANK_API "/bill-institution-services/%s", key);
    rc = pv_isbank_headers(ctx, req, false, err);
    if (rc != PV_OK)
        pv_request_clear(req);
    return rc;
}

static void *pv_isbank_parse_spec(int http_status, const char *body, size_t len, pv_error *err)
{
    static const char *const what = "İş Bankası service object";
    json_object *root = NULL;
    pv_isbank_spec *spec = NULL;
    pv_isbank_infos infos = {0};
    int rc;

    if (http_status < 200 || http_status > 299) {
        pv_isbank_status_error(http_status, body, len, what, err);
        return NULL;
    }
    rc = pv_json_parse(body, len, what, &root, err);
    if (rc == PV_OK)
        rc = pv_isbank_expect(root, json_type_object, "", "an object", err);
    if (rc == PV_OK)
        rc = pv_isbank_read_infos(root, &infos, err);
    if (rc == PV_OK && infos.refused) {
        char q[ISBANK_QUOTE_MAX];
        pv_quote(q, sizeof(q), infos.first.message, strlen(infos.first.message));
        rc = pv_error_set(err, PV_EUNSUPPORTED, "infos", "%s: infos code \"%s\": \"%s\"", what,
                          infos.first.code, q);
    }
    json_object *data = rc == PV_OK ? pv_json_member(root, "data") : NULL;
    if (rc == PV_OK && data == NULL)
        rc = pv_error_set(err, PV_EMISSING, "data", "data: required field is missing");
    if (rc == PV_OK)
        rc = pv_isbank_expect(data, json_type_object, "data", "an object", err);
    if (rc == PV_OK) {
        spec = calloc(1, sizeof(*spec));
        if (spec == NULL)
            rc = pv_error_set(err, PV_ENOMEM, "", "%s: out of memory", what);
    }
    if (rc == PV_OK) {
        spec->magic = ISBANK_SPEC_MAGIC;
        if (pv_isbank_value(data, "service_id") != NULL) {
            rc = pv_json_int64(data, "service_id", "data.service_id", true, &spec->service_id, NULL,
                               err);
            if (rc == PV_OK && spec->service_id <= 0)
                rc = pv_error_set(err, PV_ERANGE, "data.service_id",
                                  "data.service_id: %" PRId64 " must be a positive integer",
                                  spec->service_id);
        }
    }
    if (rc == PV_OK) {
        json_object *fcqs = pv_isbank_value(data, "free_collection_query_specs");
        if (fcqs != NULL) {
            rc = pv_isbank_expect(fcqs, json_type_object, "data.free_collection_query_specs",
                                  "an object", err);
            json_object *fields = pv_isbank_value(fcqs, "input_fields");
            if (rc == PV_OK && fields != NULL)
                rc = pv_isbank_parse_children(spec, fields, -1,
                                              "data.free_collection_query_specs.input_fields", err);
        }
    }
    if (rc == PV_OK)
        rc = pv_isbank_parse_amount(spec, data, err);
    if (rc != PV_OK) {
        free(spec);
        spec = NULL;
    }
    json_object_put(infos.list);
    json_object_put(root);
    return spec;
}

static void pv_isbank_free_spec(void *spec)
{
    free(spec);
}

static const pv_isbank_spec *pv_isbank_spec_cast(const void *p)
{
    const pv_isbank_spec *spec = p;
    return spec != NULL && spec->magic == ISBANK_SPEC_MAGIC ? spec : NULL;
}

static json_object *pv_isbank_field_json(const pv_isbank_spec *spec, size_t i)
{
    static const char *const types[] = {NULL, "Numeric", "Alphanumeric"};
    const pv_isbank_field *f = &spec->fields[i];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(f->name));
    json_object_object_add(o, "required", json_object_new_boolean(f->required));
    if (f->group) {
        json_object *kids = json_object_new_array();
        for (size_t k = i + 1; k < spec->nfields; k++)
            if (spec->fields[k].parent == (int)i)
                json_object_array_add(kids, pv_isbank_field_json(spec, k));
        json_object_object_add(o, "input_fields", kids);
        return o;
    }
    if (f->type != ISBANK_TYPE_ANY)
        json_object_object_add(o, "type", json_object_new_string(types[f->type]));
    if (f->min_len >= 0)
        json_object_object_add(o, "min_length", json_object_new_int64(f->min_len));
    if (f->max_len >= 0)
        json_object_object_add(o, "max_length", json_object_new_int64(f->max_len));
    if (f->nitems > 0) {
        json_object *items = json_object_new_array();
        for (size_t k = f->item0; k < f->item0 + f->nitems; k++) {
            json_object *it = json_object_new_object();
            json_object_object_add(it, "key", json_object_new_string(spec->items[k].key));
            json_object_object_add(it, "value", json_object_new_string(spec->items[k].label));
            json_object_array_add(items, it);
        }
        json_object_object_add(o, "items", items);
    }
    return o;
}

json_object *pv_isbank_spec_to_json(const void *p)
{
    const pv_isbank_spec *spec = pv_isbank_spec_cast(p);
    if (spec == NULL)
        return NULL;
    json_object *o = json_object_new_object();
    if (spec->service_id > 0)
        json_object_object_add(o, "service_id", json_object_new_int64(spec->service_id));
    json_object *fields = json_object_new_array();
    for (size_t i = 0; i < spec->nfields; i++)
        if (spec->fields[i].parent < 0)
            json_object_array_add(fields, pv_isbank_field_json(spec, i));
    json_object_object_add(o, "input_fields", fields);
    json_object *ranges = json_object_new_array();
    for (size_t i = 0; i < spec->nranges; i++) {
        const pv_isbank_range *r = &spec->ranges[i];
        json_object *ro = json_object_new_object();
        json_object_object_add(ro, "currency_code", json_object_new_string(r->currency));
        if (pv_money_isset(&r->min))
            json_object_object_add(ro, "min_value", pv_json_new_money(&r->min));
        if (pv_money_isset(&r->max))
            json_object_object_add(ro, "max_value", pv_json_new_money(&r->max));
        json_object_array_add(ranges, ro);
    }
    json_object_object_add(o, "amount_ranges", ranges);
    json_object_object_add(o, "decimal_fraction_allowed",
                           json_object_new_boolean(spec->decimal_fraction_allowed));
    return o;
}

/*---- The command ----*/

typedef struct pv_isbank_input {
    const char *name;
    const char *value; /* basic: the value; selected: selected_item.key */
    size_t value_len;
    const char *label; /* selected: selected_item.value, NULL when absent */
    size_t label_len;
    bool selected;
    bool blank; /* a basic value of white space only: not given */
} pv_isbank_input;

typedef struct pv_isbank_order {
    int64_t service_id;
    const char *reference;
    char currency[4];
    pv_money amount;
    json_object *flow_id; /* borrowed from the command; NULL when absent */
    pv_isbank_input inputs[2 * ISBANK_INPUTS_MAX];
    size_t ninputs;
} pv_isbank_order;

static int pv_isbank_reference(json_object *in, const char **out, pv_error *err)
{
    static const char *const path = "request.payment_reference";
    char d[128];
    json_object *v = pv_json_member(in, "payment_reference");
    if (v == NULL)
        return pv_error_set(err, PV_EMISSING, path, "%s: required field is missing", path);
    pv_json_describe(v, d, sizeof(d));
    if (!json_object_is_type(v, json_type_string))
        return pv_error_set(err, PV_ETYPE, path, "%s: expected a string, got %s", path, d);
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 0)
        return pv_error_set(err, PV_EFORMAT, path, "%s: %s must not be empty", path, d);
    if (len > ISBANK_REF_MAX)
        return pv_error_set(err, PV_ETOOBIG, path, "%s: %s is %zu bytes long, the limit is %d",
                            path, d, len, ISBANK_REF_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return pv_error_set(err, PV_EFORMAT, path,
                                "%s: %s must be visible ASCII characters without blanks", path, d);
    *out = s;
    return PV_OK;
}

static int pv_isbank_query_id(const pv_command *cmd, char *buf, size_t cap, pv_error *err)
{
    json_object *in;
    const char *ref;
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_isbank_reference(in, &ref, err);
    if (rc != PV_OK)
        return rc;
    if (strlen(ref) >= cap)
        return pv_error_set(err, PV_ETOOBIG, "request.payment_reference",
                            "request.payment_reference: does not fit the key buffer (%zu bytes)",
                            cap);
    snprintf(buf, cap, "%s", ref);
    return PV_OK;
}

/* A string member of an input entry, bounded; its text and length out. */
static int pv_isbank_input_text(json_object *o, const char *key, const char *path, bool required,
                                size_t max, const char **out, size_t *len, pv_error *err)
{
    char p[PV_ERR_FIELD_MAX], d[128];
    json_object *v = pv_json_member(o, key);
    pv_isbank_path(p, sizeof(p), "%s.%s", path, key);
    *out = NULL;
    *len = 0;
    if (v == NULL) {
        if (required)
            return pv_error_set(err, PV_EMISSING, p, "%s: required field is missing", p);
        return PV_OK;
    }
    pv_json_describe(v, d, sizeof(d));
    if (!json_object_is_type(v, json_type_string))
        return pv_error_set(err, PV_ETYPE, p, "%s: expected a string, got %s", p, d);
    *len = (size_t)json_object_get_string_len(v);
    if (*len > max)
        return pv_error_set(err, PV_ETOOBIG, p, "%s: %s is %zu bytes long, the limit is %zu", p, d,
                            *len, max);
    *out = json_object_get_string(v);
    return PV_OK;
}

static int pv_isbank_read_inputs(json_object *in, const char *key, bool selected,
                                 pv_isbank_order *o, pv_error *err)
{
    char path[PV_ERR_FIELD_MAX], p[PV_ERR_FIELD_MAX], d[128];
    json_object *list = pv_json_member(in, key);
    if (list == NULL)
        return PV_OK;
    pv_isbank_path(path, sizeof(path), "request.%s", key);
    int rc = pv_isbank_expect(list, json_type_array, path, "an array", err);
    if (rc != PV_OK)
        return rc;
    size_t n = json_object_array_length(list);
    if (n > ISBANK_INPUTS_MAX)
        return pv_error_set(err, PV_ETOOBIG, path, "%s: %zu entries, the limit is %d", path, n,
                            ISBANK_INPUTS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(list, i);
        pv_isbank_input *inp = &o->inputs[o->ninputs];
        memset(inp, 0, sizeof(*inp));
        inp->selected = selected;
        pv_isbank_path(p, sizeof(p), "%s[%zu]", path, i);
        rc = pv_isbank_expect(e, json_type_object, p, "an object", err);
        size_t nlen;
        if (rc == PV_OK)
            rc = pv_isbank_input_text(e, "name", p, true, ISBANK_NAME_MAX - 1, &inp->name, &nlen,
                                      err);
        if (rc != PV_OK)
            return rc;
        pv_isbank_text t = pv_isbank_scan(inp->name, nlen);
        if (!t.utf8 || t.control || pv_isbank_blank_text(inp->name, nlen)) {
            pv_json_describe(pv_json_member(e, "name"), d, sizeof(d));
            pv_isbank_path(p, sizeof(p), "%s[%zu].name", path, i);
            return pv_error_set(err, PV_EFORMAT, p, "%s: %s must be printable, not blank", p, d);
        }
        if (!selected) {
            rc = pv_isbank_input_text(e, "value", p, true, ISBANK_VALUE_MAX, &inp->value,
                                      &inp->value_len, err);
            if (rc != PV_OK)
                return rc;
            inp->blank = pv_isbank_blank_text(inp->value, inp->value_len);
        } else {
            json_object *si = pv_json_member(e, "selected_item");
            char sp[PV_ERR_FIELD_MAX];
            pv_isbank_path(sp, sizeof(sp), "%s.selected_item", p);
            if (si == NULL)
                return pv_error_set(err, PV_EMISSING, sp, "%s: required field is missing", sp);
            rc = pv_isbank_expect(si, json_type_object, sp, "an object {key, value}", err);
            if (rc == PV_OK)
                rc = pv_isbank_input_text(si, "key", sp, true, ISBANK_NAME_MAX - 1, &inp->value,
                                          &inp->value_len, err);
            if (rc == PV_OK)
                rc = pv_isbank_input_text(si, "value", sp, false, ISBANK_LABEL_MAX - 1, &inp->label,
                                          &inp->label_len, err);
            if (rc != PV_OK)
                return rc;
        }
        o->ninputs++;
    }
    return PV_OK;
}

static int pv_isbank_read_order(const pv_command *cmd, pv_isbank_order *o, pv_error *err)
{
    json_object *in;
    char d[128];
    memset(o, 0, sizeof(*o));
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_isbank_service_id(in, &o->service_id, err);
    if (rc == PV_OK)
        rc = pv_isbank_reference(in, &o->reference, err);
    if (rc == PV_OK)
        rc = pv_json_string(in, "currency_code", "request.currency_code", true, o->currency,
                            sizeof(o->currency), NULL, err);
    if (rc != PV_OK)
        return rc;
    if (pv_currency_by_alpha(o->currency) == NULL) {
        pv_json_describe(pv_json_member(in, "currency_code"), d, sizeof(d));
        return pv_error_set(err, PV_ECURRENCY, "request.currency_code",
                            "request.currency_code: %s is not an ISO 4217 currency we know", d);
    }
    rc = pv_json_money(in, "amount", "request.amount", true, o->currency, &o->amount, err);
    if (rc != PV_OK)
        return rc;
    if (o->amount.rounded)
        return pv_error_set(err, PV_EFORMAT, "request.amount",
                            "request.amount: \"%s\" has more decimals than %s has minor digits",
                            o->amount.text, o->currency);
    if (o->amount.minor <= 0)
        return pv_error_set(err, PV_ERANGE, "request.amount",
                            "request.amount: \"%s\" must be greater than zero", o->amount.text);

    json_object *flow = pv_json_member(in, "query_flow_id");
    if (flow != NULL && !pv_isbank_blank(flow)) {
        pv_json_describe(flow, d, sizeof(d));
        if (json_object_is_type(flow, json_type_string)) {
            size_t len = (size_t)json_object_get_string_len(flow);
            pv_isbank_text t = pv_isbank_scan(json_object_get_string(flow), len);
            if (len > ISBANK_FLOW_MAX || !t.utf8 || t.control)
                return pv_error_set(err, PV_EFORMAT, "request.query_flow_id",
                                    "request.query_flow_id: %s must be printable text of at "
                                    "most %d bytes",
                                    d, ISBANK_FLOW_MAX);
        } else if (!json_object_is_type(flow, json_type_int) || json_object_get_int64(flow) <= 0 ||
                   json_object_get_int64(flow) == INT64_MAX) {
            return pv_error_set(err, PV_ETYPE, "request.query_flow_id",
                                "request.query_flow_id: expected a string or a positive "
                                "integer, got %s",
                                d);
        }
        o->flow_id = flow;
    }
    rc = pv_isbank_read_inputs(in, "basic_input_values", false, o, err);
    if (rc == PV_OK)
        rc = pv_isbank_read_inputs(in, "selected_input_values", true, o, err);
    return rc;
}

/*---- Validation against the spec ----*/

typedef struct pv_isbank_check {
    const pv_isbank_spec *spec;
    json_object *list; /* field_errors (owned) */
    size_t count;      /* errors found, listed or not */
    pv_error first;
} pv_isbank_check;

static void pv_isbank_fail(pv_isbank_check *chk, const char *path, const char *field,
                           const char *value, size_t value_len, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Records one field error; value NULL when none was given. */
static void pv_isbank_fail(pv_isbank_check *chk, const char *path, const char *field,
                           const char *value, size_t value_len, const char *fmt, ...)
{
    char msg[256], q[ISBANK_QUOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (value != NULL)
        pv_quote(q, sizeof(q), value, value_len);
    if (chk->count == 0) {
        if (value != NULL)
            pv_error_set(&chk->first, PV_EVALIDATION, path, "%s: \"%s\": %s", path, q, msg);
        else
            pv_error_set(&chk->first, PV_EVALIDATION, path, "%s: %s", path, msg);
    }
    chk->count++;
    if (json_object_array_length(chk->list) >= ISBANK_ERRORS_MAX)
        return;
    json_object *e = json_object_new_object();
    json_object_object_add(e, "field", json_object_new_string(field));
    if (value != NULL)
        json_object_object_add(e, "value", json_object_new_string(q));
    json_object_object_add(e, "error", json_object_new_string(msg));
    json_object_array_add(chk->list, e);
}

static const char *pv_isbank_list_name(bool selected)
{
    return selected ? "selected_input_values" : "basic_input_values";
}

static void pv_isbank_keys(const pv_isbank_spec *spec, const pv_isbank_field *f, char *buf,
                           size_t cap)
{
    const char *names[ISBANK_ITEMS_MAX];
    for (size_t k = 0; k < f->nitems; k++)
        names[k] = spec->items[f->item0 + k].key;
    pv_isbank_join(buf, cap, names, f->nitems);
}

static void pv_isbank_children(const pv_isbank_spec *spec, int group, char *buf, size_t cap)
{
    const char *names[ISBANK_FIELDS_MAX];
    size_t n = 0;
    for (size_t k = 0; k < spec->nfields; k++)
        if (spec->fields[k].parent == group)
            names[n++] = spec->fields[k].name;
    pv_isbank_join(buf, cap, names, n);
}

/* The rules of one field on one basic value. */
static void pv_isbank_check_text(pv_isbank_check *chk, const pv_isbank_field *f,
                                 const pv_isbank_input *inp, const char *path)
{
    pv_isbank_text t = pv_isbank_scan(inp->value, inp->value_len);
    if (!t.utf8) {
        pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len, "is not valid UTF-8");
        return;
    }
    if (f->min_len >= 0 && (int64_t)t.chars < f->min_len)
        pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len,
                       "length %zu is below the minimum %" PRId64, t.chars, f->min_len);
    if (f->max_len >= 0 && (int64_t)t.chars > f->max_len)
        pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len,
                       "length %zu is above the maximum %" PRId64, t.chars, f->max_len);
    if (f->type == ISBANK_TYPE_NUMERIC && !t.digits)
        pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len,
                       "must be digits only (Numeric)");
    else if (t.control)
        pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len,
                       "contains a control character");
}

static void pv_isbank_check_input(pv_isbank_check *chk, const pv_isbank_input *inp, int *given)
{
    const pv_isbank_spec *spec = chk->spec;
    char path[PV_ERR_FIELD_MAX], names[160];
    pv_isbank_path(path, sizeof(path), "request.%s.%s", pv_isbank_list_name(inp->selected),
                   inp->name);
    int fi = pv_isbank_find(spec, inp->name);
    if (fi < 0) {
        pv_isbank_fail(chk, path, inp->name, inp->value, inp->value_len,
                       "is not an input field of service %" PRId64, spec->service_id);
        return;
    }
    const pv_isbank_field *f = &spec->fields[fi];
    if (given[fi] >= 0) {
        pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len, "is given twice");
        return;
    }
    if (f->group) {
        pv_isbank_children(spec, fi, names, sizeof(names));
        pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len,
                       "is a group: give its fields (%s) by their own names", names);
        given[fi] = 1;
        return;
    }
    if (!inp->selected) {
        if (f->nitems > 0) {
            pv_isbank_keys(spec, f, names, sizeof(names));
            pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len,
                           "is an enumerated field: give it in selected_input_values with "
                           "one of the keys %s",
                           names);
            given[fi] = 1;
            return;
        }
        if (inp->blank)
            return; /* not given: the required check says so if it must be */
        given[fi] = 1;
        pv_isbank_check_text(chk, f, inp, path);
        return;
    }
    given[fi] = 1;
    if (f->nitems == 0) {
        pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len,
                       "is not an enumerated field: give it in basic_input_values");
        return;
    }
    for (size_t k = f->item0; k < f->item0 + f->nitems; k++) {
        const pv_isbank_item *it = &spec->items[k];
        if (strlen(it->key) != inp->value_len || memcmp(it->key, inp->value, inp->value_len) != 0)
            continue;
        if (inp->label != NULL && it->label[0] != '\0' &&
            (strlen(it->label) != inp->label_len ||
             memcmp(it->label, inp->label, inp->label_len) != 0)) {
            char q[ISBANK_QUOTE_MAX];
            pv_quote(q, sizeof(q), it->label, strlen(it->label));
            pv_isbank_fail(chk, path, f->name, inp->label, inp->label_len,
                           "selected_item.value does not match the label \"%s\" of key %s", q,
                           it->key);
        }
        return;
    }
    pv_isbank_keys(spec, f, names, sizeof(names));
    pv_isbank_fail(chk, path, f->name, inp->value, inp->value_len, "is not one of the keys %s",
                   names);
}

static void pv_isbank_check_missing(pv_isbank_check *chk, int fi, const char *group)
{
    const pv_isbank_field *f = &chk->spec->fields[fi];
    char path[PV_ERR_FIELD_MAX];
    pv_isbank_path(path, sizeof(path), "request.%s.%s", pv_isbank_list_name(f->nitems > 0),
                   f->name);
    if (group != NULL)
        pv_isbank_fail(chk, path, f->name, NULL, 0,
                       "required field of the %s group is missing (the group is required or "
                       "another of its fields is given)",
                       group);
    else
        pv_isbank_fail(chk, path, f->name, NULL, 0, "required field is missing");
}

static void pv_isbank_check_amount(pv_isbank_check *chk, const pv_isbank_order *o)
{
    const pv_isbank_spec *spec = chk->spec;
    char a[PV_MONEY_TEXT_MAX], b[PV_MONEY_TEXT_MAX];
    size_t alen = strlen(o->amount.text);

    if (spec->nranges > 0) {
        const pv_isbank_range *r = NULL;
        const char *names[ISBANK_RANGES_MAX];
        for (size_t i = 0; i < spec->nranges; i++) {
            names[i] = spec->ranges[i].currency;
            if (strcmp(spec->ranges[i].currency, o->currency) == 0)
                r = &spec->ranges[i];
        }
        if (r == NULL) {
            char list[96];
            pv_isbank_join(list, sizeof(list), names, spec->nranges);
            pv_isbank_fail(
                chk, "request.currency_code", "currency_code", o->currency, strlen(o->currency),
                "is not accepted by service %" PRId64 " (accepted: %s)", spec->service_id, list);
        } else {
            pv_money_format(&o->amount, a, sizeof(a));
            if (pv_money_isset(&r->min) && o->amount.minor < r->min.minor) {
                pv_money_format(&r->min, b, sizeof(b));
                pv_isbank_fail(chk, "request.amount", "amount", o->amount.text, alen,
                               "%s %s is below the minimum %s %s", a, o->currency, b, o->currency);
            }
            if (pv_money_isset(&r->max) && o->amount.minor > r->max.minor) {
                pv_money_format(&r->max, b, sizeof(b));
                pv_isbank_fail(chk, "request.amount", "amount", o->amount.text, alen,
                               "%s %s is above the maximum %s %s", a, o->currency, b, o->currency);
            }
        }
    }
    const pv_currency *c = pv_currency_by_alpha(o->currency);
    int64_t unit = 1;
    for (int i = 0; c != NULL && i < c->exponent; i++)
        unit *= 10;
    if (!spec->decimal_fraction_allowed && o->amount.minor % unit != 0)
        pv_isbank_fail(chk, "request.amount", "amount", o->amount.text, alen,
                       "has a decimal fraction; service %" PRId64 " takes whole amounts only",
                       spec->service_id);
}

/* Every rule of the spec; PV_EVALIDATION with the list in err->detail. */
static int pv_isbank_validate(const pv_isbank_spec *spec, const pv_isbank_order *o, pv_error *err)
{
    int given[ISBANK_FIELDS_MAX];
    pv_isbank_check chk = {.spec = spec, .list = json_object_new_array()};
    for (size_t i = 0; i < ISBANK_FIELDS_MAX; i++)
        given[i] = -1;

    for (size_t i = 0; i < o->ninputs; i++)
        pv_isbank_check_input(&chk, &o->inputs[i], given);

    for (size_t i = 0; i < spec->nfields; i++) {
        const pv_isbank_field *f = &spec->fields[i];
        if (f->parent >= 0)
            continue;
        if (!f->group) {
            if (f->required && given[i] < 0)
                pv_isbank_check_missing(&chk, (int)i, NULL);
            continue;
        }
        bool any = false;
        for (size_t k = i + 1; k < spec->nfields; k++)
            if (spec->fields[k].parent == (int)i && given[k] >= 0)
                any = true;
        if (!f->required && !any)
            continue; /* an optional group left out entirely */
        for (size_t k = i + 1; k < spec->nfields; k++)
            if (spec->fields[k].parent == (int)i && spec->fields[k].required && given[k] < 0)
                pv_isbank_check_missing(&chk, (int)k, f->name);
    }
    pv_isbank_check_amount(&chk, o);

    if (chk.count == 0) {
        json_object_put(chk.list);
        return PV_OK;
    }
    json_object *detail = json_object_new_object();
    size_t listed = json_object_array_length(chk.list);
    json_object_object_add(detail, "field_errors", chk.list);
    if (chk.count > listed)
        json_object_object_add(detail, "more",
                               json_object_new_int64((int64_t)(chk.count - listed)));
    if (err == NULL) {
        json_object_put(detail);
        return PV_EVALIDATION;
    }
    pv_error_set(err, PV_EVALIDATION, chk.first.field, "%.300s (%zu field error%s in all)",
                 chk.first.errstr, chk.count, chk.count == 1 ? "" : "s");
    json_object_put(err->detail);
    err->detail = detail;
    return PV_EVALIDATION;
}

/*---- Payment request ----*/

static json_object *pv_isbank_body(const pv_isbank_spec *spec, const pv_isbank_order *o)
{
    json_object *body = json_object_new_object();
    json_object *basic = json_object_new_array();
    json_object *selected = json_object_new_array();

    json_object_object_add(body, "service_id", json_object_new_int64(o->service_id));
    if (o->flow_id != NULL)
        json_object_object_add(body, "query_flow_id", json_object_get(o->flow_id));
    json_object_object_add(body, "payment_reference", json_object_new_string(o->reference));
    for (size_t i = 0; i < o->ninputs; i++) {
        const pv_isbank_input *inp = &o->inputs[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(inp->name));
        if (!inp->selected) {
            if (inp->blank) {
                json_object_put(e);
                continue; /* a blank optional value is not sent */
            }
            json_object_object_add(e, "value",
                                   json_object_new_string_len(inp->value, (int)inp->value_len));
            json_object_array_add(basic, e);
            continue;
        }
        /* the spec's label of the key (validation made sure they agree) */
        const pv_isbank_field *f = &spec->fields[pv_isbank_find(spec, inp->name)];
        const char *label = "";
        size_t label_len = 0;
        for (size_t k = f->item0; k < f->item0 + f->nitems; k++)
            if (strlen(spec->items[k].key) == inp->value_len &&
                memcmp(spec->items[k].key, inp->value, inp->value_len) == 0) {
                label = spec->items[k].label;
                label_len = strlen(label);
            }
        if (label_len == 0 && inp->label != NULL) {
            label = inp->label;
            label_len = inp->label_len;
        }
        json_object *si = json_object_new_object();
        json_object_object_add(si, "key",
                               json_object_new_string_len(inp->value, (int)inp->value_len));
        json_object_object_add(si, "value", json_object_new_string_len(label, (int)label_len));
        json_object_object_add(e, "selected_item", si);
        json_object_array_add(selected, e);
    }
    json_object_object_add(body, "basic_input_values", basic);
    json_object_object_add(body, "selected_input_values", selected);
    json_object_object_add(body, "amount", pv_json_new_money(&o->amount));
    json_object_object_add(body, "currency_code", json_object_new_string(o->currency));
    return body;
}

static int pv_isbank_build_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                   pv_error *err)
{
    pv_isbank_order o;
    pv_request_init(req);

    const pv_isbank_spec *spec = pv_isbank_spec_cast(ctx != NULL ? ctx->spec : NULL);
    if (spec == NULL)
        return pv_error_set(err, PV_ECONFIG, "spec",
                            "spec: no İş Bankası service object was given to validate against");
    if (ctx->token == NULL || ctx->token[0] == '\0')
        return pv_error_set(err, PV_ECONFIG, "Authorization",
                            "Authorization: no bearer token (the worker fetches it with the "
                            "token hooks)");
    int rc = pv_isbank_read_order(cmd, &o, err);
    if (rc != PV_OK)
        return rc;
    if (spec->service_id != 0 && spec->service_id != o.service_id)
        return pv_error_set(err, PV_ECONFIG, "spec",
                            "spec: the service object of service %" PRId64
                            " was given for request.service_id %" PRId64,
                            spec->service_id, o.service_id);
    rc = pv_isbank_validate(spec, &o, err);
    if (rc != PV_OK)
        return rc;

    req->method = "POST";
    snprintf(req->path, sizeof(req->path), ISBANK_API "/bill-payments");
    rc = pv_isbank_headers(ctx, req, true, err);
    if (rc == PV_OK) {
        json_object *body = pv_isbank_body(spec, &o);
        rc = pv_request_set_json(req, body, err);
        json_object_put(body);
    }
    if (rc != PV_OK)
        pv_request_clear(req);
    return rc;
}

/*---- Payment answer ----*/

static void pv_isbank_note(pv_result *res, const pv_error *err)
{
    if (res->error[0] == '\0')
        snprintf(res->error, sizeof(res->error), "%s", err->errstr);
}

/* What a successful answer says beyond the payment id; a value it cannot
 * read is noted in res->error and the rest still read. */
static void pv_isbank_details(const pv_command *cmd, json_object *data, json_object *detail,
                              pv_result *res)
{
    char cur[4] = "", when[64], ocur[4] = "";
    pv_error err = {0};
    bool present = false;

    if (pv_json_string(data, "currency_code", "data.currency_code", false, cur, sizeof(cur),
                       &present, &err) != PV_OK) {
        pv_isbank_note(res, &err);
        present = false;
    }
    if (!present || cur[0] == '\0') {
        pv_error ignored = {0};
        cur[0] = '\0';
        pv_json_string(cmd->request, "currency_code", "request.currency_code", false, cur,
                       sizeof(cur), NULL, &ignored);
    }
    if (pv_json_member(data, "amount") != NULL &&
        pv_json_money(data, "amount", "data.amount", false, cur, &res->paid, &err) != PV_OK)
        pv_isbank_note(res, &err);

    if (pv_json_string(data, "execution_date", "data.execution_date", false, when, sizeof(when),
                       &present, &err) != PV_OK ||
        (present &&
         pv_time_parse_iso8601(when, "data.execution_date", &res->paid_at_ms, &err) != PV_OK))
        pv_isbank_note(res, &err);

    if (pv_json_string(data, "overdraft_currency_code", "data.overdraft_currency_code", false, ocur,
                       sizeof(ocur), &present, &err) != PV_OK)
        pv_isbank_note(res, &err);
    else if (present)
        json_object_object_add(detail, "overdraft_currency_code", json_object_new_string(ocur));

    json_object *od = pv_json_member(data, "overdraft_amount");
    if (od != NULL) {
        pv_money m;
        if (pv_json_value_money(od, "data.overdraft_amount", ocur, &m, &err) != PV_OK) {
            pv_isbank_note(res, &err);
        } else if (json_object_is_type(od, json_type_string)) {
            json_object_object_add(detail, "overdraft_amount", json_object_get(od));
        } else {
            size_t len;
            const char *t = pv_json_number_text(od, &len);
            json_object_object_add(detail, "overdraft_amount", pv_json_new_number_text(t));
        }
    }
    bool sos;
    if (pv_json_bool(data, "sos_used", "data.sos_used", false, &sos, &present, &err) != PV_OK)
        pv_isbank_note(res, &err);
    else if (present)
        json_object_object_add(detail, "sos_used", json_object_new_boolean(sos));
}

static void pv_isbank_parse_response(const pv_command *cmd, int http_status, const char *body,
                                     size_t len, pv_result *res)
{
    json_object *root = NULL, *detail = json_object_new_object();
    pv_isbank_infos infos = {0};
    pv_error err = {0};
    char pid[PV_ID_MAX] = "";
    bool ok2xx = http_status >= 200 && http_status < 300;

    res->http_status = http_status;
    int rc = pv_json_parse(body, len, "İş Bankası payment answer", &root, &err);
    if (rc == PV_OK)
        rc = pv_isbank_expect(root, json_type_object, "", "an object", &err);
    if (rc == PV_OK)
        rc = pv_isbank_read_infos(root, &infos, &err);
    json_object *data = rc == PV_OK ? pv_json_member(root, "data") : NULL;
    if (rc == PV_OK && data != NULL && !json_object_is_type(data, json_type_object))
        rc = pv_isbank_expect(data, json_type_object, "data", "an object", &err);
    if (rc != PV_OK) {
        /* no usable envelope: the status decides; a 2xx we cannot read on
         * a payment may have paid */
        if (root != NULL && json_object_is_type(root, json_type_object))
            pv_isbank_gateway_error(root, res);
        pv_result_fail(
            res, ok2xx ? PV_OUTCOME_UNKNOWN : pv_classify_http_default(&pv_isbank, http_status),
            &err);
        goto out;
    }

    if (infos.n > 0) {
        pv_result_set_code(res, infos.first.code, infos.first.message);
        if (infos.first.customer[0] != '\0')
            json_object_object_add(detail, "message_for_customer",
                                   json_object_new_string(infos.first.customer));
        json_object_object_add(detail, "infos", infos.list);
        infos.list = NULL;
    } else {
        pv_isbank_gateway_error(root, res);
    }
    bool envelope = infos.n > 0 || data != NULL;
    switch (http_status) {
    case 401:
    case 403:
    case 408:
    case 425:
    case 429:
        res->outcome = pv_classify_http_default(&pv_isbank, http_status);
        goto out;
    default:
        break;
    }
    if (http_status >= 500 && http_status < 600 && envelope) {
        res->outcome = PV_OUTCOME_UNKNOWN; /* the bank was at work on it */
        goto out;
    }
    if (!ok2xx && !(http_status >= 400 && http_status < 500)) {
        res->outcome = pv_classify_http_default(&pv_isbank, http_status);
        goto out;
    }
    json_object *idv = pv_isbank_value(data, "payment_id");
    if (idv != NULL && pv_isbank_scalar(idv, "data.payment_id", pid, sizeof(pid), &err) != PV_OK) {
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    if (infos.refused) {
        if (pid[0] != '\0') {
            pv_error_set(&err, PV_EFORMAT, "infos",
                         "infos: code \"%s\" contradicts data.payment_id \"%s\"", infos.first.code,
                         pid);
            pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
            goto out;
        }
        res->outcome = PV_OUTCOME_DECLINED;
        goto out;
    }
    if (!ok2xx) {
        res->outcome = pv_classify_http_default(&pv_isbank, http_status);
        goto out;
    }
    if (pid[0] == '\0') {
        pv_error_set(&err, PV_EMISSING, "data.payment_id",
                     "data.payment_id: missing from a success answer: no proof of payment");
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    res->outcome = PV_OUTCOME_SUCCEEDED;
    pv_result_add_ref(res, "payment_id", pid);
    pv_isbank_details(cmd, data, detail, res);

out:
    if (json_object_object_length(detail) > 0) {
        json_object_put(res->detail);
        res->detail = detail;
    } else {
        json_object_put(detail);
    }
    json_object_put(infos.list);
    pv_error_clear(&err);
    json_object_put(root);
}

/*---- Token hooks ----*/

static int pv_isbank_build_token_request(const pv_ctx *ctx, pv_request *req, pv_error *err)
{
    const char *id = pv_ctx_setting(&pv_isbank, ctx, ISBANK_CLIENT_ID);
    const char *secret = pv_ctx_setting(&pv_isbank, ctx, ISBANK_CLIENT_SECRET);
    const char *path = pv_ctx_setting(&pv_isbank, ctx, ISBANK_TOKEN_PATH);
    char q[ISBANK_QUOTE_MAX], abs[PV_PATH_MAX];

    pv_request_init(req);
    size_t plen = path != NULL ? strlen(path) : 0;
    if (path == NULL || plen == 0 || plen + 1 >= PV_PATH_MAX ||
        strpbrk(path, " \t\r\n?#") != NULL) {
        pv_quote(q, sizeof(q), path != NULL ? path : "", plen);
        return pv_error_set(err, PV_ECONFIG, "token_path",
                            "token_path: \"%s\" must be a path of the API host (no blanks, "
                            "query or fragment)",
                            q);
    }
    /* "api/isbank/v1/oauth2/token" means the same path: the request's is absolute */
    snprintf(abs, sizeof(abs), "%s%s", path[0] == '/' ? "" : "/", path);
    int rc = pv_oauth_token_request(req, abs, id, secret,
                                    pv_ctx_setting(&pv_isbank, ctx, ISBANK_SCOPE), err);
    /* API Connect checks the client id on every path, the token one too */
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "X-IBM-client-id", id, err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "X-IBM-client-secret", secret, err);
    if (rc != PV_OK)
        pv_request_clear(req);
    return rc;
}

static int pv_isbank_parse_token(int http_status, const char *body, size_t len, pv_token *tok,
                                 pv_error *err)
{
    /* expires_in absent: 0, the worker applies its own lifetime */
    return pv_oauth_parse_token("İş Bankası token endpoint", http_status, body, len, 0, tok, err);
}

const pv_provider pv_isbank = {
    .name = "ISBANK",
    .operation = "bill-payments",
    .query_id_field = "payment_reference",
    .caps = PV_CAP_OAUTH | PV_CAP_SPEC,
    .settings = pv_isbank_settings,
    .query_id = pv_isbank_query_id,
    .build_request = pv_isbank_build_request,
    .parse_response = pv_isbank_parse_response,
    .build_token_request = pv_isbank_build_token_request,
    .parse_token = pv_isbank_parse_token,
    .spec_key = pv_isbank_spec_key,
    .build_spec_request = pv_isbank_build_spec_request,
    .parse_spec = pv_isbank_parse_spec,
    .free_spec = pv_isbank_free_spec,
};
