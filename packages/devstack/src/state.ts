import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isAlive } from './process.js';
import { isClusterEndpoints, type ClusterEndpoints, type RunningCluster } from './cluster-stack.js';
import { secureEnvironment, type SecureStackInfo } from './secure.js';
import { endpointsFromEnvironment, type RunningStack, type StackEndpoints } from './stack.js';

/** Where `infra up` records the stack it left running, so `infra down` and other commands can find it. */
export function stateFile(): string {
  return process.env.RTML_DEVSTACK_STATE ?? join(process.cwd(), '.devstack', 'state.json');
}

export type RecordedStack = (StackEndpoints | ClusterEndpoints) & {
  mode: RunningStack['mode'] | RunningCluster['mode'];
  processes: RunningStack['processes'];
  runDir?: string;
  secure?: SecureStackInfo;
};

/** Only a stack whose processes `down` can stop is recorded: a record without them could never be cleaned up. */
export function recordStack(stack: RunningStack | RunningCluster): boolean {
  if (stack.processes.length === 0) return false;
  const file = stateFile();
  mkdirSync(dirname(file), { recursive: true });
  const endpoints = isClusterEndpoints(stack)
    ? { kafkaBrokers: stack.kafkaBrokers, redisClusterNodes: stack.redisClusterNodes }
    : { kafkaBrokers: stack.kafkaBrokers, redisUrl: stack.redisUrl };
  const record: RecordedStack = {
    ...endpoints,
    mode: stack.mode,
    processes: stack.processes,
    runDir: stack.runDir,
    ...('secure' in stack && stack.secure && { secure: stack.secure }),
  };
  writeFileSync(file, JSON.stringify(record, null, 2));
  return true;
}

/**
 * The recorded stack while every one of its processes is alive. A record that describes nothing running (a
 * process died, or an old record without processes) is deleted here, so it can never outlive its services.
 */
export function readRecordedStack(): RecordedStack | undefined {
  const file = stateFile();
  if (!existsSync(file)) return undefined;
  const record = JSON.parse(readFileSync(file, 'utf8')) as RecordedStack;
  if (record.processes.length > 0 && record.processes.every((p) => isAlive(p.pid))) return record;
  forgetStack();
  return undefined;
}

export function forgetStack(): void {
  rmSync(stateFile(), { force: true });
}

/**
 * The environment clients read their settings from (see @rtml/connections), with the endpoints of a stack
 * left running by `npm run infra:up` filled in when neither KAFKA_BROKERS nor REDIS_URL is set. A secure stack
 * fills in its `admin` settings (TLS, SASL, ACL user; passwords as files): one command that sets up and runs
 * everything needs them; least-privileged runs export a principal's with `infra:status --as`.
 */
export function withRecordedStack(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.KAFKA_BROKERS || env.REDIS_URL) return env;
  const recorded = readRecordedStack();
  if (!recorded) return env;
  if (isClusterEndpoints(recorded))
    return { ...env, KAFKA_BROKERS: recorded.kafkaBrokers, REDIS_CLUSTER_NODES: recorded.redisClusterNodes };
  const { kafkaBrokers, redisUrl, secure } = recorded;
  return {
    ...env,
    ...(secure
      ? secureEnvironment({ kafkaBrokers, redisUrl, secure }, 'admin')
      : { KAFKA_BROKERS: kafkaBrokers, REDIS_URL: redisUrl }),
  };
}

/**
 * Endpoints for clients: the environment first, then a stack left running by `npm run infra:up`.
 * Throws with the command to run when neither exists.
 */
export function resolveEndpoints(): StackEndpoints {
  const fromEnv = endpointsFromEnvironment();
  if (fromEnv) return fromEnv;
  const recorded = readRecordedStack();
  if (recorded && isClusterEndpoints(recorded)) {
    throw new Error(
      '[devstack] the running stack is the cluster topology (REDIS_CLUSTER_NODES); ' +
        'this command needs a single Redis: `npm run infra:down`, then `npm run infra:up`',
    );
  }
  if (recorded) return { kafkaBrokers: recorded.kafkaBrokers, redisUrl: recorded.redisUrl };
  throw new Error('[devstack] no Kafka/Redis: set KAFKA_BROKERS and REDIS_URL, or run `npm run infra:up` first');
}
