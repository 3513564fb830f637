/* teststack.c -- see teststack.h. */
#include "teststack.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*---- helpers ----*/

static size_t curl_sink(char *p, size_t s, size_t n, void *ud)
{
    char **buf = ud;
    size_t old = *buf != NULL ? strlen(*buf) : 0;
    *buf = realloc(*buf, old + s * n + 1);
    memcpy(*buf + old, p, s * n);
    (*buf)[old + s * n] = '\0';
    return s * n;
}

/* GET (body NULL) or POST; returns the malloc'd answer, status in *code. */
char *http(const char *url, const char *body, long *code)
{
    char *out = NULL;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode cc = curl_easy_perform(c);
    *code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK) {
        free(out);
        return NULL;
    }
    return out != NULL ? out : strdup("");
}

json_object *sim_get(stack *s, const char *path)
{
    char url[256];
    long code;
    snprintf(url, sizeof(url), "%s%s", s->sim_url, path);
    char *body = http(url, NULL, &code);
    assert_non_null(body);
    /* test plumbing: the simulator's listings may exceed pv_json's 1 MiB */
    json_object *j = json_tokener_parse(body);
    if (j == NULL)
        fail_msg("%s: not JSON", url);
    free(body);
    return j;
}

void sim_faults(stack *s, const char *json)
{
    char url[256];
    long code;
    snprintf(url, sizeof(url), "%s/_sim/faults", s->sim_url);
    free(http(url, json, &code));
    assert_int_equal(code, 200);
}

/* payments recorded by the simulator for provider (all when NULL) */
int64_t sim_payments(stack *s, const char *provider)
{
    json_object *st = sim_get(s, "/_sim/stats");
    int64_t n = 0;
    json_object *provs = pv_json_member(st, "providers");
    json_object_object_foreach(provs, k, v)
    {
        if (provider == NULL || strcmp(k, provider) == 0)
            n += json_object_get_int64(pv_json_member(v, "payments"));
    }
    json_object_put(st);
    return n;
}

int64_t sim_stat(stack *s, const char *provider, const char *what)
{
    json_object *st = sim_get(s, "/_sim/stats");
    json_object *p = pv_json_member(pv_json_member(st, "providers"), provider);
    int64_t n = json_object_get_int64(pv_json_member(p, what));
    json_object_put(st);
    return n;
}

void env_add(stack *s, const char *fmt, const char *a, const char *b)
{
    snprintf(s->envbuf[s->nenv], sizeof(s->envbuf[0]), fmt, a, b);
    s->env[s->nenv] = s->envbuf[s->nenv];
    s->nenv++;
    s->env[s->nenv] = NULL;
}

/* Sets NAME=value, replacing an earlier value of NAME. */
void env_set(stack *s, const char *name, const char *value)
{
    size_t n = strlen(name);
    for (int i = 0; i < s->nenv; i++)
        if (strncmp(s->envbuf[i], name, n) == 0 && s->envbuf[i][n] == '=') {
            snprintf(s->envbuf[i], sizeof(s->envbuf[0]), "%s=%s", name, value);
            return;
        }
    env_add(s, "%s=%s", name, value);
}

/* Starts redis-server with argv on s->redis_port; returns once it answers
 * PING (an AOF loaded), at most tries x 50 ms. */
static void redis_up(stack *s, char *const argv[], int tries, const char *what)
{
    char port[16], line[256];
    snprintf(port, sizeof(port), "%d", s->redis_port);
    assert_int_equal(it_spawn(&s->redis, "redis", argv, NULL), 0);
    for (int i = 0; i < tries; i++) {
        char *pa[] = {"redis-cli", "-p", port, "ping", NULL};
        int n;
        char out[1][256];
        if (it_run(pa, NULL, &out[0][0], 256, 1, &n, line, sizeof(line), 2000) == 0 && n == 1 &&
            strcmp(out[0], "PONG") == 0)
            return;
        it_sleep_ms(50);
    }
    fail_msg("redis-server (%s) did not start", what);
}

void start_redis(stack *s)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", s->redis_port);
    char *argv[] = {"redis-server", "--port", port,           "--bind", "127.0.0.1",
                    "--save",       "",       "--appendonly", "no",     NULL};
    redis_up(s, argv, 100, "in memory");
}

