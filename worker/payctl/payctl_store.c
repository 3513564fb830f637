/* payctl_store.c -- payctl lookup, resolve and unknowns: the idempotency
 * state of invoices in Redis, through the worker's store (pw_store.h). resolve
 * shows the state, asks, and settles only what it showed (the design:
 * payctl_main.c). */
#include "payctl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "provider.h"
#include "pv_json.h"
#include "pw_store.h"
#include "sc_avro.h"

static void payctl_store_usage(FILE *f)
{
    fprintf(f, "usage: payctl lookup PROVIDER QUERY_ID [--redis URL]\n"
               "       payctl resolve PROVIDER QUERY_ID --paid|--unpaid --reason TEXT [--yes]\n"
               "                      [--operator NAME] [--redis URL]\n"
               "lookup prints the idempotency state of one invoice as JSON. resolve settles an\n"
               "invoice whose outcome is UNKNOWN, after you have checked with the provider:\n"
               "--paid records it as paid (later commands get DUPLICATE), --unpaid releases\n"
               "it (a new command may pay it). resolve first shows the invoice's state (on\n"
               "stderr) and asks on the terminal \"resolve KEY as PAID? [y/N]\"; -y, --yes\n"
               "skips the question (scripts: without a terminal on stdin and without --yes,\n"
               "resolve refuses). Redis: --redis or $PAYW_REDIS_URL. Exit status: 0; 1 when\n"
               "Redis refused or could not be asked, or the answer was not yes; 2 on usage\n"
               "errors.\n");
}

/* The invoice as payctl lookup prints it (caller puts). */
static json_object *payctl_store_state_json(const char *key, const pw_store_reply *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "key", json_object_new_string(key));
    json_object_object_add(o, "outcome", json_object_new_string(pw_store_outcome_name(r->outcome)));
    if (r->outcome == PW_STORE_ERROR) {
        json_object_object_add(o, "error", json_object_new_string(r->error));
        return o;
    }
    json_object *fields = json_object_new_object();
    for (size_t i = 0; i < r->nfields; i++) {
        const char *name = r->fields[i].name;
        if (strcmp(name, "result") == 0 || strcmp(name, "result_before_resolve") == 0) {
            json_object *ev = NULL;
            pv_error err = {0};
            sc_codec *c = sc_codec_new(NULL);
            if (c != NULL && r->fields[i].len > 0 &&
                sc_event_to_json(c, SC_RESULT, r->fields[i].value, r->fields[i].len, &ev, &err) ==
                    PV_OK)
                json_object_object_add(fields, name, ev);
            sc_codec_free(c);
            continue;
        }
        json_object_object_add(
            fields, name,
            json_object_new_string_len((const char *)r->fields[i].value, (int)r->fields[i].len));
    }
    json_object_object_add(o, "state", fields);
    json_object *cmds = json_object_new_array();
    for (size_t i = 0; i < r->ncmds; i++) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "command_id", json_object_new_string(r->cmds[i].command_id));
        json_object_object_add(c, "status", json_object_new_string(r->cmds[i].status));
        json_object_object_add(c, "at_ms", json_object_new_int64(r->cmds[i].at_ms));
        json_object_object_add(c, "fence", json_object_new_int64(r->cmds[i].fence));
        json_object_array_add(cmds, c);
    }
    json_object_object_add(o, "commands", cmds);
    json_object_object_add(o, "lock_ttl_ms", json_object_new_int64(r->lock_pttl_ms));
    json_object_object_add(o, "state_ttl_ms", json_object_new_int64(r->state_pttl_ms));
    return o;
}

