/* ps_isbank.c -- İş Bankası (seed 003): the API Connect gateway, oauth2/token, the
 * service object and bill-payments, checked against the service object. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*---- İş Bankası (seed 003) ----*/

/* API Connect's own refusal (no envelope). */
static void ps_isbank_gateway_error(ps_call *c, const char *more)
{
    ps_jw w;
    ps_call_refuse(c, 401, PS_ST_AUTH, &w);
    ps_jw_kstr(&w, "httpCode", "401");
    ps_jw_kstr(&w, "httpMessage", "Unauthorized");
    ps_jw_kstr(&w, "moreInformation", more);
    ps_jw_end(&w);
}

static bool ps_isbank_gateway(ps_call *c)
{
    const ps_config *cfg = &c->sim->cfg;
    if (ps_call_header_is(c, "X-IBM-client-id", cfg->isbank_client_id) &&
        ps_call_header_is(c, "X-IBM-client-secret", cfg->isbank_client_secret))
        return true;
    ps_isbank_gateway_error(c, "Invalid client id or secret.");
    return false;
}

static bool ps_isbank_bearer(ps_call *c)
{
    if (ps_oauth_token_check(c->sim, PS_ISBANK, ps_call_in_header(c, "Authorization")))
        return true;
    ps_isbank_gateway_error(c, "Cannot pass the security checks that are required by the target "
                               "API or operation, Enable debug headers for more details.");
    return false;
}

void ps_isbank_token(ps_call *c)
{
    if (ps_isbank_gateway(c))
        ps_oauth_token(c, c->sim->cfg.isbank_client_id, c->sim->cfg.isbank_client_secret, NULL);
}

/* The infos of a refusal, collected before answering. */
typedef struct ps_infos {
    size_t n, more;
    const char *code[PS_INFOS_MAX];
    char msg[PS_INFOS_MAX][256];
} ps_infos;

static void ps_isbank_infos_add(ps_infos *in, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ps_isbank_infos_add(ps_infos *in, const char *code, const char *fmt, ...)
{
    if (in->n == PS_INFOS_MAX) {
        in->more++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    ps_fmt_vmsg(in->msg[in->n], sizeof(in->msg[in->n]), fmt, ap);
    va_end(ap);
    in->code[in->n++] = code;
}

/* {data: null, infos: [{code, message, message_for_customer}]} */
static void ps_isbank_refuse(ps_call *c, int http, const ps_infos *in)
{
    ps_jw w;
    ps_call_refuse(c, http, http == 400 ? PS_ST_BAD : PS_ST_DECLINES, &w);
    ps_jw_knull(&w, "data");
    ps_jw_key(&w, "infos");
    ps_jw_arr(&w);
    for (size_t i = 0; i < in->n; i++) {
        ps_jw_obj(&w);
        ps_jw_kstr(&w, "code", in->code[i]);
        ps_jw_kstr(&w, "message", in->msg[i]);
        ps_jw_kstr(&w, "message_for_customer",
                   strcmp(in->code[i], "2010") == 0
                       ? "Bu ödeme daha önce gerçekleştirilmiştir."
                       : "İşleminiz gerçekleştirilemedi. Lütfen bilgilerinizi kontrol ediniz.");
        ps_jw_end(&w);
    }
    if (in->more > 0) {
        ps_jw_obj(&w);
        ps_jw_kstr(&w, "code", in->code[0]);
        char t[64];
        snprintf(t, sizeof(t), "%zu more errors", in->more);
        ps_jw_kstr(&w, "message", t);
        ps_jw_kstr(&w, "message_for_customer", "");
        ps_jw_end(&w);
    }
    ps_jw_end_arr(&w);
    ps_jw_end(&w);
}

static void ps_isbank_refuse1(ps_call *c, int http, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ps_isbank_refuse1(ps_call *c, int http, const char *code, const char *fmt, ...)
{
    ps_infos in = {0};
    va_list ap;
    va_start(ap, fmt);
    ps_fmt_vmsg(in.msg[0], sizeof(in.msg[0]), fmt, ap);
    va_end(ap);
    in.code[0] = code;
    in.n = 1;
    ps_isbank_refuse(c, http, &in);
}

void ps_isbank_service(ps_call *c)
{
    ps_sim *sim = c->sim;
    if (!ps_isbank_gateway(c) || !ps_isbank_bearer(c))
        return;
    const char *uri = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(c->req));
    const char *id = uri + strlen(PS_ISBANK_API "/bill-institution-services/");
    char want[24], q[96];
    snprintf(want, sizeof(want), "%" PRId64, sim->isbank_service_id);
    if (strcmp(id, want) != 0) {
        pv_utf8_quote(q, sizeof(q), id, strlen(id));
        ps_isbank_refuse1(c, 404, "2003", "service_id \"%s\" not found", q);
        return;
    }
    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_buf_add(&sim->out, sim->isbank_raw, sim->isbank_raw_len);
}

/* One input value of the payment: a basic value or a selected key. */
typedef struct ps_isb_input {
    const char *name, *value;
    size_t value_len;
    bool selected, used;
} ps_isb_input;

typedef struct ps_isb_check {
    ps_isb_input in[PS_INPUTS_MAX];
    size_t n;
    ps_infos infos;
} ps_isb_check;

static bool ps_isbank_truthy(json_object *v)
{
    if (v == NULL)
        return false;
    if (json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v);
    return json_object_is_type(v, json_type_string) &&
           strcasecmp(json_object_get_string(v), "true") == 0;
}

/* A length bound: an integer or a string of digits; absent = no bound. */
static bool ps_isbank_bound(json_object *pl, const char *key, int64_t *out)
{
    char t[24];
    json_object *v = pl != NULL ? pv_json_member(pl, key) : NULL;
    if (!ps_call_json_text(v, t, sizeof(t)) || t[0] == '\0' || strspn(t, "0123456789") != strlen(t))
        return false;
    return pv_money_parse_int64(t, strlen(t), out) == PV_OK;
}

static bool ps_isbank_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
            return false;
    return true;
}

static const char *ps_isbank_name(json_object *field)
{
    json_object *v = pv_json_member(field, "name");
    if (v == NULL || !json_object_is_type(v, json_type_string) ||
        ps_isbank_blank(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
        return NULL;
    return json_object_get_string(v);
}

static ps_isb_input *ps_isbank_find(ps_isb_check *k, const char *name)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->in[i].name, name) == 0)
            return &k->in[i];
    return NULL;
}

