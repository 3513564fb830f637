/* devkafka.c -- librdkafka's mock cluster as a standalone Kafka broker.
 *
 * DESIGN
 * devkafka runs librdkafka's mock cluster (rdkafka_mock.h) in its own process
 * so that any Kafka client in another process (the worker, payctl, kcat, the
 * integration tests) can use it: the mock speaks the real Kafka protocol on
 * real 127.0.0.1 TCP ports. It is the embedded broker of the dev stack and
 * of the tests; it keeps everything in memory and nothing survives a restart.
 *
 * Start-up: a producer handle with a minimal configuration owns the cluster
 * (rd_kafka_mock_cluster_new); the requested topics are created, then exactly
 * one line "bootstrap=HOST:PORT,..." is written to stdout and flushed (and,
 * with --bootstrap-file, written to that file through a temporary file and
 * rename(2), so a reader never sees half of it). Everything else devkafka
 * says goes to stderr as logfmt, librdkafka's own logs included.
 *
 * Control: one command per line, one reply line per command ("ok ..." or
 * "error <reason naming the bad token>"), from stdin (replies on stdout) and
 * from any client of the --control unix socket (replies on that client). The
 * commands are one table (dk_commands); they drive the mock's fault
 * injection: brokers down/up, round-trip time, request errors, topics.
 * Lines are bounded (DK_LINE_MAX), so are socket clients (DK_MAX_CLIENTS) and
 * their pending output (DK_OUT_MAX): hostile input cannot grow memory.
 *
 * Threads: one. The main thread runs a poll(2) loop over a self-pipe fed by
 * the SIGTERM/SIGINT handler, stdin, the control socket and its clients.
 * The mock cluster and the owner handle run librdkafka's own threads; the
 * rd_kafka_mock_* calls made here are thread-safe requests to the cluster's
 * thread. librdkafka's log callback runs on its threads and writes whole
 * lines to stderr (stdio locks the stream per call).
 *
 * Lifetime: only SIGTERM or SIGINT stop devkafka (exit 0 after destroying
 * the cluster and its handle, removing the control socket and the bootstrap
 * file). EOF on stdin is not a stop request: devkafka may run with stdin at
 * /dev/null and be driven through the socket only.
 *
 * Limits of librdkafka 2.0.2's mock (see ops/README.md): a broker that is
 * down keeps leading its partitions (no leader election), topics are created
 * automatically with 4 partitions when a producer asks for an unknown one
 * (not configurable), and the Admin API (CreateTopics) is not implemented.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define DK_OK  0
#define DK_ERR -1

#define DK_MAX_BROKERS     32
#define DK_MAX_TOPIC_ARGS  64
#define DK_MAX_PARTITIONS  8192
#define DK_TOPIC_NAME_MAX  249 /* Kafka's own limit */
#define DK_MAX_CLIENTS     16
#define DK_LINE_MAX        1024  /* one control line, newline included */
#define DK_OUT_MAX         65536 /* pending replies to one socket client */
#define DK_REPLY_MAX       8192
#define DK_MAX_ARGS        8
#define DK_MAX_ERROR_COUNT 10000
#define DK_MAX_RTT_MS      600000
#define DK_STATUS_TIMEOUT  1500 /* ms, the metadata request behind "status" */

static const char *const dk_default_topics[] = {
    "payments.commands",
    "payments.results",
    "payments.balances",
    "payments.commands.dlq",
};

/*---- Logging (logfmt on stderr) ----*/

/* Writes s as a logfmt value into buf: bare when it is a plain token,
 * otherwise double-quoted with " \ and control characters escaped. */
static const char *dk_quote(char *buf, size_t cap, const char *s)
{
    bool bare = s[0] != '\0';
    for (const char *p = s; *p != '\0' && bare; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            bare = false;
    size_t o = 0;
    if (!bare && o + 1 < cap)
        buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o + 5 < cap; p++) {
        if (bare) {
            buf[o++] = (char)*p;
        } else if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (*p < ' ' || *p == 0x7f) {
            buf[o++] = '?';
        } else {
            buf[o++] = (char)*p;
        }
    }
    if (!bare && o + 1 < cap)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* One logfmt line: ts, level, then the caller's key=value pairs (fmt). */
static void dk_log(const char *level, const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char when[32];
    char line[2048];
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "ts=%s.%03ldZ level=%s component=devkafka %s\n", when, ts.tv_nsec / 1000000L,
            level, line);
}

/* librdkafka's log callback (its threads): syslog levels to ours. */
static void dk_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    char qmsg[1024];
    char qfac[64];
    const char *lvl = level <= 3 ? "error" : level == 4 ? "warn" : level <= 6 ? "info" : "debug";
    (void)rk;
    /* the owner handle has no bootstrap.servers by design: it only hosts the cluster */
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers") != NULL)
        return;
    dk_log(lvl, "source=rdkafka fac=%s msg=%s", dk_quote(qfac, sizeof(qfac), fac),
           dk_quote(qmsg, sizeof(qmsg), buf));
}

/* The handle behind "status" is short-lived and expects brokers to be down
 * at times: its complaints are not news. */
static void dk_rdkafka_quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

/*---- Parsing helpers ----*/

/* Parses all of s as a decimal integer in [min, max]. */
static int dk_parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL || s[0] == '\0')
        return DK_ERR;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return DK_ERR;
    *out = v;
    return DK_OK;
}

