/* pv_error.h -- error codes and the error object of libprovider.
 *
 * DESIGN
 * An error means "we could not do our job" (bad input, a body we cannot read),
 * never a business outcome: a declined payment is data in pv_result.
 * Codes are generated from one X-macro list together with their names and
 * messages (libuv style). The error object carries the code, the path of the
 * offending field ("request.partialAmount") and a bounded human message that
 * quotes the offending value. Secrets never appear in it.
 *
 * Functions return PV_OK (0) or a negative pv_errno; on failure they fill the
 * pv_error the caller passed (which may be NULL). */
#ifndef PV_ERROR_H
#define PV_ERROR_H

#include <stddef.h>

#include "pv_utf8.h" /* pv_utf8_quote, with which errors quote values */

#define PV_ERRNO_MAP(XX)                            \
    XX(EMISSING, -1, "required field missing")      \
    XX(ETYPE, -2, "wrong JSON type")                \
    XX(ERANGE, -3, "value out of range")            \
    XX(EFORMAT, -4, "malformed value")              \
    XX(ETOOBIG, -5, "input too large")              \
    XX(EPARSE, -6, "unparsable document")           \
    XX(ENOMEM, -7, "out of memory")                 \
    XX(ECONFIG, -8, "missing or bad configuration") \
    XX(EUNSUPPORTED, -9, "unsupported operation")   \
    XX(ECURRENCY, -10, "unknown currency")          \
    XX(EVALIDATION, -11, "validation failed")       \
    XX(EUNAVAILABLE, -12, "temporarily unavailable: try again later")

enum {
    PV_OK = 0,
#define XX(name, value, msg) PV_##name = (value),
    PV_ERRNO_MAP(XX)
#undef XX
};

#define PV_ERR_FIELD_MAX 96
#define PV_ERR_STR_MAX   384

typedef struct pv_error {
    int code;                     /* PV_OK or a negative PV_E* */
    char field[PV_ERR_FIELD_MAX]; /* path of the offending field, "" when none */
    char errstr[PV_ERR_STR_MAX];  /* human readable, quotes the offending value */
    struct json_object *detail;   /* optional structured detail (owned), e.g.
                                   * a list of per-field validation errors */
} pv_error;

/* Name ("EMISSING") and generic message of a code; "UNKNOWN" for others. */
const char *pv_error_name(int code);
const char *pv_error_message(int code);

/* Sets err (if not NULL) and returns code. field may be NULL. */
int pv_error_set(pv_error *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Resets err to PV_OK and frees its detail. */
void pv_error_clear(pv_error *err);

#endif
