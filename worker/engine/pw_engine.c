/* pw_engine.c -- the engine's start and stop (see pw_engine.h for the life
 * of a command, pw_cmd.c for its state machine).
 *
 * DESIGN
 * pw_engine_new builds the clients and wires them to the loop: the consumer
 * queue and the assigned partitions' message queue wake it through one pipe
 * (pw_consume.c serves them), the producer's queue and the start-up
 * DescribeConfigs answer through another (pw_engine_on_producer); the store
 * reports its state here. pw_engine_stop drains: consumption stops, commands
 * not yet claimed are dropped (their offsets are not committed: the next
 * owner takes them), claimed ones finish within the drain timeout; then idle
 * claims are given back, events flushed, offsets committed. pw_engine_free
 * leaves the group within a bounded time and frees everything in an order
 * that lets no callback reach a freed command. Runs on one loop.
 *
 * Files of the engine: pw_engine.c (this), pw_consume.c, pw_cmd.c, pw_prov.c,
 * pw_publish.c, pw_keyq.c; their shared state is pw_engine_int.h.
 */
#include "pw_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pv_json.h"
#include "pw_alloc.h"
#include "pw_registry.h"
#include "pw_cmd.h"
#include "pw_consume.h"
#include "pw_engine_int.h"
#include "pw_kafka.h"
#include "pw_keyq.h"
#include "pw_log.h"
#include "pw_offsets.h"
#include "pw_publish.h"

static int pw_engine_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    pw_engine *e = opaque;
    json_object *root = json_tokener_parse(json);
    (void)len;
    int64_t lag = 0;
    int any = 0;
    json_object *topics = pv_json_member(root, "topics");
    json_object *t = pv_json_member(topics, e->cfg->topic_commands);
    json_object *parts = pv_json_member(t, "partitions");
    if (parts != NULL && json_object_is_type(parts, json_type_object)) {
        json_object_object_foreach(parts, k, v)
        {
            (void)k;
            json_object *l = pv_json_member(v, "consumer_lag_stored");
            if (l == NULL)
                l = pv_json_member(v, "consumer_lag");
            if (l != NULL && json_object_get_int64(l) >= 0) {
                lag += json_object_get_int64(l);
                any = 1;
            }
        }
    }
    if (any)
        e->m->consumer_lag = lag;
    json_object_put(root);
    return 0; /* librdkafka frees json */
}

static void pw_engine_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    pw_logline l;
    pw_log_begin(&l,
                 level <= 3   ? PW_LOG_ERROR
                 : level <= 5 ? PW_LOG_WARN
                              : PW_LOG_DEBUG,
                 "librdkafka");
    pw_log_str(&l, "facility", fac);
    pw_log_str(&l, "detail", buf);
    pw_log_end(&l);
}

static void pw_engine_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    pw_engine *e = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        e->m->kafka_up = 0;
    pw_log(PW_LOG_WARN, "kafka", "error", rd_kafka_err2name((rd_kafka_resp_err_t)err), "reason",
           reason, NULL);
}

/* The commands topic's retention.ms, asked at start. A command older than
 * the store's retention is refused unjudged; were the topic to keep messages
 * longer, an offsets reset (auto.offset.reset=earliest) would replay
 * commands the store forgot: then the worker refuses to run. Nothing is
 * consumed before the answer (or its timeout: a broker that cannot say). */
static void pw_engine_on_retention(pw_engine *e, rd_kafka_event_t *ev)
{
    char why[512];
    int64_t ms = 0, store_ms = e->cfg->retention_s * 1000;
    e->retention_pending = 0;
    event_active(e->cev, EV_READ, 0);
    if (!pw_kafka_retention_read(ev, e->cfg->topic_commands, &ms, why, sizeof(why))) {
        pw_log(PW_LOG_WARN, "commands topic retention not checked", "reason", why, NULL);
        return;
    }
    if (ms >= 0 && ms <= store_ms)
        return;
    snprintf(why, sizeof(why),
             "topic %s: retention.ms=%" PRId64 " (-1: forever) is longer than the store "
             "judges commands (PAYW_RETENTION_S=%" PRId64 " s): lower the topic's "
             "retention.ms, raise PAYW_RETENTION_S, or set PAYW_TOPIC_RETENTION_CHECK=0",
             e->cfg->topic_commands, ms, e->cfg->retention_s);
    pw_log(PW_LOG_ERROR, "refusing to run", "reason", why, NULL);
    e->refused = 1;
    event_base_loopbreak(e->base);
}

