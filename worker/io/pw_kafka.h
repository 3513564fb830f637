/* pw_kafka.h -- librdkafka configuration shared by payworker and payctl.
 *
 * DESIGN
 * Properties come, lowest priority first, from: the caller's defaults
 * (tunables such as linger.ms), the environment (PAYW_KAFKA_<PROPERTY>: upper
 * case, '.' written as '_', e.g. PAYW_KAFKA_SECURITY_PROTOCOL=ssl ->
 * security.protocol), then the caller's enforced properties (what the
 * correctness of the worker rests on: manual offset store, idempotence,
 * acks=all; payctl's -X). bootstrap.servers comes from PAYW_BROKERS unless a
 * property sets it. Every property is checked by librdkafka itself
 * and a bad one is reported with its name (never its value: it may be a
 * password).
 */
#ifndef PW_KAFKA_H
#define PW_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* A new conf (caller owns; librdkafka takes it in rd_kafka_new) or NULL with
 * errstr filled. brokers may be NULL (PAYW_BROKERS, then 127.0.0.1:9092).
 * defaults and enforced are NULL-terminated "name=value" lists (may be NULL),
 * applied before and after the environment. */
rd_kafka_conf_t *pw_kafka_conf_new(const char *brokers, const char *const *defaults,
                                   const char *const *enforced, char *errstr, size_t errcap);

/* Sets one property; 0 or -1 with errstr naming it. */
int pw_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                      size_t errcap);

/* Asks the cluster for topic's retention.ms (DescribeConfigs); the answer
 * arrives on q as an event within timeout_ms, read it with
 * pw_kafka_retention_read: 1 with *retention_ms set (-1: unlimited), or 0
 * with errstr saying why there is none (e.g. a broker that does not answer
 * DescribeConfigs, such as librdkafka's mock cluster). */
void pw_kafka_retention_ask(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *topic, int timeout_ms);
int pw_kafka_retention_read(rd_kafka_event_t *ev, const char *topic, int64_t *retention_ms,
                            char *errstr, size_t errcap);

#endif
