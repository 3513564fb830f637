/* pv_status.c -- the names of the statuses (pv_domain.h). */
#include "pv_domain.h"

#include <string.h>

static const char *const pv_status_names[] = {
#define XX(name) #name,
    PV_STATUS_MAP(XX)
#undef XX
};

const char *pv_status_name(pv_status s)
{
    return (unsigned)s < PV_STATUS__COUNT ? pv_status_names[s] : "?";
}

int pv_status_from_name(const char *name)
{
    for (int i = 0; i < PV_STATUS__COUNT; i++)
        if (strcmp(pv_status_names[i], name) == 0)
            return i;
    return -1;
}
