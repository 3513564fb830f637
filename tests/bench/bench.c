/* bench.c -- `make bench`: how fast, how cheap, how it scales.
 *
 * DESIGN
 * Every scenario runs on a fresh private stack (teststack.h: redis-server,
 * devkafka, provider-sim, one or two workers on free 127.0.0.1 ports).
 * Commands are a mix of the five providers built from the simulator's own
 * invoices (mostly unique, 5% second commands for an invoice already sent),
 * produced straight to the commands topic with librdkafka. Provider latency
 * is the simulator's latency fault.
 *  - preloaded runs: all commands are on the topic before the workers start;
 *    throughput is counted from the first result to the last, so the group
 *    join does not count;
 *  - the open-loop run sends at a fixed rate (half the best preloaded rate)
 *    to warm workers; end-to-end latency is result observed minus send time
 *    (the harness produces with linger.ms=0: its own batching is not the
 *    worker's latency).
 * Worker CPU is utime+stime from /proc/PID/stat at the end of the run divided
 * by the commands (start-up included); peak RSS is VmHWM. "cores" is the CPU
 * of every process of the run (stack, workers and the bench itself) from the
 * first result to the last over that wall time: how busy the machine was.
 * Output: a table on stdout and tests/bench/results/latest.csv (partial.csv
 * for --quick or PAYW_BENCH_ONLY runs); `make bench` draws latest.png.
 *
 *   bench [--quick]    --quick: a tenth of the commands (a smoke run)
 */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../integration/teststack.h"
#include "sc_codec.h"

typedef struct scenario {
    const char *name;
    int latency_ms;
    int inflight;
    int workers;
    int n;         /* commands (preloaded), or seconds of sending (open loop) */
    int open_rate; /* > 0: open loop at this many commands per second */
    int callgrind; /* the worker runs under callgrind: count its instructions */
} scenario;

typedef struct outcome {
    double rate;               /* commands per second, first to last result */
    double p50, p90, p99, max; /* ms, open loop only */
    double w50, w99;           /* ms, send to the event's processed_at (open loop) */
    double cpu_us;             /* worker CPU per command */
    long rss_kb;               /* largest worker VmHWM */
    double cores;              /* CPU of every process of the run / wall time */
    int results;
    double instructions; /* per command, start-up included (callgrind runs) */
} outcome;

/* The worker's instruction count from callgrind's output ("summary: N"), 0
 * when there is none. */
static double callgrind_total(stack *s)
{
    char path[600], line[256];
    snprintf(path, sizeof(path), "%s/callgrind.0.out", s->dir);
    FILE *f = fopen(path, "r");
    double total = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "summary:", 8) == 0 || strncmp(line, "totals:", 7) == 0)
            total = strtod(line + (line[0] == 's' ? 8 : 7), NULL);
    if (f != NULL)
        fclose(f);
    return total;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const provs[] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};

