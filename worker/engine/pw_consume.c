/* pw_consume.c -- consumption: messages into commands, flow control and
 * rebalances (see pw_consume.h; offsets and commits: pw_offsets.h). */
#include "pw_consume.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pw_alloc.h"
#include "pw_cmd.h"
#include "pw_engine_int.h"
#include "pw_keyq.h"
#include "pw_log.h"
#include "pw_offsets.h"
#include "pw_publish.h"
#include "pw_registry.h"
#include "sc_codec.h"

static void pw_consume_revoke_check(pw_engine *e, int force);

/* Decodes m into cmd. With a schema registry, a command written with a
 * schema id the codec has not met is fetched from the registry once (a
 * blocking call, bounded by the registry's timeout: rare, see
 * pw_registry.h) and decoded again. */
static int pw_consume_decode(pw_engine *e, const rd_kafka_message_t *m, pv_command *cmd,
                             pv_error *err)
{
    int rc = sc_command_decode(e->codec, m->payload, m->len, cmd, err);
    if (rc == PV_OK || e->registry == NULL || strcmp(err->field, "schema_id") != 0 || m->len < 5)
        return rc;
    const unsigned char *p = m->payload;
    int32_t id =
        (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
    char why[512];
    if (pw_registry_learn(e->registry, e->codec, SC_COMMAND, id, why, sizeof(why)) != 0) {
        char ids[16];
        snprintf(ids, sizeof(ids), "%" PRId32, id);
        pw_log(PW_LOG_WARN, "schema id not in the registry", "schema_id", ids, "error", why, NULL);
        return rc;
    }
    pv_error_clear(err);
    return sc_command_decode(e->codec, m->payload, m->len, cmd, err);
}

/* A consumed message becomes a command. */
static void pw_consume_take(pw_engine *e, rd_kafka_message_t *m)
{
    pw_part *pt = pw_engine_part(e, m->partition);
    if (pt == NULL || !pt->assigned || pt->revoking)
        return; /* a late message of a partition we are giving back */
    if (pt->overrun_at >= 0) {
        /* messages read in the same batch as an overrun come again after
         * the seek below: taking them now would skip the ones before */
        if (m->offset > pt->overrun_at)
            return;
        pt->overrun_at = -1; /* the re-read has begun */
    }
    if (pw_track_add(&pt->track, m->offset) != 0) {
        /* window overrun (messages fetched before the pause took effect):
         * re-read this one later */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, e->cfg->topic_commands, m->partition)->offset =
            m->offset;
        rd_kafka_pause_partitions(e->consumer, l);
        rd_kafka_seek_partitions(e->consumer, l, 0);
        rd_kafka_topic_partition_list_destroy(l);
        pt->paused = 1;
        pt->overrun_at = m->offset;
        char part[16], off[24];
        snprintf(part, sizeof(part), "%d", (int)m->partition);
        snprintf(off, sizeof(off), "%lld", (long long)m->offset);
        pw_log(PW_LOG_INFO, "offset window full: partition paused, re-read later", "partition",
               part, "from_offset", off, NULL);
        return;
    }
    pw_cmd *c = pw_cmd_new(e, m->partition, m->offset);
    /* the original bytes, for a dead-letter copy should it be rejected */
    c->raw = pw_alloc_malloc(m->len > 0 ? m->len : 1);
    if (m->len > 0)
        memcpy(c->raw, m->payload, m->len);
    c->raw_len = m->len;
    if (m->key != NULL) {
        /* kept byte for byte for the dead-letter copy (a key may hold NUL) */
        c->msg_key = pw_alloc_malloc(m->key_len > 0 ? m->key_len : 1);
        if (m->key_len > 0)
            memcpy(c->msg_key, m->key, m->key_len);
        c->msg_key_len = m->key_len;
    }
    rd_kafka_headers_t *h = NULL;
    const void *tp;
    size_t tplen;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, "traceparent", &tp, &tplen) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        tp != NULL)
        snprintf(c->traceparent, sizeof(c->traceparent), "%.*s", (int)tplen, (const char *)tp);

    pv_error err = {0};
    if (pw_consume_decode(e, m, &c->cmd, &err) != PV_OK) {
        pw_cmd_reject(c, &err);
        pv_error_clear(&err);
        return;
    }
    c->prov = &e->prov[0];
    for (int i = 0; i < PW_PROVIDERS_MAX && e->prov[i].p != NULL; i++)
        if (e->prov[i].p == c->cmd.provider)
            c->prov = &e->prov[i];
    if (!c->prov->pc->enabled) {
        pv_error_set(&err, PV_ECONFIG, "provider",
                     "provider: %s is not served by this worker (PAYW_PROVIDERS)",
                     c->cmd.provider->name);
        pw_cmd_reject(c, &err);
        return;
    }
    if (pv_provider_query_id(c->cmd.provider, &c->cmd, c->query_id, sizeof(c->query_id), &err) !=
        PV_OK) {
        pw_cmd_reject(c, &err);
        pv_error_clear(&err);
        return;
    }
    snprintf(c->key, sizeof(c->key), "%s:%s", c->cmd.provider->name, c->query_id);
    int64_t oldest = pw_engine_now_ms() - e->cfg->retention_s * 1000;
    if (c->cmd.created_at_ms < oldest) {
        /* its invoice's record may be gone: the store cannot judge it */
        pv_error_set(&err, PV_EVALIDATION, "created_at",
                     "created_at: %" PRId64 " is older than the store's retention "
                     "(PAYW_RETENTION_S=%" PRId64 "): it cannot be judged, refused unpaid",
                     c->cmd.created_at_ms, e->cfg->retention_s);
        pw_cmd_reject(c, &err);
        pv_error_clear(&err);
        return;
    }
    pw_publish_digest(c);
    pw_store_token(c->token, sizeof(c->token));
    if (pw_keyq_push(e, c))
        pw_cmd_start(c);
}

