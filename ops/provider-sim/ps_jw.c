/* ps_jw.c -- the JSON writer: keeps key order and number text exact, escapes
 * hostile text (invalid UTF-8 becomes U+FFFD). */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Starts a JSON text in b, emptied first (each answer has the buffer to
 * itself). */
void ps_jw_init(ps_jw *w, ps_buf *b)
{
    ps_buf_reset(b);
    memset(w, 0, sizeof(*w));
    w->b = b;
}

static void ps_jw_sep(ps_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->comma[w->depth])
        ps_buf_add(w->b, ",", 1);
    w->comma[w->depth] = true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
size_t ps_jw_utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* A JSON string: quotes, backslashes and control characters escaped, invalid
 * UTF-8 replaced by U+FFFD, so that echoing hostile input stays valid JSON. */
static void ps_jw_escape(ps_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t start = 0, i = 0;
    ps_buf_add(b, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        size_t l = ps_jw_utf8_len(p + i, n - i);
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && l > 0) {
            i += l;
            continue;
        }
        ps_buf_add(b, s + start, i - start);
        if (l == 0) {
            ps_buf_adds(b, "\\ufffd");
        } else if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ps_buf_add(b, e, 2);
        } else if (c == '\n') {
            ps_buf_adds(b, "\\n");
        } else if (c == '\r') {
            ps_buf_adds(b, "\\r");
        } else if (c == '\t') {
            ps_buf_adds(b, "\\t");
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            ps_buf_add(b, e, 6);
        }
        i++;
        start = i;
    }
    ps_buf_add(b, s + start, n - start);
    ps_buf_add(b, "\"", 1);
}

void ps_jw_open(ps_jw *w, const char *c)
{
    ps_jw_sep(w);
    ps_buf_adds(w->b, c);
    if (w->depth < PS_JW_DEPTH)
        w->depth++;
    w->comma[w->depth] = false;
}

void ps_jw_close(ps_jw *w, const char *c)
{
    ps_buf_adds(w->b, c);
    if (w->depth > 0)
        w->depth--;
}

void ps_jw_key(ps_jw *w, const char *key)
{
    ps_jw_sep(w);
    ps_jw_escape(w->b, key, strlen(key));
    ps_buf_add(w->b, ":", 1);
    w->after_key = true;
}

static void ps_jw_strn(ps_jw *w, const char *s, size_t n)
{
    ps_jw_sep(w);
    ps_jw_escape(w->b, s, n);
}

void ps_jw_str(ps_jw *w, const char *s)
{
    ps_jw_strn(w, s, strlen(s));
}

/* A number (or literal) written as the given text. */
static void ps_jw_raw(ps_jw *w, const char *text)
{
    ps_jw_sep(w);
    ps_buf_adds(w->b, text);
}

static void ps_jw_int(ps_jw *w, int64_t v)
{
    char t[24];
    snprintf(t, sizeof(t), "%" PRId64, v);
    ps_jw_raw(w, t);
}

static void ps_jw_bool(ps_jw *w, bool v)
{
    ps_jw_raw(w, v ? "true" : "false");
}

void ps_jw_kstr(ps_jw *w, const char *key, const char *s)
{
    ps_jw_key(w, key);
    ps_jw_str(w, s);
}

void ps_jw_kraw(ps_jw *w, const char *key, const char *text)
{
    ps_jw_key(w, key);
    ps_jw_raw(w, text);
}

void ps_jw_kint(ps_jw *w, const char *key, int64_t v)
{
    ps_jw_key(w, key);
    ps_jw_int(w, v);
}

void ps_jw_kbool(ps_jw *w, const char *key, bool v)
{
    ps_jw_key(w, key);
    ps_jw_bool(w, v);
}

void ps_jw_knull(ps_jw *w, const char *key)
{
    ps_jw_kraw(w, key, "null");
}

void ps_jw_kamount(ps_jw *w, const char *key, int64_t minor, int exponent, int decimals)
{
    char t[48];
    ps_amount(t, sizeof(t), minor, exponent, decimals);
    ps_jw_kraw(w, key, t);
}
