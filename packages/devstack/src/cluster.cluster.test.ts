import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { ensureTopics } from '@rtml/kafka';
import {
  detachReplica,
  kafkaLeaderOf,
  killNode,
  redisPrimaryOf,
  replicaOf,
  waitUntilRedisServes,
  type KilledNode,
} from './cluster-faults.js';
import { startClusterStack, type RunningCluster } from './cluster-stack.js';
import { isAlive, isPortListening } from './process.js';

/**
 * Its own cluster (not the run's shared one): these tests SIGKILL nodes, and the last one checks that stopping a
 * cluster that went through those faults leaves no process and no listening port.
 */
let cluster: RunningCluster;
/**
 * Retries that outlast a broker's session timeout (9 s) with room to spare (~60 s in all): until then the controller
 * still lists the dead broker as leader (and maybe group coordinator). Every field explicit: kafkajs' defaults under
 * NODE_ENV=test (vitest) add up to ~13 s for 12 retries, and its producer and consumer default to 5 retries.
 */
const retry = { retries: 15, initialRetryTime: 300, multiplier: 2, maxRetryTime: 5_000 };
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  cluster = await startClusterStack({ ignoreEnvironment: true });
  kafka = new Kafka({
    clientId: 'devstack-cluster-test',
    brokers: cluster.kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
    retry,
  });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

async function produceAndConsume(topic: string, values: string[], groupId: string): Promise<string[]> {
  const producer = kafka.producer({ retry });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: value, value })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId, retry });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        received.push(message.value!.toString());
        if (received.length === values.length) resolve();
      },
    });
  });
  await consumer.disconnect();
  return received.sort();
}

describe('Kafka: 3 KRaft brokers', () => {
  const topic = `cluster-test-${randomUUID()}`;

  it('creates topics with replication factor 3 and min.insync.replicas 2 by default', async () => {
    expect((await admin.describeCluster()).brokers).toHaveLength(3);
    // ensureTopics: kafkajs' waitForLeaders gives up on the UNKNOWN_TOPIC_OR_PARTITION a loaded KRaft broker answers at
    // first.
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    for (const partition of metadata!.partitions) {
      expect(partition.replicas).toHaveLength(3);
      expect(partition.isr).toHaveLength(3);
    }
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }],
    });
    expect(configs.resources[0]!.configEntries[0]!.configValue).toBe('2');
    const values = Array.from({ length: 30 }, (_, i) => `before-${i}`);
    expect(await produceAndConsume(topic, values, `g-${randomUUID()}`)).toEqual([...values].sort());
  });

  let killedBroker: KilledNode;

  it('keeps producing and consuming after the leader of partition 0 is SIGKILLed', async () => {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const leaderId = metadata!.partitions.find((p) => p.partitionId === 0)!.leader;
    const victim = await kafkaLeaderOf(cluster, topic, 0);
    expect(victim.name).toBe(`kafka-${leaderId}`);
    killedBroker = await killNode(cluster, victim);
    expect(isAlive(victim.pid)).toBe(false);

    const values = Array.from({ length: 30 }, (_, i) => `after-${i}`);
    const everything = [...Array.from({ length: 30 }, (_, i) => `before-${i}`), ...values];
    // A fresh group reads the whole topic: the old events survived on the other replicas, the new ones were acked by 2.
    expect(
      await produceAndConsume(topic, values, `g-${randomUUID()}`).then(() => consumeAll(topic, everything.length)),
    ).toEqual(everything.sort());
    const [after] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    expect(after!.partitions.find((p) => p.partitionId === 0)!.leader).not.toBe(leaderId);
  });

  it(
    'restarts the killed broker with its data: it rejoins and every partition is back to 3 in-sync ' + 'replicas',
    async () => {
      const restarted = await killedBroker.restart();
      expect(restarted.pid).not.toBe(killedBroker.killed.pid);
      expect(cluster.processes).toContain(restarted);
      expect((await admin.describeCluster()).brokers).toHaveLength(3);
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      for (const partition of metadata!.partitions) expect(partition.isr).toHaveLength(3);
    },
  );

  async function consumeAll(topicName: string, count: number): Promise<string[]> {
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, retry });
    await consumer.connect();
    await consumer.subscribe({ topic: topicName, fromBeginning: true });
    const received: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push(message.value!.toString());
          if (received.length === count) resolve();
        },
      });
    });
    await consumer.disconnect();
    return received.sort();
  }
});

