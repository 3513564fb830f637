/* sc_codec.c -- see sc_codec.h. */
#include "sc_codec.h"

#include <avro.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_json.h"
#include "pv_time.h"
#include "pv_utf8.h"
#include "sc_avro.h"

/* generated from the schemas/ .avsc files at build time (schemas/embed.c) */
extern const char sc_avsc_payment_command[], sc_avsc_payment_result[], sc_avsc_balance_update[];
extern const size_t sc_avsc_payment_command_len, sc_avsc_payment_result_len,
    sc_avsc_balance_update_len;

#define SC_WRITERS_MAX 16

/* Another version of one of our schemas. Its messages are read with it
 * directly: the JSON tree the codec goes through treats a field the writer
 * did not have as absent (its default), and fields we do not know are
 * ignored. (avro-c 1.11's resolving reader refuses a reader field with a
 * default that the writer lacks, the commonest evolution, so it is not used;
 * tests/unit/test_schema_evolution.c keeps the versions compatible.) */
typedef struct sc_writer {
    sc_kind kind;
    int32_t id;
    avro_schema_t schema;
    avro_value_iface_t *iface; /* generic values of the writer schema */
} sc_writer;

struct sc_codec {
    avro_schema_t schema[SC_KIND__COUNT];
    avro_value_iface_t *iface[SC_KIND__COUNT];
    int32_t id[SC_KIND__COUNT];
    sc_marks marks; /* of the command schema */
    sc_writer writers[SC_WRITERS_MAX];
    size_t nwriters;
    int json_only; /* results and balances the checked JSON way (tests) */
};

void sc_codec_set_json_only(sc_codec *c, int on)
{
    c->json_only = on;
}

/*---- Schemas and ids ----*/

const char *sc_schema_text(sc_kind kind, size_t *len)
{
    switch (kind) {
    case SC_COMMAND:
        *len = sc_avsc_payment_command_len;
        return sc_avsc_payment_command;
    case SC_RESULT:
        *len = sc_avsc_payment_result_len;
        return sc_avsc_payment_result;
    case SC_BALANCE:
        *len = sc_avsc_balance_update_len;
        return sc_avsc_balance_update;
    default:
        *len = 0;
        return NULL;
    }
}

static const char *const sc_kind_names[][2] = {
    {"PaymentCommand", "command"},
    {"PaymentResult", "result"},
    {"BalanceUpdate", "balance"},
};

const char *sc_kind_name(sc_kind kind)
{
    return (unsigned)kind < SC_KIND__COUNT ? sc_kind_names[kind][0] : "?";
}

