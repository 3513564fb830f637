-- claim.lua -- claims invoice K for one command (pw_store_claim): the order of
-- judgement of pw_store.h (its own final record, the lock, INFLIGHT without a
-- lock, UNKNOWN, DONE, expiry, then the claim: lock set, fence_seq + 1).
-- KEYS (every script gets the same six; K is the lock key "PROVIDER:query_id"):
--   KEYS[1] payw:{K}:state      the invoice's state (hash)
--   KEYS[2] payw:{K}:lock       the claim's lock (string, PX)
--   KEYS[3] payw:{K}:cmd:<id>   the command's own record (hash; "<id>" empty
--                               for the scripts that take no command)
--   KEYS[4] payw:{K}:cmds       the ids of the invoice's command records (set)
--   KEYS[5] payw:unknowns       UNKNOWN invoices by time (zset of K)
--   KEYS[6] payw:inflight       claimed invoices by claim time (zset of K)
-- ARGV: [1] token, [2] ttl_ms (the lock's), [3] command_id, [4] digest,
--   [5] worker, [6] now_ms, [7] ceiling_ms (the state's TTL while claimed),
--   [8] expires_at_ms (0: none)
-- Reply: {outcome, fence, busy_ms, command_id, result, status}: CLAIMED, BUSY,
--   ANSWERED, UNKNOWN, DONE, CONFLICT or EXPIRED.
-- By hand: redis-cli --eval worker/store/scripts/claim.lua 'payw:{K}:state' \
--   'payw:{K}:lock' 'payw:{K}:cmd:ID' 'payw:{K}:cmds' payw:unknowns payw:inflight , \
--   TOKEN 30000 ID DIGEST w-1 NOW_MS 604800000 0
-- The first five lines (key names, K read back from KEYS[1], the TTL rule of
-- the command set) are the same in claim, finish, record, resolve and lookup:
-- change them in every one.
local st, lk, ck, cs, ux, ix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ik = string.sub(st, 7, -8)
local function keep_cmds(unknown, ret)
  if unknown then redis.call('PERSIST', cs) else redis.call('PEXPIRE', cs, ret) end
end
local token, ttl, cmd, digest, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6]
local rec = redis.call('HMGET', ck, 'status', 'result', 'fence')
if rec[1] and rec[1] ~= 'UNKNOWN' then
  return {'ANSWERED', rec[3] or '0', '0', cmd, rec[2] or '', rec[1]}
end
local h = redis.call('HMGET', st, 'status', 'digest', 'command_id', 'result', 'fence')
local status, sdigest, scmd, result, fence = h[1], h[2], h[3], h[4], h[5]
local function out(o, busy)
  return {o, tostring(fence or 0), tostring(busy or 0), scmd or '', result or '',
          status or ''}
end
local holder = redis.call('GET', lk)
if holder then
  if holder == token and status == 'INFLIGHT' and scmd == cmd then
    redis.call('PEXPIRE', lk, ttl)
    return out('CLAIMED')
  end
  return out('BUSY', redis.call('PTTL', lk))
end
if status == 'INFLIGHT' then
  status = 'UNKNOWN'
  redis.call('HSET', st, 'status', status, 'unknown_reason',
             'the claim expired while the provider was being called', 'unknown_at', now)
  redis.call('PERSIST', st)
  redis.call('ZADD', ux, now, ik)
  redis.call('ZREM', ix, ik)
  keep_cmds(true)
end
if status == 'UNKNOWN' then
  if rec[1] == 'UNKNOWN' then
    return {'ANSWERED', rec[3] or '0', '0', cmd, rec[2] or '', 'UNKNOWN'}
  end
  return out('UNKNOWN')
end
if status == 'DONE' then
  if sdigest ~= digest then return out('CONFLICT') end
  return out('DONE')
end
if status and status ~= 'RELEASED' then
  return redis.error_reply('PAYW unexpected status ' .. status .. ' in ' .. st)
end
local exp = tonumber(ARGV[8])
if exp > 0 and tonumber(now) >= exp then return out('EXPIRED') end
redis.call('SET', lk, token, 'PX', ttl)
fence = redis.call('HINCRBY', st, 'fence_seq', 1)
redis.call('HDEL', st, 'result', 'finished_at', 'unknown_reason', 'unknown_at',
           'resolved_by', 'resolved_reason', 'resolved_at', 'resolved_paid',
           'result_before_resolve')
redis.call('HSET', st, 'status', 'INFLIGHT', 'command_id', cmd, 'fence', fence,
           'worker', ARGV[5], 'started_at', now, 'digest', digest)
redis.call('PEXPIRE', st, ARGV[7])
redis.call('ZADD', ix, now, ik)
status, scmd, result = 'INFLIGHT', cmd, ''
return out('CLAIMED')
