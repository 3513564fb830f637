/* pw_metrics.c -- see pw_metrics.h. */
#include "pw_metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "pw_alloc.h"

/* seconds */
static const double pw_latency_le[PW_LATENCY_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

struct pw_metrics_server {
    struct evhttp *http;
    const pw_metrics *m;
};

void pw_metrics_init(pw_metrics *m)
{
    memset(m, 0, sizeof(*m));
    m->consumer_lag = -1;
}

void pw_metrics_observe_latency(pw_metrics *m, int provider, int64_t us)
{
    if (provider < 0 || provider >= PW_METRICS_PROVIDERS)
        return;
    double s = (double)us / 1e6; /* a duration, not money */
    for (int b = 0; b < PW_LATENCY_BUCKETS; b++)
        if (s <= pw_latency_le[b]) {
            m->latency_bucket[provider][b]++;
            break;
        }
    m->latency_count[provider]++;
    m->latency_sum_s[provider] += s;
}

typedef struct pw_out {
    char *buf;
    size_t len, cap;
} pw_out;

static void pw_metrics_outf(pw_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pw_metrics_outf(pw_out *o, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *grown = pw_alloc_realloc(o->buf, cap);
        if (grown == NULL)
            return;
        o->buf = grown;
        o->cap = cap;
    }
}

char *pw_metrics_render(const pw_metrics *m, size_t *len)
{
    pw_out o = {.buf = pw_alloc_malloc(16384), .cap = 16384};
    if (o.buf == NULL)
        return NULL;
    o.buf[0] = '\0';
    pw_metrics_outf(&o, "# HELP payworker_commands_total Commands settled, by provider and result "
                        "status.\n# TYPE payworker_commands_total counter\n");
    int nprov = 0;
    while (nprov < PW_METRICS_PROVIDERS && pv_providers[nprov] != NULL)
        nprov++;
    for (int p = 0; p <= PW_METRICS_PROVIDERS; p++) {
        /* the registry's providers, then the row of commands naming none */
        if (p >= nprov && p != PW_METRICS_PROVIDERS)
            continue;
        const char *name = p < nprov ? pv_providers[p]->name : "none";
        for (int s = 0; s < PV_STATUS__COUNT; s++)
            if (m->commands[p][s] > 0)
                pw_metrics_outf(
                    &o, "payworker_commands_total{provider=\"%s\",status=\"%s\"} %llu\n", name,
                    pv_status_name((pv_status)s), (unsigned long long)m->commands[p][s]);
    }
    pw_metrics_outf(&o,
                    "# HELP payworker_provider_outcomes_total Provider call outcomes by class.\n"
                    "# TYPE payworker_provider_outcomes_total counter\n");
    for (int p = 0; p < nprov; p++)
        for (int k = 0; k < PV_OUTCOME__COUNT; k++)
            if (m->outcomes[p][k] > 0)
                pw_metrics_outf(&o,
                                "payworker_provider_outcomes_total{provider=\"%s\",outcome=\"%s\"} "
                                "%llu\n",
                                pv_providers[p]->name, pv_outcome_name((pv_outcome)k),
                                (unsigned long long)m->outcomes[p][k]);
    pw_metrics_outf(&o, "# HELP payworker_provider_latency_seconds Provider call latency.\n"
                        "# TYPE payworker_provider_latency_seconds histogram\n");
    for (int p = 0; p < nprov; p++) {
        uint64_t cum = 0;
        for (int b = 0; b < PW_LATENCY_BUCKETS; b++) {
            cum += m->latency_bucket[p][b];
            pw_metrics_outf(&o,
                            "payworker_provider_latency_seconds_bucket{provider=\"%s\",le=\"%g\"} "
                            "%llu\n",
                            pv_providers[p]->name, pw_latency_le[b], (unsigned long long)cum);
        }
        pw_metrics_outf(
            &o,
            "payworker_provider_latency_seconds_bucket{provider=\"%s\",le=\"+Inf\"} %llu\n"
            "payworker_provider_latency_seconds_sum{provider=\"%s\"} %.6f\n"
            "payworker_provider_latency_seconds_count{provider=\"%s\"} %llu\n",
            pv_providers[p]->name, (unsigned long long)m->latency_count[p], pv_providers[p]->name,
            m->latency_sum_s[p], pv_providers[p]->name, (unsigned long long)m->latency_count[p]);
    }
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"payworker_retries_total", "Provider calls retried after a RETRY outcome.",
         offsetof(pw_metrics, retries)},
        {"payworker_unknowns_total", "Commands whose payment outcome is unknown.",
         offsetof(pw_metrics, unknowns)},
        {"payworker_redis_errors_total", "Idempotency store operations that failed.",
         offsetof(pw_metrics, redis_errors)},
        {"payworker_rejected_total", "Commands rejected (undecodable or invalid).",
         offsetof(pw_metrics, rejected)},
        {"payworker_dlq_total", "Messages copied to the dead-letter topic.",
         offsetof(pw_metrics, dlq)},
        {"payworker_replays_total", "Settled commands answered from the store.",
         offsetof(pw_metrics, replays)},
        {"payworker_duplicates_total", "Commands answered DUPLICATE.",
         offsetof(pw_metrics, duplicates)},
        {"payworker_kafka_produce_errors_total", "Event deliveries that failed.",
         offsetof(pw_metrics, kafka_produce_errors)},
        {"payworker_transition_errors_total",
         "Command state machine events with no transition (a bug: see the log).",
         offsetof(pw_metrics, transition_errors)},
        {"payworker_encode_repairs_total",
         "Results that could be encoded only with their text repaired or left out (see the "
         "log).",
         offsetof(pw_metrics, encode_repairs)},
        {"payworker_produce_refused_total",
         "Events the producer refused for good (too large, unknown topic): see the log.",
         offsetof(pw_metrics, produce_refused)},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        pw_metrics_outf(&o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name,
                        counters[i].help, counters[i].name, counters[i].name,
                        (unsigned long long)*(const uint64_t *)((const char *)m + counters[i].off));
    pw_metrics_outf(&o,
                    "# HELP payworker_inflight Commands in flight.\n# TYPE payworker_inflight "
                    "gauge\npayworker_inflight %lld\n",
                    (long long)m->inflight);
    if (m->consumer_lag >= 0)
        pw_metrics_outf(&o,
                        "# HELP payworker_consumer_lag Messages behind the partition ends "
                        "(librdkafka statistics).\n# TYPE payworker_consumer_lag gauge\n"
                        "payworker_consumer_lag %lld\n",
                        (long long)m->consumer_lag);
    pw_metrics_outf(
        &o,
        "# HELP payworker_up Readiness inputs.\n# TYPE payworker_up gauge\n"
        "payworker_up{dependency=\"redis\"} %d\npayworker_up{dependency=\"kafka\"} %d\n",
        m->redis_up, m->kafka_up);
    *len = o.len;
    return o.buf;
}

