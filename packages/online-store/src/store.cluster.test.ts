import fc from 'fast-check';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { duration, eventTime, type FeatureValues, type FeatureVector } from '@rtml/features';
import { deleteNamespace, materialize, OnlineStore, OnlineStoreError } from './index.js';
import { testClusterNamespaces } from './testing.js';

/** Runs with RTML_TOPOLOGY=cluster: a real Redis Cluster of 3 primaries + 3 replicas (packages/devstack). */
const namespaces = testClusterNamespaces(inject('redisClusterNodes'), 'tc');
const { redis: cluster } = namespaces;
afterAll(namespaces.cleanup);

const freshStore = () =>
  new OnlineStore(cluster, {
    namespace: namespaces.fresh(),
    featureSets: [{ name: 'user_txn', onlineExpiry: duration.days(7), maxAge: duration.minutes(10) }],
  });
const T0 = 1_700_000_000_000;
const vec = (entityId: string, at: number, values: FeatureValues): FeatureVector => ({
  featureSet: 'user_txn',
  entityId,
  eventTime: eventTime(at),
  values,
});
const ids = (count: number) => Array.from({ length: count }, (_, i) => `user-${i}`);

async function primaryOf(key: string): Promise<string> {
  return cluster.slots[Number(await cluster.cluster('KEYSLOT', key))]![0]!;
}

/** A direct connection to the replica of the primary at `address` (`host:port`), found in CLUSTER NODES. */
async function replicaServing(address: string): Promise<Redis> {
  // Lines: <id> <host:port@bus> <flags> <primary id or -> ...
  const nodes = String(await cluster.call('CLUSTER', 'NODES'))
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  const primaryId = nodes.find(([, at]) => at!.split('@')[0] === address)?.[0];
  const replica = nodes.find(([, , flags, primary]) => flags!.includes('slave') && primary === primaryId);
  if (primaryId === undefined || replica === undefined) throw new Error(`no replica of ${address} in CLUSTER NODES`);
  const [host, port] = replica[1]!.split('@')[0]!.split(':');
  return new Redis(Number(port), host ?? '127.0.0.1');
}

