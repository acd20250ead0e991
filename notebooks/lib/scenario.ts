/**
 * Runs the fraud-detection scenario (`@rtml/scenario-fraud-detection`) once and shares its result between
 * notebooks 01–03: the first notebook that asks runs it for real (Kafka, stream processors, Redis, DuckDB,
 * serving) and writes the `ScenarioResult` as JSON to a cache file; the next ones read that file.
 *
 * The cache file is keyed by size, seed, batch interval and a fingerprint of the scenario's compiled code, in
 * `RTML_NB_CACHE_DIR` (set by `scripts/notebooks.sh run` to a fresh directory per run, so each headless run
 * executes the scenario exactly once: in 01, the first notebook in run order), else `<repo>/.cache/notebooks`
 * (interactive use: delete it, or pass `fresh: true`, to force a new run).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readConnectionSettings } from '@rtml/connections';
import { runScenario, type ScenarioResult, type SizeName } from '@rtml/scenario-fraud-detection';

export interface SharedRun {
  readonly result: ScenarioResult;
  /** `run`: executed in this notebook; `cache`: read from the file another notebook wrote. */
  readonly origin: 'run' | 'cache';
  readonly file: string;
  /** When the scenario finished, ISO-8601. */
  readonly finishedAt: string;
  /** Wall-clock seconds of the scenario run itself (whoever ran it). */
  readonly wallSeconds: number;
  readonly options: { size: SizeName; seed: number; batchIntervalMinutes: number };
}

export function repoRoot(): string {
  let dir = process.cwd();
  while (!existsSync(join(dir, 'scenarios', 'fraud-detection', 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root above ${process.cwd()}`);
    dir = up;
  }
  return dir;
}

/** Hash of a scenario's compiled JavaScript: a rebuilt scenario never reuses an old result. */
export function codeFingerprint(root: string, scenario = 'fraud-detection'): string {
  const dist = join(root, 'scenarios', scenario, 'dist');
  const hash = createHash('sha256');
  for (const name of readdirSync(dist)
    .filter((n) => n.endsWith('.js'))
    .sort())
    hash.update(name).update(readFileSync(join(dist, name)));
  return hash.digest('hex').slice(0, 12);
}

export async function sharedScenario(
  options: { size?: SizeName; seed?: number; batchIntervalMinutes?: number; fresh?: boolean } = {},
): Promise<SharedRun> {
  const size = options.size ?? ((process.env.NB_SCENARIO_SIZE as SizeName | undefined) || 'tiny');
  const seed = options.seed ?? 42;
  const batchIntervalMinutes = options.batchIntervalMinutes ?? 180;
  const root = repoRoot();
  const dir = process.env.RTML_NB_CACHE_DIR || join(root, '.cache', 'notebooks');
  const file = resolve(dir, `fraud-${size}-seed${seed}-batch${batchIntervalMinutes}-${codeFingerprint(root)}.json`);
  if (!options.fresh && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Omit<SharedRun, 'origin' | 'file'>;
    return { ...saved, origin: 'cache', file };
  }
  if (!process.env.KAFKA_BROKERS || !process.env.REDIS_URL)
    throw new Error('set KAFKA_BROKERS and REDIS_URL (bash scripts/notebooks.sh run does it for you)');
  // With the TLS, SASL and Redis ACL variables too, so a notebook runs against a secured stack as well.
  const connections = readConnectionSettings();
  const started = Date.now();
  const result = await runScenario({ size, seed, batchIntervalMinutes, connections });
  const saved = {
    result,
    finishedAt: new Date().toISOString(),
    wallSeconds: (Date.now() - started) / 1000,
    options: { size, seed, batchIntervalMinutes },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(saved));
  renameSync(`${file}.tmp`, file);
  return { ...saved, origin: 'run', file };
}

/** One line saying where the numbers below come from. */
export function provenance(run: SharedRun): string {
  const { size, seed, batchIntervalMinutes } = run.options;
  const how =
    run.origin === 'run'
      ? `ran it here in ${run.wallSeconds.toFixed(0)} s`
      : `reused the result of the run that finished at ${run.finishedAt} (${run.wallSeconds.toFixed(0)} s)`;
  const c = run.result.counts;
  return (
    `Scenario \`${size}\`, seed ${seed}, batch interval ${batchIntervalMinutes} min — ${how}. ` +
    `${c.events.toLocaleString('en-US')} events, ${c.transactions.toLocaleString('en-US')} transactions; ` +
    `${c.trainRows.toLocaleString('en-US')} training rows, ` +
    `${c.testRows.toLocaleString('en-US')} held-out rows scored live (${c.testPositives} disputed).`
  );
}
