/**
 * Tiny, dependency-free SVG charts and HTML tables for the notebooks.
 * Everything is inlined into the notebook output (no network at view time); charts go out as
 * image/svg+xml (rendered by JupyterLab and by GitHub's notebook viewer), tables as text/html.
 */
import * as tslab from 'tslab';

export const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d'];

const esc = (s: unknown): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An SVG <text> at (x, y) with further `attributes`; the content is escaped. */
const svgText = (x: number | string, y: number | string, attributes: string, content: unknown): string =>
  `<text x="${x}" y="${y}" ${attributes}>${esc(content)}</text>`;

/** The x axis title, centred under the plot area. */
const xAxisTitle = (f: Frame, label: string): string =>
  svgText((f.left + f.width - f.right) / 2, f.height - 8, 'font-size="12" text-anchor="middle"', label);

/** Formats a number for axes and tables: integers as is, others with up to `digits` significant decimals. */
export function fmt(v: unknown, digits = 3): string {
  if (typeof v !== 'number') return v === null || v === undefined ? '—' : String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  if (abs >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  if (abs >= 1) return v.toFixed(Math.max(0, digits - 1));
  return v.toPrecision(digits);
}

/** Axis tick label: shortest exact form (0.8, not 0.800). */
const tickFmt = (t: number): string =>
  Math.abs(t) >= 1000 ? t.toLocaleString('en-US') : String(Number(t.toPrecision(6)));

function niceTicks(min: number, max: number, count = 5): number[] {
  if (min === max) {
    max = min + 1;
  }
  const span = max - min;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const ticks: number[] = [];
  const end = Math.ceil(max / step - 1e-9) * step;
  for (let t = Math.floor(min / step) * step; t <= end + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Ticks at every multiple of `step` within [min, max]. */
function stepTicks(min: number, max: number, step: number): number[] {
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t);
  return ticks;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function frame(width: number, height: number, legendRows: number): Frame {
  return { width, height, left: 64, right: 28, top: 36 + legendRows * 16, bottom: 48 };
}

/** The frame of a chart with a legend naming its series (640 × 320 unless the spec says otherwise). */
function chartFrame(spec: { width?: number; height?: number; series: { name: string }[] }): Frame {
  const width = spec.width ?? 640;
  return frame(
    width,
    spec.height ?? 320,
    legendRows(
      spec.series.map((s) => s.name),
      width,
    ),
  );
}

function legend(names: string[], f: Frame): string {
  let x = f.left;
  let y = 30;
  const out: string[] = [];
  names.forEach((name, i) => {
    const w = 24 + name.length * 6.5;
    if (x + w > f.width - f.right) {
      x = f.left;
      y += 16;
    }
    out.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${x + 14}" y="${y}" font-size="11">${esc(name)}</text>`);
    x += w;
  });
  return out.join('');
}

function legendRows(names: string[], width: number): number {
  let rows = 1;
  let x = 64;
  for (const n of names) {
    const w = 24 + n.length * 6.5;
    if (x + w > width - 16) {
      rows++;
      x = 64;
    }
    x += w;
  }
  return names.length > 1 ? rows : 0;
}

function yAxis(f: Frame, ticks: number[], y: (v: number) => number, label?: string): string {
  const out = ticks.map(
    (t) =>
      `<line x1="${f.left}" x2="${f.width - f.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>` +
      `<text x="${f.left - 6}" y="${y(t) + 4}" font-size="11" text-anchor="end">${esc(tickFmt(t))}</text>`,
  );
  if (label) {
    const cy = (f.top + f.height - f.bottom) / 2;
    out.push(
      `<text transform="translate(14,${cy}) rotate(-90)" font-size="12" text-anchor="middle">${esc(label)}</text>`,
    );
  }
  return out.join('');
}

function svg(f: Frame, title: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" ` +
    `viewBox="0 0 ${f.width} ${f.height}" ` +
    `font-family="Helvetica, Arial, sans-serif"><rect width="100%" height="100%" fill="white"/>` +
    `<text x="${f.left}" y="16" font-size="14" font-weight="bold">${esc(title)}</text>${body}</svg>`
  );
}

export interface BarSeries {
  name: string;
  values: number[];
}

export interface BarChartSpec {
  title: string;
  /** One group of bars per category (x axis). */
  categories: string[];
  series: BarSeries[];
  yLabel?: string;
  xLabel?: string;
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
  /** Print each bar's value above it. */
  labels?: boolean;
  /** Slant the category labels (many or long categories, e.g. feature names). */
  slantCategories?: boolean;
  /** Horizontal dashed reference lines, e.g. a flag threshold. */
  thresholds?: { y: number; label: string }[];
}

/** Grouped bar chart as an SVG string. */
export function barChart(spec: BarChartSpec): string {
  const f = chartFrame(spec);
  if (spec.slantCategories) {
    const extra = Math.max(0, Math.ceil(Math.max(...spec.categories.map((c) => c.length)) * 4) - 24);
    f.bottom += extra;
    f.height += extra;
  }
  const all = spec.series.flatMap((s) => s.values).filter(Number.isFinite);
  const ticks = niceTicks(spec.yMin ?? Math.min(0, ...all), spec.yMax ?? Math.max(...all, 0) * 1.08);
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  const plotH = f.height - f.top - f.bottom;
  const y = (v: number) => f.top + plotH * (1 - (v - lo) / (hi - lo));
  const groupW = (f.width - f.left - f.right) / spec.categories.length;
  const barW = Math.min(48, (groupW * 0.8) / spec.series.length);
  const parts: string[] = [yAxis(f, ticks, y, spec.yLabel)];
  spec.categories.forEach((cat, ci) => {
    const gx = f.left + ci * groupW + (groupW - barW * spec.series.length) / 2;
    spec.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || !Number.isFinite(v)) return;
      const x = gx + si * barW;
      const y0 = y(Math.max(lo, Math.min(0, hi)));
      const top = Math.min(y(v), y0);
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" ` +
          `width="${(barW - 2).toFixed(1)}" height="${Math.abs(y0 - y(v)).toFixed(1)}" ` +
          `fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${s.name} / ${cat}: ${fmt(v)}`)}</title></rect>`,
      );
      if (spec.labels) {
        parts.push(
          svgText((x + barW / 2 - 1).toFixed(1), (top - 3).toFixed(1), 'font-size="10" text-anchor="middle"', fmt(v)),
        );
      }
    });
    const cx = (f.left + ci * groupW + groupW / 2).toFixed(1);
    const cy = f.height - f.bottom + 14;
    parts.push(
      spec.slantCategories
        ? svgText(cx, cy, `font-size="11" text-anchor="end" transform="rotate(-40 ${cx} ${cy})"`, cat)
        : `<text x="${cx}" y="${cy + 2}" font-size="11" text-anchor="middle">${esc(cat)}</text>`,
    );
  });
  for (const t of spec.thresholds ?? []) {
    const ty = y(t.y).toFixed(1);
    parts.push(
      `<line x1="${f.left}" x2="${f.width - f.right}" y1="${ty}" y2="${ty}" stroke="#d62728" stroke-dasharray="5 3"/>` +
        svgText(
          f.width - f.right - 2,
          (y(t.y) - 4).toFixed(1),
          'font-size="10" fill="#d62728" text-anchor="end"',
          t.label,
        ),
    );
  }
  if (spec.xLabel) parts.push(xAxisTitle(f, spec.xLabel));
  if (spec.series.length > 1)
    parts.push(
      legend(
        spec.series.map((s) => s.name),
        f,
      ),
    );
  return svg(f, spec.title, parts.join(''));
}

export interface LineSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Draw dots on the points. */
  dots?: boolean;
  dashed?: boolean;
  /** Draw as a step function (value holds until the next point), e.g. a feature value over time. */
  step?: boolean;
}

export interface LineChartSpec {
  title: string;
  series: LineSeries[];
  xLabel?: string;
  yLabel?: string;
  /** Formats x tick labels (e.g. epoch ms -> clock time). */
  xFormat?: (x: number) => string;
  /** Distance between x ticks (e.g. 30 minutes in ms for clock times); default: "nice" decimal steps. */
  xStep?: number;
  xLog?: boolean;
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
  /** Vertical marker lines, e.g. "now" or "label known". */
  markers?: { x: number; label: string }[];
}

/** Line chart (optionally step lines, log x) as an SVG string. */
export function lineChart(spec: LineChartSpec): string {
  const f = chartFrame(spec);
  const tx = (x: number) => (spec.xLog ? Math.log10(x) : x);
  const pts = spec.series.flatMap((s) => s.points);
  const xs = pts.map((p) => tx(p[0])).concat((spec.markers ?? []).map((m) => tx(m.x)));
  const ys = pts.map((p) => p[1]).filter(Number.isFinite);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yt = niceTicks(spec.yMin ?? Math.min(...ys), spec.yMax ?? Math.max(...ys));
  const lo = yt[0]!;
  const hi = yt[yt.length - 1]!;
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const X = (x: number) => f.left + (plotW * (tx(x) - xMin)) / (xMax - xMin || 1);
  const Y = (v: number) => f.top + plotH * (1 - (v - lo) / (hi - lo));
  const parts: string[] = [yAxis(f, yt, Y, spec.yLabel)];
  const xticks = spec.xLog
    ? niceTicks(Math.floor(xMin), Math.ceil(xMax), 6)
        .filter((t) => Number.isInteger(t))
        .map((t) => 10 ** t)
    : spec.xStep
      ? stepTicks(xMin, xMax, spec.xStep)
      : niceTicks(xMin, xMax, 6);
  for (const t of xticks) {
    if (tx(t) < xMin - 1e-9 || tx(t) > xMax + 1e-9) continue;
    parts.push(
      `<line x1="${X(t)}" x2="${X(t)}" y1="${f.top}" y2="${f.height - f.bottom}" stroke="#f0f0f0"/>` +
        svgText(
          X(t),
          f.height - f.bottom + 16,
          'font-size="11" text-anchor="middle"',
          spec.xFormat ? spec.xFormat(t) : tickFmt(t),
        ),
    );
  }
  for (const m of spec.markers ?? []) {
    // A marker near the right edge gets its label on its left, so the label is not cut off.
    const nearRight = X(m.x) + 3 + m.label.length * 6 > f.width - f.right;
    const labelX = nearRight ? X(m.x) - 3 : X(m.x) + 3;
    parts.push(
      `<line x1="${X(m.x)}" x2="${X(m.x)}" y1="${f.top}" y2="${f.height - f.bottom}" ` +
        'stroke="#888" stroke-dasharray="4 3"/>' +
        svgText(labelX, f.top + 11, `font-size="10" fill="#555" text-anchor="${nearRight ? 'end' : 'start'}"`, m.label),
    );
  }
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const sorted = [...s.points].filter((p) => Number.isFinite(p[1])).sort((a, b) => a[0] - b[0]);
    let d = '';
    sorted.forEach((p, j) => {
      if (j === 0) d += `M${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`;
      else if (s.step) d += `H${X(p[0]).toFixed(1)}V${Y(p[1]).toFixed(1)}`;
      else d += `L${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`;
    });
    parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    if (s.dots) {
      for (const p of sorted) {
        const title = esc(`${s.name}: ${fmt(p[0])}, ${fmt(p[1])}`);
        const at = `cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}"`;
        parts.push(`<circle ${at} r="3" fill="${color}"><title>${title}</title></circle>`);
      }
    }
  });
  if (spec.xLabel) parts.push(xAxisTitle(f, spec.xLabel));
  if (spec.series.length > 1)
    parts.push(
      legend(
        spec.series.map((s) => s.name),
        f,
      ),
    );
  return svg(f, spec.title, parts.join(''));
}

