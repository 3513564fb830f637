/* pw_http.c -- see pw_http.h. */
#include "pw_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pw_alloc.h"

/* One per base URL (a provider): the connection ramp's counters. */
typedef struct pw_http_origin {
    struct pw_http_origin *next;
    int ramp;                       /* calls handed to curl whose connection is not yet known */
    struct pw_http_call *wait_head; /* calls waiting for a ramp slot, oldest first */
    struct pw_http_call *wait_tail;
    char url[]; /* the base URL, without trailing slashes */
} pw_http_origin;

struct pw_http {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct event *drain; /* hands waiting calls to curl (activated, never armed) */
    char *ca_path;
    size_t inflight;
    struct pw_http_call *calls; /* every call in flight (cancelled on free) */
    pw_http_origin *origins;
};

enum pw_http_ramp_state {
    PW_HTTP_WAITING, /* in its origin's queue, not yet given to curl */
    PW_HTTP_RAMPING, /* given to curl; no connection proven yet (counts in ramp) */
    PW_HTTP_RUNNING, /* its request is going out on a connection */
};

struct pw_http_call {
    pw_http *h;
    struct pw_http_call *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* request body (owned) */
    size_t body_len, body_off;
    char *answer; /* response body */
    size_t answer_len, answer_cap;
    int overflow;
    pw_http_cb *cb;
    void *ud;
    struct timespec started;
    int64_t timeout_ms, connect_timeout_ms;
    pw_http_origin *origin;
    int state; /* enum pw_http_ramp_state */
    struct pw_http_call *wait_next;
};

/* Per-socket state: the event watching it. */
typedef struct pw_http_sock {
    struct event *ev;
    curl_socket_t fd;
} pw_http_sock;

static int64_t pw_http_us_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 + (now.tv_nsec - t0->tv_nsec) / 1000;
}

/*---- Completion ----*/

static int pw_http_fault_of(CURLcode cc, CURL *easy)
{
    curl_off_t pretransfer = 0;
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    /* a URL curl cannot parse or will not speak: refused before any
     * connection was made, so nothing was sent (start-up refuses such a
     * provider URL; this keeps one that gets here from reading as "sent, no
     * answer", which would make every payment UNKNOWN) */
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return PV_FAULT_CONNECT;
    case CURLE_SEND_ERROR:
        return PV_FAULT_SEND;
    case CURLE_OPERATION_TIMEDOUT:
        /* before the request went out (connect or TLS phase): nothing sent */
        curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
        return pretransfer == 0 ? PV_FAULT_CONNECT : PV_FAULT_NO_ANSWER;
    default:
        /* CURLE_SEND_FAIL_REWIND (a re-send refused), RECV_ERROR,
         * GOT_NOTHING, PARTIAL_FILE, WRITE_ERROR (answer too large), ...:
         * the request may have been processed */
        return PV_FAULT_NO_ANSWER;
    }
}

/*---- The connection ramp ----
 *
 * A burst of calls to a cold provider would open one connection per call at
 * once: 1,024 SYNs against a listen backlog of 128 (the common default)
 * overflow it, and the dropped SYNs are retried by the kernel one second
 * later. So each origin has at most PW_HTTP_RAMP_MAX calls handed to curl
 * whose connection is not yet known; the others wait, in order, for a slot.
 * A call leaves the ramp when its request starts going out (curl's
 * PREREQFUNCTION: a new connection is established, TLS included, or a
 * connection was reused or multiplexed) or when it ends. On a warm provider
 * that is within the same loop turn, so calls never wait behind the ramp
 * unless more than PW_HTTP_RAMP_MAX start at once. A connect that is slow
 * (SYN retried, a far provider) holds its slot: the ramp slows with it. */

static void pw_http_wait_unlink(pw_http_call *c)
{
    pw_http_origin *o = c->origin;
    pw_http_call **pp = &o->wait_head, *prev = NULL;
    while (*pp != NULL && *pp != c) {
        prev = *pp;
        pp = &(*pp)->wait_next;
    }
    if (*pp == NULL)
        return;
    *pp = c->wait_next;
    if (o->wait_tail == c)
        o->wait_tail = prev;
    c->wait_next = NULL;
}

