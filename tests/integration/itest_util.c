/* itest_util.c -- process helpers shared by the integration tests.
 * See itest_util.h for the design (spawning, failure bookkeeping, logs). */
#include "itest_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define IT_MAX_LOGS     64
#define IT_MAX_ENV      1024
#define IT_LOG_TAIL     60 /* lines printed by it_dump_log */
#define IT_LOG_TAIL_MAX 16384

/*---- Failure bookkeeping ----*/

typedef enum { IT_NO_TEST, IT_RUNNING, IT_PASSED } it_test_state;

static it_test_state it_state = IT_NO_TEST;
static char it_logs[IT_MAX_LOGS][256]; /* logs of the current test's children */
static char it_log_names[IT_MAX_LOGS][32];
static int it_log_cnt;

void it_test_begin(void)
{
    it_state = IT_RUNNING;
    it_log_cnt = 0;
}

void it_test_pass(void)
{
    it_state = IT_PASSED;
}

static void it_dump_path(const char *name, const char *path)
{
    char *buf;
    FILE *f = fopen(path, "r");
    size_t n;
    long size;
    int lines = 0;
    size_t start;

    if (f == NULL) {
        fprintf(stderr, "[%s] log %s: %s\n", name, path, strerror(errno));
        return;
    }
    buf = malloc(IT_LOG_TAIL_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    if (size > IT_LOG_TAIL_MAX)
        fseek(f, size - IT_LOG_TAIL_MAX, SEEK_SET);
    else
        fseek(f, 0, SEEK_SET);
    n = fread(buf, 1, IT_LOG_TAIL_MAX, f);
    fclose(f);
    buf[n] = '\0';
    start = n;
    while (start > 0 && lines <= IT_LOG_TAIL) {
        start--;
        if (buf[start] == '\n' && start + 1 < n)
            lines++;
    }
    if (lines > IT_LOG_TAIL)
        start++;
    fprintf(stderr, "---- [%s] tail of %s ----\n%s%s---- [%s] end ----\n", name, path, buf + start,
            (n > 0 && buf[n - 1] != '\n') ? "\n" : "", name);
    free(buf);
}

void it_dump_log(const it_proc *p)
{
    if (p->log_path[0] != '\0')
        it_dump_path(p->name, p->log_path);
}

void it_test_end(void)
{
    for (int i = 0; i < it_log_cnt; i++) {
        if (it_state == IT_PASSED) {
            unlink(it_logs[i]);
        } else {
            it_dump_path(it_log_names[i], it_logs[i]);
            fprintf(stderr, "[%s] log kept: %s\n", it_log_names[i], it_logs[i]);
        }
    }
    it_log_cnt = 0;
    it_state = IT_NO_TEST;
}

/*---- Paths, time ----*/

const char *it_build_dir(void)
{
    const char *d = getenv("PAYW_BUILD_DIR");
    return d != NULL && d[0] != '\0' ? d : "build/normal";
}

char *it_build_path(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/%s", it_build_dir(), rel);
    return buf;
}

int64_t it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const char *it_tmp_root(void)
{
    const char *t = getenv("TMPDIR");
    return t != NULL && t[0] == '/' ? t : "/tmp";
}

int it_tmpdir(char *buf, size_t cap, const char *name)
{
    int n = snprintf(buf, cap, "%s/payw-it-%s-XXXXXX", it_tmp_root(), name);
    if (n < 0 || (size_t)n >= cap || mkdtemp(buf) == NULL) {
        fprintf(stderr, "it_tmpdir %s: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

void it_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/*---- Spawning ----*/

static int it_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* The environment with envp_extra's entries added or replacing; the
 * strings are borrowed. Caller frees the array. */
static char **it_env_build(char *const envp_extra[])
{
    size_t n = 0;
    size_t k = 0;
    char **env;

    while (environ[n] != NULL)
        n++;
    if (envp_extra != NULL)
        while (envp_extra[k] != NULL)
            k++;
    env = calloc(n + k + 1, sizeof(*env));
    if (env == NULL)
        return NULL;
    n = 0;
    for (size_t i = 0; environ[i] != NULL; i++) {
        bool replaced = false;
        size_t len = strcspn(environ[i], "=");
        for (size_t j = 0; j < k; j++)
            if (strncmp(envp_extra[j], environ[i], len) == 0 && envp_extra[j][len] == '=')
                replaced = true;
        if (!replaced)
            env[n++] = environ[i];
    }
    for (size_t j = 0; j < k; j++)
        env[n++] = envp_extra[j];
    env[n] = NULL;
    return env;
}

/* argv0 itself when it has a slash, else the first executable match in $PATH. */
static int it_resolve(const char *argv0, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (strchr(argv0, '/') != NULL) {
        snprintf(out, cap, "%s", argv0);
        return 0;
    }
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path != '\0') {
        size_t len = strcspn(path, ":");
        snprintf(out, cap, "%.*s/%s", (int)len, path, argv0);
        if (len > 0 && access(out, X_OK) == 0)
            return 0;
        path += len;
        if (*path == ':')
            path++;
    }
    return -1;
}

int it_spawn(it_proc *p, const char *name, char *const argv[], char *const envp_extra[])
{
    int in_pipe[2] = {-1, -1};
    int out_pipe[2] = {-1, -1};
    int log_fd = -1;
    char exe[512];
    char **env = NULL;
    pid_t parent = getpid();
    struct sigaction sa;

    memset(p, 0, sizeof(*p));
    p->in_fd = p->out_fd = -1;
    snprintf(p->name, sizeof(p->name), "%s", name);

    /* writing to a child that died must fail with EPIPE, not kill the test */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (it_resolve(argv[0], exe, sizeof(exe)) != 0) {
        fprintf(stderr, "it_spawn %s: %s not found in PATH\n", name, argv[0]);
        return -1;
    }
    snprintf(p->log_path, sizeof(p->log_path), "%s/payw-it-%s-XXXXXX", it_tmp_root(), name);
    for (char *c = p->log_path + strlen(it_tmp_root()) + 1; *c != '\0'; c++)
        if (*c == '/' || *c == ' ')
            *c = '_';
    log_fd = mkstemp(p->log_path);
    env = it_env_build(envp_extra);
    if (log_fd < 0 || env == NULL || pipe(in_pipe) != 0 || pipe(out_pipe) != 0 ||
        it_cloexec(log_fd) != 0 || it_cloexec(in_pipe[0]) != 0 || it_cloexec(in_pipe[1]) != 0 ||
        it_cloexec(out_pipe[0]) != 0 || it_cloexec(out_pipe[1]) != 0) {
        fprintf(stderr, "it_spawn %s: %s\n", name, strerror(errno));
        goto fail;
    }
    fflush(NULL); /* nothing buffered may be written twice */

    p->pid = fork();
    if (p->pid < 0) {
        fprintf(stderr, "it_spawn %s: fork: %s\n", name, strerror(errno));
        goto fail;
    }
    if (p->pid == 0) {
        /* the child: async-signal-safe calls only */
        sigset_t none;
        static const char msg[] = "it_spawn: exec failed\n";
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        sa.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &sa, NULL);
        if (dup2(in_pipe[0], STDIN_FILENO) < 0 || dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
            dup2(log_fd, STDERR_FILENO) < 0)
            _exit(127);
        execve(exe, argv, env);
        if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
            _exit(127);
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(log_fd);
    free(env);
    p->in_fd = in_pipe[1];
    p->out_fd = out_pipe[0];
    if (it_log_cnt < IT_MAX_LOGS) {
        snprintf(it_logs[it_log_cnt], sizeof(it_logs[0]), "%s", p->log_path);
        snprintf(it_log_names[it_log_cnt], sizeof(it_log_names[0]), "%s", p->name);
        it_log_cnt++;
    }
    return 0;

fail:
    for (int i = 0; i < 2; i++) {
        if (in_pipe[i] >= 0)
            close(in_pipe[i]);
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
    }
    if (log_fd >= 0) {
        close(log_fd);
        unlink(p->log_path);
    }
    free(env);
    p->pid = 0;
    p->log_path[0] = '\0';
    return -1;
}

/*---- Talking to a child ----*/

int it_read_line(it_proc *p, char *buf, size_t cap, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;

    if (cap == 0)
        return -1;
    for (;;) {
        char *nl = memchr(p->rbuf, '\n', p->rbuf_len);
        if (nl != NULL || p->rbuf_len == sizeof(p->rbuf)) {
            size_t len = nl != NULL ? (size_t)(nl - p->rbuf) : p->rbuf_len;
            size_t used = nl != NULL ? len + 1 : len;
            size_t copy = len < cap - 1 ? len : cap - 1;
            memcpy(buf, p->rbuf, copy);
            buf[copy] = '\0';
            memmove(p->rbuf, p->rbuf + used, p->rbuf_len - used);
            p->rbuf_len -= used;
            return 0;
        }
        if (p->out_fd < 0)
            return -1;
        int left = (int)(deadline - it_now_ms());
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
        int rc = poll(&pfd, 1, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t n = read(p->out_fd, p->rbuf + p->rbuf_len, sizeof(p->rbuf) - p->rbuf_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* EOF: a partial last line is not a line */
        p->rbuf_len += (size_t)n;
    }
}

static int it_write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

int it_write_line(it_proc *p, const char *line)
{
    size_t len = strlen(line);
    if (p->in_fd < 0 || it_write_all(p->in_fd, line, len) != 0)
        return -1;
    if (len == 0 || line[len - 1] != '\n')
        return it_write_all(p->in_fd, "\n", 1);
    return 0;
}

int it_request(it_proc *p, const char *line, char *reply, size_t cap, int timeout_ms)
{
    if (it_write_line(p, line) != 0)
        return -1;
    return it_read_line(p, reply, cap, timeout_ms);
}

void it_close(it_proc *p)
{
    if (p->in_fd >= 0)
        close(p->in_fd);
    if (p->out_fd >= 0 && p->out_fd != p->in_fd)
        close(p->out_fd);
    p->in_fd = p->out_fd = -1;
    p->rbuf_len = 0;
}

int it_stop(it_proc *p, int sig, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    int status = 0;
    pid_t r;
    int rc;

    if (p->pid <= 0) {
        it_close(p);
        return -1;
    }
    kill(p->pid, sig);
    for (;;) {
        r = waitpid(p->pid, &status, WNOHANG);
        if (r != 0 || it_now_ms() >= deadline)
            break;
        /* keep reading its stdout so that a chatty child cannot block on it */
        if (p->out_fd >= 0) {
            struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
            char sink[4096];
            if (poll(&pfd, 1, 10) > 0 && read(p->out_fd, sink, sizeof(sink)) <= 0) {
                close(p->out_fd);
                p->out_fd = -1;
            }
        } else {
            it_sleep_ms(10);
        }
    }
    if (r == 0) {
        fprintf(stderr, "[%s] still running %d ms after signal %d: SIGKILL\n", p->name, timeout_ms,
                sig);
        kill(p->pid, SIGKILL);
        do {
            r = waitpid(p->pid, &status, 0);
        } while (r < 0 && errno == EINTR);
    }
    p->pid = 0;
    it_close(p);
    if (r < 0)
        return -1;
    if (WIFEXITED(status))
        rc = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        rc = 128 + WTERMSIG(status);
    else
        rc = -1;
    if (p->log_path[0] != '\0' && (it_state == IT_PASSED || (it_state == IT_NO_TEST && rc == 0))) {
        unlink(p->log_path);
    } else if (it_state == IT_NO_TEST && p->log_path[0] != '\0') {
        it_dump_log(p);
        fprintf(stderr, "[%s] exited %d; log kept: %s\n", p->name, rc, p->log_path);
    }
    return rc;
}

int it_connect_unix(it_proc *p, const char *path, int timeout_ms)
{
    struct sockaddr_un sa;
    int64_t deadline = it_now_ms() + timeout_ms;
    int fd;

    memset(p, 0, sizeof(*p));
    p->in_fd = p->out_fd = -1;
    snprintf(p->name, sizeof(p->name), "unix:%s", path);
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        it_cloexec(fd);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        close(fd);
        if (it_now_ms() >= deadline)
            return -1;
        it_sleep_ms(20);
    }
    p->in_fd = p->out_fd = fd;
    return 0;
}

int it_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int port = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/*---- Kafka clients ----*/

rd_kafka_conf_t *it_kafka_conf(const char *bootstrap, const char *const kv[])
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        fail_msg("bootstrap.servers=%s: %s", bootstrap, errstr);
    }
    for (size_t i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2) {
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            fail_msg("%s=%s: %s", kv[i], kv[i + 1], errstr);
        }
    }
    return conf;
}

rd_kafka_t *it_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        fail_msg("rd_kafka_new: %s", errstr);
    }
    return rk;
}

