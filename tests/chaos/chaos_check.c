/* chaos_check.c -- the fault test's checker (the design: chaos.c): one line
 * per check with its figure and goal, examples of what failed, the ledger,
 * the store's view of the invoices it must ask about. */
#include "chaos.h"

/*---- the checker ----*/

typedef struct ledger_fig {
    int64_t entries, by_rid, by_sole, unattributed, foreign, rid_unknown;
} ledger_fig;

static void chaos_check_seq_text(const cmd *c, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < c->nseq && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i > 0 ? ">" : "", st_names[c->seq[i]]);
    if (c->nseq == 0)
        snprintf(out, cap, "(none)");
    else if (c->seq_more && o < cap)
        snprintf(out + o, cap - o, ">...");
}

static void chaos_check_example(const chaos *ch, int ci, const char *why)
{
    const cmd *c = &ch->cmds[ci];
    char seq[160];
    chaos_check_seq_text(c, seq, sizeof(seq));
    printf("      e.g. c%06d %s %s, expiry %s, sent %d, events %d, statuses %s%s%s%s%s\n", ci,
           ch->inv[c->inv].key, kind_names[c->kind], exp_names[c->exp], c->sends, c->nev, seq,
           c->worker[0] ? ", last by " : "", c->worker, c->reason[0] ? ", reason: " : "",
           c->reason);
    if (why != NULL && why[0] != '\0')
        printf("           %s\n", why);
}

int g_passed, g_failed;

static void chaos_check_line(int n, const char *what, int64_t figure, const char *extra)
{
    int ok = figure == 0;
    printf("%s check %d  %s: %" PRId64 " (goal 0)%s%s\n", ok ? "ok  " : "FAIL", n, what, figure,
           extra != NULL && extra[0] ? "  " : "", extra != NULL ? extra : "");
    if (ok)
        g_passed++;
    else
        g_failed++;
}

/* payctl lookup PROVIDER QUERY_ID: state.status into v->store. */
static void chaos_check_lookup(chaos *ch, invoice *v)
{
    char path[512], err[2048];
    char *line = malloc(LINE);
    int n = 0;
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path, "lookup", (char *)provs[v->prov], v->qid, "--redis", ch->s.redis_url,
                    NULL};
    int rc = it_run(argv, NULL, line, LINE, 1, &n, err, sizeof(err), 10000);
    snprintf(v->store, sizeof(v->store), "?");
    if (n == 1) {
        json_object *o = json_tokener_parse(line);
        json_object *st = pv_json_member(o, "state");
        const char *status = chaos_jstr(st, "status");
        int64_t ttl = json_object_get_int64(pv_json_member(o, "lock_ttl_ms"));
        if (strcmp(status, "INFLIGHT") == 0 && ttl <= 0)
            snprintf(v->store, sizeof(v->store), "INFLIGHT-unlocked");
        else
            snprintf(v->store, sizeof(v->store), "%s",
                     status[0] ? status : chaos_jstr(o, "outcome"));
        json_object_put(o);
    } else {
        snprintf(v->store, sizeof(v->store), "lookup-failed-%d", rc);
    }
    free(line);
}

static void chaos_check_read_ledger(chaos *ch, ledger_fig *lf, int **entry_cmd, int *nentries)
{
    uint64_t since = 0;
    int cap = 1024, n = 0;
    int *ec = malloc((size_t)cap * sizeof(int));
    memset(lf, 0, sizeof(*lf));
    for (int v = 0; v < ch->ninv; v++)
        ch->inv[v].paid = 0;
    for (int page = 0; page < 10000; page++) {
        char path[96];
        snprintf(path, sizeof(path), "/_sim/ledger?since=%" PRIu64 "&limit=5000", since);
        json_object *j = sim_get(&ch->s, path);
        json_object *es = pv_json_member(j, "entries");
        size_t len = es != NULL ? json_object_array_length(es) : 0;
        for (size_t i = 0; i < len; i++) {
            json_object *e = json_object_array_get_idx(es, i);
            char key[200];
            snprintf(key, sizeof(key), "%s:%s", chaos_jstr(e, "provider"),
                     chaos_jstr(e, "query_id"));
            int vi = chaos_drive_ht_get(ch, key);
            lf->entries++;
            if (n == cap) {
                cap *= 2;
                ec = realloc(ec, (size_t)cap * sizeof(int));
            }
            ec[n] = -1;
            if (vi < 0) {
                lf->foreign++;
                n++;
                continue;
            }
            invoice *v = &ch->inv[vi];
            v->paid++;
            const char *rid = chaos_jstr(e, "request_id");
            if (rid[0] != '\0') {
                int ci = chaos_drive_cmd_index(ch, rid);
                if (ci >= 0 && ch->cmds[ci].inv == vi) {
                    lf->by_rid++;
                    ec[n] = ci;
                } else {
                    lf->rid_unknown++; /* a request id that is no command of this invoice */
                }
            } else if (v->ncmds == 1) {
                lf->by_sole++;
                ec[n] = v->cmds[0];
            } else {
                lf->unattributed++;
            }
            n++;
        }
        since = (uint64_t)json_object_get_int64(pv_json_member(j, "next_since"));
        json_object_put(j);
        if (len == 0)
            break;
    }
    *entry_cmd = ec;
    *nentries = n;
}

