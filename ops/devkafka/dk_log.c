/* dk_log.c -- devkafka's log lines: pw_log.h's logfmt on stderr, each with
 * component=devkafka; librdkafka's own lines with source=rdkafka. */
#include "dk.h"

#include <string.h>

void dk_log_begin(pw_logline *l, pw_log_level level, const char *msg)
{
    pw_log_begin(l, level, msg);
    pw_log_str(l, "component", "devkafka");
}

void dk_log_int(pw_log_level level, const char *msg, const char *key, int64_t value)
{
    pw_logline l;
    dk_log_begin(&l, level, msg);
    pw_log_int(&l, key, value);
    pw_log_end(&l);
}

void dk_log_rdkafka(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    pw_log_level lvl = level <= 3   ? PW_LOG_ERROR
                       : level == 4 ? PW_LOG_WARN
                       : level <= 6 ? PW_LOG_INFO
                                    : PW_LOG_DEBUG;
    (void)rk;
    /* the owner handle has no bootstrap.servers by design: it only hosts the cluster */
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers") != NULL)
        return;
    DK_LOG(lvl, buf, "source", "rdkafka", "fac", fac, NULL);
}

/* The handle behind "status" is short-lived and expects brokers to be down
 * at times: its complaints are not news. */
void dk_log_rdkafka_quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}
