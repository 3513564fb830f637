/* ps_payone.c -- PayOne SmartLink (seed 004): completeInvoice and inquireInvoice. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*---- PayOne SmartLink (seed 004) ----*/

static const struct ps_payone_error {
    const char *code, *message;
    ps_stat stat;
} ps_payone_errors[] = {
    {"00007", "Merchant Is Not Available", PS_ST_AUTH},
    {"00010", "Duplicate Invoice ID", PS_ST_DECLINES},
    {"00021", "Authentication Token Is Missing", PS_ST_AUTH},
    {"00022", "Invalid Authentication Token", PS_ST_AUTH},
    {"00028", "Invoice Not Found", PS_ST_DECLINES},
    {"00035", "Invoice Is Not Pre-Auth", PS_ST_DECLINES},
    {"00036", "Transaction Already Completed", PS_ST_DECLINES},
};

/* {"Error":"000NN","ErrorMessage":...}, HTTP 200. */
static void ps_payone_error(ps_call *c, const char *code, const char *detail)
{
    const struct ps_payone_error *e = NULL;
    for (size_t i = 0; i < sizeof(ps_payone_errors) / sizeof(ps_payone_errors[0]); i++)
        if (strcmp(ps_payone_errors[i].code, code) == 0)
            e = &ps_payone_errors[i];
    char msg[PS_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s%s%s", e != NULL ? e->message : "Error",
             detail != NULL ? ": " : "", detail != NULL ? detail : "");
    ps_jw w;
    ps_call_refuse(c, 200, e != NULL ? e->stat : PS_ST_DECLINES, &w);
    ps_jw_kstr(&w, "Error", code);
    ps_jw_kstr(&w, "ErrorMessage", msg);
    ps_jw_end(&w);
}

/* Decodes the form field holding the JSON into c->root and checks the
 * merchant and its token. False when it answered. */
static bool ps_payone_request(ps_call *c)
{
    const ps_config *cfg = &c->sim->cfg;
    const char *field = cfg->payone_form_field;
    char *json = NULL, msg[PS_MSG_MAX];
    size_t len = 0;

    if (!ps_call_is_form(c)) {
        ps_call_problem(c, field, "Content-Type must be application/x-www-form-urlencoded");
        return false;
    }
    int rc = ps_call_form_get(c->body, c->body_len, field, &json, &len);
    if (rc <= 0) {
        ps_call_problem(c, field, "form field %s is %s", field, rc == 0 ? "missing" : "malformed");
        return false;
    }
    const char *saved = c->body;
    size_t saved_len = c->body_len;
    c->body = json;
    c->body_len = len;
    bool ok = ps_call_json_body(c, msg, sizeof(msg));
    c->body = saved;
    c->body_len = saved_len;
    free(json);
    if (!ok) {
        ps_call_problem(c, field, "%s", msg);
        return false;
    }
    char t[256];
    json_object *mid = pv_json_member(c->root, "merchantID");
    if (!ps_call_json_text(mid, t, sizeof(t)) || strcmp(t, cfg->payone_merchant_id) != 0) {
        ps_payone_error(c, "00007", NULL);
        return false;
    }
    json_object *tok = pv_json_member(c->root, "authenticationToken");
    if (tok == NULL ||
        (json_object_is_type(tok, json_type_string) && json_object_get_string_len(tok) == 0)) {
        ps_payone_error(c, "00021", NULL);
        return false;
    }
    if (!ps_call_json_text(tok, t, sizeof(t)) || strcmp(t, cfg->payone_token) != 0) {
        ps_payone_error(c, "00022", NULL);
        return false;
    }
    return true;
}

static ps_payone_invoice *ps_payone_find(ps_state *st, const char *id)
{
    int64_t i;
    return ps_map_get(&st->payone_ids, id, strlen(id), &i) ? &st->payone[i] : NULL;
}

/* The amount of one invoice: minor units as a string of digits (a JSON
 * integer is tolerated), no decimal point. */
static bool ps_payone_amount(json_object *v, int64_t *out)
{
    char t[32];
    if (!ps_call_json_text(v, t, sizeof(t)) || t[0] == '\0' || strlen(t) > 18 ||
        strspn(t, "0123456789") != strlen(t))
        return false;
    return pv_money_parse_int64(t, strlen(t), out) == PV_OK;
}

typedef struct ps_payone_item {
    char id[72];
    int64_t amount;
    const pv_currency *currency;
    ps_payone_invoice *inv;
} ps_payone_item;