int chaos_check_run(chaos *ch, int64_t lag, const char *lagdetail)
{
    char extra[1024];
    /* the ledger and the store */
    ledger_fig lf;
    int *entry_cmd = NULL, nentries = 0;
    if (ch->brk_foreign) { /* an unpaid Payofin invoice, paid behind the worker's back */
        for (int ci = 0; ci < ch->ncmds; ci++) {
            cmd *c = &ch->cmds[ci];
            invoice *v = &ch->inv[c->inv];
            if (v->prov == P_PAYOFIN && (c->mask & BAD_FOR_PAID) != 0 &&
                (c->mask & (1u << S_SUCCEEDED)) == 0 && v->ncmds == 1) {
                char rid[16];
                snprintf(rid, sizeof(rid), "c%06d", ci);
                long code = chaos_drive_sim_pay_payofin(ch, v->qid, rid);
                chaos_say(ch, "self-test foreignpay: paid %s as %s at the simulator (HTTP %ld)",
                          v->key, rid, code);
                break;
            }
        }
    }
    chaos_check_read_ledger(ch, &lf, &entry_cmd, &nentries);
    if (ch->brk_double) {
        for (int v = 0; v < ch->ninv; v++)
            if (ch->inv[v].prov == P_PAYOFIN && ch->inv[v].paid > 0) {
                long code = chaos_drive_sim_pay_payofin(ch, ch->inv[v].qid, "chaos-self-test");
                chaos_say(ch, "self-test doublepay: paid %s again at the simulator (HTTP %ld)",
                          ch->inv[v].key, code);
                break;
            }
    }
    json_object *stats = sim_get(&ch->s, "/_sim/stats");
    json_object *pstats = pv_json_member(stats, "providers");
    if (ch->brk_fake) {
        for (int ci = 0; ci < ch->ncmds; ci++) {
            cmd *c = &ch->cmds[ci];
            if (ch->inv[c->inv].prov != P_PAYWALL && ch->inv[c->inv].paid == 0 && c->nev > 0 &&
                c->mask == (1u << S_DECLINED)) {
                chaos_say(ch, "self-test fakesuccess: c%06d booked SUCCEEDED", ci);
                chaos_drive_record(ch, ci, S_SUCCEEDED, NULL);
                break;
            }
        }
    }
    if (ch->brk_flip) {
        for (int ci = 0; ci < ch->ncmds; ci++)
            if (ch->cmds[ci].nseq == 1 && ch->cmds[ci].seq[0] == S_SUCCEEDED) {
                chaos_say(ch, "self-test flip: c%06d booked DECLINED after its SUCCEEDED", ci);
                chaos_drive_record(ch, ci, S_DECLINED, NULL);
                break;
            }
    }
    for (int v = 0; v < ch->ninv; v++) {
        ch->inv[v].succeeded = 0;
        for (int k = 0; k < ch->inv[v].ncmds; k++)
            if (ch->cmds[ch->inv[v].cmds[k]].mask & (1u << S_SUCCEEDED))
                ch->inv[v].succeeded = 1;
    }

    printf("\n");
    /* 1 */
    int64_t dbl = 0;
    size_t o = 0;
    extra[0] = '\0';
    for (int p = 0; p < NPROV; p++) {
        int64_t d = json_object_get_int64(
            pv_json_member(pv_json_member(pstats, provs[p]), "double_payment_attempts"));
        dbl += d;
        if (d > 0)
            o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s %" PRId64 " ", provs[p], d);
    }
    chaos_check_line(
        1, "payment requests for an already-paid invoice (simulator double_payment_attempts)", dbl,
        extra);

    /* 2 */
    int undelivered = 0;
    int missing = chaos_drive_missing_results(ch, &undelivered);
    snprintf(extra, sizeof(extra), "(of %d commands delivered to Kafka; %d never delivered)",
             ch->ncmds - undelivered, undelivered);
    chaos_check_line(2, "commands without a result", missing, extra);
    if (missing > 0) {
        int byp[MAX_PARTS] = {0};
        for (int ci = 0; ci < ch->ncmds; ci++)
            if (ch->cmds[ci].dr_ok > 0 && ch->cmds[ci].nev == 0 && ch->cmds[ci].part >= 0 &&
                ch->cmds[ci].part < MAX_PARTS)
                byp[ch->cmds[ci].part]++;
        printf("      by commands partition:");
        for (int p = 0; p < ch->ncmd_parts; p++)
            if (byp[p] > 0)
                printf(" p%d %d", p, byp[p]);
        printf("%s\n", ch->dropped > 0 ? " (the self-test ignored some events)" : "");
    }
    for (int ci = 0, shown = 0; ci < ch->ncmds && shown < EXAMPLES; ci++)
        if (ch->cmds[ci].dr_ok > 0 && ch->cmds[ci].nev == 0) {
            chaos_check_example(ch, ci, NULL);
            shown++;
        }

    /* 3 */
    int64_t unpaid_ok = 0;
    int ex3[EXAMPLES], nex3 = 0;
    for (int ci = 0; ci < ch->ncmds; ci++) {
        const cmd *c = &ch->cmds[ci];
        if (ch->inv[c->inv].prov != P_PAYWALL && (c->mask & (1u << S_SUCCEEDED)) &&
            ch->inv[c->inv].paid == 0) {
            if (nex3 < EXAMPLES)
                ex3[nex3++] = ci;
            unpaid_ok++;
        }
    }
    chaos_check_line(3, "SUCCEEDED for an unpaid invoice (no ledger payment)", unpaid_ok,
                     "(Paywall only reads: not counted)");
    for (int k = 0; k < nex3; k++)
        chaos_check_example(ch, ex3[k], NULL);

    /* 4 */
    int64_t paid_refused = 0;
    int *flagged = calloc((size_t)ch->ncmds, sizeof(int));
    for (int e = 0; e < nentries; e++) {
        int ci = entry_cmd[e];
        if (ci >= 0 && (ch->cmds[ci].mask & BAD_FOR_PAID) && !flagged[ci]) {
            flagged[ci] = 1;
            paid_refused++;
        }
    }
    snprintf(
        extra, sizeof(extra),
        "(ledger entries %" PRId64 ": attributed by request_id %" PRId64
        ", by the invoice's only command %" PRId64 "; attribution UNAVAILABLE for %" PRId64
        " (no request_id, several commands); a request_id of no command of that invoice %" PRId64
        ")",
        lf.entries, lf.by_rid, lf.by_sole, lf.unattributed, lf.rid_unknown);
    chaos_check_line(4, "DECLINED/FAILED/REJECTED/EXPIRED for a command whose own call paid",
                     paid_refused, extra);
    if (lf.by_rid == 0 && lf.entries > 0)
        printf("      note: no ledger entry carries a request_id (the worker does not send "
               "X-Request-Id yet)\n");
    for (int ci = 0, shown = 0; ci < ch->ncmds && shown < EXAMPLES; ci++)
        if (flagged[ci]) {
            chaos_check_example(ch, ci, NULL);
            shown++;
        }
    free(flagged);

    /* 5 */
    int64_t two = 0;
    int shown5 = 0;
    for (int ci = 0; ci < ch->ncmds; ci++) {
        const cmd *c = &ch->cmds[ci];
        int bad = c->seq_more || c->nseq > 2 || (c->nseq == 2 && c->seq[0] != S_UNKNOWN);
        if (bad)
            two++;
    }
    chaos_check_line(5, "commands with two different statuses (an UNKNOWN later settled excepted)",
                     two, "");
    for (int ci = 0; ci < ch->ncmds && shown5 < EXAMPLES; ci++) {
        const cmd *c = &ch->cmds[ci];
        if (c->seq_more || c->nseq > 2 || (c->nseq == 2 && c->seq[0] != S_UNKNOWN)) {
            chaos_check_example(ch, ci, NULL);
            shown5++;
        }
    }

    /* 6 */
    int64_t unanswered = 0, cand = 0, by_events = 0, by_store = 0, lookups = 0;
    int shown6 = 0;
    for (int vi = 0; vi < ch->ninv; vi++) {
        invoice *v = &ch->inv[vi];
        if (v->prov == P_PAYWALL || v->paid == 0 || v->succeeded)
            continue;
        cand++;
        int ok = 0;
        for (int k = 0; k < v->ncmds && !ok; k++) {
            const cmd *c = &ch->cmds[v->cmds[k]];
            ok = c->nseq > 0 && c->seq[c->nseq - 1] == S_UNKNOWN;
        }
        if (ok) {
            by_events++;
            continue;
        }
        if (lookups < (ch->quick ? LOOKUP_MAX / 3 : LOOKUP_MAX)) {
            chaos_check_lookup(ch, v);
            lookups++;
        } else {
            snprintf(v->store, sizeof(v->store), "not-asked");
        }
        if (strcmp(v->store, "UNKNOWN") == 0 || strcmp(v->store, "INFLIGHT-unlocked") == 0) {
            by_store++;
            continue;
        }
        unanswered++;
        if (shown6 < EXAMPLES) {
            char why[300];
            snprintf(why, sizeof(why), "invoice %s: paid %d time(s) in the ledger, store says %s",
                     v->key, v->paid, v->store);
            for (int k = 0; k < v->ncmds; k++)
                chaos_check_example(ch, v->cmds[k], k == v->ncmds - 1 ? why : NULL);
            shown6++;
        }
    }
    snprintf(extra, sizeof(extra),
             "(paid invoices without a SUCCEEDED: %" PRId64 "; UNKNOWN in the results %" PRId64
             ", in the store %" PRId64 ")",
             cand, by_events, by_store);
    chaos_check_line(6, "paid-but-unanswered invoices neither UNKNOWN nor settled", unanswered,
                     extra);

    /* 7 */
    snprintf(extra, sizeof(extra), "%s%s", lag < 0 ? "(the broker did not answer)" : "", lagdetail);
    chaos_check_line(7, "lag after settling (commands not committed by the workers' group)",
                     lag < 0 ? 1 : lag, extra);

    /* 8: a worker is only ever killed by us; dying of another signal is a
     * crash (SIGSEGV, SIGABRT), whatever the answers say */
    chaos_check_line(8, "workers that died of a signal nobody sent them", ch->signalled,
                     ch->signalled > 0 ? ch->crash_note : "");

    /* counts */
    int64_t by[NST] = {0}, none = 0, unk_inv = 0;
    for (int ci = 0; ci < ch->ncmds; ci++) {
        const cmd *c = &ch->cmds[ci];
        if (c->nseq == 0)
            none++;
        else
            by[c->seq[c->nseq - 1]]++;
    }
    for (int vi = 0; vi < ch->ninv; vi++) {
        int u = 0;
        for (int k = 0; k < ch->inv[vi].ncmds; k++) {
            const cmd *c = &ch->cmds[ch->inv[vi].cmds[k]];
            u |= c->nseq > 0 && c->seq[c->nseq - 1] == S_UNKNOWN;
        }
        unk_inv += u;
    }
    printf("\ncommands by last status:");
    for (int i = 0; i < NST; i++)
        if (by[i] > 0)
            printf(" %s %" PRId64, st_names[i], by[i]);
    printf(" (no result %" PRId64 ")\n", none);
    printf("UNKNOWNs left: %" PRId64 " commands, %" PRId64 " invoices\n", by[S_UNKNOWN], unk_inv);
    int64_t f[6] = {0};
    static const char *const fk[] = {"reset",    "5xx",         "blackhole",
                                     "paid_5xx", "reset_after", "latency"};
    for (int p = 0; p < NPROV; p++)
        for (int k = 0; k < 6; k++)
            f[k] += json_object_get_int64(
                pv_json_member(pv_json_member(pv_json_member(pstats, provs[p]), "faults"), fk[k]));
    printf("faults: worker kill -9 %d, worker exits of their own %d, redis kill -9 %d, broker "
           "outages %d; provider reset %" PRId64 ", 5xx %" PRId64 ", blackhole %" PRId64
           ", paid_5xx %" PRId64 ", reset_after %" PRId64 "\n",
           ch->kills, ch->crashes, ch->redis_kills, ch->broker_outages, f[0], f[1], f[2], f[3],
           f[4]);
    if (ch->crashes > 0)
        printf("worker exits of their own:%s\n", ch->crash_note);
    if (ch->term_bad > 0)
        printf("workers that did not exit 0 on SIGTERM at the end: %d\n", ch->term_bad);
    printf("results: %" PRId64 " events (re-read %" PRId64 ", unparsable %" PRId64
           ", of no command of ours %" PRId64 ", ignored by the self-test %" PRId64
           "; reader restarts %d), ledger %" PRId64 " payments (%" PRId64
           " of invoices not ours)\n",
           ch->events, ch->dup_events, ch->bad_lines, ch->foreign, ch->dropped, ch->tail_restarts,
           lf.entries, lf.foreign);
    json_object_put(stats);
    free(entry_cmd);
    return g_failed;
}
