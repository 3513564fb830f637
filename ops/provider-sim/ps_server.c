/* ps_server.c -- the HTTP server: the request entry point, the routes, sending,
 * holding and resetting requests, running a call through its fault and its
 * handler. */
#include "ps_int.h"
#include "pw_log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

const char *const ps_provider_names[PS_NPROV] = {"PAYOFIN", "SIPAY", "PAYWALL", "ISBANK", "PAYONE"};

/*---- Routes ----*/

typedef void (*ps_handler)(ps_call *c);

struct ps_route {
    ps_pid provider;
    enum evhttp_cmd_type method;
    const char *path;
    bool prefix;  /* path is a prefix (followed by an id) */
    bool payment; /* moves money: only_payments faults apply */
    ps_handler handler;
};

static const ps_route ps_routes[] = {
    {PS_PAYOFIN, EVHTTP_REQ_POST, "/invoices/invoicepayment", false, true, ps_payofin_pay},
    {PS_PAYOFIN, EVHTTP_REQ_POST, "/invoices/invoicequery", false, false, ps_payofin_query},
    {PS_PAYOFIN, EVHTTP_REQ_POST, "/invoices/invoicecheck", false, false, ps_payofin_check},
    {PS_SIPAY, EVHTTP_REQ_POST, "/connect/token", false, false, ps_sipay_token},
    {PS_SIPAY, EVHTTP_REQ_POST, "/v1/InvoicePayment/MakePayment", false, true, ps_sipay_pay},
    {PS_PAYWALL, EVHTTP_REQ_GET, "/api/paywall/marketplace/report/debt/payment", false, false,
     ps_paywall_debt},
    {PS_ISBANK, EVHTTP_REQ_POST, PS_ISBANK_API "/oauth2/token", false, false, ps_isbank_token},
    {PS_ISBANK, EVHTTP_REQ_GET, PS_ISBANK_API "/bill-institution-services/", true, false,
     ps_isbank_service},
    {PS_ISBANK, EVHTTP_REQ_POST, PS_ISBANK_API "/bill-payments", false, true, ps_isbank_pay},
    {PS_PAYONE, EVHTTP_REQ_POST, "/rest/InvoicesService/completeInvoice", false, true,
     ps_payone_complete},
    {PS_PAYONE, EVHTTP_REQ_POST, "/rest/InvoicesService/inquireInvoice", false, false,
     ps_payone_inquire},
};
#define PS_NROUTES (sizeof(ps_routes) / sizeof(ps_routes[0]))

static const ps_route *ps_server_route_find(const char *path, bool *path_known,
                                            enum evhttp_cmd_type method)
{
    *path_known = false;
    for (size_t i = 0; i < PS_NROUTES; i++) {
        const ps_route *r = &ps_routes[i];
        size_t n = strlen(r->path);
        bool match = r->prefix ? strncmp(path, r->path, n) == 0 && path[n] != '\0' &&
                                     strchr(path + n, '/') == NULL
                               : strcmp(path, r->path) == 0;
        if (!match)
            continue;
        *path_known = true;
        if (r->method == method)
            return r;
    }
    return NULL;
}

/* Reason phrases for the statuses the simulator sends (libevent calls 429
 * "Client Error"). */
const char *ps_server_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        {200, "OK"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return NULL; /* libevent's own */
}

/*---- Sending, holding, faults ----*/

static void ps_server_send(ps_call *c)
{
    bool attached = evhttp_request_get_connection(c->req) != NULL;
    if (c->sim->cfg.verbose) {
        pw_logline l;
        pw_log_begin(&l, PW_LOG_DEBUG, "answer");
        pw_log_str(&l, "provider", ps_provider_names[c->provider]);
        pw_log_str(&l, "path", c->route->path);
        pw_log_int(&l, "status", c->status);
        pw_log_str(&l, "fault", ps_fault_names[c->fault]);
        pw_log_end(&l);
    }
    evhttp_send_reply(c->req, c->status, ps_server_reason(c->status), NULL); /* frees req in time */
    ps_ledger_mark(c, attached);
}

/* Closes the request's connection with an RST (SO_LINGER 0); frees the
 * request with it. Never called from inside an evhttp callback. */
static void ps_server_reset_connection(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon == NULL) { /* detached: we own the request */
        evhttp_request_free(req);
        return;
    }
    /* evhttp_connection_free shuts the write side down (a FIN) before its
     * bufferevent closes the socket later in the loop: the client would read
     * an orderly end of stream. So the socket is taken from the bufferevent
     * and closed here with SO_LINGER 0, which sends the RST at once. */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd >= 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        bufferevent_setfd(bev, -1);
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        evutil_closesocket(fd);
    }
    evhttp_connection_free(evcon);
}

