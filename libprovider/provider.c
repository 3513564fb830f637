/* provider.c -- the registry, requests, results and the default classifiers.
 * See provider.h and pv_domain.h. */
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

const char *pv_ctx_setting(const pv_provider *p, const pv_ctx *ctx, int i)
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

/*---- Names ----*/

const char *pv_outcome_name(pv_outcome o)
{
    static const char *const names[] = {
#define XX(name, doc) #name,
        PV_OUTCOME_MAP(XX)
#undef XX
    };
    return (unsigned)o < PV_OUTCOME__COUNT ? names[o] : "?";
}

static const char *const pv_status_names[] = {
#define XX(name) #name,
    PV_STATUS_MAP(XX)
#undef XX
};

const char *pv_status_name(pv_status s)
{
    return (unsigned)s < PV_STATUS__COUNT ? pv_status_names[s] : "?";
}

int pv_status_from_name(const char *name)
{
    for (int i = 0; i < PV_STATUS__COUNT; i++)
        if (strcmp(pv_status_names[i], name) == 0)
            return i;
    return -1;
}

/*---- Commands and results ----*/

void pv_command_init(pv_command *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
}

void pv_command_clear(pv_command *cmd)
{
    json_object_put(cmd->request);
    pv_command_init(cmd);
}

int pv_command_request(const pv_command *cmd, json_object **obj, pv_error *err)
{
    char d[128];
    if (cmd->request == NULL || !json_object_is_type(cmd->request, json_type_object)) {
        pv_json_describe(cmd->request, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, "request",
                            "request: expected an object of %s parameters, got %s",
                            cmd->provider != NULL ? cmd->provider->name : "provider", d);
    }
    *obj = cmd->request;
    return PV_OK;
}

void pv_result_init(pv_result *res)
{
    memset(res, 0, sizeof(*res));
    res->outcome = PV_OUTCOME_UNKNOWN;
}

void pv_result_clear(pv_result *res)
{
    json_object_put(res->detail);
    pv_result_init(res);
}

/* Copies src into dst, cutting at a UTF-8 character boundary when it does not
 * fit (provider messages are Turkish and Arabic text). */
static void pv_copy(char *dst, size_t cap, const char *src)
{
    /* callers may pass a field of the same result: pv_utf8_copy moves */
    pv_utf8_copy(dst, cap, src, src != NULL ? strlen(src) : 0);
}

int pv_result_add_ref(pv_result *res, const char *name, const char *value)
{
    if (value == NULL)
        value = "";
    if (strlen(name) >= sizeof(res->refs[0].name) || strlen(value) >= sizeof(res->refs[0].value))
        return PV_ETOOBIG;
    for (size_t i = 0; i < res->nrefs; i++) {
        if (strcmp(res->refs[i].name, name) == 0) {
            pv_copy(res->refs[i].value, sizeof(res->refs[i].value), value);
            return PV_OK;
        }
    }
    if (res->nrefs == PV_REFS_MAX)
        return PV_ETOOBIG;
    pv_copy(res->refs[res->nrefs].name, sizeof(res->refs[0].name), name);
    pv_copy(res->refs[res->nrefs].value, sizeof(res->refs[0].value), value);
    res->nrefs++;
    return PV_OK;
}

const char *pv_result_ref(const pv_result *res, const char *name)
{
    for (size_t i = 0; i < res->nrefs; i++)
        if (strcmp(res->refs[i].name, name) == 0)
            return res->refs[i].value;
    return NULL;
}

void pv_result_set_code(pv_result *res, const char *code, const char *message)
{
    pv_copy(res->provider_code, sizeof(res->provider_code), code);
    pv_copy(res->provider_message, sizeof(res->provider_message), message);
}

void pv_result_set_message(pv_result *res, const char *message)
{
    pv_copy(res->provider_message, sizeof(res->provider_message), message);
}

void pv_result_fail(pv_result *res, pv_outcome outcome, const pv_error *err)
{
    res->outcome = outcome;
    pv_copy(res->error, sizeof(res->error), err != NULL ? err->errstr : "");
}

/*---- Requests ----*/

void pv_request_init(pv_request *req)
{
    memset(req, 0, sizeof(*req));
}

void pv_request_clear(pv_request *req)
{
    for (size_t i = 0; i < req->nheaders; i++)
        free(req->headers[i]);
    free(req->body);
    pv_request_init(req);
}

int pv_request_add_header(pv_request *req, const char *name, const char *value, pv_error *err)
{
    if (req->nheaders == PV_HEADERS_MAX)
        return pv_error_set(err, PV_ETOOBIG, name, "header %s: too many headers", name);
    if (value == NULL)
        return pv_error_set(err, PV_ECONFIG, name, "header %s: no value configured", name);
    if (strpbrk(value, "\r\n") != NULL)
        return pv_error_set(err, PV_EFORMAT, name,
                            "header %s: value contains a line break (not sent)", name);
    size_t len = strlen(name) + 2 + strlen(value) + 1;
    char *line = malloc(len);
    if (line == NULL)
        return pv_error_set(err, PV_ENOMEM, name, "header %s: out of memory", name);
    snprintf(line, len, "%s: %s", name, value);
    req->headers[req->nheaders++] = line;
    return PV_OK;
}

