/* sc_avro.c -- see sc_avro.h. */
#include "sc_avro.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pv_json.h"
#include "pv_money.h"
#include "pv_utf8.h"
#include "sc_codec.h"

/*---- The bounded validator ----*/

typedef struct sc_cursor {
    const unsigned char *p;
    size_t left;
    char path[256];
    pv_error *err;
} sc_cursor;

static int sc_avro_fail(sc_cursor *c, int code, const char *fmt, const char *detail)
{
    return pv_error_set(c->err, code, c->path, "Avro body: %s: %s%s",
                        c->path[0] != '\0' ? c->path : "(top)", fmt, detail != NULL ? detail : "");
}

/* zigzag varint; `bits` 32 or 64 */
static int sc_avro_read_varint(sc_cursor *c, int bits, int64_t *out)
{
    uint64_t v = 0;
    int shift = 0;
    int maxbytes = bits == 32 ? 5 : 10;
    for (int i = 0;; i++) {
        if (c->left == 0)
            return sc_avro_fail(c, PV_EPARSE, "truncated (the message ends inside a number)", NULL);
        if (i == maxbytes)
            return sc_avro_fail(c, PV_EFORMAT, "malformed variable-length number", NULL);
        unsigned char b = *c->p++;
        c->left--;
        v |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if ((b & 0x80) == 0)
            break;
    }
    int64_t r = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    if (bits == 32 && (r < INT32_MIN || r > INT32_MAX))
        return sc_avro_fail(c, PV_ERANGE, "int out of the 32-bit range", NULL);
    *out = r;
    return PV_OK;
}

static int sc_avro_skip(sc_cursor *c, size_t n)
{
    if (n > c->left)
        return sc_avro_fail(c, PV_EPARSE, "truncated (the message ends inside a value)", NULL);
    c->p += n;
    c->left -= n;
    return PV_OK;
}

static int sc_avro_check_string(sc_cursor *c, int utf8)
{
    int64_t len;
    char d[112];
    int rc = sc_avro_read_varint(c, 64, &len);
    if (rc != PV_OK)
        return rc;
    if (len < 0 || (uint64_t)len > c->left) {
        snprintf(d, sizeof(d), " (%" PRId64 " bytes declared, %zu left)", len, c->left);
        return sc_avro_fail(c, PV_EPARSE, "length beyond the end of the message", d);
    }
    if (len > SC_STRING_MAX) {
        snprintf(d, sizeof(d), " (%" PRId64 " bytes, the limit is %d)", len, SC_STRING_MAX);
        return sc_avro_fail(c, PV_ETOOBIG, "string too long", d);
    }
    if (utf8 && !pv_utf8_valid((const char *)c->p, (size_t)len)) {
        char q[96];
        pv_utf8_quote(q, sizeof(q), (const char *)c->p, (size_t)len);
        snprintf(d, sizeof(d), ": \"%s\"", q);
        return sc_avro_fail(c, PV_EFORMAT, "string is not valid UTF-8", d);
    }
    return sc_avro_skip(c, (size_t)len);
}

static int sc_avro_check_value(sc_cursor *c, avro_schema_t s, int depth);

/* Appends ".name" (or "[i]" when name is NULL) to the path; returns the old length. */
static size_t sc_avro_path_push(sc_cursor *c, const char *name, int64_t index)
{
    size_t old = strlen(c->path), cap = sizeof(c->path) - old;
    if (name == NULL) {
        snprintf(c->path + old, cap, "[%" PRId64 "]", index);
        return old;
    }
    /* every field of every message passes here: no formatting */
    size_t dot = old > 0, n = strlen(name);
    if (dot + n >= cap)
        n = cap > dot + 1 ? cap - dot - 1 : 0;
    if (cap > dot) {
        c->path[old] = '.';
        memcpy(c->path + old + dot, name, n);
        c->path[old + dot + n] = '\0';
    }
    return old;
}

