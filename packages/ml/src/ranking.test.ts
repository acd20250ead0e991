import { describe, expect, it } from 'vitest';
import { groupedPrecisionRecallAtK } from './ranking.js';

describe('groupedPrecisionRecallAtK', () => {
  it('averages per-group precision and recall over the groups with a positive', () => {
    // a: top-2 of [0.9 (1), 0.8 (0), 0.1 (1)] -> P 1/2, R 1/2; b: top-2 of [0.2 (1), 0.7 (0)] -> P 1/2, R 1; c: no
    // positive, left out.
    const rows = [
      ['a', 0.9, 1],
      ['b', 0.2, 1],
      ['a', 0.8, 0],
      ['c', 0.5, 0],
      ['b', 0.7, 0],
      ['a', 0.1, 1],
    ] as const;
    const result = groupedPrecisionRecallAtK(
      rows.map((r) => r[1]),
      rows.map((r) => r[2]),
      rows.map((r) => r[0]),
      2,
    );
    expect(result.groups).toBe(2);
    expect(result.precisionAtK).toBeCloseTo(0.5, 12);
    expect(result.recallAtK).toBeCloseTo(0.75, 12);
  });

  it('breaks score ties by input order within a group', () => {
    expect(groupedPrecisionRecallAtK([0.5, 0.5], [1, 0], ['u', 'u'], 1).precisionAtK).toBe(1);
    expect(groupedPrecisionRecallAtK([0.5, 0.5], [0, 1], ['u', 'u'], 1).precisionAtK).toBe(0);
  });

  it('rejects mismatched lengths and samples without any positive', () => {
    expect(() => groupedPrecisionRecallAtK([0.1, 0.2], [0, 1], ['u'], 1)).toThrow(/differ in length/);
    expect(() => groupedPrecisionRecallAtK([0.1, 0.2], [0, 0], ['u', 'v'], 1)).toThrow(/no group has a positive/);
  });
});
