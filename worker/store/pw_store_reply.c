/* pw_store_reply.c -- a script's answer (hiredis's reply) read into a
 * pw_store_reply, for the async store and the synchronous helpers alike, and
 * pw_store_reply_free for the helpers' replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pw_alloc.h"
#include "pw_store_int.h"

void pw_store_reply_init(pw_store_reply *r)
{
    memset(r, 0, sizeof(*r));
    r->result = (const unsigned char *)"";
    r->command_id = "";
    r->status = "";
    r->error = "";
    r->lock_pttl_ms = -2;
    r->state_pttl_ms = -2;
}

static int pw_store_reply_is_str(const redisReply *e)
{
    return e != NULL && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
           e->str != NULL;
}

static int64_t pw_store_reply_i64(const char *s)
{
    return (int64_t)strtoll(s, NULL, 10);
}

void pw_store_reply_parsed_clear(pw_store_parsed *p)
{
    free(p->fields);
    free(p->cmds);
    free(p->unknowns);
    memset(p, 0, sizeof(*p));
}

/* A flat array of strings whose length is a multiple of group, or NULL. */
static const redisReply *pw_store_reply_strings(const redisReply *r, size_t group)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % group != 0)
        return NULL;
    for (size_t i = 0; i < r->elements; i++)
        if (!pw_store_reply_is_str(r->element[i]))
            return NULL;
    return r;
}

/* lookup's extra elements: the state hash, both PTTLs, the command records. */
static int pw_store_reply_parse_lookup(const redisReply *r, pw_store_reply *out, pw_store_parsed *p)
{
    const redisReply *f = pw_store_reply_strings(r->element[6], 2);
    const redisReply *c = r->elements >= 10 ? pw_store_reply_strings(r->element[9], 4) : NULL;
    if (f == NULL || c == NULL || !pw_store_reply_is_str(r->element[7]) ||
        !pw_store_reply_is_str(r->element[8]))
        return -1;
    size_t n = f->elements / 2, nc = c->elements / 4;
    p->fields = pw_alloc_calloc(n > 0 ? n : 1, sizeof(*p->fields));
    p->cmds = pw_alloc_calloc(nc > 0 ? nc : 1, sizeof(*p->cmds));
    if (p->fields == NULL || p->cmds == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const redisReply *name = f->element[2 * i], *value = f->element[2 * i + 1];
        p->fields[i].name = name->str;
        p->fields[i].value = (const unsigned char *)value->str;
        p->fields[i].len = value->len;
        if (strcmp(name->str, "status") == 0)
            out->status = value->str;
        else if (strcmp(name->str, "command_id") == 0)
            out->command_id = value->str;
        else if (strcmp(name->str, "fence") == 0)
            out->fence = pw_store_reply_i64(value->str);
        else if (strcmp(name->str, "result") == 0) {
            out->result = (const unsigned char *)value->str;
            out->result_len = value->len;
        }
    }
    for (size_t i = 0; i < nc; i++) {
        p->cmds[i].command_id = c->element[4 * i]->str;
        p->cmds[i].status = c->element[4 * i + 1]->str;
        p->cmds[i].at_ms = pw_store_reply_i64(c->element[4 * i + 2]->str);
        p->cmds[i].fence = pw_store_reply_i64(c->element[4 * i + 3]->str);
    }
    out->fields = p->fields;
    out->nfields = n;
    out->cmds = p->cmds;
    out->ncmds = nc;
    out->lock_pttl_ms = pw_store_reply_i64(r->element[7]->str);
    out->state_pttl_ms = pw_store_reply_i64(r->element[8]->str);
    return 0;
}

static int pw_store_reply_parse_unknowns(const redisReply *r, pw_store_reply *out,
                                         pw_store_parsed *p)
{
    const redisReply *u = pw_store_reply_strings(r->element[6], 6);
    if (u == NULL)
        return -1;
    size_t n = u->elements / 6;
    p->unknowns = pw_alloc_calloc(n > 0 ? n : 1, sizeof(*p->unknowns));
    if (p->unknowns == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        redisReply *const *e = &u->element[6 * i];
        p->unknowns[i].key = e[0]->str;
        p->unknowns[i].since_ms = pw_store_reply_i64(e[1]->str);
        p->unknowns[i].command_id = e[2]->str;
        p->unknowns[i].reason = e[3]->str;
        p->unknowns[i].worker = e[4]->str;
        p->unknowns[i].started_ms = pw_store_reply_i64(e[5]->str);
    }
    out->unknowns = p->unknowns;
    out->nunknowns = n;
    return 0;
}

/* Fills out from script's answer. out points into r and into *p, which the
 * caller clears. On a malformed answer: ERROR with the reason in err. */
void pw_store_reply_parse(const redisReply *r, int script, pw_store_reply *out, pw_store_parsed *p,
                          char *err, size_t cap)
{
    pw_store_reply_init(out);
    memset(p, 0, sizeof(*p));
    out->outcome = PW_STORE_ERROR;
    out->error = err;
    if (r == NULL) {
        snprintf(err, cap, "redis: no answer");
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, cap, "redis: %.*s", (int)(r->len > 200 ? 200 : r->len),
                 r->str != NULL ? r->str : "");
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 6) {
        snprintf(err, cap, "redis: unexpected script answer (type %d)", r->type);
        return;
    }
    for (size_t i = 0; i < 6; i++) {
        if (!pw_store_reply_is_str(r->element[i])) {
            snprintf(err, cap, "redis: unexpected script answer (element %zu)", i);
            return;
        }
    }
    pw_store_outcome outcome = PW_STORE_ERROR;
    for (size_t i = 1; i < pw_store_noutcomes; i++) {
        if (strcmp(r->element[0]->str, pw_store_outcome_names[i]) == 0)
            outcome = (pw_store_outcome)i;
    }
    if (outcome == PW_STORE_ERROR) {
        snprintf(err, cap, "redis: unexpected script outcome \"%.40s\"", r->element[0]->str);
        return;
    }
    out->fence = pw_store_reply_i64(r->element[1]->str);
    out->busy_ms = pw_store_reply_i64(r->element[2]->str);
    out->command_id = r->element[3]->str;
    out->result = (const unsigned char *)r->element[4]->str;
    out->result_len = r->element[4]->len;
    out->status = r->element[5]->str;
    int bad = 0;
    if (script == PW_SCRIPT_LOOKUP)
        bad = r->elements < 10 || pw_store_reply_parse_lookup(r, out, p) != 0;
    else if (script == PW_SCRIPT_UNKNOWNS)
        bad = r->elements < 7 || pw_store_reply_parse_unknowns(r, out, p) != 0;
    if (bad) {
        pw_store_reply_parsed_clear(p);
        pw_store_reply_init(out);
        out->outcome = PW_STORE_ERROR;
        out->error = err;
        snprintf(err, cap, "redis: unexpected %s answer", pw_store_script_name[script]);
        return;
    }
    out->outcome = outcome;
    out->error = "";
}

void pw_store_reply_free(pw_store_reply *reply)
{
    if (reply == NULL)
        return;
    pw_store_sync_reply *r = (pw_store_sync_reply *)reply;
    if (r->raw != NULL)
        freeReplyObject(r->raw);
    pw_store_reply_parsed_clear(&r->parsed);
    free(r);
}

/* Runs argv; NULL with errstr filled when the command could not be run. */
