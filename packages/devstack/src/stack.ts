import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerEngineAnswers, startWithTestcontainers } from './docker.js';
import { startNativeKafka } from './kafka-native.js';
import { progress, stopProcess } from './process.js';
import { startNativeRedis } from './redis-native.js';
import { prepareSecureStack, type SecureStackInfo } from './secure.js';

export type StackMode = 'environment' | 'testcontainers' | 'native';

/** Connection details every component needs; the single place that decides where Kafka and Redis come from. */
export interface StackEndpoints {
  kafkaBrokers: string;
  redisUrl: string;
}

export interface RunningStack extends StackEndpoints {
  mode: StackMode;
  /** Processes we own (native mode): pids and the loopback ports they listen on. */
  processes: { name: 'kafka' | 'redis'; pid: number; ports: number[]; logFile: string }[];
  runDir?: string;
  /** Secure mode: the CA and credential files clients need (see secure.ts, secureEnvironment). */
  secure?: SecureStackInfo;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Ignore KAFKA_BROKERS / REDIS_URL and start our own services (used by the teardown test). */
  ignoreEnvironment?: boolean;
  /** Skip the Docker probe. */
  forceNative?: boolean;
  /**
   * TLS, SASL users and ACLs (secure.ts). Always native processes and never the exported KAFKA_BROKERS/REDIS_URL:
   * the point is a stack whose credentials we made. Clients need secureEnvironment(), not just the endpoints.
   */
  secure?: boolean;
}

/**
 * Provides a Kafka broker and a Redis server:
 * 1. KAFKA_BROKERS and REDIS_URL set: use them, start nothing;
 * 2. a Docker engine answers: testcontainers;
 * 3. otherwise native processes: redis-server and a KRaft broker on the JVM.
 */
export async function startStack(opts: StartOptions = {}): Promise<RunningStack> {
  const started = Date.now();
  if (opts.secure) return startNativeStack(started, true);
  const fromEnv = opts.ignoreEnvironment ? undefined : endpointsFromEnvironment();
  if (fromEnv) {
    progress(`using KAFKA_BROKERS=${fromEnv.kafkaBrokers} and REDIS_URL=${fromEnv.redisUrl}; starting nothing`);
    return { ...fromEnv, mode: 'environment', processes: [], stop: async () => undefined };
  }
  if (!opts.forceNative && process.env.RTML_DEVSTACK_MODE !== 'native' && dockerEngineAnswers()) {
    const stack = await startWithTestcontainers();
    return { kafkaBrokers: stack.brokers, redisUrl: stack.redisUrl, mode: 'testcontainers', processes: [], stop: stack.stop };
  }
  return startNativeStack(started);
}

async function startNativeStack(started: number, secure = false): Promise<RunningStack> {
  const runDir = mkdtempSync(join(tmpdir(), 'rtml-devstack-'));
  const setup = secure ? prepareSecureStack(runDir) : undefined;
  const processes: RunningStack['processes'] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => stopProcess(p.pid)));
    rmSync(runDir, { recursive: true, force: true });
  };
  const [redis, kafka] = await Promise.allSettled([startNativeRedis(join(runDir, 'redis'), setup?.redis), startNativeKafka(join(runDir, 'kafka'), { variant: setup?.kafka })]);
  if (redis.status === 'fulfilled') processes.push({ name: 'redis', ...pick(redis.value) });
  if (kafka.status === 'fulfilled') processes.push({ name: 'kafka', ...pick(kafka.value) });
  if (redis.status === 'rejected' || kafka.status === 'rejected') {
    // Leave nothing running from a half-started stack; keep the run dir, it holds the logs named in the error.
    await Promise.all(processes.map((p) => stopProcess(p.pid)));
    throw redis.status === 'rejected' ? redis.reason : (kafka as PromiseRejectedResult).reason;
  }
  const { brokers } = kafka.value;
  const { url } = redis.value;
  await setup?.afterStart({ kafkaBrokers: brokers, redisUrl: url }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  progress(`${secure ? 'secure ' : ''}stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s: KAFKA_BROKERS=${brokers} REDIS_URL=${url}`);
  return { kafkaBrokers: brokers, redisUrl: url, mode: 'native', processes, runDir, ...(setup && { secure: setup.info }), stop };
}

function pick(p: { pid: number; ports: number[]; logFile: string }) {
  return { pid: p.pid, ports: p.ports, logFile: p.logFile };
}

export function endpointsFromEnvironment(): StackEndpoints | undefined {
  const kafkaBrokers = process.env.KAFKA_BROKERS;
  const redisUrl = process.env.REDIS_URL;
  if (kafkaBrokers && redisUrl) return { kafkaBrokers, redisUrl };
  if (kafkaBrokers || redisUrl) {
    throw new Error('[devstack] set both KAFKA_BROKERS and REDIS_URL, or neither (then the stack is started for you)');
  }
  return undefined;
}
