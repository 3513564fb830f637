/* test_fuzz_corpus.c -- runs every file of the fuzzer's corpus
 * (tests/fuzz/corpus/command, seeds plus anything the fuzzer found worth
 * keeping) through the fuzz target, so `make test` replays it under ASan,
 * UBSan and valgrind. */
#include "testutil.h"

#include <dirent.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void test_fuzz_corpus_replays_clean(void **state)
{
    (void)state;
    const char *dir = "tests/fuzz/corpus/command";
    DIR *d = opendir(dir);
    size_t n = 0;
    assert_non_null(d);
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        char rel[512];
        size_t len;
        snprintf(rel, sizeof(rel), "../fuzz/corpus/command/%s", e->d_name);
        char *data = tu_fixture(rel, &len);
        assert_int_equal(LLVMFuzzerTestOneInput((const uint8_t *)data, len), 0);
        free(data);
        n++;
    }
    closedir(d);
    print_message("replayed %zu corpus files\n", n);
    assert_true(n >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_corpus_replays_clean),
    };
    return cmocka_run_group_tests_name("fuzz_corpus", tests, NULL, NULL);
}
