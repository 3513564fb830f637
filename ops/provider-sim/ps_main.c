/* ps_main.c -- the options (one table), start-up and shutdown, main(). */
#include "ps_int.h"
#include "pw_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/*---- Configuration: one table of options (pw_opt; --help is made from it) ----*/

static const pw_opt ps_main_opts[] = {
    {"bind", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.bind), 0, 0, "127.0.0.1",
     "address to listen on", NULL},
    {"port", NULL, PW_OPT_INT, offsetof(ps_sim, cfg.port), 0, 65535, "8090",
     "port to listen on; 0 picks a free one (see the listening= line)", NULL},
    {"seed", NULL, PW_OPT_INT, offsetof(ps_sim, cfg.seed), 0, INT64_MAX, "1",
     "seed of the generated invoices", NULL},
    {"invoices", NULL, PW_OPT_INT, offsetof(ps_sim, cfg.invoices), 1, PS_INVOICES_MAX, "100",
     "invoices (payments, orders) generated per provider", NULL},
    {"token-ttl", NULL, PW_OPT_INT, offsetof(ps_sim, cfg.token_ttl_s), 1, 86400, "3600",
     "lifetime of issued OAuth tokens, seconds", NULL},
    {"max-body", NULL, PW_OPT_INT, offsetof(ps_sim, cfg.max_body), 1024, 16 << 20, "65536",
     "largest request body accepted, bytes (larger: 413)", NULL},
    {"ledger-max", NULL, PW_OPT_INT, offsetof(ps_sim, cfg.ledger_max), 1, 100000000, "1000000",
     "payments kept in the ledger (and İş Bankası references remembered)", NULL},
    {"isbank-service", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.isbank_service), 0, 0,
     "tests/fixtures/isbank/bill-institution-service.response.json",
     "İş Bankası service object served byte for byte (searched from the working directory, "
     "then upwards from the binary)",
     NULL},
    {"fault", NULL, PW_OPT_FUNC, 0, 0, 0, NULL,
     "PROVIDER:key=value[,key=value]: a fault setting at start (repeatable; PROVIDER may be ALL)",
     ps_faults_arg},
    {"verbose", NULL, PW_OPT_FLAG, offsetof(ps_sim, cfg.verbose), 0, 0, NULL,
     "log every request on stderr", NULL},
    {"payofin-api-key", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.payofin_api_key), 0, 0,
     "sim-payofin-api-key", "Payofin ApiKey header", NULL},
    {"payofin-secret-key", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.payofin_secret_key), 0, 0,
     "sim-payofin-secret-key", "Payofin SecretKey header", NULL},
    {"sipay-client-id", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.sipay_client_id), 0, 0,
     "sim-sipay-client", "Sipay OAuth client_id (and x-client-id)", NULL},
    {"sipay-client-secret", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.sipay_client_secret), 0, 0,
     "sim-sipay-secret", "Sipay OAuth client_secret", NULL},
    {"sipay-scope", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.sipay_scope), 0, 0, "sts_business_api",
     "Sipay OAuth scope granted", NULL},
    {"paywall-api-key-public", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.paywall_key_public), 0, 0,
     "sim-paywall-key-public", "Paywall apikeypublic header", NULL},
    {"paywall-api-client-public", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.paywall_client_public), 0,
     0, "sim-paywall-client-public", "Paywall apiclientpublic header", NULL},
    {"isbank-client-id", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.isbank_client_id), 0, 0,
     "sim-isbank-client", "İş Bankası X-IBM-client-id and OAuth client_id", NULL},
    {"isbank-client-secret", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.isbank_client_secret), 0, 0,
     "sim-isbank-secret", "İş Bankası X-IBM-client-secret and OAuth client_secret", NULL},
    {"payone-merchant-id", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.payone_merchant_id), 0, 0,
     "testMercahnt", "PayOne merchantID (the seed's sample request's)", NULL},
    {"payone-authentication-token", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.payone_token), 0, 0,
     "N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm", "PayOne authenticationToken (the seed's sample's)", NULL},
    {"payone-form-field", NULL, PW_OPT_STR, offsetof(ps_sim, cfg.payone_form_field), 0, 0,
     "invoice", "PayOne form parameter carrying the JSON", NULL},
    {"help", NULL, PW_OPT_HELP, 0, 0, 0, NULL, "this text", NULL},
};
const pw_opt_table ps_options = {"provider-sim", ps_main_opts,
                                 sizeof(ps_main_opts) / sizeof(ps_main_opts[0])};

