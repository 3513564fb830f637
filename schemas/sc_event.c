/* sc_event.c -- any event to JSON, for payctl and the tests (sc_codec.h). */
#include "sc_codec_int.h"

#include "pv_json.h"

/*---- Any event to JSON ----*/

int sc_event_to_json(sc_codec *c, sc_kind kind, const void *buf, size_t len, json_object **out,
                     pv_error *err)
{
    const unsigned char *p = buf;
    *out = NULL;
    if (len > SC_MESSAGE_MAX)
        return pv_error_set(err, PV_ETOOBIG, "", "%s: %zu bytes exceeds the %d byte limit",
                            sc_kind_name(kind), len, SC_MESSAGE_MAX);
    if (kind == SC_COMMAND && len > 0 && p[0] == '{')
        return pv_json_parse(buf, len, "JSON command", out, err);
    if (len < 5 || p[0] != 0)
        return pv_error_set(err, PV_EFORMAT, "", "%s: not Confluent-framed Avro (%zu bytes)",
                            sc_kind_name(kind), len);
    return sc_codec_decode_avro(c, kind, p, len, out, NULL, 0, err);
}
