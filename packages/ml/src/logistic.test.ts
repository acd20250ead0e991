import { describe, expect, it } from 'vitest';
import { predictProbability, trainLogisticRegression } from './logistic.js';

describe('trainLogisticRegression', () => {
  it('recovers the class frequencies of a saturated model (the known MLE) without regularisation', () => {
    // x = 0: 1 of 4 positive; x = 1: 3 of 4 positive. The MLE predicts exactly 0.25 and 0.75.
    const rows = [[0], [0], [0], [0], [1], [1], [1], [1]];
    const labels = [1, 0, 0, 0, 1, 1, 1, 0];
    const model = trainLogisticRegression(['x'], rows, labels, { l2: 0 });
    expect(predictProbability(model, [0])).toBeCloseTo(0.25, 4);
    expect(predictProbability(model, [1])).toBeCloseTo(0.75, 4);
  });

  it('reaches the optimum: the gradient of the penalised loss is zero', () => {
    const rows = [
      [-2, 1],
      [-1, 0],
      [1, 1],
      [2, 0],
      [-0.5, 1],
      [0.5, 0],
      [0, 1],
      [3, 1],
    ];
    const labels = [0, 0, 1, 1, 1, 0, 0, 1];
    const l2 = 0.1;
    const model = trainLogisticRegression(['a', 'b'], rows, labels, { l2 });
    const z = rows.map((r) => r.map((v, j) => (v - model.standardiser.means[j]!) / model.standardiser.stds[j]!));
    const p = rows.map((r) => predictProbability(model, r));
    const gradBias = p.reduce((s, pi, i) => s + (pi - labels[i]!), 0) / rows.length;
    expect(gradBias).toBeCloseTo(0, 10);
    for (let j = 0; j < 2; j++) {
      const g = p.reduce((s, pi, i) => s + (pi - labels[i]!) * z[i]![j]!, 0) / rows.length + l2 * model.weights[j]!;
      expect(g).toBeCloseTo(0, 10);
    }
  });

  it('shrinks weights towards zero as the L2 penalty grows', () => {
    const rows = [[-2], [-1], [1], [2], [-0.5], [0.5]];
    const labels = [0, 0, 1, 1, 1, 0];
    const loose = trainLogisticRegression(['x'], rows, labels, { l2: 1e-4 });
    const tight = trainLogisticRegression(['x'], rows, labels, { l2: 1 });
    expect(Math.abs(tight.weights[0]!)).toBeLessThan(Math.abs(loose.weights[0]!));
  });

  it('fits standardisation on the training rows only', () => {
    const model = trainLogisticRegression(
      ['a', 'b'],
      [
        [1, 10],
        [3, 10],
      ],
      [0, 1],
    );
    expect(model.standardiser.means).toEqual([2, 10]);
    expect(model.standardiser.stds).toEqual([1, 1]); // constant column scaled by 1, not divided by zero
  });

  it('rejects missing values and malformed input with a clear error', () => {
    expect(() => trainLogisticRegression(['a'], [[Number.NaN]], [1])).toThrow(/impute missing/);
    expect(() => trainLogisticRegression(['a'], [[1, 2]], [1])).toThrow(/expected 1/);
    expect(() => trainLogisticRegression(['a'], [[1]], [2])).toThrow(/0 or 1/);
    expect(() => trainLogisticRegression(['a'], [], [])).toThrow(/zero rows/);
    expect(() => trainLogisticRegression(['a'], [[1]], [1], { l2: -1 })).toThrow(/l2 must be/);
    const model = trainLogisticRegression(['a'], [[0], [1]], [0, 1]);
    expect(() => predictProbability(model, [1, 2])).toThrow(/expected 1/);
  });
});
