/* itest_devkafka.c -- devkafka as a separate process, used by real clients.
 *
 * Each test starts $PAYW_BUILD_DIR/ops/devkafka (3 brokers, 6 partitions,
 * a control socket in a private temp dir), reads its bootstrap line and then
 * works from this process as any Kafka client would: idempotent produce and
 * consume back, a consumer group of two splitting the partitions, a broker
 * down/up cycle while producing, injected request errors, automatic topic
 * creation and the control interface's replies. Every test ends by stopping
 * devkafka with SIGTERM and asserting it exits 0; the teardown stops whatever
 * is left when an assertion failed. All the waits of one test share a 20 s
 * budget (DKT_BUDGET); a watchdog alarm ends the whole binary after 120 s,
 * and devkafka with it (its parent-death signal). */
#include "itest_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DKT_CLIENTS  4
#define DKT_BUDGET   20000 /* ms, all the waits of one test together */
#define DKT_WATCHDOG 120   /* s, the whole binary: SIGALRM ends it (children get SIGTERM) */

typedef struct dkt {
    it_proc dk;
    char bootstrap[1024];
    char dir[256];
    char sock[320];
    rd_kafka_t *rks[DKT_CLIENTS]; /* destroyed by the teardown */
    int64_t deadline;             /* of the test: it_now_ms() + DKT_BUDGET */
} dkt;

/* What is left of the test's time budget, in ms (at least 1). */
static int dkt_left(const dkt *t)
{
    int64_t left = t->deadline - it_now_ms();
    return left < 1 ? 1 : (int)left;
}

typedef struct dkt_dr {
    int delivered;
    int failed;
    rd_kafka_resp_err_t last_err;
} dkt_dr;

/*---- Fixture ----*/

static int dkt_start(dkt *t)
{
    char bin[512];
    char line[1024];
    char *argv[] = {bin, "--brokers", "3", "--partitions", "6", "--control", t->sock, NULL};

    it_build_path(bin, sizeof(bin), "ops/devkafka");
    if (it_spawn(&t->dk, "devkafka", argv, NULL) != 0)
        return -1;
    if (it_read_line(&t->dk, line, sizeof(line), 10000) != 0 ||
        strncmp(line, "bootstrap=", 10) != 0) {
        fprintf(stderr, "devkafka: no bootstrap line (got \"%s\")\n", line);
        return -1;
    }
    snprintf(t->bootstrap, sizeof(t->bootstrap), "%s", line + 10);
    return 0;
}

static int dkt_setup(void **state)
{
    dkt *t = calloc(1, sizeof(*t));

    it_test_begin();
    if (t == NULL)
        return -1;
    t->dk.in_fd = t->dk.out_fd = -1;
    if (it_tmpdir(t->dir, sizeof(t->dir), "devkafka") != 0) {
        free(t);
        return -1;
    }
    snprintf(t->sock, sizeof(t->sock), "%s/control.sock", t->dir);
    t->deadline = it_now_ms() + DKT_BUDGET;
    if (dkt_start(t) != 0) {
        it_stop(&t->dk, SIGKILL, 1000);
        it_test_end();
        it_rmdir(t->dir);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int dkt_teardown(void **state)
{
    dkt *t = *state;

    for (int i = 0; i < DKT_CLIENTS; i++)
        if (t->rks[i] != NULL)
            rd_kafka_destroy_flags(t->rks[i], RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    if (t->dk.pid > 0)
        it_stop(&t->dk, SIGTERM, 5000);
    it_test_end();
    it_rmdir(t->dir);
    free(t);
    return 0;
}

/* The last statement of a test: devkafka stops cleanly on SIGTERM. */
static void dkt_finish(dkt *t)
{
    int64_t t0 = it_now_ms();
    for (int i = 0; i < DKT_CLIENTS; i++) {
        if (t->rks[i] != NULL) {
            rd_kafka_destroy(t->rks[i]);
            t->rks[i] = NULL;
        }
    }
    assert_int_equal(it_stop(&t->dk, SIGTERM, 5000), 0);
    assert_true(it_now_ms() - t0 < 5000);
    it_test_pass();
}

/* One control command on devkafka's stdin; the reply must start with want. */
static void dkt_control(dkt *t, const char *cmd, const char *want, char *reply, size_t cap)
{
    if (it_request(&t->dk, cmd, reply, cap, 5000) != 0)
        fail_msg("control \"%s\": no reply", cmd);
    if (strncmp(reply, want, strlen(want)) != 0)
        fail_msg("control \"%s\": got \"%s\", want \"%s...\"", cmd, reply, want);
}

/*---- Kafka helpers ----*/

static void dkt_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    dkt_dr *dr = opaque;
    (void)rk;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        dr->failed++;
        dr->last_err = m->err;
    } else {
        dr->delivered++;
    }
}

static rd_kafka_t *dkt_producer(dkt *t, int slot, dkt_dr *dr, const char *const kv[])
{
    rd_kafka_conf_t *conf = it_kafka_conf(t->bootstrap, kv);
    rd_kafka_conf_set_dr_msg_cb(conf, dkt_dr_cb);
    rd_kafka_conf_set_opaque(conf, dr);
    t->rks[slot] = it_kafka_new(RD_KAFKA_PRODUCER, conf);
    return t->rks[slot];
}

static rd_kafka_t *dkt_consumer(dkt *t, int slot, const char *group, const char *const kv[])
{
    rd_kafka_conf_t *conf = it_kafka_conf(t->bootstrap, kv);
    char errstr[256];
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "false", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        fail_msg("consumer conf: %s", errstr);
    }
    rk = it_kafka_new(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk);
    t->rks[slot] = rk;
    return rk;
}

