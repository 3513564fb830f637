/* pv_money.c -- see pv_money.h. */
#include "pv_money.h"

#include <stdio.h>
#include <string.h>

/*---- Parsing ----*/

static const int64_t pv_pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

int pv_money_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t acc = 0;
    const uint64_t limit_pos = (uint64_t)INT64_MAX;

    if (len > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == len)
        return PV_EFORMAT;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PV_EFORMAT;
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (limit_pos + (neg ? 1u : 0u) - d) / 10)
            return PV_ERANGE;
        acc = acc * 10 + d;
    }
    if (neg)
        *out = acc == limit_pos + 1 ? INT64_MIN : -(int64_t)acc;
    else
        *out = (int64_t)acc;
    return PV_OK;
}

static int pv_money_init(pv_money *out, const pv_currency *c, const char *s, size_t len)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->currency, c->alpha, sizeof(out->currency));
    if (len < sizeof(out->text)) {
        memcpy(out->text, s, len);
        out->text[len] = '\0';
    }
    return PV_OK;
}

static const pv_currency *pv_money_currency(const char *currency, const char *field, pv_error *err)
{
    const pv_currency *c = pv_currency_by_alpha(currency);
    if (c == NULL) {
        char q[96];
        pv_utf8_quote(q, sizeof(q), currency, currency != NULL ? strlen(currency) : 0);
        pv_error_set(err, PV_ECURRENCY, field, "%s: unknown currency \"%s\"", field, q);
    }
    return c;
}

