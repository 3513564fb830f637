/* pw_cmd.c -- the life of one command: its state machine.
 *
 * DESIGN
 * A command (pw_cmd) is created when its message is consumed (pw_consume.c)
 * and lives until every event it produced is acknowledged, or it is dropped
 * unclaimed (shutdown, revoke). It moves through the phases of pw_phase; every
 * change of phase is one event looked up in the transition table below,
 * pw_cmd_next, by pw_cmd_go, and nowhere else. A (phase, event) pair that is
 * not in the table is a bug: logged, and the phase stays.
 *
 *             CLAIM      REQUEUE  WAIT     SEND     BACKOFF  INQUIRE  RECORD     PUBLISH     HOLD
 *  QUEUED     CLAIMING   .        .        .        .        .        .          PUBLISHING  HELD
 *  CLAIMING   .          QUEUED   WAITING  CALLING  BACKOFF  .        FINISHING  PUBLISHING  HELD
 *  WAITING    .          .        WAITING  CALLING  BACKOFF  .        FINISHING  .           HELD
 *  CALLING    .          .        WAITING  CALLING  BACKOFF  INQUIRING FINISHING .           HELD
 *  BACKOFF    .          .        WAITING  CALLING  BACKOFF  .        FINISHING  .           HELD
 *  INQUIRING  .          .        .        .        .        .        FINISHING  .           .
 *  FINISHING  .          .        .        .        .        .        .          PUBLISHING  .
 *  PUBLISHING .          .        .        .        .        .        .          .           .
 *  HELD       .          .        .        .        .        .        .          .           .
 *
 * In words: a command at the head of its key (pw_keyq) with one of the
 * max_inflight slots is CLAIMED in Redis (pw_store). The store decides: a
 * command that has its own answer gets it again (PUBLISH the stored event:
 * a replay); an answer decided by the invoice's state (DUPLICATE, UNKNOWN,
 * EXPIRED) is RECORDed as the command's own, then PUBLISHed; a held lock or a
 * Redis error REQUEUEs it (claim again later, same token). Claimed, it WAITs
 * for a call slot or a prerequisite (OAuth token, İş Bankası service spec:
 * pw_prov.c) or SENDs the provider call, under a watchdog that extends the
 * lock. The outcome: SUCCEEDED/DECLINED/INVALID are RECORDed (finish);
 * RETRY (nothing was sent) BACKs OFF and calls again, within the attempts and
 * the time budget counted from the command's first attempt, then FAILED;
 * UNKNOWN INQUIREs where the provider can say, else UNKNOWN; FATAL (refused
 * credentials) stops the provider and HOLDs the command: its claim is given
 * back unanswered and it is neither answered nor committed, so that the next
 * owner pays it once the provider works. Recorded, its events are PUBLISHed
 * (pw_publish.c); once all are acknowledged it is done: its offset may
 * commit and the next command of its key starts.
 *
 * Ownership: every asynchronous operation a command starts (store, HTTP,
 * timer) holds the pointer; store_busy counts the store's, and a command is
 * never freed while one is pending (done_pending). Runs on the engine's loop.
 */
#include "pw_cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_json.h"
#include "pw_alloc.h"
#include "pw_backoff.h"
#include "pw_consume.h"
#include "pw_engine_int.h"
#include "pw_keyq.h"
#include "pw_log.h"
#include "pw_offsets.h"
#include "pw_prov.h"
#include "pw_publish.h"
#include "sc_codec.h"

/*---- The transition table ----*/

static const char *const pw_cmd_phase_names[PW_PHASES] = {"QUEUED",    "CLAIMING",   "WAITING",
                                                          "CALLING",   "BACKOFF",    "INQUIRING",
                                                          "FINISHING", "PUBLISHING", "HELD"};

static const char *const pw_cmd_event_names[PW_EV_COUNT] = {
    "CLAIM", "REQUEUE", "WAIT", "SEND", "BACKOFF", "INQUIRE", "RECORD", "PUBLISH", "HOLD"};

#define PW_NO -1 /* not a transition */

