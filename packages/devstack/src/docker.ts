import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { StartedTestContainer } from 'testcontainers';
import { brokerAnswers, KAFKA_VERSION, randomClusterId } from './kafka-native.js';
import { DevstackError, isAlive, progress, waitUntil } from './process.js';
import { redisAnswers } from './redis-native.js';

type Testcontainers = typeof import('testcontainers');

/** True when a Docker engine answers (not just the CLI client, which our machines have without an engine). */
export function dockerEngineAnswers(): boolean {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 5000,
  });
  return result.status === 0 && result.stdout.toString().trim().length > 0;
}

/** The official images, unless RTML_REDIS_IMAGE / RTML_KAFKA_IMAGE name others (e.g. scripts/docker-images.sh's). */
export function containerImages(): { redis: string; kafka: string } {
  return {
    redis: process.env.RTML_REDIS_IMAGE || 'redis:7',
    kafka: process.env.RTML_KAFKA_IMAGE || `apache/kafka:${KAFKA_VERSION}`,
  };
}

/** Every container we start carries this label with its owner, `<host>:<pid>`, so leftovers can be found. */
export const OWNER_LABEL = 'rtml.devstack.owner';
/** And the id of its stack, so stopping one stack leaves another of the same process alone. */
const STACK_LABEL = 'rtml.devstack.stack';
const owner = `${hostname()}:${process.pid}`;

export interface ContainerStack {
  brokers: string;
  redisUrl: string;
  containerIds: string[];
  readonly stop: () => Promise<void>;
}

/**
 * Starts Redis and a single-node KRaft Kafka with testcontainers. Loaded lazily: machines without Docker never load it.
 * Ryuk (testcontainers' reaper) is off unless TESTCONTAINERS_RYUK_DISABLED says otherwise: its image must be pulled,
 * which fails without a registry. Instead `stop()`, an exit hook and signal handlers remove our containers, and the
 * next start removes containers whose owner process is gone (killed with SIGKILL).
 */
export async function startWithTestcontainers(): Promise<ContainerStack> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const tc = await import('testcontainers');
  removeOrphanedContainers();
  const images = containerImages();
  await Promise.all([
    ensureImage(tc, images.redis, 'RTML_REDIS_IMAGE'),
    ensureImage(tc, images.kafka, 'RTML_KAFKA_IMAGE'),
  ]);
  progress(`docker: starting ${images.redis} and ${images.kafka} (KRaft) with testcontainers`);
  const labels = { [OWNER_LABEL]: owner, [STACK_LABEL]: randomUUID() };
  const removeStackContainers = () => removeContainers(containerIds(`label=${STACK_LABEL}=${labels[STACK_LABEL]}`));
  const releaseGuard = guardAgainstLeftovers(removeStackContainers);
  const [redis, kafka] = await Promise.allSettled([
    startRedis(tc, images.redis, labels),
    startKafka(tc, images.kafka, labels),
  ]);
  const containers = [redis, kafka].flatMap((s) => (s.status === 'fulfilled' ? [s.value.container] : []));
  const stop = async () => {
    releaseGuard();
    // A signal may have removed them already (see guardAgainstLeftovers); what is left is removed below either way.
    await Promise.allSettled(containers.map((c) => c.stop()));
    removeStackContainers();
  };
  if (redis.status === 'rejected' || kafka.status === 'rejected') {
    await stop(); // also removes a container whose start failed half-way (not in `containers`)
    throw redis.status === 'rejected' ? redis.reason : (kafka as PromiseRejectedResult).reason;
  }
  return {
    brokers: kafka.value.endpoint,
    redisUrl: redis.value.endpoint,
    containerIds: containers.map((c) => c.getId()),
    stop,
  };
}

interface Service {
  container: StartedTestContainer;
  endpoint: string;
}

/** A clear error when the image is neither in the engine nor pullable (no registry in reach). */
async function ensureImage(tc: Testcontainers, image: string, variable: string): Promise<void> {
  const client = await tc.getContainerRuntimeClient();
  const name = tc.ImageName.fromString(image);
  if (await client.image.exists(name)) return;
  progress(`docker: pulling ${image}`);
  try {
    await client.image.pull(name);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new DevstackError(
      `docker: pulling ${image}`,
      `the image is not in the Docker engine and cannot be pulled (${reason}).\n` +
        '  Build local stand-ins with `eval "$(bash scripts/docker-images.sh)"`, ' +
        `or set ${variable} to an image you have.`,
    );
  }
}

/** The address clients use for a mapped port; `localhost` is pinned to IPv4 because Docker publishes on 0.0.0.0. */
function hostAddress(container: StartedTestContainer, port: number): string {
  const host = container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost();
  return `${host}:${container.getMappedPort(port)}`;
}

async function startRedis(tc: Testcontainers, image: string, labels: Record<string, string>): Promise<Service> {
  // Same arguments for redis:7 and the stand-in: no persistence (a dev/test store); protected mode off because
  // clients arrive through the port mapping, not on loopback (the official image has it off by default).
  const container = await new tc.GenericContainer(image)
    .withExposedPorts(6379)
    .withLabels(labels)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'])
    .withWaitStrategy(tc.Wait.forLogMessage('Ready to accept connections'))
    .start();
  const endpoint = `redis://${hostAddress(container, 6379)}`;
  await waitForService(tc, container, 'redis: waiting for PING through the mapped port', () => redisAnswers(endpoint));
  return { container, endpoint };
}

const KAFKA_PORT = 9092; // published; advertised as the host's mapped port
const BROKER_PORT = 9093; // inter-broker listener, advertised under the container's hostname
const CONTROLLER_PORT = 9094;
const STARTER_SCRIPT = '/tmp/rtml-start.sh';
const STARTER_READY = '/tmp/rtml-start.ready';
const WAITING_FOR_STARTER = 'rtml: waiting for the starter script';

