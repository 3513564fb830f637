/* test_metrics.c -- the Prometheus text and readiness. */
#include "testutil.h"

#include <string.h>

#include "pw_metrics.h"

static void test_metrics_render_and_ready(void **state)
{
    (void)state;
    pw_metrics m;
    char why[256];
    pw_metrics_init(&m);
    assert_string_equal(pw_metrics_not_ready(&m, why, sizeof(why)),
                        "redis unreachable: no claims, consumption paused");
    m.redis_up = m.kafka_up = 1;
    assert_null(pw_metrics_not_ready(&m, why, sizeof(why)));
    m.commands[0][PV_STATUS_SUCCEEDED] = 3;
    m.commands[PW_METRICS_PROVIDERS][PV_STATUS_REJECTED] = 2;
    m.outcomes[1][PV_OUTCOME_RETRY] = 4;
    pw_metrics_observe_latency(&m, 0, 1500);    /* 1.5 ms */
    pw_metrics_observe_latency(&m, 0, 2000000); /* 2 s */
    m.consumer_lag = 17;
    size_t len;
    char *text = pw_metrics_render(&m, &len);
    assert_int_equal(strlen(text), len);
    assert_non_null(
        strstr(text, "payworker_commands_total{provider=\"PAYOFIN\",status=\"SUCCEEDED\"} 3\n"));
    assert_non_null(
        strstr(text, "payworker_commands_total{provider=\"none\",status=\"REJECTED\"} 2\n"));
    assert_non_null(strstr(
        text, "payworker_provider_outcomes_total{provider=\"SIPAY\",outcome=\"RETRY\"} 4\n"));
    assert_non_null(strstr(
        text, "payworker_provider_latency_seconds_bucket{provider=\"PAYOFIN\",le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(
        text, "payworker_provider_latency_seconds_bucket{provider=\"PAYOFIN\",le=\"2.5\"} 2\n"));
    assert_non_null(
        strstr(text, "payworker_provider_latency_seconds_count{provider=\"PAYOFIN\"} 2\n"));
    assert_non_null(strstr(text, "payworker_consumer_lag 17\n"));
    free(text);
    snprintf(m.fatal[3], sizeof(m.fatal[3]), "HTTP 401");
    assert_non_null(strstr(pw_metrics_not_ready(&m, why, sizeof(why)), "ISBANK stopped"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render_and_ready),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
