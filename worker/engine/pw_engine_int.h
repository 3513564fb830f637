/* pw_engine_int.h -- the engine's own state, shared by its files only:
 * pw_engine.c (start and stop), pw_consume.c (consumption, flow control,
 * commits, rebalances), pw_cmd.c (a command's state machine), pw_prov.c
 * (provider state), pw_publish.c (events out), pw_keyq.c (per-key queues).
 * Nothing outside them includes it. */
#ifndef PW_ENGINE_INT_H
#define PW_ENGINE_INT_H

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <time.h>

#include "pw_engine.h"
#include "pw_http.h"
#include "pw_prov.h"
#include "pw_store.h"
#include "pw_track.h"
#include "sc_codec.h"

#define PW_CONSUME_BATCH    512
#define PW_BACKLOG          2    /* consumed commands held in memory, in max_inflight units */
#define PW_BACKLOG_MIN      256  /* ... and never fewer (see pw_consume_backlog) */
#define PW_GIVEBACK_MS      1000 /* drain: how long given-back claims may take */
#define PW_CLOSE_STEP_MS    1000 /* shutdown: each of flush, leave, flush at most */
#define PW_RETENTION_ASK_MS 3000 /* start: the topic's retention.ms, at most this wait */

typedef struct pw_cmd pw_cmd;
typedef struct pw_keyq pw_keyq;

typedef struct pw_part {
    int assigned;
    int paused;
    int revoking;
    pw_track track;
    int64_t stored;     /* last offset stored for commit, -1 none */
    int64_t overrun_at; /* re-read from here (pw_consume_take), -1 none */
} pw_part;

struct pw_engine {
    struct event_base *base;
    uint64_t rng; /* back-off jitter, seeded per process (getrandom) */
    pw_config *cfg;
    pw_metrics *m;
    sc_codec *codec;
    struct pw_registry *registry; /* PAYW_SCHEMA_REGISTRY_URL's, NULL: local ids */
    pw_store *store;
    pw_http *http;
    rd_kafka_t *consumer, *producer;
    rd_kafka_topic_t *outputs[3]; /* held from the start: their metadata is ready early */
    rd_kafka_queue_t *cq, *pq;
    rd_kafka_queue_t *mq; /* the assigned partitions' messages (pw_consume_forward) */
    int mq_blocked;       /* mq was left unread: the backlog was full */
    int cpipe[2], ppipe[2];
    struct event *cev, *pev, *commit_timer, *drain_timer, *revoke_timer;
    pw_prov prov[PW_PROVIDERS_MAX];
    pw_keyq **buckets;
    size_t nbuckets;
    pw_part **parts; /* by partition number, grown at assignment; NULL: never ours */
    int32_t nparts;  /* entries in parts (and room in assigned) */
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
    int64_t unfinished;            /* commands left unfinished by the drain */
    rd_kafka_queue_t *aq;          /* the retention.ms answer (pw_engine_on_retention) */
    int retention_pending;         /* ... not there yet: nothing is consumed */
    int refused;                   /* the topic keeps commands longer than the store */
    int32_t *assigned;             /* the assigned partitions, compact */
    int nassigned;
};

/* A partition's state; NULL when it was never assigned to this worker. */
static inline pw_part *pw_engine_part(const pw_engine *e, int32_t p)
{
    return p >= 0 && p < e->nparts ? e->parts[p] : NULL;
}

/* Wall clock, ms since the epoch (events, expiry, the store). */
static inline int64_t pw_engine_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Durations, deadlines and timeouts: a clock that never jumps (an NTP step
 * of the wall clock must neither cut a retry budget short nor stretch a
 * drain). The wall clock above is for what events say (processed_at) and
 * what is compared with other hosts' times (created_at, expires_at). */
static inline int64_t pw_engine_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a, 64 bits (per-key buckets, digests, event ids). */
static inline uint64_t pw_engine_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
