/* simclient.h -- the harness of the provider-sim integration tests
 * (itest_provider_sim.c: the providers, the control endpoints, the adapters;
 * itest_provider_sim_faults.c: the faults, token expiry, hostile input).
 *
 * DESIGN
 * Every test starts its own provider-sim (--port 0 on 127.0.0.1, seed 7, 20
 * invoices per provider) with it_spawn, reads the listening= line for the
 * port, calls it with libcurl easy the way the adapters do, and stops it
 * with SIGTERM in the teardown, which must end with exit status 0.
 *
 * Answers are compared with the seeds' samples (tests/fixtures) by shape:
 * the same keys and the same JSON types (an integer is not a double),
 * recursively, every array element against the sample's first. Amounts are
 * compared exactly, as pv_money minor units parsed from the number text.
 * Valid ids come from GET /_sim/invoices. One test runs the five adapters
 * of libprovider against the simulator (token, spec, payment, inquiry): the
 * two are independent readings of the same documents, so agreement is news.
 *
 * Timing: latency is checked as a lower bound only; timeouts are generous
 * (the blackhole and late tests give the client 400 ms, then poll the ledger
 * for up to 5 s).
 */
#ifndef SIMCLIENT_H
#define SIMCLIENT_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "itest_util.h"

#define ST_SEED     "7"
#define ST_INVOICES "20"

/* PayOne's merchant and token (the simulator's defaults), as JSON members */
#define ST_PAYONE_AUTH \
    "\"merchantID\":\"testMercahnt\",\"authenticationToken\":\"N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm\""

extern const char *const st_payofin_headers[];
extern const char *const st_paywall_headers[];
extern const char *const st_json_headers[];
extern const char *const st_form_headers[];
extern const char st_isbank_form[];

/* The simulator of the running test. */
typedef struct st_state {
    it_proc sim;
    char base[64];
    int port;
} st_state;

extern st_state st_g;

/* A test with its simulator: started before, stopped (and checked) after. */
#define ST_TEST(t) cmocka_unit_test_setup_teardown(t, st_setup, st_teardown)

/* Runs a binary's tests (an array) as one cmocka group, libcurl set up
 * around them: return ST_RUN("provider-sim", tests); */
#define ST_RUN(group, tests) \
    (st_run_begin(), st_run_end(cmocka_run_group_tests_name(group, tests, NULL, NULL)))
void st_run_begin(void);
int st_run_end(int failed);

typedef struct st_resp {
    CURLcode rc;
    long status;
    char *body, *hdrs;
    size_t len, hlen;
    int64_t ms; /* wall time of the call */
} st_resp;

void st_start(const char *const extra[]);
int st_setup(void **state);
int st_teardown(void **state);
void st_resp_free(st_resp *r);
void st_call(st_resp *r, const char *path, const char *const headers[], const char *body,
             size_t len, long timeout_ms);
void st_get(st_resp *r, const char *path, const char *const headers[]);
void st_post(st_resp *r, const char *path, const char *const headers[], const char *body);
json_object *st_json(const st_resp *r);
json_object *st_at(json_object *o, const char *path);
int64_t st_int(json_object *o, const char *path);
const char *st_str(json_object *o, const char *path);
bool st_bool(json_object *o, const char *path);
int64_t st_minor(json_object *o, const char *path, const char *currency);
void st_assert_shape(const char *fixture, json_object *got);
json_object *st_control(const char *path);
int64_t st_stat(const char *provider, const char *key);
void st_faults(const char *json);
json_object *st_ledger(const char *provider, json_object **root);
char *st_form_encode(const char *text);
void st_payone(st_resp *r, const char *service, const char *json);
void st_token(const char *path, const char *const headers[], const char *form, char *out,
              size_t cap);
void st_payofin_pay(st_resp *r, const char *body);
void st_payofin_refused(const char *body, int64_t code);
void st_sipay_headers(const char *token, char *auth, size_t cap, const char *h[4]);
void st_isbank_headers(const char *token, char *auth, size_t cap, const char *h[5]);
void st_isbank_body(const char *reference, const char *amount, char *buf, size_t cap);
void st_isbank_refused(const char *const h[], const char *body, long http, const char *code);

#endif
