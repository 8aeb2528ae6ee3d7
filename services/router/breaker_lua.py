"""The breaker's Lua scripts: every state change happens inside Redis, atomically, so any number of
router replicas share one view without races (two replicas can never both admit the last probe).

Keys are `ty:{brk}:<deployment>`: one hash per deployment, all under one hash tag so the multi-key
ACQUIRE script works on Redis Cluster. Hash fields: st (closed|open|half_open), until (ms), cd
(current cooldown ms), cf (consecutive failures), pr/pt (probes in flight, last probe ms), b<i>/n<i>/f<i>
(six window buckets: id, calls, failures), ok/fail/e:<kind> (lifetime counts), lat/ttft (EWMA ms).
`services.router.breaker_local` implements the same rules for when Redis is unreachable.

Time is Redis's own (`TIME`), never a replica's clock: with skewed clocks one replica would reopen a
breaker another had just opened, or keep one shut long past its cooldown. ARGV[1] shifts that clock:
0 in service, moved by tests to let a cooldown pass.
"""

# KEYS: breaker hashes in preference order. ARGV: shift_ms, max_probes, stale_probe_ms.
# Returns {chosen (1-based, 0: none), earliest reopen ms (-1: unknown), st1, until1, st2, until2, ..., now}:
# the first deployment that admits a call (closed; or open past its cooldown, which turns half-open
# and admits a probe; or half-open with a free probe slot), plus every state seen, for the local view.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local max_probes = tonumber(ARGV[2])
local stale = tonumber(ARGV[3])
local chosen, reopen = 0, -1
local out = {0, -1}
for i, k in ipairs(KEYS) do
  local v = redis.call('HMGET', k, 'st', 'until', 'pr', 'pt')
  local st, untl = v[1] or 'closed', tonumber(v[2] or '0')
  local pr, pt = tonumber(v[3] or '0'), tonumber(v[4] or '0')
  if chosen == 0 then
    if st == 'closed' then
      chosen = i
    elseif st == 'open' and now >= untl then
      st = 'half_open'
      redis.call('HSET', k, 'st', st, 'pr', 1, 'pt', now)
      chosen = i
    elseif st == 'half_open' and (pr < max_probes or now - pt > stale) then
      redis.call('HSET', k, 'pr', (now - pt > stale) and 1 or pr + 1, 'pt', now)
      chosen = i
    elseif st == 'open' and (reopen < 0 or untl < reopen) then
      reopen = untl
    end
  end
  out[#out + 1] = st
  out[#out + 1] = untl
end
out[1], out[2] = chosen, reopen
out[#out + 1] = now
return out
"""

# KEYS[1]: one breaker hash. ARGV: shift_ms, ok(1|0), kind, latency_ms(-1), ttft_ms(-1), consecutive,
# ratio, min_calls, window_ms, cooldown_ms, max_cooldown_ms, force_open(1|0), ttl_ms.
# Returns {st, cf, until}.
RECORD = """
local k = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local ok, kind = ARGV[2] == '1', ARGV[3]
local lat, ttft = tonumber(ARGV[4]), tonumber(ARGV[5])
local n_cons, ratio, min_calls = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local window, cd0, cdmax, force = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12] == '1'
local cnt = tonumber(ARGV[14] or '1')  -- successes folded into this one call (failures always come one by one)
local bsize = math.max(1, math.floor(window / 6))
local b = math.floor(now / bsize)
local slot = b % 6
if tonumber(redis.call('HGET', k, 'b' .. slot) or '-1') ~= b then
  redis.call('HSET', k, 'b' .. slot, b, 'n' .. slot, 0, 'f' .. slot, 0)
end
redis.call('HINCRBY', k, 'n' .. slot, cnt)
if not ok then redis.call('HINCRBY', k, 'f' .. slot, 1) end
local calls, fails = 0, 0
for i = 0, 5 do
  local v = redis.call('HMGET', k, 'b' .. i, 'n' .. i, 'f' .. i)
  if v[1] and tonumber(v[1]) > b - 6 then
    calls, fails = calls + tonumber(v[2]), fails + tonumber(v[3])
  end
end
local st = redis.call('HGET', k, 'st') or 'closed'
local cd = tonumber(redis.call('HGET', k, 'cd') or cd0)
local untl = tonumber(redis.call('HGET', k, 'until') or '0')
local cf = 0
if st == 'half_open' then
  local pr = tonumber(redis.call('HGET', k, 'pr') or '0')
  redis.call('HSET', k, 'pr', math.max(0, pr - cnt))
end
if ok then
  redis.call('HSET', k, 'cf', 0)
  redis.call('HINCRBY', k, 'ok', cnt)
  local keep = 0.8 ^ cnt  -- cnt EWMA steps of weight 0.2, taken with the calls' mean value
  for _, pair in ipairs({{'lat', lat}, {'ttft', ttft}}) do
    if pair[2] >= 0 then
      local old = tonumber(redis.call('HGET', k, pair[1]) or '-1')
      redis.call('HSET', k, pair[1], old < 0 and pair[2] or old * keep + pair[2] * (1 - keep))
    end
  end
  if st == 'half_open' then
    st, cd, untl = 'closed', cd0, 0
    for i = 0, 5 do redis.call('HSET', k, 'n' .. i, 0, 'f' .. i, 0) end
  end
else
  cf = redis.call('HINCRBY', k, 'cf', 1)
  redis.call('HINCRBY', k, 'fail', 1)
  redis.call('HINCRBY', k, 'e:' .. kind, 1)
  if st == 'half_open' then
    st, cd = 'open', math.min(cd * 2, cdmax)
    untl = now + cd
  elseif st == 'closed' and (force or cf >= n_cons or (calls >= min_calls and fails / calls >= ratio)) then
    st = 'open'
    cd = force and cdmax or cd0
    untl = now + cd
  end
end
redis.call('HSET', k, 'st', st, 'cd', cd, 'until', untl)
redis.call('PEXPIRE', k, tonumber(ARGV[13]))
return {st, cf, untl}
"""
