-- ARGV: 1 now, 2 rate window, 3 lease. The admitted call is being sent: its pending charges
-- move into the buckets.
local now, window, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local rec = redis.call('HGET', KEYS[3], lease)
if not rec or string.sub(rec, 1, 1) ~= 'P' then return 0 end
for b, amount in pairs(parse(rec)) do
  S[b .. ':pend'] = f(b .. ':pend', 0) - amount
  take(b, amount, now, window)
end
redis.call('HSET', KEYS[3], lease, 'C' .. string.sub(rec, 2))
save()
return 1
