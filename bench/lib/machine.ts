import { cpus, freemem, loadavg, totalmem } from 'node:os';

/** One line describing the machine and its load right now: print it with every measurement (the box is shared). */
export function machineNote(): string {
  const [l1, l5] = loadavg();
  const gib = (bytes: number, digits: number) => `${(bytes / 2 ** 30).toFixed(digits)}GiB`;
  const load = `load1=${l1!.toFixed(2)} load5=${l5!.toFixed(2)}`;
  return `cores=${cpus().length} mem=${gib(totalmem(), 0)} free=${gib(freemem(), 1)} ${load} node=${process.version}`;
}

export function loadShort(): string {
  return `load1=${loadavg()[0]!.toFixed(2)}`;
}
