/* provider.h -- the provider interface: one const ops table per provider.
 *
 * DESIGN
 * Like curl's `struct Curl_ssl` or an nginx upstream module, an adapter is a
 * set of hooks around a core that owns the network. Adapters turn a command
 * into the exact bytes of the provider's HTTP request and the provider's
 * answer back into an outcome, a result and balances. They never do I/O,
 * never read the clock or the environment and never log; secrets reach them
 * only through pv_ctx and never appear in an error message.
 *
 * Capability bits say which optional hooks exist (an inquiry, a token, a
 * service spec); the worker asks the bits, never the provider's name.
 * The registry `pv_providers` is a NULL-terminated array of all adapters.
 *
 * Threading: everything here is pure and reentrant.
 */
#ifndef PV_PROVIDER_H
#define PV_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "pv_domain.h"
#include "pv_error.h"
#include "pv_oauth.h"
#include "pv_request.h"

/*---- Capabilities ----*/

#define PV_CAP_INQUIRY  (1u << 0) /* build_inquiry/parse_inquiry settle an UNKNOWN */
#define PV_CAP_BATCH    (1u << 1) /* the API takes several items in one call */
#define PV_CAP_PARTIAL  (1u << 2) /* partial amounts are accepted */
#define PV_CAP_OAUTH    (1u << 3) /* needs a bearer token: token hooks present */
#define PV_CAP_SPEC     (1u << 4) /* validates against a fetched spec: spec hooks */
#define PV_CAP_READONLY (1u << 5) /* moves no money: any failure is safe to retry */
#define PV_CAP_BALANCE  (1u << 6) /* answers may carry balances */

/*---- Settings (credentials and options) ----*/

/* One setting an adapter needs from configuration. The worker derives the
 * environment variable from it: PAYW_<PROVIDER>_<NAME upper-cased>. */
typedef struct pv_setting {
    const char *name;          /* "api_key"; NULL ends the list */
    bool secret;               /* redacted in --print-config, never logged */
    bool required;             /* start-up fails without it */
    const char *default_value; /* NULL when none */
    const char *doc;
} pv_setting;

/* What the worker hands an adapter for one call. */
typedef struct pv_ctx {
    const char *const *settings; /* values parallel to provider->settings; NULL when unset */
    const char *token;           /* bearer token (PV_CAP_OAUTH), NULL otherwise */
    const void *spec;            /* parsed spec (PV_CAP_SPEC), NULL otherwise */
} pv_ctx;

/*---- Transport faults (for the default classifier) ----*/

typedef enum pv_fault {
    PV_FAULT_CONNECT,   /* DNS, refused, TLS handshake: nothing was sent */
    PV_FAULT_SEND,      /* failed while sending the request: it may have arrived */
    PV_FAULT_NO_ANSWER, /* request sent, then timeout or reset before an answer */
} pv_fault;

/*---- The ops table ----*/

