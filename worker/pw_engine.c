/* pw_engine.c -- see pw_engine.h for the life of a command.
 *
 * Sections: digests and ids; per-key queues; providers and prerequisites;
 * publishing; the command state machine; Kafka glue (consume, rebalance,
 * delivery reports, commits); start and stop.
 *
 * Ownership: a pw_cmd is created when its message is consumed and freed when
 * it is done (all outputs acknowledged) or dropped (shutdown/revoke before it
 * was claimed). Every asynchronous operation it starts (store, http, timer)
 * holds the pointer; the command is never freed while one is pending: the
 * `busy` counter says how many are.
 */
#include "pw_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pv_json.h"
#include "pw_http.h"
#include "pw_kafka.h"
#include "pw_log.h"
#include "pw_store.h"
#include "pw_track.h"
#include "sc_codec.h"

#define PW_PARTITIONS_MAX   1024
#define PW_OUTPUTS_MAX      (2 + PV_BALANCES_MAX)
#define PW_SPECS_MAX        64
#define PW_SPEC_TTL_MS      (3600 * 1000)
#define PW_CONSUME_BATCH    512
#define PW_BACKLOG          2    /* consumed commands held in memory, in max_inflight units */
#define PW_BACKLOG_MIN      256  /* ... and never fewer (see pw_engine_backlog) */
#define PW_GIVEBACK_MS      1000 /* drain: how long given-back claims may take */
#define PW_CLOSE_STEP_MS    1000 /* shutdown: each of flush, leave, flush at most */
#define PW_RETENTION_ASK_MS 3000 /* start: the topic's retention.ms, at most this wait */

typedef enum pw_phase {
    PW_QUEUED,     /* waiting behind the same key, or for a claim retry */
    PW_CLAIMING,   /* store claim in flight */
    PW_WAITING,    /* claimed; waiting for a prerequisite or a call slot */
    PW_CALLING,    /* provider call in flight */
    PW_BACKOFF,    /* claimed; RETRY back-off timer */
    PW_INQUIRING,  /* status inquiry in flight */
    PW_FINISHING,  /* store finish in flight */
    PW_PUBLISHING, /* outputs produced, waiting for acks */
    PW_HELD,       /* provider stopped (FATAL): never answered, never committed */
} pw_phase;

struct pw_cmd;

typedef struct pw_output {
    struct pw_cmd *cmd; /* its command (delivery reports carry the output) */
    const char *topic;
    char *key;
    char *value;
    size_t len;
    int sent, acked;
    int dlq; /* carries the dead-letter headers */
} pw_output;

typedef struct pw_cmd pw_cmd;
typedef struct pw_prov pw_prov;

struct pw_cmd {
    pw_engine *e;
    int32_t partition;
    int64_t offset;
    char key[PV_ID_MAX + 16]; /* lock key PROVIDER:query_id; "" when rejected early */
    char query_id[PV_ID_MAX];
    char msg_key[PV_ID_MAX]; /* the Kafka key it came with */
    char traceparent[128];
    pv_command cmd;
    pw_prov *prov;
    pw_phase phase;
    pv_result *res; /* the provider's answer: from the first call on (pw_cmd_res) */
    pv_status status;
    char reason[PV_ERR_STR_MAX];
    json_object *field_errors;
    char token[40];
    int64_t fence; /* the claim's (claimed), or the answer's event fence */
    int claimed;   /* holds the store's claim: finish records its answer */
    int judged;    /* answered by the store's judgement: record the answer */
    int attempts;
    int auth_retried;
    int64_t first_try_ms; /* first attempt (prerequisite or call): the retry budget */
    char digest[40];
    struct event *timer; /* back-off, busy, claim retry, publish retry */
    struct event *watchdog;
    pw_http_call *call;
    int store_busy;    /* store operations holding the pointer */
    int done_pending;  /* done, freed when store_busy drops to 0 */
    int in_keyq;       /* queued in its key's FIFO */
    int active;        /* counted in e->active */
    pw_cmd *slot_next; /* waiting for an active slot */
    int in_slotq;      /* in the engine's slot list */
    pw_output out[PW_OUTPUTS_MAX];
    int nout;
    int dropped;
    /* dead-letter data (rejected commands only) */
    char *raw;
    size_t raw_len;
    char dlq_field[PV_ERR_FIELD_MAX];
    pw_cmd *key_next;  /* per-key FIFO */
    pw_cmd *wait_next; /* provider wait list */
    pw_cmd *all_prev, *all_next;
};

typedef struct pw_spec_entry {
    char key[64];
    void *spec;
    int64_t expires_ms;
    int fetching;
} pw_spec_entry;

struct pw_prov {
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
};

typedef struct pw_keyq {
    char *key;
    pw_cmd *head, *tail;
    struct pw_keyq *next;
} pw_keyq;

typedef struct pw_part {
    int assigned;
    int paused;
    int revoking;
    pw_track track;
    int64_t stored;     /* last offset stored for commit, -1 none */
    int64_t overrun_at; /* re-read from here (pw_engine_take), -1 none */
} pw_part;

struct pw_engine {
    struct event_base *base;
    pw_config *cfg;
    pw_metrics *m;
    sc_codec *codec;
    pw_store *store;
    pw_http *http;
    rd_kafka_t *consumer, *producer;
    rd_kafka_topic_t *outputs[3]; /* held from the start: their metadata is ready early */
    rd_kafka_queue_t *cq, *pq;
    rd_kafka_queue_t *mq; /* the assigned partitions' messages (pw_engine_forward) */
    int mq_blocked;       /* mq was left unread: the backlog was full */
    int cpipe[2], ppipe[2];
    struct event *cev, *pev, *commit_timer, *drain_timer, *revoke_timer;
    pw_prov prov[PW_PROVIDERS_MAX];
    pw_keyq **buckets;
    size_t nbuckets;
    pw_part parts[PW_PARTITIONS_MAX];
    int64_t inflight;
    int stopping;
    void (*done_cb)(void *);
    void *done_ud;
    rd_kafka_topic_partition_list_t *revoke_pending;
    pw_cmd *all;                   /* every live command */
    int64_t active;                /* commands started (claim onwards): at most max_inflight */
    pw_cmd *slot_head, *slot_tail; /* heads of their key waiting for an active slot */
    int closing;                   /* pw_engine_free: store callbacks only release */
    int64_t revoke_since_ms;       /* when the pending revoke started draining */
    int64_t drain_since_ms;        /* when pw_engine_stop was called */
    int gave_back;                 /* the drain timed out: idle claims given back */
    int givebacks;                 /* ... whose store replies are still due */
    int64_t unfinished;            /* commands left unfinished by the drain */
    rd_kafka_queue_t *aq;          /* the retention.ms answer (pw_engine_on_retention) */
    int retention_pending;         /* ... not there yet: nothing is consumed */
    int refused;                   /* the topic keeps commands longer than the store */
    int32_t assigned[PW_PARTITIONS_MAX]; /* the assigned partitions, compact */
    int nassigned;
};

