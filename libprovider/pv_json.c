/* pv_json.c -- see pv_json.h. */
#include "pv_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*---- Parsing ----*/

int pv_json_parse(const char *body, size_t len, const char *what, json_object **out, pv_error *err)
{
    char q[96];
    *out = NULL;
    if (body == NULL || len == 0)
        return pv_error_set(err, PV_EPARSE, "", "%s: empty body", what);
    if (len > PV_JSON_BODY_MAX)
        return pv_error_set(err, PV_ETOOBIG, "", "%s: body of %zu bytes exceeds the %d byte limit",
                            what, len, PV_JSON_BODY_MAX);

    json_tokener *tok = json_tokener_new_ex(PV_JSON_DEPTH_MAX);
    if (tok == NULL)
        return pv_error_set(err, PV_ENOMEM, "", "%s: out of memory", what);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue && used == len) {
        /* a top-level number ("123") waits for a delimiter: the NUL byte
         * tells the tokener the input has ended; anything else still open
         * (an object, an array, a string) is a truncated document */
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        if (jerr != json_tokener_success)
            jerr = json_tokener_continue;
        used = len;
    }
    json_tokener_free(tok);

    if (jerr != json_tokener_success) {
        json_object_put(obj);
        pv_quote(q, sizeof(q), body + (used < len ? used : len), used < len ? len - used : 0);
        if (jerr == json_tokener_continue)
            return pv_error_set(err, PV_EPARSE, "", "%s: truncated JSON (%zu bytes)", what, len);
        return pv_error_set(err, PV_EPARSE, "", "%s: invalid JSON at byte %zu (%s) near \"%s\"",
                            what, used, json_tokener_error_desc(jerr), q);
    }
    /* strict mode still stops at the end of the first value: allow only
     * trailing white space */
    for (size_t i = used; i < len; i++) {
        char c = body[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            json_object_put(obj);
            pv_quote(q, sizeof(q), body + i, len - i);
            return pv_error_set(err, PV_EPARSE, "", "%s: trailing data at byte %zu: \"%s\"", what,
                                i, q);
        }
    }
    *out = obj;
    return PV_OK;
}

/*---- Look-up and description ----*/

json_object *pv_json_member(const json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (obj == NULL || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (json_object_object_get_ex(obj, key, &v))
        return v;
    json_object_object_foreach((json_object *)obj, k, val)
    {
        if (strcasecmp(k, key) == 0)
            return val;
    }
    return NULL;
}

void pv_json_describe(json_object *v, char *buf, size_t cap)
{
    char q[96];
    size_t len = 0;
    const char *text;

    if (v == NULL) {
        snprintf(buf, cap, "null");
        return;
    }
    text = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len);
    pv_quote(q, sizeof(q), text, len);
    snprintf(buf, cap, "%s %s", json_type_to_name(json_object_get_type(v)), q);
}

const char *pv_json_number_text(json_object *v, size_t *len)
{
    switch (json_object_get_type(v)) {
    case json_type_int:
    case json_type_double:
        /* for doubles json-c returns the text it parsed */
        return json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, len);
    case json_type_string:
        *len = (size_t)json_object_get_string_len(v);
        return json_object_get_string(v);
    default:
        return NULL;
    }
}

/* json-c keeps integers up to UINT64_MAX (as uint64 above INT64_MAX) and
 * clamps longer ones to UINT64_MAX or INT64_MIN. Its text of the stored value
 * tells them apart: anything above INT64_MAX is out of our range, and so is
 * INT64_MIN, which a clamped negative number is indistinguishable from. */
static bool pv_json_int_clamped(json_object *v)
{
    /* only the two limits can be clamps: any other value is what was sent
     * (the text check below formats the number: not for every integer) */
    int64_t x = json_object_get_int64(v);
    if (x != INT64_MAX && x != INT64_MIN)
        return false;
    size_t len;
    const char *t = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len);
    if (t[0] == '-')
        return strcmp(t, "-9223372036854775808") == 0;
    return len > 19 || (len == 19 && strcmp(t, "9223372036854775807") > 0);
}

/*---- Typed readers ----*/

static int pv_json_missing(const char *path, bool required, bool *present, pv_error *err)
{
    if (present != NULL)
        *present = false;
    if (required)
        return pv_error_set(err, PV_EMISSING, path, "%s: required field is missing", path);
    return PV_OK;
}

