/* pv_provider.c -- the registry, the settings and the checked entry points the
 * worker calls instead of the raw hooks (building, parsing, redaction).
 * See provider.h. */
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pv_json.h"
#include "pv_utf8.h"

/*---- Registry ----*/

const pv_provider *const pv_providers[] = {
    &pv_payofin, &pv_sipay, &pv_paywall, &pv_isbank, &pv_payone, NULL,
};

const pv_provider *pv_provider_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; pv_providers[i] != NULL; i++)
        if (strcmp(pv_providers[i]->name, name) == 0)
            return pv_providers[i];
    return NULL;
}

int pv_provider_setting_index(const pv_provider *p, const char *name)
{
    for (int i = 0; p->settings != NULL && p->settings[i].name != NULL; i++)
        if (strcmp(p->settings[i].name, name) == 0)
            return i;
    return -1;
}

const char *pv_provider_setting(const pv_provider *p, const pv_ctx *ctx, int i)
{
    const char *v = NULL;
    if (i < 0)
        return NULL;
    if (ctx != NULL && ctx->settings != NULL)
        v = ctx->settings[i];
    if (v == NULL || v[0] == '\0')
        v = p->settings[i].default_value;
    return v;
}

/*---- Checked building ----*/

int pv_provider_check_settings(const pv_provider *p, const pv_ctx *ctx, pv_error *err)
{
    for (int i = 0; p->settings[i].name != NULL; i++) {
        if (!p->settings[i].required || pv_provider_setting(p, ctx, i) != NULL)
            continue;
        char env[96];
        size_t o = (size_t)snprintf(env, sizeof(env), "PAYW_%s_", p->name);
        for (const char *c = p->settings[i].name; *c != '\0' && o + 1 < sizeof(env); c++)
            env[o++] = (*c >= 'a' && *c <= 'z') ? (char)(*c - 'a' + 'A') : *c;
        env[o < sizeof(env) ? o : sizeof(env) - 1] = '\0';
        return pv_error_set(err, PV_ECONFIG, p->settings[i].name,
                            "%s setting %s is not configured (%s or %s_FILE)", p->name,
                            p->settings[i].name, env, env);
    }
    return PV_OK;
}

bool pv_provider_has(const pv_provider *p, unsigned caps)
{
    return (p->caps & caps) == caps;
}

/* PV_CAP_PARTIAL: a partial amount only for a provider that takes one. The
 * member is looked up as the adapters read theirs (pv_json_member). */
static int pv_provider_check_partial(const pv_provider *p, const pv_command *cmd, pv_error *err)
{
    if (pv_provider_has(p, PV_CAP_PARTIAL) || cmd->request == NULL ||
        !json_object_is_type(cmd->request, json_type_object) ||
        pv_json_member(cmd->request, PV_PARTIAL_FIELD) == NULL)
        return PV_OK;
    return pv_error_set(err, PV_EVALIDATION, "request." PV_PARTIAL_FIELD,
                        "request." PV_PARTIAL_FIELD ": %s takes no partial amounts", p->name);
}

/* What both builds check first: the settings, then the partial amount. */
static int pv_provider_check_command(const pv_provider *p, const pv_command *cmd, const pv_ctx *ctx,
                                     pv_error *err)
{
    int rc = pv_provider_check_settings(p, ctx, err);
    if (rc == PV_OK)
        rc = pv_provider_check_partial(p, cmd, err);
    return rc;
}

int pv_provider_build_request(const pv_provider *p, const pv_command *cmd, const pv_ctx *ctx,
                              pv_request *req, pv_error *err)
{
    pv_request_init(req);
    int rc = pv_provider_check_command(p, cmd, ctx, err);
    if (rc == PV_OK)
        rc = p->build_request(cmd, ctx, req, err);
    return rc;
}

int pv_provider_build_inquiry(const pv_provider *p, const pv_command *cmd, const pv_ctx *ctx,
                              pv_request *req, pv_error *err)
{
    pv_request_init(req);
    if (!pv_provider_has(p, PV_CAP_INQUIRY) || p->build_inquiry == NULL)
        return pv_error_set(err, PV_EUNSUPPORTED, "provider",
                            "provider: %s has no status inquiry (PV_CAP_INQUIRY)", p->name);
    int rc = pv_provider_check_command(p, cmd, ctx, err);
    if (rc == PV_OK)
        rc = p->build_inquiry(cmd, ctx, req, err);
    return rc;
}

int pv_provider_query_id(const pv_provider *p, const pv_command *cmd, char *buf, size_t cap,
                         pv_error *err)
{
    if (p->query_id == NULL)
        return pv_error_set(err, PV_EUNSUPPORTED, "provider", "provider: %s has no query id",
                            p->name);
    return p->query_id(cmd, buf, cap, err);
}