int sc_kind_from_name(const char *name)
{
    for (int k = 0; k < SC_KIND__COUNT; k++)
        if (strcmp(name, sc_kind_names[k][0]) == 0 || strcmp(name, sc_kind_names[k][1]) == 0)
            return k;
    return -1;
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

/*---- Framing ----*/

int32_t sc_frame_id(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (len < 5 || p[0] != 0)
        return -1;
    return (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 |
                     (uint32_t)p[4]);
}

/* Writes value framed with id into a malloc'd buffer. */
static int sc_frame_write(avro_value_t *value, int32_t id, char **out, size_t *out_len,
                          pv_error *err)
{
    size_t size;
    if (avro_value_sizeof(value, &size) != 0)
        return pv_error_set(err, PV_EUNSUPPORTED, "", "Avro encode: %s", avro_strerror());
    char *buf = malloc(size + 5);
    if (buf == NULL)
        return pv_error_set(err, PV_ENOMEM, "", "Avro encode: out of memory");
    buf[0] = 0;
    buf[1] = (char)((uint32_t)id >> 24);
    buf[2] = (char)((uint32_t)id >> 16);
    buf[3] = (char)((uint32_t)id >> 8);
    buf[4] = (char)id;
    avro_writer_t w = avro_writer_memory(buf + 5, (int64_t)size);
    int rc = avro_value_write(w, value);
    avro_writer_free(w);
    if (rc != 0) {
        free(buf);
        return pv_error_set(err, PV_EUNSUPPORTED, "", "Avro encode: %s", avro_strerror());
    }
    *out = buf;
    *out_len = size + 5;
    return PV_OK;
}

/* Encodes j with our schema of kind (branch picks the request union). */
static int sc_encode_json(sc_codec *c, sc_kind kind, json_object *j, const char *branch, char **out,
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

/* Reads a framed Avro message of kind into a JSON tree; for a command also
 * returns the request branch's record name. */
static int sc_decode_avro(sc_codec *c, sc_kind kind, const unsigned char *buf, size_t len,
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

/*---- Commands ----*/

static int sc_field_string(json_object *o, const char *key, bool required, char *buf, size_t cap,
                           pv_error *err)
{
    int rc = pv_json_string(o, key, key, required, buf, cap, NULL, err);
    if (rc == PV_OK && required && buf[0] == '\0')
        return pv_error_set(err, PV_EFORMAT, key, "%s: must not be empty", key);
    return rc;
}

/* A timestamp: integer ms since the epoch, or ISO 8601 text with a zone. */
static int sc_field_time(json_object *o, const char *key, bool required, int64_t *ms, pv_error *err)
{
    char d[128];
    json_object *v = pv_json_member(o, key);
    *ms = 0;
    if (v == NULL)
        return required ? pv_error_set(err, PV_EMISSING, key, "%s: required field is missing", key)
                        : PV_OK;
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        size_t n = strlen(s);
        bool zoned = n > 0 && (s[n - 1] == 'Z' || (n > 6 && (s[n - 6] == '+' || s[n - 6] == '-')));
        if (!zoned) {
            pv_json_describe(v, d, sizeof(d));
            return pv_error_set(err, PV_EFORMAT, key,
                                "%s: %s needs a time zone (Z or +HH:MM), or give epoch ms", key, d);
        }
        return pv_time_parse_iso8601(s, key, ms, err);
    }
    int rc = pv_json_value_int64(v, key, ms, err);
    if (rc == PV_OK && *ms < 0) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ERANGE, key, "%s: %s is before 1970", key, d);
    }
    return rc;
}

/* A JSON command's keys against the schema: the envelope's and those of the
 * request record of its provider (the request is not checked when the
 * provider is not one we know: that is refused next). Exact spelling:
 * pv_json_member's case-insensitive fallback is for provider answers, and
 * with every key known and pv_json_check_keys refusing case variants, every
 * look-up of a command's field is exact. */
static int sc_command_keys(sc_codec *c, json_object *j, pv_error *err)
{
    json_object *pj = NULL;
    const pv_provider *p = NULL;
    if (json_object_object_get_ex(j, "provider", &pj) && json_object_is_type(pj, json_type_string))
        p = pv_provider_find(json_object_get_string(pj));
    return sc_avro_check_keys(c->schema[SC_COMMAND], j, "",
                              p != NULL ? sc_marks_branch(&c->marks, p->name) : NULL, err);
}

/* The envelope of a command from its JSON tree (both wire forms end here);
 * `strict` for JSON, whose keys are the sender's (Avro's are the schema's). */