/* How many consumed commands may be held (active, or waiting for a slot or
 * for their key); each partition's offset window is twice that. Past it the engine
 * simply stops reading its message queue (pw_consume_on_consumer); librdkafka keeps a
 * bounded prefetch behind it (queued.max.messages.kbytes). The floor lets a
 * small max_inflight (1: the benchmark's one-at-a-time baseline) still read
 * ahead. */
static int64_t pw_consume_backlog(const pw_engine *e)
{
    int64_t n = e->cfg->max_inflight * PW_BACKLOG;
    return n > PW_BACKLOG_MIN ? n : PW_BACKLOG_MIN;
}

/* Pauses or resumes each assigned partition as the limits require, and goes
 * back to the message queue once the backlog has room for a batch.
 *
 * A full backlog does not pause partitions: with librdkafka 2.0 a pause
 * drops what was prefetched and a resumed partition is fetched again only
 * when its broker thread next wakes, 0.5 to 1 s later (seen in the bench's
 * debug logs); pausing there capped 256 calls in flight at ~1,100 commands/s.
 * Pauses are kept for what must stop fetching: shutdown, Redis down, a
 * revoked partition, and a partition whose offset window is full. */
void pw_consume_flow(pw_engine *e)
{
    int64_t high = pw_consume_backlog(e);
    if (e->mq_blocked && e->inflight <= high - high / 8) {
        e->mq_blocked = 0;
        event_active(e->cev, EV_READ, 0);
    }
    int global = e->stopping || !e->m->redis_up;
    rd_kafka_topic_partition_list_t *pause = NULL, *resume = NULL;
    for (int i = 0; i < e->nassigned; i++) {
        int32_t p = e->assigned[i];
        pw_part *pt = e->parts[p];
        int want = global || pt->revoking || pw_track_full(&pt->track);
        if (want == pt->paused)
            continue;
        rd_kafka_topic_partition_list_t **l = want ? &pause : &resume;
        if (*l == NULL)
            *l = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_add(*l, e->cfg->topic_commands, p);
        pt->paused = want;
    }
    if (pause != NULL) {
        rd_kafka_pause_partitions(e->consumer, pause);
        rd_kafka_topic_partition_list_destroy(pause);
    }
    if (resume != NULL) {
        rd_kafka_resume_partitions(e->consumer, resume);
        rd_kafka_topic_partition_list_destroy(resume);
    }
}

/* Commands of partition p that are claimed and not yet done. */
static size_t pw_consume_busy_in(pw_engine *e, int32_t p)
{
    size_t n = 0;
    for (pw_cmd *c = e->all; c != NULL; c = c->all_next)
        if (c->partition == p && !c->dropped && c->phase != PW_QUEUED && c->phase != PW_HELD)
            n++;
    return n;
}

