/* sc_codec.h -- the event contracts' codec: Avro in the Confluent wire format
 * and JSON commands <-> libprovider's domain structs. No I/O.
 *
 * DESIGN
 * Three schemas (the schemas/ .avsc files, compiled into the binary at build time):
 * PaymentCommand (in), PaymentResult and BalanceUpdate (out). On the wire an
 * Avro message is the Confluent framing: magic byte 0, the schema id as 4
 * bytes big-endian, then the Avro binary body. A command may also be JSON
 * (first byte '{') with the same field names.
 *
 * Schema ids come from a Confluent-compatible Schema Registry when the
 * caller has one (it registers our schemas and tells the codec the ids it
 * got, sc_codec_set_id; an id it does not know it fetches and hands over with
 * sc_codec_add_writer), otherwise from the fixed local table below. A message
 * written with another version of a schema is read with that version's
 * schema; the JSON tree every decode goes through treats fields that version
 * lacks as absent (their defaults) and ignores fields we do not know.
 *
 * Hostile input: avro-c allocates whatever length a message declares before
 * it checks the bytes, so every Avro body is first walked by a bounded
 * validator (sc_avro_check) against the writer schema: lengths within the
 * message and within SC_STRING_MAX, arrays and maps within SC_ARRAY_MAX
 * items, union and enum indexes in range, strings valid UTF-8, nesting within
 * SC_DEPTH_MAX. Its errors name the field path ("request.SipayMakePayment
 * .subscriber_no"). Messages over SC_MESSAGE_MAX are refused unread.
 *
 * Amounts in commands are the providers' documented decimals: they travel as
 * exact decimal text (Avro string, marked "x-decimal" in the schema; JSON may
 * give a number or a string), because their currency is implied by the
 * operation or given by a sibling field. Amounts in results and balances are
 * Money records: minor units (long) + ISO 4217 code.
 *
 * Threading: a codec is used by one thread (one per event loop).
 */
#ifndef SC_CODEC_H
#define SC_CODEC_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "provider.h"
#include "pv_domain.h"
#include "pv_error.h"

#define SC_MESSAGE_MAX (1024 * 1024) /* largest message decoded (bytes) */
#define SC_STRING_MAX  (64 * 1024)   /* longest string or bytes value */
#define SC_ARRAY_MAX   1000          /* most items of one array or map */
#define SC_DEPTH_MAX   16            /* deepest nesting of values */

typedef enum sc_kind { SC_COMMAND, SC_RESULT, SC_BALANCE, SC_KIND__COUNT } sc_kind;

/* Local schema ids, used when no registry is configured (documented in
 * README): a consumer without a registry maps them to the .avsc files. */
#define SC_LOCAL_ID_COMMAND 1
#define SC_LOCAL_ID_RESULT  2
#define SC_LOCAL_ID_BALANCE 3

typedef struct sc_codec sc_codec;

/* The embedded schema text of a kind, its record name ("PaymentCommand") and
 * its default topic-derived registry subject suffix. */
const char *sc_schema_text(sc_kind kind, size_t *len);
const char *sc_kind_name(sc_kind kind);
/* Kind by record name or by the short names "command", "result", "balance";
 * -1 when unknown. */
int sc_kind_from_name(const char *name);

/* A codec with the embedded schemas and the local ids. NULL on failure (err
 * says why). sc_codec_free(NULL) is allowed. */
sc_codec *sc_codec_new(pv_error *err);
void sc_codec_free(sc_codec *c);

/* The id our schema of `kind` is written with (and read with). */
int32_t sc_codec_id(const sc_codec *c, sc_kind kind);
void sc_codec_set_id(sc_codec *c, sc_kind kind, int32_t id);

/* Registers another writer schema for reading messages of `kind` framed with
 * `id` (an older or newer version, e.g. fetched from the registry). It must
 * be a record of the same name (PV_EUNSUPPORTED otherwise). */
int sc_codec_add_writer(sc_codec *c, sc_kind kind, int32_t id, const char *schema_json, size_t len,
                        pv_error *err);

/* The schema id of a framed message, or -1 when buf is not Confluent framed. */
int32_t sc_frame_id(const void *buf, size_t len);

/*---- Commands ----*/

/* Decodes an Avro (magic 0) or JSON ('{') command into cmd (pv_command_clear
 * frees it). Validates the envelope: command_id 1..127 bytes, a known
 * provider, its operation, created_at, expires_at, merchant, and a request
 * object (the adapter validates the request's own fields). An unknown schema
 * id is PV_EUNSUPPORTED with err->field "schema_id".
 *
 * JSON commands are strict: a key the schema does not have, at any level of
 * the envelope or of the provider's request record, spelt exactly, is
 * PV_EVALIDATION naming its path ("request.partial_amount: unknown field (did
 * you mean partialAmount?)"), every such key in err->detail's field_errors.
 * Avro commands carry the schema's fields by construction; one written with
 * a newer version may carry more, which are ignored.
 *
 * On failure cmd->request is NULL, and command_id, provider and operation are
 * kept where they decoded validly (under their exact names), for the
 * REJECTED result; nothing is kept from text that is not readable JSON. */
int sc_command_decode(sc_codec *c, const void *buf, size_t len, pv_command *cmd, pv_error *err);

/* Encodes a command as Confluent-framed Avro; *out is malloc'd. The request
 * goes into the union branch of cmd->provider. */
int sc_command_encode(sc_codec *c, const pv_command *cmd, char **out, size_t *out_len,
                      pv_error *err);

/* The command as a JSON object with the schema's field names (caller puts). */
json_object *sc_command_to_json(const pv_command *cmd);

/*---- Results and balances ----*/

/* Encodes an event as Confluent-framed Avro; *out is malloc'd. */
int sc_result_encode(sc_codec *c, const pv_result_event *ev, char **out, size_t *out_len,
                     pv_error *err);
int sc_balance_encode(sc_codec *c, const pv_balance_event *ev, char **out, size_t *out_len,
                      pv_error *err);

/* Results and balances are written straight to Avro and fall back to a
 * checked JSON tree for anything unusual; on != 0 takes the JSON way always
 * (tests compare the two byte for byte). */
void sc_codec_set_json_only(sc_codec *c, int on);

/*---- Any event to JSON (payctl tail, tests) ----*/

/* Decodes a framed Avro message of `kind` (any id the codec knows) or, for
 * commands, JSON, into a JSON object: records as objects, unions as their
 * value, enums as their symbol, longs as integers. Caller puts *out. */
int sc_event_to_json(sc_codec *c, sc_kind kind, const void *buf, size_t len, json_object **out,
                     pv_error *err);

#endif
