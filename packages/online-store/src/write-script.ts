import { EVENT_TIME_FIELD, VERSION_FIELD, WRITE_TIME_FIELD } from './keys.js';

/**
 * One atomic call per hash slot: every vector write of the call, each kept only if it is newer than what is stored.
 *
 * KEYS: entityHashKey1..entityHashKeyN (one hash slot)
 * ARGV: writeTime, version ('' = unversioned), then per vector: eventTime, ttlMs, pairCount, field1, value1, ...
 *
 * Order: (event time, version). A vector with an older event time is skipped. At an equal event time an unversioned
 * write overwrites (replays of batch writes are harmless); a versioned one (the stream processor's: the partition
 * offset its batch reached) wins only over a smaller or absent stored version, so a replayed older batch never
 * overwrites a newer one with the same event time, and a replay of the same batch (same version, same value) is a
 * no-op. Redis does not roll back a script that fails half-way, so the key types are checked in a read-only first
 * pass before anything is written. Returns {written, skippedOlder}.
 */
export const WRITE_BATCH_LUA = `
local writeTime = ARGV[1]
local version = tonumber(ARGV[2])
local vectorCount = #KEYS
local arg = 3

-- Pass 1 (read-only): decide which vectors win, tracking in-batch winners so duplicates stay idempotent.
local latest = {}
local plan = {}
for i = 1, vectorCount do
  local key = KEYS[i]
  local eventTime = tonumber(ARGV[arg])
  local pairCount = tonumber(ARGV[arg + 2])
  local stored = latest[key]
  if stored == nil then
    -- One HMGET both reads the stored order and type-checks the key (WRONGTYPE unless a hash or absent).
    local reply = redis.pcall('HMGET', key, '${EVENT_TIME_FIELD}', '${VERSION_FIELD}')
    if reply.err then
      return redis.error_reply('online-store: key ' .. key .. ' holds a ' .. redis.call('TYPE', key)['ok']
        .. ', not a feature hash; nothing written')
    end
    stored = {tonumber(reply[1]), tonumber(reply[2])}
  end
  local newer = stored[1] == nil or eventTime > stored[1]
  if not newer and eventTime == stored[1] then
    newer = version == nil or stored[2] == nil or version > stored[2]
  end
  if newer then
    plan[i] = arg
    latest[key] = {eventTime, version}
  else
    plan[i] = false
  end
  arg = arg + 3 + 2 * pairCount
end

-- Pass 2: write. A vector is the complete state of its feature set as of its event time, so it replaces the hash.
local written = 0
for i = 1, vectorCount do
  local at = plan[i]
  if at then
    local key = KEYS[i]
    local last = at + 2 + 2 * tonumber(ARGV[at + 2])
    redis.call('DEL', key)
    -- unpack() is bounded by the Lua C stack, so wide vectors go in chunks of 100 field/value pairs;
    -- the first chunk rides along with the metadata fields (unpack() expands fully as the last argument).
    local from = at + 3
    local to = math.min(from + 199, last)
    if version == nil then
      redis.call('HSET', key, '${EVENT_TIME_FIELD}', ARGV[at], '${WRITE_TIME_FIELD}', writeTime, unpack(ARGV, from, to))
    else
      redis.call('HSET', key, '${EVENT_TIME_FIELD}', ARGV[at], '${WRITE_TIME_FIELD}', writeTime,
        '${VERSION_FIELD}', ARGV[2], unpack(ARGV, from, to))
    end
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
return {written, vectorCount - written}
`;