static int sc_command_from_json(sc_codec *c, json_object *j, const char *branch, bool strict,
                                pv_command *cmd, pv_error *err)
{
    char provider[32], d[128];
    int rc;

    pv_command_init(cmd);
    if (!json_object_is_type(j, json_type_object)) {
        pv_json_describe(j, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, "", "command: expected an object, got %s", d);
    }
    /* first: a misspelt command_id would otherwise be "missing" */
    if (strict && (rc = sc_command_keys(c, j, err)) != PV_OK)
        return rc;
    rc = sc_field_string(j, "command_id", true, cmd->command_id, sizeof(cmd->command_id), err);
    if (rc == PV_OK)
        rc = sc_field_string(j, "provider", true, provider, sizeof(provider), err);
    if (rc != PV_OK)
        return rc;
    cmd->provider = pv_provider_find(provider);
    if (cmd->provider == NULL) {
        pv_utf8_quote(d, sizeof(d), provider, strlen(provider));
        return pv_error_set(err, PV_ERANGE, "provider",
                            "provider: \"%s\" is not one of PAYOFIN, SIPAY, PAYWALL, ISBANK, "
                            "PAYONE",
                            d);
    }
    bool has_op = false;
    rc = pv_json_string(j, "operation", "operation", false, cmd->operation, sizeof(cmd->operation),
                        &has_op, err);
    if (rc != PV_OK)
        return rc;
    if (!has_op || cmd->operation[0] == '\0') {
        snprintf(cmd->operation, sizeof(cmd->operation), "%s", cmd->provider->operation);
    } else if (strcmp(cmd->operation, cmd->provider->operation) != 0) {
        pv_utf8_quote(d, sizeof(d), cmd->operation, strlen(cmd->operation));
        return pv_error_set(err, PV_EUNSUPPORTED, "operation",
                            "operation: \"%s\" is not an operation of %s (it has \"%s\")", d,
                            cmd->provider->name, cmd->provider->operation);
    }
    rc = sc_field_time(j, "created_at", true, &cmd->created_at_ms, err);
    if (rc == PV_OK)
        rc = sc_field_time(j, "expires_at", false, &cmd->expires_at_ms, err);
    if (rc == PV_OK)
        rc = sc_field_string(j, "merchant", false, cmd->merchant, sizeof(cmd->merchant), err);
    if (rc != PV_OK)
        return rc;
    if (branch != NULL) {
        const char *want = sc_marks_branch(&c->marks, cmd->provider->name);
        if (want == NULL || strcmp(branch, want) != 0)
            return pv_error_set(err, PV_ETYPE, "request",
                                "request: a %s record does not go with provider %s (it takes %s)",
                                branch, cmd->provider->name, want != NULL ? want : "none");
    }
    json_object *req = pv_json_member(j, "request");
    if (req == NULL)
        return pv_error_set(err, PV_EMISSING, "request", "request: required field is missing");
    if (!json_object_is_type(req, json_type_object)) {
        pv_json_describe(req, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, "request", "request: expected an object, got %s", d);
    }
    cmd->request = json_object_get(req);
    return PV_OK;
}

/* After a refusal: the command's command_id, provider and operation where
 * they are there as the schema spells them and valid, so that the REJECTED
 * result and the dead letter say whose command it was. The request is never
 * kept: nothing is done with a refused command. */
static void sc_command_identity(json_object *j, pv_command *cmd)
{
    char provider[32];
    json_object *v;
    pv_command_clear(cmd);
    if (!json_object_is_type(j, json_type_object))
        return;
    if (json_object_object_get_ex(j, "command_id", &v) &&
        sc_field_string(j, "command_id", true, cmd->command_id, sizeof(cmd->command_id), NULL) !=
            PV_OK)
        cmd->command_id[0] = '\0';
    if (json_object_object_get_ex(j, "provider", &v) &&
        sc_field_string(j, "provider", true, provider, sizeof(provider), NULL) == PV_OK)
        cmd->provider = pv_provider_find(provider);
    if (cmd->provider == NULL)
        return;
    /* as sc_command_from_json: absent or empty is the provider's one */
    bool has_op = false;
    if (json_object_object_get_ex(j, "operation", &v) &&
        pv_json_string(j, "operation", "operation", false, cmd->operation, sizeof(cmd->operation),
                       &has_op, NULL) != PV_OK)
        cmd->operation[0] = '\0';
    else if (!has_op || cmd->operation[0] == '\0' ||
             strcmp(cmd->operation, cmd->provider->operation) == 0)
        snprintf(cmd->operation, sizeof(cmd->operation), "%s", cmd->provider->operation);
    else
        cmd->operation[0] = '\0';
}

