/* payctl_tail.c -- payctl tail: a topic's events as JSON lines, read by a
 * throw-away consumer group that never commits (the design: payctl_main.c). */
#include "payctl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "pv_json.h"
#include "pw_alloc.h"
#include "pw_kafka.h"
#include "sc_avro.h"

static void payctl_tail_usage(FILE *f)
{
    fprintf(f,
            "usage: payctl tail [options] results|balances|dlq|commands\n"
            "Prints the events of a topic, one JSON object per line.\n"
            "  -t, --topic TOPIC      read this topic (default: $PAYW_TOPIC_<WHAT> or\n"
            "                         payments.results / .balances / .commands.dlq / .commands)\n"
            "  -B, --from-beginning   start at the oldest message (default: only new ones)\n"
            "  -n, --count N          exit after N messages\n"
            "  -w, --timeout-ms MS    exit after MS without a message, counted from the\n"
            "                         moment the reader has joined (got its partitions)\n"
            "  -m, --meta             wrap each event with topic, partition, offset, key\n"
            "Commands are shown decoded, Avro or JSON as they were sent. Joining waits at\n"
            "most max(10 s, MS) (30 s without -w). Exit status: 0; 1 when a message could\n"
            "not be decoded, fewer than N arrived, the reader could not join, or no broker\n"
            "answered at the end; 2 on usage errors.\n");
    payctl_main_usage_kafka(f);
}

static const char payctl_tail_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_object *payctl_tail_base64(const unsigned char *p, size_t n)
{
    size_t olen = 4 * ((n + 2) / 3);
    char *out = pw_alloc_malloc(olen + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = payctl_tail_b64[v >> 18 & 63];
        out[o++] = payctl_tail_b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? payctl_tail_b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? payctl_tail_b64[v & 63] : '=';
    }
    json_object *j = json_object_new_string_len(out, (int)o);
    free(out);
    return j;
}

/* A dead-letter message: its headers and the original bytes. */
static json_object *payctl_tail_dlq_json(const rd_kafka_message_t *m)
{
    json_object *o = json_object_new_object(), *h = json_object_new_object();
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             i++)
            json_object_object_add(h, name,
                                   val != NULL ? json_object_new_string_len(val, (int)size) : NULL);
    }
    json_object_object_add(o, "headers", h);
    const unsigned char *p = m->payload;
    if (m->len > 0 && pv_utf8_valid(m->payload, m->len) && memchr(p, '\0', m->len) == NULL)
        json_object_object_add(o, "payload_text",
                               json_object_new_string_len(m->payload, (int)m->len));
    else
        json_object_object_add(o, "payload_base64", payctl_tail_base64(p, m->len));
    return o;
}

/* How long tail waits to join its group: the join is what a short -w used
 * to spend (about 3 s on devkafka, whose coordinator delays a new group's
 * first rebalance; on a real cluster group.initial.rebalance.delay.ms plus
 * the rebalance itself), so it has its own bound, never shorter than -w. */
#define PAYCTL_JOIN_MIN_MS    10000
#define PAYCTL_JOIN_FOLLOW_MS 30000 /* without -w: following, yet never stuck joining */
#define PAYCTL_PROBE_MS       2000  /* one metadata request: is any broker there? */

static int64_t payctl_tail_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What tail's callbacks learn (they run inside rd_kafka_consumer_poll). */
typedef struct payctl_tailer {
    int assigned;         /* the group gave us our partitions (maybe none) */
    char last_error[512]; /* the client's last error, for a failure message */
} payctl_tailer;

