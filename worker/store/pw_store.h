/* pw_store.h -- the Redis idempotency store: claims, fences and every
 * command's own answer.
 *
 * DESIGN
 * The store decides every final answer: per invoice (may it be paid?) and
 * per command (what was this command answered?). One invoice (one lock key
 * K = "PROVIDER:query_id") is these keys, all under K's hash tag:
 *
 *   payw:{K}:state      hash: the invoice. status, command_id (the last
 *                       claimant), digest, fence, fence_seq, worker,
 *                       started_at, result, finished_at, unknown_*, resolved_*
 *   payw:{K}:lock       string: the claiming attempt's token, PX ttl
 *   payw:{K}:cmd:<id>   hash: command <id>'s own answer: status (SUCCEEDED,
 *                       DECLINED, FAILED, REJECTED, EXPIRED, DUPLICATE or
 *                       UNKNOWN), result (the result event, as published),
 *                       fence, at, digest
 *   payw:{K}:cmds       set: the ids that have a record (lookup)
 *
 * and two indexes (sorted sets of K): payw:unknowns (UNKNOWN invoices by the
 * time they became so) and payw:inflight (claimed invoices by claim time, so
 * that a claim whose worker died is found without a KEYS scan). The indexes
 * are single keys: the store runs on one Redis (with replicas), not on a
 * Redis Cluster.
 *
 * Invoice status: INFLIGHT (claimed, the provider may be being called),
 * DONE (paid), RELEASED (proved unpaid: declined, failed, invalid, expired
 * claims given back) or UNKNOWN (may have been paid: only an operator or a
 * status inquiry settles it). Each operation is one Lua script (atomic;
 * worker/store/scripts/<operation>.lua, compiled in), loaded with SCRIPT
 * LOAD on connect and run with EVALSHA (EVAL when Redis answers NOSCRIPT,
 * e.g. after a SCRIPT FLUSH or a failover).
 *
 * The life of a command in the store (claim's order of judgement):
 *   1. it has a final record          -> ANSWERED with it (its stored event):
 *                                        the same answer every time, never a
 *                                        provider call, whatever other commands
 *                                        did to the invoice since
 *   2. the lock is held               -> BUSY (the same token and command get
 *                                        CLAIMED again: a retried claim whose
 *                                        reply was lost)
 *   3. INFLIGHT without a lock        -> the worker died mid-call: marked
 *                                        UNKNOWN (indexed), then as 4
 *   4. UNKNOWN                        -> ANSWERED with its UNKNOWN record if it
 *                                        has one, else UNKNOWN: never a call
 *   5. DONE                           -> DONE (another command paid it:
 *                                        DUPLICATE), CONFLICT if its request
 *                                        digest differs
 *   6. past its expires_at            -> EXPIRED (never claimed; not recorded
 *                                        until record)
 *   7. otherwise (no state, RELEASED) -> lock set, fence_seq incremented,
 *                                        INFLIGHT, CLAIMED with the new fence
 * Expiry is judged only after 1-5: a paid command gets its stored result and
 * an UNKNOWN one UNKNOWN, however late it is redelivered or replayed.
 *
 * extend: re-arms the lock if it still holds our token -> OK, else LOST.
 * finish: the claimant's outcome. Writes the invoice's status/result only if
 *   the state still carries our fence (else FENCED), re-arms the state's TTL
 *   to the retention (UNKNOWN: PERSIST and indexed), deletes the lock if
 *   ours, and writes the command's record with its answer unless it already
 *   has a final one. answer NULL gives the claim back unanswered (RELEASED,
 *   no record): a provider stopped by FATAL, or a drain that timed out with
 *   nothing in flight; the command claims again later.
 * record: an answer decided without a claim (DUPLICATE, EXPIRED, UNKNOWN, or
 *   the event of a record that has none yet) -> OK; a final record already
 *   there wins (ANSWERED with it); an UNKNOWN record gives way to a final
 *   answer (the invoice was settled since).
 * UNKNOWN never expires (finish or an expired in-flight claim PERSISTs the
 *   state and the command's record): a payment that may have happened blocks
 *   its key until an operator or an inquiry resolves it; resolve sets the
 *   retention again.
 * resolve (operators): UNKNOWN (or INFLIGHT without a lock) -> DONE if paid,
 *   RELEASED if not, with resolved_by/reason/at, and a new fence so a worker
 *   still holding the old one cannot overwrite the decision; the command
 *   whose call was unknown gets its answer (SUCCEEDED or FAILED, its event
 *   built and recorded by the worker that meets it next) -> OK; NOT_UNKNOWN
 *   with the current status otherwise; NOT_FOUND without state.
 * lookup: every field of the state hash, the PTTL of both keys and every
 *   command record (id, status, at, fence).
 * unknowns (payctl): turns claims whose lock is gone into UNKNOWN, then
 *   lists every UNKNOWN invoice, oldest first.
 *
 * Retention: records and settled states live PAYW_RETENTION_S (7 days). A
 * command older than that cannot be judged (its invoice's record may be
 * gone): the worker refuses it before asking the store (pw_engine.c).
 *
 * Threads and loop: a pw_store lives on one libevent loop and is used from that
 * loop's thread only. Every callback runs from the loop, never from inside the
 * call that started the operation (pw_store_free excepted, see there).
 *
 * Availability: the store connects asynchronously (AUTH and SELECT when the URL
 * asks, then SCRIPT LOAD) and is ready once the scripts are loaded. While it is
 * not ready, operations are answered ERROR "redis unavailable: ..." on the next
 * loop iteration; it reconnects by itself with exponential backoff (jittered).
 * When the connection drops, or a command gets no answer within the command
 * timeout, the connection is closed, every operation sent on it is answered
 * ERROR and the state callback says DOWN; UP again once reconnected. A
 * heartbeat PING makes an idle store notice too. Every accepted operation is
 * answered exactly once.
 *
 * An ERROR answer to a claim does not prove the claim was not applied (the
 * reply may have been lost). The caller must not call the provider; it may
 * retry the claim with the same token and command id, which answers CLAIMED
 * with the same fence while the lock it set is still alive.
 */
