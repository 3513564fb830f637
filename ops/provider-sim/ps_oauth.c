/* ps_oauth.c -- OAuth2 client credentials (Sipay, İş Bankası): the tokens issued and
 * checked, and the token endpoint. */
#include "ps_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*---- Tokens ----*/

/* Issues a token for provider p: "<slot in hex>.<32 hex digits>"; the slot
 * makes the check O(1). */
static const char *ps_oauth_token_issue(ps_sim *sim, ps_pid p)
{
    ps_tokens *ts = &sim->tokens[p];
    unsigned slot = ts->next++ % PS_TOKENS;
    ps_token *t = &ts->t[slot];
    uint64_t a = ps_rng_next(&sim->token_rng), b = ps_rng_next(&sim->token_rng);
    snprintf(t->value, sizeof(t->value), "%02x.%016" PRIx64 "%016" PRIx64, slot, a, b);
    t->expires_ms = ps_time_now_ms() + sim->cfg.token_ttl_s * 1000;
    return t->value;
}

/* True when `auth` is "Bearer <a live token of provider p>". */
bool ps_oauth_token_check(ps_sim *sim, ps_pid p, const char *auth)
{
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *tok = auth + 7;
    while (*tok == ' ')
        tok++;
    char *end;
    errno = 0;
    unsigned long slot = strtoul(tok, &end, 16);
    if (errno != 0 || end != tok + 2 || slot >= PS_TOKENS)
        return false;
    const ps_token *t = &sim->tokens[p].t[slot];
    return t->value[0] != '\0' && strcmp(t->value, tok) == 0 && ps_time_now_ms() < t->expires_ms;
}

/*---- OAuth2 client credentials (Sipay, İş Bankası) ----*/

static void ps_oauth_error(ps_call *c, int status, const char *error, const char *description)
{
    ps_jw w;
    ps_call_refuse(c, status, status == 401 ? PS_ST_AUTH : PS_ST_BAD, &w);
    ps_jw_kstr(&w, "error", error);
    ps_jw_kstr(&w, "error_description", description);
    ps_jw_end(&w);
}

/* Reads a form field into buf ("" when absent). False when malformed or
 * too long. */
static bool ps_oauth_form_field(ps_call *c, const char *name, char *buf, size_t cap)
{
    char *v = NULL;
    size_t len = 0;
    int rc = ps_call_form_get(c->body, c->body_len, name, &v, &len);
    buf[0] = '\0';
    if (rc == 0)
        return true;
    bool ok = rc > 0 && len < cap && memchr(v, '\0', len) == NULL;
    if (ok)
        memcpy(buf, v, len + 1);
    free(v);
    return ok;
}

/* The token endpoint of provider p: grant_type=client_credentials with the
 * client in the form (RFC 6749 §4.4, client_secret_post). Answers the
 * token, or the RFC's error codes. */
void ps_oauth_token(ps_call *c, const char *client_id, const char *client_secret,
                    const char *scope_granted)
{
    char grant[64], id[256], secret[256], scope[256];
    if (!ps_call_is_form(c)) {
        ps_oauth_error(c, 400, "invalid_request",
                       "Content-Type must be application/x-www-form-urlencoded");
        return;
    }
    if (!ps_oauth_form_field(c, "grant_type", grant, sizeof(grant)) ||
        !ps_oauth_form_field(c, "client_id", id, sizeof(id)) ||
        !ps_oauth_form_field(c, "client_secret", secret, sizeof(secret)) ||
        !ps_oauth_form_field(c, "scope", scope, sizeof(scope))) {
        ps_oauth_error(c, 400, "invalid_request", "the form body is malformed");
        return;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        ps_oauth_error(c, 400, "unsupported_grant_type",
                       grant[0] == '\0' ? "grant_type is missing"
                                        : "only client_credentials is supported");
        return;
    }
    if (strcmp(id, client_id) != 0 || strcmp(secret, client_secret) != 0) {
        ps_oauth_error(c, 401, "invalid_client", "unknown client or wrong secret");
        return;
    }
    /* every scope asked for must be the one granted */
    if (scope_granted != NULL) {
        size_t glen = strlen(scope_granted);
        for (const char *s = scope; *s != '\0';) {
            size_t n = strcspn(s, " ");
            if (n > 0 && (n != glen || memcmp(s, scope_granted, n) != 0)) {
                ps_oauth_error(c, 400, "invalid_scope", "the scope asked for is not granted");
                return;
            }
            s += n;
            s += strspn(s, " ");
        }
    }
    const char *token = ps_oauth_token_issue(c->sim, c->provider);
    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_call_out_header(c, "Cache-Control", "no-store");
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "access_token", token);
    ps_jw_kint(&w, "expires_in", c->sim->cfg.token_ttl_s);
    ps_jw_kstr(&w, "token_type", "Bearer");
    if (scope_granted != NULL)
        ps_jw_kstr(&w, "scope", scope_granted);
    else if (scope[0] != '\0')
        ps_jw_kstr(&w, "scope", scope);
    ps_jw_end(&w);
}
