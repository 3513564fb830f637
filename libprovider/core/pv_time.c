/* pv_time.c -- see pv_time.h. */
#include "pv_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil. */
int64_t pv_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void pv_time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Epoch second of the last Sunday of a month at 01:00 UTC. */
static int64_t pv_time_last_sunday_0100_utc(int64_t y, unsigned m)
{
    int64_t last = pv_time_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
    int64_t wd = (last + 4) % 7; /* 1970-01-01 was a Thursday (4); 0 = Sunday */
    if (wd < 0)
        wd += 7;
    return (last - wd) * 86400 + 3600;
}

int pv_time_istanbul_offset_s(int64_t local_epoch_s)
{
    /* 2016-09-07 00:00 local: permanent UTC+3 from then on */
    if (local_epoch_s >= pv_time_days_from_civil(2016, 9, 7) * 86400)
        return 3 * 3600;
    int64_t days = local_epoch_s / 86400 - (local_epoch_s % 86400 < 0);
    int64_t y;
    unsigned m, d;
    pv_time_civil_from_days(days, &y, &m, &d);
    /* compare in UTC, approximating the UTC instant with offset +2 */
    int64_t utc = local_epoch_s - 2 * 3600;
    bool summer =
        utc >= pv_time_last_sunday_0100_utc(y, 3) && utc < pv_time_last_sunday_0100_utc(y, 10);
    return summer ? 3 * 3600 : 2 * 3600;
}

/* Reads exactly n digits at s into *out. */
static bool pv_time_digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

static bool pv_time_valid_date(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                               unsigned sec)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return false;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return false;
    return true;
}

static int pv_time_bad(const char *s, const char *field, const char *shape, pv_error *err)
{
    char q[96];
    pv_utf8_quote(q, sizeof(q), s, strlen(s));
    return pv_error_set(err, PV_EFORMAT, field, "%s: \"%s\" is not a valid %s", field, q, shape);
}

int pv_time_parse_tr_local(const char *s, const char *field, int64_t *out_ms, pv_error *err)
{
    unsigned d, mo, y, h, mi, sec;
    const char *shape = "date (dd.MM.yyyy HH:mm:ss)";
    if (strlen(s) != 19 || s[2] != '.' || s[5] != '.' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':')
        return pv_time_bad(s, field, shape, err);
    if (!pv_time_digits(s, 2, &d) || !pv_time_digits(s + 3, 2, &mo) ||
        !pv_time_digits(s + 6, 4, &y) || !pv_time_digits(s + 11, 2, &h) ||
        !pv_time_digits(s + 14, 2, &mi) || !pv_time_digits(s + 17, 2, &sec) ||
        !pv_time_valid_date(y, mo, d, h, mi, sec))
        return pv_time_bad(s, field, shape, err);
    int64_t local = pv_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    *out_ms = (local - pv_time_istanbul_offset_s(local)) * 1000;
    return PV_OK;
}

int pv_time_parse_iso8601(const char *s, const char *field, int64_t *out_ms, pv_error *err)
{
    unsigned y, mo, d, h, mi, sec, oh, om;
    const char *shape = "ISO 8601 date-time";
    size_t len = strlen(s);
    if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return pv_time_bad(s, field, shape, err);
    if (!pv_time_digits(s, 4, &y) || !pv_time_digits(s + 5, 2, &mo) ||
        !pv_time_digits(s + 8, 2, &d) || !pv_time_digits(s + 11, 2, &h) ||
        !pv_time_digits(s + 14, 2, &mi) || !pv_time_digits(s + 17, 2, &sec) ||
        !pv_time_valid_date(y, mo, d, h, mi, sec))
        return pv_time_bad(s, field, shape, err);
    const char *p = s + 19;
    int64_t ms = 0;
    if (*p == '.') {
        int n = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (n < 3)
                ms = ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0)
            return pv_time_bad(s, field, shape, err);
        for (; n < 3; n++)
            ms *= 10;
    }
    int64_t local = pv_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    int64_t offset;
    if (*p == '\0') {
        offset = pv_time_istanbul_offset_s(local);
    } else if (*p == 'Z' && p[1] == '\0') {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
               pv_time_digits(p + 1, 2, &oh) && pv_time_digits(p + 4, 2, &om) && oh < 24 &&
               om < 60) {
        offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    } else {
        return pv_time_bad(s, field, shape, err);
    }
    *out_ms = (local - offset) * 1000 + ms;
    return PV_OK;
}

void pv_time_format_utc(int64_t ms, char *buf, unsigned long cap)
{
    int64_t s = ms / 1000 - (ms % 1000 < 0);
    int64_t msr = ms - s * 1000;
    int64_t days = s / 86400 - (s % 86400 < 0);
    int64_t sod = s - days * 86400;
    int64_t y;
    unsigned m, d;
    pv_time_civil_from_days(days, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
             (int)(sod / 3600), (int)(sod % 3600 / 60), (int)(sod % 60), (int)msr);
}
