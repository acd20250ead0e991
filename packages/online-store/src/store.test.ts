import fc from 'fast-check';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  duration,
  eventTime,
  featureService,
  processingTime,
  type FeatureValues,
  type FeatureVector,
} from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import {
  connectCluster,
  deleteNamespace,
  OnlineStore,
  OnlineStoreError,
  materialize,
  VERSION_FIELD,
  type CheckpointKeys,
} from './index.js';
import { testNamespaces } from './testing.js';

const namespaces = testNamespaces(inject('redisUrl'), 't');
const { redis } = namespaces;
afterAll(namespaces.cleanup);

/** A store in a fresh namespace, so tests never see each other's keys. */
function freshStore(features?: readonly string[]): OnlineStore {
  return new OnlineStore(redis, {
    namespace: namespaces.fresh(),
    featureSets: [
      {
        name: 'user_txn',
        onlineExpiry: duration.days(7),
        maxAge: duration.minutes(10),
        ...(features ? { aggregates: features.map((name) => ({ name })) } : {}),
      },
      { name: 'short_lived', onlineExpiry: duration.ms(40), maxAge: duration.minutes(10) },
    ],
  });
}

const T0 = 1_700_000_000_000;
const vec = (entityId: string, at: number, values: FeatureValues): FeatureVector => ({
  featureSet: 'user_txn',
  entityId,
  eventTime: eventTime(at),
  values,
});
const checkpointKeysOf = (store: OnlineStore): CheckpointKeys => {
  const tag = `rtml:${store.namespace}:cp:{${store.namespace}:p0}`;
  return { fence: `${tag}:offsets`, meta: `${tag}:meta`, timers: `${tag}:timers`, states: `${tag}:states` };
};

describe('round trip', () => {
  it('keeps every value type exactly, including null and lists', async () => {
    const store = freshStore();
    const values = {
      n: 42.5,
      neg: -3,
      zero: 0,
      s: 'hello',
      emptyS: '',
      numeric: '1',
      t: true,
      f: false,
      nothing: null,
      nums: [1, 2.5, -3],
      strs: ['a', 'b'],
      empty: [],
    };
    await store.writeBatch([vec('user:42', T0, values)], { now: processingTime(T0 + 5) });
    const read = await store.read('user_txn', 'user:42', processingTime(T0 + 1_000));
    expect(read).toEqual({
      featureSet: 'user_txn',
      entityId: 'user:42',
      status: 'fresh',
      eventTime: T0,
      writeTime: T0 + 5,
      freshnessMs: 1_000,
      values,
      missingFeatures: [],
    });
  });

  it('stores one hash per entity with JSON fields and metadata', async () => {
    const store = freshStore();
    await store.writeBatch([vec('u1', T0, { amount: 10, label: 'x' })], { now: processingTime(T0 + 7) });
    expect(await redis.hgetall(`rtml:${store.namespace}:fs:user_txn:u1`)).toEqual({
      amount: '10',
      label: '"x"',
      __event_time: String(T0),
      __write_time: String(T0 + 7),
    });
  });

  it('sets the feature set TTL on every write', async () => {
    const store = freshStore();
    await store.writeBatch([vec('u1', T0, { a: 1 })]);
    const ttl = await redis.pttl(store.keyOf('user_txn', 'u1'));
    expect(ttl).toBeGreaterThan(duration.days(7) - 60_000);
    expect(ttl).toBeLessThanOrEqual(duration.days(7));
  });

  it('lets abandoned entities expire', async () => {
    const store = freshStore();
    await store.writeBatch([{ featureSet: 'short_lived', entityId: 'u1', eventTime: eventTime(T0), values: { a: 1 } }]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await store.read('short_lived', 'u1')).status).toBe('missing');
  });

  it('round-trips vectors wider than one HSET chunk (the script splits long argument lists)', async () => {
    const store = freshStore();
    const values = Object.fromEntries(Array.from({ length: 450 }, (_, i) => [`f${i}`, i % 2 ? i : `s${i}`]));
    await store.writeBatch([vec('wide', T0, values)]);
    expect((await store.read('user_txn', 'wide')).values).toEqual(values);
  });
});

