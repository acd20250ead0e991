import { SECURE_NAMING } from '@rtml/devstack';
import { createOnlineEngine, type OnlineEngine, type SourceEvent } from '@rtml/features';
import type { FraudEvent } from './events.js';
import {
  userChargebacks,
  userProfileUpdates,
  userTransactions,
  type Chargeback,
  type ProfileUpdate,
  type Transaction,
} from './features.js';
import { generateEvents, type GeneratorConfig } from './generator.js';

export const engines = {
  transaction: createOnlineEngine(userTransactions),
  chargeback: createOnlineEngine(userChargebacks),
  profile_update: createOnlineEngine(userProfileUpdates),
} as const;

/**
 * Kafka topic per event type (each feature set reads one source), suffixed per run so runs never mix. Every
 * Kafka name of a run contains `fraud-<run>-` after the prefix its ACLs grant on (`SECURE_NAMING`), so least-
 * privileged principals can run the stream and serving parts.
 */
export type Topics = Readonly<Record<FraudEvent['type'], string>>;
const inputTopic = (runId: string, name: string) => `${SECURE_NAMING.inputTopicPrefix}fraud-${runId}-${name}`;
export const topicsFor = (runId: string): Topics => ({
  transaction: inputTopic(runId, 'transactions'),
  chargeback: inputTopic(runId, 'chargebacks'),
  profile_update: inputTopic(runId, 'profile-updates'),
});
export const servedTopicFor = (runId: string, variant: string): string =>
  `${SECURE_NAMING.servedTopicPrefix}fraud-${runId}-${variant}`;

export interface WireEvent {
  readonly event: FraudEvent;
  readonly epochMs: number;
}

/** One generated history, held in memory for the offline side (the generator itself streams). */
export interface ScenarioData {
  /** Every event in event-time order, as it goes on the wire. */
  readonly wire: readonly WireEvent[];
  readonly transactions: readonly Transaction[];
  readonly chargebacks: readonly Chargeback[];
  readonly profileUpdates: readonly ProfileUpdate[];
  /** Transactions a chargeback eventually disputes: the label. */
  readonly disputed: ReadonlySet<string>;
  /** Generator ground truth (not every fraud is disputed; a few disputes are not fraud). */
  readonly fraudTruth: ReadonlySet<string>;
}

function parseOrThrow<E extends SourceEvent>(engine: OnlineEngine<E>, raw: unknown): E {
  const result = engine.parse(raw);
  if (!result.ok) throw new Error(`generator produced an invalid event: ${result.reason}`);
  return result.event;
}

export function collectScenarioData(config: GeneratorConfig): ScenarioData {
  const wire: WireEvent[] = [];
  const transactions: Transaction[] = [];
  const chargebacks: Chargeback[] = [];
  const profileUpdates: ProfileUpdate[] = [];
  const disputed = new Set<string>();
  const fraudTruth = new Set<string>();
  for (const { event, epochMs, fraud } of generateEvents(config)) {
    wire.push({ event, epochMs });
    if (event.type === 'transaction') transactions.push(parseOrThrow(engines.transaction, event));
    if (event.type === 'chargeback') {
      chargebacks.push(parseOrThrow(engines.chargeback, event));
      disputed.add(event.transactionId);
    }
    if (event.type === 'profile_update') profileUpdates.push(parseOrThrow(engines.profile_update, event));
    if (fraud) fraudTruth.add(event.eventId);
  }
  return { wire, transactions, chargebacks, profileUpdates, disputed, fraudTruth };
}