int pv_money_parse(const char *s, size_t len, const char *currency, const char *field,
                   pv_money *out, pv_error *err)
{
    char q[96];
    const pv_currency *c = pv_money_currency(currency, field, err);
    if (c == NULL)
        return PV_ECURRENCY;

    pv_utf8_quote(q, sizeof(q), s, len);
    if (len >= PV_MONEY_TEXT_MAX)
        return pv_error_set(err, PV_ERANGE, field, "%s: amount \"%s\" is too long (%zu chars)",
                            field, q, len);

    size_t i = 0;
    bool neg = false;
    if (len > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    size_t int_start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t int_end = i;
    size_t frac_start = i, frac_end = i;
    if (i < len && s[i] == '.') {
        frac_start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        frac_end = i;
        if (frac_end == frac_start)
            return pv_error_set(err, PV_EFORMAT, field,
                                "%s: amount \"%s\" has no digits after the decimal point", field,
                                q);
    }
    if (int_end == int_start)
        return pv_error_set(err, PV_EFORMAT, field, "%s: amount \"%s\" is not a decimal number",
                            field, q);
    if (int_end - int_start > 1 && s[int_start] == '0')
        return pv_error_set(err, PV_EFORMAT, field,
                            "%s: amount \"%s\" has leading zeros (not a JSON number)", field, q);
    if (i != len)
        return pv_error_set(err, PV_EFORMAT, field,
                            "%s: amount \"%s\" is not a plain decimal number (exponents, signs "
                            "and blanks are not accepted)",
                            field, q);

    /* integer part, then exponent digits of the fraction */
    int64_t minor = 0;
    const int64_t max = INT64_MAX;
    for (size_t k = int_start; k < int_end; k++) {
        int d = s[k] - '0';
        if (minor > (max - d) / 10)
            goto range;
        minor = minor * 10 + d;
    }
    if (minor > max / pv_pow10[c->exponent])
        goto range;
    minor *= pv_pow10[c->exponent];
    size_t nfrac = frac_end - frac_start;
    int64_t frac = 0;
    for (int k = 0; k < c->exponent; k++) {
        int d = (size_t)k < nfrac ? s[frac_start + (size_t)k] - '0' : 0;
        frac = frac * 10 + d;
    }
    if (minor > max - frac)
        goto range;
    minor += frac;

    /* digits below the minor unit: round half to even */
    bool rounded = false;
    if (nfrac > (size_t)c->exponent) {
        size_t first = frac_start + (size_t)c->exponent;
        int d = s[first] - '0';
        bool rest_nonzero = false;
        for (size_t k = first + 1; k < frac_end; k++)
            if (s[k] != '0')
                rest_nonzero = true;
        rounded = d != 0 || rest_nonzero;
        bool up = d > 5 || (d == 5 && (rest_nonzero || (minor & 1) != 0));
        if (up) {
            if (minor == max)
                goto range;
            minor++;
        }
    }

    pv_money_init(out, c, s, len);
    out->minor = neg ? -minor : minor;
    out->rounded = rounded;
    return PV_OK;

range:
    return pv_error_set(err, PV_ERANGE, field, "%s: amount \"%s\" %s exceeds the 64-bit range",
                        field, q, c->alpha);
}

int pv_money_parse_minor(const char *s, size_t len, const char *currency, const char *field,
                         pv_money *out, pv_error *err)
{
    char q[96];
    int64_t v;
    const pv_currency *c = pv_money_currency(currency, field, err);
    if (c == NULL)
        return PV_ECURRENCY;
    int rc = pv_money_parse_int64(s, len, &v);
    if (rc != PV_OK) {
        pv_utf8_quote(q, sizeof(q), s, len);
        return pv_error_set(err, rc, field,
                            rc == PV_ERANGE ? "%s: amount \"%s\" exceeds the 64-bit range"
                                            : "%s: amount \"%s\" is not a whole number of "
                                              "minor units",
                            field, q);
    }
    pv_money_init(out, c, s, len);
    out->minor = v;
    return PV_OK;
}

int pv_money_from_minor(int64_t minor, const char *currency, pv_money *out, pv_error *err)
{
    const pv_currency *c = pv_money_currency(currency, "currency", err);
    if (c == NULL)
        return PV_ECURRENCY;
    pv_money_init(out, c, "", 0);
    out->minor = minor;
    return PV_OK;
}

int pv_money_decimal_check(const char *s, size_t len, const char *field, pv_error *err)
{
    /* the syntax is the currency-independent part of pv_money_parse; parsed
     * with exponent 0 (JPY) the range check is the loosest one (the integer
     * part fits int64), so every amount that fits some currency passes and
     * the adapter applies its own currency's range */
    pv_money probe;
    return pv_money_parse(s, len, "JPY", field, &probe, err);
}

/*---- Formatting and arithmetic ----*/

int pv_money_format(const pv_money *m, char *buf, size_t cap)
{
    const pv_currency *c = pv_currency_by_alpha(m->currency);
    if (c == NULL)
        return -1;
    uint64_t mag = m->minor < 0 ? (uint64_t)0 - (uint64_t)m->minor : (uint64_t)m->minor;
    uint64_t p = (uint64_t)pv_pow10[c->exponent];
    int n;
    if (c->exponent == 0)
        n = snprintf(buf, cap, "%s%llu", m->minor < 0 ? "-" : "", (unsigned long long)mag);
    else
        n = snprintf(buf, cap, "%s%llu.%0*llu", m->minor < 0 ? "-" : "",
                     (unsigned long long)(mag / p), c->exponent, (unsigned long long)(mag % p));
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int pv_money_format_minor(const pv_money *m, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%lld", (long long)m->minor);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int pv_money_add(const pv_money *a, const pv_money *b, pv_money *out)
{
    if (strcmp(a->currency, b->currency) != 0)
        return PV_ERANGE;
    int64_t sum;
    if (__builtin_add_overflow(a->minor, b->minor, &sum))
        return PV_ERANGE;
    pv_money r;
    memset(&r, 0, sizeof(r));
    memcpy(r.currency, a->currency, sizeof(r.currency));
    r.minor = sum;
    r.rounded = a->rounded || b->rounded;
    *out = r;
    return PV_OK;
}
