/**
 * Stream processor throughput and freshness, against a bare kafkajs consumer and Kafka Streams measured in the same
 * run.
 *   npx tsx --conditions=source bench/stream-throughput.ts            # small (CI): 20k events, 1k/s for 5 s
 *   npx tsx --conditions=source bench/stream-throughput.ts --full     # 200k events, 10k/s for 10 s
 *   ... --cpu-profile out.cpuprofile   # V8 CPU profile of the processor's bulk phase only (DevTools, speedscope)
 *   ... --ks-runs 4 --ks-variants dsl,processor|none   # Kafka Streams runs per JVM (first cold) and variants
 * Feature logic: the shared engine with the reference `user_txn` feature set (8 aggregates, 3 sliding windows).
 * The Kafka Streams peer (bench/kafka-streams, JVM) computes the same aggregates from the same topic; its output for a
 * sample of users must equal ours in Redis, or the script fails.
 * Besides wall-clock rates it reports this process's CPU time per event for both consumers: on a shared machine
 * wall time swings with other load, CPU per event much less (Redis's and Kafka's own CPU are not included).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { Redis } from 'ioredis';
import type { Consumer, Producer } from 'kafkajs';
import { kafkaClient, redisClient } from '@rtml/connections';
import { duration } from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import { deleteNamespace, isCluster, OnlineStore } from '@rtml/online-store';
import { DEFAULT_CHECKPOINT, featureSetProcessor, StreamProcessor, type RecentSamples } from '@rtml/stream';
import { benchConnections, isSecured } from './lib/connections.js';
import { benchCommand, DEV_STACK_ENVIRONMENT, emit, parseCommand, summarize, type Summary } from './lib/index.js';
import {
  buildKafkaStreamsPeer,
  compareWithOurs,
  KAFKA_STREAMS_VARIANTS,
  runKafkaStreams,
  type KafkaStreamsRun,
  type KafkaStreamsVariant,
} from './lib/kafka-streams.js';

const command = benchCommand(
  'stream-throughput',
  'Stream processor -> Redis throughput and freshness vs a bare kafkajs consumer and Kafka Streams, ' +
    'same topic, same run',
  DEV_STACK_ENVIRONMENT,
)
  .option('--cpu-profile <file>', "write a V8 CPU profile of the processor's bulk phase")
  .option('--ks-runs <n>', 'Kafka Streams runs per variant in one JVM (the first is cold; default 2, 4 with --full)')
  .option(
    '--ks-variants <list>',
    `Kafka Streams variants, comma-separated: ${KAFKA_STREAMS_VARIANTS.join(', ')}, or none`,
    KAFKA_STREAMS_VARIANTS.join(','),
  )
  .option(
    '--checkpoint-interval-ms <ms>',
    `the processor's checkpoint interval (default ${DEFAULT_CHECKPOINT.intervalMs})`,
  );
const args = parseCommand(command);
const CHECKPOINT_INTERVAL_MS = args.number('checkpoint-interval-ms', DEFAULT_CHECKPOINT.intervalMs);
const { full } = args;
const CPU_PROFILE = args.string('cpu-profile');
const KS_RUNS = args.number('ks-runs', full ? 4 : 2);
if (!Number.isInteger(KS_RUNS) || KS_RUNS < 1) command.error(`--ks-runs must be a positive integer (got ${KS_RUNS})`);
const KS_VARIANTS = kafkaStreamsVariants(args.string('ks-variants') ?? KAFKA_STREAMS_VARIANTS.join(','));
const EVENTS = full ? 200_000 : 20_000;
const RATE = full ? 10_000 : 1_000;
const RATE_SECONDS = full ? 10 : 5;
const PARTITIONS = 3;
const USERS = 10_000;
/** Users whose Kafka Streams output is compared with ours in Redis, feature by feature. */
const SAMPLE_USERS = Array.from({ length: 200 }, (_, i) => `user${i * (USERS / 200)}`);

