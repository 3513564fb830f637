/* payworker.c -- the payment worker daemon.
 *
 * DESIGN
 * Loads and validates the configuration (pw_config), starts one libevent
 * loop with the engine (pw_engine: Kafka in, Redis claims, provider calls,
 * events out) and the metrics/health server, and runs until SIGTERM or
 * SIGINT: the first signal drains (no new commands, in-flight ones finish
 * within PAYW_DRAIN_TIMEOUT_MS, outputs flushed, offsets committed, group
 * left); a second signal exits at once. Whatever happens, the process is
 * gone PAYW_DRAIN_TIMEOUT_MS + 5 s after the first signal (a timer of the
 * kernel's, not of the loop: it fires even if a library call blocks).
 *
 * Exit codes: 0 stopped with every command finished; 1 could not start;
 * 2 bad configuration or usage; 3 drained, but calls still in flight at the
 * drain timeout were left unfinished (they are redelivered); 4 the shutdown
 * itself did not finish in time and was cut short.
 *
 *   payworker                 run (configuration from the environment)
 *   payworker --help          usage and the configuration table
 *   payworker --print-config  the effective configuration, secrets redacted,
 *                             checked as a start would check it: exit 0, or
 *                             2 with the problems on stderr
 *
 * Every setting is checked before anything starts (pw_config): a bad one is
 * exit 2 with one line per problem on stderr, never a half-started engine.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "pw_config.h"
#include "pw_engine.h"
#include "pw_log.h"
#include "pw_metrics.h"

#define PAYWORKER_EXIT_UNFINISHED 3
#define PAYWORKER_EXIT_CUT_SHORT  4
#define PAYWORKER_STOP_MARGIN_MS  4500 /* past the drain timeout: then exit 4 */

typedef struct payworker {
    struct event_base *base;
    pw_engine *engine;
    int signals;
    int64_t drain_timeout_ms;
} payworker;

static void payworker_on_alarm(int sig)
{
    static const char msg[] = "level=error msg=\"shutdown did not finish in time: exiting\"\n";
    (void)sig;
    ssize_t n = write(2, msg, sizeof(msg) - 1);
    (void)n;
    _exit(PAYWORKER_EXIT_CUT_SHORT);
}

/* The backstop: exit 4 once the drain and the close had their time. */
static void payworker_arm_backstop(int64_t drain_timeout_ms)
{
    int64_t ms = drain_timeout_ms + PAYWORKER_STOP_MARGIN_MS;
    struct itimerval it = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
    signal(SIGALRM, payworker_on_alarm);
    setitimer(ITIMER_REAL, &it, NULL);
}

static void payworker_drained(void *ud)
{
    payworker *w = ud;
    pw_log(PW_LOG_INFO, "drained: exiting", NULL);
    event_base_loopexit(w->base, NULL);
}

static void payworker_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    payworker *w = arg;
    if (w->signals++ == 0) {
        pw_log(PW_LOG_INFO, sig == SIGTERM ? "SIGTERM: draining" : "SIGINT: draining", NULL);
        payworker_arm_backstop(w->drain_timeout_ms);
        pw_engine_stop(w->engine, payworker_drained, w);
    } else {
        pw_log(PW_LOG_WARN, "second signal: exiting without draining", NULL);
        event_base_loopbreak(w->base);
    }
}

static void payworker_usage(FILE *f)
{
    fprintf(f, "usage: payworker [--help | --print-config]\n"
               "Consumes payment commands from Kafka, calls the providers, guarantees through "
               "Redis\nthat no invoice is paid twice, and publishes Avro result and balance "
               "events.\n\n");
    pw_config_print_help(f);
}

int main(int argc, char **argv)
{
    pw_config cfg;
    char errstr[1024];
    int print_config = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            payworker_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--print-config") == 0) {
            print_config = 1;
        } else {
            fprintf(stderr, "payworker: unknown option \"%s\"\n", argv[i]);
            payworker_usage(stderr);
            return 2;
        }
    }
    int bad = pw_config_load(&cfg, NULL, errstr, sizeof(errstr)) != 0;
    if (print_config) {
        pw_config_print(&cfg, stdout);
        fflush(stdout); /* before the problems, when both go to one terminal */
    }
    if (bad) {
        /* every problem, one line each (errstr may be cut: cfg.errors is not) */
        const char *e = cfg.errors != NULL ? cfg.errors : errstr;
        while (*e != '\0') {
            size_t n = strcspn(e, "\n");
            fprintf(stderr, "payworker: configuration: %.*s\n", (int)n, e);
            e += n + (e[n] == '\n');
        }
        pw_config_free(&cfg);
        return 2;
    }
    if (print_config) {
        pw_config_free(&cfg);
        return 0;
    }
    pw_log_setup((pw_log_level)pw_log_level_parse(cfg.log_level),
                 strcmp(cfg.log_format, "json") == 0, 2);
    signal(SIGPIPE, SIG_IGN); /* hiredis and libcurl write to sockets */

    payworker w = {.base = event_base_new(), .drain_timeout_ms = cfg.drain_timeout_ms};
    pw_metrics m;
    pw_metrics_init(&m);
    pw_metrics_server *ms = pw_metrics_serve(w.base, cfg.http_addr, &m, errstr, sizeof(errstr));
    if (ms == NULL) {
        pw_log(PW_LOG_ERROR, "cannot start the metrics server", "error", errstr, NULL);
        event_base_free(w.base);
        pw_config_free(&cfg);
        return 1;
    }
    w.engine = pw_engine_new(w.base, &cfg, &m, errstr, sizeof(errstr));
    if (w.engine == NULL) {
        pw_log(PW_LOG_ERROR, "cannot start", "error", errstr, NULL);
        pw_metrics_server_free(ms);
        event_base_free(w.base);
        pw_config_free(&cfg);
        return 1;
    }
    struct event *sterm = evsignal_new(w.base, SIGTERM, payworker_on_signal, &w);
    struct event *sint = evsignal_new(w.base, SIGINT, payworker_on_signal, &w);
    evsignal_add(sterm, NULL);
    evsignal_add(sint, NULL);
    pw_logline l;
    pw_log_begin(&l, PW_LOG_INFO, "payworker started");
    pw_log_str(&l, "worker", cfg.worker_id);
    pw_log_str(&l, "brokers", cfg.brokers);
    pw_log_str(&l, "group", cfg.group);
    pw_log_str(&l, "metrics", cfg.http_addr);
    pw_log_int(&l, "max_inflight", cfg.max_inflight);
    pw_log_end(&l);

    event_base_dispatch(w.base);

    /* a second signal cut the drain short: commands may be left too */
    int rc = w.signals > 1 || pw_engine_unfinished(w.engine) > 0 ? PAYWORKER_EXIT_UNFINISHED : 0;
    if (pw_engine_refused(w.engine))
        rc = 2; /* a configuration the worker must not run with (logged) */
    pw_engine_free(w.engine);
    event_free(sterm);
    event_free(sint);
    pw_metrics_server_free(ms);
    event_base_free(w.base);
    pw_config_free(&cfg);
    pw_logline l2;
    pw_log_begin(&l2, PW_LOG_INFO, "payworker stopped");
    pw_log_int(&l2, "exit", rc);
    pw_log_str(&l2, "meaning",
               rc == 0   ? "every command finished"
               : rc == 2 ? "refused to run"
                         : "commands left unfinished: they are redelivered");
    pw_log_end(&l2);
    return rc;
}
