/* sc_command.c -- commands: decoded from Avro or JSON into a pv_command,
 * encoded back (sc_codec.h). */
#include "sc_codec_int.h"

#include <avro.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_json.h"
#include "pv_time.h"

/*---- Commands ----*/

static int sc_command_field_string(json_object *o, const char *key, bool required, char *buf,
                                   size_t cap, pv_error *err)
{
    int rc = pv_json_string(o, key, key, required, buf, cap, NULL, err);
    if (rc == PV_OK && required && buf[0] == '\0')
        return pv_error_set(err, PV_EFORMAT, key, "%s: must not be empty", key);
    return rc;
}

/* A timestamp: integer ms since the epoch, or ISO 8601 text with a zone. */
static int sc_command_field_time(json_object *o, const char *key, bool required, int64_t *ms,
                                 pv_error *err)
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
    rc = sc_command_field_string(j, "command_id", true, cmd->command_id, sizeof(cmd->command_id),
                                 err);
    if (rc == PV_OK)
        rc = sc_command_field_string(j, "provider", true, provider, sizeof(provider), err);
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
    rc = sc_command_field_time(j, "created_at", true, &cmd->created_at_ms, err);
    if (rc == PV_OK)
        rc = sc_command_field_time(j, "expires_at", false, &cmd->expires_at_ms, err);
    if (rc == PV_OK)
        rc = sc_command_field_string(j, "merchant", false, cmd->merchant, sizeof(cmd->merchant),
                                     err);
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
        sc_command_field_string(j, "command_id", true, cmd->command_id, sizeof(cmd->command_id),
                                NULL) != PV_OK)
        cmd->command_id[0] = '\0';
    if (json_object_object_get_ex(j, "provider", &v) &&
        sc_command_field_string(j, "provider", true, provider, sizeof(provider), NULL) == PV_OK)
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
        rc = sc_codec_decode_avro(c, SC_COMMAND, p, len, &j, branch, sizeof(branch), err);
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
    int rc = sc_codec_encode_json(c, SC_COMMAND, j, sc_marks_branch(&c->marks, cmd->provider->name),
                                  out, out_len, err);
    json_object_put(j);
    return rc;
}
