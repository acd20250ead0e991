import { describe, expect, it } from 'vitest';
import { configFor, generateEvents, type GeneratedEvent } from './generator.js';

const DAY = 86_400_000;
const small = { ...configFor('tiny', 7), users: 120, days: 6, compromisedUserShare: 0.2 };
const all = (seed: number): GeneratedEvent[] => [...generateEvents({ ...small, seed })];

describe('generateEvents', () => {
  it('is reproducible from the seed and differs across seeds', () => {
    const a = all(7).map((e) => JSON.stringify(e));
    expect(all(7).map((e) => JSON.stringify(e))).toEqual(a);
    expect(all(8).map((e) => JSON.stringify(e))).not.toEqual(a);
  });

  it('emits events in event-time order, with the ISO time agreeing with the epoch', () => {
    const events = all(7);
    for (let i = 1; i < events.length; i++) expect(events[i]!.epochMs).toBeGreaterThanOrEqual(events[i - 1]!.epochMs);
    for (const { event, epochMs } of events) expect(Date.parse(event.eventTime)).toBe(epochMs);
  });

  it('delivers chargebacks (the labels) days after the transaction they dispute', () => {
    const events = all(7);
    const txnTime = new Map(
      events.filter((e) => e.event.type === 'transaction').map((e) => [e.event.eventId, e.epochMs]),
    );
    const chargebacks = events.filter((e) => e.event.type === 'chargeback');
    expect(chargebacks.length).toBeGreaterThan(10);
    for (const cb of chargebacks) {
      if (cb.event.type !== 'chargeback') continue;
      expect(cb.epochMs - txnTime.get(cb.event.transactionId)!).toBeGreaterThanOrEqual(2 * DAY);
    }
  });

  it('plants fraud that looks different: larger amounts, more at night in local time', () => {
    const txns = all(7).filter((e) => e.event.type === 'transaction');
    const share = (rows: GeneratedEvent[], test: (e: GeneratedEvent) => boolean) =>
      rows.filter(test).length / rows.length;
    const fraud = txns.filter((e) => e.fraud);
    const legit = txns.filter((e) => !e.fraud);
    expect(fraud.length).toBeGreaterThan(20);
    const night = (e: GeneratedEvent) => {
      const localHour = Number(e.event.eventTime.slice(11, 13));
      return localHour < 6;
    };
    expect(share(fraud, night)).toBeGreaterThan(2 * share(legit, night));
    const meanAmount = (rows: GeneratedEvent[]) =>
      rows.reduce((s, e) => s + (e.event.type === 'transaction' ? e.event.amount : 0), 0) / rows.length;
    expect(meanAmount(fraud)).toBeGreaterThan(1.5 * meanAmount(legit));
  });

  it('rejects a bad configuration with a clear error', () => {
    expect(() => [...generateEvents({ ...small, users: 0 })]).toThrow(/users must be a positive integer/);
    expect(() => [...generateEvents({ ...small, start: small.start + 1 })]).toThrow(/midnight UTC/);
  });
});
