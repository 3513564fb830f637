/* ps_sipay.c -- Sipay Wallet (seed 001): connect/token and MakePayment. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*---- Sipay Wallet (seed 001) ----*/

const ps_sipay_product ps_sipay_products[] = {
    {"8064fb0c-c556-4104-8fe4-9779c6dc3721", "Türk Telekom (Mobil)", "412XX50", "126XX30"},
    {"2b1f4a7e-93c0-4d5e-a1f2-6c8d9e0f1a2b", "İSKİ", "413XX51", "127XX31"},
    {"5c3e7d9a-1b2f-4c6e-8a0d-3f5e7b9c1d2e", "Enerjisa", "414XX52", "128XX32"},
};

static const char *const ps_sipay_limit_names[PS_NLIMITS] = {
    "max_balance",      "topup_credit_limit", "topup_cash_limit",
    "withdrawal_limit", "payment_limit",      "wallet_to_wallet_limit",
};

void ps_sipay_token(ps_call *c)
{
    const ps_config *cfg = &c->sim->cfg;
    ps_oauth_token(c, cfg->sipay_client_id, cfg->sipay_client_secret, cfg->sipay_scope);
}

/* The envelope of a refusal: {status, code, message, payload: null}. */
static void ps_sipay_refuse(ps_call *c, int http, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ps_sipay_refuse(ps_call *c, int http, const char *code, const char *fmt, ...)
{
    ps_stat s = http == 200 ? PS_ST_DECLINES : PS_ST_BAD;
    ps_jw w;
    va_list ap;
    va_start(ap, fmt);
    const char *msg = ps_call_vrefuse(c, http, s, &w, fmt, ap);
    va_end(ap);
    ps_jw_kint(&w, "status", 1);
    ps_jw_kstr(&w, "code", code);
    ps_jw_kstr(&w, "message", msg);
    ps_jw_knull(&w, "payload");
    ps_jw_end(&w);
}

/* A documented string parameter: present, a JSON string, not empty. */
static bool ps_sipay_text(ps_call *c, const char *key, char *buf, size_t cap)
{
    char d[128];
    json_object *v = pv_json_member(c->root, key);
    if (v != NULL && json_object_is_type(v, json_type_string) && ps_call_json_text(v, buf, cap) &&
        buf[0] != '\0')
        return true;
    ps_call_describe(v, d, sizeof(d));
    ps_call_problem(c, key, "%s: %s must be a non-empty string", key, d);
    return false;
}

/* A documented decimal parameter in TRY: a JSON number (or decimal string),
 * at most two decimals. */
static bool ps_sipay_amount(ps_call *c, const char *key, int64_t *minor)
{
    char d[128];
    pv_money m;
    pv_error err = {0};
    json_object *v = pv_json_member(c->root, key);
    if (v == NULL || pv_json_value_money(v, key, "TRY", &m, &err) != PV_OK || m.rounded) {
        ps_call_describe(v, d, sizeof(d));
        ps_call_problem(c, key, "%s: %s must be an amount in TRY with at most 2 decimals", key, d);
        pv_error_clear(&err);
        return false;
    }
    *minor = m.minor;
    return true;
}

static ps_wallet *ps_sipay_wallet(ps_state *st, const char *account, const char *number)
{
    for (size_t i = 0; i < PS_NWALLETS; i++)
        if (strcmp(st->wallets[i].account, account) == 0 &&
            strcmp(st->wallets[i].number, number) == 0)
            return &st->wallets[i];
    return NULL;
}

/* sender_wallet_info, in the seed's order and number formats. */
static void ps_sipay_wallet_info(ps_jw *w, const ps_wallet *wal)
{
    char t[48];
    ps_jw_obj(w);
    ps_jw_kstr(w, "id", wal->id);
    ps_jw_kstr(w, "tenant_id", "5");
    ps_jw_kstr(w, "name", "");
    ps_jw_kstr(w, "account_number", wal->account);
    ps_jw_kstr(w, "account_type", "Personal");
    ps_jw_kstr(w, "created_date_utc", "2022-01-18T07:48:51.7092961+00:00");
    ps_jw_kstr(w, "number", wal->number);
    ps_jw_knull(w, "phone_country_code");
    ps_jw_knull(w, "phone_number");
    ps_jw_knull(w, "email");
    ps_jw_kamount(w, "total_balance", wal->cash, 2, 2);
    ps_jw_kraw(w, "monthly_incoming_total", "0.0");
    if (wal->monthly_out == 0)
        snprintf(t, sizeof(t), "0.0");
    else
        ps_amount_try(t, sizeof(t), wal->monthly_out, 2);
    ps_jw_kraw(w, "monthly_outgoing_total", t);
    ps_jw_kint(w, "access_level_status_id", 1);
    ps_jw_kstr(w, "access_level_status", "Aktif");
    ps_jw_key(w, "payment_balance");
    ps_jw_obj(w);
    ps_jw_kraw(w, "available", "0.0");
    ps_jw_kraw(w, "unavailable", "0.00");
    ps_jw_end(w);
    ps_jw_key(w, "cash_balance");
    ps_jw_obj(w);
    ps_jw_kamount(w, "available", wal->cash, 2, 2);
    ps_jw_kraw(w, "unavailable", "0.00");
    ps_jw_end(w);
    ps_jw_key(w, "transaction_limits");
    ps_jw_obj(w);
    for (size_t i = 0; i < PS_NLIMITS; i++)
        ps_jw_kamount(w, ps_sipay_limit_names[i], wal->limits[i], 4, 4);
    ps_jw_end(w);
    ps_jw_knull(w, "kyc_level_status");
    ps_jw_kstr(w, "currency_code", "TRY");
    ps_jw_knull(w, "user_kyc_info");
    ps_jw_kbool(w, "is_topup_default", false);
    ps_jw_knull(w, "tax_number");
    ps_jw_kbool(w, "loyalty_record_required", false);
    ps_jw_end(w);
}

void ps_sipay_pay(ps_call *c)
{
    static const char *const text_keys[] = {
        "account_number", "wallet_number", "inv_payment_transaction_query_oid",
        "product_oid",    "subscriber_no", "bill_term",
        "bill_no",
    };
    enum { ACCOUNT, WALLET, OID, PRODUCT, SUBSCRIBER, TERM, BILL, NTEXT };
    ps_state *st = &c->sim->st;
    char text[NTEXT][96], d[128], a1[48], a2[48];
    int64_t type_id, tenant, invoice_amount, payment_amount, idx;
    pv_error ignored = {0};

    if (!ps_oauth_token_check(c->sim, PS_SIPAY, ps_call_in_header(c, "Authorization")) ||
        !ps_call_header_is(c, "x-client-id", c->sim->cfg.sipay_client_id)) {
        ps_jw w;
        ps_call_answer(c, 401, &w); /* no body: the bearer scheme's challenge says it */
        ps_call_count(c, PS_ST_AUTH);
        ps_call_out_header(c, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        return;
    }
    if (!ps_call_json_body_or_problem(c))
        return;
    json_object *tv = pv_json_member(c->root, "tenant_id");
    if (tv != NULL && (!json_object_is_type(tv, json_type_int) ||
                       pv_json_value_int64(tv, "tenant_id", &tenant, &ignored) != PV_OK)) {
        ps_call_describe(tv, d, sizeof(d));
        ps_call_problem(c, "tenant_id", "tenant_id: %s must be an integer", d);
        return;
    }
    json_object *av = pv_json_member(c->root, "account_type_id");
    if (av == NULL || !json_object_is_type(av, json_type_int) ||
        pv_json_value_int64(av, "account_type_id", &type_id, &ignored) != PV_OK ||
        (type_id != 1 && type_id != 2)) {
        ps_call_describe(av, d, sizeof(d));
        ps_call_problem(c, "account_type_id", "account_type_id: %s must be 1 or 2", d);
        return;
    }
    for (size_t i = 0; i < NTEXT; i++)
        if (!ps_sipay_text(c, text_keys[i], text[i], sizeof(text[i])))
            return;
    if (!ps_sipay_amount(c, "invoice_amount", &invoice_amount) ||
        !ps_sipay_amount(c, "payment_amount", &payment_amount))
        return;

    ps_wallet *wal = ps_sipay_wallet(st, text[ACCOUNT], text[WALLET]);
    if (wal == NULL) {
        ps_sipay_refuse(c, 200, "300", "wallet %s of account %s not found", text[WALLET],
                        text[ACCOUNT]);
        return;
    }
    if (!ps_map_get(&st->sipay_oids, text[OID], strlen(text[OID]), &idx)) {
        ps_sipay_refuse(c, 400, "400", "inv_payment_transaction_query_oid: \"%s\" not found",
                        text[OID]);
        return;
    }
    ps_sipay_invoice *inv = &st->sipay[idx];
    if (inv->paid) {
        ps_call_count(c, PS_ST_DOUBLE);
        ps_sipay_refuse(c, 200, "301", "duplicate external transaction id \"%s\": already paid",
                        inv->oid);
        return;
    }
    const ps_sipay_product *prod = &ps_sipay_products[inv->product];
    const char *bad = strcmp(text[PRODUCT], prod->oid) != 0            ? "product_oid"
                      : strcmp(text[SUBSCRIBER], inv->subscriber) != 0 ? "subscriber_no"
                      : strcmp(text[TERM], inv->bill_term) != 0        ? "bill_term"
                      : strcmp(text[BILL], inv->bill_no) != 0          ? "bill_no"
                                                                       : NULL;
    if (bad != NULL) {
        ps_sipay_refuse(c, 400, "400", "%s: does not match invoice transaction \"%s\"", bad,
                        inv->oid);
        return;
    }
    if (invoice_amount != inv->amount || payment_amount <= 0 || payment_amount > inv->amount) {
        ps_amount_try(a1, sizeof(a1), inv->amount, 2);
        ps_amount_try(a2, sizeof(a2), payment_amount, 2);
        ps_sipay_refuse(c, 400, "400",
                        "%s: the invoice amount is %s; payment_amount %s must be above 0 and "
                        "at most that",
                        invoice_amount != inv->amount ? "invoice_amount" : "payment_amount", a1,
                        a2);
        return;
    }
    if (wal->cash < payment_amount) {
        ps_amount_try(a1, sizeof(a1), wal->cash, 2);
        ps_sipay_refuse(c, 200, "311", "insufficient balance: wallet %s holds %s", wal->number, a1);
        return;
    }

    /* pay from the wallet's cash balance */
    inv->paid = true;
    wal->cash -= payment_amount;
    wal->monthly_out += payment_amount;
    wal->limits[PS_LIMIT_PAYMENT] -= payment_amount * 100;
    if (wal->limits[PS_LIMIT_PAYMENT] < 0)
        wal->limits[PS_LIMIT_PAYMENT] = 0;
    char ptid[24], tid[24];
    snprintf(ptid, sizeof(ptid), "%" PRId64, st->sipay_next_payment++);
    snprintf(tid, sizeof(tid), "ABRV%07" PRId64, st->sipay_next_transaction++);
    ps_ledger_add(c, inv->oid, payment_amount, "TRY", ptid);

    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "status", 0);
    ps_jw_kstr(&w, "code", "100");
    ps_jw_kstr(&w, "message", PS_OK_TR_LC);
    ps_jw_key(&w, "payload");
    ps_jw_obj(&w);
    ps_jw_knull(&w, "invoice_type");
    ps_jw_kstr(&w, "inv_payment_transaction_query_oid", inv->oid);
    ps_jw_kstr(&w, "receipt_output_print", "termal");
    ps_jw_kstr(&w, "institution_name", prod->name);
    ps_jw_kstr(&w, "payment_transaction_id", ptid);
    ps_jw_kstr(&w, "transaction_id", tid);
    ps_jw_kamount(&w, "transaction_amount", payment_amount, 2, 4);
    ps_jw_kamount(&w, "transaction_fee", 0, 2, 6);
    ps_jw_kamount(&w, "charged_amount", payment_amount, 2, 6);
    ps_jw_kstr(&w, "ext_order_id", inv->oid);
    ps_jw_kstr(&w, "business_code", "");
    ps_jw_kstr(&w, "business_name", "");
    ps_jw_kstr(&w, "friendly_name", "");
    ps_jw_kstr(&w, "receiver_account_number", prod->receiver_account);
    ps_jw_kstr(&w, "receiver_wallet_number", prod->receiver_wallet);
    ps_jw_key(&w, "sender_wallet_info");
    ps_sipay_wallet_info(&w, wal);
    ps_jw_end(&w);
    ps_jw_end(&w);
}
