/* pw_opt.h -- one table of long options for the dev tools' command lines.
 *
 * DESIGN
 * A program describes its options once, as a table; the parser, the
 * defaults and --help are all made from it:
 *
 *   static const pw_opt opts[] = {
 *       {"brokers", "N", PW_OPT_INT, offsetof(cfg, brokers), 1, 32, "3",
 *        "number of brokers", NULL},
 *       {"control", "PATH", PW_OPT_PATH, offsetof(cfg, control), 0, 0, NULL,
 *        "control socket", NULL},
 *       {"help", NULL, PW_OPT_HELP, 0, 0, 0, NULL, "this text", NULL},
 *   };
 *   static const pw_opt_table table = {"devkafka", opts, 3};
 *
 * Each option sets one field of the caller's configuration struct, found at
 * its offset: an int64_t (PW_OPT_INT, a whole number in [min, max]), a
 * const char * (PW_OPT_STR: any text; PW_OPT_PATH: not empty), a bool
 * (PW_OPT_FLAG, which takes no value), or whatever a callback makes of the
 * value (PW_OPT_FUNC: fn gets the struct itself, so it may keep a list).
 * Values point into argv (or at the table's default strings): nothing is
 * copied.
 *
 * The command line is `--name value` or `--name=value`, options only (an
 * argument that is not one is refused). Defaults are strings, set through
 * the same rules before argv is read. Problems are told the way the
 * worker's configuration tells them (pw_config.h): the option by name, the
 * value quoted once, an unknown name with the nearest known one ("did you
 * mean --brokers?").
 */
#ifndef PW_OPT_H
#define PW_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum pw_opt_type {
    PW_OPT_INT,  /* int64_t, a whole number in [min, max] */
    PW_OPT_STR,  /* const char *, any text (empty included) */
    PW_OPT_PATH, /* const char *, not empty */
    PW_OPT_FLAG, /* bool, set to true; `--name=value` is refused */
    PW_OPT_FUNC, /* fn(cfg, value, why, cap); no field of its own */
    PW_OPT_HELP, /* --help: pw_opt_parse returns PW_OPT_HELP_ASKED */
} pw_opt_type;

/* A custom type: 0 when value is taken, otherwise -1 with the reason in why
 * (the parser prints it after the option and the quoted value, so the reason
 * does not quote the value again). */
typedef int (*pw_opt_fn)(void *cfg, const char *value, char *why, size_t cap);

typedef struct pw_opt {
    const char *name; /* without the leading "--" */
    const char *arg;  /* the value's name in --help ("N", "PATH"); NULL: none */
    pw_opt_type type;
    size_t offset;    /* of the field in the configuration struct */
    int64_t min, max; /* PW_OPT_INT */
    const char *def;  /* the default as text, or NULL; --help shows it */
    const char *help; /* one line */
    pw_opt_fn fn;     /* PW_OPT_FUNC */
} pw_opt;

typedef struct pw_opt_table {
    const char *prog; /* the program's name, the first word of each error */
    const pw_opt *opts;
    size_t n;
} pw_opt_table;

#define PW_OPT_OK         0
#define PW_OPT_ERROR      -1 /* told on stderr, "prog: ..." */
#define PW_OPT_HELP_ASKED 1

/* Sets the defaults, then reads argv[1..argc). Returns PW_OPT_OK,
 * PW_OPT_HELP_ASKED (the caller prints its usage) or PW_OPT_ERROR. */
int pw_opt_parse(const pw_opt_table *t, void *cfg, int argc, char **argv);

/* The same, with the problem written into err (without "prog: ") instead
 * of stderr. */
int pw_opt_parse_msg(const pw_opt_table *t, void *cfg, int argc, char **argv, char *err,
                     size_t cap);

/* One line an option: "  --name ARG" padded to 30 columns (to the widest
 * one when it is longer, so that the help texts still line up), its help
 * and, when it has one, " (default DEF)". */
void pw_opt_usage(const pw_opt_table *t, FILE *out);

/* Optimal string alignment distance between two names (Damerau-Levenshtein
 * with adjacent transpositions), ASCII case folded; SIZE_MAX when either is
 * longer than PW_OPT_NAME_MAX. What "did you mean" measures. */
#define PW_OPT_NAME_MAX 160
size_t pw_opt_distance(const char *a, const char *b);

#endif
