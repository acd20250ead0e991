/**
 * Fault drill for the README's "Reliability" table: events flow steadily through one processor (default consumer
 * settings) while the Kafka broker is SIGKILLed and restarted, then Redis is SIGKILLed and restarted with its data
 * (append-only file) and without it. Prints, per fault, the outage and the time from the fault until everything
 * produced before the service came back is committed; at the end, the online values against a clean recomputation.
 *
 *   npm run infra:up && eval "$(npm run --silent infra:status)"
 *   npx tsx --conditions=source packages/stream/src/testing/fault-drill.ts
 *
 * It restarts the broker of `npm run infra:up` (native mode only, the stack recorded in .devstack/state.json) and
 * rewrites that record with the new pid, so `npm run infra:down` still stops it. Never point it at a shared broker.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { brokerAnswers } from '@rtml/devstack';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { waitUntilCaughtUp } from '../caught-up.js';
import { StreamProcessor } from '../stream-processor.js';
import { paymentsCounts } from './counting-processor.js';
import { createTopic, onlineValues, paymentStream, produce, recompute, testClients, uniqueName } from './harness.js';
import { PrivateRedis } from './private-redis.js';

const stateFile = join(process.cwd(), '.devstack', 'state.json');
interface RecordedProcess {
  name: string;
  pid: number;
}
const recorded = JSON.parse(readFileSync(stateFile, 'utf8')) as {
  kafkaBrokers: string;
  mode: string;
  processes: RecordedProcess[];
};
if (recorded.mode !== 'native')
  throw new Error('fault-drill restarts the native broker of `npm run infra:up`; this stack is not native');
const brokers = recorded.kafkaBrokers;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The devstack's probe throws while nothing listens; here that just means "not answering". */
const brokerUp = () => brokerAnswers(brokers).catch(() => false);

/** SIGKILL the recorded broker and start it again with the same command line, data and ports. */
async function restartBroker(): Promise<number> {
  const kafka = recorded.processes.find((p) => p.name === 'kafka')!;
  const argv = readFileSync(`/proc/${kafka.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const cwd = readlinkSync(`/proc/${kafka.pid}/cwd`);
  const killedAt = Date.now();
  process.kill(kafka.pid, 'SIGKILL');
  while (await brokerUp()) await sleep(50);
  const log = openSync(`/tmp/fault-drill-kafka-${Date.now()}.log`, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ['ignore', log, log] });
  child.unref();
  closeSync(log);
  kafka.pid = child.pid!;
  writeFileSync(stateFile, JSON.stringify(recorded, null, 2));
  while (!(await brokerUp())) await sleep(100);
  return Date.now() - killedAt;
}

async function main(redisServer: PrivateRedis): Promise<void> {
  const redis = new Redis(redisServer.url);
  const clients = testClients('fault-drill', { brokers, redisUrl: redisServer.url });
  // Refused connections while Redis is down are the drill itself; the table reports outcomes.
  for (const client of [redis, clients.redis]) client.on('error', () => undefined);
  await clients.connect();
  const topic = uniqueName('fault-drill');
  const group = uniqueName('fault-drill-group');
  const namespace = uniqueName('fault-drill');
  await createTopic(clients.admin, topic, 3);
  const events = paymentStream({
    count: 16_000,
    users: 300,
    start: 1_700_000_000_000,
    stepMs: 250,
    jitterMs: 10_000,
    seed: 42,
  });
  const store = new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: paymentsCounts.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
  const log: string[] = [];
  const processorRedis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const processorStore = new OnlineStore(processorRedis, {
    namespace,
    featureSets: [{ name: paymentsCounts.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
  const stream = new StreamProcessor({
    topology: { topics: [topic], processor: paymentsCounts, allowedLateness: duration.seconds(30) },
    kafka: { brokers: brokers.split(',') },
    store: processorStore,
    group,
    progressIntervalMs: 0,
    log: (line) => log.push(line),
  });
  processorRedis.on('error', () => undefined);
  await stream.start();
  void stream.whenFailed().then((error) => console.log(`processor FAILED: ${error.message}`));

  let produced = 0;
  const producing = (async () => {
    for (; produced < events.length; produced += 40) {
      // The idempotent producer never appends a retried send twice; while the broker is down, keep trying.
      while (
        !(await produce(clients.producer, topic, 3, events.slice(produced, produced + 40)).then(
          () => true,
          () => false,
        ))
      )
        await sleep(500);
      await sleep(100);
    }
  })();
  // Right after a broker restart, partition leaders take a moment: the drill's own offset lookups retry.
  const caughtUp = async () => {
    while (
      !(await waitUntilCaughtUp(store, clients.admin, [{ group, topic }], { timeoutMs: 300_000 }).then(
        () => true,
        () => false,
      ))
    )
      await sleep(200);
  };
  const rows: string[] = [];
  const drill = async (name: string, fault: () => Promise<number>) => {
    await sleep(4_000);
    const faultAt = Date.now();
    const outageMs = await fault();
    await caughtUp();
    rows.push(`| ${name} | ${(outageMs / 1000).toFixed(1)} s | ${((Date.now() - faultAt) / 1000).toFixed(1)} s |`);
  };
  await drill('Kafka broker SIGKILL + restart', restartBroker);
  await drill('Redis SIGKILL + restart with its data (AOF)', async () => timed(() => redisServer.restartWithData()));
  await drill('Redis SIGKILL + restart without data', async () => timed(() => redisServer.restartEmpty()));
  await producing;
  await caughtUp();
  await stream.stop();

  const expected = recompute(
    paymentsCounts,
    events.map((e) => e.body),
    3,
  );
  const actual = await onlineValues(store, paymentsCounts.name, [...expected.keys()]);
  const mismatches = [...expected].filter(
    ([id, values]) => JSON.stringify(actual.get(id)) !== JSON.stringify(values),
  ).length;
  console.log(`| fault | outage | fault -> caught up |\n|---|---|---|\n${rows.join('\n')}`);
  console.log(
    `${events.length} events, ${expected.size} entities: ${mismatches} mismatches against a clean recomputation`,
  );
  console.log(
    `processor lines mentioning state loss: ${log.filter((line) => line.includes('lost its state')).length}; ` +
      `fence rejections: ${(await stream.metrics.fenceRejections.get()).values[0]?.value ?? 0}`,
  );
  processorRedis.disconnect();
  redis.disconnect();
  await clients.close();
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = Date.now();
  await work();
  return Date.now() - started;
}

const redisServer = await PrivateRedis.start({ persistent: true });
try {
  await main(redisServer);
} finally {
  await redisServer.remove(); // also when the drill fails: no redis-server outlives it
}
