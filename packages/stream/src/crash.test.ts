import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { checkpointKeys } from './keys.js';
import { paymentsCounts, type Payment } from './testing/counting-processor.js';
import { createTopic, testClients, onlineValues, paymentStream, produce, recompute, uniqueName } from './testing/harness.js';
import { waitUntilCaughtUp } from './caught-up.js';

const brokers = inject('kafkaBrokers');
const redisUrl = inject('redisUrl');
const { admin, producer, redis, connect, close } = testClients('stream-crash-test', { brokers, redisUrl });
const children = new Set<ChildProcess>();
const running = new WeakMap<ChildProcess, Promise<void>>();

beforeAll(connect);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await close();
});

const PARTITIONS = 3;
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const PROCESSOR = `${fileURLToPath(new URL('./testing/counting-processor.ts', import.meta.url))}#paymentsCounts`;

/** The CLI in ONE node process (tsx as a loader, not its wrapper process), so SIGKILL really kills the processor. */
function startCli(topic: string, group: string, namespace: string): ChildProcess {
  const args = ['--import', 'tsx', '--conditions=source', CLI, 'run', '--processor', PROCESSOR, '--topic', topic, '--group', group, '--namespace', namespace, '--allowed-lateness-ms', '30000', '--session-timeout-ms', '6000', '--progress-ms', '1000'];
  const child = spawn(process.execPath, args, { env: { ...process.env, KAFKA_BROKERS: brokers, REDIS_URL: redisUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  running.set(child, new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (output.includes('running:')) resolve();
      else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`CLI exited before running: ${output}`));
      else return;
      clearInterval(poll);
    }, 50);
  }));
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[cli stderr] ${chunk}`));
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Sum of committed offsets across partitions: resolves when it grows past `above`. */
async function committedTotal(namespace: string, group: string, topic: string): Promise<number> {
  const fences = await redis.mget(...Array.from({ length: PARTITIONS }, (_, p) => checkpointKeys(namespace, group, p).offsets));
  return fences.reduce((sum, fence) => sum + Number(fence ? (JSON.parse(fence) as Record<string, string>)[topic] ?? 0 : 0), 0);
}

async function waitForProgress(namespace: string, group: string, topic: string, above: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await committedTotal(namespace, group, topic)) <= above) {
    if (Date.now() > deadline) throw new Error('processor made no progress within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('SIGKILLed at random points while events flow, the CLI recovers to exactly the clean result', async () => {
  const topic = uniqueName('crash-payments');
  const group = uniqueName('crash-group');
  const namespace = uniqueName('crash');
  await createTopic(admin, topic, PARTITIONS);
  const events = paymentStream({ count: 6000, users: 50, start: 1_700_000_000_000, stepMs: 500, jitterMs: 10_000, seed: 11 });
  // Events keep arriving in small chunks during the whole crash loop.
  let produced = 0;
  let killsDone = false;
  const producing = (async () => {
    for (; produced < events.length; produced += 40) {
      await produce(producer, topic, PARTITIONS, events.slice(produced, produced + 40));
      if (!killsDone) await sleep(200);
    }
  })();

  for (let kill = 0; kill < 3; kill++) {
    const child = startCli(topic, group, namespace);
    await waitForProgress(namespace, group, topic, await committedTotal(namespace, group, topic));
    await sleep(Math.random() * 400);
    expect(produced).toBeLessThan(events.length); // killed while events were still arriving
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  const survivor = startCli(topic, group, namespace);
  await running.get(survivor);
  killsDone = true;
  await producing;
  await waitUntilCaughtUp(redis, admin, [{ group, topic }], { namespace, timeoutMs: 90_000 });
  survivor.kill('SIGTERM');
  const exitCode = await new Promise((resolve) => survivor.once('exit', resolve));
  expect(exitCode).toBe(0);

  const store = new OnlineStore(redis, { namespace, featureSets: { [paymentsCounts.name]: { ttl: duration.days(1), maxAge: duration.days(3650) } } });
  const expected = recompute(paymentsCounts, events.map((e) => e.body as Payment), PARTITIONS);
  expect(await onlineValues(store, paymentsCounts.name, [...expected.keys()])).toEqual(expected);
});