describe('idempotent writes', () => {
  it('skips older vectors and lets equal event times overwrite', async () => {
    const store = freshStore();
    expect(await store.writeBatch([vec('u1', T0 + 10, { v: 'new' })])).toEqual({ written: 1, skippedOlder: 0 });
    expect(await store.writeBatch([vec('u1', T0 + 5, { v: 'old' })])).toEqual({ written: 0, skippedOlder: 1 });
    expect(await store.writeBatch([vec('u1', T0 + 10, { v: 'replay' })])).toEqual({ written: 1, skippedOlder: 0 });
    const read = await store.read('user_txn', 'u1');
    expect(read.values).toEqual({ v: 'replay' });
  });

  it('replaces the whole vector, so a feature dropped by a newer vector does not linger', async () => {
    const store = freshStore();
    await store.writeBatch([vec('u1', T0, { a: 1, b: 2 })]);
    await store.writeBatch([vec('u1', T0 + 1, { a: 3 })]);
    expect((await store.read('user_txn', 'u1')).values).toEqual({ a: 3 });
  });

  it('any order of versioned writes (across and within batches) ends at the max-event-time version', async () => {
    const store = freshStore();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.infiniteStream(fc.nat()),
        async (versions, batchSize, shuffleSeed) => {
          const entityId = `prop-${run++}`;
          const shuffled = shuffle(versions, shuffleSeed);
          for (let i = 0; i < shuffled.length; i += batchSize) {
            await store.writeBatch(
              shuffled.slice(i, i + batchSize).map((v) => vec(entityId, T0 + v, { version: v, tag: `v${v}` })),
            );
          }
          const max = Math.max(...versions);
          const read = await store.read('user_txn', entityId);
          expect(read.eventTime).toBe(T0 + max);
          expect(read.values).toEqual({ version: max, tag: `v${max}` });
        },
      ),
      { numRuns: 40 },
    );
  });
});