static void pw_engine_on_producer(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    pw_engine *e = arg;
    pw_consume_drain_pipe(fd);
    rd_kafka_poll(e->producer, 0);
    if (e->aq != NULL) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(e->aq, 0);
        if (ev != NULL) {
            pw_engine_on_retention(e, ev);
            rd_kafka_event_destroy(ev);
        }
    }
}

int pw_engine_refused(const pw_engine *e)
{
    return e->refused;
}

static void pw_engine_on_store_state(void *ud, pw_store_state state, const char *why)
{
    pw_engine *e = ud;
    e->m->redis_up = state == PW_STORE_UP;
    pw_log(state == PW_STORE_UP ? PW_LOG_INFO : PW_LOG_ERROR,
           state == PW_STORE_UP ? "redis up" : "redis down: consumption paused", "reason", why,
           NULL);
    pw_consume_flow(e);
}

static int pw_engine_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    return 0;
}

/* Applies a NULL-terminated "name=value" list (the engine's own). */
static int pw_engine_conf_list(rd_kafka_conf_t *conf, const char *const *list, char *errstr,
                               size_t cap)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        char name[128];
        const char *eq = strchr(list[i], '=');
        snprintf(name, sizeof(name), "%.*s", eq != NULL ? (int)(eq - list[i]) : 0, list[i]);
        if (eq == NULL) {
            snprintf(errstr, cap, "Kafka property \"%s\": expected name=value", list[i]);
            return -1;
        }
        if (pw_kafka_conf_set(conf, name, eq + 1, errstr, cap) != 0)
            return -1;
    }
    return 0;
}

/* The client's configuration, lowest priority first: bootstrap.servers
 * (PAYW_BROKERS), the engine's defaults, the PAYW_KAFKA_* properties that
 * belong to this kind of client (pw_config read their scope from
 * librdkafka: a consumer property set on the producer only made it log a
 * CONFWARN at every start, and the other way round), then the enforced
 * ones, which nothing overrides. */
static rd_kafka_conf_t *pw_engine_conf(pw_engine *e, rd_kafka_type_t type,
                                       const char *const *defaults, const char *const *enforced,
                                       char *errstr, size_t cap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (pw_kafka_conf_set(conf, "bootstrap.servers", e->cfg->brokers, errstr, cap) != 0 ||
        pw_engine_conf_list(conf, defaults, errstr, cap) != 0)
        goto fail;
    for (size_t i = 0; i < e->cfg->nkafka; i++) {
        const pw_kafka_prop *kp = &e->cfg->kafka[i];
        if (kp->scope == (type == RD_KAFKA_PRODUCER ? PW_KAFKA_CONSUMER : PW_KAFKA_PRODUCER))
            continue;
        if (pw_kafka_conf_set(conf, kp->name, kp->value, errstr, cap) != 0)
            goto fail;
    }
    if (pw_engine_conf_list(conf, enforced, errstr, cap) != 0)
        goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* A Kafka client whose callbacks all land on the engine: logs, errors, and
 * delivery reports (producer) or rebalances and statistics (consumer). */
static rd_kafka_t *pw_engine_client(pw_engine *e, rd_kafka_type_t type, const char *const *defaults,
                                    const char *const *enforced, char *errstr, size_t cap)
{
    rd_kafka_conf_t *conf = pw_engine_conf(e, type, defaults, enforced, errstr, cap);
    if (conf == NULL)
        return NULL;
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(conf, pw_publish_on_delivery);
    } else {
        rd_kafka_conf_set_rebalance_cb(conf, pw_consume_on_rebalance);
        rd_kafka_conf_set_stats_cb(conf, pw_engine_stats);
    }
    rd_kafka_conf_set_log_cb(conf, pw_engine_kafka_log);
    rd_kafka_conf_set_error_cb(conf, pw_engine_kafka_error);
    rd_kafka_conf_set_opaque(conf, e);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, cap);
    if (rk == NULL)
        rd_kafka_conf_destroy(conf); /* rd_kafka_new takes it only on success */
    return rk;
}

