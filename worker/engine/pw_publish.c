/* pw_publish.c -- a command's events: the result (and balances, and the
 * dead-letter copy) produced to Kafka, delivery reports, deterministic
 * event ids and the request digest (see pw_publish.h). */
#include "pw_publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_json.h"
#include "pv_utf8.h"
#include "pw_alloc.h"
#include "pw_cmd.h"
#include "pw_engine_int.h"
#include "pw_log.h"
#include "sc_codec.h"

static void pw_publish_produce(pw_cmd *c);

/* Every output acknowledged (or given up): the command is done. */
static void pw_publish_check_done(pw_cmd *c)
{
    for (int i = 0; i < c->nout; i++)
        if (!c->out[i].acked)
            return;
    pw_cmd_done(c);
}

static int pw_publish_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FNV-1a over a canonical text of v: object keys sorted, numbers by their
 * original text, so the same parameters give the same digest whatever their
 * order or wire form. */
static uint64_t pw_publish_canon(uint64_t h, json_object *v)
{
    size_t len;
    const char *t;
    switch (json_object_get_type(v)) {
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(v), i = 0;
        const char **keys = pw_alloc_malloc((n > 0 ? n : 1) * sizeof(*keys));
        json_object_object_foreach(v, k, val)
        {
            (void)val;
            keys[i++] = k;
        }
        qsort(keys, n, sizeof(*keys), pw_publish_key_cmp);
        h = pw_engine_fnv(h, "{", 1);
        for (i = 0; i < n; i++) {
            json_object *child = NULL;
            json_object_object_get_ex(v, keys[i], &child);
            if (child == NULL)
                continue; /* null members are absent */
            h = pw_engine_fnv(h, keys[i], strlen(keys[i]) + 1);
            h = pw_publish_canon(h, child);
        }
        free(keys);
        return pw_engine_fnv(h, "}", 1);
    }
    case json_type_array:
        h = pw_engine_fnv(h, "[", 1);
        for (size_t i = 0; i < json_object_array_length(v); i++)
            h = pw_publish_canon(h, json_object_array_get_idx(v, i));
        return pw_engine_fnv(h, "]", 1);
    case json_type_null:
        return pw_engine_fnv(h, "n", 1);
    default:
        t = pv_json_number_text(v, &len);
        if (t == NULL)
            t = json_object_get_string(v), len = strlen(t);
        h = pw_engine_fnv(h, t, len);
        return pw_engine_fnv(h, "", 1);
    }
}

static void pw_publish_hex16(char *buf, size_t cap, uint64_t h)
{
    snprintf(buf, cap, "%016" PRIx64, h);
}

static void pw_publish_event_id(char *buf, size_t cap, const char *command_id, const char *what,
                                int64_t fence)
{
    char f[24];
    uint64_t h = 1469598103934665603ULL;
    h = pw_engine_fnv(h, command_id, strlen(command_id) + 1);
    h = pw_engine_fnv(h, what, strlen(what) + 1);
    snprintf(f, sizeof(f), "%" PRId64, fence);
    h = pw_engine_fnv(h, f, strlen(f));
    snprintf(buf, cap, "ev-%016" PRIx64, h);
}

static void pw_publish_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_publish_produce(arg);
}

void pw_publish_add(pw_cmd *c, const char *topic, const char *key, size_t key_len, char *value,
                    size_t len, int dlq)
{
    pw_output *o = &c->out[c->nout++];
    o->cmd = c;
    o->topic = topic;
    o->key = NULL;
    o->key_len = 0;
    if (key != NULL) {
        o->key = pw_alloc_malloc(key_len > 0 ? key_len : 1);
        if (key_len > 0)
            memcpy(o->key, key, key_len);
        o->key_len = key_len;
    }
    o->value = value; /* owned */
    o->len = len;
    o->dlq = dlq;
}

/* The largest value the producer takes for o: message.max.bytes less room
 * for the key, the headers and the framing. */
