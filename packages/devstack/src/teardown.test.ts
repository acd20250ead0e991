import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { isAlive, isPortListening } from './process.js';
import { startStack } from './stack.js';

/** Pids of every descendant of a process, from /proc (children of children too). */
function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=']).toString();
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const result: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (result.push(c), walk(c)));
  walk(pid);
  return result;
}

it('a native stack stops cleanly: no listening ports, no processes left', async () => {
  const before = new Set(descendants(process.pid));
  const stack = await startStack({ ignoreEnvironment: true, forceNative: true });
  expect(stack.mode).toBe('native');
  const ports = stack.processes.flatMap((p) => p.ports);
  const pids = stack.processes.map((p) => p.pid);
  expect(ports.length).toBeGreaterThanOrEqual(3);
  for (const port of ports) expect(await isPortListening(port)).toBe(true);

  await stack.stop();

  for (const port of ports) expect(await isPortListening(port)).toBe(false);
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
  const leftovers = descendants(process.pid).filter((p) => !before.has(p) && p !== process.pid);
  // `ps` itself is a descendant while it runs; anything else would be a leak.
  const named = leftovers.map((p) => {
    try {
      return execFileSync('ps', ['-o', 'comm=', '-p', String(p)])
        .toString()
        .trim();
    } catch {
      return '';
    }
  });
  expect(named.filter((n) => n && n !== 'ps')).toEqual([]);
});
