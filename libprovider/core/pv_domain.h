/* pv_domain.h -- the domain types every layer shares: command, result,
 * balance, outcome class and result status (docs/DESIGN.md §5).
 *
 * DESIGN
 * A command carries the provider's own documented request parameters as a
 * JSON tree (json-c keeps each number's original text, so amounts stay
 * exact); the adapter is the one place that knows their names and types.
 * A result is plain data with fixed-size fields (bounded memory per command)
 * plus an optional operation-specific JSON detail. Ownership: pv_command owns
 * `request`, pv_result owns `detail`; the _clear functions free them.
 */
#ifndef PV_DOMAIN_H
#define PV_DOMAIN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pv_error.h"
#include "pv_money.h"

/* Outcome class of one provider call (DESIGN §3 step 7). */
#define PV_OUTCOME_MAP(XX)                                 \
    XX(SUCCEEDED, "the provider did it")                   \
    XX(DECLINED, "final business refusal")                 \
    XX(RETRY, "provably not processed: safe to try again") \
    XX(UNKNOWN, "may have happened: never retry blindly")  \
    XX(INVALID, "our request was wrong")                   \
    XX(FATAL, "credentials or configuration: stop and alert")

typedef enum pv_outcome {
#define XX(name, doc) PV_OUTCOME_##name,
    PV_OUTCOME_MAP(XX)
#undef XX
        PV_OUTCOME__COUNT
} pv_outcome;

/* Status of a published result event. */
#define PV_STATUS_MAP(XX) \
    XX(SUCCEEDED)         \
    XX(DECLINED)          \
    XX(FAILED)            \
    XX(REJECTED)          \
    XX(EXPIRED)           \
    XX(UNKNOWN)           \
    XX(DUPLICATE)

typedef enum pv_status {
#define XX(name) PV_STATUS_##name,
    PV_STATUS_MAP(XX)
#undef XX
        PV_STATUS__COUNT
} pv_status;

const char *pv_outcome_name(pv_outcome o);
const char *pv_status_name(pv_status s);
/* Look-up by name; -1 when unknown. */
int pv_status_from_name(const char *name);

#define PV_ID_MAX       128 /* command ids, query ids, references */
#define PV_NAME_MAX     64  /* operation, merchant, account names */
#define PV_CODE_MAX     32  /* provider result codes */
#define PV_MSG_MAX      256 /* provider messages */
#define PV_REFS_MAX     8   /* provider references per result */
#define PV_REF_NAME_MAX 48  /* longest reference name + NUL */
#define PV_BALANCES_MAX 2
#define PV_LIMITS_MAX   8
#define PV_BUCKETS_MAX  4

struct pv_provider;

typedef struct pv_command {
    char command_id[PV_ID_MAX];
    const struct pv_provider *provider;
    char operation[PV_NAME_MAX];
    int64_t created_at_ms;
    int64_t expires_at_ms; /* 0 when the command never expires */
    char merchant[PV_NAME_MAX];
    json_object *request; /* provider's documented parameters (owned) */
} pv_command;

/* A named provider reference: "invoicePaymentId", "rrn", ... */
typedef struct pv_ref {
    char name[PV_REF_NAME_MAX];
    char value[PV_ID_MAX];
} pv_ref;

typedef struct pv_limit {
    char name[PV_CODE_MAX];
    pv_money amount;
} pv_limit;

/* A sub-balance (Sipay's payment and cash balances). */
typedef struct pv_bucket {
    char name[PV_CODE_MAX];
    pv_money available;
    pv_money unavailable;
} pv_bucket;

typedef struct pv_balance {
    char account[PV_ID_MAX];
    char currency[4];
    pv_money total;
    pv_money available;   /* unset when the provider gives only a total */
    pv_money unavailable; /* idem */
    pv_bucket buckets[PV_BUCKETS_MAX];
    size_t nbuckets;
    pv_limit limits[PV_LIMITS_MAX];
    size_t nlimits;
} pv_balance;

typedef struct pv_result {
    pv_outcome outcome;
    int http_status;
    char provider_code[PV_CODE_MAX];
    char provider_message[PV_MSG_MAX];
    pv_ref refs[PV_REFS_MAX];
    size_t nrefs;
    pv_money paid;      /* amount the provider says it paid/collected */
    pv_money fee;       /* fee or commission charged for it */
    pv_money charged;   /* total debited, where the provider says so */
    int64_t paid_at_ms; /* 0 when unknown */
    pv_balance balances[PV_BALANCES_MAX];
    size_t nbalances;
    json_object *detail;        /* operation-specific detail (owned), or NULL */
    char error[PV_ERR_STR_MAX]; /* why the body could not be used, "" when it could */
    size_t text_replaced;       /* bytes of the answer that were not UTF-8, read as U+FFFD */
} pv_result;

/* A PaymentResult event: the result of a command plus what the worker knows
 * (DESIGN §5). Pointers are borrowed for the duration of the encode call. */
typedef struct pv_result_event {
    char event_id[PV_ID_MAX];
    char command_id[PV_ID_MAX];         /* "" when a rejected command's id was unreadable */
    const struct pv_provider *provider; /* NULL when unknown (rejected) */
    char operation[PV_NAME_MAX];
    char query_id[PV_ID_MAX];
    pv_status status;
    const pv_result *result; /* provider answer, NULL when no call was made */
    int attempts;            /* provider calls made */
    int64_t fence;           /* claim's fencing token, 0 when none */
    char worker[PV_NAME_MAX];
    int64_t processed_at_ms;
    char reason[PV_ERR_STR_MAX]; /* why, for REJECTED/FAILED/UNKNOWN/EXPIRED */
    json_object *field_errors;   /* borrowed array of {field, value?, error}, or NULL */
} pv_result_event;

/* A BalanceUpdate event. */
typedef struct pv_balance_event {
    char event_id[PV_ID_MAX];
    const struct pv_provider *provider;
    const pv_balance *balance; /* borrowed */
    int64_t observed_at_ms;
    char source_command_id[PV_ID_MAX];
    int64_t fence;
} pv_balance_event;

void pv_command_init(pv_command *cmd);
void pv_command_clear(pv_command *cmd);

void pv_result_init(pv_result *res);
void pv_result_clear(pv_result *res);

/* Adds (or replaces) a reference. Returns PV_ETOOBIG when the table is full,
 * the name does not fit PV_REF_NAME_MAX or the value does not fit PV_ID_MAX:
 * a reference is never stored cut. */
int pv_result_add_ref(pv_result *res, const char *name, const char *value);
/* The value of a reference, NULL when absent. */
const char *pv_result_ref(const pv_result *res, const char *name);

/* Sets provider_code/provider_message (cut to their bounds, at a UTF-8
 * character boundary). */
void pv_result_set_code(pv_result *res, const char *code, const char *message);
/* Sets provider_message only. */
void pv_result_set_message(pv_result *res, const char *message);

/* Records why the body could not be used and sets the outcome. */
void pv_result_fail(pv_result *res, pv_outcome outcome, const pv_error *err);

#endif
