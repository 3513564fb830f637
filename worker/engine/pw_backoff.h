/* pw_backoff.h -- the retry schedule: how long a RETRY outcome waits before
 * the next call. Pure (no clock, no I/O); tests/unit/test_backoff.c.
 *
 * DESIGN
 * Exponential with a ceiling and "equal jitter": the wait before call number
 * attempts + 1 is d = base_ms doubled per attempt made, at most max_ms, then
 * drawn uniformly from its upper half [d - d/2, d]. The draw comes from a
 * caller-held xorshift64 state, seeded once per process (pw_engine, from
 * getrandom): a fleet restarted together does not retry in lockstep, and a
 * retry never comes sooner than half its step. The budget (attempts, total
 * time: PAYW_RETRY_*) is the caller's (pw_cmd_retry_or_fail).
 */
#ifndef PW_BACKOFF_H
#define PW_BACKOFF_H

#include <stdint.h>

/* The wait in ms (>= 1) before call number attempts + 1; advances *rng. */
int64_t pw_backoff_ms(int64_t base_ms, int64_t max_ms, int attempts, uint64_t *rng);

#endif
