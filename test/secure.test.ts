import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import { logLevel, type Admin, type Kafka, type Producer } from 'kafkajs';
import { checkConnections, describeKafka, describeRedis, explainFailure, kafkaClient, readConnectionSettings, redisClient, type ConnectionSettings, type Environment } from '@rtml/connections';
import { readSecurePassword, SECURE_NAMING, SECURE_PRINCIPALS, secureEnvironment, startStack, type RunningStack, type SecurePrincipal, type SecureStackInfo } from '@rtml/devstack';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { StreamProcessor, waitUntilCaughtUp } from '@rtml/stream';
// The stream package's test harness is not part of its public API, hence the relative paths.
import { countingProcessor, type Payment } from '../packages/stream/src/testing/counting-processor.js';
import { createTopic, onlineValues, paymentStream, produce, readDeadLetters, recompute, TEST_CONSUMER_TUNING, uniqueName } from '../packages/stream/src/testing/harness.js';

/*
 * Issue #19 against real secured services: a secure dev stack of our own (TLS everywhere, SCRAM users and ACLs
 * on Kafka, ACL users on a TLS-only Redis), the pipeline end to end with the least-privileged principals, the
 * refusals a person sees, and no password anywhere in what the run printed.
 */

type SecureStack = RunningStack & { secure: SecureStackInfo };

/** Everything written to stdout/stderr while this file runs (still shown), scanned for secrets at the end. */
const printed: string[] = [];
const capture = (line: string) => printed.push(line);
let stack: SecureStack;
const settings = {} as Record<SecurePrincipal, ConnectionSettings>;
const clients: { kafka: Kafka; admin: Admin; producer: Producer; redis: Redis }[] = [];

function envOf(principal: SecurePrincipal): Environment {
  return secureEnvironment(stack, principal);
}

function connectAs(principal: SecurePrincipal) {
  const kafka = kafkaClient(settings[principal].kafka, { clientId: `secure-test-${principal}`, write: capture });
  const client = { kafka, admin: kafka.admin(), producer: kafka.producer({ idempotent: true, maxInFlightRequests: 1 }), redis: redisClient(settings[principal].redis, { write: capture }) };
  clients.push(client);
  return client;
}

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: string | Uint8Array) => boolean;
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
  await Promise.all(clients.map(async ({ admin, producer, redis }) => {
    await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
    redis.disconnect();
  }));
  await stack?.stop();
  vi.restoreAllMocks();
});

const PARTITIONS = 3;

describe('secure mode', () => {
  it('runs events -> Kafka -> stream processor -> Redis with the processor credentials; values equal a clean recomputation', async () => {
    const admin = connectAs('admin');
    await Promise.all([admin.admin.connect(), admin.producer.connect()]);
    const topic = `${SECURE_NAMING.inputTopicPrefix}${uniqueName('payments')}`;
    const group = `${SECURE_NAMING.processorGroupPrefix}${uniqueName('counts')}`;
    const namespace = uniqueName('secure');
    await createTopic(admin.admin, topic, PARTITIONS);
    const events = paymentStream({ count: 600, users: 30, start: 1_700_000_000_000, stepMs: 1_000, jitterMs: 10_000, seed: 19 });
    await produce(admin.producer, topic, PARTITIONS, [...events, { key: 'u0', body: '{"not json' }]);

    const processorClients = connectAs('processor');
    const processor = countingProcessor(60_000);
    const featureSets = { [processor.name]: { ttl: duration.days(1), maxAge: duration.days(3650) } };
    const instance = new StreamProcessor({
      brokers: settings.processor.kafka.brokers,
      kafka: settings.processor.kafka,
      redis: processorClients.redis,
      store: new OnlineStore(processorClients.redis, { namespace, featureSets }),
      group,
      topics: [topic],
      processor,
      allowedLateness: duration.seconds(30),
      // The processor may write (and create) dead-letter topics only under its prefix.
      deadLetterTopic: (source) => `${SECURE_NAMING.deadLetterTopicPrefix}${source}`,
      consumer: TEST_CONSUMER_TUNING,
      progressIntervalMs: 0,
      log: capture,
    });
    await instance.start();
    try {
      await waitUntilCaughtUp(admin.redis, admin.admin, [{ group, topic }], { namespace, timeoutMs: 60_000 });
    } finally {
      await instance.stop();
    }
    // Read back as `serving`, whose Redis user may only read feature keys.
    const servingStore = new OnlineStore(connectAs('serving').redis, { namespace, featureSets });
    const expected = recompute(processor, events.map((e) => e.body as Payment), PARTITIONS);
    expect(await onlineValues(servingStore, processor.name, [...expected.keys()])).toEqual(expected);
    const [letter] = await readDeadLetters(admin.kafka, `${SECURE_NAMING.deadLetterTopicPrefix}${topic}`, 1);
    expect(letter?.reason).toBe('malformed-json');
  });

  it('serving: reads features but cannot write them (NOPERM), cannot produce to an input topic, can write served-vector logs', async () => {
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
  });

  it('processor: nothing outside its keys, topics and groups is reachable', async () => {
    const { redis, producer, kafka } = connectAs('processor');
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
      logCreator: () => ({ log }) => {
        const error = log.error as { type?: string } | string | undefined;
        if (error) brokerAnswers.push(typeof error === 'string' ? error : String(error.type));
      },
    });
    const outsider = watched.consumer({ groupId: uniqueName('other-group'), ...TEST_CONSUMER_TUNING });
    await outsider.connect();
    try {
      await outsider.subscribe({ topic: input, fromBeginning: true });
      await expect(new Promise((_, reject) => {
        outsider.on(outsider.events.CRASH, ({ payload }) => reject(payload.error));
        void outsider.run({ eachMessage: async () => undefined }).catch(reject);
      })).rejects.toThrow(/group coordinator/i);
      expect(brokerAnswers).toContain('GROUP_AUTHORIZATION_FAILED');
    } finally {
      await outsider.disconnect();
    }
  });
});