static int sc_avro_check_blocks(sc_cursor *c, avro_schema_t items, int is_map, int depth)
{
    int64_t total = 0, count, bytes;
    char d[96];
    for (;;) {
        int rc = sc_avro_read_varint(c, 64, &count);
        if (rc != PV_OK)
            return rc;
        if (count == 0)
            return PV_OK;
        if (count < 0) {
            if (count == INT64_MIN)
                return sc_avro_fail(c, PV_EFORMAT, "malformed block count", NULL);
            count = -count;
            rc = sc_avro_read_varint(c, 64, &bytes); /* block size in bytes: checked by walking */
            if (rc != PV_OK)
                return rc;
        }
        if (count > SC_ARRAY_MAX - total) {
            snprintf(d, sizeof(d), " (more than %d items)", SC_ARRAY_MAX);
            return sc_avro_fail(c, PV_ETOOBIG, is_map ? "map too large" : "array too large", d);
        }
        for (int64_t i = 0; i < count; i++) {
            size_t old = sc_avro_path_push(c, NULL, total + i);
            if (is_map) {
                rc = sc_avro_check_string(c, 1);
                if (rc != PV_OK)
                    return rc;
            }
            rc = sc_avro_check_value(c, items, depth + 1);
            if (rc != PV_OK)
                return rc;
            c->path[old] = '\0';
        }
        total += count;
    }
}

static int sc_avro_check_value(sc_cursor *c, avro_schema_t s, int depth)
{
    int64_t v;
    int rc;
    char d[64];

    if (depth > SC_DEPTH_MAX)
        return sc_avro_fail(c, PV_ETOOBIG, "nested too deep", NULL);
    while (avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return PV_OK;
    case AVRO_BOOLEAN:
        if (c->left == 0 || *c->p > 1)
            return sc_avro_fail(c, PV_EFORMAT, "boolean is neither 0 nor 1", NULL);
        return sc_avro_skip(c, 1);
    case AVRO_INT32:
        return sc_avro_read_varint(c, 32, &v);
    case AVRO_INT64:
        return sc_avro_read_varint(c, 64, &v);
    case AVRO_FLOAT:
        return sc_avro_skip(c, 4);
    case AVRO_DOUBLE:
        return sc_avro_skip(c, 8);
    case AVRO_STRING:
        return sc_avro_check_string(c, 1);
    case AVRO_BYTES:
        return sc_avro_check_string(c, 0);
    case AVRO_FIXED:
        return sc_avro_skip(c, (size_t)avro_schema_fixed_size(s));
    case AVRO_ENUM:
        rc = sc_avro_read_varint(c, 32, &v);
        if (rc == PV_OK && (v < 0 || v >= avro_schema_enum_number_of_symbols(s))) {
            snprintf(d, sizeof(d), " (%" PRId64 ")", v);
            return sc_avro_fail(c, PV_ERANGE, "enum index out of range", d);
        }
        return rc;
    case AVRO_UNION:
        rc = sc_avro_read_varint(c, 32, &v);
        if (rc != PV_OK)
            return rc;
        if (v < 0 || (size_t)v >= avro_schema_union_size(s)) {
            snprintf(d, sizeof(d), " (%" PRId64 ")", v);
            return sc_avro_fail(c, PV_ERANGE, "union branch out of range", d);
        }
        return sc_avro_check_value(c, avro_schema_union_branch(s, (int)v), depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++) {
            size_t old = sc_avro_path_push(c, avro_schema_record_field_name(s, (int)i), 0);
            rc =
                sc_avro_check_value(c, avro_schema_record_field_get_by_index(s, (int)i), depth + 1);
            if (rc != PV_OK)
                return rc;
            c->path[old] = '\0';
        }
        return PV_OK;
    case AVRO_ARRAY:
        return sc_avro_check_blocks(c, avro_schema_array_items(s), 0, depth);
    case AVRO_MAP:
        return sc_avro_check_blocks(c, avro_schema_map_values(s), 1, depth);
    default:
        return sc_avro_fail(c, PV_EUNSUPPORTED, "unsupported schema type", NULL);
    }
}

int sc_avro_check(avro_schema_t schema, const unsigned char *buf, size_t len, pv_error *err)
{
    sc_cursor c = {.p = buf, .left = len, .err = err};
    int rc = sc_avro_check_value(&c, schema, 0);
    if (rc == PV_OK && c.left != 0) {
        char d[64];
        snprintf(d, sizeof(d), " (%zu bytes)", c.left);
        return sc_avro_fail(&c, PV_EPARSE, "trailing bytes after the value", d);
    }
    return rc;
}

