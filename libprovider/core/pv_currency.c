/* pv_currency.c -- the ISO 4217 currencies we know (declared in pv_money.h). */
#include "pv_money.h"

#include <string.h>

/*---- ISO 4217 table ----*/

/* Sorted by nothing in particular: the table is short and looked up only when
 * an amount is parsed. Exponents are ISO 4217's minor unit column. */
static const pv_currency pv_currencies[] = {
    {"TRY", "949", 2}, {"USD", "840", 2}, {"EUR", "978", 2}, {"GBP", "826", 2}, {"JOD", "400", 3},
    {"SAR", "682", 2}, {"AED", "784", 2}, {"KWD", "414", 3}, {"BHD", "048", 3}, {"EGP", "818", 2},
    {"OMR", "512", 3}, {"QAR", "634", 2}, {"IQD", "368", 3}, {"LYD", "434", 3}, {"TND", "788", 3},
    {"LBP", "422", 2}, {"MAD", "504", 2}, {"ILS", "376", 2}, {"CHF", "756", 2}, {"JPY", "392", 0},
    {"KRW", "410", 0}, {"CNY", "156", 2}, {"RUB", "643", 2}, {"AZN", "944", 2}, {"GEL", "981", 2},
    {"CAD", "124", 2}, {"AUD", "036", 2}, {"SEK", "752", 2}, {"NOK", "578", 2}, {"DKK", "208", 2},
    {"PLN", "985", 2}, {"CZK", "203", 2}, {"HUF", "348", 2}, {"RON", "946", 2}, {"BGN", "975", 2},
    {"INR", "356", 2},
};

#define PV_NCURRENCIES (sizeof(pv_currencies) / sizeof(pv_currencies[0]))

const pv_currency *pv_currency_by_alpha(const char *alpha)
{
    if (alpha == NULL)
        return NULL;
    for (size_t i = 0; i < PV_NCURRENCIES; i++)
        if (strcmp(pv_currencies[i].alpha, alpha) == 0)
            return &pv_currencies[i];
    return NULL;
}

const pv_currency *pv_currency_by_numeric(const char *numeric)
{
    if (numeric == NULL)
        return NULL;
    for (size_t i = 0; i < PV_NCURRENCIES; i++)
        if (strcmp(pv_currencies[i].numeric, numeric) == 0)
            return &pv_currencies[i];
    return NULL;
}
