import { precisionAtK, recallAtK, rocAuc } from '@rtml/ml';

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
  const byUser = new Map<string, Scored[]>();
  for (const s of scored) {
    const rows = byUser.get(s.userId);
    if (rows) rows.push(s);
    else byUser.set(s.userId, [s]);
  }
  const rankable = [...byUser.values()].filter((rows) => rows.some((r) => r.clicked));
  if (rankable.length === 0) throw new RangeError('no user clicked anything in the evaluation period');
  const perUser = rankable.map((rows) => {
    const scores = rows.map((r) => r.score);
    const labels = rows.map((r) => (r.clicked ? 1 : 0));
    return { precision: precisionAtK(scores, labels, k), recall: recallAtK(scores, labels, k) };
  });
  const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    auc: rocAuc(scored.map((s) => s.score), scored.map((s) => (s.clicked ? 1 : 0))),
    precisionAtK: mean(perUser.map((u) => u.precision)),
    recallAtK: mean(perUser.map((u) => u.recall)),
    k,
    users: rankable.length,
    impressions: scored.length,
    clicks: scored.filter((s) => s.clicked).length,
  };
}
