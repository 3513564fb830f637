/* pv_isbank_int.h -- what the three files of the İş Bankası adapter share:
 * pv_isbank_spec.c (the service object), pv_isbank_check.c (a command checked
 * against it) and pv_isbank.c (the payment, the token and the pv_provider).
 * Internal to the adapter: nothing outside libprovider/adapters/pv_isbank*
 * includes it. See pv_isbank.c for the design. */
#ifndef PV_ISBANK_INT_H
#define PV_ISBANK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider.h"
#include "pv_json.h"

/*---- Bounds ----*/

#define ISBANK_FIELDS_MAX 48   /* input fields of one service, group children included */
#define ISBANK_ITEMS_MAX  128  /* enumerated items of one service, all fields together */
#define ISBANK_RANGES_MAX 16   /* amount ranges (one per currency) */
#define ISBANK_NAME_MAX   64   /* field names and item keys, NUL included */
#define ISBANK_LABEL_MAX  128  /* item labels, NUL included */
#define ISBANK_INPUTS_MAX 64   /* entries of each input list of a command */
#define ISBANK_VALUE_MAX  1024 /* bytes of one input value */
#define ISBANK_ERRORS_MAX 32   /* field errors listed in the detail */
#define ISBANK_REF_MAX    64   /* characters of payment_reference */
#define ISBANK_FLOW_MAX   128  /* bytes of query_flow_id */
#define ISBANK_INFOS_MAX  8    /* infos kept in a result's detail */
#define ISBANK_QUOTE_MAX  320  /* a quoted value (64 input bytes, escaped) */
#define ISBANK_SPEC_MAGIC 0x49534253u

#define ISBANK_API "/api/isbank/v1"

/*---- The parsed service object ----*/

typedef enum pv_isbank_type {
    ISBANK_TYPE_ANY,     /* "\n " or absent: no constraint */
    ISBANK_TYPE_NUMERIC, /* ASCII digits only */
    ISBANK_TYPE_ALNUM,   /* printable: no control characters */
} pv_isbank_type;

typedef struct pv_isbank_item {
    char key[ISBANK_NAME_MAX];
    char label[ISBANK_LABEL_MAX]; /* the item's "value": a display text */
} pv_isbank_item;

typedef struct pv_isbank_field {
    char name[ISBANK_NAME_MAX];
    int parent; /* index of the group in fields[], -1 at the top level */
    bool required;
    bool group;      /* has named children: carries no value itself */
    int64_t min_len; /* in code points; -1 when not bounded */
    int64_t max_len;
    pv_isbank_type type;
    size_t item0; /* the field's items are items[item0 .. item0+nitems) */
    size_t nitems;
} pv_isbank_field;

typedef struct pv_isbank_range {
    char currency[4];
    bool known;   /* in our ISO 4217 table: bounds parsed */
    pv_money min; /* unset when the spec gives no bound */
    pv_money max;
} pv_isbank_range;

typedef struct pv_isbank_spec {
    uint32_t magic;     /* ISBANK_SPEC_MAGIC: ctx->spec really is ours */
    int64_t service_id; /* 0 when the object does not say */
    pv_isbank_field fields[ISBANK_FIELDS_MAX];
    size_t nfields;
    pv_isbank_item items[ISBANK_ITEMS_MAX];
    size_t nitems;
    pv_isbank_range ranges[ISBANK_RANGES_MAX];
    size_t nranges;
    bool decimal_fraction_allowed;
} pv_isbank_spec;

/*---- The envelope's infos (spec, payment) ----*/

typedef struct pv_isbank_info {
    char code[PV_CODE_MAX];
    char message[PV_MSG_MAX];
    char customer[PV_MSG_MAX]; /* message_for_customer */
} pv_isbank_info;

typedef struct pv_isbank_infos {
    size_t n;             /* entries */
    bool refused;         /* an entry's code is not "0" */
    pv_isbank_info first; /* the first refusing entry, else the first entry */
    json_object *list;    /* bounded copy for a detail (owned), NULL when none */
} pv_isbank_infos;

/*---- The command ----*/

