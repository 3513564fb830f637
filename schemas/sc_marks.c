/* sc_marks.c -- the marks a schema carries in its own JSON: decimal-text
 * fields (x-decimal) and the request record of each provider (x-provider).
 * See sc_marks.h. */
#include "sc_marks.h"

#include <stdio.h>
#include <string.h>

#include "pv_json.h"

/*---- Marks from the schema JSON ----*/

static void sc_marks_walk(sc_marks *m, json_object *node)
{
    if (json_object_is_type(node, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(node); i++)
            sc_marks_walk(m, json_object_array_get_idx(node, i));
        return;
    }
    if (!json_object_is_type(node, json_type_object))
        return;
    json_object *type = NULL, *name = NULL, *fields = NULL, *prov = NULL;
    json_object_object_get_ex(node, "type", &type);
    json_object_object_get_ex(node, "name", &name);
    if (type != NULL && json_object_is_type(type, json_type_string) &&
        strcmp(json_object_get_string(type), "record") == 0 && name != NULL &&
        json_object_object_get_ex(node, "fields", &fields)) {
        const char *rname = json_object_get_string(name);
        if (json_object_object_get_ex(node, "x-provider", &prov) &&
            m->nproviders < sizeof(m->providers) / sizeof(m->providers[0])) {
            snprintf(m->providers[m->nproviders][0], sizeof(m->providers[0][0]), "%s",
                     json_object_get_string(prov));
            snprintf(m->providers[m->nproviders][1], sizeof(m->providers[0][1]), "%s", rname);
            m->nproviders++;
        }
        for (size_t i = 0; i < json_object_array_length(fields); i++) {
            json_object *f = json_object_array_get_idx(fields, i), *fname = NULL, *dec = NULL;
            if (json_object_object_get_ex(f, "x-decimal", &dec) && json_object_get_boolean(dec) &&
                json_object_object_get_ex(f, "name", &fname) &&
                m->ndecimals < sizeof(m->decimals) / sizeof(m->decimals[0])) {
                snprintf(m->decimals[m->ndecimals++], sizeof(m->decimals[0]), "%s.%s", rname,
                         json_object_get_string(fname));
            }
        }
    }
    json_object_object_foreach(node, k, v)
    {
        (void)k;
        sc_marks_walk(m, v);
    }
}

int sc_marks_collect(sc_marks *m, const char *schema_json, size_t len, pv_error *err)
{
    json_object *root;
    memset(m, 0, sizeof(*m));
    int rc = pv_json_parse(schema_json, len, "schema", &root, err);
    if (rc != PV_OK)
        return rc;
    sc_marks_walk(m, root);
    json_object_put(root);
    return PV_OK;
}

const char *sc_marks_branch(const sc_marks *m, const char *provider)
{
    for (size_t i = 0; provider != NULL && i < m->nproviders; i++)
        if (strcmp(m->providers[i][0], provider) == 0)
            return m->providers[i][1];
    return NULL;
}

/* Is record.field marked x-decimal? (compared in place: this runs for every
 * field of every event, so no key is formatted) */
int sc_marks_decimal(const sc_marks *m, const char *record, const char *field)
{
    if (record == NULL)
        record = "";
    size_t rlen = strlen(record);
    for (size_t i = 0; m != NULL && i < m->ndecimals; i++) {
        const char *d = m->decimals[i];
        if (strncmp(d, record, rlen) == 0 && d[rlen] == '.' && strcmp(d + rlen + 1, field) == 0)
            return 1;
    }
    return 0;
}
