/* sc_kind.c -- the names of the event kinds (sc_codec.h). */
#include "sc_codec.h"

#include <string.h>

static const char *const sc_kind_names[][2] = {
    {"PaymentCommand", "command"},
    {"PaymentResult", "result"},
    {"BalanceUpdate", "balance"},
};

const char *sc_kind_name(sc_kind kind)
{
    return (unsigned)kind < SC_KIND__COUNT ? sc_kind_names[kind][0] : "?";
}

int sc_kind_from_name(const char *name)
{
    for (int k = 0; k < SC_KIND__COUNT; k++)
        if (strcmp(name, sc_kind_names[k][0]) == 0 || strcmp(name, sc_kind_names[k][1]) == 0)
            return k;
    return -1;
}
