/* pw_config.c -- see pw_config.h. The settings table, the check of PAYW_
 * names, loading and printing; the sources and the problem lines are
 * pw_config_src.c's, the checks of values pw_config_check.c's, the
 * PAYW_KAFKA_* properties pw_config_kafka.c's (pw_config_int.h). */
#include "pw_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_error.h"
#include "pw_alloc.h"
#include "pw_config_int.h"
#include "pw_log.h"
#include "pw_opt.h" /* pw_opt_distance: what "did you mean" measures */
#include "pw_store.h"

extern char **environ;

/*---- The table ----*/

typedef enum { PW_STR, PW_INT } pw_config_type;

typedef struct pw_config_row {
    const char *name;
    pw_config_type type;
    size_t offset;
    const char *dflt; /* NULL: unset (optional) */
    int64_t min, max; /* PW_INT bounds */
    bool secret;
    const char *doc;
} pw_config_row;

#define S(field) PW_STR, offsetof(pw_config, field)
#define I(field) PW_INT, offsetof(pw_config, field)

static const pw_config_row pw_config_table[] = {
    {"PAYW_BROKERS", S(brokers), "127.0.0.1:9092", 0, 0, false, "Kafka bootstrap servers"},
    {"PAYW_GROUP", S(group), "payworker", 0, 0, false, "consumer group of the fleet"},
    {"PAYW_TOPIC_COMMANDS", S(topic_commands), "payments.commands", 0, 0, false,
     "topic the commands are consumed from"},
    {"PAYW_TOPIC_RESULTS", S(topic_results), "payments.results", 0, 0, false,
     "topic PaymentResult events go to"},
    {"PAYW_TOPIC_BALANCES", S(topic_balances), "payments.balances", 0, 0, false,
     "topic BalanceUpdate events go to"},
    {"PAYW_TOPIC_DLQ", S(topic_dlq), "payments.commands.dlq", 0, 0, false,
     "dead-letter topic for undecodable or invalid commands"},
    {"PAYW_REDIS_URL", S(redis_url), "redis://127.0.0.1:6379", 0, 0, true,
     "idempotency store: redis://[:password@]host:port[/db] or unix:///path"},
    {"PAYW_REDIS_TIMEOUT_MS", I(redis_timeout_ms), "2000", 100, 60000, false,
     "a Redis call not answered by then fails (no provider call without a claim)"},
    {"PAYW_REDIS_WAIT_REPLICAS", I(redis_wait_replicas), "0", 0, 16, false,
     "replicas a claim must reach (WAIT) before the provider is called; 0 = off"},
    {"PAYW_REDIS_WAIT_TIMEOUT_MS", I(redis_wait_timeout_ms), "100", 1, 10000, false,
     "how long a claim waits for those replicas"},
    {"PAYW_MAX_INFLIGHT", I(max_inflight), "1024", 1, 65536, false,
     "commands in flight per process (across partitions)"},
    {"PAYW_HTTP_ADDR", S(http_addr), "127.0.0.1:9464", 0, 0, false,
     "listen address of /metrics, /healthz, /readyz"},
    {"PAYW_WORKER_ID", S(worker_id), NULL, 0, 0, false,
     "this process's id in events and Redis (default: hostname-pid)"},
    {"PAYW_LOG_LEVEL", S(log_level), "info", 0, 0, false, "debug, info, warn or error"},
    {"PAYW_LOG_FORMAT", S(log_format), "logfmt", 0, 0, false, "logfmt or json"},
    {"PAYW_CA_PATH", S(ca_path), NULL, 0, 0, false,
     "CA bundle for provider TLS (default: the system's); verification is always on"},
    {"PAYW_SCHEMA_REGISTRY_URL", S(schema_registry_url), NULL, 0, 0, false,
     "Confluent Schema Registry; unset: local schema ids 1, 2, 3"},
    {"PAYW_SCHEMA_REGISTRY_USER_INFO", S(schema_registry_user_info), NULL, 0, 0, true,
     "user:password for the registry"},
    {"PAYW_PROVIDERS", S(providers), "all", 0, 0, false,
     "providers to serve, comma-separated (all: every provider with a URL)"},
    {"PAYW_LOCK_MARGIN_MS", I(lock_margin_ms), "15000", 1000, 600000, false,
     "lock TTL = provider timeout + this margin (the watchdog extends it)"},
    {"PAYW_RETENTION_S", I(retention_s), "604800", 60, 31536000, false,
     "how long each command's answer stays in Redis; an older command is refused"},
    {"PAYW_TOPIC_RETENTION_CHECK", I(topic_retention_check), "1", 0, 1, false,
     "1: refuse to start when the commands topic keeps messages longer than "
     "PAYW_RETENTION_S (its retention.ms, asked at start); 0: do not check"},
    {"PAYW_RETRY_MAX_ATTEMPTS", I(retry_max_attempts), "5", 1, 100, false,
     "provider calls per command at most (RETRY outcomes)"},
    {"PAYW_RETRY_BASE_MS", I(retry_base_ms), "200", 1, 60000, false,
     "first retry back-off (doubles, jittered)"},
    {"PAYW_RETRY_MAX_MS", I(retry_max_ms), "10000", 1, 600000, false, "back-off ceiling"},
    {"PAYW_RETRY_BUDGET_MS", I(retry_budget_ms), "60000", 1, 3600000, false,
     "time after which a retried command ends FAILED"},
    {"PAYW_BUSY_RETRY_MS", I(busy_retry_ms), "250", 10, 60000, false,
     "wait before re-claiming a key another worker holds"},
    {"PAYW_DRAIN_TIMEOUT_MS", I(drain_timeout_ms), "30000", 0, 600000, false,
     "on SIGTERM or revoke, how long in-flight commands may take to finish"},
    {"PAYW_COMMIT_INTERVAL_MS", I(commit_interval_ms), "1000", 10, 60000, false,
     "offset commit period"},
};

