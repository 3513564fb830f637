/* payctl.h -- what the files of payctl share (the design: payctl_main.c).
 *
 *   payctl_main.c    main(): dispatch and usage; the option loop every
 *                    subcommand runs; the Kafka options and the codec
 *   payctl_send.c    send
 *   payctl_tail.c    tail
 *   payctl_schema.c  schema
 *   payctl_store.c   lookup, resolve and unknowns (Redis)
 *
 * payctl uses the worker's store/, io/ and operations/, never engine/.
 */
#ifndef PAYCTL_H
#define PAYCTL_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "pw_registry.h"
#include "sc_codec.h"

#define PAYCTL_PROPS_MAX 64

/* Set by SIGINT and SIGTERM: send and tail stop at the next message. */
extern volatile sig_atomic_t payctl_main_stop;

/* getenv(name), or dflt when it is unset or empty. */
const char *payctl_main_env(const char *name, const char *dflt);

/* Options every Kafka subcommand takes. */
typedef struct payctl_kafka {
    const char *brokers;
    const char *registry;                    /* schema registry base URL, NULL: local ids */
    const char *props[PAYCTL_PROPS_MAX + 1]; /* NULL-terminated */
    size_t nprops;
} payctl_kafka;

/* A subcommand's own options: 0 when taken, 2 when refused (said on
 * stderr), -1 when opt is not one of them (usage on stderr, exit 2). */
typedef int (*payctl_main_opt_fn)(void *ctx, int opt, const char *arg);

#define PAYCTL_GO_ON -1 /* payctl_main_options: every option read */

/* The one option loop (getopt_long): -b, -X and -R go to k when k is not
 * NULL, -h prints usage on stdout, everything else goes to fn. Returns
 * PAYCTL_GO_ON with optind at the first operand, or the exit status (0
 * after -h, 2 on a usage error). */
int payctl_main_options(int argc, char **argv, const char *shortopts, const struct option *longopts,
                        payctl_kafka *k, void (*usage)(FILE *), payctl_main_opt_fn fn, void *ctx);

/* The Kafka options' lines of a usage text. */
void payctl_main_usage_kafka(FILE *f);

/* A codec with the registry's ids when one is configured (*reg is then
 * kept for learning unknown ids). NULL after printing why. */
sc_codec *payctl_main_codec(const payctl_kafka *k, pw_registry **reg, const char *who);

/* The subcommands: argv[0] is the subcommand's name; each returns the exit
 * status. */
int payctl_send(int argc, char **argv);
int payctl_tail(int argc, char **argv);
int payctl_schema(int argc, char **argv);
int payctl_store(int argc, char **argv, int resolve); /* lookup, resolve */
int payctl_store_unknowns(int argc, char **argv);

#endif
