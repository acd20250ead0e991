/**
 * Lab 7's feed: payments as a partner system exports them. Most are fine; some carry the amount as text in German
 * notation ("12,50", "1.234,56"), which the feature set's schema refuses; a few were cut off in transit and are
 * not JSON at all. Each record keeps the payment it was meant to be, so the lab can check a fix against the truth.
 */
import { Kafka, logLevel } from 'kafkajs';
import { payments, type Payment, type Run, type Totals } from './crash';

export type RecordKind = 'ok' | 'decimal-comma' | 'cut-off';

export interface FeedRecord {
  readonly kind: RecordKind;
  /** The Kafka key: the user id, as the processor partitions by it. */
  readonly key: string;
  /** The bytes sent, as text. */
  readonly value: string;
  /** What the partner meant to send. */
  readonly payment: Payment;
}

/** "1234.5" -> "1.234,50": thousands with dots, cents after a comma. */
export function germanAmount(amount: number): string {
  const [whole, cents] = amount.toFixed(2).split('.') as [string, string];
  return `${whole.replace(/\B(?=(\d{3})+$)/g, '.')},${cents}`;
}

function kindOf(index: number): RecordKind {
  if (index % 200 === 137) return 'cut-off';
  return index % 50 === 25 ? 'decimal-comma' : 'ok';
}

/**
 * `count` payments of 40 users, in event-time order: 1 in 50 with a German amount (half of those ≥ 1,000), 1 in
 * 200 cut off.
 */
export function partnerFeed(count = 600): FeedRecord[] {
  return payments(count).map((original, index) => {
    const kind = kindOf(index);
    // Half of the German amounts are large, so that a thousands separator shows up.
    const amount =
      kind === 'decimal-comma' && index % 100 === 25
        ? Math.round(100_000 + original.amount * 2_000) / 100
        : original.amount;
    const payment = { ...original, amount };
    const json = JSON.stringify(payment);
    const value =
      kind === 'ok'
        ? json
        : kind === 'decimal-comma'
          ? JSON.stringify({ ...payment, amount: germanAmount(amount) })
          : json.slice(0, json.indexOf('"amount"') + 5);
    return { kind, key: payment.userId, value, payment };
  });
}

/** Sends every record (acks=all) and resolves when Kafka has them all. */
export async function sendFeed(run: Run, records: readonly FeedRecord[]): Promise<void> {
  const producer = new Kafka({ clientId: run.namespace, brokers: run.brokers, logLevel: logLevel.NOTHING }).producer({
    idempotent: true,
  });
  await producer.connect();
  await producer.send({ topic: run.topic, messages: records.map(({ key, value }) => ({ key, value })) });
  await producer.disconnect();
}

/** Per user, the totals Redis must hold when the payments of these records are each counted once. */
export function totalsOf(records: readonly FeedRecord[]): Map<string, Totals> {
  const totals = new Map<string, Totals>();
  for (const { payment } of records) {
    const t = totals.get(payment.userId) ?? { payments: 0, amount_total: 0 };
    totals.set(payment.userId, { payments: t.payments + 1, amount_total: t.amount_total + payment.amount });
  }
  return totals;
}