int sc_command_decode(sc_codec *c, const void *buf, size_t len, pv_command *cmd, pv_error *err)
{
    const unsigned char *p = buf;
    json_object *j = NULL;
    char branch[64];
    int rc;

    pv_command_init(cmd);
    if (len > SC_MESSAGE_MAX)
        return pv_error_set(err, PV_ETOOBIG, "", "command: %zu bytes exceeds the %d byte limit",
                            len, SC_MESSAGE_MAX);
    if (len > 0 && p[0] == '{') {
        /* a key written twice would be read as whichever json-c kept */
        rc = pv_json_check_keys(buf, len, "JSON command", err);
        if (rc == PV_OK)
            rc = pv_json_parse(buf, len, "JSON command", &j, err);
        if (rc == PV_OK)
            rc = sc_command_from_json(c, j, NULL, true, cmd, err);
    } else if (len >= 5 && p[0] == 0) {
        rc = sc_decode_avro(c, SC_COMMAND, p, len, &j, branch, sizeof(branch), err);
        if (rc == PV_OK)
            rc = sc_command_from_json(c, j, branch, false, cmd, err);
    } else {
        char q[96];
        pv_utf8_quote(q, sizeof(q), buf, len < 8 ? len : 8);
        rc = pv_error_set(err, PV_EFORMAT, "",
                          "command: neither Confluent Avro (magic byte 0 + 4-byte schema id) nor "
                          "JSON ('{'): starts with \"%s\" (%zu bytes)",
                          q, len);
    }
    if (rc != PV_OK)
        sc_command_identity(j, cmd); /* NULL j (unreadable, a key twice): none */
    json_object_put(j);
    return rc;
}

json_object *sc_command_to_json(const pv_command *cmd)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "command_id", json_object_new_string(cmd->command_id));
    json_object_object_add(o, "provider", json_object_new_string(cmd->provider->name));
    json_object_object_add(o, "operation", json_object_new_string(cmd->operation));
    json_object_object_add(o, "created_at", json_object_new_int64(cmd->created_at_ms));
    json_object_object_add(o, "expires_at",
                           cmd->expires_at_ms != 0 ? json_object_new_int64(cmd->expires_at_ms)
                                                   : NULL);
    json_object_object_add(o, "merchant",
                           cmd->merchant[0] != '\0' ? json_object_new_string(cmd->merchant) : NULL);
    json_object_object_add(o, "request", json_object_get(cmd->request));
    return o;
}

int sc_command_encode(sc_codec *c, const pv_command *cmd, char **out, size_t *out_len,
                      pv_error *err)
{
    json_object *j = sc_command_to_json(cmd);
    int rc = sc_encode_json(c, SC_COMMAND, j, sc_marks_branch(&c->marks, cmd->provider->name), out,
                            out_len, err);
    json_object_put(j);
    return rc;
}

/*---- Results and balances ----*/

static json_object *sc_json_str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_object_new_string(s) : NULL;
}

static json_object *sc_json_money(const pv_money *m)
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

static json_object *sc_result_json(const pv_result_event *ev)
{
    const pv_result *r = ev->result;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "event_id", json_object_new_string(ev->event_id));
    json_object_object_add(o, "command_id", json_object_new_string(ev->command_id));
    json_object_object_add(
        o, "provider", ev->provider != NULL ? json_object_new_string(ev->provider->name) : NULL);
    json_object_object_add(o, "operation", json_object_new_string(ev->operation));
    json_object_object_add(o, "query_id", json_object_new_string(ev->query_id));
    json_object_object_add(o, "status", json_object_new_string(pv_status_name(ev->status)));
    json_object *refs = json_object_new_object();
    if (r != NULL) {
        json_object_object_add(o, "provider_code", sc_json_str_or_null(r->provider_code));
        json_object_object_add(o, "provider_message", sc_json_str_or_null(r->provider_message));
        for (size_t i = 0; i < r->nrefs; i++)
            json_object_object_add(refs, r->refs[i].name, json_object_new_string(r->refs[i].value));
        json_object_object_add(o, "paid", sc_json_money(&r->paid));
        json_object_object_add(o, "fee", sc_json_money(&r->fee));
        json_object_object_add(o, "charged", sc_json_money(&r->charged));
        json_object_object_add(o, "paid_at",
                               r->paid_at_ms != 0 ? json_object_new_int64(r->paid_at_ms) : NULL);
        if (r->detail != NULL)
            json_object_object_add(o, "detail_json",
                                   json_object_new_string(pv_json_dump(r->detail, NULL)));
    }
    json_object_object_add(o, "references", refs);
    json_object_object_add(o, "attempts", json_object_new_int64(ev->attempts));
    json_object_object_add(o, "fence", ev->fence != 0 ? json_object_new_int64(ev->fence) : NULL);
    json_object_object_add(o, "worker", json_object_new_string(ev->worker));
    json_object_object_add(o, "processed_at", json_object_new_int64(ev->processed_at_ms));
    json_object_object_add(o, "reason", sc_json_str_or_null(ev->reason));
    if (ev->field_errors != NULL)
        json_object_object_add(o, "field_errors", json_object_get(ev->field_errors));
    return o;
}

