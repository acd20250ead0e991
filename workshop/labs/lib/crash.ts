/**
 * Labs 6 and 7's harness: the stream processor as a real child process (the `rtml-stream` CLI of @rtml/stream, the
 * way it runs in production), a producer that keeps sending payments (while lab 6 kills and restarts the processor),
 * and Redis totals read back through the online store.
 */
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import { freePort } from '@rtml/devstack';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { startChild, type ChildRun } from './child';
import { repoRoot } from './scenario';

export const FEATURE_SET = 'payment_totals';
/** The module that exports the labs' feature set, `paymentTotals` (plain ESM: the CLIs load it). */
export const paymentsModule = (): string => join(repoRoot(), 'workshop', 'labs', 'lib', 'payments.mjs');

export interface Payment {
  eventId: string;
  eventTime: number;
  userId: string;
  amount: number;
}

/** A running `rtml-stream run` process. */
export type Processor = ChildRun;

export interface Run {
  topic: string;
  group: string;
  namespace: string;
  brokers: string[];
  redisUrl: string;
  /** The processor serves /metrics here (for the pipeline console); one processor at a time per run. */
  metricsPort: number;
}

/** A run of its own: topic, consumer group and Redis namespace named `<lab>_<time>`, and a free metrics port. */
export async function newRun(lab = 'lab06'): Promise<Run> {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  const redisUrl = process.env.REDIS_URL ?? '';
  if (brokers.length === 0 || !redisUrl) {
    throw new Error('set KAFKA_BROKERS and REDIS_URL (npm run workshop:check prints them)');
  }
  const id = `${lab}_${Date.now().toString(36)}`;
  const metricsPort = await freePort();
  return { topic: `${id}.payments`, group: `${id}.processor`, namespace: id, brokers, redisUrl, metricsPort };
}

export interface ProcessorOptions {
  /** How far behind the newest event time an event still counts (the CLI's default: 60 s). */
  readonly allowedLatenessMs?: number;
}

/** Starts `rtml-stream run` on the run's topic; resolves once it says it is running. */
export async function startProcessor(run: Run, options: ProcessorOptions = {}): Promise<Processor> {
  const lateness =
    options.allowedLatenessMs === undefined ? [] : ['--allowed-lateness-ms', String(options.allowedLatenessMs)];
  return startChild(
    join(repoRoot(), 'packages', 'stream', 'dist', 'cli.js'),
    [
      'run',
      '--feature-set',
      `${paymentsModule()}#paymentTotals`,
      '--topic',
      run.topic,
      '--group',
      run.group,
      '--namespace',
      run.namespace,
      '--progress-ms',
      '1000',
      '--metrics-port',
      String(run.metricsPort),
      ...lateness,
    ],
    { ...process.env, KAFKA_BROKERS: run.brokers.join(','), REDIS_URL: run.redisUrl },
    /\] running:/,
  );
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

/** For the checkpoint of a lab that ran a live pipeline and stopped it: trying again needs a fresh run. */
export const RESTART_TO_RETRY =
  'This checkpoint stopped the run (its processor, console, topic and keys), so cells after it cannot run again: ' +
  'to try again, **Kernel → Restart Kernel and Run All Cells** (a new run: a topic, group and keys of its own).';

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
