/* pw_offsets.h -- a command's offset, from consumed to committed.
 *
 * DESIGN
 * Commands of one partition finish out of order (per-key queues, calls of
 * different lengths), so an offset is committable only once every command
 * at or below it has its outputs acknowledged by the broker:
 *
 *   consumed   pw_consume_take records the offset in the partition's window
 *              (pw_track_add); a full window pauses the partition
 *   done       pw_offsets_done marks it (pw_track_done); when that extends
 *              the contiguous run of finished offsets, the new position is
 *              stored in librdkafka (rd_kafka_offsets_store; never
 *              auto-stored, enable.auto.offset.store=false)
 *   committed  pw_offsets_on_commit_timer commits what is stored every
 *              PAYW_COMMIT_INTERVAL_MS; a revoke commits synchronously before
 *              giving the partition back (the next owner starts where we
 *              stopped); shutdown commits once more, asynchronously (a broker
 *              that is down must not hang it; pw_engine_free bounds the close)
 *
 * A command dropped by a revoke stores nothing: its offset is no longer ours.
 * Internal to the engine's files; runs on the engine's loop.
 */
#ifndef PW_OFFSETS_H
#define PW_OFFSETS_H

#include <event2/event.h>
#include <stdint.h>

typedef struct pw_engine pw_engine;

/* The command at offset of partition is done: store the position it frees. */
void pw_offsets_done(pw_engine *e, int32_t partition, int64_t offset);
/* Commits the stored positions: synchronously (sync 1) or not. why names the
 * occasion in the log when it fails. */
void pw_offsets_commit(pw_engine *e, int sync, const char *why);
/* The commit timer (PAYW_COMMIT_INTERVAL_MS). */
void pw_offsets_on_commit_timer(evutil_socket_t fd, short what, void *arg);

#endif
