/* pw_config.c -- see pw_config.h. */
#include "pw_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pw_log.h"

/*---- The table ----*/

typedef enum { PW_STR, PW_INT } pw_conf_type;

typedef struct pw_conf_row {
    const char *name;
    pw_conf_type type;
    size_t offset;
    const char *dflt; /* NULL: unset (optional) */
    int64_t min, max; /* PW_INT bounds */
    bool secret;
    const char *doc;
} pw_conf_row;

#define S(field) PW_STR, offsetof(pw_config, field)
#define I(field) PW_INT, offsetof(pw_config, field)

static const pw_conf_row pw_config_table[] = {
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

/*---- Sources ----*/

typedef struct pw_conf_src {
    const char *(*getenv_fn)(const char *name);
    char **file_kv; /* KEY=VALUE lines of PAYW_CONFIG_FILE */
    size_t nfile;
    char *owned[256]; /* values read from _FILE variables */
    size_t nowned;
} pw_conf_src;

static const char *pw_conf_getenv(const char *name)
{
    return getenv(name);
}

/* Reads a secret file: its whole content minus one trailing newline. */
static char *pw_conf_read_file(const char *path, char *errstr, size_t cap, const char *var)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errstr, cap, "%s_FILE: cannot read \"%.200s\": %s", var, path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(65537);
    size_t n = buf != NULL ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

/* The raw value of a variable: environment, VAR_FILE, config file; NULL if
 * unset. Sets *failed on an unreadable _FILE. */
static const char *pw_conf_get(pw_conf_src *src, const char *name, char *errstr, size_t cap,
                               int *failed)
{
    const char *v = src->getenv_fn(name);
    if (v != NULL && v[0] != '\0')
        return v;
    char fname[160];
    snprintf(fname, sizeof(fname), "%s_FILE", name);
    const char *path = src->getenv_fn(fname);
    if (path != NULL && path[0] != '\0') {
        char *content = pw_conf_read_file(path, errstr, cap, name);
        if (content == NULL || src->nowned == sizeof(src->owned) / sizeof(src->owned[0])) {
            free(content);
            *failed = 1;
            return NULL;
        }
        src->owned[src->nowned++] = content;
        return content;
    }
    size_t n = strlen(name);
    for (size_t i = 0; i < src->nfile; i++)
        if (strncmp(src->file_kv[i], name, n) == 0 && src->file_kv[i][n] == '=')
            return src->file_kv[i] + n + 1;
    return NULL;
}

static int pw_conf_load_file(pw_conf_src *src, char *errstr, size_t cap)
{
    const char *path = src->getenv_fn("PAYW_CONFIG_FILE");
    if (path == NULL || path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(errstr, cap, "PAYW_CONFIG_FILE: cannot read \"%.200s\": %s", path,
                 strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (strncmp(p, "PAYW_", 5) != 0 || strchr(p, '=') == NULL) {
            snprintf(errstr, cap, "PAYW_CONFIG_FILE %.200s line %zu: expected PAYW_NAME=value",
                     path, lineno);
            rc = -1;
            break;
        }
        char **grown = realloc(src->file_kv, (src->nfile + 1) * sizeof(char *));
        if (grown == NULL) {
            rc = -1;
            break;
        }
        src->file_kv = grown;
        src->file_kv[src->nfile++] = strdup(p);
    }
    free(line);
    fclose(f);
    return rc;
}

static void pw_conf_src_free(pw_conf_src *src)
{
    for (size_t i = 0; i < src->nfile; i++)
        free(src->file_kv[i]);
    free(src->file_kv);
    for (size_t i = 0; i < src->nowned; i++) {
        memset(src->owned[i], 0, strlen(src->owned[i]));
        free(src->owned[i]);
    }
}

/*---- Parsing values ----*/

static int pw_conf_int(const char *name, const char *v, int64_t min, int64_t max, int64_t *out,
                       char *errstr, size_t cap)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        snprintf(errstr, cap, "%s: \"%.60s\" is not a whole number from %" PRId64 " to %" PRId64,
                 name, v, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

static bool pw_conf_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p != '\0';) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && strncasecmp(p, name, n) == 0)
            return true;
        p = e;
    }
    return false;
}

