/* ps_paywall.c -- Paywall (seed 002): the debts of a payment. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/*---- Paywall (seed 002) ----*/

static void ps_paywall_refuse(ps_call *c, int http, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ps_paywall_refuse(ps_call *c, int http, int code, const char *fmt, ...)
{
    ps_stat s = http == 401 ? PS_ST_AUTH : http == 400 ? PS_ST_BAD : PS_ST_DECLINES;
    ps_jw w;
    va_list ap;
    va_start(ap, fmt);
    const char *msg = ps_call_vrefuse(c, http, s, &w, fmt, ap);
    va_end(ap);
    ps_jw_kint(&w, "ErrorCode", code);
    ps_jw_kbool(&w, "Result", false);
    ps_jw_kstr(&w, "Message", msg);
    ps_jw_knull(&w, "Body");
    ps_jw_end(&w);
}

static void ps_paywall_debt_json(ps_jw *w, const ps_debt *d)
{
    ps_jw_obj(w);
    ps_jw_kint(w, "DebtId", d->debt_id);
    ps_jw_kint(w, "Type", d->type);
    ps_jw_kstr(w, "TypeName", d->type == 2 ? "Cargo" : "Discount");
    ps_jw_kint(w, "MemberId", d->member_id);
    ps_jw_kstr(w, "MemberName", d->member_name);
    ps_jw_kint(w, "CurrencyId", 1);
    ps_jw_kstr(w, "Currency", "TRY");
    ps_jw_kint(w, "ProductId", d->product_id);
    ps_jw_kamount(w, "ProductAmount", d->product_amount, 2, 2);
    ps_jw_kamount(w, "DebtAmount", d->debt_amount, 2, 2);
    ps_jw_kint(w, "DebtStatusId", 1);
    ps_jw_kint(w, "DebtTransactionId", 0);
    if (d->type == 2) {
        ps_jw_key(w, "Cargo");
        ps_jw_obj(w);
        ps_jw_kint(w, "CargoId", d->sub_id);
        ps_jw_kint(w, "CargoOwnerType", 1);
        ps_jw_kamount(w, "CargoCost", d->debt_amount, 2, 2);
        ps_jw_end(w);
        ps_jw_knull(w, "Discount");
    } else {
        ps_jw_knull(w, "Cargo");
        ps_jw_key(w, "Discount");
        ps_jw_obj(w);
        ps_jw_kint(w, "DiscountId", d->sub_id);
        ps_jw_kint(w, "DiscountOwnerType", 1);
        ps_jw_kint(w, "DiscountType", 1);
        ps_jw_kamount(w, "Discount", d->discount, 2, 2);
        ps_jw_end(w);
    }
    ps_jw_kstr(w, "CalculationDateTime", d->calc);
    ps_jw_end(w);
}

void ps_paywall_debt(ps_call *c)
{
    const ps_config *cfg = &c->sim->cfg;
    ps_state *st = &c->sim->st;
    char q[96];
    int64_t id, idx;

    if (!ps_call_header_is(c, "apikeypublic", cfg->paywall_key_public) ||
        !ps_call_header_is(c, "apiclientpublic", cfg->paywall_client_public)) {
        ps_paywall_refuse(c, 401, 1001, "apikeypublic/apiclientpublic: not recognised");
        return;
    }
    const char *pid = ps_call_in_header(c, "paymentid");
    size_t len = pid != NULL ? strlen(pid) : 0;
    if (pid == NULL || len == 0 || len > 18 || strspn(pid, "0123456789") != len ||
        pv_money_parse_int64(pid, len, &id) != PV_OK || id <= 0) {
        pv_utf8_quote(q, sizeof(q), pid != NULL ? pid : "", len);
        ps_paywall_refuse(c, 400, 1002, "paymentid: \"%s\" must be a positive integer", q);
        return;
    }
    char key[24];
    snprintf(key, sizeof(key), "%" PRId64, id);
    if (!ps_map_get(&st->paywall_ids, key, strlen(key), &idx)) {
        ps_paywall_refuse(c, 200, 1003, "paymentid %" PRId64 ": payment not found", id);
        return;
    }
    const ps_paywall_payment *p = &st->paywall[idx];
    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_kint(&w, "ErrorCode", 0);
    ps_jw_kbool(&w, "Result", true);
    ps_jw_kstr(&w, "Message", "");
    ps_jw_key(&w, "Body");
    ps_jw_arr(&w);
    for (size_t i = 0; i < p->n; i++)
        ps_paywall_debt_json(&w, &st->debts[p->first + i]);
    ps_jw_end_arr(&w);
    ps_jw_end(&w);
}