static size_t pw_publish_max_value(pw_engine *e, const pw_output *o)
{
    char buf[32];
    size_t sz = sizeof(buf);
    long max = 1000000;
    if (rd_kafka_conf_get(rd_kafka_conf(e->producer), "message.max.bytes", buf, &sz) ==
        RD_KAFKA_CONF_OK)
        max = strtol(buf, NULL, 10);
    size_t room = o->key_len + 2048 + PV_ERR_STR_MAX;
    return (size_t)max > 2 * room ? (size_t)max - room : (size_t)max / 2;
}

/* o is over the producer's (or the broker's) size limit. A DLQ copy is cut
 * to fit, with headers saying so; a result is encoded again without the
 * provider's part (the reason says why); a balance is given up, logged.
 * Returns 1 when o can be sent again. */
static int pw_publish_shrink(pw_cmd *c, pw_output *o, size_t limit)
{
    pw_engine *e = c->e;
    e->m->produce_refused++;
    char was[24];
    snprintf(was, sizeof(was), "%zu", o->len);
    if (o->dlq && limit > 0 && o->len > limit) {
        if (o->orig_len == 0)
            o->orig_len = o->len;
        o->len = limit;
        pw_log(PW_LOG_WARN, "dead-letter copy over the size limit: sent cut, headers say so",
               "topic", o->topic, "command_id", c->cmd.command_id, "bytes", was, NULL);
        return 1;
    }
    if (o == &c->out[0] && !c->lean) {
        char *bytes;
        size_t len;
        c->lean = 1;
        if (pw_publish_encode_result(c, c->status, &bytes, &len) == 0) {
            free(o->value);
            o->value = bytes;
            o->len = len;
            pw_log(PW_LOG_WARN, "result over the size limit: sent without the provider's part",
                   "topic", o->topic, "command_id", c->cmd.command_id, "bytes", was, NULL);
            return 1;
        }
    }
    pw_log(PW_LOG_ERROR, "event over the size limit: not sent", "topic", o->topic, "command_id",
           c->cmd.command_id, "bytes", was, NULL);
    return 0;
}

/* Sends what is not sent yet. A full local queue is tried again shortly; a
 * value over the size limit is made smaller (pw_publish_shrink); any other
 * refusal (an unknown topic, a fatal producer error) is logged and counted
 * once and tried again every second, never silently. */
static void pw_publish_produce(pw_cmd *c)
{
    pw_engine *e = c->e;
    char part[16], off[24], orig[24];
    snprintf(part, sizeof(part), "%" PRId32, c->partition);
    snprintf(off, sizeof(off), "%" PRId64, c->offset);
    for (int i = 0; i < c->nout; i++) {
        pw_output *o = &c->out[i];
        if (o->sent || o->acked)
            continue;
        rd_kafka_headers_t *h = rd_kafka_headers_new(8);
        if (c->traceparent[0] != '\0')
            rd_kafka_header_add(h, "traceparent", -1, c->traceparent, -1);
        rd_kafka_header_add(h, "payw-command-id", -1, c->cmd.command_id, -1);
        if (o->dlq) {
            rd_kafka_header_add(h, "payw-reason", -1, c->reason, -1);
            rd_kafka_header_add(h, "payw-field", -1, c->dlq_field, -1);
            rd_kafka_header_add(h, "payw-source-topic", -1, e->cfg->topic_commands, -1);
            rd_kafka_header_add(h, "payw-source-partition", -1, part, -1);
            rd_kafka_header_add(h, "payw-source-offset", -1, off, -1);
            if (o->orig_len > 0) {
                snprintf(orig, sizeof(orig), "%zu", o->orig_len);
                rd_kafka_header_add(h, "payw-truncated-from", -1, orig, -1);
            }
        }
        rd_kafka_resp_err_t err = rd_kafka_producev(
            e->producer, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(o->key, o->key_len),
            RD_KAFKA_V_VALUE(o->value, o->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(o), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            o->sent = 1;
            continue;
        }
        rd_kafka_headers_destroy(h);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            pw_cmd_after(c, 20, pw_publish_on_retry);
            return;
        }
        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
            if (pw_publish_shrink(c, o, pw_publish_max_value(e, o)))
                i--; /* the same output again, smaller */
            else
                o->acked = 1; /* given up: logged and counted */
            continue;
        }
        if (!o->refused) {
            o->refused = 1;
            e->m->produce_refused++;
            pw_log(PW_LOG_ERROR, "event refused by the producer: trying again every second",
                   "topic", o->topic, "command_id", c->cmd.command_id, "error",
                   rd_kafka_err2str(err), NULL);
        }
        pw_cmd_after(c, 1000, pw_publish_on_retry);
        return;
    }
    pw_publish_check_done(c);
}