static void pw_cmd_start(pw_cmd *c);
static void pw_cmd_call(pw_cmd *c);
static void pw_cmd_settle(pw_cmd *c, pv_status status);
static void pw_cmd_publish(pw_cmd *c);
static void pw_engine_flow(pw_engine *e);

static int64_t pw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*---- Digests and ids ----*/

static uint64_t pw_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int pw_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FNV-1a over a canonical text of v: object keys sorted, numbers by their
 * original text, so the same parameters give the same digest whatever their
 * order or wire form. */
static uint64_t pw_canon(uint64_t h, json_object *v)
{
    size_t len;
    const char *t;
    switch (json_object_get_type(v)) {
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(v), i = 0;
        const char **keys = malloc((n > 0 ? n : 1) * sizeof(*keys));
        json_object_object_foreach(v, k, val)
        {
            (void)val;
            keys[i++] = k;
        }
        qsort(keys, n, sizeof(*keys), pw_key_cmp);
        h = pw_fnv(h, "{", 1);
        for (i = 0; i < n; i++) {
            json_object *child = NULL;
            json_object_object_get_ex(v, keys[i], &child);
            if (child == NULL)
                continue; /* null members are absent */
            h = pw_fnv(h, keys[i], strlen(keys[i]) + 1);
            h = pw_canon(h, child);
        }
        free(keys);
        return pw_fnv(h, "}", 1);
    }
    case json_type_array:
        h = pw_fnv(h, "[", 1);
        for (size_t i = 0; i < json_object_array_length(v); i++)
            h = pw_canon(h, json_object_array_get_idx(v, i));
        return pw_fnv(h, "]", 1);
    case json_type_null:
        return pw_fnv(h, "n", 1);
    default:
        t = pv_json_number_text(v, &len);
        if (t == NULL)
            t = json_object_get_string(v), len = strlen(t);
        h = pw_fnv(h, t, len);
        return pw_fnv(h, "", 1);
    }
}

static void pw_hex16(char *buf, size_t cap, uint64_t h)
{
    snprintf(buf, cap, "%016" PRIx64, h);
}

static void pw_event_id(char *buf, size_t cap, const char *command_id, const char *what,
                        int64_t fence)
{
    char f[24];
    uint64_t h = 1469598103934665603ULL;
    h = pw_fnv(h, command_id, strlen(command_id) + 1);
    h = pw_fnv(h, what, strlen(what) + 1);
    snprintf(f, sizeof(f), "%" PRId64, fence);
    h = pw_fnv(h, f, strlen(f));
    snprintf(buf, cap, "ev-%016" PRIx64, h);
}

/*---- Per-key queues ----*/

static pw_keyq **pw_keyq_slot(pw_engine *e, const char *key)
{
    uint64_t h = pw_fnv(1469598103934665603ULL, key, strlen(key));
    pw_keyq **s = &e->buckets[h & (e->nbuckets - 1)];
    while (*s != NULL && strcmp((*s)->key, key) != 0)
        s = &(*s)->next;
    return s;
}

/* Appends c; returns 1 when c is at the head (may start now). */
static int pw_keyq_push(pw_engine *e, pw_cmd *c)
{
    pw_keyq **s = pw_keyq_slot(e, c->key);
    c->in_keyq = 1;
    if (*s == NULL) {
        pw_keyq *q = calloc(1, sizeof(*q));
        q->key = strdup(c->key);
        q->head = q->tail = c;
        *s = q;
        return 1;
    }
    (*s)->tail->key_next = c;
    (*s)->tail = c;
    return 0;
}

/* Removes c (the head or any other); returns the new head when c was it. */
static pw_cmd *pw_keyq_remove(pw_engine *e, pw_cmd *c)
{
    pw_keyq **s = pw_keyq_slot(e, c->key);
    pw_keyq *q = *s;
    if (q == NULL)
        return NULL;
    pw_cmd *prev = NULL, *it = q->head;
    while (it != NULL && it != c) {
        prev = it;
        it = it->key_next;
    }
    if (it == NULL)
        return NULL;
    if (prev != NULL)
        prev->key_next = c->key_next;
    else
        q->head = c->key_next;
    if (q->tail == c)
        q->tail = prev;
    c->key_next = NULL;
    c->in_keyq = 0;
    if (q->head == NULL) {
        *s = q->next;
        free(q->key);
        free(q);
        return NULL;
    }
    return prev == NULL ? q->head : NULL;
}

/*---- Commands: creation and release ----*/

static pw_cmd *pw_cmd_new(pw_engine *e, int32_t partition, int64_t offset)
{
    pw_cmd *c = calloc(1, sizeof(*c));
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
        c->res = malloc(sizeof(*c->res));
        pv_result_init(c->res);
    }
    return c->res;
}

static void pw_cmd_free(pw_cmd *c)
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

