/* ps_payofin.c -- Payofin (seed 000): invoicepayment, invoicequery, invoicecheck. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/*---- Payofin (seed 000) ----*/

/* A refusal: {<data>: null, result: false, resultCode, resultMessage},
 * HTTP 200. */
static void ps_payofin_refuse(ps_call *c, const char *data_key, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ps_payofin_refuse(ps_call *c, const char *data_key, int code, const char *fmt, ...)
{
    /* -22 is counted as an auth failure by the caller; -8 and -14..-17 say
     * the request was wrong; the others refuse the payment */
    ps_stat s = code == -8 || (code <= -14 && code >= -17) ? PS_ST_BAD
                : code != -22                              ? PS_ST_DECLINES
                                                           : PS_NSTAT;
    ps_jw w;
    va_list ap;
    va_start(ap, fmt);
    const char *msg = ps_call_vrefuse(c, 200, s, &w, fmt, ap);
    va_end(ap);
    ps_jw_knull(&w, data_key);
    ps_jw_kbool(&w, "result", false);
    ps_jw_kint(&w, "resultCode", code);
    ps_jw_kstr(&w, "resultMessage", msg);
    ps_jw_end(&w);
}

/* ApiKey and SecretKey; -22 otherwise. */
static bool ps_payofin_auth(ps_call *c, const char *data_key)
{
    const ps_config *cfg = &c->sim->cfg;
    if (ps_call_header_is(c, "ApiKey", cfg->payofin_api_key) &&
        ps_call_header_is(c, "SecretKey", cfg->payofin_secret_key))
        return true;
    ps_call_count(c, PS_ST_AUTH);
    /* it echoes the key it got, as careless gateways do: the worker must
     * never repeat it (issue 11, secrets) */
    const char *got = ps_call_in_header(c, "ApiKey");
    if (got != NULL)
        ps_payofin_refuse(c, data_key, -22,
                          "ApiKey/SecretKey: invalid credentials (ApiKey=%.40s not recognised)",
                          got);
    else
        ps_payofin_refuse(c, data_key, -22,
                          "ApiKey/SecretKey: invalid credentials (ApiKey missing)");
    return false;
}

/* The id the call names: the whole number at key in the body; otherwise
 * refused with code ("KEY: VALUE is not WHAT") and false. */
static bool ps_payofin_id(ps_call *c, const char *data_key, const char *key, int code,
                          const char *what, int64_t *id)
{
    char d[128];
    json_object *v = pv_json_member(c->root, key);
    pv_error ignored = {0};
    if (v != NULL && json_object_is_type(v, json_type_int) &&
        pv_json_value_int64(v, key, id, &ignored) == PV_OK)
        return true;
    ps_call_describe(v, d, sizeof(d));
    ps_payofin_refuse(c, data_key, code, "%s: %s is not %s", key, d, what);
    return false;
}

static ps_payofin_invoice *ps_payofin_by_id(ps_state *st, int64_t id)
{
    char key[24];
    int64_t i;
    snprintf(key, sizeof(key), "%" PRId64, id);
    return ps_map_get(&st->payofin_ids, key, strlen(key), &i) ? &st->payofin[i] : NULL;
}

/* "dd.MM.yyyy HH:mm:ss" now, Istanbul time. */
static void ps_payofin_now(char *buf, size_t cap)
{
    struct tm tm;
    ps_time_istanbul(&tm, NULL, NULL);
    ps_fmt(buf, cap, "%02d.%02d.%04d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
           tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* paymentAmount as the seed writes it: a partial (whole lira) as 1.0, an
 * invoice amount with its two decimals. */
static void ps_payofin_paid_text(const ps_payofin_invoice *inv, char *buf, size_t cap)
{
    if (inv->paid_partial) /* whole lira */
        ps_fmt(buf, cap, "%" PRId64 ".0", inv->paid_amount / 100);
    else
        ps_amount_try(buf, cap, inv->paid_amount, 2);
}

void ps_payofin_pay(ps_call *c)
{
    static const char data[] = "payofinPaymentDetails";
    ps_state *st = &c->sim->st;
    char d[128], amount[48];
    int64_t id, partial = 0;

    if (!ps_payofin_auth(c, data) || !ps_call_json_body_or_problem(c) ||
        !ps_payofin_id(c, data, "invoiceQueryId", -19, "an invoice query id", &id))
        return;
    ps_payofin_invoice *inv = ps_payofin_by_id(st, id);
    if (inv == NULL) {
        ps_payofin_refuse(c, data, -19, "invoiceQueryId %" PRId64 ": invoice not found", id);
        return;
    }
    json_object *pa = pv_json_member(c->root, "partialAmount");
    if (pa != NULL) {
        pv_error ignored = {0};
        ps_call_describe(pa, d, sizeof(d));
        if (!json_object_is_type(pa, json_type_int) ||
            pv_json_value_int64(pa, "partialAmount", &partial, &ignored) != PV_OK || partial <= 0) {
            ps_payofin_refuse(c, data, -8, "partialAmount: %s must be a positive integer", d);
            return;
        }
    }
    if (inv->paid) {
        ps_call_count(c, PS_ST_DOUBLE);
        ps_payofin_refuse(c, data, -10,
                          "invoiceQueryId %" PRId64 ": already paid (invoicePaymentId %" PRId64
                          " on %s)",
                          id, inv->payment_id, inv->paid_date);
        return;
    }
    int64_t pay = inv->amount;
    if (pa != NULL) {
        if (partial > inv->amount / 100 || partial * 100 > inv->amount) {
            ps_amount_try(amount, sizeof(amount), inv->amount, 2);
            ps_payofin_refuse(c, data, -20,
                              "partialAmount: %" PRId64 " is greater than the invoice amount %s",
                              partial, amount);
            return;
        }
        pay = partial * 100;
    }
    if (pay > 2000000) {
        ps_amount_try(amount, sizeof(amount), pay, 2);
        ps_payofin_refuse(c, data, -5, "amount %s is over 20,000 TL per transaction", amount);
        return;
    }

    /* pay: the invoice is closed, the merchant's prepaid balance goes down
     * by the amount and the service fee */
    inv->paid = true;
    inv->paid_partial = pa != NULL;
    inv->paid_amount = pay;
    inv->payment_id = st->payofin_next_payment++;
    st->payofin_payments[inv->payment_id - st->payofin_payment_base] = (size_t)(inv - st->payofin);
    st->payofin_balance -= pay + inv->profit;
    ps_payofin_now(inv->paid_date, sizeof(inv->paid_date));
    char qid[24], ref[24];
    snprintf(qid, sizeof(qid), "%" PRId64, id);
    snprintf(ref, sizeof(ref), "%" PRId64, inv->payment_id);
    ps_ledger_add(c, qid, pay, "TRY", ref);

    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_key(&w, data);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "invoicePaymentId", inv->payment_id);
    ps_jw_kamount(&w, "balance", st->payofin_balance, 2, 2);
    ps_payofin_paid_text(inv, amount, sizeof(amount));
    ps_jw_kraw(&w, "paymentAmount", amount);
    ps_jw_kamount(&w, "profit", inv->profit, 2, 2);
    ps_jw_kstr(&w, "paymentDate", inv->paid_date);
    ps_jw_end(&w);
    ps_jw_kbool(&w, "result", true);
    ps_jw_kint(&w, "resultCode", 1);
    ps_jw_kstr(&w, "resultMessage", PS_OK_TR);
    ps_jw_end(&w);
}

/* Reads a query parameter given as a string or an integer; absent reads as
 * "" when `optional`. False when it is of another type or too long. */
static bool ps_payofin_param(json_object *root, const char *key, bool optional, char *buf,
                             size_t cap)
{
    json_object *v = pv_json_member(root, key);
    if (v == NULL) {
        buf[0] = '\0';
        return optional;
    }
    return ps_call_json_text(v, buf, cap) && (optional || buf[0] != '\0');
}

void ps_payofin_query(ps_call *c)
{
    static const char data[] = "invoiceList";
    static const struct {
        const char *key;
        int code;
        bool optional;
    } params[] = {
        {"sootCode", -17, false},
        {"subscriberNo", -14, false},
        {"firmRefNo", -15, true},
        {"additionalNo", -16, true},
    };
    char val[4][64], key[160], d[128];

    if (!ps_payofin_auth(c, data) || !ps_call_json_body_or_problem(c))
        return;
    for (size_t i = 0; i < 4; i++) {
        if (!ps_payofin_param(c->root, params[i].key, params[i].optional, val[i], sizeof(val[i]))) {
            ps_call_describe(pv_json_member(c->root, params[i].key), d, sizeof(d));
            ps_payofin_refuse(c, data, params[i].code, "%s: %s is not valid", params[i].key, d);
            return;
        }
    }
    int64_t idx;
    snprintf(key, sizeof(key), "%s|%s", val[0], val[1]);
    if (!ps_map_get(&c->sim->st.payofin_subscribers, key, strlen(key), &idx)) {
        ps_payofin_refuse(c, data, -11, "no record for subscriberNo %s at sootCode %s", val[1],
                          val[0]);
        return;
    }
    ps_payofin_invoice *inv = &c->sim->st.payofin[idx];
    /* the generated invoices carry no firm reference nor additional number */
    if (val[2][0] != '\0') {
        ps_payofin_refuse(c, data, -15, "firmRefNo: \"%s\" is not valid for subscriberNo %s",
                          val[2], val[1]);
        return;
    }
    if (val[3][0] != '\0') {
        ps_payofin_refuse(c, data, -16, "additionalNo: \"%s\" is not valid for subscriberNo %s",
                          val[3], val[1]);
        return;
    }
    if (inv->paid) {
        ps_payofin_refuse(c, data, -10, "subscriberNo %s: the invoice is already paid", val[1]);
        return;
    }
    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_key(&w, data);
    ps_jw_arr(&w);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "invoiceQueryId", inv->id);
    ps_jw_kstr(&w, "invoiceNo", inv->invoice_no);
    ps_jw_kstr(&w, "expDate", inv->exp_date);
    ps_jw_kamount(&w, "invoiceAmount", inv->amount, 2, 2);
    ps_jw_kamount(&w, "merchantProfit", inv->profit, 2, 2);
    ps_jw_end(&w);
    ps_jw_end_arr(&w);
    ps_jw_kbool(&w, "result", true);
    ps_jw_kint(&w, "resultCode", 1);
    ps_jw_kstr(&w, "resultMessage", PS_OK_TR);
    ps_jw_end(&w);
}

void ps_payofin_check(ps_call *c)
{
    static const char data[] = "invoiceDetail";
    ps_state *st = &c->sim->st;
    char amount[48];
    int64_t id;

    if (!ps_payofin_auth(c, data) || !ps_call_json_body_or_problem(c) ||
        !ps_payofin_id(c, data, "invoicePaymentId", -11, "a payment id", &id))
        return;
    if (id < st->payofin_payment_base || id >= st->payofin_next_payment) {
        ps_payofin_refuse(c, data, -11, "invoicePaymentId %" PRId64 ": no record", id);
        return;
    }
    const ps_payofin_invoice *inv =
        &st->payofin[st->payofin_payments[id - st->payofin_payment_base]];
    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_key(&w, data);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "invoicePaymentId", id);
    ps_jw_kint(&w, "invoiceQueryId", inv->id);
    ps_jw_kstr(&w, "invoiceNo", inv->invoice_no);
    ps_payofin_paid_text(inv, amount, sizeof(amount));
    ps_jw_kraw(&w, "paymentAmount", amount);
    ps_jw_kamount(&w, "profit", inv->profit, 2, 2);
    ps_jw_kstr(&w, "paymentDate", inv->paid_date);
    ps_jw_kstr(&w, "status", "Paid");
    ps_jw_end(&w);
    ps_jw_kbool(&w, "result", true);
    ps_jw_kint(&w, "resultCode", 1);
    ps_jw_kstr(&w, "resultMessage", PS_OK_TR);
    ps_jw_end(&w);
}
