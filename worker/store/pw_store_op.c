/* pw_store_op.c -- the async store's operations: each accepted one queued,
 * sent (EVALSHA, EVAL after NOSCRIPT, WAIT after a claim), timed and answered
 * exactly once. Op lifetime and re-entrancy: the DESIGN (implementation)
 * comment of pw_store.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pw_alloc.h"
#include "pw_store_int.h"

/*---- Ops ------------------------------------------------------------------*/

static void pw_store_op_unlink(pw_store *s, pw_store_op *op)
{
    if (!op->linked)
        return;
    op->linked = 0;
    if (op->prev != NULL)
        op->prev->next = op->next;
    else
        s->ops = op->next;
    if (op->next != NULL)
        op->next->prev = op->prev;
    op->prev = NULL;
    op->next = NULL;
}

static void pw_store_op_release(pw_store_op *op)
{
    if (op->store != NULL || op->in_redis)
        return;
    pw_store_args_clear(&op->args);
    free(op);
}

/* Answers op exactly once (op->store must still be set). */
static void pw_store_op_answer(pw_store_op *op, const pw_store_reply *reply)
{
    pw_store_op_unlink(op->store, op);
    op->store = NULL;
    if (op->timer != NULL) {
        event_free(op->timer);
        op->timer = NULL;
    }
    pw_store_cb cb = op->cb;
    void *ud = op->ud;
    op->cb = NULL;
    cb(ud, reply);
    pw_store_op_release(op);
}

static void pw_store_op_fail(pw_store_op *op, const char *why)
{
    pw_store_reply reply;
    pw_store_reply_init(&reply);
    reply.outcome = PW_STORE_ERROR;
    reply.error = why;
    if (op->waiting)
        reply.fence = op->fence;
    pw_store_op_answer(op, &reply);
}

/* Moves the ops matching (all, or only those sent on the connection) out of
 * the store into a private chain, then answers each ERROR why. */
void pw_store_op_fail_all(pw_store *s, int only_sent, const char *why)
{
    pw_store_op *chain = NULL, *tail = NULL;
    pw_store_op *op = s->ops;
    while (op != NULL) {
        pw_store_op *next = op->next;
        if (!only_sent || !op->deferred) {
            pw_store_op_unlink(s, op);
            if (tail != NULL)
                tail->next = op;
            else
                chain = op;
            tail = op;
        }
        op = next;
    }
    char copy[PW_STORE_WHY_MAX];
    snprintf(copy, sizeof(copy), "%s", why); /* why may live in s->why */
    while (chain != NULL) {
        op = chain;
        chain = op->next;
        op->next = NULL;
        pw_store_op_fail(op, copy);
    }
}

static void pw_store_op_on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Queues op on the connection: EVALSHA, or EVAL once Redis said NOSCRIPT. */
static int pw_store_op_send(pw_store *s, pw_store_op *op)
{
    const char *argv[3 + PW_STORE_NARGS_MAX];
    size_t lens[3 + PW_STORE_NARGS_MAX];
    if (op->script == PW_SCRIPT_PING) {
        argv[0] = "PING";
        lens[0] = 4;
        if (s->ac == NULL ||
            redisAsyncCommandArgv(s->ac, pw_store_op_on_reply, op, 1, argv, lens) != REDIS_OK)
            return -1;
        op->in_redis = 1;
        return 0;
    }
    if (op->fallback) {
        argv[0] = "EVAL";
        argv[1] = pw_store_lua[op->script];
    } else {
        argv[0] = "EVALSHA";
        argv[1] = s->sha[op->script];
    }
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    argv[2] = PW_STORE_NKEYS_STR;
    lens[2] = 1;
    for (int i = 0; i < op->args.n; i++) {
        argv[3 + i] = op->args.v[i];
        lens[3 + i] = op->args.len[i];
    }
    if (s->ac == NULL || redisAsyncCommandArgv(s->ac, pw_store_op_on_reply, op, 3 + op->args.n,
                                               argv, lens) != REDIS_OK)
        return -1;
    op->in_redis = 1;
    return 0;
}

static int pw_store_op_send_wait(pw_store *s, pw_store_op *op)
{
    char n[16], ms[24];
    snprintf(n, sizeof(n), "%d", s->opts.replicas);
    snprintf(ms, sizeof(ms), "%d", s->opts.replicas_timeout_ms);
    const char *argv[3] = {"WAIT", n, ms};
    size_t lens[3] = {4, strlen(n), strlen(ms)};
    if (s->ac == NULL ||
        redisAsyncCommandArgv(s->ac, pw_store_op_on_reply, op, 3, argv, lens) != REDIS_OK)
        return -1;
    op->in_redis = 1;
    return 0;
}

static void pw_store_op_on_timer(evutil_socket_t fd, short what, void *arg);

