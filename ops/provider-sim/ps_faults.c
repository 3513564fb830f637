/* ps_faults.c -- fault injection: the fault settings (POST /_sim/faults, --fault)
 * and the draw that decides a call's fault on arrival. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

const char *const ps_fault_names[PS_NFAULT] = {
    "none", "reset",   "5xx",      "429",         "blackhole", "malformed",
    "late", "latency", "paid_5xx", "reset_after", "badtext",
};

typedef enum ps_fk_type { PS_FK_MS, PS_FK_RATE, PS_FK_STATUS, PS_FK_BOOL } ps_fk_type;

/* The fault settings: one table drives parsing (JSON and --fault),
 * validation and printing. */
static const struct ps_fault_key {
    const char *name;
    ps_fk_type type;
    size_t off;
} ps_fault_keys[] = {
    {"latency_ms", PS_FK_MS, offsetof(ps_faults, latency_ms)},
    {"jitter_ms", PS_FK_MS, offsetof(ps_faults, jitter_ms)},
    {"rate_reset", PS_FK_RATE, offsetof(ps_faults, rate_reset)},
    {"rate_5xx", PS_FK_RATE, offsetof(ps_faults, rate_5xx)},
    {"status_5xx", PS_FK_STATUS, offsetof(ps_faults, status_5xx)},
    {"rate_429", PS_FK_RATE, offsetof(ps_faults, rate_429)},
    {"rate_blackhole", PS_FK_RATE, offsetof(ps_faults, rate_blackhole)},
    {"rate_malformed", PS_FK_RATE, offsetof(ps_faults, rate_malformed)},
    {"late_ms", PS_FK_MS, offsetof(ps_faults, late_ms)},
    {"rate_late", PS_FK_RATE, offsetof(ps_faults, rate_late)},
    {"rate_paid_5xx", PS_FK_RATE, offsetof(ps_faults, rate_paid_5xx)},
    {"rate_reset_after", PS_FK_RATE, offsetof(ps_faults, rate_reset_after)},
    {"rate_badtext", PS_FK_RATE, offsetof(ps_faults, rate_badtext)},
    {"only_payments", PS_FK_BOOL, offsetof(ps_faults, only_payments)},
};
#define PS_NFAULT_KEYS (sizeof(ps_fault_keys) / sizeof(ps_fault_keys[0]))

/*---- Drawing a fault ----*/

/* The late rate: late_ms alone makes every answer late. */
static double ps_faults_rate_late(const ps_faults *f)
{
    if (f->late_ms <= 0)
        return 0;
    return f->rate_late > 0 ? f->rate_late : 1;
}

/* One draw decides the call's fault (DESIGN). */
ps_fault ps_faults_draw(ps_sim *sim, const ps_faults *f)
{
    const struct {
        ps_fault fault;
        double rate;
    } order[] = {
        {PS_F_RESET, f->rate_reset},
        {PS_F_5XX, f->rate_5xx},
        {PS_F_429, f->rate_429},
        {PS_F_BLACKHOLE, f->rate_blackhole},
        {PS_F_MALFORMED, f->rate_malformed},
        {PS_F_LATE, ps_faults_rate_late(f)},
        {PS_F_PAID_5XX, f->rate_paid_5xx},
        {PS_F_RESET_AFTER, f->rate_reset_after},
        {PS_F_BADTEXT, f->rate_badtext},
    };
    double total = 0;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        total += order[i].rate;
    if (total <= 0)
        return PS_F_NONE;
    double u = ps_rng_unit(&sim->fault_rng), acc = 0;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        acc += order[i].rate;
        if (order[i].rate > 0 && u < acc)
            return order[i].fault;
    }
    return PS_F_NONE;
}

/* An answer from the "gateway" in front of the provider: 5xx or 429. */
void ps_faults_answer(ps_call *c, int status)
{
    ps_jw w;
    ps_call_answer(c, status, &w);
    if (status == 429)
        ps_call_out_header(c, "Retry-After", "1");
    ps_jw_obj(&w);
    ps_jw_kint(&w, "status", status);
    ps_jw_kstr(&w, "error", status == 429 ? "Too Many Requests" : "simulated server error");
    ps_jw_end(&w);
}

/*---- Fault settings ----*/

void ps_faults_default(ps_faults *f)
{
    memset(f, 0, sizeof(*f));
    f->status_5xx = 500;
}

/* Sets one fault key from a number (booleans as 0/1). msg says what is
 * wrong otherwise. */