#undef S
#undef I

#define PW_NROWS (sizeof(pw_config_table) / sizeof(pw_config_table[0]))

/* Per-provider rows, by suffix. */
static const struct {
    const char *suffix;
    const char *dflt;
    int64_t min, max;
    const char *doc;
} pw_provider_rows[] = {
    {"URL", NULL, 0, 0, "base URL of the provider's API"},
    {"TIMEOUT_MS", "10000", 100, 600000, "total time for one call"},
    {"CONNECT_TIMEOUT_MS", "3000", 50, 60000, "time to connect (nothing sent: safe to retry)"},
    {"CONCURRENCY", "64", 1, 100000, "calls in flight to this provider at most"},
};

/* Provider settings the worker knows to be whole numbers: libprovider's
 * pv_setting carries no type, and a bad one would otherwise show only when a
 * command needs it (then every such command is refused). */
static const struct {
    const pv_provider *provider;
    const char *setting;
    int64_t min, max;
} pw_provider_int_settings[] = {
    {&pv_sipay, "tenant_id", 0, INT64_MAX},
};

/* The tools' own names (itest_util, teststack, bench, chaos, the unit test
 * fixtures): every worker they start inherits their environment, so a rule
 * refusing them would refuse every test run. Nothing of the worker's may
 * ever be named under these prefixes. */
const char *const pw_config_tool_prefixes[] = {
    "PAYW_TEST_",  "PAYW_ITEST_",  "PAYW_BUILD_",   "PAYW_CHAOS_", "PAYW_BENCH_",
    "PAYW_STACK_", "PAYW_GOLDEN_", "PAYW_FIXTURES", NULL,
};

/*---- Names ----*/

/* A name in upper case, as variables spell it: a provider setting's
 * "api_key" as PAYW_<PROVIDER>_API_KEY's "API_KEY", "sipay" as "SIPAY". */
