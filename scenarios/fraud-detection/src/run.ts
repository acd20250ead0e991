import { Command, InvalidArgumentError, Option } from 'commander';
import { checkConnections, explainFailure, readConnectionSettings } from '@rtml/connections';
import { withRecordedStack } from '@rtml/devstack';
import { SIZES, type SizeName } from './generator.js';
import { formatReport } from './report.js';
import { runScenario } from './scenario.js';

const wholeNumber = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got "${value}"`);
  return n;
};

const program = new Command('fraud-detection')
  .description('Fraud detection end to end: generate -> Kafka -> stream -> Redis, offline backfill -> PIT/naive training -> serving replay -> tables.\nNeeds KAFKA_BROKERS and REDIS_URL (or a stack from `npm run infra:up`).')
  .addOption(new Option('--size <size>', 'data size').choices(Object.keys(SIZES)).default('small'))
  .option('--seed <n>', 'generator seed', wholeNumber('--seed', 0), 42)
  .option('--batch-interval <minutes>', 'batch path: materialize every N simulated minutes', wholeNumber('--batch-interval', 1), 60)
  .action(main);

/** One command: generate -> Kafka -> stream -> Redis, offline backfill -> PIT/naive training -> serving replay -> tables. */
async function main(opts: { size: SizeName; seed: number; batchInterval: number }): Promise<void> {
  const connections = readConnectionSettings(withRecordedStack());
  await checkConnections(connections); // before the offline work, which takes most of a minute at the default size
  const result = await runScenario({
    size: opts.size,
    seed: opts.seed,
    brokers: connections.kafka.brokers,
    redisUrl: connections.redis.url,
    batchIntervalMinutes: opts.batchInterval,
    log: (line) => console.error(line),
  });
  console.log(formatReport(result));
}

program.parseAsync().catch((error: unknown) => {
  console.error(`fraud-detection: ${explainFailure(error)}`);
  process.exit(1);
});
