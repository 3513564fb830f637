/* chaos.c -- `make chaos`: the project's own fault test (issue 10, item 10).
 *
 * DESIGN
 * One private stack (teststack.h) on free 127.0.0.1 ports: devkafka (one
 * broker, six partitions per topic), provider-sim, a redis-server of our own
 * with AOF (appendonly yes, appendfsync always, its own directory) and three
 * payworker processes in one consumer group. The workers are a black box:
 * their binary, their environment, their Kafka topics, payctl.
 *
 * Load. Commands for the simulator's own invoices of all five providers
 * (weighted to those that pay; Paywall only reads), produced as JSON with
 * librdkafka, keyed by the lock key PROVIDER:query_id:
 *  - one first command per invoice, spread over the first part of the run;
 *  - a second command (another command_id) for some invoices, half with the
 *    same request, half with other parameters (Payofin partialAmount, Sipay
 *    payment_amount, İş Bankası amount, PayOne amount), soon after the first
 *    or later;
 *  - replays: the same command bytes again, soon (0.2-5 s) or late (>= 60 s
 *    in the full run, >= 15 s in the quick one);
 *  - expires_at on some commands: already expired when sent, expiring during
 *    the run (1-10 s after sending), or far in the future.
 * Every choice comes from one splitmix64 stream (PAYW_CHAOS_SEED), so a run
 * sends the same commands in the same order at the same offsets; what the
 * faults hit depends on timing and is not reproducible.
 *
 * Faults while the load runs:
 *  - kill -9 of a random worker every 2-8 s, restarted 0.3-1.5 s later;
 *  - provider faults on every payment endpoint (provider-sim, only_payments):
 *    rate_blackhole (paid, then no answer), rate_paid_5xx (paid, then 500),
 *    rate_5xx (500, nothing paid), rate_reset (RST, nothing processed),
 *    rate_reset_after (paid, then RST), plus latency so that calls are in
 *    flight when a worker dies;
 *  - kill -9 of redis-server, restarted on the same port from its AOF;
 *  - the broker down for 5 s (devkafka's `broker down all` / `broker up all`).
 * Then the faults stop and everything settles: the loop waits (bounded)
 * until every delivered command has a result and the group's committed
 * offsets reach the end of the commands topic, reads on for a quiet period,
 * stops the workers with SIGTERM and reads the results topic to its end.
 *
 * The checker reads every result event (`payctl tail -B -m results`, one
 * JSON object per line, running from the start; partition/offset pairs
 * de-duplicate re-reads), the simulator's ledger (GET /_sim/ledger, paged)
 * and stats (GET /_sim/stats), `payctl lookup` for the invoices it must ask
 * the store about, and the group's committed offsets (librdkafka committed()
 * and query_watermark_offsets with the workers' group id). It prints one
 * line per check with its figure and goal, counts by status, and last the
 * line `N passed, N failed`; it exits 1 when a check failed.
 *
 * Attribution (check 4): a ledger entry's request_id is the X-Request-Id of
 * the call that paid, the command_id when the worker sends it. Without one,
 * an invoice that only one command_id was ever sent for can only have been
 * paid by that command (nobody else pays through the simulator); any other
 * entry is counted as unattributed and said so.
 *
 * Self-test (PAYW_CHAOS_BREAK, comma-separated): `drop` ignores the events
 * of every 40th command (check 2), `fakesuccess` books a SUCCEEDED for
 * an unpaid command (check 3), `foreignpay` pays an unpaid Payofin invoice
 * straight at the simulator with one of its commands' id as X-Request-Id
 * (checks 4 and 6), `flip` books a DECLINED after a SUCCEEDED (check 5),
 * `doublepay` pays an already paid invoice at the simulator (check 1),
 * `lag` stops the workers and produces one more command before the lag is
 * read (check 7), `crash` sends one worker SIGSEGV as a crash would
 * (check 8).
 *
 * Logs: every process's log goes to a private directory ($TMPDIR/payw-chaos-
 * XXXXXX, set as TMPDIR for the children); it is removed when every check
 * passed, kept and its path printed otherwise (PAYW_CHAOS_KEEP_LOGS=1 keeps
 * it always). Every child is killed at exit, also on a failed assertion
 * (atexit) or a signal.
 *
 * Files (chaos.h lists them): chaos.c (this one: parameters, environment,
 * the run), chaos_drive.c (the load, the faults, the results reader),
 * chaos_check.c (the checks).
 *
 *   chaos [--quick]     PAYW_BUILD_DIR=build/normal build/normal/chaos/chaos
 *
 * Environment: PAYW_CHAOS_SEED (default 1), PAYW_CHAOS_KEEP_LOGS,
 * PAYW_CHAOS_BREAK, PAYW_CHAOS_CALM (the same load without faults),
 * PAYW_CHAOS_WORKER_ENV="NAME=VALUE ..." (worker settings), PAYW_CHAOS_CORES
 * (core files on, every process runs in the log directory).
 */