/* One request per invoice of every provider, from the simulator. */
static char **invoice_requests(stack *s, int *count)
{
    int cap = 1024, n = 0;
    char **out = malloc((size_t)cap * sizeof(*out));
    json_object *lists[5];
    char path[64];
    size_t len[5], most = 0;
    for (int p = 0; p < 5; p++) {
        snprintf(path, sizeof(path), "/_sim/invoices?provider=%s", provs[p]);
        lists[p] = sim_get(s, path);
        json_object *arr = pv_json_member(lists[p], p == 2 ? "payments" : "invoices");
        len[p] = arr != NULL ? json_object_array_length(arr) : 0;
        if (p == 3)
            len[p] = len[0]; /* İş Bankası: payment references are ours */
        if (len[p] > most)
            most = len[p];
    }
    for (size_t i = 1; i < most; i++) { /* invoice 0 is the seed's, paid by nobody yet */
        for (int p = 0; p < 5; p++) {
            if (i >= len[p])
                continue;
            json_object *arr = pv_json_member(lists[p], p == 2 ? "payments" : "invoices");
            json_object *inv = p == 3 ? NULL : json_object_array_get_idx(arr, i);
            char req[1024];
            switch (p) {
            case 0:
                snprintf(req, sizeof(req), "{\"invoiceQueryId\": %lld}",
                         (long long)json_object_get_int64(pv_json_member(inv, "invoiceQueryId")));
                break;
            case 1: {
                const char *amt = json_object_get_string(pv_json_member(inv, "invoice_amount"));
                snprintf(req, sizeof(req),
                         "{\"account_type_id\": 1, \"account_number\": \"28XX01\", "
                         "\"wallet_number\": \"25XX25\", \"inv_payment_transaction_query_oid\": "
                         "\"%s\", \"invoice_amount\": \"%s\", \"payment_amount\": \"%s\", "
                         "\"product_oid\": \"%s\", \"subscriber_no\": \"%s\", \"bill_term\": "
                         "\"%s\", \"bill_no\": \"%s\"}",
                         json_object_get_string(
                             pv_json_member(inv, "inv_payment_transaction_query_oid")),
                         amt, amt, json_object_get_string(pv_json_member(inv, "product_oid")),
                         json_object_get_string(pv_json_member(inv, "subscriber_no")),
                         json_object_get_string(pv_json_member(inv, "bill_term")),
                         json_object_get_string(pv_json_member(inv, "bill_no")));
                break;
            }
            case 2:
                snprintf(req, sizeof(req), "{\"paymentid\": %lld}",
                         (long long)json_object_get_int64(pv_json_member(inv, "paymentid")));
                break;
            case 3:
                snprintf(req, sizeof(req),
                         "{\"service_id\": 10065, \"payment_reference\": \"BENCH-%zu\", "
                         "\"amount\": 950, \"currency_code\": \"TRY\", \"basic_input_values\": "
                         "[{\"name\": \"SubscriberName\", \"value\": \"Ayşe Yılmaz\"}, "
                         "{\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"12345678901\"}]}",
                         i);
                break;
            default:
                snprintf(req, sizeof(req),
                         "{\"invoicesDetails\": [{\"invoiceID\": \"%s\", \"amount\": \"%s\", "
                         "\"currency\": \"%s\"}]}",
                         json_object_get_string(pv_json_member(inv, "invoiceID")),
                         json_object_get_string(pv_json_member(inv, "amount")),
                         json_object_get_string(pv_json_member(inv, "currency")));
                break;
            }
            if (n == cap) {
                cap *= 2;
                out = realloc(out, (size_t)cap * sizeof(*out));
            }
            char *line = malloc(2048);
            snprintf(line, 2048, "%s|%s", provs[p], req);
            out[n++] = line;
        }
    }
    for (int p = 0; p < 5; p++)
        json_object_put(lists[p]);
    *count = n;
    return out;
}

