/* pw_prov.h -- one provider's state in the engine: its call slots (at most
 * PAYW_<P>_CONCURRENCY calls in flight; commands beyond wait in a list), its
 * OAuth token (fetched and cached here, never by the adapter), İş Bankası's
 * service specs (cached an hour), and its stop when its credentials are
 * refused (FATAL). Internal to the engine's files. */
#ifndef PW_PROV_H
#define PW_PROV_H

#include <stdint.h>

#include "provider.h"
#include "pw_config.h"

#define PW_SPECS_MAX   64
#define PW_SPEC_TTL_MS (3600 * 1000)

typedef struct pw_engine pw_engine;
typedef struct pw_cmd pw_cmd;

typedef struct pw_spec_entry {
    char key[64];
    void *spec;
    int64_t expires_ms;
    int fetching;
} pw_spec_entry;

typedef struct pw_prov {
    const pv_provider *p;
    pw_provider_conf *pc;
    int idx;
    int64_t inflight;
    pw_cmd *wait_head, *wait_tail; /* claimed, waiting for a slot or a prerequisite */
    char *token;
    int64_t token_expires_ms;
    int token_fetching;
    pw_spec_entry specs[PW_SPECS_MAX];
    int fatal;
} pw_prov;

/* c waits for a slot or a prerequisite; pw_prov_kick runs the waiting ones
 * again (a slot freed, a token or spec arrived); unwait takes one out. */
void pw_prov_wait(pw_prov *pv, pw_cmd *c);
void pw_prov_unwait(pw_prov *pv, pw_cmd *c);
void pw_prov_kick(pw_prov *pv);
/* A prerequisite could not be had: every waiting command counts an attempt
 * and backs off (or ends FAILED). */
void pw_prov_fail_waiters(pw_prov *pv, const char *why);
/* FATAL: the provider takes no more calls until the worker restarts. */
void pw_prov_stop(pw_prov *pv, const char *why);
/* What the adapter sees: settings, token, spec. */
pv_ctx pw_prov_ctx(pw_prov *pv, const void *spec);
/* Starts fetching the token; the caller waits. */
void pw_prov_fetch_token(pw_engine *e, pw_prov *pv);
/* The spec of c's service: ready (returned), being fetched (NULL), or not to
 * be had (NULL, *failed set, c->reason says why). */
void *pw_prov_spec(pw_engine *e, pw_prov *pv, pw_cmd *c, int *failed);

#endif
