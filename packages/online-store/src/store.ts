import {
  nowProcessingTime,
  type DurationMs,
  type FeatureService,
  type FeatureVector,
  type ProcessingTime,
} from '@rtml/features';
import { encodeFeatureValue } from './codec.js';
import { CHECKPOINT_LOAD_LUA, CHECKPOINT_WRITE_LUA, STATES_READ_LUA } from './checkpoint-script.js';
import {
  checkpointWriteArgs,
  fenceArgs,
  fromFlatHash,
  validateCheckpointKeys,
  type Checkpoint,
  type CheckpointKeys,
  type CheckpointWrite,
} from './checkpoint.js';
import type { Redis } from 'ioredis';
import { execPipeline, pipelinePerNode, routeKeys, withCurrentSlots, type RedisClient } from './client.js';
import { OnlineStoreError } from './errors.js';
import {
  assertEntityId,
  assertKeySegment,
  entityHashKey,
  EVENT_TIME_FIELD,
  featureKeyPrefix,
  globLiteral,
  META_PREFIX,
} from './keys.js';
import { deleteMatching } from './namespace.js';
import { decodeRead, type OnlineRead } from './read.js';
import { awaitReplicas, nodeOf } from './replicas.js';
import { WRITE_BATCH_LUA } from './write-script.js';

/**
 * What the store needs of a feature set; a `FeatureSet` of @rtml/features is one, and so is a literal for the
 * vectors of a hand-written stream processor (a join, a counter).
 */
export interface StoredFeatureSet {
  readonly name: string;
  /** Redis expiry of an entity's hash, refreshed on every write, so abandoned entities disappear. */
  readonly onlineExpiry: DurationMs;
  /** A read whose event time is older than this (relative to `now`) is reported `stale`. Undefined: never. */
  readonly maxAge?: DurationMs | undefined;
  /** Optional schema: writes may not carry other features, and reads list declared-but-absent ones. */
  readonly aggregates?: readonly { readonly name: string }[];
}

export interface OnlineStoreOptions {
  readonly namespace: string;
  /** The feature service(s) served from this namespace, or the sets themselves. */
  readonly featureSets: FeatureService | readonly (StoredFeatureSet | FeatureService)[];
}

interface FeatureSetConfig {
  readonly onlineExpiry: DurationMs;
  readonly maxAge: DurationMs | undefined;
  readonly features: readonly string[] | undefined;
}

export interface WriteOptions {
  /**
   * Orders vectors of equal event time (the stream processor passes the partition offset its batch reached): such a
   * vector replaces a stored one only if that has a smaller version or none. Without it, equal event times overwrite.
   */
  readonly version?: number;
  /** Recorded as `__write_time`; defaults to the wall clock. */
  readonly now?: ProcessingTime;
  /** Collects the ids of the nodes written to, for `awaitReplicas` (the stream processor's checkpoint). */
  readonly writtenNodes?: Set<string>;
}

export interface WriteResult {
  readonly written: number;
  /**
   * Vectors not newer (by event time, then version) than what was already stored, or than an earlier one of the batch.
   */
  readonly skippedOlder: number;
}

/** Scripts, registered with ioredis' defineCommand (EVALSHA with a NOSCRIPT fallback). */
const SCRIPTS = {
  rtmlWriteBatch: WRITE_BATCH_LUA,
  rtmlCheckpointLoad: CHECKPOINT_LOAD_LUA,
  rtmlStatesRead: STATES_READ_LUA,
  rtmlCheckpointWrite: CHECKPOINT_WRITE_LUA,
} as const;
type Scripts = Record<keyof typeof SCRIPTS, (numKeys: number, ...keysAndArgs: string[]) => Promise<unknown>>;
type ScriptReply = [written: number, skippedOlder: number];
/**
 * Sent in upper case on purpose: ioredis registers its reply transformer (flat reply -> field/value object) under
 * "hgetall" only, so this returns Redis' own flat reply, which decodeRead walks once (a third of readMany's time).
 */
const HGETALL_FLAT = 'HGETALL';
type Pipeline = ReturnType<RedisClient['pipeline']>;
interface ScriptCall {
  readonly keys: string[];
  readonly args: string[];
}

