/* pw_store_url.c -- Redis URLs: redis://[[user]:password@]host[:port][/db] and
 * unix:///path[?db=N] parsed into a pw_store_addr, checked for the
 * configuration, and shown without the password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_error.h"
#include "pv_utf8.h"
#include "pw_store_int.h"

/* Copies len bytes of src into dst (cap), decoding %XX (%00 refused). 0 or -1. */
static int pw_store_url_unescape(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = pv_utf8_hex_digit((unsigned char)src[i + 1]);
            int lo = pv_utf8_hex_digit((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (n + 1 >= cap)
            return -1;
        dst[n++] = c;
    }
    dst[n] = '\0';
    return 0;
}

/* Parses a decimal in [min, max] from s[0..len). 0 or -1. */
static int pw_store_url_number(const char *s, size_t len, long min, long max, long *out)
{
    char buf[24];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    long v = strtol(buf, NULL, 10);
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

void pw_store_url_shown(const char *url, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    if (url == NULL) {
        snprintf(buf, cap, "(null)");
        return;
    }
    const char *auth = strstr(url, "://");
    const char *at = auth != NULL ? strrchr(auth + 3, '@') : NULL;
    if (at == NULL) {
        snprintf(buf, cap, "%s", url);
        return;
    }
    /* "[user]:password@" or a bare "password@": whatever follows the user is
     * the password, and a part without ':' may be nothing else */
    const char *colon = memchr(auth + 3, ':', (size_t)(at - auth - 3));
    const char *keep_to = colon != NULL ? colon + 1 : auth + 3;
    snprintf(buf, cap, "%.*s***%s", (int)(keep_to - url), url, at);
}

/* Every message quotes the URL as pw_store_url_shown shows it (bounded and
 * escaped by pv_utf8_quote): never the password. */
int pw_store_url_parse(const char *url, pw_store_addr *a, char *errstr, size_t cap)
{
    static const char redis_scheme[] = "redis://";
    static const char unix_scheme[] = "unix://";
    char shown[512], q[300];
    memset(a, 0, sizeof(*a));
    a->port = 6379;
    if (url == NULL || url[0] == '\0') {
        snprintf(errstr, cap, "redis URL: empty (expected redis://host:port[/db] or unix:///path)");
        return -1;
    }
    pw_store_url_shown(url, shown, sizeof(shown));
    pv_utf8_quote(q, sizeof(q), shown, strlen(shown));
    if (strncmp(url, "rediss://", 9) == 0) {
        snprintf(errstr, cap, "redis URL \"%s\": TLS (rediss://) is not supported by this build",
                 q);
        return -1;
    }
    if (strncmp(url, unix_scheme, sizeof(unix_scheme) - 1) == 0) {
        const char *path = url + sizeof(unix_scheme) - 1;
        const char *qm = strchr(path, '?');
        size_t plen = qm != NULL ? (size_t)(qm - path) : strlen(path);
        if (plen == 0 || path[0] != '/' || plen >= sizeof(a->path)) {
            snprintf(errstr, cap, "redis URL \"%s\": expected unix:///absolute/path", q);
            return -1;
        }
        memcpy(a->path, path, plen);
        a->path[plen] = '\0';
        if (qm != NULL) {
            if (strncmp(qm, "?db=", 4) != 0 ||
                pw_store_url_number(qm + 4, strlen(qm + 4), 0, 1000000, &a->db) != 0) {
                snprintf(errstr, cap, "redis URL \"%s\": only ?db=N may follow the path", q);
                return -1;
            }
        }
        a->is_unix = 1;
        snprintf(a->display, sizeof(a->display), "unix://%s", a->path);
        return 0;
    }
    if (strncmp(url, redis_scheme, sizeof(redis_scheme) - 1) != 0) {
        snprintf(errstr, cap,
                 "redis URL \"%s\": expected redis://[[user]:password@]host[:port][/db] or "
                 "unix:///path",
                 q);
        return -1;
    }
    const char *p = url + sizeof(redis_scheme) - 1;
    const char *at = strrchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL) {
            snprintf(errstr, cap, "redis URL \"%s\": the part before '@' must be [user]:password",
                     q);
            return -1;
        }
        if (pw_store_url_unescape(a->user, sizeof(a->user), p, (size_t)(colon - p)) != 0 ||
            pw_store_url_unescape(a->pass, sizeof(a->pass), colon + 1, (size_t)(at - colon - 1)) !=
                0) {
            snprintf(errstr, cap,
                     "redis URL \"%s\": bad user or password (too long or bad %%-escape)", q);
            return -1;
        }
        a->has_auth = 1;
        p = at + 1;
    }
    const char *host = p;
    size_t hlen;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL) {
            snprintf(errstr, cap, "redis URL \"%s\": unclosed '[' in the host", q);
            return -1;
        }
        host = p + 1;
        hlen = (size_t)(close - host);
        p = close + 1;
    } else {
        hlen = strcspn(p, ":/");
        p += hlen;
    }
    if (hlen == 0 || hlen >= sizeof(a->host)) {
        snprintf(errstr, cap, "redis URL \"%s\": missing or over-long host", q);
        return -1;
    }
    memcpy(a->host, host, hlen);
    a->host[hlen] = '\0';
    if (*p == ':') {
        long port = 0;
        size_t plen = strcspn(p + 1, "/");
        if (pw_store_url_number(p + 1, plen, 1, 65535, &port) != 0) {
            snprintf(errstr, cap, "redis URL \"%s\": port must be 1..65535", q);
            return -1;
        }
        a->port = (int)port;
        p += 1 + plen;
    }
    if (*p == '/') {
        p++;
        if (*p != '\0' && pw_store_url_number(p, strlen(p), 0, 1000000, &a->db) != 0) {
            snprintf(errstr, cap, "redis URL \"%s\": the path must be a database number", q);
            return -1;
        }
        p += strlen(p);
    }
    if (*p != '\0') {
        snprintf(errstr, cap, "redis URL \"%s\": unexpected text after the host", q);
        return -1;
    }
    snprintf(a->display, sizeof(a->display), "%s%s%s:%d/%ld", strchr(a->host, ':') ? "[" : "",
             a->host, strchr(a->host, ':') ? "]" : "", a->port, a->db);
    return 0;
}

int pw_store_url_check(const char *url, char *errstr, size_t cap)
{
    pw_store_addr a;
    int rc = pw_store_url_parse(url, &a, errstr, cap);
    memset(&a, 0, sizeof(a)); /* the password */
    return rc;
}
