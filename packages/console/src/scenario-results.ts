import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const metric = z.object({ auc: z.number(), precisionAtK: z.number(), k: z.number() });
const skewCell = z.object({ mismatchRate: z.number(), psi: z.number(), flagged: z.boolean() });

/**
 * The file a scenario run leaves for the console (`scenarios/fraud-detection` writes it after each run): the
 * look-ahead, skew and staleness results as numbers, small enough to chart. Checked here, where it is read.
 */
export const scenarioResultsSchema = z.object({
  scenario: z.string(),
  generatedAt: z.string(),
  size: z.string(),
  seed: z.number(),
  counts: z.record(z.string(), z.number()),
  lookAhead: z.object({
    rows: z.array(z.object({ join: z.string(), offline: metric, served: metric })),
    leakingRows: z.record(z.string(), z.object({ rowsChecked: z.number(), leakingRows: z.number() })),
  }),
  skew: z.object({
    features: z.array(z.object({ feature: z.string(), shared: skewCell, reimplemented: skewCell })),
    served: z.array(z.object({ path: z.string(), metrics: metric })),
  }),
  staleness: z.object({
    batchIntervalMinutes: z.number(),
    paths: z.array(
      z.object({
        path: z.string(),
        meanMinutes: z.number(),
        p95Minutes: z.number(),
        missedShare: z.number(),
        served: metric,
        /** Lag of the store behind the transaction, in simulated minutes: count per bucket up to `upToMinutes`. */
        lagHistogram: z.array(z.object({ upToMinutes: z.number(), count: z.number() })),
      }),
    ),
    processorCommitMs: z.object({ segments: z.number(), p50: z.number(), p95: z.number(), max: z.number() }),
  }),
});
export type ScenarioResults = z.infer<typeof scenarioResultsSchema>;

export type ResultsRead =
  | { readonly found: true; readonly file: string; readonly results: ScenarioResults }
  | { readonly found: false; readonly file: string; readonly reason: string };

export async function readScenarioResults(file: string): Promise<ResultsRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {
      found: false,
      file,
      reason: 'no scenario results yet: run `npm run main` (the fraud scenario writes them here)',
    };
  }
  const parsed = scenarioResultsSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    return {
      found: false,
      file,
      reason: `not a scenario results file: ${z.prettifyError(parsed.error).split('\n')[0]}`,
    };
  return { found: true, file, results: parsed.data };
}
