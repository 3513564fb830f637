/* sc_balance.c -- the BalanceUpdate event (sc_codec.h). */
#include "sc_codec_int.h"

int sc_balance_encode(sc_codec *c, const pv_balance_event *ev, char **out, size_t *out_len,
                      pv_error *err)
{
    if (!c->json_only && sc_out_balance(c, ev, out, out_len))
        return PV_OK;
    const pv_balance *b = ev->balance;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "event_id", json_object_new_string(ev->event_id));
    json_object_object_add(o, "provider", json_object_new_string(ev->provider->name));
    json_object_object_add(o, "account", json_object_new_string(b->account));
    json_object_object_add(o, "currency", json_object_new_string(b->currency));
    json_object_object_add(o, "total", sc_codec_json_money(&b->total));
    json_object_object_add(o, "available", sc_codec_json_money(&b->available));
    json_object_object_add(o, "unavailable", sc_codec_json_money(&b->unavailable));
    json_object *buckets = json_object_new_array();
    for (size_t i = 0; i < b->nbuckets; i++) {
        json_object *bk = json_object_new_object();
        json_object_object_add(bk, "name", json_object_new_string(b->buckets[i].name));
        json_object_object_add(bk, "available", sc_codec_json_money(&b->buckets[i].available));
        json_object_object_add(bk, "unavailable", sc_codec_json_money(&b->buckets[i].unavailable));
        json_object_array_add(buckets, bk);
    }
    json_object_object_add(o, "buckets", buckets);
    json_object *limits = json_object_new_object();
    for (size_t i = 0; i < b->nlimits; i++)
        json_object_object_add(limits, b->limits[i].name,
                               sc_codec_json_money(&b->limits[i].amount));
    json_object_object_add(o, "limits", limits);
    json_object_object_add(o, "observed_at", json_object_new_int64(ev->observed_at_ms));
    json_object_object_add(o, "source_command_id", json_object_new_string(ev->source_command_id));
    json_object_object_add(o, "fence", ev->fence != 0 ? json_object_new_int64(ev->fence) : NULL);
    int rc = sc_codec_encode_json(c, SC_BALANCE, o, NULL, out, out_len, err);
    json_object_put(o);
    return rc;
}
