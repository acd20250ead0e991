import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import kafkajs from 'kafkajs';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { serveMetrics } from './metrics.js';
import type { KeyedProcessor } from './processor.js';
import { StreamProcessor } from './stream-processor.js';
import { countingProcessor, type CountingState, type Payment } from './testing/counting-processor.js';
import { createTopic, produce, testClients, TEST_CONSUMER_TUNING, uniqueName } from './testing/harness.js';

const { brokers, admin, producer, redis, connect, close } = testClients('health-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
beforeAll(connect);
afterAll(close);

/** A processor with a bug: one event makes it throw an error kafkajs treats as non-retriable (no restart). */
function buggyProcessor(): KeyedProcessor<CountingState, Payment> {
  const base = countingProcessor(60_000);
  return {
    ...base,
    apply(state, event) {
      if (event.amount === -1) throw new kafkajs.KafkaJSNonRetriableError('processor bug: negative amount');
      return base.apply(state, event);
    },
  };
}

it(
  '/healthz and /readyz follow the consumer: unready before assignment, ready while consuming, failed after ' +
    'a crash kafkajs will not restart',
  async () => {
    const topic = uniqueName('health-payments');
    await createTopic(admin, topic, 2);
    const processor = buggyProcessor();
    const store = new OnlineStore(redis, {
      namespace: uniqueName('health'),
      featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
    });
    const instance = new StreamProcessor({
      topology: { topics: [topic], processor, allowedLateness: duration.seconds(30) },
      kafka: { brokers },
      store,
      group: uniqueName('health-group'),
      consumer: TEST_CONSUMER_TUNING,
      progressIntervalMs: 0,
    });
    const server = await serveMetrics(instance.metrics.registry, 0, () => instance.health());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const status = async (path: string) => (await fetch(`${url}${path}`)).status;
    try {
      expect([await status('/healthz'), await status('/readyz'), await status('/metrics')]).toEqual([200, 503, 200]);
      await instance.start();
      await expect.poll(() => status('/readyz'), { timeout: 30_000 }).toBe(200);
      expect(instance.health()).toMatchObject({ state: 'ready', partitions: [0, 1] });

      await produce(producer, topic, 2, [
        { key: 'alice', body: { eventId: 'bad', userId: 'alice', eventTime: 1_700_000_000_000, amount: -1 } },
      ]);
      const failure = await instance.whenFailed();
      expect(failure.message).toMatch(/Kafka consumer crashed and will not restart: .*processor bug/);
      expect([await status('/healthz'), await status('/readyz')]).toEqual([503, 503]);
      expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ state: 'failed', reason: failure.message });
    } finally {
      await instance.stop();
      server.close();
    }
  },
);
