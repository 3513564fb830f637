/* test_schema_evolution.c -- each schema must stay backward compatible with
 * its last released version (schemas/released/v1): a consumer on the new
 * schema reads every message written with the old one.
 *
 * Rules (stricter than Avro's resolution where the issue says so): no field
 * is removed or retyped (int->long->float->double and string<->bytes
 * promotions allowed), a new field has a default, enum symbols are only
 * added, union branches are only added, records keep their names. (avro-c's
 * resolving reader is not the judge: version 1.11 refuses a new reader field
 * with a default, the commonest compatible change; the codec reads old
 * messages with their own schema instead, see sc_writer in sc_codec_int.h.)
 *
 * When a schema changes compatibly and is released, copy it to
 * schemas/released/v<N>/ and point RELEASED at it. */
#include "testutil.h"

#include <avro.h>
#include <string.h>

#define RELEASED "schemas/released/v1"

static const char *const files[] = {"payment_command.avsc", "payment_result.avsc",
                                    "balance_update.avsc"};

typedef struct names {
    json_object *named[64];
    size_t n;
} names;

static const char *type_of(json_object *t)
{
    if (json_object_is_type(t, json_type_string))
        return json_object_get_string(t);
    if (json_object_is_type(t, json_type_array))
        return "union";
    return json_object_get_string(pv_json_member(t, "type"));
}

static void collect(names *nm, json_object *t)
{
    if (json_object_is_type(t, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(t); i++)
            collect(nm, json_object_array_get_idx(t, i));
        return;
    }
    if (!json_object_is_type(t, json_type_object))
        return;
    const char *ty = type_of(t);
    if ((strcmp(ty, "record") == 0 || strcmp(ty, "enum") == 0) && nm->n < 64)
        nm->named[nm->n++] = t;
    if (strcmp(ty, "record") == 0) {
        json_object *fields = pv_json_member(t, "fields");
        for (size_t i = 0; i < json_object_array_length(fields); i++)
            collect(nm, pv_json_member(json_object_array_get_idx(fields, i), "type"));
    } else if (strcmp(ty, "array") == 0) {
        collect(nm, pv_json_member(t, "items"));
    } else if (strcmp(ty, "map") == 0) {
        collect(nm, pv_json_member(t, "values"));
    }
}

/* A reference by name resolves to its definition; logical types to their base. */
static json_object *resolve(const names *nm, json_object *t)
{
    if (json_object_is_type(t, json_type_string)) {
        for (size_t i = 0; i < nm->n; i++)
            if (strcmp(json_object_get_string(pv_json_member(nm->named[i], "name")),
                       json_object_get_string(t)) == 0)
                return nm->named[i];
    }
    return t;
}

static bool promotes(const char *from, const char *to)
{
    static const char *const ok[][2] = {
        {"int", "long"},    {"int", "float"},    {"int", "double"},   {"long", "float"},
        {"long", "double"}, {"float", "double"}, {"string", "bytes"}, {"bytes", "string"}};
    if (strcmp(from, to) == 0)
        return true;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(ok[i][0], from) == 0 && strcmp(ok[i][1], to) == 0)
            return true;
    return false;
}

static bool compat(const names *on, json_object *o, const names *nn, json_object *n,
                   const char *path, char *why, size_t cap);

static bool compat_union(const names *on, json_object *o, const names *nn, json_object *n,
                         const char *path, char *why, size_t cap)
{
    /* every old branch must be readable by some new branch */
    size_t no = json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 1;
    for (size_t i = 0; i < no; i++) {
        json_object *ob =
            json_object_is_type(o, json_type_array) ? json_object_array_get_idx(o, i) : o;
        bool found = false;
        size_t nb = json_object_is_type(n, json_type_array) ? json_object_array_length(n) : 1;
        for (size_t k = 0; k < nb && !found; k++) {
            json_object *b =
                json_object_is_type(n, json_type_array) ? json_object_array_get_idx(n, k) : n;
            char dummy[256];
            found = compat(on, ob, nn, b, path, dummy, sizeof(dummy));
        }
        if (!found) {
            snprintf(why, cap, "%s: union branch %s has no compatible branch in the new schema",
                     path, type_of(resolve(on, ob)));
            return false;
        }
    }
    return true;
}

