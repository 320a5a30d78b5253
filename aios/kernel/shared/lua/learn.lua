-- ARGV: 1 now, 2 rate window, 3 wake channel, 4 process, then per bucket r t i o: limit
-- (-1: not sent), remaining (-1: not sent), configured (0/1); 17 the lease of the call answered
-- ('-': none), 18 seconds since that call was admitted, 19 the answer is a rejection (0/1).
-- Same rules as ``Core.learn``.
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local slack, rejected = tonumber(ARGV[18]), ARGV[19] == '1'
if ARGV[17] ~= '-' then
  if rejected then
    -- Not counted by the provider: the charge leaves every book (the release has none to settle).
    local rec = redis.call('HGET', KEYS[3], ARGV[17])
    if rec and string.sub(rec, 1, 1) == 'P' then
      unpend(rec)
      redis.call('HSET', KEYS[3], ARGV[17], 'C')
    end
  else
    arrived(ARGV[17], now, window)
  end
end
for n, b in ipairs(BUCKETS) do
  local limit = tonumber(ARGV[2 + 3 * n])
  local remaining = tonumber(ARGV[3 + 3 * n])
  local configured = ARGV[4 + 3 * n] == '1'
  if limit > 0 then
    local cap = f(b .. ':cap', nil)
    if not configured then
      if cap == nil then
        S[b .. ':cap'] = limit
        S[b .. ':lvl'] = limit
        if remaining >= 0 and remaining < limit then S[b .. ':lvl'] = remaining end
        S[b .. ':t'] = now
        S[b .. ':learned'] = '1'
        remaining = -1  -- adopted as is
      elseif cap ~= limit then
        refill(b, now, window)
        S[b .. ':lvl'] = limit - (cap - f(b .. ':lvl'))
        S[b .. ':cap'] = limit
      end
    end
    if remaining >= 0 and f(b .. ':cap', nil) ~= nil then
      -- Beyond its rounding down and the refill since the call went out, a provider with fewer
      -- left than our level less what is in flight has other clients: adopt its count.
      local rate = refill(b, now, window) / window
      if rejected then
        if remaining < f(b .. ':lvl') then S[b .. ':lvl'] = remaining end
        S['contended'] = '1'
      elseif f(b .. ':lvl') - f(b .. ':pend', 0) > remaining + 1 + rate * math.max(0, slack) then
        S[b .. ':lvl'] = remaining
        S['contended'] = '1'
      end
    end
  end
end
S['probing'] = '0'
save()
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