static void pw_conf_upper(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

int pw_config_load(pw_config *c, const char *(*getenv_fn)(const char *name), char *errstr,
                   size_t cap)
{
    pw_conf_src src = {.getenv_fn = getenv_fn != NULL ? getenv_fn : pw_conf_getenv};
    int failed = 0;

    memset(c, 0, sizeof(*c));
    errstr[0] = '\0';
    if (pw_conf_load_file(&src, errstr, cap) != 0)
        goto fail;

    for (size_t i = 0; i < PW_NROWS; i++) {
        const pw_conf_row *r = &pw_config_table[i];
        const char *v = pw_conf_get(&src, r->name, errstr, cap, &failed);
        if (failed)
            goto fail;
        if (v == NULL)
            v = r->dflt;
        if (r->type == PW_STR) {
            *(char **)((char *)c + r->offset) = v != NULL ? strdup(v) : NULL;
        } else if (pw_conf_int(r->name, v, r->min, r->max, (int64_t *)((char *)c + r->offset),
                               errstr, cap) != 0) {
            goto fail;
        }
    }
    if (pw_log_level_parse(c->log_level) < 0) {
        snprintf(errstr, cap, "PAYW_LOG_LEVEL: \"%.40s\" is not debug, info, warn or error",
                 c->log_level);
        goto fail;
    }
    if (strcmp(c->log_format, "logfmt") != 0 && strcmp(c->log_format, "json") != 0) {
        snprintf(errstr, cap, "PAYW_LOG_FORMAT: \"%.40s\" is not logfmt or json", c->log_format);
        goto fail;
    }
    if (c->worker_id == NULL) {
        char host[64] = "worker";
        gethostname(host, sizeof(host) - 1);
        char id[96];
        snprintf(id, sizeof(id), "%s-%ld", host, (long)getpid());
        c->worker_id = strdup(id);
    }
    bool all = strcasecmp(c->providers, "all") == 0;
    for (const char *p = c->providers; !all && *p != '\0';) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != ',' && *e != ' ')
            e++;
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)(e - p), p);
        pw_conf_upper(name, sizeof(name), name);
        if (name[0] != '\0' && pv_provider_find(name) == NULL) {
            snprintf(errstr, cap,
                     "PAYW_PROVIDERS: \"%s\" is not one of PAYOFIN, SIPAY, "
                     "PAYWALL, ISBANK, PAYONE",
                     name);
            goto fail;
        }
        p = e;
    }

    for (size_t k = 0; pv_providers[k] != NULL && k < PW_PROVIDERS_MAX; k++) {
        const pv_provider *p = pv_providers[k];
        pw_provider_conf *pc = &c->prov[c->nprov++];
        char var[160];
        pc->provider = p;
        for (size_t r = 0; r < sizeof(pw_provider_rows) / sizeof(pw_provider_rows[0]); r++) {
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, pw_provider_rows[r].suffix);
            const char *v = pw_conf_get(&src, var, errstr, cap, &failed);
            if (failed)
                goto fail;
            if (v == NULL)
                v = pw_provider_rows[r].dflt;
            if (r == 0) {
                pc->url = v != NULL ? strdup(v) : NULL;
                continue;
            }
            int64_t *dst = r == 1   ? &pc->timeout_ms
                           : r == 2 ? &pc->connect_timeout_ms
                                    : &pc->concurrency;
            if (pw_conf_int(var, v, pw_provider_rows[r].min, pw_provider_rows[r].max, dst, errstr,
                            cap) != 0)
                goto fail;
        }
        for (size_t s = 0; p->settings[s].name != NULL && s < PW_SETTINGS_MAX; s++) {
            char up[64];
            pw_conf_upper(up, sizeof(up), p->settings[s].name);
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
            const char *v = pw_conf_get(&src, var, errstr, cap, &failed);
            if (failed)
                goto fail;
            pc->settings[s] = v != NULL ? strdup(v) : NULL;
        }
        pc->enabled = all ? pc->url != NULL : pw_conf_listed(c->providers, p->name);
        if (!pc->enabled)
            continue;
        if (pc->url == NULL ||
            (strncmp(pc->url, "http://", 7) != 0 && strncmp(pc->url, "https://", 8) != 0)) {
            snprintf(errstr, cap,
                     "PAYW_%s_URL: %s%.200s%s: an http:// or https:// base URL is "
                     "required for an enabled provider",
                     p->name, pc->url != NULL ? "\"" : "", pc->url != NULL ? pc->url : "unset",
                     pc->url != NULL ? "\"" : "");
            goto fail;
        }
        pv_ctx ctx = {.settings = (const char *const *)pc->settings};
        pv_error err = {0};
        if (pv_provider_check_settings(p, &ctx, &err) != PV_OK) {
            snprintf(errstr, cap, "%s", err.errstr);
            goto fail;
        }
    }
    size_t enabled = 0;
    for (size_t k = 0; k < c->nprov; k++)
        enabled += c->prov[k].enabled;
    if (enabled == 0) {
        snprintf(errstr, cap,
                 "no provider is configured: set PAYW_<PROVIDER>_URL and its "
                 "credentials (see payworker --help)");
        goto fail;
    }
    pw_conf_src_free(&src);
    return 0;
