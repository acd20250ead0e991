#!/usr/bin/env node
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import { isAlive, progress, stopProcess } from './process.js';
import { startStack } from './stack.js';
import { forgetStack, readRecordedStack, recordStack, stateFile } from './state.js';

const program = new Command('devstack').description('Start and stop the real Kafka + Redis this project runs against.');

program
  .command('up')
  .description('start Kafka and Redis and leave them running (recorded in .devstack/state.json)')
  .option('--native', 'skip the Docker probe and start native processes')
  .action(async (opts: { native?: boolean }) => {
    const existing = readRecordedStack();
    if (existing) {
      progress(`already running (${stateFile()})`);
      printEnv(existing);
      return;
    }
    const stack = await startStack({ forceNative: opts.native });
    if (stack.mode === 'testcontainers') {
      progress('testcontainers stops its containers when this process exits; use it from the test setup instead');
    }
    recordStack(stack);
    printEnv(stack);
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
  .description('print the endpoints of a running stack as shell exports')
  .action(() => {
    const recorded = readRecordedStack();
    if (!recorded) {
      progress('not running; start it with `npm run infra:up`');
      process.exitCode = 1;
      return;
    }
    printEnv(recorded);
  });

function printEnv(endpoints: { kafkaBrokers: string; redisUrl: string }): void {
  process.stdout.write(`export KAFKA_BROKERS=${endpoints.kafkaBrokers}\nexport REDIS_URL=${endpoints.redisUrl}\n`);
}

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
