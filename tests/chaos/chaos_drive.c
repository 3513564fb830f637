/* chaos_drive.c -- the fault test's load and faults (the design: chaos.c):
 * the simulator's invoices and the commands planned for them, producing,
 * the group's lag, the results reader (payctl tail), the workers, redis and
 * the broker, and the self-test's direct payments. */
#include "chaos.h"

/*---- small things ----*/

static uint64_t chaos_drive_rng_next(chaos *ch)
{
    uint64_t z = (ch->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double chaos_drive_rng_unit(chaos *ch)
{
    return (double)(chaos_drive_rng_next(ch) >> 11) / 9007199254740992.0;
}

static int64_t chaos_drive_rng_range(chaos *ch, int64_t lo, int64_t hi)
{
    return hi <= lo ? lo : lo + (int64_t)(chaos_drive_rng_next(ch) % (uint64_t)(hi - lo + 1));
}

static int chaos_drive_st_index(const char *s)
{
    for (int i = 0; i < S_OTHER; i++)
        if (strcmp(s, st_names[i]) == 0)
            return i;
    return S_OTHER;
}

static uint64_t chaos_drive_fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void chaos_drive_ht_put(chaos *ch, int idx)
{
    size_t i = chaos_drive_fnv(ch->inv[idx].key) & (ch->htcap - 1);
    while (ch->ht[i] >= 0)
        i = (i + 1) & (ch->htcap - 1);
    ch->ht[i] = idx;
}

int chaos_drive_ht_get(const chaos *ch, const char *key)
{
    size_t i = chaos_drive_fnv(key) & (ch->htcap - 1);
    for (size_t n = 0; n < ch->htcap && ch->ht[i] >= 0; n++, i = (i + 1) & (ch->htcap - 1))
        if (strcmp(ch->inv[ch->ht[i]].key, key) == 0)
            return ch->ht[i];
    return -1;
}

/* "c000123" -> 123, or -1 when it is not one of ours. */
int chaos_drive_cmd_index(const chaos *ch, const char *id)
{
    if (id[0] != 'c' || strlen(id) != 7 || strspn(id + 1, "0123456789") != 6)
        return -1;
    long v = strtol(id + 1, NULL, 10);
    return v < ch->ncmds ? (int)v : -1;
}

/* Decimal text ("81.59", "196.5") -> minor units with 2 decimals. */
static int64_t chaos_drive_minor2(const char *t)
{
    int64_t v = 0;
    int frac = -1;
    for (; *t != '\0'; t++) {
        if (*t == '.') {
            frac = 0;
            continue;
        }
        if (*t < '0' || *t > '9' || frac >= 2)
            break;
        v = v * 10 + (*t - '0');
        if (frac >= 0)
            frac++;
    }
    for (int f = frac < 0 ? 0 : frac; f < 2; f++)
        v *= 10;
    return v;
}

/*---- the invoices and the commands ----*/

static void chaos_drive_add_invoice(chaos *ch, int prov, const char *qid, const char *req,
                                    const char *alt)
{
    invoice *v = &ch->inv[ch->ninv];
    memset(v, 0, sizeof(*v));
    v->prov = prov;
    snprintf(v->qid, sizeof(v->qid), "%s", qid);
    snprintf(v->key, sizeof(v->key), "%s:%s", provs[prov], qid);
    snprintf(v->req, sizeof(v->req), "%s", req);
    snprintf(v->alt, sizeof(v->alt), "%s", alt);
    chaos_drive_ht_put(ch, ch->ninv);
    ch->ninv++;
}

/* Invoices 1..n of every provider (0 is the seed's sample), from the
 * simulator's own listing; İş Bankası references are ours. */
void chaos_drive_load_invoices(chaos *ch)
{
    int want = 0;
    for (int p = 0; p < NPROV; p++)
        want += ch->p.invoices[p];
    ch->inv = calloc((size_t)want, sizeof(*ch->inv));
    for (ch->htcap = 16; ch->htcap < (size_t)want * 4; ch->htcap *= 2)
        ;
    ch->ht = malloc(ch->htcap * sizeof(int));
    for (size_t i = 0; i < ch->htcap; i++)
        ch->ht[i] = -1;
    for (int p = 0; p < NPROV; p++) {
        char path[96], req[1200], alt[1200], qid[96];
        json_object *list = NULL, *arr = NULL;
        if (p != P_ISBANK) {
            snprintf(path, sizeof(path), "/_sim/invoices?provider=%s", provs[p]);
            list = sim_get(&ch->s, path);
            arr = pv_json_member(list, p == P_PAYWALL ? "payments" : "invoices");
            if (arr == NULL || (int)json_object_array_length(arr) <= ch->p.invoices[p])
                fail_msg("%s: the simulator lists too few invoices", provs[p]);
        }
        for (int i = 1; i <= ch->p.invoices[p]; i++) {
            json_object *o = arr != NULL ? json_object_array_get_idx(arr, (size_t)i) : NULL;
            switch (p) {
            case P_PAYOFIN: {
                int64_t id = json_object_get_int64(pv_json_member(o, "invoiceQueryId"));
                int64_t lira = chaos_drive_minor2(chaos_jstr(o, "invoiceAmount")) / 100;
                snprintf(qid, sizeof(qid), "%" PRId64, id);
                if (chaos_drive_rng_unit(ch) < 0.6) { /* the whole invoice; the other: a partial */
                    snprintf(req, sizeof(req), "{\"invoiceQueryId\": %" PRId64 "}", id);
                    snprintf(alt, sizeof(alt),
                             "{\"invoiceQueryId\": %" PRId64 ", \"partialAmount\": 1}", id);
                } else {
                    snprintf(req, sizeof(req),
                             "{\"invoiceQueryId\": %" PRId64 ", \"partialAmount\": %" PRId64 "}",
                             id, lira > 2 ? lira - 1 : 1);
                    snprintf(alt, sizeof(alt),
                             "{\"invoiceQueryId\": %" PRId64 ", \"partialAmount\": %" PRId64 "}",
                             id, lira > 3 ? lira - 2 : 2);
                }
                break;
            }
            case P_SIPAY: {
                const char *amt = chaos_jstr(o, "invoice_amount");
                int64_t half = chaos_drive_minor2(amt) / 2;
                char halft[32];
                snprintf(halft, sizeof(halft), "%" PRId64 ".%02" PRId64,
                         (half > 0 ? half : 1) / 100, (half > 0 ? half : 1) % 100);
                snprintf(qid, sizeof(qid), "%s",
                         chaos_jstr(o, "inv_payment_transaction_query_oid"));
                const char *fmt =
                    "{\"account_type_id\": 1, \"account_number\": \"28XX01\", \"wallet_number\": "
                    "\"25XX25\", \"inv_payment_transaction_query_oid\": \"%s\", "
                    "\"invoice_amount\": "
                    "\"%s\", \"payment_amount\": \"%s\", \"product_oid\": \"%s\", "
                    "\"subscriber_no\": "
                    "\"%s\", \"bill_term\": \"%s\", \"bill_no\": \"%s\"}";
                snprintf(req, sizeof(req), fmt, qid, amt, amt, chaos_jstr(o, "product_oid"),
                         chaos_jstr(o, "subscriber_no"), chaos_jstr(o, "bill_term"),
                         chaos_jstr(o, "bill_no"));
                snprintf(alt, sizeof(alt), fmt, qid, amt, halft, chaos_jstr(o, "product_oid"),
                         chaos_jstr(o, "subscriber_no"), chaos_jstr(o, "bill_term"),
                         chaos_jstr(o, "bill_no"));
                break;
            }
            case P_PAYWALL: {
                int64_t id = json_object_get_int64(pv_json_member(o, "paymentid"));
                snprintf(qid, sizeof(qid), "%" PRId64, id);
                snprintf(req, sizeof(req), "{\"paymentid\": %" PRId64 "}", id);
                snprintf(alt, sizeof(alt), "%s", req); /* a report has nothing else to vary */
                break;
            }
            case P_ISBANK: {
                const char *fmt =
                    "{\"service_id\": 10065, \"payment_reference\": \"%s\", \"amount\": %d, "
                    "\"currency_code\": \"TRY\", \"basic_input_values\": [{\"name\": "
                    "\"SubscriberName\", \"value\": \"Ayşe Yılmaz\"}, {\"name\": \"Tckn_Vkn_Ykn\", "
                    "\"value\": \"12345678901\"}]}";
                snprintf(qid, sizeof(qid), "CHAOS-%" PRIu64 "-%06d", ch->seed, i);
                snprintf(req, sizeof(req), fmt, qid, 950);
                snprintf(alt, sizeof(alt), fmt, qid, 960);
                break;
            }
            default: {
                const char *amount = chaos_jstr(o, "amount");
                int64_t a = strtoll(amount, NULL, 10);
                const char *fmt = "{\"invoicesDetails\": [{\"invoiceID\": \"%s\", \"amount\": "
                                  "\"%" PRId64 "\", \"currency\": \"%s\"}]}";
                snprintf(qid, sizeof(qid), "%s", chaos_jstr(o, "invoiceID"));
                snprintf(req, sizeof(req), fmt, qid, a, chaos_jstr(o, "currency"));
                snprintf(alt, sizeof(alt), fmt, qid, a > 1 ? a - 1 : a, chaos_jstr(o, "currency"));
                break;
            }
            }
            chaos_drive_add_invoice(ch, p, qid, req, alt);
        }
        json_object_put(list);
    }
}

static int chaos_drive_cmp_send(const void *a, const void *b)
{
    const sendev *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->cmd - y->cmd;
}

static int chaos_drive_new_cmd(chaos *ch, int inv, int kind, int64_t at)
{
    cmd *c = &ch->cmds[ch->ncmds];
    memset(c, 0, sizeof(*c));
    c->inv = inv;
    c->kind = kind;
    c->planned = at;
    double r = chaos_drive_rng_unit(ch);
    c->exp = r < 0.08 ? E_PAST : r < 0.18 ? E_DURING : r < 0.38 ? E_FAR : E_NONE;
    invoice *v = &ch->inv[inv];
    if (v->ncmds < 4)
        v->cmds[v->ncmds++] = ch->ncmds;
    ch->sends[ch->nsends++] = (sendev){at, ch->ncmds, 0};
    return ch->ncmds++;
}

/* The whole plan: commands, their kinds and expiry, and every send time. */
void chaos_drive_plan(chaos *ch)
{
    int base_max = ch->ninv * 2;
    ch->cmds = calloc((size_t)base_max, sizeof(*ch->cmds));
    ch->sends = calloc((size_t)(base_max + ch->p.total), sizeof(*ch->sends));
    /* invoices in a random order, first commands spread over the span */
    int *order = malloc((size_t)ch->ninv * sizeof(int));
    for (int i = 0; i < ch->ninv; i++)
        order[i] = i;
    for (int i = ch->ninv - 1; i > 0; i--) {
        int j = (int)(chaos_drive_rng_next(ch) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < ch->ninv; k++) {
        int i = order[k];
        int64_t at = ch->p.first_span_ms * k / ch->ninv + chaos_drive_rng_range(ch, 0, 50);
        chaos_drive_new_cmd(ch, i, K_FIRST, at);
        if (chaos_drive_rng_unit(ch) < ch->p.second_frac) {
            int kind =
                ch->inv[i].prov == P_PAYWALL || chaos_drive_rng_unit(ch) < 0.5 ? K_SAME : K_OTHER;
            int64_t later = chaos_drive_rng_unit(ch) < 0.7 ? chaos_drive_rng_range(ch, 0, 3000)
                                                           : chaos_drive_rng_range(ch, 3000, 12000);
            chaos_drive_new_cmd(ch, i, kind, at + later);
        }
    }
    free(order);
    int nbase = ch->ncmds;
    for (int r = nbase; r < ch->p.total; r++) {
        int c = (int)(chaos_drive_rng_next(ch) % (uint64_t)nbase);
        int late = chaos_drive_rng_unit(ch) < ch->p.late_frac;
        int64_t d = late ? chaos_drive_rng_range(ch, ch->p.late_min_ms, ch->p.late_max_ms)
                         : chaos_drive_rng_range(ch, 200, 5000);
        ch->sends[ch->nsends++] = (sendev){ch->cmds[c].planned + d, c, late};
    }
    qsort(ch->sends, (size_t)ch->nsends, sizeof(*ch->sends), chaos_drive_cmp_send);
}

/*---- Kafka: producing, lag ----*/

void chaos_drive_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    chaos *ch = opaque;
    intptr_t i = (intptr_t)m->_private;
    if (i < 0 || i >= ch->ncmds)
        return;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ch->cmds[i].dr_fail++;
        ch->dr_fail++;
    } else {
        ch->cmds[i].dr_ok++;
        ch->cmds[i].part = m->partition;
    }
}

void chaos_drive_produce_raw(chaos *ch, const char *key, const char *body, size_t len,
                             intptr_t opaque)
{
    for (int tries = 0; tries < 1000; tries++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            ch->prod, RD_KAFKA_V_TOPIC(T_COMMANDS), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)body, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)opaque), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            fail_msg("produce: %s", rd_kafka_err2str(err));
        rd_kafka_poll(ch->prod, 10);
    }
    fail_msg("produce: the queue stayed full");
}

