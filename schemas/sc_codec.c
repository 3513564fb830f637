/* sc_codec.c -- the codec object: our schemas, their ids, the writers
 * of other versions, and encoding and decoding through a JSON tree (see
 * sc_codec.h). */
#include "sc_codec_int.h"

#include <avro.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_json.h"

void sc_codec_set_json_only(sc_codec *c, int on)
{
    c->json_only = on;
}

sc_codec *sc_codec_new(pv_error *err)
{
    static const int32_t local_ids[] = {SC_LOCAL_ID_COMMAND, SC_LOCAL_ID_RESULT,
                                        SC_LOCAL_ID_BALANCE};
    sc_codec *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        pv_error_set(err, PV_ENOMEM, "", "codec: out of memory");
        return NULL;
    }
    for (int k = 0; k < SC_KIND__COUNT; k++) {
        size_t len;
        const char *text = sc_schema_text((sc_kind)k, &len);
        if (avro_schema_from_json_length(text, len, &c->schema[k]) != 0) {
            pv_error_set(err, PV_EPARSE, "schema", "schema %s: %s", sc_kind_name((sc_kind)k),
                         avro_strerror());
            sc_codec_free(c);
            return NULL;
        }
        c->iface[k] = avro_generic_class_from_schema(c->schema[k]);
        c->id[k] = local_ids[k];
    }
    size_t len;
    const char *text = sc_schema_text(SC_COMMAND, &len);
    if (sc_marks_collect(&c->marks, text, len, err) != PV_OK) {
        sc_codec_free(c);
        return NULL;
    }
    return c;
}

void sc_codec_free(sc_codec *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nwriters; i++) {
        avro_value_iface_decref(c->writers[i].iface);
        avro_schema_decref(c->writers[i].schema);
    }
    for (int k = 0; k < SC_KIND__COUNT; k++) {
        if (c->iface[k] != NULL)
            avro_value_iface_decref(c->iface[k]);
        if (c->schema[k] != NULL)
            avro_schema_decref(c->schema[k]);
    }
    free(c);
}

int32_t sc_codec_id(const sc_codec *c, sc_kind kind)
{
    return c->id[kind];
}

void sc_codec_set_id(sc_codec *c, sc_kind kind, int32_t id)
{
    c->id[kind] = id;
}

int sc_codec_add_writer(sc_codec *c, sc_kind kind, int32_t id, const char *schema_json, size_t len,
                        pv_error *err)
{
    sc_writer w = {.kind = kind, .id = id};
    if (c->nwriters == SC_WRITERS_MAX)
        return pv_error_set(err, PV_ETOOBIG, "schema_id",
                            "schema id %" PRId32 ": too many writer schemas (%d)", id,
                            SC_WRITERS_MAX);
    if (avro_schema_from_json_length(schema_json, len, &w.schema) != 0)
        return pv_error_set(err, PV_EPARSE, "schema_id", "schema id %" PRId32 ": %s", id,
                            avro_strerror());
    const char *want = avro_schema_name(c->schema[kind]);
    if (!is_avro_record(w.schema) || strcmp(avro_schema_name(w.schema), want) != 0) {
        avro_schema_decref(w.schema);
        return pv_error_set(err, PV_EUNSUPPORTED, "schema_id",
                            "schema id %" PRId32 " is not a version of %s", id, want);
    }
    w.iface = avro_generic_class_from_schema(w.schema);
    c->writers[c->nwriters++] = w;
    return PV_OK;
}

int sc_codec_encode_json(sc_codec *c, sc_kind kind, json_object *j, const char *branch, char **out,
                         size_t *out_len, pv_error *err)
{
    avro_value_t v;
    if (avro_generic_value_new(c->iface[kind], &v) != 0)
        return pv_error_set(err, PV_ENOMEM, "", "Avro encode: %s", avro_strerror());
    int rc = sc_avro_from_json(&v, j, "", &c->marks, branch, err);
    if (rc == PV_OK)
        rc = sc_frame_write(&v, c->id[kind], out, out_len, err);
    avro_value_decref(&v);
    return rc;
}

int sc_codec_decode_avro(sc_codec *c, sc_kind kind, const unsigned char *buf, size_t len,
                         json_object **out, char *branch, size_t branch_cap, pv_error *err)
{
    int32_t id = sc_frame_id(buf, len);
    avro_schema_t wschema = NULL;
    avro_value_iface_t *wiface = NULL;

    if (id == c->id[kind]) {
        wschema = c->schema[kind];
        wiface = c->iface[kind];
    }
    for (size_t i = 0; wschema == NULL && i < c->nwriters; i++) {
        if (c->writers[i].kind == kind && c->writers[i].id == id) {
            wschema = c->writers[i].schema;
            wiface = c->writers[i].iface;
        }
    }
    if (wschema == NULL)
        return pv_error_set(err, PV_EUNSUPPORTED, "schema_id",
                            "schema_id: %" PRId32 " is not a %s schema this worker knows "
                            "(ours is %" PRId32 ")",
                            id, sc_kind_name(kind), c->id[kind]);
    int rc = sc_avro_check(wschema, buf + 5, len - 5, err);
    if (rc != PV_OK)
        return rc;

    avro_value_t wv;
    if (avro_generic_value_new(wiface, &wv) != 0)
        return pv_error_set(err, PV_ENOMEM, "", "Avro decode: %s", avro_strerror());
    avro_reader_t r = avro_reader_memory((const char *)buf + 5, (int64_t)(len - 5));
    if (avro_value_read(r, &wv) != 0) {
        rc = pv_error_set(err, PV_EPARSE, "", "Avro decode: %s", avro_strerror());
        goto out;
    }
    if (branch != NULL) {
        avro_value_t req, cur;
        branch[0] = '\0';
        if (avro_value_get_by_name(&wv, "request", &req, NULL) == 0 &&
            avro_value_get_current_branch(&req, &cur) == 0)
            snprintf(branch, branch_cap, "%s", avro_schema_name(avro_value_get_schema(&cur)));
    }
    *out = sc_avro_to_json(&wv, err);
    rc = *out != NULL ? PV_OK : (err != NULL && err->code != PV_OK ? err->code : PV_EPARSE);
out:
    avro_reader_free(r);
    avro_value_decref(&wv);
    return rc;
}

/*---- JSON helpers of the events ----*/

json_object *sc_codec_json_str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_object_new_string(s) : NULL;
}

json_object *sc_codec_json_money(const pv_money *m)
{
    if (!pv_money_isset(m))
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "minor", json_object_new_int64(m->minor));
    json_object_object_add(o, "currency", json_object_new_string(m->currency));
    json_object_object_add(
        o, "exact", m->rounded && m->text[0] != '\0' ? json_object_new_string(m->text) : NULL);
    return o;
}
