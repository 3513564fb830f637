/* pw_config_src.c -- the configuration's sources and its problems: the
 * environment, each setting's _FILE variable, PAYW_CONFIG_FILE's KEY=VALUE
 * lines, and the problem lines a load collects (pw_config_int.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "pv_utf8.h"
#include "pw_alloc.h"
#include "pw_config_int.h"

void pw_config_src_problem(pw_config_src *src, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    if (src->errs_len + n + 2 > src->errs_cap) {
        size_t grow = (src->errs_cap + n + 2) * 2;
        char *grown = pw_alloc_realloc(src->errs, grow);
        if (grown == NULL) {
            src->oom = 1;
            return;
        }
        src->errs = grown;
        src->errs_cap = grow;
    }
    if (src->errs_len > 0)
        src->errs[src->errs_len++] = '\n';
    memcpy(src->errs + src->errs_len, line, n + 1);
    src->errs_len += n;
    src->nerrs++;
}

/* Whether a line of errors is about name ("NAME: ..." or "NAME_FILE: ..."):
 * checks that depend on it are skipped (one line per problem), and
 * --print-config shows it as invalid. */
bool pw_config_src_named(const char *errors, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = errors; l != NULL && *l != '\0';) {
        if (strncmp(l, name, n) == 0 && (l[n] == ':' || strncmp(l + n, "_FILE:", 6) == 0))
            return true;
        l = strchr(l, '\n');
        if (l != NULL)
            l++;
    }
    return false;
}

const char *pw_config_src_q(char *buf, size_t cap, const char *v)
{
    pv_utf8_quote(buf, cap, v, strlen(v));
    return buf;
}

static const char *pw_config_src_lookup(char *const *kv, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (strncmp(kv[i], name, len) == 0 && kv[i][len] == '=')
            return kv[i] + len + 1;
    return NULL;
}

const char *pw_config_src_env(const pw_config_src *src, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; src->envp[i] != NULL; i++)
        if (strncmp(src->envp[i], name, len) == 0 && src->envp[i][len] == '=')
            return src->envp[i] + len + 1;
    return NULL;
}

/* Reads a secret file: its whole content minus trailing line breaks. */
static char *pw_config_src_read_file(pw_config_src *src, const char *path, const char *var)
{
    char q[PW_QUOTE_MAX];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        pw_config_src_problem(src, "%s_FILE: cannot read \"%s\": %s", var,
                              pw_config_src_q(q, sizeof(q), path), strerror(errno));
        return NULL;
    }
    char *buf = pw_alloc_malloc(65537);
    size_t n = buf != NULL ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf == NULL) {
        src->oom = 1;
        return NULL;
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

/* The raw value of a variable: environment, its _FILE in the environment,
 * the config file, its _FILE in the config file; NULL if unset (an empty
 * value is unset) or when a _FILE cannot be read (a problem then). */
const char *pw_config_src_get(pw_config_src *src, const char *name)
{
    const char *v = pw_config_src_env(src, name);
    if (v != NULL && v[0] != '\0')
        return v;
    char fname[PW_NAME_MAX + 8];
    snprintf(fname, sizeof(fname), "%s_FILE", name);
    const char *path = pw_config_src_env(src, fname);
    if (path == NULL || path[0] == '\0') {
        v = pw_config_src_lookup(src->file_kv, src->nfile, name);
        if (v != NULL && v[0] != '\0')
            return v;
        path = pw_config_src_lookup(src->file_kv, src->nfile, fname);
    }
    if (path == NULL || path[0] == '\0')
        return NULL;
    if (src->nowned == sizeof(src->owned) / sizeof(src->owned[0])) {
        src->oom = 1;
        return NULL;
    }
    char *content = pw_config_src_read_file(src, path, name);
    if (content == NULL)
        return NULL;
    src->owned[src->nowned++] = content;
    return content;
}

void pw_config_src_load_file(pw_config_src *src, pw_config *c)
{
    char q[PW_QUOTE_MAX];
    const char *path = pw_config_src_env(src, "PAYW_CONFIG_FILE");
    if (path == NULL || path[0] == '\0')
        return;
    c->config_file = pw_alloc_strdup(path);
    if (c->config_file == NULL) {
        src->oom = 1;
        return;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        pw_config_src_problem(src, "PAYW_CONFIG_FILE: cannot read \"%s\": %s",
                              pw_config_src_q(q, sizeof(q), path), strerror(errno));
        return;
    }
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t len;
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
            /* the line is not quoted: it may be a secret without its name */
            pw_config_src_problem(src,
                                  "PAYW_CONFIG_FILE: \"%s\" line %zu: expected PAYW_NAME=value",
                                  pw_config_src_q(q, sizeof(q), path), lineno);
            continue;
        }
        char **grown = pw_alloc_realloc(src->file_kv, (src->nfile + 1) * sizeof(char *));
        char *kv = pw_alloc_strdup(p);
        if (grown == NULL || kv == NULL) {
            if (grown != NULL)
                src->file_kv = grown;
            free(kv);
            src->oom = 1;
            break;
        }
        src->file_kv = grown;
        src->file_kv[src->nfile++] = kv;
    }
    free(line);
    fclose(f);
}

void pw_config_src_free(pw_config_src *src)
{
    for (size_t i = 0; i < src->nfile; i++) {
        memset(src->file_kv[i], 0, strlen(src->file_kv[i]));
        free(src->file_kv[i]);
    }
    free(src->file_kv);
    for (size_t i = 0; i < src->nowned; i++) {
        memset(src->owned[i], 0, strlen(src->owned[i]));
        free(src->owned[i]);
    }
    free(src->errs);
}