describe('Redis Cluster: 3 primaries + 3 replicas', () => {
  const seeds = () =>
    cluster.redisClusterNodes
      .split(',')
      .map((node) => ({ host: node.split(':')[0]!, port: Number(node.split(':')[1]) }));

  it('serves keys in every slot range, on three primaries', async () => {
    const client = new Cluster(seeds());
    const keys = Array.from({ length: 300 }, (_, i) => `devstack:cluster:${i}`);
    for (const key of keys) await client.set(key, key);
    for (const key of keys) expect(await client.get(key)).toBe(key);
    const primaries = new Set<string>();
    for (const key of keys) primaries.add(client.slots[await slotOf(client, key)]![0]!);
    expect(primaries.size).toBe(3);
    client.disconnect();
  });

  let killedPrimary: KilledNode;

  it('promotes the replica when its primary is SIGKILLed, keeping the replicated writes', async () => {
    const client = new Cluster(seeds());
    const key = `devstack:failover:${randomUUID()}`;
    await client.set(key, 'kept');
    const slot = await slotOf(client, key);
    const primary = await redisPrimaryOf(cluster, key);
    expect(client.slots[slot]![0]).toBe(`127.0.0.1:${primary.ports[0]}`);
    // WAIT: the write reached the replica before the kill (replication is asynchronous otherwise).
    const direct = new Redis(primary.ports[0]!, '127.0.0.1');
    expect(await direct.wait(1, 5_000)).toBe(1);
    direct.disconnect();
    const replica = await replicaOf(cluster, primary);

    killedPrimary = await killNode(cluster, primary);
    await waitUntilRedisServes(cluster);
    expect(await redisPrimaryOf(cluster, key)).toBe(replica);

    expect(await client.get(key)).toBe('kept');
    await client.set(key, 'after failover');
    expect(await client.get(key)).toBe('after failover');
    expect(client.slots[slot]![0]).toBe(`127.0.0.1:${replica.ports[0]}`);
    client.disconnect();
  });

  it('restarts the killed primary: it comes back empty (no persistence) and rejoins as a replica', async () => {
    const restarted = await killedPrimary.restart();
    expect(cluster.processes).toContain(restarted);
    const direct = new Redis(restarted.ports[0]!, '127.0.0.1');
    expect((await direct.info('replication')).match(/role:(\w+)/)?.[1]).toBe('slave');
    direct.disconnect();
  });

  it(
    "detachReplica makes a failover lose the primary's last writes: the promoted replica holds a strict " + 'prefix',
    async () => {
      const client = new Cluster(seeds());
      // One hash tag: both keys on one primary, so "before" and "after" are one replication stream.
      const tag = `{devstack:prefix:${randomUUID()}}`;
      await client.set(`${tag}:before`, 'replicated');
      const primary = await redisPrimaryOf(cluster, `${tag}:before`);
      const direct = new Redis(primary.ports[0]!, '127.0.0.1');
      expect(await direct.wait(1, 5_000)).toBe(1);
      direct.disconnect();

      const detached = await detachReplica(cluster, primary);
      await client.set(`${tag}:after`, 'acknowledged by the primary alone');
      const { primaryOffset, promotedOffset } = await detached.killPrimaryAndPromote();
      expect(promotedOffset).toBeLessThan(primaryOffset);
      expect(promotedOffset).toBeGreaterThanOrEqual(detached.offsetAtDetach - 1);
      expect(await client.get(`${tag}:before`)).toBe('replicated');
      expect(await client.get(`${tag}:after`)).toBeNull();
      client.disconnect();
    },
  );
});

it('stops the faulted cluster leaving no process and no listening port', async () => {
  const ports = cluster.processes.flatMap((p) => p.ports);
  const pids = cluster.processes.map((p) => p.pid);
  expect(pids).toHaveLength(9);
  await cluster.stop();
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
  for (const port of ports) expect(await isPortListening(port)).toBe(false);
});

const slotOf = async (client: Cluster, key: string): Promise<number> => Number(await client.cluster('KEYSLOT', key));
