// #12: every project script runs on a supported Node (>= 22), bringing the pinned Node 24 when the system's is older.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPTS = [
  'scripts/setup.sh',
  'scripts/test.sh',
  'scripts/main.sh',
  'scripts/test-suites.sh',
  'scripts/notebooks.sh',
  'bench/run.sh',
];

describe('scripts/node-env.sh', () => {
  it('puts a Node >= 22 first on PATH and says which, once, however often it is sourced', () => {
    const { RTML_NODE_ANNOUNCED: _announced, ...env } = process.env;
    const commands =
      'set -euo pipefail; source scripts/node-env.sh; source scripts/node-env.sh; node -p ' +
      'process.versions.node; npx vitest --version';
    const result = spawnSync('bash', ['-c', commands], { cwd: ROOT, env, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const [direct, vitest] = result.stdout.trim().split('\n');
    expect(Number(direct!.split('.')[0])).toBeGreaterThanOrEqual(22);
    expect(vitest).toContain(`node-v${direct}`); // what the scripts start through npx runs on that Node too
    expect(result.stderr.match(/^\[node\] using Node v\d+\.\d+\.\d+ \(/gm)).toHaveLength(1);
  });

  it('is sourced by every project script', () => {
    for (const script of SCRIPTS)
      expect(readFileSync(`${ROOT}/${script}`, 'utf8'), script).toMatch(/^source .*node-env\.sh/m);
  });

  it('the package declares the supported lines', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    expect(pkg.engines.node).toBe('>=22');
    expect(pkg.devDependencies['@types/node']).toMatch(/^\^24\./);
  });
});