/* Refuses a provider without cap (or without the hook, hook NULL). */
static int pv_provider_check_cap(const pv_provider *p, unsigned cap, const void *hook,
                                 const char *what, pv_error *err)
{
    if (!pv_provider_has(p, cap) || hook == NULL)
        return pv_error_set(err, PV_EUNSUPPORTED, "provider", "provider: %s has no %s", p->name,
                            what);
    return PV_OK;
}

int pv_provider_build_token_request(const pv_provider *p, const pv_ctx *ctx, pv_request *req,
                                    pv_error *err)
{
    pv_request_init(req);
    int rc = pv_provider_check_cap(p, PV_CAP_OAUTH, (const void *)p->build_token_request,
                                   "token request (PV_CAP_OAUTH)", err);
    if (rc == PV_OK)
        rc = pv_provider_check_settings(p, ctx, err);
    if (rc == PV_OK)
        rc = p->build_token_request(ctx, req, err);
    return rc;
}

int pv_provider_parse_token(const pv_provider *p, int http_status, const char *body, size_t len,
                            pv_token *tok, pv_error *err)
{
    int rc = pv_provider_check_cap(p, PV_CAP_OAUTH, (const void *)p->parse_token,
                                   "token answer (PV_CAP_OAUTH)", err);
    return rc == PV_OK ? p->parse_token(http_status, body, len, tok, err) : rc;
}

int pv_provider_spec_key(const pv_provider *p, const pv_command *cmd, char *buf, size_t cap,
                         pv_error *err)
{
    int rc = pv_provider_check_cap(p, PV_CAP_SPEC, (const void *)p->spec_key,
                                   "service spec (PV_CAP_SPEC)", err);
    return rc == PV_OK ? p->spec_key(cmd, buf, cap, err) : rc;
}

int pv_provider_build_spec_request(const pv_provider *p, const pv_command *cmd, const pv_ctx *ctx,
                                   pv_request *req, pv_error *err)
{
    pv_request_init(req);
    int rc = pv_provider_check_cap(p, PV_CAP_SPEC, (const void *)p->build_spec_request,
                                   "service spec (PV_CAP_SPEC)", err);
    return rc == PV_OK ? p->build_spec_request(cmd, ctx, req, err) : rc;
}

void *pv_provider_parse_spec(const pv_provider *p, int http_status, const char *body, size_t len,
                             pv_error *err)
{
    if (pv_provider_check_cap(p, PV_CAP_SPEC, (const void *)p->parse_spec,
                              "service spec (PV_CAP_SPEC)", err) != PV_OK)
        return NULL;
    return p->parse_spec(http_status, body, len, err);
}

void pv_provider_free_spec(const pv_provider *p, void *spec)
{
    if (spec != NULL && p->free_spec != NULL)
        p->free_spec(spec);
}

/*---- Checked parsing ----*/

static void pv_provider_enforce(const pv_provider *p, int http_status, pv_result *res)
{
    pv_outcome unsure = (p->caps & PV_CAP_READONLY) ? PV_OUTCOME_RETRY : PV_OUTCOME_UNKNOWN;

    res->http_status = http_status;
    if (!(p->caps & PV_CAP_BALANCE))
        res->nbalances = 0; /* an adapter bug: a balance nobody declared */
    if ((unsigned)res->outcome >= PV_OUTCOME__COUNT) {
        res->outcome = unsure;
        snprintf(res->error, sizeof(res->error), "%s: adapter returned no valid outcome", p->name);
        return;
    }
    if (res->outcome != PV_OUTCOME_SUCCEEDED)
        return;
    if (http_status < 200 || http_status > 299) {
        res->outcome = unsure;
        if (res->error[0] == '\0')
            snprintf(res->error, sizeof(res->error),
                     "%s: HTTP %d carries a success body: outcome not trusted", p->name,
                     http_status);
    } else if (res->error[0] != '\0') {
        res->outcome = unsure;
    }
}

/*---- Secrets in provider text ----*/

/* Replaces each occurrence of any of the n secrets (each at least 4 bytes;
 * shorter ones would hide ordinary text) in the string buf[0..cap) by "***".
 * Returns how many were replaced. */
static size_t pv_provider_redact_one(char *buf, size_t cap, const char *const *secrets, size_t n)
{
    size_t count = 0;
    for (size_t k = 0; k < n; k++) {
        const char *sec = secrets[k];
        size_t sl = sec != NULL ? strlen(sec) : 0;
        if (sl < 4)
            continue;
        char *at;
        while ((at = strstr(buf, sec)) != NULL) {
            size_t tail = strlen(at + sl);
            memmove(at + 3, at + sl, tail + 1); /* "***" is never longer than sl */
            memcpy(at, "***", 3);
            count++;
        }
    }
    (void)cap;
    return count;
}

/* The values of p's secret settings and the token, for pv_provider_redact_one. */
static size_t pv_provider_secrets(const pv_provider *p, const pv_ctx *ctx, const char **out,
                                  size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; p->settings != NULL && p->settings[i].name != NULL && n < cap; i++)
        if (p->settings[i].secret && ctx->settings != NULL && ctx->settings[i] != NULL)
            out[n++] = ctx->settings[i];
    if (ctx->token != NULL && n < cap)
        out[n++] = ctx->token;
    return n;
}