int pv_json_value_int64(json_object *v, const char *path, int64_t *out, pv_error *err)
{
    char d[128];
    size_t len;
    const char *t;
    int rc;

    switch (json_object_get_type(v)) {
    case json_type_int:
        if (pv_json_int_clamped(v)) {
            pv_json_describe(v, d, sizeof(d));
            return pv_error_set(err, PV_ERANGE, path,
                                "%s: %s is out of the 64-bit integer range (the number may "
                                "have been longer)",
                                path, d);
        }
        *out = json_object_get_int64(v);
        return PV_OK;
    case json_type_string:
        t = pv_json_number_text(v, &len);
        rc = pv_parse_int64(t, len, out);
        if (rc == PV_OK)
            return PV_OK;
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, rc, path, "%s: %s is not a whole number%s", path, d,
                            rc == PV_ERANGE ? " in the 64-bit range" : "");
    default:
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, path, "%s: expected an integer, got %s", path, d);
    }
}

int pv_json_int64(const json_object *obj, const char *key, const char *path, bool required,
                  int64_t *out, bool *present, pv_error *err)
{
    json_object *v = pv_json_member(obj, key);
    if (v == NULL)
        return pv_json_missing(path, required, present, err);
    if (present != NULL)
        *present = true;
    return pv_json_value_int64(v, path, out, err);
}

int pv_json_bool(const json_object *obj, const char *key, const char *path, bool required,
                 bool *out, bool *present, pv_error *err)
{
    char d[128];
    json_object *v = pv_json_member(obj, key);
    if (v == NULL)
        return pv_json_missing(path, required, present, err);
    if (present != NULL)
        *present = true;
    if (json_object_is_type(v, json_type_boolean)) {
        *out = json_object_get_boolean(v);
        return PV_OK;
    }
    if (json_object_is_type(v, json_type_string)) {
        /* some providers send "true"/"false" as strings (İş Bankası) */
        const char *s = json_object_get_string(v);
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
            *out = s[0] == 't';
            return PV_OK;
        }
    }
    pv_json_describe(v, d, sizeof(d));
    return pv_error_set(err, PV_ETYPE, path, "%s: expected a boolean, got %s", path, d);
}

int pv_json_string(const json_object *obj, const char *key, const char *path, bool required,
                   char *buf, size_t cap, bool *present, pv_error *err)
{
    char d[128];
    json_object *v = pv_json_member(obj, key);
    if (v == NULL)
        return pv_json_missing(path, required, present, err);
    if (present != NULL)
        *present = true;
    if (!json_object_is_type(v, json_type_string)) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, path, "%s: expected a string, got %s", path, d);
    }
    size_t len = (size_t)json_object_get_string_len(v);
    if (len >= cap) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETOOBIG, path, "%s: %s is %zu bytes long, the limit is %zu",
                            path, d, len, cap - 1);
    }
    memcpy(buf, json_object_get_string(v), len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL)
        return pv_error_set(err, PV_EFORMAT, path, "%s: string contains a NUL byte", path);
    return PV_OK;
}

int pv_json_value_money(json_object *v, const char *path, const char *currency, pv_money *out,
                        pv_error *err)
{
    char d[128];
    size_t len = 0;
    const char *t = NULL;
    json_type type = json_object_get_type(v);

    if (type == json_type_int && pv_json_int_clamped(v)) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ERANGE, path,
                            "%s: amount %s is out of range (the number may have been longer)", path,
                            d);
    }
    if (type == json_type_int || type == json_type_double || type == json_type_string)
        t = pv_json_number_text(v, &len);
    if (t == NULL) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, path, "%s: expected an amount, got %s", path, d);
    }
    return pv_money_parse(t, len, currency, path, out, err);
}

int pv_json_money(const json_object *obj, const char *key, const char *path, bool required,
                  const char *currency, pv_money *out, pv_error *err)
{
    json_object *v = pv_json_member(obj, key);
    memset(out, 0, sizeof(*out));
    if (v == NULL)
        return pv_json_missing(path, required, NULL, err);
    return pv_json_value_money(v, path, currency, out, err);
}

/*---- Building ----*/

static int pv_json_text_serializer(json_object *jso, struct printbuf *pb, int level, int flags)
{
    (void)level;
    (void)flags;
    const char *text = json_object_get_userdata(jso);
    printbuf_memappend(pb, text, (int)strlen(text));
    return 0;
}

json_object *pv_json_new_number_text(const char *text)
{
    /* a string object that serialises as the raw number text: no double is
     * ever computed from it */
    json_object *o = json_object_new_string(text);
    char *copy = strdup(text);
    if (o == NULL || copy == NULL) {
        json_object_put(o);
        free(copy);
        return NULL;
    }
    json_object_set_serializer(o, pv_json_text_serializer, copy, json_object_free_userdata);
    return o;
}

json_object *pv_json_new_money(const pv_money *m)
{
    char buf[PV_MONEY_TEXT_MAX];
    if (pv_money_format(m, buf, sizeof(buf)) < 0)
        return NULL;
    return pv_json_new_number_text(buf);
}

const char *pv_json_dump(json_object *obj, size_t *len)
{
    size_t l = 0;
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &l);
    if (len != NULL)
        *len = l;
    return s;
}
