/* sc_avro.h -- schema-driven helpers over avro-c, private to the codec.
 *
 * DESIGN
 * sc_avro_check walks Avro binary bytes against a schema without allocating
 * anything, so that avro-c's reader (which trusts declared lengths) only ever
 * sees well-formed, bounded input. sc_avro_to_json and sc_avro_from_json
 * convert between avro-c generic values and json-c trees by the schema's
 * shape: records <-> objects, unions <-> their value, enums <-> symbols,
 * long/int <-> integers (a digit string is accepted going in), strings <->
 * strings. A string field marked "x-decimal" in the schema also accepts a
 * JSON number, whose exact text it stores.
 */
#ifndef SC_AVRO_H
#define SC_AVRO_H

#include <avro.h>
#include <json-c/json.h>
#include <stddef.h>

#include "pv_error.h"
#include "pv_utf8.h" /* pv_utf8_valid: what the codec and payctl check text with */
#include "sc_marks.h"

/* PV_OK when buf[0..len) is exactly one well-formed value of schema within the
 * codec's limits; otherwise an error naming the field path and the problem. */
int sc_avro_check(avro_schema_t schema, const unsigned char *buf, size_t len, pv_error *err);

/* The value as a JSON tree (caller puts); NULL with err set on failure. */
json_object *sc_avro_to_json(avro_value_t *value, pv_error *err);

/* Fills value (a fresh generic value of its schema) from j. `path` names the
 * value in errors; `branch` picks a record branch of a multi-record union by
 * name (the command's request), NULL otherwise. */
int sc_avro_from_json(avro_value_t *value, json_object *j, const char *path, const sc_marks *m,
                      const char *branch, pv_error *err);

/* Refuses keys of j that the schema s does not have, exact spelling, in
 * every record of j down to its leaves: records' fields, array items,
 * unions of null and one record; a map's keys are free and not checked, and
 * neither are values of another shape than the schema's (the converter
 * names those). `branch` picks the record of a multi-record union by name
 * (the command's request); without it such a union is not checked. `path`
 * names j ("" for a whole command). The error is PV_EVALIDATION naming the
 * first unknown key ("request.partial_amount: unknown field (did you mean
 * partialAmount?)"; the key is quoted, no value is); err->detail holds
 * {"field_errors": [...]} with every unknown key. PV_OK when all are known. */
int sc_avro_check_keys(avro_schema_t s, json_object *j, const char *path, const char *branch,
                       pv_error *err);

#endif
