import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Command } from 'commander';
import { sizeOption, wholeNumber } from './cli-options.js';
import { configFor, generateEvents, type SizeName } from './generator.js';

/** Writes the synthetic history as JSON lines (stdout or a file); ground truth goes to stderr as a summary only. */
async function main(): Promise<void> {
  const program = new Command('generate')
    .description('Writes the synthetic fraud history as JSON lines; a summary of the ground truth goes to stderr.')
    .addOption(sizeOption('tiny'))
    .option('--seed <n>', 'PRNG seed', wholeNumber('--seed', 0), 42)
    .option('--out <file>', 'output file (default: stdout)')
    .parse();
  const opts = program.opts<{ size: SizeName; seed: number; out?: string }>();
  const out = opts.out ? createWriteStream(opts.out) : process.stdout;
  const counts: Record<string, number> = {};
  for (const { event, fraud } of generateEvents(configFor(opts.size, opts.seed))) {
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
