/* ps_control.c -- the control endpoints (/_sim/...): invoices, stats, ledger, faults,
 * reset, config. */
#include "ps_int.h"
#include "pw_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

/*---- Control endpoints (/_sim/...) ----*/

static const char *const ps_stat_names[PS_NSTAT] = {
    "requests", "payments", "declines", "double_payment_attempts", "auth_failures", "bad_requests",
};

static void ps_control_send(ps_sim *sim, struct evhttp_request *req, int status)
{
    struct evbuffer *ob = evhttp_request_get_output_buffer(req);
    if (sim->out.failed) {
        status = 500;
        ps_buf_reset(&sim->out);
        ps_buf_adds(&sim->out, "{\"error\":\"answer too large\"}");
    }
    evbuffer_add(ob, sim->out.data != NULL ? sim->out.data : "", sim->out.len);
    ps_buf_reset(&sim->out);
    evhttp_send_reply(req, status, ps_server_reason(status), NULL);
}

void ps_control_error(ps_sim *sim, struct evhttp_request *req, int status, const char *fmt, ...)
{
    char msg[PS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    ps_fmt_vmsg(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps_jw w;
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "error", msg);
    ps_jw_end(&w);
    ps_control_send(sim, req, status);
}

static void ps_control_invoices_payofin(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    ps_jw_kamount(w, "merchant_balance", st->payofin_balance, 2, 2);
    ps_jw_key(w, "invoices");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        const ps_payofin_invoice *inv = &st->payofin[i];
        ps_jw_obj(w);
        ps_jw_kint(w, "invoiceQueryId", inv->id);
        ps_jw_kstr(w, "invoiceNo", inv->invoice_no);
        ps_jw_kstr(w, "expDate", inv->exp_date);
        ps_jw_kamount(w, "invoiceAmount", inv->amount, 2, 2);
        ps_jw_kamount(w, "merchantProfit", inv->profit, 2, 2);
        ps_jw_kstr(w, "sootCode", inv->soot);
        ps_jw_kstr(w, "subscriberNo", inv->subscriber);
        ps_jw_kstr(w, "additionalNo", "");
        ps_jw_kstr(w, "firmRefNo", "");
        ps_jw_kbool(w, "paid", inv->paid);
        if (inv->paid)
            ps_jw_kint(w, "invoicePaymentId", inv->payment_id);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_control_invoices_sipay(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    ps_jw_key(w, "wallets");
    ps_jw_arr(w);
    for (size_t i = 0; i < PS_NWALLETS; i++) {
        ps_jw_obj(w);
        ps_jw_kstr(w, "account_number", st->wallets[i].account);
        ps_jw_kstr(w, "wallet_number", st->wallets[i].number);
        ps_jw_kamount(w, "total_balance", st->wallets[i].cash, 2, 2);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
    ps_jw_key(w, "invoices");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        const ps_sipay_invoice *inv = &st->sipay[i];
        ps_jw_obj(w);
        ps_jw_kstr(w, "inv_payment_transaction_query_oid", inv->oid);
        ps_jw_kamount(w, "invoice_amount", inv->amount, 2, 2);
        ps_jw_kstr(w, "product_oid", ps_sipay_products[inv->product].oid);
        ps_jw_kstr(w, "institution_name", ps_sipay_products[inv->product].name);
        ps_jw_kstr(w, "subscriber_no", inv->subscriber);
        ps_jw_kstr(w, "bill_term", inv->bill_term);
        ps_jw_kstr(w, "bill_no", inv->bill_no);
        ps_jw_kbool(w, "paid", inv->paid);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_control_invoices_paywall(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    ps_jw_key(w, "payments");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        ps_jw_obj(w);
        ps_jw_kint(w, "paymentid", st->paywall[i].id);
        ps_jw_kint(w, "debts", (int64_t)st->paywall[i].n);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_control_invoices_isbank(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    ps_jw_kint(w, "service_id", sim->isbank_service_id);
    ps_jw_kint(w, "paid_references", (int64_t)st->isbank_paid.n);
    ps_jw_key(w, "orders");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        const ps_isbank_order *o = &st->isbank[i];
        int64_t paid;
        ps_jw_obj(w);
        ps_jw_kint(w, "service_id", sim->isbank_service_id);
        ps_jw_kstr(w, "payment_reference", o->reference);
        ps_jw_kamount(w, "amount", o->amount, pv_currency_by_alpha(o->currency)->exponent, -1);
        ps_jw_kstr(w, "currency_code", o->currency);
        ps_jw_key(w, "basic_input_values");
        ps_jw_arr(w);
        ps_jw_obj(w);
        ps_jw_kstr(w, "name", "SubscriberName");
        ps_jw_kstr(w, "value", o->name);
        ps_jw_end(w);
        ps_jw_obj(w);
        ps_jw_kstr(w, "name", "Tckn_Vkn_Ykn");
        ps_jw_kstr(w, "value", o->tckn);
        ps_jw_end(w);
        ps_jw_end_arr(w);
        ps_jw_key(w, "selected_input_values");
        ps_jw_arr(w);
        ps_jw_obj(w);
        ps_jw_kstr(w, "name", "OnBehalfOf");
        ps_jw_key(w, "selected_item");
        ps_jw_obj(w);
        ps_jw_kstr(w, "key", "K");
        ps_jw_kstr(w, "value", "Kendi adıma");
        ps_jw_end(w);
        ps_jw_end(w);
        ps_jw_end_arr(w);
        ps_jw_kbool(w, "paid",
                    ps_map_get(&st->isbank_paid, o->reference, strlen(o->reference), &paid));
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_control_invoices_payone(ps_sim *sim, ps_jw *w)
{
    const ps_state *st = &sim->st;
    char t[24];
    ps_jw_key(w, "invoices");
    ps_jw_arr(w);
    for (size_t i = 0; i < st->n; i++) {
        const ps_payone_invoice *inv = &st->payone[i];
        ps_jw_obj(w);
        ps_jw_kstr(w, "invoiceID", inv->id);
        snprintf(t, sizeof(t), "%" PRId64, inv->preauth);
        ps_jw_kstr(w, "amount", t);
        ps_jw_kstr(w, "currency", inv->currency->numeric);
        ps_jw_kstr(w, "currency_alpha", inv->currency->alpha);
        ps_jw_kbool(w, "preauthorized", inv->is_preauth);
        ps_jw_kbool(w, "completed", inv->completed);
        ps_jw_end(w);
    }
    ps_jw_end_arr(w);
}

static void ps_control_invoices_of(ps_sim *sim, ps_jw *w, int p)
{
    static void (*const fns[PS_NPROV])(ps_sim *, ps_jw *) = {
        ps_control_invoices_payofin, ps_control_invoices_sipay,  ps_control_invoices_paywall,
        ps_control_invoices_isbank,  ps_control_invoices_payone,
    };
    ps_jw_obj(w);
    ps_jw_kstr(w, "provider", ps_provider_names[p]);
    fns[p](sim, w);
    ps_jw_end(w);
}

/* The query parameter `name` of the control request, or NULL. */
static const char *ps_control_query_param(struct evkeyvalq *q, const char *name)
{
    return evhttp_find_header(q, name);
}

/* Reads ?provider=: *p gets the provider, PS_NPROV when absent or ALL. */
static bool ps_control_query_provider(ps_sim *sim, struct evhttp_request *req, struct evkeyvalq *q,
                                      int *p)
{
    const char *v = ps_control_query_param(q, "provider");
    *p = v != NULL ? ps_faults_provider_parse(v, strlen(v)) : PS_NPROV;
    if (*p >= 0)
        return true;
    char qt[96];
    pv_utf8_quote(qt, sizeof(qt), v, strlen(v));
    ps_control_error(sim, req, 400,
                     "provider: \"%s\" is not one of PAYOFIN SIPAY PAYWALL ISBANK PAYONE", qt);
    return false;
}

static void ps_control_invoices(ps_sim *sim, struct evhttp_request *req, struct evkeyvalq *q)
{
    int p;
    if (!ps_control_query_provider(sim, req, q, &p))
        return;
    ps_jw w;
    ps_jw_init(&w, &sim->out);
    if (p != PS_NPROV) {
        ps_control_invoices_of(sim, &w, p);
    } else {
        ps_jw_obj(&w);
        for (int i = 0; i < PS_NPROV; i++) {
            ps_jw_key(&w, ps_provider_names[i]);
            ps_control_invoices_of(sim, &w, i);
        }
        ps_jw_end(&w);
    }
    ps_control_send(sim, req, 200);
}

static void ps_control_stats(ps_sim *sim, struct evhttp_request *req)
{
    ps_jw w;
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_key(&w, "providers");
    ps_jw_obj(&w);
    for (int p = 0; p < PS_NPROV; p++) {
        const ps_stats *s = &sim->stats[p];
        ps_jw_key(&w, ps_provider_names[p]);
        ps_jw_obj(&w);
        for (int i = 0; i < PS_NSTAT; i++)
            ps_jw_kint(&w, ps_stat_names[i], (int64_t)s->n[i]);
        ps_jw_key(&w, "faults");
        ps_jw_obj(&w);
        for (int f = PS_F_RESET; f < PS_NFAULT; f++)
            ps_jw_kint(&w, ps_fault_names[f], (int64_t)s->faults[f]);
        ps_jw_end(&w);
        ps_jw_end(&w);
    }
    ps_jw_end(&w);
    ps_jw_kint(&w, "held_requests", (int64_t)sim->nheld);
    ps_jw_kint(&w, "blackholes", (int64_t)sim->nblackholes);
    ps_jw_kint(&w, "ledger_entries", (int64_t)sim->ledger.n);
    ps_jw_kint(&w, "ledger_dropped", (int64_t)sim->ledger.dropped);
    ps_jw_kint(&w, "uptime_ms", ps_time_now_ms() - sim->started_ms);
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

/* An unsigned query parameter, def when absent. */
static bool ps_control_query_u64(ps_sim *sim, struct evhttp_request *req, struct evkeyvalq *q,
                                 const char *name, uint64_t def, uint64_t *out)
{
    const char *v = ps_control_query_param(q, name);
    int64_t i64;
    *out = def;
    if (v == NULL)
        return true;
    if (strspn(v, "0123456789") == strlen(v) && v[0] != '\0' &&
        pv_money_parse_int64(v, strlen(v), &i64) == PV_OK) {
        *out = (uint64_t)i64;
        return true;
    }
    char qt[96];
    pv_utf8_quote(qt, sizeof(qt), v, strlen(v));
    ps_control_error(sim, req, 400, "%s: \"%s\" must be a whole number", name, qt);
    return false;
}

static void ps_control_ledger(ps_sim *sim, struct evhttp_request *req, struct evkeyvalq *q)
{
    const ps_ledger *l = &sim->ledger;
    int p;
    uint64_t since, limit;
    char t[40];
    if (!ps_control_query_provider(sim, req, q, &p) ||
        !ps_control_query_u64(sim, req, q, "since", 0, &since) ||
        !ps_control_query_u64(sim, req, q, "limit", 100000, &limit))
        return;
    ps_jw w;
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "total", (int64_t)l->n);
    ps_jw_kint(&w, "dropped", (int64_t)l->dropped);
    ps_jw_key(&w, "entries");
    ps_jw_arr(&w);
    uint64_t shown = 0, last = since;
    size_t start = since > l->base_seq ? (size_t)(since - l->base_seq) : 0;
    for (size_t i = start; i < l->n && shown < limit; i++) {
        const ps_entry *e = &l->e[i];
        if (p != PS_NPROV && e->provider != p)
            continue;
        const pv_currency *cur = pv_currency_by_alpha(e->currency);
        ps_jw_obj(&w);
        ps_jw_kint(&w, "seq", (int64_t)e->seq);
        ps_jw_kstr(&w, "provider", ps_provider_names[e->provider]);
        ps_jw_kstr(&w, "query_id", e->query_id);
        ps_jw_kamount(&w, "amount", e->minor, cur != NULL ? cur->exponent : 2,
                      cur != NULL ? cur->exponent : 2);
        ps_jw_kint(&w, "amount_minor", e->minor);
        ps_jw_kstr(&w, "currency", e->currency);
        pv_time_format_utc(e->at_ms, t, sizeof(t));
        ps_jw_kstr(&w, "time", t);
        ps_jw_kbool(&w, "answered", e->answered);
        if (e->fault != PS_F_NONE)
            ps_jw_kstr(&w, "fault", ps_fault_names[e->fault]);
        else
            ps_jw_knull(&w, "fault");
        ps_jw_kstr(&w, "reference", e->reference);
        ps_jw_kstr(&w, "request_id", e->request_id);
        ps_jw_end(&w);
        shown++;
        last = e->seq + 1;
    }
    ps_jw_end_arr(&w);
    ps_jw_kint(&w, "next_since", (int64_t)(shown > 0 ? last : l->next_seq));
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

static void ps_control_faults_get(ps_sim *sim, struct evhttp_request *req)
{
    ps_jw w;
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    for (int p = 0; p < PS_NPROV; p++) {
        ps_jw_key(&w, ps_provider_names[p]);
        ps_faults_json(&w, &sim->faults[p]);
    }
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

/* POST /_sim/faults {provider, key: value...}: replaces the provider's
 * fault settings (absent keys take their defaults). */
static void ps_control_faults_set(ps_sim *sim, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    json_object *root = NULL;
    pv_error err = {0};
    char msg[PS_MSG_MAX], d[128];
    ps_faults f;

    if (pv_json_parse(body != NULL ? body : "", body != NULL ? len : 0, "faults", &root, &err) !=
            PV_OK ||
        !json_object_is_type(root, json_type_object)) {
        ps_control_error(sim, req, 400, "%s",
                         err.code != PV_OK ? err.errstr : "faults: expected a JSON object");
        pv_error_clear(&err);
        json_object_put(root);
        return;
    }
    json_object *pv = pv_json_member(root, "provider");
    int p = pv != NULL && json_object_is_type(pv, json_type_string)
                ? ps_faults_provider_parse(json_object_get_string(pv),
                                           (size_t)json_object_get_string_len(pv))
                : -1;
    if (p < 0) {
        ps_call_describe(pv, d, sizeof(d));
        ps_control_error(sim, req, 400,
                         "provider: %s is not one of PAYOFIN SIPAY PAYWALL ISBANK PAYONE ALL", d);
        json_object_put(root);
        return;
    }
    ps_faults_default(&f);
    json_object_object_foreach(root, key, val)
    {
        if (strcmp(key, "provider") == 0)
            continue;
        double v;
        if (json_object_is_type(val, json_type_boolean)) {
            v = json_object_get_boolean(val) ? 1 : 0;
        } else if (json_object_is_type(val, json_type_int) ||
                   json_object_is_type(val, json_type_double)) {
            v = json_object_get_double(val);
        } else {
            ps_call_describe(val, d, sizeof(d));
            ps_control_error(sim, req, 400, "%s: %s must be a number", key, d);
            json_object_put(root);
            return;
        }
        if (!ps_faults_set(&f, key, v, msg, sizeof(msg))) {
            ps_control_error(sim, req, 400, "%s", msg);
            json_object_put(root);
            return;
        }
    }
    json_object_put(root);
    for (int i = 0; i < PS_NPROV; i++)
        if (p == PS_NPROV || p == i)
            sim->faults[i] = f;
    pw_log(PW_LOG_INFO, "faults set", "provider", p == PS_NPROV ? "ALL" : ps_provider_names[p],
           NULL);
    ps_jw w;
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "provider", p == PS_NPROV ? "ALL" : ps_provider_names[p]);
    ps_jw_key(&w, "faults");
    ps_faults_json(&w, &f);
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

static void ps_control_reset(ps_sim *sim, struct evhttp_request *req)
{
    ps_state fresh;
    if (!ps_state_generate(&fresh, &sim->cfg)) {
        ps_control_error(sim, req, 500, "reset: out of memory");
        return;
    }
    ps_state_free(&sim->st);
    sim->st = fresh;
    ps_ledger_clear(&sim->ledger);
    memset(sim->stats, 0, sizeof(sim->stats));
    memset(sim->tokens, 0, sizeof(sim->tokens));
    memcpy(sim->faults, sim->start_faults, sizeof(sim->faults));
    ps_rng_seed(&sim->fault_rng, sim->cfg.seed, 100);
    pw_logline l;
    pw_log_begin(&l, PW_LOG_INFO, "state reset");
    pw_log_int(&l, "seed", sim->cfg.seed);
    pw_log_int(&l, "invoices", sim->cfg.invoices);
    pw_log_end(&l);
    ps_jw w;
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    ps_jw_kbool(&w, "reset", true);
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

static void ps_control_config(ps_sim *sim, struct evhttp_request *req)
{
    ps_jw w;
    ps_jw_init(&w, &sim->out);
    ps_jw_obj(&w);
    for (size_t i = 0; i < ps_options.n; i++) {
        const pw_opt *o = &ps_options.opts[i];
        const char *field = (const char *)sim + o->offset;
        if (o->type == PW_OPT_STR || o->type == PW_OPT_PATH)
            ps_jw_kstr(&w, o->name, *(const char *const *)(const void *)field);
        else if (o->type == PW_OPT_INT)
            ps_jw_kint(&w, o->name, *(const int64_t *)(const void *)field);
    }
    ps_jw_end(&w);
    ps_control_send(sim, req, 200);
}

void ps_control(ps_sim *sim, struct evhttp_request *req, const char *path, const char *query)
{
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
        ps_control_error(sim, req, 400, "the query string is malformed");
        evhttp_clear_headers(&q);
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const char *name = path + strlen("/_sim/");
    bool get = m == EVHTTP_REQ_GET, post = m == EVHTTP_REQ_POST;
    if (strcmp(name, "invoices") == 0 && get)
        ps_control_invoices(sim, req, &q);
    else if (strcmp(name, "stats") == 0 && get)
        ps_control_stats(sim, req);
    else if (strcmp(name, "ledger") == 0 && get)
        ps_control_ledger(sim, req, &q);
    else if (strcmp(name, "faults") == 0 && get)
        ps_control_faults_get(sim, req);
    else if (strcmp(name, "faults") == 0 && post)
        ps_control_faults_set(sim, req);
    else if (strcmp(name, "reset") == 0 && post)
        ps_control_reset(sim, req);
    else if (strcmp(name, "config") == 0 && get)
        ps_control_config(sim, req);
    else
        ps_control_error(sim, req, 404,
                         "no such control endpoint: GET invoices, stats, ledger, faults, config; "
                         "POST faults, reset");
    evhttp_clear_headers(&q);
}
