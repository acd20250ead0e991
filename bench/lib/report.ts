/**
 * The one machine-readable line every bench script prints per table row, collected by bench/run.sh:
 *
 *   BENCH {"row":"PIT join 1M labels x 10M rows","ours":1.9,"reference":14.2,"unit":"s","better":"lower","target":5}
 *
 * - row:       stable human label (include the size so small and full runs are not confused)
 * - ours:      our measured value, in `unit`
 * - reference: the reference's value measured IN THE SAME RUN, same unit (null: no reference, e.g. an absolute bound)
 * - unit:      "s", "ms", "msg/s", "rows/s", "B/entity", ...
 * - better:    "lower" (times, bytes) or "higher" (throughputs)
 * - target:    minimum ADVANTAGE factor, where advantage = reference/ours if better=lower, ours/reference if higher.
 *              ">= 5x faster" -> 5; "p99 within 2x of raw" -> 0.5; "at least 80% of raw throughput" -> 0.8; null: none.
 * - limit:     optional absolute bound on `ours` in `unit` (<= when better=lower, >= when higher),
 *              e.g. freshness p99 <= 1000 ms
 * - note:      optional short text (load, sizes, why a reference is approximate)
 *
 * Use `emit(row)`; never print a line starting with "BENCH " any other way.
 */
export interface BenchRow {
  readonly row: string;
  readonly ours: number;
  readonly reference: number | null;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
  readonly target: number | null;
  readonly limit?: number | null;
  readonly note?: string;
}

export const BENCH_PREFIX = 'BENCH ';

export function emit(row: BenchRow): void {
  validate(row);
  process.stdout.write(`${BENCH_PREFIX}${JSON.stringify(row)}\n`);
}

export function validate(row: BenchRow): BenchRow {
  if (typeof row.row !== 'string' || row.row.length === 0)
    throw new TypeError('BenchRow.row must be a non-empty string');
  if (typeof row.ours !== 'number') throw new TypeError(`BenchRow ${row.row}: ours must be a number`);
  if (row.reference !== null && typeof row.reference !== 'number')
    throw new TypeError(`BenchRow ${row.row}: reference must be a number or null`);
  if (row.better !== 'lower' && row.better !== 'higher')
    throw new TypeError(`BenchRow ${row.row}: better must be "lower" or "higher"`);
  if (row.target !== null && typeof row.target !== 'number')
    throw new TypeError(`BenchRow ${row.row}: target must be a number or null`);
  return row;
}

/** Parses every BENCH line of a script's output (other lines are ignored). */
export function parseBenchLines(text: string): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(BENCH_PREFIX)) continue;
    rows.push(validate(JSON.parse(line.slice(BENCH_PREFIX.length)) as BenchRow));
  }
  return rows;
}

/** How many times better ours is than the reference (> 1: ours is better); null without a reference. */
export function advantage(row: BenchRow): number | null {
  if (row.reference === null || row.ours === 0 || row.reference === 0) return null;
  return row.better === 'lower' ? row.reference / row.ours : row.ours / row.reference;
}

/** true / false when there is something to check, null when the row has neither target nor limit. */
export function met(row: BenchRow): boolean | null {
  const checks: boolean[] = [];
  const adv = advantage(row);
  if (row.target !== null) checks.push(adv !== null && adv >= row.target);
  if (row.limit !== undefined && row.limit !== null)
    checks.push(row.better === 'lower' ? row.ours <= row.limit : row.ours >= row.limit);
  return checks.length === 0 ? null : checks.every(Boolean);
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return value.toExponential(2);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100 || Number.isInteger(value)) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toPrecision(3);
}

function targetText(row: BenchRow): string {
  const parts: string[] = [];
  if (row.target !== null)
    parts.push(
      row.target >= 1
        ? `≥ ${formatNumber(row.target)}× better`
        : row.better === 'higher'
          ? `≥ ${Number(row.target.toPrecision(3))}× ref`
          : `within ${formatNumber(1 / row.target)}× of ref`,
    );
  if (row.limit !== undefined && row.limit !== null)
    parts.push(`${row.better === 'lower' ? '≤' : '≥'} ${formatNumber(row.limit)} ${row.unit}`);
  return parts.join(', ') || '-';
}

export interface TableLine {
  readonly source: string;
  readonly row: BenchRow | undefined;
  /** Set when the script produced no row (missing, failed). */
  readonly problem?: string;
}

/** The combined Markdown table: row | ours | reference | ratio (advantage) | target | met? */
export function markdownTable(lines: readonly TableLine[]): string {
  const out = [
    '| row | ours | reference | ratio (ours vs ref) | target | met? |',
    '| --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const line of lines) {
    const row = line.row;
    if (!row) {
      out.push(`| ${line.source} | - | - | - | - | ${line.problem ?? 'no rows'} |`);
      continue;
    }
    const adv = advantage(row);
    const ok = met(row);
    const ratio = adv === null ? '-' : adv >= 1 ? `${formatNumber(adv)}× better` : `${formatNumber(1 / adv)}× worse`;
    const verdict = ok === null ? '(info)' : ok ? 'yes' : 'NO';
    const reference = row.reference === null ? '-' : `${formatNumber(row.reference)} ${row.unit}`;
    out.push(
      `| ${row.row} | ${formatNumber(row.ours)} ${row.unit} | ${reference} | ${ratio} | ` +
        `${targetText(row)} | ${verdict} |`,
    );
  }
  return out.join('\n');
}