/*---- the broker: devkafka per test, or one Apache Kafka per binary ----*/

static it_proc ts_kafka; /* the binary's kafka.sh (apache), pid 0 until started */
static char ts_kafka_bootstrap[1024];
static int ts_kafka_failed; /* a start failed: later tests fail at once */
static int ts_kafka_seq;    /* topics and groups of this binary's stack_ups */

int stack_apache(void)
{
    const char *k = getenv("PAYW_STACK_KAFKA");
    return k != NULL && strcmp(k, "apache") == 0;
}

void stack_skip_on_apache(const char *why)
{
    if (stack_apache()) {
        fprintf(stderr, "[  SKIPPED ] on Apache Kafka (PAYW_STACK_KAFKA=apache): %s\n", why);
        it_test_pass(); /* nothing failed: no logs to show */
        skip();
    }
}

/* atexit: stops the shared Kafka (kafka.sh stops its node, removes its
 * temp dir, exits 0); PAYW_KAFKA_STOP_TIMEOUT (5 s) plus margin. */
static void ts_kafka_down(void)
{
    if (ts_kafka.pid <= 0)
        return;
    int64_t t0 = it_now_ms();
    int rc = it_stop(&ts_kafka, SIGTERM, 20000);
    fprintf(stderr, "teststack: Apache Kafka stopped in %lld ms (exit %d)\n",
            (long long)(it_now_ms() - t0), rc);
}

static void ts_kafka_up(void)
{
    char path[512], line[1024];
    if (ts_kafka.pid > 0) {
        if (waitpid(ts_kafka.pid, NULL, WNOHANG) == 0)
            return;
        ts_kafka.pid = 0;
        ts_kafka_failed = 1;
        fprintf(stderr, "teststack: the shared Apache Kafka died\n");
        it_dump_log(&ts_kafka);
    }
    if (ts_kafka_failed)
        fail_msg("the shared Apache Kafka did not start or died (see above)");
    int64_t t0 = it_now_ms();
    snprintf(path, sizeof(path), "ops/kafka/kafka.sh");
    /* no topics at start: each stack_up creates its own */
    char *argv[] = {path, "--nodes", "1", "--topic", "payw-it-probe:1", NULL};
    ts_kafka_failed = 1;
    assert_int_equal(it_spawn(&ts_kafka, "kafka", argv, NULL), 0);
    atexit(ts_kafka_down);
    /* the log outlives the first test (whose end removes it when it passed):
     * a second name, shown when Kafka dies, removed at exit when it exits 0 */
    char kept[300];
    snprintf(kept, sizeof(kept), "%s-suite", ts_kafka.log_path);
    size_t klen = strlen(kept);
    if (klen < sizeof(ts_kafka.log_path) && link(ts_kafka.log_path, kept) == 0)
        memcpy(ts_kafka.log_path, kept, klen + 1); /* fits: checked above */
    if (it_read_line(&ts_kafka, line, sizeof(line), 120000) != 0 ||
        strncmp(line, "bootstrap=", 10) != 0) {
        it_dump_log(&ts_kafka);
        fail_msg("ops/kafka/kafka.sh did not print its bootstrap list");
    }
    snprintf(ts_kafka_bootstrap, sizeof(ts_kafka_bootstrap), "%s", line + 10);
    ts_kafka_failed = 0;
    fprintf(stderr, "teststack: Apache Kafka at %s ready in %lld ms\n", ts_kafka_bootstrap,
            (long long)(it_now_ms() - t0));
}

/* Creates the topics (replication 1) on the shared Kafka with the admin
 * API, waiting until they exist. */
