import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { Redis as IORedis, type Cluster, type Redis } from 'ioredis';
import { logLevel, type Admin, type Kafka, type Producer } from 'kafkajs';
import {
  checkConnections,
  describeKafka,
  describeRedis,
  explainFailure,
  kafkaClient,
  readConnectionSettings,
  redisClient,
  type ConnectionSettings,
  type Environment,
} from '@rtml/connections';
import {
  readSecurePassword,
  SECURE_NAMING,
  SECURE_PRINCIPALS,
  secureClusterEnvironment,
  secureEnvironment,
  secureRedisCluster,
  startNativeRedisCluster,
  startStack,
  stopProcess,
  withRecordedStack,
  type NativeRedisCluster,
  type RunningStack,
  type SecurePrincipal,
  type SecureStackInfo,
} from '@rtml/devstack';
import { z } from 'zod';
import {
  count,
  duration,
  entity,
  featureService,
  featureSet,
  isoOrEpochMs,
  processingTime,
  request,
  sliding,
  source,
  sum,
} from '@rtml/features';
import { transactions, userTransactionFeatures } from '@rtml/features/testing';
import { ensureTopics } from '@rtml/kafka';
import { OnlineStore } from '@rtml/online-store';
import { runScenario, type ScenarioResult } from '@rtml/scenario-fraud-detection';
import { createServingApp, KafkaServedLog, type ScoreResponse, type ScoringModel } from '@rtml/serving';
import { featureSetProcessor, StreamProcessor, waitUntilCaughtUp } from '@rtml/stream';
// The stream package's test harness is not part of its public API, hence the relative paths.
import { spawnCli } from '../packages/stream/src/testing/cli-process.js';
import {
  createTopic,
  onlineValues,
  paymentStream,
  produce,
  readDeadLetters,
  recompute,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from '../packages/stream/src/testing/harness.js';

/*
 * Issue #19 against real secured services: a secure dev stack of our own (TLS everywhere, SCRAM users and ACLs
 * on Kafka, ACL users on a TLS-only Redis), the pipeline end to end with the least-privileged principals, the
 * refusals a person sees, and no password anywhere in what the run printed.
 */

type SecureStack = RunningStack & { secure: SecureStackInfo };
const DEVSTACK_CLI = fileURLToPath(new URL('../packages/devstack/src/cli.ts', import.meta.url));
const EXAMPLE_FEATURE_SET =
  fileURLToPath(new URL('../packages/features/src/example.ts', import.meta.url)) + '#userTransactionFeatures';

/** `rtml-stream run` of the example feature set, its dead letters under the processor's `dlq.*` prefix. */
const processorRun = (topic: string, group: string, namespace: string): string[] => [
  'run',
  '--topic',
  topic,
  '--group',
  group,
  '--namespace',
  namespace,
  '--feature-set',
  EXAMPLE_FEATURE_SET,
  '--dead-letter-topic',
  `${SECURE_NAMING.deadLetterTopicPrefix}${topic}`,
];

/** A loopback port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = await new Promise<Server>((resolve) => {
    const listening = createServer();
    listening.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Everything written to stdout/stderr while this file runs (still shown), scanned for secrets at the end. */
const printed: string[] = [];
const capture = (line: string) => printed.push(line);
let stack: SecureStack;
const settings = {} as Record<SecurePrincipal, ConnectionSettings>;
const clients: { kafka: Kafka; admin: Admin; producer: Producer; redis: Redis | Cluster }[] = [];

function envOf(principal: SecurePrincipal): Environment {
  return secureEnvironment(stack, principal);
}

function connectAs(principal: SecurePrincipal) {
  const kafka = kafkaClient(settings[principal].kafka, { clientId: `secure-test-${principal}`, write: capture });
  const client = {
    kafka,
    admin: kafka.admin(),
    producer: kafka.producer({ idempotent: true, maxInFlightRequests: 1 }),
    redis: redisClient(settings[principal].redis, { write: capture }),
  };
  clients.push(client);
  return client;
}

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write: (chunk: string | Uint8Array) => boolean = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return write(chunk);
    });
  }
  const started = await startStack({ secure: true });
  if (!started.secure) throw new Error('startStack({ secure: true }) returned a stack without secure settings');
  stack = { ...started, secure: started.secure };
  for (const principal of SECURE_PRINCIPALS) settings[principal] = readConnectionSettings(envOf(principal));
});