int it_run(char *const argv[], char *const envp_extra[], char *lines, size_t cap, int max,
           int *nlines, char *err, size_t errcap, int timeout_ms)
{
    it_proc p;
    int64_t deadline = it_now_ms() + timeout_ms;
    *nlines = 0;
    if (it_spawn(&p, "run", argv, envp_extra) != 0)
        return -1;
    while (*nlines < max) {
        int64_t left = deadline - it_now_ms();
        if (left <= 0 || it_read_line(&p, lines + (size_t)*nlines * cap, cap, (int)left) != 0)
            break;
        (*nlines)++;
    }
    int64_t left = deadline - it_now_ms();
    int status = it_stop(&p, 0, left > 0 ? (int)left : 1);
    if (err != NULL && errcap > 0) {
        FILE *f = fopen(p.log_path, "r");
        size_t got = f != NULL ? fread(err, 1, errcap - 1, f) : 0;
        err[got] = '\0';
        if (f != NULL)
            fclose(f);
    }
    return status;
}

void it_start_registry(it_proc *p, char *url, size_t cap)
{
    char portarg[16], line[256];
    int port = it_free_port();
    snprintf(portarg, sizeof(portarg), "%d", port);
    char *argv[] = {"python3", "tests/tools/registry_sim.py", portarg, NULL};
    assert_int_equal(it_spawn(p, "registry_sim", argv, NULL), 0);
    assert_int_equal(it_read_line(p, line, sizeof(line), 20000), 0);
    assert_non_null(strstr(line, "listening"));
    snprintf(url, cap, "http://127.0.0.1:%d", port);
}