/** Every set of every service, once (services of one namespace may share sets); a name used twice must mean one set. */
function storedSets(featureSets: OnlineStoreOptions['featureSets']): Map<string, FeatureSetConfig> {
  const listed = 'featureSets' in featureSets ? [featureSets] : featureSets;
  const entries = listed.flatMap((entry) => ('featureSets' in entry ? entry.featureSets : [entry]));
  const configs = new Map<string, FeatureSetConfig>();
  const sets = new Map<string, StoredFeatureSet>();
  for (const set of entries) {
    if (sets.has(set.name) && sets.get(set.name) !== set) {
      throw new OnlineStoreError(`two different feature sets are named "${set.name}"`);
    }
    sets.set(set.name, set);
    configs.set(set.name, validConfig(set));
  }
  return configs;
}

function validConfig(set: StoredFeatureSet): FeatureSetConfig {
  const { name, onlineExpiry, maxAge } = set;
  assertKeySegment('feature set name', name);
  if (!Number.isInteger(onlineExpiry) || onlineExpiry <= 0) {
    throw new OnlineStoreError(
      `feature set "${name}": onlineExpiry must be a positive whole number of ms, got ${onlineExpiry}`,
    );
  }
  if (maxAge !== undefined && !(Number.isFinite(maxAge) && maxAge >= 0)) {
    throw new OnlineStoreError(`feature set "${name}": maxAge must be a finite, non-negative ms value, got ${maxAge}`);
  }
  return { onlineExpiry, maxAge, features: set.aggregates?.map((feature) => feature.name) };
}

export class OnlineStore {
  readonly namespace: string;
  private readonly redis: RedisClient;
  private readonly featureSets: ReadonlyMap<string, FeatureSetConfig>;

