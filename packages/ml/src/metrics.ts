/** Evaluation metrics for binary classifiers and distribution comparisons. Labels are 0 or 1. */

function checkPairs(scores: readonly number[], labels: readonly number[]): void {
  if (scores.length !== labels.length)
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  if (!labels.every((y) => y === 0 || y === 1)) throw new RangeError('labels must be 0 or 1');
  if (!scores.every(Number.isFinite)) throw new RangeError('scores must be finite numbers');
}

/**
 * ROC AUC as the Mann-Whitney statistic: the probability that a random positive outranks a random
 * negative, ties counting one half (via average ranks).
 */
export function rocAuc(scores: readonly number[], labels: readonly number[]): number {
  checkPairs(scores, labels);
  const positives = labels.filter((y) => y === 1).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0)
    throw new RangeError('ROC AUC needs at least one positive and one negative label');
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positiveRankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const averageRank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) if (labels[order[i]!] === 1) positiveRankSum += averageRank;
    start = end + 1;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Indices of the k highest scores; ties are broken by input order so results are deterministic. */
function topK(scores: readonly number[], k: number): number[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  return scores
    .map((_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, k);
}

/** Share of the k highest-scored rows that are positive (k is capped at the number of rows). */
export function precisionAtK(scores: readonly number[], labels: readonly number[], k: number): number {
  checkPairs(scores, labels);
  const top = topK(scores, k);
  return top.filter((i) => labels[i] === 1).length / top.length;
}

/** Share of all positives that are among the k highest-scored rows. */
export function recallAtK(scores: readonly number[], labels: readonly number[], k: number): number {
  checkPairs(scores, labels);
  const positives = labels.filter((y) => y === 1).length;
  if (positives === 0) throw new RangeError('recall@k needs at least one positive label');
  return topK(scores, k).filter((i) => labels[i] === 1).length / positives;
}

/** Mean negative log-likelihood; probabilities are clipped to [eps, 1 - eps] so one confident miss is finite. */
export function logLoss(probabilities: readonly number[], labels: readonly number[], eps = 1e-15): number {
  checkPairs(probabilities, labels);
  if (probabilities.length === 0) throw new RangeError('log loss of zero rows is undefined');
  let total = 0;
  probabilities.forEach((p, i) => {
    if (p < 0 || p > 1) throw new RangeError(`probability ${p} at row ${i} is outside [0, 1]`);
    const clipped = Math.min(1 - eps, Math.max(eps, p));
    total -= labels[i] === 1 ? Math.log(clipped) : Math.log(1 - clipped);
  });
  return total / probabilities.length;
}