/*---- Avro value -> JSON ----*/

static json_object *sc_avro_value_to_json(avro_value_t *v, pv_error *err, int depth)
{
    avro_value_t child;
    const char *name = NULL, *str = NULL;
    size_t n = 0, size = 0;
    int32_t i32 = 0;
    int64_t i64 = 0;
    int b = 0, rc = 0;
    json_object *o;

    if (depth > SC_DEPTH_MAX) {
        pv_error_set(err, PV_ETOOBIG, "", "value nested too deep");
        return NULL;
    }
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return NULL; /* json-c's null */
    case AVRO_BOOLEAN:
        avro_value_get_boolean(v, &b);
        return json_object_new_boolean(b);
    case AVRO_INT32:
        avro_value_get_int(v, &i32);
        return json_object_new_int64(i32);
    case AVRO_INT64:
        avro_value_get_long(v, &i64);
        return json_object_new_int64(i64);
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        pv_error_set(err, PV_EUNSUPPORTED, "", "floating point values are not used by payworker");
        return NULL;
    case AVRO_STRING:
        avro_value_get_string(v, &str, &size);
        return json_object_new_string_len(str, size > 0 ? (int)size - 1 : 0);
    case AVRO_BYTES: {
        const void *bytes;
        avro_value_get_bytes(v, &bytes, &size);
        return json_object_new_string_len(bytes, (int)size);
    }
    case AVRO_ENUM: {
        avro_value_get_enum(v, &b);
        avro_schema_t s = avro_value_get_schema(v);
        return json_object_new_string(avro_schema_enum_get(s, b));
    }
    case AVRO_UNION:
        avro_value_get_current_branch(v, &child);
        return sc_avro_value_to_json(&child, err, depth + 1);
    case AVRO_RECORD:
    case AVRO_MAP:
        o = json_object_new_object();
        avro_value_get_size(v, &n);
        for (size_t k = 0; k < n && rc == 0; k++) {
            avro_value_get_by_index(v, k, &child, &name);
            json_object *cj = sc_avro_value_to_json(&child, err, depth + 1);
            if (cj == NULL && err != NULL && err->code != PV_OK)
                rc = -1;
            else
                json_object_object_add(o, name, cj);
        }
        break;
    case AVRO_ARRAY:
        o = json_object_new_array();
        avro_value_get_size(v, &n);
        for (size_t k = 0; k < n && rc == 0; k++) {
            avro_value_get_by_index(v, k, &child, NULL);
            json_object *cj = sc_avro_value_to_json(&child, err, depth + 1);
            if (cj == NULL && err != NULL && err->code != PV_OK)
                rc = -1;
            else
                json_object_array_add(o, cj);
        }
        break;
    default:
        pv_error_set(err, PV_EUNSUPPORTED, "", "unsupported Avro type");
        return NULL;
    }
    if (rc != 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *sc_avro_to_json(avro_value_t *value, pv_error *err)
{
    pv_error local = {0};
    if (err == NULL)
        err = &local;
    err->code = PV_OK;
    return sc_avro_value_to_json(value, err, 0);
}

/*---- JSON -> Avro value ----*/

static int sc_avro_bad(pv_error *err, int code, const char *path, const char *want, json_object *j)
{
    char d[128];
    pv_json_describe(j, d, sizeof(d));
    return pv_error_set(err, code, path, "%s: expected %s, got %s", path, want, d);
}

/* Where a value sits: a chain up to the root, formatted only for an error
 * message (formatting every field's path cost 10% of a worker's
 * instructions, callgrind). */
typedef struct sc_at {
    const struct sc_at *up;
    const char *name; /* field or map key; NULL: an array item */
    size_t index;
} sc_at;

#define SC_PATH_MAX 256
#define PATH        sc_avro_at_str(at, pb, sizeof(pb))

static const char *sc_avro_at_str(const sc_at *at, char *buf, size_t cap)
{
    if (at->up == NULL) {
        snprintf(buf, cap, "%s", at->name);
        return buf;
    }
    sc_avro_at_str(at->up, buf, cap);
    size_t n = strlen(buf);
    if (at->name != NULL)
        snprintf(buf + n, cap - n, "%s%s", n > 0 ? "." : "", at->name);
    else
        snprintf(buf + n, cap - n, "[%zu]", at->index);
    return buf;
}

static int sc_avro_value_from_json(avro_value_t *v, json_object *j, const sc_at *at,
                                   const sc_marks *m, const char *branch, int decimal, int depth,
                                   pv_error *err);

static int sc_avro_from_json_union(avro_value_t *v, json_object *j, const sc_at *at,
                                   const sc_marks *m, const char *branch, int decimal, int depth,
                                   pv_error *err)
{
    avro_schema_t s = avro_value_get_schema(v);
    size_t n = avro_schema_union_size(s);
    int null_idx = -1, pick = -1, nonnull = 0;
    avro_value_t child;
    char pb[SC_PATH_MAX];

    for (size_t i = 0; i < n; i++) {
        avro_schema_t b = avro_schema_union_branch(s, (int)i);
        if (avro_typeof(b) == AVRO_NULL) {
            null_idx = (int)i;
        } else {
            nonnull++;
            if (pick < 0)
                pick = (int)i;
        }
    }
    if (j == NULL) {
        if (null_idx < 0)
            return pv_error_set(err, PV_EMISSING, PATH, "%s: required field is missing", PATH);
        return avro_value_set_branch(v, null_idx, &child) == 0
                   ? avro_value_set_null(&child) == 0 ? PV_OK : PV_EUNSUPPORTED
                   : PV_EUNSUPPORTED;
    }
    if (nonnull > 1) {
        /* several records: the caller names the branch (the command's request) */
        if (branch == NULL || avro_schema_union_branch_by_name(s, &pick, branch) == NULL)
            return pv_error_set(err, PV_EUNSUPPORTED, PATH, "%s: no union branch for \"%s\"", PATH,
                                branch != NULL ? branch : "(none)");
    }
    if (pick < 0 || avro_value_set_branch(v, pick, &child) != 0)
        return pv_error_set(err, PV_EUNSUPPORTED, PATH, "%s: cannot select a union branch", PATH);
    return sc_avro_value_from_json(&child, j, at, m, NULL, decimal, depth + 1, err);
}

static int sc_avro_value_from_json(avro_value_t *v, json_object *j, const sc_at *at,
                                   const sc_marks *m, const char *branch, int decimal, int depth,
                                   pv_error *err)
{
    avro_value_t child;
    char pb[SC_PATH_MAX];
    int64_t i64;
    size_t len;
    const char *text;
    int rc;

    if (depth > SC_DEPTH_MAX)
        return pv_error_set(err, PV_ETOOBIG, PATH, "%s: nested too deep", PATH);
    avro_type_t t = avro_value_get_type(v);
    if (t == AVRO_UNION)
        return sc_avro_from_json_union(v, j, at, m, branch, decimal, depth, err);
    if (j == NULL && t != AVRO_NULL)
        return pv_error_set(err, PV_EMISSING, PATH, "%s: required field is missing", PATH);

    switch (t) {
    case AVRO_NULL:
        return avro_value_set_null(v) == 0 ? PV_OK : PV_EUNSUPPORTED;
    case AVRO_BOOLEAN:
        if (!json_object_is_type(j, json_type_boolean))
            return sc_avro_bad(err, PV_ETYPE, PATH, "a boolean", j);
        avro_value_set_boolean(v, json_object_get_boolean(j));
        return PV_OK;
    case AVRO_INT32:
    case AVRO_INT64:
        if (pv_json_value_int64(j, "", &i64, NULL) != PV_OK)
            return pv_json_value_int64(j, PATH, &i64, err);
        if (t == AVRO_INT32) {
            if (i64 < INT32_MIN || i64 > INT32_MAX)
                return pv_error_set(err, PV_ERANGE, PATH,
                                    "%s: %" PRId64 " is out of the 32-bit range", PATH, i64);
            avro_value_set_int(v, (int32_t)i64);
        } else {
            avro_value_set_long(v, i64);
        }
        return PV_OK;
    case AVRO_STRING:
        if (decimal &&
            (json_object_is_type(j, json_type_string) || json_object_is_type(j, json_type_double) ||
             json_object_is_type(j, json_type_int))) {
            /* a decimal amount: its exact text (a JSON number's or a string's),
             * checked to be plain decimal text */
            text = pv_json_number_text(j, &len);
            if (pv_money_decimal_check(text, len, "", NULL) != PV_OK)
                return pv_money_decimal_check(text, len, PATH, err);
        } else if (json_object_is_type(j, json_type_string)) {
            text = json_object_get_string(j);
            len = (size_t)json_object_get_string_len(j);
        } else {
            return sc_avro_bad(err, PV_ETYPE, PATH, decimal ? "a decimal amount" : "a string", j);
        }
        if (len > SC_STRING_MAX)
            return pv_error_set(err, PV_ETOOBIG, PATH, "%s: %zu bytes, the limit is %d", PATH, len,
                                SC_STRING_MAX);
        if (!pv_utf8_valid(text, len) || memchr(text, '\0', len) != NULL)
            return sc_avro_bad(err, PV_EFORMAT, PATH, "UTF-8 text without NUL", j);
        avro_value_set_string_len(v, text, len + 1);
        return PV_OK;
    case AVRO_ENUM: {
        avro_schema_t s = avro_value_get_schema(v);
        if (!json_object_is_type(j, json_type_string))
            return sc_avro_bad(err, PV_ETYPE, PATH, "a symbol string", j);
        int sym = avro_schema_enum_get_by_name(s, json_object_get_string(j));
        if (sym < 0)
            return sc_avro_bad(err, PV_ERANGE, PATH, "one of the enum's symbols", j);
        avro_value_set_enum(v, sym);
        return PV_OK;
    }
    case AVRO_RECORD: {
        avro_schema_t s = avro_value_get_schema(v);
        const char *rname = avro_schema_name(s);
        if (!json_object_is_type(j, json_type_object))
            return sc_avro_bad(err, PV_ETYPE, PATH, "an object", j);
        size_t n = avro_schema_record_size(s);
        for (size_t i = 0; i < n; i++) {
            const char *fname = avro_schema_record_field_name(s, (int)i);
            avro_value_get_by_index(v, i, &child, NULL);
            sc_at sub = {at, fname, 0};
            json_object *fj = NULL;
            json_object_object_get_ex(j, fname, &fj);
            /* an absent array or map is empty (the schema's default) */
            avro_type_t ft = avro_value_get_type(&child);
            if (fj == NULL && (ft == AVRO_ARRAY || ft == AVRO_MAP))
                continue;
            /* the branch hint travels down records to the union it names */
            rc = sc_avro_value_from_json(&child, fj, &sub, m, branch,
                                         sc_marks_decimal(m, rname, fname), depth + 1, err);
            if (rc != PV_OK)
                return rc;
        }
        return PV_OK;
    }
    case AVRO_ARRAY: {
        if (!json_object_is_type(j, json_type_array))
            return sc_avro_bad(err, PV_ETYPE, PATH, "an array", j);
        size_t n = json_object_array_length(j);
        if (n > SC_ARRAY_MAX)
            return pv_error_set(err, PV_ETOOBIG, PATH, "%s: %zu items, the limit is %d", PATH, n,
                                SC_ARRAY_MAX);
        for (size_t i = 0; i < n; i++) {
            sc_at sub = {at, NULL, i};
            avro_value_append(v, &child, NULL);
            rc = sc_avro_value_from_json(&child, json_object_array_get_idx(j, i), &sub, m, NULL, 0,
                                         depth + 1, err);
            if (rc != PV_OK)
                return rc;
        }
        return PV_OK;
    }
    case AVRO_MAP: {
        if (!json_object_is_type(j, json_type_object))
            return sc_avro_bad(err, PV_ETYPE, PATH, "an object", j);
        if (json_object_object_length(j) > SC_ARRAY_MAX)
            return pv_error_set(err, PV_ETOOBIG, PATH, "%s: more than %d entries", PATH,
                                SC_ARRAY_MAX);
        json_object_object_foreach(j, k, val)
        {
            sc_at sub = {at, k, 0};
            avro_value_add(v, k, &child, NULL, NULL);
            rc = sc_avro_value_from_json(&child, val, &sub, m, NULL, 0, depth + 1, err);
            if (rc != PV_OK)
                return rc;
        }
        return PV_OK;
    }
    default:
        return pv_error_set(err, PV_EUNSUPPORTED, PATH, "%s: unsupported Avro type", PATH);
    }
}

#undef PATH

int sc_avro_from_json(avro_value_t *value, json_object *j, const char *path, const sc_marks *m,
                      const char *branch, pv_error *err)
{
    sc_at root = {NULL, path, 0};
    return sc_avro_value_from_json(value, j, &root, m, branch, 0, 0, err);
}

/*---- Unknown keys in JSON ----
 *
 * A JSON command is free text: the adapters read the keys they know and
 * everything else used to be ignored, so {"partial_amount": 1} (Payofin's is
 * partialAmount) paid the whole invoice. The schema is the one list of what a
 * command may carry (an Avro command cannot carry anything else), so a JSON
 * key it does not have is refused, at every level, naming its path. */

#define SC_KEYS_LISTED 16 /* field_errors entries at most */
#define SC_SUGGEST_MAX 64 /* longest key a suggestion is looked for (bytes) */

/* Optimal string alignment distance (Levenshtein plus transpositions of
 * adjacent characters), ASCII case folded; anything over 2 reads 3. */
static size_t sc_avro_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > SC_SUGGEST_MAX || lb > SC_SUGGEST_MAX || (la > lb ? la - lb : lb - la) > 2)
        return 3;
    size_t row[3][SC_SUGGEST_MAX + 1]; /* rows i, i-1 and i-2, by i mod 3 */
    for (size_t j = 0; j <= lb; j++)
        row[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = row[i % 3], *up = row[(i + 2) % 3], *up2 = row[(i + 1) % 3];
        int ca = tolower((unsigned char)a[i - 1]);
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int cb = tolower((unsigned char)b[j - 1]);
            size_t d = up[j - 1] + (ca != cb);
            if (up[j] + 1 < d)
                d = up[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && up2[j - 2] + 1 < d)
                d = up2[j - 2] + 1;
            cur[j] = d;
        }
    }
    return row[la % 3][lb] > 2 ? 3 : row[la % 3][lb];
}

