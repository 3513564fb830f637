/* ps_call.c -- one call's request and answer: headers, forms, the JSON body, the
 * JSON answer over the sim's buffer, ProblemDetails, the counters. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ps_call_count(ps_call *c, ps_stat s)
{
    ps_call_stats(c)->n[s]++;
}

/*---- Reading requests ----*/

ps_stats *ps_call_stats(ps_call *c)
{
    return &c->sim->stats[c->provider];
}

const char *ps_call_in_header(ps_call *c, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(c->req), name);
}

void ps_call_out_header(ps_call *c, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(c->req), name, value);
}

/* True when the header `name` is present and equals `want`. */
bool ps_call_header_is(ps_call *c, const char *name, const char *want)
{
    const char *v = ps_call_in_header(c, name);
    return v != NULL && strcmp(v, want) == 0;
}

/* True when the request says its body is a form. */
bool ps_call_is_form(ps_call *c)
{
    const char *ct = ps_call_in_header(c, "Content-Type");
    static const char form[] = "application/x-www-form-urlencoded";
    return ct != NULL && strncasecmp(ct, form, sizeof(form) - 1) == 0 &&
           (ct[sizeof(form) - 1] == '\0' || ct[sizeof(form) - 1] == ';' ||
            ct[sizeof(form) - 1] == ' ');
}

/* Decodes application/x-www-form-urlencoded text s[0..n) ('+' is a blank,
 * %XX a byte) into out (room for n+1 bytes). Returns the length or -1 for a
 * bad escape. */
static long ps_call_form_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n)
                return -1; /* "%" or "%X" at the end */
            int hi = pv_utf8_hex_digit((unsigned char)s[i + 1]),
                lo = pv_utf8_hex_digit((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return (long)o;
}

/* Finds the form field `name` in the body and decodes its value into a new
 * NUL-terminated string (*out, the caller frees it; *len its length; it may
 * hold NUL bytes). Returns 1 found, 0 absent, -1 malformed. The first of
 * repeated fields wins. */
int ps_call_form_get(const char *body, size_t n, const char *name, char **out, size_t *len)
{
    size_t i = 0;
    while (i < n) {
        const char *seg = body + i;
        const char *amp = memchr(seg, '&', n - i);
        size_t seglen = amp != NULL ? (size_t)(amp - seg) : n - i;
        const char *eq = memchr(seg, '=', seglen);
        size_t klen = eq != NULL ? (size_t)(eq - seg) : seglen;
        char key[128];
        if (klen < sizeof(key)) {
            long kl = ps_call_form_decode(seg, klen, key);
            if (kl < 0)
                return -1;
            if ((size_t)kl == strlen(name) && memcmp(key, name, (size_t)kl) == 0) {
                const char *val = eq != NULL ? eq + 1 : seg + seglen;
                size_t vlen = eq != NULL ? seglen - klen - 1 : 0;
                char *v = malloc(vlen + 1);
                if (v == NULL)
                    return -1;
                long vl = ps_call_form_decode(val, vlen, v);
                if (vl < 0) {
                    free(v);
                    return -1;
                }
                *out = v;
                *len = (size_t)vl;
                return 1;
            }
        }
        i += seglen + 1;
    }
    return 0;
}

/* The text of an identifier given as a JSON string or integer. False for
 * other types, for NUL bytes and for text that does not fit. */
bool ps_call_json_text(json_object *v, char *buf, size_t cap)
{
    if (v == NULL)
        return false;
    if (json_object_is_type(v, json_type_int)) {
        int64_t i64;
        pv_error ignored = {0};
        if (pv_json_value_int64(v, "", &i64, &ignored) != PV_OK)
            return false;
        snprintf(buf, cap, "%" PRId64, i64);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    size_t len = (size_t)json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (len >= cap || memchr(s, '\0', len) != NULL)
        return false;
    memcpy(buf, s, len + 1);
    return true;
}

/* Quotes a JSON value for a message: its type and a bounded excerpt. */
void ps_call_describe(json_object *v, char *buf, size_t cap)
{
    if (v == NULL)
        snprintf(buf, cap, "nothing");
    else
        pv_json_describe(v, buf, cap);
}

/*---- Writing answers ----*/

/* Starts the answer of the call: the JSON writer over the sim's buffer. */
void ps_call_answer(ps_call *c, int status, ps_jw *w)
{
    ps_jw_init(w, &c->sim->out);
    c->status = status;
}

/* Starts the answer that refuses the call: status, s counted (PS_NSTAT: the
 * caller counts it), the answer's object open in w. */
void ps_call_refuse(ps_call *c, int status, ps_stat s, ps_jw *w)
{
    ps_call_answer(c, status, w);
    if (s != PS_NSTAT)
        ps_call_count(c, s);
    ps_jw_obj(w);
}

/* ps_call_refuse for a refusal that tells why: the message, formatted first
 * (before the answer's buffer is reused), is returned from the sim's one
 * message buffer. */
const char *ps_call_vrefuse(ps_call *c, int status, ps_stat s, ps_jw *w, const char *fmt,
                            va_list ap)
{
    ps_fmt_vmsg(c->sim->msg, sizeof(c->sim->msg), fmt, ap);
    ps_call_refuse(c, status, s, w);
    return c->sim->msg;
}

/* ASP.NET's ProblemDetails for a request the provider cannot read (the .NET
 * providers answer model-binding failures so): HTTP 400 naming the field. */
void ps_call_problem(ps_call *c, const char *field, const char *fmt, ...)
{
    ps_jw w;
    va_list ap;
    va_start(ap, fmt);
    const char *msg = ps_call_vrefuse(c, 400, PS_ST_BAD, &w, fmt, ap);
    va_end(ap);
    ps_jw_kstr(&w, "type", "https://tools.ietf.org/html/rfc7231#section-6.5.1");
    ps_jw_kstr(&w, "title", "One or more validation errors occurred.");
    ps_jw_kint(&w, "status", 400);
    ps_jw_key(&w, "errors");
    ps_jw_obj(&w);
    ps_jw_key(&w, field);
    ps_jw_arr(&w);
    ps_jw_str(&w, msg);
    ps_jw_end_arr(&w);
    ps_jw_end(&w);
    ps_jw_end(&w);
}

/* Parses the body as a JSON object into c->root; on failure msg says why. */
bool ps_call_json_body(ps_call *c, char *msg, size_t cap)
{
    pv_error err = {0};
    if (pv_json_parse(c->body, c->body_len, "request body", &c->root, &err) != PV_OK) {
        snprintf(msg, cap, "%s", err.errstr);
        pv_error_clear(&err);
        return false;
    }
    if (!json_object_is_type(c->root, json_type_object)) {
        char d[128];
        ps_call_describe(c->root, d, sizeof(d));
        snprintf(msg, cap, "request body: expected a JSON object, got %s", d);
        return false;
    }
    return true;
}

/* ps_call_json_body answering ProblemDetails on failure. */
bool ps_call_json_body_or_problem(ps_call *c)
{
    char msg[PS_MSG_MAX];
    if (ps_call_json_body(c, msg, sizeof(msg)))
        return true;
    ps_call_problem(c, "$", "%s", msg);
    return false;
}
