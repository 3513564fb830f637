/* pw_store.c -- see pw_store.h for the contract and the state machine.
 *
 * DESIGN (implementation)
 * Runs on the owner's libevent loop only; no locks.
 *
 * Operations. Each accepted operation is a pw_store_op, linked in store->ops
 * until it is answered. It owns a copy of its script arguments (KEYS and
 * ARGV), so it can be sent again as EVAL when Redis answers NOSCRIPT, and a
 * libevent timer: the command timeout while it is on the connection, or a
 * zero-delay timer that delivers a deferred ERROR (store not ready), so that
 * no callback ever runs inside the call that started the operation.
 *
 * Op lifetime. hiredis keeps the op as the privdata of its reply callback and
 * always calls that callback exactly once: with the reply, or with NULL when the
 * context is freed. An op is therefore freed when it is answered AND hiredis no
 * longer holds it (op->in_redis == 0). Answering sets op->store to NULL, so a
 * late hiredis callback (after a timeout, a drop or pw_store_free) only frees it.
 *
 * Connections. store->ac is the current hiredis context or NULL. Whenever the
 * store lets go of one, it clears ac->data first, so hiredis's later callbacks
 * for it (handshake replies, onDisconnect) see NULL and do nothing. Two ways to
 * let go: pw_store_lost (hiredis is already tearing the context down: connect
 * failed, EOF, I/O error) and pw_store_drop (we close it: command timeout,
 * handshake failure or timeout, a read-only replica, pw_store_free). Both answer
 * every op sent on it with ERROR, report DOWN and schedule a reconnect.
 *
 * Re-entrancy. Every entry point from the loop (hiredis callbacks, timers)
 * brackets its work with pw_store_enter/pw_store_leave. A user callback may
 * call pw_store_free: while depth > 0 that only marks the store closing, and the
 * outermost pw_store_leave destroys it once the current work is done. Lists
 * being answered are first moved to a local chain, so callbacks that start new
 * operations never disturb an iteration.
 *
 * hiredis 0.14 quirks handled here: redisAsyncConnect resolves host names with
 * a blocking getaddrinfo; a refused connect to a local port may fail inside
 * redisAsyncConnect (ac->err set, the context must be freed by us); on a failed
 * asynchronous connect onConnect(REDIS_ERR) runs with the reason in ac->c.errstr
 * (ac->errstr is copied only afterwards), then the context frees itself without
 * onDisconnect; redisAsyncFree inside a reply callback is deferred until that
 * callback returns; there is no command timeout in the async API (ours is a
 * libevent timer per op).
 */
#include "pw_store.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "pv_error.h"
#include "pw_alloc.h"

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

static const char *const pw_store_script_name[PW_SCRIPT_COUNT] = {
    "claim", "extend", "finish", "record", "resolve", "lookup", "unknowns"};

/* The prelude of every script: key names and the TTL rule of the command
 * set (kept while the invoice is UNKNOWN, else for the retention). */
#define PW_LUA_PRELUDE                                                                      \
    "local st, lk, ck, cs, ux, ix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]\n" \
    "local ik = string.sub(st, 7, -8)\n"                                                    \
    "local function keep_cmds(unknown, ret)\n"                                              \
    "  if unknown then redis.call('PERSIST', cs) else redis.call('PEXPIRE', cs, ret) end\n" \
    "end\n"

/* ARGV: token, ttl_ms, command_id, digest, worker, now_ms, ceiling_ms,
 * expires_at_ms (0: none) */
static const char pw_store_lua_claim[] = PW_LUA_PRELUDE
    "local token, ttl, cmd, digest, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6]\n"
    "local rec = redis.call('HMGET', ck, 'status', 'result', 'fence')\n"
    "if rec[1] and rec[1] ~= 'UNKNOWN' then\n"
    "  return {'ANSWERED', rec[3] or '0', '0', cmd, rec[2] or '', rec[1]}\n"
    "end\n"
    "local h = redis.call('HMGET', st, 'status', 'digest', 'command_id', 'result', 'fence')\n"
    "local status, sdigest, scmd, result, fence = h[1], h[2], h[3], h[4], h[5]\n"
    "local function out(o, busy)\n"
    "  return {o, tostring(fence or 0), tostring(busy or 0), scmd or '', result or '',\n"
    "          status or ''}\n"
    "end\n"
    "local holder = redis.call('GET', lk)\n"
    "if holder then\n"
    "  if holder == token and status == 'INFLIGHT' and scmd == cmd then\n"
    "    redis.call('PEXPIRE', lk, ttl)\n"
    "    return out('CLAIMED')\n"
    "  end\n"
    "  return out('BUSY', redis.call('PTTL', lk))\n"
    "end\n"
    "if status == 'INFLIGHT' then\n"
    "  status = 'UNKNOWN'\n"
    "  redis.call('HSET', st, 'status', status, 'unknown_reason',\n"
    "             'the claim expired while the provider was being called', 'unknown_at', now)\n"
    "  redis.call('PERSIST', st)\n"
    "  redis.call('ZADD', ux, now, ik)\n"
    "  redis.call('ZREM', ix, ik)\n"
    "  keep_cmds(true)\n"
    "end\n"
    "if status == 'UNKNOWN' then\n"
    "  if rec[1] == 'UNKNOWN' then\n"
    "    return {'ANSWERED', rec[3] or '0', '0', cmd, rec[2] or '', 'UNKNOWN'}\n"
    "  end\n"
    "  return out('UNKNOWN')\n"
    "end\n"
    "if status == 'DONE' then\n"
    "  if sdigest ~= digest then return out('CONFLICT') end\n"
    "  return out('DONE')\n"
    "end\n"
    "if status and status ~= 'RELEASED' then\n"
    "  return redis.error_reply('PAYW unexpected status ' .. status .. ' in ' .. st)\n"
    "end\n"
    "local exp = tonumber(ARGV[8])\n"
    "if exp > 0 and tonumber(now) >= exp then return out('EXPIRED') end\n"
    "redis.call('SET', lk, token, 'PX', ttl)\n"
    "fence = redis.call('HINCRBY', st, 'fence_seq', 1)\n"
    "redis.call('HDEL', st, 'result', 'finished_at', 'unknown_reason', 'unknown_at',\n"
    "           'resolved_by', 'resolved_reason', 'resolved_at', 'resolved_paid',\n"
    "           'result_before_resolve')\n"
    "redis.call('HSET', st, 'status', 'INFLIGHT', 'command_id', cmd, 'fence', fence,\n"
    "           'worker', ARGV[5], 'started_at', now, 'digest', digest)\n"
    "redis.call('PEXPIRE', st, ARGV[7])\n"
    "redis.call('ZADD', ix, now, ik)\n"
    "status, scmd, result = 'INFLIGHT', cmd, ''\n"
    "return out('CLAIMED')\n";

/* ARGV: token, ttl_ms */
static const char pw_store_lua_extend[] =
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'LOST', '0', '0', '', '', ''} end\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[2])\n"
    "local p = redis.call('PTTL', KEYS[1])\n"
    "if p >= 0 and p < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
    "return {'OK', '0', '0', '', '', ''}\n";

/* Writes the command's record (the caller's ARGV positions). */
#define PW_LUA_WRITE_RECORD(cmd, status, result, fence, digest, now, ret)                        \
    "redis.call('HSET', ck, 'status', " status ", 'result', " result ", 'fence', " fence         \
    ", 'at', " now ", 'digest', " digest ")\n"                                                   \
    "if " status                                                                                 \
    " == 'UNKNOWN' then redis.call('PERSIST', ck) else redis.call('PEXPIRE', ck, " ret ") end\n" \
    "redis.call('SADD', cs, " cmd ")\n"

/* ARGV: fence, token, invoice status, result, retention_ms, now_ms, reason,
 * command_id, command status ("": none, the claim is given back unanswered),
 * digest. The command's first final answer stays (an operator's, should the
 * invoice have been resolved during the call). */