/* Messages from..from+n-1: key "key-<i>", value "msg-<i>". */
static void dkt_produce(rd_kafka_t *rk, const char *topic, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char key[32];
        char val[32];
        rd_kafka_resp_err_t err;
        int klen = snprintf(key, sizeof(key), "key-%d", i);
        int vlen = snprintf(val, sizeof(val), "msg-%d", i);
        do {
            err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, (size_t)klen),
                                    RD_KAFKA_V_VALUE(val, (size_t)vlen),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 10);
        } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            fail_msg("produce %s #%d: %s", topic, i, rd_kafka_err2str(err));
        rd_kafka_poll(rk, 0);
    }
}

/* Polls until dr accounts for want messages (delivered or failed). */
static void dkt_wait_delivered(rd_kafka_t *rk, dkt_dr *dr, int want, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    while (dr->delivered + dr->failed < want && it_now_ms() < deadline)
        rd_kafka_poll(rk, 50);
    if (dr->delivered + dr->failed < want)
        fail_msg("%d of %d messages reported after %d ms", dr->delivered + dr->failed, want,
                 timeout_ms);
}

static void dkt_assign_all(rd_kafka_t *rk, const char *topic, int partitions)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    rd_kafka_resp_err_t err;
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    err = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        fail_msg("assign %s: %s", topic, rd_kafka_err2str(err));
}

/* Polls the consumers round-robin until total messages of topic were seen
 * or the deadline passes; counts[i] counts "msg-<i>", per[c] per consumer. */
static int dkt_consume(rd_kafka_t **rks, int n_rk, const char *topic, int *counts, int n, int *per,
                       int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    int total = 0;

    while (total < n && it_now_ms() < deadline) {
        for (int c = 0; c < n_rk; c++) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rks[c], 50);
            char val[32];
            long idx;
            char *end;
            if (m == NULL)
                continue;
            if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "consumer %d: %s\n", c, rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                continue;
            }
            if (strcmp(rd_kafka_topic_name(m->rkt), topic) != 0 || m->len < 5 ||
                m->len >= sizeof(val)) {
                rd_kafka_message_destroy(m);
                continue;
            }
            memcpy(val, m->payload, m->len);
            val[m->len] = '\0';
            rd_kafka_message_destroy(m);
            idx = strtol(val + 4, &end, 10);
            if (strncmp(val, "msg-", 4) != 0 || *end != '\0' || idx < 0 || idx >= n)
                fail_msg("unexpected message \"%s\"", val);
            counts[idx]++;
            if (per != NULL)
                per[c]++;
            total++;
        }
    }
    return total;
}

/* Every message 0..n-1 seen exactly once. */
static void dkt_assert_exactly_once(const int *counts, int n)
{
    int missing = 0;
    int dup = 0;
    int first_missing = -1;
    int first_dup = -1;
    for (int i = 0; i < n; i++) {
        if (counts[i] == 0 && missing++ == 0)
            first_missing = i;
        if (counts[i] > 1 && dup++ == 0)
            first_dup = i;
    }
    if (missing != 0 || dup != 0)
        fail_msg("%d messages missing (first msg-%d), %d duplicated (first msg-%d)", missing,
                 first_missing, dup, first_dup);
}

static const char *const dkt_idempotent[] = {
    "enable.idempotence", "true", "acks", "all", "linger.ms", "5", NULL,
};