describe('connection options', () => {
  it('SCRAM-SHA-256 and client certificates signed by the CA are accepted', async () => {
    const { clientCertFile, clientKeyFile } = stack.secure;
    const env = { ...envOf('processor'), KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_TLS_CERT_FILE: clientCertFile, KAFKA_TLS_KEY_FILE: clientKeyFile, REDIS_TLS_CERT_FILE: clientCertFile, REDIS_TLS_KEY_FILE: clientKeyFile };
    await expect(checkConnections(readConnectionSettings(env), { timeoutMs: 5_000 })).resolves.toBeUndefined();
  });
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

  const without = (env: Environment, ...names: string[]) => Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));

  it('plain text to the TLS ports: one line per service naming the setting that turns TLS on', async () => {
    const env = envOf('processor');
    const message = await refusal({ KAFKA_BROKERS: env.KAFKA_BROKERS, REDIS_URL: env.REDIS_URL!.replace('rediss://', 'redis://') });
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^Kafka at KAFKA_BROKERS=127\.0\.0\.1:\d+ closed the connection .*set KAFKA_TLS=true and KAFKA_TLS_CA_FILE$/),
      expect.stringMatching(/^Redis at REDIS_URL=redis:\/\/127\.0\.0\.1:\d+ closed the connection .*use a rediss:\/\/ URL$/),
    ]);
  });

  it('TLS without credentials: the variables to set', async () => {
    const message = await refusal(without(envOf('processor'), 'KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD_FILE', 'REDIS_USERNAME', 'REDIS_PASSWORD_FILE'));
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/closed the connection .*set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD$/),
      expect.stringMatching(/needs credentials \(NOAUTH .*set REDIS_USERNAME and REDIS_PASSWORD/),
    ]);
  });

  it('a wrong password: refused credentials, the password never shown', async () => {
    const wrong = 'wrong-password-b7f1c2';
    const message = await refusal({ ...without(envOf('processor'), 'KAFKA_SASL_PASSWORD_FILE', 'REDIS_PASSWORD_FILE'), KAFKA_SASL_PASSWORD: wrong, REDIS_PASSWORD: wrong });
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^Kafka at .* as processor\) refused the credentials .*check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM$/),
      expect.stringMatching(/^Redis at .* as processor\) refused the user name or password \(WRONGPASS .*check REDIS_USERNAME and REDIS_PASSWORD/),
    ]);
    expect(message).not.toContain(wrong);
  });

  it('an untrusted CA: the certificate is not trusted, set the CA file', async () => {
    const message = await refusal(without(envOf('processor'), 'KAFKA_TLS_CA_FILE', 'REDIS_TLS_CA_FILE'));
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^the TLS certificate of Kafka at .* is not trusted \(.*certificate.*\): set KAFKA_TLS_CA_FILE to the CA that signed it$/),
      expect.stringMatching(/^the TLS certificate of Redis at .* is not trusted \(.*certificate.*\): set REDIS_TLS_CA_FILE to the CA that signed it$/),
    ]);
  });

  it('TLS to a port that does not speak it', async () => {
    const plain = await new Promise<Server>((resolve) => {
      const server = createServer((socket) => socket.end('-ERR plain text only\r\n'));
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
    try {
      const port = (plain.address() as { port: number }).port;
      const message = await refusal({ ...envOf('processor'), KAFKA_BROKERS: `127.0.0.1:${port}`, REDIS_URL: `rediss://127.0.0.1:${port}` });
      expect(message.split('\n')).toEqual([
        expect.stringMatching(/^Kafka at KAFKA_BROKERS=127\.0\.0\.1:\d+ .* does not speak TLS on that port .*set KAFKA_TLS=false/),
        expect.stringMatching(/^Redis at REDIS_URL=rediss:\/\/127\.0\.0\.1:\d+ .* does not speak TLS on that port/),
      ]);
    } finally {
      plain.close();
    }
  });

  it('running clients log a refusal as one line naming the setting, and a CLI ends on the same line', async () => {
    const wrong = { ...without(envOf('processor'), 'KAFKA_SASL_PASSWORD_FILE', 'REDIS_PASSWORD_FILE'), KAFKA_SASL_PASSWORD: 'not-the-password', REDIS_PASSWORD: 'not-the-password' };
    const wrongSettings = readConnectionSettings(wrong);
    const logged: string[] = [];
    const producer = kafkaClient(wrongSettings.kafka, { clientId: 'secure-test-refused', retry: { retries: 0 }, write: (line) => logged.push(line) }).producer();
    const failure = await producer.connect().then(() => undefined, (error: unknown) => error);
    expect(explainFailure(failure)).toMatch(/^Kafka at KAFKA_BROKERS refused the credentials .*: check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM$/);
    const redis = redisClient(wrongSettings.redis, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, write: (line) => logged.push(line) });
    // ioredis rejects connect() with a bare "Connection is closed."; the reason arrives as an error event (logged).
    await expect(redis.connect()).rejects.toThrow();
    redis.disconnect();
    expect(logged).toEqual([
      expect.stringMatching(/^\[kafka\] Kafka at KAFKA_BROKERS=\S+ \(TLS, CA \S+, SASL scram-sha-512 as processor\) refused the credentials /),
      expect.stringMatching(/^\[redis\] Redis at REDIS_URL=rediss:\/\/\S+ \(TLS, CA \S+, as processor\) refused the user name or password \(WRONGPASS/),
    ]);
  });

  it('a missing variable: named, before anything connects', () => {
    expect(() => readConnectionSettings(without(envOf('serving'), 'KAFKA_SASL_PASSWORD_FILE'))).toThrow(/^KAFKA_SASL_PASSWORD is not set \(needed with KAFKA_SASL_MECHANISM=scram-sha-512/);
  });
});

/** The servers' own log files (format output, broker and Redis logs) of the secure stack. */
function serverLogs(): string[] {
  const dir = stack.runDir ?? '';
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.log')).map((name) => readFileSync(join(dir, name), 'utf8'));
}

describe('secrets', () => {
  it('no password appears in settings descriptions, inspected settings, anything this file printed or the servers logged', () => {
    const passwords = SECURE_PRINCIPALS.map((principal) => readSecurePassword(stack.secure, principal));
    const shown = SECURE_PRINCIPALS.flatMap((principal) => [describeKafka(settings[principal].kafka), describeRedis(settings[principal].redis), JSON.stringify(settings[principal]), inspect(settings[principal], { depth: 5 }), String(settings[principal].kafka.sasl?.password)]);
    const logs = serverLogs();
    expect(printed.length).toBeGreaterThan(0);
    expect(logs.length).toBeGreaterThanOrEqual(3);
    for (const password of passwords) {
      expect(password.length).toBeGreaterThan(20);
      for (const text of [...shown, ...printed, ...logs]) expect(text).not.toContain(password);
    }
  });
});
