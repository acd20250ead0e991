import type { JoinResult, ScenarioOptions, ScenarioResult } from './pipeline.js';

const f3 = (n: number) => n.toFixed(3);

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function metricsTable(results: readonly JoinResult[], k: number): string {
  return table(
    [
      'training join',
      'train rows',
      `offline P@${k}`,
      `served P@${k}`,
      `offline R@${k}`,
      `served R@${k}`,
      'offline AUC',
      'served AUC',
    ],
    results.map((r) => [
      r.join,
      String(r.trainRows),
      f3(r.offline.precisionAtK),
      f3(r.served.precisionAtK),
      f3(r.offline.recallAtK),
      f3(r.served.recallAtK),
      f3(r.offline.auc),
      f3(r.served.auc),
    ]),
  );
}

function weightsTable(results: readonly JoinResult[]): string {
  const names = Object.keys(results[0]?.weights ?? {});
  return table(
    ['feature (standardised weight)', ...results.map((r) => r.join)],
    names.map((n) => [n, ...results.map((r) => r.weights[n]!.toFixed(2))]),
  );
}

export function formatReport(result: ScenarioResult, options: ScenarioOptions): string {
  const held = result.results[0]!.served;
  const s = result.serving;
  const iso = (t: number) => new Date(t).toISOString().slice(0, 16);
  return [
    `events: ${result.events}; history rows: ${Object.entries(result.historyRows)
      .map(([set, n]) => `${set} ${n}`)
      .join(', ')}`,
    `train labels ${iso(result.periods.train.from)} .. ${iso(result.periods.train.to)}; held out ` +
      `${iso(result.periods.heldOut.from)} .. ${iso(result.periods.heldOut.to)}: ${held.impressions} ` +
      `impressions, ${held.clicks} clicked within ${options.horizonMs / 60_000} min, ${held.users} users with a click`,
    '',
    'Held-out period: metric with the training join (offline) vs through POST /recommend on live online ' +
      'features (served)',
    metricsTable(result.results, options.k),
    '',
    `Serving: ${s.slates} slates, ${s.candidates} candidates per model; median vector age user ` +
      `${(s.medianUserFreshnessMs / 1000).toFixed(0)} s, item ${(s.medianItemFreshnessMs / 1000).toFixed(0)} ` +
      `s; candidates with a fallback ${(100 * s.fallbackShare).toFixed(1)} %`,
    'Served vs offline point-in-time values, same impressions (share that differ; replay step ' +
      `${options.servingStepMs / 60_000} min):`,
    table(
      ['feature', 'mismatch'],
      Object.entries(s.mismatch).map(([n, v]) => [n, `${(100 * v).toFixed(1)} %`]),
    ),
    '',
    weightsTable(result.results),
  ].join('\n');
}
