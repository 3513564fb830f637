/* ps_fmt.c -- bounded text formatting (ps_fmt, ps_vmsg) and the log line (ps_log). */
#include "ps_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A log line on stderr: "provider-sim level=LEVEL <fmt>". */
void ps_log(const char *level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "provider-sim level=%s %s\n", level, msg);
}

/* snprintf for texts whose buffers are sized for their values: false (and
 * the text cut, never overrun) if one did not fit after all. */
bool ps_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

/* vsnprintf, for the messages of the refusals. */
void ps_vmsg(char *buf, size_t cap, const char *fmt, va_list ap)
{
    vsnprintf(buf, cap, fmt, ap);
}
