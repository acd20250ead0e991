/**
 * Lab 6's harness: the stream processor as a real child process (the `rtml-stream` CLI of @rtml/stream, the way it
 * runs in production), a producer that keeps sending payments while the lab kills and restarts the processor, and
 * Redis totals read back through the online store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { repoRoot } from './scenario';

export const FEATURE_SET = 'payment_totals';

export interface Payment {
  eventId: string;
  eventTime: number;
  userId: string;
  amount: number;
}

export interface Processor {
  readonly child: ChildProcess;
  /** Everything the process printed, for when something goes wrong. */
  readonly output: () => string;
  /** Resolves with the signal (or exit code) once the process is gone. */
  readonly exited: Promise<string>;
}

export interface Run {
  topic: string;
  group: string;
  namespace: string;
  brokers: string[];
  redisUrl: string;
}

export function newRun(): Run {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  const redisUrl = process.env.REDIS_URL ?? '';
  if (brokers.length === 0 || !redisUrl) {
    throw new Error('set KAFKA_BROKERS and REDIS_URL (npm run workshop:check prints them)');
  }
  const id = `lab06_${Date.now().toString(36)}`;
  return { topic: `${id}.payments`, group: `${id}.processor`, namespace: id, brokers, redisUrl };
}

/** Starts `rtml-stream run` on the run's topic; resolves once it says it is running. */
export async function startProcessor(run: Run): Promise<Processor> {
  const root = repoRoot();
  const child = spawn(
    process.execPath,
    [
      join(root, 'packages', 'stream', 'dist', 'cli.js'),
      'run',
      '--feature-set',
      `${join(root, 'workshop', 'labs', 'lib', 'payments.mjs')}#paymentTotals`,
      '--topic',
      run.topic,
      '--group',
      run.group,
      '--namespace',
      run.namespace,
      '--progress-ms',
      '1000',
    ],
    {
      env: { ...process.env, KAFKA_BROKERS: run.brokers.join(','), REDIS_URL: run.redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`));
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/\] running:/.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((how) => reject(new Error(`the processor ended before it ran (${how}):\n${output}`)));
  });
  return { child, output: () => output, exited };
}

export async function createTopic(run: Run, partitions = 3): Promise<void> {
  const admin = new Kafka({ clientId: run.namespace, brokers: run.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: run.topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

/** `count` seeded payments of `users` users, in event-time order. */
export function payments(count: number, users = 40): Payment[] {
  let seed = 6;
  const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: count }, (_, i) => ({
    eventId: `p${i}`,
    eventTime: t0 + i * 1000,
    userId: `u${Math.floor(rand() * users)}`,
    amount: Math.round(rand() * 10_000) / 100,
  }));
}

/** Sends the payments in batches, `perSecond` on average; resolves when all are acknowledged (acks=all). */
export async function produceSteadily(run: Run, events: readonly Payment[], perSecond: number): Promise<void> {
  const producer = new Kafka({ clientId: run.namespace, brokers: run.brokers, logLevel: logLevel.NOTHING }).producer({
    idempotent: true,
  });
  await producer.connect();
  const batch = Math.max(1, Math.round(perSecond / 10));
  for (let i = 0; i < events.length; i += batch) {
    const messages = events.slice(i, i + batch).map((e) => ({ key: e.userId, value: JSON.stringify(e) }));
    await producer.send({ topic: run.topic, messages });
    await new Promise((r) => setTimeout(r, 100));
  }
  await producer.disconnect();
}

export interface Totals {
  payments: number;
  amount_total: number;
}

/** Per user, what Redis holds now (users never seen are absent). */
export async function redisTotals(run: Run, users: readonly string[]): Promise<Map<string, Totals>> {
  const redis = new Redis(run.redisUrl);
  try {
    const store = new OnlineStore(redis, {
      namespace: run.namespace,
      featureSets: [{ name: FEATURE_SET, onlineExpiry: duration.days(7), maxAge: duration.days(3650) }],
    });
    const read = await store.readMany(FEATURE_SET, users);
    return new Map(
      read.flatMap((r) =>
        r.status === 'missing'
          ? []
          : [[r.entityId, { payments: Number(r.values['payments']), amount_total: Number(r.values['amount_total']) }]],
      ),
    );
  } finally {
    redis.disconnect();
  }
}

export const sumOf = (totals: Map<string, Totals>): number => [...totals.values()].reduce((n, t) => n + t.payments, 0);

/** Deletes the run's topic and Redis keys (its namespace only). */
export async function cleanUp(run: Run): Promise<void> {
  const admin = new Kafka({ clientId: run.namespace, brokers: run.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [run.topic, `${run.topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
  const redis = new Redis(run.redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `rtml:${run.namespace}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
