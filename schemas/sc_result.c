/* sc_result.c -- the PaymentResult event (sc_codec.h). */
#include "sc_codec_int.h"

#include "pv_json.h"

static json_object *sc_result_json(const pv_result_event *ev)
{
    const pv_result *r = ev->result;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "event_id", json_object_new_string(ev->event_id));
    json_object_object_add(o, "command_id", json_object_new_string(ev->command_id));
    json_object_object_add(
        o, "provider", ev->provider != NULL ? json_object_new_string(ev->provider->name) : NULL);
    json_object_object_add(o, "operation", json_object_new_string(ev->operation));
    json_object_object_add(o, "query_id", json_object_new_string(ev->query_id));
    json_object_object_add(o, "status", json_object_new_string(pv_status_name(ev->status)));
    json_object *refs = json_object_new_object();
    if (r != NULL) {
        json_object_object_add(o, "provider_code", sc_codec_json_str_or_null(r->provider_code));
        json_object_object_add(o, "provider_message",
                               sc_codec_json_str_or_null(r->provider_message));
        for (size_t i = 0; i < r->nrefs; i++)
            json_object_object_add(refs, r->refs[i].name, json_object_new_string(r->refs[i].value));
        json_object_object_add(o, "paid", sc_codec_json_money(&r->paid));
        json_object_object_add(o, "fee", sc_codec_json_money(&r->fee));
        json_object_object_add(o, "charged", sc_codec_json_money(&r->charged));
        json_object_object_add(o, "paid_at",
                               r->paid_at_ms != 0 ? json_object_new_int64(r->paid_at_ms) : NULL);
        if (r->detail != NULL)
            json_object_object_add(o, "detail_json",
                                   json_object_new_string(pv_json_dump(r->detail, NULL)));
    }
    json_object_object_add(o, "references", refs);
    json_object_object_add(o, "attempts", json_object_new_int64(ev->attempts));
    json_object_object_add(o, "fence", ev->fence != 0 ? json_object_new_int64(ev->fence) : NULL);
    json_object_object_add(o, "worker", json_object_new_string(ev->worker));
    json_object_object_add(o, "processed_at", json_object_new_int64(ev->processed_at_ms));
    json_object_object_add(o, "reason", sc_codec_json_str_or_null(ev->reason));
    if (ev->field_errors != NULL)
        json_object_object_add(o, "field_errors", json_object_get(ev->field_errors));
    return o;
}

int sc_result_encode(sc_codec *c, const pv_result_event *ev, char **out, size_t *out_len,
                     pv_error *err)
{
    if (!c->json_only && sc_out_result(c, ev, out, out_len))
        return PV_OK;
    json_object *j = sc_result_json(ev);
    int rc = sc_codec_encode_json(c, SC_RESULT, j, NULL, out, out_len, err);
    json_object_put(j);
    return rc;
}
