/* devkafka -- librdkafka's mock cluster as a standalone Kafka broker.
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
 * Files (dk.h lists them): dk_main.c (this one: options, start-up, the
 * loop, shut-down), dk_cmd.c (the commands), dk_conn.c (the connections),
 * dk_text.c (tokens), dk_log.c (log lines, through the worker's pw_log.h).
 *
 * Limits of librdkafka 2.0.2's mock (see ops/README.md): a broker that is
 * down keeps leading its partitions (no leader election), topics are created
 * automatically with 4 partitions when a producer asks for an unknown one
 * (not configurable), and the Admin API (CreateTopics) is not implemented.
 */
#include "dk.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "pw_opt.h"

static const char *const dk_default_topics[] = {
    "payments.commands",
    "payments.results",
    "payments.balances",
    "payments.commands.dlq",
};

/*---- Options (one pw_opt table; --help is generated from it) ----*/

/* --topic NAME[:PARTITIONS], repeatable. */
static int dk_main_topic_arg(void *cfg, const char *arg, char *why, size_t cap)
{
    dk_options *opt = cfg;
    const char *colon = strrchr(arg, ':');
    size_t n = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
    dk_topic_arg *t;
    long parts = 0;

    if (opt->topic_cnt >= DK_MAX_TOPIC_ARGS) {
        snprintf(why, cap, "too many --topic (max %d)", DK_MAX_TOPIC_ARGS);
        return DK_ERR;
    }
    t = &opt->topics[opt->topic_cnt];
    if (n > DK_TOPIC_NAME_MAX) {
        snprintf(why, cap, "name longer than %d", DK_TOPIC_NAME_MAX);
        return DK_ERR;
    }
    memcpy(t->name, arg, n);
    t->name[n] = '\0';
    if (!dk_text_topic_ok(t->name)) {
        snprintf(why, cap, "bad topic name (want [a-zA-Z0-9._-])");
        return DK_ERR;
    }
    if (colon != NULL && dk_text_long(colon + 1, 1, DK_MAX_PARTITIONS, &parts) != DK_OK) {
        snprintf(why, cap, "bad partition count (want 1..%d)", DK_MAX_PARTITIONS);
        return DK_ERR;
    }
    t->partitions = (int)parts;
    opt->topic_cnt++;
    return DK_OK;
}

static const pw_opt dk_main_opts[] = {
    {"brokers", "N", PW_OPT_INT, offsetof(dk_options, brokers), 1, DK_MAX_BROKERS, "3",
     "number of brokers, ids 1..N", NULL},
    {"partitions", "P", PW_OPT_INT, offsetof(dk_options, partitions), 1, DK_MAX_PARTITIONS, "6",
     "partitions of each topic created at start", NULL},
    {"replication", "R", PW_OPT_INT, offsetof(dk_options, replication), 1, DK_MAX_BROKERS, NULL,
     "replication factor, at most N (default min(3,N))", NULL},
    {"topic", "NAME[:PARTITIONS]", PW_OPT_FUNC, 0, 0, 0, NULL,
     "create this topic (repeatable); without any --topic the four payworker topics",
     dk_main_topic_arg},
    {"bootstrap-file", "PATH", PW_OPT_PATH, offsetof(dk_options, bootstrap_file), 0, 0, NULL,
     "also write the bootstrap servers to PATH (atomically; removed at exit)", NULL},
    {"control", "PATH", PW_OPT_PATH, offsetof(dk_options, control_path), 0, 0, NULL,
     "accept control commands on a unix socket at PATH (as on stdin)", NULL},
    {"help", NULL, PW_OPT_HELP, 0, 0, 0, NULL, "this text", NULL},
};
static const pw_opt_table dk_main_opt_table = {"devkafka", dk_main_opts,
                                               sizeof(dk_main_opts) / sizeof(dk_main_opts[0])};

static void dk_main_usage(FILE *out)
{
    fputs("usage: devkafka [options]\n"
          "  librdkafka's mock Kafka cluster as a standalone broker on 127.0.0.1.\n"
          "  Prints \"bootstrap=HOST:PORT,...\" as its first stdout line, logs to stderr,\n"
          "  reads control commands on stdin (try: help) and runs until SIGTERM/SIGINT.\n\n",
          out);
    pw_opt_usage(&dk_main_opt_table, out);
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

/* Returns DK_OK, DK_ERR (usage error, already reported) or 1 (--help). */
static int dk_main_options(dk_options *opt, int argc, char **argv)
{
    memset(opt, 0, sizeof(*opt));
    int rc = pw_opt_parse(&dk_main_opt_table, opt, argc, argv);
    if (rc != PW_OPT_OK)
        return rc == PW_OPT_HELP_ASKED ? 1 : DK_ERR;
    if (opt->replication == 0)
        opt->replication = opt->brokers < 3 ? opt->brokers : 3;
    if (opt->replication > opt->brokers) {
        fprintf(stderr, "devkafka: --replication %" PRId64 " exceeds --brokers %" PRId64 "\n",
                opt->replication, opt->brokers);
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

/*---- Signals ----*/

static volatile sig_atomic_t dk_main_sig_fd = -1;

static void dk_main_on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (dk_main_sig_fd >= 0) {
        ssize_t r = write(dk_main_sig_fd, &b, 1);
        (void)r;
    }
    errno = saved;
}

/*---- Start-up and shut-down ----*/

static int dk_main_control_listen(dk_server *srv)
{
    const char *path = srv->opt.control_path;
    struct sockaddr_un sa;
    struct stat st;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);

    if (lstat(path, &st) == 0) {
        int probe;
        if (!S_ISSOCK(st.st_mode)) {
            DK_LOG(PW_LOG_ERROR, "control path exists and is not a socket", "path", path, NULL);
            return DK_ERR;
        }
        probe = socket(AF_UNIX, SOCK_STREAM, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            DK_LOG(PW_LOG_ERROR, "control socket in use by another process", "path", path, NULL);
            return DK_ERR;
        }
        if (probe >= 0)
            close(probe);
        unlink(path); /* stale socket of a process that is gone */
    }
    srv->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (srv->listen_fd < 0 || dk_conn_set_flags(srv->listen_fd, true) != DK_OK ||
        bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        DK_LOG(PW_LOG_ERROR, "control socket", "path", path, "error", strerror(errno), NULL);
        return DK_ERR;
    }
    srv->control_bound = true;
    if (listen(srv->listen_fd, 8) != 0) {
        DK_LOG(PW_LOG_ERROR, "control socket listen", "path", path, "error", strerror(errno), NULL);
        return DK_ERR;
    }
    return DK_OK;
}

static int dk_main_bootstrap_file(dk_server *srv)
{
    const char *path = srv->opt.bootstrap_file;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    FILE *f;
    int rc = DK_ERR;

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
        DK_LOG(PW_LOG_ERROR, "cannot write bootstrap file", "path", path, "error", strerror(errno),
               NULL);
        unlink(tmp);
    } else {
        srv->bootstrap_written = true;
    }
    free(tmp);
    return rc;
}

