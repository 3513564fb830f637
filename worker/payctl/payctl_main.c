/* payctl.c -- payworker's command-line companion.
 *
 * DESIGN
 *   payctl send   [options] [FILE]   JSON lines -> the commands topic (Avro or JSON)
 *   payctl tail   [options] WHAT     results|balances|dlq|commands -> JSON lines
 *   payctl schema [KIND]             print an embedded schema
 *   payctl lookup PROVIDER QUERY_ID  the idempotency state of one invoice (Redis)
 *   payctl resolve PROVIDER QUERY_ID --paid|--unpaid --reason TEXT [--yes]
 *                                    settle an UNKNOWN after checking with the provider
 *   payctl unknowns [--limit N]      every UNKNOWN invoice, oldest first (Redis)
 * It talks to any Kafka through librdkafka: --brokers (or PAYW_BROKERS),
 * properties as -X name=value or PAYW_KAFKA_<PROPERTY> (pw_kafka.h).
 *
 * send validates every line exactly as the worker will decode it (the codec)
 * and reports a bad line by number with the field and the value, sending the
 * rest; --raw sends lines unchecked (to exercise the worker's rejection
 * path). Messages are keyed by the lock key, PROVIDER:query_id, through the
 * idempotent producer (acks=all). Exit status: 0 when every line was
 * delivered, 1 when some were refused or undelivered, 2 on usage errors.
 *
 * tail prints one JSON object per line: the decoded event, or for the
 * dead-letter topic the original bytes (text, or base64 when not UTF-8 JSON)
 * with the reason headers. It reads with a throw-away consumer group and
 * never commits, so it disturbs nobody. -w counts from the join, which has
 * its own bound; when the wait ends a metadata request tells "nothing came"
 * (exit 0) from "no broker answered" (exit 1). Every wait is bounded except
 * following without -w, which runs until ^C.
 *
 * resolve shows the invoice's state and asks on the terminal; without one
 * (stdin not a tty) it refuses unless --yes, so a pipe never answers for an
 * operator. It settles only if the state is still the one shown (status,
 * claimant, fence); the store's script still decides (only UNKNOWN, or
 * INFLIGHT without a lock, is settled).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "provider.h"
#include "pw_alloc.h"
#include "pw_kafka.h"
#include "pw_registry.h"
#include "pw_store.h"
#include "pv_json.h"
#include "sc_avro.h"
#include "sc_codec.h"

#define PAYCTL_PROPS_MAX 64

static volatile sig_atomic_t payctl_stop;

static void payctl_on_signal(int sig)
{
    (void)sig;
    payctl_stop = 1;
}

static const char *payctl_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

/* Options every Kafka subcommand takes. */
typedef struct payctl_kafka {
    const char *brokers;
    const char *registry;                    /* schema registry base URL, NULL: local ids */
    const char *props[PAYCTL_PROPS_MAX + 1]; /* NULL-terminated */
    size_t nprops;
} payctl_kafka;

static int payctl_kafka_opt(payctl_kafka *k, int opt, const char *arg)
{
    if (opt == 'b') {
        k->brokers = arg;
        return 0;
    }
    if (opt == 'R') {
        k->registry = arg;
        return 0;
    }
    if (opt == 'X') {
        if (k->nprops == PAYCTL_PROPS_MAX) {
            fprintf(stderr, "payctl: too many -X properties (max %d)\n", PAYCTL_PROPS_MAX);
            return -1;
        }
        k->props[k->nprops++] = arg;
        return 0;
    }
    return 1;
}

static void payctl_usage_kafka(FILE *f)
{
    fprintf(f, "  -b, --brokers LIST     bootstrap servers (default $PAYW_BROKERS or "
               "127.0.0.1:9092)\n"
               "  -X NAME=VALUE          librdkafka property (repeatable); also "
               "PAYW_KAFKA_<NAME>\n"
               "  -R, --registry URL     Confluent Schema Registry (default "
               "$PAYW_SCHEMA_REGISTRY_URL;\n"
               "                         none: the local schema ids 1, 2, 3)\n");
}

/* A codec with the registry's ids when one is configured (*reg is then
 * kept for learning unknown ids). NULL after printing why. */
