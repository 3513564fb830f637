/* test_track.c -- offsets commit only past a contiguous run of done ones. */
#include "testutil.h"

#include "pw_track.h"

static void test_track_out_of_order(void **state)
{
    (void)state;
    pw_track t;
    assert_int_equal(pw_track_init(&t, 4), 0);
    for (int64_t o = 10; o < 14; o++)
        assert_int_equal(pw_track_add(&t, o), 0);
    assert_true(pw_track_full(&t));
    assert_int_equal(pw_track_add(&t, 14), -1);  /* window full: pause */
    assert_int_equal(pw_track_done(&t, 12), -1); /* 10, 11 still in flight */
    assert_int_equal(pw_track_done(&t, 11), -1);
    assert_int_equal(pw_track_done(&t, 10), 13); /* 10, 11, 12 done: commit 13 */
    assert_int_equal(pw_track_inflight(&t), 1);
    assert_int_equal(pw_track_done(&t, 10), -1); /* not tracked any more */
    assert_int_equal(pw_track_add(&t, 20), 0);   /* a gap (compaction) is fine */
    assert_int_equal(pw_track_add(&t, 15), -1);  /* backwards: refused */
    assert_int_equal(pw_track_done(&t, 20), -1);
    assert_int_equal(pw_track_done(&t, 13), 21);
    assert_int_equal(pw_track_inflight(&t), 0);
    pw_track_free(&t);
}

/* Random completion orders against a simple model: the committable position
 * is always the first offset not done. */
static void test_track_model(void **state)
{
    (void)state;
    unsigned seed = 7;
    for (int round = 0; round < 200; round++) {
        pw_track t;
        enum { N = 64 };
        int done[N] = {0};
        int64_t base = 1000 + round, expect = -1;
        assert_int_equal(pw_track_init(&t, N), 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(pw_track_add(&t, base + 2 * i), 0);
        for (int k = 0; k < N; k++) {
            int i;
            do {
                seed = seed * 1103515245u + 12345u;
                i = (int)((seed >> 16) % N);
            } while (done[i]);
            done[i] = 1;
            int first = 0;
            while (first < N && done[first])
                first++;
            int64_t got = pw_track_done(&t, base + 2 * i);
            int64_t want = first > 0 ? base + 2 * (first - 1) + 1 : -1;
            if (want != expect && want != -1) {
                assert_true(got == want);
                expect = want;
            } else {
                assert_true(got == -1);
            }
        }
        assert_int_equal(pw_track_inflight(&t), 0);
        pw_track_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_track_out_of_order),
        cmocka_unit_test(test_track_model),
    };
    return cmocka_run_group_tests_name("track", tests, NULL, NULL);
}
