/* pw_config_kafka.c -- the PAYW_KAFKA_<PROPERTY> settings: librdkafka's
 * own property table (rd_kafka_conf_properties_show), each property's
 * scope, the secret ones, a value checked on a scratch conf, and the nearest
 * property for a name librdkafka does not know (pw_config_int.h). */
#include <ctype.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pw_alloc.h"
#include "pw_config_int.h"
#include "pw_opt.h" /* pw_opt_distance: what "did you mean" measures */

static char *pw_config_kafka_trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

static int pw_config_kafka_defs_load(pw_kafka_defs *defs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return -1;
    rd_kafka_conf_properties_show(f);
    fclose(f);
    int rc = 0;
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n'), *cols[3], *p = line;
        int nc = 0;
        if (nl != NULL)
            *nl = '\0';
        for (char *bar; nc < 3 && (bar = strchr(p, '|')) != NULL; p = bar + 1) {
            *bar = '\0';
            cols[nc++] = pw_config_kafka_trim(p);
        }
        line = nl != NULL ? nl + 1 : NULL;
        /* the header ("C/P") and the rules ("-----") are not one character */
        if (nc < 3 || strlen(cols[1]) != 1 || strchr("*CP", cols[1][0]) == NULL ||
            cols[0][0] == '\0')
            continue;
        pw_kafka_def *grown = pw_alloc_realloc(defs->d, (defs->n + 1) * sizeof(*defs->d));
        if (grown == NULL) {
            rc = -1;
            break;
        }
        defs->d = grown;
        pw_kafka_def *d = &defs->d[defs->n];
        d->name = pw_alloc_strdup(cols[0]);
        d->range = pw_alloc_strdup(cols[2]);
        d->scope = cols[1][0];
        if (d->name == NULL || d->range == NULL) {
            free(d->name);
            free(d->range);
            rc = -1;
            break;
        }
        defs->n++;
    }
    free(text);
    return rc;
}

void pw_config_kafka_defs_free(pw_kafka_defs *defs)
{
    for (size_t i = 0; i < defs->n; i++) {
        free(defs->d[i].name);
        free(defs->d[i].range);
    }
    free(defs->d);
}

/* An environment spelling and a property name are the same property when
 * they match with case folded and '.' read as '_' (log_level and
 * ssl_key have '_' of their own). */
static bool pw_config_kafka_same(const char *env, const char *prop)
{
    for (; *env != '\0' && *prop != '\0'; env++, prop++) {
        char a = *env == '.' ? '_' : (char)tolower((unsigned char)*env);
        char b = *prop == '.' ? '_' : (char)tolower((unsigned char)*prop);
        if (a != b)
            return false;
    }
    return *env == *prop;
}

static void pw_config_kafka_env_name(char *buf, size_t cap, const char *prop)
{
    size_t o = (size_t)snprintf(buf, cap, PW_KAFKA_PREFIX);
    for (; *prop != '\0' && o + 1 < cap; prop++)
        buf[o++] = *prop == '.' ? '_' : (char)toupper((unsigned char)*prop);
    buf[o < cap ? o : cap - 1] = '\0';
}

/* Properties whose value is a password or a key: never printed or quoted
 * (librdkafka marks the same ones sensitive). */
static bool pw_config_kafka_secret(const char *prop)
{
    return strstr(prop, "password") != NULL || strstr(prop, "secret") != NULL ||
           strstr(prop, "key.pem") != NULL || strcmp(prop, "ssl_key") == 0 ||
           strstr(prop, "oauthbearer.config") != NULL;
}

static const char *pw_config_kafka_nearest(const pw_kafka_defs *defs, const char *var, char *buf,
                                           size_t cap)
{
    size_t best = 3;
    const char *found = NULL;
    for (size_t i = 0; i < defs->n; i++) {
        char cand[PW_NAME_MAX];
        pw_config_kafka_env_name(cand, sizeof(cand), defs->d[i].name);
        size_t d = pw_opt_distance(var, cand);
        if (d < best) {
            best = d;
            snprintf(buf, cap, "%s", cand);
            found = buf;
        }
    }
    return found;
}

bool pw_config_kafka_have(const pw_config *c, const char *var)
{
    for (size_t i = 0; i < c->nkafka; i++)
        if (strcmp(c->kafka[i].var, var) == 0)
            return true;
    return false;
}

/* PAYW_KAFKA_<PROPERTY>=value: a property librdkafka knows, a value it
 * takes (set on a scratch conf), kept with its scope. The value is quoted
 * once, by us (librdkafka quotes some values itself: such a message is not
 * repeated), never a secret property's. */
