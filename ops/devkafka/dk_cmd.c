/* dk_cmd.c -- devkafka's control commands: one table (dk_commands), one
 * function a command; each writes one reply line naming the bad token
 * ("ok ..." or "error ..."). They drive the mock's fault injection through
 * rd_kafka_mock_*, thread-safe requests to the cluster's thread. */
#include "dk.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef int (*dk_command_fn)(dk_server *srv, int argc, char **argv, char *reply, size_t cap);

typedef struct dk_command {
    const char *name;
    int min_argc, max_argc; /* the command's own name included */
    const char *usage;
    dk_command_fn fn;
} dk_command;

/* "ID" or "all" (-1); writes the reason into reply on failure. */
static int dk_cmd_broker_id(dk_server *srv, const char *s, int32_t *id, char *reply, size_t cap)
{
    long v;
    char tok[80];
    if (strcasecmp(s, "all") == 0) {
        *id = -1;
        return DK_OK;
    }
    if (dk_text_long(s, 1, srv->opt.brokers, &v) != DK_OK) {
        snprintf(reply, cap, "bad broker id \"%s\": want 1..%" PRId64 " or all",
                 dk_text_token(tok, sizeof(tok), s), srv->opt.brokers);
        return DK_ERR;
    }
    *id = (int32_t)v;
    return DK_OK;
}

static int dk_cmd_broker(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    char tok[80];
    int32_t id;
    bool down;
    rd_kafka_resp_err_t err;
    (void)argc;

    if (strcasecmp(argv[1], "down") == 0) {
        down = true;
    } else if (strcasecmp(argv[1], "up") == 0) {
        down = false;
    } else {
        snprintf(reply, cap, "bad broker action \"%s\": want down or up",
                 dk_text_token(tok, sizeof(tok), argv[1]));
        return DK_ERR;
    }
    if (dk_cmd_broker_id(srv, argv[2], &id, reply, cap) != DK_OK)
        return DK_ERR;
    err = down ? rd_kafka_mock_broker_set_down(srv->mcluster, id)
               : rd_kafka_mock_broker_set_up(srv->mcluster, id);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reply, cap, "broker \"%s\": %s", dk_text_token(tok, sizeof(tok), argv[2]),
                 rd_kafka_err2str(err));
        return DK_ERR;
    }
    for (int32_t b = 1; b <= srv->opt.brokers; b++)
        if (id == -1 || id == b)
            srv->brokers[b].down = down;
    if (id == -1)
        snprintf(reply, cap, "brokers all %s", down ? "down" : "up");
    else
        snprintf(reply, cap, "broker %d %s", (int)id, down ? "down" : "up");
    return DK_OK;
}

static int dk_cmd_rtt(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    char tok[80];
    int32_t id;
    long ms;
    rd_kafka_resp_err_t err;
    (void)argc;

    if (dk_cmd_broker_id(srv, argv[1], &id, reply, cap) != DK_OK)
        return DK_ERR;
    if (dk_text_long(argv[2], 0, DK_MAX_RTT_MS, &ms) != DK_OK) {
        snprintf(reply, cap, "bad rtt \"%s\": want milliseconds 0..%d",
                 dk_text_token(tok, sizeof(tok), argv[2]), DK_MAX_RTT_MS);
        return DK_ERR;
    }
    err = rd_kafka_mock_broker_set_rtt(srv->mcluster, id, (int)ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reply, cap, "broker \"%s\": %s", dk_text_token(tok, sizeof(tok), argv[1]),
                 rd_kafka_err2str(err));
        return DK_ERR;
    }
    for (int32_t b = 1; b <= srv->opt.brokers; b++)
        if (id == -1 || id == b)
            srv->brokers[b].rtt_ms = (int)ms;
    if (id == -1)
        snprintf(reply, cap, "brokers all rtt=%ldms", ms);
    else
        snprintf(reply, cap, "broker %d rtt=%ldms", (int)id, ms);
    return DK_OK;
}

static int dk_cmd_error(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    char tok[80];
    int16_t api_key;
    rd_kafka_resp_err_t code;
    long count = 1;
    rd_kafka_resp_err_t *errs;

    if (dk_text_api_key(argv[1], &api_key) != DK_OK) {
        snprintf(reply, cap, "bad api key \"%s\": want a number or a name such as Produce, Fetch",
                 dk_text_token(tok, sizeof(tok), argv[1]));
        return DK_ERR;
    }
    if (dk_text_err(argv[2], &code) != DK_OK) {
        snprintf(reply, cap,
                 "bad error code \"%s\": want a librdkafka error number or name such as "
                 "NOT_LEADER_FOR_PARTITION",
                 dk_text_token(tok, sizeof(tok), argv[2]));
        return DK_ERR;
    }
    if (argc > 3 && dk_text_long(argv[3], 1, DK_MAX_ERROR_COUNT, &count) != DK_OK) {
        snprintf(reply, cap, "bad count \"%s\": want 1..%d",
                 dk_text_token(tok, sizeof(tok), argv[3]), DK_MAX_ERROR_COUNT);
        return DK_ERR;
    }
    errs = malloc((size_t)count * sizeof(*errs));
    if (errs == NULL) {
        snprintf(reply, cap, "out of memory");
        return DK_ERR;
    }
    for (long i = 0; i < count; i++)
        errs[i] = code;
    rd_kafka_mock_push_request_errors_array(srv->mcluster, api_key, (size_t)count, errs);
    free(errs);
    snprintf(reply, cap, "pushed %ld x %s (%d) on %s (%d)", count, rd_kafka_err2name(code),
             (int)code, dk_text_api_name(api_key), (int)api_key);
    return DK_OK;
}