/* Stores the partition's committable position (committed by the timer). */
static void pw_engine_store_offset(pw_engine *e, int32_t partition, int64_t pos)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, e->cfg->topic_commands, partition)->offset = pos;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(e->consumer, l);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        pw_logline ll;
        pw_log_begin(&ll, PW_LOG_WARN, "offset not stored");
        pw_log_int(&ll, "partition", partition);
        pw_log_int(&ll, "offset", pos);
        pw_log_str(&ll, "error", rd_kafka_err2str(err));
        pw_log_end(&ll);
    } else {
        e->parts[partition].stored = pos;
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Every output acknowledged (or the command dropped): release it; its offset
 * may commit, and the next command of its key may start. */
static void pw_cmd_done(pw_cmd *c)
{
    pw_engine *e = c->e;
    if (c->store_busy > 0) {
        c->done_pending = 1; /* a store reply still holds c (a watchdog extend) */
        return;
    }
    pw_part *pt = &e->parts[c->partition];
    if (!c->dropped && pt->assigned) {
        int64_t pos = pw_track_done(&pt->track, c->offset);
        if (pos >= 0)
            pw_engine_store_offset(e, c->partition, pos);
    }
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
    pw_engine_flow(e);
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

/*---- Publishing ----*/

static void pw_cmd_produce(pw_cmd *c);
static void pw_cmd_after(pw_cmd *c, int64_t ms, event_callback_fn fn);

static void pw_on_publish_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_produce(arg);
}

static void pw_out_add(pw_cmd *c, const char *topic, const char *key, char *value, size_t len,
                       int dlq)
{
    pw_output *o = &c->out[c->nout++];
    o->cmd = c;
    o->topic = topic;
    o->key = strdup(key);
    o->value = value; /* owned */
    o->len = len;
    o->dlq = dlq;
}

/* Sends what is not sent yet; on a full local queue tries again shortly. */
static void pw_cmd_produce(pw_cmd *c)
{
    pw_engine *e = c->e;
    char part[16], off[24];
    snprintf(part, sizeof(part), "%" PRId32, c->partition);
    snprintf(off, sizeof(off), "%" PRId64, c->offset);
    for (int i = 0; i < c->nout; i++) {
        pw_output *o = &c->out[i];
        if (o->sent)
            continue;
        rd_kafka_headers_t *h = rd_kafka_headers_new(6);
        if (c->traceparent[0] != '\0')
            rd_kafka_header_add(h, "traceparent", -1, c->traceparent, -1);
        rd_kafka_header_add(h, "payw-command-id", -1, c->cmd.command_id, -1);
        if (o->dlq) {
            rd_kafka_header_add(h, "payw-reason", -1, c->reason, -1);
            rd_kafka_header_add(h, "payw-field", -1, c->dlq_field, -1);
            rd_kafka_header_add(h, "payw-source-topic", -1, e->cfg->topic_commands, -1);
            rd_kafka_header_add(h, "payw-source-partition", -1, part, -1);
            rd_kafka_header_add(h, "payw-source-offset", -1, off, -1);
        }
        rd_kafka_resp_err_t err = rd_kafka_producev(
            e->producer, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(o->key, strlen(o->key)),
            RD_KAFKA_V_VALUE(o->value, o->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(o), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(h);
            pw_cmd_after(c, 20, pw_on_publish_retry); /* local queue full */
            return;
        }
        o->sent = 1;
    }
}

/* Delivery report: an output reached the broker (acks=all) or failed. */
static void pw_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    pw_engine *e = opaque;
    if (e->closing)
        return; /* pw_engine_free: the commands may already be gone */
    pw_output *o = m->_private;
    pw_cmd *c = o != NULL ? o->cmd : NULL;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        e->m->kafka_produce_errors++;
        pw_log(PW_LOG_WARN, "event delivery failed, sending again", "topic", o->topic, "error",
               rd_kafka_err2str(m->err), NULL);
        o->sent = 0;
        pw_cmd_produce(c);
        return;
    }
    o->acked = 1;
    for (int i = 0; i < c->nout; i++)
        if (!c->out[i].acked)
            return;
    pw_cmd_done(c);
}

/* Encodes the result event of c with status into a malloc'd buffer. */
static int pw_cmd_encode_result(pw_cmd *c, pv_status status, char **bytes, size_t *len)
{
    pw_engine *e = c->e;
    pv_result_event ev = {0};
    pv_error err = {0};
    pw_event_id(ev.event_id, sizeof(ev.event_id), c->cmd.command_id, pv_status_name(status),
                c->fence);
    snprintf(ev.command_id, sizeof(ev.command_id), "%s", c->cmd.command_id);
    ev.provider = c->cmd.provider;
    snprintf(ev.operation, sizeof(ev.operation), "%s", c->cmd.operation);
    snprintf(ev.query_id, sizeof(ev.query_id), "%s", c->query_id);
    ev.status = status;
    ev.result = c->attempts > 0 ? c->res : NULL;
    ev.attempts = c->attempts;
    ev.fence = c->fence;
    snprintf(ev.worker, sizeof(ev.worker), "%s", e->cfg->worker_id);
    ev.processed_at_ms = pw_now_ms();
    snprintf(ev.reason, sizeof(ev.reason), "%s", c->reason);
    ev.field_errors = c->field_errors;
    if (sc_result_encode(e->codec, &ev, bytes, len, &err) != PV_OK) {
        pw_log(PW_LOG_ERROR, "result not encodable", "command_id", c->cmd.command_id, "error",
               err.errstr, NULL);
        return -1;
    }
    return 0;
}

static void pw_cmd_log_settled(pw_cmd *c)
{
    pw_logline l;
    pw_log_begin(&l, c->status == PV_STATUS_SUCCEEDED ? PW_LOG_INFO : PW_LOG_WARN,
                 "command settled");
    pw_log_str(&l, "provider", c->cmd.provider != NULL ? c->cmd.provider->name : "");
    pw_log_str(&l, "command_id", c->cmd.command_id);
    pw_log_str(&l, "query_id", c->query_id);
    pw_log_int(&l, "partition", c->partition);
    pw_log_int(&l, "offset", c->offset);
    pw_log_str(&l, "status", pv_status_name(c->status));
    pw_log_int(&l, "attempts", c->attempts);
    if (c->res != NULL && c->res->provider_code[0] != '\0')
        pw_log_str(&l, "provider_code", c->res->provider_code);
    if (c->reason[0] != '\0')
        pw_log_str(&l, "reason", c->reason);
    pw_log_end(&l);
}

/* Queues the outputs (the result already in out[0]) and produces them. */
static void pw_cmd_publish(pw_cmd *c)
{
    pw_engine *e = c->e;
    int pidx = c->prov != NULL ? c->prov->idx : PW_METRICS_PROVIDERS;
    e->m->commands[pidx][c->status]++;
    if (c->status == PV_STATUS_UNKNOWN)
        e->m->unknowns++;
    if (c->status == PV_STATUS_DUPLICATE)
        e->m->duplicates++;
    if (c->status == PV_STATUS_SUCCEEDED && c->attempts > 0 && c->res != NULL) {
        for (size_t i = 0; i < c->res->nbalances; i++) {
            pv_balance_event bev = {.provider = c->cmd.provider,
                                    .balance = &c->res->balances[i],
                                    .observed_at_ms = pw_now_ms(),
                                    .fence = c->fence};
            char what[PV_ID_MAX + 16], key[PV_ID_MAX + 32];
            char *bytes;
            size_t len;
            pv_error err = {0};
            snprintf(what, sizeof(what), "balance:%s", c->res->balances[i].account);
            pw_event_id(bev.event_id, sizeof(bev.event_id), c->cmd.command_id, what, c->fence);
            snprintf(bev.source_command_id, sizeof(bev.source_command_id), "%s", c->cmd.command_id);
            if (sc_balance_encode(e->codec, &bev, &bytes, &len, &err) == PV_OK) {
                snprintf(key, sizeof(key), "%s:%s", c->cmd.provider->name,
                         c->res->balances[i].account);
                pw_out_add(c, e->cfg->topic_balances, key, bytes, len, 0);
            }
        }
    }
    pw_cmd_log_settled(c);
    c->phase = PW_PUBLISHING;
    pw_cmd_produce(c);
}