static void produce(rd_kafka_t *prod, const char *id, const char *preq, int64_t created)
{
    char provider[16], body[4096];
    const char *bar = strchr(preq, '|');
    snprintf(provider, sizeof(provider), "%.*s", (int)(bar - preq), preq);
    int n = snprintf(body, sizeof(body),
                     "{\"command_id\": \"%s\", \"provider\": \"%s\", \"created_at\": %lld, "
                     "\"request\": %s}",
                     id, provider, (long long)created, bar + 1);
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(prod, RD_KAFKA_V_TOPIC("payments.commands"),
                              RD_KAFKA_V_KEY(bar + 1, strlen(bar + 1)), /* one invoice, one key */
                              RD_KAFKA_V_VALUE(body, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return;
        rd_kafka_poll(prod, 10);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void proc_usage(pid_t pid, double *cpu_s, long *rss_kb)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        char *p = strrchr(buf, ')'); /* fields after the command name */
        unsigned long ut = 0, st = 0;
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            *cpu_s += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    while (f != NULL && fgets(buf, sizeof(buf), f) != NULL) {
        long kb;
        if (sscanf(buf, "VmHWM: %ld kB", &kb) == 1 && kb > *rss_kb)
            *rss_kb = kb;
    }
    if (f != NULL)
        fclose(f);
}

/* CPU seconds of the whole run: the stack's processes and the bench itself. */
static double run_cpu(const stack *s)
{
    double cpu = 0;
    long rss = 0;
    const it_proc *ps[] = {&s->redis, &s->dk, &s->sim, &s->w[0], &s->w[1]};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        if (ps[i]->pid > 0)
            proc_usage(ps[i]->pid, &cpu, &rss);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return cpu + (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static outcome run(const scenario *sc, int quick)
{
    stack s;
    outcome o = {0};
    char buf[64], faults[128];
    int ninv;
    stack_up(&s);
    snprintf(buf, sizeof(buf), "%d", sc->inflight);
    env_set(&s, "PAYW_MAX_INFLIGHT", buf);
    env_set(&s, "PAYW_LOG_LEVEL", "warn");
    /* devkafka (librdkafka's mock cluster) holds a Fetch that finds no data
     * for the whole fetch.wait.max.ms even when a message arrives meanwhile
     * (rdkafka_mock_handlers.c: "isn't strictly correct"); a real broker
     * answers as soon as there is data. With the worker's 500 ms default a
     * command produced to an idle partition waits up to 500 ms for nothing
     * but the mock (open loop p99 688 ms against 92 ms with 10 ms). The
     * bench's own consumer uses 10 ms for the same reason. */
    env_set(&s, "PAYW_KAFKA_FETCH_WAIT_MAX_MS", "10");
    /* "NAME=VALUE NAME=VALUE": settings for the workers */
    const char *extra = getenv("PAYW_BENCH_WORKER_ENV");
    while (extra != NULL && *extra != '\0') {
        size_t len = strcspn(extra, " ");
        char pair[256], *eq;
        snprintf(pair, sizeof(pair), "%.*s", (int)len, extra);
        if ((eq = strchr(pair, '=')) != NULL) {
            *eq = '\0';
            env_set(&s, pair, eq + 1);
        }
        extra += len + strspn(extra + len, " ");
    }
    for (int p = 0; p < 5; p++) {
        char name[64];
        snprintf(name, sizeof(name), "PAYW_%s_CONCURRENCY", provs[p]);
        env_set(&s, name, "4096");
    }
    snprintf(faults, sizeof(faults), "{\"provider\": \"ALL\", \"latency_ms\": %d}", sc->latency_ms);
    sim_faults(&s, faults);
    char **reqs = invoice_requests(&s, &ninv);
    static const char *const pkv[] = {"linger.ms", "5", "queue.buffering.max.messages", "1000000",
                                      NULL};
    rd_kafka_t *prod = it_kafka_new(RD_KAFKA_PRODUCER, it_kafka_conf(s.bootstrap, pkv));
    int n = sc->open_rate > 0 ? sc->open_rate * sc->n : (quick ? sc->n / 10 : sc->n);
    if (n < 10)
        n = 10;
    char id[64];
    if (sc->open_rate == 0) {
        for (int i = 0; i < n; i++) {
            int dup = i > 20 && i % 20 == 0; /* 5%: another command, same invoice */
            snprintf(id, sizeof(id), "b-%d", i);
            /* created now: a command older than the store's retention is refused */
            produce(prod, id, reqs[(dup ? i - 7 : i) % ninv], now_ms());
        }
        rd_kafka_flush(prod, 60000);
    }
    for (int w = 0; w < sc->workers; w++)
        worker_up_with(&s, w, sc->callgrind ? 2 : 0);

    static const char *const ckv[] = {"group.id", "bench-reader",      "auto.offset.reset",
                                      "earliest", "fetch.wait.max.ms", "10",
                                      NULL};
    rd_kafka_t *cons = it_kafka_new(RD_KAFKA_CONSUMER, it_kafka_conf(s.bootstrap, ckv));
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, "payments.results", RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(cons, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    sc_codec *codec = sc_codec_new(NULL);

    double *lat = malloc((size_t)n * sizeof(double));
    double *wlat = malloc((size_t)n * sizeof(double));
    int nlat = 0, sent = 0;
    int64_t first = 0, last = 0, start = now_ms(), deadline = start + 600000;
    if (sc->open_rate > 0) {
        /* warm up: the workers have joined once a first command is answered */
        produce(prod, "warm", reqs[0], now_ms());
        rd_kafka_flush(prod, 10000);
    }
    int64_t send_start = 0;
    double cpu_first = 0;
    while (o.results < n + (sc->open_rate > 0) && now_ms() < deadline) {
        if (sc->open_rate > 0 && send_start > 0 && sent < n) {
            int64_t due = (now_ms() - send_start) * sc->open_rate / 1000;
            for (; sent < n && sent <= due; sent++) {
                snprintf(id, sizeof(id), "o-%lld-%d", (long long)now_ms(), sent);
                produce(prod, id, reqs[(sent + 1) % ninv], now_ms());
            }
            rd_kafka_poll(prod, 0);
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 1);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            int64_t t = now_ms();
            json_object *ev = NULL;
            if (sc_event_to_json(codec, SC_RESULT, m->payload, m->len, &ev, NULL) == PV_OK) {
                const char *cid = json_object_get_string(pv_json_member(ev, "command_id"));
                if (cid != NULL && strcmp(cid, "warm") == 0) {
                    send_start = now_ms();
                } else if (cid != NULL && strncmp(cid, "o-", 2) == 0) {
                    int64_t at = strtoll(cid + 2, NULL, 10);
                    wlat[nlat] =
                        (double)(json_object_get_int64(pv_json_member(ev, "processed_at")) - at);
                    lat[nlat++] = (double)(t - at);
                }
                json_object_put(ev);
            }
            if (first == 0) {
                first = t;
                cpu_first = run_cpu(&s);
            }
            last = t;
            o.results++;
        }
        rd_kafka_message_destroy(m);
    }
    if (sc->open_rate > 0)
        o.results--; /* the warm-up */
    o.rate = last > first ? (double)(o.results - 1) * 1000.0 / (double)(last - first) : 0;
    if (sc->open_rate > 0)
        o.rate = (double)o.results * 1000.0 / (double)(last - send_start + 1);
    if (nlat > 0) {
        qsort(lat, (size_t)nlat, sizeof(double), cmp_double);
        o.p50 = lat[nlat / 2];
        o.p90 = lat[(int)(nlat * 0.9)];
        o.p99 = lat[(int)(nlat * 0.99)];
        o.max = lat[nlat - 1];
        qsort(wlat, (size_t)nlat, sizeof(double), cmp_double);
        o.w50 = wlat[nlat / 2];
        o.w99 = wlat[(int)(nlat * 0.99)];
    }
    if (last > first)
        o.cores = (run_cpu(&s) - cpu_first) * 1000.0 / (double)(last - first);
    double cpu = 0;
    for (int w = 0; w < sc->workers; w++)
        proc_usage(s.w[w].pid, &cpu, &o.rss_kb);
    o.cpu_us = o.results > 0 ? cpu * 1e6 / o.results : 0;
    free(lat);
    free(wlat);
    sc_codec_free(codec);
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    rd_kafka_destroy(prod);
    for (int i = 0; i < ninv; i++)
        free(reqs[i]);
    free(reqs);
    if (sc->callgrind) {
        /* callgrind writes its count when the worker exits, into the
         * stack's directory, which stack_down removes */
        assert_int_equal(it_stop(&s.w[0], SIGTERM, 120000), 0);
        s.w[0].pid = 0;
        o.instructions = callgrind_total(&s) / (o.results > 0 ? o.results : 1);
        /* PAYW_BENCH_CALLGRIND_OUT=PATH keeps callgrind's file for
         * callgrind_annotate */
        const char *keep = getenv("PAYW_BENCH_CALLGRIND_OUT");
        char from[600];
        snprintf(from, sizeof(from), "%s/callgrind.0.out", s.dir);
        if (keep != NULL && rename(from, keep) != 0)
            fprintf(stderr, "bench: cannot keep %s as %s\n", from, keep);
    }
    stack_down(&s);
    if (getenv("PAYW_BENCH_KEEP_LOGS") == NULL)
        it_test_pass(); /* the scenario ran: its processes' logs are removed */
    it_test_end();
    return o;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    scenario scs[] = {
        {"0ms  inflight=1024 1 worker", 0, 1024, 1, 20000, 0, 0},
        {"50ms inflight=1    1 worker", 50, 1, 1, 200, 0, 0},
        {"50ms inflight=64   1 worker", 50, 64, 1, 5000, 0, 0},
        {"50ms inflight=256  1 worker", 50, 256, 1, 10000, 0, 0},
        {"50ms inflight=1024 1 worker", 50, 1024, 1, 20000, 0, 0},
        {"50ms inflight=1024 2 workers", 50, 1024, 2, 20000, 0, 0},
        {"50ms open loop (half best rate)", 50, 1024, 1, 10, 1, 0}, /* rate set below */
    };
    size_t nsc = sizeof(scs) / sizeof(scs[0]);
    outcome res[sizeof(scs) / sizeof(scs[0])];
    setenv("PAYW_STACK_INVOICES", quick ? "1000" : "5000", 1);
    const char *only = getenv("PAYW_BENCH_ONLY");    /* run one scenario, by index */
    const char *cg = getenv("PAYW_BENCH_CALLGRIND"); /* instructions per command */
    if (cg != NULL) {
        /* the 0 ms mix, one worker under callgrind: the stable measure of
         * the worker's cost (timings on a shared VM move by a quarter) */
        scenario one = scs[0];
        one.n = (int)strtol(cg, NULL, 10) > 0 ? (int)strtol(cg, NULL, 10) : 2000;
        one.callgrind = 1;
        fprintf(stderr, "bench: %s, %d commands, worker under callgrind ...\n", one.name, one.n);
        outcome r = run(&one, 0);
        printf("instructions per command: %.0f (callgrind, %d commands of the 0 ms mix, start-up "
               "included)\n",
               r.instructions, r.results);
        return r.results == one.n && r.instructions > 0 ? 0 : 1;
    }
    char spread[256] = "";
    for (size_t i = 0; i < nsc; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        if (only != NULL && (size_t)strtol(only, NULL, 10) != i)
            continue;
        if (scs[i].open_rate > 0) {
            double best = res[4].rate > 0 ? res[4].rate : 100;
            scs[i].open_rate = (int)(best / 2);
            if (getenv("PAYW_BENCH_OPEN_RATE") != NULL) /* when scenario 4 did not run */
                scs[i].open_rate = (int)strtol(getenv("PAYW_BENCH_OPEN_RATE"), NULL, 10);
            if (quick)
                scs[i].n = 3;
        }
        fprintf(stderr, "bench: %s ...\n", scs[i].name);
        res[i] = run(&scs[i], quick);
        if (i == 0 && !quick) {
            /* CPU per command on a shared 2-core VM moves by a quarter from
             * run to run: the 0 ms scenario runs three times, the median
             * (by CPU per command) is recorded and the spread printed */
            outcome r[3] = {res[0]};
            for (int k = 1; k < 3; k++) {
                fprintf(stderr, "bench: %s (again) ...\n", scs[i].name);
                r[k] = run(&scs[i], quick);
            }
            for (int a = 0; a < 3; a++) /* sort the three by CPU */
                for (int b = a + 1; b < 3; b++)
                    if (r[b].cpu_us < r[a].cpu_us) {
                        outcome t = r[a];
                        r[a] = r[b];
                        r[b] = t;
                    }
            res[0] = r[1];
            snprintf(spread, sizeof(spread),
                     "0 ms CPU per command over 3 runs: %.1f / %.1f / %.1f us (min / median / "
                     "max), %.0f / %.0f / %.0f commands/s",
                     r[0].cpu_us, r[1].cpu_us, r[2].cpu_us, r[0].rate, r[1].rate, r[2].rate);
        }
    }
    char host[64] = "?";
    gethostname(host, sizeof(host) - 1);
    printf("\npayworker bench (%s, %ld cores)%s\n", host, sysconf(_SC_NPROCESSORS_ONLN),
           quick ? " --quick" : "");
    printf("%-34s %10s %8s %8s %8s %8s %10s %9s %6s\n", "scenario", "cmds/s", "p50 ms", "p90 ms",
           "p99 ms", "max ms", "cpu us/cmd", "rss MB", "cores");
    /* a partial run (--quick, one scenario) must not replace the recorded one */
    FILE *csv = fopen(quick || only != NULL ? "tests/bench/results/partial.csv"
                                            : "tests/bench/results/latest.csv",
                      "w");
    if (csv != NULL)
        fprintf(
            csv,
            "scenario,latency_ms,inflight,workers,results,cmds_per_s,p50_ms,p90_ms,"
            "p99_ms,max_ms,cpu_us_per_cmd,rss_kb,cores_busy,to_worker_p50_ms,to_worker_p99_ms\n");
    for (size_t i = 0; i < nsc; i++) {
        printf("%-34s %10.0f %8.1f %8.1f %8.1f %8.1f %10.1f %9.1f %6.2f\n", scs[i].name,
               res[i].rate, res[i].p50, res[i].p90, res[i].p99, res[i].max, res[i].cpu_us,
               (double)res[i].rss_kb / 1024.0, res[i].cores);
        if (csv != NULL)
            fprintf(csv, "\"%s\",%d,%d,%d,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%ld,%.2f,%.1f,%.1f\n",
                    scs[i].name, scs[i].latency_ms, scs[i].inflight, scs[i].workers, res[i].results,
                    res[i].rate, res[i].p50, res[i].p90, res[i].p99, res[i].max, res[i].cpu_us,
                    res[i].rss_kb, res[i].cores, res[i].w50, res[i].w99);
    }
    if (csv != NULL)
        fclose(csv);
    for (size_t i = 0; i < nsc; i++)
        if (res[i].w50 > 0)
            printf("\n%s: send -> the worker's processed_at p50 %.0f / p99 %.0f ms; the rest "
                   "is the worker's produce (linger, acks) and the bench's fetch\n",
                   scs[i].name, res[i].w50, res[i].w99);
    if (spread[0] != '\0')
        printf("\n%s\n", spread);
    if (res[1].rate > 0)
        printf("\n50 ms, 1 worker: inflight 1024 / inflight 1 = %.0fx\n",
               res[4].rate / res[1].rate);
    return 0;
}
