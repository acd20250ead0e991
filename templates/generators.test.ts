// Runs each generator through the real plop CLI, non-interactively, into temp folders; then builds the output with tsc
// and runs ITS tests against the real Kafka + Redis. Bad answers must fail with a clear message and write nothing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { RTML_PACKAGES } from './plopfile.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'node_modules', '.bin');
const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rtml-gen-${prefix}-`));
  temps.push(dir);
  return dir;
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

const stackEnv = () => ({
  ...process.env,
  KAFKA_BROKERS: inject('kafkaBrokers'),
  REDIS_URL: inject('redisUrl'),
  FORCE_COLOR: '0',
  NO_COLOR: '1',
});

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = 300_000,
  extraEnv: Record<string, string> = {},
): Promise<Run> {
  return new Promise((done, fail) => {
    const env = { ...stackEnv(), ...extraEnv };
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

const plopArgs = (generator: string, answers: Record<string, string | number>) => [
  '--plopfile',
  join(REPO, 'templates', 'plopfile.js'),
  generator,
  '--',
  ...Object.entries(answers).flatMap(([k, v]) => [`--${k}`, String(v)]),
];
/** plop as `npm run generate` runs it: in the checkout, with the caller's folder in INIT_CWD. */
const plop = (generator: string, answers: Record<string, string | number>, callerDir = REPO) =>
  run(join(BIN, 'plop'), plopArgs(generator, answers), REPO, 60_000, { INIT_CWD: callerDir });

interface Scripts {
  readonly scripts: Record<string, string>;
}

/**
 * A script that runs until stopped: started in its own process group, done when `ready` appears in its output
 * (then `check` runs on that output), stopped with SIGTERM to the group.
 */
async function runUntilReady(
  script: string,
  cwd: string,
  ready: RegExp,
  check: (output: string) => Promise<void> = async () => undefined,
  env: Record<string, string> = {},
): Promise<void> {
  const child = spawn('npm', ['run', script], {
    cwd,
    env: { ...stackEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const closed = new Promise<number | null>((done) => child.on('close', done));
  const seen = new Promise<boolean>((done) => {
    const look = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) done(true);
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    void closed.then(() => done(false));
  });
  try {
    expect(await seen, `npm run ${script} ended before printing ${ready}:\n${output}`).toBe(true);
    await check(output);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await closed;
  }
}

/** The /score request body shown in the generated README (one raw event). */
function readmeScoreBody(dir: string): string {
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  const body = /-d '(\{[\s\S]*?\})'/.exec(readme)?.[1];
  expect(body, 'README shows a /score request body').toBeDefined();
  return body!.replace(`'"$(date +%s000)"'`, String(Date.now()));
}

async function postScore(output: string, body: string): Promise<void> {
  const address = /POST (http:\/\/\S+\/score)/.exec(output)?.[1];
  expect(address, output).toBeDefined();
  const response = await fetch(address!, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(response.status, await response.clone().text()).toBe(200);
  expect(await response.json()).toHaveProperty('score');
}

/** How each generated script is run: to completion (exit 0), or until its ready line (long-running ones). */
async function runScript(dir: string, script: string): Promise<void> {
  if (script === 'stream' || script === 'start') return runUntilReady(script, dir, /\[stream\] .*consuming/);
  if (script === 'serve')
    return runUntilReady(script, dir, /\[serve\] POST/, (output) => postScore(output, readmeScoreBody(dir)), {
      PORT: '0',
    });
  const result = await run('npm', ['run', script, ...(script === 'produce' ? ['5'] : [])], dir);
  if (script === 'infra:status') {
    // Kafka + Redis come from the environment here, so nothing is recorded: status says so and exits 1.
    expect(result.output).toContain('not running; start it with `npm run infra:up`');
    return;
  }
  expect(result.code, `npm run ${script}:\n${result.output}`).toBe(0);
}

/**
 * Every script the generated package.json declares, each run for real (train before serve, which needs its model);
 * the TypeScript ones also take --help. Returns the names, so callers can check none was skipped by accident.
 */
async function runEveryScript(dir: string, skip: readonly string[] = []): Promise<string[]> {
  const { scripts } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Scripts;
  const order = (name: string) => (name === 'train' ? 0 : name === 'serve' || name === 'start' ? 2 : 1);
  const names = Object.keys(scripts)
    .filter((name) => !skip.includes(name))
    .sort((a, b) => order(a) - order(b));
  for (const name of names) {
    if (/tsx .*src\/\w+\.ts$/.test(scripts[name]!)) {
      const help = await run('npm', ['run', name, '--', '--help'], dir);
      expect(help.code, help.output).toBe(0);
      expect(help.output).toContain(`usage: npm run ${name}`);
    }
    await runScript(dir, name);
  }
  return names;
}

/**
 * Every file under `dir` (not following symlinks) with a hash of its content: "nothing written" means this does not
 * change.
 */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isSymbolicLink()) files[path] = 'link';
      else if (entry.isDirectory()) walk(path);
      else files[path] = createHash('sha1').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return files;
}

/**
 * A throwaway monorepo: links to this checkout's packages and node_modules, copies of the root configs, empty
 * scenarios/.
 */
function monorepoCopy(): string {
  const root = temp('repo');
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  symlinkSync(join(REPO, 'packages'), join(root, 'packages'));
  for (const file of ['package.json', 'tsconfig.base.json', 'tsconfig.json'])
    cpSync(join(REPO, file), join(root, file));
  mkdirSync(join(root, 'scenarios', 'taken'), { recursive: true });
  return root;
}

function expectFailure(result: Run, message: RegExp): void {
  expect(result.code, result.output).not.toBe(0);
  expect(result.output).toMatch(message);
}

describe('bad answers: a clear error and nothing written', () => {
  it('project', async () => {
    const dir = temp('bad-project');
    mkdirSync(join(dir, 'taken'));
    const before = snapshot(dir);
    expectFailure(await plop('project', { name: 'Bad_Name', dir }), /--name "Bad_Name": must be kebab-case/);
    expectFailure(await plop('project', { name: 'taken', dir }), /taken already exists/);
    expectFailure(
      await plop('project', { name: 'ok-name', dir, entity: 'User-Name' }),
      /--entity "User-Name": must be snake_case/,
    );
    expectFailure(await plop('project', { name: 'ok-name', dir, colour: 'red' }), /unknown answer\(s\) "colour"/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('scenario and feature', async () => {
    const root = monorepoCopy();
    const before = snapshot(root);
    expectFailure(await plop('scenario', { root, name: '9lives' }), /must be kebab-case/);
    expectFailure(await plop('scenario', { root, name: 'taken' }), /a workspace named "taken" already exists/);
    expectFailure(await plop('scenario', { root, name: 'features' }), /a workspace named "features" already exists/);
    expectFailure(
      await plop('feature', { root, into: 'nowhere', name: 'x_1h' }),
      /nowhere[/\\]src[/\\]features\.ts does not exist/,
    );
    expect(snapshot(root)).toEqual(before);
  });
});

describe('generated code builds and passes its own tests on the real services', () => {
  it(
    'scenario + feature: events -> Kafka -> stream -> Redis, offline backfill -> PIT training set, ' + 'parity',
    async () => {
      const root = monorepoCopy();
      const scenario = await plop('scenario', { root, name: 'gen-check', entity: 'account' });
      expect(scenario.code, scenario.output).toBe(0);
      const dir = join(root, 'scenarios', 'gen-check');
      expect(
        (JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { references: unknown[] }).references,
      ).toContainEqual({ path: 'scenarios/gen-check' });

      // Feature answers from a JSON file; then bad feature answers against the real scenario write nothing.
      const answers = join(temp('answers'), 'feature.json');
      writeFileSync(
        answers,
        JSON.stringify({
          root,
          into: 'gen-check',
          name: 'recent_categories',
          aggregation: 'lastK',
          field: 'category',
          k: 3,
          window: '2h',
        }),
      );
      const featureRun = await run(
        join(BIN, 'plop'),
        ['--plopfile', join(REPO, 'templates', 'plopfile.js'), 'feature', '--', '--answers', answers],
        REPO,
        60_000,
      );
      expect(featureRun.code, featureRun.output).toBe(0);
      expect(
        (
          await plop('feature', {
            root,
            into: 'gen-check',
            name: 'amount_max_2h',
            aggregation: 'max',
            field: 'amount',
            window: '2h',
          })
        ).code,
      ).toBe(0);
      const before = snapshot(dir);
      expectFailure(
        await plop('feature', { root, into: 'gen-check', name: 'amount_max_2h', aggregation: 'count' }),
        /feature "amount_max_2h" already exists/,
      );
      expectFailure(
        await plop('feature', { root, into: 'gen-check', name: 'sum_cat', aggregation: 'sum', field: 'category' }),
        /sum needs a number field, "category" is string; use one of: amount/,
      );
      expectFailure(
        await plop('feature', { root, into: 'gen-check', name: 'x', aggregation: 'count', window: '2w' }),
        /must be "lifetime" or a sliding size/,
      );
      expect(snapshot(dir)).toEqual(before);
      const features = readFileSync(join(dir, 'src', 'features.ts'), 'utf8');
      expect(features).toContain("recent_categories: lastK('category', 3, { window: sliding(duration.hours(2)) }),");
      expect(features).toContain("amount_max_2h: max('amount', { window: sliding(duration.hours(2)) }),");

      writeFileSync(
        join(root, 'tsconfig.check.json'),
        JSON.stringify({
          extends: './tsconfig.base.json',
          compilerOptions: {
            noEmit: true,
            composite: false,
            declaration: false,
            declarationMap: false,
            customConditions: ['source'],
          },
          include: ['scenarios/gen-check/src/**/*.ts', join(REPO, 'test', 'global-setup.ts')],
        }),
      );
      const tsc = await run(join(BIN, 'tsc'), ['-p', 'tsconfig.check.json'], root);
      expect(tsc.code, tsc.output).toBe(0);
      // The monorepo's lint rules over the generated scenario, with the types of the check above.
      const lintRules = JSON.stringify(join(REPO, 'templates', 'lib', 'eslint-config.js'));
      writeFileSync(
        join(root, 'eslint.config.js'),
        `import { pipelineLintRules } from ${lintRules};