/* A token fit to quote in a reply: printable, at most 64 bytes. */
static const char *dk_token(char *buf, size_t cap, const char *s)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o + 4 < cap && o < 64;
         p++)
        buf[o++] = (*p < ' ' || *p == 0x7f || *p == '"') ? '?' : (char)*p;
    if (strlen(s) > o && o + 4 < cap) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o] = '\0';
    return buf;
}

/* Kafka's rule for topic names: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
static bool dk_topic_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > DK_TOPIC_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/*---- Kafka protocol names ----*/

/* ApiKeys of the Kafka protocol (KIP-4 onward numbering is stable). */
static const char *const dk_api_names[] = {
    "Produce",
    "Fetch",
    "ListOffsets",
    "Metadata",
    "LeaderAndIsr",
    "StopReplica",
    "UpdateMetadata",
    "ControlledShutdown",
    "OffsetCommit",
    "OffsetFetch",
    "FindCoordinator",
    "JoinGroup",
    "Heartbeat",
    "LeaveGroup",
    "SyncGroup",
    "DescribeGroups",
    "ListGroups",
    "SaslHandshake",
    "ApiVersions",
    "CreateTopics",
    "DeleteTopics",
    "DeleteRecords",
    "InitProducerId",
    "OffsetForLeaderEpoch",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "EndTxn",
    "WriteTxnMarkers",
    "TxnOffsetCommit",
    "DescribeAcls",
    "CreateAcls",
    "DeleteAcls",
    "DescribeConfigs",
    "AlterConfigs",
    "AlterReplicaLogDirs",
    "DescribeLogDirs",
    "SaslAuthenticate",
    "CreatePartitions",
    "CreateDelegationToken",
    "RenewDelegationToken",
    "ExpireDelegationToken",
    "DescribeDelegationToken",
    "DeleteGroups",
    "ElectLeaders",
    "IncrementalAlterConfigs",
    "AlterPartitionReassignments",
    "ListPartitionReassignments",
    "OffsetDelete",
};
#define DK_API_CNT ((int)(sizeof(dk_api_names) / sizeof(dk_api_names[0])))

static const char *dk_api_name(int api_key)
{
    return api_key >= 0 && api_key < DK_API_CNT ? dk_api_names[api_key] : "?";
}

/* An ApiKey by number (0..32767) or by name, any case ("produce", "Fetch"). */
static int dk_parse_api_key(const char *s, int16_t *api_key)
{
    long v;
    if (dk_parse_long(s, 0, INT16_MAX, &v) == DK_OK) {
        *api_key = (int16_t)v;
        return DK_OK;
    }
    for (int i = 0; i < DK_API_CNT; i++) {
        if (strcasecmp(s, dk_api_names[i]) == 0) {
            *api_key = (int16_t)i;
            return DK_OK;
        }
    }
    return DK_ERR;
}

/* An error code by number or by librdkafka name, with or without the
 * RD_KAFKA_RESP_ERR_ prefix, any case: 6, NOT_LEADER_FOR_PARTITION,
 * RD_KAFKA_RESP_ERR__TRANSPORT. Only codes librdkafka knows are accepted. */
static int dk_parse_err(const char *s, rd_kafka_resp_err_t *err)
{
    const struct rd_kafka_err_desc *descs = NULL;
    size_t cnt = 0;
    long v;
    bool by_number = dk_parse_long(s, INT_MIN, INT_MAX, &v) == DK_OK;
    const char *name = s;

    if (strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18) == 0)
        name += 18;
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (descs[i].name == NULL)
            continue;
        if ((by_number && descs[i].code == (int)v) ||
            (!by_number && strcasecmp(descs[i].name, name) == 0)) {
            *err = descs[i].code;
            return DK_OK;
        }
    }
    return DK_ERR;
}

/*---- Options (one table; --help is generated from it) ----*/

typedef struct dk_topic_arg {
    char name[DK_TOPIC_NAME_MAX + 1];
    int partitions; /* 0: --partitions */
} dk_topic_arg;

typedef struct dk_options {
    long brokers;
    long partitions;
    long replication; /* 0: min(3, brokers) */
    dk_topic_arg topics[DK_MAX_TOPIC_ARGS];
    int topic_cnt;
    const char *bootstrap_file;
    const char *control_path;
} dk_options;

typedef enum { DK_OPT_INT, DK_OPT_PATH, DK_OPT_TOPIC, DK_OPT_HELP } dk_opt_type;

typedef struct dk_option {
    const char *name;
    const char *arg;
    dk_opt_type type;
    size_t offset; /* of the field in dk_options */
    long min, max;
    const char *help;
} dk_option;

