/* chaos.h -- what the files of the fault test share (the design: chaos.c).
 *
 *   chaos.c        the parameters, the workers' environment, the run (main)
 *   chaos_drive.c  the load and the faults: invoices, commands, Kafka, the
 *                  results reader, the workers, redis, the broker
 *   chaos_check.c  the checker: the checks and their figures
 */
#ifndef CHAOS_H
#define CHAOS_H

#define _XOPEN_SOURCE 700 /* nftw */
#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../integration/teststack.h"

#define NPROV      5
#define NWORKERS   3
#define SEQ_MAX    8
#define MAX_PARTS  64
#define GROUP      "chaos-workers"
#define T_COMMANDS "payments.commands"
#define T_RESULTS  "payments.results"
#define EXAMPLES   5
#define LOOKUP_MAX 600

enum { P_PAYOFIN, P_SIPAY, P_PAYWALL, P_ISBANK, P_PAYONE };
static const char *const provs[NPROV] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};

enum {
    S_SUCCEEDED,
    S_DECLINED,
    S_FAILED,
    S_REJECTED,
    S_EXPIRED,
    S_UNKNOWN,
    S_DUPLICATE,
    S_OTHER,
    NST
};
static const char *const st_names[NST] = {"SUCCEEDED", "DECLINED", "FAILED",    "REJECTED",
                                          "EXPIRED",   "UNKNOWN",  "DUPLICATE", "OTHER"};
#define BAD_FOR_PAID \
    ((1u << S_DECLINED) | (1u << S_FAILED) | (1u << S_REJECTED) | (1u << S_EXPIRED))

enum { K_FIRST, K_SAME, K_OTHER };
static const char *const kind_names[] = {"first", "second-same", "second-other"};
enum { E_NONE, E_PAST, E_DURING, E_FAR };
static const char *const exp_names[] = {"none", "expired-when-sent", "expiring", "far"};

typedef struct params {
    int invoices[NPROV];   /* per provider */
    double second_frac;    /* invoices that get a second command */
    int total;             /* sends, replays included */
    double late_frac;      /* of the replays */
    int64_t first_span_ms; /* first commands go out over this span */
    int64_t late_min_ms, late_max_ms;
    int64_t load_ms; /* sending and faults */
    int64_t settle_ms;
    int64_t redis_kill_at[2];
    int nredis;
    int64_t broker_down_at;
    int64_t kill_from_ms;
} params;

typedef struct cmd {
    int inv, kind, exp;
    char *body; /* the exact bytes, built at the first send */
    int len;
    int64_t planned; /* ms after the start */
    int sends, dr_ok, dr_fail;
    int part;             /* the commands partition it went to */
    int nev;              /* result events (unique offsets) */
    uint8_t seq[SEQ_MAX]; /* statuses in order, consecutive repeats folded */
    int nseq, seq_more;
    unsigned mask; /* statuses seen */
    char reason[200];
    char worker[64];
} cmd;

typedef struct invoice {
    int prov;
    char qid[96];
    char key[112];
    char req[1200], alt[1200];
    int cmds[4], ncmds;
    int paid;       /* ledger entries */
    int succeeded;  /* a command of it got SUCCEEDED */
    char store[32]; /* payctl lookup's state.status, when asked */
} invoice;

typedef struct sendev {
    int64_t at;
    int cmd, late;
} sendev;

typedef struct lreader {
    char *buf;
    size_t len, cap;
} lreader;

typedef struct chaos {
    params p;
    int quick;
    uint64_t seed, rng;
    stack s;
    char rundir[256], redisdir[320];
    invoice *inv;
    int ninv;
    int *ht; /* key -> invoice index, open addressing */
    size_t htcap;
    cmd *cmds;
    int ncmds;
    sendev *sends;
    int nsends, next_send;
    rd_kafka_t *prod, *admin;
    int ncmd_parts, nres_parts;
    /* the results reader */
    it_proc tail;
    lreader lr;
    uint8_t *seen[MAX_PARTS];
    int64_t seen_cap[MAX_PARTS];
    int64_t events, dup_events, bad_lines, foreign, dropped;
    int tail_restarts;
    /* the workers */
    int64_t restart_at[NWORKERS];
    int gen[NWORKERS];
    int kills, crashes, signalled, term_bad;
    char crash_note[512];
    int64_t next_kill;
    /* redis, broker */
    int redis_kills, redis_next, broker_outages, broker_is_down;
    int64_t redis_restart_at, broker_up_at;
    int dr_fail;
    /* self-test */
    int brk_drop, brk_fake, brk_foreign, brk_flip, brk_double, brk_lag, brk_crash;
    int calm; /* PAYW_CHAOS_CALM: the same load without any fault (a control run) */
    int64_t t0;
} chaos;

/* the run, for the exit and signal handlers */
extern chaos *g_ch;
/* the checks that passed and failed (chaos_check_line) */
extern int g_passed, g_failed;

/*---- chaos.c ----*/

int64_t chaos_elapsed(const chaos *ch);
void chaos_say(const chaos *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *chaos_jstr(json_object *o, const char *key);
void chaos_kill_children(void);
void chaos_on_signal(int sig);
int chaos_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

/*---- chaos_drive.c ----*/

int chaos_drive_ht_get(const chaos *ch, const char *key);
int chaos_drive_cmd_index(const chaos *ch, const char *id);
void chaos_drive_load_invoices(chaos *ch);
void chaos_drive_plan(chaos *ch);
void chaos_drive_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
void chaos_drive_produce_raw(chaos *ch, const char *key, const char *body, size_t len,
                             intptr_t opaque);
void chaos_drive_send_cmd(chaos *ch, int i);
int chaos_drive_partitions_of(chaos *ch, const char *topic);
int64_t chaos_drive_topic_messages(chaos *ch, const char *topic, int nparts);
int64_t chaos_drive_group_lag(chaos *ch, char *detail, size_t cap);
void chaos_drive_tail_start(chaos *ch);
void chaos_drive_record(chaos *ch, int ci, int st, json_object *ev);
void chaos_drive_pump(chaos *ch, int budget_ms);
void chaos_drive_worker_start(chaos *ch, int i);
void chaos_drive_reap_workers(chaos *ch);
void chaos_drive_dk_control(chaos *ch, const char *line);
void chaos_drive_redis_start(chaos *ch);
void chaos_drive_faults_step(chaos *ch);
void chaos_drive_workers_step(chaos *ch);
int chaos_drive_missing_results(const chaos *ch, int *undelivered);
long chaos_drive_sim_pay_payofin(chaos *ch, const char *qid, const char *request_id);

/*---- chaos_check.c ----*/

/* Every check, one line each; returns the number that failed. */
int chaos_check_run(chaos *ch, int64_t lag, const char *lagdetail);

#endif