/* Checks one named (non-group) field of the service object. */
static void ps_isbank_check_field(ps_isb_check *k, json_object *f, const char *name)
{
    char q[96];
    ps_isb_input *in = ps_isbank_find(k, name);
    if (in != NULL)
        in->used = true;
    json_object *items = pv_json_member(f, "items");
    size_t nitems = 0;
    if (items != NULL && json_object_is_type(items, json_type_array))
        for (size_t i = 0; i < json_object_array_length(items); i++)
            if (pv_json_member(json_object_array_get_idx(items, i), "key") != NULL)
                nitems++;
    if (in == NULL || (!in->selected && ps_isbank_blank(in->value, in->value_len))) {
        if (ps_isbank_truthy(pv_json_member(f, "required")))
            ps_isbank_infos_add(&k->infos, "2001", "%s: required", name);
        return;
    }
    pv_utf8_quote(q, sizeof(q), in->value, in->value_len);
    if (nitems > 0) {
        if (!in->selected) {
            ps_isbank_infos_add(&k->infos, "2001",
                                "%s: an enumerated field, give it in selected_input_values", name);
            return;
        }
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *key = pv_json_member(json_object_array_get_idx(items, i), "key");
            if (key != NULL && json_object_is_type(key, json_type_string) &&
                (size_t)json_object_get_string_len(key) == in->value_len &&
                memcmp(json_object_get_string(key), in->value, in->value_len) == 0)
                return;
        }
        ps_isbank_infos_add(&k->infos, "2001", "%s: key \"%s\" is not one of its items", name, q);
        return;
    }
    if (in->selected) {
        ps_isbank_infos_add(&k->infos, "2001",
                            "%s: not an enumerated field, give it in basic_input_values", name);
        return;
    }
    /* length in code points, and the type */
    size_t points = 0;
    bool control = false, digits = true;
    for (size_t i = 0; i < in->value_len;) {
        unsigned char ch = (unsigned char)in->value[i];
        size_t l = ps_jw_utf8_len((const unsigned char *)in->value + i, in->value_len - i);
        if (l == 0) {
            ps_isbank_infos_add(&k->infos, "2001", "%s: \"%s\" is not UTF-8 text", name, q);
            return;
        }
        if (ch < 0x20 || ch == 0x7f)
            control = true;
        if (ch < '0' || ch > '9')
            digits = false;
        points++;
        i += l;
    }
    json_object *pl = pv_json_member(f, "parameter_length");
    int64_t min, max;
    if (ps_isbank_bound(pl, "min", &min) && (int64_t)points < min)
        ps_isbank_infos_add(&k->infos, "2001",
                            "%s: \"%s\" is %zu characters, the minimum is %" PRId64, name, q,
                            points, min);
    if (ps_isbank_bound(pl, "max", &max) && (int64_t)points > max)
        ps_isbank_infos_add(&k->infos, "2001",
                            "%s: \"%s\" is %zu characters, the maximum is %" PRId64, name, q,
                            points, max);
    json_object *type = pv_json_member(f, "parameter_type");
    const char *t = type != NULL && json_object_is_type(type, json_type_string)
                        ? json_object_get_string(type)
                        : "";
    if (strcasecmp(t, "Numeric") == 0 && !digits)
        ps_isbank_infos_add(&k->infos, "2001", "%s: \"%s\" must hold digits only", name, q);
    else if (control)
        ps_isbank_infos_add(&k->infos, "2001", "%s: \"%s\" holds control characters", name, q);
}