/* pw_cmd_next[phase][event]: the phase the event leads to. */
/* clang-format off */
static const signed char pw_cmd_next[PW_PHASES][PW_EV_COUNT] = {
    /*                 CLAIM        REQUEUE    WAIT        SEND        BACKOFF     INQUIRE       RECORD        PUBLISH        HOLD    */
    [PW_QUEUED]     = {PW_CLAIMING, PW_NO,     PW_NO,      PW_NO,      PW_NO,      PW_NO,        PW_NO,        PW_PUBLISHING, PW_HELD},
    [PW_CLAIMING]   = {PW_NO,       PW_QUEUED, PW_WAITING, PW_CALLING, PW_BACKOFF, PW_NO,        PW_FINISHING, PW_PUBLISHING, PW_HELD},
    [PW_WAITING]    = {PW_NO,       PW_NO,     PW_WAITING, PW_CALLING, PW_BACKOFF, PW_NO,        PW_FINISHING, PW_NO,         PW_HELD},
    [PW_CALLING]    = {PW_NO,       PW_NO,     PW_WAITING, PW_CALLING, PW_BACKOFF, PW_INQUIRING, PW_FINISHING, PW_NO,         PW_HELD},
    [PW_BACKOFF]    = {PW_NO,       PW_NO,     PW_WAITING, PW_CALLING, PW_BACKOFF, PW_NO,        PW_FINISHING, PW_NO,         PW_HELD},
    [PW_INQUIRING]  = {PW_NO,       PW_NO,     PW_NO,      PW_NO,      PW_NO,      PW_NO,        PW_FINISHING, PW_NO,         PW_NO},
    [PW_FINISHING]  = {PW_NO,       PW_NO,     PW_NO,      PW_NO,      PW_NO,      PW_NO,        PW_NO,        PW_PUBLISHING, PW_NO},
    [PW_PUBLISHING] = {PW_NO,       PW_NO,     PW_NO,      PW_NO,      PW_NO,      PW_NO,        PW_NO,        PW_NO,         PW_NO},
    [PW_HELD]       = {PW_NO,       PW_NO,     PW_NO,      PW_NO,      PW_NO,      PW_NO,        PW_NO,        PW_NO,         PW_NO},
};
/* clang-format on */

void pw_cmd_go(pw_cmd *c, pw_cmd_event ev)
{
    int next = pw_cmd_next[c->phase][ev];
    if (next == PW_NO) {
        pw_log(PW_LOG_ERROR, "command state machine: no such transition (a bug)", "command_id",
               c->cmd.command_id, "phase", pw_cmd_phase_names[c->phase], "event",
               pw_cmd_event_names[ev], NULL);
        c->e->m->transition_errors++;
        return;
    }
    c->phase = (pw_phase)next;
}

/*---- Life and death ----*/

static void pw_cmd_finish(pw_cmd *c);
static void pw_cmd_hold(pw_cmd *c);
static void pw_cmd_record(pw_cmd *c);
static void pw_cmd_settle(pw_cmd *c, pv_status status);
static void pw_cmd_replay(pw_cmd *c, const char *status, const unsigned char *bytes, size_t len);

pw_cmd *pw_cmd_new(pw_engine *e, int32_t partition, int64_t offset)
{
    pw_cmd *c = pw_alloc_calloc(1, sizeof(*c));
    c->e = e;
    c->partition = partition;
    c->offset = offset;
    c->fence = 0;
    pv_command_init(&c->cmd);
    c->all_next = e->all;
    if (e->all != NULL)
        e->all->all_prev = c;
    e->all = c;
    e->inflight++;
    return c;
}

/* The provider's answer, allocated at the first call: 5.8 KiB that a command
 * waiting in the backlog does not need (peak RSS, issue 6). */
static pv_result *pw_cmd_res(pw_cmd *c)
{
    if (c->res == NULL) {
        c->res = pw_alloc_malloc(sizeof(*c->res));
        pv_result_init(c->res);
    }
    return c->res;
}