/**
 * The advertised listener must name the host port Docker picked, which is known only after the container started.
 * So the container first waits for a starter script (the approach of testcontainers' Kafka modules); we write it
 * with the mapped port, then the image's own entrypoint configures the broker from the KAFKA_* variables.
 */
async function startKafka(tc: Testcontainers, image: string, labels: Record<string, string>): Promise<Service> {
  const container = await new tc.GenericContainer(image)
    .withExposedPorts(KAFKA_PORT)
    .withLabels(labels)
    .withEnvironment(kafkaEnvironment())
    .withCommand([
      'sh',
      '-c',
      `echo '${WAITING_FOR_STARTER}'; while [ ! -f ${STARTER_READY} ]; do sleep 0.1; done; exec ${STARTER_SCRIPT}`,
    ])
    .withWaitStrategy(tc.Wait.forLogMessage(WAITING_FOR_STARTER))
    .start();
  const endpoint = hostAddress(container, KAFKA_PORT);
  try {
    const advertised = `PLAINTEXT://${endpoint},BROKER://${container.getHostname()}:${BROKER_PORT}`;
    const script = `#!/bin/sh\nexport KAFKA_ADVERTISED_LISTENERS=${advertised}\nexec /etc/kafka/docker/run\n`;
    await container.copyContentToContainer([{ content: script, target: STARTER_SCRIPT, mode: 0o755 }]);
    // A second file, written after the script is closed: executing a file still open for writing fails
    // ("Text file busy").
    await container.copyContentToContainer([{ content: '', target: STARTER_READY }]);
    progress(`kafka: container started; waiting for the broker on ${endpoint}`);
    await waitForService(tc, container, 'kafka: waiting for the broker to answer metadata requests', () =>
      brokerAnswers(endpoint),
    );
  } catch (error) {
    await container.stop();
    throw error;
  }
  return { container, endpoint };
}

/** The apache/kafka image's configuration surface (KAFKA_* → server.properties); the stand-in reads the same. */
function kafkaEnvironment(): Record<string, string> {
  return {
    CLUSTER_ID: randomClusterId(),
    KAFKA_NODE_ID: '1',
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_LISTENERS: `PLAINTEXT://:${KAFKA_PORT},BROKER://:${BROKER_PORT},CONTROLLER://:${CONTROLLER_PORT}`,
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'BROKER:PLAINTEXT,PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_CONTROLLER_QUORUM_VOTERS: `1@localhost:${CONTROLLER_PORT}`,
    KAFKA_NUM_PARTITIONS: '3',
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '5',
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '5',
    KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    // As the native broker: a small heap and the C1 compiler only, for a fast start on small machines.
    KAFKA_HEAP_OPTS: '-Xms256m -Xmx1g',
    KAFKA_JVM_PERFORMANCE_OPTS: '-XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true',
  };
}

/**
 * Ready means the service answers from the host (PING, a metadata request), as in native mode; a dead container fails
 * fast with its log.
 */
async function waitForService(
  tc: Testcontainers,
  container: StartedTestContainer,
  step: string,
  answers: () => Promise<boolean>,
): Promise<void> {
  const client = await tc.getContainerRuntimeClient();
  const handle = client.container.getById(container.getId());
  try {
    await waitUntil(step, answers, {
      timeoutMs: 120_000,
      exited: async () => !(await client.container.inspect(handle)).State.Running,
    });
  } catch (error) {
    const log = spawnSync('docker', ['logs', '--tail', '30', container.getId()], { encoding: 'utf8' });
    const id = container.getId().slice(0, 12);
    if (error instanceof Error)
      error.message += `\n  last lines of the container's log (${id}):\n${log.stdout}${log.stderr}`;
    throw error;
  }
}

function containerIds(filter: string): string[] {
  const out = spawnSync('docker', ['ps', '-aq', '--filter', filter], { encoding: 'utf8', timeout: 10_000 });
  return out.status === 0 ? out.stdout.split('\n').filter(Boolean) : [];
}

function removeContainers(ids: string[]): void {
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore', timeout: 30_000 });
}

/** Containers left by a devstack process of this host that no longer runs (SIGKILL, power loss). */
export function removeOrphanedContainers(): void {
  const out = spawnSync(
    'docker',
    ['ps', '-a', '--filter', `label=${OWNER_LABEL}`, '--format', `{{.ID}} {{.Label "${OWNER_LABEL}"}}`],
    { encoding: 'utf8' },
  );
  const orphans = (out.stdout ?? '')
    .split('\n')
    .map((line) => line.split(' ') as [string, string])
    .filter(([, label]) => label?.startsWith(`${hostname()}:`) && !isAlive(Number(label.split(':')[1])))
    .map(([id]) => id);
  if (orphans.length > 0)
    progress(`docker: removing ${orphans.length} container(s) left by devstack processes that are gone`);
  removeContainers(orphans);
}

/**
 * While containers may exist: remove them when the process exits without `stop()`, and on SIGINT/SIGTERM/SIGHUP.
 * After a signal the handlers are removed and the signal raised again, so it takes the course it would have taken
 * without us: the default (exit), or other handlers (another process.on, or signal-exit, which testcontainers loads
 * and which only acts when it is the last listener). Those run twice; their `stop()` then finds nothing left.
 */
function guardAgainstLeftovers(removeStackContainers: () => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals) => {
    removeStackContainers();
    release();
    process.kill(process.pid, signal);
  };
  const release = () => {
    process.off('exit', removeStackContainers);
    for (const s of signals) process.off(s, onSignal);
  };
  process.on('exit', removeStackContainers);
  for (const s of signals) process.on(s, onSignal);
  return release;
}