/* Collects the input values of the payment; false (and an info) when a
 * list or an entry is malformed. */
static bool ps_isbank_collect(ps_isb_check *k, json_object *root, const char *list, bool selected)
{
    char d[128];
    json_object *arr = pv_json_member(root, list);
    if (arr == NULL)
        return true;
    if (!json_object_is_type(arr, json_type_array)) {
        ps_call_describe(arr, d, sizeof(d));
        ps_isbank_infos_add(&k->infos, "2000", "%s: expected an array, got %s", list, d);
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        json_object *name = pv_json_member(e, "name");
        json_object *val = selected ? pv_json_member(pv_json_member(e, "selected_item"), "key")
                                    : pv_json_member(e, "value");
        if (!json_object_is_type(e, json_type_object) || name == NULL ||
            !json_object_is_type(name, json_type_string) ||
            (val != NULL && !json_object_is_type(val, json_type_string))) {
            ps_call_describe(e, d, sizeof(d));
            ps_isbank_infos_add(&k->infos, "2000", "%s[%zu]: %s is not {name, %s}", list, i, d,
                                selected ? "selected_item{key, value}" : "value");
            return false;
        }
        if (k->n == PS_INPUTS_MAX) {
            ps_isbank_infos_add(&k->infos, "2000", "%s: more than %d input values", list,
                                PS_INPUTS_MAX);
            return false;
        }
        const char *nm = json_object_get_string(name);
        if (ps_isbank_find(k, nm) != NULL) {
            ps_isbank_infos_add(&k->infos, "2001", "%s: given twice", nm);
            continue;
        }
        ps_isb_input *in = &k->in[k->n++];
        in->name = nm;
        in->value = val != NULL ? json_object_get_string(val) : "";
        in->value_len = val != NULL ? (size_t)json_object_get_string_len(val) : 0;
        in->selected = selected;
    }
    return true;
}

/* Validates the inputs against the service object's fields. */
static void ps_isbank_check_inputs(ps_isb_check *k, json_object *spec)
{
    json_object *fields =
        pv_json_member(pv_json_member(pv_json_member(spec, "data"), "free_collection_query_specs"),
                       "input_fields");
    size_t nf = fields != NULL && json_object_is_type(fields, json_type_array)
                    ? json_object_array_length(fields)
                    : 0;
    for (size_t i = 0; i < nf; i++) {
        json_object *f = json_object_array_get_idx(fields, i);
        const char *name = ps_isbank_name(f);
        if (name == NULL)
            continue;
        json_object *kids = pv_json_member(f, "input_fields");
        size_t nk = kids != NULL && json_object_is_type(kids, json_type_array)
                        ? json_object_array_length(kids)
                        : 0;
        bool group = false, given = false;
        for (size_t j = 0; j < nk; j++) {
            const char *kn = ps_isbank_name(json_object_array_get_idx(kids, j));
            if (kn == NULL)
                continue;
            group = true;
            if (ps_isbank_find(k, kn) != NULL)
                given = true;
        }
        if (!group) {
            ps_isbank_check_field(k, f, name);
            continue;
        }
        /* a group (the Address): its fields are checked when it is required
         * or when any of them is given */
        if (!given && !ps_isbank_truthy(pv_json_member(f, "required")))
            continue;
        for (size_t j = 0; j < nk; j++) {
            json_object *kid = json_object_array_get_idx(kids, j);
            const char *kn = ps_isbank_name(kid);
            if (kn != NULL)
                ps_isbank_check_field(k, kid, kn);
        }
    }
    for (size_t i = 0; i < k->n; i++)
        if (!k->in[i].used)
            ps_isbank_infos_add(&k->infos, "2001", "%s: not an input of this service",
                                k->in[i].name);
}

