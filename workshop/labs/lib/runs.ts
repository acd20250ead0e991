/**
 * The scenario runs labs 2 and 4 read: live (and kept for the rest of the session, so a lab and its solution, or
 * a cell run twice, share one run) or, without working services, the committed result of a real run (sourced.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaClient, readConnectionSettings } from '@rtml/connections';
import { duration } from '@rtml/features';
import type { ScenarioResult as FraudResult } from '@rtml/scenario-fraud-detection';
import { configFor, runScenario, type ScenarioResult as RecommendationsResult } from '@rtml/scenario-recommendations';
import { codeFingerprint, repoRoot, sharedScenario } from './scenario';
import { liveOrCached, type Sourced } from './sourced';

/** The fraud scenario at `tiny`, seed 42, with the batch store refreshed every `minutes` simulated minutes. */
export function fraudRun(minutes: number): Promise<Sourced<FraudResult>> {
  return liveOrCached(
    `fraud-tiny-seed42-batch${minutes}`,
    async () => (await sharedScenario({ batchIntervalMinutes: minutes })).result,
  );
}

/** The recommendations scenario at its test size (120 users, 16 h, 3 h held out, 3-min serving steps), seed 7. */
export function recommendationsRun(): Promise<Sourced<RecommendationsResult>> {
  return liveOrCached('recommendations-tiny-seed7', async () => {
    const root = repoRoot();
    const dir = process.env.RTML_NB_CACHE_DIR || join(root, '.cache', 'notebooks');
    const file = join(dir, `recommendations-tiny-seed7-${codeFingerprint(root, 'recommendations')}.json`);
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as RecommendationsResult;
    const result = await runRecommendations();
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(result));
    return result;
  });
}

async function runRecommendations(): Promise<RecommendationsResult> {
  const connections = readConnectionSettings();
  const workDir = mkdtempSync(join(tmpdir(), 'rtml-lab02-'));
  try {
    const result = await runScenario({
      config: { ...configFor('tiny', 7), hours: 16 },
      connections,
      workDir,
      namespace: `lab02-${Date.now().toString(36)}`,
      horizonMs: duration.minutes(10),
      warmupHours: 3,
      heldOutHours: 3,
      servingStepMs: duration.minutes(3),
      partitions: 2,
      k: 5,
      log: () => undefined,
    });
    const admin = kafkaClient(connections.kafka).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(result.servedLogTopics) }).catch(() => undefined);
    await admin.disconnect();
    return result;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
