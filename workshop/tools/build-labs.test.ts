import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  generatedLab,
  isUntouched,
  labFromSolution,
  labNameOf,
  labsDir,
  outOfSync,
  solutionFiles,
  stripSolution,
  type Notebook,
} from './build-labs.js';

const solution = (cells: Notebook['cells']): Notebook => ({
  cells,
  metadata: { rtml: { workshop: 'solution' } },
  nbformat: 4,
  nbformat_minor: 5,
});
const code = (source: string, tags: string[] = []) => ({
  cell_type: 'code' as const,
  source,
  metadata: tags.length ? { tags } : {},
  outputs: [{ output_type: 'stream' }],
  execution_count: 3,
});

describe('labs generated from their solutions', () => {
  it('every committed lab is exactly what its solution generates (after editing one: npm run workshop:labs)', () => {
    expect(solutionFiles().length).toBeGreaterThanOrEqual(5);
    expect(outOfSync()).toEqual([]);
  });

  it('every lab keeps a checkpoint cell and loses every solution line', () => {
    for (const name of solutionFiles()) {
      const lab = JSON.parse(generatedLab(labsDir(), name)) as Notebook;
      const sources = lab.cells.map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
      expect(
        lab.cells.some((c) => c.metadata.tags?.includes('checkpoint')),
        name,
      ).toBe(true);
      expect(sources.join('\n'), name).not.toMatch(/BEGIN SOLUTION|END SOLUTION|\/\/ LAB:/);
      expect(lab.metadata['rtml'], name).toEqual({ workshop: 'lab' });
    }
  });

  it('keeps the LAB lines uncommented, drops the solution, outputs and solution-only cells', () => {
    const lab = labFromSolution(
      solution([
        code(
          'const a = 1;\n  // BEGIN SOLUTION\n  // LAB: const b = null; // TODO\n  const b = a + 1;\n' +
            '  // END SOLUTION\nshow(b);',
        ),
        { cell_type: 'markdown', source: 'the answer is 2', metadata: { tags: ['solution-only'] } },
        code('checkpoint(b);', ['checkpoint']),
      ]),
    );
    expect(lab.cells).toHaveLength(2);
    expect(lab.cells[0]!.source).toEqual(['const a = 1;\n', '  const b = null; // TODO\n', 'show(b);']);
    expect(lab.cells[0]!.outputs).toEqual([]);
    expect(lab.cells[0]!.execution_count).toBeNull();
    expect(lab.cells[1]!.metadata.tags).toEqual(['checkpoint']);
  });

  it('refuses unbalanced markers, naming the cell', () => {
    expect(() => stripSolution('// BEGIN SOLUTION\nx', 'lab cell 2')).toThrow(
      'lab cell 2: // BEGIN SOLUTION without // END SOLUTION',
    );
    expect(() => stripSolution('// END SOLUTION', 'c')).toThrow('c: // END SOLUTION without // BEGIN SOLUTION');
  });

  it('reports a lab edited by hand as out of sync', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtml-labs-'));
    const name = solutionFiles()[0]!;
    writeFileSync(join(dir, name), readFileSync(join(labsDir(), name)));
    writeFileSync(join(dir, labNameOf(name)), generatedLab(labsDir(), name));
    expect(outOfSync(dir)).toEqual([]);
    writeFileSync(join(dir, labNameOf(name)), generatedLab(labsDir(), name).replace('TODO', 'DONE'));
    expect(outOfSync(dir)).toEqual([labNameOf(name)]);
  });

  it('tells an untouched lab (anywhere) from one a learner filled in, even once it is committed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtml-labs-'));
    const name = solutionFiles()[0]!;
    const lab = JSON.parse(generatedLab(labsDir(), name)) as Notebook;
    const copy = join(dir, labNameOf(name));
    writeFileSync(copy, JSON.stringify(lab));
    expect(isUntouched(copy)).toBe(true);
    // Outputs and markdown do not count: only the code the learner writes.
    const markdown = lab.cells.find((cell) => cell.cell_type === 'markdown')!;
    markdown.source = ['# my notes'];
    writeFileSync(copy, JSON.stringify(lab));
    expect(isUntouched(copy)).toBe(true);
    const todo = lab.cells.find((cell) => cell.cell_type === 'code' && String(cell.source).includes('TODO'))!;
    todo.source = ['const answer = 42;'];
    writeFileSync(copy, JSON.stringify(lab));
    expect(isUntouched(copy)).toBe(false);
    expect(isUntouched(join(labsDir(), name))).toBe(false); // a solution is never an untouched lab
  });
});
