import type { FeatureSet, SourceEvent, Window } from '@rtml/features';

/** How the Feature sets page shows a definition: read from the FeatureSet object the processors run, never a copy. */
export interface FeatureSetView {
  readonly name: string;
  readonly entity: string;
  readonly topic: string;
  readonly source: { readonly name: string; readonly fields: Readonly<Record<string, string>> };
  /** The event field that holds the entity id (`entity({ key })`). */
  readonly entityKey: string;
  readonly aggregates: readonly {
    name: string;
    aggregation: string;
    field: string | null;
    window: string;
    valueType: string;
    default: unknown;
  }[];
  readonly requestFeatures: readonly string[];
  readonly transforms: readonly { name: string; inputs: readonly string[] }[];
  /**
   * The definition's online settings: reads older than maxAge are `stale` (null: never), entries expire after
   * onlineExpiry.
   */
  readonly online: { readonly maxAge: string | null; readonly onlineExpiry: string };
}

const UNITS: readonly [number, string][] = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1_000, 's'],
];

/** 3600000 -> "1h", 90000 -> "90s": the largest unit that divides the duration exactly. */
export function humanDuration(ms: number): string {
  for (const [size, unit] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

const windowText = (window: Window) =>
  window.kind === 'lifetime' ? 'lifetime' : `sliding ${humanDuration(window.size)}`;

export function describeFeatureSet(set: FeatureSet<SourceEvent>, topic: string): FeatureSetView {
  return {
    name: set.name,
    entity: set.entity.name,
    entityKey: set.entity.key,
    topic,
    source: { name: set.source.name, fields: { ...set.source.fieldTypes } },
    aggregates: set.aggregates.map(({ name, spec, valueType }) => ({
      name,
      aggregation: spec.kind === 'lastK' ? `lastK(${spec.k})` : spec.kind,
      field: 'field' in spec ? spec.field : null,
      window: windowText(spec.window),
      valueType,
      default: spec.default,
    })),
    requestFeatures: set.requestFeatures.map((r) => r.name),
    transforms: set.transforms.map((t) => ({ name: t.name, inputs: t.inputs })),
    online: {
      maxAge: set.maxAge === undefined ? null : humanDuration(set.maxAge),
      onlineExpiry: humanDuration(set.onlineExpiry),
    },
  };
}
