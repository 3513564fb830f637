/* pv_isbank_check.c -- an İş Bankası command: its own shape, then every rule
 * of the service object (pv_isbank_spec.c) it is checked against.
 *
 * DESIGN
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
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pv_isbank_int.h"

/*---- The command ----*/

int pv_isbank_check_reference(json_object *in, const char **out, pv_error *err)
{
    static const char *const path = "request.payment_reference";
    char d[128];
    const char *s;
    size_t len;
    json_object *v = pv_json_member(in, "payment_reference");
    int rc = pv_json_value_string(v, path, &s, &len, err);
    if (rc != PV_OK)
        return rc;
    if (len == 0) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_EFORMAT, path, "%s: %s must not be empty", path, d);
    }
    if (len > ISBANK_REF_MAX) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETOOBIG, path, "%s: %s is %zu bytes long, the limit is %d",
                            path, d, len, ISBANK_REF_MAX);
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            pv_json_describe(v, d, sizeof(d));
            return pv_error_set(err, PV_EFORMAT, path,
                                "%s: %s must be visible ASCII characters without blanks", path, d);
        }
    *out = s;
    return PV_OK;
}

/* A string member of an input entry, bounded; its text and length out. */
static int pv_isbank_check_input_text(json_object *o, const char *key, const char *path,
                                      bool required, size_t max, const char **out, size_t *len,
                                      pv_error *err)
{
    char p[PV_ERR_FIELD_MAX], d[128];
    json_object *v = pv_json_member(o, key);
    pv_isbank_path(p, sizeof(p), "%s.%s", path, key);
    *out = NULL;
    *len = 0;
    if (v == NULL && !required)
        return PV_OK;
    const char *s;
    int rc = pv_json_value_string(v, p, &s, len, err);
    if (rc != PV_OK)
        return rc;
    if (*len > max) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETOOBIG, p, "%s: %s is %zu bytes long, the limit is %zu", p, d,
                            *len, max);
    }
    *out = s;
    return PV_OK;
}

static int pv_isbank_check_read_inputs(json_object *in, const char *key, bool selected,
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
            rc = pv_isbank_check_input_text(e, "name", p, true, ISBANK_NAME_MAX - 1, &inp->name,
                                            &nlen, err);
        if (rc != PV_OK)
            return rc;
        pv_isbank_text t = pv_isbank_scan(inp->name, nlen);
        if (!t.utf8 || t.control || pv_isbank_blank_text(inp->name, nlen)) {
            pv_json_describe(pv_json_member(e, "name"), d, sizeof(d));
            pv_isbank_path(p, sizeof(p), "%s[%zu].name", path, i);
            return pv_error_set(err, PV_EFORMAT, p, "%s: %s must be printable, not blank", p, d);
        }
        if (!selected) {
            rc = pv_isbank_check_input_text(e, "value", p, true, ISBANK_VALUE_MAX, &inp->value,
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
                rc = pv_isbank_check_input_text(si, "key", sp, true, ISBANK_NAME_MAX - 1,
                                                &inp->value, &inp->value_len, err);
            if (rc == PV_OK)
                rc = pv_isbank_check_input_text(si, "value", sp, false, ISBANK_LABEL_MAX - 1,
                                                &inp->label, &inp->label_len, err);
            if (rc != PV_OK)
                return rc;
        }
        o->ninputs++;
    }
    return PV_OK;
}

int pv_isbank_check_read_order(const pv_command *cmd, pv_isbank_order *o, pv_error *err)
{
    json_object *in;
    char d[128];
    memset(o, 0, sizeof(*o));
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_isbank_spec_service_id(in, &o->service_id, err);
    if (rc == PV_OK)
        rc = pv_isbank_check_reference(in, &o->reference, err);
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
    rc = pv_isbank_check_read_inputs(in, "basic_input_values", false, o, err);
    if (rc == PV_OK)
        rc = pv_isbank_check_read_inputs(in, "selected_input_values", true, o, err);
    return rc;
}

/*---- Validation against the spec ----*/

typedef struct pv_isbank_check {
    const pv_isbank_spec *spec;
    json_object *list; /* field_errors (owned) */
    size_t count;      /* errors found, listed or not */
    pv_error first;
} pv_isbank_check;

