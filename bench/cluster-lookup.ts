/**
 * Online-store lookups on a Redis Cluster (3 primaries + 3 replicas) next to a single Redis and next to raw
 * ioredis commands on the same cluster, interleaved call by call in one run:
 *
 *   npx tsx --conditions=source bench/cluster-lookup.ts [--full] [--entities 2000] [--lookups 2000]
 *     [--batch 100] [--batches 200]
 *
 * Servers: REDIS_CLUSTER_NODES and REDIS_URL when set (e.g. `npm run infra:up -- --topology cluster`), otherwise
 * this script starts what is missing on loopback (devstack's native Redis / Redis Cluster) and stops it at the end.
 * The raw cluster reference for readMany is ioredis' own per-node batching (enableAutoPipelining): 100 HGETALLs in
 * one tick become one pipeline per node, without the store's routing, decoding or validation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { redisClient, redisSecurityOptions, type RedisSettings } from '@rtml/connections';
import { startNativeRedis, startNativeRedisCluster, stopProcess } from '@rtml/devstack';
import { duration, eventTime, type FeatureVector } from '@rtml/features';
import { deleteNamespace, OnlineStore, type RedisClient } from '@rtml/online-store';
import { benchRedis } from './lib/connections.js';
import { benchCommand, emit, interleaved, parseCommand, percentile, type Sample } from './lib/index.js';

const command = benchCommand(
  'Online store read / readMany(100) on a Redis Cluster vs one Redis vs raw ioredis Cluster commands ' +
    'on the same cluster',
  '  REDIS_CLUSTER_NODES, REDIS_URL  used when set (npm run infra:up -- --topology cluster); ' +
    'otherwise started here and stopped at the end',
)
  .option('--entities <n>', 'entities written (default 2000, 10000 with --full)')
  .option('--lookups <n>', 'single-entity reads per contender (default 2000, 10000 with --full)')
  .option('--batch <n>', 'entities per readMany', '100')
  .option('--batches <n>', 'readMany calls per contender (default 200, 500 with --full)');
const args = parseCommand(command);
const config = {
  entities: args.size('entities', 2000, 10_000),
  lookups: args.size('lookups', 2000, 10_000),
  batch: args.size('batch', 100, 100),
  batches: args.size('batches', 200, 500),
};
const FEATURES = 20;
const SET = 'user_txn';
const namespace = `bench-cluster-${process.pid}`;
const randomId = () => `user-${Math.floor(Math.random() * config.entities)}`;
const batchIds = () => Array.from({ length: config.batch }, randomId);

/**
 * An endpoint from the environment keeps its TLS and ACL variables (as every component reads it); a server
 * started here is plain.
 */
const fromEnvironment = (endpoint: 'REDIS_URL' | 'REDIS_CLUSTER_NODES', value: string): NodeJS.ProcessEnv => {
  const { REDIS_URL: _url, REDIS_CLUSTER_NODES: _nodes, ...rest } = process.env;
  return { ...rest, [endpoint]: value };
};