function kafkaStreamsVariants(list: string): KafkaStreamsVariant[] {
  if (list === 'none') return [];
  const variants = list.split(',');
  const unknown = variants.filter((v) => !(KAFKA_STREAMS_VARIANTS as readonly string[]).includes(v));
  if (unknown.length > 0)
    command.error(`--ks-variants takes ${KAFKA_STREAMS_VARIANTS.join(', ')} or none, comma-separated (got ${list})`);
  return variants as KafkaStreamsVariant[];
}

const connections = benchConnections(command);
if (KS_VARIANTS.length > 0 && isSecured(connections.kafka)) {
  command.error(
    'the Kafka Streams peer is given plain brokers only; against a Kafka with TLS or SASL run with --ks-variants none',
  );
}
const { brokers } = connections.kafka;
const kafka = kafkaClient(connections.kafka, { clientId: 'bench-stream' });
const run = `bench-${Date.now().toString(36)}`;

function transaction(i: number, time: number) {
  return {
    eventId: `${run}-${i}`,
    eventTime: time,
    userId: `user${(i * 7919) % USERS}`,
    amount: (i * 37) % 500,
    merchantId: `m${i % 97}`,
  };
}

async function produceBulk(producer: Producer, topic: string, count: number): Promise<void> {
  const start = Date.now() - count; // one event per ms of event time, ending now
  for (let i = 0; i < count; i += 5_000) {
    const messages = Array.from({ length: Math.min(5_000, count - i) }, (_, k) => {
      const event = transaction(i + k, start + i + k);
      return { key: event.userId, value: JSON.stringify(event) };
    });
    await producer.send({ topic, messages });
  }
}

interface Measured {
  readonly rate: number;
  /** Process CPU (user + system) per event, microseconds. */
  readonly cpuUsPerEvent: number;
}

/** Redis server CPU (user + system) so far, microseconds: the fenced Lua commit runs there, on the same cores. */
async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^used_cpu_${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('user') + field('sys')) * 1e6;
}

function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * A consumer that only JSON-parses, the reference next to the processor. No offset commits: kafkajs would otherwise
 * wait for one after every batch before fetching again, which the processor never does.
 */
async function bareConsumer(
  group: string,
  topic: string,
  maxWaitTimeInMs: number,
  onBatch: (bodies: unknown[]) => void,
  onJoin?: () => void,
): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: `${run}-${group}`, maxWaitTimeInMs });
  if (onJoin) consumer.on(consumer.events.GROUP_JOIN, onJoin); // before run(), which may join before it returns
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) =>
      onBatch(batch.messages.map((message) => JSON.parse(message.value!.toString()) as unknown)),
  });
  return consumer;
}

async function rawConsume(topic: string, count: number): Promise<Measured> {
  const started = Date.now();
  const cpuStart = cpuUs();
  let seen = 0;
  let allSeen!: () => void;
  const finished = new Promise<void>((resolve) => (allSeen = resolve));
  const consumer = await bareConsumer('raw', topic, 100, (bodies) => {
    seen += bodies.length;
    if (seen >= count) allSeen();
  });
  await finished;
  const measured = { rate: count / ((Date.now() - started) / 1000), cpuUsPerEvent: (cpuUs() - cpuStart) / count };
  await consumer.disconnect();
  return measured;
}

function storeFor(redis: Redis, namespace: string): OnlineStore {
  return new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: userTransactionFeatures.name, onlineExpiry: duration.hours(1), maxAge: duration.hours(1) }],
  });
}

function processorFor(topic: string, redis: Redis, namespace: string) {
  const processor = featureSetProcessor(userTransactionFeatures);
  const store = storeFor(redis, namespace);
  return new StreamProcessor({
    topology: { topics: [topic], processor, allowedLateness: duration.seconds(5) },
    kafka: connections.kafka,
    store,
    group: `${run}-${namespace}`,
    checkpoint: { intervalMs: CHECKPOINT_INTERVAL_MS },
    consumer: { maxWaitTimeInMs: 20 },
    progressIntervalMs: 0,
  });
}

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfiler(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  await writeFile(file, JSON.stringify(profile));
  session.disconnect();
  console.log(`CPU profile of the processor's bulk phase written to ${file}`);
}