describe('online store on a Redis Cluster', () => {
  it('writes a batch spanning every primary and reads it back with read and readMany', async () => {
    const store = freshStore();
    const entities = ids(200);
    expect(await store.writeBatch(entities.map((id, i) => vec(id, T0 + i, { i, id })))).toEqual({
      written: 200,
      skippedOlder: 0,
    });
    expect(new Set(await Promise.all(entities.map((id) => primaryOf(store.keyOf('user_txn', id)))))).toHaveProperty(
      'size',
      3,
    );
    for (const [i, id] of entities.entries()) expect((await store.read('user_txn', id)).values).toEqual({ i, id });
    const many = await store.readMany('user_txn', [...entities, 'nobody'].reverse());
    expect(many.map((read) => read.values)).toEqual([undefined, ...entities.map((id, i) => ({ i, id })).reverse()]);
    expect(many[0]!.status).toBe('missing');
  });

  it('readMany sends one pipeline per primary, never a command per key', async () => {
    const store = freshStore();
    const entities = ids(100);
    await store.writeBatch(entities.map((id) => vec(id, T0, { a: 1 })));
    const pipelines = vi.spyOn(cluster, 'pipeline');
    const singleReads = vi.spyOn(cluster, 'hgetall');
    const singleCalls = vi.spyOn(cluster, 'call');
    try {
      expect((await store.readMany('user_txn', entities)).every((read) => read.status !== 'missing')).toBe(true);
      expect(pipelines).toHaveBeenCalledTimes(3);
      expect(singleReads).not.toHaveBeenCalled();
      expect(singleCalls).not.toHaveBeenCalled();
    } finally {
      pipelines.mockRestore();
      singleReads.mockRestore();
      singleCalls.mockRestore();
    }
  });

  it(
    'keeps writes idempotent per entity: older vectors skipped, in-batch duplicates resolved by event ' + 'time',
    async () => {
      const store = freshStore();
      await store.writeBatch([vec('a', T0 + 10, { v: 'a10' }), vec('b', T0 + 10, { v: 'b10' })]);
      const result = await store.writeBatch([
        vec('a', T0 + 5, { v: 'a5' }),
        vec('b', T0 + 20, { v: 'b20' }),
        vec('c', T0 + 3, { v: 'c3' }),
        vec('c', T0 + 1, { v: 'c1' }),
      ]);
      expect(result).toEqual({ written: 2, skippedOlder: 2 });
      expect((await store.readMany('user_txn', ['a', 'b', 'c'])).map((read) => read.values)).toEqual([
        { v: 'a10' },
        { v: 'b20' },
        { v: 'c3' },
      ]);
    },
  );

  it(
    'any order of versioned writes across entities on different primaries ends at each entity’s newest ' + 'version',
    async () => {
      const store = freshStore();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ entity: fc.integer({ min: 0, max: 9 }), version: fc.integer({ min: 0, max: 1_000 }) }), {
            minLength: 1,
            maxLength: 30,
          }),
          fc.integer({ min: 1, max: 8 }),
          async (writes, batchSize) => {
            const prefix = `p${run++}`;
            for (let i = 0; i < writes.length; i += batchSize) {
              await store.writeBatch(
                writes
                  .slice(i, i + batchSize)
                  .map((w) => vec(`${prefix}-${w.entity}`, T0 + w.version, { version: w.version })),
              );
            }
            const newest = new Map<string, number>();
            for (const w of writes)
              newest.set(`${prefix}-${w.entity}`, Math.max(newest.get(`${prefix}-${w.entity}`) ?? -1, w.version));
            const reads = await store.readMany('user_txn', [...newest.keys()]);
            expect(reads.map((read) => read.values?.version)).toEqual([...newest.values()]);
          },
        ),
        { numRuns: 25 },
      );
    },
  );

  it('commits a checkpoint in one hash slot and reads its states only as of the expected fence', async () => {
    const store = freshStore();
    const tag = `rtml:${store.namespace}:cp:{${store.namespace}:p0}`;
    const keys = { fence: `${tag}:offsets`, meta: `${tag}:meta`, timers: `${tag}:timers`, states: `${tag}:states` };
    expect(
      await store.writeCheckpoint(keys, {
        expected: null,
        next: '1',
        meta: 'm',
        timers: [{ field: '0', value: 't' }],
        states: [{ field: 'a', value: 's' }],
      }),
    ).toBe(true);
    expect(await store.writeCheckpoint(keys, { expected: null, next: '2' })).toBe(false);
    expect(await store.loadCheckpoint(keys)).toEqual({ fence: '1', meta: 'm', timers: { 0: 't' } });
    expect(await store.readStates(keys, '1', ['a', 'b'])).toEqual(['s', null]);
    expect(await store.readFences([keys.fence, `rtml:${store.namespace}:cp:{other}:offsets`])).toEqual(['1', null]);
  });

  it('versioned writes span every primary; each node written waits for its replica (WAIT)', async () => {
    const store = freshStore();
    const written = new Set<string>();
    expect(
      await store.writeBatch(
        ids(90).map((id) => vec(id, T0, { v: 2 })),
        { version: 2, writtenNodes: written },
      ),
    ).toEqual({ written: 90, skippedOlder: 0 });
    expect(written.size).toBe(3);
    expect(
      await store.writeBatch(
        ids(90).map((id) => vec(id, T0, { v: 1 })),
        { version: 1 },
      ),
    ).toEqual({ written: 0, skippedOlder: 90 });
    expect(await store.awaitReplicas(written, 5_000)).toBe('synced');
  });

  it('validates the whole batch before sending any slot, so bad input writes nothing on any node', async () => {
    const store = freshStore();
    // The good vectors live on the two other primaries, so the bad one's node is the last to be prepared.
    const badNode = await primaryOf(store.keyOf('user_txn', 'bad'));
    const goodIds: string[] = [];
    for (const id of ids(60)) if ((await primaryOf(store.keyOf('user_txn', id))) !== badNode) goodIds.push(id);
    const batch = [...goodIds.map((id) => vec(id, T0, { a: 1 })), vec('bad', T0, { a: Number.NaN })];
    await expect(store.writeBatch(batch)).rejects.toThrow(OnlineStoreError);
    expect((await store.readMany('user_txn', goodIds)).every((read) => read.status === 'missing')).toBe(true);
  });

  it('materializes the batch path onto the cluster', async () => {
    const store = freshStore();
    const entities = ids(120);
    const progress = await materialize(
      store,
      entities.map((id) => vec(id, T0, { batch: true })),
      { batchSize: 50 },
    );
    expect(progress).toEqual({ batches: 3, seen: 120, written: 120, skippedOlder: 0, rejected: 0, rejections: [] });
    expect((await store.readMany('user_txn', entities)).every((read) => read.values?.batch === true)).toBe(true);
  });

  it('deleteNamespace removes the namespace from every primary', async () => {
    const store = freshStore();
    await store.writeBatch(ids(60).map((id) => vec(id, T0, { a: 1 })));
    await deleteNamespace(cluster, store.namespace);
    expect((await store.readMany('user_txn', ids(60))).every((read) => read.status === 'missing')).toBe(true);
  });

  it('follows a failover with a stale slot map: pipelines that get MOVED refresh it and are sent again', async () => {
    const store = freshStore();
    const entities = ids(60);
    await store.writeBatch(entities.map((id, i) => vec(id, T0, { i })));
    const oldPrimary = await primaryOf(store.keyOf('user_txn', entities[0]!));
    const replica = await replicaServing(oldPrimary);
    // A graceful failover: the old primary lives on as a replica and answers MOVED for its former slots. ioredis
    // follows that for a single command, but hands it back for a pipeline and keeps its slot map.
    await replica.cluster('FAILOVER');
    await expect.poll(async () => (await replica.role())[0], { timeout: 30_000, interval: 100 }).toBe('master');
    replica.disconnect();
    expect(cluster.slots.some((owners) => owners[0] === oldPrimary)).toBe(true); // the client's map is stale

    expect(await store.writeBatch(entities.map((id, i) => vec(id, T0 + 1, { i: i + 1 })))).toEqual({
      written: 60,
      skippedOlder: 0,
    });
    expect((await store.readMany('user_txn', entities)).map((read) => read.values)).toEqual(
      entities.map((_, i) => ({ i: i + 1 })),
    );
    expect(await primaryOf(store.keyOf('user_txn', entities[0]!))).not.toBe(oldPrimary);
  });

  // Last in the file: it leaves the shared cluster with one shard promoted and without a replica (still serving).
  // Only on a cluster this run started: an external one is not ours to kill.
  const ours = inject('stackProcesses');
  it.skipIf(ours.length === 0)(
    'keeps serving reads and writes after a primary is SIGKILLed and its replica promoted',
    async () => {
      const store = freshStore();
      const entities = ids(60);
      const written = new Set<string>();
      await store.writeBatch(
        entities.map((id, i) => vec(id, T0, { i })),
        { writtenNodes: written },
      );
      const victimAddress = await primaryOf(store.keyOf('user_txn', entities[0]!));
      const victimPort = Number(victimAddress.split(':')[1]);
      const victim = ours.find((p) => p.ports[0] === victimPort);
      if (!victim) throw new Error(`primary ${victimAddress} is not one of this run's processes`);
      const direct = new Redis(victimPort, '127.0.0.1');
      expect(await direct.wait(1, 5_000)).toBe(1); // the writes reached the replica (replication is asynchronous)
      direct.disconnect();
      process.kill(victim.pid, 'SIGKILL');

      // During the failover (node timeout + election) calls for that shard fail; afterwards everything works again.
      await expect
        .poll(async () => (await store.readMany('user_txn', entities).catch(() => [])).length, {
          timeout: 60_000,
          interval: 500,
        })
        .toBe(60);
      expect((await store.readMany('user_txn', entities)).map((read) => read.values)).toEqual(
        entities.map((_, i) => ({ i })),
      );
      expect(await primaryOf(store.keyOf('user_txn', entities[0]!))).not.toBe(victimAddress);
      // The stream processor's checkpoint would now replay: writes acknowledged by the old primary may be lost.
      await expect(store.awaitReplicas(written, 1_000)).rejects.toThrow(/no longer a primary/);
      expect(await store.writeBatch(entities.map((id, i) => vec(id, T0 + 1, { i: i + 1 })))).toEqual({
        written: 60,
        skippedOlder: 0,
      });
      expect((await store.read('user_txn', entities[0]!)).values).toEqual({ i: 1 });
    },
  );
});
