/* ps_map.c -- a string -> int64 map (open addressing) for the invoice indexes. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint64_t ps_map_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

bool ps_map_get(const ps_map *m, const char *key, size_t n, int64_t *out)
{
    if (m->cap == 0)
        return false;
    for (size_t i = ps_map_hash(key, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const ps_slot *s = &m->slots[i];
        if (s->key == NULL)
            return false;
        if (strlen(s->key) == n && memcmp(s->key, key, n) == 0) {
            *out = s->value;
            return true;
        }
    }
}

static bool ps_map_put(ps_map *m, const char *key, size_t n, int64_t value);

static bool ps_map_grow(ps_map *m)
{
    ps_map bigger = {.cap = m->cap != 0 ? m->cap * 2 : 64};
    bigger.slots = calloc(bigger.cap, sizeof(ps_slot));
    if (bigger.slots == NULL)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        ps_slot *s = &m->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = ps_map_hash(s->key, strlen(s->key)) & (bigger.cap - 1);
        while (bigger.slots[j].key != NULL)
            j = (j + 1) & (bigger.cap - 1);
        bigger.slots[j] = *s;
        bigger.n++;
    }
    free(m->slots);
    *m = bigger;
    return true;
}

/* Adds key -> value (the key is copied). False when out of memory. */
static bool ps_map_put(ps_map *m, const char *key, size_t n, int64_t value)
{
    if ((m->n + 1) * 10 > m->cap * 7 && !ps_map_grow(m))
        return false;
    size_t i = ps_map_hash(key, n) & (m->cap - 1);
    while (m->slots[i].key != NULL) {
        if (strlen(m->slots[i].key) == n && memcmp(m->slots[i].key, key, n) == 0) {
            m->slots[i].value = value;
            return true;
        }
        i = (i + 1) & (m->cap - 1);
    }
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return false;
    memcpy(copy, key, n);
    copy[n] = '\0';
    m->slots[i].key = copy;
    m->slots[i].value = value;
    m->n++;
    return true;
}

void ps_map_free(ps_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

bool ps_map_puts(ps_map *m, const char *key, int64_t value)
{
    return ps_map_put(m, key, strlen(key), value);
}
