-- ARGV: 1 operation, then its arguments.
--   pause until                  a 429/529 cool-down for every process
--   hold agent until             keep a slot for an agent's next call
--   withdraw process channel     the process has no call waiting here any more
--   renew expiry process lease.. heartbeat: push back the expiry of live leases and waiter
--   describe now                 the core's state, for reports and `aios top`
--   floor process                where the shared order stands for `process` (common.lua)
local op = ARGV[1]
if op == 'pause' then
  local until_t = tonumber(ARGV[2])
  if until_t > f('cool', 0) then
    S['cool'] = until_t
    S['paused'] = f('paused', 0) + 1
    save()
  end
  return 1
elseif op == 'hold' then
  redis.call('HSET', KEYS[7], ARGV[2], ARGV[3])
  return 1
elseif op == 'withdraw' then
  redis.call('ZREM', KEYS[4], ARGV[2])
  redis.call('HDEL', KEYS[5], ARGV[2])
  redis.call('ZREM', KEYS[6], ARGV[2])
  redis.call('PUBLISH', ARGV[3], ARGV[2])
  return 1
elseif op == 'renew' then
  local expiry = ARGV[2]
  redis.call('ZADD', KEYS[6], 'XX', expiry, ARGV[3])
  for i = 4, #ARGV do redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[i]) end
  return 1
elseif op == 'floor' then
  return order_floor(ARGV[2])
elseif op == 'describe' then
  local now = tonumber(ARGV[2])
  drop_expired(now)
  local out = {'in_use', tostring(redis.call('ZCARD', KEYS[2])),
               'waiting_processes', tostring(redis.call('ZCARD', KEYS[4]))}
  for k, v in pairs(S) do
    out[#out + 1] = k
    out[#out + 1] = v
  end
  return out
end
return redis.error_reply('unknown operation ' .. tostring(op))
