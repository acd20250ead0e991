/** Runs a Feast reference script (bench/feast/*.py) in the pinned venv that bench/feast/setup.sh creates. */
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const feastDir = resolve(fileURLToPath(new URL('../feast', import.meta.url)));

/** The venv's python (created or updated on first use; idempotent). */
export function feastPython(): string {
  return execFileSync('bash', [join(feastDir, 'setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .pop()!;
}

/** Runs bench/feast/<script> with `args`: the JSON of its one `<marker> {...}` line; else throws with its stderr. */
export function runFeastScript<T>(script: string, args: readonly string[], marker: string): T {
  const result = spawnSync(feastPython(), ['-W', 'ignore', join(feastDir, script), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 2 ** 20,
  });
  const line = result.stdout.split('\n').find((l) => l.startsWith(`${marker} `));
  if (result.status !== 0 || !line) {
    process.stderr.write(result.stderr);
    throw new Error(`Feast run ${script} failed (exit ${result.status})`);
  }
  return JSON.parse(line.slice(marker.length + 1)) as T;
}
