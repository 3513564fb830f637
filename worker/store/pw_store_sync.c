/* pw_store_sync.c -- the synchronous helpers (payctl, the configuration
 * check): hiredis's blocking API, no event loop; the same scripts (always
 * EVAL) and the same replies as the async store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pw_alloc.h"
#include "pw_store_int.h"

/*---- Synchronous helpers --------------------------------------------------*/

struct pw_store_sync {
    redisContext *c;
    pw_store_addr addr;
};

static redisReply *pw_store_sync_cmd(pw_store_sync *sync, int argc, const char **argv,
                                     const size_t *lens, char *errstr, size_t cap)
{
    if (sync->c->err) {
        snprintf(errstr, cap, "redis %s: %s", sync->addr.display, sync->c->errstr);
        return NULL;
    }
    redisReply *r = redisCommandArgv(sync->c, argc, argv, lens);
    if (r == NULL)
        snprintf(errstr, cap, "redis %s: %s", sync->addr.display,
                 sync->c->err ? sync->c->errstr : "no answer");
    return r;
}

pw_store_sync *pw_store_sync_new(const char *url, int timeout_ms, char *errstr, size_t cap)
{
    pw_store_sync *sync = pw_alloc_calloc(1, sizeof(*sync));
    if (sync == NULL) {
        snprintf(errstr, cap, "redis: out of memory");
        return NULL;
    }
    if (pw_store_url_parse(url, &sync->addr, errstr, cap) != 0) {
        free(sync);
        return NULL;
    }
    struct timeval tv;
    pw_store_timeval(&tv, timeout_ms > 0 ? timeout_ms : 2000);
    sync->c = sync->addr.is_unix ? redisConnectUnixWithTimeout(sync->addr.path, tv)
                                 : redisConnectWithTimeout(sync->addr.host, sync->addr.port, tv);
    if (sync->c == NULL || sync->c->err) {
        snprintf(errstr, cap, "redis %s: %s", sync->addr.display,
                 sync->c != NULL ? sync->c->errstr : "out of memory");
        pw_store_sync_free(sync);
        return NULL;
    }
    redisSetTimeout(sync->c, tv);
    redisReply *r = NULL;
    if (sync->addr.has_auth) {
        const char *argv[3] = {"AUTH", sync->addr.user, sync->addr.pass};
        size_t lens[3] = {4, strlen(sync->addr.user), strlen(sync->addr.pass)};
        if (sync->addr.user[0] == '\0') {
            argv[1] = sync->addr.pass;
            lens[1] = lens[2];
        }
        r = pw_store_sync_cmd(sync, sync->addr.user[0] != '\0' ? 3 : 2, argv, lens, errstr, cap);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (r != NULL)
                snprintf(errstr, cap, "redis %s: AUTH failed: %.150s", sync->addr.display, r->str);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (sync->addr.db != 0) {
        char db[24];
        snprintf(db, sizeof(db), "%ld", sync->addr.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        r = pw_store_sync_cmd(sync, 2, argv, lens, errstr, cap);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (r != NULL)
                snprintf(errstr, cap, "redis %s: SELECT failed: %.150s", sync->addr.display,
                         r->str);
            goto fail;
        }
        freeReplyObject(r);
    }
    return sync;
fail:
    if (r != NULL)
        freeReplyObject(r);
    pw_store_sync_free(sync);
    return NULL;
}

void pw_store_sync_free(pw_store_sync *sync)
{
    if (sync == NULL)
        return;
    if (sync->c != NULL)
        redisFree(sync->c);
    free(sync);
}

static pw_store_reply *pw_store_sync_run(pw_store_sync *sync, int script, pw_store_args *args)
{
    pw_store_sync_reply *out = pw_alloc_calloc(1, sizeof(*out));
    if (out == NULL) {
        pw_store_args_clear(args);
        return NULL;
    }
    const char *argv[3 + PW_STORE_NARGS_MAX];
    size_t lens[3 + PW_STORE_NARGS_MAX];
    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = pw_store_lua[script];
    lens[1] = strlen(argv[1]);
    argv[2] = PW_STORE_NKEYS_STR;
    lens[2] = 1;
    for (int i = 0; i < args->n; i++) {
        argv[3 + i] = args->v[i];
        lens[3 + i] = args->len[i];
    }
    out->raw = pw_store_sync_cmd(sync, 3 + args->n, argv, lens, out->error, sizeof(out->error));
    pw_store_args_clear(args);
    if (out->raw == NULL) {
        pw_store_reply_init(&out->pub);
        out->pub.outcome = PW_STORE_ERROR;
        out->pub.error = out->error;
        return &out->pub;
    }
    pw_store_reply_parse(out->raw, script, &out->pub, &out->parsed, out->error, sizeof(out->error));
    return &out->pub;
}

pw_store_reply *pw_store_sync_lookup(pw_store_sync *sync, const char *key)
{
    pw_store_args a = {0};
    if (sync == NULL || pw_store_args_build_lookup(&a, key) != 0) {
        pw_store_args_clear(&a);
        return NULL;
    }
    return pw_store_sync_run(sync, PW_SCRIPT_LOOKUP, &a);
}

pw_store_reply *pw_store_sync_resolve(pw_store_sync *sync, const pw_store_resolve_args *args)
{
    pw_store_args a = {0};
    if (sync == NULL || pw_store_args_build_resolve(&a, args, 7 * PW_STORE_DAY_MS) != 0) {
        pw_store_args_clear(&a);
        return NULL;
    }
    return pw_store_sync_run(sync, PW_SCRIPT_RESOLVE, &a);
}

pw_store_reply *pw_store_sync_unknowns(pw_store_sync *sync, size_t limit)
{
    pw_store_args a = {0};
    if (sync == NULL || pw_store_args_build_unknowns(&a, limit) != 0) {
        pw_store_args_clear(&a);
        return NULL;
    }
    return pw_store_sync_run(sync, PW_SCRIPT_UNKNOWNS, &a);
}