static int dk_cmd_clear(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    char tok[80];
    int16_t api_key;
    (void)argc;

    if (dk_text_api_key(argv[1], &api_key) != DK_OK) {
        snprintf(reply, cap, "bad api key \"%s\": want a number or a name such as Produce, Fetch",
                 dk_text_token(tok, sizeof(tok), argv[1]));
        return DK_ERR;
    }
    rd_kafka_mock_clear_request_errors(srv->mcluster, api_key);
    snprintf(reply, cap, "cleared errors on %s (%d)", dk_text_api_name(api_key), (int)api_key);
    return DK_OK;
}

int dk_cmd_topic_create(dk_server *srv, const char *name, int partitions, char *reply, size_t cap)
{
    char tok[80];
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(srv->mcluster, name, partitions, (int)srv->opt.replication);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(reply, cap, "topic \"%s\" already exists", dk_text_token(tok, sizeof(tok), name));
        return DK_ERR;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reply, cap, "topic \"%s\": %s", dk_text_token(tok, sizeof(tok), name),
                 rd_kafka_err2str(err));
        return DK_ERR;
    }
    snprintf(reply, cap, "topic %s partitions=%d replication=%" PRId64, name, partitions,
             srv->opt.replication);
    return DK_OK;
}

static int dk_cmd_topic(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    char tok[80];
    long parts;
    (void)argc;

    if (!dk_text_topic_ok(argv[1])) {
        snprintf(reply, cap, "bad topic name \"%s\": want 1..%d of [a-zA-Z0-9._-]",
                 dk_text_token(tok, sizeof(tok), argv[1]), DK_TOPIC_NAME_MAX);
        return DK_ERR;
    }
    if (dk_text_long(argv[2], 1, DK_MAX_PARTITIONS, &parts) != DK_OK) {
        snprintf(reply, cap, "bad partition count \"%s\": want 1..%d",
                 dk_text_token(tok, sizeof(tok), argv[2]), DK_MAX_PARTITIONS);
        return DK_ERR;
    }
    return dk_cmd_topic_create(srv, argv[1], (int)parts, reply, cap);
}

/* Appends printf output at reply + *o, never past cap (truncated with "..."). */
static void dk_cmd_append(char *reply, size_t cap, size_t *o, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (*o + 4 >= cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(reply + *o, cap - *o, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= cap - *o) {
        *o = cap - 4;
        memcpy(reply + *o, "...", 4);
        *o = cap - 1;
        return;
    }
    *o += (size_t)n;
}

/* Asks the cluster for its metadata through a short-lived client handle
 * (the mock has no API that lists topics). Caller destroys *mdp. */
static int dk_cmd_metadata(dk_server *srv, const struct rd_kafka_metadata **mdp, char *why,
                           size_t cap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_resp_err_t err;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", srv->bootstraps, why, cap) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "client.id", "devkafka-status", why, cap) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", why, cap) !=
            RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return DK_ERR;
    }
    rd_kafka_conf_set_log_cb(conf, dk_log_rdkafka_quiet);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, cap);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return DK_ERR;
    }
    err = rd_kafka_metadata(rk, 1, NULL, mdp, DK_STATUS_TIMEOUT);
    rd_kafka_destroy(rk);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, cap, "%s", rd_kafka_err2str(err));
        return DK_ERR;
    }
    return DK_OK;
}