typedef struct pv_provider {
    const char *name;           /* "PAYOFIN": the command's provider field */
    const char *operation;      /* the one operation the worker performs */
    const char *query_id_field; /* documented name of the lock-key parameter */
    unsigned caps;              /* PV_CAP_* */
    const pv_setting *settings; /* NULL-name terminated */

    /* The lock key: the provider's query id taken from the command. */
    int (*query_id)(const pv_command *cmd, char *buf, size_t cap, pv_error *err);

    /* Validates the command and builds the HTTP request. On failure the
     * request is left empty and err names the field; err->detail may hold
     * per-field errors. */
    int (*build_request)(const pv_command *cmd, const pv_ctx *ctx, pv_request *req, pv_error *err);

    /* Classifies the answer and fills res (never fails: a body it cannot use
     * becomes UNKNOWN or INVALID with res->error set). */
    void (*parse_response)(const pv_command *cmd, int http_status, const char *body, size_t len,
                           pv_result *res);

    /* PV_CAP_INQUIRY: the status inquiry for a command whose outcome is
     * unknown; parse_inquiry classifies the payment itself (SUCCEEDED when it
     * went through, DECLINED when it certainly did not, UNKNOWN otherwise). */
    int (*build_inquiry)(const pv_command *cmd, const pv_ctx *ctx, pv_request *req, pv_error *err);
    void (*parse_inquiry)(const pv_command *cmd, int http_status, const char *body, size_t len,
                          pv_result *res);

    /* PV_CAP_OAUTH: token request and answer. */
    int (*build_token_request)(const pv_ctx *ctx, pv_request *req, pv_error *err);
    int (*parse_token)(int http_status, const char *body, size_t len, pv_token *tok, pv_error *err);

    /* PV_CAP_SPEC: the spec a command is validated against, its cache key,
     * how to fetch it and how to parse it (the result goes in pv_ctx.spec). */
    int (*spec_key)(const pv_command *cmd, char *buf, size_t cap, pv_error *err);
    int (*build_spec_request)(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                              pv_error *err);
    void *(*parse_spec)(int http_status, const char *body, size_t len, pv_error *err);
    void (*free_spec)(void *spec);

    /* Optional: classification of transport faults; NULL uses
     * pv_classify_fault_default. */
    pv_outcome (*classify_fault)(const struct pv_provider *p, pv_fault fault);
} pv_provider;

/* NULL-terminated registry of every adapter. */
extern const pv_provider *const pv_providers[];

extern const pv_provider pv_payofin;
extern const pv_provider pv_sipay;
extern const pv_provider pv_paywall;
extern const pv_provider pv_isbank;
extern const pv_provider pv_payone;

/* Registry look-up by name (exact, upper case); NULL when unknown. */
const pv_provider *pv_provider_find(const char *name);
/* Index of a setting by name, -1 when the adapter has none of that name. */
int pv_provider_setting_index(const pv_provider *p, const char *name);
/* Value of setting i in ctx, falling back to its default; NULL when unset. */
const char *pv_provider_setting(const pv_provider *p, const pv_ctx *ctx, int i);

/*---- Shared classification helpers ----*/

/* Outcome of an HTTP status that carries no usable provider envelope:
 * 401/403 FATAL; 408/425/429/503 RETRY; other 4xx INVALID; 5xx and anything
 * unexpected UNKNOWN. A READONLY provider never gets UNKNOWN: RETRY instead. */
pv_outcome pv_classify_http_default(const pv_provider *p, int http_status);

/* Default transport classification: CONNECT is RETRY; SEND and NO_ANSWER are
 * UNKNOWN (RETRY for a READONLY provider). */
pv_outcome pv_classify_fault_default(const pv_provider *p, pv_fault fault);

/* Runs p->classify_fault or the default. */
pv_outcome pv_classify_fault(const pv_provider *p, pv_fault fault);

/* Checks that every required setting of p has a value in ctx (or a default).
 * PV_ECONFIG names the first one missing and its environment variable
 * ("PAYOFIN setting api_key is not configured (PAYW_PAYOFIN_API_KEY)").
 * The worker runs it at start-up for every enabled provider. */
int pv_provider_check_settings(const pv_provider *p, const pv_ctx *ctx, pv_error *err);

/* True when p has every capability bit of caps (PV_CAP_BALANCE: its answers
 * may carry balances). */
bool pv_provider_has(const pv_provider *p, unsigned caps);

/* The contracts' partial-amount parameter (PayofinInvoicePayment
 * .partialAmount). A command that carries one for a provider without
 * PV_CAP_PARTIAL is refused by the checked entry points below:
 * PV_EVALIDATION on "request.partialAmount", the code and field the codec
 * gives the same key (a field that provider's schema lacks). */
#define PV_PARTIAL_FIELD "partialAmount"

/* What the worker calls instead of p->build_request: checks the settings
 * first, so a missing credential is reported the same way for every adapter,
 * then the partial amount (PV_CAP_PARTIAL), then builds. On failure req is
 * left empty. */
int pv_provider_build_request(const pv_provider *p, const pv_command *cmd, const pv_ctx *ctx,
                              pv_request *req, pv_error *err);