static const char pw_store_lua_finish[] = PW_LUA_PRELUDE
    "local inv = ARGV[3]\n"
    "if inv ~= 'DONE' and inv ~= 'RELEASED' and inv ~= 'UNKNOWN' then\n"
    "  return redis.error_reply('PAYW finish: bad status ' .. inv)\n"
    "end\n"
    "local h = redis.call('HMGET', st, 'fence', 'status', 'command_id')\n"
    "local o, unknown = 'OK', inv == 'UNKNOWN'\n"
    "if h[1] ~= ARGV[1] then\n"
    "  o, unknown = 'FENCED', h[2] == 'UNKNOWN'\n"
    "else\n"
    "  redis.call('HSET', st, 'status', inv, 'result', ARGV[4], 'finished_at', ARGV[6])\n"
    "  redis.call('ZREM', ix, ik)\n"
    "  if unknown then\n"
    "    redis.call('HSET', st, 'unknown_reason', ARGV[7], 'unknown_at', ARGV[6])\n"
    "    redis.call('PERSIST', st)\n"
    "    redis.call('ZADD', ux, ARGV[6], ik)\n"
    "  else\n"
    "    redis.call('HDEL', st, 'unknown_reason', 'unknown_at')\n"
    "    redis.call('PEXPIRE', st, ARGV[5])\n"
    "    redis.call('ZREM', ux, ik)\n"
    "  end\n"
    "end\n"
    "if redis.call('GET', lk) == ARGV[2] then redis.call('DEL', lk) end\n"
    "local had = redis.call('HGET', ck, 'status')\n"
    "if ARGV[9] ~= '' and (not had or had == 'UNKNOWN') then\n" PW_LUA_WRITE_RECORD(
        "ARGV[8]", "ARGV[9]", "ARGV[4]", "ARGV[1]", "ARGV[10]", "ARGV[6]",
        "ARGV[5]") "  keep_cmds(unknown, ARGV[5])\n"
                   "end\n"
                   "return {o, tostring(h[1] or 0), '0', h[3] or '', '', h[2] or ''}\n";

/* An answer decided without a claim (DUPLICATE, EXPIRED, UNKNOWN, or the
 * event of a record that has none yet). ARGV: command_id, status, result,
 * fence, digest, now_ms, retention_ms. A final record already there wins:
 * ANSWERED with it; an UNKNOWN record gives way to a final answer. */
static const char pw_store_lua_record[] = PW_LUA_PRELUDE
    "local rec = redis.call('HMGET', ck, 'status', 'result', 'fence')\n"
    "local write = not rec[1] or (rec[1] == ARGV[2] and (rec[2] or '') == '') or\n"
    "              (rec[1] == 'UNKNOWN' and ARGV[2] ~= 'UNKNOWN')\n"
    "if not write then\n"
    "  return {'ANSWERED', rec[3] or '0', '0', ARGV[1], rec[2] or '', rec[1]}\n"
    "end\n" PW_LUA_WRITE_RECORD(
        "ARGV[1]", "ARGV[2]", "ARGV[3]", "ARGV[4]", "ARGV[5]", "ARGV[6]",
        "ARGV[7]") "keep_cmds(redis.call('HGET', st, 'status') == 'UNKNOWN', ARGV[7])\n"
                   "return {'OK', ARGV[4], '0', ARGV[1], '', ARGV[2]}\n";

/* ARGV: paid (1/0), reason, operator, now_ms, retention_ms. The command whose
 * call is unknown gets its final answer too: SUCCEEDED (paid) or FAILED. */
static const char pw_store_lua_resolve[] = PW_LUA_PRELUDE
    "local h = redis.call('HMGET', st, 'status', 'fence', 'command_id', 'result', 'digest')\n"
    "local status = h[1]\n"
    "if not status then return {'NOT_FOUND', '0', '0', '', '', ''} end\n"
    "if status == 'INFLIGHT' and redis.call('EXISTS', lk) == 0 then status = 'UNKNOWN' end\n"
    "if status ~= 'UNKNOWN' then\n"
    "  return {'NOT_UNKNOWN', tostring(h[2] or 0), '0', h[3] or '', '', status}\n"
    "end\n"
    "local new = 'RELEASED'\n"
    "if ARGV[1] == '1' then new = 'DONE' end\n"
    "local fence = redis.call('HINCRBY', st, 'fence_seq', 1)\n"
    "if h[4] then\n"
    "  redis.call('HSET', st, 'result_before_resolve', h[4])\n"
    "  redis.call('HDEL', st, 'result')\n"
    "end\n"
    "redis.call('HSET', st, 'status', new, 'fence', fence, 'resolved_by', ARGV[3],\n"
    "           'resolved_reason', ARGV[2], 'resolved_at', ARGV[4], 'resolved_paid', ARGV[1])\n"
    "redis.call('PEXPIRE', st, ARGV[5])\n"
    "redis.call('ZREM', ux, ik)\n"
    "redis.call('ZREM', ix, ik)\n"
    "if h[3] then\n"
    "  local rk = string.sub(st, 1, -6) .. 'cmd:' .. h[3]\n"
    "  local cur = redis.call('HGET', rk, 'status')\n"
    "  if not cur or cur == 'UNKNOWN' then\n"
    "    local s = 'FAILED'\n"
    "    if ARGV[1] == '1' then s = 'SUCCEEDED' end\n"
    "    redis.call('HSET', rk, 'status', s, 'result', '', 'fence', fence, 'at', ARGV[4],\n"
    "               'digest', h[5] or '', 'resolved_by', ARGV[3], 'resolved_reason', ARGV[2])\n"
    "    redis.call('PEXPIRE', rk, ARGV[5])\n"
    "    redis.call('SADD', cs, h[3])\n"
    "  end\n"
    "end\n"
    "keep_cmds(false, ARGV[5])\n"
    "return {'OK', tostring(fence), '0', h[3] or '', '', new}\n";

/* The state, both PTTLs and every command record: {id, status, at, fence}. */
static const char pw_store_lua_lookup[] =
    PW_LUA_PRELUDE "local f = redis.call('HGETALL', st)\n"
                   "local o = 'OK'\n"
                   "if #f == 0 then o = 'NOT_FOUND' end\n"
                   "local cmds, pre = {}, string.sub(st, 1, -6) .. 'cmd:'\n"
                   "for _, id in ipairs(redis.call('SMEMBERS', cs)) do\n"
                   "  local r = redis.call('HMGET', pre .. id, 'status', 'at', 'fence')\n"
                   "  table.insert(cmds, id)\n"
                   "  table.insert(cmds, r[1] or 'EXPIRED_FROM_STORE')\n"
                   "  table.insert(cmds, r[2] or '0')\n"
                   "  table.insert(cmds, r[3] or '0')\n"
                   "end\n"
                   "return {o, '0', '0', '', '', '', f, tostring(redis.call('PTTL', lk)),\n"
                   "        tostring(redis.call('PTTL', st)), cmds}\n";

/* ARGV: now_ms, limit. First the next touch of every claim whose lock is
 * gone (its worker died mid-call): it becomes UNKNOWN, as a claim would make
 * it; then the UNKNOWN invoices, oldest first: {K, unknown_at, command_id,
 * reason, worker, started_at} each. Single Redis only: it reads keys it is
 * not given (the invoices named by the indexes). */
static const char pw_store_lua_unknowns[] =
    "local ux, ix, now, limit = KEYS[5], KEYS[6], ARGV[1], tonumber(ARGV[2])\n"
    "for _, k in ipairs(redis.call('ZRANGE', ix, 0, 9999)) do\n"
    "  local s, l = 'payw:{' .. k .. '}:state', 'payw:{' .. k .. '}:lock'\n"
    "  if redis.call('EXISTS', l) == 0 then\n"
    "    if redis.call('HGET', s, 'status') == 'INFLIGHT' then\n"
    "      redis.call('HSET', s, 'status', 'UNKNOWN', 'unknown_reason',\n"
    "                 'the claim expired while the provider was being called', 'unknown_at', now)\n"
    "      redis.call('PERSIST', s)\n"
    "      redis.call('PERSIST', 'payw:{' .. k .. '}:cmds')\n"
    "      redis.call('ZADD', ux, now, k)\n"
    "    end\n"
    "    redis.call('ZREM', ix, k)\n"
    "  end\n"
    "end\n"
    "local out = {}\n"
    "local z = redis.call('ZRANGE', ux, 0, -1, 'WITHSCORES')\n"
    "for i = 1, #z, 2 do\n"
    "  local k = z[i]\n"
    "  local h = redis.call('HMGET', 'payw:{' .. k .. '}:state', 'status', 'command_id',\n"
    "                       'unknown_reason', 'worker', 'started_at')\n"
    "  if h[1] ~= 'UNKNOWN' then\n"
    "    redis.call('ZREM', ux, k)\n"
    "  elseif #out < limit * 6 then\n"
    "    for _, v in ipairs({k, z[i + 1], h[2] or '', h[3] or '', h[4] or '', h[5] or '0'}) do\n"
    "      table.insert(out, v)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {'OK', '0', '0', '', '', '', out}\n";

static const char *const pw_store_lua[PW_SCRIPT_COUNT] = {
    pw_store_lua_claim,   pw_store_lua_extend, pw_store_lua_finish,  pw_store_lua_record,
    pw_store_lua_resolve, pw_store_lua_lookup, pw_store_lua_unknowns};

/*---- Outcomes -------------------------------------------------------------*/