void ps_server_held_unlink(ps_sim *sim, ps_held *h)
{
    if (h->prev != NULL)
        h->prev->next = h->next;
    else
        sim->held_head = h->next;
    if (h->next != NULL)
        h->next->prev = h->prev;
    else
        sim->held_tail = h->prev;
    sim->nheld--;
    if (h->kind == PS_HOLD_BLACKHOLE)
        sim->nblackholes--;
    if (h->timer != NULL)
        event_free(h->timer);
    h->timer = NULL;
}

static void ps_server_execute(ps_call *c);

static void ps_server_held_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ps_held *h = arg;
    ps_call c = h->call;
    ps_hold kind = h->kind;
    ps_server_held_unlink(c.sim, h);
    free(h);
    switch (kind) {
    case PS_HOLD_LATENCY:
        ps_server_execute(&c);
        break;
    case PS_HOLD_RESET:
        ps_server_reset_connection(c.req);
        break;
    case PS_HOLD_LATE:
        ps_server_send(&c);
        break;
    case PS_HOLD_BLACKHOLE:
        break;
    }
}

/* Keeps the call's request: for delay_ms (a timer), or for good (a
 * blackhole, delay_ms < 0). When it cannot, the request is answered now. */
static void ps_server_hold_call(ps_call *c, ps_hold kind, int64_t delay_ms)
{
    ps_sim *sim = c->sim;
    if (kind == PS_HOLD_BLACKHOLE && sim->nblackholes >= PS_BLACKHOLE_MAX) {
        for (ps_held *o = sim->held_head; o != NULL; o = o->next) {
            if (o->kind != PS_HOLD_BLACKHOLE)
                continue;
            struct evhttp_request *old = o->call.req;
            ps_server_held_unlink(sim, o);
            free(o);
            pw_logline l;
            pw_log_begin(&l, PW_LOG_WARN, "blackhole limit reached: oldest connection reset");
            pw_log_int(&l, "limit", PS_BLACKHOLE_MAX);
            pw_log_end(&l);
            ps_server_reset_connection(old);
            break;
        }
    }
    ps_held *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        ps_server_send(c);
        return;
    }
    h->call = *c;
    h->call.root = NULL;
    h->call.body = NULL;
    h->kind = kind;
    if (kind != PS_HOLD_BLACKHOLE) {
        h->timer = evtimer_new(sim->base, ps_server_held_fire, h);
        struct timeval tv = {.tv_sec = (time_t)(delay_ms / 1000),
                             .tv_usec = (suseconds_t)(delay_ms % 1000) * 1000};
        if (h->timer == NULL || evtimer_add(h->timer, &tv) != 0) {
            if (h->timer != NULL)
                event_free(h->timer);
            free(h);
            ps_server_send(c);
            return;
        }
    } else {
        sim->nblackholes++;
    }
    h->prev = sim->held_tail;
    if (sim->held_tail != NULL)
        sim->held_tail->next = h;
    else
        sim->held_head = h;
    sim->held_tail = h;
    sim->nheld++;
}

/* The first needle in d[0..n), or NULL. */
static const char *ps_server_find(const char *d, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(d + i, needle, k) == 0)
            return d + i;
    return NULL;
}

/* Moves the answer written in the sim's buffer into the request; a
 * malformed fault keeps its first half and appends garbage, a badtext one
 * puts two bytes that are not UTF-8 into its text. */
static void ps_server_commit_body(ps_call *c)
{
    ps_buf *out = &c->sim->out;
    struct evbuffer *ob = evhttp_request_get_output_buffer(c->req);
    if (out->failed) {
        c->status = 500;
        ps_buf_reset(out);
        ps_buf_adds(out, "{\"error\":\"answer too large\"}");
    }
    if (c->fault == PS_F_BADTEXT && out->len > 0) {
        /* the real answer with two bytes that are not UTF-8 at the start of
         * its message (the first "...essage":"), else of its first string */
        const char *d = out->data;
        size_t cut = 0;
        const char *m = ps_server_find(d, out->len, "essage\":\"");
        if (m != NULL) {
            cut = (size_t)(m - d) + 9;
        } else if ((m = ps_server_find(d, out->len, "\":\"")) != NULL) {
            cut = (size_t)(m - d) + 3;
        }
        evbuffer_add(ob, d, cut);
        evbuffer_add(ob, "\xff\xfe", 2);
        evbuffer_add(ob, d + cut, out->len - cut);
    } else if (c->fault == PS_F_MALFORMED) {
        static const char garbage[] = "\x01<html>\"}]simulated malformed answer";
        evbuffer_add(ob, out->data != NULL ? out->data : "", out->len / 2);
        evbuffer_add(ob, garbage, sizeof(garbage) - 1);
    } else if (out->len > 0) {
        evbuffer_add(ob, out->data, out->len);
    }
    ps_buf_reset(out);
}

