/* pw_engine.h -- the worker: payment commands in, provider calls, events out.
 *
 * DESIGN (../shared/DESIGN.md §2-4)
 * One engine runs on one libevent loop and owns: the Kafka consumer and
 * producer (their queues wake the loop through pipes:
 * rd_kafka_queue_io_event_enable), the idempotency store (pw_store), the
 * provider transport (pw_http), the codec and the metrics. No locks.
 *
 * Life of a command (pw_engine.c):
 *   consumed -> tracked in its partition (pw_track) -> decoded (bad bytes:
 *   REJECTED result + dead-letter copy) -> expired? (EXPIRED, never paid) ->
 *   queued behind earlier commands of the same lock key -> claimed in Redis
 *   -> [prerequisites: OAuth token, İş Bankası service spec, the provider's
 *   concurrency limit] -> provider call under a lock watchdog -> outcome ->
 *   RETRY with backoff, or inquiry for an UNKNOWN where the provider has one
 *   -> recorded in Redis (fenced) -> result and balance events produced ->
 *   every output acknowledged by the broker -> the partition's committable
 *   offset moves (only past a contiguous run of finished commands).
 * A claim that is not ours never leads to a provider call: DONE replays the
 * stored result (same command) or answers DUPLICATE, UNKNOWN answers UNKNOWN,
 * a parameter conflict answers DUPLICATE, BUSY waits and claims again, and a
 * store error (Redis down) waits and claims again with the same token.
 *
 * Back-pressure: at most max_inflight commands per process and a window per
 * partition; partitions are paused when either is full, and while Redis is
 * down, and resumed when it drains.
 * Shutdown (pw_engine_stop): consumption stops, commands not yet claimed are
 * left uncommitted (another worker will take them), claimed ones finish
 * (bounded by drain_timeout_ms), outputs are flushed, offsets committed
 * synchronously, the group is left.
 */
#ifndef PW_ENGINE_H
#define PW_ENGINE_H

#include <event2/event.h>
#include <stddef.h>

#include "pw_config.h"
#include "pw_metrics.h"

typedef struct pw_engine pw_engine;

/* Creates the engine (Kafka clients, store, transport); nothing is consumed
 * until the loop runs. NULL with errstr on failure. cfg and m must outlive
 * the engine. */
pw_engine *pw_engine_new(struct event_base *base, pw_config *cfg, pw_metrics *m, char *errstr,
                         size_t cap);

/* Begins the drain; *done_cb(ud) runs once everything is flushed and
 * committed (or the drain timeout passed). */
void pw_engine_stop(pw_engine *e, void (*done_cb)(void *ud), void *ud);

/* After the drain: how many commands it left unfinished (calls in flight at
 * the timeout; they are redelivered to the next owner). */
int64_t pw_engine_unfinished(const pw_engine *e);

/* 1 when the engine refused to run (the loop was broken before anything was
 * consumed): the commands topic keeps messages longer than the store judges
 * them (PAYW_TOPIC_RETENTION_CHECK). */
int pw_engine_refused(const pw_engine *e);

void pw_engine_free(pw_engine *e);

#endif
