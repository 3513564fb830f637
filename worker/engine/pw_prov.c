/* pw_prov.c -- provider state: call slots, OAuth tokens, İş Bankası service
 * specs, and the stop of a provider whose credentials are refused (see
 * pw_prov.h). */
#include "pw_prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_json.h"
#include "pw_alloc.h"
#include "pw_cmd.h"
#include "pw_engine_int.h"
#include "pw_log.h"

/* One token or spec fetch in flight. */
typedef struct pw_prov_fetch {
    pw_engine *e;
    pw_prov *pv;
    int spec_slot; /* -1: the token */
} pw_prov_fetch;

void pw_prov_wait(pw_prov *pv, pw_cmd *c)
{
    pw_cmd_go(c, PW_EV_WAIT);
    c->wait_next = NULL;
    if (pv->wait_tail != NULL)
        pv->wait_tail->wait_next = c;
    else
        pv->wait_head = c;
    pv->wait_tail = c;
}

/* Takes c out of the wait list (the drain gives its claim back). */
void pw_prov_unwait(pw_prov *pv, pw_cmd *c)
{
    pw_cmd *prev = NULL;
    for (pw_cmd *it = pv->wait_head; it != NULL; prev = it, it = it->wait_next) {
        if (it != c)
            continue;
        if (prev != NULL)
            prev->wait_next = c->wait_next;
        else
            pv->wait_head = c->wait_next;
        if (pv->wait_tail == c)
            pv->wait_tail = prev;
        c->wait_next = NULL;
        return;
    }
}

/* Re-runs every waiting command (a slot freed, a token or spec arrived). */
void pw_prov_kick(pw_prov *pv)
{
    pw_cmd *c = pv->wait_head;
    pv->wait_head = pv->wait_tail = NULL;
    while (c != NULL) {
        pw_cmd *next = c->wait_next;
        c->wait_next = NULL;
        pw_cmd_call(c);
        c = next;
    }
}

/* A prerequisite could not be had: every waiting command counts an attempt. */
void pw_prov_fail_waiters(pw_prov *pv, const char *why)
{
    pw_cmd *c = pv->wait_head;
    pv->wait_head = pv->wait_tail = NULL;
    while (c != NULL) {
        pw_cmd *next = c->wait_next;
        c->wait_next = NULL;
        c->attempts++;
        pw_cmd_retry_or_fail(c, why);
        c = next;
    }
}

void pw_prov_stop(pw_prov *pv, const char *why)
{
    pv->fatal = 1;
    pw_log(PW_LOG_ERROR, "provider stopped: fix its configuration and restart", "provider",
           pv->p->name, "reason", why, NULL);
}

pv_ctx pw_prov_ctx(pw_prov *pv, const void *spec)
{
    pv_ctx ctx = {
        .settings = (const char *const *)pv->pc->settings, .token = pv->token, .spec = spec};
    return ctx;
}

static void pw_prov_on_token(void *ud, const pw_http_result *r)
{
    pw_prov_fetch *f = ud;
    pw_prov *pv = f->pv;
    pv_token tok;
    pv_error err = {0};
    char why[PV_ERR_STR_MAX + 64];
    pv->token_fetching = 0;
    if (r->fault >= 0) {
        snprintf(why, sizeof(why), "%s token endpoint: %s", pv->p->name, r->error);
        pw_prov_fail_waiters(pv, why);
    } else if (pv_provider_parse_token(pv->p, r->status, r->body, r->len, &tok, &err) != PV_OK) {
        pv_ctx ctx = pw_prov_ctx(pv, NULL);
        pv_provider_redact_text(pv->p, &ctx, err.errstr, sizeof(err.errstr));
        if (err.code == PV_ECONFIG) {
            pw_prov_stop(pv, err.errstr);
            snprintf(f->e->m->fatal[pv->idx], sizeof(f->e->m->fatal[0]), "%.150s", err.errstr);
        }
        pw_prov_fail_waiters(pv, err.errstr);
    } else {
        free(pv->token);
        pv->token = pw_alloc_strdup(tok.access_token);
        memset(&tok, 0, sizeof(tok));
        int64_t life = tok.expires_in_s > 0 ? tok.expires_in_s : 300;
        pv->token_expires_ms = pw_engine_mono_ms() + life * 1000;
        pw_prov_kick(pv);
    }
    free(f);
}

