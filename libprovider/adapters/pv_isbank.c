/* pv_isbank.c -- Türkiye İş Bankası bill payment / donation services (seed 003,
 * PROVIDERS.md "İş Bankası bill payments").
 *
 * DESIGN
 * The operation validates a command against the bank's service object, then
 * pays: POST /api/isbank/v1/bill-payments. Every call carries the IBM API
 * Connect headers X-IBM-client-id / X-IBM-client-secret (settings) and
 * `Authorization: Bearer <token>`; the worker fetches and caches the token
 * with the token hooks (PV_CAP_OAUTH) and the service object with the spec
 * hooks (PV_CAP_SPEC), and hands both in through pv_ctx.
 *
 * The command (DESIGN.md §5: the bank's own vocabulary) is
 *   {"service_id": 10065, "payment_reference": "R-1", "amount": 265,
 *    "currency_code": "EUR", "query_flow_id": "…" (optional),
 *    "basic_input_values": [{"name": "SubscriberName", "value": "…"}],
 *    "selected_input_values": [{"name": "OnBehalfOf",
 *                               "selected_item": {"key": "K", "value": "…"}}]}
 * and the body sent is the same object: service_id (integer),
 * query_flow_id (as given, only when given and not blank),
 * payment_reference, basic_input_values (blank values dropped),
 * selected_input_values (selected_item.value set to the spec's label of the
 * key), amount (exact decimal with the currency's digits: 265 EUR is sent as
 * 265.00, never through a double) and currency_code. The seed documents
 * this vocabulary for bill-payment-queries (PROVIDERS.md) but not the body
 * of bill-payments: ours mirrors the queries' shape. payment_reference is
 * our own reference of the payment and the lock key: 1..64 visible ASCII
 * characters (0x21-0x7e), no blanks, because a key the bank might trim or
 * fold would let two of our keys pay once each; the bound is ours, the bank's
 * is not in the seed.
 *
 * The service object and how it is read: pv_isbank_spec.c. Validation of a
 * command against it: pv_isbank_check.c. What the three files share:
 * pv_isbank_int.h.
 *
 * The answer is the envelope {data, infos: [{code, message,
 * message_for_customer}]}; code "0" is OK. Classification:
 *   status        envelope                              outcome
 *   401, 403      any                                   FATAL (credentials)
 *   408/425/429   any                                   RETRY (gateway throttled it)
 *   2xx           no infos or all "0", data.payment_id  SUCCEEDED
 *   2xx           no infos or all "0", no payment_id    UNKNOWN (no proof of payment)
 *   2xx, 4xx      an info code other than "0"           DECLINED (the bank refused)
 *   2xx, 4xx      such a code AND data.payment_id       UNKNOWN (contradiction)
 *   5xx           infos or data present                 UNKNOWN (the bank was at work)
 *   other         no usable envelope                    pv_classify_http_default
 *   2xx           unreadable                            UNKNOWN
 * The seed documents no code but "0", so every other code is taken as the
 * bank's refusal because it arrives without a payment_id: the envelope puts
 * failures in infos, and a payment that went through carries its id. (The
 * risk: an undocumented code meaning "already paid under this reference"
 * would read as DECLINED; add it here as UNKNOWN or SUCCEEDED once known.)
 * The first non-"0" info (else the first info) gives provider_code /
 * provider_message (its message, not the customer's); its
 * message_for_customer and every info go in the detail. Answers of the
 * API Connect gateway itself ({httpCode, httpMessage, moreInformation}) have
 * no envelope; their code and text are kept as provider code / message.
 * On success: refs payment_id; paid = data.amount in data.currency_code (the
 * command's currency when absent; exact text kept); paid_at =
 * execution_date (ISO 8601 with offset); detail keeps overdraft_amount (exact
 * text, checked as an amount of overdraft_currency_code),
 * overdraft_currency_code and sos_used. A success whose details cannot all
 * be read stays SUCCEEDED here with res->error naming the field (the money
 * moved); pv_provider_parse_response then makes it UNKNOWN, because we do
 * not know what was paid. No status inquiry exists for bill
 * payments (no PV_CAP_INQUIRY): an UNKNOWN here stays UNKNOWN in Redis and
 * needs an operator (payctl resolve) who asks the bank.
 *
 * Token: POST <token_path> (default /api/isbank/v1/oauth2/token; public
 * integrations show product-specific paths such as
 * /api/isbank/v1/identity-provider/oauth2/token, hence a setting; a missing
 * leading '/' is added), form
 * grant_type=client_credentials&client_id&client_secret[&scope] with the
 * X-IBM headers too (API Connect checks the client id on every path); scope is
 * sent only when configured (RFC 6749 §3.3 lets the server apply the
 * client's default scope). The answer's access_token and expires_in are
 * read; expires_in absent = 0 (unknown: the worker applies its own default).
 * Neither the token nor the secret ever appears in an error message.
 *
 * Errors of the spec and token hooks: 401/403 (and a token endpoint's 400,
 * RFC 6749 §5.2 invalid_client / invalid_scope) → PV_ECONFIG (credentials:
 * stop and alert); any other non-2xx → PV_ERANGE on field "http_status" (the
 * fetch moves no money: the worker may try it again later); a 2xx service
 * object whose infos carry an error → PV_EUNSUPPORTED. The bank's code and
 * message are quoted in the error when the body has them.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pv_isbank_int.h"
#include "pv_time.h"
#include "pv_utf8.h"

/*---- Settings ----*/

