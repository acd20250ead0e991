import type { FastifyInstance } from 'fastify';
import { eventTime, type FeatureVector } from '@rtml/features';
import { materialize, type OnlineStore } from '@rtml/online-store';
import type { OfflineStore } from '@rtml/offline-store';
import type { ScoreResponse } from '@rtml/serving';
import type { WireEvent } from './data.js';
import { ALL_SETS } from './features.js';
import type { LivePipeline } from './live.js';

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
  /** Per transaction: how far behind the request the store's view of the world was (simulated ms). */
  readonly staleness: { readonly stream: number[]; readonly batch: number[] };
}

async function materializeAsOf(offline: OfflineStore, store: OnlineStore, asOf: number): Promise<void> {
  for (const set of ALL_SETS) {
    await materialize(store, offline.latestVectors(set.name, { asOf: eventTime(asOf) }) as AsyncIterable<FeatureVector>);
  }
}

async function scoreTransaction(variants: readonly Variant[], event: WireEvent['event']): Promise<number[]> {
  return Promise.all(
    variants.map(async (variant) => {
      const response = await variant.app.inject({ method: 'POST', url: '/score', payload: event });
      if (response.statusCode !== 200) throw new Error(`${variant.name}: /score answered ${response.statusCode}: ${response.body}`);
      return response.json<ScoreResponse>().score;
    }),
  );
}

/**
 * Replays the held-out period in event-time order through the live path. Events go out in segments in which
 * no transaction's user has an earlier event: every transaction of a segment is scored against Redis as it
 * was just before the segment, i.e. with all of that user's earlier events applied and not its own. The
 * batch store is refreshed at every `batchIntervalMs` boundary from the offline store, as of that boundary.
 */
export async function replay(events: readonly WireEvent[], options: ReplayOptions): Promise<ReplayResult> {
  const result: ReplayResult = { transactionIds: [], scores: new Map(options.variants.map((v) => [v.name, []])), staleness: { stream: [], batch: [] } };
  const total = events.filter((e) => e.event.type === 'transaction').length;
  let segment: WireEvent[] = [];
  let users = new Set<string>();
  let lastApplied = events[0]?.epochMs ?? 0;
  let lastMaterialized = events[0]?.epochMs ?? 0;
  await materializeAsOf(options.offline, options.batchStore, lastMaterialized);
  let nextBoundary = lastMaterialized + options.batchIntervalMs;

  const flush = async (): Promise<void> => {
    const transactions = segment.filter((w) => w.event.type === 'transaction');
    const scored = await Promise.all(transactions.map((w) => scoreTransaction(options.variants, w.event)));
    transactions.forEach(({ event, epochMs }, t) => {
      options.variants.forEach((v, i) => result.scores.get(v.name)!.push(scored[t]![i]!));
      result.transactionIds.push(event.eventId);
      result.staleness.stream.push(epochMs - lastApplied);
      result.staleness.batch.push(epochMs - lastMaterialized);
    });
    await options.live.sendAndWait(segment);
    lastApplied = segment.at(-1)?.epochMs ?? lastApplied;
    segment = [];
    users = new Set();
    options.onProgress?.(result.transactionIds.length, total);
  };

  for (const wire of events) {
    const needsFlush = wire.epochMs >= nextBoundary || (wire.event.type === 'transaction' && users.has(wire.event.userId));
    if (needsFlush && segment.length > 0) await flush();
    while (wire.epochMs >= nextBoundary) {
      await materializeAsOf(options.offline, options.batchStore, nextBoundary);
      lastMaterialized = nextBoundary;
      nextBoundary += options.batchIntervalMs;
    }
    segment.push(wire);
    users.add(wire.event.userId);
  }
  if (segment.length > 0) await flush();
  return result;
}