static void payctl_tail_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    payctl_tailer *t = opaque;
    /* -X partition.assignment.strategy=cooperative-sticky needs the
     * incremental calls; anything else the eager ones */
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop)
            e = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        t->assigned = 1;
    } else if (coop) {
        e = rd_kafka_incremental_unassign(rk, parts);
    } else {
        rd_kafka_assign(rk, NULL);
    }
    if (e != NULL) {
        fprintf(stderr, "payctl tail: rebalance: %s\n", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

static void payctl_tail_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    payctl_tailer *t = opaque;
    (void)rk;
    /* kept for the failure message; said now, as librdkafka would have */
    snprintf(t->last_error, sizeof(t->last_error), "%s", reason);
    fprintf(stderr, "payctl tail: %s: %s\n", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* 1 when some broker answers a metadata request within PAYCTL_PROBE_MS. */
static int payctl_tail_brokers_answer(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, NULL, &md, PAYCTL_PROBE_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    rd_kafka_metadata_destroy(md);
    return 1;
}

static void payctl_tail_unreachable(const char *brokers, const payctl_tailer *t)
{
    fprintf(stderr, "payctl tail: no broker of %s answered%s%s\n", brokers,
            t->last_error[0] != '\0' ? ": " : "", t->last_error);
}

/* A command that is JSON once leading blanks or a UTF-8 byte order mark are
 * skipped (an editor's or another producer's doing), as its object; NULL for
 * anything else. The codec takes JSON only from a first '{', so without
 * this such a message showed as "not Confluent-framed Avro" and nothing. */
static json_object *payctl_tail_padded_json(const rd_kafka_message_t *m)
{
    const unsigned char *p = m->payload;
    size_t n = m->len, i = 0;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == 0 || i >= n || p[i] != '{')
        return NULL;
    json_object *o = NULL;
    pv_error err = {0};
    if (pv_json_parse((const char *)p + i, n - i, "JSON command", &o, &err) != PV_OK)
        o = NULL;
    pv_error_clear(&err);
    return o;
}

/* tail's own options (the Kafka ones are payctl_main's). */
typedef struct payctl_tail_opts {
    const char *topic;
    int from_beginning, meta;
    long long count, timeout_ms; /* -1: none */
} payctl_tail_opts;

static int payctl_tail_opt(void *ctx, int opt, const char *arg)
{
    payctl_tail_opts *o = ctx;
    char *end;
    switch (opt) {
    case 't':
        o->topic = arg;
        return 0;
    case 'B':
        o->from_beginning = 1;
        return 0;
    case 'n':
    case 'w': {
        errno = 0;
        long long v = strtoll(arg, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0) {
            fprintf(stderr, "payctl tail: --%s \"%s\": expected a whole number\n",
                    opt == 'n' ? "count" : "timeout-ms", arg);
            return 2;
        }
        *(opt == 'n' ? &o->count : &o->timeout_ms) = v;
        return 0;
    }
    case 'm':
        o->meta = 1;
        return 0;
    }
    return -1;
}

int payctl_tail(int argc, char **argv)
{
    static const struct option opts[] = {
        {"topic", required_argument, NULL, 't'},
        {"from-beginning", no_argument, NULL, 'B'},
        {"count", required_argument, NULL, 'n'},
        {"timeout-ms", required_argument, NULL, 'w'},
        {"meta", no_argument, NULL, 'm'},
        {"brokers", required_argument, NULL, 'b'},
        {"registry", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        const char *what, *env, *topic;
        int kind; /* -1: dead letters */
    } whats[] = {
        {"results", "PAYW_TOPIC_RESULTS", "payments.results", SC_RESULT},
        {"balances", "PAYW_TOPIC_BALANCES", "payments.balances", SC_BALANCE},
        {"dlq", "PAYW_TOPIC_DLQ", "payments.commands.dlq", -1},
        {"commands", "PAYW_TOPIC_COMMANDS", "payments.commands", SC_COMMAND},
    };
    payctl_kafka k = {0};
    payctl_tail_opts opt = {.count = -1, .timeout_ms = -1};
    char errstr[512];
    int done = payctl_main_options(argc, argv, "t:Bn:w:mb:X:R:h", opts, &k, payctl_tail_usage,
                                   payctl_tail_opt, &opt);
    if (done != PAYCTL_GO_ON)
        return done;
    const char *topic = opt.topic;
    int from_beginning = opt.from_beginning, meta = opt.meta;
    long long count = opt.count, timeout_ms = opt.timeout_ms;
    if (argc - optind != 1) {
        payctl_tail_usage(stderr);
        return 2;
    }
    int w = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(argv[optind], whats[i].what) == 0)
            w = i;
    if (w < 0) {
        fprintf(stderr, "payctl tail: \"%s\": expected results, balances, dlq or commands\n",
                argv[optind]);
        return 2;
    }
    if (topic == NULL)
        topic = payctl_main_env(whats[w].env, whats[w].topic);

    char group[64];
    snprintf(group, sizeof(group), "payctl-tail-%ld", (long)getpid());
    rd_kafka_conf_t *conf = pw_kafka_conf_new(k.brokers, NULL, k.props, errstr, sizeof(errstr));
    if (conf == NULL || pw_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) != 0 ||
        pw_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) != 0 ||
        pw_kafka_conf_set(conf, "auto.offset.reset", from_beginning ? "earliest" : "latest", errstr,
                          sizeof(errstr)) != 0) {
        fprintf(stderr, "payctl tail: %s\n", errstr);
        if (conf != NULL)
            rd_kafka_conf_destroy(conf);
        return 2;
    }
    payctl_tailer t = {0};
    char brokers[1024];
    size_t bsize = sizeof(brokers);
    if (rd_kafka_conf_get(conf, "bootstrap.servers", brokers, &bsize) != RD_KAFKA_CONF_OK)
        snprintf(brokers, sizeof(brokers), "(unknown)");
    rd_kafka_conf_set_opaque(conf, &t);
    rd_kafka_conf_set_rebalance_cb(conf, payctl_tail_rebalance);
    rd_kafka_conf_set_error_cb(conf, payctl_tail_error);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "payctl tail: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (serr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "payctl tail: subscribe %s: %s\n", topic, rd_kafka_err2str(serr));
        rd_kafka_destroy(rk);
        return 2;
    }

    pw_registry *reg;
    sc_codec *codec = payctl_main_codec(&k, &reg, "payctl tail");
    if (codec == NULL) {
        rd_kafka_destroy(rk);
        return 2;
    }
    long long seen = 0;
    int status = 0, failed = 0, probed = 0;
    /* -w counts from the join (or the last message), not from the start:
     * the join alone can outlast a short -w. last < 0: not joined yet. */
    int64_t start = payctl_tail_now_ms(), last = -1;
    int64_t join_ms = timeout_ms < 0                    ? PAYCTL_JOIN_FOLLOW_MS
                      : timeout_ms > PAYCTL_JOIN_MIN_MS ? timeout_ms
                                                        : PAYCTL_JOIN_MIN_MS;
    while (!payctl_main_stop && (count < 0 || seen < count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int64_t now = payctl_tail_now_ms();
        if (m != NULL && m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "payctl tail: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            m = NULL; /* no message: the clocks below run on (errors can come every poll) */
        }
        if (last < 0 && (t.assigned || m != NULL))
            last = now;
        if (m == NULL) {
            if (last < 0) {
                /* not joined: no broker answering for the whole -w is an
                 * error, not "no messages"; a slow join gets join_ms */
                int waited_w = timeout_ms >= 0 && now - start >= timeout_ms;
                if ((waited_w && !probed) || now - start >= join_ms) {
                    probed = 1;
                    if (!payctl_tail_brokers_answer(rk)) {
                        payctl_tail_unreachable(brokers, &t);
                        failed = 1;
                        break;
                    }
                }
                if (payctl_tail_now_ms() - start >= join_ms) {
                    fprintf(stderr,
                            "payctl tail: could not join the consumer group for %s on %s within "
                            "%lld ms%s%s\n",
                            topic, brokers, (long long)join_ms, t.last_error[0] != '\0' ? ": " : "",
                            t.last_error);
                    failed = 1;
                    break;
                }
            } else if (timeout_ms >= 0 && now - last >= timeout_ms) {
                /* quiet for -w: a fact only if the cluster is still there */
                if (!payctl_tail_brokers_answer(rk)) {
                    payctl_tail_unreachable(brokers, &t);
                    failed = 1;
                }
                break;
            }
            continue;
        }
        last = now;
        json_object *ev = NULL;
        pv_error err = {0};
        if (whats[w].kind < 0) {
            ev = payctl_tail_dlq_json(m);
        } else if (whats[w].kind == SC_COMMAND && (ev = payctl_tail_padded_json(m)) != NULL) {
            fprintf(stderr,
                    "payctl tail: %s [%d] offset %lld: JSON after blanks or a byte order mark: "
                    "shown, but the worker refuses it (JSON must start with '{')\n",
                    topic, (int)m->partition, (long long)m->offset);
        } else if (sc_event_to_json(codec, (sc_kind)whats[w].kind, m->payload, m->len, &ev, &err) !=
                       PV_OK &&
                   !(reg != NULL && strcmp(err.field, "schema_id") == 0 &&
                     pw_registry_learn(reg, codec, (sc_kind)whats[w].kind,
                                       sc_frame_id(m->payload, m->len), errstr,
                                       sizeof(errstr)) == 0 &&
                     sc_event_to_json(codec, (sc_kind)whats[w].kind, m->payload, m->len, &ev,
                                      &err) == PV_OK)) {
            /* an id we did not know is learnt from the registry once */
            fprintf(stderr, "payctl tail: %s [%d] offset %lld: %s\n", topic, (int)m->partition,
                    (long long)m->offset, err.errstr);
            status = 1;
        }
        if (ev != NULL) {
            if (meta) {
                json_object *wrap = json_object_new_object();
                json_object_object_add(wrap, "topic", json_object_new_string(topic));
                json_object_object_add(wrap, "partition", json_object_new_int(m->partition));
                json_object_object_add(wrap, "offset", json_object_new_int64(m->offset));
                json_object_object_add(
                    wrap, "key",
                    m->key != NULL ? json_object_new_string_len(m->key, (int)m->key_len) : NULL);
                json_object_object_add(wrap, "event", ev);
                ev = wrap;
            }
            printf("%s\n", pv_json_dump(ev, NULL));
            fflush(stdout);
            json_object_put(ev);
        }
        seen++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    sc_codec_free(codec);
    pw_registry_free(reg);
    if (failed)
        status = 1;
    else if (count >= 0 && seen < count) {
        fprintf(stderr, "payctl tail: %lld of %lld messages before the timeout\n", seen, count);
        status = 1;
    }
    return status;
}
