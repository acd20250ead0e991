import { inject, describe, expect, it } from 'vitest';
import { checkConnections, checkKafka, checkRedis } from './check.js';
import { readConnectionSettings, readRedisSettings } from './settings.js';

const closed = readConnectionSettings({ KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'redis://:pw@127.0.0.1:1' });

describe('preflight checks', () => {
  it('passes against the running stack', async () => {
    const settings = readConnectionSettings({ KAFKA_BROKERS: inject('kafkaBrokers'), REDIS_URL: inject('redisUrl') });
    await checkConnections(settings);
  });

  it('fails fast naming each unreachable service, its setting and what to do', async () => {
    const error = await checkConnections(closed).then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.name).toBe('ConnectionError');
    expect(error?.message.split('\n')).toEqual([
      'cannot reach Kafka at KAFKA_BROKERS=127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)',
      'cannot reach Redis at REDIS_URL=redis://:***@127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)',
      'is it running? start the stack with `npm run infra:up` and `eval "$(npm run --silent infra:status)"`',
    ]);
  });

  it('cluster seeds: REDIS_CLUSTER_NODES named when none answers, REDIS_URL for a non-cluster server', async () => {
    const single = new URL(inject('redisUrl')).host;
    await expect(checkRedis(readRedisSettings({ REDIS_CLUSTER_NODES: `127.0.0.1:1,${single}` }))).rejects.toThrow(
      /is one server, not a Redis Cluster \(ERR This instance has cluster support disabled\): set REDIS_URL instead$/,
    );
    await expect(checkRedis(readRedisSettings({ REDIS_CLUSTER_NODES: '127.0.0.1:1,127.0.0.1:2' }))).rejects.toThrow(
      new RegExp(
        /^cannot reach Redis at REDIS_CLUSTER_NODES=127\.0\.0\.1:1,127\.0\.0\.1:2 /.source +
          /\(connect ECONNREFUSED 127\.0\.0\.1:2\)/.source,
      ),
    );
  });

  it(
    'passes when any bootstrap broker answers: one dead broker in KAFKA_BROKERS does not fail a healthy ' + 'cluster',
    async () => {
      // kafkajs picks one seed at random: with 3 dead of 4, an unfixed check fails 3 times in 4.
      for (let attempt = 0; attempt < 3; attempt++) {
        await checkKafka(
          readConnectionSettings({
            KAFKA_BROKERS: `127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,${inject('kafkaBrokers')}`,
            REDIS_URL: inject('redisUrl'),
          }).kafka,
        );
      }
    },
  );

  it('checks one service alone', async () => {
    await expect(checkKafka(closed.kafka)).rejects.toThrow(/^cannot reach Kafka at KAFKA_BROKERS=127\.0\.0\.1:1/);
    await expect(checkRedis(closed.redis)).rejects.toThrow(/^cannot reach Redis at REDIS_URL=/);
  });
});