enum { ISBANK_CLIENT_ID, ISBANK_CLIENT_SECRET, ISBANK_TOKEN_PATH, ISBANK_SCOPE };

static const pv_setting pv_isbank_settings[] = {
    [ISBANK_CLIENT_ID] = {.name = "client_id",
                          .required = true,
                          .doc = "IBM API Connect client id: X-IBM-client-id header and OAuth "
                                 "client_id"},
    [ISBANK_CLIENT_SECRET] = {.name = "client_secret",
                              .secret = true,
                              .required = true,
                              .doc = "IBM API Connect client secret: X-IBM-client-secret header "
                                     "and OAuth client_secret"},
    [ISBANK_TOKEN_PATH] = {.name = "token_path",
                           .default_value = "/api/isbank/v1/oauth2/token",
                           .doc = "path of the OAuth2 token endpoint (client credentials)"},
    [ISBANK_SCOPE] = {.name = "scope",
                      .doc = "OAuth2 scope to ask for (space-separated); unset sends none and "
                             "the bank applies the application's default scope"},
    {.name = NULL},
};

/*---- Text helpers ----*/

void pv_isbank_path(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static bool pv_isbank_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool pv_isbank_blank_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!pv_isbank_space(s[i]))
            return false;
    return true;
}

/* JSON null, absence and a string of white space only ("\n ") are all "no
 * value" in the bank's documents. */
bool pv_isbank_blank(json_object *v)
{
    if (v == NULL)
        return true;
    if (!json_object_is_type(v, json_type_string))
        return false;
    return pv_isbank_blank_text(json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

json_object *pv_isbank_value(const json_object *obj, const char *key)
{
    json_object *v = pv_json_member(obj, key);
    return pv_isbank_blank(v) ? NULL : v;
}

pv_isbank_text pv_isbank_scan(const char *s, size_t len)
{
    pv_isbank_text t = {.utf8 = true, .digits = len > 0};
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = pv_utf8_next(u + i, len - i, &cp);
        if (n == 0) {
            t.utf8 = false;
            t.digits = false;
            return t;
        }
        if (pv_utf8_control(cp))
            t.control = true;
        if (cp < '0' || cp > '9')
            t.digits = false;
        t.chars++;
        i += n;
    }
    return t;
}

/* Text of a string or integer JSON value (codes, keys, ids) into buf. */
int pv_isbank_scalar(json_object *v, const char *path, char *buf, size_t cap, pv_error *err)
{
    char d[128];
    size_t len = 0;
    const char *t = NULL;

    if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))
        t = pv_json_number_text(v, &len);
    if (t == NULL) {
        pv_json_describe(v, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, path, "%s: expected a string or an integer, got %s",
                            path, d);
    }
    pv_json_describe(v, d, sizeof(d));
    if (len >= cap)
        return pv_error_set(err, PV_ETOOBIG, path, "%s: %s is %zu bytes long, the limit is %zu",
                            path, d, len, cap - 1);
    pv_isbank_text s = pv_isbank_scan(t, len);
    if (!s.utf8 || s.control || pv_isbank_blank_text(t, len))
        return pv_error_set(err, PV_EFORMAT, path,
                            "%s: %s must be printable text that is not blank", path, d);
    memcpy(buf, t, len);
    buf[len] = '\0';
    return PV_OK;
}

