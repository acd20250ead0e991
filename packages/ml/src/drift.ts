/** Comparing two samples of one feature: population stability index and pairwise mismatch rate. */

export interface PsiOptions {
  /** Number of quantile bins taken from the reference sample (fewer if it has fewer distinct values). */
  readonly bins?: number;
  /** Added to every bin share so an empty bin does not make the index infinite. */
  readonly epsilon?: number;
}

/**
 * Bin edges are the reference sample's quantiles at 1/bins, 2/bins, ... (the value at sorted index
 * ceil(q * n / bins) - 1); duplicate edges are dropped,
 * so a feature with few distinct values (a count, an hour) gets one bin per value range instead of
 * empty bins. A value v falls in the first bin whose edge is >= v; values above the last edge go to a
 * final open bin. `null` (missing) gets a bin of its own: a path that fills nulls with 0 shows up.
 */
export function psiBinEdges(reference: readonly number[], bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const sorted = [...reference].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let q = 1; q < bins; q++) {
    const edge = sorted[Math.max(0, Math.ceil((q * sorted.length) / bins) - 1)];
    if (edge !== undefined && edge !== edges[edges.length - 1]) edges.push(edge);
  }
  return edges;
}

function binShares(sample: readonly (number | null)[], edges: readonly number[], epsilon: number): number[] {
  const counts = new Array<number>(edges.length + 2).fill(0);
  for (const value of sample) {
    if (value === null) {
      counts[edges.length + 1]!++;
      continue;
    }
    if (!Number.isFinite(value)) throw new RangeError(`PSI needs finite numbers or null, got ${value}`);
    let bin = edges.findIndex((edge) => value <= edge);
    if (bin === -1) bin = edges.length;
    counts[bin]!++;
  }
  return counts.map((c) => c / sample.length + epsilon);
}

/** PSI = sum over bins of (actual - expected) * ln(actual / expected). 0 means identical binned shares. */
export function populationStabilityIndex(
  expected: readonly (number | null)[],
  actual: readonly (number | null)[],
  options: PsiOptions = {},
): number {
  const { bins = 10, epsilon = 1e-4 } = options;
  if (expected.length === 0 || actual.length === 0) throw new RangeError('PSI needs two non-empty samples');
  const edges = psiBinEdges(
    expected.filter((v): v is number => v !== null),
    bins,
  );
  const e = binShares(expected, edges, epsilon);
  const a = binShares(actual, edges, epsilon);
  return e.reduce((sum, ei, i) => sum + (a[i]! - ei) * Math.log(a[i]! / ei), 0);
}

export type Comparable = number | string | boolean | null | readonly number[] | readonly string[];

export interface MismatchOptions {
  /** Numbers within this absolute difference count as equal (floating-point noise is not skew). */
  readonly tolerance?: number;
}

export function valuesMatch(a: Comparable, b: Comparable, tolerance: number): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= tolerance || (Number.isNaN(a) && Number.isNaN(b));
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => valuesMatch(v as Comparable, b[i] as Comparable, tolerance));
  }
  return a === b;
}

/** Fraction of aligned pairs whose values differ (null vs a number is a mismatch). */
export function mismatchRate(
  left: readonly Comparable[],
  right: readonly Comparable[],
  options: MismatchOptions = {},
): number {
  if (left.length !== right.length) throw new RangeError(`samples differ in length: ${left.length} vs ${right.length}`);
  if (left.length === 0) throw new RangeError('mismatch rate of zero pairs is undefined');
  const tolerance = options.tolerance ?? 1e-9;
  return left.filter((value, i) => !valuesMatch(value, right[i]!, tolerance)).length / left.length;
}
