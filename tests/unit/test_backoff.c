/* test_backoff.c -- the retry schedule (pw_backoff_ms): it doubles, it
 * waits, it stops at the ceiling, and its jitter comes from a per-process
 * seed (issue 11: an unseeded random() put a whole fleet in lockstep). */
#include "testutil.h"

#include <stdint.h>

#include "pw_backoff.h"

static void test_backoff_doubles_and_waits(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    int64_t prev_mean = 0;
    for (int attempts = 1; attempts <= 6; attempts++) {
        int64_t d = 100LL << (attempts - 1), sum = 0, lo = INT64_MAX, hi = 0;
        for (int i = 0; i < 400; i++) {
            int64_t w = pw_backoff_ms(100, 100000, attempts, &rng);
            if (w < d - d / 2 || w > d)
                fail_msg("attempt %d: waited %lld ms, outside [%lld, %lld]", attempts, (long long)w,
                         (long long)(d - d / 2), (long long)d);
            sum += w;
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        int64_t mean = sum / 400;
        assert_true(mean > 0);
        assert_true(hi > lo); /* jittered, not a constant */
        if (attempts > 1 && !(mean > prev_mean * 3 / 2))
            fail_msg("attempt %d: mean %lld ms does not double the previous %lld", attempts,
                     (long long)mean, (long long)prev_mean);
        prev_mean = mean;
    }
}

static void test_backoff_ceiling(void **state)
{
    (void)state;
    uint64_t rng = 99;
    for (int attempts = 1; attempts <= 100; attempts++) {
        int64_t w = pw_backoff_ms(200, 10000, attempts, &rng);
        assert_true(w >= 1 && w <= 10000);
        if (attempts >= 8)
            assert_true(w >= 5000); /* at the ceiling, jittered in its upper half */
    }
    rng = 7;
    assert_true(pw_backoff_ms(1, 1, 1, &rng) >= 1); /* the smallest still waits */
}

static void test_backoff_seeds(void **state)
{
    (void)state;
    uint64_t a = 1, b = 1, c = 2, zero = 0;
    int same = 0, differ = 0;
    for (int i = 0; i < 50; i++) {
        int64_t x = pw_backoff_ms(1000, 100000, 3, &a);
        int64_t y = pw_backoff_ms(1000, 100000, 3, &b);
        int64_t z = pw_backoff_ms(1000, 100000, 3, &c);
        same += x == y;
        differ += x != z;
    }
    assert_int_equal(same, 50); /* one seed, one sequence */
    assert_true(differ > 40);   /* two processes, two sequences */
    pw_backoff_ms(1000, 100000, 3, &zero);
    assert_true(zero != 0); /* a zero seed still moves */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_and_waits),
        cmocka_unit_test(test_backoff_ceiling),
        cmocka_unit_test(test_backoff_seeds),
    };
    return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
