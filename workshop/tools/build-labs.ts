/**
 * The workshop's one source of truth is its solutions, `workshop/labs/NN-*.solution.ipynb`; each lab
 * (`workshop/labs/NN-*.ipynb`, beside it: tslab compiles only files under the notebook's folder, so both share
 * `workshop/labs/lib/`) is generated from its solution by this script, so a fix to a solution never leaves its lab
 * behind.
 *
 * In a solution's code cells:
 *   // BEGIN SOLUTION
 *   // LAB: const pit = null; // ← your training set
 *   const pit = await store.buildTrainingSet({ ... });
 *   // END SOLUTION
 * The lab keeps everything outside the markers, and from inside them only the `// LAB: ` lines, uncommented (the
 * placeholder the participant replaces). Markdown cells tagged `solution-only` (answers to discussion prompts) are
 * left out of the lab. Labs carry no outputs: the participant runs them.
 *
 *   npx tsx workshop/tools/build-labs.ts           write every lab from its solution
 *   npx tsx workshop/tools/build-labs.ts --check   exit 1 if a lab is not what its solution generates
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKSHOP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  metadata: { tags?: string[]; [key: string]: unknown };
  outputs?: unknown[];
  execution_count?: number | null;
  [key: string]: unknown;
}

export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

const BEGIN = '// BEGIN SOLUTION';
const END = '// END SOLUTION';
const LAB_LINE = /^(\s*)\/\/ LAB: ?(.*)$/;

const sourceText = (cell: Cell): string => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);

/** A code cell's source as the lab shows it; throws on unbalanced markers, naming the cell. */
export function stripSolution(source: string, where = 'cell'): string {
  const out: string[] = [];
  let inside = false;
  for (const line of source.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === BEGIN) {
      if (inside) throw new Error(`${where}: nested ${BEGIN}`);
      inside = true;
    } else if (trimmed === END) {
      if (!inside) throw new Error(`${where}: ${END} without ${BEGIN}`);
      inside = false;
    } else if (!inside) {
      out.push(line);
    } else {
      const lab = LAB_LINE.exec(line);
      if (lab) out.push(`${lab[1]}${lab[2]}`);
    }
  }
  if (inside) throw new Error(`${where}: ${BEGIN} without ${END}`);
  return out.join('\n');
}

/** nbformat stores sources as line arrays, each line but the last keeping its newline. */
const toLines = (text: string): string[] => text.split(/(?<=\n)/);

export function labFromSolution(solution: Notebook, name = 'notebook'): Notebook {
  const cells = solution.cells
    .filter((cell) => !(cell.metadata.tags ?? []).includes('solution-only'))
    .map((cell, index): Cell => {
      if (cell.cell_type !== 'code') return { ...cell, source: toLines(sourceText(cell)) };
      return {
        ...cell,
        source: toLines(stripSolution(sourceText(cell), `${name} cell ${index + 1}`)),
        outputs: [],
        execution_count: null,
      };
    });
  const rtml = { ...((solution.metadata['rtml'] as Record<string, unknown> | undefined) ?? {}), workshop: 'lab' };
  return { ...solution, cells, metadata: { ...solution.metadata, rtml } };
}

export const serialize = (nb: Notebook): string => `${JSON.stringify(nb, null, 1)}\n`;

const SOLUTION = '.solution.ipynb';
export const labsDir = (workshop = WORKSHOP_DIR): string => join(workshop, 'labs');
export const labNameOf = (solution: string): string => solution.replace(SOLUTION, '.ipynb');

export function solutionFiles(dir = labsDir()): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(SOLUTION))
    .sort();
}

/** The lab text its solution generates. */
export function generatedLab(dir: string, solution: string): string {
  return serialize(labFromSolution(JSON.parse(readFileSync(join(dir, solution), 'utf8')) as Notebook, solution));
}

/** Every lab that differs from what its solution generates (or is missing): names, empty when in sync. */
export function outOfSync(dir = labsDir()): string[] {
  return solutionFiles(dir)
    .filter((solution) => {
      const lab = join(dir, labNameOf(solution));
      return !existsSync(lab) || readFileSync(lab, 'utf8') !== generatedLab(dir, solution);
    })
    .map(labNameOf);
}

const codeOf = (nb: Notebook): string[] => nb.cells.filter((c) => c.cell_type === 'code').map(sourceText);

/**
 * Whether a lab file (anywhere: a learner's copy too) still has the code its solution generates, i.e. nobody filled
 * it in; the notebook runner expects an untouched lab's checkpoints to fail and a filled-in one's to pass.
 */
export function isUntouched(labFile: string): boolean {
  const name = basename(labFile);
  const solution = join(labsDir(), name.replace(/\.ipynb$/, SOLUTION));
  if (name.endsWith(SOLUTION) || !existsSync(solution)) return false;
  const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Notebook;
  const generated = labFromSolution(read(solution), basename(solution));
  return JSON.stringify(codeOf(read(labFile))) === JSON.stringify(codeOf(generated));
}

function main(argv: readonly string[]): number {
  if (argv.includes('--help')) {
    console.log(
      'usage: npm run workshop:labs [-- --check | --untouched LAB.ipynb]\n' +
        '  writes workshop/labs/NN-*.ipynb from workshop/labs/NN-*.solution.ipynb;\n' +
        '  --check only reports the labs that are out of date (exit 1);\n' +
        '  --untouched exits 0 when LAB still has the code its solution generates (nobody filled it in), else 1',
    );
    return 0;
  }
  const untouched = argv.indexOf('--untouched');
  if (untouched >= 0) {
    const lab = argv[untouched + 1];
    if (!lab) {
      console.error('--untouched needs a lab file, e.g. workshop/labs/01-look-ahead-bias.ipynb');
      return 2;
    }
    return isUntouched(lab) ? 0 : 1;
  }
  if (argv.includes('--check')) {
    const stale = outOfSync();
    if (stale.length === 0) return 0;
    console.error(`workshop labs out of date with their solutions: ${stale.join(', ')}`);
    console.error('regenerate them: npm run workshop:labs');
    return 1;
  }
  for (const solution of solutionFiles()) {
    writeFileSync(join(labsDir(), labNameOf(solution)), generatedLab(labsDir(), solution));
    console.log(`workshop/labs/${labNameOf(solution)}`);
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