static const char *const pw_store_outcome_names[] = {
    [PW_STORE_ERROR] = "ERROR",
    [PW_STORE_CLAIMED] = "CLAIMED",
    [PW_STORE_DONE] = "DONE",
    [PW_STORE_BUSY] = "BUSY",
    [PW_STORE_UNKNOWN] = "UNKNOWN",
    [PW_STORE_CONFLICT] = "CONFLICT",
    [PW_STORE_RELEASED] = "RELEASED",
    [PW_STORE_OK] = "OK",
    [PW_STORE_LOST] = "LOST",
    [PW_STORE_FENCED] = "FENCED",
    [PW_STORE_NOT_UNKNOWN] = "NOT_UNKNOWN",
    [PW_STORE_NOT_FOUND] = "NOT_FOUND",
    [PW_STORE_ANSWERED] = "ANSWERED",
    [PW_STORE_EXPIRED] = "EXPIRED",
};

#define PW_STORE_NOUTCOMES (sizeof(pw_store_outcome_names) / sizeof(pw_store_outcome_names[0]))

const char *pw_store_outcome_name(pw_store_outcome outcome)
{
    if ((size_t)outcome >= PW_STORE_NOUTCOMES)
        return "ERROR";
    return pw_store_outcome_names[outcome];
}

/*---- Addresses ------------------------------------------------------------*/

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

static int pw_store_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copies len bytes of src into dst (cap), decoding %XX (%00 refused). 0 or -1. */
static int pw_store_unescape(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = pw_store_hex(src[i + 1]);
            int lo = pw_store_hex(src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (n + 1 >= cap)
            return -1;
        dst[n++] = c;
    }
    dst[n] = '\0';
    return 0;
}

/* Parses a decimal in [min, max] from s[0..len). 0 or -1. */
static int pw_store_number(const char *s, size_t len, long min, long max, long *out)
{
    char buf[24];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    long v = strtol(buf, NULL, 10);
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

void pw_store_url_shown(const char *url, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    if (url == NULL) {
        snprintf(buf, cap, "(null)");
        return;
    }
    const char *auth = strstr(url, "://");
    const char *at = auth != NULL ? strrchr(auth + 3, '@') : NULL;
    if (at == NULL) {
        snprintf(buf, cap, "%s", url);
        return;
    }
    /* "[user]:password@" or a bare "password@": whatever follows the user is
     * the password, and a part without ':' may be nothing else */
    const char *colon = memchr(auth + 3, ':', (size_t)(at - auth - 3));
    const char *keep_to = colon != NULL ? colon + 1 : auth + 3;
    snprintf(buf, cap, "%.*s***%s", (int)(keep_to - url), url, at);
}

/* Every message quotes the URL as pw_store_url_shown shows it (bounded and
 * escaped by pv_utf8_quote): never the password. */
static int pw_store_parse_url(const char *url, pw_store_addr *a, char *errstr, size_t cap)
{
    static const char redis_scheme[] = "redis://";
    static const char unix_scheme[] = "unix://";
    char shown[512], q[300];
    memset(a, 0, sizeof(*a));
    a->port = 6379;
    if (url == NULL || url[0] == '\0') {
        snprintf(errstr, cap, "redis URL: empty (expected redis://host:port[/db] or unix:///path)");
        return -1;
    }
    pw_store_url_shown(url, shown, sizeof(shown));
    pv_utf8_quote(q, sizeof(q), shown, strlen(shown));
    if (strncmp(url, "rediss://", 9) == 0) {
        snprintf(errstr, cap, "redis URL \"%s\": TLS (rediss://) is not supported by this build",
                 q);
        return -1;
    }
    if (strncmp(url, unix_scheme, sizeof(unix_scheme) - 1) == 0) {
        const char *path = url + sizeof(unix_scheme) - 1;
        const char *qm = strchr(path, '?');
        size_t plen = qm != NULL ? (size_t)(qm - path) : strlen(path);
        if (plen == 0 || path[0] != '/' || plen >= sizeof(a->path)) {
            snprintf(errstr, cap, "redis URL \"%s\": expected unix:///absolute/path", q);
            return -1;
        }
        memcpy(a->path, path, plen);
        a->path[plen] = '\0';
        if (qm != NULL) {
            if (strncmp(qm, "?db=", 4) != 0 ||
                pw_store_number(qm + 4, strlen(qm + 4), 0, 1000000, &a->db) != 0) {
                snprintf(errstr, cap, "redis URL \"%s\": only ?db=N may follow the path", q);
                return -1;
            }
        }
        a->is_unix = 1;
        snprintf(a->display, sizeof(a->display), "unix://%s", a->path);
        return 0;
    }
    if (strncmp(url, redis_scheme, sizeof(redis_scheme) - 1) != 0) {
        snprintf(errstr, cap,
                 "redis URL \"%s\": expected redis://[[user]:password@]host[:port][/db] or "
                 "unix:///path",
                 q);
        return -1;
    }
    const char *p = url + sizeof(redis_scheme) - 1;
    const char *at = strrchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL) {
            snprintf(errstr, cap, "redis URL \"%s\": the part before '@' must be [user]:password",
                     q);
            return -1;
        }
        if (pw_store_unescape(a->user, sizeof(a->user), p, (size_t)(colon - p)) != 0 ||
            pw_store_unescape(a->pass, sizeof(a->pass), colon + 1, (size_t)(at - colon - 1)) != 0) {
            snprintf(errstr, cap,
                     "redis URL \"%s\": bad user or password (too long or bad %%-escape)", q);
            return -1;
        }
        a->has_auth = 1;
        p = at + 1;
    }
    const char *host = p;
    size_t hlen;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL) {
            snprintf(errstr, cap, "redis URL \"%s\": unclosed '[' in the host", q);
            return -1;
        }
        host = p + 1;
        hlen = (size_t)(close - host);
        p = close + 1;
    } else {
        hlen = strcspn(p, ":/");
        p += hlen;
    }
    if (hlen == 0 || hlen >= sizeof(a->host)) {
        snprintf(errstr, cap, "redis URL \"%s\": missing or over-long host", q);
        return -1;
    }
    memcpy(a->host, host, hlen);
    a->host[hlen] = '\0';
    if (*p == ':') {
        long port = 0;
        size_t plen = strcspn(p + 1, "/");
        if (pw_store_number(p + 1, plen, 1, 65535, &port) != 0) {
            snprintf(errstr, cap, "redis URL \"%s\": port must be 1..65535", q);
            return -1;
        }
        a->port = (int)port;
        p += 1 + plen;
    }
    if (*p == '/') {
        p++;
        if (*p != '\0' && pw_store_number(p, strlen(p), 0, 1000000, &a->db) != 0) {
            snprintf(errstr, cap, "redis URL \"%s\": the path must be a database number", q);
            return -1;
        }
        p += strlen(p);
    }
    if (*p != '\0') {
        snprintf(errstr, cap, "redis URL \"%s\": unexpected text after the host", q);
        return -1;
    }
    snprintf(a->display, sizeof(a->display), "%s%s%s:%d/%ld", strchr(a->host, ':') ? "[" : "",
             a->host, strchr(a->host, ':') ? "]" : "", a->port, a->db);
    return 0;
}

int pw_store_check_url(const char *url, char *errstr, size_t cap)
{
    pw_store_addr a;
    int rc = pw_store_parse_url(url, &a, errstr, cap);
    memset(&a, 0, sizeof(a)); /* the password */
    return rc;
}

/*---- Reply parsing (shared by async and sync) -----------------------------*/

static void pw_store_reply_init(pw_store_reply *r)
{
    memset(r, 0, sizeof(*r));
    r->result = (const unsigned char *)"";
    r->command_id = "";
    r->status = "";
    r->error = "";
    r->lock_pttl_ms = -2;
    r->state_pttl_ms = -2;
}

static int pw_store_is_str(const redisReply *e)
{
    return e != NULL && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
           e->str != NULL;
}

static int64_t pw_store_i64(const char *s)
{
    return (int64_t)strtoll(s, NULL, 10);
}

/* What a parsed answer points into besides hiredis's reply (freed with
 * pw_store_parsed_clear). */
typedef struct pw_store_parsed {
    pw_store_field *fields;
    pw_store_cmdrec *cmds;
    pw_store_unknown *unknowns;
} pw_store_parsed;

static void pw_store_parsed_clear(pw_store_parsed *p)
{
    free(p->fields);
    free(p->cmds);
    free(p->unknowns);
    memset(p, 0, sizeof(*p));
}

/* A flat array of strings whose length is a multiple of group, or NULL. */
static const redisReply *pw_store_strings(const redisReply *r, size_t group)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % group != 0)
        return NULL;
    for (size_t i = 0; i < r->elements; i++)
        if (!pw_store_is_str(r->element[i]))
            return NULL;
    return r;
}