fail:
    if (errstr[0] == '\0')
        snprintf(errstr, cap, "configuration: out of memory");
    pw_conf_src_free(&src);
    pw_config_free(c);
    return -1;
}

void pw_config_free(pw_config *c)
{
    for (size_t i = 0; i < PW_NROWS; i++)
        if (pw_config_table[i].type == PW_STR) {
            char **s = (char **)((char *)c + pw_config_table[i].offset);
            if (*s != NULL && pw_config_table[i].secret)
                memset(*s, 0, strlen(*s));
            free(*s);
            *s = NULL;
        }
    for (size_t k = 0; k < c->nprov; k++) {
        free(c->prov[k].url);
        for (size_t s = 0; s < PW_SETTINGS_MAX; s++) {
            if (c->prov[k].settings[s] != NULL)
                memset(c->prov[k].settings[s], 0, strlen(c->prov[k].settings[s]));
            free(c->prov[k].settings[s]);
        }
    }
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
        const pw_conf_row *r = &pw_config_table[i];
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
            pw_conf_upper(up, sizeof(up), p->settings[s].name);
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
            fprintf(f, "  %-32s %s%s%s\n", var, p->settings[s].doc,
                    p->settings[s].required ? " (required)" : "",
                    p->settings[s].secret ? " (secret)" : "");
        }
    }
    fprintf(f, "\n  PAYW_KAFKA_<PROPERTY>            any librdkafka property, '.' written as "
               "'_'\n");
}

static void pw_config_print_value(FILE *f, const char *name, const char *v, bool secret)
{
    fprintf(f, "%s=%s\n", name, v == NULL ? "" : secret ? "<redacted>" : v);
}

void pw_config_print(const pw_config *c, FILE *f)
{
    for (size_t i = 0; i < PW_NROWS; i++) {
        const pw_conf_row *r = &pw_config_table[i];
        if (r->type == PW_STR) {
            const char *v = *(char *const *)((const char *)c + r->offset);
            /* a Redis URL carries its password inside: show it without */
            if (strcmp(r->name, "PAYW_REDIS_URL") == 0 && v != NULL && strchr(v, '@') == NULL)
                pw_config_print_value(f, r->name, v, false);
            else
                pw_config_print_value(f, r->name, v, r->secret);
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
        pw_config_print_value(f, var, pc->url, false);
        fprintf(f,
                "PAYW_%s_TIMEOUT_MS=%" PRId64 "\nPAYW_%s_CONNECT_TIMEOUT_MS=%" PRId64
                "\nPAYW_%s_CONCURRENCY=%" PRId64 "\n",
                p->name, pc->timeout_ms, p->name, pc->connect_timeout_ms, p->name, pc->concurrency);
        for (size_t s = 0; p->settings[s].name != NULL; s++) {
            char up[64];
            pw_conf_upper(up, sizeof(up), p->settings[s].name);
            snprintf(var, sizeof(var), "PAYW_%s_%s", p->name, up);
            pw_config_print_value(f, var, pc->settings[s], p->settings[s].secret);
        }
        fprintf(f, "# %s %s\n", p->name, pc->enabled ? "enabled" : "disabled");
    }
}