/* Validates the amount against amount_input; *minor gets it. */
static void ps_isbank_check_amount(ps_isb_check *k, json_object *spec, json_object *root,
                                   const char *currency, int64_t *minor)
{
    char d[128], lo[48], hi[48];
    pv_money m, mn, mx;
    pv_error err = {0};
    json_object *ai = pv_json_member(pv_json_member(spec, "data"), "amount_input");
    json_object *ranges = pv_json_member(pv_json_member(ai, "amount_limitations"), "amount_range");
    const pv_currency *cur = pv_currency_by_alpha(currency);
    json_object *range = NULL;
    size_t nr = ranges != NULL && json_object_is_type(ranges, json_type_array)
                    ? json_object_array_length(ranges)
                    : 0;
    for (size_t i = 0; i < nr; i++) {
        json_object *r = json_object_array_get_idx(ranges, i);
        json_object *cc = pv_json_member(r, "currency_code");
        if (cc != NULL && json_object_is_type(cc, json_type_string) &&
            strcmp(json_object_get_string(cc), currency) == 0)
            range = r;
    }
    if (cur == NULL || (nr > 0 && range == NULL)) {
        ps_isbank_infos_add(&k->infos, "2002",
                            "currency_code: \"%s\" is not accepted by this service", currency);
        return;
    }
    json_object *v = pv_json_member(root, "amount");
    ps_call_describe(v, d, sizeof(d));
    if (v == NULL || pv_json_value_money(v, "amount", currency, &m, &err) != PV_OK || m.rounded ||
        m.minor <= 0) {
        pv_error_clear(&err);
        ps_isbank_infos_add(&k->infos, "2002",
                            "amount: %s must be a positive amount of %s with at most %d decimals",
                            d, currency, cur->exponent);
        return;
    }
    *minor = m.minor;
    if (range != NULL &&
        pv_json_value_money(pv_json_member(range, "min_value"), "min_value", currency, &mn, &err) ==
            PV_OK &&
        pv_json_value_money(pv_json_member(range, "max_value"), "max_value", currency, &mx, &err) ==
            PV_OK &&
        (m.minor < mn.minor || m.minor > mx.minor)) {
        ps_amount(lo, sizeof(lo), mn.minor, cur->exponent, -1);
        ps_amount(hi, sizeof(hi), mx.minor, cur->exponent, -1);
        ps_isbank_infos_add(&k->infos, "2002", "amount: %s %s is outside %s..%s", m.text, currency,
                            lo, hi);
    }
    pv_error_clear(&err);
    json_object *frac = pv_json_member(ai, "decimal_fraction_allowed");
    if (frac != NULL && !ps_isbank_truthy(frac) && m.minor % ps_pow10[cur->exponent] != 0)
        ps_isbank_infos_add(&k->infos, "2002", "amount: %s has a fraction, the service takes none",
                            m.text);
}

/* execution_date as the seed writes it: Istanbul time, 7 digits, offset. */
static void ps_isbank_now(char *buf, size_t cap)
{
    struct tm tm;
    int off;
    long ticks;
    ps_time_istanbul(&tm, &off, &ticks);
    ps_fmt(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%07ld%c%02d:%02d", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ticks, off < 0 ? '-' : '+',
           abs(off) / 3600, abs(off) % 3600 / 60);
}

