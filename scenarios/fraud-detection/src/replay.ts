import type { FastifyInstance } from 'fastify';
import { eventTime, type FeatureVector } from '@rtml/features';
import { materialize, type OnlineStore } from '@rtml/online-store';
import type { OfflineStore } from '@rtml/offline-store';
import type { ScoreResponse } from '@rtml/serving';
import type { WireEvent } from './data.js';
import { fraudModel } from './features.js';
import type { LivePipeline } from './live.js';

export interface PathLag {
  readonly lagMs: number[];
  readonly missed: boolean[];
}

/** A serving endpoint to score every held-out transaction with, and which online store it reads. */
export interface Variant {
  readonly name: string;
  readonly app: FastifyInstance;
  readonly path: 'stream' | 'batch';
}

export interface ReplayOptions {
  readonly live: LivePipeline;
  readonly offline: OfflineStore;
  readonly batchStore: OnlineStore;
  /** The batch path materializes the offline store's latest values this often (simulated ms). */
  readonly batchIntervalMs: number;
  readonly variants: readonly Variant[];
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ReplayResult {
  /** Transaction ids in scoring order. */
  readonly transactionIds: string[];
  readonly scores: Map<string, number[]>;
  /**
   * Per transaction and path: `lagMs`, how far behind the request the store was complete (simulated ms: for the
   * stream, the start of the segment being scored; for the batch path, the last materialization), and `missed`,
   * whether the user had an event in that gap which the served features therefore lack.
   */
  readonly staleness: { readonly stream: PathLag; readonly batch: PathLag };
  /** Wall-clock seconds per replay activity, and how many segments the held-out period needed. */
  readonly work: { scoring: number; streaming: number; materializing: number; segments: number };
  /**
   * Per segment, wall-clock ms from handing it to the producer until the processors had committed it to Redis:
   * the stream path's real latency (an upper bound: it includes the 10 ms commit polling), which the simulated
   * `lagMs` cannot show.
   */
  readonly segmentCommitMs: number[];
}

async function clocked<T>(
  work: ReplayResult['work'],
  key: 'scoring' | 'streaming' | 'materializing',
  task: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    return await task();
  } finally {
    work[key] += (performance.now() - started) / 1000;
  }
}

async function materializeAsOf(offline: OfflineStore, store: OnlineStore, asOf: number): Promise<void> {
  for (const set of fraudModel.featureSets) {
    await materialize(
      store,
      offline.latestVectors(set.name, { asOf: eventTime(asOf) }) as AsyncIterable<FeatureVector>,
    );
  }
}

async function scoreTransaction(variants: readonly Variant[], event: WireEvent['event']): Promise<number[]> {
  return Promise.all(
    variants.map(async (variant) => {
      const response = await variant.app.inject({ method: 'POST', url: '/score', payload: event });
      if (response.statusCode !== 200)
        throw new Error(`${variant.name}: /score answered ${response.statusCode}: ${response.body}`);
      return response.json<ScoreResponse>().score;
    }),
  );
}

function record(lag: PathLag, lagMs: number, missed: boolean): void {
  lag.lagMs.push(lagMs);
  lag.missed.push(missed);
}

/**
 * Replays the held-out period in event-time order through the live path. Events go out in segments in which
 * no transaction's user has an earlier event: every transaction of a segment is scored against Redis as it
 * was just before the segment, i.e. with all of that user's earlier events applied and not its own. The
 * batch store is refreshed at every `batchIntervalMs` boundary from the offline store, as of that boundary.
 */
export async function replay(events: readonly WireEvent[], options: ReplayOptions): Promise<ReplayResult> {
  const result: ReplayResult = {
    transactionIds: [],
    scores: new Map(options.variants.map((v) => [v.name, []])),
    staleness: { stream: { lagMs: [], missed: [] }, batch: { lagMs: [], missed: [] } },
    work: { scoring: 0, streaming: 0, materializing: 0, segments: 0 },
    segmentCommitMs: [],
  };
  const total = events.filter((e) => e.event.type === 'transaction').length;
  let segment: WireEvent[] = [];
  let users = new Set<string>();
  /** Event time of each user's latest event so far (applied or in the current segment). */
  const lastEventOf = new Map<string, number>();
  let lastMaterialized = events[0]?.epochMs ?? 0;
  await materializeAsOf(options.offline, options.batchStore, lastMaterialized);
  let nextBoundary = lastMaterialized + options.batchIntervalMs;

  const flush = async (): Promise<void> => {
    const transactions = segment.filter((w) => w.event.type === 'transaction');
    const scored = await clocked(result.work, 'scoring', () =>
      Promise.all(transactions.map((w) => scoreTransaction(options.variants, w.event))),
    );
    const completeUntil = segment[0]!.epochMs;
    transactions.forEach(({ event, epochMs }, t) => {
      options.variants.forEach((v, i) => result.scores.get(v.name)!.push(scored[t]![i]!));
      result.transactionIds.push(event.eventId);
      const previous = lastEventOf.get(event.userId) ?? Number.NEGATIVE_INFINITY;
      record(result.staleness.stream, epochMs - completeUntil, previous >= completeUntil);
      record(result.staleness.batch, epochMs - lastMaterialized, previous >= lastMaterialized);
    });
    for (const { event, epochMs } of segment) lastEventOf.set(event.userId, epochMs);
    const sent = performance.now();
    await clocked(result.work, 'streaming', () => options.live.sendAndWait(segment));
    result.segmentCommitMs.push(performance.now() - sent);
    result.work.segments++;
    segment = [];
    users = new Set();
    options.onProgress?.(result.transactionIds.length, total);
  };

  for (const wire of events) {
    const needsFlush =
      wire.epochMs >= nextBoundary || (wire.event.type === 'transaction' && users.has(wire.event.userId));
    if (needsFlush && segment.length > 0) await flush();
    while (wire.epochMs >= nextBoundary) {
      await clocked(result.work, 'materializing', () =>
        materializeAsOf(options.offline, options.batchStore, nextBoundary),
      );
      lastMaterialized = nextBoundary;
      nextBoundary += options.batchIntervalMs;
    }
    segment.push(wire);
    users.add(wire.event.userId);
  }
  if (segment.length > 0) await flush();
  return result;
}
