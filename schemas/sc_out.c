/* sc_out.c -- results and balances written straight to Avro.
 *
 * DESIGN
 * The hot path: every command ends in a result, many in a balance. Building a
 * json-c tree and converting it field by field cost about a fifth of a
 * worker's instructions (callgrind, issue 6), so these two events are written
 * directly in Avro's binary encoding, field by field in schema order. Anything
 * unusual (text that is not UTF-8, a string past SC_STRING_MAX, a required
 * amount missing, a repeated reference name, field errors) goes the checked
 * JSON way instead (sc_result.c, sc_balance.c), which gives the same bytes
 * or the named error;
 * tests/unit/test_codec.c compares both ways byte for byte. */
#include "sc_codec_int.h"

#include <stdlib.h>
#include <string.h>

#include "pv_json.h"
#include "pv_utf8.h"

static void sc_out_bytes(sc_out *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n + 256;
        char *b = realloc(o->buf, cap);
        if (b == NULL) {
            o->odd = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void sc_out_long(sc_out *o, int64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    uint64_t z = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0); /* zig-zag */
    while (z > 0x7f) {
        b[n++] = (unsigned char)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    b[n++] = (unsigned char)z;
    sc_out_bytes(o, b, n);
}

static void sc_out_str(sc_out *o, const char *s)
{
    size_t n = strlen(s);
    if (n > SC_STRING_MAX || !pv_utf8_valid(s, n))
        o->odd = 1;
    sc_out_long(o, (int64_t)n);
    sc_out_bytes(o, s, n);
}

/* ["null", "string"]: null for a missing or empty string (as sc_codec_json_str_or_null) */
static void sc_out_opt_str(sc_out *o, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        sc_out_long(o, 0);
        return;
    }
    sc_out_long(o, 1);
    sc_out_str(o, s);
}

static void sc_out_money(sc_out *o, const pv_money *m)
{
    sc_out_long(o, m->minor);
    sc_out_str(o, m->currency);
    sc_out_opt_str(o, m->rounded ? m->text : NULL); /* exact: only when rounded */
}

static void sc_out_opt_money(sc_out *o, const pv_money *m)
{
    if (!pv_money_isset(m)) {
        sc_out_long(o, 0);
        return;
    }
    sc_out_long(o, 1);
    sc_out_money(o, m);
}

static void sc_out_opt_long(sc_out *o, int64_t v)
{
    sc_out_long(o, v != 0 ? 1 : 0);
    if (v != 0)
        sc_out_long(o, v);
}

/* The symbol's index in the schema's enum (their order is part of the
 * contract: symbols are only ever appended). */
static void sc_out_enum(sc_out *o, const char *const *symbols, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++)
        if (strcmp(symbols[i], name) == 0) {
            sc_out_long(o, (int64_t)i);
            return;
        }
    o->odd = 1;
}

static const char *const sc_providers[] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};
static const char *const sc_statuses[] = {"SUCCEEDED", "DECLINED", "FAILED",   "REJECTED",
                                          "EXPIRED",   "UNKNOWN",  "DUPLICATE"};
#define SC_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void sc_out_begin(sc_out *o, int32_t id)
{
    memset(o, 0, sizeof(*o));
    unsigned char h[5] = {0, (unsigned char)((uint32_t)id >> 24),
                          (unsigned char)((uint32_t)id >> 16), (unsigned char)((uint32_t)id >> 8),
                          (unsigned char)id};
    sc_out_bytes(o, h, sizeof(h));
}

/* 1: written to *out; 0: take the JSON way */
static int sc_out_end(sc_out *o, char **out, size_t *out_len)
{
    if (o->odd) {
        free(o->buf);
        return 0;
    }
    *out = o->buf;
    *out_len = o->len;
    return 1;
}

