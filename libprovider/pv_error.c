/* pv_error.c -- see pv_error.h. */
#include "pv_error.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    const size_t max = 64; /* bytes of input quoted at most */
    size_t o = 0;

    if (cap == 0)
        return;
    if (s == NULL) {
        snprintf(buf, cap, "(null)");
        return;
    }
    /* room kept for the worst escape (4) + "..." + NUL */
    size_t i = 0;
    for (; i < len && i < max && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        } else {
            buf[o++] = (char)c;
        }
    }
    if (i < len && o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}
