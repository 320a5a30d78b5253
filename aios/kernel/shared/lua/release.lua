-- ARGV: 1 now, 2 rate window, 3 lease, 4 ran (0/1), 5 usage known (0/1), 6 refunds unused
-- output (0/1), 7..10 actual r t i o, 11 wake channel, 12 process.
local now, window, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local ran, known, refunds = ARGV[4] == '1', ARGV[5] == '1', ARGV[6] == '1'
local actual = {r = tonumber(ARGV[7]), t = tonumber(ARGV[8]), i = tonumber(ARGV[9]), o = tonumber(ARGV[10])}
redis.call('ZREM', KEYS[2], lease)
local rec = redis.call('HGET', KEYS[3], lease)
if rec and ran then rec = arrived(lease, now, window) end
redis.call('HDEL', KEYS[3], lease)
if rec then
  if string.sub(rec, 1, 1) == 'P' then
    unpend(rec)  -- never reached the provider
  else
    for b, estimate in pairs(parse(rec)) do
      if not ran then
        give(b, estimate, now, window)
      elseif known and b ~= 'r' then
        if actual[b] > estimate then
          take(b, actual[b] - estimate, now, window)
        elseif refunds then
          give(b, estimate - actual[b], now, window)
        end
      end
    end
  end
end
if ran then S['probing'] = '0' end
save()
redis.call('PUBLISH', ARGV[11], ARGV[12])
return 1
