/* ps_state.c -- generating the state from --seed and --invoices: invoice 0 of every
 * provider is its seed's sample, the others come from a splitmix64 stream. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/*---- Generating the state ----*/

static bool ps_state_gen_payofin(ps_state *st, int64_t seed)
{
    static const char *const soots[] = {"1001", "2002", "3003"};
    ps_rng r;
    int64_t total = 0;
    char key[48];

    ps_rng_seed(&r, seed, PS_PAYOFIN);
    st->payofin = calloc(st->n, sizeof(*st->payofin));
    st->payofin_payments = calloc(st->n, sizeof(*st->payofin_payments));
    if (st->payofin == NULL || st->payofin_payments == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_payofin_invoice *inv = &st->payofin[i];
        if (i == 0) { /* the seed's sample: invoiceQueryId 615209 */
            inv->id = 615209;
            snprintf(inv->soot, sizeof(inv->soot), "1001");
            snprintf(inv->subscriber, sizeof(inv->subscriber), "1000615209");
            inv->amount = 25075;
            inv->profit = 50;
        } else {
            inv->id = 700000 + (int64_t)i * 10 + ps_rng_range(&r, 0, 9);
            snprintf(inv->soot, sizeof(inv->soot), "%s", soots[ps_rng_range(&r, 0, 2)]);
            ps_fmt(inv->subscriber, sizeof(inv->subscriber), "%" PRId64,
                   5000000000 + (int64_t)i * 1000 + ps_rng_range(&r, 0, 999));
            /* one in 50 is above the 20,000 TL per-transaction cap (-5) */
            inv->amount =
                i % 50 == 49 ? ps_rng_range(&r, 2000001, 2500000) : ps_rng_range(&r, 500, 250000);
            inv->profit = ps_rng_range(&r, 25, 300);
        }
        snprintf(inv->invoice_no, sizeof(inv->invoice_no), "2026%09" PRId64, inv->id);
        snprintf(inv->exp_date, sizeof(inv->exp_date), "%02d.%02d.2026",
                 (int)ps_rng_range(&r, 1, 28), (int)ps_rng_range(&r, 1, 12));
        snprintf(key, sizeof(key), "%" PRId64, inv->id);
        if (!ps_map_puts(&st->payofin_ids, key, (int64_t)i))
            return false;
        snprintf(key, sizeof(key), "%s|%s", inv->soot, inv->subscriber);
        if (!ps_map_puts(&st->payofin_subscribers, key, (int64_t)i))
            return false;
        total += inv->amount + inv->profit;
    }
    /* after every invoice is paid once, the seed's sample balance is left */
    st->payofin_balance = 11074099 + total;
    st->payofin_payment_base = 1786; /* the seed's invoicePaymentId */
    st->payofin_next_payment = st->payofin_payment_base;
    return true;
}

static void ps_state_wallet_init(ps_wallet *w, const char *id, const char *account,
                                 const char *number, int64_t cash)
{
    /* the seed's limits, in 1/10000 TRY */
    static const int64_t limits[PS_NLIMITS] = {10000000000, 9960040060, 9960040060,
                                               10000000000, 9974349300, 9996998000};
    w->id = id;
    w->account = account;
    w->number = number;
    w->cash = cash;
    w->monthly_out = 0;
    memcpy(w->limits, limits, sizeof(limits));
}

