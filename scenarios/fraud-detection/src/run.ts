import { Command } from 'commander';
import { resolveEndpoints } from '@rtml/devstack';
import { SIZES, type SizeName } from './generator.js';
import { formatReport } from './report.js';
import { runScenario } from './scenario.js';

/** One command: generate -> Kafka -> stream -> Redis, offline backfill -> PIT/naive training -> serving replay -> tables. */
async function main(): Promise<void> {
  const program = new Command('fraud-detection')
    .option('--size <size>', `one of ${Object.keys(SIZES).join(', ')}`, 'small')
    .option('--seed <n>', 'generator seed', '42')
    .option('--batch-interval <minutes>', 'batch path: materialize every N simulated minutes', '60')
    .parse();
  const opts = program.opts<{ size: string; seed: string; batchInterval: string }>();
  if (!(opts.size in SIZES)) throw new Error(`unknown size '${opts.size}': use one of ${Object.keys(SIZES).join(', ')}`);
  const endpoints = await resolveEndpoints();
  const result = await runScenario({
    size: opts.size as SizeName,
    seed: Number(opts.seed),
    brokers: endpoints.kafkaBrokers.split(','),
    redisUrl: endpoints.redisUrl,
    batchIntervalMinutes: Number(opts.batchInterval),
    log: (line) => console.error(line),
  });
  console.log(formatReport(result));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
