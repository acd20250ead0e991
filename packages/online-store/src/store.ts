import { nowProcessingTime, type DurationMs, type FeatureVector, type ProcessingTime } from '@rtml/features';
import { encodeFeatureValue } from './codec.js';
import { execPipeline, isCluster, routeKeys, type RedisClient } from './client.js';
import { OnlineStoreError } from './errors.js';
import { validateFence, type Fence } from './fence.js';
import { assertEntityId, assertKeySegment, entityKey, META_PREFIX } from './keys.js';
import { decodeRead, type OnlineRead } from './read.js';
import { WRITE_BATCH_LUA } from './write-script.js';

export interface FeatureSetConfig {
  /** Redis expiry of an entity's hash, refreshed on every write, so abandoned entities disappear. */
  readonly ttl: DurationMs;
  /** A read whose event time is older than this (relative to `now`) is reported `stale`. */
  readonly maxAge: DurationMs;
  /** Optional schema: writes may not carry other features, and reads list declared-but-absent ones. */
  readonly features?: readonly string[];
}

export interface OnlineStoreOptions {
  readonly namespace: string;
  readonly featureSets: Readonly<Record<string, FeatureSetConfig>>;
}

export interface WriteOptions {
  readonly fence?: Fence;
  /** Recorded as `__write_time`; defaults to the wall clock. */
  readonly now?: ProcessingTime;
}

export interface WriteResult {
  /** false only when a fence did not match: then nothing at all was written. */
  readonly applied: boolean;
  readonly written: number;
  /** Vectors older (by event time) than what was already stored, or than an earlier vector of the same batch. */
  readonly skippedOlder: number;
}

const SCRIPT_NAME = 'rtmlOnlineWriteBatch';
/**
 * Sent in upper case on purpose: ioredis registers its reply transformer (flat reply -> field/value object) under
 * "hgetall" only, so this returns Redis' own flat reply, which decodeRead walks once (a third of readMany's time).
 */
const HGETALL_FLAT = 'HGETALL';
type ScriptReply = [applied: number, written: number, skippedOlder: number];
type WriteScript = Record<typeof SCRIPT_NAME, (numKeys: number, ...args: string[]) => unknown>;
type Pipeline = ReturnType<RedisClient['pipeline']>;
interface ScriptCall {
  readonly keys: string[];
  readonly args: string[];
}

/** The fenced commit is one multi-key script (offset, state, vectors), which a cluster would reject with CROSSSLOT. */
export const FENCE_ON_CLUSTER =
  "the stream processor's commit protocol (a fenced writeBatch) does not support Redis Cluster yet; run the stream processor against a single Redis (REDIS_URL)";

function validateConfig(name: string, config: FeatureSetConfig): void {
  assertKeySegment('feature set name', name);
  if (!Number.isInteger(config.ttl) || config.ttl <= 0) throw new OnlineStoreError(`feature set "${name}": ttl must be a positive whole number of ms, got ${config.ttl}`);
  if (!Number.isFinite(config.maxAge) || config.maxAge < 0) throw new OnlineStoreError(`feature set "${name}": maxAge must be a finite, non-negative ms value, got ${config.maxAge}`);
}

export class OnlineStore {
  readonly namespace: string;
  private readonly redis: RedisClient;
  private readonly featureSets: ReadonlyMap<string, FeatureSetConfig>;

  constructor(redis: RedisClient, options: OnlineStoreOptions) {
    assertKeySegment('namespace', options.namespace);
    for (const [name, config] of Object.entries(options.featureSets)) validateConfig(name, config);
    this.namespace = options.namespace;
    this.featureSets = new Map(Object.entries(options.featureSets));
    // defineCommand sends EVALSHA and falls back to EVAL once if the server lost the script.
    redis.defineCommand(SCRIPT_NAME, { lua: WRITE_BATCH_LUA });
    this.redis = redis;
  }

  /** The Redis hash holding one entity's features: `rtml:{namespace}:fs:{featureSet}:{entityId}`. */
  keyOf(featureSet: string, entityId: string): string {
    this.configOf(featureSet);
    assertEntityId(featureSet, entityId);
    return entityKey(this.namespace, featureSet, entityId);
  }