/*---- Results and balances written straight to Avro ----
 *
 * The hot path: every command ends in a result, many in a balance. Building a
 * json-c tree and converting it field by field cost about a fifth of a
 * worker's instructions (callgrind, issue 6), so these two events are written
 * directly in Avro's binary encoding, field by field in schema order. Anything
 * unusual (text that is not UTF-8, a string past SC_STRING_MAX, a required
 * amount missing, a repeated reference name, field errors) goes the checked
 * JSON way below instead, which gives the same bytes or the named error;
 * tests/unit/test_codec.c compares both ways byte for byte. */

typedef struct sc_out {
    char *buf;
    size_t len, cap;
    int odd; /* take the JSON way instead */
} sc_out;

static void sc_out_bytes(sc_out *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n + 256;
        char *b = realloc(o->buf, cap);
        if (b == NULL) {
            o->odd = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void sc_out_long(sc_out *o, int64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    uint64_t z = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0); /* zig-zag */
    while (z > 0x7f) {
        b[n++] = (unsigned char)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    b[n++] = (unsigned char)z;
    sc_out_bytes(o, b, n);
}

static void sc_out_str(sc_out *o, const char *s)
{
    size_t n = strlen(s);
    if (n > SC_STRING_MAX || !pv_utf8_valid(s, n))
        o->odd = 1;
    sc_out_long(o, (int64_t)n);
    sc_out_bytes(o, s, n);
}

/* ["null", "string"]: null for a missing or empty string (as sc_json_str_or_null) */
static void sc_out_opt_str(sc_out *o, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        sc_out_long(o, 0);
        return;
    }
    sc_out_long(o, 1);
    sc_out_str(o, s);
}

static void sc_out_money(sc_out *o, const pv_money *m)
{
    sc_out_long(o, m->minor);
    sc_out_str(o, m->currency);
    sc_out_opt_str(o, m->rounded ? m->text : NULL); /* exact: only when rounded */
}

static void sc_out_opt_money(sc_out *o, const pv_money *m)
{
    if (!pv_money_isset(m)) {
        sc_out_long(o, 0);
        return;
    }
    sc_out_long(o, 1);
    sc_out_money(o, m);
}

static void sc_out_opt_long(sc_out *o, int64_t v)
{
    sc_out_long(o, v != 0 ? 1 : 0);
    if (v != 0)
        sc_out_long(o, v);
}

/* The symbol's index in the schema's enum (their order is part of the
 * contract: symbols are only ever appended). */
static void sc_out_enum(sc_out *o, const char *const *symbols, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++)
        if (strcmp(symbols[i], name) == 0) {
            sc_out_long(o, (int64_t)i);
            return;
        }
    o->odd = 1;
}

static const char *const sc_providers[] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};
static const char *const sc_statuses[] = {"SUCCEEDED", "DECLINED", "FAILED",   "REJECTED",
                                          "EXPIRED",   "UNKNOWN",  "DUPLICATE"};
#define SC_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void sc_out_begin(sc_out *o, int32_t id)
{
    memset(o, 0, sizeof(*o));
    unsigned char h[5] = {0, (unsigned char)((uint32_t)id >> 24),
                          (unsigned char)((uint32_t)id >> 16), (unsigned char)((uint32_t)id >> 8),
                          (unsigned char)id};
    sc_out_bytes(o, h, sizeof(h));
}