/* lookup's extra elements: the state hash, both PTTLs, the command records. */
static int pw_store_parse_lookup(const redisReply *r, pw_store_reply *out, pw_store_parsed *p)
{
    const redisReply *f = pw_store_strings(r->element[6], 2);
    const redisReply *c = r->elements >= 10 ? pw_store_strings(r->element[9], 4) : NULL;
    if (f == NULL || c == NULL || !pw_store_is_str(r->element[7]) ||
        !pw_store_is_str(r->element[8]))
        return -1;
    size_t n = f->elements / 2, nc = c->elements / 4;
    p->fields = pw_calloc(n > 0 ? n : 1, sizeof(*p->fields));
    p->cmds = pw_calloc(nc > 0 ? nc : 1, sizeof(*p->cmds));
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
            out->fence = pw_store_i64(value->str);
        else if (strcmp(name->str, "result") == 0) {
            out->result = (const unsigned char *)value->str;
            out->result_len = value->len;
        }
    }
    for (size_t i = 0; i < nc; i++) {
        p->cmds[i].command_id = c->element[4 * i]->str;
        p->cmds[i].status = c->element[4 * i + 1]->str;
        p->cmds[i].at_ms = pw_store_i64(c->element[4 * i + 2]->str);
        p->cmds[i].fence = pw_store_i64(c->element[4 * i + 3]->str);
    }
    out->fields = p->fields;
    out->nfields = n;
    out->cmds = p->cmds;
    out->ncmds = nc;
    out->lock_pttl_ms = pw_store_i64(r->element[7]->str);
    out->state_pttl_ms = pw_store_i64(r->element[8]->str);
    return 0;
}

static int pw_store_parse_unknowns(const redisReply *r, pw_store_reply *out, pw_store_parsed *p)
{
    const redisReply *u = pw_store_strings(r->element[6], 6);
    if (u == NULL)
        return -1;
    size_t n = u->elements / 6;
    p->unknowns = pw_calloc(n > 0 ? n : 1, sizeof(*p->unknowns));
    if (p->unknowns == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        redisReply *const *e = &u->element[6 * i];
        p->unknowns[i].key = e[0]->str;
        p->unknowns[i].since_ms = pw_store_i64(e[1]->str);
        p->unknowns[i].command_id = e[2]->str;
        p->unknowns[i].reason = e[3]->str;
        p->unknowns[i].worker = e[4]->str;
        p->unknowns[i].started_ms = pw_store_i64(e[5]->str);
    }
    out->unknowns = p->unknowns;
    out->nunknowns = n;
    return 0;
}

/* Fills out from script's answer. out points into r and into *p, which the
 * caller clears. On a malformed answer: ERROR with the reason in err. */
static void pw_store_parse(const redisReply *r, int script, pw_store_reply *out, pw_store_parsed *p,
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
        if (!pw_store_is_str(r->element[i])) {
            snprintf(err, cap, "redis: unexpected script answer (element %zu)", i);
            return;
        }
    }
    pw_store_outcome outcome = PW_STORE_ERROR;
    for (size_t i = 1; i < PW_STORE_NOUTCOMES; i++) {
        if (strcmp(r->element[0]->str, pw_store_outcome_names[i]) == 0)
            outcome = (pw_store_outcome)i;
    }
    if (outcome == PW_STORE_ERROR) {
        snprintf(err, cap, "redis: unexpected script outcome \"%.40s\"", r->element[0]->str);
        return;
    }
    out->fence = pw_store_i64(r->element[1]->str);
    out->busy_ms = pw_store_i64(r->element[2]->str);
    out->command_id = r->element[3]->str;
    out->result = (const unsigned char *)r->element[4]->str;
    out->result_len = r->element[4]->len;
    out->status = r->element[5]->str;
    int bad = 0;
    if (script == PW_SCRIPT_LOOKUP)
        bad = r->elements < 10 || pw_store_parse_lookup(r, out, p) != 0;
    else if (script == PW_SCRIPT_UNKNOWNS)
        bad = r->elements < 7 || pw_store_parse_unknowns(r, out, p) != 0;
    if (bad) {
        pw_store_parsed_clear(p);
        pw_store_reply_init(out);
        out->outcome = PW_STORE_ERROR;
        out->error = err;
        snprintf(err, cap, "redis: unexpected %s answer", pw_store_script_name[script]);
        return;
    }
    out->outcome = outcome;
    out->error = "";
}

/*---- Arguments ------------------------------------------------------------*/

/* The script arguments of one operation: KEYS[1], KEYS[2], then ARGV. */
typedef struct pw_store_args {
    int n;
    char *v[PW_STORE_NARGS_MAX];
    size_t len[PW_STORE_NARGS_MAX];
} pw_store_args;