static sc_codec *payctl_codec(const payctl_kafka *k, pw_registry **reg, const char *who)
{
    char errstr[512];
    pv_error err = {0};
    const char *url = k->registry != NULL ? k->registry : getenv("PAYW_SCHEMA_REGISTRY_URL");
    sc_codec *c = sc_codec_new(&err);
    *reg = NULL;
    if (c == NULL) {
        fprintf(stderr, "%s: %s\n", who, err.errstr);
        return NULL;
    }
    if (url == NULL || url[0] == '\0')
        return c;
    *reg = pw_registry_new(url, getenv("PAYW_SCHEMA_REGISTRY_USER_INFO"), errstr, sizeof(errstr));
    if (*reg == NULL ||
        pw_registry_setup(*reg, c, payctl_env("PAYW_TOPIC_COMMANDS", "payments.commands"),
                          payctl_env("PAYW_TOPIC_RESULTS", "payments.results"),
                          payctl_env("PAYW_TOPIC_BALANCES", "payments.balances"), errstr,
                          sizeof(errstr)) != 0) {
        fprintf(stderr, "%s: %s\n", who, errstr);
        pw_registry_free(*reg);
        sc_codec_free(c);
        return NULL;
    }
    return c;
}

/*---- send ----*/

typedef struct payctl_counts {
    size_t delivered, failed;
} payctl_counts;

static void payctl_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    payctl_counts *c = opaque;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        c->failed++;
        fprintf(stderr, "payctl send: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        c->delivered++;
    }
}

static void payctl_send_usage(FILE *f)
{
    fprintf(f, "usage: payctl send [options] [FILE]\n"
               "Sends payment commands, one JSON object per line (FILE or stdin; blank lines\n"
               "and lines starting with # are skipped), to the commands topic.\n"
               "  -t, --topic TOPIC      (default $PAYW_TOPIC_COMMANDS or payments.commands)\n"
               "  -f, --format FORMAT    avro (Confluent framing, default) or json\n"
               "      --raw              send lines as they are, unchecked (testing rejection)\n"
               "  -q, --quiet            no per-line report\n");
    payctl_usage_kafka(f);
}

/* The message key: PROVIDER:query_id, or the command id when the adapter
 * cannot read a query id (the worker will reject it; the key only spreads
 * the load). */
static void payctl_key(const pv_command *cmd, char *key, size_t cap)
{
    char qid[PV_ID_MAX];
    pv_error err = {0};
    if (cmd->provider->query_id(cmd, qid, sizeof(qid), &err) == PV_OK)
        snprintf(key, cap, "%s:%s", cmd->provider->name, qid);
    else
        snprintf(key, cap, "%s", cmd->command_id);
    pv_error_clear(&err);
}

