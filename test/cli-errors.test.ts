import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIS = {
  'rtml-stream': ['packages/stream/src/cli.ts', 'run'],
  'fraud-detection': ['scenarios/fraud-detection/src/run.ts'],
  recommendations: ['scenarios/recommendations/src/run.ts'],
} as const;
const GENERATE_CLI = ['scenarios/fraud-detection/src/generate-cli.ts'];
type CliName = keyof typeof CLIS;

const CLOSED = { KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };
const STREAM_ARGS = [
  '--processor',
  'packages/stream/src/testing/counting-processor.ts#paymentsCounts',
  '--topic',
  't',
  '--group',
  'g',
  '--namespace',
  'n',
];

function run(cli: CliName | readonly string[], args: readonly string[], env: Record<string, string> = CLOSED) {
  const script = typeof cli === 'string' ? CLIS[cli] : cli;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', ...script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, RTML_DEVSTACK_STATE: '/nonexistent/state.json' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, out: result.stdout, err: result.stderr.trim() };
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at /m);

describe('CLIs: unreachable services are named in a few lines, before any work', () => {
  for (const cli of Object.keys(CLIS) as CliName[]) {
    it(`${cli} with closed ports names KAFKA_BROKERS and REDIS_URL and exits 1`, () => {
      const { status, err } = run(cli, cli === 'rtml-stream' ? STREAM_ARGS : ['--size', 'tiny']);
      expect(status).toBe(1);
      expect(err).toContain('cannot reach Kafka at KAFKA_BROKERS=127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)');
      expect(err).toContain('cannot reach Redis at REDIS_URL=redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)');
      expect(err).toContain('npm run infra:up');
      expect(err.split('\n').filter((line) => !line.startsWith('[')).length).toBeLessThanOrEqual(3);
      noStackTrace(err);
    });
  }

  it('a malformed REDIS_URL is named with its value', () => {
    const { status, err } = run('fraud-detection', [], { KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'localhost:6379' });
    expect(status).toBe(1);
    expect(err).toBe(
      'fraud-detection: REDIS_URL="localhost:6379" is not a Redis URL: expected ' +
        'redis://[user:password@]host:port[/db], e.g. redis://127.0.0.1:6379',
    );
  });
});

describe('CLIs: --help and bad arguments', () => {
  for (const cli of Object.keys(CLIS) as CliName[]) {
    it(`${cli} --help exits 0 and names the environment it needs`, () => {
      const { status, out } = run(cli, ['--help']);
      expect(status).toBe(0);
      expect(out).toContain('Usage:');
      expect(out).toMatch(/KAFKA_BROKERS/);
    });
  }

  it('fraud-detection --size huge lists the choices and exits non-zero', () => {
    const { status, err } = run('fraud-detection', ['--size', 'huge']);
    expect(status).not.toBe(0);
    expect(err).toMatch(/argument 'huge' is invalid\. Allowed choices are tiny, small/);
    noStackTrace(err);
  });

  it('the fraud generator takes --help and refuses --size huge with the choices', () => {
    const help = run(GENERATE_CLI, ['--help']);
    expect(help.status).toBe(0);
    expect(help.out).toContain('--size <size>');
    const bad = run(GENERATE_CLI, ['--size', 'huge']);
    expect(bad.status).not.toBe(0);
    expect(bad.err).toContain("argument 'huge' is invalid. Allowed choices are tiny, small, medium, large.");
  });

  it('fraud-detection --seed abc is refused', () => {
    const { status, err } = run('fraud-detection', ['--seed', 'abc']);
    expect(status).not.toBe(0);
    expect(err).toContain('--seed must be a whole number >= 0, got "abc"');
  });
});