static void pw_store_args_clear(pw_store_args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

static int pw_store_args_add(pw_store_args *a, const void *data, size_t len)
{
    if (a->n >= PW_STORE_NARGS_MAX)
        return -1;
    char *copy = pw_malloc(len + 1);
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
static int pw_store_valid(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

static int64_t pw_store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *pw_store_final_name(pw_store_outcome status)
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
static int pw_store_build_claim(pw_store_args *a, const pw_store_claim_args *c,
                                int64_t retention_ms)
{
    if (c == NULL || !pw_store_valid(c->key, PW_STORE_KEY_MAX) ||
        !pw_store_valid(c->token, PW_STORE_ARG_MAX) ||
        !pw_store_valid(c->command_id, PW_STORE_ARG_MAX) ||
        !pw_store_valid(c->digest, PW_STORE_ARG_MAX) ||
        (c->worker != NULL && strlen(c->worker) > PW_STORE_ARG_MAX) || c->ttl_ms <= 0 ||
        c->expires_at_ms < 0)
        return -1;
    int64_t ceiling = c->ttl_ms > retention_ms ? c->ttl_ms : retention_ms;
    if (pw_store_args_keys(a, c->key, c->command_id) != 0 || pw_store_args_str(a, c->token) != 0 ||
        pw_store_args_i64(a, c->ttl_ms) != 0 || pw_store_args_str(a, c->command_id) != 0 ||
        pw_store_args_str(a, c->digest) != 0 ||
        pw_store_args_str(a, c->worker != NULL ? c->worker : "") != 0 ||
        pw_store_args_i64(a, c->now_ms > 0 ? c->now_ms : pw_store_now_ms()) != 0 ||
        pw_store_args_i64(a, ceiling) != 0 || pw_store_args_i64(a, c->expires_at_ms) != 0)
        return -1;
    return 0;
}

static int pw_store_build_extend(pw_store_args *a, const char *key, const char *token,
                                 int64_t ttl_ms)
{
    if (!pw_store_valid(key, PW_STORE_KEY_MAX) || !pw_store_valid(token, PW_STORE_ARG_MAX) ||
        ttl_ms <= 0)
        return -1;
    if (pw_store_args_keys(a, key, "") != 0 || pw_store_args_str(a, token) != 0 ||
        pw_store_args_i64(a, ttl_ms) != 0)
        return -1;
    return 0;
}

/* A command's answer: a status name of PaymentResult, bounded. */
static int pw_store_valid_answer(const char *s)
{
    return pw_store_valid(s, 32);
}

static int pw_store_build_finish(pw_store_args *a, const pw_store_finish_args *f,
                                 int64_t retention_ms)
{
    if (f == NULL || !pw_store_valid(f->key, PW_STORE_KEY_MAX) ||
        !pw_store_valid(f->token, PW_STORE_ARG_MAX) || f->fence <= 0 ||
        pw_store_final_name(f->status) == NULL || f->result_len > PW_STORE_RESULT_MAX ||
        (f->result == NULL && f->result_len > 0) ||
        (f->reason != NULL && strlen(f->reason) > PW_STORE_ARG_MAX) || f->retention_ms < 0 ||
        !pw_store_valid(f->command_id, PW_STORE_ARG_MAX) ||
        (f->answer != NULL && !pw_store_valid_answer(f->answer)) ||
        (f->digest != NULL && strlen(f->digest) > PW_STORE_ARG_MAX))
        return -1;
    const char *reason =
        f->reason != NULL && f->reason[0] != '\0' ? f->reason : "worker reported UNKNOWN";
    if (pw_store_args_keys(a, f->key, f->command_id) != 0 || pw_store_args_i64(a, f->fence) != 0 ||
        pw_store_args_str(a, f->token) != 0 ||
        pw_store_args_str(a, pw_store_final_name(f->status)) != 0 ||
        pw_store_args_add(a, f->result, f->result_len) != 0 ||
        pw_store_args_i64(a, f->retention_ms > 0 ? f->retention_ms : retention_ms) != 0 ||
        pw_store_args_i64(a, f->now_ms > 0 ? f->now_ms : pw_store_now_ms()) != 0 ||
        pw_store_args_str(a, reason) != 0 || pw_store_args_str(a, f->command_id) != 0 ||
        pw_store_args_str(a, f->answer != NULL ? f->answer : "") != 0 ||
        pw_store_args_str(a, f->digest != NULL ? f->digest : "") != 0)
        return -1;
    return 0;
}

static int pw_store_build_record(pw_store_args *a, const pw_store_record_args *r,
                                 int64_t retention_ms)
{
    if (r == NULL || !pw_store_valid(r->key, PW_STORE_KEY_MAX) ||
        !pw_store_valid(r->command_id, PW_STORE_ARG_MAX) || !pw_store_valid_answer(r->answer) ||
        r->result_len > PW_STORE_RESULT_MAX || (r->result == NULL && r->result_len > 0) ||
        r->fence < 0 || r->retention_ms < 0 ||
        (r->digest != NULL && strlen(r->digest) > PW_STORE_ARG_MAX))
        return -1;
    if (pw_store_args_keys(a, r->key, r->command_id) != 0 ||
        pw_store_args_str(a, r->command_id) != 0 || pw_store_args_str(a, r->answer) != 0 ||
        pw_store_args_add(a, r->result, r->result_len) != 0 ||
        pw_store_args_i64(a, r->fence) != 0 ||
        pw_store_args_str(a, r->digest != NULL ? r->digest : "") != 0 ||
        pw_store_args_i64(a, r->now_ms > 0 ? r->now_ms : pw_store_now_ms()) != 0 ||
        pw_store_args_i64(a, r->retention_ms > 0 ? r->retention_ms : retention_ms) != 0)
        return -1;
    return 0;
}

static int pw_store_build_resolve(pw_store_args *a, const pw_store_resolve_args *r,
                                  int64_t retention_ms)
{
    if (r == NULL || !pw_store_valid(r->key, PW_STORE_KEY_MAX) ||
        !pw_store_valid(r->reason, PW_STORE_ARG_MAX) ||
        !pw_store_valid(r->operator_name, PW_STORE_ARG_MAX) || r->retention_ms < 0)
        return -1;
    if (pw_store_args_keys(a, r->key, "") != 0 || pw_store_args_str(a, r->paid ? "1" : "0") != 0 ||
        pw_store_args_str(a, r->reason) != 0 || pw_store_args_str(a, r->operator_name) != 0 ||
        pw_store_args_i64(a, r->now_ms > 0 ? r->now_ms : pw_store_now_ms()) != 0 ||
        pw_store_args_i64(a, r->retention_ms > 0 ? r->retention_ms : retention_ms) != 0)
        return -1;
    return 0;
}

static int pw_store_build_lookup(pw_store_args *a, const char *key)
{
    if (!pw_store_valid(key, PW_STORE_KEY_MAX))
        return -1;
    return pw_store_args_keys(a, key, "");
}

static int pw_store_build_unknowns(pw_store_args *a, size_t limit)
{
    if (limit == 0 || limit > 1000000)
        return -1;
    if (pw_store_args_keys(a, "-", "") != 0 || pw_store_args_i64(a, pw_store_now_ms()) != 0 ||
        pw_store_args_i64(a, (int64_t)limit) != 0)
        return -1;
    return 0;
}

/*---- The async store ------------------------------------------------------*/

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

void pw_store_options_init(pw_store_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->command_timeout_ms = 2000;
    opts->connect_timeout_ms = 2000;
    opts->backoff_min_ms = 100;
    opts->backoff_max_ms = 5000;
    opts->replicas = 0;
    opts->replicas_timeout_ms = 500;
    opts->retention_ms = 7 * PW_STORE_DAY_MS;
    opts->ping_interval_ms = 1000;
}

int pw_store_ready(const pw_store *store)
{
    return store != NULL && store->ready && !store->closing;
}

int pw_store_token(char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    if (buf == NULL || cap < 2 * sizeof(raw) + 1)
        return -1;
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++) {
        buf[2 * i] = hex[raw[i] >> 4];
        buf[2 * i + 1] = hex[raw[i] & 15];
    }
    buf[2 * sizeof(raw)] = '\0';
    return 0;
}

static void pw_store_destroy(pw_store *s);
static void pw_store_schedule(pw_store *s);

static void pw_store_enter(pw_store *s)
{
    s->depth++;
}

/* After this the caller must not touch s: it may have been freed. */
static void pw_store_leave(pw_store *s)
{
    s->depth--;
    if (s->depth == 0 && s->closing)
        pw_store_destroy(s);
}

static void pw_store_timeval(struct timeval *tv, int64_t ms)
{
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static void pw_store_report(pw_store *s, pw_store_state state, const char *why)
{
    if (s->closing || s->reported == (int)state)
        return;
    s->reported = (int)state;
    if (s->state_cb != NULL)
        s->state_cb(s->state_ud, state, why);
}

/*---- Ops ------------------------------------------------------------------*/

static void pw_store_op_unlink(pw_store *s, pw_store_op *op)
{
    if (!op->linked)
        return;
    op->linked = 0;
    if (op->prev != NULL)
        op->prev->next = op->next;
    else
        s->ops = op->next;
    if (op->next != NULL)
        op->next->prev = op->prev;
    op->prev = NULL;
    op->next = NULL;
}

static void pw_store_op_release(pw_store_op *op)
{
    if (op->store != NULL || op->in_redis)
        return;
    pw_store_args_clear(&op->args);
    free(op);
}

/* Answers op exactly once (op->store must still be set). */
static void pw_store_op_answer(pw_store_op *op, const pw_store_reply *reply)
{
    pw_store_op_unlink(op->store, op);
    op->store = NULL;
    if (op->timer != NULL) {
        event_free(op->timer);
        op->timer = NULL;
    }
    pw_store_cb cb = op->cb;
    void *ud = op->ud;
    op->cb = NULL;
    cb(ud, reply);
    pw_store_op_release(op);
}

static void pw_store_op_fail(pw_store_op *op, const char *why)
{
    pw_store_reply reply;
    pw_store_reply_init(&reply);
    reply.outcome = PW_STORE_ERROR;
    reply.error = why;
    if (op->waiting)
        reply.fence = op->fence;
    pw_store_op_answer(op, &reply);
}

/* Moves the ops matching (all, or only those sent on the connection) out of
 * the store into a private chain, then answers each ERROR why. */
static void pw_store_fail_ops(pw_store *s, int only_sent, const char *why)
{
    pw_store_op *chain = NULL, *tail = NULL;
    pw_store_op *op = s->ops;
    while (op != NULL) {
        pw_store_op *next = op->next;
        if (!only_sent || !op->deferred) {
            pw_store_op_unlink(s, op);
            if (tail != NULL)
                tail->next = op;
            else
                chain = op;
            tail = op;
        }
        op = next;
    }
    char copy[PW_STORE_WHY_MAX];
    snprintf(copy, sizeof(copy), "%s", why); /* why may live in s->why */
    while (chain != NULL) {
        op = chain;
        chain = op->next;
        op->next = NULL;
        pw_store_op_fail(op, copy);
    }
}

static void pw_store_on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Queues op on the connection: EVALSHA, or EVAL once Redis said NOSCRIPT. */
static int pw_store_op_send(pw_store *s, pw_store_op *op)
{
    const char *argv[3 + PW_STORE_NARGS_MAX];
    size_t lens[3 + PW_STORE_NARGS_MAX];
    if (op->script == PW_SCRIPT_PING) {
        argv[0] = "PING";
        lens[0] = 4;
        if (s->ac == NULL ||
            redisAsyncCommandArgv(s->ac, pw_store_on_reply, op, 1, argv, lens) != REDIS_OK)
            return -1;
        op->in_redis = 1;
        return 0;
    }
    if (op->fallback) {
        argv[0] = "EVAL";
        argv[1] = pw_store_lua[op->script];
    } else {
        argv[0] = "EVALSHA";
        argv[1] = s->sha[op->script];
    }
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    argv[2] = PW_STORE_NKEYS_STR;
    lens[2] = 1;
    for (int i = 0; i < op->args.n; i++) {
        argv[3 + i] = op->args.v[i];
        lens[3 + i] = op->args.len[i];
    }
    if (s->ac == NULL ||
        redisAsyncCommandArgv(s->ac, pw_store_on_reply, op, 3 + op->args.n, argv, lens) != REDIS_OK)
        return -1;
    op->in_redis = 1;
    return 0;
}

static int pw_store_op_send_wait(pw_store *s, pw_store_op *op)
{
    char n[16], ms[24];
    snprintf(n, sizeof(n), "%d", s->opts.replicas);
    snprintf(ms, sizeof(ms), "%d", s->opts.replicas_timeout_ms);
    const char *argv[3] = {"WAIT", n, ms};
    size_t lens[3] = {4, strlen(n), strlen(ms)};
    if (s->ac == NULL ||
        redisAsyncCommandArgv(s->ac, pw_store_on_reply, op, 3, argv, lens) != REDIS_OK)
        return -1;
    op->in_redis = 1;
    return 0;
}

static void pw_store_on_op_timer(evutil_socket_t fd, short what, void *arg);

/* Takes an op whose args are built; answers it through the loop. */
static int pw_store_submit(pw_store *s, int script, pw_store_args *args, pw_store_cb cb, void *ud)
{
    pw_store_op *op = pw_calloc(1, sizeof(*op));
    if (op == NULL) {
        pw_store_args_clear(args);
        return -1;
    }
    op->timer = evtimer_new(s->base, pw_store_on_op_timer, op);
    if (op->timer == NULL) {
        pw_store_args_clear(args);
        free(op);
        return -1;
    }
    op->store = s;
    op->script = script;
    op->cb = cb;
    op->ud = ud;
    op->args = *args;
    args->n = 0;
    op->next = s->ops;
    if (s->ops != NULL)
        s->ops->prev = op;
    s->ops = op;
    op->linked = 1;

    struct timeval tv;
    if (s->ready && pw_store_op_send(s, op) == 0) {
        pw_store_timeval(&tv, s->opts.command_timeout_ms);
    } else {
        op->deferred = 1;
        snprintf(op->error, sizeof(op->error), "redis unavailable: %.400s",
                 s->why[0] != '\0' ? s->why : "cannot queue the command");
        pw_store_timeval(&tv, 0);
    }
    evtimer_add(op->timer, &tv);
    return 0;
}

/*---- Connection -----------------------------------------------------------*/

/* Common part of losing a connection (s->ac already cleared). */
static void pw_store_down(pw_store *s, const char *why)
{
    s->ready = 0;
    s->handshake_left = 0;
    evtimer_del(s->handshake_timer);
    event_del(s->ping_timer);
    snprintf(s->why, sizeof(s->why), "%s", why);
    pw_store_report(s, PW_STORE_DOWN, s->why);
    pw_store_fail_ops(s, 1, s->why);
    pw_store_schedule(s);
}

/* hiredis is tearing ac down by itself. */
static void pw_store_lost(pw_store *s, redisAsyncContext *ac, const char *why)
{
    if (s->ac != ac)
        return;
    char msg[PW_STORE_WHY_MAX];
    snprintf(msg, sizeof(msg), "redis %s: %.200s", s->addr.display,
             why != NULL && why[0] != '\0' ? why : "connection closed");
    ac->data = NULL;
    s->ac = NULL;
    pw_store_down(s, msg);
}

/* We close the current connection (why is the full message). */
static void pw_store_drop(pw_store *s, const char *why)
{
    redisAsyncContext *ac = s->ac;
    if (ac == NULL)
        return;
    ac->data = NULL;
    s->ac = NULL;
    pw_store_down(s, why);
    redisAsyncFree(ac); /* deferred by hiredis when inside one of its callbacks */
}

static void pw_store_on_connect(const redisAsyncContext *cac, int status)
{
    pw_store *s = cac->data;
    if (s == NULL || s->ac != cac || status == REDIS_OK)
        return;
    pw_store_enter(s);
    pw_store_lost(s, s->ac, cac->c.errstr);
    pw_store_leave(s);
}

static void pw_store_on_disconnect(const redisAsyncContext *cac, int status)
{
    (void)status;
    pw_store *s = cac->data;
    if (s == NULL || s->ac != cac)
        return;
    pw_store_enter(s);
    pw_store_lost(s, s->ac, cac->errstr != NULL ? cac->errstr : cac->c.errstr);
    pw_store_leave(s);
}

/* Handshake steps: privdata is the step (-2 AUTH, -1 SELECT, 0.. a script). */
static void pw_store_on_handshake(redisAsyncContext *ac, void *r, void *privdata)
{
    pw_store *s = ac->data;
    redisReply *reply = r;
    if (s == NULL || s->ac != ac || reply == NULL)
        return; /* an abandoned connection, or one being torn down */
    int step = (int)(intptr_t)privdata;
    const char *what = step == -2 ? "AUTH" : step == -1 ? "SELECT" : "SCRIPT LOAD";
    char why[PW_STORE_WHY_MAX];
    pw_store_enter(s);
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "redis %s: %s failed: %.150s", s->addr.display, what,
                 reply->str != NULL ? reply->str : "");
        pw_store_drop(s, why);
    } else if (step >= 0 && (reply->type != REDIS_REPLY_STRING || reply->len != 40)) {
        snprintf(why, sizeof(why), "redis %s: SCRIPT LOAD %s: unexpected answer", s->addr.display,
                 pw_store_script_name[step]);
        pw_store_drop(s, why);
    } else {
        if (step >= 0)
            memcpy(s->sha[step], reply->str, 41);
        s->handshake_left--;
        if (s->handshake_left == 0) {
            evtimer_del(s->handshake_timer);
            s->ready = 1;
            s->attempt = 0;
            if (s->opts.ping_interval_ms > 0) {
                struct timeval tv;
                pw_store_timeval(&tv, s->opts.ping_interval_ms);
                event_add(s->ping_timer, &tv);
            }
            s->why[0] = '\0';
            snprintf(why, sizeof(why), "redis %s: connected", s->addr.display);
            pw_store_report(s, PW_STORE_UP, why);
        }
    }
    pw_store_leave(s);
}

static void pw_store_on_handshake_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_store *s = arg;
    char why[PW_STORE_WHY_MAX];
    snprintf(why, sizeof(why), "redis %s: no connection within %d ms", s->addr.display,
             s->opts.connect_timeout_ms);
    pw_store_enter(s);
    pw_store_drop(s, why);
    pw_store_leave(s);
}

