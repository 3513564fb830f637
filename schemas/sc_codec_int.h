/* sc_codec_int.h -- what the files of the codec share (sc_codec.c, the
 * codec object; sc_frame.c, sc_command.c, sc_result.c, sc_balance.c,
 * sc_out.c, sc_event.c). Private to schemas/. See sc_codec.h. */
#ifndef SC_CODEC_INT_H
#define SC_CODEC_INT_H

#include <avro.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "sc_avro.h"
#include "sc_codec.h"

#define SC_WRITERS_MAX 16

/* Another version of one of our schemas. Its messages are read with it
 * directly: the JSON tree the codec goes through treats a field the writer
 * did not have as absent (its default), and fields we do not know are
 * ignored. (avro-c 1.11's resolving reader refuses a reader field with a
 * default that the writer lacks, the commonest evolution, so it is not used;
 * tests/unit/test_schema_evolution.c keeps the versions compatible.) */
typedef struct sc_writer {
    sc_kind kind;
    int32_t id;
    avro_schema_t schema;
    avro_value_iface_t *iface; /* generic values of the writer schema */
} sc_writer;

struct sc_codec {
    avro_schema_t schema[SC_KIND__COUNT];
    avro_value_iface_t *iface[SC_KIND__COUNT];
    int32_t id[SC_KIND__COUNT];
    sc_marks marks; /* of the command schema */
    sc_writer writers[SC_WRITERS_MAX];
    size_t nwriters;
    int json_only; /* results and balances the checked JSON way (tests) */
};

/*---- sc_codec.c ----*/

/* Encodes j with our schema of kind (branch picks the request union). */
int sc_codec_encode_json(sc_codec *c, sc_kind kind, json_object *j, const char *branch, char **out,
                         size_t *out_len, pv_error *err);
/* Reads a framed Avro message of kind into a JSON tree; for a command also
 * returns the request branch's record name. */
int sc_codec_decode_avro(sc_codec *c, sc_kind kind, const unsigned char *buf, size_t len,
                         json_object **out, char *branch, size_t branch_cap, pv_error *err);
/* A JSON string, NULL (JSON null) for a missing or empty one. */
json_object *sc_codec_json_str_or_null(const char *s);
/* A Money record {minor, currency, exact}, NULL when m is unset. */
json_object *sc_codec_json_money(const pv_money *m);

/*---- sc_frame.c ----*/

/* Writes value framed with id into a malloc'd buffer. */
int sc_frame_write(avro_value_t *value, int32_t id, char **out, size_t *out_len, pv_error *err);

/*---- sc_out.c: results and balances written straight to Avro ----*/

typedef struct sc_out {
    char *buf;
    size_t len, cap;
    int odd; /* take the JSON way instead */
} sc_out;

/* 1: the event is written to *out; 0: take the JSON way. */
int sc_out_result(sc_codec *c, const pv_result_event *ev, char **out, size_t *out_len);
int sc_out_balance(sc_codec *c, const pv_balance_event *ev, char **out, size_t *out_len);

#endif
