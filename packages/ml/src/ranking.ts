import { precisionAtK, recallAtK } from './metrics.js';

export interface GroupedRanking {
  /** Mean over the groups with at least one positive. */
  readonly precisionAtK: number;
  readonly recallAtK: number;
  /** How many groups were ranked (those with at least one positive). */
  readonly groups: number;
}

/**
 * Precision@k and recall@k of each group's rows ranked by score (e.g. one user's impressions), averaged over the
 * groups that have at least one positive: what a per-user recommender is judged by. Groups without a positive are
 * left out because their recall is undefined and their precision is 0 whatever the ranking.
 */
export function groupedPrecisionRecallAtK(
  scores: readonly number[],
  labels: readonly number[],
  groups: readonly string[],
  k: number,
): GroupedRanking {
  if (groups.length !== scores.length)
    throw new RangeError(`groups (${groups.length}) and scores (${scores.length}) differ in length`);
  const rankable = [...rowsByGroup(groups).values()].filter((rows) => rows.some((i) => labels[i] === 1));
  if (rankable.length === 0) throw new RangeError('no group has a positive label');
  const perGroup = rankable.map((rows) => {
    const groupScores = rows.map((i) => scores[i]!);
    const groupLabels = rows.map((i) => labels[i]!);
    return { precision: precisionAtK(groupScores, groupLabels, k), recall: recallAtK(groupScores, groupLabels, k) };
  });
  return {
    precisionAtK: mean(perGroup.map((g) => g.precision)),
    recallAtK: mean(perGroup.map((g) => g.recall)),
    groups: rankable.length,
  };
}

/** Row indices per group, groups and rows in input order (so ties rank deterministically). */
function rowsByGroup(groups: readonly string[]): Map<string, number[]> {
  const byGroup = new Map<string, number[]>();
  groups.forEach((group, i) => {
    const rows = byGroup.get(group);
    if (rows) rows.push(i);
    else byGroup.set(group, [i]);
  });
  return byGroup;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