/* Gives back revoked partitions once their claimed commands are done (or
 * the drain timeout passed): commit synchronously, then unassign. */
static void pw_consume_revoke_check(pw_engine *e, int force)
{
    rd_kafka_topic_partition_list_t *l = e->revoke_pending;
    if (l == NULL)
        return;
    for (int i = 0; i < l->cnt && !force; i++)
        if (pw_consume_busy_in(e, l->elems[i].partition) > 0)
            return;
    /* synchronous, so that the next owner starts where we stopped; while
     * closing asynchronous (pw_engine_free bounds the close) */
    pw_offsets_commit(e, !e->closing, "revoke");
    for (int i = 0; i < l->cnt; i++) {
        pw_part *pt = pw_engine_part(e, l->elems[i].partition);
        if (pt == NULL)
            continue; /* never ours */
        for (pw_cmd *c = e->all; c != NULL; c = c->all_next)
            if (c->partition == l->elems[i].partition)
                c->dropped = 1; /* their offsets are no longer ours to store */
        pw_track_free(&pt->track);
        pt->assigned = pt->revoking = pt->paused = 0;
        for (int k = 0; k < e->nassigned; k++)
            if (e->assigned[k] == l->elems[i].partition)
                e->assigned[k--] = e->assigned[--e->nassigned];
    }
    if (strcmp(rd_kafka_rebalance_protocol(e->consumer), "COOPERATIVE") == 0)
        rd_kafka_incremental_unassign(e->consumer, l);
    else
        rd_kafka_assign(e->consumer, NULL);
    rd_kafka_topic_partition_list_destroy(l);
    e->revoke_pending = NULL;
    evtimer_del(e->revoke_timer);
}

void pw_consume_on_revoke_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_engine *e = arg;
    int force = pw_engine_mono_ms() - e->revoke_since_ms > e->cfg->drain_timeout_ms;
    pw_consume_revoke_check(e, force);
}

/* Routes the messages of newly assigned partitions to e->mq, so that the
 * consumer queue carries only events (rebalances, errors) and stays polled
 * while the backlog is full. librdkafka keeps a forwarding the application
 * set across later assignments of the partition. */
static void pw_consume_forward(pw_engine *e, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_queue_t *q = rd_kafka_queue_get_partition(e->consumer, parts->elems[i].topic,
                                                           parts->elems[i].partition);
        if (q == NULL)
            continue; /* its messages stay on the consumer queue, read there */
        rd_kafka_queue_forward(q, e->mq);
        rd_kafka_queue_destroy(q);
    }
}

/* "partitions assigned" partitions="0,3,5" */
static void pw_consume_log_parts(pw_engine *e, const char *msg,
                                 const rd_kafka_topic_partition_list_t *parts)
{
    char list[256];
    size_t n = 0;
    list[0] = '\0';
    for (int i = 0; i < parts->cnt && n + 12 < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d", i > 0 ? "," : "",
                              (int)parts->elems[i].partition);
    pw_log(PW_LOG_INFO, msg, "topic", e->cfg->topic_commands, "partitions", list, NULL);
}

/* The state of partition p (>= 0, as Kafka numbers them), created on its
 * first assignment: the table grows to the highest partition assigned, so
 * any partition count works (a fixed table of 1,024 once refused the rest). */
static pw_part *pw_consume_part(pw_engine *e, int32_t p)
{
    if (p < 0)
        return NULL; /* not a partition (librdkafka never assigns one) */
    if (p >= e->nparts) {
        int32_t n = e->nparts > 0 ? e->nparts : 64;
        while (n <= p)
            n = n > INT32_MAX / 2 ? INT32_MAX : n * 2;
        e->parts = pw_alloc_realloc(e->parts, (size_t)n * sizeof(*e->parts));
        memset(e->parts + e->nparts, 0, (size_t)(n - e->nparts) * sizeof(*e->parts));
        e->assigned = pw_alloc_realloc(e->assigned, (size_t)n * sizeof(*e->assigned));
        e->nparts = n;
    }
    if (e->parts[p] == NULL)
        e->parts[p] = pw_alloc_calloc(1, sizeof(pw_part));
    return e->parts[p];
}

