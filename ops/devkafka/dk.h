/* dk.h -- what the files of devkafka share (the design: dk_main.c).
 *
 *   dk_main.c  options, start-up, the poll(2) loop, shut-down, main()
 *   dk_cmd.c   the control commands (one table, dk_commands)
 *   dk_conn.c  control connections: stdin and the unix socket's clients
 *   dk_text.c  parsing and quoting of tokens, Kafka's protocol names
 *   dk_log.c   devkafka's log lines (pw_log.h) and librdkafka's
 */
#ifndef DK_H
#define DK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "pw_log.h"

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

/*---- Options (dk_main.c: one pw_opt table; --help is generated from it) ----*/

typedef struct dk_topic_arg {
    char name[DK_TOPIC_NAME_MAX + 1];
    int partitions; /* 0: --partitions */
} dk_topic_arg;

typedef struct dk_options {
    int64_t brokers;
    int64_t partitions;
    int64_t replication; /* 0: min(3, brokers) */
    dk_topic_arg topics[DK_MAX_TOPIC_ARGS];
    int topic_cnt;
    const char *bootstrap_file;
    const char *control_path;
} dk_options;

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

/*---- dk_log.c: logfmt on stderr, every line with component=devkafka ----*/

/* pw_log_begin with the component: add fields, then pw_log_end. */
void dk_log_begin(pw_logline *l, pw_log_level level, const char *msg);
/* One line with string fields: DK_LOG(PW_LOG_WARN, "msg", "key", value, NULL). */
#define DK_LOG(level, msg, ...) pw_log(level, msg, "component", "devkafka", __VA_ARGS__)
/* A line with one number: dk_log_int(PW_LOG_DEBUG, "control client gone", "fd", fd). */
void dk_log_int(pw_log_level level, const char *msg, const char *key, int64_t value);
/* librdkafka's log callback (its threads): syslog levels to ours. */
void dk_log_rdkafka(const rd_kafka_t *rk, int level, const char *fac, const char *buf);
/* The same for a handle whose complaints are not news: says nothing. */
void dk_log_rdkafka_quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/*---- dk_text.c ----*/

const char *dk_text_quote(char *buf, size_t cap, const char *s);
int dk_text_long(const char *s, long min, long max, long *out);
const char *dk_text_token(char *buf, size_t cap, const char *s);
bool dk_text_topic_ok(const char *name);
const char *dk_text_api_name(int api_key);
int dk_text_api_key(const char *s, int16_t *api_key);
int dk_text_err(const char *s, rd_kafka_resp_err_t *err);

/*---- dk_cmd.c ----*/

/* Creates a topic of the cluster; the reply line says what happened. */
int dk_cmd_topic_create(dk_server *srv, const char *name, int partitions, char *reply, size_t cap);
/* Runs one control line; writes the reply line (no newline) into out.
 * Returns false for lines that are not commands (blank, # comments). */
bool dk_cmd_execute(dk_server *srv, char *line, char *out, size_t cap);

/*---- dk_conn.c ----*/

/* FD_CLOEXEC, and O_NONBLOCK when nonblock. */
int dk_conn_set_flags(int fd, bool nonblock);
void dk_conn_close(dk_conn *c);
/* Sends what is pending; DK_ERR when the client is gone. */
int dk_conn_flush(dk_conn *c);
/* Reads what is there and runs each complete line. DK_ERR: close it. */
int dk_conn_read(dk_server *srv, dk_conn *c);
/* Takes a new socket client, or refuses it when there are DK_MAX_CLIENTS. */
void dk_conn_accept(dk_server *srv);

#endif
