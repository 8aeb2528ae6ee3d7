"""The Lua scripts behind budgets and quotas; each runs atomically on one workspace's hash-tag slot.

RESERVE first gives back reservations past their deadline (so a lost request can never hold money
forever), then checks every budget that applies against spent + reserved and, only if all have
room, adds the amount to `reserved` of each: two racing requests can never both take the last room,
whichever edge or replica they come through.

Reservations and settle markers are keyed by the request's (key id, server request id) reference.
A budget whose limit is 0 admits nothing, and an exhausted budget (nothing left) refuses even a
request priced at 0: "nothing may be spent" holds whatever the price table says.

SETTLE runs once per record (a marker key): it gives back the reservation, adds the actual cost
to `spent` of every subject and period, and counts the tokens against a tier quota, writing an
overage record when they cross it.

Reservations are encoded `amount|spendkey|spendkey...`; the spend keys share the workspace's hash
tag, so touching them from the script stays on the slot even though they are not all in KEYS.
"""

RELEASE_FN = """
local function give_back(resv, deadlines, rid)
  local v = redis.call('HGET', resv, rid)
  local amount = 0
  if v then
    local first = true
    for part in string.gmatch(v, '[^|]+') do
      if first then amount = tonumber(part); first = false
      elseif amount ~= 0 then redis.call('HINCRBY', part, 'reserved', -amount) end  -- Lua's -0 is no integer
    end
    redis.call('HDEL', resv, rid)
  end
  redis.call('ZREM', deadlines, rid)
  return amount
end
"""

# KEYS: budgets, resv, deadlines, spend keys...
# ARGV: rid, now_ms, deadline_ms, full, min, ttl, budget fields..., inline limits ('' = the stored one)...
RESERVE = RELEASE_FN + """
for _, rid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])) do
  give_back(KEYS[2], KEYS[3], rid)
end
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {2, tonumber(string.match(existing, '^[^|]+')), 0, ''} end
local found, remaining, tight, limited = false, 0, '', {}
local n = #KEYS - 3
for i = 4, #KEYS do
  local field, inline = ARGV[3 + i], ARGV[3 + n + i]
  local limit = inline
  if inline == '' then limit = redis.call('HGET', KEYS[1], field) end
  if limit then
    local spent = tonumber(redis.call('HGET', KEYS[i], 'spent') or '0')
    local reserved = tonumber(redis.call('HGET', KEYS[i], 'reserved') or '0')
    local left = tonumber(limit) - spent - reserved
    if (not found) or left < remaining then remaining = left; tight = field end
    found = true
    table.insert(limited, KEYS[i])
  end
end
if not found then return {1, 0, -1, ''} end
local amount = tonumber(ARGV[4])
if remaining <= 0 then return {0, 0, remaining, tight} end
if amount > 0 and amount > remaining then
  local least = tonumber(ARGV[5])
  if least > 0 and remaining >= least then amount = remaining
  else return {0, 0, remaining, tight} end
end
local entry = tostring(amount)
for _, k in ipairs(limited) do
  redis.call('HINCRBY', k, 'reserved', amount)
  redis.call('EXPIRE', k, ARGV[6])
  entry = entry .. '|' .. k
end
redis.call('HSET', KEYS[2], ARGV[1], entry)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return {1, amount, remaining - amount, tight}
"""

# KEYS: resv, deadlines   ARGV: rid
RELEASE = RELEASE_FN + """
return give_back(KEYS[1], KEYS[2], ARGV[1])
"""

# KEYS: marker, resv, deadlines, quota, overage totals, overage log, tier subjects, spend keys...
# ARGV: reservation ref, cost, tokens, quota limit (0: none), marker ttl, spend ttl, tier|subject, at_ms,
#       '1' to give the reservation back ('0': an extra attempt, which leaves it to its request), request id
SETTLE = RELEASE_FN + """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0, 0} end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[5])
if ARGV[9] == '1' then give_back(KEYS[2], KEYS[3], ARGV[1]) end
local cost, tokens, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for k = 8, #KEYS do
  redis.call('HINCRBY', KEYS[k], 'spent', cost)
  redis.call('EXPIRE', KEYS[k], ARGV[6])
end
local over, over_cost = 0, 0
if limit > 0 then
  local used = redis.call('INCRBY', KEYS[4], tokens)
  redis.call('EXPIRE', KEYS[4], ARGV[6])
  redis.call('SADD', KEYS[7], ARGV[7])
  redis.call('EXPIRE', KEYS[7], ARGV[6])
  if used > limit and tokens > 0 then
    over = math.min(tokens, used - limit)
    over_cost = math.floor(cost * over / tokens)
    redis.call('HINCRBY', KEYS[5], ARGV[7] .. '|tokens', over)
    redis.call('HINCRBY', KEYS[5], ARGV[7] .. '|cost', over_cost)
    redis.call('EXPIRE', KEYS[5], ARGV[6])
    redis.call('LPUSH', KEYS[6], cjson.encode({request_id = ARGV[10], tier_subject = ARGV[7],
      tokens_over = over, cost_micros = over_cost, at_ms = tonumber(ARGV[8])}))
    redis.call('LTRIM', KEYS[6], 0, 999)
    redis.call('EXPIRE', KEYS[6], ARGV[6])
  end
end
return {1, over, over_cost}
"""
