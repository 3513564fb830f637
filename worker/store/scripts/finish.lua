-- finish.lua -- the claimant's outcome (pw_store_finish): the invoice's status
-- and result if the state still carries our fence (else FENCED), the lock
-- deleted if ours, and the command's record with its answer unless it already
-- has a final one (its first final answer stays: an operator's, should the
-- invoice have been resolved during the call).
-- KEYS (every script gets the same six; K is the lock key "PROVIDER:query_id"):
--   KEYS[1] payw:{K}:state      the invoice's state (hash)
--   KEYS[2] payw:{K}:lock       the claim's lock (string, PX)
--   KEYS[3] payw:{K}:cmd:<id>   the command's own record (hash; "<id>" empty
--                               for the scripts that take no command)
--   KEYS[4] payw:{K}:cmds       the ids of the invoice's command records (set)
--   KEYS[5] payw:unknowns       UNKNOWN invoices by time (zset of K)
--   KEYS[6] payw:inflight       claimed invoices by claim time (zset of K)
-- ARGV: [1] fence, [2] token, [3] invoice status (DONE, RELEASED or UNKNOWN),
--   [4] result, [5] retention_ms, [6] now_ms, [7] reason (UNKNOWN),
--   [8] command_id, [9] command status ("": none, the claim is given back
--   unanswered), [10] digest
-- Reply: {outcome, fence, '0', command_id, '', status}: OK or FENCED (with the
--   state's fence, command_id and status).
-- By hand: redis-cli --eval worker/store/scripts/finish.lua 'payw:{K}:state' \
--   'payw:{K}:lock' 'payw:{K}:cmd:ID' 'payw:{K}:cmds' payw:unknowns payw:inflight , \
--   FENCE TOKEN DONE RESULT 604800000 NOW_MS '' ID SUCCEEDED DIGEST
-- The first five lines (key names, K read back from KEYS[1], the TTL rule of
-- the command set) are the same in claim, finish, record, resolve and lookup:
-- change them in every one.
local st, lk, ck, cs, ux, ix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ik = string.sub(st, 7, -8)
local function keep_cmds(unknown, ret)
  if unknown then redis.call('PERSIST', cs) else redis.call('PEXPIRE', cs, ret) end
end
local inv = ARGV[3]
if inv ~= 'DONE' and inv ~= 'RELEASED' and inv ~= 'UNKNOWN' then
  return redis.error_reply('PAYW finish: bad status ' .. inv)
end
local h = redis.call('HMGET', st, 'fence', 'status', 'command_id')
local o, unknown = 'OK', inv == 'UNKNOWN'
if h[1] ~= ARGV[1] then
  o, unknown = 'FENCED', h[2] == 'UNKNOWN'
else
  redis.call('HSET', st, 'status', inv, 'result', ARGV[4], 'finished_at', ARGV[6])
  redis.call('ZREM', ix, ik)
  if unknown then
    redis.call('HSET', st, 'unknown_reason', ARGV[7], 'unknown_at', ARGV[6])
    redis.call('PERSIST', st)
    redis.call('ZADD', ux, ARGV[6], ik)
  else
    redis.call('HDEL', st, 'unknown_reason', 'unknown_at')
    redis.call('PEXPIRE', st, ARGV[5])
    redis.call('ZREM', ux, ik)
  end
end
if redis.call('GET', lk) == ARGV[2] then redis.call('DEL', lk) end
local had = redis.call('HGET', ck, 'status')
if ARGV[9] ~= '' and (not had or had == 'UNKNOWN') then
  redis.call('HSET', ck, 'status', ARGV[9], 'result', ARGV[4], 'fence', ARGV[1],
             'at', ARGV[6], 'digest', ARGV[10])
  if ARGV[9] == 'UNKNOWN' then redis.call('PERSIST', ck)
  else redis.call('PEXPIRE', ck, ARGV[5]) end
  redis.call('SADD', cs, ARGV[8])
  keep_cmds(unknown, ARGV[5])
end
return {o, tostring(h[1] or 0), '0', h[3] or '', '', h[2] or ''}
