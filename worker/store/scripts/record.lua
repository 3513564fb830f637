-- record.lua -- an answer decided without a claim (pw_store_record):
-- DUPLICATE, EXPIRED, UNKNOWN, or the event of a record that has none yet. A
-- final record already there wins (ANSWERED with it); an UNKNOWN record gives
-- way to a final answer.
-- KEYS (every script gets the same six; K is the lock key "PROVIDER:query_id"):
--   KEYS[1] payw:{K}:state      the invoice's state (hash)
--   KEYS[2] payw:{K}:lock       the claim's lock (string, PX)
--   KEYS[3] payw:{K}:cmd:<id>   the command's own record (hash; "<id>" empty
--                               for the scripts that take no command)
--   KEYS[4] payw:{K}:cmds       the ids of the invoice's command records (set)
--   KEYS[5] payw:unknowns       UNKNOWN invoices by time (zset of K)
--   KEYS[6] payw:inflight       claimed invoices by claim time (zset of K)
-- ARGV: [1] command_id, [2] status, [3] result, [4] fence, [5] digest,
--   [6] now_ms, [7] retention_ms
-- Reply: {outcome, fence, '0', command_id, result, status}: OK (ours is
--   recorded) or ANSWERED (with the earlier final record).
-- By hand: redis-cli --eval worker/store/scripts/record.lua 'payw:{K}:state' \
--   'payw:{K}:lock' 'payw:{K}:cmd:ID' 'payw:{K}:cmds' payw:unknowns payw:inflight , \
--   ID DUPLICATE RESULT 0 DIGEST NOW_MS 604800000
-- The first five lines (key names, K read back from KEYS[1], the TTL rule of
-- the command set) are the same in claim, finish, record, resolve and lookup:
-- change them in every one.
local st, lk, ck, cs, ux, ix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ik = string.sub(st, 7, -8)
local function keep_cmds(unknown, ret)
  if unknown then redis.call('PERSIST', cs) else redis.call('PEXPIRE', cs, ret) end
end
local rec = redis.call('HMGET', ck, 'status', 'result', 'fence')
local write = not rec[1] or (rec[1] == ARGV[2] and (rec[2] or '') == '') or
              (rec[1] == 'UNKNOWN' and ARGV[2] ~= 'UNKNOWN')
if not write then
  return {'ANSWERED', rec[3] or '0', '0', ARGV[1], rec[2] or '', rec[1]}
end
redis.call('HSET', ck, 'status', ARGV[2], 'result', ARGV[3], 'fence', ARGV[4],
           'at', ARGV[6], 'digest', ARGV[5])
if ARGV[2] == 'UNKNOWN' then redis.call('PERSIST', ck) else redis.call('PEXPIRE', ck, ARGV[7]) end
redis.call('SADD', cs, ARGV[1])
keep_cmds(redis.call('HGET', st, 'status') == 'UNKNOWN', ARGV[7])
return {'OK', ARGV[4], '0', ARGV[1], '', ARGV[2]}
