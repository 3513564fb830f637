/* ps_ledger.c -- the ledger: every payment, whether it was answered, the fault it
 * met and the request id that made it. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/*---- Ledger operations ----*/

void ps_ledger_clear(ps_ledger *l)
{
    l->base_seq = l->next_seq;
    l->n = 0;
    l->dropped = 0;
}

/* Copies a request id, cut at a character boundary when it is too long (so
 * that the ledger's JSON stays valid UTF-8). */
static void ps_ledger_rid_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Records a payment of the call; its seq goes into the call so that the
 * answer can mark it answered. */
void ps_ledger_add(ps_call *c, const char *query_id, int64_t minor, const char *currency,
                   const char *reference)
{
    ps_ledger *l = &c->sim->ledger;
    if (l->n >= (size_t)c->sim->cfg.ledger_max) {
        l->dropped++;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 1024;
        ps_entry *e = realloc(l->e, cap * sizeof(*e));
        if (e == NULL) {
            l->dropped++;
            return;
        }
        l->e = e;
        l->cap = cap;
    }
    ps_entry *e = &l->e[l->n++];
    memset(e, 0, sizeof(*e));
    e->seq = l->next_seq++;
    e->at_ms = ps_time_now_ms();
    e->minor = minor;
    e->provider = (uint8_t)c->provider;
    snprintf(e->currency, sizeof(e->currency), "%s", currency);
    snprintf(e->query_id, sizeof(e->query_id), "%s", query_id);
    snprintf(e->reference, sizeof(e->reference), "%s", reference);
    const char *rid = evhttp_find_header(evhttp_request_get_input_headers(c->req), "X-Request-Id");
    ps_ledger_rid_copy(e->request_id, sizeof(e->request_id), rid != NULL ? rid : "");
    if (c->nledger < PS_CALL_LEDGER_MAX)
        c->ledger[c->nledger++] = e->seq;
    ps_call_count(c, PS_ST_PAYMENTS);
}

static ps_entry *ps_ledger_find(ps_ledger *l, uint64_t seq)
{
    if (seq < l->base_seq || seq - l->base_seq >= l->n)
        return NULL;
    return &l->e[seq - l->base_seq];
}

/* Marks the call's ledger entries: the fault they met, whether answered. */
void ps_ledger_mark(ps_call *c, bool answered)
{
    for (size_t i = 0; i < c->nledger; i++) {
        ps_entry *e = ps_ledger_find(&c->sim->ledger, c->ledger[i]);
        if (e == NULL)
            continue;
        e->answered = answered;
        e->fault = (uint8_t)c->fault;
    }
}
