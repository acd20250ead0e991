// #14 item 5: while Redis is down, a running stream CLI says so in one line per retry interval naming REDIS_URL,
// never ioredis' "Unhandled error event" stack traces. Redis here is a private redis-server the test stops.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, expect, inject, it } from 'vitest';
import { ensureTopics } from '@rtml/kafka';
import { stopProcess } from '../packages/devstack/src/process.js';
import { startNativeRedis } from '../packages/devstack/src/redis-native.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = `outage-${Date.now().toString(36)}`;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * Resolves with everything written so far once `pattern` appears in the stream's text; rejects if the process ends
 * first.
 */
function waitFor(text: () => string, pattern: RegExp, exited: Promise<unknown>): Promise<void> {
  return new Promise((done, fail) => {
    const timer = setInterval(() => pattern.test(text()) && (clearInterval(timer), done()), 100);
    void exited.then(
      () => (
        clearInterval(timer),
        pattern.test(text()) ? done() : fail(new Error(`exited before ${pattern}:\n${text()}`))
      ),
    );
  });
}

it('the stream CLI reports a Redis outage in one line naming REDIS_URL, without stack traces', async () => {
  const redis = await startNativeRedis(mkdtempSync(join(tmpdir(), 'rtml-outage-redis-')));
  cleanups.push(() => stopProcess(redis.pid));
  const admin = new Kafka({
    clientId: run,
    brokers: inject('kafkaBrokers').split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: run, numPartitions: 1 }]);
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: [run, `${run}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
  });

  const args = [
    'run',
    '--processor',
    'packages/stream/src/testing/counting-processor.ts#paymentsCounts',
    '--topic',
    run,
    '--group',
    run,
    '--namespace',
    run,
    '--progress-ms',
    '0',
  ];
  const cli = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', 'packages/stream/src/cli.ts', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: inject('kafkaBrokers'), REDIS_URL: redis.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  cli.stdout.on('data', (chunk) => (output += chunk));
  cli.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((done) => cli.on('exit', done));
  cleanups.push(async () => {
    cli.kill('SIGKILL');
    await exited;
  });

  await waitFor(() => output, /running: topic/, exited);
  await stopProcess(redis.pid);
  const report =
    `[redis] cannot reach REDIS_URL=${redis.url} (connect ECONNREFUSED ` +
    `127.0.0.1:${redis.ports[0]}); retrying the connection`;
  await waitFor(() => output, new RegExp(report.replace(/[[\]().*+?^$|\\]/g, '\\$&')), exited);
  // ioredis retries every ~50-2000 ms; several attempts fail while the report interval (10 s) allows one line.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(output.split('\n').filter((line) => line.startsWith('[redis]'))).toEqual([report]);
  expect(output).not.toContain('Unhandled error event');
  expect(output).not.toMatch(/^\s+at /m);
});
