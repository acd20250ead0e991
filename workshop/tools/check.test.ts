import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { smoke } from './smoke.js';

const REPO = join(import.meta.dirname, '..', '..');

/** A PATH with every program of this one except `missing`: the machine of a participant who lacks it. */
function pathWithout(missing: string): string {
  const bin = mkdtempSync(join(tmpdir(), 'rtml-path-'));
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter((d) => existsSync(d))) {
    for (const name of readdirSync(dir)) {
      if (name !== missing && !existsSync(join(bin, name))) symlinkSync(join(dir, name), join(bin, name));
    }
  }
  return bin;
}

const check = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync('bash', [join(REPO, 'scripts', 'workshop-check.sh'), ...args], { cwd: REPO, env, encoding: 'utf8' });

describe('npm run workshop:check', () => {
  it('--help explains it; a stray argument is refused', () => {
    const help = check(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/smoke test: 200 events -> Kafka -> the rtml-stream processor -> Redis/);
    const bad = check(['--now']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/takes no arguments \(see --help\)/);
  });

  it.each([
    ['java', /java not found: install a Java 17\+ runtime .* with your package manager \(Debian\/Ubuntu, as root: npm/],
    ['redis-server', /redis-server not found: install Redis 7\+ .* with your package manager/],
  ])('without %s it fails in one line saying what to install', (missing, message) => {
    const result = check([], { ...process.env, PATH: pathWithout(missing) });
    expect(result.status).toBe(1);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('[workshop-check]'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('smoke: 200 events go Kafka -> rtml-stream -> Redis and every one is counted', async () => {
    process.env.KAFKA_BROKERS = inject('kafkaBrokers');
    process.env.REDIS_URL = inject('redisUrl');
    const result = await smoke();
    expect(result).toMatchObject({ produced: 200, counted: 200 });
  }, 60_000);
});
