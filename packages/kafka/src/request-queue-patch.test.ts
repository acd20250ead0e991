import { afterAll, expect, inject, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import './topics.js';

/** Records every delay passed to setTimeout while `work` runs (the timers themselves run unchanged). */
async function delaysScheduledDuring(work: () => Promise<void>): Promise<number[]> {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  const recording = ((handler: () => void, delay?: number) => {
    delays.push(delay ?? 0);
    return original(handler, delay);
  }) as typeof setTimeout;
  globalThis.setTimeout = recording;
  try {
    await work();
  } finally {
    globalThis.setTimeout = original;
  }
  return delays;
}

const kafka = new Kafka({
  clientId: 'request-queue-patch-test',
  brokers: inject('kafkaBrokers').split(','),
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
afterAll(() => admin.disconnect());

it('kafkajs never schedules a timer with a negative delay (Node 24: TimeoutNegativeWarning)', async () => {
  const delays = await delaysScheduledDuring(async () => {
    await admin.connect();
    await admin.listTopics();
    await admin.describeCluster();
    await new Promise((resolve) => setTimeout(resolve, 200)); // idle connection
  });
  expect(delays.filter((delay) => delay < 0)).toEqual([]);
});
