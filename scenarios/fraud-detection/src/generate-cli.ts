import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Command } from 'commander';
import { configFor, generateEvents, SIZES, type SizeName } from './generator.js';

/** Writes the synthetic history as JSON lines (stdout or a file); ground truth goes to stderr as a summary only. */
async function main(): Promise<void> {
  const program = new Command('generate')
    .option('--size <size>', `one of ${Object.keys(SIZES).join(', ')}`, 'tiny')
    .option('--seed <n>', 'PRNG seed', '42')
    .option('--out <file>', 'output file (default: stdout)')
    .parse();
  const opts = program.opts<{ size: string; seed: string; out?: string }>();
  if (!(opts.size in SIZES)) throw new Error(`unknown size '${opts.size}': use one of ${Object.keys(SIZES).join(', ')}`);
  const out = opts.out ? createWriteStream(opts.out) : process.stdout;
  const counts: Record<string, number> = {};
  for (const { event, fraud } of generateEvents(configFor(opts.size as SizeName, Number(opts.seed)))) {
    const key = fraud ? 'fraud transaction' : event.type;
    counts[key] = (counts[key] ?? 0) + 1;
    if (!out.write(`${JSON.stringify(event)}\n`)) await once(out, 'drain');
  }
  if (out !== process.stdout) out.end();
  process.stderr.write(`${JSON.stringify(counts)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
