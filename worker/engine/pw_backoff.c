/* pw_backoff.c -- see pw_backoff.h. */
#include "pw_backoff.h"

int64_t pw_backoff_ms(int64_t base_ms, int64_t max_ms, int attempts, uint64_t *rng)
{
    int64_t d = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < attempts && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    uint64_t x = *rng != 0 ? *rng : 0x9e3779b97f4a7c15ULL; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    return d - d / 2 + (int64_t)(x % (uint64_t)(d / 2 + 1)); /* in [d - d/2, d] */
}