void ps_payone_complete(ps_call *c)
{
    ps_state *st = &c->sim->st;
    const ps_config *cfg = &c->sim->cfg;
    ps_payone_item items[PS_PAYONE_BATCH];
    char d[128], path[64], t[16];

    if (!ps_payone_request(c))
        return;
    json_object *list = pv_json_member(c->root, "invoicesDetails");
    size_t n = list != NULL && json_object_is_type(list, json_type_array)
                   ? json_object_array_length(list)
                   : 0;
    if (n == 0 || n > PS_PAYONE_BATCH) {
        ps_call_describe(list, d, sizeof(d));
        ps_call_problem(c, "invoicesDetails",
                        "invoicesDetails: %s must be an array of 1..%d invoices", d,
                        PS_PAYONE_BATCH);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ps_payone_item *it = &items[i];
        json_object *e = json_object_array_get_idx(list, i);
        json_object *idv = pv_json_member(e, "invoiceID");
        json_object *av = pv_json_member(e, "amount");
        json_object *cv = pv_json_member(e, "currency");
        const char *bad = NULL;
        json_object *badv = NULL;
        if (idv == NULL || !json_object_is_type(idv, json_type_string) ||
            !ps_call_json_text(idv, it->id, sizeof(it->id)) || it->id[0] == '\0') {
            bad = "invoiceID";
            badv = idv;
        } else if (!ps_payone_amount(av, &it->amount)) {
            bad = "amount";
            badv = av;
        } else {
            it->currency = cv != NULL && json_object_is_type(cv, json_type_string) &&
                                   ps_call_json_text(cv, t, sizeof(t))
                               ? pv_currency_by_numeric(t)
                               : NULL;
            if (it->currency == NULL) {
                bad = "currency";
                badv = cv;
            }
        }
        if (bad != NULL) {
            snprintf(path, sizeof(path), "invoicesDetails[%zu].%s", i, bad);
            ps_call_describe(badv, d, sizeof(d));
            ps_call_problem(c, path, "%s: %s is not valid", path, d);
            return;
        }
    }
    /* the whole call is refused on an invoice ID given twice, then on the
     * first invoice that cannot be completed at all */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(items[j].id, items[i].id) == 0) {
                ps_payone_error(c, "00010", items[i].id);
                return;
            }
    for (size_t i = 0; i < n; i++) {
        ps_payone_item *it = &items[i];
        it->inv = ps_payone_find(st, it->id);
        if (it->inv == NULL) {
            ps_payone_error(c, "00028", it->id);
            return;
        }
        if (!it->inv->is_preauth) {
            ps_payone_error(c, "00035", it->id);
            return;
        }
        if (it->inv->completed) {
            ps_call_count(c, PS_ST_DOUBLE);
            ps_payone_error(c, "00036", it->id);
            return;
        }
    }
    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "authenticationToken", cfg->payone_token);
    ps_jw_kstr(&w, "merchantID", cfg->payone_merchant_id);
    ps_jw_key(&w, "invoicesDetails");
    ps_jw_arr(&w);
    for (size_t i = 0; i < n; i++) {
        ps_payone_item *it = &items[i];
        ps_payone_invoice *inv = it->inv;
        const char *status = "success", *desc = "INVOICE COMPLETED SUCCESSFULLY";
        if (it->currency != inv->currency) {
            status = "failed";
            desc = "CURRENCY DOES NOT MATCH THE PRE-AUTHORIZED INVOICE";
        } else if (it->amount == 0) {
            status = "failed";
            desc = "INVALID AMOUNT";
        } else if (it->amount > inv->preauth) {
            status = "failed";
            desc = "AMOUNT EXCEEDS THE PRE-AUTHORIZED AMOUNT";
        }
        bool ok = strcmp(status, "success") == 0;
        if (ok) {
            struct tm tm;
            time_t now = time(NULL);
            gmtime_r(&now, &tm);
            inv->completed = true;
            inv->completed_amount = it->amount;
            ps_fmt(inv->rrn, sizeof(inv->rrn), "%s%04d%02d%02d%02d%02d%02d%013" PRId64,
                   inv->currency->numeric, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, st->payone_next_rrn++);
            ps_ledger_add(c, inv->id, it->amount, inv->currency->alpha, inv->rrn);
        } else {
            ps_call_count(c, PS_ST_DECLINES);
        }
        snprintf(t, sizeof(t), "%" PRId64, it->amount);
        ps_jw_obj(&w);
        ps_jw_kstr(&w, "invoiceID", it->id);
        ps_jw_kstr(&w, "amount", t);
        ps_jw_kstr(&w, "currency", it->currency->numeric);
        if (ok)
            ps_jw_kstr(&w, "rrn", inv->rrn);
        ps_jw_kstr(&w, "status", status);
        ps_jw_kstr(&w, "statusDescription", desc);
        ps_jw_end(&w);
    }
    ps_jw_end_arr(&w);
    ps_jw_end(&w);
}

void ps_payone_inquire(ps_call *c)
{
    char id[72], d[128], t[24];
    if (!ps_payone_request(c))
        return;
    json_object *idv = pv_json_member(c->root, "invoiceID");
    if (idv == NULL || !json_object_is_type(idv, json_type_string) ||
        !ps_call_json_text(idv, id, sizeof(id)) || id[0] == '\0') {
        ps_call_describe(idv, d, sizeof(d));
        ps_call_problem(c, "invoiceID", "invoiceID: %s is not valid", d);
        return;
    }
    const ps_payone_invoice *inv = ps_payone_find(&c->sim->st, id);
    if (inv == NULL) {
        ps_payone_error(c, "00028", id);
        return;
    }
    snprintf(t, sizeof(t), "%" PRId64, inv->completed ? inv->completed_amount : inv->preauth);
    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "merchantID", c->sim->cfg.payone_merchant_id);
    ps_jw_kstr(&w, "invoiceID", inv->id);
    ps_jw_kstr(&w, "amount", t);
    ps_jw_kstr(&w, "currency", inv->currency->numeric);
    ps_jw_kstr(&w, "status",
               inv->completed    ? "completed"
               : inv->is_preauth ? "preauthorized"
                                 : "created");
    ps_jw_kstr(&w, "statusDescription",
               inv->completed    ? "INVOICE COMPLETED SUCCESSFULLY"
               : inv->is_preauth ? "INVOICE IS PRE-AUTHORIZED"
                                 : "INVOICE IS CREATED");
    if (inv->completed)
        ps_jw_kstr(&w, "rrn", inv->rrn);
    if (inv->is_preauth)
        ps_jw_kstr(&w, "approvalCode", inv->approval);
    ps_jw_end(&w);
}
