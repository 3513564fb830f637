-- unknowns.lua -- the UNKNOWN invoices (pw_store_sync_unknowns, payctl
-- unknowns). First the next touch of every claim whose lock is gone (its
-- worker died mid-call): it becomes UNKNOWN, as a claim would make it; then
-- the UNKNOWN invoices, oldest first. Single Redis only: it reads keys it is
-- not given (the invoices named by the indexes).
-- KEYS (every script gets the same six; K is the lock key "PROVIDER:query_id"):
--   KEYS[1] payw:{K}:state      the invoice's state (hash)
--   KEYS[2] payw:{K}:lock       the claim's lock (string, PX)
--   KEYS[3] payw:{K}:cmd:<id>   the command's own record (hash; "<id>" empty
--                               for the scripts that take no command)
--   KEYS[4] payw:{K}:cmds       the ids of the invoice's command records (set)
--   KEYS[5] payw:unknowns       UNKNOWN invoices by time (zset of K)
--   KEYS[6] payw:inflight       claimed invoices by claim time (zset of K)
--   (only KEYS[5] and KEYS[6] are used; the others name the invoice "-")
-- ARGV: [1] now_ms, [2] limit
-- Reply: {'OK', '0', '0', '', '', '', {K, unknown_at, command_id, reason,
--   worker, started_at, ...}}
-- By hand: redis-cli --eval worker/store/scripts/unknowns.lua 'payw:{-}:state' \
--   'payw:{-}:lock' 'payw:{-}:cmd:' 'payw:{-}:cmds' payw:unknowns payw:inflight , NOW_MS 100
local ux, ix, now, limit = KEYS[5], KEYS[6], ARGV[1], tonumber(ARGV[2])
for _, k in ipairs(redis.call('ZRANGE', ix, 0, 9999)) do
  local s, l = 'payw:{' .. k .. '}:state', 'payw:{' .. k .. '}:lock'
  if redis.call('EXISTS', l) == 0 then
    if redis.call('HGET', s, 'status') == 'INFLIGHT' then
      redis.call('HSET', s, 'status', 'UNKNOWN', 'unknown_reason',
                 'the claim expired while the provider was being called', 'unknown_at', now)
      redis.call('PERSIST', s)
      redis.call('PERSIST', 'payw:{' .. k .. '}:cmds')
      redis.call('ZADD', ux, now, k)
    end
    redis.call('ZREM', ix, k)
  end
end
local out = {}
local z = redis.call('ZRANGE', ux, 0, -1, 'WITHSCORES')
for i = 1, #z, 2 do
  local k = z[i]
  local h = redis.call('HMGET', 'payw:{' .. k .. '}:state', 'status', 'command_id',
                       'unknown_reason', 'worker', 'started_at')
  if h[1] ~= 'UNKNOWN' then
    redis.call('ZREM', ux, k)
  elseif #out < limit * 6 then
    for _, v in ipairs({k, z[i + 1], h[2] or '', h[3] or '', h[4] or '', h[5] or '0'}) do
      table.insert(out, v)
    end
  end
end
return {'OK', '0', '0', '', '', '', out}
