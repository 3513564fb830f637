-- resolve.lua -- an operator's decision on an UNKNOWN invoice (or INFLIGHT
-- without a lock) (pw_store_resolve, payctl resolve): DONE if paid, RELEASED
-- if not, under a new fence. The command whose call is unknown gets its final
-- answer too: SUCCEEDED (paid) or FAILED.
-- KEYS (every script gets the same six; K is the lock key "PROVIDER:query_id"):
--   KEYS[1] payw:{K}:state      the invoice's state (hash)
--   KEYS[2] payw:{K}:lock       the claim's lock (string, PX)
--   KEYS[3] payw:{K}:cmd:<id>   the command's own record (hash; "<id>" empty
--                               for the scripts that take no command)
--   KEYS[4] payw:{K}:cmds       the ids of the invoice's command records (set)
--   KEYS[5] payw:unknowns       UNKNOWN invoices by time (zset of K)
--   KEYS[6] payw:inflight       claimed invoices by claim time (zset of K)
--   (KEYS[3] is not used: the command is the state's command_id)
-- ARGV: [1] paid (1/0), [2] reason, [3] operator, [4] now_ms, [5] retention_ms
-- Reply: {outcome, fence, '0', command_id, '', status}: OK (the new status),
--   NOT_UNKNOWN (the current one) or NOT_FOUND.
-- By hand: redis-cli --eval worker/store/scripts/resolve.lua 'payw:{K}:state' \
--   'payw:{K}:lock' 'payw:{K}:cmd:' 'payw:{K}:cmds' payw:unknowns payw:inflight , \
--   1 'checked with bank' alice NOW_MS 604800000
-- The first five lines (key names, K read back from KEYS[1], the TTL rule of
-- the command set) are the same in claim, finish, record, resolve and lookup:
-- change them in every one.
local st, lk, ck, cs, ux, ix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ik = string.sub(st, 7, -8)
local function keep_cmds(unknown, ret)
  if unknown then redis.call('PERSIST', cs) else redis.call('PEXPIRE', cs, ret) end
end
local h = redis.call('HMGET', st, 'status', 'fence', 'command_id', 'result', 'digest')
local status = h[1]
if not status then return {'NOT_FOUND', '0', '0', '', '', ''} end
if status == 'INFLIGHT' and redis.call('EXISTS', lk) == 0 then status = 'UNKNOWN' end
if status ~= 'UNKNOWN' then
  return {'NOT_UNKNOWN', tostring(h[2] or 0), '0', h[3] or '', '', status}
end
local new = 'RELEASED'
if ARGV[1] == '1' then new = 'DONE' end
local fence = redis.call('HINCRBY', st, 'fence_seq', 1)
if h[4] then
  redis.call('HSET', st, 'result_before_resolve', h[4])
  redis.call('HDEL', st, 'result')
end
redis.call('HSET', st, 'status', new, 'fence', fence, 'resolved_by', ARGV[3],
           'resolved_reason', ARGV[2], 'resolved_at', ARGV[4], 'resolved_paid', ARGV[1])
redis.call('PEXPIRE', st, ARGV[5])
redis.call('ZREM', ux, ik)
redis.call('ZREM', ix, ik)
if h[3] then
  local rk = string.sub(st, 1, -6) .. 'cmd:' .. h[3]
  local cur = redis.call('HGET', rk, 'status')
  if not cur or cur == 'UNKNOWN' then
    local s = 'FAILED'
    if ARGV[1] == '1' then s = 'SUCCEEDED' end
    redis.call('HSET', rk, 'status', s, 'result', '', 'fence', fence, 'at', ARGV[4],
               'digest', h[5] or '', 'resolved_by', ARGV[3], 'resolved_reason', ARGV[2])
    redis.call('PEXPIRE', rk, ARGV[5])
    redis.call('SADD', cs, h[3])
  end
end
keep_cmds(false, ARGV[5])
return {'OK', tostring(fence), '0', h[3] or '', '', new}
