import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { commandExists, DevstackError, freePort, progress, runLogged, spawnServer, waitUntil } from './process.js';

/** The broker version; kept in one place with kafka/pom.xml (its <kafka.version>). */
export const KAFKA_VERSION = '4.1.1';

const pomFile = join(dirname(fileURLToPath(import.meta.url)), '..', 'kafka', 'pom.xml');

export function cacheRoot(): string {
  return process.env.RTML_CACHE_DIR ?? join(homedir(), '.cache', 'rtml');
}

/**
 * Resolves the broker's jars from Maven Central into the cache, once.
 * A marker file is written last so an interrupted download is retried, not half-used.
 */
export function resolveKafkaJars(): string {
  const libDir = join(cacheRoot(), `kafka-${KAFKA_VERSION}`, 'libs');
  const marker = join(libDir, '.complete');
  if (existsSync(marker)) return libDir;
  for (const tool of ['java', 'mvn']) {
    if (!commandExists(tool)) {
      throw new DevstackError('kafka: checking the JVM toolchain', `'${tool}' is not on PATH (install a JDK 17+ and Maven; .ci/run and scripts/setup.sh do this with apt-get)`);
    }
  }
  mkdirSync(libDir, { recursive: true });
  const logFile = join(cacheRoot(), `kafka-${KAFKA_VERSION}`, 'mvn.log');
  progress(`resolving Apache Kafka ${KAFKA_VERSION} jars from Maven Central (first run only; log: ${logFile})`);
  runLogged(
    'kafka: resolving jars with Maven',
    'mvn',
    ['-B', '-q', '-f', pomFile, `-Dkafka.version=${KAFKA_VERSION}`, 'dependency:copy-dependencies', `-DoutputDirectory=${libDir}`, '-DincludeScope=runtime'],
    logFile,
  );
  const jars = readdirSync(libDir).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => f.startsWith('kafka_2.13-'))) {
    throw new DevstackError('kafka: resolving jars with Maven', 'the broker jar is missing after mvn ran', logFile);
  }
  writeFileSync(marker, `${jars.length} jars\n`);
  return libDir;
}

export interface NativeKafka {
  brokers: string;
  pid: number;
  ports: number[];
  logFile: string;
}

function serverProperties(dataDir: string, ports: KafkaPorts, overrides: Readonly<Record<string, string>> = {}): string {
  const base: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${ports.controller}`,
    listeners: `PLAINTEXT://127.0.0.1:${ports.broker},CONTROLLER://127.0.0.1:${ports.controller}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${ports.broker}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(dataDir, 'logs'),
    'num.partitions': '3',
    'auto.create.topics.enable': 'true',
    // A single broker: every internal topic has one replica.
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // Fewer internal partitions and no join delay: faster first group join on a 2-core machine.
    'offsets.topic.num.partitions': '5',
    'transaction.state.log.num.partitions': '5',
    'group.initial.rebalance.delay.ms': '0',
  };
  return `${Object.entries({ ...base, ...overrides }).map(([key, value]) => `${key}=${value}`).join('\n')}\n`;
}

export interface KafkaPorts {
  readonly broker: number;
  readonly controller: number;
}

/** How a variant of the broker (secure mode) differs from the plain one; each part is optional. */
export interface KafkaVariant {
  /** server.properties entries replacing or joining the plain ones (listeners, TLS, SASL, authorizer). */
  properties?(ports: KafkaPorts): Record<string, string>;
  /** Extra `StorageTool format` arguments (SCRAM users: `--add-scram`). */
  readonly formatArgs?: readonly string[];
  /** Readiness probe instead of a plain metadata request. */
  answers?(brokers: string): Promise<boolean>;
}

const log4jConfig = (logFile: string) => `Configuration:
  Appenders:
    File:
      name: FILE
      fileName: "${logFile}"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: FILE
    Logger:
      - name: org.apache.kafka
        level: WARN
      - name: kafka
        level: WARN
      - name: kafka.server.KafkaRaftServer
        level: INFO
`;

/** Starts a single-node KRaft broker+controller on free loopback ports and waits until it answers metadata requests. */
export async function startNativeKafka(runDir: string, opts: { timeoutMs?: number; variant?: KafkaVariant } = {}): Promise<NativeKafka> {
  const variant = opts.variant ?? {};
  const libDir = resolveKafkaJars();
  const classpath = `${libDir}/*`;
  mkdirSync(runDir, { recursive: true });
  const [brokerPort, controllerPort] = [await freePort(), await freePort()];
  const ports = { broker: brokerPort, controller: controllerPort };
  const propsFile = join(runDir, 'server.properties');
  const logFile = join(runDir, 'kafka.log');
  const log4jFile = join(runDir, 'log4j2.yaml');
  // Owner-only: a secure variant's properties hold SASL passwords.
  writeFileSync(propsFile, serverProperties(runDir, ports, variant.properties?.(ports)), { mode: 0o600 });
  writeFileSync(log4jFile, log4jConfig(join(runDir, 'server.log')));

  progress(`kafka: formatting KRaft storage in ${runDir}`);
  const clusterId = randomClusterId();
  runLogged('kafka: formatting storage', 'java', ['-cp', classpath, `-Dlog4j2.configurationFile=${log4jFile}`, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', propsFile, ...(variant.formatArgs ?? [])], logFile);

  progress(`kafka: starting Apache Kafka ${KAFKA_VERSION} (KRaft) on 127.0.0.1:${brokerPort}`);
  const child = spawnServer(
    'java',
    ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4jFile}`, '-cp', classpath, 'kafka.Kafka', propsFile],
    logFile,
  );
  const pid = child.pid;
  if (pid === undefined) throw new DevstackError('kafka: starting the broker', 'java could not be spawned', logFile);
  const brokers = `127.0.0.1:${brokerPort}`;
  await waitUntil('kafka: waiting for the broker to answer metadata requests', () => (variant.answers ?? brokerAnswers)(brokers), {
    timeoutMs: opts.timeoutMs ?? 90_000,
    pid,
    logFile,
  });
  return { brokers, pid, ports: [brokerPort, controllerPort], logFile };
}

export async function brokerAnswers(brokers: string): Promise<boolean> {
  const admin = new Kafka({ clientId: 'devstack-probe', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (what `kafka-storage random-uuid` prints).
 * One in 64 starts with "-", which is why it is passed as `--cluster-id=<id>`, never as a separate argument.
 */
function randomClusterId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
}