/*---- Start-up ----*/

static void ps_main_usage(FILE *out)
{
    fprintf(out, "usage: provider-sim [--option value | --option=value]...\n"
                 "Simulates Payofin, Sipay, Paywall, İş Bankası and PayOne over HTTP.\n"
                 "Prints listening=ADDRESS:PORT first on stdout. See ops/README.md.\n\n");
    pw_opt_usage(&ps_options, out);
}

/* Returns 0 to run, 1 when --help was printed, -1 on a bad argument. */
static int ps_main_parse_args(ps_sim *sim, int argc, char **argv)
{
    for (int i = 0; i < PS_NPROV; i++)
        ps_faults_default(&sim->faults[i]);
    int rc = pw_opt_parse(&ps_options, sim, argc, argv);
    if (rc == PW_OPT_HELP_ASKED) {
        ps_main_usage(stdout);
        return 1;
    }
    if (rc != PW_OPT_OK)
        return -1;
    memcpy(sim->start_faults, sim->faults, sizeof(sim->faults));
    return 0;
}

/* Reads a whole (small) file; NULL when it cannot. */
static char *ps_main_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (buf != NULL) {
        n = fread(buf, 1, cap + 1, f);
        if (n > cap || ferror(f)) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Loads the İş Bankası service object: the path as given, else (relative)
 * searched upwards from the binary's directory. */
static bool ps_main_load_isbank(ps_sim *sim)
{
    const char *rel = sim->cfg.isbank_service;
    char path[4096], dir[4096];
    size_t len = 0;
    char *raw = ps_main_read_file(rel, &len);
    if (raw == NULL && rel[0] != '/') {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
        if (n > 0) {
            dir[n] = '\0';
            for (int up = 0; up < 8 && raw == NULL; up++) {
                char *slash = strrchr(dir, '/');
                if (slash == NULL)
                    break;
                *slash = '\0';
                if (ps_fmt(path, sizeof(path), "%s/%s", dir, rel))
                    raw = ps_main_read_file(path, &len);
            }
        }
    }
    if (raw == NULL) {
        fprintf(stderr,
                "provider-sim: --isbank-service \"%s\": cannot read it (from the working "
                "directory or above the binary): %s\n",
                rel, strerror(errno));
        return false;
    }
    pv_error err = {0};
    int64_t id;
    if (pv_json_parse(raw, len, "İş Bankası service object", &sim->isbank_spec, &err) != PV_OK ||
        pv_json_int64(pv_json_member(sim->isbank_spec, "data"), "service_id", "data.service_id",
                      true, &id, NULL, &err) != PV_OK) {
        fprintf(stderr, "provider-sim: --isbank-service \"%s\": %s\n", rel, err.errstr);
        pv_error_clear(&err);
        free(raw);
        return false;
    }
    sim->isbank_raw = raw;
    sim->isbank_raw_len = len;
    sim->isbank_service_id = id;
    return true;
}

static void ps_main_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    ps_sim *sim = arg;
    pw_logline l;
    pw_log_begin(&l, PW_LOG_INFO, "stopping");
    pw_log_int(&l, "signal", (int64_t)sig);
    pw_log_int(&l, "held", (int64_t)sim->nheld);
    pw_log_end(&l);
    event_base_loopbreak(sim->base);
}

