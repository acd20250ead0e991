import { EVENT_TIME_FIELD, WRITE_TIME_FIELD } from './keys.js';

/**
 * One atomic call per batch: fence check, then every vector write, then fence + side writes.
 *
 * KEYS: [fenceKey, sideKey1..sideKeyS, deleteKey1..deleteKeyD]  (only when a fence is given)  then entityHashKey1..entityHashKeyN
 * ARGV: hasFence, S, D, N, writeTime,
 *       [expectedPresent, expected, next, sideValue1..sideValueS]  (only when a fence is given)
 *       then per vector: eventTime, ttlMs, pairCount, field1, value1, ...
 *
 * Redis does not roll back a script that fails half-way, so everything that could fail (a key of the
 * wrong type) is checked in a read-only first pass before anything is written.
 * Returns {applied (0|1), written, skippedOlder}.
 */
export const WRITE_BATCH_LUA = `
local hasFence = ARGV[1] == '1'
local sideCount = tonumber(ARGV[2])
local deleteCount = tonumber(ARGV[3])
local vectorCount = tonumber(ARGV[4])
local writeTime = ARGV[5]
local arg = 6
local firstEntityKey = 1

if hasFence then
  local current = redis.call('GET', KEYS[1])
  local expectedPresent = ARGV[arg] == '1'
  if expectedPresent then
    if current ~= ARGV[arg + 1] then return {0, 0, 0} end
  elseif current ~= false then
    return {0, 0, 0}
  end
  arg = arg + 3 + sideCount
  firstEntityKey = 2 + sideCount + deleteCount
end

-- Pass 1 (read-only): decide which vectors win, tracking in-batch winners so duplicates stay idempotent.
local latest = {}
local plan = {}
for i = 0, vectorCount - 1 do
  local key = KEYS[firstEntityKey + i]
  local eventTime = tonumber(ARGV[arg])
  local pairCount = tonumber(ARGV[arg + 2])
  local stored = latest[key]
  if stored == nil then
    -- One HGET both reads the stored time and type-checks the key (WRONGTYPE unless a hash or absent).
    local reply = redis.pcall('HGET', key, '${EVENT_TIME_FIELD}')
    if type(reply) == 'table' and reply.err then
      return redis.error_reply('online-store: key ' .. key .. ' holds a ' .. redis.call('TYPE', key)['ok'] .. ', not a feature hash; nothing written')
    end
    stored = tonumber(reply)
  end
  if stored ~= nil and eventTime < stored then
    plan[i + 1] = false
  else
    plan[i + 1] = arg
    latest[key] = eventTime
  end
  arg = arg + 3 + 2 * pairCount
end

-- Pass 2: write. A vector is the complete state of its feature set as of its event time, so it replaces the hash.
local written = 0
for i = 0, vectorCount - 1 do
  local at = plan[i + 1]
  if at then
    local key = KEYS[firstEntityKey + i]
    local last = at + 2 + 2 * tonumber(ARGV[at + 2])
    redis.call('DEL', key)
    -- unpack() is bounded by the Lua C stack, so wide vectors go in chunks of 100 field/value pairs;
    -- the first chunk rides along with the metadata fields (unpack() expands fully as the last argument).
    local from = at + 3
    local to = math.min(from + 199, last)
    redis.call('HSET', key, '${EVENT_TIME_FIELD}', ARGV[at], '${WRITE_TIME_FIELD}', writeTime, unpack(ARGV, from, to))
    from = to + 1
    while from <= last do
      to = math.min(from + 199, last)
      redis.call('HSET', key, unpack(ARGV, from, to))
      from = to + 1
    end
    redis.call('PEXPIRE', key, ARGV[at + 1])
    written = written + 1
  end
end

if hasFence then
  redis.call('SET', KEYS[1], ARGV[8])
  for s = 1, sideCount do
    redis.call('SET', KEYS[1 + s], ARGV[8 + s])
  end
  for d = 1, deleteCount do
    redis.call('DEL', KEYS[1 + sideCount + d])
  end
end
return {1, written, vectorCount - written}
`;