void pw_config_kafka(pw_config_src *src, pw_config *c, pw_kafka_defs *defs, const char *var,
                     const char *value)
{
    char q[PW_QUOTE_MAX], near[PW_NAME_MAX], why[512];
    const char *suffix = var + strlen(PW_KAFKA_PREFIX);
    if (defs->loaded == 0)
        defs->loaded = pw_config_kafka_defs_load(defs) == 0 ? 1 : -1;
    if (defs->loaded < 0) {
        pw_config_src_problem(src, "%s: librdkafka's property table could not be read", var);
        return;
    }
    const pw_kafka_def *d = NULL;
    for (size_t i = 0; i < defs->n && d == NULL; i++)
        if (pw_config_kafka_same(suffix, defs->d[i].name))
            d = &defs->d[i];
    if (d == NULL) {
        size_t n = strlen(var);
        if (n >= strlen(PW_KAFKA_PREFIX) + 5 && strcmp(var + n - 5, "_FILE") == 0) {
            snprintf(near, sizeof(near), "%.*s", (int)(n - 5), var);
            for (size_t i = 0; i < defs->n; i++)
                if (pw_config_kafka_same(near + strlen(PW_KAFKA_PREFIX), defs->d[i].name)) {
                    pw_config_src_problem(
                        src, "%s: Kafka properties are not read from files (set %s)", var, near);
                    return;
                }
        }
        char prop[PW_NAME_MAX];
        size_t o = 0;
        for (; suffix[o] != '\0' && o + 1 < sizeof(prop); o++)
            prop[o] = suffix[o] == '_' ? '.' : (char)tolower((unsigned char)suffix[o]);
        prop[o] = '\0';
        const char *sugg = pw_config_kafka_nearest(defs, var, near, sizeof(near));
        pw_config_src_problem(src, "%s: librdkafka has no property %s%s%s%s", var, prop,
                              sugg != NULL ? "; did you mean " : "", sugg != NULL ? sugg : "",
                              sugg != NULL ? "?" : "");
        return;
    }
    if (value == NULL || value[0] == '\0')
        return; /* empty: unset, as every setting */
    bool secret = pw_config_kafka_secret(d->name);
    if (pw_config_check_text(src, var, value, secret ? NULL : value, true) != 0)
        return;
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    rd_kafka_conf_res_t res = rd_kafka_conf_set(scratch, d->name, value, why, sizeof(why));
    rd_kafka_conf_destroy(scratch);
    if (res != RD_KAFKA_CONF_OK) {
        pw_config_kafka_trim(why);
        size_t wn = strlen(why);
        while (wn > 0 && (why[wn - 1] == '\n' || why[wn - 1] == ' '))
            why[--wn] = '\0';
        /* librdkafka's text is left out where it would quote the value
         * again, or say no more than the range does */
        bool repeats = strstr(why, value) != NULL || strncmp(why, "Invalid value", 13) == 0;
        char range[256] = "";
        if (d->range[0] != '\0')
            snprintf(range, sizeof(range), " (%s)", d->range);
        if (secret)
            pw_config_src_problem(src,
                                  "%s: the value (a secret: not shown) is not valid for %s%s%s",
                                  var, d->name, repeats ? "" : ": ", repeats ? "" : why);
        else
            pw_config_src_problem(src, "%s: \"%s\" is not a valid %s%s%s%s", var,
                                  pw_config_src_q(q, sizeof(q), value), d->name, range,
                                  repeats ? "" : ": ", repeats ? "" : why);
        return;
    }
    pw_kafka_prop *grown = pw_alloc_realloc(c->kafka, (c->nkafka + 1) * sizeof(*c->kafka));
    if (grown == NULL) {
        src->oom = 1;
        return;
    }
    c->kafka = grown;
    pw_kafka_prop *kp = &c->kafka[c->nkafka];
    kp->var = pw_alloc_strdup(var);
    kp->name = pw_alloc_strdup(d->name);
    kp->value = pw_alloc_strdup(value);
    kp->scope = d->scope == 'C'   ? PW_KAFKA_CONSUMER
                : d->scope == 'P' ? PW_KAFKA_PRODUCER
                                  : PW_KAFKA_BOTH;
    kp->secret = secret;
    c->nkafka++;
    if (kp->var == NULL || kp->name == NULL || kp->value == NULL)
        src->oom = 1;
}

const char *pw_config_kafka_scope_name(pw_kafka_scope scope)
{
    return scope == PW_KAFKA_CONSUMER   ? "consumer"
           : scope == PW_KAFKA_PRODUCER ? "producer"
                                        : "consumer and producer";
}