static int pw_store_handshake_send(pw_store *s, int step, int argc, const char **argv,
                                   const size_t *lens)
{
    if (redisAsyncCommandArgv(s->ac, pw_store_on_handshake, (void *)(intptr_t)step, argc, argv,
                              lens) != REDIS_OK)
        return -1;
    s->handshake_left++;
    return 0;
}

/* One connection attempt (from the retry timer). */
static void pw_store_connect(pw_store *s)
{
    char why[PW_STORE_WHY_MAX];
    redisAsyncContext *ac = s->addr.is_unix ? redisAsyncConnectUnix(s->addr.path)
                                            : redisAsyncConnect(s->addr.host, s->addr.port);
    if (ac == NULL || ac->err) {
        snprintf(why, sizeof(why), "redis %s: %s", s->addr.display,
                 ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        pw_store_down(s, why);
        return;
    }
    if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
        redisAsyncFree(ac);
        snprintf(why, sizeof(why), "redis %s: cannot attach to the event loop", s->addr.display);
        pw_store_down(s, why);
        return;
    }
    ac->data = s;
    s->ac = ac;
    s->handshake_left = 0;
    redisAsyncSetConnectCallback(ac, pw_store_on_connect);
    redisAsyncSetDisconnectCallback(ac, pw_store_on_disconnect);
    if (!s->addr.is_unix)
        redisEnableKeepAlive(&ac->c);

    int rc = 0;
    if (s->addr.has_auth) { /* AUTH [user] password */
        const char *argv[3] = {"AUTH", s->addr.user, s->addr.pass};
        size_t lens[3] = {4, strlen(s->addr.user), strlen(s->addr.pass)};
        int argc = 3;
        if (s->addr.user[0] == '\0') {
            argv[1] = argv[2];
            lens[1] = lens[2];
            argc = 2;
        }
        rc |= pw_store_handshake_send(s, -2, argc, argv, lens);
    }
    if (s->addr.db != 0) {
        char db[24];
        snprintf(db, sizeof(db), "%ld", s->addr.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        rc |= pw_store_handshake_send(s, -1, 2, argv, lens);
    }
    for (int i = 0; i < PW_SCRIPT_COUNT; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", pw_store_lua[i]};
        size_t lens[3] = {6, 4, strlen(pw_store_lua[i])};
        rc |= pw_store_handshake_send(s, i, 3, argv, lens);
    }
    if (rc != 0) {
        snprintf(why, sizeof(why), "redis %s: cannot queue the handshake", s->addr.display);
        pw_store_drop(s, why);
        return;
    }
    struct timeval tv;
    pw_store_timeval(&tv, s->opts.connect_timeout_ms);
    evtimer_add(s->handshake_timer, &tv);
}

static void pw_store_on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_store *s = arg;
    pw_store_enter(s);
    if (!s->closing && s->ac == NULL)
        pw_store_connect(s);
    pw_store_leave(s);
}