static void ts_topics_create(const char *const names[], const int parts[], int n)
{
    int64_t t0 = it_now_ms();
    rd_kafka_t *rk = it_kafka_new(RD_KAFKA_PRODUCER, it_kafka_conf(ts_kafka_bootstrap, NULL));
    rd_kafka_NewTopic_t *nt[8];
    char errstr[512];
    for (int i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(names[i], parts[i], 1, errstr, sizeof(errstr));
        if (nt[i] == NULL)
            fail_msg("NewTopic %s: %s", names[i], errstr);
    }
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(o, 30000, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_request_timeout(o, 40000, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
    if (ev == NULL)
        fail_msg("CreateTopics: no answer in 60 s");
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fail_msg("CreateTopics: %s", rd_kafka_event_error_string(ev));
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (rd_kafka_topic_result_error(res[i]) != RD_KAFKA_RESP_ERR_NO_ERROR)
            fail_msg("CreateTopics %s: %s", rd_kafka_topic_result_name(res[i]),
                     rd_kafka_topic_result_error_string(res[i]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
    rd_kafka_destroy(rk);
    fprintf(stderr, "teststack: %d topics created in %lld ms\n", n, (long long)(it_now_ms() - t0));
}

void stack_broker(stack *s, it_proc *dk, char *const args[])
{
    char path[512], line[1024];
    if (!stack_apache()) {
        snprintf(s->t_commands, sizeof(s->t_commands), "payments.commands");
        snprintf(s->t_results, sizeof(s->t_results), "payments.results");
        snprintf(s->t_balances, sizeof(s->t_balances), "payments.balances");
        snprintf(s->t_dlq, sizeof(s->t_dlq), "payments.commands.dlq");
        snprintf(s->group, sizeof(s->group), "payworker");
        it_build_path(path, sizeof(path), "ops/devkafka");
        char *argv[16] = {path, "--brokers", "1"};
        for (int i = 0, n = 3; args != NULL && args[i] != NULL && n < 15; i++)
            argv[n++] = args[i];
        assert_int_equal(it_spawn(dk, "devkafka", argv, NULL), 0);
        assert_int_equal(it_read_line(dk, line, sizeof(line), 20000), 0);
        snprintf(s->bootstrap, sizeof(s->bootstrap), "%s", line + strlen("bootstrap="));
        return;
    }
    /* no devkafka: its control requests (it_request on *dk) fail, never
     * reach fd 0 */
    memset(dk, 0, sizeof(*dk));
    dk->in_fd = dk->out_fd = -1;
    ts_kafka_up();
    snprintf(s->bootstrap, sizeof(s->bootstrap), "%s", ts_kafka_bootstrap);
    char pre[64];
    snprintf(pre, sizeof(pre), "it%ld-%d", (long)getpid(), ++ts_kafka_seq);
    snprintf(s->t_commands, sizeof(s->t_commands), "%s.payments.commands", pre);
    snprintf(s->t_results, sizeof(s->t_results), "%s.payments.results", pre);
    snprintf(s->t_balances, sizeof(s->t_balances), "%s.payments.balances", pre);
    snprintf(s->t_dlq, sizeof(s->t_dlq), "%s.payments.commands.dlq", pre);
    snprintf(s->group, sizeof(s->group), "%s.payworker", pre);
    const char *cparts = getenv("PAYW_STACK_COMMANDS_PARTITIONS");
    const char *names[4] = {s->t_commands, s->t_results, s->t_balances, s->t_dlq};
    int parts[4] = {cparts != NULL ? (int)strtol(cparts, NULL, 10) : 6, 6, 6, 6};
    ts_topics_create(names, parts, 4);
    setenv("PAYW_TOPIC_COMMANDS", s->t_commands, 1);
    setenv("PAYW_TOPIC_RESULTS", s->t_results, 1);
    setenv("PAYW_TOPIC_BALANCES", s->t_balances, 1);
    setenv("PAYW_TOPIC_DLQ", s->t_dlq, 1);
    setenv("PAYW_GROUP", s->group, 1);
}

void stack_up(stack *s)
{
    char path[512], line[1024];
    memset(s, 0, sizeof(*s));
    it_test_begin();
    assert_int_equal(it_tmpdir(s->dir, sizeof(s->dir), "worker"), 0);
    s->redis_port = it_free_port();
    start_redis(s);
    snprintf(s->redis_url, sizeof(s->redis_url), "redis://127.0.0.1:%d", s->redis_port);

    /* PAYW_STACK_COMMANDS_PARTITIONS: the commands topic's partition count
     * (devkafka's default, 6, otherwise) */
    const char *cparts = getenv("PAYW_STACK_COMMANDS_PARTITIONS");
    char ctopic[64];
    snprintf(ctopic, sizeof(ctopic), "--topic=payments.commands:%s", cparts != NULL ? cparts : "6");
    char *dk[] = {cparts != NULL ? ctopic : NULL, NULL};
    stack_broker(s, &s->dk, dk);

    it_build_path(path, sizeof(path), "ops/provider-sim");
    const char *ninv = getenv("PAYW_STACK_INVOICES"); /* per provider */
    char *sim[] = {path, "--port", "0", "--invoices", (char *)(ninv != NULL ? ninv : "3000"), NULL};
    assert_int_equal(it_spawn(&s->sim, "provider-sim", sim, NULL), 0);
    assert_int_equal(it_read_line(&s->sim, line, sizeof(line), 20000), 0);
    snprintf(s->sim_url, sizeof(s->sim_url), "http://%.50s", line + strlen("listening="));

    env_add(s, "PAYW_BROKERS=%s%s", s->bootstrap, "");
    env_add(s, "PAYW_REDIS_URL=%s%s", s->redis_url, "");
    static const char *const provs[] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};
    for (int i = 0; i < 5; i++) {
        char v[128];
        snprintf(v, sizeof(v), "PAYW_%s_URL", provs[i]);
        env_add(s, "%s=%s", v, s->sim_url);
    }
    env_add(s, "PAYW_PAYOFIN_API_KEY=%s%s", "sim-payofin-api-key", "");
    env_add(s, "PAYW_PAYOFIN_SECRET_KEY=%s%s", "sim-payofin-secret-key", "");
    env_add(s, "PAYW_SIPAY_CLIENT_ID=%s%s", "sim-sipay-client", "");
    env_add(s, "PAYW_SIPAY_CLIENT_SECRET=%s%s", "sim-sipay-secret", "");
    env_add(s, "PAYW_PAYWALL_API_KEY_PUBLIC=%s%s", "sim-paywall-key-public", "");
    env_add(s, "PAYW_PAYWALL_API_CLIENT_PUBLIC=%s%s", "sim-paywall-client-public", "");
    env_add(s, "PAYW_ISBANK_CLIENT_ID=%s%s", "sim-isbank-client", "");
    env_add(s, "PAYW_ISBANK_CLIENT_SECRET=%s%s", "sim-isbank-secret", "");
    env_add(s, "PAYW_PAYONE_MERCHANT_ID=%s%s", "testMercahnt", "");
    env_add(s, "PAYW_PAYONE_AUTHENTICATION_TOKEN=%s%s", "N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm", "");
    env_add(s, "PAYW_PAYOFIN_TIMEOUT_MS=%s%s", "2000", "");
    env_add(s, "PAYW_LOCK_MARGIN_MS=%s%s", "1000", "");
    env_add(s, "PAYW_BUSY_RETRY_MS=%s%s", "100", "");
    env_add(s, "PAYW_COMMIT_INTERVAL_MS=%s%s", "200", "");
    /* librdkafka properties pass through: a killed member leaves the group
     * after 6 s instead of the default 45 s */
    env_add(s, "PAYW_KAFKA_SESSION_TIMEOUT_MS=%s%s", "6000", "");
    env_add(s, "PAYW_KAFKA_HEARTBEAT_INTERVAL_MS=%s%s", "1000", "");
}

void worker_up(stack *s, int i)
{
    worker_up_with(s, i, 0);
}

void worker_up_with(stack *s, int i, int valgrind)
{
    char cg_out[600];
    snprintf(cg_out, sizeof(cg_out), "--callgrind-out-file=%s/callgrind.%d.out", s->dir, i);
    char path[512], addr[64];
    s->metrics_port[i] = it_free_port();
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", s->metrics_port[i]);
    char *env[72];
    int n = 0;
    for (; s->env[n] != NULL; n++)
        env[n] = s->env[n];
    char httpaddr[96];
    snprintf(httpaddr, sizeof(httpaddr), "PAYW_HTTP_ADDR=%s", addr);
    env[n++] = httpaddr;
    env[n] = NULL;
    it_build_path(path, sizeof(path), "worker/payworker");
    char *argv[] = {path, NULL};
    char *vg[] = {"valgrind",
                  "-q",
                  "--leak-check=full",
                  "--show-leak-kinds=definite,indirect",
                  "--errors-for-leak-kinds=definite,indirect",
                  "--error-exitcode=97",
                  path,
                  NULL};
    char *cg[] = {"valgrind", "--tool=callgrind", cg_out, path, NULL};
    char **run = valgrind == 2 ? cg : valgrind ? vg : argv;
    assert_int_equal(it_spawn(&s->w[i], i == 0 ? "worker0" : "worker1", run, env), 0);
}

void stack_down(stack *s)
{
    for (int i = 0; i < 2; i++)
        if (s->w[i].pid > 0)
            assert_int_equal(it_stop(&s->w[i], SIGTERM, 30000), 0); /* drained, exit 0 */
    if (s->sim.pid > 0)
        it_stop(&s->sim, SIGTERM, 10000);
    if (s->dk.pid > 0)
        it_stop(&s->dk, SIGTERM, 10000);
    if (s->redis.pid > 0)
        it_stop(&s->redis, SIGTERM, 10000);
    memset(&s->w, 0, sizeof(s->w));
    s->sim.pid = s->dk.pid = s->redis.pid = 0;
    it_rmdir(s->dir);
}

/* Sends JSON command lines (raw: unchecked and unkeyed). */
void send_lines(stack *s, const char *const *cmds, int n, int raw)
{
    char file[512], path[512], err[4096];
    int got;
    snprintf(file, sizeof(file), "%s/cmds-%lld.jsonl", s->dir, (long long)it_now_ms());
    FILE *f = fopen(file, "w");
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", cmds[i]);
    fclose(f);
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path, "send", "-q", "-b", s->bootstrap, raw ? "--raw" : "-q", file, NULL};
    int rc = it_run(argv, NULL, NULL, 0, 0, &got, err, sizeof(err), 60000);
    if (rc != 0)
        fail_msg("payctl send: %d: %s", rc, err);
}

void produce_at(stack *s, int32_t partition, const char *const *msgs, const size_t *lens, int n)
{
    rd_kafka_t *prod = it_kafka_new(RD_KAFKA_PRODUCER, it_kafka_conf(s->bootstrap, NULL));
    for (int i = 0; i < n; i++) {
        rd_kafka_resp_err_t err;
        size_t len = lens != NULL ? lens[i] : strlen(msgs[i]);
        do {
            err = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(s->t_commands),
                                    RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_VALUE((void *)msgs[i], len),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(prod, 100);
        } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(prod, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(prod);
}

/* Up to max events of `what` from the beginning within wait_ms, as an array;
 * the payctl exit status in *rc, its stderr in err. */
static json_object *tail_read(stack *s, const char *what, int max, int wait_ms, int *rc, char *err,
                              size_t errcap)
{
    char path[512], count[16], wait[16];
    int got = 0;
    snprintf(count, sizeof(count), "%d", max);
    snprintf(wait, sizeof(wait), "%d", wait_ms);
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path,  "tail", "-b", s->bootstrap, "-B", "-n",
                    count, "-w",   wait, (char *)what, NULL};
    char *lines = malloc((size_t)max * LINE);
    *rc = it_run(argv, NULL, lines, LINE, max, &got, err, errcap, wait_ms + 30000);
    json_object *arr = json_object_new_array();
    for (int i = 0; i < got; i++)
        json_object_array_add(arr, tu_json(lines + (size_t)i * LINE));
    free(lines);
    return arr;
}

/* Reads n events of `what` from the beginning; returns them (caller puts). */
json_object *tail(stack *s, const char *what, int n, int timeout_ms)
{
    char err[4096];
    int rc;
    json_object *arr = tail_read(s, what, n, timeout_ms, &rc, err, sizeof(err));
    int got = (int)json_object_array_length(arr);
    if (got != n)
        fail_msg("tail %s: %d of %d events (rc %d): %s", what, got, n, rc, err);
    return arr;
}

/* Every event of the topic that arrives within wait_ms (at most max); never
 * fails the test: the caller counts. Events are delivered at least once, so
 * a redelivered command may appear twice (with the same event_id). */
json_object *tail_upto(stack *s, const char *what, int max, int wait_ms)
{
    char err[4096];
    int rc;
    return tail_read(s, what, max, wait_ms, &rc, err, sizeof(err));
}

/* Distinct command ids starting with prefix that have an event of status. */
int count_distinct(json_object *events, const char *prefix, const char *status)
{
    int n = 0;
    size_t len = json_object_array_length(events);
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(events, i);
        const char *id = json_object_get_string(pv_json_member(e, "command_id"));
        if (id == NULL || (prefix != NULL && strncmp(id, prefix, strlen(prefix)) != 0) ||
            strcmp(json_object_get_string(pv_json_member(e, "status")), status) != 0)
            continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++) {
            json_object *o = json_object_array_get_idx(events, k);
            seen = strcmp(json_object_get_string(pv_json_member(o, "command_id")), id) == 0 &&
                   strcmp(json_object_get_string(pv_json_member(o, "status")), status) == 0;
        }
        n += !seen;
    }
    return n;
}

/* The topic's events once want distinct commands (id prefix) have an event
 * of status, or after about 60 s (the caller asserts the count). */
json_object *tail_distinct(stack *s, const char *what, const char *prefix, const char *status,
                           int want)
{
    json_object *res = tail_upto(s, what, want + 200, 5000);
    for (int i = 0; i < 12 && count_distinct(res, prefix, status) < want; i++) {
        json_object_put(res);
        res = tail_upto(s, what, want + 200, 5000);
    }
    return res;
}

int count_status(json_object *events, const char *prefix, const char *status)
{
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(events); i++) {
        json_object *e = json_object_array_get_idx(events, i);
        const char *id = json_object_get_string(pv_json_member(e, "command_id"));
        if ((prefix == NULL || strncmp(id != NULL ? id : "", prefix, strlen(prefix)) == 0) &&
            strcmp(json_object_get_string(pv_json_member(e, "status")), status) == 0)
            n++;
    }
    return n;
}