/* 1: written to *out; 0: take the JSON way */
static int sc_out_end(sc_out *o, char **out, size_t *out_len)
{
    if (o->odd) {
        free(o->buf);
        return 0;
    }
    *out = o->buf;
    *out_len = o->len;
    return 1;
}

static int sc_result_direct(sc_codec *c, const pv_result_event *ev, char **out, size_t *out_len)
{
    const pv_result *r = ev->result;
    sc_out o;
    if (ev->field_errors != NULL)
        return 0;
    for (size_t i = 0; r != NULL && i < r->nrefs; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(r->refs[i].name, r->refs[k].name) == 0)
                return 0; /* a map keeps the last: the JSON way */
    sc_out_begin(&o, c->id[SC_RESULT]);
    sc_out_str(&o, ev->event_id);
    sc_out_str(&o, ev->command_id);
    if (ev->provider == NULL) {
        sc_out_long(&o, 0);
    } else {
        sc_out_long(&o, 1);
        sc_out_enum(&o, sc_providers, SC_COUNT(sc_providers), ev->provider->name);
    }
    sc_out_str(&o, ev->operation);
    sc_out_str(&o, ev->query_id);
    sc_out_enum(&o, sc_statuses, SC_COUNT(sc_statuses), pv_status_name(ev->status));
    sc_out_opt_str(&o, r != NULL ? r->provider_code : NULL);
    sc_out_opt_str(&o, r != NULL ? r->provider_message : NULL);
    if (r != NULL && r->nrefs > 0) { /* references: one block, then the end */
        sc_out_long(&o, (int64_t)r->nrefs);
        for (size_t i = 0; i < r->nrefs; i++) {
            sc_out_str(&o, r->refs[i].name);
            sc_out_str(&o, r->refs[i].value);
        }
    }
    sc_out_long(&o, 0);
    static const pv_money none;
    sc_out_opt_money(&o, r != NULL ? &r->paid : &none);
    sc_out_opt_money(&o, r != NULL ? &r->fee : &none);
    sc_out_opt_money(&o, r != NULL ? &r->charged : &none);
    sc_out_opt_long(&o, r != NULL ? r->paid_at_ms : 0);
    sc_out_long(&o, ev->attempts);
    sc_out_opt_long(&o, ev->fence);
    sc_out_str(&o, ev->worker);
    sc_out_long(&o, ev->processed_at_ms);
    sc_out_opt_str(&o, ev->reason);
    sc_out_long(&o, 0); /* field_errors: none (see above) */
    if (r != NULL && r->detail != NULL) {
        sc_out_long(&o, 1);
        sc_out_str(&o, pv_json_dump(r->detail, NULL));
    } else {
        sc_out_long(&o, 0);
    }
    return sc_out_end(&o, out, out_len);
}

static int sc_balance_direct(sc_codec *c, const pv_balance_event *ev, char **out, size_t *out_len)
{
    const pv_balance *b = ev->balance;
    sc_out o;
    if (!pv_money_isset(&b->total))
        return 0; /* required: the JSON way names it */
    for (size_t i = 0; i < b->nlimits; i++) {
        if (!pv_money_isset(&b->limits[i].amount))
            return 0;
        for (size_t k = 0; k < i; k++)
            if (strcmp(b->limits[i].name, b->limits[k].name) == 0)
                return 0;
    }
    sc_out_begin(&o, c->id[SC_BALANCE]);
    sc_out_str(&o, ev->event_id);
    sc_out_enum(&o, sc_providers, SC_COUNT(sc_providers), ev->provider->name);
    sc_out_str(&o, b->account);
    sc_out_str(&o, b->currency);
    sc_out_money(&o, &b->total);
    sc_out_opt_money(&o, &b->available);
    sc_out_opt_money(&o, &b->unavailable);
    if (b->nbuckets > 0) {
        sc_out_long(&o, (int64_t)b->nbuckets);
        for (size_t i = 0; i < b->nbuckets; i++) {
            sc_out_str(&o, b->buckets[i].name);
            sc_out_opt_money(&o, &b->buckets[i].available);
            sc_out_opt_money(&o, &b->buckets[i].unavailable);
        }
    }
    sc_out_long(&o, 0);
    if (b->nlimits > 0) {
        sc_out_long(&o, (int64_t)b->nlimits);
        for (size_t i = 0; i < b->nlimits; i++) {
            sc_out_str(&o, b->limits[i].name);
            sc_out_money(&o, &b->limits[i].amount);
        }
    }
    sc_out_long(&o, 0);
    sc_out_long(&o, ev->observed_at_ms);
    sc_out_str(&o, ev->source_command_id);
    sc_out_opt_long(&o, ev->fence);
    return sc_out_end(&o, out, out_len);
}

