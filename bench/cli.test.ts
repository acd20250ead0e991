/**
 * The bench command lines (issue #12 item 7): `--help` everywhere, and bad arguments are clear errors that exit
 * non-zero before anything runs. Endpoints point at closed ports, so a script that started its benchmark anyway
 * would fail or print BENCH rows. No services needed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
/** Every script in bench/ and bench/feast/ (so a new one cannot skip --help), plus the table collector. */
const scripts = [
  ...['bench', 'bench/feast'].flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.config.ts'))
      .map((file) => `${dir}/${file}`),
  ),
  'bench/lib/collect.ts',
];
const closedPorts = { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1', BENCH_FULL: '0' };

function run(command: string, args: readonly string[]) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: closedPorts, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bench scripts', () => {
  it.each(scripts)('%s --help prints its usage and runs nothing', (script) => {
    const { status, stdout } = run(tsx, ['--conditions=source', script, '--help']);
    expect(stdout).toMatch(/^Usage: /m);
    expect(stdout).not.toContain('BENCH ');
    expect(status).toBe(0);
  });

  it.each(scripts)('%s rejects an unknown option with a non-zero exit', (script) => {
    const { status, stderr } = run(tsx, ['--conditions=source', script, '--frobnicate']);
    expect(stderr).toContain("unknown option '--frobnicate'");
    expect(status).not.toBe(0);
  });

  it.each([
    ['bench/online-lookup.ts', ['--entities', 'abc'], '--entities: not a number: abc'],
    ['bench/online-lookup.ts', ['--lookups', '0'], '--lookups must be a positive integer, got 0'],
    ['bench/stream-throughput.ts', ['--ks-variants', 'dsl,foo'], '--ks-variants takes dsl, processor or none'],
  ])('%s %j is a one-line error, not a stack trace', (script, args, message) => {
    const { status, stderr } = run(tsx, ['--conditions=source', script, ...args]);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(status).not.toBe(0);
  });

  // The scripts read the one connection configuration (@rtml/connections): its checks apply, and the references
  // that are handed plain endpoints (Kafka Streams, Feast) are refused against secured services, before anything runs.
  const secured = {
    KAFKA_TLS: 'true',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'bench',
    KAFKA_SASL_PASSWORD: 'bench-secret-81c2',
    REDIS_URL: 'rediss://127.0.0.1:1',
  };
  it.each([
    ['bench/stream-throughput.ts', { KAFKA_SASL_MECHANISM: 'scram-sha-512' }, 'KAFKA_SASL_USERNAME is not set'],
    [
      'bench/stream-throughput.ts',
      secured,
      'the Kafka Streams peer is given plain brokers only; against a Kafka with TLS or SASL run with ' +
        '--ks-variants none',
    ],
    [
      'bench/online-lookup.ts',
      { REDIS_URL: 'rediss://127.0.0.1:1' },
      'against a Redis with TLS or an ACL user run with --no-feast',
    ],
    ['bench/online-lookup.ts', { REDIS_USERNAME: 'bench' }, 'REDIS_PASSWORD is not set'],
  ])('%s with %j: the connection settings are checked, one line', (script, env, message) => {
    const { status, stderr } = spawnSync(tsx, ['--conditions=source', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...closedPorts, ...env },
      timeout: 60_000,
    });
    expect(stderr).not.toContain(secured.KAFKA_SASL_PASSWORD);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(status).not.toBe(0);
  });
});

describe('bench/run.sh', () => {
  it('--help prints its usage, the scripts and the environment, and exits 0', () => {
    const { status, stdout } = run('bash', ['bench/run.sh', '--help']);
    expect(stdout).toMatch(/^Usage: bash bench\/run\.sh/);
    expect(stdout).toContain('bench/stream-throughput.ts');
    expect(stdout).toContain('KAFKA_BROKERS');
    expect(status).toBe(0);
  });

  it.each([
    [['--only'], '--only needs a script name'],
    [['--only', '--full'], '--only needs a script name'],
    [['--only', 'nope'], "--only 'nope' matches no script"],
    [['--frobnicate'], "unknown option '--frobnicate'"],
  ])('%j is a clear error with exit 2', (args, message) => {
    const { status, stdout, stderr } = run('bash', ['bench/run.sh', ...args]);
    expect(stderr).toContain(message);
    expect(stderr).toContain('--help');
    expect(stdout).toBe(''); // nothing ran, no empty table
    expect(status).toBe(2);
  });
});
