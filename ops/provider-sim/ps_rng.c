/* ps_rng.c -- deterministic randomness (splitmix64), one stream per use. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

uint64_t ps_rng_next(ps_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ps_rng_seed(ps_rng *r, int64_t seed, uint64_t stream)
{
    r->s = (uint64_t)seed * 0x2545f4914f6cdd1dULL ^ (stream + 1) * 0x9e3779b97f4a7c15ULL;
    ps_rng_next(r);
}

/* Uniform in [lo, hi]. */
int64_t ps_rng_range(ps_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(ps_rng_next(r) % span);
}

/* Uniform in [0, 1) (fault draws only: no money here). */
double ps_rng_unit(ps_rng *r)
{
    return (double)(ps_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
