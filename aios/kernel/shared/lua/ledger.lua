-- KEYS: 1 lines hash ("u:<key>" used, "r:<key>" reserved), 2 holders zset (holder -> expiry),
-- 3 held hash (holder -> its charges "key\31amount\30...").
-- ARGV: 1 operation, 2 now, 3 holder, then by operation:
--   reserve ttl n (key amount limit)*n  -> {0} or {index, used, reserved} of the first misfit
--   settle n (key amount actual)*n
--   renew (ARGV 3 is the new expiry) holder...
local op, now, holder = ARGV[1], tonumber(ARGV[2]), ARGV[3]

local function num(v) if v then return tonumber(v) end return 0 end

local function release_held(h)
  local rec = redis.call('HGET', KEYS[3], h)
  if not rec then return false end
  for key, amount in string.gmatch(rec, '([^\31\30]+)\31([^\31\30]+)\30') do
    redis.call('HINCRBYFLOAT', KEYS[1], 'r:' .. key, -tonumber(amount))
  end
  redis.call('HDEL', KEYS[3], h)
  redis.call('ZREM', KEYS[2], h)
  return true
end

for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do release_held(h) end

if op == 'reserve' then
  local ttl, n = tonumber(ARGV[4]), tonumber(ARGV[5])
  for i = 0, n - 1 do
    local key, amount, limit = ARGV[6 + 3 * i], tonumber(ARGV[7 + 3 * i]), tonumber(ARGV[8 + 3 * i])
    local used = num(redis.call('HGET', KEYS[1], 'u:' .. key))
    local reserved = num(redis.call('HGET', KEYS[1], 'r:' .. key))
    if used + reserved + amount > limit + 1e-9 then
      return {i + 1, tostring(used), tostring(reserved)}
    end
  end
  local rec = ''
  for i = 0, n - 1 do
    local key, amount = ARGV[6 + 3 * i], ARGV[7 + 3 * i]
    redis.call('HINCRBYFLOAT', KEYS[1], 'r:' .. key, amount)
    rec = rec .. key .. '\31' .. amount .. '\30'
  end
  redis.call('HSET', KEYS[3], holder, rec)
  redis.call('ZADD', KEYS[2], now + ttl, holder)
  return {0}
elseif op == 'settle' then
  local n = tonumber(ARGV[4])
  release_held(holder)
  for i = 0, n - 1 do
    local key, actual = ARGV[5 + 3 * i], tonumber(ARGV[7 + 3 * i])
    if actual ~= 0 then redis.call('HINCRBYFLOAT', KEYS[1], 'u:' .. key, actual) end
  end
  return {0}
elseif op == 'renew' then
  for i = 4, #ARGV do redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[i]) end
  return {0}
end
return redis.error_reply('unknown operation ' .. tostring(op))
