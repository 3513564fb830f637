/* pw_store_int.h -- what the store's files share and nothing outside
 * worker/store/ may use: limits, the script table, the address, the script
 * arguments, the parsed reply and the async store's structures. The contract
 * is pw_store.h (its DESIGN comment is the state machine); how the async
 * store works is the DESIGN (implementation) comment of pw_store.c.
 *
 *   pw_store.c         the async store: its life, the connection, the API
 *   pw_store_op.c      the async operations: queueing, sending, answering
 *   pw_store_url.c     Redis URLs: parsing and showing without the password
 *   pw_store_args.c    each operation's KEYS and ARGV, checked
 *   pw_store_reply.c   a script's answer parsed into a pw_store_reply
 *   pw_store_script.c  the Lua scripts (scripts/NAME.lua, compiled in)
 *   pw_store_sync.c    the synchronous helpers (payctl)
 */
#ifndef PW_STORE_INT_H
#define PW_STORE_INT_H

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "pw_store.h"

#define PW_STORE_KEY_MAX    512
#define PW_STORE_ARG_MAX    1024 /* tokens, ids, digests, names, reasons */
#define PW_STORE_RESULT_MAX (16 * 1024 * 1024)
#define PW_STORE_NARGS_MAX  16 /* KEYS[1..6] + up to 10 ARGV */
#define PW_STORE_WHY_MAX    512
#define PW_STORE_DAY_MS     (24LL * 3600 * 1000)

/*---- Lua scripts ----------------------------------------------------------*/
/* Every script answers an array whose first six elements are strings:
 * {outcome, fence, busy_ms, command_id, result, status}. lookup appends
 * {HGETALL of the state, lock PTTL, state PTTL, the command records};
 * unknowns appends its list. Every script gets the same six KEYS:
 *   KEYS[1] payw:{K}:state      the invoice's state (hash)
 *   KEYS[2] payw:{K}:lock       the claim's lock (string, PX)
 *   KEYS[3] payw:{K}:cmd:<id>   the command's own record (hash; "<id>" empty
 *                               for the scripts that take no command)
 *   KEYS[4] payw:{K}:cmds       the ids of the invoice's command records (set)
 *   KEYS[5] payw:unknowns       UNKNOWN invoices by time (zset of K)
 *   KEYS[6] payw:inflight       claimed invoices by claim time (zset of K)
 * K, the lock key, is read back from KEYS[1] (the name between "payw:{" and
 * "}:state"). */

enum {
    PW_SCRIPT_PING = -1, /* not a script: the heartbeat */
    PW_SCRIPT_CLAIM,
    PW_SCRIPT_EXTEND,
    PW_SCRIPT_FINISH,
    PW_SCRIPT_RECORD,
    PW_SCRIPT_RESOLVE,
    PW_SCRIPT_LOOKUP,
    PW_SCRIPT_UNKNOWNS,
    PW_SCRIPT_COUNT
};

#define PW_STORE_NKEYS_STR "6" /* every script gets the same six KEYS */

/* "claim", "extend", ... (messages) and the scripts' text, by PW_SCRIPT_* */
extern const char *const pw_store_script_name[PW_SCRIPT_COUNT];
extern const char *const pw_store_lua[PW_SCRIPT_COUNT];

/*---- Outcomes (pw_store.c) ------------------------------------------------*/

/* The outcomes' names as the scripts answer them, by pw_store_outcome:
 * pw_store_noutcomes of them. */
extern const char *const pw_store_outcome_names[];
extern const size_t pw_store_noutcomes;

/*---- Addresses (pw_store_url.c) -------------------------------------------*/

typedef struct pw_store_addr {
    int is_unix;
    char host[200]; /* TCP: host name or address, without brackets */
    int port;
    char path[200]; /* unix: socket path */
    int has_auth;
    char user[128]; /* "" when none: AUTH password */
    char pass[256];
    long db;
    char display[256]; /* for messages: never the password */
} pw_store_addr;

/* Every message quotes the URL as pw_store_url_shown shows it: never the
 * password. 0, or -1 with errstr filled. */
int pw_store_url_parse(const char *url, pw_store_addr *a, char *errstr, size_t cap);

/*---- Reply parsing (pw_store_reply.c, shared by async and sync) -----------*/

void pw_store_reply_init(pw_store_reply *r);

/* What a parsed answer points into besides hiredis's reply (freed with
 * pw_store_reply_parsed_clear). */
typedef struct pw_store_parsed {
    pw_store_field *fields;
    pw_store_cmdrec *cmds;
    pw_store_unknown *unknowns;
} pw_store_parsed;
void pw_store_reply_parsed_clear(pw_store_parsed *p);

