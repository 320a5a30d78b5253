-- Shared by every core script (prepended). KEYS: 1 state hash, 2 slots zset (lease -> expiry),
-- 3 leases hash (lease -> charges record), 4 waiters zset (process -> rank of its first waiting
-- call), 5 needs hash (process -> what that call needs), 6 waiter expiry zset, 7 holds hash.
local INF = -1
local BUCKETS = {'r', 't', 'i', 'o'}
local S = {}
do
  local raw = redis.call('HGETALL', KEYS[1])
  for i = 1, #raw, 2 do S[raw[i]] = raw[i + 1] end
end

local function f(k, default)
  local v = S[k]
  if v == nil then return default end
  return tonumber(v)
end

local function save()
  local args = {}
  for k, v in pairs(S) do
    args[#args + 1] = k
    args[#args + 1] = type(v) == 'number' and string.format('%.17g', v) or v
  end
  if #args > 0 then redis.call('HSET', KEYS[1], unpack(args)) end
end

-- Refill bucket b to now; returns its capacity, or nil when the core has no such bucket.
local function refill(b, now, window)
  local cap = f(b .. ':cap', nil)
  if cap == nil then return nil end
  local lvl = f(b .. ':lvl', cap)
  local t = f(b .. ':t', now)
  if now > t then
    lvl = math.min(cap, lvl + (now - t) * cap / window)
    t = now
  end
  S[b .. ':lvl'] = lvl
  S[b .. ':t'] = t
  return cap
end

local function take(b, amount, now, window)
  if refill(b, now, window) then S[b .. ':lvl'] = f(b .. ':lvl') - amount end
end

local function give(b, amount, now, window)
  local cap = refill(b, now, window)
  if cap then S[b .. ':lvl'] = math.min(cap, f(b .. ':lvl') + amount) end
end

-- A record of charges: "P" (in flight: not yet answered by the provider) or "C" (in the
-- buckets), then " b=amount" pairs.
local function parse(rec)
  local out = {}
  for b, amount in string.gmatch(rec, '(%a)=([^ ]+)') do out[b] = tonumber(amount) end
  return out
end

local function unpend(rec)
  for b, amount in pairs(parse(rec)) do S[b .. ':pend'] = f(b .. ':pend', 0) - amount end
end

-- Where the shared order stands, for policies whose ranks are a virtual time (see
-- ``Policy.shared_floor``): the best rank waiting in a process other than `pid`, else the rank
-- admitted last by any process ('' before the first).
local function order_floor(pid)
  local firsts = redis.call('ZRANGE', KEYS[4], 0, 1, 'WITHSCORES')
  for i = 1, #firsts, 2 do
    if firsts[i] ~= pid then return firsts[i + 1] end
  end
  return S['served'] or ''
end

-- The provider has seen the call of `lease` (it answered, or its caller is gone): its in-flight
-- charges enter the buckets now, whose refill follows from here.
local function arrived(lease, now, window)
  local rec = redis.call('HGET', KEYS[3], lease)
  if not rec or string.sub(rec, 1, 1) ~= 'P' then return rec end
  unpend(rec)
  for b, amount in pairs(parse(rec)) do take(b, amount, now, window) end
  rec = 'C' .. string.sub(rec, 2)
  redis.call('HSET', KEYS[3], lease, rec)
  return rec
end

-- Expired leases (their process died) give back their slots; their calls in flight may have
-- reached the provider, so their charges stay (in the buckets). Expired waiters stop holding
-- their place in the order.
local function drop_expired(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  local window = f('window', nil)
  for _, lease in ipairs(dead) do
    local rec = redis.call('HGET', KEYS[3], lease)
    if rec and string.sub(rec, 1, 1) == 'P' then
      if window then arrived(lease, now, window) else unpend(rec) end
    end
    redis.call('HDEL', KEYS[3], lease)
  end
  if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
  local gone = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now)
  for _, pid in ipairs(gone) do
    redis.call('ZREM', KEYS[4], pid)
    redis.call('HDEL', KEYS[5], pid)
  end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now) end
end