/* Takes an op whose args are built; answers it through the loop. */
int pw_store_op_submit(pw_store *s, int script, pw_store_args *args, pw_store_cb cb, void *ud)
{
    pw_store_op *op = pw_alloc_calloc(1, sizeof(*op));
    if (op == NULL) {
        pw_store_args_clear(args);
        return -1;
    }
    op->timer = evtimer_new(s->base, pw_store_op_on_timer, op);
    if (op->timer == NULL) {
        pw_store_args_clear(args);
        free(op);
        return -1;
    }
    op->store = s;
    op->script = script;
    op->cb = cb;
    op->ud = ud;
    op->args = *args;
    args->n = 0;
    op->next = s->ops;
    if (s->ops != NULL)
        s->ops->prev = op;
    s->ops = op;
    op->linked = 1;

    struct timeval tv;
    if (s->ready && pw_store_op_send(s, op) == 0) {
        pw_store_timeval(&tv, s->opts.command_timeout_ms);
    } else {
        op->deferred = 1;
        snprintf(op->error, sizeof(op->error), "redis unavailable: %.400s",
                 s->why[0] != '\0' ? s->why : "cannot queue the command");
        pw_store_timeval(&tv, 0);
    }
    evtimer_add(op->timer, &tv);
    return 0;
}

/*---- Replies --------------------------------------------------------------*/

static void pw_store_op_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_store_op *op = arg;
    pw_store *s = op->store;
    pw_store_enter(s);
    if (op->deferred) {
        pw_store_op_fail(op, op->error);
    } else {
        char why[PW_STORE_WHY_MAX];
        snprintf(why, sizeof(why), "redis %s: no answer to %s within %d ms", s->addr.display,
                 op->waiting                    ? "WAIT"
                 : op->script == PW_SCRIPT_PING ? "PING"
                                                : pw_store_script_name[op->script],
                 s->opts.command_timeout_ms + (op->waiting ? s->opts.replicas_timeout_ms : 0));
        pw_store_drop(s, why); /* answers op and everything behind it */
    }
    pw_store_leave(s);
}

static void pw_store_op_on_wait_reply(pw_store *s, pw_store_op *op, const redisReply *reply)
{
    char why[PW_STORE_WHY_MAX];
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer >= s->opts.replicas) {
        pw_store_reply out;
        pw_store_reply_init(&out);
        out.outcome = PW_STORE_CLAIMED;
        out.fence = op->fence;
        out.status = "INFLIGHT";
        pw_store_op_answer(op, &out);
        return;
    }
    if (reply->type == REDIS_REPLY_INTEGER)
        snprintf(why, sizeof(why),
                 "claim acknowledged by %lld of %d replicas within %d ms: do not call the "
                 "provider; retry the claim with the same token",
                 reply->integer, s->opts.replicas, s->opts.replicas_timeout_ms);
    else
        snprintf(why, sizeof(why), "redis WAIT failed: %.150s",
                 reply->type == REDIS_REPLY_ERROR && reply->str != NULL ? reply->str : "?");
    pw_store_op_fail(op, why);
}

static void pw_store_op_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    pw_store_op *op = privdata;
    redisReply *reply = r;
    op->in_redis = 0;
    pw_store *s = op->store;
    if (s == NULL) { /* answered already (timeout, drop, close) */
        pw_store_op_release(op);
        return;
    }
    pw_store_enter(s);
    if (reply == NULL) {
        /* hiredis is freeing the connection: lost answers op with the rest */
        if (s->ac == ac)
            pw_store_lost(s, ac, ac->errstr);
        else
            pw_store_op_fail(op, "redis: connection closed");
        pw_store_leave(s);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR && !op->waiting && !op->fallback && reply->str != NULL &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        op->fallback = 1; /* scripts flushed (SCRIPT FLUSH, failover): run EVAL */
        if (pw_store_op_send(s, op) != 0)
            pw_store_op_fail(op, "redis unavailable: cannot queue EVAL");
        pw_store_leave(s);
        return;
    }
    if (op->waiting) {
        pw_store_op_on_wait_reply(s, op, reply);
        pw_store_leave(s);
        return;
    }
    if (op->script == PW_SCRIPT_PING) { /* any answer proves the connection alive */
        pw_store_reply out;
        pw_store_reply_init(&out);
        out.outcome = PW_STORE_OK;
        pw_store_op_answer(op, &out);
        pw_store_leave(s);
        return;
    }
    int readonly = reply->type == REDIS_REPLY_ERROR && reply->str != NULL &&
                   strncmp(reply->str, "READONLY", 8) == 0;
    char err[PW_STORE_WHY_MAX];
    pw_store_parsed parsed;
    pw_store_reply out;
    pw_store_reply_parse(reply, op->script, &out, &parsed, err, sizeof(err));
    if (out.outcome == PW_STORE_CLAIMED && s->opts.replicas > 0) {
        op->waiting = 1;
        op->fence = out.fence;
        pw_store_reply_parsed_clear(&parsed);
        if (pw_store_op_send_wait(s, op) != 0) {
            pw_store_op_fail(op, "redis unavailable: cannot queue WAIT");
        } else {
            struct timeval tv;
            pw_store_timeval(&tv, s->opts.command_timeout_ms + s->opts.replicas_timeout_ms);
            evtimer_add(op->timer, &tv);
        }
        pw_store_leave(s);
        return;
    }
    pw_store_op_answer(op, &out);
    pw_store_reply_parsed_clear(&parsed);
    if (readonly && s->ac == ac) {
        char why[PW_STORE_WHY_MAX];
        snprintf(why, sizeof(why), "redis %s is a read-only replica: reconnecting",
                 s->addr.display);
        pw_store_drop(s, why);
    }
    pw_store_leave(s);
}