static const dk_option dk_options_table[] = {
    {"brokers", "N", DK_OPT_INT, offsetof(dk_options, brokers), 1, DK_MAX_BROKERS,
     "number of brokers, ids 1..N (default 3)"},
    {"partitions", "P", DK_OPT_INT, offsetof(dk_options, partitions), 1, DK_MAX_PARTITIONS,
     "partitions of each topic created at start (default 6)"},
    {"replication", "R", DK_OPT_INT, offsetof(dk_options, replication), 1, DK_MAX_BROKERS,
     "replication factor, at most N (default min(3,N))"},
    {"topic", "NAME[:PARTITIONS]", DK_OPT_TOPIC, 0, 1, DK_MAX_PARTITIONS,
     "create this topic (repeatable); without any --topic the four payworker topics"},
    {"bootstrap-file", "PATH", DK_OPT_PATH, offsetof(dk_options, bootstrap_file), 0, 0,
     "also write the bootstrap servers to PATH (atomically; removed at exit)"},
    {"control", "PATH", DK_OPT_PATH, offsetof(dk_options, control_path), 0, 0,
     "accept control commands on a unix socket at PATH (as on stdin)"},
    {"help", NULL, DK_OPT_HELP, 0, 0, 0, "this text"},
};
#define DK_OPTION_CNT (sizeof(dk_options_table) / sizeof(dk_options_table[0]))

static void dk_usage(FILE *out)
{
    fputs("usage: devkafka [options]\n"
          "  librdkafka's mock Kafka cluster as a standalone broker on 127.0.0.1.\n"
          "  Prints \"bootstrap=HOST:PORT,...\" as its first stdout line, logs to stderr,\n"
          "  reads control commands on stdin (try: help) and runs until SIGTERM/SIGINT.\n\n",
          out);
    for (size_t i = 0; i < DK_OPTION_CNT; i++) {
        const dk_option *o = &dk_options_table[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg != NULL ? " " : "",
                 o->arg != NULL ? o->arg : "");
        fprintf(out, "  %-28s %s\n", left, o->help);
    }
    fputs("\nControl commands (one per line; reply \"ok ...\" or \"error ...\"):\n"
          "  broker down|up ID|all    disconnect a broker / accept connections again\n"
          "  rtt ID|all MS            add MS milliseconds of round-trip time\n"
          "  error APIKEY ERR [COUNT] fail the next COUNT (1) requests of APIKEY with ERR\n"
          "  clear APIKEY             drop the errors still queued for APIKEY\n"
          "  topic NAME PARTITIONS    create a topic\n"
          "  status                   brokers, leaders and topics\n"
          "  help                     the list of commands\n",
          out);
}

static int dk_topic_arg_parse(dk_options *opt, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    size_t n = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
    dk_topic_arg *t;
    long parts = 0;

    if (opt->topic_cnt >= DK_MAX_TOPIC_ARGS) {
        fprintf(stderr, "devkafka: too many --topic (max %d)\n", DK_MAX_TOPIC_ARGS);
        return DK_ERR;
    }
    t = &opt->topics[opt->topic_cnt];
    if (n > DK_TOPIC_NAME_MAX) {
        fprintf(stderr, "devkafka: --topic \"%s\": name longer than %d\n", arg, DK_TOPIC_NAME_MAX);
        return DK_ERR;
    }
    memcpy(t->name, arg, n);
    t->name[n] = '\0';
    if (!dk_topic_name_ok(t->name)) {
        fprintf(stderr, "devkafka: --topic \"%s\": bad topic name \"%s\" (want [a-zA-Z0-9._-])\n",
                arg, t->name);
        return DK_ERR;
    }
    if (colon != NULL && dk_parse_long(colon + 1, 1, DK_MAX_PARTITIONS, &parts) != DK_OK) {
        fprintf(stderr, "devkafka: --topic \"%s\": bad partition count \"%s\" (want 1..%d)\n", arg,
                colon + 1, DK_MAX_PARTITIONS);
        return DK_ERR;
    }
    t->partitions = (int)parts;
    opt->topic_cnt++;
    return DK_OK;
}

/* Returns DK_OK, DK_ERR (usage error, already reported) or 1 (--help). */
static int dk_options_parse(dk_options *opt, int argc, char **argv)
{
    memset(opt, 0, sizeof(*opt));
    opt->brokers = 3;
    opt->partitions = 6;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const dk_option *o = NULL;
        const char *value = NULL;
        size_t n;

        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "devkafka: unexpected argument \"%s\" (try --help)\n", a);
            return DK_ERR;
        }
        a += 2;
        n = strcspn(a, "=");
        for (size_t k = 0; k < DK_OPTION_CNT; k++)
            if (strlen(dk_options_table[k].name) == n &&
                strncmp(dk_options_table[k].name, a, n) == 0)
                o = &dk_options_table[k];
        if (o == NULL) {
            fprintf(stderr, "devkafka: unknown option \"%s\" (try --help)\n", argv[i]);
            return DK_ERR;
        }
        if (o->type == DK_OPT_HELP)
            return 1;
        if (a[n] == '=') {
            value = a + n + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "devkafka: --%s needs a value %s\n", o->name, o->arg);
            return DK_ERR;
        }
        switch (o->type) {
        case DK_OPT_INT: {
            long *field = (long *)(void *)((char *)opt + o->offset);
            if (dk_parse_long(value, o->min, o->max, field) != DK_OK) {
                fprintf(stderr, "devkafka: --%s \"%s\": want an integer in %ld..%ld\n", o->name,
                        value, o->min, o->max);
                return DK_ERR;
            }
            break;
        }
        case DK_OPT_PATH: {
            const char **field = (const char **)(void *)((char *)opt + o->offset);
            if (value[0] == '\0') {
                fprintf(stderr, "devkafka: --%s: empty path\n", o->name);
                return DK_ERR;
            }
            *field = value;
            break;
        }
        case DK_OPT_TOPIC:
            if (dk_topic_arg_parse(opt, value) != DK_OK)
                return DK_ERR;
            break;
        case DK_OPT_HELP:
            return 1;
        }
    }
    if (opt->replication == 0)
        opt->replication = opt->brokers < 3 ? opt->brokers : 3;
    if (opt->replication > opt->brokers) {
        fprintf(stderr, "devkafka: --replication %ld exceeds --brokers %ld\n", opt->replication,
                opt->brokers);
        return DK_ERR;
    }
    if (opt->control_path != NULL &&
        strlen(opt->control_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "devkafka: --control \"%s\": path too long for a unix socket\n",
                opt->control_path);
        return DK_ERR;
    }
    return DK_OK;
}