pw_engine *pw_engine_new(struct event_base *base, pw_config *cfg, pw_metrics *m, char *errstr,
                         size_t cap)
{
    pv_error perr = {0};
    pw_engine *e = pw_alloc_calloc(1, sizeof(*e));
    e->base = base;
    e->cfg = cfg;
    e->m = m;
    if (getrandom(&e->rng, sizeof(e->rng), GRND_NONBLOCK) != (ssize_t)sizeof(e->rng))
        e->rng = (uint64_t)pw_engine_now_ms() ^ ((uint64_t)getpid() << 32);
    e->cpipe[0] = e->cpipe[1] = e->ppipe[0] = e->ppipe[1] = -1;
    e->nbuckets = 1024;
    while (e->nbuckets < (size_t)cfg->max_inflight * 2)
        e->nbuckets *= 2;
    e->buckets = pw_alloc_calloc(e->nbuckets, sizeof(*e->buckets));
    for (size_t k = 0; k < cfg->nprov && k < PW_PROVIDERS_MAX; k++) {
        e->prov[k].p = cfg->prov[k].provider;
        e->prov[k].pc = &cfg->prov[k];
        e->prov[k].idx = (int)k;
    }
    e->codec = sc_codec_new(&perr);
    if (e->codec == NULL) {
        snprintf(errstr, cap, "%s", perr.errstr);
        goto fail;
    }
    if (cfg->schema_registry_url != NULL && cfg->schema_registry_url[0] != '\0') {
        /* the registry's ids, as payctl and every consumer reading through
         * the registry use them (the local ids 1-3 would be misread there) */
        e->registry =
            pw_registry_new(cfg->schema_registry_url, cfg->schema_registry_user_info, errstr, cap);
        if (e->registry == NULL ||
            pw_registry_setup(e->registry, e->codec, cfg->topic_commands, cfg->topic_results,
                              cfg->topic_balances, errstr, cap) != 0)
            goto fail;
    }
    e->http = pw_http_new(base, cfg->ca_path, errstr, cap);
    if (e->http == NULL)
        goto fail;
    pw_store_options so;
    pw_store_options_init(&so);
    so.command_timeout_ms = (int)cfg->redis_timeout_ms;
    so.replicas = (int)cfg->redis_wait_replicas;
    so.replicas_timeout_ms = (int)cfg->redis_wait_timeout_ms;
    so.retention_ms = cfg->retention_s * 1000;
    e->store = pw_store_new(base, cfg->redis_url, &so, pw_engine_on_store_state, e, errstr, cap);
    if (e->store == NULL)
        goto fail;

    /* producer: idempotent, acks=all; delivery reports wake the loop */
    static const char *const prod_defaults[] = {"linger.ms=2", NULL};
    static const char *const prod_enforced[] = {"enable.idempotence=true", "acks=all", NULL};
    e->producer = pw_engine_client(e, RD_KAFKA_PRODUCER, prod_defaults, prod_enforced, errstr, cap);
    if (e->producer == NULL)
        goto fail;
    /* A topic's first message otherwise waits for its metadata (~0.8 s, seen
     * with the bench): asking now overlaps it with the group join. */
    const char *outs[3] = {cfg->topic_results, cfg->topic_balances, cfg->topic_dlq};
    for (int i = 0; i < 3; i++)
        e->outputs[i] = rd_kafka_topic_new(e->producer, outs[i], NULL);

    /* consumer: the offset store is ours (an offset is stored only once the
     * outputs of everything before it are acknowledged): never automatic */
    static const char *const cons_defaults[] = {
        "partition.assignment.strategy=cooperative-sticky", "auto.offset.reset=earliest",
        "statistics.interval.ms=5000",
        /* the prefetch behind a full backlog:
         * seconds of work, not 64 MB */
        "queued.max.messages.kbytes=4096", "queued.min.messages=10000", NULL};
    char group[300];
    snprintf(group, sizeof(group), "group.id=%s", cfg->group);
    const char *const cons_enforced[] = {group, "enable.auto.commit=false",
                                         "enable.auto.offset.store=false",
                                         "isolation.level=read_committed", NULL};
    e->consumer = pw_engine_client(e, RD_KAFKA_CONSUMER, cons_defaults, cons_enforced, errstr, cap);
    if (e->consumer == NULL)
        goto fail;
    rd_kafka_poll_set_consumer(e->consumer);
    e->cq = rd_kafka_queue_get_consumer(e->consumer);
    e->mq = rd_kafka_queue_new(e->consumer);
    e->pq = rd_kafka_queue_get_main(e->producer);
    if (pw_engine_pipe(e->cpipe) != 0 || pw_engine_pipe(e->ppipe) != 0) {
        snprintf(errstr, cap, "pipe: %s", strerror(errno));
        goto fail;
    }
    rd_kafka_queue_io_event_enable(e->cq, e->cpipe[1], "1", 1);
    rd_kafka_queue_io_event_enable(e->mq, e->cpipe[1], "1", 1);
    rd_kafka_queue_io_event_enable(e->pq, e->ppipe[1], "1", 1);
    if (cfg->topic_retention_check) {
        e->aq = rd_kafka_queue_new(e->producer);
        rd_kafka_queue_io_event_enable(e->aq, e->ppipe[1], "1", 1);
        e->retention_pending = 1;
        pw_kafka_retention_ask(e->producer, e->aq, cfg->topic_commands, PW_RETENTION_ASK_MS);
    }
    e->cev = event_new(base, e->cpipe[0], EV_READ | EV_PERSIST, pw_consume_on_consumer, e);
    e->pev = event_new(base, e->ppipe[0], EV_READ | EV_PERSIST, pw_engine_on_producer, e);
    event_add(e->cev, NULL);
    event_add(e->pev, NULL);
    e->commit_timer = event_new(base, -1, EV_PERSIST, pw_offsets_on_commit_timer, e);
    struct timeval ci = {.tv_sec = cfg->commit_interval_ms / 1000,
                         .tv_usec = (cfg->commit_interval_ms % 1000) * 1000};
    evtimer_add(e->commit_timer, &ci);
    e->revoke_timer = event_new(base, -1, EV_PERSIST, pw_consume_on_revoke_timer, e);

    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, cfg->topic_commands, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(e->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (serr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, cap, "subscribe %s: %s", cfg->topic_commands, rd_kafka_err2str(serr));
        goto fail;
    }
    /* the queue may already hold events (io events fire on non-empty edges) */
    event_active(e->cev, EV_READ, 0);
    return e;
fail:
    pw_engine_free(e);
    return NULL;
}

