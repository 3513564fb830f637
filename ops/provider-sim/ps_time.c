/* ps_time.c -- wall-clock milliseconds and Istanbul time. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t ps_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Istanbul wall-clock time of a UTC instant, its offset in seconds, and the
 * 100 ns ticks within the second (for .NET's 7-digit fractions). */
void ps_time_istanbul(struct tm *tm, int *offset_s, long *ticks)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int off = pv_time_istanbul_offset_s((int64_t)ts.tv_sec + 3 * 3600);
    time_t local = ts.tv_sec + off;
    gmtime_r(&local, tm);
    if (offset_s != NULL)
        *offset_s = off;
    if (ticks != NULL)
        *ticks = ts.tv_nsec / 100;
}
