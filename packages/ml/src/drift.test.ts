import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mismatchRate, populationStabilityIndex, psiBinEdges } from './drift.js';

describe('populationStabilityIndex', () => {
  it('matches the hand-computed value for two bins', () => {
    // Edge at the median (1): expected shares 0.5/0.5, actual 0.25/0.75.
    // (0.25-0.5)ln(0.25/0.5) + (0.75-0.5)ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5 = 0.27465
    expect(psiBinEdges([1, 1, 2, 2], 2)).toEqual([1]);
    expect(populationStabilityIndex([1, 1, 2, 2], [1, 2, 2, 2], { bins: 2 })).toBeCloseTo(0.27465, 3);
  });

  it('gives nulls their own bin, so filling them with 0 is visible', () => {
    const withNulls = [null, null, 1, 2, 3, 4, 5, 6, 7, 8];
    const filled = withNulls.map((v) => v ?? 0);
    expect(populationStabilityIndex(withNulls, filled)).toBeGreaterThan(0.5);
  });

  it('is zero for identical samples', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: null }), {
          minLength: 1,
          maxLength: 200,
        }),
        (sample) => {
          expect(populationStabilityIndex(sample, [...sample])).toBeCloseTo(0, 12);
        },
      ),
    );
  });

  it('rejects empty or non-finite input', () => {
    expect(() => populationStabilityIndex([], [1])).toThrow(/non-empty/);
    expect(() => populationStabilityIndex([1], [Number.POSITIVE_INFINITY])).toThrow(/finite/);
  });
});

describe('mismatchRate', () => {
  it('counts differing pairs, with a tolerance for numbers and null as its own value', () => {
    expect(mismatchRate([1, 2, null, 'a', [1, 2]], [1 + 1e-12, 2.5, 0, 'a', [1, 2]])).toBeCloseTo(0.4, 12);
    expect(mismatchRate([1.04], [1.0], { tolerance: 0.05 })).toBe(0);
  });

  it('rejects samples that do not align', () => {
    expect(() => mismatchRate([1], [1, 2])).toThrow(/differ in length/);
  });
});
