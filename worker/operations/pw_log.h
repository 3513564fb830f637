/* pw_log.h -- structured log lines: logfmt (default) or JSON, one per event.
 *
 * DESIGN
 * A line is built field by field, so values are always escaped and a hostile
 * provider message cannot forge fields or lines:
 *
 *   pw_logline l;
 *   pw_log_begin(&l, PW_LOG_INFO, "command settled");
 *   pw_log_str(&l, "provider", "PAYOFIN");
 *   pw_log_int(&l, "offset", 42);
 *   pw_log_end(&l);
 *
 * gives  ts=2026-11-21T10:00:00.123Z level=info msg="command settled"
 *        provider=PAYOFIN offset=42
 * A line is bounded (PW_LOG_LINE_MAX); a longer one is cut and marked
 * truncated=true. Lines go to stderr with one write(2), so lines from
 * librdkafka's log callback (forwarded to our thread) never interleave.
 * Secrets must never be passed in: the config layer redacts them.
 */
#ifndef PW_LOG_H
#define PW_LOG_H

#include <stddef.h>
#include <stdint.h>

#define PW_LOG_LINE_MAX 4096

typedef enum pw_log_level {
    PW_LOG_DEBUG,
    PW_LOG_INFO,
    PW_LOG_WARN,
    PW_LOG_ERROR,
} pw_log_level;

typedef struct pw_logline {
    char buf[PW_LOG_LINE_MAX];
    size_t len;
    int skip; /* below the level: every call is a no-op */
    int truncated;
} pw_logline;

/* Global settings: minimum level, JSON instead of logfmt, output fd. */
void pw_log_setup(pw_log_level min, int json, int fd);
/* Parses "debug|info|warn|error"; -1 when unknown. */
int pw_log_level_parse(const char *s);

void pw_log_begin(pw_logline *l, pw_log_level level, const char *msg);
void pw_log_str(pw_logline *l, const char *key, const char *value);
void pw_log_strn(pw_logline *l, const char *key, const char *value, size_t len);
void pw_log_int(pw_logline *l, const char *key, int64_t value);
void pw_log_end(pw_logline *l);

/* One-call form for a message and up to a few string fields:
 * pw_log(PW_LOG_WARN, "redis down", "addr", addr, NULL). */
void pw_log(pw_log_level level, const char *msg, ...);

#endif