#ifndef PW_STORE_H
#define PW_STORE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct pw_store pw_store;

typedef enum pw_store_outcome {
    PW_STORE_ERROR = 0,   /* we could not do our job: see reply->error */
    PW_STORE_CLAIMED,     /* claim: ours; call the provider under reply->fence */
    PW_STORE_DONE,        /* claim: already paid; reply->result is the stored result */
    PW_STORE_BUSY,        /* claim: another attempt holds the lock for reply->busy_ms */
    PW_STORE_UNKNOWN,     /* claim: outcome unknown; never call the provider */
    PW_STORE_CONFLICT,    /* claim: same key, different request digest */
    PW_STORE_RELEASED,    /* claim: this command already ended unpaid */
    PW_STORE_OK,          /* extend, finish, resolve, lookup: done */
    PW_STORE_LOST,        /* extend: the lock is no longer ours */
    PW_STORE_FENCED,      /* finish: someone else owns the key now; nothing written */
    PW_STORE_NOT_UNKNOWN, /* resolve: the status (reply->status) is not UNKNOWN */
    PW_STORE_NOT_FOUND,   /* resolve, lookup: no state under this key */
    PW_STORE_ANSWERED,    /* claim, record: the command has its own answer already:
                             reply->status and reply->result (may be empty: build it) */
    PW_STORE_EXPIRED      /* claim: never claimed and past its expires_at; not claimed */
} pw_store_outcome;

/* "CLAIMED", "DONE", ...; "ERROR" for values out of range. */
const char *pw_store_outcome_name(pw_store_outcome outcome);

/* One field of the state hash (lookup). name is NUL-terminated; value holds
 * len bytes and is NUL-terminated too (binary values may contain NULs). */
typedef struct pw_store_field {
    const char *name;
    const unsigned char *value;
    size_t len;
} pw_store_field;

/* One command record (lookup). status is the command's answer (SUCCEEDED,
 * FAILED, ..., UNKNOWN), or EXPIRED_FROM_STORE once its record is gone. */
typedef struct pw_store_cmdrec {
    const char *command_id;
    const char *status;
    int64_t at_ms;
    int64_t fence;
} pw_store_cmdrec;

/* One UNKNOWN invoice (unknowns). */
typedef struct pw_store_unknown {
    const char *key; /* "PROVIDER:query_id" */
    int64_t since_ms;
    const char *command_id; /* the command whose call may have paid */
    const char *reason;
    const char *worker;
    int64_t started_ms; /* when that call's claim was taken */
} pw_store_unknown;

/* The answer to one operation. Async: the reply, its strings and its bytes are
 * valid only during the callback (they point into hiredis's reply); copy what
 * you keep. Strings are never NULL ("" when absent). */