static void pw_config_upper(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

typedef struct pw_config_names {
    char **v;
    size_t n, cap;
} pw_config_names;

static void pw_config_names_add(pw_config_src *src, pw_config_names *names, const char *name)
{
    if (names->n == names->cap) {
        size_t grow = names->cap == 0 ? 128 : names->cap * 2;
        char **grown = pw_alloc_realloc(names->v, grow * sizeof(char *));
        if (grown == NULL) {
            src->oom = 1;
            return;
        }
        names->v = grown;
        names->cap = grow;
    }
    names->v[names->n] = pw_alloc_strdup(name);
    if (names->v[names->n] == NULL)
        src->oom = 1;
    else
        names->n++;
}

static void pw_config_names_free(pw_config_names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
}

/* Every name the worker reads: the table, PAYW_CONFIG_FILE, each provider's
 * rows and settings, and the _FILE form of each (pw_config_src_get reads it). */
static void pw_config_known_names(pw_config_src *src, pw_config_names *names)
{
    char var[PW_NAME_MAX], up[64];
    pw_config_names_add(src, names, "PAYW_CONFIG_FILE");
    for (size_t i = 0; i < PW_NROWS; i++)
        pw_config_names_add(src, names, pw_config_table[i].name);
    for (size_t k = 0; pv_providers[k] != NULL; k++) {
        const pv_provider *p = pv_providers[k];
        for (size_t r = 0; r < sizeof(pw_provider_rows) / sizeof(pw_provider_rows[0]); r++) {
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, pw_provider_rows[r].suffix);
            pw_config_names_add(src, names, var);
        }
        for (size_t s = 0; p->settings[s].name != NULL; s++) {
            pw_config_upper(up, sizeof(up), p->settings[s].name);
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
            pw_config_names_add(src, names, var);
        }
    }
    for (size_t i = 1, n = names->n; i < n; i++) { /* not PAYW_CONFIG_FILE_FILE */
        snprintf(var, sizeof(var), "%s_FILE", names->v[i]);
        pw_config_names_add(src, names, var);
    }
}

/* One PAYW_ name of the environment or the config file: a setting, a
 * Kafka property, a tool's own, or refused with the nearest known name. The
 * value of a name that is not a setting is never quoted: it may be a
 * misspelt secret. */
static void pw_config_name(pw_config_src *src, pw_config *c, const pw_config_names *known,
                           pw_kafka_defs *defs, const char *entry, bool from_file)
{
    char name[PW_NAME_MAX];
    const char *eq = strchr(entry, '=');
    size_t n = eq != NULL ? (size_t)(eq - entry) : strlen(entry);
    if (strncmp(entry, "PAYW_", 5) != 0)
        return;
    snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), entry);
    for (size_t i = 0; pw_config_tool_prefixes[i] != NULL; i++)
        if (strncmp(name, pw_config_tool_prefixes[i], strlen(pw_config_tool_prefixes[i])) == 0)
            return;
    if (strncmp(name, PW_KAFKA_PREFIX, strlen(PW_KAFKA_PREFIX)) == 0) {
        /* the environment wins over the file */
        if (!from_file || (pw_config_src_env(src, name) == NULL &&
                           !pw_config_src_named(src->errs, name) && !pw_config_kafka_have(c, name)))
            pw_config_kafka(src, c, defs, name, eq != NULL ? eq + 1 : NULL);
        return;
    }
    const char *nearest = NULL;
    size_t best = 3; /* case folded: "PAYW_max_inflight" is 0 away */
    for (size_t i = 0; i < known->n; i++)
        if (strcmp(known->v[i], name) == 0)
            return;
    for (size_t i = 0; i < known->n && best > 0; i++) {
        size_t d = pw_opt_distance(name, known->v[i]);
        if (d < best) {
            best = d;
            nearest = known->v[i];
        }
    }
    if (from_file && pw_config_src_env(src, name) != NULL)
        return; /* told once, from the environment */
    if (nearest != NULL)
        pw_config_src_problem(src, "%s: not a payworker setting; did you mean %s?", name, nearest);
    else
        pw_config_src_problem(src, "%s: not a payworker setting (payworker --help lists them)",
                              name);
}

static void pw_config_names_check(pw_config_src *src, pw_config *c)
{
    pw_config_names known = {0};
    pw_kafka_defs defs = {0};
    pw_config_known_names(src, &known);
    for (size_t i = 0; src->envp[i] != NULL; i++)
        pw_config_name(src, c, &known, &defs, src->envp[i], false);
    for (size_t i = 0; i < src->nfile; i++)
        pw_config_name(src, c, &known, &defs, src->file_kv[i], true);
    pw_config_kafka_defs_free(&defs);
    pw_config_names_free(&known);
}

/*---- Loading ----*/