static int payctl_send(int argc, char **argv)
{
    static const struct option opts[] = {
        {"topic", required_argument, NULL, 't'},   {"format", required_argument, NULL, 'f'},
        {"raw", no_argument, NULL, 'r'},           {"quiet", no_argument, NULL, 'q'},
        {"brokers", required_argument, NULL, 'b'}, {"registry", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    payctl_kafka k = {0};
    const char *topic = payctl_env("PAYW_TOPIC_COMMANDS", "payments.commands");
    int avro = 1, raw = 0, quiet = 0, opt;
    char errstr[512];

    while ((opt = getopt_long(argc, argv, "t:f:rqb:X:R:h", opts, NULL)) != -1) {
        int rc = payctl_kafka_opt(&k, opt, optarg);
        if (rc < 0)
            return 2;
        if (rc == 0)
            continue;
        switch (opt) {
        case 't':
            topic = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "avro") != 0 && strcmp(optarg, "json") != 0) {
                fprintf(stderr, "payctl send: --format \"%s\": expected avro or json\n", optarg);
                return 2;
            }
            avro = strcmp(optarg, "avro") == 0;
            break;
        case 'r':
            raw = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            payctl_send_usage(stdout);
            return 0;
        default:
            payctl_send_usage(stderr);
            return 2;
        }
    }
    if (argc - optind > 1) {
        payctl_send_usage(stderr);
        return 2;
    }
    FILE *in = stdin;
    if (optind < argc && strcmp(argv[optind], "-") != 0) {
        in = fopen(argv[optind], "r");
        if (in == NULL) {
            fprintf(stderr, "payctl send: %s: %s\n", argv[optind], strerror(errno));
            return 2;
        }
    }

    pw_registry *reg;
    sc_codec *codec = payctl_codec(&k, &reg, "payctl send");
    if (codec == NULL) {
        if (in != stdin)
            fclose(in);
        return 2;
    }
    payctl_counts counts = {0};
    rd_kafka_conf_t *conf = pw_kafka_conf_new(k.brokers, NULL, k.props, errstr, sizeof(errstr));
    if (conf == NULL ||
        pw_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "payctl send: %s\n", errstr);
        if (conf != NULL)
            rd_kafka_conf_destroy(conf);
        sc_codec_free(codec);
        pw_registry_free(reg);
        return 2;
    }
    pw_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr));
    rd_kafka_conf_set_dr_msg_cb(conf, payctl_dr);
    rd_kafka_conf_set_opaque(conf, &counts);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "payctl send: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        sc_codec_free(codec);
        pw_registry_free(reg);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0, refused = 0, queued = 0;
    ssize_t len;
    while (!payctl_stop && (len = getline(&line, &cap, in)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;

        pv_command cmd;
        pv_error err = {0};
        char key[PV_ID_MAX + 16] = "";
        char *bytes = NULL;
        size_t nbytes = (size_t)len;
        int rc = PV_OK;
        if (!raw) {
            rc = sc_command_decode(codec, line, (size_t)len, &cmd, &err);
            if (rc == PV_OK) {
                payctl_key(&cmd, key, sizeof(key));
                if (avro)
                    rc = sc_command_encode(codec, &cmd, &bytes, &nbytes, &err);
                pv_command_clear(&cmd);
            }
        }
        if (rc != PV_OK) {
            fprintf(stderr, "payctl send: line %zu refused: %s\n", lineno, err.errstr);
            pv_error_clear(&err);
            refused++;
            continue;
        }
        const char *value = bytes != NULL ? bytes : line;
        for (;;) {
            rd_kafka_resp_err_t perr =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE((void *)value, nbytes),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL && !payctl_stop) {
                /* room comes back as deliveries end (message.timeout.ms at
                 * the latest); ^C must still end the wait */
                rd_kafka_poll(rk, 100);
                continue;
            }
            if (perr != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "payctl send: line %zu: %s\n", lineno, rd_kafka_err2str(perr));
                refused++;
            } else {
                queued++;
                if (!quiet)
                    fprintf(stderr, "payctl send: line %zu queued (key %s)\n", lineno,
                            key[0] != '\0' ? key : "none");
            }
            break;
        }
        free(bytes);
        rd_kafka_poll(rk, 0);
    }
    free(line);
    if (in != stdin)
        fclose(in);

    rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 30000);
    if (ferr != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "payctl send: flush: %s (%d messages not delivered)\n",
                rd_kafka_err2str(ferr), rd_kafka_outq_len(rk));
    fprintf(stderr, "payctl send: %zu delivered, %zu refused, %zu failed\n", counts.delivered,
            refused, counts.failed + (queued - counts.delivered - counts.failed));
    int ok = refused == 0 && counts.delivered == queued;
    rd_kafka_destroy(rk);
    sc_codec_free(codec);
    pw_registry_free(reg);
    return ok ? 0 : 1;
}

/*---- tail ----*/

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
    payctl_usage_kafka(f);
}

static const char payctl_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_object *payctl_base64(const unsigned char *p, size_t n)
{
    size_t olen = 4 * ((n + 2) / 3);
    char *out = pw_malloc(olen + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = payctl_b64[v >> 18 & 63];
        out[o++] = payctl_b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? payctl_b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? payctl_b64[v & 63] : '=';
    }
    json_object *j = json_object_new_string_len(out, (int)o);
    free(out);
    return j;
}

/* A dead-letter message: its headers and the original bytes. */
static json_object *payctl_dlq_json(const rd_kafka_message_t *m)
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
    if (m->len > 0 && sc_utf8_valid(m->payload, m->len) && memchr(p, '\0', m->len) == NULL)
        json_object_object_add(o, "payload_text",
                               json_object_new_string_len(m->payload, (int)m->len));
    else
        json_object_object_add(o, "payload_base64", payctl_base64(p, m->len));
    return o;
}

/* How long tail waits to join its group: the join is what a short -w used
 * to spend (about 3 s on devkafka, whose coordinator delays a new group's
 * first rebalance; on a real cluster group.initial.rebalance.delay.ms plus
 * the rebalance itself), so it has its own bound, never shorter than -w. */
