import { describe, expect, it } from 'vitest';
import { activity } from './events.js';
import { configFor, generateEvents } from './generator.js';

const take = <T>(iterable: Iterable<T>, n: number): T[] => {
  const out: T[] = [];
  for (const item of iterable) {
    if (out.length === n) break;
    out.push(item);
  }
  return out;
};

describe('generateEvents', () => {
  const config = { ...configFor('tiny', 3), hours: 6 };
  const events = [...generateEvents(config)];

  it('is reproducible from the seed and differs across seeds', () => {
    expect([...generateEvents(config)]).toEqual(events);
    expect(take(generateEvents({ ...config, seed: 4 }), 50)).not.toEqual(events.slice(0, 50));
  });

  it('emits valid events in event-time order, inside the simulated period, with unique ids', () => {
    expect(events.length).toBeGreaterThan(1_000);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.eventTime).toBeGreaterThanOrEqual(events[i - 1]!.eventTime);
    expect(events.at(-1)!.eventTime).toBeLessThan(config.start + config.hours * 3_600_000);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    for (const event of events.slice(0, 500)) expect(activity.schema.safeParse(event).success).toBe(true);
  });

  it('only clicks what was shown, after it was shown, and buys only what was clicked', () => {
    const shown = new Map<string, number>();
    const clicked = new Map<string, number>();
    for (const e of events) {
      const pair = `${e.userId}|${e.itemId}`;
      if (e.type === 'view') shown.set(pair, Math.min(e.eventTime, shown.get(pair) ?? Infinity));
      if (e.type === 'click') {
        expect(shown.get(pair)).toBeLessThan(e.eventTime);
        expect(e.clickedCategory).toBe(e.category);
        clicked.set(pair, Math.min(e.eventTime, clicked.get(pair) ?? Infinity));
      }
      if (e.type === 'purchase') expect(clicked.get(pair)).toBeLessThan(e.eventTime);
    }
    const views = events.filter((e) => e.type === 'view').length;
    const clicks = events.filter((e) => e.type === 'click').length;
    expect(clicks / views).toBeGreaterThan(0.05);
    expect(clicks / views).toBeLessThan(0.3);
  });
});
