/* pw_publish.h -- a command's events: the result event (encoded here), its
 * balance events, the dead-letter copy of a rejected command; produced with
 * the idempotent producer and followed by their delivery reports. Event ids
 * are deterministic (command id, what, fence): a replay carries the same id.
 * Internal to the engine's files. */
#ifndef PW_PUBLISH_H
#define PW_PUBLISH_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "provider.h"

typedef struct pw_cmd pw_cmd;

/* c->digest: FNV-1a over a canonical text of the request (object keys
 * sorted, numbers by their original text) and the provider. */
void pw_publish_digest(pw_cmd *c);
/* Encodes c's result event with status into a malloc'd buffer; 0 or -1. */
int pw_publish_encode_result(pw_cmd *c, pv_status status, char **bytes, size_t *len);
/* Adds an output (value owned, key copied). */
void pw_publish_add(pw_cmd *c, const char *topic, const char *key, size_t key_len, char *value,
                    size_t len, int dlq);
/* pw_publish_add for the result: keyed by the lock key, else the command id,
 * else the message's own key. */
void pw_publish_add_result(pw_cmd *c, char *value, size_t len);
/* Counts, logs and produces c's outputs (the result in out[0], balances
 * added here); c is done once every one is acknowledged. */
void pw_publish_cmd(pw_cmd *c);
/* The producer's delivery report callback. */
void pw_publish_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

#endif
