import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { commandExists, DevstackError, freePort, progress, runLogged, spawnServer, waitUntil } from './process.js';

export interface NativeRedis {
  url: string;
  pid: number;
  ports: number[];
  logFile: string;
  /** The command line it was started with (redis-server rewrites its /proc cmdline; fault tests restart with this). */
  argv: string[];
}

/** Installs Debian's redis-server when it is missing and we are allowed to (root with apt-get). */
export function ensureRedisServer(logFile: string): void {
  if (commandExists('redis-server')) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !commandExists('apt-get')) {
    throw new DevstackError(
      'redis: locating redis-server',
      "'redis-server' is not on PATH; install Debian's redis-server package (apt-get install redis-server)",
    );
  }
  progress(`redis: installing Debian's redis-server with apt-get (log: ${logFile})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  runLogged('redis: apt-get update', 'apt-get', ['update', '-qq'], logFile, env);
  runLogged('redis: apt-get install redis-server', 'apt-get', ['install', '-y', '-qq', 'redis-server'], logFile, env);
}

/** How a variant of the server (secure mode) differs from the plain one. */
export interface RedisVariant {
  /** A config file given before the other arguments (TLS files, ACL users: kept out of the process list). */
  readonly configFile: string;
  /** The arguments that make it listen on `port`, and the URL clients use for it. */
  listen(port: number): { args: string[]; url: string };
  answers(url: string): Promise<boolean>;
}

/** Starts redis-server on a free loopback port, without persistence (a dev/test store), and waits for PING. */
export async function startNativeRedis(runDir: string, variant?: RedisVariant): Promise<NativeRedis> {
  const redis = await spawnRedisServer(runDir, [], variant);
  await waitUntil('redis: waiting for PING', () => (variant?.answers ?? redisAnswers)(redis.url), {
    timeoutMs: 20_000,
    pid: redis.pid,
    logFile: redis.logFile,
  });
  return redis;
}

/** One redis-server in `runDir` on a free loopback port, no persistence, with `extraArgs` (e.g. cluster mode). */
export async function spawnRedisServer(
  runDir: string,
  extraArgs: readonly string[],
  variant?: RedisVariant,
): Promise<NativeRedis> {
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, 'redis.log');
  ensureRedisServer(logFile);
  const port = await freePort();
  const listen = variant?.listen(port) ?? { args: ['--port', String(port)], url: `redis://127.0.0.1:${port}` };
  progress(`redis: starting redis-server on ${listen.url}`);
  const child = spawnServer(
    'redis-server',
    [
      ...(variant ? [variant.configFile] : []),
      '--bind',
      '127.0.0.1',
      ...listen.args,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      runDir,
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
      ...extraArgs,
    ],
    logFile,
  );
  const pid = child.pid;
  if (pid === undefined) throw new DevstackError('redis: starting redis-server', 'could not spawn', logFile);
  return { url: listen.url, pid, ports: [port], logFile, argv: child.spawnargs };
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