/*---- Server state ----*/

typedef struct dk_broker {
    bool down;
    int rtt_ms;
} dk_broker;

/* A control connection: stdin (replies on stdout) or a socket client. */
typedef struct dk_conn {
    int fd;        /* -1: closed */
    bool is_stdin; /* replies go to stdout, blocking */
    bool overlong; /* discarding the rest of a line longer than DK_LINE_MAX */
    size_t in_len;
    char in[DK_LINE_MAX];
    size_t out_len;
    char *out; /* pending replies (socket clients), at most DK_OUT_MAX */
} dk_conn;

typedef struct dk_server {
    dk_options opt;
    rd_kafka_t *rk; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mcluster;
    const char *bootstraps;                /* owned by mcluster */
    dk_broker brokers[DK_MAX_BROKERS + 1]; /* by id, 1..opt.brokers */
    int sig_pipe[2];
    int listen_fd;
    bool control_bound; /* we created opt.control_path */
    bool bootstrap_written;
    dk_conn stdin_conn;
    dk_conn clients[DK_MAX_CLIENTS];
} dk_server;

static volatile sig_atomic_t dk_sig_fd = -1;

static void dk_on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (dk_sig_fd >= 0) {
        ssize_t r = write(dk_sig_fd, &b, 1);
        (void)r;
    }
    errno = saved;
}

static int dk_set_flags(int fd, bool nonblock)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return DK_ERR;
    if (nonblock) {
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
            return DK_ERR;
    }
    return DK_OK;
}

/*---- Control commands ----*/

typedef int (*dk_command_fn)(dk_server *srv, int argc, char **argv, char *reply, size_t cap);

typedef struct dk_command {
    const char *name;
    int min_argc, max_argc; /* the command's own name included */
    const char *usage;
    dk_command_fn fn;
} dk_command;

/* "ID" or "all" (-1); writes the reason into reply on failure. */
static int dk_parse_broker_id(dk_server *srv, const char *s, int32_t *id, char *reply, size_t cap)
{
    long v;
    char tok[80];
    if (strcasecmp(s, "all") == 0) {
        *id = -1;
        return DK_OK;
    }
    if (dk_parse_long(s, 1, srv->opt.brokers, &v) != DK_OK) {
        snprintf(reply, cap, "bad broker id \"%s\": want 1..%ld or all",
                 dk_token(tok, sizeof(tok), s), srv->opt.brokers);
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
                 dk_token(tok, sizeof(tok), argv[1]));
        return DK_ERR;
    }
    if (dk_parse_broker_id(srv, argv[2], &id, reply, cap) != DK_OK)
        return DK_ERR;
    err = down ? rd_kafka_mock_broker_set_down(srv->mcluster, id)
               : rd_kafka_mock_broker_set_up(srv->mcluster, id);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reply, cap, "broker \"%s\": %s", dk_token(tok, sizeof(tok), argv[2]),
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

    if (dk_parse_broker_id(srv, argv[1], &id, reply, cap) != DK_OK)
        return DK_ERR;
    if (dk_parse_long(argv[2], 0, DK_MAX_RTT_MS, &ms) != DK_OK) {
        snprintf(reply, cap, "bad rtt \"%s\": want milliseconds 0..%d",
                 dk_token(tok, sizeof(tok), argv[2]), DK_MAX_RTT_MS);
        return DK_ERR;
    }
    err = rd_kafka_mock_broker_set_rtt(srv->mcluster, id, (int)ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reply, cap, "broker \"%s\": %s", dk_token(tok, sizeof(tok), argv[1]),
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

    if (dk_parse_api_key(argv[1], &api_key) != DK_OK) {
        snprintf(reply, cap, "bad api key \"%s\": want a number or a name such as Produce, Fetch",
                 dk_token(tok, sizeof(tok), argv[1]));
        return DK_ERR;
    }
    if (dk_parse_err(argv[2], &code) != DK_OK) {
        snprintf(reply, cap,
                 "bad error code \"%s\": want a librdkafka error number or name such as "
                 "NOT_LEADER_FOR_PARTITION",
                 dk_token(tok, sizeof(tok), argv[2]));
        return DK_ERR;
    }
    if (argc > 3 && dk_parse_long(argv[3], 1, DK_MAX_ERROR_COUNT, &count) != DK_OK) {
        snprintf(reply, cap, "bad count \"%s\": want 1..%d", dk_token(tok, sizeof(tok), argv[3]),
                 DK_MAX_ERROR_COUNT);
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
             (int)code, dk_api_name(api_key), (int)api_key);
    return DK_OK;
}

