import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildImportGraph, findCycles } from './import-graph.js';

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