void pw_consume_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pw_engine *e = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* a fetch brings one partition's messages together: the window
         * leaves room past a full backlog of them (9 bytes an offset) */
        size_t window = (size_t)pw_consume_backlog(e) * 2;
        for (int i = 0; i < parts->cnt; i++) {
            pw_part *pt = pw_consume_part(e, parts->elems[i].partition);
            if (pt != NULL && !pt->assigned) {
                pw_track_init(&pt->track, window);
                pt->assigned = 1;
                e->assigned[e->nassigned++] = parts->elems[i].partition;
                pt->stored = -1;
                pt->overrun_at = -1;
                pt->paused = 0;
            }
        }
        if (coop)
            rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        /* librdkafka keeps an application pause across unassign and assign
         * (its issue 1849): a partition paused while it was revoked would
         * never be read again. Flow control pauses again what must be. */
        rd_kafka_resume_partitions(rk, parts);
        pw_consume_forward(e, parts);
        e->m->kafka_up = 1;
        pw_consume_log_parts(e, "partitions assigned", parts);
        pw_consume_flow(e);
        return;
    }
    /* revoked or lost: stop taking commands of those partitions, let the
     * claimed ones finish, then give them back */
    for (int i = 0; i < parts->cnt; i++) {
        pw_part *pt = pw_engine_part(e, parts->elems[i].partition);
        if (pt != NULL)
            pt->revoking = 1;
    }
    for (pw_cmd *c = e->all, *next; c != NULL; c = next) {
        next = c->all_next;
        if (pw_engine_part(e, c->partition)->revoking && c->phase == PW_QUEUED && c->fence == 0 &&
            c->store_busy == 0) {
            c->dropped = 1;
            pw_cmd_done(c);
        }
    }
    if (e->revoke_pending != NULL) {
        for (int i = 0; i < parts->cnt; i++)
            rd_kafka_topic_partition_list_add(e->revoke_pending, parts->elems[i].topic,
                                              parts->elems[i].partition);
    } else {
        e->revoke_pending = rd_kafka_topic_partition_list_copy(parts);
        e->revoke_since_ms = pw_engine_mono_ms();
    }
    pw_consume_log_parts(e, "partitions revoked: draining", parts);
    pw_consume_flow(e);
    /* closing (pw_engine_free): the loop no longer runs, so nothing could
     * give them back later; a lost assignment is no longer ours either */
    pw_consume_revoke_check(e, e->closing || rd_kafka_assignment_lost(rk));
    if (e->revoke_pending != NULL) {
        struct timeval tv = {0, 50000};
        evtimer_add(e->revoke_timer, &tv);
    }
}

void pw_consume_drain_pipe(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

static void pw_consume_message(pw_engine *e, rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        e->m->kafka_up = 1;
        if (!e->stopping)
            pw_consume_take(e, m);
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        pw_log(PW_LOG_WARN, "consume error", "error", rd_kafka_message_errstr(m), NULL);
    }
    rd_kafka_message_destroy(m);
}

/* Both queues wake this: the consumer queue is always served (rebalances,
 * errors, and the messages fetched before pw_consume_forward), the message
 * queue only while the backlog has room. */
void pw_consume_on_consumer(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    pw_engine *e = arg;
    rd_kafka_message_t *batch[PW_CONSUME_BATCH];
    pw_consume_drain_pipe(fd);
    int i = 0, mq_more = 0;
    for (; i < PW_CONSUME_BATCH; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(e->consumer, 0);
        if (m == NULL)
            break;
        pw_consume_message(e, m);
    }
    int64_t room = pw_consume_backlog(e) - e->inflight;
    if (e->retention_pending) {
        /* nothing is taken before the topic's retention is known */
    } else if (room <= 0 || e->stopping) {
        e->mq_blocked = !e->stopping; /* pw_consume_flow comes back when there is room */
    } else {
        size_t want = room < PW_CONSUME_BATCH ? (size_t)room : PW_CONSUME_BATCH;
        ssize_t n = rd_kafka_consume_batch_queue(e->mq, 0, batch, want);
        for (ssize_t k = 0; k < n; k++)
            pw_consume_message(e, batch[k]);
        mq_more = n == (ssize_t)want; /* more may wait, or the backlog is full now */
    }
    pw_consume_flow(e); /* once per batch: a window overrun is re-read (pw_consume_take) */
    if (i == PW_CONSUME_BATCH || (mq_more && !e->mq_blocked))
        event_active(e->cev, EV_READ, 0); /* come back after the others ran */
}
