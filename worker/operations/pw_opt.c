/* pw_opt.c -- see pw_opt.h. */
#include "pw_opt.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pv_error.h"

#define PW_OPT_QUOTE_MAX 300 /* a pv_utf8_quote of up to 64 bytes, escaped */

size_t pw_opt_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[3][PW_OPT_NAME_MAX + 1]; /* rows i-2, i-1, i */
    if (la > PW_OPT_NAME_MAX || lb > PW_OPT_NAME_MAX)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        d[1][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = d[(i + 1) % 3], *prev = d[i % 3], *prev2 = d[(i + 2) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
        }
    }
    return d[(la + 1) % 3][lb];
}

static const char *pw_opt_q(char *buf, size_t cap, const char *v)
{
    pv_utf8_quote(buf, cap, v, strlen(v));
    return buf;
}

/* All of s as a whole number in [min, max]: digits, a leading '-' at most. */
static int pw_opt_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    const char *digits = s[0] == '-' ? s + 1 : s;
    char *end = NULL;
    long long v;
    if (digits[0] == '\0' || strspn(digits, "0123456789") != strlen(digits))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* Sets one option's field from value (NULL for a flag). */
static int pw_opt_set(const pw_opt *o, void *cfg, const char *value, char *err, size_t cap)
{
    char *field = (char *)cfg + o->offset;
    char q[PW_OPT_QUOTE_MAX];
    switch (o->type) {
    case PW_OPT_INT: {
        int64_t v;
        if (pw_opt_int(value, o->min, o->max, &v) != 0) {
            snprintf(err, cap, "--%s: \"%s\" is not a whole number from %" PRId64 " to %" PRId64,
                     o->name, pw_opt_q(q, sizeof(q), value), o->min, o->max);
            return -1;
        }
        *(int64_t *)(void *)field = v;
        return 0;
    }
    case PW_OPT_PATH:
        if (value[0] == '\0') {
            snprintf(err, cap, "--%s: empty path", o->name);
            return -1;
        }
        *(const char **)(void *)field = value;
        return 0;
    case PW_OPT_STR:
        *(const char **)(void *)field = value;
        return 0;
    case PW_OPT_FLAG:
        *(bool *)(void *)field = true;
        return 0;
    case PW_OPT_FUNC: {
        char why[512] = "";
        if (o->fn(cfg, value, why, sizeof(why)) != 0) {
            snprintf(err, cap, "--%s: \"%s\": %s", o->name, pw_opt_q(q, sizeof(q), value),
                     why[0] != '\0' ? why : "refused");
            return -1;
        }
        return 0;
    }
    case PW_OPT_HELP:
        return 0;
    }
    return -1;
}

/* The option named by name[0..n), or NULL with the nearest one in *near. */
static const pw_opt *pw_opt_find(const pw_opt_table *t, const char *name, size_t n,
                                 const pw_opt **near)
{
    char want[PW_OPT_NAME_MAX + 1];
    size_t best = 3; /* as the worker's configuration: at most two edits away */
    *near = NULL;
    for (size_t k = 0; k < t->n; k++)
        if (strlen(t->opts[k].name) == n && strncmp(t->opts[k].name, name, n) == 0)
            return &t->opts[k];
    if (n > PW_OPT_NAME_MAX)
        return NULL;
    memcpy(want, name, n);
    want[n] = '\0';
    for (size_t k = 0; k < t->n; k++) {
        size_t d = pw_opt_distance(want, t->opts[k].name);
        if (d < best) {
            best = d;
            *near = &t->opts[k];
        }
    }
    return NULL;
}

int pw_opt_parse_msg(const pw_opt_table *t, void *cfg, int argc, char **argv, char *err, size_t cap)
{
    char q[PW_OPT_QUOTE_MAX];
    err[0] = '\0';
    for (size_t k = 0; k < t->n; k++) {
        const pw_opt *o = &t->opts[k];
        if (o->def != NULL && pw_opt_set(o, cfg, o->def, err, cap) != 0)
            return PW_OPT_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, cap, "unexpected argument \"%s\" (try --help)",
                     pw_opt_q(q, sizeof(q), arg));
            return PW_OPT_ERROR;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t n = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const pw_opt *near, *o = pw_opt_find(t, name, n, &near);
        if (o == NULL) {
            /* the name only: what follows '=' may be a misspelt secret */
            char shown[PW_OPT_NAME_MAX + 3];
            snprintf(shown, sizeof(shown), "--%.*s",
                     (int)(n < PW_OPT_NAME_MAX ? n : PW_OPT_NAME_MAX), name);
            if (near != NULL)
                snprintf(err, cap, "unknown option \"%s\"; did you mean --%s?",
                         pw_opt_q(q, sizeof(q), shown), near->name);
            else
                snprintf(err, cap, "unknown option \"%s\" (try --help)",
                         pw_opt_q(q, sizeof(q), shown));
            return PW_OPT_ERROR;
        }
        if (o->type == PW_OPT_HELP)
            return PW_OPT_HELP_ASKED;
        const char *value = NULL;
        if (o->type == PW_OPT_FLAG) {
            if (eq != NULL) {
                snprintf(err, cap, "--%s takes no value", o->name);
                return PW_OPT_ERROR;
            }
        } else if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, cap, "--%s needs a value%s%s", o->name, o->arg != NULL ? " " : "",
                     o->arg != NULL ? o->arg : "");
            return PW_OPT_ERROR;
        }
        if (pw_opt_set(o, cfg, value, err, cap) != 0)
            return PW_OPT_ERROR;
    }
    return PW_OPT_OK;
}

int pw_opt_parse(const pw_opt_table *t, void *cfg, int argc, char **argv)
{
    char err[1024];
    int rc = pw_opt_parse_msg(t, cfg, argc, argv, err, sizeof(err));
    if (rc == PW_OPT_ERROR)
        fprintf(stderr, "%s: %s\n", t->prog, err);
    return rc;
}

/* "--name ARG", as --help's left column shows it. */
static int pw_opt_left(const pw_opt *o, char *buf, size_t cap)
{
    return snprintf(buf, cap, "--%s%s%s", o->name, o->arg != NULL ? " " : "",
                    o->arg != NULL ? o->arg : "");
}

void pw_opt_usage(const pw_opt_table *t, FILE *out)
{
    char left[PW_OPT_NAME_MAX + 64];
    int width = 28;
    for (size_t i = 0; i < t->n; i++) {
        int n = pw_opt_left(&t->opts[i], left, sizeof(left));
        if (n > width && (size_t)n < sizeof(left))
            width = n;
    }
    for (size_t i = 0; i < t->n; i++) {
        const pw_opt *o = &t->opts[i];
        pw_opt_left(o, left, sizeof(left));
        fprintf(out, "  %-*s %s", width, left, o->help);
        if (o->def != NULL)
            fprintf(out, " (default %s)", o->def);
        fputc('\n', out);
    }
}