bool ps_faults_set(ps_faults *f, const char *name, double v, char *msg, size_t cap)
{
    const struct ps_fault_key *k = NULL;
    for (size_t i = 0; i < PS_NFAULT_KEYS; i++)
        if (strcmp(ps_fault_keys[i].name, name) == 0)
            k = &ps_fault_keys[i];
    if (k == NULL) {
        char keys[512] = "";
        size_t o = 0;
        for (size_t i = 0; i < PS_NFAULT_KEYS && o < sizeof(keys); i++)
            o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%s", i > 0 ? ", " : "",
                                  ps_fault_keys[i].name);
        snprintf(msg, cap, "%s: not a fault setting (known: provider, %s)", name, keys);
        return false;
    }
    char *field = (char *)f + k->off;
    switch (k->type) {
    case PS_FK_MS:
        if (!(v >= 0 && v <= PS_FAULT_MS_MAX) || v != (double)(int64_t)v) {
            snprintf(msg, cap, "%s: %g must be a whole number of milliseconds in 0..%d", name, v,
                     PS_FAULT_MS_MAX);
            return false;
        }
        *(int64_t *)(void *)field = (int64_t)v;
        return true;
    case PS_FK_RATE:
        if (!(v >= 0 && v <= 1)) {
            snprintf(msg, cap, "%s: %g must be a probability in 0..1", name, v);
            return false;
        }
        *(double *)(void *)field = v;
        return true;
    case PS_FK_STATUS:
        if (!(v >= 500 && v <= 599) || v != (double)(int64_t)v) {
            snprintf(msg, cap, "%s: %g must be an HTTP status in 500..599", name, v);
            return false;
        }
        *(int64_t *)(void *)field = (int64_t)v;
        return true;
    case PS_FK_BOOL:
        if (v != 0 && v != 1) {
            snprintf(msg, cap, "%s: %g must be true or false", name, v);
            return false;
        }
        *(bool *)(void *)field = v != 0;
        return true;
    }
    return false;
}

void ps_faults_json(ps_jw *w, const ps_faults *f)
{
    char t[32];
    ps_jw_obj(w);
    for (size_t i = 0; i < PS_NFAULT_KEYS; i++) {
        const char *field = (const char *)f + ps_fault_keys[i].off;
        switch (ps_fault_keys[i].type) {
        case PS_FK_MS:
        case PS_FK_STATUS:
            ps_jw_kint(w, ps_fault_keys[i].name, *(const int64_t *)(const void *)field);
            break;
        case PS_FK_RATE:
            snprintf(t, sizeof(t), "%.6g", *(const double *)(const void *)field);
            ps_jw_kraw(w, ps_fault_keys[i].name, t);
            break;
        case PS_FK_BOOL:
            ps_jw_kbool(w, ps_fault_keys[i].name, *(const bool *)(const void *)field);
            break;
        }
    }
    ps_jw_end(w);
}

/* A provider name (any case); PS_NPROV for ALL or "*"; -1 when unknown. */
int ps_faults_provider_parse(const char *s, size_t n)
{
    if ((n == 3 && strncasecmp(s, "ALL", 3) == 0) || (n == 1 && s[0] == '*'))
        return PS_NPROV;
    for (int p = 0; p < PS_NPROV; p++)
        if (strlen(ps_provider_names[p]) == n && strncasecmp(s, ps_provider_names[p], n) == 0)
            return p;
    return -1;
}

/* --fault PROVIDER:key=value[,key=value...]: sim is the ps_sim. */
int ps_faults_arg(void *sim, const char *arg, char *why, size_t cap)
{
    ps_faults *faults = ((ps_sim *)sim)->faults;
    char name[64];
    const char *colon = strchr(arg, ':');
    int p = colon != NULL ? ps_faults_provider_parse(arg, (size_t)(colon - arg)) : -1;
    if (p < 0) {
        snprintf(why, cap,
                 "expected PROVIDER:key=value, PROVIDER one of PAYOFIN SIPAY PAYWALL ISBANK "
                 "PAYONE ALL");
        return -1;
    }
    for (const char *s = colon + 1; *s != '\0';) {
        size_t n = strcspn(s, ",");
        const char *eq = memchr(s, '=', n);
        if (eq == NULL || (size_t)(eq - s) >= sizeof(name)) {
            snprintf(why, cap, "expected key=value");
            return -1;
        }
        memcpy(name, s, (size_t)(eq - s));
        name[eq - s] = '\0';
        char val[64];
        size_t vlen = n - (size_t)(eq - s) - 1;
        if (vlen == 0 || vlen >= sizeof(val)) {
            snprintf(why, cap, "%s has no value", name);
            return -1;
        }
        memcpy(val, eq + 1, vlen);
        val[vlen] = '\0';
        char *end;
        double v = strcmp(val, "true") == 0 ? 1 : strcmp(val, "false") == 0 ? 0 : strtod(val, &end);
        bool parsed = strcmp(val, "true") == 0 || strcmp(val, "false") == 0 || *end == '\0';
        for (int i = 0; i < PS_NPROV; i++) {
            if (p != PS_NPROV && p != i)
                continue;
            if (!parsed) {
                snprintf(why, cap, "%s: \"%s\" is not a number", name, val);
                return -1;
            }
            if (!ps_faults_set(&faults[i], name, v, why, cap))
                return -1;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}
