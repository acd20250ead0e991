// Name rules and case conversions shared by the generators and the Handlebars helpers.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const KEBAB = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
/** What a word of a name may hold; `separator` joins the words. */
const wordsRule = (separator, example) =>
  `lowercase letters and digits in ${separator}-separated words, starting with a letter (e.g. "${example}")`;
const RESERVED_DIRS = new Set(['node_modules', 'dist', 'src', 'test', 'templates', 'packages', 'scenarios']);

/** A project / scenario name: kebab-case, at most 40 characters. Returns true or a message. */
export function checkKebabName(value) {
  if (typeof value !== 'string' || value.length === 0) return 'a name is required';
  if (!KEBAB.test(value)) return `must be kebab-case: ${wordsRule('dash', 'card-fraud')}`;
  if (value.length > 40) return 'must be at most 40 characters';
  if (RESERVED_DIRS.has(value)) return `"${value}" is reserved`;
  return true;
}

/** A feature / entity name: snake_case identifier (it becomes a DuckDB column and a Redis hash field). */
export function checkSnakeName(value) {
  if (typeof value !== 'string' || value.length === 0) return 'a name is required';
  if (!SNAKE.test(value)) return `must be snake_case: ${wordsRule('underscore', 'amount_sum_2h')}`;
  if (value.length > 60) return 'must be at most 60 characters';
  if (value === 'entity_id' || value === 'event_time') return `"${value}" is a reserved column`;
  return true;
}

/** Fails when `dir` exists (file or folder): generators never write over anything. */
export function checkFree(dir) {
  return existsSync(dir) ? `${dir} already exists` : true;
}

/** The workspace names already used in a monorepo checkout (`packages/*` and `scenarios/*`). */
export function workspaceNames(root) {
  return ['packages', 'scenarios'].flatMap((group) => {
    const dir = join(root, group);
    return existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
      : [];
  });
}

const words = (s) =>
  String(s)
    .split(/[-_\s]+|(?<=[a-z0-9])(?=[A-Z])/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
export const kebabCase = (s) => words(s).join('-');
export const snakeCase = (s) => words(s).join('_');
export const camelCase = (s) =>
  words(s)
    .map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1)))
    .join('');
export const pascalCase = (s) =>
  words(s)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
