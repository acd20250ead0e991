// Reads and edits a generated `src/features.ts` at its marker, and renders one aggregate definition.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGGREGATION_FIELD_TYPES } from '@rtml/features';

/** The line the feature generator inserts above; every generated features.ts has it exactly once. */
export const FEATURES_MARKER = '// rtml:features';

/** count, then every aggregation over a field; which field types each accepts is @rtml/features' own table. */
export const AGGREGATIONS = ['count', ...Object.keys(AGGREGATION_FIELD_TYPES)];

const WINDOW = /^(?:lifetime|([1-9][0-9]*)(m|h|d))$/;
const UNITS = { m: 'minutes', h: 'hours', d: 'days' };

export function checkWindow(value) {
  return WINDOW.test(value) ? true : 'must be "lifetime" or a sliding size like 30m, 2h, 7d';
}

/** TypeScript for one aggregate: e.g. `sum('amount', { window: sliding(duration.hours(2)) })`. */
export function aggregateExpression({ aggregation, field, window, k }) {
  const [, size, unit] = WINDOW.exec(window) ?? [];
  const options = size ? `{ window: sliding(duration.${UNITS[unit]}(${size})) }` : undefined;
  const args = [];
  if (aggregation !== 'count') args.push(`'${field}'`);
  if (aggregation === 'lastK') args.push(String(k));
  if (options) args.push(options);
  return `${aggregation}(${args.join(', ')})`;
}

export function featuresFile(dir) {
  return join(dir, 'src', 'features.ts');
}

/**
 * Checks that `dir` is a generated pipeline (src/features.ts with the marker, src/events.ts); returns true or a
 * message.
 */
export function checkFeatureTarget(dir) {
  const file = featuresFile(dir);
  if (!existsSync(file)) return `${file} does not exist (expected a scenario or project made by these generators)`;
  const count = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim().startsWith(FEATURES_MARKER)).length;
  if (count !== 1) return `${file} must contain the marker line "${FEATURES_MARKER}" exactly once (found ${count})`;
  if (!existsSync(join(dir, 'src', 'events.ts'))) return `${join(dir, 'src', 'events.ts')} does not exist`;
  return true;
}

/**
 * Names already defined in the feature set (aggregates, request features, transforms): object keys inside `featureSet({
 * ... })`.
 */
export function existingFeatureNames(dir) {
  const text = readFileSync(featuresFile(dir), 'utf8');
  const body = text.slice(text.indexOf('featureSet('));
  return new Set([...body.matchAll(/^\s+([A-Za-z_][A-Za-z0-9_]*)\s*:/gm)].map((m) => m[1]));
}

/** Plain fields of the event schema in src/events.ts (`name: z.number()` ...), with their types. */
export function eventFields(dir) {
  const text = readFileSync(join(dir, 'src', 'events.ts'), 'utf8');
  const fields = {};
  for (const [, name, type] of text.matchAll(
    /^\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*z\.(number|string|boolean|enum)\b/gm,
  )) {
    fields[name] = type === 'enum' ? 'string' : type;
  }
  return fields;
}

/** Whether `field` of the events in `dir` can feed `aggregation`; true or a message naming the allowed fields. */
export function checkField(dir, aggregation, field) {
  const fields = eventFields(dir);
  const allowed = Object.entries(fields)
    .filter(([, type]) => AGGREGATION_FIELD_TYPES[aggregation].includes(type))
    .map(([name]) => name);
  if (!(field in fields)) return `unknown event field "${field}"; ${aggregation} can use: ${allowed.join(', ')}`;
  if (!allowed.includes(field))
    return (
      `${aggregation} needs a ${AGGREGATION_FIELD_TYPES[aggregation].join(' or ')} field, "${field}" is ` +
      `${fields[field]}; use one of: ${allowed.join(', ')}`
    );
  return true;
}
