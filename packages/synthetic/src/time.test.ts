import { expect, it } from 'vitest';
import { isoWithOffset } from './time.js';

it('writes the local wall time with its offset, and Date.parse reads back the same instant', () => {
  const instant = Date.UTC(2024, 2, 1, 23, 30, 0, 123);
  expect(isoWithOffset(instant, 330)).toBe('2024-03-02T05:00:00.123+05:30');
  expect(isoWithOffset(instant, -480)).toBe('2024-03-01T15:30:00.123-08:00');
  expect(isoWithOffset(instant, 0)).toBe('2024-03-01T23:30:00.123+00:00');
  for (const offset of [-720, -90, 0, 45, 330, 840]) expect(Date.parse(isoWithOffset(instant, offset))).toBe(instant);
});