static void ps_main_shutdown(ps_sim *sim)
{
    /* held requests still attached to a connection go with it in
     * evhttp_free; detached ones are ours */
    while (sim->held_head != NULL) {
        ps_held *h = sim->held_head;
        struct evhttp_request *req = h->call.req;
        ps_server_held_unlink(sim, h);
        free(h);
        if (evhttp_request_get_connection(req) == NULL)
            evhttp_request_free(req);
    }
    if (sim->http != NULL)
        evhttp_free(sim->http);
    if (sim->base != NULL)
        event_base_free(sim->base);
    ps_state_free(&sim->st);
    free(sim->ledger.e);
    json_object_put(sim->isbank_spec);
    free(sim->isbank_raw);
    free(sim->out.data);
}

int main(int argc, char **argv)
{
    static ps_sim sim; /* large: not on the stack */
    struct event *sigterm = NULL, *sigint = NULL;
    int rc = ps_main_parse_args(&sim, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    /* the worker's log lines (logfmt on stderr); --verbose adds one debug
     * line per answer */
    pw_log_setup(sim.cfg.verbose ? PW_LOG_DEBUG : PW_LOG_INFO, 0, 2);
    if (!ps_main_load_isbank(&sim))
        return 2;
    if (!ps_state_generate(&sim.st, &sim.cfg)) {
        fprintf(stderr, "provider-sim: out of memory generating %" PRId64 " invoices\n",
                sim.cfg.invoices);
        ps_main_shutdown(&sim);
        return 1;
    }
    ps_rng_seed(&sim.fault_rng, sim.cfg.seed, 100);
    ps_rng_seed(&sim.token_rng, sim.cfg.seed, 101);
    sim.ledger.next_seq = sim.ledger.base_seq = 1;
    sim.started_ms = ps_time_now_ms();
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    sim.base = event_base_new();
    sim.http = sim.base != NULL ? evhttp_new(sim.base) : NULL;
    if (sim.http == NULL) {
        fprintf(stderr, "provider-sim: cannot create the event loop\n");
        ps_main_shutdown(&sim);
        return 1;
    }
    evhttp_set_max_body_size(sim.http, (ev_ssize_t)sim.cfg.max_body);
    evhttp_set_max_headers_size(sim.http, PS_HEADERS_MAX);
    evhttp_set_timeout(sim.http, PS_IDLE_TIMEOUT_S);
    evhttp_set_default_content_type(sim.http, PS_JSON_TYPE);
    evhttp_set_gencb(sim.http, ps_server_on_request, &sim);
    /* the handlers are in place before the listening= line: a SIGTERM sent
     * right after reading it stops the simulator cleanly */
    sigterm = evsignal_new(sim.base, SIGTERM, ps_main_on_signal, &sim);
    sigint = evsignal_new(sim.base, SIGINT, ps_main_on_signal, &sim);
    if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
        event_add(sigint, NULL) != 0) {
        fprintf(stderr, "provider-sim: cannot install signal handlers\n");
        rc = 1;
        goto out;
    }
    struct evhttp_bound_socket *bound =
        evhttp_bind_socket_with_handle(sim.http, sim.cfg.bind, (ev_uint16_t)sim.cfg.port);
    if (bound == NULL) {
        fprintf(stderr, "provider-sim: cannot listen on %s:%" PRId64 ": %s\n", sim.cfg.bind,
                sim.cfg.port, strerror(errno));
        rc = 1;
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int port = (int)sim.cfg.port;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0)
        port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    bool v6 = strchr(sim.cfg.bind, ':') != NULL;
    printf("listening=%s%s%s:%d\n", v6 ? "[" : "", sim.cfg.bind, v6 ? "]" : "", port);
    fflush(stdout);

    pw_logline l;
    pw_log_begin(&l, PW_LOG_INFO, "started");
    pw_log_int(&l, "port", port);
    pw_log_int(&l, "seed", sim.cfg.seed);
    pw_log_int(&l, "invoices", sim.cfg.invoices);
    pw_log_int(&l, "isbank_service", sim.isbank_service_id);
    pw_log_end(&l);
    event_base_dispatch(sim.base);
out:
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    ps_main_shutdown(&sim);
    libevent_global_shutdown();
    return rc;
}
