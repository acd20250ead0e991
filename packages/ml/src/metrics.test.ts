import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { logLoss, precisionAtK, recallAtK, rocAuc } from './metrics.js';

describe('rocAuc', () => {
  it('matches the hand-computed value of a small example', () => {
    // Positive 0.35 beats one of two negatives, positive 0.8 beats both: 3 of 4 pairs.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
  });

  it('counts tied pairs as one half', () => {
    // Pairs: (0.5 vs 0.1) = 1, (0.5 vs 0.5) = 0.5, (0.9 vs both) = 2  ->  3.5 / 4.
    expect(rocAuc([0.1, 0.5, 0.5, 0.9], [0, 1, 0, 1])).toBeCloseTo(0.875, 12);
    expect(rocAuc([0.5, 0.5, 0.5], [1, 0, 0])).toBe(0.5);
  });

  it('rejects a sample with only one class', () => {
    expect(() => rocAuc([0.1, 0.2], [1, 1])).toThrow(/one positive and one negative/);
    expect(() => rocAuc([0.1], [1, 0])).toThrow(/differ in length/);
  });

  const scoredSample = fc
    .array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.constantFrom(0, 1)), { minLength: 2, maxLength: 60 })
    .filter((rows) => rows.some(([, y]) => y === 1) && rows.some(([, y]) => y === 0));

  it('is invariant under strictly increasing transforms of the scores', () => {
    fc.assert(
      fc.property(scoredSample, (rows) => {
        const scores = rows.map(([s]) => s);
        const labels = rows.map(([, y]) => y);
        const transformed = scores.map((s) => Math.exp(s / 10) * 3 + 7);
        expect(rocAuc(transformed, labels)).toBeCloseTo(rocAuc(scores, labels), 12);
      }),
    );
  });

  it('flips to 1 - AUC when the scores are negated', () => {
    fc.assert(
      fc.property(scoredSample, (rows) => {
        const scores = rows.map(([s]) => s);
        const labels = rows.map(([, y]) => y);
        expect(
          rocAuc(
            scores.map((s) => -s),
            labels,
          ),
        ).toBeCloseTo(1 - rocAuc(scores, labels), 12);
      }),
    );
  });
});

describe('precision and recall at k', () => {
  const scores = [0.9, 0.8, 0.7, 0.1];
  const labels = [1, 0, 1, 1];

  it('counts positives among the k best scores', () => {
    expect(precisionAtK(scores, labels, 2)).toBe(0.5);
    expect(precisionAtK(scores, labels, 3)).toBeCloseTo(2 / 3, 12);
    expect(recallAtK(scores, labels, 2)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(scores, labels, 4)).toBe(1);
  });

  it('caps k at the number of rows and rejects a non-positive k', () => {
    expect(precisionAtK(scores, labels, 100)).toBe(0.75);
    expect(() => precisionAtK(scores, labels, 0)).toThrow(/positive integer/);
  });
});

describe('logLoss', () => {
  it('matches the hand-computed value', () => {
    // -(ln 0.8 + ln 0.7) / 2
    expect(logLoss([0.8, 0.3], [1, 0])).toBeCloseTo(0.2899092476, 9);
  });

  it('stays finite for a confident miss and rejects non-probabilities', () => {
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 6);
    expect(() => logLoss([1.2], [1])).toThrow(/outside \[0, 1\]/);
  });
});
