/* pv_result.c -- filling a result: references, the provider's code and
 * message, the error (pv_domain.h). */
#include "pv_domain.h"

#include <string.h>

#include "pv_utf8.h"

void pv_result_init(pv_result *res)
{
    memset(res, 0, sizeof(*res));
    res->outcome = PV_OUTCOME_UNKNOWN;
}

void pv_result_clear(pv_result *res)
{
    json_object_put(res->detail);
    pv_result_init(res);
}

/* Copies src into dst, cutting at a UTF-8 character boundary when it does not
 * fit (provider messages are Turkish and Arabic text). */
static void pv_result_copy(char *dst, size_t cap, const char *src)
{
    /* callers may pass a field of the same result: pv_utf8_copy moves */
    pv_utf8_copy(dst, cap, src, src != NULL ? strlen(src) : 0);
}

int pv_result_add_ref(pv_result *res, const char *name, const char *value)
{
    if (value == NULL)
        value = "";
    if (strlen(name) >= sizeof(res->refs[0].name) || strlen(value) >= sizeof(res->refs[0].value))
        return PV_ETOOBIG;
    for (size_t i = 0; i < res->nrefs; i++) {
        if (strcmp(res->refs[i].name, name) == 0) {
            pv_result_copy(res->refs[i].value, sizeof(res->refs[i].value), value);
            return PV_OK;
        }
    }
    if (res->nrefs == PV_REFS_MAX)
        return PV_ETOOBIG;
    pv_result_copy(res->refs[res->nrefs].name, sizeof(res->refs[0].name), name);
    pv_result_copy(res->refs[res->nrefs].value, sizeof(res->refs[0].value), value);
    res->nrefs++;
    return PV_OK;
}

const char *pv_result_ref(const pv_result *res, const char *name)
{
    for (size_t i = 0; i < res->nrefs; i++)
        if (strcmp(res->refs[i].name, name) == 0)
            return res->refs[i].value;
    return NULL;
}

void pv_result_set_code(pv_result *res, const char *code, const char *message)
{
    pv_result_copy(res->provider_code, sizeof(res->provider_code), code);
    pv_result_copy(res->provider_message, sizeof(res->provider_message), message);
}

void pv_result_set_message(pv_result *res, const char *message)
{
    pv_result_copy(res->provider_message, sizeof(res->provider_message), message);
}

void pv_result_fail(pv_result *res, pv_outcome outcome, const pv_error *err)
{
    res->outcome = outcome;
    pv_result_copy(res->error, sizeof(res->error), err != NULL ? err->errstr : "");
}
