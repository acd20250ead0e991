import { eventTime, type FeatureSet, type FeatureValue, type FeatureVector, type SourceEvent } from '@rtml/features';
import { OfflineStore } from '@rtml/offline-store';
import type { OnlineStore } from '@rtml/online-store';
import type { ServedRecord } from '@rtml/serving';
import { humanDuration } from './feature-sets.js';

export type FeatureStatus = 'fresh' | 'stale' | 'missing';

export interface FeatureRow {
  readonly feature: string;
  /** undefined = nothing stored online. */
  readonly online?: FeatureValue;
  readonly status: FeatureStatus;
  /** Offline value as of the chosen time (undefined: no offline store, or no row by then). */
  readonly offlineAsOf?: FeatureValue;
  /** Offline value as of the online vector's own event time: what the online value must equal. */
  readonly offlineAtOnlineTime?: FeatureValue;
  /** null when there is nothing to compare (no online vector or no offline store). */
  readonly agree: boolean | null;
}

export interface EntitySetView {
  readonly featureSet: string;
  readonly status: FeatureStatus;
  readonly eventTime: number | null;
  readonly freshnessMs: number | null;
  /** The set's `maxAge` as written (`7d`): older values are `stale`; null: never stale, whatever the freshness. */
  readonly staleAfter: string | null;
  readonly offlineEventTime: number | null;
  readonly features: readonly FeatureRow[];
  /** Why no offline comparison was made, when none was. */
  readonly offlineNote?: string;
}

export interface EntityView {
  readonly entityId: string;
  readonly asOf: number;
  readonly sets: readonly EntitySetView[];
  readonly served: readonly ServedRecord[];
  /** True when every compared feature agrees, false when one does not, null when nothing was compared. */
  readonly agree: boolean | null;
}

export interface EntityLookup {
  readonly online: OnlineStore;
  readonly featureSets: readonly FeatureSet<SourceEvent>[];
  readonly offlineDir?: string;
  readonly served: (entityId: string) => ServedRecord[];
}

/** Online and offline values may differ by float reordering (sums and means), as the parity tests allow. */
export function sameValue(a: FeatureValue | undefined, b: FeatureValue | undefined): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => sameValue(v as FeatureValue, b[i] as FeatureValue));
  return a === b;
}

interface OfflineReads {
  readonly asOf: FeatureVector | null;
  readonly atOnline: FeatureVector | null;
}

/** The Entity page: online vector with status per feature, the offline value as of `asOf`, agreement, served log. */
export async function explainEntity(lookup: EntityLookup, entityId: string, asOf: number): Promise<EntityView> {
  const reads = await Promise.all(lookup.featureSets.map((set) => lookup.online.read(set.name, entityId)));
  const offline = await readOffline(
    lookup,
    entityId,
    asOf,
    reads.map((r) => (r.status === 'missing' ? null : r.eventTime)),
  );
  const sets = lookup.featureSets.map((set, i): EntitySetView => {
    const read = reads[i]!;
    const off = 'note' in offline ? undefined : offline.vectors[i]!;
    const features = set.aggregates.map(({ name }): FeatureRow => {
      const stored = read.status !== 'missing' && name in read.values;
      const online = stored ? read.values[name] : undefined;
      const atOnline = off?.atOnline?.values[name];
      return {
        feature: name,
        ...(stored ? { online } : {}),
        status: stored ? read.status : 'missing',
        ...(off?.asOf ? { offlineAsOf: off.asOf.values[name] ?? null } : {}),
        ...(off?.atOnline ? { offlineAtOnlineTime: atOnline ?? null } : {}),
        agree: stored && off?.atOnline ? sameValue(online, atOnline ?? null) : null,
      };
    });
    return {
      featureSet: set.name,
      status: read.status,
      eventTime: read.status === 'missing' ? null : read.eventTime,
      freshnessMs: read.status === 'missing' ? null : read.freshnessMs,
      staleAfter: set.maxAge === undefined ? null : humanDuration(set.maxAge),
      offlineEventTime: off?.asOf?.eventTime ?? null,
      features,
      ...('note' in offline ? { offlineNote: offline.note } : {}),
    };
  });
  const compared = sets.flatMap((s) => s.features).filter((f) => f.agree !== null);
  return {
    entityId,
    asOf,
    sets,
    served: lookup.served(entityId),
    agree: compared.length === 0 ? null : compared.every((f) => f.agree),
  };
}

/** Opened per lookup and closed again: DuckDB locks its file, and the backfill that writes it runs elsewhere. */
async function readOffline(
  lookup: EntityLookup,
  entityId: string,
  asOf: number,
  onlineTimes: readonly (number | null)[],
): Promise<{ vectors: OfflineReads[] } | { note: string }> {
  if (lookup.offlineDir === undefined) return { note: 'no offline store configured (--offline-dir)' };
  let store: OfflineStore;
  try {
    store = await OfflineStore.open({ dir: lookup.offlineDir });
  } catch (error) {
    return {
      note: `offline store at ${lookup.offlineDir} cannot be opened: ${(error as Error).message.split('\n')[0]}`,
    };
  }
  try {
    const known = new Set(store.featureSets());
    const vectors: OfflineReads[] = [];
    // One after another: the store has one DuckDB connection.
    for (const [i, set] of lookup.featureSets.entries()) {
      const onlineTime = onlineTimes[i];
      if (!known.has(set.name)) vectors.push({ asOf: null, atOnline: null });
      else {
        const atOnline = onlineTime == null ? null : await store.vectorAsOf(set.name, entityId, eventTime(onlineTime));
        vectors.push({ asOf: await store.vectorAsOf(set.name, entityId, eventTime(asOf)), atOnline });
      }
    }
    return { vectors };
  } finally {
    store.close();
  }
}