  constructor(redis: RedisClient, options: OnlineStoreOptions) {
    assertKeySegment('namespace', options.namespace);
    this.featureSets = storedSets(options.featureSets);
    this.namespace = options.namespace;
    // defineCommand sends EVALSHA and falls back to EVAL once if the server lost the script.
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { lua });
    this.redis = redis;
  }

  /** The Redis hash holding one entity's features: `rtml:{namespace}:fs:{featureSet}:{entityId}`. */
  keyOf(featureSet: string, entityId: string): string {
    this.configOf(featureSet);
    assertEntityId(featureSet, entityId);
    return entityHashKey(this.namespace, featureSet, entityId);
  }

  /**
   * Writes vectors idempotently: a vector older than the stored one (event time, then `version`) is skipped; an
   * equal unversioned one overwrites (replays are harmless). One script call per hash slot (on one Redis: ONE call,
   * atomic), pipelined per node and sent to every node at once; each entity stays atomic and idempotent, so a failed
   * batch is simply retried.
   */
  async writeBatch(vectors: readonly FeatureVector[], opts: WriteOptions = {}): Promise<WriteResult> {
    if (vectors.length === 0) return { written: 0, skippedOlder: 0 };
    if (opts.version !== undefined && (!Number.isSafeInteger(opts.version) || opts.version < 0))
      throw new OnlineStoreError(`version must be a whole number >= 0, got ${opts.version}`);
    const head = [String(opts.now ?? nowProcessingTime()), opts.version === undefined ? '' : String(opts.version)];
    const keys = vectors.map((vector) => this.keyOf(vector.featureSet, vector.entityId));
    // Idempotent per entity, so a batch cut by a failover is simply sent again along the new slot map. The nodes
    // of every attempt stay in `writtenNodes`: a dead primary's writes may be lost, which its checkpoint must see.
    const replies = await withCurrentSlots(this.redis, async () => {
      const nodes = await routeKeys(this.redis, vectors.length, (index) => keys[index]!);
      // Every call is built (and so every vector validated) before anything is sent: bad input writes nothing.
      const calls = nodes.map((units) =>
        units.map((unit) =>
          this.scriptCall(
            unit.map((index) => vectors[index]!),
            head,
          ),
        ),
      );
      for (const units of nodes) opts.writtenNodes?.add(nodeOf(this.redis, keys[units[0]![0]!]!));
      return Promise.all(calls.map((nodeCalls) => this.sendScripts(nodeCalls)));
    });
    return replies.flat().reduce<WriteResult>(
      (total, [written, skippedOlder]) => ({
        written: total.written + written,
        skippedOlder: total.skippedOlder + skippedOlder,
      }),
      { written: 0, skippedOlder: 0 },
    );
  }

  /**
   * Waits until the writes recorded in `nodes` (`writtenNodes` of `writeBatch`) are on a replica of each node that has
   * one: a promoted replica then holds them. 'lagging' when a replica did not acknowledge within `timeoutMs`; throws
   * when a node is no longer a primary (failed over: some of those writes may be lost and must be written again).
   */
  awaitReplicas(nodes: ReadonlySet<string>, timeoutMs: number): Promise<'synced' | 'lagging'> {
    return awaitReplicas(this.redis, nodes, timeoutMs);
  }

  /** Fence, meta and timers of a checkpoint, in one atomic call. */
  async loadCheckpoint(keys: CheckpointKeys): Promise<Checkpoint> {
    validateCheckpointKeys(keys, this.namespace);
    const [fence, meta, timers] = (await this.scripts.rtmlCheckpointLoad(4, ...checkpointKeyList(keys))) as [
      string | null,
      string | null,
      string[],
    ];
    return { fence, meta, timers: fromFlatHash(timers) };
  }

  /**
   * Entity states stored with the checkpoint whose fence is `expected` (null for an entity without one); null when
   * the fence moved on (another writer checkpointed since), so the caller never mixes states of two checkpoints.
   */
  async readStates(
    keys: CheckpointKeys,
    expected: string | null,
    entityIds: readonly string[],
  ): Promise<(string | null)[] | null> {
    validateCheckpointKeys(keys, this.namespace);
    const [matched, states] = (await this.scripts.rtmlStatesRead(
      4,
      ...checkpointKeyList(keys),
      ...fenceArgs(expected),
      ...entityIds,
    )) as [number, (string | null)[] | undefined];
    return matched === 1 ? (states ?? []) : null;
  }

  /** Applies a checkpoint delta if the fence still holds `write.expected` (one atomic call); false when it did not. */
  async writeCheckpoint(keys: CheckpointKeys, write: CheckpointWrite): Promise<boolean> {
    validateCheckpointKeys(keys, this.namespace);
    if (typeof write.next !== 'string') throw new OnlineStoreError('checkpoint next must be a string');
    return (await this.scripts.rtmlCheckpointWrite(4, ...checkpointKeyList(keys), ...checkpointWriteArgs(write))) === 1;
  }

  /** Current fence values of several checkpoints (null when absent); one pipeline per node. */
  async readFences(fenceKeys: readonly string[]): Promise<(string | null)[]> {
    return (await pipelinePerNode(this.redis, fenceKeys, (pipeline, key) => void pipeline.get(key))) as (
      string | null
    )[];
  }

  /**
   * Deletes a feature set's vectors (all, or those dated after `datedAfter`, epoch ms); SCAN on every primary. Returns
   * how many.
   */
  async deleteVectors(featureSet: string, datedAfter?: number): Promise<number> {
    this.configOf(featureSet);
    const dated = async (server: Redis, keys: string[]) => {
      const times = await Promise.all(keys.map((key) => server.hget(key, EVENT_TIME_FIELD)));
      return keys.filter((_, i) => Number(times[i]) > datedAfter!);
    };
    return deleteMatching(
      this.redis,
      `${globLiteral(featureKeyPrefix(this.namespace))}${globLiteral(featureSet)}:*`,
      datedAfter === undefined ? undefined : dated,
    );
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  /** One node's script calls: a single call is sent as is, several as one pipeline (one round trip either way). */
  private async sendScripts(calls: readonly ScriptCall[]): Promise<ScriptReply[]> {
    if (calls.length === 1)
      return [
        (await this.scripts.rtmlWriteBatch(calls[0]!.keys.length, ...calls[0]!.keys, ...calls[0]!.args)) as ScriptReply,
      ];
    const pipeline = this.redis.pipeline() as Pipeline & Scripts;
    for (const call of calls) void pipeline.rtmlWriteBatch(call.keys.length, ...call.keys, ...call.args);
    return (await execPipeline(pipeline)) as ScriptReply[];
  }

  /** KEYS and ARGV of one write-script call (layout in write-script.ts). */
  private scriptCall(vectors: readonly FeatureVector[], head: readonly string[]): ScriptCall {
    const keys: string[] = [];
    const args: string[] = [...head];
    // A batch usually carries one feature set: look its config up once, not per vector.
    let current: { readonly name: string; readonly config: FeatureSetConfig } | undefined;
    for (const vector of vectors) {
      if (current?.name !== vector.featureSet)
        current = { name: vector.featureSet, config: this.configOf(vector.featureSet) };
      this.appendVector(vector, current.config, keys, args);
    }
    return { keys, args };
  }

  /**
   * Throws the OnlineStoreError `writeBatch` would refuse this vector with; `materialize` uses it to set bad rows
   * aside.
   */
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
  async readMany(
    featureSet: string,
    entityIds: readonly string[],
    now: ProcessingTime = nowProcessingTime(),
  ): Promise<OnlineRead[]> {
    const keys = entityIds.map((id) => this.keyOf(featureSet, id));
    if (keys.length === 0) return [];
    const replies = await pipelinePerNode(this.redis, keys, (pipeline, key) => void pipeline.call(HGETALL_FLAT, key));
    return replies.map((reply, index) => this.decode(featureSet, entityIds[index]!, keys[index]!, now, reply));
  }

  private decode(featureSet: string, entityId: string, key: string, now: ProcessingTime, reply: unknown): OnlineRead {
    if (!Array.isArray(reply))
      throw new OnlineStoreError(
        `${key}: HGETALL replied ${typeof reply}, expected Redis' flat [field, value, ...] array (an ioredis upgrade?)`,
      );
    const config = this.configOf(featureSet);
    return decodeRead(
      { featureSet, entityId, key, now, maxAge: config.maxAge, declaredFeatures: config.features },
      reply as string[],
    );
  }

  private configOf(featureSet: string): FeatureSetConfig {
    const config = this.featureSets.get(featureSet);
    if (!config)
      throw new OnlineStoreError(
        `unknown feature set "${featureSet}" in namespace "${this.namespace}" (known: ` +
          `${[...this.featureSets.keys()].join(', ') || 'none'})`,
      );
    return config;
  }

  private appendVector(vector: FeatureVector, config: FeatureSetConfig, keys: string[], args: string[]): void {
    const { key, pairs } = encodeVector(this.namespace, vector, config);
    keys.push(key);
    args.push(String(vector.eventTime), String(config.onlineExpiry), String(pairs.length / 2), ...pairs);
  }
}

