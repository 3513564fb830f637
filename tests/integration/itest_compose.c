/* itest_compose.c -- docker-compose.yml is a valid Compose file with the
 * production services (checked by `docker-compose config`, which needs no
 * Docker engine), and the worker image's Dockerfile names the binaries the
 * build makes. */
#include "../unit/testutil.h"

#include <string.h>

#include "itest_util.h"

static void test_compose_config_is_valid(void **state)
{
    (void)state;
    static char lines[16][512];
    char err[4096];
    int n;
    char *check[] = {"docker-compose", "-f", "docker-compose.yml", "config", "-q", NULL};
    int rc = it_run(check, NULL, &lines[0][0], 512, 16, &n, err, sizeof(err), 60000);
    if (rc != 0)
        fail_msg("docker-compose config: exit %d: %s", rc, err);
    char *services[] = {"docker-compose", "-f", "docker-compose.yml", "config", "--services", NULL};
    assert_int_equal(it_run(services, NULL, &lines[0][0], 512, 16, &n, err, sizeof(err), 60000), 0);
    static const char *const want[] = {"kafka",    "redis",    "provider-sim",
                                       "worker-1", "worker-2", "worker-3"};
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(lines[i], want[w]) == 0;
        if (!found)
            fail_msg("service %s missing from docker-compose.yml", want[w]);
    }
    size_t len;
    char *docker = tu_fixture("../../ops/Dockerfile", &len);
    assert_non_null(strstr(docker, "build/release/worker/payworker"));
    assert_non_null(strstr(docker, "build/release/ops/provider-sim"));
    free(docker);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compose_config_is_valid),
    };
    return cmocka_run_group_tests_name("compose", tests, NULL, NULL);
}
