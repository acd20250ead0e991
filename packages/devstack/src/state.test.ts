import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

/** Runs the devstack CLI with its state file in a fresh folder and only the given endpoint variables set. */
function devstack(args: string[], state: string, env: Record<string, string> = {}) {
  const { KAFKA_BROKERS: _k, REDIS_URL: _r, ...base } = process.env;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', CLI, ...args], {
    env: { ...base, ...env, RTML_DEVSTACK_STATE: state },
    encoding: 'utf8',
  });
  return { status: result.status, out: result.stdout, err: result.stderr };
}

function staleStateFile(record: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'devstack-state-')), 'state.json');
  writeFileSync(file, JSON.stringify({ kafkaBrokers: '127.0.0.1:1', redisUrl: 'redis://127.0.0.1:1', ...record }));
  return file;
}

describe('the devstack state file never outlives its services', () => {
  const records = {
    'recorded from exported variables (no processes)': { mode: 'environment', processes: [] },
    'whose processes are gone': {
      mode: 'native',
      processes: [{ name: 'redis', pid: 2 ** 22 + 1, ports: [1], logFile: '/dev/null' }],
    },
  };
  for (const [name, record] of Object.entries(records)) {
    it(`a record ${name} is not "running" and is removed`, () => {
      const state = staleStateFile(record);
      const status = devstack(['status'], state);
      expect(status.status).toBe(1);
      expect(status.out).toBe('');
      expect(status.err).toContain('not running; start it with `npm run infra:up`');
      expect(existsSync(state)).toBe(false);
      const down = devstack(['down'], staleStateFile(record));
      expect(down.err).toContain('nothing recorded as running');
      expect(down.err).not.toMatch(/stopped\s*$/m);
    });
  }

  it('up with exported variables that answer starts and records nothing', () => {
    const state = join(mkdtempSync(join(tmpdir(), 'devstack-state-')), 'state.json');
    const up = devstack(['up'], state, { KAFKA_BROKERS: inject('kafkaBrokers'), REDIS_URL: inject('redisUrl') });
    expect(up.status).toBe(0);
    expect(up.err).toContain('already answer; starting nothing');
    expect(existsSync(state)).toBe(false);
  });

  it('--help lists the commands', () => {
    const help = devstack(['--help'], '/nonexistent/state.json');
    expect(help.status).toBe(0);
    expect(help.out).toMatch(/up .*\n[\s\S]*down[\s\S]*status/);
  });
});
