/* pv_money.h -- exact money: int64 minor units + ISO 4217 currency.
 *
 * DESIGN
 * Money never passes through a double. Amounts arrive as decimal text (the
 * original text of a JSON number, which json-c keeps, or a JSON string) and are
 * parsed digit by digit into an int64 count of minor units of the currency.
 * The currency's exponent comes from the ISO 4217 table below (TRY 2, JOD 3,
 * JPY 0, ...). Digits below the minor unit are rounded half-to-even and the
 * value is flagged `rounded`; the exact text received is kept next to the
 * value so that nothing is lost. Exponent notation ("1e3"), signs other than a
 * leading '-', leading zeros ("007.5"), blanks and values past 64 bits are
 * errors, so the kept text is always a valid JSON number.
 */
#ifndef PV_MONEY_H
#define PV_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pv_error.h"

#define PV_MONEY_TEXT_MAX 48 /* longest decimal text accepted, NUL included */

typedef struct pv_currency {
    char alpha[4];   /* "TRY" */
    char numeric[4]; /* "949" */
    int exponent;    /* minor unit digits: 2 for TRY, 3 for JOD */
} pv_currency;

typedef struct pv_money {
    int64_t minor;                /* amount in minor units */
    char currency[4];             /* ISO 4217 alpha-3; "" when the money is unset */
    bool rounded;                 /* text had digits below the minor unit */
    char text[PV_MONEY_TEXT_MAX]; /* exact decimal text received; "" when built */
} pv_money;

/* Currency table look-ups (pv_currency.c); NULL when unknown. Alpha look-up is case-sensitive
 * (ISO codes are upper case). */
const pv_currency *pv_currency_by_alpha(const char *alpha);
const pv_currency *pv_currency_by_numeric(const char *numeric);

/* True when m carries an amount (a currency is set). */
static inline bool pv_money_isset(const pv_money *m)
{
    return m->currency[0] != '\0';
}

/* Parses the decimal text s[0..len) as an amount in `currency` (alpha-3).
 * `field` names the value in error messages. On success fills *out (text kept)
 * and returns PV_OK; otherwise returns PV_EFORMAT, PV_ERANGE or PV_ECURRENCY. */
int pv_money_parse(const char *s, size_t len, const char *currency, const char *field,
                   pv_money *out, pv_error *err);

/* Parses s[0..len) as a count of minor units (PayOne style "100"). */
int pv_money_parse_minor(const char *s, size_t len, const char *currency, const char *field,
                         pv_money *out, pv_error *err);

/* Builds money from minor units. Returns PV_ECURRENCY for an unknown currency. */
int pv_money_from_minor(int64_t minor, const char *currency, pv_money *out, pv_error *err);

/* Writes the amount in major units with exactly the currency's exponent digits
 * ("196.50", "1.000" for JOD, "5" for JPY). Returns the length, or -1 when it
 * does not fit in cap. */
int pv_money_format(const pv_money *m, char *buf, size_t cap);

/* Writes the amount as minor units ("19650"). Same return as pv_money_format. */
int pv_money_format_minor(const pv_money *m, char *buf, size_t cap);

/* a + b into *out; PV_ERANGE on overflow or different currencies. */
int pv_money_add(const pv_money *a, const pv_money *b, pv_money *out);

/* Checks that s[0..len) is plain decimal text as pv_money_parse accepts it
 * (optional '-', digits without leading zeros, optional fraction; at most
 * PV_MONEY_TEXT_MAX-1 chars), whatever the currency. PV_EFORMAT/PV_ERANGE. */
int pv_money_decimal_check(const char *s, size_t len, const char *field, pv_error *err);

/* Parses a whole decimal integer s[0..len) (optional '-') into int64 without
 * overflow. Returns PV_OK, PV_EFORMAT or PV_ERANGE (no error object). */
int pv_money_parse_int64(const char *s, size_t len, int64_t *out);

#endif