/* The field of record s that key was probably meant to be: the same but for
 * case, else the nearest within 2 edits, and fewer edits than the key is long
 * ("x" is no misspelling of "key"); NULL when none is near. */
static const char *sc_avro_suggest(avro_schema_t s, const char *key)
{
    const char *best = NULL;
    size_t best_d = 3, klen = strlen(key);
    for (size_t i = 0; i < avro_schema_record_size(s); i++) {
        const char *f = avro_schema_record_field_name(s, (int)i);
        if (strcasecmp(f, key) == 0)
            return f;
        size_t d = sc_avro_edit_distance(key, f);
        if (d < best_d && d < klen) {
            best = f;
            best_d = d;
        }
    }
    return best;
}

typedef struct sc_keys {
    size_t count;      /* unknown keys found */
    json_object *list; /* field_errors; NULL when err is */
    char field[SC_PATH_MAX + PV_ERR_FIELD_MAX], why[PV_ERR_STR_MAX]; /* the first */
} sc_keys;

static void sc_avro_keys_unknown(sc_keys *k, avro_schema_t rec, const sc_at *at, const char *key)
{
    char pb[SC_PATH_MAX], q[PV_ERR_FIELD_MAX], field[SC_PATH_MAX + PV_ERR_FIELD_MAX];
    char why[PV_ERR_STR_MAX];
    const char *parent = sc_avro_at_str(at, pb, sizeof(pb));
    size_t plen = strlen(parent) + 1;
    /* the key is the sender's text: quoted, and cut at a character so that
     * the whole path fits the error's field */
    pv_utf8_quote(q, plen + 24 < sizeof(q) ? sizeof(q) - plen : 24, key, strlen(key));
    snprintf(field, sizeof(field), "%s%s%s", parent, parent[0] != '\0' ? "." : "", q);
    const char *hint = sc_avro_suggest(rec, key);
    if (hint != NULL) {
        snprintf(why, sizeof(why), "unknown field (did you mean %s?)", hint);
    } else {
        /* no near name: say which there are */
        size_t n =
            (size_t)snprintf(why, sizeof(why), "unknown field (%s has ", avro_schema_name(rec));
        for (size_t i = 0; i < avro_schema_record_size(rec) && n < sizeof(why); i++)
            n += (size_t)snprintf(why + n, sizeof(why) - n, "%s%s", i > 0 ? ", " : "",
                                  avro_schema_record_field_name(rec, (int)i));
        if (n < sizeof(why))
            snprintf(why + n, sizeof(why) - n, ")");
    }
    if (k->count++ == 0) {
        snprintf(k->field, sizeof(k->field), "%s", field);
        snprintf(k->why, sizeof(k->why), "%s", why);
    }
    if (k->list != NULL && json_object_array_length(k->list) < SC_KEYS_LISTED) {
        json_object *fe = json_object_new_object();
        json_object_object_add(fe, "field", json_object_new_string(field));
        json_object_object_add(fe, "value", NULL);
        json_object_object_add(fe, "error", json_object_new_string(why));
        json_object_array_add(k->list, fe);
    }
}

