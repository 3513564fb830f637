/* pv_oauth.c -- the OAuth2 client-credentials token (RFC 6749 §4.4) that
 * Sipay and İş Bankası use. Pure functions: the worker does the I/O and
 * caches the token. See pv_oauth.h. */
#include "pv_oauth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pv_json.h"

/*---- OAuth2 client credentials ----*/

int pv_oauth_token_request(pv_request *req, const char *path, const char *client_id,
                           const char *client_secret, const char *scope, pv_error *err)
{
    const pv_form_field form[] = {
        {"grant_type", "client_credentials"},
        {"client_id", client_id},
        {"client_secret", client_secret},
        {"scope", scope},
    };
    pv_request_init(req);
    if (client_id == NULL || client_id[0] == '\0')
        return pv_error_set(err, PV_ECONFIG, "client_id", "client_id: not configured");
    if (client_secret == NULL || client_secret[0] == '\0')
        return pv_error_set(err, PV_ECONFIG, "client_secret", "client_secret: not configured");
    return pv_request_post_form(req, path, form, sizeof(form) / sizeof(form[0]), err);
}

/* A non-2xx token answer: the status and the OAuth error code (RFC 6749
 * §5.2), a short fixed vocabulary, are all that is quoted. */
static int pv_oauth_refused(const char *who, int http_status, json_object *root, pv_error *err)
{
    char code[64] = "", q[96], note[128] = "";
    pv_error ignored = {0};
    if (root != NULL &&
        pv_json_string(root, "error", "error", false, code, sizeof(code), NULL, &ignored) ==
            PV_OK &&
        code[0] != '\0') {
        pv_utf8_quote(q, sizeof(q), code, strlen(code));
        snprintf(note, sizeof(note), " (error \"%s\")", q);
    }
    if (http_status == 400 || http_status == 401 || http_status == 403)
        return pv_error_set(err, PV_ECONFIG, "http_status",
                            "%s: HTTP %d%s: the client was refused; check client_id, "
                            "client_secret and scope",
                            who, http_status, note);
    return pv_error_set(err, PV_EUNAVAILABLE, "http_status", "%s: HTTP %d%s", who, http_status,
                        note);
}

int pv_oauth_parse_token(const char *who, int http_status, const char *body, size_t len,
                         int64_t default_expires_s, pv_token *tok, pv_error *err)
{
    json_object *root = NULL;
    pv_error perr = {0};
    char type[32], q[96];
    bool present;
    int64_t expires = default_expires_s;
    int rc;

    memset(tok, 0, sizeof(*tok));
    int prc = pv_json_parse(body, len, who, &root, &perr);
    pv_error_clear(&perr); /* its excerpt of the body could hold the token */
    if (http_status < 200 || http_status > 299) {
        rc = pv_oauth_refused(who, http_status, prc == PV_OK ? root : NULL, err);
        goto out;
    }
    if (prc != PV_OK) {
        rc = pv_error_set(err, PV_EPARSE, "", "%s: not a JSON document (%zu bytes, not quoted)",
                          who, len);
        goto out;
    }
    if (!json_object_is_type(root, json_type_object)) {
        rc = pv_error_set(err, PV_ETYPE, "", "%s: expected an object, got %s", who,
                          json_type_to_name(json_object_get_type(root)));
        goto out;
    }
    json_object *t = pv_json_member(root, "access_token");
    if (t == NULL) {
        rc = pv_error_set(err, PV_EMISSING, "access_token",
                          "access_token: required field is missing");
        goto out;
    }
    if (!json_object_is_type(t, json_type_string)) {
        rc = pv_error_set(err, PV_ETYPE, "access_token",
                          "access_token: expected a string, got %s (not quoted)",
                          json_type_to_name(json_object_get_type(t)));
        goto out;
    }
    const char *ts = json_object_get_string(t);
    size_t tlen = (size_t)json_object_get_string_len(t);
    if (tlen >= sizeof(tok->access_token)) {
        rc = pv_error_set(err, PV_ETOOBIG, "access_token",
                          "access_token: %zu bytes long, the limit is %zu", tlen,
                          sizeof(tok->access_token) - 1);
        goto out;
    }
    /* it goes into an Authorization header: visible ASCII only */
    bool visible = tlen > 0;
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)ts[i] < 0x21 || (unsigned char)ts[i] > 0x7e)
            visible = false;
    if (!visible) {
        rc = pv_error_set(err, PV_EFORMAT, "access_token",
                          "access_token: empty or holds blanks or control characters (%zu "
                          "bytes; not quoted)",
                          tlen);
        goto out;
    }
    rc = pv_json_string(root, "token_type", "token_type", false, type, sizeof(type), &present, err);
    if (rc != PV_OK)
        goto out;
    if (present && strcasecmp(type, "Bearer") != 0) {
        pv_utf8_quote(q, sizeof(q), type, strlen(type));
        rc = pv_error_set(err, PV_EUNSUPPORTED, "token_type",
                          "token_type: \"%s\" is not Bearer, the only type sent", q);
        goto out;
    }
    rc = pv_json_int64(root, "expires_in", "expires_in", false, &expires, &present, err);
    if (rc != PV_OK)
        goto out;
    if (present && expires <= 0) {
        rc = pv_error_set(err, PV_ERANGE, "expires_in",
                          "expires_in: %" PRId64 " must be a positive number of seconds", expires);
        goto out;
    }
    memcpy(tok->access_token, ts, tlen + 1);
    tok->expires_in_s = expires;
out:
    json_object_put(root);
    return rc;
}