/* Fills out from script's answer. out points into r and into *p, which the
 * caller clears. On a malformed answer: ERROR with the reason in err. */
void pw_store_reply_parse(const redisReply *r, int script, pw_store_reply *out, pw_store_parsed *p,
                          char *err, size_t cap);

/*---- Arguments (pw_store_args.c) ------------------------------------------*/

/* The script arguments of one operation: KEYS[1], KEYS[2], then ARGV. */
typedef struct pw_store_args {
    int n;
    char *v[PW_STORE_NARGS_MAX];
    size_t len[PW_STORE_NARGS_MAX];
} pw_store_args;

void pw_store_args_clear(pw_store_args *a);
int64_t pw_store_args_now_ms(void);

/* Builds the arguments of each operation; -1 on an invalid argument. */
int pw_store_args_build_claim(pw_store_args *a, const pw_store_claim_args *c, int64_t retention_ms);
int pw_store_args_build_extend(pw_store_args *a, const char *key, const char *token,
                               int64_t ttl_ms);
int pw_store_args_build_finish(pw_store_args *a, const pw_store_finish_args *f,
                               int64_t retention_ms);
int pw_store_args_build_record(pw_store_args *a, const pw_store_record_args *r,
                               int64_t retention_ms);
int pw_store_args_build_resolve(pw_store_args *a, const pw_store_resolve_args *r,
                                int64_t retention_ms);
int pw_store_args_build_lookup(pw_store_args *a, const char *key);
int pw_store_args_build_unknowns(pw_store_args *a, size_t limit);

/*---- The async store (pw_store.c, pw_store_op.c) --------------------------*/

typedef struct pw_store_op pw_store_op;

struct pw_store_op {
    pw_store_op *prev, *next; /* in store->ops, or a private chain being answered */
    int linked;               /* in store->ops */
    pw_store *store;          /* NULL once answered */
    int script;
    pw_store_cb cb;
    void *ud;
    struct event *timer; /* command timeout, or the deferred answer */
    int in_redis;        /* hiredis holds a reply callback for this op */
    int deferred;        /* not sent: answered ERROR by the timer */
    int fallback;        /* sent again as EVAL after NOSCRIPT */
    int waiting;         /* claim done, WAIT sent */
    int64_t fence;       /* the claim's fence while waiting */
    pw_store_args args;
    char error[PW_STORE_WHY_MAX];
};

struct pw_store {
    struct event_base *base;
    pw_store_addr addr;
    pw_store_options opts;
    pw_store_state_cb state_cb;
    void *state_ud;

    redisAsyncContext *ac; /* current connection or NULL */
    int ready;             /* connected, authenticated, scripts loaded */
    int handshake_left;    /* replies still expected before ready */
    char sha[PW_SCRIPT_COUNT][41];
    struct event *retry_timer;     /* next connection attempt */
    struct event *handshake_timer; /* connect_timeout_ms for the handshake */
    struct event *ping_timer;      /* heartbeat while ready (ping_interval_ms) */
    int ping_out;                  /* a heartbeat PING is unanswered */
    int attempt;                   /* failed attempts since the last success */
    int reported;                  /* last state given to state_cb, -1: none */
    char why[PW_STORE_WHY_MAX];    /* why the store is not ready */
    uint64_t rng;

    pw_store_op *ops; /* unanswered operations */
    int depth;        /* entry points currently on the stack */
    int closing;      /* pw_store_free was called */
};

/* Entry points from the loop bracket their work with these; after
 * pw_store_leave the caller must not touch s: it may have been freed. */
void pw_store_enter(pw_store *s);
void pw_store_leave(pw_store *s);
void pw_store_timeval(struct timeval *tv, int64_t ms);

/* Letting go of the connection: hiredis is tearing ac down by itself (lost),
 * or we close it (drop; why is the full message). */
void pw_store_lost(pw_store *s, redisAsyncContext *ac, const char *why);
void pw_store_drop(pw_store *s, const char *why);

/* Takes an op whose args are built; answers it through the loop. */
int pw_store_op_submit(pw_store *s, int script, pw_store_args *args, pw_store_cb cb, void *ud);

/* Moves the ops matching (all, or only those sent on the connection) out of
 * the store into a private chain, then answers each ERROR why. */
void pw_store_op_fail_all(pw_store *s, int only_sent, const char *why);

/*---- Synchronous helpers (pw_store_sync.c, pw_store_reply.c) --------------*/

/* The caller's reply and what it points into. pub comes first: a
 * pw_store_reply * is a pw_store_sync_reply *. */
typedef struct pw_store_sync_reply {
    pw_store_reply pub;
    redisReply *raw;
    pw_store_parsed parsed;
    char error[PW_STORE_WHY_MAX];
} pw_store_sync_reply;

#endif
