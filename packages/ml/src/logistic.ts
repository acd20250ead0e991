/**
 * Binary logistic regression with L2 regularisation, trained by full-batch gradient descent on
 * standardised inputs. Small and dependency-free on purpose: a teaching repo should let a reader
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
  readonly learningRate?: number;
  readonly iterations?: number;
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
  if (rows.length !== labels.length) throw new RangeError(`rows (${rows.length}) and labels (${labels.length}) differ in length`);
  rows.forEach((row, i) => {
    if (row.length !== featureNames.length) throw new RangeError(`row ${i} has ${row.length} values, expected ${featureNames.length}`);
    if (!row.every(Number.isFinite)) throw new RangeError(`row ${i} has a non-finite value: impute missing features before training`);
  });
  if (!labels.every((y) => y === 0 || y === 1)) throw new RangeError('labels must be 0 or 1');
}

export function trainLogisticRegression(
  featureNames: readonly string[],
  rows: Matrix,
  labels: readonly number[],
  options: TrainOptions = {},
): LogisticModel {
  validateTrainingData(featureNames, rows, labels);
  const { l2 = 1e-3, learningRate = 0.5, iterations = 400 } = options;
  const standardiser = fitStandardiser(rows, featureNames.length);
  const x = rows.map((row) => standardise(row, standardiser));
  const width = featureNames.length;
  const weights = new Float64Array(width);
  let bias = 0;
  const gradient = new Float64Array(width);
  for (let iteration = 0; iteration < iterations; iteration++) {
    gradient.fill(0);
    let biasGradient = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      let z = bias;
      for (let j = 0; j < width; j++) z += weights[j]! * xi[j]!;
      const error = sigmoid(z) - labels[i]!;
      biasGradient += error;
      for (let j = 0; j < width; j++) gradient[j]! += error * xi[j]!;
    }
    for (let j = 0; j < width; j++) weights[j]! -= learningRate * (gradient[j]! / x.length + l2 * weights[j]!);
    bias -= (learningRate * biasGradient) / x.length;
  }
  return { featureNames: [...featureNames], weights: [...weights], bias, standardiser };
}

export function predictProbability(model: LogisticModel, row: readonly number[]): number {
  if (row.length !== model.weights.length) throw new RangeError(`expected ${model.weights.length} values, got ${row.length}`);
  if (!row.every(Number.isFinite)) throw new RangeError('cannot score a row with a non-finite value');
  const x = standardise(row, model.standardiser);
  let z = model.bias;
  for (let j = 0; j < x.length; j++) z += model.weights[j]! * x[j]!;
  return sigmoid(z);
}

export function predictProbabilities(model: LogisticModel, rows: Matrix): number[] {
  return rows.map((row) => predictProbability(model, row));
}
