/*
 * The import graph of the workspace's TypeScript sources, for the no-cycle test: relative imports and imports of
 * workspace packages (resolved through their package.json "exports" source condition, as the tests resolve them).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export type ImportGraph = ReadonlyMap<string, readonly string[]>;

interface WorkspacePackage {
  readonly name: string;
  readonly dir: string;
  /** Export subpath ("." or "./testing") -> source file. */
  readonly sources: ReadonlyMap<string, string>;
}

function readWorkspacePackage(dir: string): WorkspacePackage {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    exports?: Record<string, { source?: string } | string>;
  };
  const sources = new Map<string, string>();
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target === 'object' && target.source) sources.set(subpath, resolve(dir, target.source));
  }
  return { name: manifest.name, dir, sources };
}

export function tsFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(dir, file));
}

/** `./x.js` -> `./x.ts` (or `./x/index.ts`), as the NodeNext sources spell their relative imports. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((candidate) => candidate.endsWith('.ts') && existsSync(candidate));
}

function resolveWorkspace(packages: readonly WorkspacePackage[], specifier: string): string | undefined {
  for (const pkg of packages) {
    if (specifier === pkg.name) return pkg.sources.get('.');
    if (specifier.startsWith(`${pkg.name}/`)) return pkg.sources.get(`.${specifier.slice(pkg.name.length)}`);
  }
  return undefined;
}

/** What one source file imports, as written (type-only imports included). */
function importSpecifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map(({ fileName }) => fileName);
}

/** Modules a source file loads when it is loaded: its import and export-from declarations, not `import()` calls. */
export function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  return source.statements.flatMap((statement) => {
    const specifier =
      ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement) ? statement.moduleSpecifier : undefined;
    return specifier && ts.isStringLiteral(specifier) ? [specifier.text] : [];
  });
}

/** Every .ts file under `<root>/<group>/<name>/src` for each group, with its edges (paths relative to root). */
export function buildImportGraph(root: string, groups: readonly string[]): ImportGraph {
  const packageDirs = groups.flatMap((group) => {
    const groupDir = join(root, group);
    return existsSync(groupDir)
      ? readdirSync(groupDir)
          .map((name) => join(groupDir, name))
          .filter((dir) => existsSync(join(dir, 'package.json')))
      : [];
  });
  const packages = packageDirs.map(readWorkspacePackage);
  const graph = new Map<string, string[]>();
  for (const file of packageDirs.flatMap((dir) => tsFilesUnder(join(dir, 'src')))) {
    const targets = importSpecifiers(file)
      .map((specifier) =>
        specifier.startsWith('.') ? resolveRelative(file, specifier) : resolveWorkspace(packages, specifier),
      )
      .filter((target): target is string => target !== undefined);
    graph.set(relative(root, file), [...new Set(targets.map((target) => relative(root, target)))]);
  }
  return graph;
}

/**
 * One path per cycle (first file repeated at the end), found as the back edges of a depth-first search; each
 * cycle is reported once, rotated to start at its smallest file.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles = new Map<string, string[]>();
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join(' -> '), [...rotated, rotated[0]!]);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return [...cycles.values()];
}
