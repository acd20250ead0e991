/**
 * Shows code from the repository's own source files in a notebook, so the code a lesson is about is the code
 * that ran, never a copy that drifts from it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './scenario';

const indentOf = (line: string): number => line.length - line.trimStart().length;

/**
 * The block of `file` (relative to the repository root) that starts at the first line beginning (after
 * indentation) with `startsWith` and ends at the next line with the same indentation (its closing bracket),
 * together with the doc comment right above it. Throws when the start is not found, so a renamed function
 * fails the notebook instead of showing nothing.
 */
export function sourceBlock(file: string, startsWith: string): string {
  const lines = readFileSync(join(repoRoot(), file), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(startsWith));
  if (start < 0) throw new Error(`${file}: no line starts with ${JSON.stringify(startsWith)}`);
  const indent = indentOf(lines[start]!);
  let end = start + 1;
  while (end < lines.length && !(lines[end]!.trim() !== '' && indentOf(lines[end]!) === indent)) end++;
  let first = start;
  if (lines[start - 1]?.trim() === '*/') {
    while (first > 0 && !lines[first - 1]!.trimStart().startsWith('/**')) first--;
    first--;
  }
  return lines
    .slice(first, end + 1)
    .map((l) => l.slice(Math.min(indent, indentOf(l))))
    .join('\n');
}

/** Markdown for a fenced TypeScript block headed by where it comes from. */
export function codeMarkdown(file: string, code: string): string {
  return `\`${file}\`\n\n\`\`\`ts\n${code}\n\`\`\``;
}