#define PAYCTL_JOIN_MIN_MS    10000
#define PAYCTL_JOIN_FOLLOW_MS 30000 /* without -w: following, yet never stuck joining */
#define PAYCTL_PROBE_MS       2000  /* one metadata request: is any broker there? */

static int64_t payctl_now_ms(void)
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
static int payctl_brokers_answer(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, NULL, &md, PAYCTL_PROBE_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    rd_kafka_metadata_destroy(md);
    return 1;
}

static void payctl_unreachable(const char *brokers, const payctl_tailer *t)
{
    fprintf(stderr, "payctl tail: no broker of %s answered%s%s\n", brokers,
            t->last_error[0] != '\0' ? ": " : "", t->last_error);
}

/* A command that is JSON once leading blanks or a UTF-8 byte order mark are
 * skipped (an editor's or another producer's doing), as its object; NULL for
 * anything else. The codec takes JSON only from a first '{', so without
 * this such a message showed as "not Confluent-framed Avro" and nothing. */
static json_object *payctl_padded_json(const rd_kafka_message_t *m)
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

static int payctl_tail(int argc, char **argv)
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
    const char *topic = NULL;
    int from_beginning = 0, meta = 0, opt;
    long long count = -1, timeout_ms = -1;
    char errstr[512], *end;

    while ((opt = getopt_long(argc, argv, "t:Bn:w:mb:X:R:h", opts, NULL)) != -1) {
        int rc = payctl_kafka_opt(&k, opt, optarg);
        if (rc < 0)
            return 2;
        if (rc == 0)
            continue;
        switch (opt) {
        case 't':
            topic = optarg;
            break;
        case 'B':
            from_beginning = 1;
            break;
        case 'n':
        case 'w':
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || v < 0) {
                fprintf(stderr, "payctl tail: --%s \"%s\": expected a whole number\n",
                        opt == 'n' ? "count" : "timeout-ms", optarg);
                return 2;
            }
            *(opt == 'n' ? &count : &timeout_ms) = v;
            break;
        case 'm':
            meta = 1;
            break;
        case 'h':
            payctl_tail_usage(stdout);
            return 0;
        default:
            payctl_tail_usage(stderr);
            return 2;
        }
    }
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
        topic = payctl_env(whats[w].env, whats[w].topic);

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
    sc_codec *codec = payctl_codec(&k, &reg, "payctl tail");
    if (codec == NULL) {
        rd_kafka_destroy(rk);
        return 2;
    }
    long long seen = 0;
    int status = 0, failed = 0, probed = 0;
    /* -w counts from the join (or the last message), not from the start:
     * the join alone can outlast a short -w. last < 0: not joined yet. */
    int64_t start = payctl_now_ms(), last = -1;
    int64_t join_ms = timeout_ms < 0                    ? PAYCTL_JOIN_FOLLOW_MS
                      : timeout_ms > PAYCTL_JOIN_MIN_MS ? timeout_ms
                                                        : PAYCTL_JOIN_MIN_MS;
    while (!payctl_stop && (count < 0 || seen < count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int64_t now = payctl_now_ms();
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
                    if (!payctl_brokers_answer(rk)) {
                        payctl_unreachable(brokers, &t);
                        failed = 1;
                        break;
                    }
                }
                if (payctl_now_ms() - start >= join_ms) {
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
                if (!payctl_brokers_answer(rk)) {
                    payctl_unreachable(brokers, &t);
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
            ev = payctl_dlq_json(m);
        } else if (whats[w].kind == SC_COMMAND && (ev = payctl_padded_json(m)) != NULL) {
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

/*---- schema ----*/

static int payctl_schema(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: payctl schema [command|result|balance]\n"
               "Prints the embedded Avro schema (all three, one per line, without KIND).\n");
        return 0;
    }
    for (int k = 0; k < SC_KIND__COUNT; k++) {
        if (argc > 1 && sc_kind_from_name(argv[1]) != k)
            continue;
        size_t len;
        const char *text = sc_schema_text((sc_kind)k, &len);
        fwrite(text, 1, len, stdout);
        if (len > 0 && text[len - 1] != '\n')
            putchar('\n');
    }
    if (argc > 1 && sc_kind_from_name(argv[1]) < 0) {
        fprintf(stderr, "payctl schema: \"%s\": expected command, result or balance\n", argv[1]);
        return 2;
    }
    return 0;
}

/*---- lookup and resolve (Redis) ----*/

static void payctl_store_usage(FILE *f)
{
    fprintf(f, "usage: payctl lookup PROVIDER QUERY_ID [--redis URL]\n"
               "       payctl resolve PROVIDER QUERY_ID --paid|--unpaid --reason TEXT [--yes]\n"
               "                      [--operator NAME] [--redis URL]\n"
               "lookup prints the idempotency state of one invoice as JSON. resolve settles an\n"
               "invoice whose outcome is UNKNOWN, after you have checked with the provider:\n"
               "--paid records it as paid (later commands get DUPLICATE), --unpaid releases\n"
               "it (a new command may pay it). resolve first shows the invoice's state (on\n"
               "stderr) and asks on the terminal \"resolve KEY as PAID? [y/N]\"; -y, --yes\n"
               "skips the question (scripts: without a terminal on stdin and without --yes,\n"
               "resolve refuses). Redis: --redis or $PAYW_REDIS_URL. Exit status: 0; 1 when\n"
               "Redis refused or could not be asked, or the answer was not yes; 2 on usage\n"
               "errors.\n");
}

/* The invoice as payctl lookup prints it (caller puts). */
static json_object *payctl_state_json(const char *key, const pw_store_reply *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "key", json_object_new_string(key));
    json_object_object_add(o, "outcome", json_object_new_string(pw_store_outcome_name(r->outcome)));
    if (r->outcome == PW_STORE_ERROR) {
        json_object_object_add(o, "error", json_object_new_string(r->error));
        return o;
    }
    json_object *fields = json_object_new_object();
    for (size_t i = 0; i < r->nfields; i++) {
        const char *name = r->fields[i].name;
        if (strcmp(name, "result") == 0 || strcmp(name, "result_before_resolve") == 0) {
            json_object *ev = NULL;
            pv_error err = {0};
            sc_codec *c = sc_codec_new(NULL);
            if (c != NULL && r->fields[i].len > 0 &&
                sc_event_to_json(c, SC_RESULT, r->fields[i].value, r->fields[i].len, &ev, &err) ==
                    PV_OK)
                json_object_object_add(fields, name, ev);
            sc_codec_free(c);
            continue;
        }
        json_object_object_add(
            fields, name,
            json_object_new_string_len((const char *)r->fields[i].value, (int)r->fields[i].len));
    }
    json_object_object_add(o, "state", fields);
    json_object *cmds = json_object_new_array();
    for (size_t i = 0; i < r->ncmds; i++) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "command_id", json_object_new_string(r->cmds[i].command_id));
        json_object_object_add(c, "status", json_object_new_string(r->cmds[i].status));
        json_object_object_add(c, "at_ms", json_object_new_int64(r->cmds[i].at_ms));
        json_object_object_add(c, "fence", json_object_new_int64(r->cmds[i].fence));
        json_object_array_add(cmds, c);
    }
    json_object_object_add(o, "commands", cmds);
    json_object_object_add(o, "lock_ttl_ms", json_object_new_int64(r->lock_pttl_ms));
    json_object_object_add(o, "state_ttl_ms", json_object_new_int64(r->state_pttl_ms));
    return o;
}