/* A field of the state hash as text ("" when absent). */
static const char *payctl_store_field(const pw_store_reply *r, const char *name)
{
    for (size_t i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return (const char *)r->fields[i].value;
    return "";
}

/* What an operator must see before settling: the state as lookup prints it,
 * then in one line the status, the command whose call it was, the claim and
 * the commands that were answered UNKNOWN. */
static void payctl_store_show_state(const char *key, const pw_store_reply *r)
{
    json_object *o = payctl_store_state_json(key, r);
    fprintf(stderr, "payctl resolve: the state of %s now:\n%s\n", key, pv_json_dump(o, NULL));
    json_object_put(o);
    if (r->outcome != PW_STORE_OK)
        return;
    /* unknown_reason outlives a resolve: said only while it is the reason */
    const char *status = payctl_store_field(r, "status"),
               *reason = payctl_store_field(r, "unknown_reason");
    const char *worker = payctl_store_field(r, "worker"),
               *cmd = payctl_store_field(r, "command_id");
    char qr[160], qw[160], qc[160];
    /* quoted: these come from commands and workers, and this goes to a terminal */
    pv_utf8_quote(qr, sizeof(qr), reason, strlen(reason));
    pv_utf8_quote(qw, sizeof(qw), worker, strlen(worker));
    pv_utf8_quote(qc, sizeof(qc), cmd, strlen(cmd));
    fprintf(stderr, "payctl resolve: %s is %s", key, status);
    if (strcmp(status, "UNKNOWN") == 0 && reason[0] != '\0')
        fprintf(stderr, " (%s)", qr);
    fprintf(stderr, ", command %s, claimed by %s, ", cmd[0] != '\0' ? qc : "none",
            worker[0] != '\0' ? qw : "nobody");
    if (r->lock_pttl_ms >= 0)
        fprintf(stderr, "its lock held for %lld ms more (a call may be running)",
                (long long)r->lock_pttl_ms);
    else if (r->lock_pttl_ms == -1)
        fprintf(stderr, "its lock held with no expiry (a call may be running)");
    else
        fprintf(stderr, "no lock held");
    fprintf(stderr, "; UNKNOWN commands:");
    size_t n = 0;
    for (size_t i = 0; i < r->ncmds; i++)
        if (strcmp(r->cmds[i].status, "UNKNOWN") == 0) {
            pv_utf8_quote(qc, sizeof(qc), r->cmds[i].command_id, strlen(r->cmds[i].command_id));
            fprintf(stderr, "%s %s", n++ > 0 ? "," : "", qc);
        }
    fprintf(stderr, "%s\n", n == 0 ? " none" : "");
}

/* Asks on the terminal; 1 only for y or yes. */
static int payctl_store_confirm(const char *key, int paid)
{
    char answer[64];
    fprintf(stderr, "resolve %s as %s? [y/N] ", key, paid ? "PAID" : "UNPAID");
    fflush(stderr);
    if (fgets(answer, sizeof(answer), stdin) == NULL)
        return 0;
    size_t len = strcspn(answer, "\r\n");
    answer[len] = '\0';
    return strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
}

/* 1 when what the operator was shown still holds: the same status, claimant
 * and fence (every claim and every resolve takes a new fence). */
static int payctl_store_same_state(const pw_store_reply *a, const pw_store_reply *b)
{
    return a->outcome == b->outcome &&
           strcmp(payctl_store_field(a, "status"), payctl_store_field(b, "status")) == 0 &&
           strcmp(payctl_store_field(a, "command_id"), payctl_store_field(b, "command_id")) == 0 &&
           strcmp(payctl_store_field(a, "fence"), payctl_store_field(b, "fence")) == 0;
}

/* resolve: show, ask, check nothing moved meanwhile, then settle. The store
 * still judges (only UNKNOWN, or INFLIGHT without a lock, is settled). */
static pw_store_reply *payctl_store_resolve(pw_store_sync *st, const pw_store_resolve_args *a,
                                            int yes, int *declined)
{
    pw_store_reply *seen = pw_store_sync_lookup(st, a->key);
    if (seen == NULL || seen->outcome == PW_STORE_ERROR)
        return seen;
    payctl_store_show_state(a->key, seen);
    const char *status = payctl_store_field(seen, "status");
    /* nothing to ask about: no state, or settled (the store refuses those) */
    int ask = seen->outcome == PW_STORE_OK && strcmp(status, "DONE") != 0 &&
              strcmp(status, "RELEASED") != 0;
    if (!yes && ask) {
        if (!payctl_store_confirm(a->key, a->paid)) {
            fprintf(stderr, "payctl resolve: not confirmed: %s left as it is\n", a->key);
            pw_store_reply_free(seen);
            *declined = 1;
            return NULL;
        }
        pw_store_reply *now = pw_store_sync_lookup(st, a->key);
        if (now == NULL || now->outcome == PW_STORE_ERROR) {
            pw_store_reply_free(seen);
            return now;
        }
        int same = payctl_store_same_state(seen, now);
        pw_store_reply_free(now);
        if (!same) {
            fprintf(stderr,
                    "payctl resolve: %s changed while you were deciding: nothing done; look "
                    "again and run resolve again\n",
                    a->key);
            pw_store_reply_free(seen);
            *declined = 1;
            return NULL;
        }
    }
    pw_store_reply_free(seen);
    return pw_store_sync_resolve(st, a);
}

/* lookup's and resolve's options. */
typedef struct payctl_store_opts {
    int paid, said_paid, said_unpaid, yes; /* paid: -1 unsaid */
    const char *reason, *url, *op;
} payctl_store_opts;

static int payctl_store_opt(void *ctx, int opt, const char *arg)
{
    payctl_store_opts *o = ctx;
    switch (opt) {
    case 'p':
    case 'u':
        o->paid = opt == 'p';
        o->said_paid |= opt == 'p';
        o->said_unpaid |= opt == 'u';
        return 0;
    case 'r':
        o->reason = arg;
        return 0;
    case 'o':
        o->op = arg;
        return 0;
    case 'R':
        o->url = arg;
        return 0;
    case 'y':
        o->yes = 1;
        return 0;
    }
    return -1;
}

int payctl_store(int argc, char **argv, int resolve)
{
    static const struct option opts[] = {
        {"paid", no_argument, NULL, 'p'},         {"unpaid", no_argument, NULL, 'u'},
        {"reason", required_argument, NULL, 'r'}, {"operator", required_argument, NULL, 'o'},
        {"redis", required_argument, NULL, 'R'},  {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    payctl_store_opts opt = {.paid = -1,
                             .url = payctl_main_env("PAYW_REDIS_URL", "redis://127.0.0.1:6379"),
                             .op = payctl_main_env("USER", "operator")};
    int done = payctl_main_options(argc, argv, "pur:o:R:yh", opts, NULL, payctl_store_usage,
                                   payctl_store_opt, &opt);
    if (done != PAYCTL_GO_ON)
        return done;
    int paid = opt.paid, said_paid = opt.said_paid, said_unpaid = opt.said_unpaid, yes = opt.yes;
    const char *reason = opt.reason, *url = opt.url, *op = opt.op;
    if (said_paid && said_unpaid) {
        /* the last one would win: releasing a paid invoice lets it be paid again */
        fprintf(stderr, "payctl resolve: --paid and --unpaid together: say which one it is\n");
        return 2;
    }
    if (argc - optind != 2 || (resolve && (paid < 0 || reason == NULL || reason[0] == '\0'))) {
        payctl_store_usage(stderr);
        return 2;
    }
    if (resolve && (strlen(reason) > 1024 || op[0] == '\0' || strlen(op) > 1024)) {
        /* the store refuses these (an empty operator used to crash payctl) */
        fprintf(stderr, "payctl resolve: --reason and --operator: 1 to 1024 bytes each\n");
        return 2;
    }
    const pv_provider *p = pv_provider_find(argv[optind]);
    if (p == NULL) {
        fprintf(stderr,
                "payctl: provider \"%s\" is not one of PAYOFIN, SIPAY, PAYWALL, ISBANK, "
                "PAYONE\n",
                argv[optind]);
        return 2;
    }
    const char *qid = argv[optind + 1];
    if (qid[0] == '\0' || strlen(qid) >= PV_ID_MAX) {
        /* a longer id used to be cut to fit: another invoice's key */
        fprintf(stderr, "payctl: QUERY_ID: 1 to %d bytes\n", PV_ID_MAX - 1);
        return 2;
    }
    char key[PV_ID_MAX + 16], errstr[512];
    snprintf(key, sizeof(key), "%s:%s", p->name, qid);
    if (resolve && !yes && !isatty(STDIN_FILENO)) {
        /* an answer read from a pipe or a file is nobody's decision */
        fprintf(stderr,
                "payctl resolve: stdin is not a terminal, so nobody can confirm: pass --yes "
                "to resolve %s without the question\n",
                key);
        return 2;
    }
    pw_store_sync *st = pw_store_sync_new(url, 3000, errstr, sizeof(errstr));
    if (st == NULL) {
        fprintf(stderr, "payctl: %s\n", errstr);
        return 1;
    }
    pw_store_reply *r;
    int declined = 0;
    if (resolve) {
        pw_store_resolve_args a = {.key = key, .paid = paid, .reason = reason, .operator_name = op};
        r = payctl_store_resolve(st, &a, yes, &declined);
    } else {
        r = pw_store_sync_lookup(st, key);
    }
    if (r == NULL) {
        if (!declined)
            fprintf(stderr, "payctl: out of memory\n");
        pw_store_sync_free(st);
        return 1;
    }
    json_object *o;
    if (resolve) {
        o = json_object_new_object();
        json_object_object_add(o, "key", json_object_new_string(key));
        json_object_object_add(o, "outcome",
                               json_object_new_string(pw_store_outcome_name(r->outcome)));
        if (r->outcome == PW_STORE_ERROR)
            json_object_object_add(o, "error", json_object_new_string(r->error));
        else
            json_object_object_add(o, "status", json_object_new_string(r->status));
    } else {
        o = payctl_store_state_json(key, r);
    }
    int status = r->outcome == PW_STORE_OK ? 0 : 1;
    printf("%s\n", pv_json_dump(o, NULL));
    json_object_put(o);
    pw_store_reply_free(r);
    pw_store_sync_free(st);
    return status;
}

/*---- unknowns (Redis) ----*/

static void payctl_store_unknowns_usage(FILE *f)
{
    fprintf(f, "usage: payctl unknowns [--limit N] [--redis URL]\n"
               "Every invoice whose payment outcome is UNKNOWN, oldest first, one JSON line each:\n"
               "provider, query id, age, the command whose call may have paid, the reason and\n"
               "the worker. Claims whose worker died mid-call are turned UNKNOWN first (as\n"
               "their next command would). Settle each with payctl resolve. Redis: --redis or\n"
               "$PAYW_REDIS_URL. Exit status 0, or 1 when Redis could not be asked.\n");
}

/* unknowns' options. */
typedef struct payctl_store_unknowns_opts {
    const char *url;
    long limit;
} payctl_store_unknowns_opts;

static int payctl_store_unknowns_opt(void *ctx, int opt, const char *arg)
{
    payctl_store_unknowns_opts *o = ctx;
    char *end;
    switch (opt) {
    case 'l':
        errno = 0;
        o->limit = strtol(arg, &end, 10);
        if (errno != 0 || *end != '\0' || o->limit < 1 || o->limit > 1000000) {
            fprintf(stderr, "payctl unknowns: --limit \"%s\": expected 1 to 1000000\n", arg);
            return 2;
        }
        return 0;
    case 'R':
        o->url = arg;
        return 0;
    }
    return -1;
}

int payctl_store_unknowns(int argc, char **argv)
{
    static const struct option opts[] = {
        {"limit", required_argument, NULL, 'l'},
        {"redis", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    payctl_store_unknowns_opts opt = {
        .url = payctl_main_env("PAYW_REDIS_URL", "redis://127.0.0.1:6379"), .limit = 1000};
    int done = payctl_main_options(argc, argv, "l:R:h", opts, NULL, payctl_store_unknowns_usage,
                                   payctl_store_unknowns_opt, &opt);
    if (done != PAYCTL_GO_ON)
        return done;
    const char *url = opt.url;
    long limit = opt.limit;
    if (argc != optind) {
        payctl_store_unknowns_usage(stderr);
        return 2;
    }
    char errstr[512];
    pw_store_sync *st = pw_store_sync_new(url, 3000, errstr, sizeof(errstr));
    if (st == NULL) {
        fprintf(stderr, "payctl: %s\n", errstr);
        return 1;
    }
    pw_store_reply *r = pw_store_sync_unknowns(st, (size_t)limit);
    int status = 0;
    if (r == NULL || r->outcome != PW_STORE_OK) {
        fprintf(stderr, "payctl unknowns: %s\n", r != NULL ? r->error : "out of memory");
        status = 1;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        for (size_t i = 0; i < r->nunknowns; i++) {
            const pw_store_unknown *u = &r->unknowns[i];
            const char *colon = strchr(u->key, ':');
            json_object *o = json_object_new_object();
            json_object_object_add(
                o, "provider",
                json_object_new_string_len(u->key, colon != NULL ? (int)(colon - u->key) : 0));
            json_object_object_add(o, "query_id",
                                   json_object_new_string(colon != NULL ? colon + 1 : u->key));
            json_object_object_add(o, "age_s", json_object_new_int64((now - u->since_ms) / 1000));
            json_object_object_add(o, "unknown_since_ms", json_object_new_int64(u->since_ms));
            json_object_object_add(o, "command_id", json_object_new_string(u->command_id));
            json_object_object_add(o, "reason", json_object_new_string(u->reason));
            json_object_object_add(o, "worker", json_object_new_string(u->worker));
            json_object_object_add(o, "claimed_at_ms", json_object_new_int64(u->started_ms));
            printf("%s\n", pv_json_dump(o, NULL));
            json_object_put(o);
        }
    }
    pw_store_reply_free(r);
    pw_store_sync_free(st);
    return status;
}