int sc_result_encode(sc_codec *c, const pv_result_event *ev, char **out, size_t *out_len,
                     pv_error *err)
{
    if (!c->json_only && sc_result_direct(c, ev, out, out_len))
        return PV_OK;
    json_object *j = sc_result_json(ev);
    int rc = sc_encode_json(c, SC_RESULT, j, NULL, out, out_len, err);
    json_object_put(j);
    return rc;
}

int sc_balance_encode(sc_codec *c, const pv_balance_event *ev, char **out, size_t *out_len,
                      pv_error *err)
{
    if (!c->json_only && sc_balance_direct(c, ev, out, out_len))
        return PV_OK;
    const pv_balance *b = ev->balance;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "event_id", json_object_new_string(ev->event_id));
    json_object_object_add(o, "provider", json_object_new_string(ev->provider->name));
    json_object_object_add(o, "account", json_object_new_string(b->account));
    json_object_object_add(o, "currency", json_object_new_string(b->currency));
    json_object_object_add(o, "total", sc_json_money(&b->total));
    json_object_object_add(o, "available", sc_json_money(&b->available));
    json_object_object_add(o, "unavailable", sc_json_money(&b->unavailable));
    json_object *buckets = json_object_new_array();
    for (size_t i = 0; i < b->nbuckets; i++) {
        json_object *bk = json_object_new_object();
        json_object_object_add(bk, "name", json_object_new_string(b->buckets[i].name));
        json_object_object_add(bk, "available", sc_json_money(&b->buckets[i].available));
        json_object_object_add(bk, "unavailable", sc_json_money(&b->buckets[i].unavailable));
        json_object_array_add(buckets, bk);
    }
    json_object_object_add(o, "buckets", buckets);
    json_object *limits = json_object_new_object();
    for (size_t i = 0; i < b->nlimits; i++)
        json_object_object_add(limits, b->limits[i].name, sc_json_money(&b->limits[i].amount));
    json_object_object_add(o, "limits", limits);
    json_object_object_add(o, "observed_at", json_object_new_int64(ev->observed_at_ms));
    json_object_object_add(o, "source_command_id", json_object_new_string(ev->source_command_id));
    json_object_object_add(o, "fence", ev->fence != 0 ? json_object_new_int64(ev->fence) : NULL);
    int rc = sc_encode_json(c, SC_BALANCE, o, NULL, out, out_len, err);
    json_object_put(o);
    return rc;
}

/*---- Any event to JSON ----*/

int sc_event_to_json(sc_codec *c, sc_kind kind, const void *buf, size_t len, json_object **out,
                     pv_error *err)
{
    const unsigned char *p = buf;
    *out = NULL;
    if (len > SC_MESSAGE_MAX)
        return pv_error_set(err, PV_ETOOBIG, "", "%s: %zu bytes exceeds the %d byte limit",
                            sc_kind_name(kind), len, SC_MESSAGE_MAX);
    if (kind == SC_COMMAND && len > 0 && p[0] == '{')
        return pv_json_parse(buf, len, "JSON command", out, err);
    if (len < 5 || p[0] != 0)
        return pv_error_set(err, PV_EFORMAT, "", "%s: not Confluent-framed Avro (%zu bytes)",
                            sc_kind_name(kind), len);
    return sc_decode_avro(c, kind, p, len, out, NULL, 0, err);
}
