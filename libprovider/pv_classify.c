/* pv_classify.c -- the default classifiers: the outcome of an HTTP status
 * without a usable envelope, and of a transport fault (provider.h). */
#include "provider.h"

pv_outcome pv_classify_http_default(const pv_provider *p, int http_status)
{
    pv_outcome o;
    switch (http_status) {
    case 401:
    case 403:
        return PV_OUTCOME_FATAL;
    case 408:
    case 425:
    case 429:
    case 503:
        return PV_OUTCOME_RETRY;
    default:
        break;
    }
    if (http_status >= 400 && http_status < 500)
        o = PV_OUTCOME_INVALID;
    else
        o = PV_OUTCOME_UNKNOWN; /* 5xx, 1xx, 3xx, a 2xx we could not read */
    if (o == PV_OUTCOME_UNKNOWN && (p->caps & PV_CAP_READONLY))
        o = PV_OUTCOME_RETRY;
    return o;
}

pv_outcome pv_classify_fault_default(const pv_provider *p, pv_fault fault)
{
    if (fault == PV_FAULT_CONNECT || (p->caps & PV_CAP_READONLY))
        return PV_OUTCOME_RETRY;
    return PV_OUTCOME_UNKNOWN;
}

pv_outcome pv_classify_fault(const pv_provider *p, pv_fault fault)
{
    if (p->classify_fault != NULL)
        return p->classify_fault(p, fault);
    return pv_classify_fault_default(p, fault);
}