int sc_out_result(sc_codec *c, const pv_result_event *ev, char **out, size_t *out_len)
{
    const pv_result *r = ev->result;
    sc_out o;
    if (ev->field_errors != NULL)
        return 0;
    for (size_t i = 0; r != NULL && i < r->nrefs; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(r->refs[i].name, r->refs[k].name) == 0)
                return 0; /* a map keeps the last: the JSON way */
    sc_out_begin(&o, c->id[SC_RESULT]);
    sc_out_str(&o, ev->event_id);
    sc_out_str(&o, ev->command_id);
    if (ev->provider == NULL) {
        sc_out_long(&o, 0);
    } else {
        sc_out_long(&o, 1);
        sc_out_enum(&o, sc_providers, SC_COUNT(sc_providers), ev->provider->name);
    }
    sc_out_str(&o, ev->operation);
    sc_out_str(&o, ev->query_id);
    sc_out_enum(&o, sc_statuses, SC_COUNT(sc_statuses), pv_status_name(ev->status));
    sc_out_opt_str(&o, r != NULL ? r->provider_code : NULL);
    sc_out_opt_str(&o, r != NULL ? r->provider_message : NULL);
    if (r != NULL && r->nrefs > 0) { /* references: one block, then the end */
        sc_out_long(&o, (int64_t)r->nrefs);
        for (size_t i = 0; i < r->nrefs; i++) {
            sc_out_str(&o, r->refs[i].name);
            sc_out_str(&o, r->refs[i].value);
        }
    }
    sc_out_long(&o, 0);
    static const pv_money none;
    sc_out_opt_money(&o, r != NULL ? &r->paid : &none);
    sc_out_opt_money(&o, r != NULL ? &r->fee : &none);
    sc_out_opt_money(&o, r != NULL ? &r->charged : &none);
    sc_out_opt_long(&o, r != NULL ? r->paid_at_ms : 0);
    sc_out_long(&o, ev->attempts);
    sc_out_opt_long(&o, ev->fence);
    sc_out_str(&o, ev->worker);
    sc_out_long(&o, ev->processed_at_ms);
    sc_out_opt_str(&o, ev->reason);
    sc_out_long(&o, 0); /* field_errors: none (see above) */
    if (r != NULL && r->detail != NULL) {
        sc_out_long(&o, 1);
        sc_out_str(&o, pv_json_dump(r->detail, NULL));
    } else {
        sc_out_long(&o, 0);
    }
    return sc_out_end(&o, out, out_len);
}

int sc_out_balance(sc_codec *c, const pv_balance_event *ev, char **out, size_t *out_len)
{
    const pv_balance *b = ev->balance;
    sc_out o;
    if (!pv_money_isset(&b->total))
        return 0; /* required: the JSON way names it */
    for (size_t i = 0; i < b->nlimits; i++) {
        if (!pv_money_isset(&b->limits[i].amount))
            return 0;
        for (size_t k = 0; k < i; k++)
            if (strcmp(b->limits[i].name, b->limits[k].name) == 0)
                return 0;
    }
    sc_out_begin(&o, c->id[SC_BALANCE]);
    sc_out_str(&o, ev->event_id);
    sc_out_enum(&o, sc_providers, SC_COUNT(sc_providers), ev->provider->name);
    sc_out_str(&o, b->account);
    sc_out_str(&o, b->currency);
    sc_out_money(&o, &b->total);
    sc_out_opt_money(&o, &b->available);
    sc_out_opt_money(&o, &b->unavailable);
    if (b->nbuckets > 0) {
        sc_out_long(&o, (int64_t)b->nbuckets);
        for (size_t i = 0; i < b->nbuckets; i++) {
            sc_out_str(&o, b->buckets[i].name);
            sc_out_opt_money(&o, &b->buckets[i].available);
            sc_out_opt_money(&o, &b->buckets[i].unavailable);
        }
    }
    sc_out_long(&o, 0);
    if (b->nlimits > 0) {
        sc_out_long(&o, (int64_t)b->nlimits);
        for (size_t i = 0; i < b->nlimits; i++) {
            sc_out_str(&o, b->limits[i].name);
            sc_out_money(&o, &b->limits[i].amount);
        }
    }
    sc_out_long(&o, 0);
    sc_out_long(&o, ev->observed_at_ms);
    sc_out_str(&o, ev->source_command_id);
    sc_out_opt_long(&o, ev->fence);
    return sc_out_end(&o, out, out_len);
}
