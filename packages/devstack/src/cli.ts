#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Command, Option } from 'commander';
import { checkConnections, ConnectionError, readConnectionSettings, SECURITY_VARIABLES } from '@rtml/connections';
import { isAlive, progress, stopProcess } from './process.js';
import { resolveKafkaJars } from './kafka-native.js';
import {
  endpointVariables,
  isClusterEndpoints,
  startTopology,
  TOPOLOGIES,
  type ClusterEndpoints,
  type Topology,
} from './cluster-stack.js';
import { SECURE_PRINCIPALS, secureEnvironment, type SecurePrincipal, type SecureStackInfo } from './secure.js';
import type { StackEndpoints } from './stack.js';
import { forgetStack, readRecordedStack, recordStack, stateFile } from './state.js';

const program = new Command('devstack').description('Start and stop the real Kafka + Redis this project runs against.');

program
  .command('up')
  .description('start Kafka and Redis and leave them running (recorded in .devstack/state.json)')
  .option('--native', 'skip the Docker probe and start native processes')
  .addOption(topologyOption())
  .option(
    '--secure',
    'TLS everywhere, SASL/ACL users admin, processor, serving and Kafka ACLs ' +
      '(native, single topology; also RTML_DEVSTACK_SECURE=1)',
  )
  .addOption(principalOption())
  .action(async (opts: { native?: boolean; topology: Topology; secure?: boolean; as: SecurePrincipal }) => {
    const secure = opts.secure ?? process.env.RTML_DEVSTACK_SECURE === '1';
    if (secure && opts.topology === 'cluster')
      throw new Error('[devstack] --secure starts the single topology only; drop --topology cluster or --secure');
    const existing = readRecordedStack();
    if (existing && isClusterEndpoints(existing) !== (opts.topology === 'cluster')) {
      throw new Error(
        `[devstack] a stack of another topology is running (${stateFile()}); stop it first with \`npm run infra:down\``,
      );
    }
    if (existing && secure !== Boolean(existing.secure)) {
      const kind = existing.secure ? 'secure' : 'plain';
      throw new Error(
        `[devstack] a ${kind} stack is already running (${stateFile()}); stop it with \`npm run infra:down\` first`,
      );
    }
    if (existing) {
      progress(`already running (${stateFile()})`);
      printEnv(existing, opts.as);
      return;
    }
    if (opts.topology === 'single' && !secure && (await exportedServicesAnswer())) return;
    const stack = await startTopology(opts.topology, {
      forceNative: opts.native,
      ignoreEnvironment: opts.topology === 'single',
      secure,
    });
    if (!recordStack(stack)) {
      progress(
        stack.mode === 'testcontainers'
          ? 'testcontainers stops its containers when this process exits; use it from the test setup instead'
          : 'using the services from the environment; nothing started, nothing recorded',
      );
    }
    printEnv(stack, opts.as);
  });

