import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerEngineAnswers, startWithTestcontainers } from './docker.js';
import { startNativeKafka } from './kafka-native.js';
import { progress, secondsSince, stopProcess } from './process.js';
import { startNativeRedis } from './redis-native.js';
import { prepareSecureStack, type SecureStackInfo } from './secure.js';

export type StackMode = 'environment' | 'testcontainers' | 'native';

/** Connection details every component needs; the single place that decides where Kafka and Redis come from. */
export interface StackEndpoints {
  kafkaBrokers: string;
  redisUrl: string;
}

/** A process we own (native mode): its pid and the loopback ports it listens on. */
export interface ManagedProcess {
  name: string;
  pid: number;
  ports: number[];
  logFile: string;
  /** The command line of a native server (cluster fault tests restart a killed node with it). */
  argv?: string[];
}

export interface RunningStack extends StackEndpoints {
  mode: StackMode;
  processes: ManagedProcess[];
  /** Containers we own (testcontainers mode). */
  containerIds?: string[];
  runDir?: string;
  /** Secure mode: the CA and credential files clients need (see secure.ts, secureEnvironment). */
  secure?: SecureStackInfo;
  stop(): Promise<void>;
}

/** RTML_DEVSTACK_MODE: where services come from when KAFKA_BROKERS/REDIS_URL do not name them. */
export const MODE_SETTINGS = ['native', 'docker', 'env'] as const;
export type ModeSetting = (typeof MODE_SETTINGS)[number];

export interface StartOptions {
  /** Ignore KAFKA_BROKERS / REDIS_URL and start our own services (used by the teardown tests). */
  ignoreEnvironment?: boolean;
  /** Skip the Docker probe (same as mode 'native'). */
  forceNative?: boolean;
  /** Overrides RTML_DEVSTACK_MODE. */
  mode?: ModeSetting;
  /**
   * TLS, SASL users and ACLs (secure.ts). Always native processes and never the exported KAFKA_BROKERS/REDIS_URL:
   * the point is a stack whose credentials we made. Clients need secureEnvironment(), not just the endpoints.
   */
  secure?: boolean;
}

/**
 * Provides a Kafka broker and a Redis server:
 * 1. KAFKA_BROKERS and REDIS_URL set: use them, start nothing (so a stack started by `devstack exec` is reused);
 * 2. then the mode (option or RTML_DEVSTACK_MODE): env = fail, nothing to use; docker = testcontainers or fail;
 *    native = processes; unset = testcontainers when a Docker engine answers, native processes otherwise.
 */
export async function startStack(opts: StartOptions = {}): Promise<RunningStack> {
  const started = Date.now();
  if (opts.secure) return startNativeStack(started, true);
  const mode = opts.forceNative ? 'native' : (opts.mode ?? modeSetting());
  const fromEnv = opts.ignoreEnvironment ? undefined : endpointsFromEnvironment();
  if (fromEnv) {
    progress(`using KAFKA_BROKERS=${fromEnv.kafkaBrokers} and REDIS_URL=${fromEnv.redisUrl}; starting nothing`);
    return { ...fromEnv, mode: 'environment', processes: [], stop: async () => undefined };
  }
  if (mode === 'env') {
    throw new Error(
      '[devstack] RTML_DEVSTACK_MODE=env: set KAFKA_BROKERS and REDIS_URL to the services to use ' +
        '(or choose native or docker)',
    );
  }
  if (mode === 'docker' && !dockerEngineAnswers()) {
    const host = process.env.DOCKER_HOST ?? 'default';
    throw new Error(
      `[devstack] RTML_DEVSTACK_MODE=docker: no Docker engine answers \`docker info\` (DOCKER_HOST=${host}); ` +
        'start Docker, or use RTML_DEVSTACK_MODE=native',
    );
  }
  if (mode === 'docker' || (mode === undefined && dockerEngineAnswers())) return startContainerStack(started);
  return startNativeStack(started);
}

/** RTML_DEVSTACK_MODE, checked: an unknown value is an error, not a silent fallback. */
export function modeSetting(): ModeSetting | undefined {
  const value = process.env.RTML_DEVSTACK_MODE;
  if (!value) return undefined;
  if (!(MODE_SETTINGS as readonly string[]).includes(value)) {
    throw new Error(
      `[devstack] RTML_DEVSTACK_MODE=${value} is not a mode: use ${MODE_SETTINGS.join(', ')}, ` +
        'or leave it unset to choose automatically',
    );
  }
  return value as ModeSetting;
}

async function startContainerStack(started: number): Promise<RunningStack> {
  const stack = await startWithTestcontainers();
  progress(`stack ready in ${secondsSince(started)} s: KAFKA_BROKERS=${stack.brokers} REDIS_URL=${stack.redisUrl}`);
  return {
    kafkaBrokers: stack.brokers,
    redisUrl: stack.redisUrl,
    mode: 'testcontainers',
    processes: [],
    containerIds: stack.containerIds,
    stop: stack.stop,
  };
}

async function startNativeStack(started: number, secure = false): Promise<RunningStack> {
  const runDir = mkdtempSync(join(tmpdir(), 'rtml-devstack-'));
  const setup = secure ? prepareSecureStack(runDir) : undefined;
  const processes: RunningStack['processes'] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => stopProcess(p.pid)));
    rmSync(runDir, { recursive: true, force: true });
  };
  const [redis, kafka] = await Promise.allSettled([
    startNativeRedis(join(runDir, 'redis'), setup?.redis),
    startNativeKafka(join(runDir, 'kafka'), { variant: setup?.kafka }),
  ]);
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
  progress(
    `${secure ? 'secure ' : ''}stack ready in ${secondsSince(started)} s: KAFKA_BROKERS=${brokers} REDIS_URL=${url}`,
  );
  return {
    kafkaBrokers: brokers,
    redisUrl: url,
    mode: 'native',
    processes,
    runDir,
    ...(setup && { secure: setup.info }),
    stop,
  };
}

function pick(p: { pid: number; ports: number[]; logFile: string }) {
  return { pid: p.pid, ports: p.ports, logFile: p.logFile };
}

/**
 * The values of KAFKA_BROKERS and `redisVariable` when both are set, undefined when neither is; one without the other
 * is an error (half an external stack would be mixed with one we start).
 */
export function bothOrNeither(
  redisVariable: 'REDIS_URL' | 'REDIS_CLUSTER_NODES',
  started: string,
): [kafkaBrokers: string, redis: string] | undefined {
  const kafkaBrokers = process.env.KAFKA_BROKERS;
  const redis = process.env[redisVariable];
  if (kafkaBrokers && redis) return [kafkaBrokers, redis];
  if (kafkaBrokers || redis)
    throw new Error(
      `[devstack] set both KAFKA_BROKERS and ${redisVariable}, or neither (then ${started} is started for you)`,
    );
  return undefined;
}

export function endpointsFromEnvironment(): StackEndpoints | undefined {
  const both = bothOrNeither('REDIS_URL', 'the stack');
  return both && { kafkaBrokers: both[0], redisUrl: both[1] };
}
