/* pw_kafka.c -- see pw_kafka.h. */
#include "pw_kafka.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int pw_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                      size_t errcap)
{
    char why[512];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errcap, "Kafka property %s: %s", name, why);
        return -1;
    }
    return 0;
}

/* Applies a NULL-terminated list of "name=value" strings. */
static int pw_kafka_conf_apply(rd_kafka_conf_t *conf, const char *const *list, char *errstr,
                               size_t errcap)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        char name[128];
        const char *eq = strchr(list[i], '=');
        if (eq == NULL || eq == list[i] || (size_t)(eq - list[i]) >= sizeof(name)) {
            snprintf(errstr, errcap, "Kafka property \"%.60s\": expected name=value", list[i]);
            return -1;
        }
        memcpy(name, list[i], (size_t)(eq - list[i]));
        name[eq - list[i]] = '\0';
        if (pw_kafka_conf_set(conf, name, eq + 1, errstr, errcap) != 0)
            return -1;
    }
    return 0;
}

rd_kafka_conf_t *pw_kafka_conf_new(const char *brokers, const char *const *defaults,
                                   const char *const *enforced, char *errstr, size_t errcap)
{
    static const char prefix[] = "PAYW_KAFKA_";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (brokers == NULL || brokers[0] == '\0')
        brokers = getenv("PAYW_BROKERS");
    if (brokers == NULL || brokers[0] == '\0')
        brokers = "127.0.0.1:9092";
    if (pw_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, errcap) != 0 ||
        pw_kafka_conf_apply(conf, defaults, errstr, errcap) != 0)
        goto fail;

    for (char **e = environ; *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, prefix, sizeof(prefix) - 1) != 0 || eq == NULL)
            continue;
        char name[128];
        size_t len = (size_t)(eq - *e) - (sizeof(prefix) - 1);
        if (len == 0 || len >= sizeof(name))
            continue;
        for (size_t i = 0; i < len; i++) {
            char c = (*e)[sizeof(prefix) - 1 + i];
            name[i] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
        name[len] = '\0';
        if (pw_kafka_conf_set(conf, name, eq + 1, errstr, errcap) != 0)
            goto fail;
    }
    if (pw_kafka_conf_apply(conf, enforced, errstr, errcap) != 0)
        goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

void pw_kafka_retention_ask(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *topic, int timeout_ms)
{
    char why[256];
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, why, sizeof(why));
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
}

int pw_kafka_retention_read(rd_kafka_event_t *ev, const char *topic, int64_t *retention_ms,
                            char *errstr, size_t errcap)
{
    const rd_kafka_DescribeConfigs_result_t *r = rd_kafka_event_DescribeConfigs_result(ev);
    size_t nres = 0, nent = 0;
    if (r == NULL) {
        snprintf(errstr, errcap, "DescribeConfigs %s: not its answer", topic);
        return 0;
    }
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errcap, "DescribeConfigs %s: %s", topic, rd_kafka_event_error_string(ev));
        return 0;
    }
    const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(r, &nres);
    if (nres != 1 || rd_kafka_ConfigResource_error(rs[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errcap, "DescribeConfigs %s: %s", topic,
                 nres == 1 ? rd_kafka_ConfigResource_error_string(rs[0]) : "no resource");
        return 0;
    }
    const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(rs[0], &nent);
    for (size_t i = 0; i < nent; i++) {
        const char *v = rd_kafka_ConfigEntry_value(es[i]);
        char *end;
        if (strcmp(rd_kafka_ConfigEntry_name(es[i]), "retention.ms") != 0 || v == NULL)
            continue;
        long long ms = strtoll(v, &end, 10);
        if (*end != '\0' || end == v)
            break;
        *retention_ms = ms < 0 ? -1 : (int64_t)ms;
        return 1;
    }
    snprintf(errstr, errcap, "DescribeConfigs %s: no retention.ms in the answer", topic);
    return 0;
}