void pw_cmd_free(pw_cmd *c)
{
    pw_engine *e = c->e;
    if (c->all_prev != NULL)
        c->all_prev->all_next = c->all_next;
    else
        e->all = c->all_next;
    if (c->all_next != NULL)
        c->all_next->all_prev = c->all_prev;
    if (c->timer != NULL)
        event_free(c->timer);
    if (c->watchdog != NULL)
        event_free(c->watchdog);
    for (int i = 0; i < c->nout; i++) {
        free(c->out[i].key);
        free(c->out[i].value);
    }
    free(c->raw);
    free(c->msg_key);
    json_object_put(c->field_errors);
    if (c->res != NULL)
        pv_result_clear(c->res);
    free(c->res);
    pv_command_clear(&c->cmd);
    if (c->in_slotq) { /* dropped while waiting for a slot */
        pw_cmd **pp = &e->slot_head, *prev = NULL;
        while (*pp != NULL && *pp != c) {
            prev = *pp;
            pp = &(*pp)->slot_next;
        }
        if (*pp == c) {
            *pp = c->slot_next;
            if (e->slot_tail == c)
                e->slot_tail = prev;
        }
    }
    e->inflight--;
    if (c->active)
        e->active--;
    e->m->inflight = e->active;
    free(c);
}

/* Every output acknowledged (or the command dropped): release it; its offset
 * may commit, and the next command of its key may start. */
void pw_cmd_done(pw_cmd *c)
{
    pw_engine *e = c->e;
    if (c->store_busy > 0) {
        c->done_pending = 1; /* a store reply still holds c (a watchdog extend) */
        return;
    }
    if (!c->dropped)
        pw_offsets_done(e, c->partition, c->offset);
    pw_cmd *next = c->in_keyq ? pw_keyq_remove(e, c) : NULL;
    pw_cmd_free(c);
    if (next != NULL)
        pw_cmd_start(next);
    while (e->slot_head != NULL && e->active < e->cfg->max_inflight) {
        pw_cmd *w = e->slot_head;
        e->slot_head = w->slot_next;
        if (e->slot_head == NULL)
            e->slot_tail = NULL;
        w->slot_next = NULL;
        w->in_slotq = 0;
        pw_cmd_start(w);
    }
    pw_consume_flow(e);
}

/* A store reply arrived for c: 1 when c must not be touched any more (the
 * engine is closing, or c was waiting for this reply to be freed). */
static int pw_cmd_store_returned(pw_cmd *c)
{
    c->store_busy--;
    if (c->e->closing)
        return 1;
    if (c->done_pending && c->store_busy == 0) {
        c->done_pending = 0;
        pw_cmd_done(c);
        return 1;
    }
    return 0;
}

static void pw_cmd_on_finish_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_finish(arg);
}

static void pw_cmd_on_finish(void *ud, const pw_store_reply *r)
{
    pw_cmd *c = ud;
    if (pw_cmd_store_returned(c))
        return;
    if (r->outcome == PW_STORE_ERROR) {
        /* not recorded: never publish before it is; try again */
        c->e->m->redis_errors++;
        pw_cmd_after(c, 200, pw_cmd_on_finish_retry);
        return;
    }
    if (r->outcome == PW_STORE_FENCED)
        pw_log(PW_LOG_ERROR, "result recorded by someone else first (fenced); publishing ours",
               "command_id", c->cmd.command_id, "key", c->key, NULL);
    if (c->phase == PW_HELD)
        return; /* provider stopped: nothing is published for it */
    pw_publish_cmd(c);
}

/* Records the claimed command's answer (or, held, gives the claim back
 * unanswered: nothing was sent, so the invoice is released and the command
 * may claim it again once the provider runs). */
static void pw_cmd_finish(pw_cmd *c)
{
    pw_engine *e = c->e;
    int held = c->phase == PW_HELD;
    pw_store_outcome st = held                               ? PW_STORE_RELEASED
                          : c->status == PV_STATUS_SUCCEEDED ? PW_STORE_DONE
                          : c->status == PV_STATUS_UNKNOWN   ? PW_STORE_UNKNOWN
                                                             : PW_STORE_RELEASED;
    pw_store_finish_args fa = {
        .key = c->key,
        .fence = c->fence,
        .token = c->token,
        .status = st,
        .result = c->nout > 0 ? (const unsigned char *)c->out[0].value : NULL,
        .result_len = c->nout > 0 ? c->out[0].len : 0,
        .retention_ms = e->cfg->retention_s * 1000,
        .reason = c->reason,
        .command_id = c->cmd.command_id,
        .answer = held ? NULL : pv_status_name(c->status),
        .digest = c->digest,
    };
    if (!held)
        pw_cmd_go(c, PW_EV_RECORD);
    if (pw_store_finish(e->store, &fa, pw_cmd_on_finish, c) == 0)
        c->store_busy++;
}