static void pv_provider_redact_json(json_object *v, const char *const *secrets, size_t n)
{
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            pv_provider_redact_json(val, secrets, n);
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            pv_provider_redact_json(json_object_array_get_idx(v, i), secrets, n);
    } else if (json_object_is_type(v, json_type_string)) {
        const char *t = json_object_get_string(v);
        size_t len = (size_t)json_object_get_string_len(v), k = 0;
        while (k < n &&
               (secrets[k] == NULL || strlen(secrets[k]) < 4 || strstr(t, secrets[k]) == NULL))
            k++;
        if (k == n)
            return; /* the common case: nothing to hide, nothing copied */
        char *copy = malloc(len + 1);
        if (copy == NULL)
            return;
        memcpy(copy, t, len + 1);
        if (pv_provider_redact_one(copy, len + 1, secrets, n) > 0)
            json_object_set_string(v, copy);
        free(copy);
    }
}

size_t pv_provider_redact_text(const pv_provider *p, const pv_ctx *ctx, char *buf, size_t cap)
{
    const char *secrets[PV_SECRETS_MAX];
    size_t n = pv_provider_secrets(p, ctx, secrets, sizeof(secrets) / sizeof(secrets[0]));
    return pv_provider_redact_one(buf, cap, secrets, n);
}

size_t pv_provider_redact(const pv_provider *p, const pv_ctx *ctx, pv_result *res)
{
    const char *secrets[PV_SECRETS_MAX];
    size_t n = pv_provider_secrets(p, ctx, secrets, sizeof(secrets) / sizeof(secrets[0]));
    if (n == 0)
        return 0;
    size_t c =
        pv_provider_redact_one(res->provider_code, sizeof(res->provider_code), secrets, n) +
        pv_provider_redact_one(res->provider_message, sizeof(res->provider_message), secrets, n) +
        pv_provider_redact_one(res->error, sizeof(res->error), secrets, n);
    for (size_t i = 0; i < res->nrefs; i++)
        c += pv_provider_redact_one(res->refs[i].value, sizeof(res->refs[i].value), secrets, n);
    if (res->detail != NULL)
        pv_provider_redact_json(res->detail, secrets, n);
    return c;
}

/* Both parse hooks run here, on text made safe first: an answer that is not
 * UTF-8 is read with each bad byte as U+FFFD (its text could not otherwise
 * travel in an event, and a paid call must still say SUCCEEDED), and an
 * answer with two spellings of one key is not trusted at all. */
static void pv_provider_read(const pv_provider *p, const pv_command *cmd, int http_status,
                             const char *body, size_t len, pv_result *res, int inquiry)
{
    pv_outcome unsure = (p->caps & PV_CAP_READONLY) ? PV_OUTCOME_RETRY : PV_OUTCOME_UNKNOWN;
    char *fixed = NULL, what[64];
    size_t replaced = 0;
    if (body == NULL)
        body = "", len = 0;
    if (!pv_utf8_valid(body, len)) {
        size_t n;
        fixed = pv_utf8_repair(body, len, &n, &replaced);
        if (fixed == NULL) {
            res->outcome = unsure;
            snprintf(res->error, sizeof(res->error), "%s: out of memory reading the answer",
                     p->name);
            res->http_status = http_status;
            return;
        }
        body = fixed;
        len = n;
    }
    pv_error kerr = {0};
    snprintf(what, sizeof(what), "%s answer", p->name);
    int ambiguous = pv_json_check_keys(body, len, what, &kerr) != PV_OK;
    if (inquiry)
        p->parse_inquiry(cmd, http_status, body, len, res);
    else
        p->parse_response(cmd, http_status, body, len, res);
    res->text_replaced = replaced;
    if (ambiguous && res->outcome != PV_OUTCOME_FATAL) {
        /* {"resultCode":1,"resultCode":-19}: whichever the adapter read, the
         * other may be the truth */
        res->outcome = unsure;
        snprintf(res->error, sizeof(res->error), "%s", kerr.errstr);
    }
    pv_error_clear(&kerr);
    free(fixed);
    pv_provider_enforce(p, http_status, res);
}

void pv_provider_parse_response(const pv_provider *p, const pv_command *cmd, int http_status,
                                const char *body, size_t len, pv_result *res)
{
    pv_provider_read(p, cmd, http_status, body, len, res, 0);
}

void pv_provider_parse_inquiry(const pv_provider *p, const pv_command *cmd, int http_status,
                               const char *body, size_t len, pv_result *res)
{
    if (p->parse_inquiry == NULL) {
        res->outcome = PV_OUTCOME_UNKNOWN;
        snprintf(res->error, sizeof(res->error), "%s: no status inquiry", p->name);
        return;
    }
    pv_provider_read(p, cmd, http_status, body, len, res, 1);
}