const char *pv_request_header(const pv_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *h = req->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h + n + 2;
    }
    return NULL;
}

int pv_request_set_body(pv_request *req, const char *body, size_t len, pv_error *err)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return pv_error_set(err, PV_ENOMEM, "body", "body: out of memory");
    memcpy(copy, body, len);
    copy[len] = '\0';
    free(req->body);
    req->body = copy;
    req->body_len = len;
    return PV_OK;
}

int pv_request_set_json(pv_request *req, json_object *obj, pv_error *err)
{
    size_t len;
    const char *s = pv_json_dump(obj, &len);
    return pv_request_set_body(req, s, len, err);
}

/*---- Default classification ----*/

pv_outcome pv_classify_http_default(const pv_provider *p, int http_status)
{
    pv_outcome o;
    switch (http_status) {
    case 401:
    case 403:
        return PV_OUTCOME_FATAL;
    case 408:
    case 425:
    case 429:
    case 503:
        return PV_OUTCOME_RETRY;
    default:
        break;
    }
    if (http_status >= 400 && http_status < 500)
        o = PV_OUTCOME_INVALID;
    else
        o = PV_OUTCOME_UNKNOWN; /* 5xx, 1xx, 3xx, a 2xx we could not read */
    if (o == PV_OUTCOME_UNKNOWN && (p->caps & PV_CAP_READONLY))
        o = PV_OUTCOME_RETRY;
    return o;
}

pv_outcome pv_classify_fault_default(const pv_provider *p, pv_fault fault)
{
    if (fault == PV_FAULT_CONNECT || (p->caps & PV_CAP_READONLY))
        return PV_OUTCOME_RETRY;
    return PV_OUTCOME_UNKNOWN;
}

pv_outcome pv_classify_fault(const pv_provider *p, pv_fault fault)
{
    if (p->classify_fault != NULL)
        return p->classify_fault(p, fault);
    return pv_classify_fault_default(p, fault);
}

/*---- Checked building ----*/

int pv_provider_check_settings(const pv_provider *p, const pv_ctx *ctx, pv_error *err)
{
    for (int i = 0; p->settings[i].name != NULL; i++) {
        if (!p->settings[i].required || pv_ctx_setting(p, ctx, i) != NULL)
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

int pv_provider_build_request(const pv_provider *p, const pv_command *cmd, const pv_ctx *ctx,
                              pv_request *req, pv_error *err)
{
    pv_request_init(req);
    int rc = pv_provider_check_settings(p, ctx, err);
    if (rc == PV_OK)
        rc = p->build_request(cmd, ctx, req, err);
    return rc;
}

/*---- Checked parsing ----*/

static void pv_provider_enforce(const pv_provider *p, int http_status, pv_result *res)
{
    pv_outcome unsure = (p->caps & PV_CAP_READONLY) ? PV_OUTCOME_RETRY : PV_OUTCOME_UNKNOWN;

    res->http_status = http_status;
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
static size_t pv_redact_one(char *buf, size_t cap, const char *const *secrets, size_t n)
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

/* The values of p's secret settings and the token, for pv_redact_one. */
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

static void pv_redact_json(json_object *v, const char *const *secrets, size_t n)
{
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            pv_redact_json(val, secrets, n);
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            pv_redact_json(json_object_array_get_idx(v, i), secrets, n);
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
        if (pv_redact_one(copy, len + 1, secrets, n) > 0)
            json_object_set_string(v, copy);
        free(copy);
    }
}

size_t pv_provider_redact_text(const pv_provider *p, const pv_ctx *ctx, char *buf, size_t cap)
{
    const char *secrets[PV_SECRETS_MAX];
    size_t n = pv_provider_secrets(p, ctx, secrets, sizeof(secrets) / sizeof(secrets[0]));
    return pv_redact_one(buf, cap, secrets, n);
}

size_t pv_provider_redact(const pv_provider *p, const pv_ctx *ctx, pv_result *res)
{
    const char *secrets[PV_SECRETS_MAX];
    size_t n = pv_provider_secrets(p, ctx, secrets, sizeof(secrets) / sizeof(secrets[0]));
    if (n == 0)
        return 0;
    size_t c = pv_redact_one(res->provider_code, sizeof(res->provider_code), secrets, n) +
               pv_redact_one(res->provider_message, sizeof(res->provider_message), secrets, n) +
               pv_redact_one(res->error, sizeof(res->error), secrets, n);
    for (size_t i = 0; i < res->nrefs; i++)
        c += pv_redact_one(res->refs[i].value, sizeof(res->refs[i].value), secrets, n);
    if (res->detail != NULL)
        pv_redact_json(res->detail, secrets, n);
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