/** Event -> received latency of a bare consumer, for every message of `topic`. */
async function bareFreshness(
  topic: string,
): Promise<{ joined(): boolean; readonly latencies: readonly number[]; stop(): Promise<void> }> {
  const latencies: number[] = [];
  let joined = false;
  const record = (bodies: unknown[]) => {
    const now = Date.now();
    for (const body of bodies) latencies.push(now - (body as { eventTime: number }).eventTime);
  };
  const consumer = await bareConsumer('bare-freshness', topic, 20, record, () => (joined = true));
  return { joined: () => joined, latencies, stop: () => consumer.disconnect() };
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function appliedCount(stream: StreamProcessor<unknown, unknown>): Promise<number> {
  return (await stream.metrics.events.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function main(): Promise<void> {
  const admin = kafka.admin();
  const producer = kafka.producer();
  const redis = redisClient(connections.redis);
  // Redis CPU per event is read from one server's INFO: the cluster has its own bench.
  if (isCluster(redis))
    return command.error(
      'stream-throughput measures a single Redis (REDIS_URL); on a Redis Cluster run bench/cluster-throughput.ts',
    );
  await Promise.all([admin.connect(), producer.connect()]);
  const [bulkTopic, rateTopic] = [`${run}-bulk`, `${run}-rate`];
  await admin.createTopics({
    topics: [bulkTopic, rateTopic].map((topic) => ({ topic, numPartitions: PARTITIONS })),
    waitForLeaders: true,
  });
  try {
    await measure(producer, redis, bulkTopic, rateTopic);
  } finally {
    // Also after a failure (e.g. Kafka Streams disagreeing with ours): a shared Kafka and Redis keep only what
    // others wrote.
    // The peer deletes its own topics unless it failed.
    const peerTopics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${run}-ks-`));
    await admin
      .deleteTopics({ topics: [bulkTopic, rateTopic, `${bulkTopic}.dlq`, `${rateTopic}.dlq`, ...peerTopics] })
      .catch(() => undefined);
    for (const namespace of [`${run}-bulk`, `${run}-rate`]) await deleteNamespace(redis, namespace);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
    redis.disconnect();
  }
}

async function measure(producer: Producer, redis: Redis, bulkTopic: string, rateTopic: string): Promise<void> {
  console.log(`producing ${EVENTS} events to ${PARTITIONS} partitions...`);
  await produceBulk(producer, bulkTopic, EVENTS);
  const raw = await rawConsume(bulkTopic, EVENTS);

  const bulk = processorFor(bulkTopic, redis, `${run}-bulk`);
  const profiler = CPU_PROFILE === undefined ? undefined : await startProfiler();
  const started = Date.now();
  const cpuStart = cpuUs();
  const redisCpuStart = await redisCpuUs(redis);
  await bulk.start();
  await until(async () => (await appliedCount(bulk)) >= EVENTS);
  const processed: Measured = {
    rate: EVENTS / ((Date.now() - started) / 1000),
    cpuUsPerEvent: (cpuUs() - cpuStart) / EVENTS,
  };
  const redisCpuUsPerEvent = ((await redisCpuUs(redis)) - redisCpuStart) / EVENTS;
  if (profiler && CPU_PROFILE) await stopProfiler(profiler, CPU_PROFILE);
  await bulk.stop();
  const kafkaStreams = await kafkaStreamsPeer(bulkTopic, storeFor(redis, `${run}-bulk`));

  const live = processorFor(rateTopic, redis, `${run}-rate`);
  await live.start();
  // The reference: a bare consumer of the same events in the same process, measuring event -> received.
  const bare = await bareFreshness(rateTopic);
  // Both own their partitions before the clock starts (a consumer still joining would see a backlog).
  await until(async () => live.assignedPartitions().length === PARTITIONS && bare.joined());
  const total = RATE * RATE_SECONDS;
  for (let sent = 0, tick = Date.now(); sent < total; tick += 10) {
    const batch = Array.from({ length: Math.min(RATE / 100, total - sent) }, (_, k) =>
      transaction(sent + k, Date.now()),
    );
    void producer.send({ topic: rateTopic, messages: batch.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
    sent += batch.length;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, tick + 10 - Date.now())));
  }
  await until(async () => (await appliedCount(live)) >= total && bare.latencies.length >= total);
  const freshness = live.metrics.runFreshnessMs;
  const bareSummary = summarize(bare.latencies);
  await Promise.all([live.stop(), bare.stop()]);

  printTable(raw, processed, kafkaStreams);
  console.log(
    `Redis server CPU during the processor's bulk phase: ${redisCpuUsPerEvent.toFixed(1)} µs/event ` +
      '(includes any other client of this Redis)',
  );
  console.log(
    `freshness at ${RATE} events/s for ${RATE_SECONDS} s (${freshness.count} events): ` +
      `p50 ${freshness.percentile(50)} ms, p99 ${freshness.percentile(99)} ms`,
  );
  console.log(
    `  reference, event -> received by a bare kafkajs consumer: p50 ${bareSummary.p50} ms, p99 ${bareSummary.p99} ms`,
  );
  emitRows(raw, processed, redisCpuUsPerEvent, freshness, bareSummary);
  emitKafkaStreamsRows(processed, kafkaStreams);
}

/** Cold (first run in its JVM) and warm (the best later run) of one Kafka Streams variant. */
interface KafkaStreamsMeasured {
  readonly variant: KafkaStreamsVariant;
  readonly cold: Measured;
  readonly warm: Measured | undefined;
  readonly runs: readonly KafkaStreamsRun[];
}

const KS_LABEL: Record<KafkaStreamsVariant, string> = {
  dsl: 'Kafka Streams 4.1.1 DSL (record cache, one vector per touched user per commit)',
  processor: 'Kafka Streams 4.1.1 Processor API (one vector per event)',
};

function measuredRun(run: KafkaStreamsRun): Measured {
  return { rate: run.events / run.seconds, cpuUsPerEvent: (run.cpuSeconds * 1e6) / run.events };
}

/** Runs every variant on the bulk topic ours just processed and fails unless the sampled users' vectors equal ours. */
async function kafkaStreamsPeer(bulkTopic: string, ours: OnlineStore): Promise<KafkaStreamsMeasured[]> {
  if (KS_VARIANTS.length === 0) return [];
  const classpath = await buildKafkaStreamsPeer();
  const reads = await ours.readMany(userTransactionFeatures.name, SAMPLE_USERS);
  const oursByUser = new Map(reads.map((read) => [read.entityId, read.values ?? {}]));
  const measured: KafkaStreamsMeasured[] = [];
  for (const variant of KS_VARIANTS) {
    console.log(`Kafka Streams ${variant}: ${KS_RUNS} runs in one JVM on ${bulkTopic}...`);
    const runs = await runKafkaStreams(classpath, {
      brokers: brokers.join(','),
      input: bulkTopic,
      variant,
      runs: KS_RUNS,
      id: `${run}-ks`,
      sampleUsers: SAMPLE_USERS,
    });
    for (const r of runs) {
      const differences = compareWithOurs(r, oursByUser);
      if (differences.length > 0)
        throw new Error(
          `Kafka Streams and ours disagree (${differences.length}):\n${differences.slice(0, 20).join('\n')}`,
        );
      const cpuMicrosPerEvent = ((r.cpuSeconds * 1e6) / r.events).toFixed(1);
      console.log(
        `  run ${r.run}: ${Math.round(r.events / r.seconds)} events/s, ${cpuMicrosPerEvent} CPU µs/event, ` +
          `${r.outputRecords} output records; ${SAMPLE_USERS.length} sampled users equal ours`,
      );
    }
    const [first, ...later] = runs.map(measuredRun);
    const warm = later.reduce<Measured | undefined>(
      (best, m) => (best === undefined || m.rate > best.rate ? m : best),
      undefined,
    );
    measured.push({ variant, cold: first!, warm, runs });
  }
  return measured;
}

function printTable(raw: Measured, processed: Measured, kafkaStreams: readonly KafkaStreamsMeasured[]): void {
  const line = (m: Measured) => ({
    'events/s': Math.round(m.rate),
    'CPU µs/event': Number(m.cpuUsPerEvent.toFixed(1)),
    'ours / this (events/s)': Number((processed.rate / m.rate).toFixed(2)),
  });
  const rows: Record<string, ReturnType<typeof line>> = {
    'bare kafkajs consumer (JSON.parse only)': line(raw),
    'stream processor -> Redis (exactly-once)': line(processed),
  };
  for (const ks of kafkaStreams) {
    rows[`${KS_LABEL[ks.variant]}, cold`] = line(ks.cold);
    if (ks.warm) rows[`${KS_LABEL[ks.variant]}, warm (best of ${ks.runs.length - 1})`] = line(ks.warm);
  }
  console.table(rows);
}

/** Rows for bench/run.sh (format in bench/lib/report.ts); the targets are issue #15's. */
function emitRows(
  raw: Measured,
  processed: Measured,
  redisCpuUsPerEvent: number,
  freshness: RecentSamples,
  bare: Summary,
): void {
  const size = `${EVENTS} events, ${PARTITIONS} partitions`;
  emit({
    row: `stream -> Redis events/s vs bare kafkajs consume (${size})`,
    ours: processed.rate,
    reference: raw.rate,
    unit: 'events/s',
    better: 'higher',
    target: 0.33,
  });
  emit({
    row: `stream -> Redis CPU per event vs bare kafkajs consume (${size})`,
    ours: processed.cpuUsPerEvent,
    reference: raw.cpuUsPerEvent,
    unit: 'µs',
    better: 'lower',
    target: null,
  });
  emit({
    row: `stream -> Redis: Redis server CPU per event (${size})`,
    ours: redisCpuUsPerEvent,
    reference: null,
    unit: 'µs',
    better: 'lower',
    target: null,
  });
  for (const [p, target, reference] of [
    [50, null, bare.p50],
    [99, 0.5, bare.p99],
  ] as const) {
    const row = `freshness event -> Redis p${p} at ${RATE} events/s vs event -> bare kafkajs consumer`;
    emit({ row, ours: freshness.percentile(p) ?? Number.NaN, reference, unit: 'ms', better: 'lower', target });
  }
}

/** Target: ours >= 1.5x the best warm DSL run; cold runs and the Processor API variant are context. */
function emitKafkaStreamsRows(processed: Measured, kafkaStreams: readonly KafkaStreamsMeasured[]): void {
  const size = `${EVENTS} events, ${PARTITIONS} partitions, exactly_once_v2`;
  for (const ks of kafkaStreams) {
    const name = ks.variant === 'dsl' ? 'Kafka Streams DSL' : 'Kafka Streams Processor API';
    const phases: [string, Measured | undefined, number | null][] = [
      [`warm, best of ${ks.runs.length - 1}`, ks.warm, ks.variant === 'dsl' ? 1.5 : null],
      ['cold JVM', ks.cold, null],
    ];
    for (const [phase, measured, target] of phases) {
      if (!measured) continue;
      emit({
        row: `stream -> Redis events/s vs ${name} ${phase} (${size})`,
        ours: processed.rate,
        reference: measured.rate,
        unit: 'events/s',
        better: 'higher',
        target,
      });
      emit({
        row: `stream -> Redis CPU per event vs ${name} ${phase}, JVM process CPU (${size})`,
        ours: processed.cpuUsPerEvent,
        reference: measured.cpuUsPerEvent,
        unit: 'µs',
        better: 'lower',
        target: null,
      });
    }
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
