import { Command } from 'commander';
import { checkConnections, explainFailure, readConnectionSettings, SECURITY_HELP } from '@rtml/connections';
import { withRecordedStack } from '@rtml/devstack';
import { sizeOption, wholeNumber } from './cli-options.js';
import type { SizeName } from './generator.js';
import { formatReport } from './report.js';
import { DEFAULT_RESULTS_FILE, resultsSummary, writeResultsFile } from './results-file.js';
import { runScenario } from './scenario.js';

const program = new Command('fraud-detection')
  .description(
    'Fraud detection end to end: generate -> Kafka -> stream -> Redis, offline backfill -> PIT/naive ' +
      'training -> serving replay -> tables.\nNeeds KAFKA_BROKERS and REDIS_URL (or a stack from `npm run ' +
      'infra:up`).\n' +
      SECURITY_HELP,
  )
  .addOption(sizeOption('small'))
  .option('--seed <n>', 'generator seed', wholeNumber('--seed', 0), 42)
  .option(
    '--batch-interval <minutes>',
    'batch path: materialize every N simulated minutes',
    wholeNumber('--batch-interval', 1),
    60,
  )
  .option('--results <file>', 'where the results are written as JSON for the pipeline console', DEFAULT_RESULTS_FILE)
  .action(main);

/**
 * One command: generate -> Kafka -> stream -> Redis, offline backfill -> PIT/naive training -> serving replay ->
 * tables.
 */
async function main(opts: { size: SizeName; seed: number; batchInterval: number; results: string }): Promise<void> {
  const connections = readConnectionSettings(withRecordedStack());
  await checkConnections(connections); // before the offline work, which takes most of a minute at the default size
  const result = await runScenario({
    size: opts.size,
    seed: opts.seed,
    connections,
    batchIntervalMinutes: opts.batchInterval,
    log: (line) => console.error(line),
  });
  console.log(formatReport(result));
  await writeResultsFile(opts.results, resultsSummary(result, { size: opts.size, seed: opts.seed }));
  console.error(`results for the pipeline console: ${opts.results}`);
}

program.parseAsync().catch((error: unknown) => {
  console.error(`fraud-detection: ${explainFailure(error)}`);
  process.exit(1);
});
