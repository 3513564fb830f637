/* pw_cmd.h -- one payment command inside the engine, and its state machine
 * (pw_cmd.c has the transition table and the DESIGN). Internal to the
 * engine's files: pw_engine.c, pw_consume.c, pw_cmd.c, pw_prov.c,
 * pw_publish.c, pw_keyq.c. Runs on the engine's loop only. */
#ifndef PW_CMD_H
#define PW_CMD_H

#include <event2/event.h>
#include <stdint.h>

#include "provider.h"
#include "pw_http.h"

#define PW_OUTPUTS_MAX (2 + PV_BALANCES_MAX)

typedef struct pw_engine pw_engine;
typedef struct pw_prov pw_prov;
typedef struct pw_cmd pw_cmd;

typedef enum pw_phase {
    PW_QUEUED,     /* waiting behind the same key, or for a claim retry */
    PW_CLAIMING,   /* store claim in flight */
    PW_WAITING,    /* claimed; waiting for a prerequisite or a call slot */
    PW_CALLING,    /* provider call in flight */
    PW_BACKOFF,    /* claimed; RETRY back-off timer */
    PW_INQUIRING,  /* status inquiry in flight */
    PW_FINISHING,  /* its answer is being recorded in the store */
    PW_PUBLISHING, /* outputs produced, waiting for acks */
    PW_HELD,       /* provider stopped (FATAL) or given back: never answered here */
    PW_PHASES
} pw_phase;

/* What moves a command from one phase to the next (pw_cmd_go). */
typedef enum pw_cmd_event {
    PW_EV_CLAIM,   /* at the head of its key with a slot: the claim is sent */
    PW_EV_REQUEUE, /* the key is held elsewhere, or Redis failed: claim later */
    PW_EV_WAIT,    /* claimed; a call slot or a prerequisite is missing */
    PW_EV_SEND,    /* the provider call is sent */
    PW_EV_BACKOFF, /* RETRY (nothing was sent): call again later */
    PW_EV_INQUIRE, /* UNKNOWN: the provider's status inquiry is sent */
    PW_EV_RECORD,  /* its answer is being recorded (finish, or record) */
    PW_EV_PUBLISH, /* recorded, or nothing to record: its events are produced */
    PW_EV_HOLD,    /* the provider is stopped, or the drain gives its claim back */
    PW_EV_COUNT
} pw_cmd_event;

typedef struct pw_output {
    pw_cmd *cmd; /* its command (delivery reports carry the output) */
    const char *topic;
    char *key; /* the Kafka key, key_len bytes (may hold NUL), NULL: none */
    size_t key_len;
    char *value;
    size_t len;
    int sent, acked;
    int dlq;         /* carries the dead-letter headers */
    size_t orig_len; /* a DLQ copy cut to fit: its length before, else 0 */
    int refused;     /* the producer refused it for good once (logged, counted) */
} pw_output;

struct pw_cmd {
    pw_engine *e;
    int32_t partition;
    int64_t offset;
    char key[PV_ID_MAX + 16]; /* lock key PROVIDER:query_id; "" when rejected early */
    char query_id[PV_ID_MAX];
    char *msg_key; /* the Kafka key it came with, byte for byte; NULL: none */
    size_t msg_key_len;
    char traceparent[128];
    pv_command cmd;
    pw_prov *prov;
    pw_phase phase; /* changed by pw_cmd_go only */
    pv_result *res; /* the provider's answer: from the first call on (pw_cmd_res) */
    pv_status status;
    char reason[PV_ERR_STR_MAX];
    json_object *field_errors;
    char token[40];
    int64_t fence; /* the claim's (claimed), or the answer's event fence */
    int claimed;   /* holds the store's claim: finish records its answer */
    int judged;    /* answered by the store's judgement: record the answer */
    int lean;      /* its result is published without the provider's part (too large) */
    int attempts;
    int auth_retried;
    int64_t first_try_ms; /* first attempt (prerequisite or call): the retry budget */
    char digest[40];
    struct event *timer; /* back-off, busy, claim retry, publish retry */
    struct event *watchdog;
    pw_http_call *call;
    int store_busy;    /* store operations holding the pointer */
    int done_pending;  /* done, freed when store_busy drops to 0 */
    int in_keyq;       /* queued in its key's FIFO */
    int active;        /* counted in e->active */
    pw_cmd *slot_next; /* waiting for an active slot */
    int in_slotq;      /* in the engine's slot list */
    pw_output out[PW_OUTPUTS_MAX];
    int nout;
    int dropped;
    /* dead-letter data (rejected commands only) */
    char *raw;
    size_t raw_len;
    char dlq_field[PV_ERR_FIELD_MAX];
    pw_cmd *key_next;  /* per-key FIFO */
    pw_cmd *wait_next; /* provider wait list */
    pw_cmd *all_prev, *all_next;
};

/* A new command of message (partition, offset), linked in e->all. */
pw_cmd *pw_cmd_new(pw_engine *e, int32_t partition, int64_t offset);
/* Unlinks and frees (pw_engine_free; otherwise through pw_cmd_done). */
void pw_cmd_free(pw_cmd *c);
/* Every output acknowledged, or dropped: frees c, its offset may commit and
 * the next command of its key starts. */
void pw_cmd_done(pw_cmd *c);

/* The next phase for ev (the transition table); logs a missing one. */
void pw_cmd_go(pw_cmd *c, pw_cmd_event ev);

/* At the head of its key: claims it once a slot is free. */
void pw_cmd_start(pw_cmd *c);
/* Claimed: gets what the call needs, then calls the provider. */
void pw_cmd_call(pw_cmd *c);
/* A RETRY outcome (why): back off and call again, or end FAILED. */
void pw_cmd_retry_or_fail(pw_cmd *c, const char *why);
/* A rejected command: a REJECTED result and the original bytes to the DLQ. */
void pw_cmd_reject(pw_cmd *c, const pv_error *err);
/* The drain timed out: gives an idle claim back (1), see pw_cmd.c. */
int pw_cmd_give_back(pw_cmd *c);
/* Runs fn(c) after ms on c's one timer (replacing an armed one). */
void pw_cmd_after(pw_cmd *c, int64_t ms, event_callback_fn fn);

#endif
