/* pw_config.h -- payworker's configuration: one table, environment variables
 * (12-factor) over an optional file, validated at start-up.
 *
 * DESIGN
 * Every setting is one row of pw_config_table (pw_config.c): variable name,
 * type, default, bounds, whether it is secret, and its documentation; the
 * same table drives parsing, validation, `payworker --help` and
 * `payworker --print-config` (secrets redacted). Per-provider rows are
 * derived from libprovider's adapters: PAYW_<PROVIDER>_URL, _TIMEOUT_MS,
 * _CONNECT_TIMEOUT_MS, _CONCURRENCY, and each adapter setting
 * (PAYW_PAYOFIN_API_KEY, ...). Every setting (meant for secrets) may instead
 * be read from a file named by the same variable with _FILE appended
 * (Docker/Kubernetes secrets). Precedence: environment, then PAYW_CONFIG_FILE
 * (KEY=VALUE lines), then the default. Librdkafka properties pass through as PAYW_KAFKA_<PROPERTY>
 * (pw_kafka.h).
 *
 * Everything is checked here, before anything starts (and by
 * `--print-config`, which runs the same load): each value's type and bounds,
 * every string is UTF-8 without control characters (it ends up in events and
 * logs), PAYW_REDIS_URL with the store's own parser (pw_store_url_check),
 * provider URLs with libcurl's URL parser (http or https, a host, a port
 * 1..65535, no user:password, no query, no fragment), PAYW_CA_PATH a readable
 * file, topic names legal for Kafka and distinct, the rules across settings
 * (PAYW_RETRY_BASE_MS <= PAYW_RETRY_MAX_MS, a provider's connect timeout <=
 * its timeout), provider settings the worker knows to be numbers, and every
 * PAYW_KAFKA_<PROPERTY> against librdkafka itself (a scratch conf): its
 * scope (consumer, producer or both, from rd_kafka_conf_properties_show) is
 * kept so that pw_engine gives each property only to the client it belongs
 * to. A PAYW_ name that is none of these is refused with the nearest known
 * name ("did you mean"), except under the prefixes the repository's own
 * tools use for themselves (pw_config_tool_prefixes): the workers inherit
 * the tools' environment.
 *
 * Every problem is one line "VARIABLE: what is wrong", quoting the value
 * once (escaped and bounded, pv_utf8_quote), never a secret's (a Redis URL is
 * quoted with its password as "***"), and never the value of a name that is
 * not a setting (it may be a misspelt secret). The load does not stop at the
 * first problem: all of them are reported at once.
 *
 * Its files (the file name is the prefix of all in it):
 *   pw_config.c        the table, the check of PAYW_ names, loading, printing
 *   pw_config_src.c    the sources (environment, _FILE, PAYW_CONFIG_FILE)
 *                      and the problem lines
 *   pw_config_check.c  checking values: text, numbers, lists, topics, URLs
 *   pw_config_kafka.c  the PAYW_KAFKA_* properties: librdkafka's table,
 *                      scope, secrets, the nearest property
 * sharing pw_config_int.h.
 */
#ifndef PW_CONFIG_H
#define PW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "provider.h"

#define PW_PROVIDERS_MAX 8
#define PW_SETTINGS_MAX  16

typedef struct pw_provider_conf {
    const pv_provider *provider;
    bool enabled; /* listed in PAYW_PROVIDERS and configured */
    char *url;    /* base URL (https:// in production) */
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    int64_t concurrency;             /* most calls in flight to this provider */
    char *settings[PW_SETTINGS_MAX]; /* parallel to provider->settings */
} pw_provider_conf;

/* Which Kafka client a property goes to (librdkafka's "C/P" column). */
typedef enum pw_kafka_scope {
    PW_KAFKA_BOTH,     /* "*" */
    PW_KAFKA_CONSUMER, /* "C" */
    PW_KAFKA_PRODUCER, /* "P" */
} pw_kafka_scope;

typedef struct pw_kafka_prop {
    char *var;   /* "PAYW_KAFKA_SESSION_TIMEOUT_MS" */
    char *name;  /* "session.timeout.ms" */
    char *value; /* checked by librdkafka */
    pw_kafka_scope scope;
    bool secret; /* a password or a key: never printed */
} pw_kafka_prop;

typedef struct pw_config {
    char *brokers;
    char *group;
    char *topic_commands, *topic_results, *topic_balances, *topic_dlq;
    char *redis_url;
    int64_t redis_timeout_ms;
    int64_t redis_wait_replicas;
    int64_t redis_wait_timeout_ms;
    int64_t max_inflight;
    char *http_addr;
    char *worker_id;
    char *log_level;
    char *log_format;
    char *ca_path;
    char *schema_registry_url;
    char *schema_registry_user_info;
    char *providers; /* comma-separated list, or "all" */
    int64_t lock_margin_ms;
    int64_t retention_s;
    int64_t topic_retention_check;
    int64_t retry_max_attempts;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    int64_t retry_budget_ms;
    int64_t busy_retry_ms;
    int64_t drain_timeout_ms;
    int64_t commit_interval_ms;
    pw_provider_conf prov[PW_PROVIDERS_MAX];
    size_t nprov;
    char *config_file;    /* PAYW_CONFIG_FILE, NULL when none */
    pw_kafka_prop *kafka; /* the PAYW_KAFKA_* properties, environment first */
    size_t nkafka;
    char *errors; /* NULL, or one line per problem (see pw_config_load) */
} pw_config;

/* Loads and validates. envp is a NULL-terminated "NAME=value" list (NULL:
 * the process environment). 0, or -1 with errstr holding every problem, one
 * line each ('\n'-separated, cut at a line when cap is short). Either way c
 * holds what could be read (a bad value left at its default, and named in
 * c->errors) so that --print-config can show it: call pw_config_free after
 * both. */
int pw_config_load(pw_config *c, const char *const *envp, char *errstr, size_t cap);
/* Frees what c holds and zeroes it; c may be NULL. */
void pw_config_free(pw_config *c);

/* NULL-terminated: the prefixes of PAYW_ names the tools of this repository
 * use for themselves (tests, bench, chaos); the worker ignores them. */
extern const char *const pw_config_tool_prefixes[];

/* The provider's configuration, NULL when the provider is unknown. */
pw_provider_conf *pw_config_provider(pw_config *c, const pv_provider *p);

/* The lock TTL for a provider: its timeout + the margin. */
int64_t pw_config_lock_ttl_ms(const pw_config *c, const pw_provider_conf *pc);

/* `payworker --help`'s table and `--print-config`: every setting with its
 * value or default, secrets as "(set)" or "(unset)", a setting named in
 * c->errors as "(invalid)", and each PAYW_KAFKA_* property with the client
 * it goes to. */
void pw_config_print_help(FILE *f);
void pw_config_print(const pw_config *c, FILE *f);

/* "consumer", "producer" or "consumer and producer". */
const char *pw_config_kafka_scope_name(pw_kafka_scope scope);

#endif
