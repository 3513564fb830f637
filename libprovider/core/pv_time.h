/* pv_time.h -- provider timestamps to UTC milliseconds, without the C library's
 * time zone machinery (no TZ, no locale, no clock: pure functions).
 *
 * DESIGN
 * Providers send local Istanbul time in several shapes. Europe/Istanbul has
 * been UTC+3 all year since 2016-09-07; before that it followed the EU rule
 * (UTC+2, UTC+3 from the last Sunday of March 01:00 UTC to the last Sunday of
 * October 01:00 UTC). That is what pv_time_istanbul_offset_s applies; the one-off
 * shifts of 2011, 2014 and 2015 (a day or two each) are not modelled.
 */
#ifndef PV_TIME_H
#define PV_TIME_H

#include <stdint.h>

#include "pv_error.h"

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t pv_time_days_from_civil(int64_t y, unsigned m, unsigned d);

/* UTC offset of Europe/Istanbul, in seconds, at the given local time. */
int pv_time_istanbul_offset_s(int64_t local_epoch_s);

/* "dd.MM.yyyy HH:mm:ss" in Istanbul time (Payofin) -> UTC epoch ms. */
int pv_time_parse_tr_local(const char *s, const char *field, int64_t *out_ms, pv_error *err);

/* ISO 8601 "yyyy-MM-ddTHH:mm:ss[.fraction][Z|(+|-)HH:MM]" -> UTC epoch ms.
 * Without an offset the time is taken as Istanbul local time. Fractions past
 * milliseconds are truncated. */
int pv_time_parse_iso8601(const char *s, const char *field, int64_t *out_ms, pv_error *err);

/* Writes epoch ms as "yyyy-MM-ddTHH:mm:ss.mmmZ" (buf of at least 32 bytes). */
void pv_time_format_utc(int64_t ms, char *buf, unsigned long cap);

#endif
