/* pw_config_int.h -- what the configuration's files share and nothing
 * outside them may use: the limits on names and quotes, the sources a load
 * reads with the problems it finds (pw_config_src), librdkafka's property
 * table as read (pw_kafka_defs), and the functions each file lends the
 * others. The contract is pw_config.h.
 *
 *   pw_config.c        the table, the names check, loading, printing
 *   pw_config_src.c    sources and problems: the environment, _FILE
 *                      variables, PAYW_CONFIG_FILE, the problem lines
 *   pw_config_check.c  checking values: text, numbers, lists, topics, URLs
 *   pw_config_kafka.c  Kafka properties: librdkafka's table, scope, secrets,
 *                      the nearest property
 */
#ifndef PW_CONFIG_INT_H
#define PW_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pw_config.h"

#define PW_KAFKA_PREFIX "PAYW_KAFKA_"
#define PW_NAME_MAX     160 /* longest PAYW_ name looked at; longer ones are cut */
#define PW_QUOTE_MAX    300 /* a pv_utf8_quote of up to 64 bytes, escaped */

/*---- Sources and problems (pw_config_src.c) ----*/

typedef struct pw_config_src {
    const char *const *envp;
    char **file_kv; /* KEY=VALUE lines of PAYW_CONFIG_FILE */
    size_t nfile;
    char *owned[256]; /* values read from _FILE variables */
    size_t nowned;
    char *errs; /* the problems, one a line */
    size_t errs_len, errs_cap, nerrs;
    int oom;
} pw_config_src;

/* One problem line, "VARIABLE: what is wrong" (see pw_config.h). */
void pw_config_src_problem(pw_config_src *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether a line of errors is about name (its _FILE included). */
bool pw_config_src_named(const char *errors, const char *name);
/* v quoted into buf (pv_utf8_quote), for a message; returns buf. */
const char *pw_config_src_q(char *buf, size_t cap, const char *v);
/* name's value in the environment, NULL when it is not there. */
const char *pw_config_src_env(const pw_config_src *src, const char *name);
/* A setting's raw value from every source, NULL if unset. */
const char *pw_config_src_get(pw_config_src *src, const char *name);
/* Reads PAYW_CONFIG_FILE, if set, into src (its name into c). */
void pw_config_src_load_file(pw_config_src *src, pw_config *c);
void pw_config_src_free(pw_config_src *src);

/*---- Checking values (pw_config_check.c) ----*/

/* UTF-8 without control characters (tab and line breaks where breaks is
 * set); pw_config_check_text reports a value that is not, quoting shown
 * (NULL: a secret, not quoted): 0 or -1. */
bool pw_config_check_text_ok(const char *v, bool breaks);
int pw_config_check_text(pw_config_src *src, const char *name, const char *v, const char *shown,
                         bool breaks);
/* v as a whole number min..max into *out: 0, or -1 and a problem (none when
 * src is NULL). */
int pw_config_check_int(pw_config_src *src, const char *name, const char *v, int64_t min,
                        int64_t max, int64_t *out);
/* Whether name is in the comma- or space-separated list (case folded). */
bool pw_config_check_listed(const char *list, const char *name);
bool pw_config_check_topic_ok(const char *t);
bool pw_config_check_topics_collide(const char *a, const char *b);
/* url with what stands before '@' in its authority as "***". */
void pw_config_check_url_shown(const char *url, char *buf, size_t cap);
/* 0 when url is a provider base URL, -1 with why otherwise. */
int pw_config_check_http_url(const char *url, char *why, size_t cap);

/*---- Kafka properties (pw_config_kafka.c) ----*/

/* One row of librdkafka's property table (rd_kafka_conf_properties_show,
 * the text CONFIGURATION.md is made of): its name, "C/P" column and
 * range. */
typedef struct pw_kafka_def {
    char *name;
    char scope; /* '*', 'C' or 'P' */
    char *range;
} pw_kafka_def;

typedef struct pw_kafka_defs {
    pw_kafka_def *d;
    size_t n;
    int loaded; /* 1 read, -1 could not be read */
} pw_kafka_defs;

/* PAYW_KAFKA_<PROPERTY>=value checked against librdkafka (its table read
 * into defs on first use) and kept in c->kafka with its scope, or a problem;
 * a property it knows with a NULL or empty value is unset. */
void pw_config_kafka(pw_config_src *src, pw_config *c, pw_kafka_defs *defs, const char *var,
                     const char *value);
/* Whether c->kafka holds var already. */
bool pw_config_kafka_have(const pw_config *c, const char *var);
void pw_config_kafka_defs_free(pw_kafka_defs *defs);

#endif