const char *pw_metrics_not_ready(const pw_metrics *m, char *buf, size_t cap)
{
    if (!m->redis_up)
        return "redis unreachable: no claims, consumption paused";
    if (!m->kafka_up)
        return "kafka unreachable";
    for (int p = 0; p < PW_METRICS_PROVIDERS; p++)
        if (m->fatal[p][0] != '\0') {
            snprintf(buf, cap, "provider %s stopped: %s", pv_providers[p]->name, m->fatal[p]);
            return buf;
        }
    return NULL;
}

static void pw_metrics_reply(struct evhttp_request *req, int code, const char *ctype,
                             const char *body, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Service Unavailable", out);
    evbuffer_free(out);
}

static void pw_metrics_handle(struct evhttp_request *req, void *arg)
{
    pw_metrics_server *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    char why[256];
    if (strcmp(uri, "/metrics") == 0) {
        size_t len;
        char *text = pw_metrics_render(s->m, &len);
        pw_metrics_reply(req, 200, "text/plain; version=0.0.4", text != NULL ? text : "",
                         text != NULL ? len : 0);
        free(text);
    } else if (strcmp(uri, "/healthz") == 0) {
        pw_metrics_reply(req, 200, "text/plain", "ok\n", 3);
    } else if (strcmp(uri, "/readyz") == 0) {
        const char *no = pw_metrics_not_ready(s->m, why, sizeof(why));
        char body[300];
        int n = snprintf(body, sizeof(body), "%s\n", no != NULL ? no : "ready");
        pw_metrics_reply(req, no != NULL ? 503 : 200, "text/plain", body, (size_t)n);
    } else {
        evhttp_send_error(req, 404, "Not Found");
    }
}

pw_metrics_server *pw_metrics_serve(struct event_base *base, const char *addr, const pw_metrics *m,
                                    char *errstr, size_t cap)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
        snprintf(errstr, cap, "PAYW_HTTP_ADDR: \"%.100s\" is not host:port", addr);
        return NULL;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) {
        snprintf(errstr, cap, "PAYW_HTTP_ADDR: \"%.100s\" has no valid port", addr);
        return NULL;
    }
    pw_metrics_server *s = pw_alloc_calloc(1, sizeof(*s));
    s->m = m;
    s->http = evhttp_new(base);
    evhttp_set_gencb(s->http, pw_metrics_handle, s);
    if (evhttp_bind_socket(s->http, host, (ev_uint16_t)port) != 0) {
        snprintf(errstr, cap, "PAYW_HTTP_ADDR: cannot listen on %.100s", addr);
        pw_metrics_server_free(s);
        return NULL;
    }
    return s;
}

void pw_metrics_server_free(pw_metrics_server *s)
{
    if (s == NULL)
        return;
    evhttp_free(s->http);
    free(s);
}