typedef struct pw_store_reply {
    pw_store_outcome outcome;
    int64_t fence;                /* CLAIMED: ours; DONE/UNKNOWN/RELEASED/CONFLICT: stored */
    int64_t busy_ms;              /* BUSY: the lock's PTTL */
    const unsigned char *result;  /* DONE/UNKNOWN/RELEASED: stored result (may be empty) */
    size_t result_len;            /* NUL-terminated beyond result_len */
    const char *command_id;       /* DONE/UNKNOWN/RELEASED/CONFLICT: stored command id */
    const char *status;           /* stored status (CONFLICT, NOT_UNKNOWN, resolve OK) */
    const char *error;            /* ERROR: what went wrong */
    const pw_store_field *fields; /* lookup: the state hash */
    size_t nfields;
    int64_t lock_pttl_ms;        /* lookup: lock PTTL (-2: no lock, -1: no expiry) */
    int64_t state_pttl_ms;       /* lookup: state PTTL (-2: no state, -1: no expiry) */
    const pw_store_cmdrec *cmds; /* lookup: the invoice's command records */
    size_t ncmds;
    const pw_store_unknown *unknowns; /* unknowns: oldest first */
    size_t nunknowns;
} pw_store_reply;

/* reply is owned by the store (see pw_store_reply). */
typedef void (*pw_store_cb)(void *ud, const pw_store_reply *reply);

typedef enum pw_store_state { PW_STORE_DOWN = 0, PW_STORE_UP = 1 } pw_store_state;

/* Called on each change: UP once connected and the scripts are loaded, DOWN
 * when a connection is lost or the first attempt fails (why says what
 * happened; it names the address, never the password; valid during the call).
 * Not called again for each failed retry, nor once pw_store_free was called. */
typedef void (*pw_store_state_cb)(void *ud, pw_store_state state, const char *why);

typedef struct pw_store_options {
    int command_timeout_ms;  /* no answer within this: ERROR and reconnect (2000) */
    int connect_timeout_ms;  /* connect + AUTH/SELECT + SCRIPT LOAD (2000) */
    int backoff_min_ms;      /* first reconnect delay (100), doubling ... */
    int backoff_max_ms;      /* ... up to this (5000); each delay jittered in [d/2, d] */
    int replicas;            /* > 0: WAIT for this many replicas after a claim (0) */
    int replicas_timeout_ms; /* WAIT's timeout (500) */
    int64_t retention_ms;    /* default state retention after finish/resolve (7 days) */
    int ping_interval_ms;    /* heartbeat PING period while ready, 0: none (1000) */
} pw_store_options;

/* Fills the defaults above. */
void pw_store_options_init(pw_store_options *opts);

/* Checks url as pw_store_new would parse it, connecting nowhere: 0, or -1
 * with errstr saying why. The message quotes the URL as pw_store_url_shown
 * shows it: never the password (the configuration checks PAYW_REDIS_URL with
 * it before anything starts). */
int pw_store_url_check(const char *url, char *errstr, size_t cap);

/* url for messages and --print-config: the password, if any, replaced by
 * "***" ("redis://:***@host:6379"); a part before '@' without ':' is taken
 * for a password too. */
void pw_store_url_shown(const char *url, char *buf, size_t cap);

/* A new store connecting to url: redis://[[user]:password@]host[:port][/db]
 * (host may be [IPv6]; port 6379; user and password may be %-encoded) or
 * unix:///path/to/redis.sock[?db=N]. opts may be NULL (defaults; copied).
 * state_cb may be NULL. The first connection attempt starts on the next loop
 * iteration. NULL with errstr filled on a bad URL or option. Free it before
 * its event_base. */
pw_store *pw_store_new(struct event_base *base, const char *url, const pw_store_options *opts,
                       pw_store_state_cb state_cb, void *state_ud, char *errstr, size_t cap);

/* Cancels everything and frees the store (NULL allowed). The callback of every
 * pending operation is called with ERROR "store closed", exactly once, from
 * inside this call. Called from a store callback, the store is closed when
 * that callback returns (before control goes back to the loop); operations
 * started from those "store closed" callbacks are refused (-1). */
void pw_store_free(pw_store *store);

/* 1 when connected with the scripts loaded (what /readyz reports). */
int pw_store_ready(const pw_store *store);

/* Fills buf with a random 32-hex-digit claim token (cap >= 33). 0 or -1. */
int pw_store_token(char *buf, size_t cap);

/* Every operation returns 0 when accepted: cb will be called exactly once,
 * later, from the loop. It returns -1 for an invalid argument (NULL, an empty
 * or over-long key, a bad status) or when the store is closing: cb is then
 * never called. Redis being unavailable is an ERROR answer, not -1. The
 * argument structs and strings are copied; they need not outlive the call. */