typedef struct pv_isbank_input {
    const char *name;
    const char *value; /* basic: the value; selected: selected_item.key */
    size_t value_len;
    const char *label; /* selected: selected_item.value, NULL when absent */
    size_t label_len;
    bool selected;
    bool blank; /* a basic value of white space only: not given */
} pv_isbank_input;

typedef struct pv_isbank_order {
    int64_t service_id;
    const char *reference;
    char currency[4];
    pv_money amount;
    json_object *flow_id; /* borrowed from the command; NULL when absent */
    pv_isbank_input inputs[2 * ISBANK_INPUTS_MAX];
    size_t ninputs;
} pv_isbank_order;

/* What validation needs to know about one value. */
typedef struct pv_isbank_text {
    bool utf8;    /* valid UTF-8 */
    size_t chars; /* code points (when utf8) */
    bool control; /* holds a control character (NUL included) */
    bool digits;  /* ASCII digits only (and not empty) */
} pv_isbank_text;

/*---- pv_isbank.c: text helpers, the envelope, the headers ----*/

void pv_isbank_path(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool pv_isbank_blank_text(const char *s, size_t len);
/* JSON null, absence and a string of white space only ("\n ") are all "no
 * value" in the bank's documents. */
bool pv_isbank_blank(json_object *v);
/* obj's member key, NULL when it is blank. */
json_object *pv_isbank_value(const json_object *obj, const char *key);
pv_isbank_text pv_isbank_scan(const char *s, size_t len);
/* Text of a string or integer JSON value (codes, keys, ids) into buf. */
int pv_isbank_scalar(json_object *v, const char *path, char *buf, size_t cap, pv_error *err);
/* "a, b, c" from up to n names, cut with "..." when it does not fit. */
void pv_isbank_join(char *buf, size_t cap, const char *const *names, size_t n);
int pv_isbank_expect(json_object *v, json_type type, const char *path, const char *what,
                     pv_error *err);
/* A non-blank string member's text into buf, cut at a character; "" otherwise. */
void pv_isbank_msg(json_object *o, const char *key, char *buf, size_t cap);
/* Reads root.infos (absent = none). An entry without a readable code is an
 * error: the answer cannot be classified. */
int pv_isbank_read_infos(json_object *root, pv_isbank_infos *out, pv_error *err);
/* The headers every API call carries (Content-Type and Accept follow:
 * pv_request_post_json, pv_request_get_json). */
int pv_isbank_headers(const pv_ctx *ctx, pv_request *req, pv_error *err);

/*---- pv_isbank_spec.c: the service object (the PV_CAP_SPEC hooks) ----*/

int pv_isbank_spec_find(const pv_isbank_spec *spec, const char *name);
/* request.service_id: a positive integer. */
int pv_isbank_spec_service_id(json_object *in, int64_t *id, pv_error *err);
int pv_isbank_spec_key(const pv_command *cmd, char *buf, size_t cap, pv_error *err);
int pv_isbank_spec_build_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                 pv_error *err);
void *pv_isbank_spec_parse(int http_status, const char *body, size_t len, pv_error *err);
void pv_isbank_spec_free(void *spec);
/* p as our spec, NULL when it is not one. */
const pv_isbank_spec *pv_isbank_spec_cast(const void *p);
/* Exported for the tests and operator tools: the parsed spec as canonical
 * JSON (they declare it themselves: this header is the adapter's own). */
json_object *pv_isbank_spec_to_json(const void *spec);

/*---- pv_isbank_check.c: a command against the service object ----*/

/* request.payment_reference: 1..ISBANK_REF_MAX visible ASCII characters. */
int pv_isbank_check_reference(json_object *in, const char **out, pv_error *err);
/* The command's own shape into o; the first error under its own code. */
int pv_isbank_check_read_order(const pv_command *cmd, pv_isbank_order *o, pv_error *err);
/* Every rule of the spec; PV_EVALIDATION with the list in err->detail. */
int pv_isbank_check_validate(const pv_isbank_spec *spec, const pv_isbank_order *o, pv_error *err);

#endif