void chaos_drive_send_cmd(chaos *ch, int i)
{
    cmd *c = &ch->cmds[i];
    invoice *v = &ch->inv[c->inv];
    if (c->body == NULL) {
        char buf[2048], exp[48] = "";
        int64_t now = wall_ms(), created = now;
        if (c->exp == E_PAST) {
            created = now - 90000;
            snprintf(exp, sizeof(exp), ", \"expires_at\": %" PRId64,
                     now - chaos_drive_rng_range(ch, 1000, 60000));
        } else if (c->exp == E_DURING) {
            snprintf(exp, sizeof(exp), ", \"expires_at\": %" PRId64,
                     now + chaos_drive_rng_range(ch, 1000, 10000));
        } else if (c->exp == E_FAR) {
            snprintf(exp, sizeof(exp), ", \"expires_at\": %" PRId64, now + 3600000);
        }
        c->len = snprintf(buf, sizeof(buf),
                          "{\"command_id\": \"c%06d\", \"provider\": \"%s\", \"created_at\": "
                          "%" PRId64 "%s, \"request\": %s}",
                          i, provs[v->prov], created, exp, c->kind == K_OTHER ? v->alt : v->req);
        c->body = strdup(buf);
    }
    c->sends++;
    chaos_drive_produce_raw(ch, v->key, c->body, (size_t)c->len, i);
}