afterAll(async () => {
  await Promise.all(
    clients.map(async ({ admin, producer, redis }) => {
      await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
      redis.disconnect();
    }),
  );
  await stack?.stop();
  vi.restoreAllMocks();
});

const PARTITIONS = 3;
const T0 = 1_700_000_000_000;

const payments = source(
  'payment',
  z.object({ eventId: z.string(), eventTime: isoOrEpochMs, userId: z.string(), amount: z.number() }),
);
const paymentFeatures = featureSet({
  name: 'user_payments',
  entity: entity({ name: 'user', key: 'userId' }),
  source: payments,
  maxAge: duration.days(1),
  onlineExpiry: duration.days(1),
  features: {
    count_10m: count({ window: sliding(duration.minutes(10)) }),
    amount_sum_10m: sum('amount', { window: sliding(duration.minutes(10)) }),
  },
  requestFeatures: { amount_now: request((e: z.output<typeof payments.schema>) => e.amount) },
});
const service = featureService({ name: 'payments', featureSets: [paymentFeatures] });
/** A fixed logistic model over the stored and the request-time features. */
const model: ScoringModel = {
  name: 'secure-lr',
  featureNames: ['count_10m', 'amount_sum_10m', 'amount_now'],
  score: (row) => 1 / (1 + Math.exp(-(0.1 * row[0]! + 0.0001 * row[1]! + 0.001 * row[2]! - 2))),
};