#include "chaos.h"

chaos *g_ch;

/*---- small things every file uses ----*/

int64_t chaos_elapsed(const chaos *ch)
{
    return it_now_ms() - ch->t0;
}

void chaos_say(const chaos *ch, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "chaos %6.1fs: ", ch->t0 > 0 ? (double)chaos_elapsed(ch) / 1000.0 : 0.0);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

const char *chaos_jstr(json_object *o, const char *key)
{
    const char *v = json_object_get_string(pv_json_member(o, key));
    return v != NULL ? v : "";
}

/*---- children: every one is killed at exit ----*/

void chaos_kill_children(void)
{
    chaos *ch = g_ch;
    if (ch == NULL)
        return;
    it_proc *ps[] = {&ch->tail,    &ch->s.w[0], &ch->s.w[1], &ch->s.w[2],
                     &ch->s.redis, &ch->s.dk,   &ch->s.sim};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        if (ps[i]->pid > 0) {
            kill(ps[i]->pid, SIGKILL);
            waitpid(ps[i]->pid, NULL, 0);
            ps[i]->pid = 0;
        }
}

void chaos_on_signal(int sig)
{
    chaos *ch = g_ch;
    if (ch != NULL) {
        pid_t pids[] = {ch->tail.pid,    ch->s.w[0].pid, ch->s.w[1].pid, ch->s.w[2].pid,
                        ch->s.redis.pid, ch->s.dk.pid,   ch->s.sim.pid};
        for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++)
            if (pids[i] > 0)
                kill(pids[i], SIGKILL);
    }
    _exit(128 + sig);
}

int chaos_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/*---- main ----*/

static void chaos_set_params(chaos *ch)
{
    params *p = &ch->p;
    if (ch->quick) {
        /* ~800 sends over 300 invoices in under 2 minutes */
        int inv[NPROV] = {100, 75, 20, 60, 45};
        memcpy(p->invoices, inv, sizeof(inv));
        p->second_frac = 0.3;
        p->total = 820;
        p->late_frac = 0.3;
        p->first_span_ms = 18000;
        p->late_min_ms = 15000;
        p->late_max_ms = 17000;
        p->load_ms = 36000;
        p->settle_ms = 45000;
        p->redis_kill_at[0] = 11000;
        p->nredis = 1;
        p->broker_down_at = 22000;
        p->kill_from_ms = 4000;
    } else {
        /* >= 5,000 commands (distinct command ids: ~3,950 first ones, ~1,190
         * second ones) over >= 2,000 invoices, 8,200 sends with the replays,
         * in under 10 minutes */
        int inv[NPROV] = {1300, 1000, 300, 800, 550};
        memcpy(p->invoices, inv, sizeof(inv));
        p->second_frac = 0.3;
        p->total = 8200;
        p->late_frac = 0.35;
        p->first_span_ms = 150000;
        p->late_min_ms = 60000;
        p->late_max_ms = 85000;
        p->load_ms = 240000;
        p->settle_ms = 180000;
        p->redis_kill_at[0] = 70000;
        p->redis_kill_at[1] = 170000;
        p->nredis = 2;
        p->broker_down_at = 120000;
        p->kill_from_ms = 5000;
    }
}

