/* pv_json.c -- see pv_json.h. */
#include "pv_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pv_utf8.h"

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
        pv_utf8_quote(q, sizeof(q), body + (used < len ? used : len), used < len ? len - used : 0);
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
            pv_utf8_quote(q, sizeof(q), body + i, len - i);
            return pv_error_set(err, PV_EPARSE, "", "%s: trailing data at byte %zu: \"%s\"", what,
                                i, q);
        }
    }
    *out = obj;
    return PV_OK;
}

int pv_json_parse_object(const char *body, size_t len, const char *what, json_object **out,
                         pv_error *err)
{
    int rc = pv_json_parse(body, len, what, out, err);
    if (rc != PV_OK)
        return rc;
    if (!json_object_is_type(*out, json_type_object)) {
        char d[128];
        pv_json_describe(*out, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, "", "%s: expected an object, got %s", what, d);
    }
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
    pv_utf8_quote(q, sizeof(q), text, len);
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
        rc = pv_money_parse_int64(t, len, out);
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

int pv_json_value_string(json_object *v, const char *path, const char **s, size_t *len,
                         pv_error *err)
{
    if (v == NULL)
        return pv_json_missing(path, true, NULL, err);
    if (!json_object_is_type(v, json_type_string)) {
        char d[128];
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, path, "%s: expected a string, got %s", path, d);
    }
    *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return PV_OK;
}

int pv_json_string(const json_object *obj, const char *key, const char *path, bool required,
                   char *buf, size_t cap, bool *present, pv_error *err)
{
    char d[128];
    const char *s;
    size_t len;
    json_object *v = pv_json_member(obj, key);
    if (v == NULL)
        return pv_json_missing(path, required, present, err);
    if (present != NULL)
        *present = true;
    int rc = pv_json_value_string(v, path, &s, &len, err);
    if (rc != PV_OK)
        return rc;
    if (len >= cap) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETOOBIG, path, "%s: %s is %zu bytes long, the limit is %zu",
                            path, d, len, cap - 1);
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL)
        return pv_error_set(err, PV_EFORMAT, path, "%s: string contains a NUL byte", path);
    size_t bad = pv_utf8_bad_at(buf, len);
    if (bad < len) {
        pv_json_describe(v, d, sizeof(d));
        buf[0] = '\0';
        return pv_error_set(err, PV_EFORMAT, path, "%s: %s is not UTF-8 (byte %zu)", path, d, bad);
    }
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

/*---- Duplicate keys ----*/

/* json-c keeps the last of two equal keys and pv_json_member falls back to a
 * case-insensitive match, so {"resultCode":1,"ResultCode":-19} would be read
 * as whichever the look-up meets first. The text is scanned before it is
 * trusted: keys are unescaped and ASCII-folded, then each object's keys are
 * sorted and neighbours compared (n log n: a hostile body of a million keys
 * is no slower than its parse). */

typedef struct pv_jkey {
    const char *norm; /* unescaped, ASCII lower case, in the arena */
    size_t norm_len;
    size_t at, raw_len; /* where the key is written in the body (quotes excluded) */
} pv_jkey;

typedef struct pv_jscan {
    const char *s;
    size_t len, i;
    char *arena;
    size_t used;
    pv_jkey *keys;
    size_t nkeys, capkeys;
    int depth;
    const pv_jkey *dup[2]; /* the first pair found */
} pv_jscan;