/* The provider is stopped (FATAL): c is never answered nor committed here;
 * its claim goes back so that it is paid once the provider runs again. */
static void pw_cmd_hold(pw_cmd *c)
{
    pw_cmd_go(c, PW_EV_HOLD);
    if (c->claimed) {
        c->claimed = 0;
        pw_cmd_finish(c);
    }
}

static void pw_cmd_on_record_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_record(arg);
}

/* The store's answer to a record: ours is recorded, or the command's
 * earlier final answer wins and is published instead. */
static void pw_cmd_on_record(void *ud, const pw_store_reply *r)
{
    pw_cmd *c = ud;
    if (pw_cmd_store_returned(c))
        return;
    if (r->outcome == PW_STORE_ERROR) {
        c->e->m->redis_errors++;
        pw_cmd_after(c, 200, pw_cmd_on_record_retry);
        return;
    }
    if (r->outcome == PW_STORE_ANSWERED && r->result_len > 0) {
        pw_cmd_replay(c, r->status, r->result, r->result_len); /* an earlier answer wins */
        return;
    }
    pw_publish_cmd(c);
}

/* An answer decided by the store's judgement, not by a call: recorded as
 * the command's own before it is published. */
static void pw_cmd_record(pw_cmd *c)
{
    pw_engine *e = c->e;
    pw_store_record_args ra = {
        .key = c->key,
        .command_id = c->cmd.command_id,
        .answer = pv_status_name(c->status),
        .result = (const unsigned char *)c->out[0].value,
        .result_len = c->out[0].len,
        .fence = c->fence,
        .digest = c->digest,
        .retention_ms = e->cfg->retention_s * 1000,
    };
    pw_cmd_go(c, PW_EV_RECORD);
    if (pw_store_record(e->store, &ra, pw_cmd_on_record, c) == 0)
        c->store_busy++;
    else
        pw_publish_cmd(c); /* cannot happen: the arguments are ours */
}

/* The command's final status: build the result event; record it when the
 * command holds a claim; publish. */
static void pw_cmd_settle(pw_cmd *c, pv_status status)
{
    char *bytes = NULL;
    size_t len = 0;
    c->status = status;
    if (c->watchdog != NULL)
        evtimer_del(c->watchdog);
    if (pw_publish_encode_result(c, status, &bytes, &len) != 0)
        return; /* cannot happen with our own schema; logged */
    pw_publish_add_result(c, bytes, len);
    if (status == PV_STATUS_REJECTED) {
        /* the original bytes, unchanged, with the reason in headers */
        c->e->m->rejected++;
        c->e->m->dlq++;
        char *raw = c->raw;
        c->raw = NULL;
        pw_publish_add(c, c->e->cfg->topic_dlq, c->msg_key, c->msg_key_len,
                       raw != NULL ? raw : pw_alloc_strdup(""), raw != NULL ? c->raw_len : 0, 1);
    }
    if (c->claimed)
        pw_cmd_finish(c);
    else if (c->judged)
        pw_cmd_record(c);
    else
        pw_publish_cmd(c);
}

/* Answers c with the result event stored with its answer (a replay: the
 * same event, the same event_id). status: the stored answer's name. */
static void pw_cmd_replay(pw_cmd *c, const char *status, const unsigned char *bytes, size_t len)
{
    /* out[0] is the result: ours when recorded first (pw_cmd_on_record) */
    if (c->nout == 0)
        pw_publish_add_result(c, NULL, 0);
    free(c->out[0].value);
    c->out[0].value = pw_alloc_malloc(len > 0 ? len : 1);
    memcpy(c->out[0].value, bytes, len);
    c->out[0].len = len;
    c->e->m->replays++;
    int s = pv_status_from_name(status);
    c->status = s >= 0 ? (pv_status)s : PV_STATUS_SUCCEEDED; /* for the log and metrics */
    snprintf(c->reason, sizeof(c->reason), "replay of the stored result");
    pw_publish_cmd(c);
}
/* A rejected command: a REJECTED result and the original bytes to the DLQ. */
void pw_cmd_reject(pw_cmd *c, const pv_error *err)
{
    pw_alloc_oom_check(err); /* out of memory is no reason to call a command invalid */
    snprintf(c->reason, sizeof(c->reason), "%s", err->errstr);
    snprintf(c->dlq_field, sizeof(c->dlq_field), "%s", err->field);
    if (err->detail != NULL && c->field_errors == NULL)
        c->field_errors = json_object_get(pv_json_member(err->detail, "field_errors"));
    pw_cmd_settle(c, PV_STATUS_REJECTED);
}