static int dk_main_signals(dk_server *srv)
{
    struct sigaction sa;

    if (pipe(srv->sig_pipe) != 0 || dk_conn_set_flags(srv->sig_pipe[0], true) != DK_OK ||
        dk_conn_set_flags(srv->sig_pipe[1], true) != DK_OK) {
        DK_LOG(PW_LOG_ERROR, "self-pipe", "error", strerror(errno), NULL);
        return DK_ERR;
    }
    dk_main_sig_fd = srv->sig_pipe[1];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = dk_main_on_signal;
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

static int dk_main_cluster_start(dk_server *srv)
{
    char errstr[512];
    char reply[DK_REPLY_MAX];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (rd_kafka_conf_set(conf, "client.id", "devkafka", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        DK_LOG(PW_LOG_ERROR, "librdkafka conf", "error", errstr, NULL);
        rd_kafka_conf_destroy(conf);
        return DK_ERR;
    }
    rd_kafka_conf_set_log_cb(conf, dk_log_rdkafka);
    srv->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (srv->rk == NULL) {
        DK_LOG(PW_LOG_ERROR, "rd_kafka_new failed", "error", errstr, NULL);
        rd_kafka_conf_destroy(conf);
        return DK_ERR;
    }
    srv->mcluster = rd_kafka_mock_cluster_new(srv->rk, (int)srv->opt.brokers);
    if (srv->mcluster == NULL) {
        dk_log_int(PW_LOG_ERROR, "rd_kafka_mock_cluster_new failed", "brokers", srv->opt.brokers);
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
        /* the same topic twice on the command line is only a warning */
        int rc = dk_cmd_topic_create(srv, t->name, parts, reply, sizeof(reply));
        DK_LOG(rc == DK_OK ? PW_LOG_INFO : PW_LOG_WARN, "create topic", "result", reply, NULL);
    }
    return DK_OK;
}

static void dk_main_destroy(dk_server *srv)
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
    dk_main_sig_fd = -1;
    for (int i = 0; i < 2; i++)
        if (srv->sig_pipe[i] >= 0)
            close(srv->sig_pipe[i]);
}

/*---- The loop ----*/

/* Returns the signal that stopped it. */
static int dk_main_run(dk_server *srv)
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
            DK_LOG(PW_LOG_ERROR, "poll", "error", strerror(errno), NULL);
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
                dk_conn_accept(srv);
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
                    DK_LOG(PW_LOG_INFO, "stdin closed; still running until SIGTERM or SIGINT",
                           NULL);
                else
                    dk_log_int(PW_LOG_DEBUG, "control client gone", "fd", c->fd);
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

    pw_log_setup(PW_LOG_DEBUG, 0, STDERR_FILENO); /* devkafka says everything */
    rc = dk_main_options(&srv.opt, argc, argv);
    if (rc == 1) {
        dk_main_usage(stdout);
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

    if (dk_main_signals(&srv) != DK_OK || dk_main_cluster_start(&srv) != DK_OK ||
        (srv.opt.control_path != NULL && dk_main_control_listen(&srv) != DK_OK) ||
        (srv.opt.bootstrap_file != NULL && dk_main_bootstrap_file(&srv) != DK_OK)) {
        dk_main_destroy(&srv);
        return 1;
    }

    printf("bootstrap=%s\n", srv.bootstraps);
    fflush(stdout);
    {
        pw_logline l;
        dk_log_begin(&l, PW_LOG_INFO, "ready");
        pw_log_str(&l, "bootstrap", srv.bootstraps);
        pw_log_int(&l, "brokers", srv.opt.brokers);
        pw_log_int(&l, "replication", srv.opt.replication);
        pw_log_int(&l, "topics", srv.opt.topic_cnt);
        pw_log_str(&l, "control",
                   srv.opt.control_path != NULL ? srv.opt.control_path : "stdin-only");
        pw_log_str(&l, "librdkafka", rd_kafka_version_str());
        pw_log_end(&l);
    }

    sig = dk_main_run(&srv);
    dk_log_int(PW_LOG_INFO, "shutting down", "signal", sig);
    dk_main_destroy(&srv);
    DK_LOG(PW_LOG_INFO, "stopped", NULL);
    return 0;
}