static int dk_cmd_clear(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    char tok[80];
    int16_t api_key;
    (void)argc;

    if (dk_parse_api_key(argv[1], &api_key) != DK_OK) {
        snprintf(reply, cap, "bad api key \"%s\": want a number or a name such as Produce, Fetch",
                 dk_token(tok, sizeof(tok), argv[1]));
        return DK_ERR;
    }
    rd_kafka_mock_clear_request_errors(srv->mcluster, api_key);
    snprintf(reply, cap, "cleared errors on %s (%d)", dk_api_name(api_key), (int)api_key);
    return DK_OK;
}

static int dk_topic_create(dk_server *srv, const char *name, int partitions, char *reply,
                           size_t cap)
{
    char tok[80];
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(srv->mcluster, name, partitions, (int)srv->opt.replication);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(reply, cap, "topic \"%s\" already exists", dk_token(tok, sizeof(tok), name));
        return DK_ERR;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reply, cap, "topic \"%s\": %s", dk_token(tok, sizeof(tok), name),
                 rd_kafka_err2str(err));
        return DK_ERR;
    }
    snprintf(reply, cap, "topic %s partitions=%d replication=%ld", name, partitions,
             srv->opt.replication);
    return DK_OK;
}

static int dk_cmd_topic(dk_server *srv, int argc, char **argv, char *reply, size_t cap)
{
    char tok[80];
    long parts;
    (void)argc;

    if (!dk_topic_name_ok(argv[1])) {
        snprintf(reply, cap, "bad topic name \"%s\": want 1..%d of [a-zA-Z0-9._-]",
                 dk_token(tok, sizeof(tok), argv[1]), DK_TOPIC_NAME_MAX);
        return DK_ERR;
    }
    if (dk_parse_long(argv[2], 1, DK_MAX_PARTITIONS, &parts) != DK_OK) {
        snprintf(reply, cap, "bad partition count \"%s\": want 1..%d",
                 dk_token(tok, sizeof(tok), argv[2]), DK_MAX_PARTITIONS);
        return DK_ERR;
    }
    return dk_topic_create(srv, argv[1], (int)parts, reply, cap);
}

/* Appends printf output at reply + *o, never past cap (truncated with "..."). */
static void dk_append(char *reply, size_t cap, size_t *o, const char *fmt, ...)
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
static int dk_metadata(dk_server *srv, const struct rd_kafka_metadata **mdp, char *why, size_t cap)
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
    rd_kafka_conf_set_log_cb(conf, dk_rdkafka_quiet_log);
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

    dk_append(reply, cap, &o, "brokers=%ld up=", srv->opt.brokers);
    first = true;
    for (int b = 1; b <= srv->opt.brokers; b++) {
        if (!srv->brokers[b].down) {
            dk_append(reply, cap, &o, "%s%d", first ? "" : ",", b);
            first = false;
        }
    }
    dk_append(reply, cap, &o, "%s down=", first ? "none" : "");
    first = true;
    for (int b = 1; b <= srv->opt.brokers; b++) {
        if (srv->brokers[b].down) {
            dk_append(reply, cap, &o, "%s%d", first ? "" : ",", b);
            first = false;
        }
    }
    dk_append(reply, cap, &o, "%s rtt=", first ? "none" : "");
    for (int b = 1; b <= srv->opt.brokers; b++)
        dk_append(reply, cap, &o, "%s%d:%d", b > 1 ? "," : "", b, srv->brokers[b].rtt_ms);

    if (dk_metadata(srv, &md, why, sizeof(why)) != DK_OK) {
        dk_append(reply, cap, &o, " topics=? metadata_error=%s", dk_quote(q, sizeof(q), why));
        return DK_OK;
    }
    for (int t = 0; t < md->topic_cnt; t++)
        for (int p = 0; p < md->topics[t].partition_cnt; p++) {
            int32_t leader = md->topics[t].partitions[p].leader;
            if (leader >= 1 && leader <= srv->opt.brokers)
                leaders[leader]++;
        }
    dk_append(reply, cap, &o, " leaders=");
    for (int b = 1; b <= srv->opt.brokers; b++)
        dk_append(reply, cap, &o, "%s%d:%d", b > 1 ? "," : "", b, leaders[b]);
    dk_append(reply, cap, &o, " topics=");
    for (int t = 0; t < md->topic_cnt; t++) {
        /* a client may have auto-created a topic with any bytes in its name:
         * the reply stays one line of printable tokens */
        char name[DK_TOPIC_NAME_MAX + 1];
        size_t k = 0;
        for (const char *c = md->topics[t].topic; *c != '\0' && k + 1 < sizeof(name); c++)
            name[k++] = ((unsigned char)*c <= ' ' || *c == ',' || *c == 0x7f) ? '?' : *c;
        name[k] = '\0';
        dk_append(reply, cap, &o, "%s%s:%d", t > 0 ? "," : "", name, md->topics[t].partition_cnt);
    }
    if (md->topic_cnt == 0)
        dk_append(reply, cap, &o, "none");
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
    dk_append(reply, cap, &o, "commands:");
    for (size_t i = 0; i < DK_COMMAND_CNT; i++)
        dk_append(reply, cap, &o, "%s %s", i > 0 ? ";" : "", dk_commands[i].usage);
    return DK_OK;
}

/* Runs one control line; writes the reply line (no newline) into out.
 * Returns false for lines that are not commands (blank, # comments). */