static void pw_cmd_on_timer_call(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_call(arg);
}

static void pw_cmd_on_timer_claim(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_start(arg);
}

void pw_cmd_after(pw_cmd *c, int64_t ms, event_callback_fn fn)
{
    if (c->timer != NULL)
        event_free(c->timer);
    c->timer = evtimer_new(c->e->base, fn, c);
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* A RETRY outcome: back off and call again, or end FAILED. */
void pw_cmd_retry_or_fail(pw_cmd *c, const char *why)
{
    pw_engine *e = c->e;
    pw_config *cfg = e->cfg;
    int64_t elapsed = pw_engine_mono_ms() - c->first_try_ms;
    if (c->attempts < cfg->retry_max_attempts && elapsed < cfg->retry_budget_ms) {
        int64_t d = pw_backoff_ms(cfg->retry_base_ms, cfg->retry_max_ms, c->attempts, &e->rng);
        e->m->retries++;
        pw_cmd_go(c, PW_EV_BACKOFF);
        pw_cmd_after(c, d, pw_cmd_on_timer_call);
        return;
    }
    snprintf(c->reason, sizeof(c->reason), "gave up after %d attempts in %" PRId64 " ms: %s",
             c->attempts, elapsed, why);
    pw_cmd_settle(c, PV_STATUS_FAILED);
}

static void pw_cmd_on_extend(void *ud, const pw_store_reply *r)
{
    pw_cmd *c = ud;
    if (pw_cmd_store_returned(c))
        return;
    if (r->outcome == PW_STORE_LOST)
        pw_log(PW_LOG_ERROR, "claim lost while calling the provider", "command_id",
               c->cmd.command_id, "key", c->key, NULL);
}

static void pw_cmd_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd *c = arg;
    int64_t ttl = pw_config_lock_ttl_ms(c->e->cfg, c->prov->pc);
    if (pw_store_extend(c->e->store, c->key, c->token, ttl, pw_cmd_on_extend, c) == 0)
        c->store_busy++;
}

static void pw_cmd_on_inquiry(void *ud, const pw_http_result *r)
{
    pw_cmd *c = ud;
    pw_prov *pv = c->prov;
    pv_result inq;
    pw_cmd_res(c);
    c->call = NULL;
    pv->inflight--;
    pv_result_init(&inq);
    if (r->fault >= 0)
        inq.outcome = PV_OUTCOME_UNKNOWN;
    else
        pv_provider_parse_inquiry(pv->p, &c->cmd, r->status, r->body, r->len, &inq);
    pv_ctx ctx = pw_prov_ctx(pv, NULL);
    pv_provider_redact(pv->p, &ctx, &inq);
    pw_prov_kick(pv);
    if (inq.outcome == PV_OUTCOME_SUCCEEDED) {
        for (size_t i = 0; i < inq.nrefs; i++)
            pv_result_add_ref(c->res, inq.refs[i].name, inq.refs[i].value);
        c->res->outcome = PV_OUTCOME_SUCCEEDED;
        c->res->error[0] = '\0';
        char was[PV_ERR_STR_MAX];
        snprintf(was, sizeof(was), "%s", c->reason);
        snprintf(c->reason, sizeof(c->reason), "settled by status inquiry after: %.320s", was);
        pv_result_clear(&inq);
        pw_cmd_settle(c, PV_STATUS_SUCCEEDED);
    } else if (inq.outcome == PV_OUTCOME_DECLINED) {
        snprintf(c->reason, sizeof(c->reason), "not paid (status inquiry) after: %.300s",
                 c->res->error[0] != '\0' ? c->res->error : "an unknown outcome");
        pv_result_clear(&inq);
        pw_cmd_settle(c, PV_STATUS_FAILED);
    } else {
        pv_result_clear(&inq);
        pw_cmd_settle(c, PV_STATUS_UNKNOWN);
    }
}

