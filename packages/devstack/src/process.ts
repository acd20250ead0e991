import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import net from 'node:net';

/** A clear, step-named failure: what we were doing and where to look. */
export class DevstackError extends Error {
  constructor(
    step: string,
    detail: string,
    readonly logFile?: string,
  ) {
    super(`[devstack] ${step} failed: ${detail}${logFile ? `\n  see log: ${logFile}` : ''}`);
    this.name = 'DevstackError';
  }
}

export function progress(message: string): void {
  process.stderr.write(`[devstack] ${message}\n`);
}

/** Seconds since `startedMs` (a Date.now()), one decimal: how long a start took. */
export function secondsSince(startedMs: number): string {
  return ((Date.now() - startedMs) / 1000).toFixed(1);
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Runs a command to completion, sending its output to a log file; throws a DevstackError naming the step. */
export function runLogged(
  step: string,
  command: string,
  args: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
): void {
  const fd = openSync(logFile, 'a');
  try {
    const result = spawnSync(command, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (result.error) throw new DevstackError(step, `${command}: ${result.error.message}`, logFile);
    if (result.status !== 0) throw new DevstackError(step, `${command} exited with ${result.status}`, logFile);
  } finally {
    closeSync(fd);
  }
}

/** `runLogged` without blocking the event loop: several commands (e.g. one format per Kafka node) run in parallel. */
export async function runLoggedAsync(
  step: string,
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const fd = openSync(logFile, 'a');
  try {
    const status = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', fd, fd], env });
      child.once('error', (error) => reject(new DevstackError(step, `${command}: ${error.message}`, logFile)));
      child.once('exit', resolve);
    });
    if (status !== 0) throw new DevstackError(step, `${command} exited with ${status}`, logFile);
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts a long-running server in its own process group with output to a log file.
 * Detached so `infra:up` can exit and leave it running; stopped later by pid.
 */
export function spawnServer(command: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  child.unref();
  return child;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the process group, wait, then SIGKILL whatever is left. */
export async function stopProcess(pid: number, graceMs = 15_000): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) signalGroup('SIGKILL');
  while (isAlive(pid)) await sleep(50);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** `count` distinct free loopback ports: all are held open until every one is chosen, so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listenOnAnyPort()));
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

function listenOnAnyPort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export async function isPortListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A process start-up depends on: if it dies, waiting is pointless and its log says why. */
export interface WatchedProcess {
  pid: number;
  logFile?: string;
}

/** Polls `check` until it returns true; throws a DevstackError with the log file on timeout or process death. */
export async function waitUntil(
  step: string,
  check: () => Promise<boolean>,
  opts: {
    timeoutMs: number;
    pid?: number;
    logFile?: string;
    watched?: readonly WatchedProcess[];
    exited?: () => Promise<boolean>;
  },
): Promise<void> {
  const watched = [
    ...(opts.watched ?? []),
    ...(opts.pid !== undefined ? [{ pid: opts.pid, logFile: opts.logFile }] : []),
  ];
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    const dead = watched.find((p) => !isAlive(p.pid));
    if (dead) throw new DevstackError(step, `process ${dead.pid} exited during start-up`, dead.logFile);
    if (await opts.exited?.()) throw new DevstackError(step, 'the process exited during start-up', opts.logFile);
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new DevstackError(step, `not ready after ${opts.timeoutMs} ms`, opts.logFile ?? watched[0]?.logFile);
}
