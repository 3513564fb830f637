/* ps_amount.c -- exact amounts: int64 minor units written as decimal text with the
 * digits the seeds show, never through a double. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const int64_t ps_pow10[] = {1,
                            10,
                            100,
                            1000,
                            10000,
                            100000,
                            1000000,
                            10000000,
                            100000000,
                            1000000000,
                            10000000000,
                            100000000000,
                            1000000000000,
                            10000000000000,
                            100000000000000,
                            1000000000000000,
                            10000000000000000,
                            100000000000000000,
                            1000000000000000000};

/* Writes `minor` units of a currency with `exponent` minor digits as decimal
 * text with `decimals` fraction digits (decimals >= exponent pads with zeros,
 * as the seeds' 196.5000 does); decimals < 0 writes as few as needed (265,
 * 265.5). Never through a double. */
void ps_amount(char *buf, size_t cap, int64_t minor, int exponent, int decimals)
{
    uint64_t u = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t scale = (uint64_t)ps_pow10[exponent];
    uint64_t whole = u / scale, frac = u % scale;
    int digits = exponent;
    const char *sign = minor < 0 ? "-" : "";

    if (decimals < 0) {
        while (digits > 0 && frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        decimals = digits;
    }
    if (decimals < digits)
        decimals = digits; /* never drop significant digits */
    int n = snprintf(buf, cap, "%s%" PRIu64, sign, whole);
    if (decimals == 0 || n < 0 || (size_t)n >= cap)
        return;
    char ftext[24] = "";
    if (digits > 0)
        ps_fmt(ftext, sizeof(ftext), "%0*" PRIu64, digits, frac);
    snprintf(buf + n, cap - (size_t)n, ".%s%.*s", ftext, decimals - digits, "000000000000000000");
}

/* Amounts in TRY kuruş (2 digits). */
void ps_amount_try(char *buf, size_t cap, int64_t kurus, int decimals)
{
    ps_amount(buf, cap, kurus, 2, decimals);
}
