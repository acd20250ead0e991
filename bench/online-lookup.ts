/**
 * Online-store lookup latency, measured NEXT TO raw ioredis on the same keys, server and run.
 *
 *   npx tsx --conditions=source bench/online-lookup.ts [--entities 2000] [--features 20] [--lookups 2000] [--batch 100] [--batches 200]
 *
 * Store and raw calls are interleaved lookup by lookup so machine noise hits both equally.
 * Keys live under a per-run namespace and are deleted at the end (the Redis may be shared).
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { resolveEndpoints } from '@rtml/devstack';
import { duration, eventTime, type FeatureValues, type FeatureVector } from '@rtml/features';
import { deleteNamespace, OnlineStore } from '@rtml/online-store';
import { emit, interleaved, parseArgs, percentile, type Sample } from './lib/index.js';

const args = parseArgs();
const config = {
  entities: args.size('entities', 2000, 10_000),
  features: args.size('features', 20, 20),
  lookups: args.size('lookups', 2000, 10_000),
  batch: args.size('batch', 100, 100),
  batches: args.size('batches', 200, 500),
};

const SET = 'user_txn';
const namespace = `bench-${process.pid}`;

function vectorFor(index: number): FeatureVector {
  const values: Record<string, FeatureValues[string]> = {};
  for (let f = 0; f < config.features; f++) {
    // A realistic mix of value types: mostly numbers, some strings, lists and nulls.
    values[`f${f}`] = f % 5 === 0 ? `cat-${index % 17}` : f % 7 === 0 ? [index % 3, f, 0.5] : f % 11 === 0 ? null : index * 0.1 + f;
  }
  return { featureSet: SET, entityId: `user-${index}`, eventTime: eventTime(Date.now() - (index % 1000)), values };
}

async function populate(store: OnlineStore): Promise<number> {
  const started = performance.now();
  for (let from = 0; from < config.entities; from += 500) {
    const vectors = Array.from({ length: Math.min(500, config.entities - from) }, (_, i) => vectorFor(from + i));
    await store.writeBatch(vectors);
  }
  return (config.entities / (performance.now() - started)) * 1000;
}

const randomId = () => `user-${Math.floor(Math.random() * config.entities)}`;

function row(label: string, sample: Sample, reference: Sample | undefined): string {
  const sorted = [...sample].sort((a, b) => a - b);
  const ref = reference ? [...reference].sort((a, b) => a - b) : undefined;
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const ratio = (mine: number, theirs: number | undefined) => (theirs === undefined ? '—' : `${(mine / theirs).toFixed(2)}×`);
  const cells = [label.padEnd(44), p50.toFixed(0).padStart(7), p99.toFixed(0).padStart(7), ratio(p50, ref && percentile(ref, 50)).padStart(9), ratio(p99, ref && percentile(ref, 99)).padStart(9)];
  return `| ${cells.join(' | ')} |`;
}

/** Machine-readable rows for bench/run.sh: latency "advantage" is raw/ours, so "p99 <= 2x raw" is target 0.5. */
function emitRows(single: Record<string, Sample>, many: Record<string, Sample>): void {
  const size = `${config.entities} entities x ${config.features} features`;
  for (const [p, target] of [[50, null], [99, 0.5]] as const) {
    emit({ row: `online read 1 entity p${p} vs raw HGETALL (${size})`, ours: pct(single.store!, p), reference: pct(single.raw!, p), unit: 'µs', better: 'lower', target });
    emit({ row: `online readMany ${config.batch} entities p${p} vs 1 pipelined round trip (${size})`, ours: pct(many.store!, p), reference: pct(many.raw!, p), unit: 'µs', better: 'lower', target: null });
  }
}

const pct = (sample: Sample, p: number) => percentile([...sample].sort((a, b) => a - b), p);

function redisBenchmarkLine(redisUrl: string, key: string): string | undefined {
  const url = new URL(redisUrl);
  const result = spawnSync('redis-benchmark', ['-h', url.hostname, '-p', url.port || '6379', '-c', '1', '-n', String(config.lookups), '--csv', 'HGETALL', key], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  // CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const [, fields] = result.stdout.trim().split('\n');
  const cols = fields?.split(',').map((c) => c.replaceAll('"', ''));
  if (!cols || cols.length < 7) return undefined;
  return `redis-benchmark -c 1 HGETALL (C client, same key): p50 ${(Number(cols[4]) * 1000).toFixed(0)} µs, p99 ${(Number(cols[6]) * 1000).toFixed(0)} µs, ${Number(cols[1]).toFixed(0)} req/s`;
}

async function main(): Promise<void> {
  const { redisUrl } = resolveEndpoints();
  const redis = new Redis(redisUrl);
  const store = new OnlineStore(redis, { namespace, featureSets: { [SET]: { ttl: duration.hours(1), maxAge: duration.minutes(10) } } });
  try {
    const writesPerSec = await populate(store);
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

    console.log(`online-lookup: ${config.entities} entities × ${config.features} features, ${config.lookups} single lookups, ${config.batches} × ${config.batch}-entity batches`);
    console.log(`populate via writeBatch (500 vectors per Lua call): ${writesPerSec.toFixed(0)} vectors/s`);
    console.log(`| ${'operation'.padEnd(44)} | p50 µs  | p99 µs  | p50 ratio | p99 ratio |`);
    console.log(`|${'-'.repeat(46)}|---------|---------|-----------|-----------|`);
    console.log(row('raw ioredis HGETALL (reference)', single.raw!, undefined));
    console.log(row('store.read (HGETALL + decode + freshness)', single.store!, single.raw));
    console.log(row(`raw pipeline of ${config.batch} HGETALL (reference)`, many.raw!, undefined));
    console.log(row(`store.readMany(${config.batch} ids)`, many.store!, many.raw));
    emitRows(single, many);
    const external = redisBenchmarkLine(redisUrl, keyOf('user-0'));
    if (external) console.log(external);
  } finally {
    await deleteNamespace(redis, namespace);
    redis.disconnect();
  }
}

await main();