  /**
   * Writes vectors idempotently: a vector older than the stored event time is skipped; equal event time
   * overwrites (replays are harmless). On one Redis: ONE atomic script call, all or nothing with a fence.
   * On a Redis Cluster: one script call per hash slot, pipelined per node (each entity atomic and idempotent,
   * so retrying a failed batch is harmless); a fence is refused there (FENCE_ON_CLUSTER).
   */
  async writeBatch(vectors: readonly FeatureVector[], opts: WriteOptions = {}): Promise<WriteResult> {
    if (vectors.length === 0 && opts.fence === undefined) return { applied: true, written: 0, skippedOlder: 0 };
    const fence = opts.fence;
    if (fence) validateFence(fence, this.namespace);
    if (fence && isCluster(this.redis)) throw new OnlineStoreError(FENCE_ON_CLUSTER);
    const writeTime = opts.now ?? nowProcessingTime();
    const nodes = await routeKeys(this.redis, vectors.length, (index) => this.keyOf(vectors[index]!.featureSet, vectors[index]!.entityId));
    // Every call is built (and so every vector validated) before anything is sent: bad input writes nothing.
    const calls = nodes.map((units) => units.map((unit) => this.scriptCall(unit.length === vectors.length ? vectors : unit.map((index) => vectors[index]!), writeTime, fence)));
    const replies = await Promise.all(calls.map((nodeCalls) => this.sendScripts(nodeCalls)));
    return replies.flat().reduce<WriteResult>(
      (total, [applied, written, skippedOlder]) => ({ applied: total.applied && applied === 1, written: total.written + written, skippedOlder: total.skippedOlder + skippedOlder }),
      { applied: true, written: 0, skippedOlder: 0 },
    );
  }

  /** One node's script calls: a single call is sent as is, several as one pipeline (one round trip either way). */
  private async sendScripts(calls: readonly ScriptCall[]): Promise<ScriptReply[]> {
    const run = (target: WriteScript, call: ScriptCall) => target[SCRIPT_NAME](call.keys.length, ...call.keys, ...call.args);
    if (calls.length === 1) return [(await run(this.redis as RedisClient & WriteScript, calls[0]!)) as ScriptReply];
    const pipeline = this.redis.pipeline() as Pipeline & WriteScript;
    for (const call of calls) run(pipeline, call);
    return (await execPipeline(pipeline)) as ScriptReply[];
  }

  /** KEYS and ARGV of one write-script call (layout in write-script.ts). */
  private scriptCall(vectors: readonly FeatureVector[], writeTime: ProcessingTime, fence: Fence | undefined): ScriptCall {
    const keys: string[] = [];
    const side = fence ? splitSideWrites(fence) : { sets: [], deletes: [] };
    const args: string[] = [fence ? '1' : '0', String(side.sets.length), String(side.deletes.length), String(vectors.length), String(writeTime)];
    if (fence) {
      keys.push(fence.key, ...side.sets.map((write) => write.key), ...side.deletes);
      args.push(fence.expected === null ? '0' : '1', fence.expected ?? '', fence.next, ...side.sets.map((write) => write.value));
    }
    // A batch usually carries one feature set: look its config up once, not per vector.
    let current: { readonly name: string; readonly config: FeatureSetConfig } | undefined;
    for (const vector of vectors) {
      if (current?.name !== vector.featureSet) current = { name: vector.featureSet, config: this.configOf(vector.featureSet) };
      this.appendVector(vector, current.config, keys, args);
    }
    return { keys, args };
  }

  /** Throws the OnlineStoreError `writeBatch` would refuse this vector with; `materialize` uses it to set bad rows aside. */
  validate(vector: FeatureVector): void {
    encodeVector(this.namespace, vector, this.configOf(vector.featureSet));
  }

  /** Current features of one entity, with freshness relative to `now`. */
  async read(featureSet: string, entityId: string, now: ProcessingTime = nowProcessingTime()): Promise<OnlineRead> {
    const key = this.keyOf(featureSet, entityId);
    return this.decode(featureSet, entityId, key, now, await this.redis.call(HGETALL_FLAT, key));
  }