static void sc_avro_keys_walk(sc_keys *k, avro_schema_t s, json_object *j, const sc_at *at,
                              const char *branch, int depth)
{
    if (j == NULL || depth > SC_DEPTH_MAX)
        return;
    while (avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    switch (avro_typeof(s)) {
    case AVRO_UNION: {
        /* the named record (the request's branch), else the one branch
         * besides null; a union of several without a name is not checked */
        int idx;
        avro_schema_t pick = NULL, only = NULL;
        size_t nonnull = 0;
        if (branch != NULL)
            pick = avro_schema_union_branch_by_name(s, &idx, branch);
        for (size_t i = 0; pick == NULL && i < avro_schema_union_size(s); i++) {
            avro_schema_t b = avro_schema_union_branch(s, (int)i);
            if (avro_typeof(b) != AVRO_NULL) {
                nonnull++;
                only = b;
            }
        }
        if (pick == NULL && nonnull == 1)
            pick = only;
        if (pick != NULL)
            sc_avro_keys_walk(k, pick, j, at, NULL, depth);
        return;
    }
    case AVRO_RECORD:
        if (!json_object_is_type(j, json_type_object))
            return; /* a wrong type: the converter or the adapter names it */
        json_object_object_foreach(j, key, v)
        {
            sc_at sub = {at, key, 0};
            /* by index: avro-c 1.11's avro_schema_record_field_get reads
             * past its look-up for a name the record lacks */
            int f = avro_schema_record_field_get_index(s, key);
            if (f < 0)
                sc_avro_keys_unknown(k, s, at, key);
            else /* the branch hint travels down records to the union it names */
                sc_avro_keys_walk(k, avro_schema_record_field_get_by_index(s, f), v, &sub, branch,
                                  depth + 1);
        }
        return;
    case AVRO_ARRAY:
        if (!json_object_is_type(j, json_type_array))
            return;
        for (size_t i = 0; i < json_object_array_length(j); i++) {
            sc_at sub = {at, NULL, i};
            sc_avro_keys_walk(k, avro_schema_array_items(s), json_object_array_get_idx(j, i), &sub,
                              NULL, depth + 1);
        }
        return;
    default:
        return; /* a map's keys are free; scalars have none */
    }
}

int sc_avro_check_keys(avro_schema_t s, json_object *j, const char *path, const char *branch,
                       pv_error *err)
{
    sc_keys k = {.list = err != NULL ? json_object_new_array() : NULL};
    sc_at root = {NULL, path, 0};
    sc_avro_keys_walk(&k, s, j, &root, branch, 0);
    if (k.count == 0) {
        json_object_put(k.list);
        return PV_OK;
    }
    if (err == NULL)
        return PV_EVALIDATION;
    if (k.count == 1)
        pv_error_set(err, PV_EVALIDATION, k.field, "%s: %s", k.field, k.why);
    else
        pv_error_set(err, PV_EVALIDATION, k.field, "%s: %.300s (%zu unknown fields in all)",
                     k.field, k.why, k.count);
    json_object *detail = json_object_new_object();
    size_t listed = json_object_array_length(k.list);
    json_object_object_add(detail, "field_errors", k.list);
    if (k.count > listed)
        json_object_object_add(detail, "more", json_object_new_int64((int64_t)(k.count - listed)));
    json_object_put(err->detail);
    err->detail = detail;
    return PV_EVALIDATION;
}