/* At the drain timeout: idle claims go back (pw_cmd_give_back); returns
 * how many given-back or held claims still wait for the store's reply. */
static int pw_engine_give_back(pw_engine *e)
{
    int pending = 0;
    for (pw_cmd *c = e->all; c != NULL; c = c->all_next) {
        if (!e->gave_back)
            pw_cmd_give_back(c);
        pending += c->phase == PW_HELD && c->store_busy > 0;
    }
    e->gave_back = 1;
    return pending;
}

static void pw_engine_on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_engine *e = arg;
    size_t live = 0;
    for (pw_cmd *c = e->all; c != NULL; c = c->all_next)
        if (c->phase != PW_HELD && !c->dropped)
            live++;
    int64_t waited = pw_engine_mono_ms() - e->drain_since_ms;
    int timed_out = waited > e->cfg->drain_timeout_ms;
    if ((live > 0 || rd_kafka_outq_len(e->producer) > 0) && !timed_out)
        return;
    if (timed_out && pw_engine_give_back(e) > 0 &&
        waited < e->cfg->drain_timeout_ms + PW_GIVEBACK_MS)
        return; /* their store replies, briefly */
    evtimer_del(e->drain_timer);
    for (pw_cmd *c = e->all; c != NULL; c = c->all_next)
        if (!c->dropped) /* held ones too: unanswered, redelivered to the next owner */
            e->unfinished++;
    if (e->unfinished > 0) {
        pw_logline ll;
        pw_log_begin(&ll, PW_LOG_WARN, "drain timeout: leaving calls in flight unfinished");
        pw_log_int(&ll, "unfinished", e->unfinished);
        pw_log_str(&ll, "what_happens",
                   "their claims expire; they are redelivered and answered "
                   "UNKNOWN unless settled");
        pw_log_end(&ll);
    }
    rd_kafka_flush(e->producer, PW_CLOSE_STEP_MS);
    /* asynchronous: a synchronous commit waits for a broker that may be down
     * (pw_engine_free bounds the wait for it while leaving the group) */
    pw_offsets_commit(e, 0, "shutdown");
    if (e->done_cb != NULL)
        e->done_cb(e->done_ud);
}

int64_t pw_engine_unfinished(const pw_engine *e)
{
    return e->unfinished;
}