function shuffle<T>(items: readonly T[], randomness: Iterable<number>): T[] {
  const out = [...items];
  const source = randomness[Symbol.iterator]();
  for (let i = out.length - 1; i > 0; i--) {
    const j = (source.next().value as number) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('versioned writes (the stream processor)', () => {
  it(
    'orders equal event times by version: a replayed older batch never overwrites a newer one, the same ' +
      'batch is a no-op',
    async () => {
      const store = freshStore();
      expect(await store.writeBatch([vec('u1', T0, { a: 2 })], { version: 20 })).toEqual({
        written: 1,
        skippedOlder: 0,
      });
      expect(await redis.hget(store.keyOf('user_txn', 'u1'), VERSION_FIELD)).toBe('20');
      expect(await store.writeBatch([vec('u1', T0, { a: 1 })], { version: 10 })).toEqual({
        written: 0,
        skippedOlder: 1,
      });
      expect(await store.writeBatch([vec('u1', T0, { a: 2 })], { version: 20 })).toEqual({
        written: 0,
        skippedOlder: 1,
      });
      expect(await store.writeBatch([vec('u1', T0, { a: 3 })], { version: 30 })).toEqual({
        written: 1,
        skippedOlder: 0,
      });
      // Event time still comes first: a newer version with an older event time is refused, an unversioned newer one
      // wins.
      expect(await store.writeBatch([vec('u1', T0 - 1, { a: 4 })], { version: 40 })).toEqual({
        written: 0,
        skippedOlder: 1,
      });
      expect(await store.writeBatch([vec('u1', T0 + 1, { a: 5 })])).toEqual({ written: 1, skippedOlder: 0 });
      expect(await redis.hget(store.keyOf('user_txn', 'u1'), VERSION_FIELD)).toBeNull();
      expect((await store.read('user_txn', 'u1')).values).toEqual({ a: 5 });
    },
  );

  it('any order of (event time, version) writes ends at the greatest pair per entity', async () => {
    const store = freshStore();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            entity: fc.integer({ min: 0, max: 3 }),
            time: fc.integer({ min: 0, max: 3 }),
            version: fc.integer({ min: 0, max: 5 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        async (writes) => {
          const prefix = `v${run++}`;
          for (const w of writes)
            await store.writeBatch([vec(`${prefix}-${w.entity}`, T0 + w.time, { time: w.time, version: w.version })], {
              version: w.version,
            });
          const newest = new Map<string, { time: number; version: number }>();
          for (const w of writes) {
            const best = newest.get(`${prefix}-${w.entity}`);
            if (!best || w.time > best.time || (w.time === best.time && w.version > best.version))
              newest.set(`${prefix}-${w.entity}`, { time: w.time, version: w.version });
          }
          expect((await store.readMany('user_txn', [...newest.keys()])).map((read) => read.values)).toEqual([
            ...newest.values(),
          ]);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('checkpoints', () => {
  it(
    'applies a delta when the fence holds the expected value (null = absent) and loads it back ' + 'atomically',
    async () => {
      const store = freshStore();
      const k = checkpointKeysOf(store);
      expect(
        await store.writeCheckpoint(k, {
          expected: null,
          next: '100',
          meta: 'm1',
          timers: [{ field: '0', value: 't0' }],
          states: [
            { field: 'u1', value: 's1' },
            { field: 'u2', value: 's2' },
          ],
        }),
      ).toBe(true);
      expect(await store.loadCheckpoint(k)).toEqual({ fence: '100', meta: 'm1', timers: { 0: 't0' } });
      expect(
        await store.writeCheckpoint(k, {
          expected: '100',
          next: '200',
          meta: 'm2',
          states: [
            { field: 'u1', value: null },
            { field: 'u3', value: 's3' },
          ],
        }),
      ).toBe(true);
      expect(await store.loadCheckpoint(k)).toEqual({ fence: '200', meta: 'm2', timers: { 0: 't0' } });
      expect(await store.readStates(k, '200', ['u1', 'u2', 'u3'])).toEqual([null, 's2', 's3']);
    },
  );

  it('a zombie (stale expected fence) writes nothing and reads no states', async () => {
    const store = freshStore();
    const k = checkpointKeysOf(store);
    await store.writeCheckpoint(k, { expected: null, next: '200', states: [{ field: 'u1', value: 'live' }] });
    for (const expected of ['100', null]) {
      expect(
        await store.writeCheckpoint(k, {
          expected,
          next: '150',
          meta: 'zombie',
          states: [{ field: 'u1', value: 'zombie' }],
        }),
      ).toBe(false);
      expect(await store.readStates(k, expected, ['u1'])).toBeNull();
    }
    expect(await store.loadCheckpoint(k)).toEqual({ fence: '200', meta: null, timers: {} });
    expect(await store.readStates(k, '200', ['u1'])).toEqual(['live']);
  });

  it('clear resets a checkpoint: meta, timers and states go in the same call', async () => {
    const store = freshStore();
    const k = checkpointKeysOf(store);
    await store.writeCheckpoint(k, {
      expected: null,
      next: '1',
      meta: 'm',
      timers: [{ field: '3', value: 't' }],
      states: [{ field: 'u1', value: 's' }],
    });
    expect(await store.writeCheckpoint(k, { expected: '1', next: '{}', clear: true })).toBe(true);
    expect(await store.loadCheckpoint(k)).toEqual({ fence: '{}', meta: null, timers: {} });
    expect(await redis.exists(k.states)).toBe(0);
  });

  it('writes thousands of fields in one call (past Lua unpack limits)', async () => {
    const store = freshStore();
    const k = checkpointKeysOf(store);
    const states = Array.from({ length: 20_000 }, (_, i) => ({ field: `u${i}`, value: `s${i}` }));
    expect(await store.writeCheckpoint(k, { expected: null, next: '1', states })).toBe(true);
    expect(await redis.hlen(k.states)).toBe(20_000);
    const read = await store.readStates(k, '1', [...states.map((state) => state.field), 'absent']);
    expect(read).toEqual([...states.map((state) => state.value), null]);
  });

  it('rejects keys inside the feature keyspace or spread over hash slots', async () => {
    const store = freshStore();
    const k = checkpointKeysOf(store);
    await expect(
      store.writeCheckpoint({ ...k, fence: store.keyOf('user_txn', 'u1') }, { expected: null, next: '1' }),
    ).rejects.toThrow(/feature keyspace/);
    await expect(
      store.writeCheckpoint({ ...k, states: `rtml:${store.namespace}:elsewhere` }, { expected: null, next: '1' }),
    ).rejects.toThrow(/one hash slot/);
  });

  it('aborts, writing nothing, when a checkpoint key has the wrong type', async () => {
    const store = freshStore();
    const k = checkpointKeysOf(store);
    await redis.set(k.states, 'not a hash');
    await expect(store.writeCheckpoint(k, { expected: null, next: '1', meta: 'm' })).rejects.toThrow(/not a hash/);
    expect(await store.loadCheckpoint(k)).toEqual({ fence: null, meta: null, timers: {} });
    await redis.del(k.states);
  });

  it('awaitReplicas has nothing to wait for on a server without replicas', async () => {
    const store = freshStore();
    const written = new Set<string>();
    await store.writeBatch([vec('u1', T0, { a: 1 })], { version: 1, writtenNodes: written });
    expect(written.size).toBe(1);
    expect(await store.awaitReplicas(written, 5_000)).toBe('synced');
  });

  it('aborts a vector batch, writing nothing, when a key has the wrong type', async () => {
    const store = freshStore();
    await redis.set(store.keyOf('user_txn', 'bad'), 'not a hash');
    await expect(
      store.writeBatch([vec('good', T0, { a: 1 }), vec('bad', T0, { a: 1 })], { version: 1 }),
    ).rejects.toThrow(/not a feature hash/);
    expect((await store.read('user_txn', 'good')).status).toBe('missing');
  });
});

describe('reads', () => {
  it('reports fresh, stale and missing explicitly', async () => {
    const store = freshStore();
    await store.writeBatch([vec('u1', T0, { a: 1 })]);
    const at = (ms: number) => processingTime(T0 + ms);
    expect((await store.read('user_txn', 'u1', at(duration.minutes(10)))).status).toBe('fresh');
    expect(await store.read('user_txn', 'u1', at(duration.minutes(10) + 1))).toMatchObject({
      status: 'stale',
      freshnessMs: duration.minutes(10) + 1,
      values: { a: 1 },
    });
    const missing = await store.read('user_txn', 'nobody', at(0));
    expect(missing).toEqual({ featureSet: 'user_txn', entityId: 'nobody', status: 'missing' });
  });

  it('lists declared features absent from the hash instead of defaulting them', async () => {
    const store = freshStore(['count', 'sum', 'last_country']);
    await store.writeBatch([vec('u1', T0, { count: 0, sum: null })]);
    const read = await store.read('user_txn', 'u1');
    expect(read.status === 'missing' ? undefined : read.missingFeatures).toEqual(['last_country']);
    expect(read.values).toEqual({ count: 0, sum: null });
  });

  it('readMany equals N single reads, in order', async () => {
    const store = freshStore();
    await store.writeBatch(Array.from({ length: 20 }, (_, i) => vec(`u${i}`, T0 + i, { i, name: `n${i}` })));
    const ids = ['u3', 'ghost', 'u0', 'u19', 'u3'];
    const now = processingTime(T0 + 9_000);
    const single = await Promise.all(ids.map((id) => store.read('user_txn', id, now)));
    expect(await store.readMany('user_txn', ids, now)).toEqual(single);
    expect(await store.readMany('user_txn', [], now)).toEqual([]);
  });
});

describe('bad input', () => {
  it(
    'rejects a fractional event time, as the event schema and the offline store do, and writes nothing of ' +
      'the batch',
    async () => {
      const store = freshStore(['a']);
      await expect(
        store.writeBatch([vec('ok', T0, { a: 1 }), { ...vec('u', T0, { a: 1 }), eventTime: (T0 + 0.5) as never }]),
      ).rejects.toThrow(
        `rtml:${store.namespace}:fs:user_txn:u: event time must be integer epoch milliseconds (a safe ` +
          `integer), got ${T0 + 0.5}`,
      );
      expect((await store.read('user_txn', 'ok')).status).toBe('missing');
    },
  );

  it('rejects empty entity ids, unknown feature sets, non-finite event times and non-values', async () => {
    const store = freshStore(['a']);
    await expect(store.writeBatch([vec('', T0, { a: 1 })])).rejects.toThrow(/non-empty string/);
    await expect(store.writeBatch([{ ...vec('u', T0, { a: 1 }), featureSet: 'nope' }])).rejects.toThrow(
      /unknown feature set "nope"/,
    );
    await expect(store.writeBatch([{ ...vec('u', T0, { a: 1 }), eventTime: NaN as never }])).rejects.toThrow(
      /integer epoch milliseconds/,
    );
    await expect(store.writeBatch([vec('u', T0, { a: NaN })])).rejects.toThrow(OnlineStoreError);
    await expect(store.writeBatch([vec('u', T0, { b: 1 })])).rejects.toThrow(/not declared/);
    await expect(store.read('nope', 'u')).rejects.toThrow(/unknown feature set/);
    await expect(store.readMany('user_txn', ['ok', ''])).rejects.toThrow(/non-empty string/);
    expect(() => new OnlineStore(redis, { namespace: 'a:b', featureSets: [] })).toThrow(/may not contain ':'/);
    expect(
      () =>
        new OnlineStore(redis, {
          namespace: 'x',
          featureSets: [{ name: 's', onlineExpiry: duration.ms(0), maxAge: duration.ms(1) }],
        }),
    ).toThrow(/onlineExpiry/);
    const twin = { name: 'user_txn', onlineExpiry: duration.days(1) };
    expect(() => new OnlineStore(redis, { namespace: 'x', featureSets: [twin, { ...twin }] })).toThrow(
      /two different feature sets are named "user_txn"/,
    );
  });
});

describe('registered by its feature service', () => {
  const set = userTransactionFeatures;
  const service = featureService({ name: 'fraud', featureSets: [set] });

  it(
    "takes expiry, freshness and declared features from the definition; a service's sets may be listed " + 'again',
    async () => {
      const store = new OnlineStore(redis, { namespace: namespaces.fresh(), featureSets: [service, set] });
      await store.writeBatch(
        [{ featureSet: set.name, entityId: 'u1', eventTime: eventTime(T0), values: { txn_count_1h: 1 } }],
        { now: processingTime(T0) },
      );
      const pttl = await redis.pttl(store.keyOf(set.name, 'u1'));
      expect(pttl).toBeGreaterThan(set.onlineExpiry - 60_000);
      expect(pttl).toBeLessThanOrEqual(set.onlineExpiry);
      const read = await store.read(set.name, 'u1', processingTime(T0 + duration.days(365)));
      expect(read.status).toBe('fresh'); // the example set has no maxAge: never too old
      expect(read.status === 'missing' ? [] : read.missingFeatures).toEqual(
        set.aggregates.map((a) => a.name).filter((name) => name !== 'txn_count_1h'),
      );
      await expect(
        store.writeBatch([
          { featureSet: set.name, entityId: 'u1', eventTime: eventTime(T0), values: { amount_log: 1 } },
        ]),
      ).rejects.toThrow(/not declared/);
    },
  );

  it("reports a read older than the set's maxAge as stale", async () => {
    const fresh = { ...set, maxAge: duration.minutes(5) };
    const store = new OnlineStore(redis, {
      namespace: namespaces.fresh(),
      featureSets: featureService({ name: 'fresh', featureSets: [fresh] }),
    });
    await store.writeBatch([
      { featureSet: set.name, entityId: 'u1', eventTime: eventTime(T0), values: { txn_count_1h: 1 } },
    ]);
    expect((await store.read(set.name, 'u1', processingTime(T0 + duration.minutes(5)))).status).toBe('fresh');
    expect((await store.read(set.name, 'u1', processingTime(T0 + duration.minutes(5) + 1))).status).toBe('stale');
  });
});

describe('cluster seeds', () => {
  it('REDIS_CLUSTER_NODES must be host:port pairs; the error names the setting', () => {
    expect(() => connectCluster('127.0.0.1:7000,redis://x:7001', { lazyConnect: true })).toThrow(OnlineStoreError);
    expect(() => connectCluster('')).toThrow('REDIS_CLUSTER_NODES must be comma-separated host:port pairs');
    const cluster = connectCluster(' 127.0.0.1:7000 ,127.0.0.1:7001', { lazyConnect: true });
    expect(cluster.isCluster).toBe(true);
    cluster.disconnect();
  });
});

describe('materialize', () => {
  it('fills the store in batches but never overwrites a newer streamed value', async () => {
    const store = freshStore();
    await store.writeBatch([vec('u1', T0 + 100, { source: 'stream' })]);
    async function* offline(): AsyncIterable<FeatureVector> {
      for (let i = 0; i < 5; i++) yield vec(`u${i}`, T0 + 50, { source: 'batch' });
    }
    const progress: number[] = [];
    const total = await materialize(store, offline(), { batchSize: 2, onProgress: (p) => progress.push(p.seen) });
    expect(total).toEqual({ batches: 3, seen: 5, written: 4, skippedOlder: 1, rejected: 0, rejections: [] });
    expect(progress).toEqual([2, 4, 5]);
    expect((await store.read('user_txn', 'u1')).values).toEqual({ source: 'stream' });
    expect((await store.read('user_txn', 'u4')).values).toEqual({ source: 'batch' });
  });
});

describe('materialize with bad rows', () => {
  it(
    'writes every valid vector of a batch and reports the ones the store refuses (NaN, Infinity, fractional ' + 'time)',
    async () => {
      const store = freshStore();
      const vectors = [
        vec('u0', T0, { spend: 1 }),
        vec('u1', T0, { spend: NaN }),
        vec('u2', T0, { spend: 2, recent: [1, Infinity] }),
        { ...vec('u3', T0, { spend: 3 }), eventTime: (T0 + 0.5) as never },
        vec('u4', T0, { spend: 4 }),
      ];
      const result = await materialize(store, vectors, { batchSize: 500 });
      expect(result).toMatchObject({ batches: 1, seen: 5, written: 2, skippedOlder: 0, rejected: 3 });
      expect(result.rejections.map((r) => [r.entityId, r.reason])).toEqual([
        ['u1', expect.stringMatching(/u1 feature spend: not a FeatureValue .*: NaN/)],
        ['u2', expect.stringMatching(/u2 feature recent: not a FeatureValue .*: \[ 1, Infinity \]/)],
        ['u3', expect.stringMatching(/u3: event time must be integer epoch milliseconds/)],
      ]);
      const reads = await store.readMany('user_txn', ['u0', 'u1', 'u2', 'u3', 'u4']);
      expect(reads.map((r) => (r.status === 'missing' ? null : r.values['spend']))).toEqual([1, null, null, null, 4]);
    },
  );
});

describe('deleteNamespace', () => {
  it('removes every key of its namespace and nothing of another, even one its name would glob-match', async () => {
    const neighbour = namespaces.fresh();
    const doomed = `${neighbour.slice(0, -1)}*`; // as a glob, it would match the neighbour
    await redis.set(`rtml:${doomed}:fs:user_txn:u1`, '1');
    await redis.set(`rtml:${doomed}:stream:g:offsets:0`, '{}');
    await redis.set(`rtml:${neighbour}:fs:user_txn:u1`, '1');
    await deleteNamespace(redis, doomed);
    expect(await redis.exists(`rtml:${doomed}:fs:user_txn:u1`, `rtml:${doomed}:stream:g:offsets:0`)).toBe(0);
    expect(await redis.exists(`rtml:${neighbour}:fs:user_txn:u1`)).toBe(1);
  });
});