static bool dk_execute(dk_server *srv, char *line, char *out, size_t cap)
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
            snprintf(out, cap, "error too many arguments at \"%s\"", dk_token(tok, sizeof(tok), p));
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
                 dk_token(tok, sizeof(tok), argv[0]));
        return true;
    }
    if (argc < cmd->min_argc || argc > cmd->max_argc) {
        snprintf(
            out, cap, "error %s \"%s\": usage: %s",
            argc < cmd->min_argc ? "missing arguments after" : "too many arguments at",
            dk_token(tok, sizeof(tok), argc < cmd->min_argc ? argv[argc - 1] : argv[cmd->max_argc]),
            cmd->usage);
        return true;
    }
    rc = cmd->fn(srv, argc, argv, reply, sizeof(reply));
    snprintf(out, cap, "%s %s", rc == DK_OK ? "ok" : "error", reply);
    return true;
}

/*---- Control connections ----*/

static void dk_conn_close(dk_conn *c)
{
    if (c->fd >= 0 && !c->is_stdin)
        close(c->fd);
    c->fd = -1;
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
    c->in_len = 0;
    c->overlong = false;
}

/* Sends what is pending; DK_ERR when the client is gone. */
static int dk_conn_flush(dk_conn *c)
{
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return DK_OK;
        if (n <= 0)
            return DK_ERR;
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    return DK_OK;
}

/* Queues one reply line; DK_ERR when the client must be dropped. */
static int dk_conn_reply(dk_conn *c, const char *line)
{
    size_t n = strlen(line);
    if (c->is_stdin) {
        /* stdout may be closed or a broken pipe: the broker keeps running */
        fputs(line, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        return DK_OK;
    }
    if (c->out == NULL) {
        c->out = malloc(DK_OUT_MAX);
        if (c->out == NULL)
            return DK_ERR;
    }
    if (c->out_len + n + 1 > DK_OUT_MAX) {
        dk_log("warn", "msg=\"control client does not read its replies; dropped\" fd=%d", c->fd);
        return DK_ERR;
    }
    memcpy(c->out + c->out_len, line, n);
    c->out[c->out_len + n] = '\n';
    c->out_len += n + 1;
    return dk_conn_flush(c);
}

static int dk_conn_line(dk_server *srv, dk_conn *c, char *line, size_t len)
{
    char out[DK_REPLY_MAX + 64];
    char qcmd[DK_LINE_MAX + 8];
    char qreply[sizeof(out) + 8];

    if (memchr(line, '\0', len) != NULL) {
        snprintf(out, sizeof(out), "error line contains a NUL byte");
    } else {
        line[len] = '\0';
        dk_quote(qcmd, sizeof(qcmd), line);
        if (!dk_execute(srv, line, out, sizeof(out)))
            return DK_OK;
        dk_log(strncmp(out, "ok", 2) == 0 ? "info" : "warn",
               "msg=control source=%s cmd=%s reply=%s", c->is_stdin ? "stdin" : "socket", qcmd,
               dk_quote(qreply, sizeof(qreply), out));
    }
    return dk_conn_reply(c, out);
}

/* Reads what is there and runs each complete line. DK_ERR: close it. */
static int dk_conn_read(dk_server *srv, dk_conn *c)
{
    char buf[4096];
    ssize_t n = read(c->fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return DK_OK;
    if (n == 0 && c->in_len > 0 && !c->overlong) {
        /* EOF after a last line without its newline ("printf status | nc -U"):
         * run it, then close */
        size_t len = c->in_len;
        c->in_len = 0;
        dk_conn_line(srv, c, c->in, len);
    }
    if (n <= 0)
        return DK_ERR; /* EOF or error */
    for (ssize_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (ch != '\n') {
            if (c->overlong)
                continue;
            if (c->in_len + 1 >= sizeof(c->in)) {
                c->overlong = true;
                c->in_len = 0;
                continue;
            }
            c->in[c->in_len++] = ch;
            continue;
        }
        if (c->overlong) {
            char out[128];
            c->overlong = false;
            snprintf(out, sizeof(out), "error line too long (max %d bytes)", DK_LINE_MAX - 1);
            dk_log("warn", "msg=control source=%s reply=\"%s\"", c->is_stdin ? "stdin" : "socket",
                   out);
            if (dk_conn_reply(c, out) != DK_OK)
                return DK_ERR;
            continue;
        }
        size_t len = c->in_len;
        c->in_len = 0;
        if (dk_conn_line(srv, c, c->in, len) != DK_OK)
            return DK_ERR;
    }
    return DK_OK;
}

static void dk_accept(dk_server *srv)
{
    int fd = accept(srv->listen_fd, NULL, NULL);
    dk_conn *slot = NULL;

    if (fd < 0)
        return; /* EAGAIN, ECONNABORTED, EMFILE...: try again on the next wake-up */
    for (int i = 0; i < DK_MAX_CLIENTS; i++)
        if (srv->clients[i].fd < 0)
            slot = &srv->clients[i];
    if (slot == NULL || dk_set_flags(fd, true) != DK_OK) {
        static const char msg[] = "error too many control clients\n";
        ssize_t r = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)r;
        dk_log("warn", "msg=\"control client refused\" reason=\"too many clients\" max=%d",
               DK_MAX_CLIENTS);
        close(fd);
        return;
    }
    memset(slot, 0, sizeof(*slot));
    slot->fd = fd;
    dk_log("debug", "msg=\"control client connected\" fd=%d", fd);
}

/*---- Start-up and shut-down ----*/

static int dk_control_listen(dk_server *srv)
{
    const char *path = srv->opt.control_path;
    struct sockaddr_un sa;
    struct stat st;
    char qpath[600];

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    dk_quote(qpath, sizeof(qpath), path);

    if (lstat(path, &st) == 0) {
        int probe;
        if (!S_ISSOCK(st.st_mode)) {
            dk_log("error", "msg=\"control path exists and is not a socket\" path=%s", qpath);
            return DK_ERR;
        }
        probe = socket(AF_UNIX, SOCK_STREAM, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            dk_log("error", "msg=\"control socket in use by another process\" path=%s", qpath);
            return DK_ERR;
        }
        if (probe >= 0)
            close(probe);
        unlink(path); /* stale socket of a process that is gone */
    }
    srv->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (srv->listen_fd < 0 || dk_set_flags(srv->listen_fd, true) != DK_OK ||
        bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        dk_log("error", "msg=\"control socket\" path=%s error=\"%s\"", qpath, strerror(errno));
        return DK_ERR;
    }
    srv->control_bound = true;
    if (listen(srv->listen_fd, 8) != 0) {
        dk_log("error", "msg=\"control socket listen\" path=%s error=\"%s\"", qpath,
               strerror(errno));
        return DK_ERR;
    }
    return DK_OK;
}

static int dk_write_bootstrap_file(dk_server *srv)
{
    const char *path = srv->opt.bootstrap_file;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    char qpath[600];
    FILE *f;
    int rc = DK_ERR;

    dk_quote(qpath, sizeof(qpath), path);
    if (tmp == NULL)
        return DK_ERR;
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "w");
    if (f != NULL) {
        bool ok = fprintf(f, "%s\n", srv->bootstraps) > 0;
        ok = fflush(f) == 0 && ok;
        ok = fsync(fileno(f)) == 0 && ok;
        ok = fclose(f) == 0 && ok;
        if (ok && rename(tmp, path) == 0)
            rc = DK_OK;
    }
    if (rc != DK_OK) {
        dk_log("error", "msg=\"cannot write bootstrap file\" path=%s error=\"%s\"", qpath,
               strerror(errno));
        unlink(tmp);
    } else {
        srv->bootstrap_written = true;
    }
    free(tmp);
    return rc;
}