/* Delivery report: an output reached the broker (acks=all) or failed. */
void pw_publish_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    pw_engine *e = opaque;
    if (e->closing)
        return; /* pw_engine_free: the commands may already be gone */
    pw_output *o = m->_private;
    pw_cmd *c = o != NULL ? o->cmd : NULL;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        e->m->kafka_produce_errors++;
        pw_log(PW_LOG_WARN, "event delivery failed, sending again", "topic", o->topic, "error",
               rd_kafka_err2str(m->err), NULL);
        o->sent = 0;
        if (m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && !pw_publish_shrink(c, o, o->len / 2))
            o->acked = 1; /* the broker's limit is lower than ours: given up, logged */
        pw_publish_produce(c);
        return;
    }
    o->acked = 1;
    pw_publish_check_done(c);
}

/* Every text of r made UTF-8 in place; how many bytes were replaced. A
 * detail tree that is not UTF-8 throughout (its keys cannot be mended in
 * place) or longer than a string may be is left out (counted as one). */
static size_t pw_publish_fix_result(pv_result *r)
{
    size_t n = pv_utf8_fix(r->provider_code, sizeof(r->provider_code)) +
               pv_utf8_fix(r->provider_message, sizeof(r->provider_message)) +
               pv_utf8_fix(r->error, sizeof(r->error));
    for (size_t i = 0; i < r->nrefs; i++)
        n += pv_utf8_fix(r->refs[i].name, sizeof(r->refs[i].name)) +
             pv_utf8_fix(r->refs[i].value, sizeof(r->refs[i].value));
    for (size_t i = 0; i < r->nbalances; i++) {
        pv_balance *b = &r->balances[i];
        n += pv_utf8_fix(b->account, sizeof(b->account)) +
             pv_utf8_fix(b->currency, sizeof(b->currency));
        for (size_t k = 0; k < b->nlimits; k++)
            n += pv_utf8_fix(b->limits[k].name, sizeof(b->limits[k].name));
        for (size_t k = 0; k < b->nbuckets; k++)
            n += pv_utf8_fix(b->buckets[k].name, sizeof(b->buckets[k].name));
    }
    size_t len;
    const char *d = r->detail != NULL ? pv_json_dump(r->detail, &len) : NULL;
    if (d != NULL && (len > SC_STRING_MAX || !pv_utf8_valid(d, len))) {
        json_object_put(r->detail);
        r->detail = NULL;
        n++;
    }
    return n;
}

static size_t pw_publish_fix_event(pv_result_event *ev)
{
    return pv_utf8_fix(ev->command_id, sizeof(ev->command_id)) +
           pv_utf8_fix(ev->operation, sizeof(ev->operation)) +
           pv_utf8_fix(ev->query_id, sizeof(ev->query_id)) +
           pv_utf8_fix(ev->worker, sizeof(ev->worker)) +
           pv_utf8_fix(ev->reason, sizeof(ev->reason));
}

/* Appends note to the event's reason, cut at a character. */
static void pw_publish_note(pv_result_event *ev, const char *note)
{
    size_t o = strlen(ev->reason);
    snprintf(ev->reason + o, sizeof(ev->reason) - o, "%s%s", o > 0 ? "; " : "", note);
    pv_utf8_fix(ev->reason, sizeof(ev->reason));
}