/* Milliseconds since the epoch (created_at: a command older than the
 * store's retention is refused). */
long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A copy of text with each "@NOW" replaced by wall_ms(). */
char *stamp_now(const char *text)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", wall_ms());
    size_t n = 0;
    for (const char *p = strstr(text, "@NOW"); p != NULL; p = strstr(p + 4, "@NOW"))
        n++;
    char *out = malloc(strlen(text) + n * strlen(now) + 1), *o = out;
    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, "@NOW", 4) == 0) {
            memcpy(o, now, strlen(now));
            o += strlen(now);
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

char *command(const char *id, const char *provider, const char *request)
{
    char *out = malloc(4096);
    snprintf(out, 4096,
             "{\"command_id\": \"%s\", \"provider\": \"%s\", \"created_at\": %lld, "
             "\"merchant\": \"m1\", \"request\": %s}",
             id, provider, wall_ms(), request);
    return out;
}

char *contract_request(const char *dir)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "%s/contract.json", dir);
    char *text = tu_fixture(rel, NULL);
    json_object *d = tu_json(text);
    char *req = strdup(pv_json_dump(pv_json_member(d, "command"), NULL));
    json_object_put(d);
    free(text);
    return req;
}

void start_redis_aof(stack *s, const char *dir)
{
    char port[16], logfile[512];
    snprintf(port, sizeof(port), "%d", s->redis_port);
    snprintf(logfile, sizeof(logfile), "%s/redis.log", dir);
    char *argv[] = {
        "redis-server", "--port", port,           "--bind", "127.0.0.1",     "--dir",  (char *)dir,
        "--save",       "",       "--appendonly", "yes",    "--appendfsync", "always", "--logfile",
        logfile,        NULL};
    redis_up(s, argv, 200, "AOF");
}

int stack_setup(void **state)
{
    *state = calloc(1, sizeof(stack));
    return *state != NULL ? 0 : -1;
}

/* Kills whatever a failed test left running, then the bookkeeping. */
int stack_teardown(void **state)
{
    stack *s = *state;
    for (int i = 0; i < 3; i++)
        if (s->w[i].pid > 0)
            it_stop(&s->w[i], SIGKILL, 5000);
    if (s->sim.pid > 0)
        it_stop(&s->sim, SIGKILL, 5000);
    if (s->dk.pid > 0)
        it_stop(&s->dk, SIGKILL, 5000);
    if (s->redis.pid > 0)
        it_stop(&s->redis, SIGKILL, 5000);
    it_test_end();
    free(s);
    return 0;
}
