/* testutil.c -- see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_codec.h"

char *tu_fixture(const char *rel, size_t *len)
{
    char path[1024];
    const char *dir = getenv("PAYW_FIXTURES");
    snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "tests/fixtures", rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    assert_int_equal(got, (size_t)n);
    buf[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

json_object *tu_json(const char *text)
{
    json_object *o = NULL;
    pv_error err = {0};
    if (pv_json_parse(text, strlen(text), "test JSON", &o, &err) != PV_OK)
        fail_msg("test JSON does not parse: %s", err.errstr);
    return o;
}

static bool tu_differ(char *why, size_t cap, const char *path, const char *what)
{
    snprintf(why, cap, "%s: %s", path[0] ? path : "(root)", what);
    return false;
}

static bool tu_eq(json_object *a, json_object *b, const char *path, char *why, size_t cap)
{
    char sub[512];
    char msg[400];
    json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
    if (ta != tb) {
        snprintf(msg, sizeof(msg), "type %s vs %s", json_type_to_name(ta), json_type_to_name(tb));
        return tu_differ(why, cap, path, msg);
    }
    switch (ta) {
    case json_type_null:
        return true;
    case json_type_boolean:
        if (json_object_get_boolean(a) != json_object_get_boolean(b))
            return tu_differ(why, cap, path, "boolean differs");
        return true;
    case json_type_int:
    case json_type_double:
    case json_type_string: {
        const char *sa = json_object_get_string(a), *sb = json_object_get_string(b);
        if (ta != json_type_string) {
            sa = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
            sb = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
        }
        if (strcmp(sa, sb) != 0) {
            snprintf(msg, sizeof(msg), "%.180s vs %.180s", sa, sb);
            return tu_differ(why, cap, path, msg);
        }
        return true;
    }
    case json_type_array: {
        size_t na = json_object_array_length(a), nb = json_object_array_length(b);
        if (na != nb) {
            snprintf(msg, sizeof(msg), "array length %zu vs %zu", na, nb);
            return tu_differ(why, cap, path, msg);
        }
        for (size_t i = 0; i < na; i++) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!tu_eq(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i), sub, why,
                       cap))
                return false;
        }
        return true;
    }
    case json_type_object: {
        if (json_object_object_length(a) != json_object_object_length(b)) {
            snprintf(msg, sizeof(msg), "%d keys vs %d keys: %.150s vs %.150s",
                     json_object_object_length(a), json_object_object_length(b),
                     json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                     json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
            return tu_differ(why, cap, path, msg);
        }
        json_object_object_foreach(a, k, va)
        {
            json_object *vb = NULL;
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            if (!json_object_object_get_ex(b, k, &vb))
                return tu_differ(why, cap, sub, "missing on the right");
            if (!tu_eq(va, vb, sub, why, cap))
                return false;
        }
        return true;
    }
    }
    return tu_differ(why, cap, path, "unhandled type");
}

bool tu_json_equal(json_object *a, json_object *b, char *why, size_t cap)
{
    return tu_eq(a, b, "", why, cap);
}

void tu_command(pv_command *cmd, const pv_provider *p, const char *request_json)
{
    pv_command_init(cmd);
    snprintf(cmd->command_id, sizeof(cmd->command_id), "cmd-test-1");
    snprintf(cmd->operation, sizeof(cmd->operation), "%s", p->operation);
    cmd->provider = p;
    cmd->created_at_ms = 1700000000000;
    cmd->request = tu_json(request_json);
}

void tu_parse(const pv_provider *p, const pv_command *cmd, int status, const char *body,
              pv_result *res)
{
    pv_result_init(res);
    pv_provider_parse_response(p, cmd, status, body, body != NULL ? strlen(body) : 0, res);
}

const char *tu_money(const pv_money *m)
{
    static char buf[64];
    if (!pv_money_isset(m))
        return "(unset)";
    if (pv_money_format(m, buf, sizeof(buf)) < 0)
        return "(unformattable)";
    return buf;
}

int tu_codec_setup(void **state)
{
    pv_error err = {0};
    *state = sc_codec_new(&err);
    if (*state == NULL)
        fail_msg("codec: %s", err.errstr);
    return 0;
}

int tu_codec_teardown(void **state)
{
    sc_codec_free(*state);
    return 0;
}
