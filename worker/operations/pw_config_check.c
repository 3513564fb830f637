/* pw_config_check.c -- checking the configuration's values: UTF-8 text
 * without control characters, whole numbers in bounds, lists of names, Kafka
 * topic names, provider base URLs (pw_config_int.h). */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pv_utf8.h"
#include "pw_config_int.h"

/* UTF-8 (strict, pv_utf8) without control characters: C0, DEL and C1; tab
 * and line breaks only where breaks is set (PEM text in Kafka properties).
 * Settings end up in events, Redis and logs: PAYW_WORKER_ID with a byte
 * 0xff made every result unencodable. */
bool pw_config_check_text_ok(const char *v, bool breaks)
{
    const unsigned char *u = (const unsigned char *)v;
    size_t len = strlen(v);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = pv_utf8_next(u + i, len - i, &cp);
        if (n == 0)
            return false;
        if ((cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) &&
            !(breaks && (cp == '\t' || cp == '\n' || cp == '\r')))
            return false;
        i += n;
    }
    return true;
}

/* 0 when v is text; else a problem quoting shown (NULL: a secret, not
 * quoted) and -1. */
int pw_config_check_text(pw_config_src *src, const char *name, const char *v, const char *shown,
                         bool breaks)
{
    char q[PW_QUOTE_MAX];
    if (v == NULL || pw_config_check_text_ok(v, breaks))
        return 0;
    if (shown == NULL)
        pw_config_src_problem(src,
                              "%s: the value (a secret: not shown) is not UTF-8 text without "
                              "control characters",
                              name);
    else
        pw_config_src_problem(src, "%s: \"%s\" is not UTF-8 text without control characters", name,
                              pw_config_src_q(q, sizeof(q), shown));
    return -1;
}

int pw_config_check_int(pw_config_src *src, const char *name, const char *v, int64_t min,
                        int64_t max, int64_t *out)
{
    char *end, q[PW_QUOTE_MAX];
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        if (src != NULL)
            pw_config_src_problem(src,
                                  "%s: \"%s\" is not a whole number from %" PRId64 " to %" PRId64,
                                  name, pw_config_src_q(q, sizeof(q), v), min, max);
        return -1;
    }
    *out = n;
    return 0;
}

bool pw_config_check_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p != '\0';) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && strncasecmp(p, name, n) == 0)
            return true;
        p = e;
    }
    return false;
}

/* Kafka's rule (kafka.common.internals.Topic): 1..249 of [a-zA-Z0-9._-],
 * neither "." nor "..". */
bool pw_config_check_topic_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* Kafka refuses a topic whose name differs from another's only by '.' for
 * '_' (their metric names collide): such two are the same topic here. */
bool pw_config_check_topics_collide(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char x = *a == '.' ? '_' : *a, y = *b == '.' ? '_' : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

/* A URL for messages: whatever stands before '@' in the authority becomes
 * "***" (a user:password the check refuses is never quoted). */
void pw_config_check_url_shown(const char *url, char *buf, size_t cap)
{
    const char *a = strstr(url, "://");
    const char *start = a != NULL ? a + 3 : url;
    size_t alen = strcspn(start, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (start[i] == '@')
            at = start + i;
    if (at == NULL)
        snprintf(buf, cap, "%s", url);
    else
        snprintf(buf, cap, "%.*s***%s", (int)(start - url), url, at);
}

/* 0 when url is a base URL the worker can append an adapter's path to:
 * http or https, a host, a port 1..65535 if any, no user:password (the
 * credentials are the provider's settings), no query (the path would follow
 * it), no fragment. libcurl's own parser: what it accepts here is what it
 * will connect to. -1 with why otherwise. */
int pw_config_check_http_url(const char *url, char *why, size_t cap)
{
    CURLU *u = curl_url();
    char *part = NULL;
    int rc = -1;
    if (u == NULL) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0); /* schemes libcurl supports */
    if (uc != CURLUE_OK) {
        snprintf(why, cap, "not a URL libcurl accepts (%s)", curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK ||
        (strcmp(part, "http") != 0 && strcmp(part, "https") != 0)) {
        snprintf(why, cap, "an http:// or https:// base URL is required");
        goto out;
    }
    curl_free(part);
    part = NULL;
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK || part[0] == '\0') {
        snprintf(why, cap, "no host");
        goto out;
    }
    curl_free(part);
    part = NULL;
    if (curl_url_get(u, CURLUPART_PORT, &part, 0) == CURLUE_OK) {
        char *end;
        long port = strtol(part, &end, 10);
        if (*end != '\0' || port < 1 || port > 65535) {
            snprintf(why, cap, "the port must be 1..65535");
            goto out;
        }
    }
    curl_free(part);
    part = NULL;
    if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
        snprintf(why, cap,
                 "a user:password is not allowed (credentials are the provider's "
                 "settings)");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK) {
        snprintf(why, cap, "a query (?...) is not allowed: the adapter's path is appended");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
        snprintf(why, cap, "a fragment (#...) is not allowed");
        goto out;
    }
    rc = 0;
out:
    curl_free(part);
    curl_url_cleanup(u);
    return rc;
}
