/* payctl_send.c -- payctl send: JSON lines, checked as the worker will
 * decode them, to the commands topic (the design: payctl_main.c). */
#include "payctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>

#include "provider.h"
#include "pw_kafka.h"
#include "sc_avro.h"

typedef struct payctl_counts {
    size_t delivered, failed;
} payctl_counts;

static void payctl_send_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
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
    payctl_main_usage_kafka(f);
}

/* The message key: PROVIDER:query_id, or the command id when the adapter
 * cannot read a query id (the worker will reject it; the key only spreads
 * the load). */
static void payctl_send_key(const pv_command *cmd, char *key, size_t cap)
{
    char qid[PV_ID_MAX];
    pv_error err = {0};
    if (cmd->provider->query_id(cmd, qid, sizeof(qid), &err) == PV_OK)
        snprintf(key, cap, "%s:%s", cmd->provider->name, qid);
    else
        snprintf(key, cap, "%s", cmd->command_id);
    pv_error_clear(&err);
}

/* send's own options (the Kafka ones are payctl_main's). */
typedef struct payctl_send_opts {
    const char *topic;
    int avro, raw, quiet;
} payctl_send_opts;

static int payctl_send_opt(void *ctx, int opt, const char *arg)
{
    payctl_send_opts *o = ctx;
    switch (opt) {
    case 't':
        o->topic = arg;
        return 0;
    case 'f':
        if (strcmp(arg, "avro") != 0 && strcmp(arg, "json") != 0) {
            fprintf(stderr, "payctl send: --format \"%s\": expected avro or json\n", arg);
            return 2;
        }
        o->avro = strcmp(arg, "avro") == 0;
        return 0;
    case 'r':
        o->raw = 1;
        return 0;
    case 'q':
        o->quiet = 1;
        return 0;
    }
    return -1;
}

int payctl_send(int argc, char **argv)
{
    static const struct option opts[] = {
        {"topic", required_argument, NULL, 't'},   {"format", required_argument, NULL, 'f'},
        {"raw", no_argument, NULL, 'r'},           {"quiet", no_argument, NULL, 'q'},
        {"brokers", required_argument, NULL, 'b'}, {"registry", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    payctl_kafka k = {0};
    payctl_send_opts opt = {.topic = payctl_main_env("PAYW_TOPIC_COMMANDS", "payments.commands"),
                            .avro = 1};
    char errstr[512];
    int done = payctl_main_options(argc, argv, "t:f:rqb:X:R:h", opts, &k, payctl_send_usage,
                                   payctl_send_opt, &opt);
    if (done != PAYCTL_GO_ON)
        return done;
    const char *topic = opt.topic;
    int avro = opt.avro, raw = opt.raw, quiet = opt.quiet;
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
    sc_codec *codec = payctl_main_codec(&k, &reg, "payctl send");
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
    rd_kafka_conf_set_dr_msg_cb(conf, payctl_send_dr);
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
    while (!payctl_main_stop && (len = getline(&line, &cap, in)) != -1) {
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
                payctl_send_key(&cmd, key, sizeof(key));
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
            if (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL && !payctl_main_stop) {
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
