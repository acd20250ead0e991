import { freePorts } from './process.js';
import { startKafkaQuorum, type NativeKafka } from './kafka-native.js';

/**
 * Three KRaft nodes on loopback, each broker AND controller, forming a 3-voter quorum.
 * Combined nodes rather than 3 brokers + 1 controller: three JVMs instead of four on a 2-core machine, and no
 * single controller whose loss would freeze leader elections; losing any one node keeps a 2-of-3 quorum
 * and 2 in-sync replicas (min.insync.replicas=2, RF 3), which is what the fault tests exercise.
 */
export const KAFKA_CLUSTER_SIZE = 3;

export interface NativeKafkaCluster {
  /** Comma-separated `host:port` of every broker: the `KAFKA_BROKERS` value. */
  brokers: string;
  nodes: NativeKafka[];
}

export async function startNativeKafkaCluster(runDir: string, timeoutMs = 180_000): Promise<NativeKafkaCluster> {
  const free = await freePorts(2 * KAFKA_CLUSTER_SIZE);
  const ports = Array.from({ length: KAFKA_CLUSTER_SIZE }, (_, i) => ({
    brokerPort: free[2 * i]!,
    controllerPort: free[2 * i + 1]!,
  }));
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controllerPort}`).join(',');
  const nodes = await startKafkaQuorum(
    runDir,
    ports.map((p, i) => ({ nodeId: i + 1, ...p, voters })),
    timeoutMs,
  );
  return { brokers: nodes.map((node) => node.brokers).join(','), nodes };
}
