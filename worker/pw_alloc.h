/* pw_alloc.h -- the worker's allocator: never returns NULL.
 *
 * DESIGN
 * As in redis (zmalloc's OOM handler): when the heap refuses an allocation
 * the worker logs one line naming what and how much, and aborts. Going on
 * would mean deciding with half-built state, and the only answers left would
 * be false ones: a valid command "rejected", a paid call without a result.
 * Aborting is safe because the worker holds nothing that matters: its
 * commands are redelivered from their last committed offsets, and a claim it
 * held either finishes on the next worker's replay or expires to UNKNOWN.
 *
 * The same holds for an out-of-memory error reported by a library layer
 * (PV_ENOMEM from libprovider or schemas): pw_alloc_oom_check turns it into the
 * same abort before anything is decided from it.
 *
 * `make check` refuses a bare malloc/calloc/realloc/strdup/strndup in
 * worker/ outside this module.
 */
#ifndef PW_ALLOC_H
#define PW_ALLOC_H

#include <stddef.h>

#include "pv_error.h"

void *pw_alloc_malloc(size_t n);
void *pw_alloc_calloc(size_t count, size_t size);
void *pw_alloc_realloc(void *p, size_t n);
char *pw_alloc_strdup(const char *s);
/* n bytes of p, plus a NUL after them (n may be 0). */
void *pw_alloc_memdup(const void *p, size_t n);

/* Logs "out of memory" with what and bytes (0 when unknown), then aborts. */
_Noreturn void pw_alloc_oom(const char *what, size_t bytes);
/* pw_alloc_oom when err says PV_ENOMEM; returns otherwise. */
void pw_alloc_oom_check(const pv_error *err);

#endif
