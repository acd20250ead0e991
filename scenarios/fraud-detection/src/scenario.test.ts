import { describe, expect, inject, it } from 'vitest';
import { readConnectionSettings } from '@rtml/connections';
import { scenarioResultsSchema } from '@rtml/console';
import { resultsSummary } from './results-file.js';
import { runScenario, type ScenarioResult } from './scenario.js';
import { SKEWED_FEATURES } from './skew.js';

const flagged = (report: ScenarioResult['skew']['shared']) =>
  report
    .filter((f) => f.flagged)
    .map((f) => f.feature)
    .sort();

describe('fraud-detection scenario, end to end at tiny size (real Kafka, Redis, DuckDB)', () => {
  it(
    'shows look-ahead bias, training-serving skew and staleness in the expected directions',
    { timeout: 600_000 },
    async () => {
      const result = await runScenario({
        size: 'tiny',
        connections: readConnectionSettings({ KAFKA_BROKERS: inject('kafkaBrokers'), REDIS_URL: inject('redisUrl') }),
        batchIntervalMinutes: 180,
      });
      expect(result.counts.testPositives).toBeGreaterThan(20);

      // Look-ahead: the naive join leaks chargebacks into training and evaluation rows.
      const { pit, naive } = result.lookAhead;
      expect(naive.offline.auc).toBeGreaterThan(pit.offline.auc);
      expect(naive.served.auc).toBeLessThan(pit.served.auc - 0.1);
      // With point-in-time data, what was measured offline is what the live path delivers.
      expect(Math.abs(pit.served.auc - pit.offline.auc)).toBeLessThan(0.03);

      // Skew: the shared code path serves what offline computes; the reimplementation is caught feature by feature.
      expect(flagged(result.skew.shared)).toEqual([]);
      expect(flagged(result.skew.reimplemented)).toEqual([...SKEWED_FEATURES].sort());
      expect(result.replayWork.segments).toBeGreaterThan(0);
      expect(result.replayWork.segmentCommitMs).toHaveLength(result.replayWork.segments);

      // Staleness: the streaming store never misses a user's own earlier event; the batch store does.
      const { stream, batch } = result.staleness;
      expect(stream.meanMinutes).toBeLessThan(batch.meanMinutes);
      expect(stream.missedShare).toBe(0);
      expect(batch.missedShare).toBeGreaterThan(0);

      // The results file the pipeline console charts: what the console accepts, with every per-transaction lag counted.
      const summary = scenarioResultsSchema.parse(resultsSummary(result, { size: 'tiny', seed: 42 }));
      expect(summary.staleness.paths.map((p) => p.lagHistogram.reduce((n, b) => n + b.count, 0))).toEqual([
        stream.lagMinutes.length,
        batch.lagMinutes.length,
      ]);
    },
  );
});
