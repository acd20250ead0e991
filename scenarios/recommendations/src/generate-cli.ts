import { Command, Option } from 'commander';
import { configFor, generateEvents, SIZES, type SizeName } from './generator.js';
import { writeEventsFile } from './events-file.js';

/**
 * Writes the seeded event history as NDJSON (one event per line, event-time order), e.g. to inspect or load elsewhere.
 */
const program = new Command('generate')
  .addOption(new Option('--size <size>', 'data size').choices(Object.keys(SIZES)).default('tiny'))
  .option('--seed <n>', 'generator seed', (v) => Number.parseInt(v, 10), 7)
  .requiredOption('--out <file>', 'output NDJSON file')
  .parse();
const opts = program.opts<{ size: SizeName; seed: number; out: string }>();
const count = await writeEventsFile(generateEvents(configFor(opts.size, opts.seed)), opts.out);
console.error(`${count} events -> ${opts.out}`);