/* "a, b, c" from up to n names, cut with "..." when it does not fit. */
void pv_isbank_join(char *buf, size_t cap, const char *const *names, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (o + len + 2 + 4 >= cap) {
            snprintf(buf + o, cap - o, "...");
            return;
        }
        if (i > 0) {
            memcpy(buf + o, ", ", 2);
            o += 2;
        }
        memcpy(buf + o, names[i], len);
        o += len;
        buf[o] = '\0';
    }
}

int pv_isbank_expect(json_object *v, json_type type, const char *path, const char *what,
                     pv_error *err)
{
    char d[128];
    if (json_object_is_type(v, type))
        return PV_OK;
    pv_json_describe(v, d, sizeof(d));
    return pv_error_set(err, PV_ETYPE, path, "%s: expected %s, got %s", path, what, d);
}

/*---- The envelope's infos (spec, payment) ----*/

void pv_isbank_msg(json_object *o, const char *key, char *buf, size_t cap)
{
    json_object *v = pv_json_member(o, key);
    buf[0] = '\0';
    if (v != NULL && json_object_is_type(v, json_type_string) && !pv_isbank_blank(v))
        pv_utf8_copy(buf, cap, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* Reads root.infos (absent = none). An entry without a readable code is an
 * error: the answer cannot be classified. */
int pv_isbank_read_infos(json_object *root, pv_isbank_infos *out, pv_error *err)
{
    char p[PV_ERR_FIELD_MAX];
    memset(out, 0, sizeof(*out));
    json_object *infos = pv_json_member(root, "infos");
    if (infos == NULL)
        return PV_OK;
    int rc = pv_isbank_expect(infos, json_type_array, "infos", "an array", err);
    if (rc != PV_OK)
        return rc;
    for (size_t i = 0; i < json_object_array_length(infos); i++) {
        pv_isbank_info info;
        json_object *io = json_object_array_get_idx(infos, i);
        pv_isbank_path(p, sizeof(p), "infos[%zu]", i);
        rc = pv_isbank_expect(io, json_type_object, p, "an object", err);
        if (rc != PV_OK)
            return rc;
        pv_isbank_path(p, sizeof(p), "infos[%zu].code", i);
        json_object *code = pv_isbank_value(io, "code");
        if (code == NULL)
            return pv_error_set(err, PV_EMISSING, p, "%s: required field is missing", p);
        rc = pv_isbank_scalar(code, p, info.code, sizeof(info.code), err);
        if (rc != PV_OK)
            return rc;
        pv_isbank_msg(io, "message", info.message, sizeof(info.message));
        pv_isbank_msg(io, "message_for_customer", info.customer, sizeof(info.customer));
        bool bad = strcmp(info.code, "0") != 0;
        if (out->n == 0 || (bad && !out->refused))
            out->first = info;
        if (bad)
            out->refused = true;
        out->n++;
        if (i < ISBANK_INFOS_MAX) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "code", json_object_new_string(info.code));
            json_object_object_add(e, "message", json_object_new_string(info.message));
            json_object_object_add(e, "message_for_customer",
                                   json_object_new_string(info.customer));
            if (out->list == NULL)
                out->list = json_object_new_array();
            json_object_array_add(out->list, e);
        }
    }
    return PV_OK;
}

