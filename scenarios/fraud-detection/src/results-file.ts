import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metrics } from './model.js';
import type { PathStaleness, ScenarioResult } from './scenario.js';

/** Where `npm run main` leaves the last run's results for the pipeline console (`packages/console`). */
export const DEFAULT_RESULTS_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../.cache/scenario-results/fraud-detection.json',
);

const LAG_BUCKETS_MINUTES = [0, 1, 5, 15, 30, 60, 120, 240, Infinity];

const metric = ({ auc, precisionAtK, k }: Metrics) => ({ auc, precisionAtK, k });

function lagHistogram(lagMinutes: readonly number[]): { upToMinutes: number; count: number }[] {
  const counts = LAG_BUCKETS_MINUTES.map(() => 0);
  for (const lag of lagMinutes) counts[LAG_BUCKETS_MINUTES.findIndex((limit) => lag <= limit)]! += 1;
  // JSON has no Infinity: the open last bucket is written as -1.
  return LAG_BUCKETS_MINUTES.map((limit, i) => ({
    upToMinutes: Number.isFinite(limit) ? limit : -1,
    count: counts[i]!,
  }));
}

const stalenessPath = (path: string, p: PathStaleness) => ({
  path,
  meanMinutes: p.meanMinutes,
  p95Minutes: p.p95Minutes,
  missedShare: p.missedShare,
  served: metric(p.served),
  lagHistogram: lagHistogram(p.lagMinutes),
});

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** The run's results as numbers small enough to chart (per-transaction arrays become histograms). */
export function resultsSummary(r: ScenarioResult, run: { size: string; seed: number; at?: Date }) {
  const commitMs = [...r.replayWork.segmentCommitMs].sort((a, b) => a - b);
  return {
    scenario: 'fraud-detection',
    generatedAt: (run.at ?? new Date()).toISOString(),
    size: run.size,
    seed: run.seed,
    counts: { ...r.counts },
    lookAhead: {
      rows: [
        {
          join: 'point-in-time (ASOF, strictly before)',
          offline: metric(r.lookAhead.pit.offline),
          served: metric(r.lookAhead.pit.served),
        },
        {
          join: 'naive latest value',
          offline: metric(r.lookAhead.naive.offline),
          served: metric(r.lookAhead.naive.served),
        },
      ],
      leakingRows: {
        'point-in-time': {
          rowsChecked: r.lookAhead.leakage.pit.rowsChecked,
          leakingRows: r.lookAhead.leakage.pit.leakingRows,
        },
        naive: {
          rowsChecked: r.lookAhead.leakage.naive.rowsChecked,
          leakingRows: r.lookAhead.leakage.naive.leakingRows,
        },
      },
    },
    skew: {
      features: r.skew.shared.map((s, i) => {
        const re = r.skew.reimplemented[i]!;
        return {
          feature: s.feature,
          shared: { mismatchRate: s.mismatchRate, psi: s.psi, flagged: s.flagged },
          reimplemented: { mismatchRate: re.mismatchRate, psi: re.psi, flagged: re.flagged },
        };
      }),
      served: [
        { path: 'shared feature code', metrics: metric(r.skew.sharedServed) },
        { path: 'reimplemented request features', metrics: metric(r.skew.reimplementedServed) },
      ],
    },
    staleness: {
      batchIntervalMinutes: r.staleness.batchIntervalMinutes,
      paths: [
        stalenessPath('stream processor (per event)', r.staleness.stream),
        stalenessPath(`batch every ${r.staleness.batchIntervalMinutes} min`, r.staleness.batch),
      ],
      processorCommitMs: {
        segments: commitMs.length,
        p50: percentile(commitMs, 0.5),
        p95: percentile(commitMs, 0.95),
        max: commitMs.at(-1) ?? 0,
      },
    },
  };
}

export async function writeResultsFile(file: string, summary: ReturnType<typeof resultsSummary>): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(summary, null, 2)}\n`);
}
