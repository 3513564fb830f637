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
 * (PAYW_PAYOFIN_API_KEY, ...). Every secret may instead be read from a file
 * named by the same variable with _FILE appended (Docker/Kubernetes secrets).
 * Precedence: environment, then PAYW_CONFIG_FILE (KEY=VALUE lines), then the
 * default. Librdkafka properties pass through as PAYW_KAFKA_<PROPERTY>
 * (pw_kafka.h). A bad value fails start-up with a message naming the
 * variable and quoting the value (never a secret's).
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
} pw_config;

/* Loads and validates; 0, or -1 with errstr naming the variable. getenv_fn
 * lets tests supply an environment (NULL: the process environment). */
int pw_config_load(pw_config *c, const char *(*getenv_fn)(const char *name), char *errstr,
                   size_t cap);
void pw_config_free(pw_config *c);

/* The provider's configuration, NULL when the provider is unknown. */
pw_provider_conf *pw_config_provider(pw_config *c, const pv_provider *p);

/* The lock TTL for a provider: its timeout + the margin. */
int64_t pw_config_lock_ttl_ms(const pw_config *c, const pw_provider_conf *pc);

/* `payworker --help`'s table and `--print-config` (secrets redacted). */
void pw_config_print_help(FILE *f);
void pw_config_print(const pw_config *c, FILE *f);

#endif
