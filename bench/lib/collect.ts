/**
 * Builds the combined table from a bench/run.sh results directory:
 *   npx tsx bench/lib/collect.ts <dir>
 * <dir>/status.tsv lists `script<TAB>exit code|missing<TAB>seconds`; <dir>/<name>.log holds each script's output.
 * Prints Markdown (also written to <dir>/table.md).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { markdownTable, parseBenchLines, type TableLine } from './report.js';
import { machineNote } from './machine.js';

export function logName(script: string): string {
  return `${script
    .replace(/^bench\//, '')
    .replace(/\.ts$/, '')
    .replaceAll('/', '__')}.log`;
}

const dir = new Command('collect')
  .description('Combined Markdown table of a bench/run.sh results directory (also written to <dir>/table.md)')
  .argument('<dir>', 'results directory holding status.tsv and one <script>.log per script')
  .parse().processedArgs[0] as string;
const lines: TableLine[] = [];
const status = readFileSync(join(dir, 'status.tsv'), 'utf8').trim().split('\n').filter(Boolean);
for (const entry of status) {
  const [script = '?', code = '?', seconds = '?'] = entry.split('\t');
  if (code === 'missing') {
    lines.push({ source: script, row: undefined, problem: 'script not in the tree yet' });
    continue;
  }
  const log = join(dir, logName(script));
  let rows: ReturnType<typeof parseBenchLines> = [];
  let parseError: string | undefined;
  try {
    rows = existsSync(log) ? parseBenchLines(readFileSync(log, 'utf8')) : [];
  } catch (error) {
    parseError = `bad BENCH line: ${String(error)}`;
  }
  for (const row of rows) lines.push({ source: script, row });
  if (code !== '0')
    lines.push({
      source: script,
      row: undefined,
      problem: `FAILED (exit ${code} after ${seconds} s; see ${logName(script)})`,
    });
  else if (parseError) lines.push({ source: script, row: undefined, problem: parseError });
  else if (rows.length === 0) lines.push({ source: script, row: undefined, problem: 'printed no BENCH line' });
}
const table = markdownTable(lines);
const text = `${table}\n\n_${machineNote()} (at collection time)_\n`;
writeFileSync(join(dir, 'table.md'), text);
process.stdout.write(text);