/* Code and text of an API Connect gateway answer, which has no envelope. */
static void pv_isbank_gateway_error(json_object *root, pv_result *res)
{
    char code[PV_CODE_MAX], msg[PV_MSG_MAX];
    pv_error ignored = {0};
    json_object *hc = pv_json_member(root, "httpCode");
    if (hc == NULL || pv_isbank_scalar(hc, "httpCode", code, sizeof(code), &ignored) != PV_OK)
        return;
    pv_isbank_msg(root, "moreInformation", msg, sizeof(msg));
    if (msg[0] == '\0')
        pv_isbank_msg(root, "httpMessage", msg, sizeof(msg));
    pv_result_set_code(res, code, msg);
}

/* The headers every API call carries. */
int pv_isbank_headers(const pv_ctx *ctx, pv_request *req, pv_error *err)
{
    char auth[PV_TOKEN_MAX + 16];
    if (ctx == NULL || ctx->token == NULL || ctx->token[0] == '\0')
        return pv_error_set(err, PV_ECONFIG, "Authorization",
                            "Authorization: no bearer token (the worker fetches it with the "
                            "token hooks)");
    if (strlen(ctx->token) >= PV_TOKEN_MAX)
        return pv_error_set(err, PV_ECONFIG, "Authorization",
                            "Authorization: the bearer token is longer than %d bytes",
                            PV_TOKEN_MAX - 1);
    snprintf(auth, sizeof(auth), "Bearer %s", ctx->token);
    int rc = pv_request_add_header(req, "X-IBM-client-id",
                                   pv_provider_setting(&pv_isbank, ctx, ISBANK_CLIENT_ID), err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "X-IBM-client-secret",
                                   pv_provider_setting(&pv_isbank, ctx, ISBANK_CLIENT_SECRET), err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "Authorization", auth, err);
    return rc;
}

/*---- Payment: the lock key ----*/

static int pv_isbank_query_id(const pv_command *cmd, char *buf, size_t cap, pv_error *err)
{
    json_object *in;
    const char *ref;
    int rc = pv_command_request(cmd, &in, err);
    if (rc == PV_OK)
        rc = pv_isbank_check_reference(in, &ref, err);
    if (rc != PV_OK)
        return rc;
    if (strlen(ref) >= cap)
        return pv_error_set(err, PV_ETOOBIG, "request.payment_reference",
                            "request.payment_reference: does not fit the key buffer (%zu bytes)",
                            cap);
    snprintf(buf, cap, "%s", ref);
    return PV_OK;
}

/*---- Payment request ----*/

