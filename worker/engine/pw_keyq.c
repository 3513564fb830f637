/* pw_keyq.c -- per-key queues: the commands of one lock key run one at a
 * time, in the order they were consumed (see pw_keyq.h). */
#include "pw_keyq.h"

#include <stdlib.h>
#include <string.h>

#include "pw_alloc.h"
#include "pw_cmd.h"
#include "pw_engine_int.h"

static pw_keyq **pw_keyq_slot(pw_engine *e, const char *key)
{
    uint64_t h = pw_engine_fnv(1469598103934665603ULL, key, strlen(key));
    pw_keyq **s = &e->buckets[h & (e->nbuckets - 1)];
    while (*s != NULL && strcmp((*s)->key, key) != 0)
        s = &(*s)->next;
    return s;
}

/* Appends c; returns 1 when c is at the head (may start now). */
int pw_keyq_push(pw_engine *e, pw_cmd *c)
{
    pw_keyq **s = pw_keyq_slot(e, c->key);
    c->in_keyq = 1;
    if (*s == NULL) {
        pw_keyq *q = pw_alloc_calloc(1, sizeof(*q));
        q->key = pw_alloc_strdup(c->key);
        q->head = q->tail = c;
        *s = q;
        return 1;
    }
    (*s)->tail->key_next = c;
    (*s)->tail = c;
    return 0;
}

/* Removes c (the head or any other); returns the new head when c was it. */
pw_cmd *pw_keyq_remove(pw_engine *e, pw_cmd *c)
{
    pw_keyq **s = pw_keyq_slot(e, c->key);
    pw_keyq *q = *s;
    if (q == NULL)
        return NULL;
    pw_cmd *prev = NULL, *it = q->head;
    while (it != NULL && it != c) {
        prev = it;
        it = it->key_next;
    }
    if (it == NULL)
        return NULL;
    if (prev != NULL)
        prev->key_next = c->key_next;
    else
        q->head = c->key_next;
    if (q->tail == c)
        q->tail = prev;
    c->key_next = NULL;
    c->in_keyq = 0;
    if (q->head == NULL) {
        *s = q->next;
        free(q->key);
        free(q);
        return NULL;
    }
    return prev == NULL ? q->head : NULL;
}
