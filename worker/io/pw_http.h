/* pw_http.h -- the provider transport: libcurl's multi socket API driven by
 * the worker's libevent loop.
 *
 * DESIGN
 * One multi handle per process keeps connections alive and reuses them
 * (HTTP/1.1 keep-alive; HTTP/2 multiplexing where a TLS server offers it).
 * TLS peers are always verified (PAYW_CA_PATH names another CA bundle).
 * Every call has a connect timeout and a total timeout; answers are bounded
 * (PW_HTTP_BODY_MAX).
 *
 * A payment must never be sent twice by the transport itself. libcurl 7.88
 * silently re-sends a request on a fresh connection when a reused connection
 * dies before any answer byte, whatever the method (CURLOPT_FORBID_RETRY_ON_
 * REUSE arrives only in 8.16). So request bodies go through a read callback
 * with no seek callback: once a body has been sent, curl cannot rewind it and
 * the re-send fails (CURLE_SEND_FAIL_REWIND), which is reported as
 * PV_FAULT_NO_ANSWER: the provider may have processed it. A connection that
 * died before anything was written is still retried by curl: that is safe.
 *
 * Faults are classified for pv_classify_fault: nothing sent (DNS, refused,
 * TLS handshake, connect timeout) is PV_FAULT_CONNECT; failing while sending
 * is PV_FAULT_SEND; sent and then no complete answer (timeout, reset, a body
 * over the limit) is PV_FAULT_NO_ANSWER.
 *
 * Connections ramp up (issue 11): per base URL at most PW_HTTP_RAMP_MAX calls
 * may be connecting at once; the others wait in order (their wait counts in
 * their timeout; one that runs out ends as PV_FAULT_CONNECT, nothing sent).
 * A cold burst of 1,024 calls otherwise sent 1,024 SYNs at once, overflowing
 * the provider's listen backlog (128 is the usual default): the kernel drops
 * the SYNs and retries them a second later. Half the usual backlog leaves
 * the provider a loop turn to accept.
 *
 * Callbacks run on the loop; a call's callback runs exactly once unless the
 * call is cancelled first (then never).
 */
#ifndef PW_HTTP_H
#define PW_HTTP_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "provider.h"

#define PW_HTTP_BODY_MAX (1024 * 1024 + 1) /* one byte over pv_json's limit */
#define PW_HTTP_RAMP_MAX 64                /* calls connecting at once, per base URL */

typedef struct pw_http pw_http;
typedef struct pw_http_call pw_http_call;

typedef struct pw_http_result {
    int status;       /* HTTP status; 0 when no answer arrived */
    const char *body; /* valid during the callback only */
    size_t len;
    int fault;         /* -1, or a pv_fault when no (complete) answer arrived */
    const char *error; /* curl's description of the fault, "" otherwise */
    int64_t elapsed_us;
    int reused; /* the call went over a reused connection */
} pw_http_result;

typedef void pw_http_cb(void *ud, const pw_http_result *r);

/* ca_path may be NULL (system CAs). NULL with errstr on failure. */
pw_http *pw_http_new(struct event_base *base, const char *ca_path, char *errstr, size_t cap);
/* Cancels every call in flight (their callbacks are not called). */
void pw_http_free(pw_http *h);

/* Starts req against base_url (req->path is appended). The request is
 * copied; the call handle is valid until its callback returns or it is
 * cancelled. NULL when the call could not even start (errstr set). */
pw_http_call *pw_http_send(pw_http *h, const char *base_url, const pv_request *req,
                           int64_t timeout_ms, int64_t connect_timeout_ms, pw_http_cb *cb, void *ud,
                           char *errstr, size_t cap);
void pw_http_cancel(pw_http_call *call);

/* Calls in flight. */
size_t pw_http_inflight(const pw_http *h);

#endif
