/**
 * Binary logistic regression with L2 regularisation, trained by Newton's method on standardised inputs. Small and
 * dependency-free on purpose: a teaching repo should let a reader
 * see every number that goes into a score.
 */

export interface Standardiser {
  readonly means: readonly number[];
  readonly stds: readonly number[];
}

export interface LogisticModel {
  readonly featureNames: readonly string[];
  readonly weights: readonly number[];
  readonly bias: number;
  /** Fitted on the training rows only, so nothing about the evaluation period leaks into scaling. */
  readonly standardiser: Standardiser;
}

export interface TrainOptions {
  /** L2 penalty strength (lambda) on the weights, not on the bias. */
  readonly l2?: number;
  /** Newton steps at most; it usually converges in under 15. */
  readonly maxIterations?: number;
  /** Stop once no parameter moves more than this in a step. */
  readonly tolerance?: number;
}

export type Matrix = readonly (readonly number[])[];

export function fitStandardiser(rows: Matrix, width: number): Standardiser {
  const means = new Array<number>(width).fill(0);
  const stds = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j++) means[j]! += row[j]! / rows.length;
  for (const row of rows) for (let j = 0; j < width; j++) stds[j]! += (row[j]! - means[j]!) ** 2 / rows.length;
  // A constant column would divide by zero; scale it by 1 so it simply contributes nothing.
  return { means, stds: stds.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

function standardise(row: readonly number[], s: Standardiser): Float64Array {
  const out = new Float64Array(row.length);
  for (let j = 0; j < row.length; j++) out[j] = (row[j]! - s.means[j]!) / s.stds[j]!;
  return out;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function validateTrainingData(featureNames: readonly string[], rows: Matrix, labels: readonly number[]): void {
  if (rows.length === 0) throw new RangeError('cannot train on zero rows');
  if (rows.length !== labels.length)
    throw new RangeError(`rows (${rows.length}) and labels (${labels.length}) differ in length`);
  rows.forEach((row, i) => {
    if (row.length !== featureNames.length)
      throw new RangeError(`row ${i} has ${row.length} values, expected ${featureNames.length}`);
    if (!row.every(Number.isFinite))
      throw new RangeError(`row ${i} has a non-finite value: impute missing features before training`);
  });
  if (!labels.every((y) => y === 0 || y === 1)) throw new RangeError('labels must be 0 or 1');
}

/** Solves A x = b for a small dense symmetric system by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const p = m[col]![col]!;
    if (Math.abs(p) < 1e-12) throw new RangeError('singular Hessian: add an L2 penalty (l2 > 0)');
    for (let r = col + 1; r < n; r++) {
      const f = m[r]![col]! / p;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = m[r]![n]!;
    for (let c = r + 1; c < n; c++) sum -= m[r]![c]! * x[c]!;
    x[r] = sum / m[r]![r]!;
  }
  return x;
}

/**
 * Minimises mean log loss + (l2 / 2) * |weights|^2 (the bias is not penalised) with Newton's method (IRLS):
 * a handful of exact steps instead of thousands of gradient steps, and no learning rate to tune.
 */
export function trainLogisticRegression(
  featureNames: readonly string[],
  rows: Matrix,
  labels: readonly number[],
  options: TrainOptions = {},
): LogisticModel {
  validateTrainingData(featureNames, rows, labels);
  const { l2 = 1e-3, maxIterations = 50, tolerance = 1e-10 } = options;
  if (!(l2 >= 0)) throw new RangeError(`l2 must be >= 0, got ${l2}`);
  const standardiser = fitStandardiser(rows, featureNames.length);
  // Column 0 is the intercept; the rest are the standardised features.
  const x = rows.map((row) => Float64Array.from([1, ...standardise(row, standardiser)]));
  const width = featureNames.length + 1;
  let beta = new Array<number>(width).fill(0);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const gradient = beta.map((b, j) => (j === 0 ? 0 : l2 * b));
    const hessian = Array.from({ length: width }, (_, i) =>
      Array.from({ length: width }, (_, j) => (i === j && i > 0 ? l2 : 0)),
    );
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      let z = 0;
      for (let j = 0; j < width; j++) z += beta[j]! * xi[j]!;
      const p = sigmoid(z);
      const error = (p - labels[i]!) / x.length;
      const weight = (p * (1 - p)) / x.length;
      for (let j = 0; j < width; j++) {
        gradient[j]! += error * xi[j]!;
        const hj = hessian[j]!;
        for (let k = 0; k <= j; k++) hj[k]! += weight * xi[j]! * xi[k]!;
      }
    }
    for (let j = 0; j < width; j++) for (let k = 0; k < j; k++) hessian[k]![j] = hessian[j]![k]!;
    const step = solve(hessian, gradient);
    beta = beta.map((b, j) => b - step[j]!);
    if (Math.max(...step.map(Math.abs)) < tolerance) break;
  }
  return { featureNames: [...featureNames], weights: beta.slice(1), bias: beta[0]!, standardiser };
}

export function predictProbability(model: LogisticModel, row: readonly number[]): number {
  if (row.length !== model.weights.length)
    throw new RangeError(`expected ${model.weights.length} values, got ${row.length}`);
  if (!row.every(Number.isFinite)) throw new RangeError('cannot score a row with a non-finite value');
  const x = standardise(row, model.standardiser);
  let z = model.bias;
  for (let j = 0; j < x.length; j++) z += model.weights[j]! * x[j]!;
  return sigmoid(z);
}

export function predictProbabilities(model: LogisticModel, rows: Matrix): number[] {
  return rows.map((row) => predictProbability(model, row));
}
