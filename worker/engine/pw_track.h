/* pw_track.h -- per-partition offset tracking for out-of-order completion.
 *
 * DESIGN
 * Many commands of one partition are in flight at once and finish in any
 * order; Kafka only stores "everything before offset N is done". A tracker
 * keeps the offsets of one partition in flight in consumption order (a ring
 * of offsets with a done flag) and answers, when one finishes, how far the
 * committable position moved: to the first offset not yet done (or past the
 * last one seen). Offsets arrive increasing (Kafka delivers a partition in
 * order); gaps (compacted or transactional offsets) are fine. Memory is
 * bounded by the window the caller allows per partition (pw_track_full).
 */
#ifndef PW_TRACK_H
#define PW_TRACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct pw_track {
    int64_t *offsets;
    unsigned char *done;
    size_t cap;    /* power of two */
    size_t head;   /* index of the oldest offset in flight */
    size_t count;  /* offsets in flight */
    size_t window; /* most offsets in flight allowed */
    int64_t next;  /* committable position: next offset to consume after all done */
} pw_track;

/* window: how many offsets may be in flight (the partition is paused beyond). */
int pw_track_init(pw_track *t, size_t window);
void pw_track_free(pw_track *t);

/* Records a consumed offset (must be greater than the last one added).
 * 0, or -1 when the window is full or the offset goes backwards. */
int pw_track_add(pw_track *t, int64_t offset);

/* Marks offset done. Returns the new committable position (offset + 1 of the
 * last contiguous done offset) when it advanced, -1 otherwise (also when the
 * offset is not tracked). */
int64_t pw_track_done(pw_track *t, int64_t offset);

static inline size_t pw_track_inflight(const pw_track *t)
{
    return t->count;
}

static inline int pw_track_full(const pw_track *t)
{
    return t->count >= t->window;
}

#endif