describe('secure mode', () => {
  it(
    'runs events -> Kafka -> stream processor -> Redis -> /score with least-privileged principals; values ' +
      'equal a clean recomputation',
    async () => {
      const admin = connectAs('admin');
      await Promise.all([admin.admin.connect(), admin.producer.connect()]);
      const topic = `${SECURE_NAMING.inputTopicPrefix}${uniqueName('payments')}`;
      const group = `${SECURE_NAMING.processorGroupPrefix}${uniqueName('payments')}`;
      const namespace = uniqueName('secure');
      await createTopic(admin.admin, topic, PARTITIONS);
      const events = paymentStream({ count: 600, users: 30, start: T0, stepMs: 1_000, jitterMs: 10_000, seed: 19 });
      await produce(admin.producer, topic, PARTITIONS, [...events, { key: 'u0', body: '{"not json' }]);

      // The processor: its Kafka and Redis users only.
      const processorRedis = connectAs('processor').redis;
      const processor = featureSetProcessor(paymentFeatures);
      const instance = new StreamProcessor({
        topology: {
          topics: [topic],
          processor,
          allowedLateness: duration.seconds(30),
          // The processor may write (and create) dead-letter topics only under its prefix.
          deadLetterTopic: (source) => `${SECURE_NAMING.deadLetterTopicPrefix}${source}`,
        },
        kafka: settings.processor.kafka,
        store: new OnlineStore(processorRedis, { namespace, featureSets: service }),
        group,
        consumer: TEST_CONSUMER_TUNING,
        progressIntervalMs: 0,
        log: capture,
      });
      await instance.start();
      try {
        await waitUntilCaughtUp(
          new OnlineStore(admin.redis, { namespace, featureSets: service }),
          admin.admin,
          [{ group, topic }],
          { timeoutMs: 60_000 },
        );
      } finally {
        await instance.stop();
      }
      const expected = recompute(
        processor,
        events.map((e) => e.body),
        PARTITIONS,
      );
      const [letter] = await readDeadLetters(admin.kafka, `${SECURE_NAMING.deadLetterTopicPrefix}${topic}`, 1);
      expect(letter?.reason).toBe('malformed-json');

      // Serving: reads features with its read-only Redis user, logs served vectors with its Kafka user.
      const servingStore = new OnlineStore(connectAs('serving').redis, { namespace, featureSets: service });
      expect(await onlineValues(servingStore, paymentFeatures.name, [...expected.keys()])).toEqual(expected);
      const servedTopic = `${SECURE_NAMING.servedTopicPrefix}${uniqueName('vectors')}`;
      const log = await KafkaServedLog.connect({
        brokers: settings.serving.kafka.brokers,
        kafka: settings.serving.kafka,
        topic: servedTopic,
        partitions: 1,
      });
      const app = createServingApp({
        store: servingStore,
        featureSets: service,
        model,
        fallbacks: { count_10m: 0, amount_sum_10m: 0, amount_now: 0 },
        clock: (req) => processingTime(req.eventTime),
        log,
      });
      try {
        const [userId, stored] = [...expected][0]!;
        const lastTime = Math.max(...events.map((e) => e.body.eventTime));
        const response = await app.inject({
          method: 'POST',
          url: '/score',
          payload: { eventId: 'score-1', eventTime: lastTime, userId, amount: 70 },
        });
        expect(response.statusCode).toBe(200);
        const scored = response.json<ScoreResponse>();
        expect(scored.fallbacks).toEqual([]);
        expect(scored.features.count_10m?.value).toBe(stored.count_10m);
        expect(scored.features.amount_sum_10m?.value).toBe(stored.amount_sum_10m);
        expect(scored.score).toBeCloseTo(
          model.score([stored.count_10m as number, stored.amount_sum_10m as number, 70]),
          12,
        );
      } finally {
        await app.close();
        await log.close();
      }
      const [served] = await admin.admin.fetchTopicOffsets(servedTopic);
      expect(served?.high).toBe('1');
    },
  );

  it(
    'serving: reads features but cannot write them (NOPERM), cannot produce to an input topic, can write ' +
      'served-vector logs',
    async () => {
      const { redis, producer } = connectAs('serving');
      await producer.connect();
      await expect(redis.hset('rtml:shop:fs:payments_counts:u1', 'count', '1')).rejects.toThrow(/^NOPERM/);
      await expect(redis.del('rtml:shop:fs:payments_counts:u1')).rejects.toThrow(/^NOPERM/);
      await expect(redis.hgetall('rtml:shop:fs:payments_counts:u1')).resolves.toEqual({});
      await expect(redis.get('rtml:shop:stream:g:offsets:0')).rejects.toThrow(/^NOPERM/);
      const input = `${SECURE_NAMING.inputTopicPrefix}${uniqueName('orders')}`;
      const admin = connectAs('admin');
      await admin.admin.connect();
      await createTopic(admin.admin, input, 1);
      await expect(producer.send({ topic: input, messages: [{ value: 'forged' }] })).rejects.toThrow(/not authorized/i);
      const served = `${SECURE_NAMING.servedTopicPrefix}${uniqueName('vectors')}`;
      await createTopic(admin.admin, served, 1);
      await expect(producer.send({ topic: served, acks: -1, messages: [{ value: '{}' }] })).resolves.toHaveLength(1);
    },
  );

  it('processor: nothing outside its keys, topics and groups is reachable', async () => {
    const { redis, producer } = connectAs('processor');
    await producer.connect();
    await expect(redis.set('rtml:shop:stream:g:meta:0', '1')).resolves.toBe('OK');
    await expect(redis.set('sessions:u1', 'x')).rejects.toThrow(/^NOPERM/);
    await expect(redis.get('rtml:shop:other:u1')).rejects.toThrow(/^NOPERM/);
    await expect(redis.flushall()).rejects.toThrow(/^NOPERM/);
    await expect(redis.config('GET', 'requirepass')).rejects.toThrow(/^NOPERM/);
    const admin = connectAs('admin');
    await admin.admin.connect();
    const input = `${SECURE_NAMING.inputTopicPrefix}${uniqueName('clicks')}`;
    const served = `${SECURE_NAMING.servedTopicPrefix}${uniqueName('vectors')}`;
    await Promise.all([createTopic(admin.admin, input, 1), createTopic(admin.admin, served, 1)]);
    // Its inputs are read-only to it, other principals' topics closed.
    await expect(producer.send({ topic: input, messages: [{ value: 'x' }] })).rejects.toThrow(/not authorized/i);
    await expect(producer.send({ topic: served, messages: [{ value: 'x' }] })).rejects.toThrow(/not authorized/i);
    // A consumer group outside `processor.*` is refused at its first request. kafkajs reports only "Failed to find
    // group coordinator" (it tries the next broker and drops the reason); its debug log holds the broker's answer.
    const brokerAnswers: string[] = [];
    const watched = kafkaClient(settings.processor.kafka, {
      clientId: 'secure-test-outsider',
      logLevel: logLevel.DEBUG,
      logCreator:
        () =>
        ({ log }) => {
          const error = log.error as { type?: string } | string | undefined;
          if (error) brokerAnswers.push(typeof error === 'string' ? error : String(error.type));
        },
    });
    const outsider = watched.consumer({ groupId: uniqueName('other-group'), ...TEST_CONSUMER_TUNING });
    await outsider.connect();
    try {
      await outsider.subscribe({ topic: input, fromBeginning: true });
      await expect(
        new Promise((_, reject) => {
          outsider.on(outsider.events.CRASH, ({ payload }) => reject(payload.error));
          void outsider.run({ eachMessage: async () => undefined }).catch(reject);
        }),
      ).rejects.toThrow(/group coordinator/i);
      expect(brokerAnswers).toContain('GROUP_AUTHORIZATION_FAILED');
    } finally {
      await outsider.disconnect();
    }
  });
});