int chaos_drive_partitions_of(chaos *ch, const char *topic)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(ch->admin, topic, NULL);
    int n = -1;
    for (int tries = 0; tries < 10 && n < 0; tries++) {
        if (rd_kafka_metadata(ch->admin, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                n = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
    }
    rd_kafka_topic_destroy(t);
    if (n <= 0 || n > MAX_PARTS)
        fail_msg("%s: no metadata (%d partitions)", topic, n);
    return n;
}

/* Sum over the topic's partitions of high watermark - low watermark. -1 when
 * the broker did not answer. */
int64_t chaos_drive_topic_messages(chaos *ch, const char *topic, int nparts)
{
    int64_t total = 0;
    for (int p = 0; p < nparts; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(ch->admin, topic, p, &lo, &hi, 5000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            return -1;
        total += hi - lo;
    }
    return total;
}

/* Commands not yet committed by the workers' group: for every partition,
 * high watermark - committed offset (- low when nothing is committed). -1
 * when the broker did not answer; detail gets "p=lag" of the lagging ones. */
int64_t chaos_drive_group_lag(chaos *ch, char *detail, size_t cap)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(ch->ncmd_parts);
    for (int p = 0; p < ch->ncmd_parts; p++)
        rd_kafka_topic_partition_list_add(l, T_COMMANDS, p);
    int64_t lag = 0;
    size_t o = 0;
    if (detail != NULL && cap > 0)
        detail[0] = '\0';
    if (rd_kafka_committed(ch->admin, l, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    for (int i = 0; i < l->cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(ch->admin, T_COMMANDS, l->elems[i].partition, &lo, &hi,
                                             5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            lag = -1;
            break;
        }
        int64_t c = l->elems[i].offset;
        int64_t d = c >= 0 ? hi - c : hi - lo;
        lag += d;
        if (d != 0 && detail != NULL && o < cap)
            o += (size_t)snprintf(detail + o, cap - o,
                                  " p%d=%" PRId64 "(committed %" PRId64 ", end %" PRId64 ")",
                                  l->elems[i].partition, d, c, hi);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return lag;
}

/*---- the results reader: payctl tail -B -m results ----*/

void chaos_drive_tail_start(chaos *ch)
{
    char path[512];
    it_build_path(path, sizeof(path), "worker/payctl");
    char *argv[] = {path,      "tail", "-b", ch->s.bootstrap,
                    "-B",      "-m",   "-X", "fetch.wait.max.ms=10",
                    "results", NULL};
    if (it_spawn(&ch->tail, "payctl-tail", argv, NULL) != 0)
        fail_msg("payctl tail did not start");
}

void chaos_drive_record(chaos *ch, int ci, int st, json_object *ev)
{
    cmd *c = &ch->cmds[ci];
    c->nev++;
    c->mask |= 1u << st;
    if (c->nseq == 0 || c->seq[c->nseq - 1] != st) {
        if (c->nseq < SEQ_MAX)
            c->seq[c->nseq++] = (uint8_t)st;
        else
            c->seq_more = 1;
    }
    if (ev != NULL) {
        const char *r = chaos_jstr(ev, "reason");
        if (r[0] != '\0')
            snprintf(c->reason, sizeof(c->reason), "%s", r);
        snprintf(c->worker, sizeof(c->worker), "%s", chaos_jstr(ev, "worker"));
    }
}

static void chaos_drive_on_line(chaos *ch, char *line)
{
    json_object *w = json_tokener_parse(line);
    if (w == NULL) {
        ch->bad_lines++;
        return;
    }
    int part = json_object_get_int(pv_json_member(w, "partition"));
    int64_t off = json_object_get_int64(pv_json_member(w, "offset"));
    if (part < 0 || part >= MAX_PARTS || off < 0 || off > (int64_t)1 << 32) {
        ch->bad_lines++;
        json_object_put(w);
        return;
    }
    if (off >= ch->seen_cap[part]) {
        int64_t cap = ch->seen_cap[part] > 0 ? ch->seen_cap[part] : 4096;
        while (cap <= off)
            cap *= 2;
        ch->seen[part] = realloc(ch->seen[part], (size_t)cap);
        memset(ch->seen[part] + ch->seen_cap[part], 0, (size_t)(cap - ch->seen_cap[part]));
        ch->seen_cap[part] = cap;
    }
    if (ch->seen[part][off]) {
        ch->dup_events++; /* the reader read it again (a rebalance of its own group) */
        json_object_put(w);
        return;
    }
    ch->seen[part][off] = 1;
    ch->events++;
    json_object *ev = pv_json_member(w, "event");
    int ci = chaos_drive_cmd_index(ch, chaos_jstr(ev, "command_id"));
    if (ci < 0) {
        ch->foreign++;
    } else if (ch->brk_drop && ci % 40 == 7) {
        ch->dropped++;
    } else {
        chaos_drive_record(ch, ci, chaos_drive_st_index(chaos_jstr(ev, "status")), ev);
    }
    json_object_put(w);
}

/* Reads what the reader printed, up to budget_ms; restarts it when it died. */
void chaos_drive_pump(chaos *ch, int budget_ms)
{
    int64_t end = it_now_ms() + budget_ms;
    do {
        if (ch->tail.pid <= 0 || ch->tail.out_fd < 0) {
            if (ch->tail.pid > 0)
                it_stop(&ch->tail, SIGTERM, 2000);
            ch->tail_restarts++;
            chaos_drive_tail_start(ch);
        }
        struct pollfd pfd = {.fd = ch->tail.out_fd, .events = POLLIN};
        int left = (int)(end - it_now_ms());
        int rc = poll(&pfd, 1, left > 0 ? left : 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        lreader *r = &ch->lr;
        if (r->cap - r->len < 65536) {
            r->cap = r->cap > 0 ? r->cap * 2 : 1 << 20;
            r->buf = realloc(r->buf, r->cap);
        }
        ssize_t n = read(ch->tail.out_fd, r->buf + r->len, r->cap - r->len - 1);
        if (n <= 0) {
            chaos_say(ch, "payctl tail ended: restarting it (read again from the beginning)");
            it_stop(&ch->tail, SIGTERM, 2000);
            continue;
        }
        r->len += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < r->len; i++)
            if (r->buf[i] == '\n') {
                r->buf[i] = '\0';
                chaos_drive_on_line(ch, r->buf + start);
                start = i + 1;
            }
        memmove(r->buf, r->buf + start, r->len - start);
        r->len -= start;
    } while (it_now_ms() < end);
}

/*---- the workers, redis, the broker ----*/

void chaos_drive_worker_start(chaos *ch, int i)
{
    stack *s = &ch->s;
    char path[512], addr[96], wid[64], name[32];
    s->metrics_port[i] = it_free_port();
    ch->gen[i]++;
    snprintf(addr, sizeof(addr), "PAYW_HTTP_ADDR=127.0.0.1:%d", s->metrics_port[i]);
    snprintf(wid, sizeof(wid), "PAYW_WORKER_ID=w%d.%d", i, ch->gen[i]);
    snprintf(name, sizeof(name), "worker-w%d.%d", i, ch->gen[i]);
    char *env[72];
    int n = 0;
    for (; s->env[n] != NULL && n < 68; n++)
        env[n] = s->env[n];
    env[n++] = addr;
    env[n++] = wid;
    env[n] = NULL;
    it_build_path(path, sizeof(path), "worker/payworker");
    char *argv[] = {path, NULL};
    if (it_spawn(&s->w[i], name, argv, env) != 0)
        fail_msg("%s did not start", name);
    ch->restart_at[i] = 0;
}

/* A worker that exited on its own is noted and restarted. */
void chaos_drive_reap_workers(chaos *ch)
{
    for (int i = 0; i < NWORKERS; i++) {
        it_proc *w = &ch->s.w[i];
        int status;
        if (w->pid <= 0 || waitpid(w->pid, &status, WNOHANG) != w->pid)
            continue;
        ch->crashes++;
        ch->signalled += WIFSIGNALED(status);
        size_t o = strlen(ch->crash_note);
        if (o < sizeof(ch->crash_note) - 100)
            snprintf(ch->crash_note + o, sizeof(ch->crash_note) - o, " w%d.%d %s %d (log %s);", i,
                     ch->gen[i], WIFSIGNALED(status) ? "signal" : "exit",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), w->log_path);
        chaos_say(ch, "worker w%d.%d exited on its own (%s %d): restarting it", i, ch->gen[i],
                  WIFSIGNALED(status) ? "signal" : "exit",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        w->pid = 0;
        it_close(w);
        ch->restart_at[i] = it_now_ms() + 500;
    }
}

void chaos_drive_dk_control(chaos *ch, const char *line)
{
    char reply[512];
    if (it_request(&ch->s.dk, line, reply, sizeof(reply), 10000) != 0 ||
        strncmp(reply, "ok", 2) != 0)
        fail_msg("devkafka \"%s\": %s", line, reply);
}

void chaos_drive_redis_start(chaos *ch)
{
    start_redis_aof(&ch->s, ch->redisdir);
}

/* One step of the fault schedule (load phase only). */
/* The broker must outlive the run: devkafka is librdkafka 2.0.2's mock
 * cluster, which aborts (rd_kafka_mock_cgrp_member_add: Assertion
 * `!member->resp' failed) when a member joins again while an earlier
 * JoinGroup of it is still unanswered: a broker outage in the middle of a
 * rebalance does it. That is the mock's failure, not the workers': say so
 * and stop (exit 255: the harness could not run), never blame a check. */
static void chaos_drive_broker_alive(chaos *ch)
{
    if (ch->s.dk.pid <= 0 || waitpid(ch->s.dk.pid, NULL, WNOHANG) != ch->s.dk.pid)
        return;
    ch->s.dk.pid = 0;
    chaos_say(ch, "devkafka (librdkafka's mock cluster) died: the run cannot go on; its log:");
    it_dump_log(&ch->s.dk);
    chaos_kill_children();
    exit(255);
}

/* No worker is killed from QUIET_BEFORE_MS before the broker outage until
 * QUIET_AFTER_MS after it: the group is stable when the broker goes down, so
 * that the mock does not abort (broker_alive). A real broker needs no such
 * window (issue 13). */
#define QUIET_BEFORE_MS 12000
#define QUIET_AFTER_MS  7000

void chaos_drive_faults_step(chaos *ch)
{
    int64_t now = it_now_ms(), t = now - ch->t0;
    int quiet =
        t >= ch->p.broker_down_at - QUIET_BEFORE_MS && t < ch->p.broker_down_at + QUIET_AFTER_MS;
    chaos_drive_broker_alive(ch);
    if (quiet && now >= ch->next_kill)
        ch->next_kill = now + 1000; /* after the window */
    if (ch->brk_crash == 1 && t >= ch->p.kill_from_ms && ch->s.w[0].pid > 0) {
        /* self-test: a crash as a worker would crash, not one of our kills */
        kill(ch->s.w[0].pid, SIGSEGV);
        ch->brk_crash = 2;
    }
    if (t >= ch->p.kill_from_ms && now >= ch->next_kill) {
        int up[NWORKERS], n = 0;
        for (int i = 0; i < NWORKERS; i++)
            if (ch->s.w[i].pid > 0)
                up[n++] = i;
        if (n > 0) {
            int i = up[chaos_drive_rng_next(ch) % (uint64_t)n];
            it_stop(&ch->s.w[i], SIGKILL, 5000);
            ch->kills++;
            ch->restart_at[i] = now + chaos_drive_rng_range(ch, 300, 1500);
        }
        ch->next_kill = now + chaos_drive_rng_range(ch, 2000, 8000);
    }
    if (ch->redis_next < ch->p.nredis && t >= ch->p.redis_kill_at[ch->redis_next] &&
        ch->s.redis.pid > 0) {
        chaos_say(ch, "redis-server: kill -9");
        it_stop(&ch->s.redis, SIGKILL, 5000);
        ch->redis_kills++;
        ch->redis_next++;
        ch->redis_restart_at = now + chaos_drive_rng_range(ch, 1000, 3000);
    }
    if (ch->s.redis.pid <= 0 && ch->redis_restart_at > 0 && now >= ch->redis_restart_at) {
        chaos_drive_redis_start(ch);
        ch->redis_restart_at = 0;
        chaos_say(ch, "redis-server restarted from its AOF");
    }
    if (!ch->broker_is_down && ch->broker_outages == 0 && t >= ch->p.broker_down_at) {
        chaos_say(ch, "broker down for 5 s");
        chaos_drive_dk_control(ch, "broker down all");
        ch->broker_is_down = 1;
        ch->broker_outages++;
        ch->broker_up_at = now + 5000;
    }
    if (ch->broker_is_down && now >= ch->broker_up_at) {
        chaos_drive_dk_control(ch, "broker up all");
        ch->broker_is_down = 0;
        chaos_say(ch, "broker up");
    }
}

void chaos_drive_workers_step(chaos *ch)
{
    chaos_drive_reap_workers(ch);
    int64_t now = it_now_ms();
    for (int i = 0; i < NWORKERS; i++)
        if (ch->s.w[i].pid <= 0 && ch->restart_at[i] > 0 && now >= ch->restart_at[i])
            chaos_drive_worker_start(ch, i);
}

int chaos_drive_missing_results(const chaos *ch, int *undelivered)
{
    int n = 0, u = 0;
    for (int i = 0; i < ch->ncmds; i++) {
        const cmd *c = &ch->cmds[i];
        if (c->dr_ok == 0)
            u++;
        else if (c->nev == 0)
            n++;
    }
    if (undelivered != NULL)
        *undelivered = u;
    return n;
}

/*---- the direct payments of the self-test ----*/

long chaos_drive_sim_pay_payofin(chaos *ch, const char *qid, const char *request_id)
{
    char url[128], body[128], rid[160];
    snprintf(url, sizeof(url), "%s/invoices/invoicepayment", ch->s.sim_url);
    snprintf(body, sizeof(body), "{\"invoiceQueryId\": %s}", qid);
    snprintf(rid, sizeof(rid), "X-Request-Id: %s", request_id);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "ApiKey: sim-payofin-api-key");
    h = curl_slist_append(h, "SecretKey: sim-payofin-secret-key");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, rid);
    CURL *c = curl_easy_init();
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (sink != NULL)
        fclose(sink);
    return code;
}