/* The call's connection is known (or the call ended): its slot is free. */
static void pw_http_ramp_leave(pw_http_call *c)
{
    if (c->state != PW_HTTP_RAMPING)
        return;
    c->state = PW_HTTP_RUNNING;
    c->origin->ramp--;
    if (c->origin->wait_head != NULL)
        event_active(c->h->drain, EV_TIMEOUT, 0);
}

static int pw_http_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int primary_port,
                          int local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)primary_port;
    (void)local_port;
    pw_http_ramp_leave(ud);
    return CURL_PREREQFUNC_OK;
}

static void pw_http_call_free(pw_http_call *c)
{
    if (c->state == PW_HTTP_WAITING)
        pw_http_wait_unlink(c);
    pw_http_ramp_leave(c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->h->calls = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->state != PW_HTTP_WAITING)
        curl_multi_remove_handle(c->h->multi, c->easy);
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    if (c->body != NULL)
        memset(c->body, 0, c->body_len); /* may carry credentials (PayOne) */
    free(c->body);
    free(c->answer);
    c->h->inflight--;
    free(c);
}

static void pw_http_check_done(pw_http *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        pw_http_call *c = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        CURLcode cc = msg->data.result;
        long status = 0, conns = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &conns);
        pw_http_result r = {
            .status = cc == CURLE_OK ? (int)status : 0,
            .body = c->answer != NULL ? c->answer : "",
            .len = c->answer_len,
            .fault = -1,
            .error = "",
            .elapsed_us = pw_http_us_since(&c->started),
            .reused = conns == 0,
        };
        if (cc != CURLE_OK) {
            r.fault = pw_http_fault_of(cc, c->easy);
            r.error = c->overflow ? "answer larger than the limit" : curl_easy_strerror(cc);
            r.len = 0;
        }
        c->cb(c->ud, &r);
        pw_http_call_free(c);
    }
}

/*---- libcurl <-> libevent glue ----*/

static void pw_http_on_event(evutil_socket_t fd, short what, void *arg)
{
    pw_http *h = arg;
    int running;
    int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(h->multi, fd, action, &running);
    pw_http_check_done(h);
}

static void pw_http_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_http *h = arg;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    pw_http_check_done(h);
}

static int pw_http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    (void)easy;
    pw_http *h = userp;
    pw_http_sock *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            event_free(s->ev);
            free(s);
        }
        curl_multi_assign(h->multi, fd, NULL);
        return 0;
    }
    short kind =
        EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (s == NULL) {
        s = pw_alloc_calloc(1, sizeof(*s));
        if (s == NULL)
            return -1;
        s->fd = fd;
        curl_multi_assign(h->multi, fd, s);
    } else {
        event_free(s->ev);
    }
    s->ev = event_new(h->base, fd, kind, pw_http_on_event, h);
    return event_add(s->ev, NULL);
}

static int pw_http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    pw_http *h = userp;
    if (timeout_ms < 0)
        return evtimer_del(h->timer);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    return evtimer_add(h->timer, &tv);
}

/*---- Bodies ----*/

static size_t pw_http_write(char *ptr, size_t size, size_t n, void *ud)
{
    pw_http_call *c = ud;
    size_t add = size * n;
    if (c->answer_len + add > PW_HTTP_BODY_MAX) {
        c->overflow = 1;
        return 0;
    }
    if (c->answer_len + add + 1 > c->answer_cap) {
        size_t cap = c->answer_cap == 0 ? 4096 : c->answer_cap;
        while (cap < c->answer_len + add + 1)
            cap *= 2;
        char *grown = pw_alloc_realloc(c->answer, cap);
        if (grown == NULL)
            return 0;
        c->answer = grown;
        c->answer_cap = cap;
    }
    memcpy(c->answer + c->answer_len, ptr, add);
    c->answer_len += add;
    c->answer[c->answer_len] = '\0';
    return add;
}

/* The body goes out through this callback and there is no seek callback:
 * curl cannot re-send a body that already left (see pw_http.h). */
