import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildImportGraph, findCycles, staticImports, tsFilesUnder } from './import-graph.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('import graph', () => {
  it('has no cycle across packages/*/src and scenarios/*/src (type-only imports included)', () => {
    const graph = buildImportGraph(root, ['packages', 'scenarios']);
    // Guards against a graph that silently resolved nothing (a renamed folder would make this test vacuous).
    expect(graph.get('packages/stream/src/index.ts')?.length).toBeGreaterThan(0);
    expect(graph.get('packages/serving/src/scorer.ts')).toContain('packages/features/src/index.ts');
    const cycles = findCycles(graph).map((cycle) => cycle.join(' -> '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('finds every cycle once, as a path', () => {
    const graph = new Map([
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'b.ts']],
      ['a.ts', ['b.ts']],
      ['d.ts', ['d.ts', 'a.ts']],
    ]);
    expect(findCycles(graph)).toEqual([
      ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
      ['b.ts', 'c.ts', 'b.ts'],
      ['d.ts', 'd.ts'],
    ]);
  });
});

/** A package's run-time sources: its src files that are neither tests nor test helpers (src/testing/). */
const runtimeSources = (pkg: string) =>
  tsFilesUnder(join(root, 'packages', pkg, 'src')).filter(
    (file) => !file.endsWith('.test.ts') && !file.includes(`${sep}testing${sep}`),
  );
const dependenciesOf = (pkg: string): Record<string, string> =>
  (
    JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    }
  ).dependencies ?? {};

describe('dependencies point one way', () => {
  it.each([
    { pkg: 'features', forbidden: '@duckdb/node-api', why: 'a feature definition needs no native DuckDB build' },
    { pkg: 'ml', forbidden: '@rtml/serving', why: 'training needs no server (fastify, kafkajs)' },
    // The CLI may still load it with import(), when installed: it is an optional peer dependency.
    { pkg: 'stream', forbidden: '@rtml/devstack', why: 'a deployed processor runs without the dev stack' },
  ])('$pkg does not depend on $forbidden: $why', ({ pkg, forbidden }) => {
    const importers = runtimeSources(pkg).filter((file) =>
      staticImports(file).some((specifier) => specifier === forbidden || specifier.startsWith(`${forbidden}/`)),
    );
    expect(importers.map((file) => relative(root, file))).toEqual([]);
    expect(Object.keys(dependenciesOf(pkg))).not.toContain(forbidden);
  });
});
