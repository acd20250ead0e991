import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { duration } from '@rtml/features';
import { checkConnections, explainFailure, readConnectionSettings, SECURITY_HELP } from '@rtml/connections';
import { withRecordedStack } from '@rtml/devstack';
import { configFor, SIZES, type SizeName } from './generator.js';
import { DEFAULT_HORIZON_MS, runScenario, type ScenarioOptions } from './pipeline.js';
import { formatReport } from './report.js';

/** Per size: how much of the end is held out and how finely it is replayed through the live path. */
const PLAN: Record<SizeName, { heldOutHours: number; stepMinutes: number }> = {
  tiny: { heldOutHours: 4, stepMinutes: 2 },
  small: { heldOutHours: 6, stepMinutes: 1 },
  medium: { heldOutHours: 8, stepMinutes: 1 },
  large: { heldOutHours: 8, stepMinutes: 1 },
};

const program = new Command('recommendations')
  .description(
    'Recommendations end to end: generate -> Kafka -> stream -> Redis; DuckDB offline store -> PIT / naive ' +
      'training sets -> models -> offline vs served metrics.\nNeeds KAFKA_BROKERS and REDIS_URL (or a stack ' +
      'from `npm run infra:up`).\n' +
      SECURITY_HELP,
  )
  .addOption(new Option('--size <size>', 'data size').choices(Object.keys(SIZES)).default('small'))
  .option('--seed <n>', 'generator seed', (v) => Number.parseInt(v, 10), 7)
  .option('--k <n>', 'precision/recall@k per user', (v) => Number.parseInt(v, 10), 5)
  .option('--keep', 'keep the work directory (events.jsonl, offline store)', false)
  .parse();

async function main(opts: { size: SizeName; seed: number; k: number; keep: boolean }): Promise<void> {
  const connections = readConnectionSettings(withRecordedStack());
  await checkConnections(connections); // before generating and backfilling
  const workDir = await mkdtemp(join(tmpdir(), 'rtml-recommendations-'));
  const plan = PLAN[opts.size];
  const options: ScenarioOptions = {
    config: configFor(opts.size, opts.seed),
    connections,
    workDir,
    namespace: `rec-${randomUUID().slice(0, 8)}`,
    horizonMs: DEFAULT_HORIZON_MS,
    warmupHours: 4,
    heldOutHours: plan.heldOutHours,
    servingStepMs: duration.minutes(plan.stepMinutes),
    partitions: 3,
    k: opts.k,
    log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  };
  console.log(`recommendations: size ${opts.size} (${JSON.stringify(options.config)}), work dir ${workDir}`);
  try {
    const result = await runScenario(options);
    console.log(`\n${formatReport(result, options)}`);
  } finally {
    if (!opts.keep) await rm(workDir, { recursive: true, force: true });
  }
}

main(program.opts()).catch((error: unknown) => {
  console.error(`recommendations: ${explainFailure(error)}`);
  process.exit(1);
});
