/* ps_fmt.c -- bounded text formatting (ps_fmt, ps_fmt_vmsg). */
#include "ps_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void ps_fmt_vmsg(char *buf, size_t cap, const char *fmt, va_list ap)
{
    vsnprintf(buf, cap, fmt, ap);
}
