import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { isCluster, primaries, refreshSlots, type RedisClient } from './client.js';
import { OnlineStoreError } from './errors.js';

/** The one server of a non-cluster client, as a node id. */
const SINGLE_SERVER = 'server';

/** Id (`host:port` of its primary) of the node that serves `key`. */
export function nodeOf(client: RedisClient, key: string): string {
  if (!isCluster(client)) return SINGLE_SERVER;
  return client.slots[calculateSlot(key)]?.[0] ?? `unassigned:${calculateSlot(key)}`;
}

/**
 * Waits until every write sent so far to each of `nodes` is on at least one replica (`WAIT 1 timeoutMs` per node,
 * concurrently); nodes without replicas are skipped (nothing could be promoted in their place). 'lagging' when a
 * replica did not acknowledge in time. Throws when a node is no longer a primary: it failed over, and its promoted
 * replica may lack some of those writes, so the caller must replay them.
 */
export async function awaitReplicas(
  client: RedisClient,
  nodes: ReadonlySet<string>,
  timeoutMs: number,
): Promise<'synced' | 'lagging'> {
  if (nodes.size === 0) return 'synced';
  const targets = isCluster(client) ? await clusterTargets(client, nodes) : await singleTarget(client);
  const acks = await Promise.all(targets.map((server) => server.wait(1, timeoutMs)));
  return acks.every((ack) => ack >= 1) ? 'synced' : 'lagging';
}

/** Replica counts of single servers, asked at most once a second (a checkpoint may come every batch). */
const replicaCounts = new WeakMap<Redis, { readonly replicas: number; readonly at: number }>();

async function singleTarget(client: Redis): Promise<Redis[]> {
  let known = replicaCounts.get(client);
  if (known === undefined || Date.now() - known.at > 1_000) {
    const info = await client.info('replication');
    known = { replicas: Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0), at: Date.now() };
    replicaCounts.set(client, known);
  }
  return known.replicas > 0 ? [client] : [];
}

async function clusterTargets(client: Cluster, nodes: ReadonlySet<string>): Promise<Redis[]> {
  const servers = new Map<string, Redis>(
    (await primaries(client)).map((server) => [`${server.options.host}:${server.options.port}`, server]),
  );
  const replicas = new Map<string, number>();
  for (const owners of client.slots) if (owners?.[0] !== undefined) replicas.set(owners[0], owners.length - 1);
  const targets: Redis[] = [];
  for (const node of nodes) {
    const server = servers.get(node);
    if (server === undefined || !replicas.has(node)) {
      // The replay that follows must route along the new map, not back to the old primary.
      await refreshSlots(client).catch(() => undefined);
      throw new OnlineStoreError(
        `Redis node ${node} is no longer a primary (a failover?): writes sent to it may be lost; replay them`,
      );
    }
    if (replicas.get(node)! > 0) targets.push(server);
  }
  return targets;
}