/** Bins values into `bins` equal-width buckets over [min, max] of all samples: each sample set's shares (sum 1). */
export function histogram(
  samples: Record<string, number[]>,
  bins = 10,
): { edges: number[]; shares: Record<string, number[]> } {
  const all = Object.values(samples).flat().filter(Number.isFinite);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const w = (hi - lo) / bins || 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * w);
  const shares: Record<string, number[]> = {};
  for (const [name, vs] of Object.entries(samples)) {
    const counts = new Array<number>(bins).fill(0);
    const finite = vs.filter(Number.isFinite);
    for (const v of finite) counts[Math.min(bins - 1, Math.floor((v - lo) / w))]!++;
    shares[name] = counts.map((c) => c / (finite.length || 1));
  }
  return { edges, shares };
}

/**
 * Bin edge label rounded to the bin width's precision, so float noise does not show: an edge of
 * -0.0000581 in bins 0.01 wide reads "0.000".
 */
export function edgeLabel(edge: number, binWidth: number): string {
  // Precision from the width rounded to one significant digit: a width of 0.00999 counts as 0.01.
  const decimals = Math.max(0, Math.min(6, 1 - Math.floor(Math.log10(Number(binWidth.toPrecision(1))))));
  const text = edge.toFixed(decimals);
  return Number(text) === 0 ? (0).toFixed(decimals) : text;
}

