/* test_alloc.c -- the worker's allocator (pw_alloc.h): an allocation the heap
 * refuses, or a library's out-of-memory error, ends the process with one log
 * line naming what and how much (SIGABRT), never a NULL to carry on with.
 *
 * The failing allocation runs in a child: this binary again (so ASan's
 * allocator can be told to return NULL rather than report), its stderr read
 * through a pipe. */
#include "testutil.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pw_alloc.h"

static const char *self_path;

/* Runs "self child WHAT"; returns its wait status, its stderr in out. */
static int run_child(const char *what, char *out, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        setenv("ASAN_OPTIONS", "allocator_may_return_null=1", 1);
        execl(self_path, self_path, "child", what, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void expect_oom(const char *what, const char *needle)
{
    char out[8192];
    int st = run_child(what, out, sizeof(out));
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
        fail_msg("%s: the child was not aborted (status %d), stderr: %s", what, st, out);
    const char *line = strstr(out, "msg=\"out of memory: aborting");
    if (line == NULL || strstr(line, needle) == NULL)
        fail_msg("%s: no out-of-memory line naming %s; stderr: %s", what, needle, out);
}

static void test_alloc_refused_aborts_with_a_line(void **state)
{
    (void)state;
    expect_oom("malloc", "what=malloc bytes=4611686018427387904");
    expect_oom("calloc", "what=calloc");
    expect_oom("realloc", "what=realloc");
    expect_oom("memdup", "what=memdup");
    expect_oom("enomem", "what=\"pv: cannot allocate\"");
}

static void test_alloc_ordinary_use(void **state)
{
    (void)state;
    char *d = pw_alloc_memdup("abc", 2);
    assert_string_equal(d, "ab"); /* NUL after the bytes */
    free(d);
    char *s = pw_alloc_strdup("");
    assert_string_equal(s, "");
    free(s);
    int *z = pw_alloc_calloc(0, sizeof(int)); /* never NULL, even for 0 */
    assert_non_null(z);
    z = pw_alloc_realloc(z, 64 * sizeof(int));
    z[63] = 7;
    free(z);
    pv_error err = {0};
    pw_alloc_oom_check(&err); /* no error: returns */
    pv_error_set(&err, PV_EVALIDATION, "x", "not memory");
    pw_alloc_oom_check(&err); /* another error: returns */
    pv_error_clear(&err);
}

static int child(const char *what)
{
    if (strcmp(what, "malloc") == 0)
        (void)pw_alloc_malloc(SIZE_MAX / 4 + 1);
    else if (strcmp(what, "calloc") == 0)
        (void)pw_alloc_calloc(SIZE_MAX / 8, 16); /* overflows size_t */
    else if (strcmp(what, "realloc") == 0)
        (void)pw_alloc_realloc(pw_alloc_malloc(16), SIZE_MAX / 4 + 1);
    else if (strcmp(what, "memdup") == 0)
        (void)pw_alloc_memdup("x", SIZE_MAX);
    else if (strcmp(what, "enomem") == 0) {
        pv_error err = {0};
        pv_error_set(&err, PV_ENOMEM, "", "pv: cannot allocate");
        pw_alloc_oom_check(&err);
    }
    return 3; /* not aborted: the parent fails */
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child(argv[2]);
    self_path = "/proc/self/exe";
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n > 0) {
        path[n] = '\0';
        self_path = path;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_refused_aborts_with_a_line),
        cmocka_unit_test(test_alloc_ordinary_use),
    };
    return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
