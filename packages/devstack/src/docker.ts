import { spawnSync } from 'node:child_process';
import { KAFKA_VERSION } from './kafka-native.js';
import { progress } from './process.js';

/** True when a Docker engine answers (not just the CLI client, which our machines have without an engine). */
export function dockerEngineAnswers(): boolean {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
  return result.status === 0 && result.stdout.toString().trim().length > 0;
}

export interface ContainerStack {
  brokers: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/** Starts the same services with testcontainers. Loaded lazily: machines without Docker never import it. */
export async function startWithTestcontainers(): Promise<ContainerStack> {
  const { GenericContainer, Wait } = await import('testcontainers');
  progress('docker: starting redis and apache/kafka (KRaft) with testcontainers');
  const redis = await new GenericContainer('redis:7').withExposedPorts(6379).withWaitStrategy(Wait.forLogMessage('Ready to accept connections')).start();
  // apache/kafka's image defaults to a single KRaft node; advertise the host-mapped port.
  const hostPort = 19092 + Math.floor(Math.random() * 1000);
  const kafka = await new GenericContainer(`apache/kafka:${KAFKA_VERSION}`)
    .withExposedPorts({ container: 9092, host: hostPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${hostPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_NUM_PARTITIONS: '3',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return {
    brokers: `127.0.0.1:${hostPort}`,
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    async stop() {
      await Promise.all([kafka.stop(), redis.stop()]);
    },
  };
}