/**
 * The hash key and the [feature, JSON value, ...] pairs of a vector, or the OnlineStoreError `writeBatch` refuses it
 * with: an empty entity id, an event time that is not integer epoch ms (the rule of the event schema and of the
 * offline store), a reserved or undeclared feature name, or a value that is not a FeatureValue (NaN, ±Infinity, ...).
 */
function encodeVector(
  namespace: string,
  vector: FeatureVector,
  config: FeatureSetConfig,
): { key: string; pairs: string[] } {
  assertEntityId(vector.featureSet, vector.entityId);
  const key = entityHashKey(namespace, vector.featureSet, vector.entityId);
  if (!Number.isSafeInteger(vector.eventTime)) {
    throw new OnlineStoreError(
      `${key}: event time must be integer epoch milliseconds (a safe integer), got ${vector.eventTime}`,
    );
  }
  const pairs: string[] = [];
  for (const name of Object.keys(vector.values)) {
    if (name.length === 0 || name.startsWith(META_PREFIX))
      throw new OnlineStoreError(
        `${key}: feature name ${JSON.stringify(name)} is empty or uses the reserved "${META_PREFIX}" prefix`,
      );
    if (config.features && !config.features.includes(name))
      throw new OnlineStoreError(`${key}: feature "${name}" is not declared (declared: ${config.features.join(', ')})`);
    pairs.push(
      name,
      encodeFeatureValue(vector.values[name], () => `${key} feature ${name}`),
    );
  }
  return { key, pairs };
}

function checkpointKeyList(keys: CheckpointKeys): string[] {
  return [keys.fence, keys.meta, keys.timers, keys.states];
}
