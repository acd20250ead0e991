import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { commandExists, DevstackError, freePort, progress, runLogged, spawnServer, waitUntil } from './process.js';

export interface NativeRedis {
  url: string;
  pid: number;
  ports: number[];
  logFile: string;
}

/** Installs Debian's redis-server when it is missing and we are allowed to (root with apt-get). */
export function ensureRedisServer(logFile: string): void {
  if (commandExists('redis-server')) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !commandExists('apt-get')) {
    throw new DevstackError('redis: locating redis-server', "'redis-server' is not on PATH; install Debian's redis-server package (apt-get install redis-server)");
  }
  progress(`redis: installing Debian's redis-server with apt-get (log: ${logFile})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  runLogged('redis: apt-get update', 'apt-get', ['update', '-qq'], logFile, env);
  runLogged('redis: apt-get install redis-server', 'apt-get', ['install', '-y', '-qq', 'redis-server'], logFile, env);
}

/** Starts redis-server on a free loopback port, without persistence (a dev/test store), and waits for PING. */
export async function startNativeRedis(runDir: string): Promise<NativeRedis> {
  const redis = await spawnRedisServer(runDir, []);
  await waitUntil('redis: waiting for PING', () => redisAnswers(redis.url), { timeoutMs: 20_000, pid: redis.pid, logFile: redis.logFile });
  return redis;
}

/** Spawns one redis-server in `runDir` on a free loopback port (no persistence), with `extraArgs` (e.g. cluster mode). */
export async function spawnRedisServer(runDir: string, extraArgs: readonly string[]): Promise<NativeRedis> {
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, 'redis.log');
  ensureRedisServer(logFile);
  const port = await freePort();
  progress(`redis: starting redis-server on 127.0.0.1:${port}`);
  const child = spawnServer(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', runDir, '--daemonize', 'no', '--protected-mode', 'yes', ...extraArgs],
    logFile,
  );
  const pid = child.pid;
  if (pid === undefined) throw new DevstackError('redis: starting redis-server', 'could not spawn', logFile);
  return { url: `redis://127.0.0.1:${port}`, pid, ports: [port], logFile };
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined); // refused connections are expected while the server starts
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}