/* UNKNOWN: ask the provider where it can say; otherwise UNKNOWN it is. */
static void pw_cmd_unknown(pw_cmd *c)
{
    pw_prov *pv = c->prov;
    pv_request req;
    pv_error err = {0};
    char errstr[256];
    snprintf(c->reason, sizeof(c->reason), "outcome unknown: %.320s",
             c->res->error[0] != '\0' ? c->res->error : "no usable answer");
    if (!(pv->p->caps & PV_CAP_INQUIRY)) {
        pw_cmd_settle(c, PV_STATUS_UNKNOWN);
        return;
    }
    pv_ctx ctx = pw_prov_ctx(pv, NULL);
    if (pv_provider_build_inquiry(pv->p, &c->cmd, &ctx, &req, &err) != PV_OK) {
        pw_cmd_settle(c, PV_STATUS_UNKNOWN);
        return;
    }
    c->call =
        pw_http_send(c->e->http, pv->pc->url, &req, pv->pc->timeout_ms, pv->pc->connect_timeout_ms,
                     pw_cmd_on_inquiry, c, errstr, sizeof(errstr));
    pv_request_clear(&req);
    if (c->call == NULL) {
        pw_cmd_settle(c, PV_STATUS_UNKNOWN);
        return;
    }
    pv->inflight++;
    pw_cmd_go(c, PW_EV_INQUIRE);
}

static void pw_cmd_on_provider(void *ud, const pw_http_result *r)
{
    pw_cmd *c = ud;
    pw_prov *pv = c->prov;
    pw_engine *e = c->e;
    c->call = NULL;
    pv->inflight--;
    if (c->watchdog != NULL)
        evtimer_del(c->watchdog);
    pw_metrics_observe_latency(e->m, pv->idx, r->elapsed_us);
    if (c->res != NULL)
        pv_result_clear(c->res); /* an earlier attempt's answer */
    else
        pw_cmd_res(c);
    if (r->fault >= 0) {
        c->res->outcome = pv_classify_fault(pv->p, (pv_fault)r->fault);
        snprintf(c->res->error, sizeof(c->res->error), "%s", r->error);
    } else {
        pv_provider_parse_response(pv->p, &c->cmd, r->status, r->body, r->len, c->res);
        pv_ctx ctx = pw_prov_ctx(pv, NULL);
        pv_provider_redact(pv->p, &ctx, c->res); /* an answer may echo the credentials */
    }
    e->m->outcomes[pv->idx][c->res->outcome]++;
    pw_prov_kick(pv);
    char why[PV_ERR_STR_MAX + 64];
    snprintf(why, sizeof(why), "%s%s%s%s", c->res->provider_code[0] ? "code " : "",
             c->res->provider_code, c->res->provider_code[0] ? ": " : "",
             c->res->error[0] ? c->res->error : c->res->provider_message);
    switch (c->res->outcome) {
    case PV_OUTCOME_SUCCEEDED:
        pw_cmd_settle(c, PV_STATUS_SUCCEEDED);
        break;
    case PV_OUTCOME_DECLINED:
        pw_cmd_settle(c, PV_STATUS_DECLINED);
        break;
    case PV_OUTCOME_INVALID:
        snprintf(c->reason, sizeof(c->reason), "the provider refused the request: %.320s", why);
        pw_cmd_settle(c, PV_STATUS_REJECTED);
        break;
    case PV_OUTCOME_RETRY:
        pw_cmd_retry_or_fail(c, why);
        break;
    case PV_OUTCOME_UNKNOWN:
        pw_cmd_unknown(c);
        break;
    case PV_OUTCOME_FATAL:
    default:
        if ((pv->p->caps & PV_CAP_OAUTH) && r->status == 401 && !c->auth_retried) {
            /* an expired or revoked token: fetch a new one and try once more */
            free(pv->token);
            pv->token = NULL;
            c->auth_retried = 1;
            c->attempts--;
            pw_cmd_call(c);
            break;
        }
        snprintf(e->m->fatal[pv->idx], sizeof(e->m->fatal[0]), "HTTP %d %.120s", r->status, why);
        pw_prov_stop(pv, why);
        snprintf(c->reason, sizeof(c->reason), "provider stopped: %.320s", why);
        pw_cmd_hold(c);
        break;
    }
}