/* A field of the state hash as text ("" when absent). */
static const char *payctl_field(const pw_store_reply *r, const char *name)
{
    for (size_t i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return (const char *)r->fields[i].value;
    return "";
}

/* What an operator must see before settling: the state as lookup prints it,
 * then in one line the status, the command whose call it was, the claim and
 * the commands that were answered UNKNOWN. */
static void payctl_show_state(const char *key, const pw_store_reply *r)
{
    json_object *o = payctl_state_json(key, r);
    fprintf(stderr, "payctl resolve: the state of %s now:\n%s\n", key, pv_json_dump(o, NULL));
    json_object_put(o);
    if (r->outcome != PW_STORE_OK)
        return;
    /* unknown_reason outlives a resolve: said only while it is the reason */
    const char *status = payctl_field(r, "status"), *reason = payctl_field(r, "unknown_reason");
    const char *worker = payctl_field(r, "worker"), *cmd = payctl_field(r, "command_id");
    char qr[160], qw[160], qc[160];
    /* quoted: these come from commands and workers, and this goes to a terminal */
    pv_quote(qr, sizeof(qr), reason, strlen(reason));
    pv_quote(qw, sizeof(qw), worker, strlen(worker));
    pv_quote(qc, sizeof(qc), cmd, strlen(cmd));
    fprintf(stderr, "payctl resolve: %s is %s", key, status);
    if (strcmp(status, "UNKNOWN") == 0 && reason[0] != '\0')
        fprintf(stderr, " (%s)", qr);
    fprintf(stderr, ", command %s, claimed by %s, ", cmd[0] != '\0' ? qc : "none",
            worker[0] != '\0' ? qw : "nobody");
    if (r->lock_pttl_ms >= 0)
        fprintf(stderr, "its lock held for %lld ms more (a call may be running)",
                (long long)r->lock_pttl_ms);
    else if (r->lock_pttl_ms == -1)
        fprintf(stderr, "its lock held with no expiry (a call may be running)");
    else
        fprintf(stderr, "no lock held");
    fprintf(stderr, "; UNKNOWN commands:");
    size_t n = 0;
    for (size_t i = 0; i < r->ncmds; i++)
        if (strcmp(r->cmds[i].status, "UNKNOWN") == 0) {
            pv_quote(qc, sizeof(qc), r->cmds[i].command_id, strlen(r->cmds[i].command_id));
            fprintf(stderr, "%s %s", n++ > 0 ? "," : "", qc);
        }
    fprintf(stderr, "%s\n", n == 0 ? " none" : "");
}

/* Asks on the terminal; 1 only for y or yes. */
static int payctl_confirm(const char *key, int paid)
{
    char answer[64];
    fprintf(stderr, "resolve %s as %s? [y/N] ", key, paid ? "PAID" : "UNPAID");
    fflush(stderr);
    if (fgets(answer, sizeof(answer), stdin) == NULL)
        return 0;
    size_t len = strcspn(answer, "\r\n");
    answer[len] = '\0';
    return strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
}

/* 1 when what the operator was shown still holds: the same status, claimant
 * and fence (every claim and every resolve takes a new fence). */
static int payctl_same_state(const pw_store_reply *a, const pw_store_reply *b)
{
    return a->outcome == b->outcome &&
           strcmp(payctl_field(a, "status"), payctl_field(b, "status")) == 0 &&
           strcmp(payctl_field(a, "command_id"), payctl_field(b, "command_id")) == 0 &&
           strcmp(payctl_field(a, "fence"), payctl_field(b, "fence")) == 0;
}

/* resolve: show, ask, check nothing moved meanwhile, then settle. The store
 * still judges (only UNKNOWN, or INFLIGHT without a lock, is settled). */
static pw_store_reply *payctl_resolve(pw_store_sync *st, const pw_store_resolve_args *a, int yes,
                                      int *declined)
{
    pw_store_reply *seen = pw_store_sync_lookup(st, a->key);
    if (seen == NULL || seen->outcome == PW_STORE_ERROR)
        return seen;
    payctl_show_state(a->key, seen);
    const char *status = payctl_field(seen, "status");
    /* nothing to ask about: no state, or settled (the store refuses those) */
    int ask = seen->outcome == PW_STORE_OK && strcmp(status, "DONE") != 0 &&
              strcmp(status, "RELEASED") != 0;
    if (!yes && ask) {
        if (!payctl_confirm(a->key, a->paid)) {
            fprintf(stderr, "payctl resolve: not confirmed: %s left as it is\n", a->key);
            pw_store_reply_free(seen);
            *declined = 1;
            return NULL;
        }
        pw_store_reply *now = pw_store_sync_lookup(st, a->key);
        if (now == NULL || now->outcome == PW_STORE_ERROR) {
            pw_store_reply_free(seen);
            return now;
        }
        int same = payctl_same_state(seen, now);
        pw_store_reply_free(now);
        if (!same) {
            fprintf(stderr,
                    "payctl resolve: %s changed while you were deciding: nothing done; look "
                    "again and run resolve again\n",
                    a->key);
            pw_store_reply_free(seen);
            *declined = 1;
            return NULL;
        }
    }
    pw_store_reply_free(seen);
    return pw_store_sync_resolve(st, a);
}

static int payctl_store(int argc, char **argv, int resolve)
{
    static const struct option opts[] = {
        {"paid", no_argument, NULL, 'p'},         {"unpaid", no_argument, NULL, 'u'},
        {"reason", required_argument, NULL, 'r'}, {"operator", required_argument, NULL, 'o'},
        {"redis", required_argument, NULL, 'R'},  {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int paid = -1, opt, said_paid = 0, said_unpaid = 0, yes = 0;
    const char *reason = NULL, *url = payctl_env("PAYW_REDIS_URL", "redis://127.0.0.1:6379");
    const char *op = payctl_env("USER", "operator");
    while ((opt = getopt_long(argc, argv, "pur:o:R:yh", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
        case 'u':
            paid = opt == 'p';
            said_paid |= opt == 'p';
            said_unpaid |= opt == 'u';
            break;
        case 'r':
            reason = optarg;
            break;
        case 'o':
            op = optarg;
            break;
        case 'R':
            url = optarg;
            break;
        case 'y':
            yes = 1;
            break;
        case 'h':
            payctl_store_usage(stdout);
            return 0;
        default:
            payctl_store_usage(stderr);
            return 2;
        }
    }
    if (said_paid && said_unpaid) {
        /* the last one would win: releasing a paid invoice lets it be paid again */
        fprintf(stderr, "payctl resolve: --paid and --unpaid together: say which one it is\n");
        return 2;
    }
    if (argc - optind != 2 || (resolve && (paid < 0 || reason == NULL || reason[0] == '\0'))) {
        payctl_store_usage(stderr);
        return 2;
    }
    if (resolve && (strlen(reason) > 1024 || op[0] == '\0' || strlen(op) > 1024)) {
        /* the store refuses these (an empty operator used to crash payctl) */
        fprintf(stderr, "payctl resolve: --reason and --operator: 1 to 1024 bytes each\n");
        return 2;
    }
    const pv_provider *p = pv_provider_find(argv[optind]);
    if (p == NULL) {
        fprintf(stderr,
                "payctl: provider \"%s\" is not one of PAYOFIN, SIPAY, PAYWALL, ISBANK, "
                "PAYONE\n",
                argv[optind]);
        return 2;
    }
    const char *qid = argv[optind + 1];
    if (qid[0] == '\0' || strlen(qid) >= PV_ID_MAX) {
        /* a longer id used to be cut to fit: another invoice's key */
        fprintf(stderr, "payctl: QUERY_ID: 1 to %d bytes\n", PV_ID_MAX - 1);
        return 2;
    }
    char key[PV_ID_MAX + 16], errstr[512];
    snprintf(key, sizeof(key), "%s:%s", p->name, qid);
    if (resolve && !yes && !isatty(STDIN_FILENO)) {
        /* an answer read from a pipe or a file is nobody's decision */
        fprintf(stderr,
                "payctl resolve: stdin is not a terminal, so nobody can confirm: pass --yes "
                "to resolve %s without the question\n",
                key);
        return 2;
    }
    pw_store_sync *st = pw_store_sync_new(url, 3000, errstr, sizeof(errstr));
    if (st == NULL) {
        fprintf(stderr, "payctl: %s\n", errstr);
        return 1;
    }
    pw_store_reply *r;
    int declined = 0;
    if (resolve) {
        pw_store_resolve_args a = {.key = key, .paid = paid, .reason = reason, .operator_name = op};
        r = payctl_resolve(st, &a, yes, &declined);
    } else {
        r = pw_store_sync_lookup(st, key);
    }
    if (r == NULL) {
        if (!declined)
            fprintf(stderr, "payctl: out of memory\n");
        pw_store_sync_free(st);
        return 1;
    }
    json_object *o;
    if (resolve) {
        o = json_object_new_object();
        json_object_object_add(o, "key", json_object_new_string(key));
        json_object_object_add(o, "outcome",
                               json_object_new_string(pw_store_outcome_name(r->outcome)));
        if (r->outcome == PW_STORE_ERROR)
            json_object_object_add(o, "error", json_object_new_string(r->error));
        else
            json_object_object_add(o, "status", json_object_new_string(r->status));
    } else {
        o = payctl_state_json(key, r);
    }
    int status = r->outcome == PW_STORE_OK ? 0 : 1;
    printf("%s\n", pv_json_dump(o, NULL));
    json_object_put(o);
    pw_store_reply_free(r);
    pw_store_sync_free(st);
    return status;
}

/*---- unknowns (Redis) ----*/

static void payctl_unknowns_usage(FILE *f)
{
    fprintf(f, "usage: payctl unknowns [--limit N] [--redis URL]\n"
               "Every invoice whose payment outcome is UNKNOWN, oldest first, one JSON line each:\n"
               "provider, query id, age, the command whose call may have paid, the reason and\n"
               "the worker. Claims whose worker died mid-call are turned UNKNOWN first (as\n"
               "their next command would). Settle each with payctl resolve. Redis: --redis or\n"
               "$PAYW_REDIS_URL. Exit status 0, or 1 when Redis could not be asked.\n");
}

static int payctl_unknowns(int argc, char **argv)
{
    static const struct option opts[] = {
        {"limit", required_argument, NULL, 'l'},
        {"redis", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = payctl_env("PAYW_REDIS_URL", "redis://127.0.0.1:6379");
    long limit = 1000;
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "l:R:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'l':
            errno = 0;
            limit = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || limit < 1 || limit > 1000000) {
                fprintf(stderr, "payctl unknowns: --limit \"%s\": expected 1 to 1000000\n", optarg);
                return 2;
            }
            break;
        case 'R':
            url = optarg;
            break;
        case 'h':
            payctl_unknowns_usage(stdout);
            return 0;
        default:
            payctl_unknowns_usage(stderr);
            return 2;
        }
    }
    if (argc != optind) {
        payctl_unknowns_usage(stderr);
        return 2;
    }
    char errstr[512];
    pw_store_sync *st = pw_store_sync_new(url, 3000, errstr, sizeof(errstr));
    if (st == NULL) {
        fprintf(stderr, "payctl: %s\n", errstr);
        return 1;
    }
    pw_store_reply *r = pw_store_sync_unknowns(st, (size_t)limit);
    int status = 0;
    if (r == NULL || r->outcome != PW_STORE_OK) {
        fprintf(stderr, "payctl unknowns: %s\n", r != NULL ? r->error : "out of memory");
        status = 1;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        for (size_t i = 0; i < r->nunknowns; i++) {
            const pw_store_unknown *u = &r->unknowns[i];
            const char *colon = strchr(u->key, ':');
            json_object *o = json_object_new_object();
            json_object_object_add(
                o, "provider",
                json_object_new_string_len(u->key, colon != NULL ? (int)(colon - u->key) : 0));
            json_object_object_add(o, "query_id",
                                   json_object_new_string(colon != NULL ? colon + 1 : u->key));
            json_object_object_add(o, "age_s", json_object_new_int64((now - u->since_ms) / 1000));
            json_object_object_add(o, "unknown_since_ms", json_object_new_int64(u->since_ms));
            json_object_object_add(o, "command_id", json_object_new_string(u->command_id));
            json_object_object_add(o, "reason", json_object_new_string(u->reason));
            json_object_object_add(o, "worker", json_object_new_string(u->worker));
            json_object_object_add(o, "claimed_at_ms", json_object_new_int64(u->started_ms));
            printf("%s\n", pv_json_dump(o, NULL));
            json_object_put(o);
        }
    }
    pw_store_reply_free(r);
    pw_store_sync_free(st);
    return status;
}

/*---- main ----*/

static void payctl_usage(FILE *f)
{
    fprintf(f, "usage: payctl COMMAND [options]\n"
               "  send    send payment commands (JSON lines) to the commands topic\n"
               "  tail    print results, balances, dead letters or commands as JSON lines\n"
               "  schema  print an embedded Avro schema\n"
               "  lookup  the idempotency state of one invoice (Redis)\n"
               "  resolve settle an invoice whose outcome is UNKNOWN\n"
               "  unknowns list every invoice whose outcome is UNKNOWN\n"
               "Run payctl COMMAND --help for its options.\n");
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = payctl_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (argc < 2) {
        payctl_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        payctl_usage(stdout);
        return 0;
    }
    argc--;
    argv++;
    if (strcmp(cmd, "send") == 0)
        return payctl_send(argc, argv);
    if (strcmp(cmd, "tail") == 0)
        return payctl_tail(argc, argv);
    if (strcmp(cmd, "schema") == 0)
        return payctl_schema(argc, argv);
    if (strcmp(cmd, "lookup") == 0)
        return payctl_store(argc, argv, 0);
    if (strcmp(cmd, "resolve") == 0)
        return payctl_store(argc, argv, 1);
    if (strcmp(cmd, "unknowns") == 0)
        return payctl_unknowns(argc, argv);
    fprintf(stderr, "payctl: unknown command \"%s\"\n", cmd);
    payctl_usage(stderr);
    return 2;
}
