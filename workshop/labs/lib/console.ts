/**
 * The pipeline console (`rtml-console`, packages/console) on a lab's run: started as a real process, as
 * `npm run console` starts it, and read through the same JSON API its pages show (`/api/...`), so the lab's cells
 * and the browser tab the participant opens see the same thing.
 */
import { join } from 'node:path';
import type { EntityView, LetterView, ListedLetter, RedriveOutcome, RedriveRequest } from '@rtml/console';
import { startChild, stopChild, type ChildRun } from './child';
import { paymentsModule, type Run } from './crash';
import { repoRoot } from './scenario';

export type { EntityView, LetterView, ListedLetter, RedriveOutcome, RedriveRequest };

export interface PipelineConsole extends ChildRun {
  /** Where it listens, e.g. http://127.0.0.1:41235: open it in a browser. */
  readonly url: string;
}

export interface ConsoleOptions {
  /** Lets the console re-drive dead letters (its `--allow-redrive`); off, it only reads. */
  readonly allowRedrive: boolean;
}

/** Starts the console on the run's topic, namespace and processor (its metrics port); resolves once it listens. */
export async function startConsole(run: Run, options: ConsoleOptions): Promise<PipelineConsole> {
  const root = repoRoot();
  const started = await startChild(
    join(root, 'packages', 'console', 'dist', 'cli.js'),
    [
      '--input',
      `${run.topic}=${paymentsModule()}#paymentTotals`,
      '--namespace',
      run.namespace,
      '--metrics',
      `http://127.0.0.1:${run.metricsPort}/metrics`,
      '--port',
      '0',
      '--interval-ms',
      '1000',
      '--results',
      join(root, '.cache', 'scenario-results', 'fraud-detection.json'),
      ...(options.allowRedrive ? ['--allow-redrive'] : []),
    ],
    { ...process.env, KAFKA_BROKERS: run.brokers.join(','), REDIS_URL: run.redisUrl },
    /rtml-console: (http:\/\/\S+)/,
  );
  return { ...started, url: started.ready[1]! };
}

export const stopConsole = (pipelineConsole: PipelineConsole): Promise<void> => stopChild(pipelineConsole);

async function api<T>(pipelineConsole: PipelineConsole, path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${pipelineConsole.url}/api/${path}`, init);
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(`console ${path}: ${response.status} ${body.error ?? ''}`);
  return body;
}

export interface DeadLetters {
  /** Letters seen per reason (schema, malformed-json, late, ...). */
  readonly counts: Record<string, number>;
  /** Newest first; `redriven` once the console's re-drive ledger has the letter. */
  readonly letters: ListedLetter[];
}

/** What the Dead letters page lists (`/api/dead-letters`), optionally of one reason. */
export const deadLetters = (pipelineConsole: PipelineConsole, reason?: string): Promise<DeadLetters> =>
  api(pipelineConsole, `dead-letters?limit=1000${reason === undefined ? '' : `&reason=${encodeURIComponent(reason)}`}`);

/** Polls the console until it lists at least `count` letters (or `timeoutMs` pass); returns what it lists then. */
export async function waitForLetters(pipelineConsole: PipelineConsole, count: number, timeoutMs = 30_000) {
  const start = Date.now();
  let seen = await deadLetters(pipelineConsole);
  while (seen.letters.length < count && Date.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 250));
    seen = await deadLetters(pipelineConsole);
  }
  return seen;
}

/**
 * What the **Re-drive selected** button does: each letter back to its source topic (with `value`, the fixed record
 * instead of the original bytes), at most once ever; one outcome per letter.
 */
export async function redrive(
  pipelineConsole: PipelineConsole,
  letters: readonly RedriveRequest[],
): Promise<RedriveOutcome[]> {
  if (letters.length === 0) throw new Error('nothing to re-drive: the list of letters is empty');
  const body = await api<{ outcomes: RedriveOutcome[] }>(pipelineConsole, 'redrive', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ letters }),
  });
  return body.outcomes;
}

/** The Entity page: the online vector with its freshness and per-feature status. */
export const entityView = (pipelineConsole: PipelineConsole, entityId: string): Promise<EntityView> =>
  api(pipelineConsole, `entity/${encodeURIComponent(entityId)}`);