/* What the worker calls instead of p->build_inquiry: PV_EUNSUPPORTED for a
 * provider without PV_CAP_INQUIRY; otherwise the checks of
 * pv_provider_build_request, then the inquiry. On failure req is left
 * empty. */
int pv_provider_build_inquiry(const pv_provider *p, const pv_command *cmd, const pv_ctx *ctx,
                              pv_request *req, pv_error *err);

/* What the worker calls instead of p->query_id: the lock key (the provider's
 * query id) of cmd into buf. PV_EUNSUPPORTED when p has no query_id hook. */
int pv_provider_query_id(const pv_provider *p, const pv_command *cmd, char *buf, size_t cap,
                         pv_error *err);

/* What the worker calls instead of the token and spec hooks: each refuses
 * (PV_EUNSUPPORTED naming the capability) a provider without PV_CAP_OAUTH
 * or PV_CAP_SPEC or without the hook, then calls it. The token request is
 * built after the settings check (its credentials are settings). On failure
 * req is left empty; pv_provider_parse_spec returns NULL with err set;
 * pv_provider_free_spec takes NULL. */
int pv_provider_build_token_request(const pv_provider *p, const pv_ctx *ctx, pv_request *req,
                                    pv_error *err);
int pv_provider_parse_token(const pv_provider *p, int http_status, const char *body, size_t len,
                            pv_token *tok, pv_error *err);
int pv_provider_spec_key(const pv_provider *p, const pv_command *cmd, char *buf, size_t cap,
                         pv_error *err);
int pv_provider_build_spec_request(const pv_provider *p, const pv_command *cmd, const pv_ctx *ctx,
                                   pv_request *req, pv_error *err);
void *pv_provider_parse_spec(const pv_provider *p, int http_status, const char *body, size_t len,
                             pv_error *err);
void pv_provider_free_spec(const pv_provider *p, void *spec);

/* What the worker calls instead of the raw hooks: runs p->parse_response (or
 * p->parse_inquiry) and then enforces the core's invariants, whatever the
 * adapter did:
 *  - only a 2xx answer can be SUCCEEDED (a success body under a 500 is UNKNOWN);
 *  - a success whose fields could not all be read (res->error set) is UNKNOWN
 *    (RETRY for a READONLY provider): we do not know what was paid;
 *  - an outcome outside the enum is UNKNOWN;
 *  - an answer with two keys equal but for case or escaping (pv_json_check_keys)
 *    is UNKNOWN (RETRY for a READONLY provider), FATAL excepted;
 *  - the adapter reads text that is UTF-8: bytes that are not are replaced by
 *    U+FFFD first, and res->text_replaced says how many;
 *  - balances come only from a provider with PV_CAP_BALANCE (others' are
 *    dropped: no balance event is published for them).
 * http_status is the status line's code; body may be NULL when len is 0. */
void pv_provider_parse_response(const pv_provider *p, const pv_command *cmd, int http_status,
                                const char *body, size_t len, pv_result *res);
void pv_provider_parse_inquiry(const pv_provider *p, const pv_command *cmd, int http_status,
                               const char *body, size_t len, pv_result *res);

/* Secrets in what a provider says: an answer may echo the credentials (a
 * Payofin -22 quoting ApiKey=...). These replace every occurrence of the
 * provider's secret settings (those of at least 4 bytes) and of its token by
 * "***" in res's text (code, message, error, references, detail) or in buf;
 * the worker runs them on every answer before anything reads it. They return
 * how many were replaced. At most PV_SECRETS_MAX secrets a provider. */
#define PV_SECRETS_MAX 16
size_t pv_provider_redact(const pv_provider *p, const pv_ctx *ctx, pv_result *res);
size_t pv_provider_redact_text(const pv_provider *p, const pv_ctx *ctx, char *buf, size_t cap);

/* For adapters: the command's request object, or an error naming it. */
int pv_command_request(const pv_command *cmd, json_object **obj, pv_error *err);

#endif