static void pw_config_rows(pw_config_src *src, pw_config *c)
{
    for (size_t i = 0; i < PW_NROWS; i++) {
        const pw_config_row *r = &pw_config_table[i];
        const char *v = pw_config_src_get(src, r->name);
        char shown[512];
        const char *quote = v;
        if (v != NULL && r->secret) {
            /* a Redis URL is quoted without its password; other secrets never */
            pw_store_url_shown(v, shown, sizeof(shown));
            quote = strcmp(r->name, "PAYW_REDIS_URL") == 0 ? shown : NULL;
        }
        if (pw_config_check_text(src, r->name, v, quote, false) != 0)
            v = NULL; /* the default stands in; the problem is named */
        if (v == NULL)
            v = r->dflt;
        if (r->type == PW_STR) {
            char **dst = (char **)((char *)c + r->offset);
            *dst = v != NULL ? pw_alloc_strdup(v) : NULL;
            if (v != NULL && *dst == NULL)
                src->oom = 1;
        } else {
            int64_t *dst = (int64_t *)((char *)c + r->offset);
            if (pw_config_check_int(src, r->name, v, r->min, r->max, dst) != 0)
                pw_config_check_int(NULL, r->name, r->dflt, r->min, r->max, dst);
        }
    }
}

static void pw_config_rules(pw_config_src *src, pw_config *c)
{
    char q[PW_QUOTE_MAX], why[512];
    if (pw_log_level_parse(c->log_level) < 0)
        pw_config_src_problem(src, "PAYW_LOG_LEVEL: \"%s\" is not debug, info, warn or error",
                              pw_config_src_q(q, sizeof(q), c->log_level));
    if (strcmp(c->log_format, "logfmt") != 0 && strcmp(c->log_format, "json") != 0)
        pw_config_src_problem(src, "PAYW_LOG_FORMAT: \"%s\" is not logfmt or json",
                              pw_config_src_q(q, sizeof(q), c->log_format));
    if (c->worker_id == NULL) {
        char host[64] = "worker";
        gethostname(host, sizeof(host) - 1);
        char id[96];
        snprintf(id, sizeof(id), "%s-%ld", host, (long)getpid());
        /* a host name is not ours to trust either */
        c->worker_id = pw_alloc_strdup(pw_config_check_text_ok(id, false) ? id : "worker");
        if (c->worker_id == NULL)
            src->oom = 1;
    }

    static const char *const topic_vars[4] = {"PAYW_TOPIC_COMMANDS", "PAYW_TOPIC_RESULTS",
                                              "PAYW_TOPIC_BALANCES", "PAYW_TOPIC_DLQ"};
    const char *topics[4] = {c->topic_commands, c->topic_results, c->topic_balances, c->topic_dlq};
    bool ok[4];
    for (int i = 0; i < 4; i++) {
        ok[i] =
            !pw_config_src_named(src->errs, topic_vars[i]) && pw_config_check_topic_ok(topics[i]);
        if (!ok[i] && !pw_config_src_named(src->errs, topic_vars[i]))
            pw_config_src_problem(
                src,
                "%s: \"%s\" is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ "
                "-, not \".\" or \"..\")",
                topic_vars[i], pw_config_src_q(q, sizeof(q), topics[i]));
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) {
            if (!ok[i] || !ok[j] || !pw_config_check_topics_collide(topics[i], topics[j]))
                continue;
            pw_config_src_problem(
                src, "%s: \"%s\" is the topic of %s too%s: the four topics must differ",
                topic_vars[j], pw_config_src_q(q, sizeof(q), topics[j]), topic_vars[i],
                strcmp(topics[i], topics[j]) == 0
                    ? ""
                    : " (Kafka takes '.' and '_' for the same in topic names)");
            ok[j] = false;
        }

    if (!pw_config_src_named(src->errs, "PAYW_REDIS_URL") &&
        pw_store_url_check(c->redis_url, why, sizeof(why)) != 0)
        pw_config_src_problem(src, "PAYW_REDIS_URL: %s", why);

    if (c->ca_path != NULL && !pw_config_src_named(src->errs, "PAYW_CA_PATH")) {
        struct stat st;
        FILE *f = NULL;
        pw_config_src_q(q, sizeof(q), c->ca_path);
        if (stat(c->ca_path, &st) != 0)
            pw_config_src_problem(src, "PAYW_CA_PATH: \"%s\": %s", q, strerror(errno));
        else if (!S_ISREG(st.st_mode))
            /* libcurl reads it as CURLOPT_CAINFO: a directory fails every
             * TLS handshake later (CURLE_SSL_CACERT_BADFILE) */
            pw_config_src_problem(src,
                                  "PAYW_CA_PATH: \"%s\" is not a file (a PEM bundle of CA "
                                  "certificates is expected)",
                                  q);
        else if ((f = fopen(c->ca_path, "r")) == NULL)
            pw_config_src_problem(src, "PAYW_CA_PATH: \"%s\": %s", q, strerror(errno));
        if (f != NULL)
            fclose(f);
    }

    if (c->retry_base_ms > c->retry_max_ms &&
        !pw_config_src_named(src->errs, "PAYW_RETRY_BASE_MS") &&
        !pw_config_src_named(src->errs, "PAYW_RETRY_MAX_MS"))
        pw_config_src_problem(src,
                              "PAYW_RETRY_BASE_MS: \"%" PRId64
                              "\" is more than PAYW_RETRY_MAX_MS (%" PRId64
                              "): the first back-off cannot exceed the ceiling",
                              c->retry_base_ms, c->retry_max_ms);
}