static void pv_isbank_check_fail(pv_isbank_check *chk, const char *path, const char *field,
                                 const char *value, size_t value_len, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Records one field error; value NULL when none was given. */
static void pv_isbank_check_fail(pv_isbank_check *chk, const char *path, const char *field,
                                 const char *value, size_t value_len, const char *fmt, ...)
{
    char msg[256], q[ISBANK_QUOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (value != NULL)
        pv_utf8_quote(q, sizeof(q), value, value_len);
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

static const char *pv_isbank_check_list_name(bool selected)
{
    return selected ? "selected_input_values" : "basic_input_values";
}

static void pv_isbank_check_keys(const pv_isbank_spec *spec, const pv_isbank_field *f, char *buf,
                                 size_t cap)
{
    const char *names[ISBANK_ITEMS_MAX];
    for (size_t k = 0; k < f->nitems; k++)
        names[k] = spec->items[f->item0 + k].key;
    pv_isbank_join(buf, cap, names, f->nitems);
}

static void pv_isbank_check_children(const pv_isbank_spec *spec, int group, char *buf, size_t cap)
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
        pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len, "is not valid UTF-8");
        return;
    }
    if (f->min_len >= 0 && (int64_t)t.chars < f->min_len)
        pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len,
                             "length %zu is below the minimum %" PRId64, t.chars, f->min_len);
    if (f->max_len >= 0 && (int64_t)t.chars > f->max_len)
        pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len,
                             "length %zu is above the maximum %" PRId64, t.chars, f->max_len);
    if (f->type == ISBANK_TYPE_NUMERIC && !t.digits)
        pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len,
                             "must be digits only (Numeric)");
    else if (t.control)
        pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len,
                             "contains a control character");
}

static void pv_isbank_check_input(pv_isbank_check *chk, const pv_isbank_input *inp, int *given)
{
    const pv_isbank_spec *spec = chk->spec;
    char path[PV_ERR_FIELD_MAX], names[160];
    pv_isbank_path(path, sizeof(path), "request.%s.%s", pv_isbank_check_list_name(inp->selected),
                   inp->name);
    int fi = pv_isbank_spec_find(spec, inp->name);
    if (fi < 0) {
        pv_isbank_check_fail(chk, path, inp->name, inp->value, inp->value_len,
                             "is not an input field of service %" PRId64, spec->service_id);
        return;
    }
    const pv_isbank_field *f = &spec->fields[fi];
    if (given[fi] >= 0) {
        pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len, "is given twice");
        return;
    }
    if (f->group) {
        pv_isbank_check_children(spec, fi, names, sizeof(names));
        pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len,
                             "is a group: give its fields (%s) by their own names", names);
        given[fi] = 1;
        return;
    }
    if (!inp->selected) {
        if (f->nitems > 0) {
            pv_isbank_check_keys(spec, f, names, sizeof(names));
            pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len,
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
        pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len,
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
            pv_utf8_quote(q, sizeof(q), it->label, strlen(it->label));
            pv_isbank_check_fail(chk, path, f->name, inp->label, inp->label_len,
                                 "selected_item.value does not match the label \"%s\" of key %s", q,
                                 it->key);
        }
        return;
    }
    pv_isbank_check_keys(spec, f, names, sizeof(names));
    pv_isbank_check_fail(chk, path, f->name, inp->value, inp->value_len,
                         "is not one of the keys %s", names);
}

static void pv_isbank_check_missing(pv_isbank_check *chk, int fi, const char *group)
{
    const pv_isbank_field *f = &chk->spec->fields[fi];
    char path[PV_ERR_FIELD_MAX];
    pv_isbank_path(path, sizeof(path), "request.%s.%s", pv_isbank_check_list_name(f->nitems > 0),
                   f->name);
    if (group != NULL)
        pv_isbank_check_fail(chk, path, f->name, NULL, 0,
                             "required field of the %s group is missing (the group is required or "
                             "another of its fields is given)",
                             group);
    else
        pv_isbank_check_fail(chk, path, f->name, NULL, 0, "required field is missing");
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
            pv_isbank_check_fail(
                chk, "request.currency_code", "currency_code", o->currency, strlen(o->currency),
                "is not accepted by service %" PRId64 " (accepted: %s)", spec->service_id, list);
        } else {
            pv_money_format(&o->amount, a, sizeof(a));
            if (pv_money_isset(&r->min) && o->amount.minor < r->min.minor) {
                pv_money_format(&r->min, b, sizeof(b));
                pv_isbank_check_fail(chk, "request.amount", "amount", o->amount.text, alen,
                                     "%s %s is below the minimum %s %s", a, o->currency, b,
                                     o->currency);
            }
            if (pv_money_isset(&r->max) && o->amount.minor > r->max.minor) {
                pv_money_format(&r->max, b, sizeof(b));
                pv_isbank_check_fail(chk, "request.amount", "amount", o->amount.text, alen,
                                     "%s %s is above the maximum %s %s", a, o->currency, b,
                                     o->currency);
            }
        }
    }
    const pv_currency *c = pv_currency_by_alpha(o->currency);
    int64_t unit = 1;
    for (int i = 0; c != NULL && i < c->exponent; i++)
        unit *= 10;
    if (!spec->decimal_fraction_allowed && o->amount.minor % unit != 0)
        pv_isbank_check_fail(chk, "request.amount", "amount", o->amount.text, alen,
                             "has a decimal fraction; service %" PRId64 " takes whole amounts only",
                             spec->service_id);
}

/* Every rule of the spec; PV_EVALIDATION with the list in err->detail. */
int pv_isbank_check_validate(const pv_isbank_spec *spec, const pv_isbank_order *o, pv_error *err)
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
