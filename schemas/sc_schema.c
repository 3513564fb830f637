/* sc_schema.c -- the text of our schemas, compiled in (sc_codec.h). */
#include "sc_codec.h"

#include <stddef.h>

/* generated from the schemas/ .avsc files at build time (schemas/embed.c) */
extern const char sc_avsc_payment_command[], sc_avsc_payment_result[], sc_avsc_balance_update[];
extern const size_t sc_avsc_payment_command_len, sc_avsc_payment_result_len,
    sc_avsc_balance_update_len;

const char *sc_schema_text(sc_kind kind, size_t *len)
{
    switch (kind) {
    case SC_COMMAND:
        *len = sc_avsc_payment_command_len;
        return sc_avsc_payment_command;
    case SC_RESULT:
        *len = sc_avsc_payment_result_len;
        return sc_avsc_payment_result;
    case SC_BALANCE:
        *len = sc_avsc_balance_update_len;
        return sc_avsc_balance_update;
    default:
        *len = 0;
        return NULL;
    }
}