/* Runs the call: the fault decided on arrival, then the provider. */
static void ps_server_execute(ps_call *c)
{
    ps_stats *s = ps_call_stats(c);
    const ps_faults *f = &c->sim->faults[c->provider];

    switch (c->fault) {
    case PS_F_RESET:
        s->faults[PS_F_RESET]++;
        ps_server_hold_call(c, PS_HOLD_RESET, 0); /* not from inside the evhttp callback */
        return;
    case PS_F_5XX:
    case PS_F_429:
        s->faults[c->fault]++;
        ps_faults_answer(c, c->fault == PS_F_5XX ? (int)f->status_5xx : 429);
        ps_server_commit_body(c);
        ps_server_send(c);
        return;
    default:
        break;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    c->body_len = evbuffer_get_length(in);
    c->body = c->body_len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    if (c->body == NULL) {
        c->body = "";
        c->body_len = 0;
    }
    c->status = 500;
    ps_buf_reset(&c->sim->out);
    c->route->handler(c);
    json_object_put(c->root);
    c->root = NULL;
    c->body = NULL;
    if (c->fault == PS_F_PAID_5XX) { /* processed, then the gateway's 500 instead */
        evhttp_clear_headers(evhttp_request_get_output_headers(c->req));
        ps_faults_answer(c, (int)f->status_5xx);
    }
    ps_server_commit_body(c);
    switch (c->fault) {
    case PS_F_MALFORMED:
        s->faults[PS_F_MALFORMED]++;
        ps_server_send(c);
        break;
    case PS_F_BLACKHOLE:
        s->faults[PS_F_BLACKHOLE]++;
        ps_ledger_mark(c, false);
        ps_server_hold_call(c, PS_HOLD_BLACKHOLE, -1);
        break;
    case PS_F_LATE:
        s->faults[PS_F_LATE]++;
        ps_ledger_mark(c, false);
        ps_server_hold_call(c, PS_HOLD_LATE, f->late_ms);
        break;
    case PS_F_PAID_5XX:
        s->faults[PS_F_PAID_5XX]++;
        ps_server_send(c); /* answered (a 500); the ledger's fault says which */
        break;
    case PS_F_BADTEXT:
        s->faults[PS_F_BADTEXT]++;
        ps_server_send(c); /* answered, with text that is not UTF-8 */
        break;
    case PS_F_RESET_AFTER:
        s->faults[PS_F_RESET_AFTER]++;
        ps_ledger_mark(c, false);
        ps_server_hold_call(c, PS_HOLD_RESET, 0); /* not from inside the evhttp callback */
        break;
    default:
        ps_server_send(c);
        break;
    }
}

/*---- The request entry point ----*/

void ps_server_on_request(struct evhttp_request *req, void *arg)
{
    ps_sim *sim = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || path[0] == '\0')
        path = "/";
    if (strncmp(path, "/_sim/", 6) == 0) {
        ps_control(sim, req, path, evhttp_uri_get_query(uri));
        return;
    }
    bool known;
    const ps_route *r = ps_server_route_find(path, &known, evhttp_request_get_command(req));
    if (r == NULL) {
        char q[96];
        pv_utf8_quote(q, sizeof(q), path, strlen(path));
        ps_control_error(sim, req, known ? 405 : 404, "%s: %s", q,
                         known ? "method not allowed" : "no such endpoint");
        return;
    }
    ps_call c;
    memset(&c, 0, sizeof(c));
    c.sim = sim;
    c.req = req;
    c.route = r;
    c.provider = r->provider;
    ps_call_count(&c, PS_ST_REQUESTS);
    const ps_faults *f = &sim->faults[r->provider];
    int64_t delay = 0;
    if (r->payment || !f->only_payments) {
        c.fault = ps_faults_draw(sim, f);
        delay = f->latency_ms;
        if (f->jitter_ms > 0)
            delay += ps_rng_range(&sim->fault_rng, 0, f->jitter_ms);
    }
    if (delay > 0) {
        sim->stats[r->provider].faults[PS_F_LATENCY]++;
        ps_server_hold_call(&c, PS_HOLD_LATENCY, delay);
        return;
    }
    ps_server_execute(&c);
}
