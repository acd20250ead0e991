/**
 * Lab 5's harness: the repository's plop generators (templates/, `npm run generate`) run into a throwaway copy of
 * the monorepo (links to this checkout's packages and node_modules, as templates/generators.test.ts does), and the
 * generated scenario's own tests run there with vitest against the stack in KAFKA_BROKERS / REDIS_URL.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './scenario';

export interface Workspace {
  root: string;
  scenario: string;
  dir: string;
}

export interface CommandResult {
  code: number;
  output: string;
}

function runIn(cwd: string, command: string, args: string[], timeoutMs: number): CommandResult {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: process.env });
  return { code: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** `npm run generate -- <generator> -- --answer value ...`, answers passed as flags (no prompts). */
export function generate(generator: string, answers: Record<string, string | number>): CommandResult {
  const repo = repoRoot();
  const flags = Object.entries(answers).flatMap(([key, value]) => [`--${key}`, String(value)]);
  return runIn(
    repo,
    join(repo, 'node_modules', '.bin', 'plop'),
    ['--plopfile', join(repo, 'templates', 'plopfile.js'), generator, '--', ...flags],
    60_000,
  );
}

/** A throwaway monorepo with one generated scenario in it (entity `user`). */
export function scenarioWorkspace(scenario: string): Workspace {
  const repo = repoRoot();
  const root = mkdtempSync(join(tmpdir(), 'rtml-lab05-'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
  symlinkSync(join(repo, 'packages'), join(root, 'packages'));
  for (const file of ['package.json', 'tsconfig.base.json', 'tsconfig.json']) {
    cpSync(join(repo, file), join(root, file));
  }
  mkdirSync(join(root, 'scenarios'));
  const made = generate('scenario', { root, name: scenario, entity: 'user' });
  if (made.code !== 0) throw new Error(`the scenario generator failed:\n${made.output}`);
  writeFileSync(
    join(root, 'vitest.config.ts'),
    `import { defineConfig } from 'vitest/config';
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: ['scenarios/*/src/**/*.test.ts'], globalSetup: [${JSON.stringify(join(repo, 'test', 'global-setup.ts'))}],
    pool: 'forks', testTimeout: 120_000, hookTimeout: 180_000,
  },
});
`,
  );
  return { root, scenario, dir: join(root, 'scenarios', scenario) };
}

export interface TestOutcome {
  file: string;
  test: string;
  passed: boolean;
  message: string;
}

/** Runs test files of the generated scenario (paths relative to it), optionally only tests whose name matches. */
export function runScenarioTests(ws: Workspace, files: string[], namePattern?: string): TestOutcome[] {
  const results = join(ws.root, 'results.json');
  rmSync(results, { force: true });
  const args = [
    'run',
    ...files.map((f) => join('scenarios', ws.scenario, f)),
    '--reporter=json',
    `--outputFile=${results}`,
    ...(namePattern ? ['-t', namePattern] : []),
  ];
  const run = runIn(ws.root, join(ws.root, 'node_modules', '.bin', 'vitest'), args, 240_000);
  type Assertion = { title: string; status: string; failureMessages: string[] };
  let report: { testResults: { name: string; assertionResults: Assertion[] }[] };
  try {
    report = JSON.parse(readFileSync(results, 'utf8')) as typeof report;
  } catch {
    throw new Error(`vitest wrote no results (exit ${run.code}):\n${run.output.slice(-3000)}`);
  }
  return report.testResults.flatMap((file) =>
    file.assertionResults
      .filter((a) => a.status !== 'skipped')
      .map((a) => ({
        file: file.name.replace(`${ws.dir}/`, ''),
        test: a.title,
        passed: a.status === 'passed',
        message: (a.failureMessages[0] ?? '').split('\n')[0] ?? '',
      })),
  );
}

export const featuresSource = (ws: Workspace): string => readFileSync(join(ws.dir, 'src', 'features.ts'), 'utf8');

export function removeWorkspace(ws: Workspace): void {
  rmSync(ws.root, { recursive: true, force: true });
}