  /**
   * Same as N reads, in ONE round trip per server: a pipeline of HGETALLs (one Redis: one pipeline; a cluster:
   * one per node, concurrently). Results keep the order of `entityIds`.
   */
  async readMany(featureSet: string, entityIds: readonly string[], now: ProcessingTime = nowProcessingTime()): Promise<OnlineRead[]> {
    const keys = entityIds.map((id) => this.keyOf(featureSet, id));
    if (keys.length === 0) return [];
    const reads: OnlineRead[] = new Array<OnlineRead>(keys.length);
    const nodes = await routeKeys(this.redis, keys.length, (index) => keys[index]!);
    await Promise.all(
      nodes.map(async (units) => {
        const indices = units.flat();
        const pipeline = this.redis.pipeline();
        for (const index of indices) pipeline.call(HGETALL_FLAT, keys[index]!);
        const replies = await execPipeline(pipeline);
        indices.forEach((index, at) => (reads[index] = this.decode(featureSet, entityIds[index]!, keys[index]!, now, replies[at])));
      }),
    );
    return reads;
  }

  private decode(featureSet: string, entityId: string, key: string, now: ProcessingTime, reply: unknown): OnlineRead {
    if (!Array.isArray(reply)) throw new OnlineStoreError(`${key}: HGETALL replied ${typeof reply}, expected Redis' flat [field, value, ...] array (an ioredis upgrade?)`);
    const config = this.configOf(featureSet);
    return decodeRead({ featureSet, entityId, key, now, maxAge: config.maxAge, declaredFeatures: config.features }, reply as string[]);
  }

  private configOf(featureSet: string): FeatureSetConfig {
    const config = this.featureSets.get(featureSet);
    if (!config) throw new OnlineStoreError(`unknown feature set "${featureSet}" in namespace "${this.namespace}" (known: ${[...this.featureSets.keys()].join(', ') || 'none'})`);
    return config;
  }

  private appendVector(vector: FeatureVector, config: FeatureSetConfig, keys: string[], args: string[]): void {
    const { key, pairs } = encodeVector(this.namespace, vector, config);
    keys.push(key);
    args.push(String(vector.eventTime), String(config.ttl), String(pairs.length / 2), ...pairs);
  }
}

/**
 * The hash key and the [feature, JSON value, ...] pairs of a vector, or the OnlineStoreError `writeBatch` refuses it
 * with: an empty entity id, an event time that is not integer epoch ms (the rule of the event schema and of the
 * offline store), a reserved or undeclared feature name, or a value that is not a FeatureValue (NaN, ±Infinity, ...).
 */
function encodeVector(namespace: string, vector: FeatureVector, config: FeatureSetConfig): { key: string; pairs: string[] } {
  assertEntityId(vector.featureSet, vector.entityId);
  const key = entityKey(namespace, vector.featureSet, vector.entityId);
  if (!Number.isSafeInteger(vector.eventTime)) {
    throw new OnlineStoreError(`${key}: event time must be integer epoch milliseconds (a safe integer), got ${vector.eventTime}`);
  }
  const pairs: string[] = [];
  for (const name of Object.keys(vector.values)) {
    if (name.length === 0 || name.startsWith(META_PREFIX)) throw new OnlineStoreError(`${key}: feature name ${JSON.stringify(name)} is empty or uses the reserved "${META_PREFIX}" prefix`);
    if (config.features && !config.features.includes(name)) throw new OnlineStoreError(`${key}: feature "${name}" is not declared (declared: ${config.features.join(', ')})`);
    pairs.push(name, encodeFeatureValue(vector.values[name], () => `${key} feature ${name}`));
  }
  return { key, pairs };
}

/** Side writes with a value are SET, those with `null` are deleted (DEL), in the script's separate lists. */
function splitSideWrites(fence: Fence): { sets: { key: string; value: string }[]; deletes: string[] } {
  const sets: { key: string; value: string }[] = [];
  const deletes: string[] = [];
  for (const write of fence.sideWrites) {
    if (write.value === null) deletes.push(write.key);
    else sets.push({ key: write.key, value: write.value });
  }
  return { sets, deletes };
}
