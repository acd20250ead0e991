import calculateSlot from 'cluster-key-slot';
import { Cluster, type ClusterOptions, type Redis } from 'ioredis';
import { OnlineStoreError } from './errors.js';

/** The store works on one Redis server (or primary) and on a Redis Cluster, through the same code path. */
export type RedisClient = Redis | Cluster;

export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

/**
 * A cluster client for `REDIS_CLUSTER_NODES`-style seeds: comma-separated `host:port` (any subset of the nodes;
 * the client discovers the rest).
 */
export function connectCluster(nodes: string, options?: ClusterOptions): Cluster {
  const seeds = nodes.split(',').map((node) => {
    const match = /^\s*([^\s:]+):(\d+)\s*$/.exec(node);
    if (!match)
      throw new OnlineStoreError(
        `REDIS_CLUSTER_NODES must be comma-separated host:port pairs, got ${JSON.stringify(nodes)}`,
      );
    return { host: match[1]!, port: Number(match[2]) };
  });
  return new Cluster(seeds, options);
}

/**
 * Splits the indices of `count` keys (`keyAt(i)`) into units that may travel together: `[node][unit] -> indices`.
 * - One server: one node, one unit holding every key (a single atomic script or pipeline, as before).
 * - Cluster: one node per group of slots served by the same primary (+ replicas), which is exactly what one ioredis
 *   cluster pipeline may span (it rejects a pipeline whose keys belong to different "slots allocation groups");
 *   inside a node, one unit per slot, since a multi-key command or script may not cross slots (CROSSSLOT).
 * Order is kept inside each unit, so duplicates of one key stay in batch order.
 */
export async function routeKeys(
  client: RedisClient,
  count: number,
  keyAt: (index: number) => string,
): Promise<number[][][]> {
  const indices = Array.from({ length: count }, (_, index) => index);
  // One server: keys are not even computed here (the write path builds them once, later).
  if (!isCluster(client)) return [[indices]];
  await slotsKnown(client);
  const nodes = new Map<string, Map<number, number[]>>();
  indices.forEach((index) => {
    const slot = calculateSlot(keyAt(index));
    // ioredis groups slots by this same join; an uncovered slot goes alone (the cluster answers it with an error).
    const node = client.slots[slot]?.join(';') ?? `unassigned:${slot}`;
    const units = nodes.get(node) ?? new Map<number, number[]>();
    units.set(slot, [...(units.get(slot) ?? []), index]);
    nodes.set(node, units);
  });
  return [...nodes.values()].map((units) => [...units.values()]);
}

/** Cluster pipelines need the slot map; it arrives with the first connection. */
async function slotsKnown(cluster: Cluster): Promise<void> {
  if (cluster.slots.length > 0) return;
  if (cluster.status === 'wait') void cluster.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => cluster.delayUntilReady((error) => (error ? reject(error) : resolve())));
}

/**
 * Replies of a cluster whose topology is changing (a failover, a resharding) or of a node that just died. ioredis
 * follows a redirection for a single command, but not inside a pipeline whose keys span slots or that holds scripts
 * (it hands the errors back and keeps its stale slot map), so the per-node pipelines refresh the map and retry.
 */
const TOPOLOGY_CHANGING =
  /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|READONLY)\b|Connection is closed|ECONNREFUSED|ECONNRESET|no longer a primary/;
const TOPOLOGY_RETRIES = 5;
const TOPOLOGY_BACKOFF_MS = 100;

/**
 * Runs `work` (which routes its keys itself), and on a cluster whose topology changed under it refreshes the slot map
 * and runs it again, up to 5 times over ~3 s; then the error is the caller's. Only for idempotent work.
 */
export async function withCurrentSlots<T>(client: RedisClient, work: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!isCluster(client) || retry >= TOPOLOGY_RETRIES || !TOPOLOGY_CHANGING.test(message)) throw error;
      await refreshSlots(client).catch(() => undefined); // an unreachable seed: the retry reports it
      await new Promise((resolve) => setTimeout(resolve, TOPOLOGY_BACKOFF_MS * 2 ** retry));
    }
  }
}

/** Asks the cluster for its current slot map (CLUSTER SLOTS) and waits for the answer. */
export function refreshSlots(cluster: Cluster): Promise<void> {
  return new Promise((resolve, reject) => cluster.refreshSlotsCache((error) => (error ? reject(error) : resolve())));
}

/**
 * One command per key, as ONE pipeline per node sent to every node at once (never a round trip per key); replies in
 * the order of `keys`. The commands must be idempotent (retried across a failover).
 */
export async function pipelinePerNode(
  client: RedisClient,
  keys: readonly string[],
  command: (pipeline: ReturnType<RedisClient['pipeline']>, key: string) => void,
): Promise<unknown[]> {
  const replies: unknown[] = new Array<unknown>(keys.length);
  await withCurrentSlots(client, async () => {
    const nodes = await routeKeys(client, keys.length, (index) => keys[index]!);
    await Promise.all(
      nodes.map(async (units) => {
        const indices = units.flat();
        const pipeline = client.pipeline();
        for (const index of indices) command(pipeline, keys[index]!);
        const answers = await execPipeline(pipeline);
        indices.forEach((index, at) => (replies[index] = answers[at]));
      }),
    );
  });
  return replies;
}

/** Runs a pipeline and returns its replies, throwing the first command's error (after every command has answered). */
export async function execPipeline(pipeline: ReturnType<RedisClient['pipeline']>): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  const failed = replies.find(([error]) => error)?.[0];
  if (failed) throw failed;
  return replies.map(([, reply]) => reply);
}

/** The servers holding keys: every primary of a cluster, or the one server. */
export async function primaries(client: RedisClient): Promise<Redis[]> {
  if (!isCluster(client)) return [client];
  await slotsKnown(client);
  return client.nodes('master');
}