/* The first required setting of pc missing: pv_provider_check_settings is
 * the judge; asked again with each missing one stood in, so that every
 * missing setting is told at once. */
static void pw_config_required(pw_config_src *src, pw_provider_conf *pc)
{
    const pv_provider *p = pc->provider;
    const char *vals[PW_SETTINGS_MAX] = {0};
    for (size_t s = 0; s < PW_SETTINGS_MAX; s++)
        vals[s] = pc->settings[s];
    for (size_t tries = 0; tries < PW_SETTINGS_MAX; tries++) {
        pv_ctx ctx = {.settings = vals};
        pv_error err = {0};
        if (pv_provider_check_settings(p, &ctx, &err) == PV_OK)
            break;
        int i = pv_provider_setting_index(p, err.field);
        char up[64], var[PW_NAME_MAX];
        pw_config_upper(up, sizeof(up), err.field);
        snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
        if (!pw_config_src_named(src->errs, var)) /* an unreadable _FILE: told already */
            pw_config_src_problem(src, "%s", err.errstr);
        pv_error_clear(&err);
        if (i < 0 || i >= PW_SETTINGS_MAX)
            break;
        vals[i] = "-";
    }
}

static void pw_config_providers(pw_config_src *src, pw_config *c)
{
    char q[PW_QUOTE_MAX], why[256], shown[512];
    bool all = strcasecmp(c->providers, "all") == 0;
    for (const char *p = c->providers; !all && *p != '\0';) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != ',' && *e != ' ')
            e++;
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)(e - p), p);
        pw_config_upper(name, sizeof(name), name);
        if (name[0] != '\0' && pv_provider_find(name) == NULL)
            pw_config_src_problem(src,
                                  "PAYW_PROVIDERS: \"%s\" is not one of PAYOFIN, SIPAY, PAYWALL, "
                                  "ISBANK, PAYONE",
                                  pw_config_src_q(q, sizeof(q), name));
        p = e;
    }

    for (size_t k = 0; pv_providers[k] != NULL && k < PW_PROVIDERS_MAX; k++) {
        const pv_provider *p = pv_providers[k];
        pw_provider_conf *pc = &c->prov[c->nprov++];
        char var[PW_NAME_MAX], tvar[PW_NAME_MAX];
        bool connect_set = false;
        pc->provider = p;
        for (size_t r = 0; r < sizeof(pw_provider_rows) / sizeof(pw_provider_rows[0]); r++) {
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, pw_provider_rows[r].suffix);
            const char *v = pw_config_src_get(src, var);
            if (r == 0) {
                /* kept even when bad: the provider stays enabled, the URL
                 * is the one problem told */
                pc->url = v != NULL ? pw_alloc_strdup(v) : NULL;
                if (v != NULL && pc->url == NULL)
                    src->oom = 1;
                if (v == NULL)
                    continue;
                pw_config_check_url_shown(v, shown, sizeof(shown));
                if (pw_config_check_text(src, var, v, shown, false) == 0 &&
                    pw_config_check_http_url(v, why, sizeof(why)) != 0)
                    pw_config_src_problem(src, "%s: \"%s\": %s", var,
                                          pw_config_src_q(q, sizeof(q), shown), why);
                continue;
            }
            if (pw_config_check_text(src, var, v, v, false) != 0)
                v = NULL;
            connect_set |= r == 2 && v != NULL;
            if (v == NULL)
                v = pw_provider_rows[r].dflt;
            int64_t *dst = r == 1   ? &pc->timeout_ms
                           : r == 2 ? &pc->connect_timeout_ms
                                    : &pc->concurrency;
            if (pw_config_check_int(src, var, v, pw_provider_rows[r].min, pw_provider_rows[r].max,
                                    dst) != 0)
                pw_config_check_int(NULL, var, pw_provider_rows[r].dflt, pw_provider_rows[r].min,
                                    pw_provider_rows[r].max, dst);
        }
        snprintf(var, sizeof(var), "PAYW_%s_CONNECT_TIMEOUT_MS", p->name);
        snprintf(tvar, sizeof(tvar), "PAYW_%s_TIMEOUT_MS", p->name);
        if (pc->connect_timeout_ms > pc->timeout_ms && !pw_config_src_named(src->errs, var) &&
            !pw_config_src_named(src->errs, tvar)) {
            if (connect_set)
                pw_config_src_problem(src,
                                      "%s: \"%" PRId64 "\" is more than %s (%" PRId64
                                      "): the connection is part of the call",
                                      var, pc->connect_timeout_ms, tvar, pc->timeout_ms);
            else
                pc->connect_timeout_ms = pc->timeout_ms; /* the default bows to a shorter call */
        }
        for (size_t s = 0; p->settings[s].name != NULL && s < PW_SETTINGS_MAX; s++) {
            char up[64];
            pw_config_upper(up, sizeof(up), p->settings[s].name);
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
            const char *v = pw_config_src_get(src, var);
            if (pw_config_check_text(src, var, v, p->settings[s].secret ? NULL : v, false) != 0)
                v = NULL;
            pc->settings[s] = v != NULL ? pw_alloc_strdup(v) : NULL;
            if (v != NULL && pc->settings[s] == NULL)
                src->oom = 1;
        }
        for (size_t t = 0;
             t < sizeof(pw_provider_int_settings) / sizeof(pw_provider_int_settings[0]); t++) {
            int i = pv_provider_setting_index(p, pw_provider_int_settings[t].setting);
            int64_t n;
            if (pw_provider_int_settings[t].provider != p || i < 0 || pc->settings[i] == NULL)
                continue;
            char up[64];
            pw_config_upper(up, sizeof(up), p->settings[i].name);
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
            pw_config_check_int(src, var, pc->settings[i], pw_provider_int_settings[t].min,
                                pw_provider_int_settings[t].max, &n);
        }
        pc->enabled = all ? pc->url != NULL : pw_config_check_listed(c->providers, p->name);
        if (!pc->enabled)
            continue;
        snprintf(var, sizeof(var), "PAYW_%s_URL", p->name);
        if (pc->url == NULL)
            pw_config_src_problem(src,
                                  "%s: unset: an http:// or https:// base URL is required for an "
                                  "enabled provider",
                                  var);
        pw_config_required(src, pc);
    }
    size_t enabled = 0;
    for (size_t k = 0; k < c->nprov; k++)
        enabled += c->prov[k].enabled;
    if (enabled == 0 && !pw_config_src_named(src->errs, "PAYW_PROVIDERS"))
        pw_config_src_problem(src, "no provider is configured: set PAYW_<PROVIDER>_URL and its "
                                   "credentials (see payworker --help)");
}

