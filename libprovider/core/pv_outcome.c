/* pv_outcome.c -- the names of the outcomes (pv_domain.h). */
#include "pv_domain.h"

const char *pv_outcome_name(pv_outcome o)
{
    static const char *const names[] = {
#define XX(name, doc) #name,
        PV_OUTCOME_MAP(XX)
#undef XX
    };
    return (unsigned)o < PV_OUTCOME__COUNT ? names[o] : "?";
}