/** Endpoints from the environment, or servers started here (and stopped by `stop`). */
async function servers(): Promise<{ redis: RedisSettings; cluster: RedisSettings; stop(): Promise<void> }> {
  const runDir = mkdtempSync(join(tmpdir(), 'rtml-bench-cluster-'));
  const pids: number[] = [];
  const { REDIS_URL: url, REDIS_CLUSTER_NODES: nodes } = process.env;
  let redis = url ? benchRedis(command, fromEnvironment('REDIS_URL', url)) : undefined;
  let cluster = nodes ? benchRedis(command, fromEnvironment('REDIS_CLUSTER_NODES', nodes)) : undefined;
  if (!redis) {
    const single = await startNativeRedis(join(runDir, 'single'));
    pids.push(single.pid);
    redis = benchRedis(command, { REDIS_URL: single.url });
  }
  if (!cluster) {
    const started = await startNativeRedisCluster(join(runDir, 'cluster'));
    pids.push(...started.servers.map((server) => server.pid));
    cluster = benchRedis(command, { REDIS_CLUSTER_NODES: started.nodes });
  }
  return {
    redis,
    cluster,
    async stop() {
      await Promise.all(pids.map((pid) => stopProcess(pid)));
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

function vectorFor(index: number): FeatureVector {
  const values = Object.fromEntries(
    Array.from({ length: FEATURES }, (_, f) => [`f${f}`, f % 5 === 0 ? `cat-${index % 17}` : index * 0.1 + f]),
  );
  return { featureSet: SET, entityId: `user-${index}`, eventTime: eventTime(Date.now()), values };
}

async function populate(store: OnlineStore): Promise<void> {
  for (let from = 0; from < config.entities; from += 500) {
    await store.writeBatch(
      Array.from({ length: Math.min(500, config.entities - from) }, (_, i) => vectorFor(from + i)),
    );
  }
}

const storeOn = (client: RedisClient) =>
  new OnlineStore(client, {
    namespace,
    featureSets: [{ name: SET, onlineExpiry: duration.hours(1), maxAge: duration.minutes(10) }],
  });
const pct = (sample: Sample, p: number) =>
  percentile(
    [...sample].sort((a, b) => a - b),
    p,
  );

function printTable(title: string, samples: Record<string, Sample>, labels: Record<string, string>): void {
  console.log(`\n${title}\n| ${'contender'.padEnd(58)} | p50 µs | p99 µs |\n|${'-'.repeat(60)}|--------|--------|`);
  for (const [name, label] of Object.entries(labels)) {
    const column = (p: number) => pct(samples[name]!, p).toFixed(0).padStart(6);
    console.log(`| ${label.padEnd(58)} | ${column(50)} | ${column(99)} |`);
  }
}

function emitRows(single: Record<string, Sample>, many: Record<string, Sample>): void {
  const size = `${config.entities} entities x ${FEATURES} features`;
  emit({
    row: `cluster: online read 1 entity p99 vs raw HGETALL on the cluster (${size})`,
    ours: pct(single.storeCluster!, 99),
    reference: pct(single.rawCluster!, 99),
    unit: 'µs',
    better: 'lower',
    target: null,
  });
  emit({
    row: `cluster: online read 1 entity p99 vs the same read on one Redis (${size})`,
    ours: pct(single.storeCluster!, 99),
    reference: pct(single.storeSingle!, 99),
    unit: 'µs',
    better: 'lower',
    target: null,
  });
  for (const p of [50, 99]) {
    emit({
      row: `cluster: readMany ${config.batch} p${p} vs raw auto-pipelined HGETALLs on the cluster (${size})`,
      ours: pct(many.storeCluster!, p),
      reference: pct(many.rawCluster!, p),
      unit: 'µs',
      better: 'lower',
      target: null,
    });
    emit({
      row: `cluster: readMany ${config.batch} p${p} vs the same readMany on one Redis (${size})`,
      ours: pct(many.storeCluster!, p),
      reference: pct(many.storeSingle!, p),
      unit: 'µs',
      better: 'lower',
      target: null,
    });
  }
}

async function main(): Promise<void> {
  const endpoints = await servers();
  const redis = redisClient(endpoints.redis);
  const cluster = redisClient(endpoints.cluster);
  const rawCluster = new Cluster([...endpoints.cluster.clusterNodes!], {
    enableAutoPipelining: true,
    redisOptions: redisSecurityOptions(endpoints.cluster),
  });
  const single = storeOn(redis);
  const clustered = storeOn(cluster);
  const key = (id: string) => single.keyOf(SET, id);
  try {
    await Promise.all([populate(single), populate(clustered)]);
    const reads = {
      storeSingle: () => single.read(SET, randomId()),
      rawSingle: () => redis.hgetall(key(randomId())),
      storeCluster: () => clustered.read(SET, randomId()),
      rawCluster: () => rawCluster.hgetall(key(randomId())),
    };
    const manyReads = {
      storeSingle: () => single.readMany(SET, batchIds()),
      rawSingle: () =>
        batchIds()
          .reduce((pipeline, id) => pipeline.hgetall(key(id)), redis.pipeline())
          .exec(),
      storeCluster: () => clustered.readMany(SET, batchIds()),
      rawCluster: () => Promise.all(batchIds().map((id) => rawCluster.hgetall(key(id)))),
    };
    await interleaved(200, { ...reads });
    const one = await interleaved(config.lookups, reads);
    const many = await interleaved(config.batches, manyReads);
    console.log(
      `cluster-lookup: ${config.entities} entities × ${FEATURES} features, ${config.lookups} single reads, ` +
        `${config.batches} × readMany(${config.batch}); cluster ${endpoints.cluster.clusterNodes!.join(',')}`,
    );
    printTable('single-entity read', one, {
      rawSingle: 'raw HGETALL, one Redis',
      storeSingle: 'store.read, one Redis',
      rawCluster: 'raw HGETALL, Redis Cluster (ioredis Cluster)',
      storeCluster: 'store.read, Redis Cluster',
    });
    printTable(`readMany(${config.batch})`, many, {
      rawSingle: `raw pipeline of ${config.batch} HGETALL, one Redis`,
      storeSingle: 'store.readMany, one Redis (1 pipeline)',
      rawCluster: `raw ${config.batch} HGETALL auto-pipelined per node, Redis Cluster`,
      storeCluster: 'store.readMany, Redis Cluster (1 pipeline per primary)',
    });
    emitRows(one, many);
  } finally {
    await Promise.all([deleteNamespace(redis, namespace), deleteNamespace(cluster, namespace)]);
    redis.disconnect();
    cluster.disconnect();
    rawCluster.disconnect();
    await endpoints.stop();
  }
}

await main();