static bool ps_state_gen_sipay(ps_state *st, int64_t seed)
{
    ps_rng r;
    int64_t total = 0;

    ps_rng_seed(&r, seed, PS_SIPAY);
    st->sipay = calloc(st->n, sizeof(*st->sipay));
    if (st->sipay == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_sipay_invoice *inv = &st->sipay[i];
        if (i == 0) { /* the seed's sample request */
            snprintf(inv->oid, sizeof(inv->oid), "90XX46-FXX5-4XX3-8DXX-B1XX97");
            inv->amount = 19650;
            inv->product = 0;
            snprintf(inv->subscriber, sizeof(inv->subscriber), "5536557580");
            snprintf(inv->bill_term, sizeof(inv->bill_term), "03/2023");
            snprintf(inv->bill_no, sizeof(inv->bill_no), "2023XXX887");
        } else {
            uint64_t a = ps_rng_next(&r), b = ps_rng_next(&r);
            snprintf(inv->oid, sizeof(inv->oid),
                     "%08" PRIX64 "-%04" PRIX64 "-4%03" PRIX64 "-8%03" PRIX64 "-%012" PRIX64,
                     a >> 32, (a >> 16) & 0xffff, a & 0xfff, b >> 52, b & (uint64_t)0xffffffffffff);
            inv->amount = ps_rng_range(&r, 1001, 150000); /* above the poor wallet's 10.00 */
            inv->product = (int)ps_rng_range(&r, 0, 2);
            snprintf(inv->subscriber, sizeof(inv->subscriber), "55%08" PRId64,
                     ps_rng_range(&r, 0, 99999999));
            snprintf(inv->bill_term, sizeof(inv->bill_term), "%02d/2026",
                     (int)ps_rng_range(&r, 1, 12));
            ps_fmt(inv->bill_no, sizeof(inv->bill_no), "2026%06zu", i);
        }
        if (!ps_map_puts(&st->sipay_oids, inv->oid, (int64_t)i))
            return false;
        total += inv->amount;
    }
    /* wallet 0 is the sample's: it can pay every invoice and ends at the
     * sample's 899.47; wallet 1 holds 10.00, less than any invoice (311) */
    ps_state_wallet_init(&st->wallets[0], "45X9XX21", "28XX01", "25XX25", 89947 + total);
    ps_state_wallet_init(&st->wallets[1], "45X9XX22", "28XX02", "25XX26", 1000);
    st->sipay_next_payment = 9623002189;
    st->sipay_next_transaction = 7304;
    return true;
}

static void ps_state_debt_seed(ps_debt *d, int64_t id, int type, int64_t debt, int64_t sub_id,
                               int64_t discount, const char *calc)
{
    d->debt_id = id;
    d->type = type;
    d->member_id = 148;
    snprintf(d->member_name, sizeof(d->member_name), "test");
    d->product_id = 2114065;
    d->product_amount = 10000;
    d->debt_amount = debt;
    d->sub_id = sub_id;
    d->discount = discount;
    snprintf(d->calc, sizeof(d->calc), "%s", calc);
}

static bool ps_state_gen_paywall(ps_state *st, int64_t seed)
{
    ps_rng r;
    char key[24];

    ps_rng_seed(&r, seed, PS_PAYWALL);
    st->paywall = calloc(st->n, sizeof(*st->paywall));
    st->debts = calloc(st->n * 3 + 2, sizeof(*st->debts));
    if (st->paywall == NULL || st->debts == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_paywall_payment *p = &st->paywall[i];
        p->first = st->ndebts;
        if (i == 0) { /* paymentid 123456 carries the seed's two debts */
            p->id = 123456;
            ps_state_debt_seed(&st->debts[st->ndebts++], 947, 2, 12000, 466722, 0,
                               "2023-09-15T14:53:58.5074");
            ps_state_debt_seed(&st->debts[st->ndebts++], 948, 1, 990, 465176, 1000,
                               "2023-09-15T14:53:58.530093");
            p->n = 2;
        } else {
            p->id = 200000 + (int64_t)i;
            p->n = (size_t)ps_rng_range(&r, 0, 3);
            for (size_t k = 0; k < p->n; k++) {
                ps_debt *d = &st->debts[st->ndebts];
                d->debt_id = 1000 + (int64_t)st->ndebts;
                st->ndebts++;
                d->type = (int)ps_rng_range(&r, 1, 2);
                d->member_id = ps_rng_range(&r, 100, 999);
                snprintf(d->member_name, sizeof(d->member_name), "member-%" PRId64, d->member_id);
                d->product_id = ps_rng_range(&r, 2000000, 2999999);
                d->product_amount = ps_rng_range(&r, 1000, 100000);
                d->sub_id = ps_rng_range(&r, 400000, 499999);
                if (d->type == 2) {
                    d->debt_amount = ps_rng_range(&r, 500, 15000);
                } else {
                    d->discount = ps_rng_range(&r, 100, 2500); /* 1.00 .. 25.00 */
                    d->debt_amount = d->product_amount * d->discount / 10000;
                }
                int digits = (int)ps_rng_range(&r, 4, 7);
                ps_fmt(d->calc, sizeof(d->calc), "2026-%02d-%02dT%02d:%02d:%02d.%0*" PRId64,
                       (int)ps_rng_range(&r, 1, 12), (int)ps_rng_range(&r, 1, 28),
                       (int)ps_rng_range(&r, 0, 23), (int)ps_rng_range(&r, 0, 59),
                       (int)ps_rng_range(&r, 0, 59), digits,
                       ps_rng_range(&r, 1, ps_pow10[digits] - 1));
            }
        }
        snprintf(key, sizeof(key), "%" PRId64, p->id);
        if (!ps_map_puts(&st->paywall_ids, key, (int64_t)i))
            return false;
    }
    return true;
}