int pw_config_load(pw_config *c, const char *const *envp, char *errstr, size_t cap)
{
    pw_config_src src = {.envp = envp != NULL ? envp : (const char *const *)environ};

    memset(c, 0, sizeof(*c));
    if (cap > 0)
        errstr[0] = '\0';
    pw_config_src_load_file(&src, c);
    pw_config_names_check(&src, c); /* first: a misspelt name explains what follows */
    pw_config_rows(&src, c);
    pw_config_rules(&src, c);
    pw_config_providers(&src, c);
    if (src.oom)
        pw_config_src_problem(&src, "configuration: out of memory");
    int rc = src.nerrs > 0 || src.oom ? -1 : 0;
    if (rc != 0 && cap > 0) {
        const char *e = src.errs != NULL ? src.errs : "configuration: out of memory";
        size_t n = strlen(e);
        if (n >= cap) { /* cut at a line */
            n = cap - 1;
            while (n > 0 && e[n] != '\n')
                n--;
            if (n == 0)
                n = cap - 1;
        }
        memcpy(errstr, e, n);
        errstr[n] = '\0';
    }
    c->errors = src.errs;
    src.errs = NULL;
    pw_config_src_free(&src);
    return rc;
}

void pw_config_free(pw_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < PW_NROWS; i++)
        if (pw_config_table[i].type == PW_STR) {
            char **s = (char **)((char *)c + pw_config_table[i].offset);
            if (*s != NULL && pw_config_table[i].secret)
                memset(*s, 0, strlen(*s));
            free(*s);
            *s = NULL;
        }
    for (size_t k = 0; k < c->nprov && k < PW_PROVIDERS_MAX; k++) {
        free(c->prov[k].url);
        for (size_t s = 0; s < PW_SETTINGS_MAX; s++) {
            if (c->prov[k].settings[s] != NULL)
                memset(c->prov[k].settings[s], 0, strlen(c->prov[k].settings[s]));
            free(c->prov[k].settings[s]);
        }
    }
    for (size_t i = 0; i < c->nkafka; i++) {
        free(c->kafka[i].var);
        free(c->kafka[i].name);
        if (c->kafka[i].value != NULL)
            memset(c->kafka[i].value, 0, strlen(c->kafka[i].value));
        free(c->kafka[i].value);
    }
    free(c->kafka);
    free(c->config_file);
    free(c->errors);
    memset(c, 0, sizeof(*c));
}