static json_object *pv_isbank_body(const pv_isbank_spec *spec, const pv_isbank_order *o)
{
    json_object *body = json_object_new_object();
    json_object *basic = json_object_new_array();
    json_object *selected = json_object_new_array();

    json_object_object_add(body, "service_id", json_object_new_int64(o->service_id));
    if (o->flow_id != NULL)
        json_object_object_add(body, "query_flow_id", json_object_get(o->flow_id));
    json_object_object_add(body, "payment_reference", json_object_new_string(o->reference));
    for (size_t i = 0; i < o->ninputs; i++) {
        const pv_isbank_input *inp = &o->inputs[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(inp->name));
        if (!inp->selected) {
            if (inp->blank) {
                json_object_put(e);
                continue; /* a blank optional value is not sent */
            }
            json_object_object_add(e, "value",
                                   json_object_new_string_len(inp->value, (int)inp->value_len));
            json_object_array_add(basic, e);
            continue;
        }
        /* the spec's label of the key (validation made sure they agree) */
        const pv_isbank_field *f = &spec->fields[pv_isbank_spec_find(spec, inp->name)];
        const char *label = "";
        size_t label_len = 0;
        for (size_t k = f->item0; k < f->item0 + f->nitems; k++)
            if (strlen(spec->items[k].key) == inp->value_len &&
                memcmp(spec->items[k].key, inp->value, inp->value_len) == 0) {
                label = spec->items[k].label;
                label_len = strlen(label);
            }
        if (label_len == 0 && inp->label != NULL) {
            label = inp->label;
            label_len = inp->label_len;
        }
        json_object *si = json_object_new_object();
        json_object_object_add(si, "key",
                               json_object_new_string_len(inp->value, (int)inp->value_len));
        json_object_object_add(si, "value", json_object_new_string_len(label, (int)label_len));
        json_object_object_add(e, "selected_item", si);
        json_object_array_add(selected, e);
    }
    json_object_object_add(body, "basic_input_values", basic);
    json_object_object_add(body, "selected_input_values", selected);
    json_object_object_add(body, "amount", pv_json_new_money(&o->amount));
    json_object_object_add(body, "currency_code", json_object_new_string(o->currency));
    return body;
}

static int pv_isbank_build_request(const pv_command *cmd, const pv_ctx *ctx, pv_request *req,
                                   pv_error *err)
{
    pv_isbank_order o;
    pv_request_init(req);

    const pv_isbank_spec *spec = pv_isbank_spec_cast(ctx != NULL ? ctx->spec : NULL);
    if (spec == NULL)
        return pv_error_set(err, PV_ECONFIG, "spec",
                            "spec: no İş Bankası service object was given to validate against");
    if (ctx->token == NULL || ctx->token[0] == '\0')
        return pv_error_set(err, PV_ECONFIG, "Authorization",
                            "Authorization: no bearer token (the worker fetches it with the "
                            "token hooks)");
    int rc = pv_isbank_check_read_order(cmd, &o, err);
    if (rc != PV_OK)
        return rc;
    if (spec->service_id != 0 && spec->service_id != o.service_id)
        return pv_error_set(err, PV_ECONFIG, "spec",
                            "spec: the service object of service %" PRId64
                            " was given for request.service_id %" PRId64,
                            spec->service_id, o.service_id);
    rc = pv_isbank_check_validate(spec, &o, err);
    if (rc != PV_OK)
        return rc;

    rc = pv_isbank_headers(ctx, req, err);
    return pv_request_post_json(req, rc, ISBANK_API "/bill-payments", pv_isbank_body(spec, &o),
                                err);
}

/*---- Payment answer ----*/

static void pv_isbank_note(pv_result *res, const pv_error *err)
{
    if (res->error[0] == '\0')
        snprintf(res->error, sizeof(res->error), "%s", err->errstr);
}

/* What a successful answer says beyond the payment id; a value it cannot
 * read is noted in res->error and the rest still read. */
