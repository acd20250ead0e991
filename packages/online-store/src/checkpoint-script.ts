/**
 * Scripts of a checkpoint: four keys in ONE hash slot (the caller's `{…}` hash tag), so each is one atomic call on
 * a single Redis and on a cluster alike. KEYS are always [fence, meta, timers, states].
 */

/** Returns {fence, meta, flattened timers hash}, read in one atomic call (so all three come from one checkpoint). */
export const CHECKPOINT_LOAD_LUA = `
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('HGETALL', KEYS[3])}
`;

/**
 * The fence check every script shares: ARGV[1] = '1' if a value is expected (ARGV[2]), '0' if the key must be absent.
 */
const FENCE_MATCHES = `
local function fenceMatches()
  local current = redis.call('GET', KEYS[1])
  if ARGV[1] == '1' then return current == ARGV[2] end
  return current == false
end
`;

/**
 * States of some entities as of the checkpoint the caller holds: {0} when the fence moved (another instance
 * checkpointed since, so these states may be ahead of the caller's position), else {1, {state or false, ...}}.
 * ARGV: expectedPresent, expected, entity1..entityN.
 */
export const STATES_READ_LUA = `${FENCE_MATCHES}
if not fenceMatches() then return {0} end
-- unpack() is bounded by the Lua C stack: HMGET in chunks of 1,000 fields.
local states = {}
for from = 3, #ARGV, 1000 do
  local chunk = redis.call('HMGET', KEYS[4], unpack(ARGV, from, math.min(from + 999, #ARGV)))
  for i = 1, #chunk do states[#states + 1] = chunk[i] end
end
return {1, states}
`;

/**
 * Compare-and-set of a checkpoint. Nothing is written unless the fence holds the expected value; then (with `clear`)
 * meta, timers and states are deleted, and the fence, meta, changed timer fields and changed entity states written.
 * ARGV: expectedPresent, expected, next, clear ('1'|'0'), meta ('' = none), timerSets, timerDeletes, stateSets,
 *       stateDeletes, then timer field/value pairs, deleted timer fields, state entity/value pairs, deleted entities.
 * Key types are checked before any write (Redis does not roll back a failing script). Returns 1 applied, 0 not.
 */
export const CHECKPOINT_WRITE_LUA = `${FENCE_MATCHES}
local kinds = {'string', 'string', 'hash', 'hash'}
for i = 1, 4 do
  local kind = redis.call('TYPE', KEYS[i])['ok']
  if kind ~= 'none' and kind ~= kinds[i] then
    return redis.error_reply('online-store: checkpoint key ' .. KEYS[i] .. ' holds a ' .. kind
      .. ', not a ' .. kinds[i] .. '; nothing written')
  end
end
if not fenceMatches() then return 0 end
if ARGV[4] == '1' then redis.call('DEL', KEYS[2], KEYS[3], KEYS[4]) end
redis.call('SET', KEYS[1], ARGV[3])
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5]) end

-- unpack() is bounded by the Lua C stack: fields go in chunks of 200 arguments.
local function apply(command, key, from, count)
  local last = from + count - 1
  while from <= last do
    local to = math.min(from + 199, last)
    redis.call(command, key, unpack(ARGV, from, to))
    from = to + 1
  end
  return last + 1
end
local at = 10
at = apply('HSET', KEYS[3], at, 2 * tonumber(ARGV[6]))
at = apply('HDEL', KEYS[3], at, tonumber(ARGV[7]))
at = apply('HSET', KEYS[4], at, 2 * tonumber(ARGV[8]))
apply('HDEL', KEYS[4], at, tonumber(ARGV[9]))
return 1
`;
