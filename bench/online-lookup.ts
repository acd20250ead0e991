/**
 * Online-store lookup latency, measured NEXT TO raw ioredis on the same keys, server and run, and next to Feast.
 *
 *   npx tsx --conditions=source bench/online-lookup.ts [--entities 2000] [--features 20] [--lookups 2000]
 *     [--batch 100] [--batches 200] [--no-feast]
 *
 * Store and raw calls are interleaved lookup by lookup so machine noise hits both equally.
 * Feast 0.67 (bench/feast/online_feast.py, after ours): the same vectors written through Feast's own Redis online
 * store into the same Redis server under a project of its own, read with get_online_features; its values for a
 * sample of entities must equal ours, or the script fails.
 * Keys live under a per-run namespace (Feast: per-run project) and are deleted at the end (the Redis may be shared).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisClient, type RedisSettings } from '@rtml/connections';
import { duration, eventTime, type FeatureValues, type FeatureVector } from '@rtml/features';
import { deleteNamespace, OnlineStore } from '@rtml/online-store';
import { benchRedis, isSecured } from './lib/connections.js';
import { runFeastScript } from './lib/feast.js';
import { benchCommand, emit, interleaved, parseCommand, percentile, type Sample } from './lib/index.js';

const command = benchCommand(
  'Online store read / readMany latency vs raw ioredis HGETALL / one pipelined round trip, and vs Feast ' +
    'get_online_features',
  '  REDIS_URL  the dev stack (npm run infra:up), with REDIS_USERNAME, REDIS_PASSWORD[_FILE], REDIS_TLS_* when set',
)
  .option('--entities <n>', 'entities written (default 2000, 10000 with --full)')
  .option('--features <n>', 'features per entity', '20')
  .option('--lookups <n>', 'single-entity reads per contender (default 2000, 10000 with --full)')
  .option('--batch <n>', 'entities per readMany', '100')
  .option('--batches <n>', 'readMany calls per contender (default 200, 500 with --full)')
  .option('--no-feast', 'skip the Feast reference');
const args = parseCommand(command);
const config = {
  entities: args.size('entities', 2000, 10_000),
  features: args.size('features', 20, 20),
  lookups: args.size('lookups', 2000, 10_000),
  batch: args.size('batch', 100, 100),
  batches: args.size('batches', 200, 500),
};

const redisSettings = benchRedis(command);
if (!args.has('no-feast') && isSecured(redisSettings))
  command.error(
    'the Feast reference is given a plain Redis only; against a Redis with TLS or an ACL user run with --no-feast',
  );

const SET = 'user_txn';
const namespace = `bench-${process.pid}`;

function vectorFor(index: number): FeatureVector {
  const values: Record<string, FeatureValues[string]> = {};
  for (let f = 0; f < config.features; f++) {
    // A realistic mix of value types: mostly numbers, some strings, lists and nulls.
    values[`f${f}`] =
      f % 5 === 0 ? `cat-${index % 17}` : f % 7 === 0 ? [index % 3, f, 0.5] : f % 11 === 0 ? null : index * 0.1 + f;
  }
  return { featureSet: SET, entityId: `user-${index}`, eventTime: eventTime(Date.now() - (index % 1000)), values };
}

async function populate(store: OnlineStore, vectors: readonly FeatureVector[]): Promise<number> {
  const started = performance.now();
  for (let from = 0; from < vectors.length; from += 500) await store.writeBatch(vectors.slice(from, from + 500));
  return (vectors.length / (performance.now() - started)) * 1000;
}

const randomId = () => `user-${Math.floor(Math.random() * config.entities)}`;

function row(label: string, sample: Sample, reference: Sample | undefined): string {
  const sorted = [...sample].sort((a, b) => a - b);
  const ref = reference ? [...reference].sort((a, b) => a - b) : undefined;
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const ratio = (mine: number, theirs: number | undefined) =>
    theirs === undefined ? '—' : `${(mine / theirs).toFixed(2)}×`;
  const cells = [
    label.padEnd(44),
    p50.toFixed(0).padStart(7),
    p99.toFixed(0).padStart(7),
    ratio(p50, ref && percentile(ref, 50)).padStart(9),
    ratio(p99, ref && percentile(ref, 99)).padStart(9),
  ];
  return `| ${cells.join(' | ')} |`;
}

/** Issue #15: single reads and readMany within 1.2x of raw; latency "advantage" is raw/ours, so the target is 1/1.2. */
const WITHIN_1_2X = 1 / 1.2;