program
  .command('down')
  .description('stop what `up` started')
  .action(async () => {
    const recorded = readRecordedStack();
    if (!recorded) {
      progress('nothing recorded as running');
      forgetStack();
      return;
    }
    await Promise.all(recorded.processes.filter((p) => isAlive(p.pid)).map((p) => stopProcess(p.pid)));
    if (recorded.runDir) rmSync(recorded.runDir, { recursive: true, force: true });
    forgetStack();
    progress(`stopped ${recorded.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
  });

program
  .command('status')
  .description(
    'print the endpoints of a running stack as shell exports (a secure stack: the settings of one principal)',
  )
  .addOption(principalOption())
  .action((opts: { as: SecurePrincipal }) => {
    const recorded = readRecordedStack();
    if (!recorded) {
      progress('not running; start it with `npm run infra:up`');
      process.exitCode = 1;
      return;
    }
    printEnv(recorded, opts.as);
  });

program
  .command('exec')
  .description(
    'start the stack (or use KAFKA_BROKERS/REDIS_URL), run a command with them in its environment, then stop the stack',
  )
  .argument('<command...>', 'the command and its arguments (put -- before it)')
  .addOption(topologyOption())
  .option('--secure', 'a secure stack of its own (single topology); the command gets the settings of --as')
  .addOption(principalOption())
  .action(async (command: string[], opts: { topology: Topology; secure?: boolean; as: SecurePrincipal }) => {
    const stack = await startTopology(opts.topology, { secure: opts.secure });
    const [file, ...args] = command as [string, ...string[]];
    const env: NodeJS.ProcessEnv = { ...process.env, ...stackEnvironment(stack, opts.as) };
    // The child gets one Redis variable: an inherited one of the other topology would point elsewhere.
    delete env[isClusterEndpoints(stack) ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES'];
    const child = spawn(file, args, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) =>
      child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1))),
    );
    await stack.stop();
    process.exitCode = code;
  });

program
  .command('prefetch')
  .description('resolve the Kafka broker jars into the cache now (setup does this so the first test run starts fast)')
  .action(() => {
    progress(`kafka jars in ${resolveKafkaJars()}`);
  });

/**
 * `up` with KAFKA_BROKERS/REDIS_URL exported: services that answer are used as they are (nothing to start or
 * record); exports left over from a stack that is gone are said to be stale and a new stack is started.
 */
async function exportedServicesAnswer(): Promise<boolean> {
  if (!process.env.KAFKA_BROKERS && !process.env.REDIS_URL) return false;
  const exported = `KAFKA_BROKERS=${process.env.KAFKA_BROKERS ?? ''} REDIS_URL=${process.env.REDIS_URL ?? ''}`;
  try {
    await checkConnections(readConnectionSettings(), { timeoutMs: 2_000 });
  } catch (error) {
    const reason = error instanceof ConnectionError ? error.message.split('\n')[0] : String(error);
    progress(`the exported ${exported} do not answer (${reason}); starting a new stack, eval the exports below`);
    return false;
  }
  progress(`${exported} already answer; starting nothing (unset them to start a stack of your own)`);
  return true;
}

function topologyOption(): Option {
  return new Option(
    '--topology <name>',
    'single: one broker + one Redis; cluster: 3 Kafka brokers (RF 3) + Redis Cluster (3 primaries, 3 replicas)',
  )
    .choices(TOPOLOGIES)
    .default('single');
}

function principalOption(): Option {
  return new Option('--as <principal>', 'secure stack: whose credentials to export')
    .choices(SECURE_PRINCIPALS)
    .default('admin');
}

type StackWithSettings = (StackEndpoints | ClusterEndpoints) & { secure?: SecureStackInfo };

/** What clients read: the endpoints, and for a secure stack the TLS/SASL/ACL settings of one principal. */
function stackEnvironment(stack: StackWithSettings, principal: SecurePrincipal): Record<string, string> {
  return stack.secure && !isClusterEndpoints(stack)
    ? secureEnvironment({ ...stack, secure: stack.secure }, principal)
    : endpointVariables(stack);
}

/**
 * Shell exports; a secure stack's passwords are given as files (`*_PASSWORD_FILE`), so nothing secret is printed.
 * A cluster has no REDIS_URL (and a single node no REDIS_CLUSTER_NODES): the other one is unset, so an old export
 * cannot linger; so are the TLS/SASL/ACL variables this stack does not set (a plain stack after a secure one, a
 * password file after an inline one).
 */
function printEnv(stack: StackWithSettings, principal: SecurePrincipal): void {
  const env = stackEnvironment(stack, principal);
  const others = SECURE_PRINCIPALS.filter((p) => p !== principal).join('|');
  if (stack.secure)
    progress(`secure stack: settings of '${principal}' (others: \`npm run --silent infra:status -- --as ${others}\`)`);
  const unset = ['REDIS_URL', 'REDIS_CLUSTER_NODES', ...SECURITY_VARIABLES].filter((name) => !(name in env));
  process.stdout.write(
    `${Object.entries(env)
      .map(([name, value]) => `export ${name}=${value}\n`)
      .join('')}${unset.map((name) => `unset ${name}\n`).join('')}`,
  );
}

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
