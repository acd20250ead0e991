/**
 * A project CLI run as a real child process, the way it runs in production (labs 6 and 7: `rtml-stream`,
 * `rtml-console`): started, awaited until it says it is ready, its output kept for when something goes wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildRun {
  readonly child: ChildProcess;
  /** Everything the process printed, for when something goes wrong. */
  readonly output: () => string;
  /** Resolves with the signal (or exit code) once the process is gone. */
  readonly exited: Promise<string>;
}

/** Starts `node <script> ...args`; resolves with the line that matched `ready` once the process prints it. */
export async function startChild(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<ChildRun & { readonly ready: RegExpExecArray }> {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`));
  });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = ready.exec(output);
      if (found) resolve(found);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((how) => reject(new Error(`${script} ended before it was ready (${how}):\n${output}`)));
  });
  return { child, output: () => output, exited, ready: match };
}

/** SIGTERM (a clean shutdown), and the process is gone when this resolves. */
export async function stopChild(run: ChildRun): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  await run.exited;
}