pw_provider_conf *pw_config_provider(pw_config *c, const pv_provider *p)
{
    for (size_t k = 0; k < c->nprov; k++)
        if (c->prov[k].provider == p)
            return &c->prov[k];
    return NULL;
}

int64_t pw_config_lock_ttl_ms(const pw_config *c, const pw_provider_conf *pc)
{
    return pc->timeout_ms + c->lock_margin_ms;
}

/*---- Printing ----*/

void pw_config_print_help(FILE *f)
{
    fprintf(f, "Configuration (environment variables; also PAYW_CONFIG_FILE with KEY=VALUE "
               "lines;\nevery secret may be given as <NAME>_FILE):\n\n");
    for (size_t i = 0; i < PW_NROWS; i++) {
        const pw_config_row *r = &pw_config_table[i];
        fprintf(f, "  %-32s %s%s%s%s\n", r->name, r->doc, r->dflt != NULL ? " [" : "",
                r->dflt != NULL ? r->dflt : "", r->dflt != NULL ? "]" : "");
    }
    fprintf(f, "\nPer provider (PAYOFIN, SIPAY, PAYWALL, ISBANK, PAYONE):\n");
    for (size_t r = 0; r < sizeof(pw_provider_rows) / sizeof(pw_provider_rows[0]); r++) {
        char var[64];
        snprintf(var, sizeof(var), "PAYW_<PROVIDER>_%s", pw_provider_rows[r].suffix);
        fprintf(f, "  %-32s %s%s%s%s\n", var, pw_provider_rows[r].doc,
                pw_provider_rows[r].dflt != NULL ? " [" : "",
                pw_provider_rows[r].dflt != NULL ? pw_provider_rows[r].dflt : "",
                pw_provider_rows[r].dflt != NULL ? "]" : "");
    }
    for (size_t k = 0; pv_providers[k] != NULL; k++) {
        const pv_provider *p = pv_providers[k];
        for (size_t s = 0; p->settings[s].name != NULL; s++) {
            char up[64], var[96];
            pw_config_upper(up, sizeof(up), p->settings[s].name);
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
            fprintf(f, "  %-32s %s%s%s\n", var, p->settings[s].doc,
                    p->settings[s].required ? " (required)" : "",
                    p->settings[s].secret ? " (secret)" : "");
        }
    }
    fprintf(f, "\n  PAYW_KAFKA_<PROPERTY>            any librdkafka property, '.' written as "
               "'_';\n"
               "                                   given to the client librdkafka says it is "
               "for\n"
               "                                   (consumer, producer or both)\n");
    fprintf(f, "\nAny other PAYW_ name is refused, except under the tools' own prefixes:");
    for (size_t i = 0; pw_config_tool_prefixes[i] != NULL; i++)
        fprintf(f, " %s", pw_config_tool_prefixes[i]);
    fprintf(f, "\n");
}

