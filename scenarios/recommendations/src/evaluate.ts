import { groupedPrecisionRecallAtK, rocAuc } from '@rtml/ml';

export interface Scored {
  readonly userId: string;
  readonly clicked: boolean;
  readonly score: number;
}

export interface Metrics {
  readonly auc: number;
  /** Mean over users with at least one click in the period: a user's impressions ranked by score. */
  readonly precisionAtK: number;
  readonly recallAtK: number;
  readonly k: number;
  readonly users: number;
  readonly impressions: number;
  readonly clicks: number;
}

export function evaluate(scored: readonly Scored[], k: number): Metrics {
  const scores = scored.map((s) => s.score);
  const labels = scored.map((s) => (s.clicked ? 1 : 0));
  const ranking = groupedPrecisionRecallAtK(
    scores,
    labels,
    scored.map((s) => s.userId),
    k,
  );
  return {
    auc: rocAuc(scores, labels),
    precisionAtK: ranking.precisionAtK,
    recallAtK: ranking.recallAtK,
    k,
    users: ranking.groups,
    impressions: scored.length,
    clicks: labels.filter((y) => y === 1).length,
  };
}
