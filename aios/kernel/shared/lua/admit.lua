-- ARGV: 1 now, 2 lease, 3 process, 4 rank, 5 ttl, 6 max concurrency (-1: none), 7 rate window,
-- 8 rate margin, 9 probe when new (0/1), 10..13 configured limits r t i o (0: none),
-- 14..17 charges r t i o, 18 agent, 19 dry run (0/1), 20 wake channel, 21 first try of this
-- process's scan of its queue (1: its place in the order is this call's; 0: the better of the two).
-- An admitted call's charges are in flight ("P", counted in `pend`) until the provider answers it
-- (learn.lua) or it is released (release.lua): only then do they enter the buckets.
-- Returns {0, record} when admitted, {1, wait} when not (wait: time it may fit, -1: an event),
-- {3, wait} when no call of any size fits before then (cool-down, slots, the request bucket),
-- {4, wait} when the free slots are kept for other agents (a call of theirs may fit: this says
-- nothing about sizes), {2, 0} when a better-ranked call of another process fits first. Every
-- reply but a dry run's ends with where the shared order stands, for policies whose ranks are a
-- virtual time (see ``Policy.shared_floor``): the best rank waiting in another process, else the
-- rank admitted last here by any process ('' before the first).
local now, lease, pid = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local rank, ttl, cap = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local window, margin = tonumber(ARGV[7]), tonumber(ARGV[8])
-- Other clients of the key seen (learn.lua): leave them room, as ``CONTENDED_MARGIN_S`` in cores.py.
if S['contended'] == '1' then margin = math.max(margin, 0.25) end
local agent, dry, channel = ARGV[18], ARGV[19] == '1', ARGV[20]

drop_expired(now)
if S['probing'] == nil then S['probing'] = ARGV[9] end
S['window'] = window  -- for readers of the state (`aios top --redis`)
S['cap'] = cap
for n, b in ipairs(BUCKETS) do
  local conf = tonumber(ARGV[9 + n])
  if conf > 0 then
    local old = f(b .. ':cap', nil)
    if old == nil then
      S[b .. ':cap'] = conf
      S[b .. ':lvl'] = conf
      S[b .. ':t'] = now
    elseif old ~= conf then
      refill(b, now, window)
      S[b .. ':lvl'] = conf - (old - f(b .. ':lvl'))
      S[b .. ':cap'] = conf
    end
    S['probing'] = '0'
  end
end

-- 0 if a call needing `need` (r t i o) for `who` fits now, else when it may (-1: an event);
-- then, when no call of any size fits now either, the time one may (else 0): a process need
-- not try its other waiting calls before then; then whether the slots are kept for others.
local function fits(need, who)
  local cool = f('cool', 0)
  if cool > now then return cool, cool end
  local limit = cap
  if S['probing'] == '1' and (limit < 0 or limit > 1) then limit = 1 end
  local in_use = redis.call('ZCARD', KEYS[2])
  if limit >= 0 then
    if in_use >= limit then
      -- A release wakes waiters; a holder that died only stops renewing its lease, so look
      -- again when the first lease would expire.
      local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
      if first[2] then return tonumber(first[2]), tonumber(first[2]) end
      return INF, INF
    end
    local held, first_end = 0, nil
    local raw = redis.call('HGETALL', KEYS[7])
    for i = 1, #raw, 2 do
      local until_t = tonumber(raw[i + 1])
      if until_t <= now then
        redis.call('HDEL', KEYS[7], raw[i])
      elseif raw[i] ~= who then
        held = held + 1
        if first_end == nil or until_t < first_end then first_end = until_t end
      end
    end
    -- Slots kept for other agents: a call of an agent they are kept for may still fit.
    if held > 0 and in_use + held >= limit then return first_end, 0, true end
  end
  local latest, all = 0, 0
  for n, b in ipairs(BUCKETS) do
    local bcap = refill(b, now, window)
    if bcap then
      local rate = bcap / window
      local want = math.min(bcap, need[n] + rate * margin) + f(b .. ':pend', 0)
      -- Every call needs one request: a request bucket short of it is short for all of them.
      if want > bcap then return INF, n == 1 and INF or 0 end
      local deficit = want - f(b .. ':lvl')
      if deficit > 0 then
        latest = math.max(latest, now + deficit / rate)
        if n == 1 then all = now + deficit / rate end
      end
    end
  end
  return latest, all
end

local mine = {tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ARGV[17])}
local wait, all, held = fits(mine, agent)
if dry then
  save()
  return {wait == 0 and 0 or 1, tostring(wait)}
end

-- A process holds one place in the order: that of its best waiting call, which its scan tries
-- first (later calls of the same scan rank no better, as the policy orders them).
local placed = redis.call('ZSCORE', KEYS[4], pid)
-- Ranks go to the server as the caller wrote them (ARGV[4]): Lua would print a number with 14
-- digits, and two places that differ beyond those would each see the other as the better one.
if ARGV[21] == '1' or not placed or rank < tonumber(placed) then
  redis.call('ZADD', KEYS[4], ARGV[4], pid)
  redis.call('HSET', KEYS[5], pid, table.concat(mine, ' ') .. ' ' .. agent)
  -- A place given up for a worse one may have held back another process: let it look again.
  if placed and rank > tonumber(placed) then redis.call('PUBLISH', channel, pid) end
end
redis.call('ZADD', KEYS[6], now + ttl, pid)
if wait ~= 0 then
  save()
  if all ~= 0 then return {3, tostring(all), order_floor(pid)} end
  if held then return {4, tostring(wait), order_floor(pid)} end
  return {1, tostring(wait), order_floor(pid)}
end

-- The waiting order is global: a better-ranked first call of another process that fits now
-- goes first (one that does not fit yet does not hold up calls that do, as within a process).
local better = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[4], 'LIMIT', 0, 8)
for _, other in ipairs(better) do
  if other ~= pid then
    local spec = redis.call('HGET', KEYS[5], other)
    if spec then
      local need, n, who = {}, 0, ''
      for word in string.gmatch(spec, '[^ ]+') do
        n = n + 1
        if n <= 4 then need[n] = tonumber(word) else who = word end
      end
      if fits(need, who) == 0 then
        save()
        return {2, '0', order_floor(pid)}
      end
    end
  end
end

redis.call('ZADD', KEYS[2], now + ttl, lease)
S['admitted'] = f('admitted', 0) + 1
local rec = 'P'
for n, b in ipairs(BUCKETS) do
  if S[b .. ':cap'] ~= nil then
    S[b .. ':pend'] = f(b .. ':pend', 0) + mine[n]
    rec = rec .. ' ' .. b .. '=' .. string.format('%.17g', mine[n])
  end
end
redis.call('HSET', KEYS[3], lease, rec)
redis.call('HDEL', KEYS[7], agent)
redis.call('ZREM', KEYS[4], pid)
redis.call('HDEL', KEYS[5], pid)
redis.call('ZREM', KEYS[6], pid)
S['served'] = ARGV[4]
save()
redis.call('PUBLISH', channel, pid)
return {0, rec, order_floor(pid)}