static int dk_cmd_status(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    const struct rd_kafka_metadata *md = NULL;
    char why[256];
    char q[300];
    size_t o = 0;
    int leaders[DK_MAX_BROKERS + 1] = {0};
    bool first;
    (void)argc;
    (void)argv;

    dk_cmd_append(reply, cap, &o, "brokers=%" PRId64 " up=", srv->opt.brokers);
    first = true;
    for (int b = 1; b <= srv->opt.brokers; b++) {
        if (!srv->brokers[b].down) {
            dk_cmd_append(reply, cap, &o, "%s%d", first ? "" : ",", b);
            first = false;
        }
    }
    dk_cmd_append(reply, cap, &o, "%s down=", first ? "none" : "");
    first = true;
    for (int b = 1; b <= srv->opt.brokers; b++) {
        if (srv->brokers[b].down) {
            dk_cmd_append(reply, cap, &o, "%s%d", first ? "" : ",", b);
            first = false;
        }
    }
    dk_cmd_append(reply, cap, &o, "%s rtt=", first ? "none" : "");
    for (int b = 1; b <= srv->opt.brokers; b++)
        dk_cmd_append(reply, cap, &o, "%s%d:%d", b > 1 ? "," : "", b, srv->brokers[b].rtt_ms);

    if (dk_cmd_metadata(srv, &md, why, sizeof(why)) != DK_OK) {
        dk_cmd_append(reply, cap, &o, " topics=? metadata_error=%s",
                      dk_text_quote(q, sizeof(q), why));
        return DK_OK;
    }
    for (int t = 0; t < md->topic_cnt; t++)
        for (int p = 0; p < md->topics[t].partition_cnt; p++) {
            int32_t leader = md->topics[t].partitions[p].leader;
            if (leader >= 1 && leader <= srv->opt.brokers)
                leaders[leader]++;
        }
    dk_cmd_append(reply, cap, &o, " leaders=");
    for (int b = 1; b <= srv->opt.brokers; b++)
        dk_cmd_append(reply, cap, &o, "%s%d:%d", b > 1 ? "," : "", b, leaders[b]);
    dk_cmd_append(reply, cap, &o, " topics=");
    for (int t = 0; t < md->topic_cnt; t++) {
        /* a client may have auto-created a topic with any bytes in its name:
         * the reply stays one line of printable tokens */
        char name[DK_TOPIC_NAME_MAX + 1];
        size_t k = 0;
        for (const char *c = md->topics[t].topic; *c != '\0' && k + 1 < sizeof(name); c++)
            name[k++] = ((unsigned char)*c <= ' ' || *c == ',' || *c == 0x7f) ? '?' : *c;
        name[k] = '\0';
        dk_cmd_append(reply, cap, &o, "%s%s:%d", t > 0 ? "," : "", name,
                      md->topics[t].partition_cnt);
    }
    if (md->topic_cnt == 0)
        dk_cmd_append(reply, cap, &o, "none");
    rd_kafka_metadata_destroy(md);
    return DK_OK;
}

static int dk_cmd_help(dk_server *srv, int argc, char **argv, char *reply, size_t cap);

static const dk_command dk_commands[] = {
    {"broker", 3, 3, "broker down|up ID|all", dk_cmd_broker},
    {"rtt", 3, 3, "rtt ID|all MS", dk_cmd_rtt},
    {"error", 3, 4, "error APIKEY ERRCODE [COUNT]", dk_cmd_error},
    {"clear", 2, 2, "clear APIKEY", dk_cmd_clear},
    {"topic", 3, 3, "topic NAME PARTITIONS", dk_cmd_topic},
    {"status", 1, 1, "status", dk_cmd_status},
    {"help", 1, 1, "help", dk_cmd_help},
};
#define DK_COMMAND_CNT (sizeof(dk_commands) / sizeof(dk_commands[0]))

static int dk_cmd_help(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    size_t o = 0;
    (void)srv;
    (void)argc;
    (void)argv;
    dk_cmd_append(reply, cap, &o, "commands:");
    for (size_t i = 0; i < DK_COMMAND_CNT; i++)
        dk_cmd_append(reply, cap, &o, "%s %s", i > 0 ? ";" : "", dk_commands[i].usage);
    return DK_OK;
}

bool dk_cmd_execute(dk_server *srv, char *line, char *out, size_t cap)
{
    char *argv[DK_MAX_ARGS + 1];
    int argc = 0;
    char reply[DK_REPLY_MAX];
    char tok[80];
    char *p = line;
    const dk_command *cmd = NULL;
    int rc;

    reply[0] = '\0';
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (argc == DK_MAX_ARGS) {
            snprintf(out, cap, "error too many arguments at \"%s\"",
                     dk_text_token(tok, sizeof(tok), p));
            return true;
        }
        argv[argc++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
    }
    argv[argc] = NULL;
    if (argc == 0 || argv[0][0] == '#')
        return false;

    for (size_t i = 0; i < DK_COMMAND_CNT; i++)
        if (strcasecmp(argv[0], dk_commands[i].name) == 0)
            cmd = &dk_commands[i];
    if (cmd == NULL) {
        snprintf(out, cap, "error unknown command \"%s\" (try help)",
                 dk_text_token(tok, sizeof(tok), argv[0]));
        return true;
    }
    if (argc < cmd->min_argc || argc > cmd->max_argc) {
        snprintf(out, cap, "error %s \"%s\": usage: %s",
                 argc < cmd->min_argc ? "missing arguments after" : "too many arguments at",
                 dk_text_token(tok, sizeof(tok),
                               argc < cmd->min_argc ? argv[argc - 1] : argv[cmd->max_argc]),
                 cmd->usage);
        return true;
    }
    rc = cmd->fn(srv, argc, argv, reply, sizeof(reply));
    snprintf(out, cap, "%s %s", rc == DK_OK ? "ok" : "error", reply);
    return true;
}
