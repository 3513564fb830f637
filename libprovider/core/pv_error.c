/* pv_error.c -- see pv_error.h. */
#include "pv_error.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *pv_error_name(int code)
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

const char *pv_error_message(int code)
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