/* Encodes the result event of c with status into a malloc'd buffer.
 *
 * A command never goes unanswered because its result cannot be encoded
 * (issue 11: one such result stalled its partition for good). Should the
 * codec refuse the event, every text is made UTF-8 and tried again, then
 * the provider's part is left out; the status is never changed (a paid call
 * is still SUCCEEDED), and the reason says what was done. */
int pw_publish_encode_result(pw_cmd *c, pv_status status, char **bytes, size_t *len)
{
    pw_engine *e = c->e;
    pv_result_event ev = {0};
    pv_error err = {0};
    char what[48];
    snprintf(what, sizeof(what), "%s", pv_status_name(status));
    if (status == PV_STATUS_REJECTED && c->raw != NULL) {
        /* two different messages rejected under one command_id (or none)
         * are two events; the same message redelivered is the same one */
        uint64_t h = pw_engine_fnv(1469598103934665603ULL, c->raw, c->raw_len);
        snprintf(what, sizeof(what), "REJECTED:%016" PRIx64, h);
    }
    pw_publish_event_id(ev.event_id, sizeof(ev.event_id), c->cmd.command_id, what, c->fence);
    snprintf(ev.command_id, sizeof(ev.command_id), "%s", c->cmd.command_id);
    ev.provider = c->cmd.provider;
    snprintf(ev.operation, sizeof(ev.operation), "%s", c->cmd.operation);
    snprintf(ev.query_id, sizeof(ev.query_id), "%s", c->query_id);
    ev.status = status;
    ev.result = c->attempts > 0 && !c->lean ? c->res : NULL;
    ev.attempts = c->attempts;
    ev.fence = c->fence;
    snprintf(ev.worker, sizeof(ev.worker), "%s", e->cfg->worker_id);
    ev.processed_at_ms = pw_engine_now_ms();
    snprintf(ev.reason, sizeof(ev.reason), "%s", c->reason);
    ev.field_errors = c->lean ? NULL : c->field_errors;
    if (c->lean)
        pw_publish_note(&ev, "the provider's part and field errors left out: the event was over "
                             "the producer's size limit");
    if (ev.result != NULL && ev.result->text_replaced > 0) {
        char note[128];
        snprintf(note, sizeof(note),
                 "the provider's answer had %zu bytes that were not UTF-8, read as U+FFFD",
                 ev.result->text_replaced);
        pw_publish_note(&ev, note);
    }
    if (sc_result_encode(e->codec, &ev, bytes, len, &err) == PV_OK)
        return 0;
    pw_alloc_oom_check(&err);

    e->m->encode_repairs++;
    char first[PV_ERR_STR_MAX];
    snprintf(first, sizeof(first), "%s", err.errstr);
    pv_error_clear(&err);
    size_t fixed = pw_publish_fix_event(&ev) + (c->res != NULL ? pw_publish_fix_result(c->res) : 0);
    if (ev.field_errors != NULL) {
        size_t fl;
        const char *f = pv_json_dump(ev.field_errors, &fl);
        if (!pv_utf8_valid(f, fl))
            ev.field_errors = NULL;
    }
    char note[PV_ERR_STR_MAX];
    snprintf(note, sizeof(note), "result text repaired (%zu bytes not UTF-8) after: %.200s", fixed,
             first);
    pw_publish_note(&ev, note);
    int rc = sc_result_encode(e->codec, &ev, bytes, len, &err);
    if (rc != PV_OK) {
        pw_log(PW_LOG_ERROR, "result not encodable even repaired: provider part left out",
               "command_id", ev.command_id, "error", err.errstr, NULL);
        pv_error_clear(&err);
        ev.result = NULL;
        ev.field_errors = NULL;
        snprintf(note, sizeof(note), "the provider's part left out: not encodable");
        pw_publish_note(&ev, note);
        rc = sc_result_encode(e->codec, &ev, bytes, len, &err);
    }
    pw_log(rc == PV_OK ? PW_LOG_WARN : PW_LOG_ERROR,
           rc == PV_OK ? "result encoded after repair" : "result not encodable", "command_id",
           ev.command_id, "status", pv_status_name(status), "first_error", first, "error",
           rc == PV_OK ? "" : err.errstr, NULL);
    pv_error_clear(&err);
    return rc == PV_OK ? 0 : -1;
}

