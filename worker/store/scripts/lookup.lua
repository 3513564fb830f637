-- lookup.lua -- everything the store holds on invoice K (pw_store_lookup,
-- payctl lookup): the state, both PTTLs and every command record.
-- KEYS (every script gets the same six; K is the lock key "PROVIDER:query_id"):
--   KEYS[1] payw:{K}:state      the invoice's state (hash)
--   KEYS[2] payw:{K}:lock       the claim's lock (string, PX)
--   KEYS[3] payw:{K}:cmd:<id>   the command's own record (hash; "<id>" empty
--                               for the scripts that take no command)
--   KEYS[4] payw:{K}:cmds       the ids of the invoice's command records (set)
--   KEYS[5] payw:unknowns       UNKNOWN invoices by time (zset of K)
--   KEYS[6] payw:inflight       claimed invoices by claim time (zset of K)
-- ARGV: none
-- Reply: {outcome, '0', '0', '', '', '', HGETALL of the state, lock PTTL,
--   state PTTL, {id, status, at, fence, ...}}: OK or NOT_FOUND.
-- By hand: redis-cli --eval worker/store/scripts/lookup.lua 'payw:{K}:state' \
--   'payw:{K}:lock' 'payw:{K}:cmd:' 'payw:{K}:cmds' payw:unknowns payw:inflight , 
-- The first five lines (key names, K read back from KEYS[1], the TTL rule of
-- the command set) are the same in claim, finish, record, resolve and lookup:
-- change them in every one.
local st, lk, ck, cs, ux, ix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ik = string.sub(st, 7, -8)
local function keep_cmds(unknown, ret)
  if unknown then redis.call('PERSIST', cs) else redis.call('PEXPIRE', cs, ret) end
end
local f = redis.call('HGETALL', st)
local o = 'OK'
if #f == 0 then o = 'NOT_FOUND' end
local cmds, pre = {}, string.sub(st, 1, -6) .. 'cmd:'
for _, id in ipairs(redis.call('SMEMBERS', cs)) do
  local r = redis.call('HMGET', pre .. id, 'status', 'at', 'fence')
  table.insert(cmds, id)
  table.insert(cmds, r[1] or 'EXPIRED_FROM_STORE')
  table.insert(cmds, r[2] or '0')
  table.insert(cmds, r[3] or '0')
end
return {o, '0', '0', '', '', '', f, tostring(redis.call('PTTL', lk)),
        tostring(redis.call('PTTL', st)), cmds}