static int dk_signals_install(dk_server *srv)
{
    struct sigaction sa;

    if (pipe(srv->sig_pipe) != 0 || dk_set_flags(srv->sig_pipe[0], true) != DK_OK ||
        dk_set_flags(srv->sig_pipe[1], true) != DK_OK) {
        dk_log("error", "msg=\"self-pipe\" error=\"%s\"", strerror(errno));
        return DK_ERR;
    }
    dk_sig_fd = srv->sig_pipe[1];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = dk_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return DK_ERR;
    /* replies to a client or to stdout that went away must not kill us, and
     * neither may a terminal: started with "&" from an interactive shell, a
     * read of the terminal fails with EIO (stdin is then dropped) instead of
     * stopping the broker with SIGTTIN */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGTTIN, &sa, NULL) != 0 || sigaction(SIGTTOU, &sa, NULL) != 0)
        return DK_ERR;
    return sigaction(SIGPIPE, &sa, NULL) == 0 ? DK_OK : DK_ERR;
}

static int dk_cluster_start(dk_server *srv)
{
    char errstr[512];
    char reply[DK_REPLY_MAX];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (rd_kafka_conf_set(conf, "client.id", "devkafka", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        dk_log("error", "msg=\"librdkafka conf\" error=\"%s\"", errstr);
        rd_kafka_conf_destroy(conf);
        return DK_ERR;
    }
    rd_kafka_conf_set_log_cb(conf, dk_rdkafka_log);
    srv->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (srv->rk == NULL) {
        dk_log("error", "msg=\"rd_kafka_new failed\" error=\"%s\"", errstr);
        rd_kafka_conf_destroy(conf);
        return DK_ERR;
    }
    srv->mcluster = rd_kafka_mock_cluster_new(srv->rk, (int)srv->opt.brokers);
    if (srv->mcluster == NULL) {
        dk_log("error", "msg=\"rd_kafka_mock_cluster_new failed\" brokers=%ld", srv->opt.brokers);
        return DK_ERR;
    }
    srv->bootstraps = rd_kafka_mock_cluster_bootstraps(srv->mcluster);

    if (srv->opt.topic_cnt == 0) {
        for (size_t i = 0; i < sizeof(dk_default_topics) / sizeof(dk_default_topics[0]); i++) {
            dk_topic_arg *t = &srv->opt.topics[srv->opt.topic_cnt++];
            snprintf(t->name, sizeof(t->name), "%s", dk_default_topics[i]);
            t->partitions = 0;
        }
    }
    for (int i = 0; i < srv->opt.topic_cnt; i++) {
        dk_topic_arg *t = &srv->opt.topics[i];
        int parts = t->partitions > 0 ? t->partitions : (int)srv->opt.partitions;
        char qreply[DK_REPLY_MAX + 8];
        /* the same topic twice on the command line is only a warning */
        int rc = dk_topic_create(srv, t->name, parts, reply, sizeof(reply));
        dk_log(rc == DK_OK ? "info" : "warn", "msg=\"create topic\" result=%s",
               dk_quote(qreply, sizeof(qreply), reply));
    }
    return DK_OK;
}

static void dk_server_destroy(dk_server *srv)
{
    dk_conn_close(&srv->stdin_conn);
    for (int i = 0; i < DK_MAX_CLIENTS; i++)
        dk_conn_close(&srv->clients[i]);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->control_bound)
        unlink(srv->opt.control_path);
    if (srv->bootstrap_written)
        unlink(srv->opt.bootstrap_file);
    if (srv->mcluster != NULL)
        rd_kafka_mock_cluster_destroy(srv->mcluster);
    if (srv->rk != NULL)
        rd_kafka_destroy(srv->rk);
    dk_sig_fd = -1;
    for (int i = 0; i < 2; i++)
        if (srv->sig_pipe[i] >= 0)
            close(srv->sig_pipe[i]);
}