/** Machine-readable rows for bench/run.sh; the Feast rows are context (no target). */
function emitRows(single: Record<string, Sample>, many: Record<string, Sample>, feast: FeastOnline | undefined): void {
  const size = `${config.entities} entities x ${config.features} features`;
  for (const p of [50, 99]) {
    emit({
      row: `online read 1 entity p${p} vs raw HGETALL (${size})`,
      ours: pct(single.store!, p),
      reference: pct(single.raw!, p),
      unit: 'µs',
      better: 'lower',
      target: WITHIN_1_2X,
    });
    emit({
      row: `online readMany ${config.batch} entities p${p} vs 1 pipelined round trip (${size})`,
      ours: pct(many.store!, p),
      reference: pct(many.raw!, p),
      unit: 'µs',
      better: 'lower',
      target: WITHIN_1_2X,
    });
  }
  if (!feast) return;
  for (const p of [50, 99]) {
    emit({
      row: `online read 1 entity p${p} vs Feast ${feast.feast} get_online_features, Redis (${size})`,
      ours: pct(single.store!, p),
      reference: pct(feast.single, p),
      unit: 'µs',
      better: 'lower',
      target: null,
    });
    const feastCall = `Feast ${feast.feast} get_online_features(${config.batch})`;
    emit({
      row: `online readMany ${config.batch} entities p${p} vs ${feastCall}, Redis (${size})`,
      ours: pct(many.store!, p),
      reference: pct(feast.many, p),
      unit: 'µs',
      better: 'lower',
      target: null,
    });
  }
}

/** What bench/feast/online_feast.py prints (latencies in µs). */
interface FeastOnline {
  readonly feast: string;
  readonly single: Sample;
  readonly raw_single: Sample;
  readonly many: Sample;
  readonly raw_many: Sample;
  readonly write_seconds: number;
  readonly sample: Record<string, FeatureValues>;
}

const FEAST_SAMPLE = 50;

/** Feast's connection string (host:port,db=N,password=...) for the same server as REDIS_URL. */
function feastConnection(redisUrl: string): string {
  const url = new URL(redisUrl);
  const db = url.pathname.replace('/', '');
  return [
    `${url.hostname}:${url.port || '6379'}`,
    ...(db ? [`db=${db}`] : []),
    ...(url.password ? [`password=${decodeURIComponent(url.password)}`] : []),
  ].join(',');
}

