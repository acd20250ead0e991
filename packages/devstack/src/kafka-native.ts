// Loads the fix for kafkajs' negative timers on idle connections (Node 24 TimeoutNegativeWarning), see @rtml/kafka.
import '@rtml/kafka';
import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import {
  commandExists,
  DevstackError,
  freePorts,
  progress,
  runLogged,
  runLoggedAsync,
  spawnServer,
  stopProcess,
  waitUntil,
} from './process.js';

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
      throw new DevstackError(
        'kafka: checking the JVM toolchain',
        `'${tool}' is not on PATH (install a JDK 17+ and Maven; .ci/run and scripts/setup.sh do this with apt-get)`,
      );
    }
  }
  mkdirSync(libDir, { recursive: true });
  const logFile = join(cacheRoot(), `kafka-${KAFKA_VERSION}`, 'mvn.log');
  progress(`resolving Apache Kafka ${KAFKA_VERSION} jars from Maven Central (first run only; log: ${logFile})`);
  runLogged(
    'kafka: resolving jars with Maven',
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      pomFile,
      `-Dkafka.version=${KAFKA_VERSION}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libDir}`,
      '-DincludeScope=runtime',
    ],
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
  /** The command line it was started with (fault tests restart a killed node with it). */
  argv: string[];
}

/** One KRaft node (broker+controller) of a quorum of `voters`; replication settings follow the quorum size. */
export interface KafkaNodeConfig {
  nodeId: number;
  brokerPort: number;
  controllerPort: number;
  /** `id@host:port` of every controller, this node included. */
  voters: string;
}

function serverProperties(
  dataDir: string,
  node: KafkaNodeConfig,
  brokerCount: number,
  overrides: Readonly<Record<string, string>> = {},
): string {
  // One broker: every topic has one replica. Three: the production shape (RF 3, writes need 2 in-sync replicas).
  const replicas = String(Math.min(brokerCount, 3));
  const minIsr = Number(replicas) >= 3 ? '2' : '1';
  const base: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': String(node.nodeId),
    'controller.quorum.voters': node.voters,
    listeners: `PLAINTEXT://127.0.0.1:${node.brokerPort},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.brokerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(dataDir, 'logs'),
    'num.partitions': '3',
    'auto.create.topics.enable': 'true',
    'default.replication.factor': replicas,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replicas,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': replicas,
    'share.coordinator.state.topic.min.isr': minIsr,
    // Fewer internal partitions and no join delay: faster first group join on a 2-core machine.
    'offsets.topic.num.partitions': '5',
    'transaction.state.log.num.partitions': '5',
    'group.initial.rebalance.delay.ms': '0',
  };
  return `${Object.entries({ ...base, ...overrides })
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
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
export async function startNativeKafka(
  runDir: string,
  opts: { timeoutMs?: number; variant?: KafkaVariant } = {},
): Promise<NativeKafka> {
  const [brokerPort, controllerPort] = (await freePorts(2)) as [number, number];
  const node = { nodeId: 1, brokerPort, controllerPort, voters: `1@127.0.0.1:${controllerPort}` };
  const [started] = await startKafkaQuorum(runDir, [node], opts.timeoutMs, opts.variant);
  return started!;
}

/**
 * Formats and starts the nodes, then waits until all of them are brokers answering metadata requests.
 * On failure no JVM is left running; the run dir keeps the logs named in the error.
 */
export async function startKafkaQuorum(
  runDir: string,
  nodes: readonly KafkaNodeConfig[],
  timeoutMs = 90_000,
  variant: KafkaVariant = {},
): Promise<NativeKafka[]> {
  const started = await startKafkaNodes(runDir, nodes, variant);
  const brokers = started.map((node) => node.brokers).join(',');
  const answers = () => (variant.answers ? variant.answers(brokers) : brokerAnswers(brokers, nodes.length));
  try {
    await waitUntil(`kafka: waiting for ${nodes.length} broker(s) to answer metadata requests`, answers, {
      timeoutMs,
      watched: started,
    });
  } catch (error) {
    await Promise.all(started.map((node) => stopProcess(node.pid)));
    throw error;
  }
  return started;
}

/** A JVM flag set per node: a small heap when several brokers share the machine. */
const jvmFlags = (nodeCount: number) => (nodeCount > 1 ? ['-Xms128m', '-Xmx384m'] : ['-Xms256m', '-Xmx1g']);

/** Formats and spawns KRaft nodes (each in `runDir/node-<id>` when there are several), all with one cluster id. */
async function startKafkaNodes(
  runDir: string,
  nodes: readonly KafkaNodeConfig[],
  variant: KafkaVariant,
): Promise<NativeKafka[]> {
  const libDir = resolveKafkaJars();
  const classpath = `${libDir}/*`;
  const clusterId = randomClusterId();
  const prepared = nodes.map((node) => {
    const nodeDir = nodes.length === 1 ? runDir : join(runDir, `node-${node.nodeId}`);
    mkdirSync(nodeDir, { recursive: true });
    const files = {
      props: join(nodeDir, 'server.properties'),
      log: join(nodeDir, 'kafka.log'),
      log4j: join(nodeDir, 'log4j2.yaml'),
    };
    const ports = { broker: node.brokerPort, controller: node.controllerPort };
    // Owner-only: a secure variant's properties hold SASL passwords.
    writeFileSync(files.props, serverProperties(nodeDir, node, nodes.length, variant.properties?.(ports)), {
      mode: 0o600,
    });
    writeFileSync(files.log4j, log4jConfig(join(nodeDir, 'server.log')));
    return { node, nodeDir, files };
  });
  progress(`kafka: formatting KRaft storage for ${nodes.length} node(s) in ${runDir}`);
  await Promise.all(
    prepared.map(({ files }) =>
      runLoggedAsync(
        'kafka: formatting storage',
        'java',
        [
          '-cp',
          classpath,
          `-Dlog4j2.configurationFile=${files.log4j}`,
          'kafka.tools.StorageTool',
          'format',
          `--cluster-id=${clusterId}`,
          '-c',
          files.props,
          ...(variant.formatArgs ?? []),
        ],
        files.log,
      ),
    ),
  );
  return prepared.map(({ node, files }) => {
    progress(
      `kafka: starting Apache Kafka ${KAFKA_VERSION} (KRaft node ${node.nodeId}) on 127.0.0.1:${node.brokerPort}`,
    );
    const child = spawnServer(
      'java',
      [
        ...jvmFlags(nodes.length),
        '-XX:+UseG1GC',
        '-XX:TieredStopAtLevel=1',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${files.log4j}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        files.props,
      ],
      files.log,
    );
    if (child.pid === undefined)
      throw new DevstackError('kafka: starting the broker', 'java could not be spawned', files.log);
    return {
      brokers: `127.0.0.1:${node.brokerPort}`,
      pid: child.pid,
      ports: [node.brokerPort, node.controllerPort],
      logFile: files.log,
      argv: child.spawnargs,
    };
  });
}

/** Whether `brokers` describe a cluster of at least `expected` brokers; throws while none is reachable. */
export async function brokerAnswers(brokers: string, expected = 1): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'devstack-probe',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length >= expected;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (what `kafka-storage random-uuid` prints).
 * One in 64 starts with "-", which is why it is passed as `--cluster-id=<id>`, never as a separate argument.
 */
export function randomClusterId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
}