static bool compat(const names *on, json_object *o, const names *nn, json_object *n,
                   const char *path, char *why, size_t cap)
{
    char sub[256];
    o = resolve(on, o);
    n = resolve(nn, n);
    const char *to = type_of(o), *tn = type_of(n);
    if (strcmp(to, "union") == 0 || strcmp(tn, "union") == 0)
        return compat_union(on, o, nn, n, path, why, cap);
    if (strcmp(to, tn) != 0 && !promotes(to, tn)) {
        snprintf(why, cap, "%s: type %s became %s", path, to, tn);
        return false;
    }
    if (strcmp(to, "record") == 0) {
        const char *oname = json_object_get_string(pv_json_member(o, "name"));
        if (strcmp(oname, json_object_get_string(pv_json_member(n, "name"))) != 0) {
            snprintf(why, cap, "%s: record %s was renamed", path, oname);
            return false;
        }
        json_object *of = pv_json_member(o, "fields"), *nf = pv_json_member(n, "fields");
        for (size_t i = 0; i < json_object_array_length(of); i++) {
            json_object *f = json_object_array_get_idx(of, i), *match = NULL;
            const char *fname = json_object_get_string(pv_json_member(f, "name"));
            for (size_t k = 0; k < json_object_array_length(nf) && match == NULL; k++)
                if (strcmp(json_object_get_string(
                               pv_json_member(json_object_array_get_idx(nf, k), "name")),
                           fname) == 0)
                    match = json_object_array_get_idx(nf, k);
            snprintf(sub, sizeof(sub), "%s.%s", path, fname);
            if (match == NULL) {
                snprintf(why, cap, "%s: field removed", sub);
                return false;
            }
            if (!compat(on, pv_json_member(f, "type"), nn, pv_json_member(match, "type"), sub, why,
                        cap))
                return false;
        }
        for (size_t k = 0; k < json_object_array_length(nf); k++) {
            json_object *f = json_object_array_get_idx(nf, k), *match = NULL;
            const char *fname = json_object_get_string(pv_json_member(f, "name"));
            for (size_t i = 0; i < json_object_array_length(of) && match == NULL; i++)
                if (strcmp(json_object_get_string(
                               pv_json_member(json_object_array_get_idx(of, i), "name")),
                           fname) == 0)
                    match = f;
            json_object *dflt = NULL;
            if (match == NULL && !json_object_object_get_ex(f, "default", &dflt)) {
                snprintf(why, cap, "%s.%s: new field without a default", path, fname);
                return false;
            }
        }
    } else if (strcmp(to, "enum") == 0) {
        json_object *os = pv_json_member(o, "symbols"), *ns = pv_json_member(n, "symbols");
        for (size_t i = 0; i < json_object_array_length(os); i++) {
            const char *sym = json_object_get_string(json_object_array_get_idx(os, i));
            bool found = false;
            for (size_t k = 0; k < json_object_array_length(ns); k++)
                found = found ||
                        strcmp(sym, json_object_get_string(json_object_array_get_idx(ns, k))) == 0;
            if (!found) {
                snprintf(why, cap, "%s: enum symbol %s removed", path, sym);
                return false;
            }
        }
    } else if (strcmp(to, "array") == 0) {
        snprintf(sub, sizeof(sub), "%s[]", path);
        return compat(on, pv_json_member(o, "items"), nn, pv_json_member(n, "items"), sub, why,
                      cap);
    } else if (strcmp(to, "map") == 0) {
        snprintf(sub, sizeof(sub), "%s{}", path);
        return compat(on, pv_json_member(o, "values"), nn, pv_json_member(n, "values"), sub, why,
                      cap);
    }
    return true;
}

/* Structural check plus avro-c's resolver; returns true when compatible. */
static bool check_pair(const char *old_text, const char *new_text, char *why, size_t cap)
{
    json_object *o = tu_json(old_text), *n = tu_json(new_text);
    names on = {0}, nn = {0};
    collect(&on, o);
    collect(&nn, n);
    bool ok = compat(&on, o, &nn, n, json_object_get_string(pv_json_member(o, "name")), why, cap);
    json_object_put(o);
    json_object_put(n);
    if (!ok)
        return false;
    /* both must at least be schemas avro-c accepts */
    avro_schema_t ws, rs;
    assert_int_equal(avro_schema_from_json_length(old_text, strlen(old_text), &ws), 0);
    assert_int_equal(avro_schema_from_json_length(new_text, strlen(new_text), &rs), 0);
    avro_schema_decref(ws);
    avro_schema_decref(rs);
    return true;
}