/*---- Tests ----*/

/* (a) N messages through an idempotent producer (acks=all) all come back. */
static void test_devkafka_produce_consume(void **state)
{
    dkt *t = *state;
    enum { N = 1000 };
    static int counts[N];
    dkt_dr dr = {0};
    rd_kafka_t *prod = dkt_producer(t, 0, &dr, dkt_idempotent);
    rd_kafka_t *cons;

    memset(counts, 0, sizeof(counts));
    dkt_produce(prod, "payments.commands", 0, N);
    assert_int_equal(rd_kafka_flush(prod, dkt_left(t)), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(dr.failed, 0);
    assert_int_equal(dr.delivered, N);

    cons = dkt_consumer(t, 1, "itest-a", NULL);
    dkt_assign_all(cons, "payments.commands", 6);
    assert_int_equal(dkt_consume(&cons, 1, "payments.commands", counts, N, NULL, dkt_left(t)), N);
    dkt_assert_exactly_once(counts, N);
    rd_kafka_consumer_close(cons);
    dkt_finish(t);
}

/* (b) Two consumers of one group split a topic's partitions and together
 * read every message exactly once. */
static void test_devkafka_consumer_group(void **state)
{
    dkt *t = *state;
    enum { N = 600 };
    static int counts[N];
    int per[2] = {0, 0};
    int seen[6] = {0};
    char reply[1024];
    dkt_dr dr = {0};
    static const char *const group_kv[] = {
        "partition.assignment.strategy",
        "cooperative-sticky",
        "session.timeout.ms",
        "6000",
        "heartbeat.interval.ms",
        "500",
        NULL,
    };
    rd_kafka_t *cons[2];
    rd_kafka_t *prod;
    int64_t deadline;
    bool both = false;

    memset(counts, 0, sizeof(counts));
    dkt_control(t, "topic itest.group 6", "ok topic itest.group partitions=6", reply,
                sizeof(reply));
    for (int c = 0; c < 2; c++) {
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        cons[c] = dkt_consumer(t, c, "itest-b", group_kv);
        rd_kafka_topic_partition_list_add(sub, "itest.group", RD_KAFKA_PARTITION_UA);
        assert_int_equal(rd_kafka_subscribe(cons[c], sub), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_topic_partition_list_destroy(sub);
    }

    /* both members get a share before anything is produced */
    deadline = t->deadline;
    while (!both && it_now_ms() < deadline) {
        both = true;
        for (int c = 0; c < 2; c++) {
            rd_kafka_topic_partition_list_t *a = NULL;
            rd_kafka_message_t *m = rd_kafka_consumer_poll(cons[c], 50);
            if (m != NULL)
                rd_kafka_message_destroy(m);
            assert_int_equal(rd_kafka_assignment(cons[c], &a), RD_KAFKA_RESP_ERR_NO_ERROR);
            if (a->cnt == 0)
                both = false;
            if (c == 1 && both) {
                /* disjoint, and together all six */
                rd_kafka_topic_partition_list_t *a0 = NULL;
                int total = 0;
                memset(seen, 0, sizeof(seen));
                assert_int_equal(rd_kafka_assignment(cons[0], &a0), RD_KAFKA_RESP_ERR_NO_ERROR);
                for (int i = 0; i < a0->cnt; i++)
                    seen[a0->elems[i].partition]++;
                for (int i = 0; i < a->cnt; i++)
                    seen[a->elems[i].partition]++;
                for (int p = 0; p < 6; p++)
                    total += seen[p] == 1;
                both = total == 6 && a0->cnt + a->cnt == 6;
                rd_kafka_topic_partition_list_destroy(a0);
            }
            rd_kafka_topic_partition_list_destroy(a);
        }
    }
    if (!both)
        fail_msg("the two consumers did not split the 6 partitions in time");

    prod = dkt_producer(t, 2, &dr, dkt_idempotent);
    dkt_produce(prod, "itest.group", 0, N);
    assert_int_equal(rd_kafka_flush(prod, dkt_left(t)), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(dr.delivered, N);

    assert_int_equal(dkt_consume(cons, 2, "itest.group", counts, N, per, dkt_left(t)), N);
    dkt_assert_exactly_once(counts, N);
    assert_true(per[0] > 0);
    assert_true(per[1] > 0);
    for (int c = 0; c < 2; c++)
        assert_int_equal(rd_kafka_consumer_close(cons[c]), RD_KAFKA_RESP_ERR_NO_ERROR);
    dkt_finish(t);
}

/* The broker that leads partition 0 of topic, from the cluster's metadata. */
static int dkt_leader_of_p0(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int leader = -1;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);

    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        fail_msg("metadata %s: %s", topic, rd_kafka_err2str(err));
    for (int p = 0; md->topic_cnt == 1 && p < md->topics[0].partition_cnt; p++)
        if (md->topics[0].partitions[p].id == 0)
            leader = md->topics[0].partitions[p].leader;
    rd_kafka_metadata_destroy(md);
    if (leader < 1)
        fail_msg("no leader for %s [0]", topic);
    return leader;
}

/* (c) A broker goes down and comes back while the idempotent producer
 * produces: nothing is lost, nothing duplicated. The broker taken down is the
 * leader of partition 0, so some messages must wait for it. */
static void test_devkafka_broker_down_up(void **state)
{
    dkt *t = *state;
    enum { N = 500 };
    static int counts[N];
    static const char *const kv[] = {
        "enable.idempotence",
        "true",
        "acks",
        "all",
        "linger.ms",
        "5",
        "message.timeout.ms",
        "18000",
        "reconnect.backoff.ms",
        "50",
        "reconnect.backoff.max.ms",
        "500",
        "retry.backoff.ms",
        "100",
        NULL,
    };
    char cmd[64];
    char reply[1024];
    char want[64];
    dkt_dr dr = {0};
    rd_kafka_t *prod = dkt_producer(t, 0, &dr, kv);
    rd_kafka_t *cons;
    int leader;

    memset(counts, 0, sizeof(counts));
    leader = dkt_leader_of_p0(prod, "payments.results");

    dkt_produce(prod, "payments.results", 0, N / 2);
    dkt_wait_delivered(prod, &dr, N / 2, dkt_left(t));
    assert_int_equal(dr.failed, 0);

    snprintf(cmd, sizeof(cmd), "broker down %d", leader);
    snprintf(want, sizeof(want), "ok broker %d down", leader);
    dkt_control(t, cmd, want, reply, sizeof(reply));
    snprintf(want, sizeof(want), "down=%d ", leader);
    dkt_control(t, "status", "ok brokers=3", reply, sizeof(reply));
    if (strstr(reply, want) == NULL)
        fail_msg("status after %s: \"%s\"", cmd, reply);

    dkt_produce(prod, "payments.results", N / 2, N - N / 2);
    for (int64_t until = it_now_ms() + 1500; it_now_ms() < until;)
        rd_kafka_poll(prod, 50);
    /* partition 0's share cannot have been written while its leader is down */
    assert_true(dr.delivered < N);
    assert_int_equal(dr.failed, 0);

    snprintf(cmd, sizeof(cmd), "broker up %d", leader);
    snprintf(want, sizeof(want), "ok broker %d up", leader);
    dkt_control(t, cmd, want, reply, sizeof(reply));
    assert_int_equal(rd_kafka_flush(prod, dkt_left(t)), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(dr.failed, 0);
    assert_int_equal(dr.delivered, N);

    cons = dkt_consumer(t, 1, "itest-c", NULL);
    dkt_assign_all(cons, "payments.results", 6);
    assert_int_equal(dkt_consume(&cons, 1, "payments.results", counts, N, NULL, dkt_left(t)), N);
    /* a little longer: a duplicate would arrive after the N-th message */
    dkt_consume(&cons, 1, "payments.results", counts, N, NULL, 300);
    dkt_assert_exactly_once(counts, N);
    rd_kafka_consumer_close(cons);
    dkt_finish(t);
}

/* Injected request errors reach the client: one non-retriable Produce error
 * fails exactly one message; retriable ones are retried away. */
static void test_devkafka_error_injection(void **state)
{
    dkt *t = *state;
    static const char *const kv[] = {"acks", "all", "retry.backoff.ms", "50", NULL};
    char reply[1024];
    dkt_dr dr = {0};
    rd_kafka_t *prod = dkt_producer(t, 0, &dr, kv);

    dkt_control(t, "error Produce MSG_SIZE_TOO_LARGE 1",
                "ok pushed 1 x MSG_SIZE_TOO_LARGE (10) on Produce (0)", reply, sizeof(reply));
    dkt_produce(prod, "payments.balances", 0, 1);
    dkt_wait_delivered(prod, &dr, 1, dkt_left(t));
    assert_int_equal(dr.failed, 1);
    assert_int_equal(dr.last_err, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);

    dkt_control(t, "error 0 RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION 3",
                "ok pushed 3 x NOT_LEADER_FOR_PARTITION (6) on Produce (0)", reply, sizeof(reply));
    dkt_produce(prod, "payments.balances", 1, 1);
    dkt_wait_delivered(prod, &dr, 2, dkt_left(t));
    assert_int_equal(dr.failed, 1);
    assert_int_equal(dr.delivered, 1);

    /* errors queued and then cleared never reach anyone */
    dkt_control(t, "error Produce TOPIC_AUTHORIZATION_FAILED 5",
                "ok pushed 5 x TOPIC_AUTHORIZATION_FAILED", reply, sizeof(reply));
    dkt_control(t, "clear produce", "ok cleared errors on Produce (0)", reply, sizeof(reply));
    dkt_produce(prod, "payments.balances", 2, 1);
    dkt_wait_delivered(prod, &dr, 3, dkt_left(t));
    assert_int_equal(dr.failed, 1);
    assert_int_equal(dr.delivered, 2);
    dkt_finish(t);
}

/* A producer that writes to an unknown topic has the mock create it with
 * librdkafka's default of 4 partitions; "status" lists it. */
static void test_devkafka_auto_create(void **state)
{
    dkt *t = *state;
    char reply[2048];
    dkt_dr dr = {0};
    rd_kafka_t *prod = dkt_producer(t, 0, &dr, NULL);

    dkt_control(t, "status", "ok brokers=3", reply, sizeof(reply));
    assert_null(strstr(reply, "itest.auto"));
    dkt_produce(prod, "itest.auto", 0, 10);
    assert_int_equal(rd_kafka_flush(prod, dkt_left(t)), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(dr.delivered, 10);
    dkt_control(t, "status", "ok brokers=3 up=1,2,3 down=none", reply, sizeof(reply));
    if (strstr(reply, "itest.auto:4") == NULL ||
        strstr(reply, "topics=payments.commands:6,payments.results:6") == NULL)
        fail_msg("status: \"%s\"", reply);
    dkt_finish(t);
}

/* Bad commands get one "error" line that names the bad token, on stdin and
 * on the control socket; EOF on stdin does not stop devkafka. */
static void test_devkafka_control_errors(void **state)
{
    dkt *t = *state;
    static const struct {
        const char *cmd;
        const char *token;
    } bad[] = {
        {"frobnicate 1", "\"frobnicate\""},
        {"broker down 9", "\"9\""},
        {"broker down 0", "\"0\""},
        {"broker sideways 1", "\"sideways\""},
        {"broker down", "usage: broker"},
        {"broker up 1 2", "\"2\""},
        {"rtt 1 fast", "\"fast\""},
        {"rtt x 10", "\"x\""},
        {"error Produce NOT_A_CODE", "\"NOT_A_CODE\""},
        {"error Bogus NOT_LEADER_FOR_PARTITION", "\"Bogus\""},
        {"error Produce 6 0", "\"0\""},
        {"error Produce 6 many", "\"many\""},
        {"clear -1", "\"-1\""},
        {"topic bad/name 3", "\"bad/name\""},
        {"topic fine.name 0", "\"0\""},
        {"topic payments.commands 3", "\"payments.commands\" already exists"},
        {"status now", "\"now\""},
    };
    char reply[2048];
    char longline[3000];
    it_proc sock;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dkt_control(t, bad[i].cmd, "error ", reply, sizeof(reply));
        if (strstr(reply, bad[i].token) == NULL)
            fail_msg("\"%s\": reply \"%s\" does not name %s", bad[i].cmd, reply, bad[i].token);
    }
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    dkt_control(t, longline, "error line too long", reply, sizeof(reply));
    /* blank lines and comments are not commands: the next reply is help's */
    dkt_control(t, "\n# a comment\nhelp", "ok commands: broker down|up", reply, sizeof(reply));
    dkt_control(t, "rtt all 0", "ok brokers all rtt=0ms", reply, sizeof(reply));

    /* the same on the control socket */
    assert_int_equal(it_connect_unix(&sock, t->sock, 2000), 0);
    assert_int_equal(it_request(&sock, "broker down 4", reply, sizeof(reply), 5000), 0);
    assert_string_equal(reply, "error bad broker id \"4\": want 1..3 or all");
    assert_int_equal(it_request(&sock, "rtt 2 25", reply, sizeof(reply), 5000), 0);
    assert_string_equal(reply, "ok broker 2 rtt=25ms");

    /* stdin closed: still serving the socket */
    close(t->dk.in_fd);
    t->dk.in_fd = -1;
    it_sleep_ms(200);
    assert_int_equal(it_request(&sock, "status", reply, sizeof(reply), 5000), 0);
    if (strstr(reply, "ok brokers=3 up=1,2,3 down=none rtt=1:0,2:25,3:0 ") != reply)
        fail_msg("status over the socket: \"%s\"", reply);
    it_close(&sock);
    dkt_finish(t);
}

/* A fixture without a running devkafka, for tests that start their own. */
static int dkt_setup_bare(void **state)
{
    dkt *t = calloc(1, sizeof(*t));

    it_test_begin();
    if (t == NULL)
        return -1;
    t->dk.in_fd = t->dk.out_fd = -1;
    if (it_tmpdir(t->dir, sizeof(t->dir), "devkafka") != 0) {
        free(t);
        return -1;
    }
    t->deadline = it_now_ms() + DKT_BUDGET;
    *state = t;
    return 0;
}

/* The command line: --help, bad flags, --topic and --bootstrap-file. */
static void test_devkafka_cli(void **state)
{
    dkt *t = *state;
    char bin[512];
    char file[320];
    char line[1024];
    char reply[2048];
    char content[1024] = "";
    FILE *f;

    it_build_path(bin, sizeof(bin), "ops/devkafka");
    {
        char *argv[] = {bin, "--help", NULL};
        assert_int_equal(it_spawn(&t->dk, "devkafka-help", argv, NULL), 0);
        assert_int_equal(it_read_line(&t->dk, line, sizeof(line), 5000), 0);
        assert_non_null(strstr(line, "usage: devkafka"));
        assert_int_equal(it_stop(&t->dk, 0, 5000), 0);
    }
    {
        char *argv[] = {bin, "--brokers", "3", "--replication", "4", NULL};
        assert_int_equal(it_spawn(&t->dk, "devkafka-badrepl", argv, NULL), 0);
        assert_int_equal(it_read_line(&t->dk, line, sizeof(line), 5000), -1); /* no bootstrap */
        assert_int_equal(it_stop(&t->dk, 0, 5000), 2);
    }
    {
        char *argv[] = {bin, "--topic", "a/b", NULL};
        assert_int_equal(it_spawn(&t->dk, "devkafka-badtopic", argv, NULL), 0);
        assert_int_equal(it_stop(&t->dk, 0, 5000), 2);
    }

    snprintf(file, sizeof(file), "%s/bootstrap", t->dir);
    {
        char *argv[] = {bin,           "--brokers",        "1",  "--topic", "one:2",
                        "--topic=two", "--bootstrap-file", file, NULL};
        assert_int_equal(it_spawn(&t->dk, "devkafka-cli", argv, NULL), 0);
    }
    assert_int_equal(it_read_line(&t->dk, line, sizeof(line), 10000), 0);
    assert_memory_equal(line, "bootstrap=127.0.0.1:", 20);
    assert_null(strchr(line, ','));
    f = fopen(file, "r");
    assert_non_null(f);
    assert_non_null(fgets(content, sizeof(content), f));
    fclose(f);
    content[strcspn(content, "\n")] = '\0';
    assert_string_equal(content, line + 10);
    assert_int_equal(it_request(&t->dk, "status", reply, sizeof(reply), 5000), 0);
    if (strstr(reply, "ok brokers=1 up=1 down=none") != reply ||
        strstr(reply, "topics=one:2,two:6") == NULL)
        fail_msg("status: \"%s\"", reply);
    assert_int_equal(it_stop(&t->dk, SIGINT, 5000), 0);
    assert_int_equal(access(file, F_OK), -1); /* removed at exit */
    it_test_pass();
}

int main(void)
{
    alarm(DKT_WATCHDOG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_devkafka_produce_consume, dkt_setup, dkt_teardown),
        cmocka_unit_test_setup_teardown(test_devkafka_consumer_group, dkt_setup, dkt_teardown),
        cmocka_unit_test_setup_teardown(test_devkafka_broker_down_up, dkt_setup, dkt_teardown),
        cmocka_unit_test_setup_teardown(test_devkafka_error_injection, dkt_setup, dkt_teardown),
        cmocka_unit_test_setup_teardown(test_devkafka_auto_create, dkt_setup, dkt_teardown),
        cmocka_unit_test_setup_teardown(test_devkafka_control_errors, dkt_setup, dkt_teardown),
        cmocka_unit_test_setup_teardown(test_devkafka_cli, dkt_setup_bare, dkt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
