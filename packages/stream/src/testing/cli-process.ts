import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
/** The counting processor, for `--processor`. */
export const COUNTING_PROCESSOR =
  fileURLToPath(new URL('./counting-processor.ts', import.meta.url)) + '#paymentsCounts';

/** `run` with the counting processor on one pipeline, 30 s allowed lateness; tests append their own options. */
export function countingRunArgs(pipeline: { topic: string; group: string; namespace: string }): string[] {
  const { topic, group, namespace } = pipeline;
  const where = ['--topic', topic, '--group', group, '--namespace', namespace];
  return ['run', '--processor', COUNTING_PROCESSOR, ...where, '--allowed-lateness-ms', '30000'];
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once the CLI printed its `running:` line; rejects if it exited first. */
  readonly running: Promise<void>;
  /** Exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** Where the CLI connects: one Redis server (`REDIS_URL`) or a Redis Cluster (`REDIS_CLUSTER_NODES`). */
export type CliEndpoints = { brokers: string; redisUrl: string } | { brokers: string; redisClusterNodes: string };

function endpointEnvironment(endpoints: CliEndpoints): NodeJS.ProcessEnv {
  const { REDIS_URL: _url, REDIS_CLUSTER_NODES: _nodes, ...rest } = process.env;
  const redis =
    'redisUrl' in endpoints ? { REDIS_URL: endpoints.redisUrl } : { REDIS_CLUSTER_NODES: endpoints.redisClusterNodes };
  return { ...rest, KAFKA_BROKERS: endpoints.brokers, ...redis };
}

/**
 * The stream CLI in ONE node process (tsx as a loader, not its wrapper process), so SIGKILL really kills the
 * processor. `env` adds variables (e.g. a test hook).
 */
export function spawnCli(
  args: readonly string[],
  endpoints: CliEndpoints,
  env: Readonly<Record<string, string>> = {},
): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', CLI, ...args], {
    env: { ...endpointEnvironment(endpoints), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (stdout.includes('running:')) resolve();
      else if (child.exitCode !== null || child.signalCode !== null)
        reject(new Error(`CLI exited before running: ${stdout}${stderr}`));
      else return;
      clearInterval(poll);
    }, 50);
  });
  running.catch(() => undefined); // callers that only await `exited` must not see an unhandled rejection
  return { child, stdout: () => stdout, stderr: () => stderr, running, exited };
}
