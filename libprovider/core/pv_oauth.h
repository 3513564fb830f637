/* pv_oauth.h -- OAuth2 client credentials (RFC 6749 §4.4), the token that
 * Sipay and İş Bankası use: the token request and the reading of its answer.
 * Pure functions: the worker does the I/O and caches the token. */
#ifndef PV_OAUTH_H
#define PV_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "pv_error.h"
#include "pv_request.h"

#define PV_TOKEN_MAX 4096

typedef struct pv_token {
    char access_token[PV_TOKEN_MAX];
    int64_t expires_in_s; /* lifetime the provider announced */
} pv_token;

/* Fills req with POST path, form grant_type=client_credentials, client_id,
 * client_secret and scope (left out when NULL or empty) and Accept JSON.
 * A missing id or secret is PV_ECONFIG naming the setting. Adapters add
 * their own extra headers afterwards. */
int pv_oauth_token_request(pv_request *req, const char *path, const char *client_id,
                           const char *client_secret, const char *scope, pv_error *err);

/* Reads a token answer {access_token, token_type?, expires_in?}. `who` names
 * the endpoint in errors ("Sipay token endpoint"). Non-2xx: 400/401/403 are
 * PV_ECONFIG (the client was refused), others PV_EUNAVAILABLE, both with the
 * OAuth `error` code when there is one. expires_in absent gives
 * default_expires_s. The token is never quoted in an error, nor is any
 * other part of the body but the OAuth error code. */
int pv_oauth_parse_token(const char *who, int http_status, const char *body, size_t len,
                         int64_t default_expires_s, pv_token *tok, pv_error *err);

#endif