static uint64_t pw_store_rand(pw_store *s)
{
    uint64_t x = s->rng; /* xorshift64: jitter only */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x;
}

/* Arms the next connection attempt: min * 2^attempt capped at max, jittered
 * uniformly in [d/2, d]. */
static void pw_store_schedule(pw_store *s)
{
    if (s->closing || s->ac != NULL || evtimer_pending(s->retry_timer, NULL))
        return;
    int64_t d = s->opts.backoff_min_ms;
    for (int i = 0; i < s->attempt && d < s->opts.backoff_max_ms; i++)
        d *= 2;
    if (d > s->opts.backoff_max_ms)
        d = s->opts.backoff_max_ms;
    d = d / 2 + (int64_t)(pw_store_rand(s) % (uint64_t)(d / 2 + 1));
    if (s->attempt < 64)
        s->attempt++;
    struct timeval tv;
    pw_store_timeval(&tv, d);
    evtimer_add(s->retry_timer, &tv);
}

/*---- Replies --------------------------------------------------------------*/

static void pw_store_on_op_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_store_op *op = arg;
    pw_store *s = op->store;
    pw_store_enter(s);
    if (op->deferred) {
        pw_store_op_fail(op, op->error);
    } else {
        char why[PW_STORE_WHY_MAX];
        snprintf(why, sizeof(why), "redis %s: no answer to %s within %d ms", s->addr.display,
                 op->waiting                    ? "WAIT"
                 : op->script == PW_SCRIPT_PING ? "PING"
                                                : pw_store_script_name[op->script],
                 s->opts.command_timeout_ms + (op->waiting ? s->opts.replicas_timeout_ms : 0));
        pw_store_drop(s, why); /* answers op and everything behind it */
    }
    pw_store_leave(s);
}

static void pw_store_on_wait_reply(pw_store *s, pw_store_op *op, const redisReply *reply)
{
    char why[PW_STORE_WHY_MAX];
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer >= s->opts.replicas) {
        pw_store_reply out;
        pw_store_reply_init(&out);
        out.outcome = PW_STORE_CLAIMED;
        out.fence = op->fence;
        out.status = "INFLIGHT";
        pw_store_op_answer(op, &out);
        return;
    }
    if (reply->type == REDIS_REPLY_INTEGER)
        snprintf(why, sizeof(why),
                 "claim acknowledged by %lld of %d replicas within %d ms: do not call the "
                 "provider; retry the claim with the same token",
                 reply->integer, s->opts.replicas, s->opts.replicas_timeout_ms);
    else
        snprintf(why, sizeof(why), "redis WAIT failed: %.150s",
                 reply->type == REDIS_REPLY_ERROR && reply->str != NULL ? reply->str : "?");
    pw_store_op_fail(op, why);
}

static void pw_store_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    pw_store_op *op = privdata;
    redisReply *reply = r;
    op->in_redis = 0;
    pw_store *s = op->store;
    if (s == NULL) { /* answered already (timeout, drop, close) */
        pw_store_op_release(op);
        return;
    }
    pw_store_enter(s);
    if (reply == NULL) {
        /* hiredis is freeing the connection: lost answers op with the rest */
        if (s->ac == ac)
            pw_store_lost(s, ac, ac->errstr);
        else
            pw_store_op_fail(op, "redis: connection closed");
        pw_store_leave(s);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR && !op->waiting && !op->fallback && reply->str != NULL &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        op->fallback = 1; /* scripts flushed (SCRIPT FLUSH, failover): run EVAL */
        if (pw_store_op_send(s, op) != 0)
            pw_store_op_fail(op, "redis unavailable: cannot queue EVAL");
        pw_store_leave(s);
        return;
    }
    if (op->waiting) {
        pw_store_on_wait_reply(s, op, reply);
        pw_store_leave(s);
        return;
    }
    if (op->script == PW_SCRIPT_PING) { /* any answer proves the connection alive */
        pw_store_reply out;
        pw_store_reply_init(&out);
        out.outcome = PW_STORE_OK;
        pw_store_op_answer(op, &out);
        pw_store_leave(s);
        return;
    }
    int readonly = reply->type == REDIS_REPLY_ERROR && reply->str != NULL &&
                   strncmp(reply->str, "READONLY", 8) == 0;
    char err[PW_STORE_WHY_MAX];
    pw_store_parsed parsed;
    pw_store_reply out;
    pw_store_parse(reply, op->script, &out, &parsed, err, sizeof(err));
    if (out.outcome == PW_STORE_CLAIMED && s->opts.replicas > 0) {
        op->waiting = 1;
        op->fence = out.fence;
        pw_store_parsed_clear(&parsed);
        if (pw_store_op_send_wait(s, op) != 0) {
            pw_store_op_fail(op, "redis unavailable: cannot queue WAIT");
        } else {
            struct timeval tv;
            pw_store_timeval(&tv, s->opts.command_timeout_ms + s->opts.replicas_timeout_ms);
            evtimer_add(op->timer, &tv);
        }
        pw_store_leave(s);
        return;
    }
    pw_store_op_answer(op, &out);
    pw_store_parsed_clear(&parsed);
    if (readonly && s->ac == ac) {
        char why[PW_STORE_WHY_MAX];
        snprintf(why, sizeof(why), "redis %s is a read-only replica: reconnecting",
                 s->addr.display);
        pw_store_drop(s, why);
    }
    pw_store_leave(s);
}

static void pw_store_on_ping_reply(void *ud, const pw_store_reply *reply)
{
    (void)reply; /* an ERROR has already dropped the connection */
    pw_store *s = ud;
    s->ping_out = 0;
}

/* Heartbeat: an idle store still notices a hung or vanished Redis (and a
 * server-side idle timeout never closes the connection). */
static void pw_store_on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_store *s = arg;
    pw_store_enter(s);
    if (s->ready && !s->ping_out && !s->closing) {
        pw_store_args none = {0};
        if (pw_store_submit(s, PW_SCRIPT_PING, &none, pw_store_on_ping_reply, s) == 0)
            s->ping_out = 1;
    }
    pw_store_leave(s);
}

/*---- Public API -----------------------------------------------------------*/

pw_store *pw_store_new(struct event_base *base, const char *url, const pw_store_options *opts,
                       pw_store_state_cb state_cb, void *state_ud, char *errstr, size_t cap)
{
    if (base == NULL) {
        snprintf(errstr, cap, "redis store: no event base");
        return NULL;
    }
    pw_store *s = pw_calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(errstr, cap, "redis store: out of memory");
        return NULL;
    }
    if (pw_store_parse_url(url, &s->addr, errstr, cap) != 0) {
        free(s);
        return NULL;
    }
    if (opts != NULL)
        s->opts = *opts;
    else
        pw_store_options_init(&s->opts);
    const pw_store_options *o = &s->opts;
    if (o->command_timeout_ms <= 0 || o->connect_timeout_ms <= 0 || o->backoff_min_ms <= 0 ||
        o->backoff_max_ms < o->backoff_min_ms || o->replicas < 0 ||
        (o->replicas > 0 && o->replicas_timeout_ms <= 0) || o->retention_ms <= 0 ||
        o->ping_interval_ms < 0) {
        snprintf(errstr, cap,
                 "redis store: bad options (timeouts and backoff must be > 0, backoff_max >= "
                 "backoff_min, retention > 0)");
        free(s);
        return NULL;
    }
    s->base = base;
    s->state_cb = state_cb;
    s->state_ud = state_ud;
    s->reported = -1;
    snprintf(s->why, sizeof(s->why), "redis %s: connecting", s->addr.display);
    if (getrandom(&s->rng, sizeof(s->rng), GRND_NONBLOCK) != (ssize_t)sizeof(s->rng))
        s->rng = (uint64_t)pw_store_now_ms() ^ ((uint64_t)getpid() << 32);
    if (s->rng == 0)
        s->rng = 0x9e3779b97f4a7c15ULL;
    s->retry_timer = evtimer_new(base, pw_store_on_retry_timer, s);
    s->handshake_timer = evtimer_new(base, pw_store_on_handshake_timer, s);
    s->ping_timer = event_new(base, -1, EV_PERSIST, pw_store_on_ping_timer, s);
    if (s->retry_timer == NULL || s->handshake_timer == NULL || s->ping_timer == NULL) {
        if (s->retry_timer != NULL)
            event_free(s->retry_timer);
        if (s->handshake_timer != NULL)
            event_free(s->handshake_timer);
        if (s->ping_timer != NULL)
            event_free(s->ping_timer);
        free(s);
        snprintf(errstr, cap, "redis store: cannot create timers");
        return NULL;
    }
    struct timeval now = {0, 0};
    evtimer_add(s->retry_timer, &now); /* first attempt on the next loop iteration */
    return s;
}