static void pv_isbank_details(const pv_command *cmd, json_object *data, json_object *detail,
                              pv_result *res)
{
    char cur[4] = "", when[64], ocur[4] = "";
    pv_error err = {0};
    bool present = false;

    if (pv_json_string(data, "currency_code", "data.currency_code", false, cur, sizeof(cur),
                       &present, &err) != PV_OK) {
        pv_isbank_note(res, &err);
        present = false;
    }
    if (!present || cur[0] == '\0') {
        pv_error ignored = {0};
        cur[0] = '\0';
        pv_json_string(cmd->request, "currency_code", "request.currency_code", false, cur,
                       sizeof(cur), NULL, &ignored);
    }
    if (pv_json_member(data, "amount") != NULL &&
        pv_json_money(data, "amount", "data.amount", false, cur, &res->paid, &err) != PV_OK)
        pv_isbank_note(res, &err);

    if (pv_json_string(data, "execution_date", "data.execution_date", false, when, sizeof(when),
                       &present, &err) != PV_OK ||
        (present &&
         pv_time_parse_iso8601(when, "data.execution_date", &res->paid_at_ms, &err) != PV_OK))
        pv_isbank_note(res, &err);

    if (pv_json_string(data, "overdraft_currency_code", "data.overdraft_currency_code", false, ocur,
                       sizeof(ocur), &present, &err) != PV_OK)
        pv_isbank_note(res, &err);
    else if (present)
        json_object_object_add(detail, "overdraft_currency_code", json_object_new_string(ocur));

    json_object *od = pv_json_member(data, "overdraft_amount");
    if (od != NULL) {
        pv_money m;
        if (pv_json_value_money(od, "data.overdraft_amount", ocur, &m, &err) != PV_OK) {
            pv_isbank_note(res, &err);
        } else if (json_object_is_type(od, json_type_string)) {
            json_object_object_add(detail, "overdraft_amount", json_object_get(od));
        } else {
            size_t len;
            const char *t = pv_json_number_text(od, &len);
            json_object_object_add(detail, "overdraft_amount", pv_json_new_number_text(t));
        }
    }
    bool sos;
    if (pv_json_bool(data, "sos_used", "data.sos_used", false, &sos, &present, &err) != PV_OK)
        pv_isbank_note(res, &err);
    else if (present)
        json_object_object_add(detail, "sos_used", json_object_new_boolean(sos));
}