void pw_engine_stop(pw_engine *e, void (*done_cb)(void *ud), void *ud)
{
    e->stopping = 1;
    e->drain_since_ms = pw_engine_mono_ms();
    e->done_cb = done_cb;
    e->done_ud = ud;
    pw_consume_flow(e);
    /* commands not claimed yet are left for the next owner */
    for (pw_cmd *c = e->all, *next; c != NULL; c = next) {
        next = c->all_next;
        if (c->phase == PW_QUEUED && c->fence == 0 && c->store_busy == 0) {
            c->dropped = 1;
            pw_cmd_done(c);
        }
    }
    e->drain_timer = event_new(e->base, -1, EV_PERSIST, pw_engine_on_drain_timer, e);
    struct timeval tv = {0, 20000};
    evtimer_add(e->drain_timer, &tv);
}

void pw_engine_free(pw_engine *e)
{
    if (e == NULL)
        return;
    /* order: nothing may call back into a freed command */
    e->closing = 1;
    if (e->consumer != NULL) {
        /* leave the group, bounded: a broker that is down must not hold
         * the process (the revoke callback unassigns at once: closing) */
        rd_kafka_queue_t *q = rd_kafka_queue_new(e->consumer);
        rd_kafka_error_t *cerr = rd_kafka_consumer_close_queue(e->consumer, q);
        int64_t deadline = pw_engine_mono_ms() + 2 * PW_CLOSE_STEP_MS;
        if (cerr != NULL) {
            rd_kafka_error_destroy(cerr);
        } else {
            while (!rd_kafka_consumer_closed(e->consumer) && pw_engine_mono_ms() < deadline) {
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
                if (ev == NULL)
                    continue;
                if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                    pw_consume_on_rebalance(e->consumer, rd_kafka_event_error(ev),
                                            rd_kafka_event_topic_partition_list(ev), e);
                rd_kafka_event_destroy(ev);
            }
        }
        if (!rd_kafka_consumer_closed(e->consumer))
            pw_log(PW_LOG_WARN, "consumer not closed in time: leaving the group by timeout", NULL);
        rd_kafka_queue_destroy(q);
        rd_kafka_queue_destroy(e->cq);
        if (e->mq != NULL)
            rd_kafka_queue_destroy(e->mq);
        rd_kafka_destroy_flags(e->consumer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    if (e->producer != NULL) {
        rd_kafka_queue_destroy(e->pq);
        if (e->aq != NULL)
            rd_kafka_queue_destroy(e->aq);
        rd_kafka_flush(e->producer, PW_CLOSE_STEP_MS); /* delivery reports are no-ops now */
        for (int i = 0; i < 3; i++)
            if (e->outputs[i] != NULL)
                rd_kafka_topic_destroy(e->outputs[i]);
        rd_kafka_destroy(e->producer);
    }
    pw_store_free(e->store); /* pending replies arrive now, and only release */
    e->store = NULL;
    while (e->all != NULL) {
        pw_cmd *c = e->all;
        if (c->call != NULL)
            pw_http_cancel(c->call);
        c->call = NULL;
        if (c->in_keyq)
            pw_keyq_remove(e, c);
        pw_cmd_free(c);
    }
    pw_http_free(e->http);
    pw_registry_free(e->registry);
    sc_codec_free(e->codec);
    for (int k = 0; k < PW_PROVIDERS_MAX; k++) {
        free(e->prov[k].token);
        for (int i = 0; i < PW_SPECS_MAX; i++)
            if (e->prov[k].specs[i].spec != NULL)
                pv_provider_free_spec(e->prov[k].p, e->prov[k].specs[i].spec);
    }
    for (int32_t p = 0; p < e->nparts; p++) {
        if (e->parts[p] != NULL && e->parts[p]->assigned)
            pw_track_free(&e->parts[p]->track);
        free(e->parts[p]);
    }
    free(e->parts);
    free(e->assigned);
    if (e->revoke_pending != NULL)
        rd_kafka_topic_partition_list_destroy(e->revoke_pending);
    if (e->cev != NULL) /* NULL when pw_engine_new failed before creating them */
        event_free(e->cev);
    if (e->pev != NULL)
        event_free(e->pev);
    if (e->commit_timer != NULL)
        event_free(e->commit_timer);
    if (e->drain_timer != NULL)
        event_free(e->drain_timer);
    if (e->revoke_timer != NULL)
        event_free(e->revoke_timer);
    for (int i = 0; i < 2; i++) {
        if (e->cpipe[i] >= 0)
            close(e->cpipe[i]);
        if (e->ppipe[i] >= 0)
            close(e->ppipe[i]);
    }
    free(e->buckets);
    free(e);
}