static void pw_prov_on_spec(void *ud, const pw_http_result *r)
{
    pw_prov_fetch *f = ud;
    pw_prov *pv = f->pv;
    pw_spec_entry *se = &pv->specs[f->spec_slot];
    pv_error err = {0};
    char why[PV_ERR_STR_MAX + 64];
    se->fetching = 0;
    if (r->fault >= 0) {
        snprintf(why, sizeof(why), "%s service spec: %s", pv->p->name, r->error);
        pw_prov_fail_waiters(pv, why);
    } else {
        void *spec = pv_provider_parse_spec(pv->p, r->status, r->body, r->len, &err);
        if (spec == NULL) {
            /* a spec we cannot get: the commands waiting on it are retried and
             * end FAILED; a refused service id fails them the same way */
            pv_ctx ctx = pw_prov_ctx(pv, NULL);
            pv_provider_redact_text(pv->p, &ctx, err.errstr, sizeof(err.errstr));
            pw_prov_fail_waiters(pv, err.errstr);
        } else {
            if (se->spec != NULL)
                pv_provider_free_spec(pv->p, se->spec);
            se->spec = spec;
            se->expires_ms = pw_engine_mono_ms() + PW_SPEC_TTL_MS;
            pw_prov_kick(pv);
        }
    }
    free(f);
}

/* Starts fetching the token; the caller waits. */
void pw_prov_fetch_token(pw_engine *e, pw_prov *pv)
{
    pv_request req;
    pv_error err = {0};
    char errstr[256];
    pv_ctx ctx = pw_prov_ctx(pv, NULL);
    if (pv->token_fetching)
        return;
    if (pv_provider_build_token_request(pv->p, &ctx, &req, &err) != PV_OK) {
        pw_prov_stop(pv, err.errstr);
        pw_prov_fail_waiters(pv, err.errstr);
        return;
    }
    pw_prov_fetch *f = pw_alloc_calloc(1, sizeof(*f));
    f->e = e;
    f->pv = pv;
    f->spec_slot = -1;
    pv->token_fetching = 1;
    if (pw_http_send(e->http, pv->pc->url, &req, pv->pc->timeout_ms, pv->pc->connect_timeout_ms,
                     pw_prov_on_token, f, errstr, sizeof(errstr)) == NULL) {
        pv->token_fetching = 0;
        free(f);
        pw_prov_fail_waiters(pv, errstr);
    }
    pv_request_clear(&req);
}

/* The spec entry of c's key: ready (returns it), or being fetched (NULL). */
void *pw_prov_spec(pw_engine *e, pw_prov *pv, pw_cmd *c, int *failed)
{
    char key[64], errstr[256];
    pv_error err = {0};
    *failed = 0;
    if (pv_provider_spec_key(pv->p, &c->cmd, key, sizeof(key), &err) != PV_OK) {
        c->field_errors =
            err.detail != NULL ? json_object_get(pv_json_member(err.detail, "field_errors")) : NULL;
        snprintf(c->reason, sizeof(c->reason), "%s", err.errstr);
        pv_error_clear(&err);
        *failed = 1;
        return NULL;
    }
    int64_t now = pw_engine_mono_ms();
    int free_slot = -1, oldest = 0;
    for (int i = 0; i < PW_SPECS_MAX; i++) {
        pw_spec_entry *se = &pv->specs[i];
        if (se->key[0] != '\0' && strcmp(se->key, key) == 0) {
            if (se->spec != NULL && (now < se->expires_ms || se->fetching))
                return se->spec;
            if (!se->fetching)
                break; /* expired: fetch again below */
            return NULL;
        }
        if (se->key[0] == '\0' && free_slot < 0)
            free_slot = i;
        if (!se->fetching && se->expires_ms < pv->specs[oldest].expires_ms)
            oldest = i;
    }
    int slot = -1;
    for (int i = 0; i < PW_SPECS_MAX && slot < 0; i++)
        if (strcmp(pv->specs[i].key, key) == 0)
            slot = i;
    if (slot < 0)
        slot = free_slot >= 0 ? free_slot : oldest;
    pw_spec_entry *se = &pv->specs[slot];
    if (strcmp(se->key, key) != 0 && se->spec != NULL) {
        pv_provider_free_spec(pv->p, se->spec);
        se->spec = NULL;
    }
    snprintf(se->key, sizeof(se->key), "%s", key);
    pv_request req;
    pv_ctx ctx = pw_prov_ctx(pv, NULL);
    if (pv_provider_build_spec_request(pv->p, &c->cmd, &ctx, &req, &err) != PV_OK) {
        snprintf(c->reason, sizeof(c->reason), "%s", err.errstr);
        *failed = 1;
        return NULL;
    }
    pw_prov_fetch *f = pw_alloc_calloc(1, sizeof(*f));
    f->e = e;
    f->pv = pv;
    f->spec_slot = slot;
    se->fetching = 1;
    if (pw_http_send(e->http, pv->pc->url, &req, pv->pc->timeout_ms, pv->pc->connect_timeout_ms,
                     pw_prov_on_spec, f, errstr, sizeof(errstr)) == NULL) {
        se->fetching = 0;
        free(f);
        snprintf(c->reason, sizeof(c->reason), "%s", errstr);
        *failed = 1;
    }
    pv_request_clear(&req);
    return NULL;
}
