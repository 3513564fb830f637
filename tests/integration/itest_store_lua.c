/* itest_store_lua.c -- the store's Lua scripts as files (worker/store/scripts/):
 * what the store sends is each file's text, and each runs by hand with
 * redis-cli --eval against the test's redis-server (storetest.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pw_store_int.h" /* the script table */
#include "storetest.h"

/*---- The scripts as files -------------------------------------------------*/

/* A file's bytes (kept copy, NUL-terminated). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("%s: %s (run from the repository root)", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = keep(cap);
    n = fread(buf, 1, cap, f);
    assert_true(n < cap);
    fclose(f);
    *len = n;
    return buf;
}

/* Every script runs as it is in the repository: what the store sends (its
 * script table, compiled in by schemas/embed.c) is the file's text, byte for
 * byte (so it holds no NUL either: it is sent as a C string). */
static void test_scripts_embedded_from_files(void **state)
{
    (void)state;
    for (int i = 0; i < PW_SCRIPT_COUNT; i++) {
        char path[128];
        snprintf(path, sizeof(path), "worker/store/scripts/%s.lua", pw_store_script_name[i]);
        size_t len = 0;
        const char *file = read_file(path, &len);
        if (strlen(pw_store_lua[i]) != len || memcmp(file, pw_store_lua[i], len) != 0)
            fail_msg("%s: the embedded script differs from the file (rebuild)", path);
        /* and Redis compiles it */
        redisReply *r = rcall("SCRIPT LOAD %b", file, len);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_int_equal(r->len, 40);
        freeReplyObject(r);
    }
}

/* redis-cli --eval FILE KEYS , ARGV against the test's server: its raw
 * output (one line per element), kept. */
static const char *cli_eval(const char *script, const char *keys_and_args)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "redis-cli -h 127.0.0.1 -p %d --eval worker/store/scripts/%s.lua %s",
             g.port, script, keys_and_args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 4096;
    char *out = keep(cap);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0)
        fail_msg("%s: failed: %s", cmd, out);
    return out;
}

#define HAND_KEYS(id)                                                                  \
    "'payw:{PAYOFIN:by-hand}:state' 'payw:{PAYOFIN:by-hand}:lock' "                    \
    "'payw:{PAYOFIN:by-hand}:cmd:" id "' 'payw:{PAYOFIN:by-hand}:cmds' payw:unknowns " \
    "payw:inflight"

/* The scripts run by hand (the way their header says) do what the store's
 * operations do, and the store sees it. */
static void test_scripts_run_by_hand(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof(args), HAND_KEYS("cmd-h") " , tok-h 30000 cmd-h dig-h w-hand %lld %lld 0",
             (long long)wall_ms(), 7 * MS_DAY);
    assert_string_equal(cli_eval("claim", args), "CLAIMED\n1\n0\ncmd-h\n\nINFLIGHT\n");
    assert_field("PAYOFIN:by-hand", "status", "INFLIGHT");
    assert_field("PAYOFIN:by-hand", "worker", "w-hand");
    assert_string_equal(cli_eval("extend", HAND_KEYS("") " , tok-other 30000"),
                        "LOST\n0\n0\n\n\n\n");
    assert_string_equal(cli_eval("extend", HAND_KEYS("") " , tok-h 30000"), "OK\n0\n0\n\n\n\n");
    const char *lk = cli_eval("lookup", HAND_KEYS("") " ,");
    assert_true(strncmp(lk, "OK\n", 3) == 0);
    assert_non_null(strstr(lk, "\nfence_seq\n1\n"));

    /* the store meets the hand-made claim */
    watch w = {0};
    pw_store_options o = test_opts();
    pw_store *s = open_store(g.url, &o, &w);
    assert_outcome(claim(s, "PAYOFIN:by-hand", "tok-x", "cmd-x", "dig-h"), PW_STORE_BUSY);
    got again = claim(s, "PAYOFIN:by-hand", "tok-h", "cmd-h", "dig-h");
    assert_outcome(again, PW_STORE_CLAIMED);
    assert_int_equal(again.fence, 1);
    pw_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_scripts_embedded_from_files, test_teardown),
        cmocka_unit_test_teardown(test_scripts_run_by_hand, test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