describe('the stream CLI in secure mode', () => {
  it(
    'runs as `processor` (dead letters under dlq.*); its output, /metrics, /healthz and /readyz never show ' +
      'a password',
    async () => {
      const admin = connectAs('admin');
      await Promise.all([admin.admin.connect(), admin.producer.connect()]);
      const topic = `${SECURE_NAMING.inputTopicPrefix}${uniqueName('cli')}`;
      await createTopic(admin.admin, topic, 1);
      const events = paymentStream({ count: 50, users: 5, start: T0, stepMs: 1_000, jitterMs: 0, seed: 7 }).map(
        (e) => ({
          ...e,
          body: { ...e.body, merchantId: 'm1' },
        }),
      );
      await produce(admin.producer, topic, 1, events);
      const port = await freePort();
      const { KAFKA_BROKERS: brokers, REDIS_URL: redisUrl, ...security } = envOf('processor') as Record<string, string>;
      const [group, namespace] = [`${SECURE_NAMING.processorGroupPrefix}${uniqueName('cli')}`, uniqueName('cli')];
      const cli = spawnCli(
        [...processorRun(topic, group, namespace), '--metrics-port', String(port)],
        { brokers: brokers!, redisUrl: redisUrl! },
        security,
      );
      try {
        await cli.running;
        await waitUntilCaughtUp(
          new OnlineStore(admin.redis, { namespace, featureSets: service }),
          admin.admin,
          [{ group, topic }],
          { timeoutMs: 60_000 },
        );
        const pages = await Promise.all(
          ['/metrics', '/healthz', '/readyz'].map(async (path) =>
            (await fetch(`http://127.0.0.1:${port}${path}`)).text(),
          ),
        );
        printed.push(...pages);
        expect(pages[0]).toMatch(/\d/);
      } finally {
        cli.child.kill('SIGTERM');
        await cli.exited;
        printed.push(cli.stdout(), cli.stderr());
      }
      expect(cli.stderr()).not.toMatch(/\n\s+at /);
    },
  );
});