/* A payment_reference: 1..64 visible ASCII characters. */
static bool ps_isbank_reference(json_object *v, char *buf, size_t cap)
{
    if (v == NULL || !json_object_is_type(v, json_type_string) || !ps_call_json_text(v, buf, cap) ||
        buf[0] == '\0' || strlen(buf) > PS_REF_MAX)
        return false;
    for (const char *p = buf; *p != '\0'; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}

void ps_isbank_pay(ps_call *c)
{
    ps_sim *sim = c->sim;
    ps_state *st = &sim->st;
    char msg[PS_MSG_MAX], d[128], ref[PS_REF_MAX + 8], currency[8], when[48], amount[48];
    int64_t service_id, minor = 0, paid;
    pv_error ignored = {0};

    if (!ps_isbank_gateway(c) || !ps_isbank_bearer(c))
        return;
    if (!ps_call_json_body(c, msg, sizeof(msg))) {
        ps_isbank_refuse1(c, 400, "2000", "%s", msg);
        return;
    }
    json_object *sv = pv_json_member(c->root, "service_id");
    if (sv == NULL || !json_object_is_type(sv, json_type_int) ||
        pv_json_value_int64(sv, "service_id", &service_id, &ignored) != PV_OK) {
        ps_call_describe(sv, d, sizeof(d));
        ps_isbank_refuse1(c, 400, "2000", "service_id: %s must be an integer", d);
        return;
    }
    if (service_id != sim->isbank_service_id) {
        ps_isbank_refuse1(c, 404, "2003", "service_id %" PRId64 " not found", service_id);
        return;
    }
    json_object *rv = pv_json_member(c->root, "payment_reference");
    if (!ps_isbank_reference(rv, ref, sizeof(ref))) {
        ps_call_describe(rv, d, sizeof(d));
        ps_isbank_refuse1(c, 400, "2000",
                          "payment_reference: %s must be 1..%d visible ASCII characters", d,
                          PS_REF_MAX);
        return;
    }
    json_object *cv = pv_json_member(c->root, "currency_code");
    if (cv == NULL || !json_object_is_type(cv, json_type_string) ||
        !ps_call_json_text(cv, currency, sizeof(currency))) {
        ps_call_describe(cv, d, sizeof(d));
        ps_isbank_refuse1(c, 400, "2000", "currency_code: %s must be an ISO 4217 code", d);
        return;
    }
    ps_isb_check *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        ps_isbank_refuse1(c, 503, "2099", "out of memory");
        return;
    }
    if (ps_isbank_collect(k, c->root, "basic_input_values", false) &&
        ps_isbank_collect(k, c->root, "selected_input_values", true))
        ps_isbank_check_inputs(k, sim->isbank_spec);
    ps_isbank_check_amount(k, sim->isbank_spec, c->root, currency, &minor);
    if (k->infos.n > 0) {
        ps_isbank_refuse(c, 400, &k->infos);
        free(k);
        return;
    }
    free(k);
    if (ps_map_get(&st->isbank_paid, ref, strlen(ref), &paid)) {
        ps_call_count(c, PS_ST_DOUBLE);
        ps_isbank_refuse1(c, 409, "2010",
                          "payment_reference \"%s\" was already paid (payment_id %" PRId64 ")", ref,
                          paid);
        return;
    }
    if ((int64_t)st->isbank_paid.n >= sim->cfg.ledger_max) {
        ps_isbank_refuse1(c, 503, "2099", "simulator capacity reached (--ledger-max %" PRId64 ")",
                          sim->cfg.ledger_max);
        return;
    }
    int64_t payment_id = st->isbank_next_payment++;
    if (!ps_map_puts(&st->isbank_paid, ref, payment_id)) {
        ps_isbank_refuse1(c, 503, "2099", "out of memory");
        return;
    }
    char pid[24];
    snprintf(pid, sizeof(pid), "%" PRId64, payment_id);
    ps_ledger_add(c, ref, minor, currency, pid);
    ps_isbank_now(when, sizeof(when));
    ps_amount(amount, sizeof(amount), minor, pv_currency_by_alpha(currency)->exponent, -1);

    ps_jw w;
    ps_call_answer(c, 200, &w);
    ps_jw_obj(&w);
    ps_jw_key(&w, "data");
    ps_jw_obj(&w);
    ps_jw_kstr(&w, "payment_id", pid);
    ps_jw_kstr(&w, "execution_date", when);
    ps_jw_kraw(&w, "amount", amount);
    ps_jw_kint(&w, "overdraft_amount", 0);
    ps_jw_kbool(&w, "sos_used", false);
    ps_jw_kstr(&w, "overdraft_currency_code", "TRY");
    ps_jw_kstr(&w, "currency_code", currency);
    ps_jw_end(&w);
    ps_jw_end(&w);
}
