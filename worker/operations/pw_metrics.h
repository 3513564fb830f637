/* pw_metrics.h -- Prometheus metrics and the health endpoints.
 *
 * DESIGN
 * Counters and histograms are plain integers updated on the loop thread (no
 * atomics needed: one loop per process). An evhttp server on PAYW_HTTP_ADDR
 * serves /metrics (Prometheus text format 0.0.4), /healthz (the loop is
 * alive) and /readyz (ready only while Redis and Kafka are reachable and no
 * provider is stopped by a FATAL outcome; the body says why not).
 * Label values come from fixed vocabularies (provider names, statuses), so
 * the number of series is bounded.
 */
#ifndef PW_METRICS_H
#define PW_METRICS_H

#include <event2/event.h>
#include <stdint.h>

#include "pv_domain.h"

#define PW_METRICS_PROVIDERS 8
#define PW_LATENCY_BUCKETS   14

typedef struct pw_metrics {
    /* by provider index (position in pv_providers) and status */
    uint64_t commands[PW_METRICS_PROVIDERS + 1][PV_STATUS__COUNT]; /* last row: unknown provider */
    uint64_t outcomes[PW_METRICS_PROVIDERS][PV_OUTCOME__COUNT];
    uint64_t latency_bucket[PW_METRICS_PROVIDERS][PW_LATENCY_BUCKETS]; /* cumulative at render */
    uint64_t latency_count[PW_METRICS_PROVIDERS];
    double latency_sum_s[PW_METRICS_PROVIDERS];
    uint64_t retries, unknowns, redis_errors, rejected, dlq, replays, duplicates;
    uint64_t kafka_produce_errors;
    uint64_t transition_errors; /* pw_cmd_go found no transition: a bug */
    uint64_t encode_repairs;    /* results encoded only once their text was repaired */
    uint64_t produce_refused;   /* outputs the producer refused for good (not a full queue) */
    int64_t inflight;
    int64_t consumer_lag; /* from librdkafka statistics; -1 unknown */
    /* readiness inputs */
    int redis_up, kafka_up;
    char fatal[PW_METRICS_PROVIDERS][160]; /* why a provider is stopped, "" if not */
} pw_metrics;

typedef struct pw_metrics_server pw_metrics_server;

void pw_metrics_init(pw_metrics *m);
void pw_metrics_observe_latency(pw_metrics *m, int provider, int64_t us);
/* Writes the Prometheus text into a malloc'd string. */
char *pw_metrics_render(const pw_metrics *m, size_t *len);
/* Why the worker is not ready, or NULL when it is. buf holds the text. */
const char *pw_metrics_not_ready(const pw_metrics *m, char *buf, size_t cap);

/* Serves the endpoints on addr "host:port"; NULL with errstr on failure. */
pw_metrics_server *pw_metrics_serve(struct event_base *base, const char *addr, const pw_metrics *m,
                                    char *errstr, size_t cap);
void pw_metrics_server_free(pw_metrics_server *s);

#endif