static bool ps_state_gen_isbank(ps_state *st, int64_t seed)
{
    static const char *const names[] = {"Ayşe Yılmaz", "Mehmet Demir", "Zeynep Kaya",
                                        "Ali Çelik",   "Elif Şahin",   "Mustafa Öztürk"};
    static const struct {
        const char *code;
        int64_t min; /* the service object's min_value, major units */
    } currencies[] = {{"TRY", 900}, {"USD", 295}, {"EUR", 265}};
    ps_rng r;

    ps_rng_seed(&r, seed, PS_ISBANK);
    st->isbank = calloc(st->n, sizeof(*st->isbank));
    if (st->isbank == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_isbank_order *o = &st->isbank[i];
        if (i == 0) { /* the contract command: exactly the EUR minimum */
            snprintf(o->reference, sizeof(o->reference), "PAY-20200814-0001");
            o->currency = "EUR";
            o->amount = 26500;
            snprintf(o->name, sizeof(o->name), "%s", names[0]);
            snprintf(o->tckn, sizeof(o->tckn), "10000000146");
            continue;
        }
        int c = (int)ps_rng_range(&r, 0, 2);
        snprintf(o->reference, sizeof(o->reference), "ISB-%" PRId64 "-%06zu", seed % 1000000, i);
        o->currency = currencies[c].code;
        o->amount =
            (currencies[c].min + ps_rng_range(&r, 0, 4000)) * 100 + ps_rng_range(&r, 0, 1) * 50;
        snprintf(o->name, sizeof(o->name), "%s", names[ps_rng_range(&r, 0, 5)]);
        snprintf(o->tckn, sizeof(o->tckn), "%011" PRId64,
                 ps_rng_range(&r, 10000000000, 99999999999));
    }
    st->isbank_next_payment = 2493761; /* the seed's payment_id */
    return true;
}

static bool ps_state_gen_payone(ps_state *st, int64_t seed)
{
    static const char *const currencies[] = {"840", "400", "682"}; /* USD, JOD, SAR */
    ps_rng r;

    ps_rng_seed(&r, seed, PS_PAYONE);
    st->payone = calloc(st->n, sizeof(*st->payone));
    if (st->payone == NULL)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        ps_payone_invoice *inv = &st->payone[i];
        if (i == 0) { /* the seed's sample: 100 minor units of USD */
            snprintf(inv->id, sizeof(inv->id), "30231175");
            inv->currency = pv_currency_by_numeric("840");
            inv->preauth = 100;
            inv->is_preauth = true;
        } else {
            ps_fmt(inv->id, sizeof(inv->id), "%" PRId64,
                   30300000 + (int64_t)i * 7 + ps_rng_range(&r, 0, 6));
            inv->currency = pv_currency_by_numeric(currencies[ps_rng_range(&r, 0, 2)]);
            inv->preauth = ps_rng_range(&r, 100, 500000);
            inv->is_preauth = i % 10 != 9; /* one in ten was never pre-authorised (00035) */
        }
        snprintf(inv->approval, sizeof(inv->approval), "%06" PRId64, ps_rng_range(&r, 0, 999999));
        if (inv->currency == NULL || !ps_map_puts(&st->payone_ids, inv->id, (int64_t)i))
            return false;
    }
    st->payone_next_rrn = 5230000000000; /* the seed's rrn ends 5230000000000 */
    return true;
}

void ps_state_free(ps_state *st)
{
    free(st->payofin);
    free(st->payofin_payments);
    ps_map_free(&st->payofin_ids);
    ps_map_free(&st->payofin_subscribers);
    free(st->sipay);
    ps_map_free(&st->sipay_oids);
    free(st->paywall);
    free(st->debts);
    ps_map_free(&st->paywall_ids);
    free(st->isbank);
    ps_map_free(&st->isbank_paid);
    free(st->payone);
    ps_map_free(&st->payone_ids);
    memset(st, 0, sizeof(*st));
}

bool ps_state_generate(ps_state *st, const ps_config *cfg)
{
    memset(st, 0, sizeof(*st));
    st->n = (size_t)cfg->invoices;
    if (ps_state_gen_payofin(st, cfg->seed) && ps_state_gen_sipay(st, cfg->seed) &&
        ps_state_gen_paywall(st, cfg->seed) && ps_state_gen_isbank(st, cfg->seed) &&
        ps_state_gen_payone(st, cfg->seed))
        return true;
    ps_state_free(st);
    return false;
}