static size_t pw_http_read(char *buf, size_t size, size_t n, void *ud)
{
    pw_http_call *c = ud;
    size_t room = size * n, left = c->body_len - c->body_off;
    size_t take = left < room ? left : room;
    memcpy(buf, c->body + c->body_off, take);
    c->body_off += take;
    return take;
}

static pw_http_origin *pw_http_origin_of(pw_http *h, const char *url, size_t len)
{
    for (pw_http_origin *o = h->origins; o != NULL; o = o->next)
        if (strlen(o->url) == len && memcmp(o->url, url, len) == 0)
            return o;
    pw_http_origin *o = pw_alloc_calloc(1, sizeof(*o) + len + 1);
    if (o == NULL)
        return NULL;
    memcpy(o->url, url, len);
    o->next = h->origins;
    h->origins = o;
    return o;
}

/* Hands a waiting call to curl, its timeouts less the time it waited. */
static int pw_http_start(pw_http_call *c)
{
    int64_t waited = pw_http_us_since(&c->started) / 1000;
    int64_t total = c->timeout_ms - waited, conn = c->connect_timeout_ms;
    if (total < 1)
        total = 1;
    if (conn > total)
        conn = total;
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)total);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)conn);
    if (curl_multi_add_handle(c->h->multi, c->easy) != CURLM_OK)
        return -1;
    c->state = PW_HTTP_RAMPING;
    c->origin->ramp++;
    return 0;
}

/* Ends a call that never went out: nothing was sent. */
static void pw_http_fail_unsent(pw_http_call *c, const char *why)
{
    pw_http_result r = {
        .status = 0,
        .body = "",
        .len = 0,
        .fault = PV_FAULT_CONNECT,
        .error = why,
        .elapsed_us = pw_http_us_since(&c->started),
        .reused = 0,
    };
    c->cb(c->ud, &r);
    pw_http_call_free(c);
}

static void pw_http_on_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_http *h = arg;
    for (pw_http_origin *o = h->origins; o != NULL; o = o->next) {
        while (o->wait_head != NULL && o->ramp < PW_HTTP_RAMP_MAX) {
            pw_http_call *c = o->wait_head;
            o->wait_head = c->wait_next;
            if (o->wait_head == NULL)
                o->wait_tail = NULL;
            c->wait_next = NULL;
            if (pw_http_us_since(&c->started) / 1000 >= c->timeout_ms)
                pw_http_fail_unsent(c, "no connection within the timeout (the connection ramp "
                                       "was full)");
            else if (pw_http_start(c) != 0)
                pw_http_fail_unsent(c, "libcurl: cannot add the transfer");
        }
    }
}

/*---- API ----*/

pw_http *pw_http_new(struct event_base *base, const char *ca_path, char *errstr, size_t cap)
{
    static int inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(errstr, cap, "libcurl: global initialisation failed");
            return NULL;
        }
        inited = 1;
    }
    pw_http *h = pw_alloc_calloc(1, sizeof(*h));
    if (h == NULL || (h->multi = curl_multi_init()) == NULL) {
        free(h);
        snprintf(errstr, cap, "libcurl: cannot create a multi handle");
        return NULL;
    }
    h->base = base;
    h->timer = evtimer_new(base, pw_http_on_timer, h);
    h->drain = event_new(base, -1, 0, pw_http_on_drain, h);
    if (h->timer == NULL || h->drain == NULL) {
        if (h->timer != NULL)
            event_free(h->timer);
        if (h->drain != NULL)
            event_free(h->drain);
        curl_multi_cleanup(h->multi);
        free(h);
        snprintf(errstr, cap, "libevent: cannot create the transport's events");
        return NULL;
    }
    h->ca_path = ca_path != NULL ? pw_alloc_strdup(ca_path) : NULL;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, pw_http_socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, pw_http_timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 1024L);
    return h;
}

