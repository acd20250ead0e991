/**
 * The workshop check's smoke test: 200 payments produced to a fresh Kafka topic, the `rtml-stream` processor
 * (a real child process, as in lab 6) folds them into per-user totals in Redis; every one must be counted in 30 s.
 */
import { fileURLToPath } from 'node:url';
import {
  cleanUp,
  createTopic,
  newRun,
  payments,
  produceSteadily,
  redisTotals,
  startProcessor,
  sumOf,
} from '../labs/lib/crash';

export interface SmokeResult {
  produced: number;
  counted: number;
  seconds: number;
}

export async function smoke(count = 200, timeoutMs = 30_000): Promise<SmokeResult> {
  const run = await newRun();
  await createTopic(run, 1);
  const processor = await startProcessor(run);
  const started = Date.now();
  try {
    const events = payments(count, 10);
    await produceSteadily(run, events, 2_000);
    const users = [...new Set(events.map((e) => e.userId))];
    let counted = sumOf(await redisTotals(run, users));
    while (counted < count && Date.now() - started < timeoutMs) {
      await new Promise((r) => setTimeout(r, 100));
      counted = sumOf(await redisTotals(run, users));
    }
    if (counted !== count) {
      const said = processor.output();
      throw new Error(`Redis counted ${counted} of ${count} events in ${timeoutMs / 1000} s, processor:\n${said}`);
    }
    return { produced: count, counted, seconds: (Date.now() - started) / 1000 };
  } finally {
    processor.child.kill('SIGTERM');
    await processor.exited;
    await cleanUp(run);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  smoke().then(
    (r) =>
      console.error(
        `[workshop-check] smoke: ${r.produced} events Kafka -> rtml-stream -> Redis, ` +
          `all ${r.counted} counted in ${r.seconds.toFixed(1)} s`,
      ),
    (error: unknown) => {
      console.error(`[workshop-check] smoke failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