/* Claimed: gets what the call needs, then calls the provider. */
void pw_cmd_call(pw_cmd *c)
{
    pw_engine *e = c->e;
    pw_prov *pv = c->prov;
    pv_request req;
    pv_error err = {0};
    char errstr[256];
    const void *spec = NULL;
    int failed = 0;

    if (c->first_try_ms == 0)
        c->first_try_ms = pw_engine_mono_ms(); /* the budget counts from here, prerequisites too */
    if (pv->fatal) {
        pw_cmd_hold(c);
        return;
    }
    if (pv->inflight >= pv->pc->concurrency) {
        pw_prov_wait(pv, c);
        return;
    }
    if ((pv->p->caps & PV_CAP_OAUTH) &&
        (pv->token == NULL || pw_engine_mono_ms() > pv->token_expires_ms - 30000)) {
        pw_prov_wait(pv, c);
        pw_prov_fetch_token(e, pv);
        return;
    }
    if (pv->p->caps & PV_CAP_SPEC) {
        spec = pw_prov_spec(e, pv, c, &failed);
        if (failed) {
            pv_error_set(&err, PV_EVALIDATION, "request", "%s", c->reason);
            pw_cmd_reject(c, &err);
            return;
        }
        if (spec == NULL) {
            pw_prov_wait(pv, c);
            return;
        }
    }
    pv_ctx ctx = pw_prov_ctx(pv, spec);
    if (pv_provider_build_request(pv->p, &c->cmd, &ctx, &req, &err) != PV_OK) {
        pw_cmd_reject(c, &err);
        pv_error_clear(&err);
        return;
    }
    /* the command id travels with the call, so that a provider's (or the
     * simulator's) records can be matched to it; left out if not a header */
    if (pv_request_header(&req, "X-Request-Id") == NULL &&
        pv_request_add_header(&req, "X-Request-Id", c->cmd.command_id, &err) != PV_OK)
        pv_error_clear(&err);
    c->attempts++;
    c->call =
        pw_http_send(e->http, pv->pc->url, &req, pv->pc->timeout_ms, pv->pc->connect_timeout_ms,
                     pw_cmd_on_provider, c, errstr, sizeof(errstr));
    pv_request_clear(&req);
    if (c->call == NULL) {
        pw_cmd_retry_or_fail(c, errstr);
        return;
    }
    pv->inflight++;
    pw_cmd_go(c, PW_EV_SEND);
    int64_t ttl = pw_config_lock_ttl_ms(e->cfg, pv->pc);
    if (c->watchdog == NULL)
        c->watchdog = event_new(e->base, -1, EV_PERSIST, pw_cmd_on_watchdog, c);
    struct timeval tv = {.tv_sec = ttl / 3000, .tv_usec = (ttl / 3 % 1000) * 1000};
    evtimer_add(c->watchdog, &tv);
}