static void pv_json_scan_ws(pv_jscan *j)
{
    while (j->i < j->len &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int pv_json_scan_hex4(pv_jscan *j, uint32_t *v)
{
    *v = 0;
    if (j->len - j->i < 4)
        return 0;
    for (int k = 0; k < 4; k++) {
        char c = j->s[j->i++];
        int d = pv_utf8_hex_digit(c);
        if (d < 0)
            return 0;
        *v = *v << 4 | (uint32_t)d;
    }
    return 1;
}

static void pv_json_scan_put(pv_jscan *j, uint32_t cp)
{
    char *o = j->arena + j->used;
    if (cp < 0x80) {
        o[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        j->used += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        j->used += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        j->used += 3;
    } else {
        o[0] = (char)(0xf0 | cp >> 18);
        o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        j->used += 4;
    }
}

/* A string at j->i (the opening quote); a key is also recorded. 0: not JSON. */
static int pv_json_scan_string(pv_jscan *j, int key)
{
    size_t start = ++j->i, norm = j->used;
    while (j->i < j->len) {
        unsigned char c = (unsigned char)j->s[j->i];
        if (c == '"')
            break;
        if (c != '\\') {
            j->i++;
            if (key) {
                /* raw bytes: never longer than what they came from */
                j->arena[j->used++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            continue;
        }
        if (++j->i >= j->len)
            return 0;
        char e = j->s[j->i++];
        uint32_t cp;
        switch (e) {
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case '"':
        case '\\':
        case '/':
            cp = (unsigned char)e;
            break;
        case 'u':
            if (!pv_json_scan_hex4(j, &cp))
                return 0;
            if (cp >= 0xd800 && cp <= 0xdbff && j->len - j->i >= 6 && j->s[j->i] == '\\' &&
                j->s[j->i + 1] == 'u') {
                size_t back = j->i;
                uint32_t lo;
                j->i += 2;
                if (pv_json_scan_hex4(j, &lo) && lo >= 0xdc00 && lo <= 0xdfff)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                else
                    j->i = back;
            }
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp = 0xfffd; /* a lone surrogate: json-c reads it so too */
            break;
        default:
            return 0;
        }
        if (key)
            pv_json_scan_put(j, cp); /* at most as long as its escape (2 or 6 bytes) */
    }
    if (j->i >= j->len)
        return 0;
    if (key) {
        if (j->nkeys == j->capkeys) {
            size_t cap = j->capkeys != 0 ? j->capkeys * 2 : 32;
            pv_jkey *k = realloc(j->keys, cap * sizeof(*k));
            if (k == NULL)
                return 0;
            j->keys = k;
            j->capkeys = cap;
        }
        j->keys[j->nkeys++] = (pv_jkey){j->arena + norm, j->used - norm, start, j->i - start};
    }
    j->i++; /* the closing quote */
    return 1;
}

static int pv_json_key_cmp(const void *a, const void *b)
{
    const pv_jkey *x = a, *y = b;
    size_t n = x->norm_len < y->norm_len ? x->norm_len : y->norm_len;
    int c = memcmp(x->norm, y->norm, n);
    if (c != 0)
        return c;
    if (x->norm_len != y->norm_len)
        return x->norm_len < y->norm_len ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at; /* the first written first */
}

static int pv_json_scan_value(pv_jscan *j);

static int pv_json_scan_object(pv_jscan *j)
{
    size_t first = j->nkeys, arena = j->used;
    j->i++; /* { */
    pv_json_scan_ws(j);
    if (j->i < j->len && j->s[j->i] == '}') {
        j->i++;
        return 1;
    }
    for (;;) {
        pv_json_scan_ws(j);
        if (j->i >= j->len || j->s[j->i] != '"' || !pv_json_scan_string(j, 1))
            return 0;
        pv_json_scan_ws(j);
        if (j->i >= j->len || j->s[j->i] != ':')
            return 0;
        j->i++;
        if (!pv_json_scan_value(j))
            return 0;
        pv_json_scan_ws(j);
        if (j->i < j->len && j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        if (j->i < j->len && j->s[j->i] == '}') {
            j->i++;
            break;
        }
        return 0;
    }
    size_t n = j->nkeys - first;
    if (n > 1 && j->dup[0] == NULL) {
        qsort(j->keys + first, n, sizeof(pv_jkey), pv_json_key_cmp);
        for (size_t k = first + 1; k < j->nkeys; k++)
            if (j->keys[k].norm_len == j->keys[k - 1].norm_len &&
                memcmp(j->keys[k].norm, j->keys[k - 1].norm, j->keys[k].norm_len) == 0) {
                j->dup[0] = &j->keys[k - 1];
                j->dup[1] = &j->keys[k];
                return 0; /* stop here: the verdict is in */
            }
    }
    j->nkeys = first; /* this object's keys are done with */
    j->used = arena;
    return 1;
}

static int pv_json_scan_value(pv_jscan *j)
{
    pv_json_scan_ws(j);
    if (j->i >= j->len)
        return 0;
    char c = j->s[j->i];
    if (c == '{' || c == '[') {
        if (++j->depth > PV_JSON_DEPTH_MAX + 1)
            return 0;
        int ok;
        if (c == '{') {
            ok = pv_json_scan_object(j);
        } else {
            j->i++;
            pv_json_scan_ws(j);
            ok = 1;
            if (j->i < j->len && j->s[j->i] == ']') {
                j->i++;
            } else {
                for (;;) {
                    if (!pv_json_scan_value(j)) {
                        ok = 0;
                        break;
                    }
                    pv_json_scan_ws(j);
                    if (j->i < j->len && j->s[j->i] == ',') {
                        j->i++;
                        continue;
                    }
                    if (j->i < j->len && j->s[j->i] == ']')
                        j->i++;
                    else
                        ok = 0;
                    break;
                }
            }
        }
        j->depth--;
        return ok;
    }
    if (c == '"')
        return pv_json_scan_string(j, 0);
    /* a number or a literal: its characters, checked by the parser */
    size_t start = j->i;
    while (j->i < j->len && strchr(",]} \t\r\n", j->s[j->i]) == NULL)
        j->i++;
    return j->i > start;
}

int pv_json_check_keys(const char *body, size_t len, const char *what, pv_error *err)
{
    if (body == NULL || len == 0 || len > PV_JSON_BODY_MAX || memchr(body, '"', len) == NULL)
        return PV_OK; /* nothing to compare; the parser has its say */
    pv_jscan j = {.s = body, .len = len};
    j.arena = malloc(len + 1);
    if (j.arena == NULL)
        return pv_error_set(err, PV_ENOMEM, "", "%s: out of memory", what);
    int rc = PV_OK;
    if (!pv_json_scan_value(&j) && j.dup[0] != NULL) {
        char a[96], b[96], key[PV_ERR_FIELD_MAX];
        const pv_jkey *x = j.dup[0], *y = j.dup[1];
        pv_utf8_quote(a, sizeof(a), body + x->at, x->raw_len);
        pv_utf8_quote(b, sizeof(b), body + y->at, y->raw_len);
        snprintf(key, sizeof(key), "%.*s", (int)(x->raw_len < 60 ? x->raw_len : 60), body + x->at);
        if (x->raw_len == y->raw_len && memcmp(body + x->at, body + y->at, x->raw_len) == 0)
            rc = pv_error_set(err, PV_EFORMAT, key,
                              "%s: key \"%s\" appears twice in one object: ambiguous, not read",
                              what, a);
        else
            rc = pv_error_set(err, PV_EFORMAT, key,
                              "%s: keys \"%s\" and \"%s\" differ only in case or escaping: "
                              "ambiguous, not read",
                              what, a, b);
    }
    free(j.keys);
    free(j.arena);
    return rc;
}
