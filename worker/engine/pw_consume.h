/* pw_consume.h -- consumption: the consumer's events on the loop, messages
 * into commands, flow control (backlog, offset windows, pauses) and
 * rebalances (a revoked partition drains before it is given back; offsets
 * and commits are pw_offsets.h). Internal to the engine's files. */
#ifndef PW_CONSUME_H
#define PW_CONSUME_H

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct pw_engine pw_engine;

/* Pauses or resumes partitions as the limits require; reads again once the
 * backlog has room. */
void pw_consume_flow(pw_engine *e);
void pw_consume_on_consumer(evutil_socket_t fd, short what, void *arg);
void pw_consume_on_revoke_timer(evutil_socket_t fd, short what, void *arg);
void pw_consume_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts, void *opaque);
/* Empties a wake-up pipe. */
void pw_consume_drain_pipe(int fd);

#endif
