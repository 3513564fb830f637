/* dk_conn.c -- devkafka's control connections: stdin (replies on stdout)
 * and the clients of the --control unix socket (at most DK_MAX_CLIENTS, each
 * with at most DK_OUT_MAX of replies pending). One command a line, one reply
 * line a command; lines are bounded (DK_LINE_MAX). */
#include "dk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int dk_conn_set_flags(int fd, bool nonblock)
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

void dk_conn_close(dk_conn *c)
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

int dk_conn_flush(dk_conn *c)
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
        dk_log_int(PW_LOG_WARN, "control client does not read its replies; dropped", "fd", c->fd);
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
    char cmd[DK_LINE_MAX];

    if (memchr(line, '\0', len) != NULL) {
        snprintf(out, sizeof(out), "error line contains a NUL byte");
    } else {
        line[len] = '\0';
        memcpy(cmd, line, len + 1); /* the command splits the line in place */
        if (!dk_cmd_execute(srv, line, out, sizeof(out)))
            return DK_OK;
        DK_LOG(strncmp(out, "ok", 2) == 0 ? PW_LOG_INFO : PW_LOG_WARN, "control", "source",
               c->is_stdin ? "stdin" : "socket", "cmd", cmd, "reply", out, NULL);
    }
    return dk_conn_reply(c, out);
}

int dk_conn_read(dk_server *srv, dk_conn *c)
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
            DK_LOG(PW_LOG_WARN, "control", "source", c->is_stdin ? "stdin" : "socket", "reply", out,
                   NULL);
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

void dk_conn_accept(dk_server *srv)
{
    int fd = accept(srv->listen_fd, NULL, NULL);
    dk_conn *slot = NULL;

    if (fd < 0)
        return; /* EAGAIN, ECONNABORTED, EMFILE...: try again on the next wake-up */
    for (int i = 0; i < DK_MAX_CLIENTS; i++)
        if (srv->clients[i].fd < 0)
            slot = &srv->clients[i];
    if (slot == NULL || dk_conn_set_flags(fd, true) != DK_OK) {
        static const char msg[] = "error too many control clients\n";
        ssize_t r = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)r;
        pw_logline l;
        dk_log_begin(&l, PW_LOG_WARN, "control client refused");
        pw_log_str(&l, "reason", "too many clients");
        pw_log_int(&l, "max", DK_MAX_CLIENTS);
        pw_log_end(&l);
        close(fd);
        return;
    }
    memset(slot, 0, sizeof(*slot));
    slot->fd = fd;
    dk_log_int(PW_LOG_DEBUG, "control client connected", "fd", fd);
}
