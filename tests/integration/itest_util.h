/* itest_util.h -- process helpers shared by the integration tests.
 *
 * DESIGN
 * An integration test is a cmocka binary that starts the build's own
 * programs (devkafka, provider-sim, redis-server, payworker) as child
 * processes and talks to them the way users do: over pipes, sockets and
 * Kafka. These helpers own the child-process plumbing:
 *
 *  - it_spawn starts a child with stdin and stdout on pipes and stderr in a
 *    temporary log file (it_proc.log_path). A child gets SIGTERM when the
 *    test process dies (PR_SET_PDEATHSIG), so a crashed test leaves no
 *    broker behind.
 *  - Failure bookkeeping: a setup calls it_test_begin(), the last statement
 *    of a test body is it_test_pass(), the teardown calls it_test_end().
 *    A test that did not reach it_test_pass() failed: it_test_end() prints
 *    the tail of every log its children wrote and keeps the files; a test
 *    that passed has its logs removed. (cmocka runs the teardown after a
 *    failed assertion, so processes are stopped and logs shown either way.)
 *  - Tests listen and connect on 127.0.0.1 only, on ports from
 *    it_free_port(), and on unix sockets under it_tmpdir() directories.
 *
 * Threads: call these from the test's main thread only (librdkafka clients
 * in the test have their own threads; fork() here builds everything the
 * child needs before forking and calls only async-signal-safe functions in
 * the child).
 */
#ifndef ITEST_UTIL_H
#define ITEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#define IT_RBUF_MAX 8192

typedef struct it_proc {
    pid_t pid;  /* 0: not running (or a socket connection, see it_connect_unix) */
    int in_fd;  /* writes go to the child's stdin; -1 when closed */
    int out_fd; /* the child's stdout; -1 when closed */
    char name[32];
    char log_path[256]; /* the child's stderr */
    /* private: stdout bytes read past the last line returned */
    size_t rbuf_len;
    char rbuf[IT_RBUF_MAX];
} it_proc;

/* $PAYW_BUILD_DIR, default "build/normal". */
const char *it_build_dir(void);

/* Writes it_build_dir()/rel into buf; returns buf. */
char *it_build_path(char *buf, size_t cap, const char *rel);

/* Starts argv[0] (a path, or a name looked up in $PATH) with stdin and stdout
 * piped to p->in_fd / p->out_fd and stderr appended to a new temporary log
 * file whose path is kept in p->log_path. envp_extra (NULL or NULL-terminated)
 * adds or replaces NAME=VALUE entries of the environment. 0, or -1 with a
 * message on stderr (nothing left running). */
int it_spawn(it_proc *p, const char *name, char *const argv[], char *const envp_extra[]);

/* Starts tests/tools/registry_sim.py (a Confluent-compatible Schema Registry
 * whose ids start at 100) on a free port; its base URL into url. */
void it_start_registry(it_proc *p, char *url, size_t cap);

/* One stdout line without its newline (truncated to cap-1 bytes). 0, or -1
 * on timeout or EOF. */
int it_read_line(it_proc *p, char *buf, size_t cap, int timeout_ms);

/* Writes line and a newline (unless line ends with one). 0 or -1. */
int it_write_line(it_proc *p, const char *line);

/* it_write_line then it_read_line: one request, one reply line. */
int it_request(it_proc *p, const char *line, char *reply, size_t cap, int timeout_ms);

/* Sends sig (0: none, just wait), waits up to timeout_ms (draining stdout meanwhile), then
 * SIGKILL. Closes the fds. Returns the exit status, 128+N when killed by
 * signal N, or -1 (not running, or waitpid failed). The log is removed when
 * the current test passed or no test is bracketed by it_test_begin/end and
 * the child exited 0; otherwise it is kept until it_test_end(). */
int it_stop(it_proc *p, int sig, int timeout_ms);

/* Closes the fds of p without signalling anything (for it_connect_unix). */
void it_close(it_proc *p);

/* Connects to a unix stream socket; p->in_fd == p->out_fd, p->pid == 0, so
 * it_read_line/it_write_line/it_request work on it. 0 or -1. */
int it_connect_unix(it_proc *p, const char *path, int timeout_ms);

/* A free TCP port on 127.0.0.1 (bind port 0, read it, close), or -1. */
int it_free_port(void);

/* Prints the tail of p's stderr log to stderr. */
void it_dump_log(const it_proc *p);

/* A new private directory under $TMPDIR (default /tmp); 0 or -1. */
int it_tmpdir(char *buf, size_t cap, const char *name);

/* Removes a directory made by it_tmpdir and the files directly in it. */
void it_rmdir(const char *dir);

/* Failure bookkeeping, see the DESIGN comment. */
void it_test_begin(void);
void it_test_pass(void);
void it_test_end(void);

/* Runs argv to completion (timeout_ms, then SIGKILL): up to max stdout lines
 * of cap bytes each into lines (*nlines), its stderr into err (errcap).
 * Returns the exit status, 128+N when killed by signal N, -1 on failure. */
int it_run(char *const argv[], char *const envp_extra[], char *lines, size_t cap, int max,
           int *nlines, char *err, size_t errcap, int timeout_ms);

/* Monotonic clock in milliseconds; sleeping. */
int64_t it_now_ms(void);
void it_sleep_ms(int ms);

/* A librdkafka configuration with bootstrap.servers and the NULL-terminated
 * name/value pairs in kv (may be NULL) set; fails the test on a bad
 * property. The caller sets callbacks, then hands it to it_kafka_new. */
rd_kafka_conf_t *it_kafka_conf(const char *bootstrap, const char *const kv[]);

/* rd_kafka_new that takes conf in every case and fails the test on error. */
rd_kafka_t *it_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

#endif