static void chaos_worker_env(chaos *ch)
{
    stack *s = &ch->s;
    env_set(s, "PAYW_GROUP", GROUP);
    env_set(s, "PAYW_LOG_LEVEL", "info");
    env_set(s, "PAYW_DRAIN_TIMEOUT_MS", "1000");
    env_set(s, "PAYW_RETRY_BUDGET_MS", "15000");
    env_set(s, "PAYW_RETRY_MAX_MS", "2000");
    env_set(s, "PAYW_REDIS_TIMEOUT_MS", "1000");
    env_set(s, "PAYW_KAFKA_FETCH_WAIT_MAX_MS", "10");
    /* An eager assignor on devkafka: with cooperative-sticky (the worker's
     * default) librdkafka 2.0.2 and its mock cluster, under kills, went on
     * revoking and re-assigning the same partitions in rounds of
     * session.timeout.ms - 1 s; every commit in between failed with
     * ILLEGAL_GENERATION and the lag stayed for over 45 s (seen in CI), and
     * once the mock answered a JoinGroup with no members, which crashed the
     * sticky assignor (SIGSEGV in the worker). Issue 13 runs this test on
     * Apache Kafka with the default. */
    env_set(s, "PAYW_KAFKA_PARTITION_ASSIGNMENT_STRATEGY", "roundrobin");
    for (int p = 0; p < NPROV; p++) {
        char name[64];
        snprintf(name, sizeof(name), "PAYW_%s_TIMEOUT_MS", provs[p]);
        env_set(s, name, "2000"); /* paid-then-hang is UNKNOWN after 2 s */
        snprintf(name, sizeof(name), "PAYW_%s_CONNECT_TIMEOUT_MS", provs[p]);
        env_set(s, name, "1000");
    }
    const char *extra = getenv("PAYW_CHAOS_WORKER_ENV"); /* "NAME=VALUE NAME=VALUE" */
    while (extra != NULL && *extra != '\0') {
        size_t len = strcspn(extra, " ");
        char pair[256], *eq;
        snprintf(pair, sizeof(pair), "%.*s", (int)len, extra);
        if ((eq = strchr(pair, '=')) != NULL) {
            *eq = '\0';
            env_set(s, pair, eq + 1);
        }
        extra += len + strspn(extra + len, " ");
    }
}

static void chaos_parse_break(chaos *ch)
{
    const char *b = getenv("PAYW_CHAOS_BREAK");
    if (b == NULL)
        return;
    ch->brk_drop = strstr(b, "drop") != NULL;
    ch->brk_fake = strstr(b, "fakesuccess") != NULL;
    ch->brk_foreign = strstr(b, "foreignpay") != NULL;
    ch->brk_flip = strstr(b, "flip") != NULL;
    ch->brk_double = strstr(b, "doublepay") != NULL;
    ch->brk_lag = strstr(b, "lag") != NULL;
    ch->brk_crash = strstr(b, "crash") != NULL;
}

