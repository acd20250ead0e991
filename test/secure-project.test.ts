import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

/*
 * Issue #19, "a generated project works in secure mode from its README": a project generated as `npm run generate`
 * does, installed, then the commands of its README's "Secure mode" block run as written (its own secure stack,
 * each step with the principal the README exports), ending with a /score answered from the features the stream
 * wrote. Wrong steps in the README (a principal without the rights, a missing export, a wrong order) fail here.
 */

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'node_modules', '.bin');
const work = mkdtempSync(join(tmpdir(), 'rtml-secure-project-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment of a fresh shell: no endpoints or credentials of the test run's own stack. */
function freshShell(): Record<string, string> {
  const inherited = Object.entries(process.env).filter(([name]) => !/^(KAFKA|REDIS)_/.test(name));
  return { ...Object.fromEntries(inherited as [string, string][]), FORCE_COLOR: '0', NO_COLOR: '1' };
}

/** Everything the project's commands printed, scanned for passwords at the end. */
const printed: string[] = [];

interface Command {
  readonly done: Promise<number | null>;
  output(): string;
  stop(): Promise<void>;
}

/** A shell command in its own process group (long-running ones are stopped with the whole group). */
function start(command: string, cwd: string, env: Record<string, string>): Command {
  const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const collect = (chunk: Buffer) => void (output += chunk.toString());
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const done = new Promise<number | null>((resolveExit) =>
    child.on('close', (code) => {
      printed.push(output);
      resolveExit(code);
    }),
  );
  return {
    done,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
      await done;
    },
  };
}

async function runToEnd(command: string, cwd: string, env: Record<string, string>): Promise<string> {
  const run = start(command, cwd, env);
  const code = await run.done;
  expect(code, `${command}\n${run.output()}`).toBe(0);
  return run.output();
}

/** Resolves once `pattern` shows in the command's output; fails if the command ends first. */
async function readyLine(command: Command, pattern: RegExp): Promise<string> {
  for (;;) {
    const match = pattern.exec(command.output());
    if (match) return match[0];
    const ended = await Promise.race([
      command.done.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 200)),
    ]);
    if (ended && !pattern.test(command.output()))
      throw new Error(`ended before printing ${pattern}:\n${command.output()}`);
  }
}

/** The shell lines of the README section `heading` (its first sh block), comments and all. */
function readmeBlock(readme: string, heading: string): string[] {
  const section = readme.split(`## ${heading}\n`)[1] ?? '';
  return (/```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '').split('\n').filter((line) => line.trim() !== '');
}

/** `export NAME=value` / `unset NAME` lines, as `eval` applies them. */
function applyExports(env: Record<string, string>, printedExports: string): void {
  for (const line of printedExports.split('\n')) {
    const exported = /^export (\w+)=(.*)$/.exec(line);
    if (exported) env[exported[1]!] = exported[2]!;
    const unset = /^unset (\w+)$/.exec(line);
    if (unset) delete env[unset[1]!];
  }
}

/**
 * POSTs the README's /score example until the stream's features for its entity are in Redis (all fresh, no fallbacks).
 */
async function scoreWithStreamedFeatures(
  address: string,
  readme: string,
): Promise<{ features: Record<string, { status: string }>; fallbacks: unknown[] }> {
  const body = /-d '(\{[\s\S]*?\})'/.exec(readme)?.[1];
  expect(body, 'README shows a /score request body').toBeDefined();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const response = await fetch(address, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body!.replace(`'"$(date +%s000)"'`, String(Date.now())),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const scored = (await response.json()) as { features: Record<string, { status: string }>; fallbacks: unknown[] };
    if (scored.fallbacks.length === 0 || Date.now() > deadline) return scored;
    await new Promise((r) => setTimeout(r, 500));
  }
}

it(
  'a generated project, run step by step as its README\'s "Secure mode" says: each step as its principal, ' +
    '/score from streamed features, no password printed',
  { timeout: 900_000 },
  async () => {
    const shell = freshShell();
    const generated = await runToEnd(
      `${join(BIN, 'plop')} --plopfile templates/plopfile.js project -- --name sec-check --dir ${work}`,
      REPO,
      { ...shell, INIT_CWD: work },
    );
    expect(generated).toContain('next steps');
    const dir = join(work, 'sec-check');
    // The project installs the packages' built dist/ (file: dependencies): build the ones it uses (incremental).
    const { dependencies } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const packages = Object.values(dependencies)
      .filter((spec) => spec.startsWith('file:'))
      .map((spec) => spec.slice('file:'.length));
    await runToEnd(`${join(BIN, 'tsc')} -b ${packages.join(' ')}`, REPO, shell);
    await runToEnd('npm install --prefer-offline --no-audit --no-fund', dir, shell);

    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const lines = readmeBlock(readme, 'Secure mode');
    expect(lines.length).toBeGreaterThan(5);
    const env = { ...shell };
    const principalOf: Record<string, string | undefined> = {};
    const passwords = new Set<string>();
    const running: Command[] = [];
    try {
      for (const line of lines) {
        const command = line.replace(/\s+#.*$/, '').trim();
        const evaluated = /^eval "\$\((.*)\)"$/.exec(command);
        if (evaluated) {
          applyExports(env, await runToEnd(evaluated[1]!, dir, env));
          for (const file of [env.KAFKA_SASL_PASSWORD_FILE, env.REDIS_PASSWORD_FILE])
            if (file) passwords.add(readFileSync(file, 'utf8').trim());
          continue;
        }
        const script = /npm run (\S+)/.exec(command)?.[1] ?? command;
        principalOf[script] = env.KAFKA_SASL_USERNAME;
        if (script === 'stream') {
          const stream = start(command, dir, env);
          running.push(stream);
          await readyLine(stream, /\[stream\] .*consuming/);
        } else if (script === 'serve') {
          const serve = start(command.replace(/\bPORT=\d+/, 'PORT=0'), dir, env);
          running.push(serve);
          const address = (await readyLine(serve, /POST http:\/\/\S+\/score/)).slice('POST '.length);
          const scored = await scoreWithStreamedFeatures(address, readme);
          expect(scored.fallbacks, JSON.stringify(scored)).toEqual([]);
          const statuses = Object.values(scored.features).map((f) => f.status);
          expect(statuses).toContain('fresh');
          expect(
            statuses.every((s) => s === 'fresh' || s === 'computed'),
            JSON.stringify(scored),
          ).toBe(true);
        } else {
          await runToEnd(command, dir, env);
        }
      }
    } finally {
      await Promise.all(running.map((command) => command.stop()));
      // The block ends with infra:down; after a failure part-way the stack must not outlive the test either.
      await runToEnd('npm run infra:down', dir, shell);
    }
    expect(principalOf).toMatchObject({
      'infra:up': undefined,
      train: undefined,
      produce: 'admin',
      stream: 'processor',
      serve: 'serving',
    });
    expect(Object.keys(principalOf)).toEqual(['infra:up', 'train', 'produce', 'stream', 'serve', 'infra:down']);
    expect(passwords.size).toBe(3);
    for (const password of passwords) for (const output of printed) expect(output).not.toContain(password);
  },
);