static void pw_cmd_on_claim(void *ud, const pw_store_reply *r)
{
    pw_cmd *c = ud;
    pw_engine *e = c->e;
    if (pw_cmd_store_returned(c))
        return;
    if (c->dropped) {
        pw_cmd_done(c);
        return;
    }
    int s;
    if (r->outcome != PW_STORE_CLAIMED && r->outcome != PW_STORE_BUSY &&
        r->outcome != PW_STORE_ERROR)
        c->judged = 1; /* the store decided: the answer is recorded as the command's */
    switch (r->outcome) {
    case PW_STORE_CLAIMED:
        c->fence = r->fence;
        c->claimed = 1;
        pw_cmd_call(c);
        return;
    case PW_STORE_ANSWERED:
        /* this command was answered before: the same answer again */
        if (r->result_len > 0) {
            pw_cmd_replay(c, r->status, r->result, r->result_len);
            return;
        }
        /* answered without an event yet (settled by an operator): build it */
        s = pv_status_from_name(r->status);
        c->fence = r->fence;
        snprintf(c->reason, sizeof(c->reason), "invoice %s settled for this command: %s", c->key,
                 s == PV_STATUS_SUCCEEDED ? "paid" : "not paid");
        pw_cmd_settle(c, s >= 0 ? (pv_status)s : PV_STATUS_UNKNOWN);
        return;
    case PW_STORE_DONE:
        if (strcmp(r->command_id, c->cmd.command_id) == 0 && r->result_len > 0) {
            pw_cmd_replay(c, "SUCCEEDED", r->result, r->result_len); /* before records */
            return;
        }
        snprintf(c->reason, sizeof(c->reason), "invoice %s was already paid by command %s", c->key,
                 r->command_id);
        pw_cmd_settle(c, PV_STATUS_DUPLICATE);
        return;
    case PW_STORE_UNKNOWN:
        snprintf(c->reason, sizeof(c->reason),
                 "an earlier attempt (command %s) may have paid invoice %s: it is settled by a "
                 "status inquiry or payctl resolve",
                 r->command_id, c->key);
        pw_cmd_settle(c, PV_STATUS_UNKNOWN);
        return;
    case PW_STORE_CONFLICT:
        snprintf(c->reason, sizeof(c->reason),
                 "invoice %s was already paid by command %s with other parameters", c->key,
                 r->command_id);
        pw_cmd_settle(c, PV_STATUS_DUPLICATE);
        return;
    case PW_STORE_EXPIRED:
        snprintf(c->reason, sizeof(c->reason),
                 "expired at %" PRId64 " before it could be paid (never sent to the provider)",
                 c->cmd.expires_at_ms);
        pw_cmd_settle(c, PV_STATUS_EXPIRED);
        return;
    case PW_STORE_BUSY:
        pw_cmd_go(c, PW_EV_REQUEUE);
        pw_cmd_after(c, e->cfg->busy_retry_ms, pw_cmd_on_timer_claim);
        return;
    default:
        /* Redis unavailable or slow: no provider call without a claim; the
         * same token claims again (a lost reply is answered CLAIMED) */
        e->m->redis_errors++;
        pw_cmd_go(c, PW_EV_REQUEUE);
        pw_cmd_after(c, e->cfg->busy_retry_ms * 4, pw_cmd_on_timer_claim);
        return;
    }
}

/* At the head of its key: claim it, once an active slot is free. Consumed
 * commands beyond max_inflight wait here, in memory, instead of pausing the
 * partitions at every completion (each pause/resume cycle costs a re-fetch:
 * that churn capped throughput at about max_inflight per half second). */
void pw_cmd_start(pw_cmd *c)
{
    pw_engine *e = c->e;
    if (!c->active && !e->stopping && !pw_engine_part(e, c->partition)->revoking) {
        if (e->active >= e->cfg->max_inflight) {
            c->slot_next = NULL;
            if (e->slot_tail != NULL)
                e->slot_tail->slot_next = c;
            else
                e->slot_head = c;
            e->slot_tail = c;
            c->in_slotq = 1;
            return;
        }
        c->active = 1;
        e->active++;
        e->m->inflight = e->active;
    }
    if (e->stopping || pw_engine_part(e, c->partition)->revoking) {
        c->dropped = 1; /* not claimed: left uncommitted for the next owner */
        pw_cmd_done(c);
        return;
    }
    if (c->prov->fatal) {
        pw_cmd_go(c, PW_EV_HOLD);
        return;
    }
    pw_store_claim_args a = {
        .key = c->key,
        .token = c->token,
        .ttl_ms = pw_config_lock_ttl_ms(e->cfg, c->prov->pc),
        .command_id = c->cmd.command_id,
        .digest = c->digest,
        .worker = e->cfg->worker_id,
        .expires_at_ms = c->cmd.expires_at_ms,
    };
    pw_cmd_go(c, PW_EV_CLAIM);
    if (pw_store_claim(e->store, &a, pw_cmd_on_claim, c) == 0)
        c->store_busy++;
}

/* The drain timed out with c claimed and nothing in flight (in back-off, or
 * waiting for a call slot or a prerequisite): its claim goes back
 * unanswered, so that the next owner claims it again instead of finding an
 * expired claim (UNKNOWN). 1 when it was given back. */
int pw_cmd_give_back(pw_cmd *c)
{
    if (!c->claimed || c->call != NULL || c->store_busy > 0 ||
        (c->phase != PW_BACKOFF && c->phase != PW_WAITING))
        return 0;
    if (c->timer != NULL)
        evtimer_del(c->timer);
    if (c->phase == PW_WAITING)
        pw_prov_unwait(c->prov, c);
    pw_cmd_hold(c);
    return 1;
}