/* The result key: the lock key, else the command id, else the message key. */
static const char *pw_cmd_result_key(const pw_cmd *c)
{
    if (c->key[0] != '\0')
        return c->key;
    if (c->cmd.command_id[0] != '\0')
        return c->cmd.command_id;
    return c->msg_key;
}

/*---- Settling: record in Redis, then publish ----*/

static void pw_cmd_finish(pw_cmd *c);
static void pw_cmd_hold(pw_cmd *c);

static void pw_on_finish_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_finish(arg);
}

static void pw_on_finish(void *ud, const pw_store_reply *r)
{
    pw_cmd *c = ud;
    if (pw_cmd_store_returned(c))
        return;
    if (r->outcome == PW_STORE_ERROR) {
        /* not recorded: never publish before it is; try again */
        c->e->m->redis_errors++;
        pw_cmd_after(c, 200, pw_on_finish_retry);
        return;
    }
    if (r->outcome == PW_STORE_FENCED)
        pw_log(PW_LOG_ERROR, "result recorded by someone else first (fenced); publishing ours",
               "command_id", c->cmd.command_id, "key", c->key, NULL);
    if (c->phase == PW_HELD)
        return; /* provider stopped: nothing is published for it */
    pw_cmd_publish(c);
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
        c->phase = PW_FINISHING;
    if (pw_store_finish(e->store, &fa, pw_on_finish, c) == 0)
        c->store_busy++;
}

/* The provider is stopped (FATAL): c is never answered nor committed here;
 * its claim goes back so that it is paid once the provider runs again. */
static void pw_cmd_hold(pw_cmd *c)
{
    c->phase = PW_HELD;
    if (c->claimed) {
        c->claimed = 0;
        pw_cmd_finish(c);
    }
}

static void pw_cmd_record(pw_cmd *c);

static void pw_on_record_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_record(arg);
}

/* The store's answer to a record: ours is recorded, or the command's
 * earlier final answer wins and is published instead. */
static void pw_on_record(void *ud, const pw_store_reply *r)
{
    pw_cmd *c = ud;
    if (pw_cmd_store_returned(c))
        return;
    if (r->outcome == PW_STORE_ERROR) {
        c->e->m->redis_errors++;
        pw_cmd_after(c, 200, pw_on_record_retry);
        return;
    }
    if (r->outcome == PW_STORE_ANSWERED && r->result_len > 0) {
        int s = pv_status_from_name(r->status);
        free(c->out[0].value);
        c->out[0].value = malloc(r->result_len);
        memcpy(c->out[0].value, r->result, r->result_len);
        c->out[0].len = r->result_len;
        c->e->m->replays++;
        if (s >= 0)
            c->status = (pv_status)s;
        snprintf(c->reason, sizeof(c->reason), "replay of the stored result");
    }
    pw_cmd_publish(c);
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
    c->phase = PW_FINISHING;
    if (pw_store_record(e->store, &ra, pw_on_record, c) == 0)
        c->store_busy++;
    else
        pw_cmd_publish(c); /* cannot happen: the arguments are ours */
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
    if (pw_cmd_encode_result(c, status, &bytes, &len) != 0)
        return; /* cannot happen with our own schema; logged */
    pw_out_add(c, c->e->cfg->topic_results, pw_cmd_result_key(c), bytes, len, 0);
    if (status == PV_STATUS_REJECTED) {
        /* the original bytes, unchanged, with the reason in headers */
        c->e->m->rejected++;
        c->e->m->dlq++;
        char *raw = c->raw;
        c->raw = NULL;
        pw_out_add(c, c->e->cfg->topic_dlq, c->msg_key, raw != NULL ? raw : strdup(""),
                   raw != NULL ? c->raw_len : 0, 1);
    }
    if (c->claimed)
        pw_cmd_finish(c);
    else if (c->judged)
        pw_cmd_record(c);
    else
        pw_cmd_publish(c);
}

/* Answers c with the result event stored with its answer (a replay: the
 * same event, the same event_id). status: the stored answer's name. */
static void pw_cmd_replay(pw_cmd *c, const char *status, const unsigned char *bytes, size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);
    memcpy(copy, bytes, len);
    c->e->m->replays++;
    int s = pv_status_from_name(status);
    c->status = s >= 0 ? (pv_status)s : PV_STATUS_SUCCEEDED; /* for the log and metrics */
    snprintf(c->reason, sizeof(c->reason), "replay of the stored result");
    pw_out_add(c, c->e->cfg->topic_results, pw_cmd_result_key(c), copy, len, 0);
    pw_cmd_publish(c);
}

/* A rejected command: a REJECTED result and the original bytes to the DLQ. */
static void pw_cmd_reject(pw_cmd *c, const pv_error *err)
{
    snprintf(c->reason, sizeof(c->reason), "%s", err->errstr);
    snprintf(c->dlq_field, sizeof(c->dlq_field), "%s", err->field);
    if (err->detail != NULL && c->field_errors == NULL)
        c->field_errors = json_object_get(pv_json_member(err->detail, "field_errors"));
    pw_cmd_settle(c, PV_STATUS_REJECTED);
}

/*---- Providers: call slots and prerequisites (token, spec) ----*/

static void pw_prov_wait(pw_prov *pv, pw_cmd *c)
{
    c->phase = PW_WAITING;
    c->wait_next = NULL;
    if (pv->wait_tail != NULL)
        pv->wait_tail->wait_next = c;
    else
        pv->wait_head = c;
    pv->wait_tail = c;
}

/* Takes c out of the wait list (the drain gives its claim back). */
static void pw_prov_unwait(pw_prov *pv, pw_cmd *c)
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
static void pw_prov_kick(pw_prov *pv)
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

static void pw_cmd_retry_or_fail(pw_cmd *c, const char *why);

/* A prerequisite could not be had: every waiting command counts an attempt. */
static void pw_prov_fail_waiters(pw_prov *pv, const char *why)
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

static void pw_prov_stop(pw_prov *pv, const char *why)
{
    pv->fatal = 1;
    pw_log(PW_LOG_ERROR, "provider stopped: fix its configuration and restart", "provider",
           pv->p->name, "reason", why, NULL);
}

static pv_ctx pw_prov_ctx(pw_prov *pv, const void *spec)
{
    pv_ctx ctx = {
        .settings = (const char *const *)pv->pc->settings, .token = pv->token, .spec = spec};
    return ctx;
}

typedef struct pw_fetch {
    pw_engine *e;
    pw_prov *pv;
    int spec_slot; /* -1: the token */
} pw_fetch;