/*---- The loop ----*/

/* Returns the signal that stopped it. */
static int dk_run(dk_server *srv)
{
    struct pollfd pfds[3 + DK_MAX_CLIENTS];
    dk_conn *conns[3 + DK_MAX_CLIENTS];

    for (;;) {
        nfds_t n = 0;
        int rc;

        pfds[n] = (struct pollfd){.fd = srv->sig_pipe[0], .events = POLLIN};
        conns[n++] = NULL;
        if (srv->listen_fd >= 0) {
            pfds[n] = (struct pollfd){.fd = srv->listen_fd, .events = POLLIN};
            conns[n++] = NULL;
        }
        if (srv->stdin_conn.fd >= 0) {
            pfds[n] = (struct pollfd){.fd = srv->stdin_conn.fd, .events = POLLIN};
            conns[n++] = &srv->stdin_conn;
        }
        for (int i = 0; i < DK_MAX_CLIENTS; i++) {
            dk_conn *c = &srv->clients[i];
            if (c->fd < 0)
                continue;
            pfds[n] = (struct pollfd){.fd = c->fd,
                                      .events = (short)(POLLIN | (c->out_len > 0 ? POLLOUT : 0))};
            conns[n++] = c;
        }

        rc = poll(pfds, n, 1000);
        rd_kafka_poll(srv->rk, 0); /* the owner handle's callbacks, if any */
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            dk_log("error", "msg=poll error=\"%s\"", strerror(errno));
            return 0;
        }
        if (pfds[0].revents != 0) {
            unsigned char sig = 0;
            if (read(srv->sig_pipe[0], &sig, 1) == 1)
                return sig;
        }
        for (nfds_t i = 1; i < n; i++) {
            dk_conn *c = conns[i];
            if (pfds[i].revents == 0)
                continue;
            if (c == NULL) {
                dk_accept(srv);
                continue;
            }
            if ((pfds[i].revents & POLLOUT) != 0 && dk_conn_flush(c) != DK_OK) {
                dk_conn_close(c);
                continue;
            }
            if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) == 0)
                continue;
            if ((pfds[i].revents & POLLNVAL) != 0 || dk_conn_read(srv, c) != DK_OK) {
                if (c->is_stdin)
                    dk_log("info", "msg=\"stdin closed; still running until SIGTERM or SIGINT\"");
                else
                    dk_log("debug", "msg=\"control client gone\" fd=%d", c->fd);
                if (!c->is_stdin)
                    dk_conn_flush(c); /* last replies to a client that half-closed */
                dk_conn_close(c);
            }
        }
    }
}

int main(int argc, char **argv)
{
    static dk_server srv; /* large (line buffers): not on the stack */
    int rc;
    int sig;

    rc = dk_options_parse(&srv.opt, argc, argv);
    if (rc == 1) {
        dk_usage(stdout);
        return 0;
    }
    if (rc != DK_OK)
        return 2;

    srv.listen_fd = -1;
    srv.sig_pipe[0] = srv.sig_pipe[1] = -1;
    srv.stdin_conn.fd = STDIN_FILENO;
    srv.stdin_conn.is_stdin = true;
    for (int i = 0; i < DK_MAX_CLIENTS; i++)
        srv.clients[i].fd = -1;

    if (dk_signals_install(&srv) != DK_OK || dk_cluster_start(&srv) != DK_OK ||
        (srv.opt.control_path != NULL && dk_control_listen(&srv) != DK_OK) ||
        (srv.opt.bootstrap_file != NULL && dk_write_bootstrap_file(&srv) != DK_OK)) {
        dk_server_destroy(&srv);
        return 1;
    }

    printf("bootstrap=%s\n", srv.bootstraps);
    fflush(stdout);
    {
        char qb[1024];
        char qc[600];
        dk_log("info",
               "msg=ready bootstrap=%s brokers=%ld replication=%ld topics=%d control=%s "
               "librdkafka=%s",
               dk_quote(qb, sizeof(qb), srv.bootstraps), srv.opt.brokers, srv.opt.replication,
               srv.opt.topic_cnt,
               dk_quote(qc, sizeof(qc),
                        srv.opt.control_path != NULL ? srv.opt.control_path : "stdin-only"),
               rd_kafka_version_str());
    }

    sig = dk_run(&srv);
    dk_log("info", "msg=\"shutting down\" signal=%d", sig);
    dk_server_destroy(&srv);
    dk_log("info", "msg=stopped");
    return 0;
}