/* NAME=value: "(invalid)" when a problem names it, secrets as "(set)" or
 * "(unset)", "(unset)" for an optional setting without a value. */
static void pw_config_print_value(FILE *f, const pw_config *c, const char *name, const char *v,
                                  bool secret)
{
    if (pw_config_src_named(c->errors, name))
        fprintf(f, "%s=(invalid)\n", name);
    else if (secret)
        fprintf(f, "%s=%s\n", name, v != NULL ? "(set)" : "(unset)");
    else
        fprintf(f, "%s=%s\n", name, v != NULL ? v : "(unset)");
}

void pw_config_print(const pw_config *c, FILE *f)
{
    pw_config_print_value(f, c, "PAYW_CONFIG_FILE", c->config_file, false);
    for (size_t i = 0; i < PW_NROWS; i++) {
        const pw_config_row *r = &pw_config_table[i];
        if (r->type == PW_STR) {
            const char *v = *(char *const *)((const char *)c + r->offset);
            if (strcmp(r->name, "PAYW_REDIS_URL") == 0 && v != NULL) {
                /* a Redis URL carries its password inside: shown without */
                char shown[512];
                pw_store_url_shown(v, shown, sizeof(shown));
                pw_config_print_value(f, c, r->name, shown, false);
            } else {
                pw_config_print_value(f, c, r->name, v, r->secret);
            }
        } else if (pw_config_src_named(c->errors, r->name)) {
            fprintf(f, "%s=(invalid)\n", r->name);
        } else {
            fprintf(f, "%s=%" PRId64 "\n", r->name,
                    *(const int64_t *)((const char *)c + r->offset));
        }
    }
    for (size_t k = 0; k < c->nprov; k++) {
        const pw_provider_conf *pc = &c->prov[k];
        const pv_provider *p = pc->provider;
        char var[96];
        snprintf(var, sizeof(var), "PAYW_%s_URL", p->name);
        pw_config_print_value(f, c, var, pc->url, false);
        static const char *const suffixes[3] = {"TIMEOUT_MS", "CONNECT_TIMEOUT_MS", "CONCURRENCY"};
        const int64_t vals[3] = {pc->timeout_ms, pc->connect_timeout_ms, pc->concurrency};
        for (int r = 0; r < 3; r++) {
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, suffixes[r]);
            if (pw_config_src_named(c->errors, var))
                fprintf(f, "%s=(invalid)\n", var);
            else
                fprintf(f, "%s=%" PRId64 "\n", var, vals[r]);
        }
        for (size_t s = 0; p->settings[s].name != NULL && s < PW_SETTINGS_MAX; s++) {
            char up[64];
            pw_config_upper(up, sizeof(up), p->settings[s].name);
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
            const char *v =
                pc->settings[s] != NULL ? pc->settings[s] : p->settings[s].default_value;
            pw_config_print_value(f, c, var, v, p->settings[s].secret);
        }
        fprintf(f, "# %s %s\n", p->name, pc->enabled ? "enabled" : "disabled");
    }
    fprintf(f, "# librdkafka properties (PAYW_KAFKA_*): %zu\n", c->nkafka);
    for (size_t i = 0; i < c->nkafka; i++) {
        const pw_kafka_prop *kp = &c->kafka[i];
        fprintf(f, "# %s: %s\n", kp->name, pw_config_kafka_scope_name(kp->scope));
        pw_config_print_value(f, c, kp->var, kp->value, kp->secret);
    }
}