export default [
  ...pipelineLintRules,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: ${JSON.stringify(root)} },
    },
  },
];
`,
      );
      const lint = await run(join(BIN, 'eslint'), ['scenarios/gen-check'], root);
      expect(lint.code, lint.output).toBe(0);

      writeFileSync(
        join(root, 'vitest.config.ts'),
        `import { defineConfig } from 'vitest/config';
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: ['scenarios/*/src/**/*.test.ts'],
    globalSetup: [${JSON.stringify(join(REPO, 'test', 'global-setup.ts'))}],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
`,
      );
      const results = join(root, 'results.json');
      const tests = await run('npm', ['run', 'test', '--', '--reporter=json', `--outputFile=${results}`], dir);
      expect(tests.code, tests.output).toBe(0);
      const report = JSON.parse(readFileSync(results, 'utf8')) as {
        numPassedTests: number;
        numFailedTests: number;
        testResults: { name: string }[];
      };
      expect(report.numFailedTests).toBe(0);
      expect(report.numPassedTests).toBe(8); // 3 end-to-end + 3 test-driver unit tests + 2 feature parity tests
      expect(report.testResults.map((r) => r.name.replace(`${dir}/`, '')).sort()).toEqual([
        'src/features.test.ts',
        'src/parity/amount_max_2h.test.ts',
        'src/parity/recent_categories.test.ts',
        'src/pipeline.test.ts',
      ]);
      expect((await runEveryScript(dir, ['test'])).sort()).toEqual(['produce', 'serve', 'stream', 'train']);
    },
    900_000,
  );

  it(
    'project: generated into a new folder, copied elsewhere, installs, builds, passes its tests and runs ' +
      'every script',
    async () => {
      const caller = temp('project');
      // dir is relative to the caller
      const generated = await plop('project', { name: 'gen-project', dir: 'new/folder' }, caller);
      expect(generated.code, generated.output).toBe(0);
      expect(generated.output).toMatch(/next steps:\n\s+cd \S+gen-project\n/);
      const dir = join(temp('copy'), 'moved');
      cpSync(join(caller, 'new', 'folder', 'gen-project'), dir, { recursive: true });
      for (const file of [
        'package.json',
        '.npmrc',
        'tsconfig.json',
        'eslint.config.js',
        'README.md',
        'src/features.ts',
        'src/stream.ts',
        'src/serve.ts',
        'src/pipeline.test.ts',
        'src/features.test.ts',
      ]) {
        expect(existsSync(join(dir, file)), file).toBe(true);
      }
      // The project consumes the packages' built dist/ (as published code would be): build them (incremental).
      const build = await run(join(BIN, 'tsc'), ['-b', ...RTML_PACKAGES.map((p) => join(REPO, 'packages', p))], REPO);
      expect(build.code, build.output).toBe(0);
      const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], dir);
      expect(install.code, install.output).toBe(0);
      expect(statSync(join(dir, 'node_modules', '@rtml', 'features')).isDirectory()).toBe(true);
      const tsc = await run('npm', ['run', 'build'], dir);
      expect(tsc.code, tsc.output).toBe(0);
      expect(existsSync(join(dir, 'dist', 'stream.js'))).toBe(true);
      const tests = await run('npm', ['test'], dir);
      expect(tests.code, tests.output).toBe(0);
      expect(tests.output).toMatch(/Tests\s+6 passed/); // 3 end-to-end + 3 test-driver unit tests
      expect((await runEveryScript(dir, ['build', 'test'])).sort()).toEqual([
        'infra:down',
        'infra:status',
        'infra:up',
        'lint',
        'produce',
        'rtml:build',
        'serve',
        'start',
        'stream',
        'train',
      ]);
    },
    900_000,
  );
});

describe('generator usability', () => {
  it('no template HTML-escapes a value (every {{value}} is triple-stashed)', () => {
    const escaping: string[] = [];
    const walk = (at: string) => {
      for (const entry of readdirSync(at, { withFileTypes: true })) {
        const path = join(at, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.hbs')) {
          for (const match of readFileSync(path, 'utf8').matchAll(/(?<!\{)\{\{(?![{#/>!~]|else\b)[^{}]*\}\}(?!\})/g))
            escaping.push(`${path}: ${match[0]}`);
        }
      }
    };
    walk(join(REPO, 'templates'));
    expect(escaping).toEqual([]);
  });

  it('generate -- <generator> -- --help lists the answers and exits 0', async () => {
    for (const generator of ['project', 'scenario', 'feature']) {
      const help = await run(join(BIN, 'plop'), [...plopArgs(generator, {}), '--help'], REPO, 60_000, {
        INIT_CWD: REPO,
      });
      expect(help.code, help.output).toBe(0);
      expect(help.output).toContain(`Usage: npm run generate -- ${generator} -- [--<answer> <value> ...]`);
      expect(help.output).toMatch(/--name\s+/);
      // Run from the checkout, a project goes next to it by default, never into it.
      if (generator === 'project') expect(help.output).toContain(`[default: ${dirname(REPO)}]`);
    }
  });

  it("the root README's scaffolding example works as written", async () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const block = /## Scaffolding\s+```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = block.split('\n').filter((line) => line.startsWith('npm run generate'));
    expect(commands).toHaveLength(3);
    const root = monorepoCopy();
    const caller = temp('readme');
    for (const command of commands) {
      // `npm run generate -- <generator> -- --a b ...  # comment`, with the checkout and /tmp swapped for temp copies.
      const [generator, ...answers] = command
        .replace(/#.*$/, '')
        .trim()
        .split(/\s+/)
        .slice(3)
        .filter((word) => word !== '--');
      const args = [...plopArgs(generator!, {}), ...answers.map((word) => (word === '/tmp' ? caller : word))];
      if (generator !== 'project') args.push('--root', root);
      const result = await run(join(BIN, 'plop'), args, REPO, 60_000, { INIT_CWD: caller });
      expect(result.code, `${command}\n${result.output}`).toBe(0);
    }
  });
});
