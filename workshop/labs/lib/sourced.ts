/**
 * Scenario results for the labs that only need results (2 and 4): from a live run against the participant's
 * Kafka and Redis, or, when those do not work, from a committed file (`workshop/cache/<name>.json`) written by a
 * real run. The lab prints which one it uses, and why.
 *
 * WORKSHOP_OFFLINE=1 forces the committed file; WORKSHOP_WRITE_CACHE=1 makes a live run (re)write it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './scenario';

export interface Sourced<T> {
  readonly value: T;
  readonly origin: 'live' | 'committed cache';
  /** One sentence: where the numbers come from. */
  readonly note: string;
}

/** Large per-request arrays are dropped from the committed file: the labs use the summaries. */
export function trimArrays(value: unknown, maxLength = 50): unknown {
  if (Array.isArray(value)) return value.length > maxLength ? undefined : value.map((v) => trimArrays(v, maxLength));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).map(([key, v]) => [key, trimArrays(v, maxLength)] as const);
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
}

const cacheFile = (name: string) => join(repoRoot(), 'workshop', 'cache', `${name}.json`);

function committed<T>(name: string, reason: string): Sourced<T> {
  const file = cacheFile(name);
  if (!existsSync(file)) {
    throw new Error(`${reason}, and there is no cached result ${file}: start the stack (npm run workshop:check)`);
  }
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { savedAt: string; value: T };
  const note =
    `⚠️ **Using the cached result** of a real run on ${saved.savedAt.slice(0, 10)} ` +
    `(\`workshop/cache/${name}.json\`), not a run of yours, because ${reason}.`;
  return { value: saved.value, origin: 'committed cache', note };
}

export async function liveOrCached<T>(name: string, live: () => Promise<T>): Promise<Sourced<T>> {
  if (process.env.WORKSHOP_OFFLINE === '1') return committed(name, 'WORKSHOP_OFFLINE=1 is set');
  if (!process.env.KAFKA_BROKERS || !process.env.REDIS_URL) {
    return committed(name, 'KAFKA_BROKERS/REDIS_URL are not set');
  }
  let value: T;
  try {
    value = await live();
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return committed(name, `the live run failed: ${why}`);
  }
  if (process.env.WORKSHOP_WRITE_CACHE === '1') {
    const saved = { savedAt: new Date().toISOString(), value: trimArrays(value) };
    writeFileSync(cacheFile(name), `${JSON.stringify(saved, null, 1)}\n`);
  }
  return { value, origin: 'live', note: 'Numbers from a **live run** against your Kafka and Redis.' };
}
