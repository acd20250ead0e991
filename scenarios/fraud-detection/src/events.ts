/** The wire format of the scenario's events (JSON lines / Kafka message values), one Kafka topic per type. */

export interface TransactionEvent {
  readonly eventId: string;
  readonly type: 'transaction';
  /** ISO-8601 in the card holder's local offset, e.g. 2024-03-01T23:15:00.000+02:00. */
  readonly eventTime: string;
  readonly userId: string;
  readonly cardId: string;
  readonly merchantId: string;
  readonly amount: number;
  /** The local offset again as a number, so hour-of-day can be computed in local time after parsing to epoch ms. */
  readonly utcOffsetMinutes: number;
}

/** The label: a disputed transaction, arriving days after the transaction itself. */
export interface ChargebackEvent {
  readonly eventId: string;
  readonly type: 'chargeback';
  readonly eventTime: string;
  readonly userId: string;
  readonly transactionId: string;
  readonly amount: number;
}

export interface ProfileUpdateEvent {
  readonly eventId: string;
  readonly type: 'profile_update';
  readonly eventTime: string;
  readonly userId: string;
  readonly field: 'email' | 'phone' | 'address' | 'password';
}

export type FraudEvent = TransactionEvent | ChargebackEvent | ProfileUpdateEvent;
export type EventType = FraudEvent['type'];
export const EVENT_TYPES: readonly EventType[] = ['transaction', 'chargeback', 'profile_update'];
