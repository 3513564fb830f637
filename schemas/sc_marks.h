/* sc_marks.h -- the marks of a schema, read from its JSON: which string
 * fields hold decimal text (x-decimal) and which record is each provider's
 * request (x-provider). Private to the codec. */
#ifndef SC_MARKS_H
#define SC_MARKS_H

#include <stddef.h>

#include "pv_error.h"

/* Names of the decimal-text fields, "Record.field", and the request union's
 * branch per provider, both read from the schema JSON's own attributes. */
typedef struct sc_marks {
    char decimals[32][96];
    size_t ndecimals;
    char providers[8][2][64]; /* {provider, record name} */
    size_t nproviders;
} sc_marks;

/* Collects the marks of a schema text (x-decimal fields, x-provider records). */
int sc_marks_collect(sc_marks *m, const char *schema_json, size_t len, pv_error *err);
/* The record name of a provider's request branch, NULL when none. */
const char *sc_marks_branch(const sc_marks *m, const char *provider);
/* Is record.field marked x-decimal? (compared in place: this runs for every
 * field of every event, so no key is formatted) */
int sc_marks_decimal(const sc_marks *m, const char *record, const char *field);

#endif