int main(int argc, char **argv)
{
    static chaos chs;
    chaos *ch = &chs;
    g_ch = ch;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            ch->quick = 1;
        } else {
            fprintf(stderr, "usage: chaos [--quick]   (see tests/chaos/README.md)\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *seed = getenv("PAYW_CHAOS_SEED");
    ch->seed = seed != NULL ? strtoull(seed, NULL, 10) : 1;
    ch->rng = ch->seed;
    chaos_parse_break(ch);
    ch->calm = getenv("PAYW_CHAOS_CALM") != NULL && strcmp(getenv("PAYW_CHAOS_CALM"), "0") != 0;
    chaos_set_params(ch);
    ch->tail.pid = 0;
    atexit(chaos_kill_children);
    struct sigaction sa = {.sa_handler = chaos_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* every log of the run in one private directory */
    const char *tmp = getenv("TMPDIR");
    snprintf(ch->rundir, sizeof(ch->rundir), "%s/payw-chaos-XXXXXX",
             tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    if (mkdtemp(ch->rundir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    setenv("TMPDIR", ch->rundir, 1);
    snprintf(ch->redisdir, sizeof(ch->redisdir), "%.250s/redis", ch->rundir);
    if (getenv("PAYW_CHAOS_CORES") != NULL) {
        /* core files of crashed processes in the log directory: run there
         * (with a relative core_pattern, the kernel writes them to the cwd) */
        char abs[PATH_MAX];
        struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
        if (realpath(it_build_dir(), abs) == NULL || setrlimit(RLIMIT_CORE, &rl) != 0 ||
            setenv("PAYW_BUILD_DIR", abs, 1) != 0 || chdir(ch->rundir) != 0) {
            perror("PAYW_CHAOS_CORES");
            return 2;
        }
    }
    mkdir(ch->redisdir, 0700);
    int total_inv = 0;
    for (int p = 0; p < NPROV; p++)
        total_inv += ch->p.invoices[p];
    char ninv[16];
    snprintf(ninv, sizeof(ninv), "%d", ch->p.invoices[P_PAYOFIN] + 20);
    setenv("PAYW_STACK_INVOICES", ninv, 1);
    printf("chaos%s%s: seed %" PRIu64 ", %d invoices, logs in %s\n", ch->quick ? " --quick" : "",
           ch->calm ? " (CALM: no faults)" : "", ch->seed, total_inv, ch->rundir);

    stack_up(&ch->s);
    it_stop(&ch->s.redis, SIGTERM, 10000); /* ours has AOF */
    chaos_drive_redis_start(ch);
    chaos_worker_env(ch);
    chaos_drive_load_invoices(ch);
    chaos_drive_plan(ch);
    int late = 0, seconds[3] = {0}, exps[4] = {0};
    for (int i = 0; i < ch->nsends; i++)
        late += ch->sends[i].late;
    for (int i = 0; i < ch->ncmds; i++) {
        seconds[ch->cmds[i].kind]++;
        exps[ch->cmds[i].exp]++;
    }
    printf("plan: %d sends = %d commands (%d first, %d second with the same request, %d second "
           "with other parameters) + %d replays (%d late, >= %" PRId64 " s); expires_at: %d "
           "expired when sent, %d expiring during the run, %d far, %d none\n",
           ch->nsends, ch->ncmds, seconds[K_FIRST], seconds[K_SAME], seconds[K_OTHER],
           ch->nsends - ch->ncmds, late, ch->p.late_min_ms / 1000, exps[E_PAST], exps[E_DURING],
           exps[E_FAR], exps[E_NONE]);

    char mto[32];
    snprintf(mto, sizeof(mto), "%" PRId64, ch->p.load_ms + ch->p.settle_ms);
    const char *pkv[] = {"log_level",
                         "2",
                         "linger.ms",
                         "5",
                         "enable.idempotence",
                         "true",
                         "message.timeout.ms",
                         mto,
                         "queue.buffering.max.messages",
                         "1000000",
                         NULL};
    rd_kafka_conf_t *pc = it_kafka_conf(ch->s.bootstrap, pkv);
    rd_kafka_conf_set_dr_msg_cb(pc, chaos_drive_on_delivery);
    rd_kafka_conf_set_opaque(pc, ch);
    ch->prod = it_kafka_new(RD_KAFKA_PRODUCER, pc);
    static const char *const akv[] = {"log_level",          "2",     "group.id", GROUP,
                                      "enable.auto.commit", "false", NULL};
    ch->admin = it_kafka_new(RD_KAFKA_CONSUMER, it_kafka_conf(ch->s.bootstrap, akv));
    ch->ncmd_parts = chaos_drive_partitions_of(ch, T_COMMANDS);
    ch->nres_parts = chaos_drive_partitions_of(ch, T_RESULTS);

    /* faults on every payment endpoint for the whole load */
    if (!ch->calm)
        sim_faults(&ch->s,
                   "{\"provider\": \"ALL\", \"only_payments\": true, \"latency_ms\": 10, "
                   "\"jitter_ms\": 60, \"rate_reset\": 0.03, \"rate_5xx\": 0.03, "
                   "\"rate_blackhole\": 0.02, \"rate_paid_5xx\": 0.02, \"rate_reset_after\": "
                   "0.02}");
    ch->t0 = it_now_ms();
    for (int i = 0; i < NWORKERS; i++)
        chaos_drive_worker_start(ch, i);
    chaos_drive_tail_start(ch);
    ch->next_kill = ch->t0 + ch->p.kill_from_ms;
    chaos_say(ch, "load: %d sends over %" PRId64 " s with faults", ch->nsends,
              ch->p.load_ms / 1000);

    /* the load and the faults */
    int64_t next_note = ch->t0 + 10000;
    while (chaos_elapsed(ch) < ch->p.load_ms) {
        while (ch->next_send < ch->nsends && ch->sends[ch->next_send].at <= chaos_elapsed(ch))
            chaos_drive_send_cmd(ch, ch->sends[ch->next_send++].cmd);
        rd_kafka_poll(ch->prod, 0);
        if (!ch->calm)
            chaos_drive_faults_step(ch);
        chaos_drive_workers_step(ch);
        chaos_drive_pump(ch, 10);
        if (it_now_ms() >= next_note) {
            int und;
            int miss = chaos_drive_missing_results(ch, &und);
            chaos_say(ch,
                      "sent %d/%d, %" PRId64 " events, %d delivered commands without a result, "
                      "kills %d",
                      ch->next_send, ch->nsends, ch->events, miss, ch->kills);
            next_note += 10000;
        }
    }
    while (ch->next_send < ch->nsends) /* none should be left; bounded anyway */
        chaos_drive_send_cmd(ch, ch->sends[ch->next_send++].cmd);

    /* settle: faults off, everything up, wait for results and commits */
    sim_faults(&ch->s, "{\"provider\": \"ALL\"}");
    if (ch->broker_is_down) {
        chaos_drive_dk_control(ch, "broker up all");
        ch->broker_is_down = 0;
    }
    if (ch->s.redis.pid <= 0)
        chaos_drive_redis_start(ch);
    chaos_drive_reap_workers(ch);
    for (int i = 0; i < NWORKERS; i++)
        if (ch->s.w[i].pid <= 0)
            chaos_drive_worker_start(ch, i);
    chaos_say(ch, "settling (at most %" PRId64 " s)", ch->p.settle_ms / 1000);
    int64_t settle_end = it_now_ms() + ch->p.settle_ms, next_check = 0;
    int64_t lag = -1;
    char lagdetail[512] = "";
    while (it_now_ms() < settle_end) {
        rd_kafka_poll(ch->prod, 0);
        chaos_drive_workers_step(ch);
        chaos_drive_pump(ch, 50);
        if (it_now_ms() < next_check)
            continue;
        next_check = it_now_ms() + 1000;
        int und, miss = chaos_drive_missing_results(ch, &und);
        if (miss == 0 && rd_kafka_outq_len(ch->prod) == 0) {
            lag = chaos_drive_group_lag(ch, lagdetail, sizeof(lagdetail));
            if (lag == 0)
                break;
        }
        if (it_now_ms() >= next_note) {
            chaos_say(ch, "settling: %" PRId64 " events, %d delivered commands without a result",
                      ch->events, miss);
            next_note += 10000;
        }
    }
    chaos_drive_pump(ch, 3000); /* a quiet period: what comes now comes late */
    chaos_drive_workers_step(ch);
    if (ch->brk_lag) {
        for (int i = 0; i < NWORKERS; i++)
            it_stop(&ch->s.w[i], SIGTERM, 10000);
        chaos_drive_produce_raw(ch, "PAYOFIN:1", "{\"command_id\": \"self-test-lag\"}", 31, -1);
        rd_kafka_flush(ch->prod, 10000);
        chaos_say(ch, "self-test lag: workers stopped, one more command produced");
    }
    lag = chaos_drive_group_lag(ch, lagdetail, sizeof(lagdetail));
    chaos_say(ch, "settled: %" PRId64 " events, lag %" PRId64 "; stopping the workers", ch->events,
              lag);

    /* stop the workers (all at once), read the results topic to its end */
    for (int i = 0; i < NWORKERS; i++)
        if (ch->s.w[i].pid > 0)
            kill(ch->s.w[i].pid, SIGTERM);
    for (int i = 0; i < NWORKERS; i++)
        if (ch->s.w[i].pid > 0) {
            int rc = it_stop(&ch->s.w[i], 0, 10000);
            if (rc != 0) {
                ch->term_bad++;
                chaos_say(ch, "worker w%d.%d: exit %d on SIGTERM (log %s)", i, ch->gen[i], rc,
                          ch->s.w[i].log_path);
            }
        }
    rd_kafka_flush(ch->prod, 10000);
    int64_t want = chaos_drive_topic_messages(ch, T_RESULTS, ch->nres_parts);
    for (int64_t end = it_now_ms() + (ch->quick ? 15000 : 30000);
         ch->events < want && it_now_ms() < end;)
        chaos_drive_pump(ch, 200);
    if (want >= 0 && ch->events < want)
        chaos_say(ch, "read %" PRId64 " of the %" PRId64 " result events", ch->events, want);
    it_stop(&ch->tail, SIGTERM, 5000);

    int failed = chaos_check_run(ch, lag, lagdetail);
    if (want >= 0 && ch->events < want)
        printf("WARNING: the checker read %" PRId64 " of the %" PRId64 " result events\n",
               ch->events, want);

    /* the stack down; the logs go unless a check failed */
    rd_kafka_destroy(ch->prod);
    rd_kafka_destroy_flags(ch->admin, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    ch->prod = ch->admin = NULL;
    stack_down(&ch->s);
    int keep = failed > 0 || getenv("PAYW_CHAOS_KEEP_LOGS") != NULL;
    if (keep)
        printf("logs kept: %s (every process's log: worker-w<slot>.<start>, redis/, devkafka, "
               "provider-sim)\n",
               ch->rundir);
    else
        nftw(ch->rundir, chaos_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < ch->ncmds; i++)
        free(ch->cmds[i].body);
    free(ch->cmds);
    free(ch->sends);
    free(ch->inv);
    free(ch->ht);
    free(ch->lr.buf);
    for (int p = 0; p < MAX_PARTS; p++)
        free(ch->seen[p]);
    curl_global_cleanup();
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return failed > 0 ? 1 : 0;
}
