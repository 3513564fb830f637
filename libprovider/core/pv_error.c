/* pv_error.c -- see pv_error.h. */
#include "pv_error.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pv_utf8.h"

const char *pv_err_name(int code)
{
    switch (code) {
    case PV_OK:
        return "OK";
#define XX(name, value, msg) \
    case PV_##name:          \
        return #name;
        PV_ERRNO_MAP(XX)
#undef XX
    default:
        return "UNKNOWN";
    }
}

const char *pv_err_message(int code)
{
    switch (code) {
    case PV_OK:
        return "success";
#define XX(name, value, msg) \
    case PV_##name:          \
        return msg;
        PV_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

int pv_error_set(pv_error *err, int code, const char *field, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->errstr, sizeof(err->errstr), fmt, ap);
    va_end(ap);
    return code;
}

void pv_error_clear(pv_error *err)
{
    if (err == NULL)
        return;
    json_object_put(err->detail);
    memset(err, 0, sizeof(*err));
}

void pv_quote(char *buf, size_t cap, const char *s, size_t len)
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