/** Overlaid distributions as a grouped bar chart of bin shares. */
export function distributionChart(
  title: string,
  samples: Record<string, number[]>,
  bins = 10,
  xLabel?: string,
): string {
  const { edges, shares } = histogram(samples, bins);
  const binWidth = (edges[edges.length - 1]! - edges[0]!) / bins || 1;
  return barChart({
    title,
    categories: edges.slice(0, -1).map((e) => edgeLabel(e, binWidth)),
    series: Object.entries(shares).map(([name, values]) => ({ name, values })),
    yLabel: 'share of rows',
    xLabel: xLabel ? `${xLabel} (bin lower edge)` : 'bin lower edge',
  });
}

/** Renders rows as an HTML table string. */
export function tableHtml(
  rows: ReadonlyArray<Record<string, unknown>>,
  opts: { title?: string; digits?: number } = {},
): string {
  if (rows.length === 0) return `<p><i>${esc(opts.title ?? '')} (no rows)</i></p>`;
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => {
    const s =
      v instanceof Date
        ? v.toISOString()
        : typeof v === 'object' && v !== null
          ? JSON.stringify(v)
          : fmt(v, opts.digits ?? 3);
    return `<td style="text-align:${typeof v === 'number' ? 'right' : 'left'}">${esc(s)}</td>`;
  };
  return (
    (opts.title ? `<p><b>${esc(opts.title)}</b></p>` : '') +
    `<table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${cols.map((c) => cell(r[c])).join('')}</tr>`).join('') +
    `</tbody></table>`
  );
}

/** Displays an SVG chart in the notebook. */
export function show(svgText: string): void {
  tslab.display.svg(svgText);
}

/** Displays rows as a table in the notebook. */
export function table(
  rows: ReadonlyArray<Record<string, unknown>>,
  opts: { title?: string; digits?: number } = {},
): void {
  tslab.display.html(tableHtml(rows, opts));
}

/** Displays Markdown (e.g. a sentence built from measured numbers). */
export function md(text: string): void {
  tslab.display.markdown(text);
}