void pw_http_free(pw_http *h)
{
    if (h == NULL)
        return;
    while (h->calls != NULL)
        pw_http_call_free(h->calls); /* cancelled: no callback */
    /* closing the cached connections reports CURL_POLL_REMOVE for their
     * sockets, which frees their events */
    curl_multi_cleanup(h->multi);
    event_free(h->timer);
    event_free(h->drain);
    while (h->origins != NULL) {
        pw_http_origin *o = h->origins;
        h->origins = o->next;
        free(o);
    }
    free(h->ca_path);
    free(h);
}

pw_http_call *pw_http_send(pw_http *h, const char *base_url, const pv_request *req,
                           int64_t timeout_ms, int64_t connect_timeout_ms, pw_http_cb *cb, void *ud,
                           char *errstr, size_t cap)
{
    char url[2048];
    size_t blen = strlen(base_url);
    while (blen > 0 && base_url[blen - 1] == '/')
        blen--;
    if (blen + strlen(req->path) + 1 > sizeof(url)) {
        snprintf(errstr, cap, "URL too long");
        return NULL;
    }
    snprintf(url, sizeof(url), "%.*s%s", (int)blen, base_url, req->path);

    pw_http_call *c = pw_alloc_calloc(1, sizeof(*c));
    const char *why = "out of memory";
    if (c == NULL || (c->easy = curl_easy_init()) == NULL)
        goto fail;
    c->h = h;
    c->cb = cb;
    c->ud = ud;
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    for (size_t i = 0; i <= req->nheaders; i++) {
        /* "Expect:" last: no 100-continue round trip */
        struct curl_slist *l =
            curl_slist_append(c->headers, i < req->nheaders ? req->headers[i] : "Expect:");
        if (l == NULL)
            goto fail; /* c->headers is still whole */
        c->headers = l;
    }

    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, pw_http_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, pw_http_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, c);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* the receive buffer is per transfer (16 KiB by default); answers are a
     * few KiB and a longer one simply takes more reads */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* waiting for a connection to say whether it multiplexes only pays where
     * it can (HTTP/2 is negotiated over TLS only): over plain HTTP every call
     * of a burst waited for the first connections, and a cold provider got
     * 2 of 1,024 calls at once (issue 11) */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, strncasecmp(url, "https://", 8) == 0 ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an answer, not a hop */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (h->ca_path != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_path);
    if (strcmp(req->method, "POST") == 0) {
        c->body_len = req->body_len;
        c->body = pw_alloc_malloc(c->body_len + 1);
        if (c->body == NULL)
            goto fail;
        if (c->body_len > 0)
            memcpy(c->body, req->body, c->body_len);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, pw_http_read);
        curl_easy_setopt(e, CURLOPT_READDATA, c);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
        /* an upload buffer is allocated per transfer, 64 KiB by default:
         * 64 MiB at 1,024 calls in flight for bodies of a few hundred bytes */
        curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L); /* libcurl's minimum */
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    c->timeout_ms = timeout_ms;
    c->connect_timeout_ms = connect_timeout_ms;
    c->origin = pw_http_origin_of(h, url, blen);
    if (c->origin == NULL)
        goto fail;
    c->state = PW_HTTP_WAITING;
    if (c->origin->ramp < PW_HTTP_RAMP_MAX && c->origin->wait_head == NULL) {
        if (pw_http_start(c) != 0) {
            why = "libcurl: cannot add the transfer";
            goto fail;
        }
    } else if (c->origin->wait_tail != NULL) {
        c->origin->wait_tail->wait_next = c;
        c->origin->wait_tail = c;
    } else {
        c->origin->wait_head = c->origin->wait_tail = c;
    }
    h->inflight++;
    c->next = h->calls;
    if (h->calls != NULL)
        h->calls->prev = c;
    h->calls = c;
    return c;

fail:
    snprintf(errstr, cap, "%s", why);
    if (c != NULL) {
        curl_easy_cleanup(c->easy); /* NULL-safe */
        curl_slist_free_all(c->headers);
        free(c->body);
        free(c);
    }
    return NULL;
}

void pw_http_cancel(pw_http_call *call)
{
    if (call != NULL)
        pw_http_call_free(call);
}

size_t pw_http_inflight(const pw_http *h)
{
    return h->inflight;
}
