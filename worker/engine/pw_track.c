/* pw_track.c -- see pw_track.h. */
#include "pw_track.h"

#include <stdlib.h>
#include <string.h>

#include "pw_alloc.h"

int pw_track_init(pw_track *t, size_t window)
{
    memset(t, 0, sizeof(*t));
    size_t cap = 16;
    while (cap < window)
        cap *= 2;
    t->offsets = pw_alloc_calloc(cap, sizeof(*t->offsets));
    t->done = pw_alloc_calloc(cap, 1);
    t->cap = cap;
    t->window = window;
    t->next = -1;
    return 0;
}

void pw_track_free(pw_track *t)
{
    free(t->offsets);
    free(t->done);
    memset(t, 0, sizeof(*t));
}

int pw_track_add(pw_track *t, int64_t offset)
{
    if (t->count >= t->window || t->count == t->cap)
        return -1;
    if (t->count > 0 && offset <= t->offsets[(t->head + t->count - 1) & (t->cap - 1)])
        return -1;
    size_t i = (t->head + t->count) & (t->cap - 1);
    t->offsets[i] = offset;
    t->done[i] = 0;
    t->count++;
    return 0;
}

int64_t pw_track_done(pw_track *t, int64_t offset)
{
    /* binary search: the ring holds increasing offsets */
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = t->offsets[(t->head + mid) & (t->cap - 1)];
        if (v < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->count || t->offsets[(t->head + lo) & (t->cap - 1)] != offset)
        return -1;
    t->done[(t->head + lo) & (t->cap - 1)] = 1;
    if (lo != 0)
        return -1; /* something older is still in flight */
    int64_t last = offset;
    while (t->count > 0 && t->done[t->head]) {
        last = t->offsets[t->head];
        t->done[t->head] = 0;
        t->head = (t->head + 1) & (t->cap - 1);
        t->count--;
    }
    t->next = last + 1;
    return t->next;
}
