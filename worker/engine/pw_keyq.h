/* pw_keyq.h -- per-key queues: a FIFO of commands per lock key, in a hash
 * table of the engine's (e->buckets), so that commands of one invoice run one
 * at a time in consumption order while different invoices run concurrently.
 * Internal to the engine's files. */
#ifndef PW_KEYQ_H
#define PW_KEYQ_H

typedef struct pw_engine pw_engine;
typedef struct pw_cmd pw_cmd;

typedef struct pw_keyq {
    char *key;
    pw_cmd *head, *tail;
    struct pw_keyq *next;
} pw_keyq;

/* Appends c to its key's queue; 1 when c is at the head (may start now). */
int pw_keyq_push(pw_engine *e, pw_cmd *c);
/* Removes c (the head or any other); returns the new head when c was it. */
pw_cmd *pw_keyq_remove(pw_engine *e, pw_cmd *c);

#endif