static void pw_publish_log(pw_cmd *c)
{
    pw_logline l;
    pw_log_begin(&l, c->status == PV_STATUS_SUCCEEDED ? PW_LOG_INFO : PW_LOG_WARN,
                 "command settled");
    pw_log_str(&l, "provider", c->cmd.provider != NULL ? c->cmd.provider->name : "");
    pw_log_str(&l, "command_id", c->cmd.command_id);
    pw_log_str(&l, "query_id", c->query_id);
    pw_log_int(&l, "partition", c->partition);
    pw_log_int(&l, "offset", c->offset);
    pw_log_str(&l, "status", pv_status_name(c->status));
    pw_log_int(&l, "attempts", c->attempts);
    if (c->res != NULL && c->res->provider_code[0] != '\0')
        pw_log_str(&l, "provider_code", c->res->provider_code);
    if (c->reason[0] != '\0')
        pw_log_str(&l, "reason", c->reason);
    pw_log_end(&l);
}

/* Queues the outputs (the result already in out[0]) and produces them. */
void pw_publish_cmd(pw_cmd *c)
{
    pw_engine *e = c->e;
    int pidx = c->prov != NULL ? c->prov->idx : PW_METRICS_PROVIDERS;
    e->m->commands[pidx][c->status]++;
    if (c->status == PV_STATUS_UNKNOWN)
        e->m->unknowns++;
    if (c->status == PV_STATUS_DUPLICATE)
        e->m->duplicates++;
    if (c->status == PV_STATUS_SUCCEEDED && c->attempts > 0 && c->res != NULL) {
        for (size_t i = 0; i < c->res->nbalances; i++) {
            pv_balance_event bev = {.provider = c->cmd.provider,
                                    .balance = &c->res->balances[i],
                                    .observed_at_ms = pw_engine_now_ms(),
                                    .fence = c->fence};
            char what[PV_ID_MAX + 16], key[PV_ID_MAX + 32];
            char *bytes;
            size_t len;
            pv_error err = {0};
            snprintf(what, sizeof(what), "balance:%s", c->res->balances[i].account);
            pw_publish_event_id(bev.event_id, sizeof(bev.event_id), c->cmd.command_id, what,
                                c->fence);
            snprintf(bev.source_command_id, sizeof(bev.source_command_id), "%s", c->cmd.command_id);
            if (sc_balance_encode(e->codec, &bev, &bytes, &len, &err) == PV_OK) {
                snprintf(key, sizeof(key), "%s:%s", c->cmd.provider->name,
                         c->res->balances[i].account);
                pw_publish_add(c, e->cfg->topic_balances, key, strlen(key), bytes, len, 0);
            }
        }
    }
    pw_publish_log(c);
    pw_cmd_go(c, PW_EV_PUBLISH);
    pw_publish_produce(c);
}

void pw_publish_add_result(pw_cmd *c, char *value, size_t len)
{
    const char *topic = c->e->cfg->topic_results;
    if (c->key[0] != '\0')
        pw_publish_add(c, topic, c->key, strlen(c->key), value, len, 0);
    else if (c->cmd.command_id[0] != '\0')
        pw_publish_add(c, topic, c->cmd.command_id, strlen(c->cmd.command_id), value, len, 0);
    else
        pw_publish_add(c, topic, c->msg_key, c->msg_key_len, value, len, 0);
}

void pw_publish_digest(pw_cmd *c)
{
    uint64_t h = pw_publish_canon(1469598103934665603ULL, c->cmd.request);
    h = pw_engine_fnv(h, c->cmd.provider->name, strlen(c->cmd.provider->name));
    pw_publish_hex16(c->digest, sizeof(c->digest), h);
}
