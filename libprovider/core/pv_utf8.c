/* pv_utf8.c -- UTF-8 at the boundary (see pv_utf8.h). */
#include "pv_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char pv_utf8_fffd[] = "\xEF\xBF\xBD"; /* U+FFFD REPLACEMENT CHARACTER */

size_t pv_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1fu;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0fu;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

size_t pv_utf8_bad_at(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) { /* the common case: ASCII */
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = pv_utf8_next(u + i, len - i, &cp);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

int pv_utf8_valid(const char *s, size_t len)
{
    return pv_utf8_bad_at(s, len) == len;
}

size_t pv_utf8_cut(const char *s, size_t len, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len <= max)
        return len;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = u[i] < 0x80 ? 1 : pv_utf8_next(u + i, len - i, &cp);
        if (n == 0)
            n = 1; /* a byte that is not UTF-8 stands alone */
        if (i + n > max)
            break;
        i += n;
    }
    return i;
}

size_t pv_utf8_copy(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        len = pv_utf8_cut(src, len, cap - 1);
    if (len > 0 && dst != src)
        memmove(dst, src, len);
    dst[len] = '\0';
    return len;
}

int pv_utf8_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

int pv_utf8_hex_digit(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

char *pv_utf8_repair(const char *s, size_t len, size_t *out_len, size_t *replaced)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t bad = 0;
    for (size_t i = pv_utf8_bad_at(s, len); i < len;) {
        uint32_t cp;
        size_t n = u[i] < 0x80 ? 1 : pv_utf8_next(u + i, len - i, &cp);
        if (n == 0) {
            bad++;
            n = 1;
        }
        i += n;
    }
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(len + 2 * bad + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = u[i] < 0x80 ? 1 : pv_utf8_next(u + i, len - i, &cp);
        if (n == 0) {
            memcpy(out + o, pv_utf8_fffd, 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    if (out_len != NULL)
        *out_len = o;
    if (replaced != NULL)
        *replaced = bad;
    return out;
}

size_t pv_utf8_fix(char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t len = strnlen(buf, cap - 1);
    buf[len] = '\0';
    if (pv_utf8_valid(buf, len))
        return 0;
    size_t n, bad;
    char *fixed = pv_utf8_repair(buf, len, &n, &bad);
    if (fixed == NULL) {
        /* no memory: drop what follows the first bad byte rather than
         * carry text that cannot be encoded */
        buf[pv_utf8_bad_at(buf, len)] = '\0';
        return 1;
    }
    n = pv_utf8_cut(fixed, n, cap - 1);
    memcpy(buf, fixed, n);
    buf[n] = '\0';
    free(fixed);
    return bad;
}

void pv_utf8_quote(char *buf, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    const size_t max = 64; /* bytes of input quoted at most */
    size_t o = 0, i = 0;

    if (cap == 0)
        return;
    if (s == NULL) {
        snprintf(buf, cap, "(null)");
        return;
    }
    while (i < len && i < max) {
        uint32_t cp;
        size_t n = pv_utf8_next(u + i, len - i, &cp);
        if (n > 0 && i + n > max)
            break; /* never half a character */
        if (o + 8 >= cap)
            break;
        if (n == 0 || pv_utf8_control(cp)) {
            /* a byte that is not UTF-8, or a control character: \xNN */
            size_t k = n == 0 ? 1 : n;
            if (o + 4 * k + 4 >= cap)
                break;
            for (size_t j = 0; j < k; j++) {
                buf[o++] = '\\';
                buf[o++] = 'x';
                buf[o++] = hex[u[i + j] >> 4];
                buf[o++] = hex[u[i + j] & 15];
            }
            i += k;
            continue;
        }
        if (cp == '"' || cp == '\\')
            buf[o++] = '\\';
        memcpy(buf + o, s + i, n);
        o += n;
        i += n;
    }
    if (i < len && o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}
