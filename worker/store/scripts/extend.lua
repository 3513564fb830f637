-- extend.lua -- re-arms the claim's lock if it still holds our token
-- (pw_store_extend), and the state's TTL if that is shorter.
-- KEYS (every script gets the same six; K is the lock key "PROVIDER:query_id"):
--   KEYS[1] payw:{K}:state      the invoice's state (hash)
--   KEYS[2] payw:{K}:lock       the claim's lock (string, PX)
--   KEYS[3] payw:{K}:cmd:<id>   the command's own record (hash; "<id>" empty
--                               for the scripts that take no command)
--   KEYS[4] payw:{K}:cmds       the ids of the invoice's command records (set)
--   KEYS[5] payw:unknowns       UNKNOWN invoices by time (zset of K)
--   KEYS[6] payw:inflight       claimed invoices by claim time (zset of K)
--   (only KEYS[1] and KEYS[2] are used)
-- ARGV: [1] token, [2] ttl_ms
-- Reply: {outcome, '0', '0', '', '', ''}: OK, or LOST when the lock is not ours.
-- By hand: redis-cli --eval worker/store/scripts/extend.lua 'payw:{K}:state' \
--   'payw:{K}:lock' 'payw:{K}:cmd:' 'payw:{K}:cmds' payw:unknowns payw:inflight , TOKEN 30000
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'LOST', '0', '0', '', '', ''} end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local p = redis.call('PTTL', KEYS[1])
if p >= 0 and p < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {'OK', '0', '0', '', '', ''}