static void pw_on_token(void *ud, const pw_http_result *r)
{
    pw_fetch *f = ud;
    pw_prov *pv = f->pv;
    pv_token tok;
    pv_error err = {0};
    char why[PV_ERR_STR_MAX + 64];
    pv->token_fetching = 0;
    if (r->fault >= 0) {
        snprintf(why, sizeof(why), "%s token endpoint: %s", pv->p->name, r->error);
        pw_prov_fail_waiters(pv, why);
    } else if (pv->p->parse_token(r->status, r->body, r->len, &tok, &err) != PV_OK) {
        if (err.code == PV_ECONFIG) {
            pw_prov_stop(pv, err.errstr);
            snprintf(f->e->m->fatal[pv->idx], sizeof(f->e->m->fatal[0]), "%.150s", err.errstr);
        }
        pw_prov_fail_waiters(pv, err.errstr);
    } else {
        free(pv->token);
        pv->token = strdup(tok.access_token);
        memset(&tok, 0, sizeof(tok));
        int64_t life = tok.expires_in_s > 0 ? tok.expires_in_s : 300;
        pv->token_expires_ms = pw_now_ms() + life * 1000;
        pw_prov_kick(pv);
    }
    free(f);
}

static void pw_on_spec(void *ud, const pw_http_result *r)
{
    pw_fetch *f = ud;
    pw_prov *pv = f->pv;
    pw_spec_entry *se = &pv->specs[f->spec_slot];
    pv_error err = {0};
    char why[PV_ERR_STR_MAX + 64];
    se->fetching = 0;
    if (r->fault >= 0) {
        snprintf(why, sizeof(why), "%s service spec: %s", pv->p->name, r->error);
        pw_prov_fail_waiters(pv, why);
    } else {
        void *spec = pv->p->parse_spec(r->status, r->body, r->len, &err);
        if (spec == NULL) {
            /* a spec we cannot get: the commands waiting on it are retried and
             * end FAILED; a refused service id fails them the same way */
            pw_prov_fail_waiters(pv, err.errstr);
        } else {
            if (se->spec != NULL)
                pv->p->free_spec(se->spec);
            se->spec = spec;
            se->expires_ms = pw_now_ms() + PW_SPEC_TTL_MS;
            pw_prov_kick(pv);
        }
    }
    free(f);
}

/* Starts fetching the token; the caller waits. */
static void pw_prov_fetch_token(pw_engine *e, pw_prov *pv)
{
    pv_request req;
    pv_error err = {0};
    char errstr[256];
    pv_ctx ctx = pw_prov_ctx(pv, NULL);
    if (pv->token_fetching)
        return;
    if (pv->p->build_token_request(&ctx, &req, &err) != PV_OK) {
        pw_prov_stop(pv, err.errstr);
        pw_prov_fail_waiters(pv, err.errstr);
        return;
    }
    pw_fetch *f = calloc(1, sizeof(*f));
    f->e = e;
    f->pv = pv;
    f->spec_slot = -1;
    pv->token_fetching = 1;
    if (pw_http_send(e->http, pv->pc->url, &req, pv->pc->timeout_ms, pv->pc->connect_timeout_ms,
                     pw_on_token, f, errstr, sizeof(errstr)) == NULL) {
        pv->token_fetching = 0;
        free(f);
        pw_prov_fail_waiters(pv, errstr);
    }
    pv_request_clear(&req);
}

/* The spec entry of c's key: ready (returns it), or being fetched (NULL). */
static void *pw_prov_spec(pw_engine *e, pw_prov *pv, pw_cmd *c, int *failed)
{
    char key[64], errstr[256];
    pv_error err = {0};
    *failed = 0;
    if (pv->p->spec_key(&c->cmd, key, sizeof(key), &err) != PV_OK) {
        c->field_errors =
            err.detail != NULL ? json_object_get(pv_json_member(err.detail, "field_errors")) : NULL;
        snprintf(c->reason, sizeof(c->reason), "%s", err.errstr);
        pv_error_clear(&err);
        *failed = 1;
        return NULL;
    }
    int64_t now = pw_now_ms();
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
        pv->p->free_spec(se->spec);
        se->spec = NULL;
    }
    snprintf(se->key, sizeof(se->key), "%s", key);
    pv_request req;
    pv_ctx ctx = pw_prov_ctx(pv, NULL);
    if (pv->p->build_spec_request(&c->cmd, &ctx, &req, &err) != PV_OK) {
        snprintf(c->reason, sizeof(c->reason), "%s", err.errstr);
        *failed = 1;
        return NULL;
    }
    pw_fetch *f = calloc(1, sizeof(*f));
    f->e = e;
    f->pv = pv;
    f->spec_slot = slot;
    se->fetching = 1;
    if (pw_http_send(e->http, pv->pc->url, &req, pv->pc->timeout_ms, pv->pc->connect_timeout_ms,
                     pw_on_spec, f, errstr, sizeof(errstr)) == NULL) {
        se->fetching = 0;
        free(f);
        snprintf(c->reason, sizeof(c->reason), "%s", errstr);
        *failed = 1;
    }
    pv_request_clear(&req);
    return NULL;
}

/*---- The command state machine ----*/

static void pw_on_timer_call(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_call(arg);
}

static void pw_on_timer_claim(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd_start(arg);
}

static void pw_cmd_after(pw_cmd *c, int64_t ms, event_callback_fn fn)
{
    if (c->timer != NULL)
        event_free(c->timer);
    c->timer = evtimer_new(c->e->base, fn, c);
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* A RETRY outcome: back off and call again, or end FAILED. */
static void pw_cmd_retry_or_fail(pw_cmd *c, const char *why)
{
    pw_engine *e = c->e;
    pw_config *cfg = e->cfg;
    int64_t elapsed = pw_now_ms() - c->first_try_ms;
    if (c->attempts < cfg->retry_max_attempts && elapsed < cfg->retry_budget_ms) {
        int64_t d = cfg->retry_base_ms;
        for (int i = 1; i < c->attempts && d < cfg->retry_max_ms; i++)
            d *= 2;
        if (d > cfg->retry_max_ms)
            d = cfg->retry_max_ms;
        d = d / 2 + (int64_t)((uint64_t)random() % (uint64_t)(d / 2 + 1)); /* jitter */
        e->m->retries++;
        c->phase = PW_BACKOFF;
        pw_cmd_after(c, d, pw_on_timer_call);
        return;
    }
    snprintf(c->reason, sizeof(c->reason), "gave up after %d attempts in %" PRId64 " ms: %s",
             c->attempts, elapsed, why);
    pw_cmd_settle(c, PV_STATUS_FAILED);
}

static void pw_on_extend(void *ud, const pw_store_reply *r)
{
    pw_cmd *c = ud;
    if (pw_cmd_store_returned(c))
        return;
    if (r->outcome == PW_STORE_LOST)
        pw_log(PW_LOG_ERROR, "claim lost while calling the provider", "command_id",
               c->cmd.command_id, "key", c->key, NULL);
}

static void pw_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_cmd *c = arg;
    int64_t ttl = pw_config_lock_ttl_ms(c->e->cfg, c->prov->pc);
    if (pw_store_extend(c->e->store, c->key, c->token, ttl, pw_on_extend, c) == 0)
        c->store_busy++;
}

