/* pw_store_args.c -- the script arguments of each operation (the six KEYS,
 * then ARGV), copied and checked: an invalid argument is refused here,
 * before anything is sent. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pw_alloc.h"
#include "pw_store_int.h"

void pw_store_args_clear(pw_store_args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

static int pw_store_args_add(pw_store_args *a, const void *data, size_t len)
{
    if (a->n >= PW_STORE_NARGS_MAX)
        return -1;
    char *copy = pw_alloc_malloc(len + 1);
    if (copy == NULL)
        return -1;
    if (len > 0)
        memcpy(copy, data, len);
    copy[len] = '\0';
    a->v[a->n] = copy;
    a->len[a->n] = len;
    a->n++;
    return 0;
}

static int pw_store_args_str(pw_store_args *a, const char *s)
{
    return pw_store_args_add(a, s, strlen(s));
}

static int pw_store_args_i64(pw_store_args *a, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
    return pw_store_args_add(a, buf, (size_t)n);
}

/* The six KEYS of every script (see the scripts); command_id may be "". */
static int pw_store_args_keys(pw_store_args *a, const char *key, const char *command_id)
{
    char buf[PW_STORE_KEY_MAX + PW_STORE_ARG_MAX + 32];
    static const char *const fmt[4] = {"payw:{%s}:state", "payw:{%s}:lock", "payw:{%s}:cmd:%s",
                                       "payw:{%s}:cmds"};
    for (int i = 0; i < 4; i++) {
        int n = snprintf(buf, sizeof(buf), fmt[i], key, command_id);
        if (pw_store_args_add(a, buf, (size_t)n) != 0)
            return -1;
    }
    if (pw_store_args_str(a, "payw:unknowns") != 0 || pw_store_args_str(a, "payw:inflight") != 0)
        return -1;
    return 0;
}

