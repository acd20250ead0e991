import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePorts, progress, runLoggedAsync, stopProcess, waitUntil } from './process.js';
import { redisAnswers, spawnRedisServer, type NativeRedis, type RedisVariant } from './redis-native.js';

/** 3 primaries + 3 replicas: the smallest Redis Cluster that survives losing a primary (its replica takes over). */
export const REDIS_CLUSTER_PRIMARIES = 3;
const HASH_SLOTS = 16_384;
/**
 * How long a node may be unreachable before the cluster fails it over. Redis' default is 15 s; 5 s keeps the
 * fault tests short while staying well above the scheduling stalls of a loaded 2-core machine.
 */
export const REDIS_CLUSTER_NODE_TIMEOUT_MS = 5_000;

/** How a secured cluster (TLS, ACL users: secure.ts) differs from the plain one. */
export interface RedisClusterSecurity {
  /** Every node's config (TLS on the client port, the cluster bus and replication; ACL users), listen, answers. */
  readonly variant: RedisVariant;
  /** `redis-cli` options and environment that reach a node (TLS, an ACL user; the password in REDISCLI_AUTH). */
  readonly cliArgs: readonly string[];
  readonly cliEnv: NodeJS.ProcessEnv;
  /** What the health checks connect with. */
  readonly clientOptions: RedisOptions;
}

export interface StartRedisClusterOptions {
  readonly timeoutMs?: number;
  readonly security?: RedisClusterSecurity;
}

export interface NativeRedisCluster {
  /** Comma-separated `host:port` of every node: the `REDIS_CLUSTER_NODES` value (seeds for a cluster client). */
  nodes: string;
  servers: NativeRedis[];
}

/**
 * Starts six cluster-mode redis-servers, joins them with `redis-cli --cluster create` and waits until all slots are
 * served and replicated.
 */
export async function startNativeRedisCluster(
  runDir: string,
  { timeoutMs = 60_000, security }: StartRedisClusterOptions = {},
): Promise<NativeRedisCluster> {
  const count = 2 * REDIS_CLUSTER_PRIMARIES;
  const busPorts = await freePorts(count);
  const servers: NativeRedis[] = [];
  const answers = security ? (url: string) => security.variant.answers(url) : redisAnswers;
  try {
    for (const [i, busPort] of busPorts.entries()) {
      const server = await spawnRedisServer(join(runDir, `node-${i + 1}`), clusterArgs(busPort), security?.variant);
      servers.push({ ...server, ports: [...server.ports, busPort] });
    }
    const addresses = servers.map((server) => server.url.replace(/^rediss?:\/\//, ''));
    await waitUntil(
      'redis cluster: waiting for PING on every node',
      async () => (await Promise.all(servers.map((s) => answers(s.url)))).every(Boolean),
      { timeoutMs, watched: servers },
    );
    progress(`redis cluster: creating ${REDIS_CLUSTER_PRIMARIES} primaries + ${REDIS_CLUSTER_PRIMARIES} replicas`);
    const createLog = join(runDir, 'cluster-create.log');
    await runLoggedAsync(
      'redis cluster: redis-cli --cluster create',
      'redis-cli',
      [...(security?.cliArgs ?? []), '--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'],
      createLog,
      { ...process.env, ...security?.cliEnv },
    );
    await waitUntil(
      'redis cluster: waiting until every node reports cluster_state:ok and every primary has an online replica',
      () => clusterHealthy(servers, security?.clientOptions),
      { timeoutMs, watched: servers },
    );
    return { nodes: addresses.join(','), servers };
  } catch (error) {
    await Promise.all(servers.map((server) => stopProcess(server.pid)));
    throw error;
  }
}

function clusterArgs(busPort: number): string[] {
  return [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-port',
    String(busPort),
    '--cluster-node-timeout',
    String(REDIS_CLUSTER_NODE_TIMEOUT_MS),
    // Replicas sync straight away (the default waits 5 s for more replicas to batch the transfer).
    '--repl-diskless-sync-delay',
    '0',
  ];
}

/**
 * Every node sees a complete cluster (`cluster_state:ok`, all 16384 slots ok, all nodes known), and every
 * primary streams to an online replica, so a primary's failover has a replica to promote.
 */
export async function clusterHealthy(
  servers: readonly Pick<NativeRedis, 'url'>[],
  clientOptions: RedisOptions = {},
): Promise<boolean> {
  const reports = await Promise.all(servers.map((server) => nodeReport(server.url, clientOptions)));
  const primaries = reports.filter((report) => report.role === 'master');
  return (
    reports.every(
      (report) =>
        report.info.cluster_state === 'ok' &&
        report.info.cluster_slots_ok === String(HASH_SLOTS) &&
        report.info.cluster_known_nodes === String(servers.length),
    ) &&
    primaries.length === REDIS_CLUSTER_PRIMARIES &&
    primaries.every((report) => report.onlineReplicas >= 1)
  );
}

interface NodeReport {
  info: Record<string, string>;
  role: string;
  onlineReplicas: number;
}

async function nodeReport(url: string, clientOptions: RedisOptions): Promise<NodeReport> {
  const client = new Redis(url, {
    ...clientOptions,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [info, replication] = await Promise.all([client.cluster('INFO'), client.info('replication')]);
    const fields = parseInfo(`${info}\n${replication}`);
    const onlineReplicas = Object.entries(fields).filter(
      ([name, value]) => /^slave\d+$/.test(name) && value.includes('state=online'),
    ).length;
    return { info: fields, role: fields.role ?? 'unknown', onlineReplicas };
  } finally {
    client.disconnect();
  }
}

function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}
