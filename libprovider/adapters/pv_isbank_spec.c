/* pv_isbank_spec.c -- the İş Bankası service object: how the bank describes
 * the input fields and amounts of one bill-institution service, and the
 * PV_CAP_SPEC hooks that fetch and parse it (see pv_isbank.c for the rest).
 *
 * DESIGN
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
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pv_isbank_int.h"

/*---- Spec: parsing ----*/

int pv_isbank_spec_find(const pv_isbank_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->nfields; i++)
        if (strcmp(spec->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int pv_isbank_spec_length_bound(json_object *pl, const char *key, const char *path,
                                       int64_t *out, pv_error *err)
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

static int pv_isbank_spec_parse_items(pv_isbank_spec *spec, pv_isbank_field *f, json_object *items,
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

static int pv_isbank_spec_parse_field(pv_isbank_spec *spec, json_object *fo, int parent,
                                      const char *path, pv_error *err);

static int pv_isbank_spec_parse_children(pv_isbank_spec *spec, json_object *list, int parent,
                                         const char *path, pv_error *err)
{
    char p[PV_ERR_FIELD_MAX];
    int rc = pv_isbank_expect(list, json_type_array, path, "an array of input fields", err);
    for (size_t i = 0; rc == PV_OK && i < json_object_array_length(list); i++) {
        pv_isbank_path(p, sizeof(p), "%s[%zu]", path, i);
        rc = pv_isbank_spec_parse_field(spec, json_object_array_get_idx(list, i), parent, p, err);
    }
    return rc;
}

static int pv_isbank_spec_parse_field(pv_isbank_spec *spec, json_object *fo, int parent,
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
    if (pv_isbank_spec_find(spec, f->name) >= 0)
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
            rc = pv_isbank_spec_length_bound(pl, "min", p, &f->min_len, err);
        if (rc == PV_OK)
            rc = pv_isbank_spec_length_bound(pl, "max", p, &f->max_len, err);
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
        rc = pv_isbank_spec_parse_items(spec, f, items, p, err);
        if (rc != PV_OK)
            return rc;
    }

    json_object *children = pv_isbank_value(fo, "input_fields");
    if (children != NULL) {
        pv_isbank_path(p, sizeof(p), "%s.input_fields", path);
        rc = pv_isbank_spec_parse_children(spec, children, (int)idx, p, err);
        if (rc != PV_OK)
            return rc;
        f->group = spec->nfields > idx + 1;
    }
    return PV_OK;
}

static int pv_isbank_spec_parse_ranges(pv_isbank_spec *spec, json_object *ranges, pv_error *err)
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

static int pv_isbank_spec_parse_amount(pv_isbank_spec *spec, json_object *data, pv_error *err)
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
    return ranges == NULL ? PV_OK : pv_isbank_spec_parse_ranges(spec, ranges, err);
}

/*---- Spec hooks ----*/

/* An error for a non-2xx answer of the spec or token endpoint; the bank's
 * own code and message are quoted when the body has them. */
static int pv_isbank_spec_status_error(int http_status, const char *body, size_t len,
                                       const char *what, pv_error *err)
{
    char extra[PV_ERR_STR_MAX / 2] = "";
    json_object *root = NULL;
    pv_error ignored = {0};
    pv_isbank_infos infos;

    if (pv_json_parse(body, len, what, &root, &ignored) == PV_OK &&
        json_object_is_type(root, json_type_object)) {
        char q[ISBANK_QUOTE_MAX], m[PV_MSG_MAX];
        if (pv_isbank_read_infos(root, &infos, &ignored) == PV_OK && infos.n > 0) {
            pv_utf8_quote(q, sizeof(q), infos.first.message, strlen(infos.first.message));
            pv_isbank_path(extra, sizeof(extra), " (infos code \"%s\": \"%s\")", infos.first.code,
                           q);
        } else {
            pv_isbank_msg(root, "error_description", m, sizeof(m));
            if (m[0] == '\0')
                pv_isbank_msg(root, "moreInformation", m, sizeof(m));
            if (m[0] == '\0')
                pv_isbank_msg(root, "error", m, sizeof(m));
            if (m[0] != '\0') {
                pv_utf8_quote(q, sizeof(q), m, strlen(m));
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

int pv_isbank_spec_service_id(json_object *in, int64_t *id, pv_error *err)
{
    int rc = pv_json_int64(in, "service_id", "request.service_id", true, id, NULL, err);
    if (rc != PV_OK)
        return rc;
    if (*id <= 0)
        return pv_error_set(err, PV_ERANGE, "request.service_id",
                            "request.service_id: %" PRId64 " must be a positive integer", *id);
    return PV_OK;
}

int pv_isbank_spec_key(const pv_command *cmd, char *buf, size_t cap, pv_error *err)
{
    json_object *in;
    int64_t id;
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_isbank_spec_service_id(in, &id, err);
    if (rc != PV_OK)
        return rc;
    int n = snprintf(buf, cap, "%" PRId64, id);
    if (n < 0 || (size_t)n >= cap)
        return pv_error_set(err, PV_ETOOBIG, "request.service_id",
                            "request.service_id: %" PRId64 " does not fit the key buffer", id);
    return PV_OK;
}

int pv_isbank_spec_build_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                 pv_error *err)
{
    char key[32], path[PV_PATH_MAX];
    pv_request_init(req);
    int rc = pv_isbank_spec_key(cmd, key, sizeof(key), err);
    if (rc != PV_OK)
        return rc;
    snprintf(path, sizeof(path), ISBANK_API "/bill-institution-services/%s", key);
    rc = pv_isbank_headers(ctx, req, err);
    return pv_request_get_json(req, rc, path, err);
}

void *pv_isbank_spec_parse(int http_status, const char *body, size_t len, pv_error *err)
{
    static const char *const what = "İş Bankası service object";
    json_object *root = NULL;
    pv_isbank_spec *spec = NULL;
    pv_isbank_infos infos = {0};
    int rc;

    if (http_status < 200 || http_status > 299) {
        pv_isbank_spec_status_error(http_status, body, len, what, err);
        return NULL;
    }
    rc = pv_json_parse(body, len, what, &root, err);
    if (rc == PV_OK)
        rc = pv_isbank_expect(root, json_type_object, "", "an object", err);
    if (rc == PV_OK)
        rc = pv_isbank_read_infos(root, &infos, err);
    if (rc == PV_OK && infos.refused) {
        char q[ISBANK_QUOTE_MAX];
        pv_utf8_quote(q, sizeof(q), infos.first.message, strlen(infos.first.message));
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
                rc = pv_isbank_spec_parse_children(
                    spec, fields, -1, "data.free_collection_query_specs.input_fields", err);
        }
    }
    if (rc == PV_OK)
        rc = pv_isbank_spec_parse_amount(spec, data, err);
    if (rc != PV_OK) {
        free(spec);
        spec = NULL;
    }
    json_object_put(infos.list);
    json_object_put(root);
    return spec;
}

void pv_isbank_spec_free(void *spec)
{
    free(spec);
}

const pv_isbank_spec *pv_isbank_spec_cast(const void *p)
{
    const pv_isbank_spec *spec = p;
    return spec != NULL && spec->magic == ISBANK_SPEC_MAGIC ? spec : NULL;
}

static json_object *pv_isbank_spec_field_json(const pv_isbank_spec *spec, size_t i)
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
                json_object_array_add(kids, pv_isbank_spec_field_json(spec, k));
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
            json_object_array_add(fields, pv_isbank_spec_field_json(spec, i));
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