static void pw_on_inquiry(void *ud, const pw_http_result *r)
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
    if (pv->p->build_inquiry(&c->cmd, &ctx, &req, &err) != PV_OK) {
        pw_cmd_settle(c, PV_STATUS_UNKNOWN);
        return;
    }
    c->call = pw_http_send(c->e->http, pv->pc->url, &req, pv->pc->timeout_ms,
                           pv->pc->connect_timeout_ms, pw_on_inquiry, c, errstr, sizeof(errstr));
    pv_request_clear(&req);
    if (c->call == NULL) {
        pw_cmd_settle(c, PV_STATUS_UNKNOWN);
        return;
    }
    pv->inflight++;
    c->phase = PW_INQUIRING;
}

static void pw_on_provider(void *ud, const pw_http_result *r)
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
static void pw_cmd_call(pw_cmd *c)
{
    pw_engine *e = c->e;
    pw_prov *pv = c->prov;
    pv_request req;
    pv_error err = {0};
    char errstr[256];
    const void *spec = NULL;
    int failed = 0;

    if (c->first_try_ms == 0)
        c->first_try_ms = pw_now_ms(); /* the budget counts from here, prerequisites too */
    if (pv->fatal) {
        pw_cmd_hold(c);
        return;
    }
    if (pv->inflight >= pv->pc->concurrency) {
        pw_prov_wait(pv, c);
        return;
    }
    if ((pv->p->caps & PV_CAP_OAUTH) &&
        (pv->token == NULL || pw_now_ms() > pv->token_expires_ms - 30000)) {
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
    c->call = pw_http_send(e->http, pv->pc->url, &req, pv->pc->timeout_ms,
                           pv->pc->connect_timeout_ms, pw_on_provider, c, errstr, sizeof(errstr));
    pv_request_clear(&req);
    if (c->call == NULL) {
        pw_cmd_retry_or_fail(c, errstr);
        return;
    }
    pv->inflight++;
    c->phase = PW_CALLING;
    int64_t ttl = pw_config_lock_ttl_ms(e->cfg, pv->pc);
    if (c->watchdog == NULL)
        c->watchdog = event_new(e->base, -1, EV_PERSIST, pw_on_watchdog, c);
    struct timeval tv = {.tv_sec = ttl / 3000, .tv_usec = (ttl / 3 % 1000) * 1000};
    evtimer_add(c->watchdog, &tv);
}

static void pw_on_claim(void *ud, const pw_store_reply *r)
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
        c->phase = PW_QUEUED;
        pw_cmd_after(c, e->cfg->busy_retry_ms, pw_on_timer_claim);
        return;
    default:
        /* Redis unavailable or slow: no provider call without a claim; the
         * same token claims again (a lost reply is answered CLAIMED) */
        e->m->redis_errors++;
        c->phase = PW_QUEUED;
        pw_cmd_after(c, e->cfg->busy_retry_ms * 4, pw_on_timer_claim);
        return;
    }
}

/* At the head of its key: claim it, once an active slot is free. Consumed
 * commands beyond max_inflight wait here, in memory, instead of pausing the
 * partitions at every completion (each pause/resume cycle costs a re-fetch:
 * that churn capped throughput at about max_inflight per half second). */