static void test_current_schemas_read_released_data(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char rel[128], why[512] = "";
        snprintf(rel, sizeof(rel), "../../" RELEASED "/%s", files[i]);
        char *old_text = tu_fixture(rel, NULL);
        snprintf(rel, sizeof(rel), "../../schemas/%s", files[i]);
        char *new_text = tu_fixture(rel, NULL);
        if (!check_pair(old_text, new_text, why, sizeof(why)))
            fail_msg("%s is not backward compatible with %s: %s", files[i], RELEASED, why);
        free(old_text);
        free(new_text);
    }
}

/* The checker itself catches each kind of break (and lets good changes by). */
static void test_checker_catches_breaks(void **state)
{
    (void)state;
    static const char base[] =
        "{\"type\": \"record\", \"name\": \"R\", \"fields\": ["
        "{\"name\": \"a\", \"type\": \"int\"},"
        "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"X\", "
        "\"Y\"]}},"
        "{\"name\": \"u\", \"type\": [\"null\", \"string\"], \"default\": null}]}";
    static const struct {
        const char *changed;
        bool ok;
        const char *why;
    } cases[] = {
        /* a field removed */
        {"{\"type\": \"record\", \"name\": \"R\", \"fields\": ["
         "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"X\", "
         "\"Y\"]}},"
         "{\"name\": \"u\", \"type\": [\"null\", \"string\"], \"default\": null}]}",
         false, "field removed"},
        /* a field retyped */
        {"{\"type\": \"record\", \"name\": \"R\", \"fields\": ["
         "{\"name\": \"a\", \"type\": \"string\"},"
         "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"X\", "
         "\"Y\"]}},"
         "{\"name\": \"u\", \"type\": [\"null\", \"string\"], \"default\": null}]}",
         false, "became"},
        /* a new field without a default */
        {"{\"type\": \"record\", \"name\": \"R\", \"fields\": ["
         "{\"name\": \"a\", \"type\": \"int\"},"
         "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"X\", "
         "\"Y\"]}},"
         "{\"name\": \"u\", \"type\": [\"null\", \"string\"], \"default\": null},"
         "{\"name\": \"b\", \"type\": \"long\"}]}",
         false, "without a default"},
        /* an enum symbol removed */
        {"{\"type\": \"record\", \"name\": \"R\", \"fields\": ["
         "{\"name\": \"a\", \"type\": \"int\"},"
         "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": "
         "[\"X\"]}},"
         "{\"name\": \"u\", \"type\": [\"null\", \"string\"], \"default\": null}]}",
         false, "symbol Y removed"},
        /* a union branch removed */
        {"{\"type\": \"record\", \"name\": \"R\", \"fields\": ["
         "{\"name\": \"a\", \"type\": \"int\"},"
         "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"X\", "
         "\"Y\"]}},"
         "{\"name\": \"u\", \"type\": \"null\", \"default\": null}]}",
         false, "union branch"},
        /* good: a new field with a default, int promoted to long, a symbol added */
        {"{\"type\": \"record\", \"name\": \"R\", \"fields\": ["
         "{\"name\": \"a\", \"type\": \"long\"},"
         "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"X\", "
         "\"Y\", \"Z\"]}},"
         "{\"name\": \"u\", \"type\": [\"null\", \"string\", \"long\"], \"default\": null},"
         "{\"name\": \"b\", \"type\": [\"null\", \"long\"], \"default\": null}]}",
         true, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[512] = "";
        bool ok = check_pair(base, cases[i].changed, why, sizeof(why));
        if (ok != cases[i].ok)
            fail_msg("case %zu: compatible=%d, want %d (%s)", i, ok, cases[i].ok, why);
        if (cases[i].why != NULL && strstr(why, cases[i].why) == NULL)
            fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, why, cases[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_schemas_read_released_data),
        cmocka_unit_test(test_checker_catches_breaks),
    };
    return cmocka_run_group_tests_name("schema_evolution", tests, NULL, NULL);
}
