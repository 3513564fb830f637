/* pv_json.h -- typed, bounded access to json-c documents.
 *
 * DESIGN
 * Every adapter reads provider answers and command parameters through these
 * helpers so that each bad value gives the same kind of error: the field path
 * ("payofinPaymentDetails.balance") and a quotation of the value. They also
 * guard against json-c's silent behaviours: integers past 64 bits are clamped
 * by json-c's tokener (a 30-digit number reads as 18446744073709551615), so a
 * clamped value is reported as out of range instead of used.
 *
 * Numbers keep their original text (json-c stores it for doubles), which is
 * what pv_money parses: no double is read on the money path.
 *
 * Look-ups are exact on the key first, then case-insensitive, because the
 * providers' documents and samples disagree on case (Payofin documents
 * `ResultCode` and sends `resultCode`).
 */
#ifndef PV_JSON_H
#define PV_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "pv_error.h"
#include "pv_money.h"

#define PV_JSON_BODY_MAX  (1024 * 1024) /* largest document parsed (bytes) */
#define PV_JSON_DEPTH_MAX 16            /* deepest nesting accepted */

/* Parses body[0..len) into *out (caller owns, json_object_put). Rejects bodies
 * over PV_JSON_BODY_MAX, trailing garbage and nesting past PV_JSON_DEPTH_MAX.
 * `what` names the document in errors ("Payofin response"). */
int pv_json_parse(const char *body, size_t len, const char *what, json_object **out, pv_error *err);
/* pv_json_parse, and the document must be an object (PV_ETYPE, "WHAT:
 * expected an object, got ..."); *out is set whenever it parsed. */
int pv_json_parse_object(const char *body, size_t len, const char *what, json_object **out,
                         pv_error *err);

/* Refuses a document in which one object has two keys that are equal, or
 * equal but for ASCII case or escaping ({"resultCode":1,"ResultCode":-19}):
 * json-c keeps one of them and pv_json_member falls back to a
 * case-insensitive match, so which one would be read is an accident. The
 * error names the key and quotes both spellings. Text that is not JSON is
 * left to pv_json_parse (PV_OK here). */
int pv_json_check_keys(const char *body, size_t len, const char *what, pv_error *err);

/* Member look-up: exact key, then case-insensitive. NULL when absent.
 * A member whose value is JSON null counts as absent. */
json_object *pv_json_member(const json_object *obj, const char *key);

/* Field readers. `path` names the field in errors. When the member is absent
 * they return PV_EMISSING if `required`, otherwise PV_OK with *present false
 * (present may be NULL). */
int pv_json_int64(const json_object *obj, const char *key, const char *path, bool required,
                  int64_t *out, bool *present, pv_error *err);
int pv_json_bool(const json_object *obj, const char *key, const char *path, bool required,
                 bool *out, bool *present, pv_error *err);
/* Copies a string member into buf (cap bytes, NUL included): PV_ETOOBIG when
 * longer. Numbers are not accepted where a string is documented. */
int pv_json_string(const json_object *obj, const char *key, const char *path, bool required,
                   char *buf, size_t cap, bool *present, pv_error *err);
/* Reads an amount given as a JSON number or a JSON string of decimal text. */
int pv_json_money(const json_object *obj, const char *key, const char *path, bool required,
                  const char *currency, pv_money *out, pv_error *err);

/* Value-level variants, for array elements and already found members. */
int pv_json_value_int64(json_object *v, const char *path, int64_t *out, pv_error *err);
/* A required string: PV_EMISSING when v is NULL, PV_ETYPE when it is not a
 * string; its text and length out (owned by v). Nothing is formatted on
 * success: a caller whose own check fails describes v then
 * (pv_json_describe), never before (it cost 25k instructions a command). */
int pv_json_value_string(json_object *v, const char *path, const char **s, size_t *len,
                         pv_error *err);
int pv_json_value_money(json_object *v, const char *path, const char *currency, pv_money *out,
                        pv_error *err);

/* Text of a number (original text for doubles) or string; NULL for others. */
const char *pv_json_number_text(json_object *v, size_t *len);

/* A JSON value that serialises as the given number text, byte for byte
 * (e.g. "196.50"). The text must be a valid JSON number; it is copied. */
json_object *pv_json_new_number_text(const char *text);

/* A JSON number for an amount in major units with the currency's digits. */
json_object *pv_json_new_money(const pv_money *m);

/* Describes v for an error: its type and a bounded quotation of its text. */
void pv_json_describe(json_object *v, char *buf, size_t cap);

/* Serialises without spaces or escaped slashes; the string is owned by obj. */
const char *pv_json_dump(json_object *obj, size_t *len);

#endif