static void pw_cmd_start(pw_cmd *c)
{
    pw_engine *e = c->e;
    if (!c->active && !e->stopping && !e->parts[c->partition].revoking) {
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
    if (e->stopping || e->parts[c->partition].revoking) {
        c->dropped = 1; /* not claimed: left uncommitted for the next owner */
        pw_cmd_done(c);
        return;
    }
    if (c->prov->fatal) {
        c->phase = PW_HELD;
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
    c->phase = PW_CLAIMING;
    if (pw_store_claim(e->store, &a, pw_on_claim, c) == 0)
        c->store_busy++;
}

/* A consumed message becomes a command. */
static void pw_engine_take(pw_engine *e, rd_kafka_message_t *m)
{
    pw_part *pt = &e->parts[m->partition];
    if (!pt->assigned || pt->revoking)
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
    c->raw = malloc(m->len > 0 ? m->len : 1);
    if (m->len > 0)
        memcpy(c->raw, m->payload, m->len);
    c->raw_len = m->len;
    if (m->key != NULL)
        snprintf(c->msg_key, sizeof(c->msg_key), "%.*s", (int)m->key_len, (const char *)m->key);
    rd_kafka_headers_t *h = NULL;
    const void *tp;
    size_t tplen;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, "traceparent", &tp, &tplen) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        tp != NULL)
        snprintf(c->traceparent, sizeof(c->traceparent), "%.*s", (int)tplen, (const char *)tp);

    pv_error err = {0};
    if (sc_command_decode(e->codec, m->payload, m->len, &c->cmd, &err) != PV_OK) {
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
    if (c->cmd.provider->query_id(&c->cmd, c->query_id, sizeof(c->query_id), &err) != PV_OK) {
        pw_cmd_reject(c, &err);
        pv_error_clear(&err);
        return;
    }
    snprintf(c->key, sizeof(c->key), "%s:%s", c->cmd.provider->name, c->query_id);
    int64_t oldest = pw_now_ms() - e->cfg->retention_s * 1000;
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
    uint64_t h64 = pw_canon(1469598103934665603ULL, c->cmd.request);
    h64 = pw_fnv(h64, c->cmd.provider->name, strlen(c->cmd.provider->name));
    pw_hex16(c->digest, sizeof(c->digest), h64);
    pw_store_token(c->token, sizeof(c->token));
    c->phase = PW_QUEUED;
    if (pw_keyq_push(e, c))
        pw_cmd_start(c);
}

/*---- Kafka: flow control, commits, rebalances ----*/

/* How many consumed commands may be held (active, or waiting for a slot or
 * for their key); each partition's offset window is twice that. Past it the engine
 * simply stops reading its message queue (pw_on_consumer); librdkafka keeps a
 * bounded prefetch behind it (queued.max.messages.kbytes). The floor lets a
 * small max_inflight (1: the benchmark's one-at-a-time baseline) still read
 * ahead. */
static int64_t pw_engine_backlog(const pw_engine *e)
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
static void pw_engine_flow(pw_engine *e)
{
    int64_t high = pw_engine_backlog(e);
    if (e->mq_blocked && e->inflight <= high - high / 8) {
        e->mq_blocked = 0;
        event_active(e->cev, EV_READ, 0);
    }
    int global = e->stopping || !e->m->redis_up;
    rd_kafka_topic_partition_list_t *pause = NULL, *resume = NULL;
    for (int i = 0; i < e->nassigned; i++) {
        int32_t p = e->assigned[i];
        pw_part *pt = &e->parts[p];
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

static void pw_on_commit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_engine *e = arg;
    rd_kafka_resp_err_t err = rd_kafka_commit(e->consumer, NULL, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        pw_log(PW_LOG_WARN, "offset commit failed", "error", rd_kafka_err2str(err), NULL);
    /* the consumer queue is polled at least this often, even while a full
     * backlog leaves the message queue unread (max.poll.interval.ms) */
    event_active(e->cev, EV_READ, 0);
}

/* Commands of partition p that are claimed and not yet done. */
static size_t pw_engine_busy_in(pw_engine *e, int32_t p)
{
    size_t n = 0;
    for (pw_cmd *c = e->all; c != NULL; c = c->all_next)
        if (c->partition == p && !c->dropped && c->phase != PW_QUEUED && c->phase != PW_HELD)
            n++;
    return n;
}

/* Gives back revoked partitions once their claimed commands are done (or
 * the drain timeout passed): commit synchronously, then unassign. */
static void pw_engine_revoke_check(pw_engine *e, int force)
{
    rd_kafka_topic_partition_list_t *l = e->revoke_pending;
    if (l == NULL)
        return;
    for (int i = 0; i < l->cnt && !force; i++)
        if (pw_engine_busy_in(e, l->elems[i].partition) > 0)
            return;
    /* synchronous, so that the next owner starts where we stopped; while
     * closing asynchronous (pw_engine_free bounds the close) */
    rd_kafka_commit(e->consumer, NULL, e->closing);
    for (int i = 0; i < l->cnt; i++) {
        pw_part *pt = &e->parts[l->elems[i].partition];
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

static void pw_on_revoke_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_engine *e = arg;
    int force = pw_now_ms() - e->revoke_since_ms > e->cfg->drain_timeout_ms;
    pw_engine_revoke_check(e, force);
}

/* Routes the messages of newly assigned partitions to e->mq, so that the
 * consumer queue carries only events (rebalances, errors) and stays polled
 * while the backlog is full. librdkafka keeps a forwarding the application
 * set across later assignments of the partition. */
static void pw_engine_forward(pw_engine *e, const rd_kafka_topic_partition_list_t *parts)
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
static void pw_engine_log_parts(pw_engine *e, const char *msg,
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

static void pw_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pw_engine *e = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* a fetch brings one partition's messages together: the window
         * leaves room past a full backlog of them (9 bytes an offset) */
        size_t window = (size_t)pw_engine_backlog(e) * 2;
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            if (p < 0 || p >= PW_PARTITIONS_MAX)
                continue;
            pw_part *pt = &e->parts[p];
            if (!pt->assigned) {
                pw_track_init(&pt->track, window);
                pt->assigned = 1;
                e->assigned[e->nassigned++] = p;
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
        pw_engine_forward(e, parts);
        e->m->kafka_up = 1;
        pw_engine_log_parts(e, "partitions assigned", parts);
        pw_engine_flow(e);
        return;
    }
    /* revoked or lost: stop taking commands of those partitions, let the
     * claimed ones finish, then give them back */
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p >= 0 && p < PW_PARTITIONS_MAX)
            e->parts[p].revoking = 1;
    }
    for (pw_cmd *c = e->all, *next; c != NULL; c = next) {
        next = c->all_next;
        if (e->parts[c->partition].revoking && c->phase == PW_QUEUED && c->fence == 0 &&
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
        e->revoke_since_ms = pw_now_ms();
    }
    pw_engine_log_parts(e, "partitions revoked: draining", parts);
    pw_engine_flow(e);
    /* closing (pw_engine_free): the loop no longer runs, so nothing could
     * give them back later; a lost assignment is no longer ours either */
    pw_engine_revoke_check(e, e->closing || rd_kafka_assignment_lost(rk));
    if (e->revoke_pending != NULL) {
        struct timeval tv = {0, 50000};
        evtimer_add(e->revoke_timer, &tv);
    }
}

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

static void pw_drain_pipe(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

static void pw_engine_message(pw_engine *e, rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        e->m->kafka_up = 1;
        if (!e->stopping)
            pw_engine_take(e, m);
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        pw_log(PW_LOG_WARN, "consume error", "error", rd_kafka_message_errstr(m), NULL);
    }
    rd_kafka_message_destroy(m);
}

/* Both queues wake this: the consumer queue is always served (rebalances,
 * errors, and the messages fetched before pw_engine_forward), the message
 * queue only while the backlog has room. */
static void pw_on_consumer(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    pw_engine *e = arg;
    rd_kafka_message_t *batch[PW_CONSUME_BATCH];
    pw_drain_pipe(fd);
    int i = 0, mq_more = 0;
    for (; i < PW_CONSUME_BATCH; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(e->consumer, 0);
        if (m == NULL)
            break;
        pw_engine_message(e, m);
    }
    int64_t room = pw_engine_backlog(e) - e->inflight;
    if (e->retention_pending) {
        /* nothing is taken before the topic's retention is known */
    } else if (room <= 0 || e->stopping) {
        e->mq_blocked = !e->stopping; /* pw_engine_flow comes back when there is room */
    } else {
        size_t want = room < PW_CONSUME_BATCH ? (size_t)room : PW_CONSUME_BATCH;
        ssize_t n = rd_kafka_consume_batch_queue(e->mq, 0, batch, want);
        for (ssize_t k = 0; k < n; k++)
            pw_engine_message(e, batch[k]);
        mq_more = n == (ssize_t)want; /* more may wait, or the backlog is full now */
    }
    pw_engine_flow(e); /* once per batch: a window overrun is re-read (pw_engine_take) */
    if (i == PW_CONSUME_BATCH || (mq_more && !e->mq_blocked))
        event_active(e->cev, EV_READ, 0); /* come back after the others ran */
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

static void pw_on_producer(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    pw_engine *e = arg;
    pw_drain_pipe(fd);
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

static void pw_on_store_state(void *ud, pw_store_state state, const char *why)
{
    pw_engine *e = ud;
    e->m->redis_up = state == PW_STORE_UP;
    pw_log(state == PW_STORE_UP ? PW_LOG_INFO : PW_LOG_ERROR,
           state == PW_STORE_UP ? "redis up" : "redis down: consumption paused", "reason", why,
           NULL);
    pw_engine_flow(e);
}

/*---- Start and stop ----*/

static int pw_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    return 0;
}

/* A Kafka client whose callbacks all land on the engine: logs, errors, and
 * delivery reports (producer) or rebalances and statistics (consumer). */
static rd_kafka_t *pw_engine_client(pw_engine *e, rd_kafka_type_t type, const char *const *defaults,
                                    const char *const *enforced, char *errstr, size_t cap)
{
    rd_kafka_conf_t *conf = pw_kafka_conf_new(e->cfg->brokers, defaults, enforced, errstr, cap);
    if (conf == NULL)
        return NULL;
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(conf, pw_on_delivery);
    } else {
        rd_kafka_conf_set_rebalance_cb(conf, pw_on_rebalance);
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
    pw_engine *e = calloc(1, sizeof(*e));
    e->base = base;
    e->cfg = cfg;
    e->m = m;
    e->cpipe[0] = e->cpipe[1] = e->ppipe[0] = e->ppipe[1] = -1;
    e->nbuckets = 1024;
    while (e->nbuckets < (size_t)cfg->max_inflight * 2)
        e->nbuckets *= 2;
    e->buckets = calloc(e->nbuckets, sizeof(*e->buckets));
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
    e->http = pw_http_new(base, cfg->ca_path, errstr, cap);
    if (e->http == NULL)
        goto fail;
    pw_store_options so;
    pw_store_options_init(&so);
    so.command_timeout_ms = (int)cfg->redis_timeout_ms;
    so.replicas = (int)cfg->redis_wait_replicas;
    so.replicas_timeout_ms = (int)cfg->redis_wait_timeout_ms;
    so.retention_ms = cfg->retention_s * 1000;
    e->store = pw_store_new(base, cfg->redis_url, &so, pw_on_store_state, e, errstr, cap);
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
    if (pw_pipe(e->cpipe) != 0 || pw_pipe(e->ppipe) != 0) {
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
    e->cev = event_new(base, e->cpipe[0], EV_READ | EV_PERSIST, pw_on_consumer, e);
    e->pev = event_new(base, e->ppipe[0], EV_READ | EV_PERSIST, pw_on_producer, e);
    event_add(e->cev, NULL);
    event_add(e->pev, NULL);
    e->commit_timer = event_new(base, -1, EV_PERSIST, pw_on_commit_timer, e);
    struct timeval ci = {.tv_sec = cfg->commit_interval_ms / 1000,
                         .tv_usec = (cfg->commit_interval_ms % 1000) * 1000};
    evtimer_add(e->commit_timer, &ci);
    e->revoke_timer = event_new(base, -1, EV_PERSIST, pw_on_revoke_timer, e);

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

static void pw_on_giveback(void *ud, const pw_store_reply *r)
{
    pw_cmd *c = ud;
    (void)r; /* an error leaves the claim to expire: the next claim judges it */
    if (pw_cmd_store_returned(c))
        return;
    c->e->givebacks--;
}

/* At the drain timeout: a claimed command with nothing in flight (in
 * back-off, or waiting for a slot or a prerequisite) gives its claim back
 * unanswered, so that the next owner claims it again instead of finding an
 * expired claim (UNKNOWN). Calls in flight are left: their outcome is
 * unknown and their claims expire. */
static void pw_engine_give_back(pw_engine *e)
{
    for (pw_cmd *c = e->all; c != NULL; c = c->all_next) {
        if (!c->claimed || c->call != NULL || c->store_busy > 0 ||
            (c->phase != PW_BACKOFF && c->phase != PW_WAITING))
            continue;
        if (c->timer != NULL)
            evtimer_del(c->timer);
        if (c->phase == PW_WAITING)
            pw_prov_unwait(c->prov, c);
        c->claimed = 0;
        c->phase = PW_HELD;
        pw_store_finish_args fa = {
            .key = c->key,
            .fence = c->fence,
            .token = c->token,
            .status = PW_STORE_RELEASED,
            .retention_ms = e->cfg->retention_s * 1000,
            .command_id = c->cmd.command_id,
            .digest = c->digest,
        };
        if (pw_store_finish(e->store, &fa, pw_on_giveback, c) == 0) {
            c->store_busy++;
            e->givebacks++;
        }
    }
}

static void pw_on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_engine *e = arg;
    size_t live = 0;
    for (pw_cmd *c = e->all; c != NULL; c = c->all_next)
        if (c->phase != PW_HELD && !c->dropped)
            live++;
    int64_t waited = pw_now_ms() - e->drain_since_ms;
    int timed_out = waited > e->cfg->drain_timeout_ms;
    if ((live > 0 || rd_kafka_outq_len(e->producer) > 0) && !timed_out)
        return;
    if (timed_out && !e->gave_back) {
        e->gave_back = 1;
        pw_engine_give_back(e);
    }
    if (e->givebacks > 0 && waited < e->cfg->drain_timeout_ms + PW_GIVEBACK_MS)
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
    rd_kafka_commit(e->consumer, NULL, 1);
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
    e->drain_since_ms = pw_now_ms();
    e->done_cb = done_cb;
    e->done_ud = ud;
    pw_engine_flow(e);
    /* commands not claimed yet are left for the next owner */
    for (pw_cmd *c = e->all, *next; c != NULL; c = next) {
        next = c->all_next;
        if (c->phase == PW_QUEUED && c->fence == 0 && c->store_busy == 0) {
            c->dropped = 1;
            pw_cmd_done(c);
        }
    }
    e->drain_timer = event_new(e->base, -1, EV_PERSIST, pw_on_drain_timer, e);
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
        int64_t deadline = pw_now_ms() + 2 * PW_CLOSE_STEP_MS;
        if (cerr != NULL) {
            rd_kafka_error_destroy(cerr);
        } else {
            while (!rd_kafka_consumer_closed(e->consumer) && pw_now_ms() < deadline) {
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
                if (ev == NULL)
                    continue;
                if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                    pw_on_rebalance(e->consumer, rd_kafka_event_error(ev),
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
    sc_codec_free(e->codec);
    for (int k = 0; k < PW_PROVIDERS_MAX; k++) {
        free(e->prov[k].token);
        for (int i = 0; i < PW_SPECS_MAX; i++)
            if (e->prov[k].specs[i].spec != NULL)
                e->prov[k].p->free_spec(e->prov[k].specs[i].spec);
    }
    for (int p = 0; p < PW_PARTITIONS_MAX; p++)
        if (e->parts[p].assigned)
            pw_track_free(&e->parts[p].track);
    if (e->revoke_pending != NULL)
        rd_kafka_topic_partition_list_destroy(e->revoke_pending);
    event_free(e->cev);
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