/** Writes our vectors through Feast into the same Redis, times its reads, and checks it returns the same values. */
async function feastReference(redisUrl: string, vectors: readonly FeatureVector[]): Promise<FeastOnline> {
  const work = await mkdtemp(join(tmpdir(), 'rtml-online-feast-'));
  try {
    const data = join(work, 'vectors.jsonl');
    await writeFile(
      data,
      vectors.map((v) => JSON.stringify({ entityId: v.entityId, eventTime: v.eventTime, values: v.values })).join('\n'),
    );
    const sample = vectors.filter((_, i) => i % Math.max(1, Math.floor(vectors.length / FEAST_SAMPLE)) === 0);
    const feast = runFeastScript<FeastOnline>(
      'online_feast.py',
      [
        '--redis',
        feastConnection(redisUrl),
        '--data',
        data,
        '--lookups',
        String(config.lookups),
        '--batch',
        String(config.batch),
        '--batches',
        String(config.batches),
        '--sample',
        sample.map((v) => v.entityId).join(','),
      ],
      'FEAST_ONLINE',
    );
    const differences = sample.flatMap((v) =>
      Object.entries(v.values).flatMap(([name, value]) => {
        const theirs = feast.sample[v.entityId]?.[name];
        if (JSON.stringify(theirs ?? null) === JSON.stringify(value)) return [];
        return [`${v.entityId}.${name}: ours ${JSON.stringify(value)}, Feast ${JSON.stringify(theirs)}`];
      }),
    );
    if (differences.length > 0)
      throw new Error(
        `Feast returned other values than ours stored (${differences.length}):\n${differences.slice(0, 20).join('\n')}`,
      );
    console.log(
      `Feast ${feast.feast}: wrote ${vectors.length} vectors through write_to_online_store ` +
        `in ${feast.write_seconds.toFixed(1)} s; ` +
        `${sample.length} sampled entities read back equal to ours`,
    );
    return feast;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const pct = (sample: Sample, p: number) =>
  percentile(
    [...sample].sort((a, b) => a - b),
    p,
  );

/** redis-benchmark's latency line for the same key; none against a secured Redis (it is given plain endpoints only). */
function redisBenchmarkLine(settings: RedisSettings, key: string): string | undefined {
  if (isSecured(settings)) return undefined;
  const url = new URL(settings.url);
  const result = spawnSync(
    'redis-benchmark',
    ['-h', url.hostname, '-p', url.port || '6379', '-c', '1', '-n', String(config.lookups), '--csv', 'HGETALL', key],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) return undefined;
  // CSV columns: "test", "rps", then the avg, min, p50, p95, p99 and max latency in ms ("avg_latency_ms", ...)
  const [, fields] = result.stdout.trim().split('\n');
  const cols = fields?.split(',').map((c) => c.replaceAll('"', ''));
  if (!cols || cols.length < 7) return undefined;
  const micros = (ms: string | undefined) => (Number(ms) * 1000).toFixed(0);
  const rate = `${Number(cols[1]).toFixed(0)} req/s`;
  const percentiles = `p50 ${micros(cols[4])} µs, p99 ${micros(cols[6])} µs`;
  return `redis-benchmark -c 1 HGETALL (C client, same key): ${percentiles}, ${rate}`;
}

async function main(): Promise<void> {
  const redis = redisClient(redisSettings);
  const store = new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: SET, onlineExpiry: duration.hours(1), maxAge: duration.minutes(10) }],
  });
  const vectors = Array.from({ length: config.entities }, (_, i) => vectorFor(i));
  try {
    const writesPerSec = await populate(store, vectors);
    const keyOf = (id: string) => store.keyOf(SET, id);
    const rawPipeline = (ids: string[]) => ids.reduce((p, id) => p.hgetall(keyOf(id)), redis.pipeline()).exec();
    const batchIds = () => Array.from({ length: config.batch }, randomId);

    await interleaved(200, { warm: () => store.read(SET, randomId()), raw: () => redis.hgetall(keyOf(randomId())) });
    const single = await interleaved(config.lookups, {
      store: () => store.read(SET, randomId()),
      raw: () => redis.hgetall(keyOf(randomId())),
    });
    const many = await interleaved(config.batches, {
      store: () => store.readMany(SET, batchIds()),
      raw: () => rawPipeline(batchIds()),
    });

    console.log(
      `online-lookup: ${config.entities} entities × ${config.features} features, ${config.lookups} single lookups, ` +
        `${config.batches} × ${config.batch}-entity batches`,
    );
    console.log(`populate via writeBatch (500 vectors per Lua call): ${writesPerSec.toFixed(0)} vectors/s`);
    console.log(`| ${'operation'.padEnd(44)} | p50 µs  | p99 µs  | p50 ratio | p99 ratio |`);
    console.log(`|${'-'.repeat(46)}|---------|---------|-----------|-----------|`);
    console.log(row('raw ioredis HGETALL (reference)', single.raw!, undefined));
    console.log(row('store.read (HGETALL + decode + freshness)', single.store!, single.raw));
    console.log(row(`raw pipeline of ${config.batch} HGETALL (reference)`, many.raw!, undefined));
    console.log(row(`store.readMany(${config.batch} ids)`, many.store!, many.raw));
    const feast = args.has('no-feast') ? undefined : await feastReference(redisSettings.url, vectors);
    if (feast) {
      console.log(row(`Feast get_online_features(1), Python`, feast.single, single.store));
      console.log(row(`  its floor: redis-py HGETALL of Feast's key`, feast.raw_single, single.store));
      console.log(row(`Feast get_online_features(${config.batch}), Python`, feast.many, many.store));
      console.log(row(`  its floor: redis-py pipeline of ${config.batch} HGETALL`, feast.raw_many, many.store));
      console.log('(Feast rows: ratio = Feast / ours; Feast runs after ours, in its own process)');
    }
    emitRows(single, many, feast);
    const external = redisBenchmarkLine(redisSettings, keyOf('user-0'));
    if (external) console.log(external);
  } finally {
    await deleteNamespace(redis, namespace);
    redis.disconnect();
  }
}

await main();
