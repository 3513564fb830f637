/* pw_log.c -- see pw_log.h. */
#include "pw_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pw_log_level pw_log_min = PW_LOG_INFO;
static int pw_log_json;
static int pw_log_fd = 2;

static const char *const pw_log_names[] = {"debug", "info", "warn", "error"};

void pw_log_setup(pw_log_level min, int json, int fd)
{
    pw_log_min = min;
    pw_log_json = json;
    pw_log_fd = fd;
}

int pw_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, pw_log_names[i]) == 0)
            return i;
    return -1;
}

static void pw_log_put(pw_logline *l, const char *s, size_t n)
{
    /* keep room for a " truncated=true" marker and the newline */
    const size_t room = sizeof(l->buf) - 32;
    if (l->len + n > room) {
        n = l->len < room ? room - l->len : 0;
        l->truncated = 1;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void pw_log_putc(pw_logline *l, char c)
{
    pw_log_put(l, &c, 1);
}

/* Writes s escaped: JSON string escapes, or logfmt quoting when needed. */
static void pw_log_value(pw_logline *l, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int quote = pw_log_json || n == 0;
    for (size_t i = 0; i < n && !quote; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == '"' || s[i] == '=' || s[i] == '\\')
            quote = 1;
    if (quote)
        pw_log_putc(l, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            pw_log_putc(l, '\\');
            pw_log_putc(l, (char)c);
        } else if (c == '\n') {
            pw_log_put(l, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            pw_log_put(l, e, 6);
        } else {
            pw_log_putc(l, (char)c);
        }
    }
    if (quote)
        pw_log_putc(l, '"');
}

static void pw_log_key(pw_logline *l, const char *key)
{
    if (pw_log_json) {
        pw_log_put(l, ",\"", 2);
        pw_log_put(l, key, strlen(key));
        pw_log_put(l, "\":", 2);
    } else {
        pw_log_putc(l, ' ');
        pw_log_put(l, key, strlen(key));
        pw_log_putc(l, '=');
    }
}

void pw_log_begin(pw_logline *l, pw_log_level level, const char *msg)
{
    struct timespec ts;
    struct tm tm;
    char when[40];

    l->len = 0;
    l->truncated = 0;
    l->skip = level < pw_log_min;
    if (l->skip)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
    if (pw_log_json) {
        pw_log_put(l, "{\"ts\":\"", 7);
        pw_log_put(l, when, strlen(when));
        pw_log_putc(l, '"');
    } else {
        pw_log_put(l, "ts=", 3);
        pw_log_put(l, when, strlen(when));
    }
    pw_log_str(l, "level", pw_log_names[level]);
    pw_log_str(l, "msg", msg);
}

void pw_log_strn(pw_logline *l, const char *key, const char *value, size_t len)
{
    if (l->skip)
        return;
    pw_log_key(l, key);
    pw_log_value(l, value != NULL ? value : "", value != NULL ? len : 0);
}

void pw_log_str(pw_logline *l, const char *key, const char *value)
{
    pw_log_strn(l, key, value, value != NULL ? strlen(value) : 0);
}

void pw_log_int(pw_logline *l, const char *key, int64_t value)
{
    char num[24];
    if (l->skip)
        return;
    int n = snprintf(num, sizeof(num), "%lld", (long long)value);
    pw_log_key(l, key);
    pw_log_put(l, num, (size_t)n);
}

void pw_log_end(pw_logline *l)
{
    if (l->skip)
        return;
    if (l->truncated) {
        l->len = l->len < sizeof(l->buf) - 32 ? l->len : sizeof(l->buf) - 32;
        const char *t = pw_log_json ? ",\"truncated\":true" : " truncated=true";
        memcpy(l->buf + l->len, t, strlen(t));
        l->len += strlen(t);
    }
    if (pw_log_json)
        l->buf[l->len++] = '}';
    l->buf[l->len++] = '\n';
    ssize_t w = write(pw_log_fd, l->buf, l->len);
    (void)w; /* nowhere to report a failed log write */
}

void pw_log(pw_log_level level, const char *msg, ...)
{
    pw_logline l;
    va_list ap;
    pw_log_begin(&l, level, msg);
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL)
            break;
        pw_log_str(&l, k, va_arg(ap, const char *));
    }
    va_end(ap);
    pw_log_end(&l);
}