static void pw_store_destroy(pw_store *s)
{
    redisAsyncContext *ac = s->ac;
    if (ac != NULL) {
        ac->data = NULL;
        s->ac = NULL;
    }
    s->ready = 0;
    event_free(s->retry_timer);
    event_free(s->handshake_timer);
    event_free(s->ping_timer);
    s->depth++; /* "store closed" callbacks cannot re-enter the destruction */
    pw_store_fail_ops(s, 0, "store closed");
    if (ac != NULL)
        redisAsyncFree(ac); /* ops still held by hiredis are freed by their callbacks */
    free(s);
}

void pw_store_free(pw_store *store)
{
    if (store == NULL || store->closing)
        return;
    store->closing = 1;
    if (store->depth == 0)
        pw_store_destroy(store);
    /* else: the outermost pw_store_leave destroys it */
}

int pw_store_claim(pw_store *store, const pw_store_claim_args *args, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_build_claim(&a, args, store->opts.retention_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_submit(store, PW_SCRIPT_CLAIM, &a, cb, ud);
}

int pw_store_extend(pw_store *store, const char *key, const char *token, int64_t ttl_ms,
                    pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_build_extend(&a, key, token, ttl_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_submit(store, PW_SCRIPT_EXTEND, &a, cb, ud);
}

int pw_store_finish(pw_store *store, const pw_store_finish_args *args, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_build_finish(&a, args, store->opts.retention_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_submit(store, PW_SCRIPT_FINISH, &a, cb, ud);
}

int pw_store_record(pw_store *store, const pw_store_record_args *args, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_build_record(&a, args, store->opts.retention_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_submit(store, PW_SCRIPT_RECORD, &a, cb, ud);
}

int pw_store_resolve(pw_store *store, const pw_store_resolve_args *args, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_build_resolve(&a, args, store->opts.retention_ms) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_submit(store, PW_SCRIPT_RESOLVE, &a, cb, ud);
}

int pw_store_lookup(pw_store *store, const char *key, pw_store_cb cb, void *ud)
{
    pw_store_args a = {0};
    if (store == NULL || store->closing || cb == NULL)
        return -1;
    if (pw_store_build_lookup(&a, key) != 0) {
        pw_store_args_clear(&a);
        return -1;
    }
    return pw_store_submit(store, PW_SCRIPT_LOOKUP, &a, cb, ud);
}

/*---- Synchronous helpers --------------------------------------------------*/

struct pw_store_sync {
    redisContext *c;
    pw_store_addr addr;
};

/* The caller's reply and what it points into. pub comes first: a
 * pw_store_reply * is a pw_store_sync_reply *. */
typedef struct pw_store_sync_reply {
    pw_store_reply pub;
    redisReply *raw;
    pw_store_parsed parsed;
    char error[PW_STORE_WHY_MAX];
} pw_store_sync_reply;

void pw_store_reply_free(pw_store_reply *reply)
{
    if (reply == NULL)
        return;
    pw_store_sync_reply *r = (pw_store_sync_reply *)reply;
    if (r->raw != NULL)
        freeReplyObject(r->raw);
    pw_store_parsed_clear(&r->parsed);
    free(r);
}

/* Runs argv; NULL with errstr filled when the command could not be run. */
static redisReply *pw_store_sync_cmd(pw_store_sync *sync, int argc, const char **argv,
                                     const size_t *lens, char *errstr, size_t cap)
{
    if (sync->c->err) {
        snprintf(errstr, cap, "redis %s: %s", sync->addr.display, sync->c->errstr);
        return NULL;
    }
    redisReply *r = redisCommandArgv(sync->c, argc, argv, lens);
    if (r == NULL)
        snprintf(errstr, cap, "redis %s: %s", sync->addr.display,
                 sync->c->err ? sync->c->errstr : "no answer");
    return r;
}

pw_store_sync *pw_store_sync_new(const char *url, int timeout_ms, char *errstr, size_t cap)
{
    pw_store_sync *sync = pw_calloc(1, sizeof(*sync));
    if (sync == NULL) {
        snprintf(errstr, cap, "redis: out of memory");
        return NULL;
    }
    if (pw_store_parse_url(url, &sync->addr, errstr, cap) != 0) {
        free(sync);
        return NULL;
    }
    struct timeval tv;
    pw_store_timeval(&tv, timeout_ms > 0 ? timeout_ms : 2000);
    sync->c = sync->addr.is_unix ? redisConnectUnixWithTimeout(sync->addr.path, tv)
                                 : redisConnectWithTimeout(sync->addr.host, sync->addr.port, tv);
    if (sync->c == NULL || sync->c->err) {
        snprintf(errstr, cap, "redis %s: %s", sync->addr.display,
                 sync->c != NULL ? sync->c->errstr : "out of memory");
        pw_store_sync_free(sync);
        return NULL;
    }
    redisSetTimeout(sync->c, tv);
    redisReply *r = NULL;
    if (sync->addr.has_auth) {
        const char *argv[3] = {"AUTH", sync->addr.user, sync->addr.pass};
        size_t lens[3] = {4, strlen(sync->addr.user), strlen(sync->addr.pass)};
        if (sync->addr.user[0] == '\0') {
            argv[1] = sync->addr.pass;
            lens[1] = lens[2];
        }
        r = pw_store_sync_cmd(sync, sync->addr.user[0] != '\0' ? 3 : 2, argv, lens, errstr, cap);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (r != NULL)
                snprintf(errstr, cap, "redis %s: AUTH failed: %.150s", sync->addr.display, r->str);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (sync->addr.db != 0) {
        char db[24];
        snprintf(db, sizeof(db), "%ld", sync->addr.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        r = pw_store_sync_cmd(sync, 2, argv, lens, errstr, cap);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (r != NULL)
                snprintf(errstr, cap, "redis %s: SELECT failed: %.150s", sync->addr.display,
                         r->str);
            goto fail;
        }
        freeReplyObject(r);
    }
    return sync;
fail:
    if (r != NULL)
        freeReplyObject(r);
    pw_store_sync_free(sync);
    return NULL;
}

void pw_store_sync_free(pw_store_sync *sync)
{
    if (sync == NULL)
        return;
    if (sync->c != NULL)
        redisFree(sync->c);
    free(sync);
}

static pw_store_reply *pw_store_sync_run(pw_store_sync *sync, int script, pw_store_args *args)
{
    pw_store_sync_reply *out = pw_calloc(1, sizeof(*out));
    if (out == NULL) {
        pw_store_args_clear(args);
        return NULL;
    }
    const char *argv[3 + PW_STORE_NARGS_MAX];
    size_t lens[3 + PW_STORE_NARGS_MAX];
    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = pw_store_lua[script];
    lens[1] = strlen(argv[1]);
    argv[2] = PW_STORE_NKEYS_STR;
    lens[2] = 1;
    for (int i = 0; i < args->n; i++) {
        argv[3 + i] = args->v[i];
        lens[3 + i] = args->len[i];
    }
    out->raw = pw_store_sync_cmd(sync, 3 + args->n, argv, lens, out->error, sizeof(out->error));
    pw_store_args_clear(args);
    if (out->raw == NULL) {
        pw_store_reply_init(&out->pub);
        out->pub.outcome = PW_STORE_ERROR;
        out->pub.error = out->error;
        return &out->pub;
    }
    pw_store_parse(out->raw, script, &out->pub, &out->parsed, out->error, sizeof(out->error));
    return &out->pub;
}

pw_store_reply *pw_store_sync_lookup(pw_store_sync *sync, const char *key)
{
    pw_store_args a = {0};
    if (sync == NULL || pw_store_build_lookup(&a, key) != 0) {
        pw_store_args_clear(&a);
        return NULL;
    }
    return pw_store_sync_run(sync, PW_SCRIPT_LOOKUP, &a);
}

pw_store_reply *pw_store_sync_resolve(pw_store_sync *sync, const pw_store_resolve_args *args)
{
    pw_store_args a = {0};
    if (sync == NULL || pw_store_build_resolve(&a, args, 7 * PW_STORE_DAY_MS) != 0) {
        pw_store_args_clear(&a);
        return NULL;
    }
    return pw_store_sync_run(sync, PW_SCRIPT_RESOLVE, &a);
}

pw_store_reply *pw_store_sync_unknowns(pw_store_sync *sync, size_t limit)
{
    pw_store_args a = {0};
    if (sync == NULL || pw_store_build_unknowns(&a, limit) != 0) {
        pw_store_args_clear(&a);
        return NULL;
    }
    return pw_store_sync_run(sync, PW_SCRIPT_UNKNOWNS, &a);
}
