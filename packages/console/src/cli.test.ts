import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, inject, it } from 'vitest';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `npm run console -- args` as a user would (tsx, from the repository root); resolves once it has exited. */
function runCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

const endpoints = { KAFKA_BROKERS: inject('kafkaBrokers'), REDIS_URL: inject('redisUrl') };
const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at /);

it('--help lists the options, the default input and both connection settings', async () => {
  const { code, stdout } = await runCli(['--help'], endpoints);
  expect(code).toBe(0);
  for (const text of [
    '--port <port>',
    '--allow-redrive',
    '--input <topic=module#export>',
    '127.0.0.1',
    'KAFKA_BROKERS',
    'REDIS_URL',
  ])
    expect(stdout).toContain(text);
});

it('a bad argument: one line saying what is wrong, exit 2', async () => {
  for (const [args, message] of [
    [['--port', 'eighty'], '--port must be a whole number'],
    [['--input', 'transactions'], '--input expects <topic>=<module path>#<export>'],
    [['--input', 't=packages/features/src/example.ts#nothing'], 'has no feature set export "nothing"'],
  ] as const) {
    const { code, stderr } = await runCli(args, endpoints);
    expect(code, args.join(' ')).not.toBe(0);
    expect(stderr).toContain(message);
    noStackTrace(stderr);
  }
});

it('unreachable Kafka and Redis: one line each naming the setting, exit 1', async () => {
  const { code, stderr } = await runCli(['--port', '0'], {
    KAFKA_BROKERS: '127.0.0.1:1',
    REDIS_URL: 'redis://127.0.0.1:1',
  });
  expect(code).toBe(1);
  expect(stderr).toContain('cannot reach Kafka at KAFKA_BROKERS=127.0.0.1:1');
  expect(stderr).toContain('cannot reach Redis at REDIS_URL=redis://127.0.0.1:1');
  noStackTrace(stderr);
});