/* A required string argument: non-NULL, non-empty, bounded. */
static int pw_store_args_valid(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

int64_t pw_store_args_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *pw_store_args_final_name(pw_store_outcome status)
{
    switch (status) {
    case PW_STORE_DONE:
        return "DONE";
    case PW_STORE_RELEASED:
        return "RELEASED";
    case PW_STORE_UNKNOWN:
        return "UNKNOWN";
    default:
        return NULL;
    }
}

/* Builds the arguments of each operation; -1 on an invalid argument. */
int pw_store_args_build_claim(pw_store_args *a, const pw_store_claim_args *c, int64_t retention_ms)
{
    if (c == NULL || !pw_store_args_valid(c->key, PW_STORE_KEY_MAX) ||
        !pw_store_args_valid(c->token, PW_STORE_ARG_MAX) ||
        !pw_store_args_valid(c->command_id, PW_STORE_ARG_MAX) ||
        !pw_store_args_valid(c->digest, PW_STORE_ARG_MAX) ||
        (c->worker != NULL && strlen(c->worker) > PW_STORE_ARG_MAX) || c->ttl_ms <= 0 ||
        c->expires_at_ms < 0)
        return -1;
    int64_t ceiling = c->ttl_ms > retention_ms ? c->ttl_ms : retention_ms;
    if (pw_store_args_keys(a, c->key, c->command_id) != 0 || pw_store_args_str(a, c->token) != 0 ||
        pw_store_args_i64(a, c->ttl_ms) != 0 || pw_store_args_str(a, c->command_id) != 0 ||
        pw_store_args_str(a, c->digest) != 0 ||
        pw_store_args_str(a, c->worker != NULL ? c->worker : "") != 0 ||
        pw_store_args_i64(a, c->now_ms > 0 ? c->now_ms : pw_store_args_now_ms()) != 0 ||
        pw_store_args_i64(a, ceiling) != 0 || pw_store_args_i64(a, c->expires_at_ms) != 0)
        return -1;
    return 0;
}

int pw_store_args_build_extend(pw_store_args *a, const char *key, const char *token, int64_t ttl_ms)
{
    if (!pw_store_args_valid(key, PW_STORE_KEY_MAX) ||
        !pw_store_args_valid(token, PW_STORE_ARG_MAX) || ttl_ms <= 0)
        return -1;
    if (pw_store_args_keys(a, key, "") != 0 || pw_store_args_str(a, token) != 0 ||
        pw_store_args_i64(a, ttl_ms) != 0)
        return -1;
    return 0;
}

/* A command's answer: a status name of PaymentResult, bounded. */
static int pw_store_args_valid_answer(const char *s)
{
    return pw_store_args_valid(s, 32);
}

int pw_store_args_build_finish(pw_store_args *a, const pw_store_finish_args *f,
                               int64_t retention_ms)
{
    if (f == NULL || !pw_store_args_valid(f->key, PW_STORE_KEY_MAX) ||
        !pw_store_args_valid(f->token, PW_STORE_ARG_MAX) || f->fence <= 0 ||
        pw_store_args_final_name(f->status) == NULL || f->result_len > PW_STORE_RESULT_MAX ||
        (f->result == NULL && f->result_len > 0) ||
        (f->reason != NULL && strlen(f->reason) > PW_STORE_ARG_MAX) || f->retention_ms < 0 ||
        !pw_store_args_valid(f->command_id, PW_STORE_ARG_MAX) ||
        (f->answer != NULL && !pw_store_args_valid_answer(f->answer)) ||
        (f->digest != NULL && strlen(f->digest) > PW_STORE_ARG_MAX))
        return -1;
    const char *reason =
        f->reason != NULL && f->reason[0] != '\0' ? f->reason : "worker reported UNKNOWN";
    if (pw_store_args_keys(a, f->key, f->command_id) != 0 || pw_store_args_i64(a, f->fence) != 0 ||
        pw_store_args_str(a, f->token) != 0 ||
        pw_store_args_str(a, pw_store_args_final_name(f->status)) != 0 ||
        pw_store_args_add(a, f->result, f->result_len) != 0 ||
        pw_store_args_i64(a, f->retention_ms > 0 ? f->retention_ms : retention_ms) != 0 ||
        pw_store_args_i64(a, f->now_ms > 0 ? f->now_ms : pw_store_args_now_ms()) != 0 ||
        pw_store_args_str(a, reason) != 0 || pw_store_args_str(a, f->command_id) != 0 ||
        pw_store_args_str(a, f->answer != NULL ? f->answer : "") != 0 ||
        pw_store_args_str(a, f->digest != NULL ? f->digest : "") != 0)
        return -1;
    return 0;
}

int pw_store_args_build_record(pw_store_args *a, const pw_store_record_args *r,
                               int64_t retention_ms)
{
    if (r == NULL || !pw_store_args_valid(r->key, PW_STORE_KEY_MAX) ||
        !pw_store_args_valid(r->command_id, PW_STORE_ARG_MAX) ||
        !pw_store_args_valid_answer(r->answer) || r->result_len > PW_STORE_RESULT_MAX ||
        (r->result == NULL && r->result_len > 0) || r->fence < 0 || r->retention_ms < 0 ||
        (r->digest != NULL && strlen(r->digest) > PW_STORE_ARG_MAX))
        return -1;
    if (pw_store_args_keys(a, r->key, r->command_id) != 0 ||
        pw_store_args_str(a, r->command_id) != 0 || pw_store_args_str(a, r->answer) != 0 ||
        pw_store_args_add(a, r->result, r->result_len) != 0 ||
        pw_store_args_i64(a, r->fence) != 0 ||
        pw_store_args_str(a, r->digest != NULL ? r->digest : "") != 0 ||
        pw_store_args_i64(a, r->now_ms > 0 ? r->now_ms : pw_store_args_now_ms()) != 0 ||
        pw_store_args_i64(a, r->retention_ms > 0 ? r->retention_ms : retention_ms) != 0)
        return -1;
    return 0;
}

int pw_store_args_build_resolve(pw_store_args *a, const pw_store_resolve_args *r,
                                int64_t retention_ms)
{
    if (r == NULL || !pw_store_args_valid(r->key, PW_STORE_KEY_MAX) ||
        !pw_store_args_valid(r->reason, PW_STORE_ARG_MAX) ||
        !pw_store_args_valid(r->operator_name, PW_STORE_ARG_MAX) || r->retention_ms < 0)
        return -1;
    if (pw_store_args_keys(a, r->key, "") != 0 || pw_store_args_str(a, r->paid ? "1" : "0") != 0 ||
        pw_store_args_str(a, r->reason) != 0 || pw_store_args_str(a, r->operator_name) != 0 ||
        pw_store_args_i64(a, r->now_ms > 0 ? r->now_ms : pw_store_args_now_ms()) != 0 ||
        pw_store_args_i64(a, r->retention_ms > 0 ? r->retention_ms : retention_ms) != 0)
        return -1;
    return 0;
}

int pw_store_args_build_lookup(pw_store_args *a, const char *key)
{
    if (!pw_store_args_valid(key, PW_STORE_KEY_MAX))
        return -1;
    return pw_store_args_keys(a, key, "");
}

int pw_store_args_build_unknowns(pw_store_args *a, size_t limit)
{
    if (limit == 0 || limit > 1000000)
        return -1;
    if (pw_store_args_keys(a, "-", "") != 0 || pw_store_args_i64(a, pw_store_args_now_ms()) != 0 ||
        pw_store_args_i64(a, (int64_t)limit) != 0)
        return -1;
    return 0;
}
