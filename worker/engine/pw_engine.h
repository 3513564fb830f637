/* pw_engine.h -- the worker: payment commands in, provider calls, events out.
 *
 * DESIGN (docs: README "Event contracts" and "Operating it")
 * One engine runs on one libevent loop and owns: the Kafka consumer and
 * producer (their queues wake the loop through pipes:
 * rd_kafka_queue_io_event_enable), the idempotency store (pw_store), the
 * provider transport (pw_http), the codec and the metrics. No locks.
 *
 * Its files, one subsystem each (the file name is the prefix of all in it):
 *   pw_engine.c   start and stop: clients, pipes, drain, bounded close
 *   pw_consume.c  messages into commands, flow control, offsets, commits,
 *                 rebalances
 *   pw_cmd.c      the life of one command: its state machine, with the
 *                 transition table (phase x event -> phase) and its DESIGN
 *   pw_prov.c     provider state: call slots, OAuth tokens, service specs,
 *                 the stop of a provider whose credentials are refused
 *   pw_publish.c  result, balance and dead-letter events; event ids; the
 *                 request digest
 *   pw_keyq.c     per-key queues (one invoice's commands one at a time)
 * sharing pw_engine_int.h (the engine's state) and pw_cmd.h (a command).
 *
 * Life of a command: consumed -> tracked in its partition (pw_track) ->
 * decoded (bad bytes: REJECTED result + dead-letter copy; older than the
 * store's retention: REJECTED, unjudged) -> queued behind earlier commands
 * of the same lock key -> claimed in Redis, where the store decides: its own
 * earlier answer again (a replay), DUPLICATE, UNKNOWN, EXPIRED (only if
 * never claimed), or CLAIMED -> [prerequisites: OAuth token, İş Bankası
 * service spec, the provider's concurrency limit] -> provider call under a
 * lock watchdog -> outcome -> RETRY with back-off, or inquiry for an
 * UNKNOWN where the provider has one -> recorded in Redis as the command's
 * answer (fenced for the invoice) -> result and balance events produced ->
 * every output acknowledged by the broker -> the partition's committable
 * offset moves (only past a contiguous run of finished commands).
 *
 * Back-pressure: at most max_inflight commands started per process, a
 * backlog of consumed ones behind them, and an offset window per partition;
 * see pw_consume.c. Shutdown (pw_engine_stop): consumption stops, commands
 * not yet claimed are left uncommitted (another worker will take them),
 * claimed ones finish (bounded by drain_timeout_ms; then idle claims are
 * given back), outputs are flushed, offsets committed, the group is left
 * within a bounded time.
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