describe('a secured Redis Cluster (TLS on client port, bus and replication; the same ACL users)', () => {
  let cluster: NativeRedisCluster | undefined;
  let clusterDir: string;
  const clusterEnv = (principal: SecurePrincipal): Record<string, string> =>
    secureClusterEnvironment({ ...stack, redisClusterNodes: cluster!.nodes }, principal);
  const clusterClients: (Redis | Cluster)[] = [];
  const clusterRedis = (principal: SecurePrincipal) => {
    const redis = redisClient(readConnectionSettings(clusterEnv(principal)).redis, { write: capture });
    clusterClients.push(redis);
    return redis;
  };

  beforeAll(async () => {
    clusterDir = mkdtempSync(join(tmpdir(), 'rtml-secure-cluster-'));
    cluster = await startNativeRedisCluster(clusterDir, { security: secureRedisCluster(stack.secure, clusterDir) });
  });
  afterAll(async () => {
    clusterClients.forEach((redis) => redis.disconnect());
    await Promise.all((cluster?.servers ?? []).map((server) => stopProcess(server.pid)));
    rmSync(clusterDir, { recursive: true, force: true });
  });

  it(
    'the stream CLI runs as `processor` with REDIS_CLUSTER_NODES; `serving` reads values equal to a clean ' +
      'recomputation, and cannot write',
    async () => {
      const admin = connectAs('admin');
      await Promise.all([admin.admin.connect(), admin.producer.connect()]);
      const topic = `${SECURE_NAMING.inputTopicPrefix}${uniqueName('cluster')}`;
      const [group, namespace] = [`${SECURE_NAMING.processorGroupPrefix}${uniqueName('cluster')}`, uniqueName('cl')];
      await createTopic(admin.admin, topic, PARTITIONS);
      const events = paymentStream({ count: 300, users: 40, start: T0, stepMs: 1_000, jitterMs: 0, seed: 23 }).map(
        (e) => ({ ...e, body: { ...e.body, merchantId: `m${e.body.eventId.length % 3}` } }),
      );
      await produce(admin.producer, topic, PARTITIONS, events);
      const { KAFKA_BROKERS: brokers, REDIS_CLUSTER_NODES: nodes, ...security } = clusterEnv('processor');
      const cli = spawnCli(
        processorRun(topic, group, namespace),
        { brokers: brokers!, redisClusterNodes: nodes! },
        security,
      );
      const serving = new OnlineStore(clusterRedis('serving'), { namespace, featureSets: [userTransactionFeatures] });
      try {
        await cli.running;
        // Checkpoints are the processor's: `serving` may not read them, `admin` checks progress.
        const progress = new OnlineStore(clusterRedis('admin'), { namespace, featureSets: [userTransactionFeatures] });
        await waitUntilCaughtUp(progress, admin.admin, [{ group, topic }], { timeoutMs: 60_000 });
      } finally {
        cli.child.kill('SIGTERM');
        await cli.exited;
        printed.push(cli.stdout(), cli.stderr());
      }
      expect(cli.stderr()).not.toMatch(/NOPERM|\n\s+at /);
      const expected = recompute(
        featureSetProcessor(userTransactionFeatures),
        events.map((e) => transactions.schema.parse(e.body)),
        PARTITIONS,
      );
      expect(expected.size).toBeGreaterThan(30); // keys on every primary: the client routed across the cluster
      expect(await onlineValues(serving, userTransactionFeatures.name, [...expected.keys()])).toEqual(expected);
      const [someone] = expected.keys();
      const key = `rtml:${namespace}:fs:${userTransactionFeatures.name}:${someone}`;
      await expect(clusterRedis('serving').hset(key, 'txn_count_1h', '0')).rejects.toThrow(/^NOPERM/);
    },
  );

  it('an ACL user without CLUSTER SLOTS and CLUSTER INFO: the preflight says which to grant', async () => {
    const password = 'no-cluster-commands-1';
    for (const server of cluster!.servers) {
      const node = new IORedis(server.url, {
        tls: { ca: readFileSync(stack.secure.caFile) },
        username: 'admin',
        password: readSecurePassword(stack.secure, 'admin'),
      });
      try {
        await node.call(
          'ACL',
          'SETUSER',
          'reader',
          'on',
          `>${password}`,
          '~rtml:*:fs:*',
          '-@all',
          '+@read',
          '+@connection',
          '+info',
        );
      } finally {
        node.disconnect();
      }
    }
    const { REDIS_PASSWORD_FILE: _file, ...env } = clusterEnv('serving');
    const reader = readConnectionSettings({ ...env, REDIS_USERNAME: 'reader', REDIS_PASSWORD: password });
    await expect(checkConnections({ redis: reader.redis }, { timeoutMs: 5_000 })).rejects.toThrow(
      /denied a CLUSTER command \(NOPERM.*cluster\|(slots|info).*grant the ACL user \+cluster\|slots \+cluster\|info$/,
    );
  });
});

describe('the fraud scenario in secure mode', () => {
  /**
   * What a run measures; only its timings differ from run to run (wall seconds, and the replay's work and commit
   * times).
   */
  const measured = ({ seconds: _timings, replayWork: { segments }, ...values }: ScenarioResult) => ({
    ...values,
    segments,
  });

  // `admin` sets up: creates and deletes the run's topics, produces its events, materializes the batch store
  // (offline -> Redis) and reads the served-vector logs back; the stream and the endpoints run least-privileged.
  it(
    'tiny size, processors as `processor`, endpoints as `serving`: every table, metric and score equals the ' +
      'plain-mode run',
    { timeout: 600_000 },
    async () => {
      const options = { size: 'tiny', seed: 42, batchIntervalMinutes: 180, log: capture } as const;
      const plain = await runScenario({
        ...options,
        connections: readConnectionSettings({ KAFKA_BROKERS: inject('kafkaBrokers'), REDIS_URL: inject('redisUrl') }),
      });
      const secure = await runScenario({
        ...options,
        connections: settings.admin,
        principals: { processor: settings.processor, serving: settings.serving },
      });
      expect(secure.counts.testRows).toBeGreaterThan(0);
      expect(secure.served.transactionIds).toHaveLength(secure.counts.testRows);
      expect(measured(secure)).toEqual(measured(plain));
    },
  );
});

describe('connection options', () => {
  it(
    'every SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and client certificates signed by the CA ' +
      'are accepted',
    async () => {
      const { clientCertFile, clientKeyFile } = stack.secure;
      for (const mechanism of ['plain', 'scram-sha-256', 'SCRAM-SHA-512']) {
        const env = {
          ...envOf('processor'),
          KAFKA_SASL_MECHANISM: mechanism,
          KAFKA_TLS_CERT_FILE: clientCertFile,
          KAFKA_TLS_KEY_FILE: clientKeyFile,
          REDIS_TLS_CERT_FILE: clientCertFile,
          REDIS_TLS_KEY_FILE: clientKeyFile,
        };
        await expect(
          checkConnections(readConnectionSettings(env), { timeoutMs: 5_000 }),
          mechanism,
        ).resolves.toBeUndefined();
      }
    },
  );
});

describe('refusals', () => {
  /** The ConnectionError a preflight check ends with for these settings. */
  async function refusal(env: Environment): Promise<string> {
    try {
      await checkConnections(readConnectionSettings(env), { timeoutMs: 5_000 });
    } catch (error) {
      return explainFailure(error);
    }
    throw new Error('the check passed');
  }

  const without = (env: Environment, ...names: string[]) =>
    Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));

  it('plain text to the TLS ports: one line per service naming the setting that turns TLS on', async () => {
    const env = envOf('processor');
    const message = await refusal({
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      REDIS_URL: env.REDIS_URL!.replace('rediss://', 'redis://'),
    });
    expect(message.split('\n')).toEqual([
      expect.stringMatching(
        /^Kafka at KAFKA_BROKERS=127\.0\.0\.1:\d+ closed the connection .*set KAFKA_TLS=true and KAFKA_TLS_CA_FILE$/,
      ),
      expect.stringMatching(
        /^Redis at REDIS_URL=redis:\/\/127\.0\.0\.1:\d+ closed the connection .*use a rediss:\/\/ URL$/,
      ),
    ]);
  });

  it('TLS without credentials: the variables to set', async () => {
    const message = await refusal(
      without(
        envOf('processor'),
        'KAFKA_SASL_MECHANISM',
        'KAFKA_SASL_USERNAME',
        'KAFKA_SASL_PASSWORD_FILE',
        'REDIS_USERNAME',
        'REDIS_PASSWORD_FILE',
      ),
    );
    expect(message.split('\n')).toEqual([
      expect.stringMatching(
        /closed the connection .*set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD$/,
      ),
      expect.stringMatching(/needs credentials \(NOAUTH .*set REDIS_USERNAME and REDIS_PASSWORD/),
    ]);
  });

  it('a wrong password: refused credentials, the password never shown', async () => {
    const wrong = 'wrong-password-b7f1c2';
    const message = await refusal({
      ...without(envOf('processor'), 'KAFKA_SASL_PASSWORD_FILE', 'REDIS_PASSWORD_FILE'),
      KAFKA_SASL_PASSWORD: wrong,
      REDIS_PASSWORD: wrong,
    });
    expect(message.split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          /^Kafka at .* as processor\) refused the credentials .*check /.source +
            /KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM$/.source,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          /^Redis at .* as processor\) refused the user name or password /.source +
            /\(WRONGPASS .*check REDIS_USERNAME and REDIS_PASSWORD/.source,
        ),
      ),
    ]);
    expect(message).not.toContain(wrong);
  });

  it('an untrusted CA: the certificate is not trusted, set the CA file', async () => {
    const message = await refusal(without(envOf('processor'), 'KAFKA_TLS_CA_FILE', 'REDIS_TLS_CA_FILE'));
    expect(message.split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          /^the TLS certificate of Kafka at .* is not trusted /.source +
            /\(.*certificate.*\): set KAFKA_TLS_CA_FILE to the CA that signed it$/.source,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          /^the TLS certificate of Redis at .* is not trusted /.source +
            /\(.*certificate.*\): set REDIS_TLS_CA_FILE to the CA that signed it$/.source,
        ),
      ),
    ]);
  });

  it('TLS to a port that does not speak it', async () => {
    const plain = await new Promise<Server>((resolve) => {
      const server = createServer((socket) => socket.end('-ERR plain text only\r\n'));
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
    try {
      const port = (plain.address() as { port: number }).port;
      const message = await refusal({
        ...envOf('processor'),
        KAFKA_BROKERS: `127.0.0.1:${port}`,
        REDIS_URL: `rediss://127.0.0.1:${port}`,
      });
      expect(message.split('\n')).toEqual([
        expect.stringMatching(
          /^Kafka at KAFKA_BROKERS=127\.0\.0\.1:\d+ .* does not speak TLS on that port .*set KAFKA_TLS=false/,
        ),
        expect.stringMatching(/^Redis at REDIS_URL=rediss:\/\/127\.0\.0\.1:\d+ .* does not speak TLS on that port/),
      ]);
    } finally {
      plain.close();
    }
  });

  it('running clients log a refusal as one line naming the setting, and a CLI ends on the same line', async () => {
    const wrong = {
      ...without(envOf('processor'), 'KAFKA_SASL_PASSWORD_FILE', 'REDIS_PASSWORD_FILE'),
      KAFKA_SASL_PASSWORD: 'not-the-password',
      REDIS_PASSWORD: 'not-the-password',
    };
    const wrongSettings = readConnectionSettings(wrong);
    const logged: string[] = [];
    const producer = kafkaClient(wrongSettings.kafka, {
      clientId: 'secure-test-refused',
      retry: { retries: 0 },
      write: (line) => logged.push(line),
    }).producer();
    const failure = await producer.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(explainFailure(failure)).toMatch(
      new RegExp(
        /^Kafka at KAFKA_BROKERS refused the credentials .*: check /.source +
          /KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM$/.source,
      ),
    );
    const redis = redisClient(wrongSettings.redis, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      write: (line) => logged.push(line),
    });
    // ioredis rejects connect() with a bare "Connection is closed."; the reason arrives as an error event (logged).
    await expect(redis.connect()).rejects.toThrow();
    redis.disconnect();
    expect(logged).toEqual([
      expect.stringMatching(
        new RegExp(
          /^\[kafka\] Kafka at KAFKA_BROKERS=\S+ \(TLS, CA \S+, SASL /.source +
            /scram-sha-512 as processor\) refused the credentials /.source,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          /^\[redis\] Redis at REDIS_URL=rediss:\/\/\S+ \(TLS, CA \S+, /.source +
            /as processor\) refused the user name or password \(WRONGPASS/.source,
        ),
      ),
    ]);
  });

  it(
    'a step run as the wrong principal: a topic it may not see or create is named with the setting to ' + 'check',
    async () => {
      const admin = connectAs('admin');
      await admin.admin.connect();
      const input = `${SECURE_NAMING.inputTopicPrefix}${uniqueName('hidden')}`;
      await createTopic(admin.admin, input, 1);
      // `serving` may not Describe events.*: to it the topic is not there, which must not read as "create it".
      const servingRedis = connectAs('serving').redis;
      const stream = new StreamProcessor({
        topology: {
          topics: [input],
          processor: featureSetProcessor(paymentFeatures),
          allowedLateness: duration.seconds(0),
        },
        kafka: settings.serving.kafka,
        store: new OnlineStore(servingRedis, { namespace: uniqueName('wrong'), featureSets: service }),
        group: `${SECURE_NAMING.processorGroupPrefix}${uniqueName('wrong')}`,
        log: capture,
      });
      await expect(stream.start()).rejects.toThrow(
        `input topic(s) ${input} do not exist or KAFKA_SASL_USERNAME=serving may not see them: create them as ` +
          `an admin user, or run as a user with Read and Describe on them`,
      );
      await stream.stop();
      const processor = connectAs('processor');
      await processor.admin.connect();
      const served = `${SECURE_NAMING.servedTopicPrefix}${uniqueName('not-mine')}`;
      const refused = await ensureTopics(processor.admin, [{ topic: served, numPartitions: 1 }]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(explainFailure(refused)).toMatch(
        new RegExp(
          `^Kafka at KAFKA_BROKERS denied the operation \\(cannot create Kafka topic ${served}: ` +
            `TOPIC_AUTHORIZATION_FAILED \\(.*\\)\\): the ACLs of KAFKA_SASL_USERNAME do not allow it$`,
        ),
      );
    },
  );

  it('a missing variable: named, before anything connects', () => {
    expect(() => readConnectionSettings(without(envOf('serving'), 'KAFKA_SASL_PASSWORD_FILE'))).toThrow(
      /^KAFKA_SASL_PASSWORD is not set \(needed with KAFKA_SASL_MECHANISM=scram-sha-512/,
    );
  });
});

/** The servers' own log files (format output, broker and Redis logs) of the secure stack. */
function serverLogs(): string[] {
  const dir = stack.runDir ?? '';
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.log'))
    .map((name) => readFileSync(join(dir, name), 'utf8'));
}

describe('secrets', () => {
  it(
    "a recorded secure stack: status prints a principal's settings with password files, and clients get " +
      "admin's by default",
    () => {
      const state = join(mkdtempSync(join(tmpdir(), 'secure-state-')), 'state.json');
      const { kafkaBrokers, redisUrl, mode, processes, runDir, secure } = stack;
      writeFileSync(state, JSON.stringify({ kafkaBrokers, redisUrl, mode, processes, runDir, secure }));
      const { KAFKA_BROKERS: _k, REDIS_URL: _r, ...env } = process.env;
      const status = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--conditions=source', DEVSTACK_CLI, 'status', '--as', 'serving'],
        { env: { ...env, RTML_DEVSTACK_STATE: state }, encoding: 'utf8' },
      );
      printed.push(status.stdout, status.stderr);
      expect(status.status).toBe(0);
      const exported = Object.fromEntries(
        status.stdout
          .trim()
          .split('\n')
          .map((line) => line.replace(/^export /, '').split('=', 2) as [string, string]),
      );
      expect(exported).toEqual({ ...envOf('serving') });
      expect(readConnectionSettings(exported).redis.username).toBe('serving');
      // One shell, a secure stack's exports then a plain stack's: no TLS, SASL or ACL setting may linger.
      const plainState = join(dirname(state), 'plain.json');
      writeFileSync(plainState, JSON.stringify({ kafkaBrokers, redisUrl, mode, processes, runDir }));
      const cli = `"${process.execPath}" --import tsx --conditions=source "${DEVSTACK_CLI}" status`;
      const shell = spawnSync(
        'bash',
        [
          '-c',
          `eval "$(RTML_DEVSTACK_STATE=${state} ${cli} --as serving)"; eval ` +
            `"$(RTML_DEVSTACK_STATE=${plainState} ${cli})"; env`,
        ],
        { env, encoding: 'utf8' },
      );
      printed.push(shell.stdout, shell.stderr);
      expect(
        shell.stdout
          .split('\n')
          .filter((line) => /^(KAFKA|REDIS)_/.test(line))
          .sort(),
      ).toEqual([`KAFKA_BROKERS=${kafkaBrokers}`, `REDIS_URL=${redisUrl}`]);
      process.env.RTML_DEVSTACK_STATE = state;
      try {
        expect(withRecordedStack({})).toEqual(envOf('admin'));
      } finally {
        delete process.env.RTML_DEVSTACK_STATE;
      }
    },
  );

  it('password files and server configs holding secrets are owner-only; Redis keeps only hashes', () => {
    const dir = stack.runDir ?? '';
    for (const file of [
      ...SECURE_PRINCIPALS.map((p) => join(stack.secure.secretsDir, p)),
      join(dir, 'kafka', 'server.properties'),
      join(dir, 'redis', 'secure.conf'),
    ]) {
      expect((statSync(file).mode & 0o077).toString(8), file).toBe('0');
    }
    const redisConfig = readFileSync(join(dir, 'redis', 'secure.conf'), 'utf8');
    for (const principal of SECURE_PRINCIPALS)
      expect(redisConfig).not.toContain(readSecurePassword(stack.secure, principal));
    expect(redisConfig).toMatch(/^user serving on #[0-9a-f]{64} /m);
  });

  it(
    'no password appears in settings descriptions, inspected settings, anything this file printed or the ' +
      'servers logged',
    () => {
      const passwords = SECURE_PRINCIPALS.map((principal) => readSecurePassword(stack.secure, principal));
      const shown = SECURE_PRINCIPALS.flatMap((principal) => [
        describeKafka(settings[principal].kafka),
        describeRedis(settings[principal].redis),
        JSON.stringify(settings[principal]),
        inspect(settings[principal], { depth: 5 }),
        String(settings[principal].kafka.sasl?.password),
      ]);
      const logs = serverLogs();
      expect(printed.length).toBeGreaterThan(0);
      expect(logs.length).toBeGreaterThanOrEqual(3);
      for (const password of passwords) {
        expect(password.length).toBeGreaterThan(20);
        for (const text of [...shown, ...printed, ...logs]) expect(text).not.toContain(password);
      }
    },
  );
});
