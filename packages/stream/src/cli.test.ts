import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { COUNTING_PROCESSOR, spawnCli } from './testing/cli-process.js';
import { testClients, uniqueName } from './testing/harness.js';

const endpoints = { brokers: inject('kafkaBrokers'), redisUrl: inject('redisUrl') };
const { admin, connect, close } = testClients('stream-cli-test', endpoints);
beforeAll(connect);
afterAll(close);

const EXAMPLE_FEATURE_SET =
  fileURLToPath(new URL('../../features/src/example.ts', import.meta.url)) + '#userTransactionFeatures';
const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at /);

it('--help names the required options and the environment variables', async () => {
  for (const command of ['run', 'rebuild']) {
    const cli = spawnCli([command, '--help'], endpoints);
    expect(await cli.exited).toBe(0);
    for (const text of [
      '--topic <topic>',
      '(required) input topic',
      '(required) consumer group',
      '(required) online store namespace',
      '(required, or --processor)',
      'KAFKA_BROKERS',
      'REDIS_URL',
    ]) {
      expect(cli.stdout()).toContain(text);
    }
  }
});

it('reports every missing required option at once, in one line, exit 1', async () => {
  const cli = spawnCli(['run', '--topic', 'x'], endpoints);
  expect(await cli.exited).toBe(1);
  expect(cli.stderr().trim()).toBe(
    'error: missing required option(s): --feature-set (or --processor), --group, --namespace (see ' +
      'rtml-stream run --help)',
  );
});

it(
  "a feature set's expiry and freshness come from its definition: the processor-only flags are refused with " + 'it',
  async () => {
    const cli = spawnCli(
      [
        'run',
        '--topic',
        'x',
        '--group',
        'g',
        '--namespace',
        'n',
        '--feature-set',
        EXAMPLE_FEATURE_SET,
        '--max-age-ms',
        '1000',
      ],
      endpoints,
    );
    expect(await cli.exited).toBe(1);
    expect(cli.stderr().trim()).toBe(
      "rtml-stream: --online-expiry-ms and --max-age-ms are for --processor; a feature set's are in its " +
        'definition (onlineExpiry, maxAge)',
    );
  },
);

it(
  'a missing input topic: one line with the command that creates it; --create-topics creates it (the README ' +
    'example on a fresh stack)',
  async () => {
    const topic = uniqueName('cli-fresh');
    const args = ['run', '--topic', topic, '--group', uniqueName('cli-group'), '--namespace', uniqueName('cli')];
    const refused = spawnCli([...args, '--processor', COUNTING_PROCESSOR], endpoints);
    expect(await refused.exited).toBe(1);
    const reason = refused
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('rtml-stream:'));
    expect(reason).toEqual([
      `rtml-stream: input topic(s) ${topic} do not exist; create them first (kafka-topics.sh ` +
        `--bootstrap-server ${endpoints.brokers} --create --topic ${topic} --partitions 3)`,
    ]);
    noStackTrace(refused.stderr());

    const created = spawnCli(
      [...args, '--feature-set', EXAMPLE_FEATURE_SET, '--create-topics', '--metrics-port', '0'],
      endpoints,
    );
    await created.running;
    expect(created.stdout()).toContain(`created input topic(s) ${topic} with 3 partitions`);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions).toHaveLength(3);
    created.child.kill('SIGTERM');
    expect(await created.exited).toBe(0);
  },
);