static void pv_isbank_parse_response(const pv_command *cmd, int http_status, const char *body,
                                     size_t len, pv_result *res)
{
    json_object *root = NULL, *detail = json_object_new_object();
    pv_isbank_infos infos = {0};
    pv_error err = {0};
    char pid[PV_ID_MAX] = "";
    bool ok2xx = http_status >= 200 && http_status < 300;

    res->http_status = http_status;
    int rc = pv_json_parse(body, len, "İş Bankası payment answer", &root, &err);
    if (rc == PV_OK)
        rc = pv_isbank_expect(root, json_type_object, "", "an object", &err);
    if (rc == PV_OK)
        rc = pv_isbank_read_infos(root, &infos, &err);
    json_object *data = rc == PV_OK ? pv_json_member(root, "data") : NULL;
    if (rc == PV_OK && data != NULL && !json_object_is_type(data, json_type_object))
        rc = pv_isbank_expect(data, json_type_object, "data", "an object", &err);
    if (rc != PV_OK) {
        /* no usable envelope: the status decides; a 2xx we cannot read on
         * a payment may have paid */
        if (root != NULL && json_object_is_type(root, json_type_object))
            pv_isbank_gateway_error(root, res);
        pv_result_fail(
            res, ok2xx ? PV_OUTCOME_UNKNOWN : pv_classify_http_default(&pv_isbank, http_status),
            &err);
        goto out;
    }

    if (infos.n > 0) {
        pv_result_set_code(res, infos.first.code, infos.first.message);
        if (infos.first.customer[0] != '\0')
            json_object_object_add(detail, "message_for_customer",
                                   json_object_new_string(infos.first.customer));
        json_object_object_add(detail, "infos", infos.list);
        infos.list = NULL;
    } else {
        pv_isbank_gateway_error(root, res);
    }
    bool envelope = infos.n > 0 || data != NULL;
    switch (http_status) {
    case 401:
    case 403:
    case 408:
    case 425:
    case 429:
        res->outcome = pv_classify_http_default(&pv_isbank, http_status);
        goto out;
    default:
        break;
    }
    if (http_status >= 500 && http_status < 600 && envelope) {
        res->outcome = PV_OUTCOME_UNKNOWN; /* the bank was at work on it */
        goto out;
    }
    if (!ok2xx && !(http_status >= 400 && http_status < 500)) {
        res->outcome = pv_classify_http_default(&pv_isbank, http_status);
        goto out;
    }
    json_object *idv = pv_isbank_value(data, "payment_id");
    if (idv != NULL && pv_isbank_scalar(idv, "data.payment_id", pid, sizeof(pid), &err) != PV_OK) {
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    if (infos.refused) {
        if (pid[0] != '\0') {
            pv_error_set(&err, PV_EFORMAT, "infos",
                         "infos: code \"%s\" contradicts data.payment_id \"%s\"", infos.first.code,
                         pid);
            pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
            goto out;
        }
        res->outcome = PV_OUTCOME_DECLINED;
        goto out;
    }
    if (!ok2xx) {
        res->outcome = pv_classify_http_default(&pv_isbank, http_status);
        goto out;
    }
    if (pid[0] == '\0') {
        pv_error_set(&err, PV_EMISSING, "data.payment_id",
                     "data.payment_id: missing from a success answer: no proof of payment");
        pv_result_fail(res, PV_OUTCOME_UNKNOWN, &err);
        goto out;
    }
    res->outcome = PV_OUTCOME_SUCCEEDED;
    pv_result_add_ref(res, "payment_id", pid);
    pv_isbank_details(cmd, data, detail, res);

out:
    if (json_object_object_length(detail) > 0) {
        json_object_put(res->detail);
        res->detail = detail;
    } else {
        json_object_put(detail);
    }
    json_object_put(infos.list);
    pv_error_clear(&err);
    json_object_put(root);
}

/*---- Token hooks ----*/

static int pv_isbank_build_token_request(const pv_ctx *ctx, pv_request *req, pv_error *err)
{
    const char *id = pv_provider_setting(&pv_isbank, ctx, ISBANK_CLIENT_ID);
    const char *secret = pv_provider_setting(&pv_isbank, ctx, ISBANK_CLIENT_SECRET);
    const char *path = pv_provider_setting(&pv_isbank, ctx, ISBANK_TOKEN_PATH);
    char q[ISBANK_QUOTE_MAX], abs[PV_PATH_MAX];

    pv_request_init(req);
    size_t plen = path != NULL ? strlen(path) : 0;
    if (path == NULL || plen == 0 || plen + 1 >= PV_PATH_MAX ||
        strpbrk(path, " \t\r\n?#") != NULL) {
        pv_utf8_quote(q, sizeof(q), path != NULL ? path : "", plen);
        return pv_error_set(err, PV_ECONFIG, "token_path",
                            "token_path: \"%s\" must be a path of the API host (no blanks, "
                            "query or fragment)",
                            q);
    }
    /* "api/isbank/v1/oauth2/token" means the same path: the request's is absolute */
    snprintf(abs, sizeof(abs), "%s%s", path[0] == '/' ? "" : "/", path);
    int rc = pv_oauth_token_request(req, abs, id, secret,
                                    pv_provider_setting(&pv_isbank, ctx, ISBANK_SCOPE), err);
    /* API Connect checks the client id on every path, the token one too */
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "X-IBM-client-id", id, err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "X-IBM-client-secret", secret, err);
    if (rc != PV_OK)
        pv_request_clear(req);
    return rc;
}

static int pv_isbank_parse_token(int http_status, const char *body, size_t len, pv_token *tok,
                                 pv_error *err)
{
    /* expires_in absent: 0, the worker applies its own lifetime */
    return pv_oauth_parse_token("İş Bankası token endpoint", http_status, body, len, 0, tok, err);
}

const pv_provider pv_isbank = {
    .name = "ISBANK",
    .operation = "bill-payments",
    .query_id_field = "payment_reference",
    .caps = PV_CAP_OAUTH | PV_CAP_SPEC,
    .settings = pv_isbank_settings,
    .query_id = pv_isbank_query_id,
    .build_request = pv_isbank_build_request,
    .parse_response = pv_isbank_parse_response,
    .build_token_request = pv_isbank_build_token_request,
    .parse_token = pv_isbank_parse_token,
    .spec_key = pv_isbank_spec_key,
    .build_spec_request = pv_isbank_spec_build_request,
    .parse_spec = pv_isbank_spec_parse,
    .free_spec = pv_isbank_spec_free,
};
