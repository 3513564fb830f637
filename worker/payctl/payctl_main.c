/* payctl -- payworker's command-line companion.
 *
 * DESIGN
 *   payctl send   [options] [FILE]   JSON lines -> the commands topic (Avro or JSON)
 *   payctl tail   [options] WHAT     results|balances|dlq|commands -> JSON lines
 *   payctl schema [KIND]             print an embedded schema
 *   payctl lookup PROVIDER QUERY_ID  the idempotency state of one invoice (Redis)
 *   payctl resolve PROVIDER QUERY_ID --paid|--unpaid --reason TEXT [--yes]
 *                                    settle an UNKNOWN after checking with the provider
 *   payctl unknowns [--limit N]      every UNKNOWN invoice, oldest first (Redis)
 * One file a family of subcommands (payctl.h lists them); every subcommand
 * reads its options through one loop, payctl_main_options.
 * It talks to any Kafka through librdkafka: --brokers (or PAYW_BROKERS),
 * properties as -X name=value or PAYW_KAFKA_<PROPERTY> (pw_kafka.h).
 *
 * send validates every line exactly as the worker will decode it (the codec)
 * and reports a bad line by number with the field and the value, sending the
 * rest; --raw sends lines unchecked (to exercise the worker's rejection
 * path). Messages are keyed by the lock key, PROVIDER:query_id, through the
 * idempotent producer (acks=all). Exit status: 0 when every line was
 * delivered, 1 when some were refused or undelivered, 2 on usage errors.
 *
 * tail prints one JSON object per line: the decoded event, or for the
 * dead-letter topic the original bytes (text, or base64 when not UTF-8 JSON)
 * with the reason headers. It reads with a throw-away consumer group and
 * never commits, so it disturbs nobody. -w counts from the join, which has
 * its own bound; when the wait ends a metadata request tells "nothing came"
 * (exit 0) from "no broker answered" (exit 1). Every wait is bounded except
 * following without -w, which runs until ^C.
 *
 * resolve shows the invoice's state and asks on the terminal; without one
 * (stdin not a tty) it refuses unless --yes, so a pipe never answers for an
 * operator. It settles only if the state is still the one shown (status,
 * claimant, fence); the store's script still decides (only UNKNOWN, or
 * INFLIGHT without a lock, is settled).
 */
#include "payctl.h"

#include <stdlib.h>
#include <string.h>

#include "pv_error.h"

volatile sig_atomic_t payctl_main_stop;

static void payctl_main_on_signal(int sig)
{
    (void)sig;
    payctl_main_stop = 1;
}

const char *payctl_main_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

/*---- the options every subcommand reads ----*/

static int payctl_main_kafka_opt(payctl_kafka *k, int opt, const char *arg)
{
    if (opt == 'b') {
        k->brokers = arg;
        return 0;
    }
    if (opt == 'R') {
        k->registry = arg;
        return 0;
    }
    if (opt == 'X') {
        if (k->nprops == PAYCTL_PROPS_MAX) {
            fprintf(stderr, "payctl: too many -X properties (max %d)\n", PAYCTL_PROPS_MAX);
            return -1;
        }
        k->props[k->nprops++] = arg;
        return 0;
    }
    return 1;
}

int payctl_main_options(int argc, char **argv, const char *shortopts, const struct option *longopts,
                        payctl_kafka *k, void (*usage)(FILE *), payctl_main_opt_fn fn, void *ctx)
{
    int opt;
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int rc = k != NULL ? payctl_main_kafka_opt(k, opt, optarg) : 1;
        if (rc < 0)
            return 2;
        if (rc == 0)
            continue;
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        rc = fn(ctx, opt, optarg);
        if (rc < 0) {
            usage(stderr);
            return 2;
        }
        if (rc != 0)
            return rc;
    }
    return PAYCTL_GO_ON;
}

void payctl_main_usage_kafka(FILE *f)
{
    fprintf(f, "  -b, --brokers LIST     bootstrap servers (default $PAYW_BROKERS or "
               "127.0.0.1:9092)\n"
               "  -X NAME=VALUE          librdkafka property (repeatable); also "
               "PAYW_KAFKA_<NAME>\n"
               "  -R, --registry URL     Confluent Schema Registry (default "
               "$PAYW_SCHEMA_REGISTRY_URL;\n"
               "                         none: the local schema ids 1, 2, 3)\n");
}

sc_codec *payctl_main_codec(const payctl_kafka *k, pw_registry **reg, const char *who)
{
    char errstr[512];
    pv_error err = {0};
    const char *url = k->registry != NULL ? k->registry : getenv("PAYW_SCHEMA_REGISTRY_URL");
    sc_codec *c = sc_codec_new(&err);
    *reg = NULL;
    if (c == NULL) {
        fprintf(stderr, "%s: %s\n", who, err.errstr);
        return NULL;
    }
    if (url == NULL || url[0] == '\0')
        return c;
    *reg = pw_registry_new(url, getenv("PAYW_SCHEMA_REGISTRY_USER_INFO"), errstr, sizeof(errstr));
    if (*reg == NULL ||
        pw_registry_setup(*reg, c, payctl_main_env("PAYW_TOPIC_COMMANDS", "payments.commands"),
                          payctl_main_env("PAYW_TOPIC_RESULTS", "payments.results"),
                          payctl_main_env("PAYW_TOPIC_BALANCES", "payments.balances"), errstr,
                          sizeof(errstr)) != 0) {
        fprintf(stderr, "%s: %s\n", who, errstr);
        pw_registry_free(*reg);
        sc_codec_free(c);
        return NULL;
    }
    return c;
}

/*---- main ----*/

static void payctl_main_usage(FILE *f)
{
    fprintf(f, "usage: payctl COMMAND [options]\n"
               "  send    send payment commands (JSON lines) to the commands topic\n"
               "  tail    print results, balances, dead letters or commands as JSON lines\n"
               "  schema  print an embedded Avro schema\n"
               "  lookup  the idempotency state of one invoice (Redis)\n"
               "  resolve settle an invoice whose outcome is UNKNOWN\n"
               "  unknowns list every invoice whose outcome is UNKNOWN\n"
               "Run payctl COMMAND --help for its options.\n");
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = payctl_main_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (argc < 2) {
        payctl_main_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        payctl_main_usage(stdout);
        return 0;
    }
    argc--;
    argv++;
    if (strcmp(cmd, "send") == 0)
        return payctl_send(argc, argv);
    if (strcmp(cmd, "tail") == 0)
        return payctl_tail(argc, argv);
    if (strcmp(cmd, "schema") == 0)
        return payctl_schema(argc, argv);
    if (strcmp(cmd, "lookup") == 0)
        return payctl_store(argc, argv, 0);
    if (strcmp(cmd, "resolve") == 0)
        return payctl_store(argc, argv, 1);
    if (strcmp(cmd, "unknowns") == 0)
        return payctl_store_unknowns(argc, argv);
    fprintf(stderr, "payctl: unknown command \"%s\"\n", cmd);
    payctl_main_usage(stderr);
    return 2;
}