typedef struct pw_store_claim_args {
    const char *key;        /* lock key "PROVIDER:query_id" (max 512 bytes) */
    const char *token;      /* this attempt's random token (pw_store_token) */
    int64_t ttl_ms;         /* lock TTL: provider timeout + margin */
    const char *command_id; /* the command being processed */
    const char *digest;     /* digest of the request parameters */
    const char *worker;     /* this worker's name (recorded) */
    int64_t now_ms;         /* wall clock, ms since the epoch; 0: now */
    int64_t expires_at_ms;  /* the command's expires_at; 0: none */
} pw_store_claim_args;

int pw_store_claim(pw_store *store, const pw_store_claim_args *args, pw_store_cb cb, void *ud);

/* Re-arms the lock to ttl_ms if it still holds token: OK or LOST. */
int pw_store_extend(pw_store *store, const char *key, const char *token, int64_t ttl_ms,
                    pw_store_cb cb, void *ud);

typedef struct pw_store_finish_args {
    const char *key;
    int64_t fence;               /* from CLAIMED */
    const char *token;           /* the claim's token: the lock is deleted if ours */
    pw_store_outcome status;     /* PW_STORE_DONE, PW_STORE_RELEASED or PW_STORE_UNKNOWN */
    const unsigned char *result; /* stored as is (binary-safe); may be NULL if len 0 */
    size_t result_len;           /* max 16 MiB */
    int64_t retention_ms;        /* state TTL from now; 0: the store's default */
    const char *reason;          /* UNKNOWN: why (recorded as unknown_reason); may be NULL */
    int64_t now_ms;              /* 0: now */
    const char *command_id;      /* the claiming command */
    const char *answer;          /* its answer ("SUCCEEDED", ...: its record gets result),
                                    or NULL: the claim is given back unanswered (nothing
                                    was sent; the command may claim again) */
    const char *digest;          /* recorded with the answer */
} pw_store_finish_args;

/* OK, or FENCED when the state no longer carries this fence (the invoice is
 * left alone; the command's answer is recorded all the same). */
int pw_store_finish(pw_store *store, const pw_store_finish_args *args, pw_store_cb cb, void *ud);

typedef struct pw_store_record_args {
    const char *key;
    const char *command_id;
    const char *answer;          /* "DUPLICATE", "EXPIRED", "UNKNOWN", ... */
    const unsigned char *result; /* the result event (binary-safe) */
    size_t result_len;
    int64_t fence; /* the event's fence (0 when none) */
    const char *digest;
    int64_t retention_ms; /* 0: the store's default */
    int64_t now_ms;       /* 0: now */
} pw_store_record_args;

/* Records an answer decided without a claim. OK (ours is recorded: publish
 * it), or ANSWERED with the command's earlier final answer (publish that). */
int pw_store_record(pw_store *store, const pw_store_record_args *args, pw_store_cb cb, void *ud);

typedef struct pw_store_resolve_args {
    const char *key;
    int paid;                  /* 1: DONE, 0: RELEASED */
    const char *reason;        /* recorded as resolved_reason */
    const char *operator_name; /* recorded as resolved_by */
    int64_t now_ms;            /* 0: now */
    int64_t retention_ms;      /* 0: the default (7 days) */
} pw_store_resolve_args;

/* OK (reply->status: the new status), NOT_UNKNOWN (reply->status: the current
 * one) or NOT_FOUND. */
int pw_store_resolve(pw_store *store, const pw_store_resolve_args *args, pw_store_cb cb, void *ud);

/* OK with the fields and PTTLs, or NOT_FOUND (the lock PTTL is still given). */
int pw_store_lookup(pw_store *store, const char *key, pw_store_cb cb, void *ud);

/*---- Synchronous helpers (payctl): hiredis's blocking API, no event loop ----*/

typedef struct pw_store_sync pw_store_sync;

/* Connects (AUTH/SELECT as the URL says), each step bounded by timeout_ms
 * (0: 2000). NULL with errstr filled. */
pw_store_sync *pw_store_sync_new(const char *url, int timeout_ms, char *errstr, size_t cap);
void pw_store_sync_free(pw_store_sync *sync);

/* Same scripts and replies as the async operations. The reply is owned by the
 * caller and freed with pw_store_reply_free (its strings live as long as it);
 * NULL only when out of memory or given an invalid argument. */
pw_store_reply *pw_store_sync_lookup(pw_store_sync *sync, const char *key);
pw_store_reply *pw_store_sync_resolve(pw_store_sync *sync, const pw_store_resolve_args *args);
/* Every UNKNOWN invoice, oldest first (at most limit), after turning claims
 * whose worker died into UNKNOWN (as their next claim would). */
pw_store_reply *pw_store_sync_unknowns(pw_store_sync *sync, size_t limit);
void pw_store_reply_free(pw_store_reply *reply);

#endif
