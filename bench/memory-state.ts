/**
 * Memory of the stream processor's keyed state at N entities (default 1M with --full, 100k small).
 *
 * ours:      what a stream task keeps per entity: the `@rtml/features` online engine's OnlineState in a
 *            Map<string, OnlineState> (as packages/stream Task.entities) plus its window-expiry timer in a
 *            Map<string, EventTime> (Task.timers), after K events per entity, all inside the windows (retained).
 * reference: a hand-written minimal aggregator: Map<string, {count, sum}> fed the same events (what a
 *            hand-rolled "count + sum" job would hold; no windows, no ids, no timers).
 * also:      the serialized JSON size of ours (= the Redis checkpoint value per entity).
 *
 * Each variant runs in its own child process with --expose-gc, so RSS high-water (getrusage maxRSS) is its own:
 *   retained heap/entity = (heapUsed after full GC, map alive) - (heapUsed after full GC, before) / N
 *
 *   npx tsx --conditions=source bench/memory-state.ts            # 100k entities
 *   npx tsx --conditions=source bench/memory-state.ts --full     # 1M entities
 *   options: --entities N --events K (per entity, default 4) --set user_txn|slim
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  count,
  createOnlineEngine,
  duration,
  eventTime,
  featureSet,
  last,
  max,
  mean,
  sliding,
  sum,
  type EventTime,
  type OnlineState,
} from '@rtml/features';
import { transactions, user, userTransactionFeatures, type TransactionEvent } from '@rtml/features/testing';
import { Option } from 'commander';
import { benchCommand, emit, machineNote, parseCommand } from './lib/index.js';

/**
 * Feature sets: `user_txn` (default) is the project's reference definition (packages/features/src/example.ts, also run
 * by bench/stream-throughput.ts): 8 aggregates, sliding 1h/24h/7d incl. distinctCount, lifetime mean/min/lastK/last.
 * `slim` (--set slim): 3 sliding (1h/24h) + 3 lifetime aggregates over one numeric field.
 */
const slimFeatures = featureSet({
  name: 'user_txn_slim',
  entity: user,
  source: transactions,
  features: {
    txn_count_1h: count({ window: sliding(duration.hours(1)) }),
    amount_sum_24h: sum('amount', { window: sliding(duration.hours(24)), default: 0 }),
    amount_max_24h: max('amount', { window: sliding(duration.hours(24)) }),
    txn_count_lifetime: count(),
    amount_mean_lifetime: mean('amount'),
    last_amount: last('amount'),
  },
});
const SETS = { user_txn: userTransactionFeatures, slim: slimFeatures } as const;
type SetName = keyof typeof SETS;

type Variant = 'ours' | 'plain';
interface ChildResult {
  variant: Variant;
  entities: number;
  events: number;
  retainedHeapBytes: number;
  peakHeapUsedBytes: number;
  baselineRssBytes: number;
  maxRssBytes: number;
  jsonBytes: number | null;
  buildSeconds: number;
}

const BASE_MS = Date.UTC(2026, 0, 1);
const gc = (globalThis as { gc?: () => void }).gc;

function fullGc(): void {
  if (!gc) throw new Error('run with --expose-gc (the parent does this for its children)');
  for (let i = 0; i < 3; i++) gc();
}

function child(variant: Variant, set: SetName, entities: number, events: number): ChildResult {
  const engine = createOnlineEngine(SETS[set]);
  fullGc();
  const baseline = process.memoryUsage();
  let peakHeap = baseline.heapUsed;
  const t0 = process.hrtime.bigint();
  const states = new Map<string, OnlineState>();
  const timers = new Map<string, EventTime>();
  const plain = new Map<string, { count: number; sum: number }>();
  for (let i = 0; i < entities; i++) {
    const userId = `user-${i}`;
    if (variant === 'ours') {
      let state = engine.initialState();
      let latest = BASE_MS;
      for (let k = 0; k < events; k++) {
        // K events within the last 40 minutes: every one is inside every window, so all are retained.
        latest = BASE_MS + ((i * 7 + k * 600_000) % 2_400_000);
        const event: TransactionEvent = {
          eventId: `${userId}:${k}`,
          eventTime: eventTime(latest),
          userId,
          amount: ((i + k) % 1000) / 10,
          merchantId: `m${(i + 31 * k) % 97}`,
        };
        state = engine.apply(state, event);
      }
      states.set(userId, state);
      const next = engine.nextChange(state, eventTime(latest));
      if (next !== undefined) timers.set(userId, next);
    } else {
      const acc = { count: 0, sum: 0 };
      for (let k = 0; k < events; k++) {
        acc.count += 1;
        acc.sum += ((i + k) % 1000) / 10;
      }
      plain.set(userId, acc);
    }
    if ((i & 0xffff) === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }
  const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  fullGc();
  const after = process.memoryUsage();
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  // Serialized size (the Redis checkpoint) after the heap figures, so the strings do not count above.
  let jsonBytes: number | null = null;
  if (variant === 'ours') {
    jsonBytes = 0;
    for (const state of states.values()) jsonBytes += Buffer.byteLength(JSON.stringify(state));
  }
  // Keep the maps alive up to here.
  if (states.size + plain.size !== entities || timers.size > entities) throw new Error('unexpected map size');
  return {
    variant,
    entities,
    events,
    retainedHeapBytes: after.heapUsed - baseline.heapUsed,
    peakHeapUsedBytes: peakHeap,
    baselineRssBytes: baseline.rss,
    maxRssBytes,
    jsonBytes,
    buildSeconds,
  };
}

const args = parseCommand(
  benchCommand(
    'memory-state',
    'Retained heap per entity of the stream state (1M entities with --full, 100k without) vs a Map of {count,sum}',
  )
    .option('--entities <n>', 'entities (default 100000, 1000000 with --full)')
    .option('--events <k>', 'events per entity', '4')
    .option('--set <name>', 'feature set: user_txn or slim', 'user_txn')
    .addOption(new Option('--child <variant>', 'internal: measure one variant in this process').hideHelp()),
);
const childVariant = args.string('child') as Variant | undefined;
const entities = args.number('entities', args.full ? 1_000_000 : 100_000);
const events = args.number('events', 4);
const setName = (args.string('set') ?? 'user_txn') as SetName;
if (!(setName in SETS)) throw new Error(`--set must be one of ${Object.keys(SETS).join(', ')}`);
const set = SETS[setName];
const slidingCount = set.aggregates.filter((f) => f.spec.window.kind === 'sliding').length;
const describeSet = `${set.name}: ${set.aggregates.length} aggregates (${slidingCount} sliding)`;

if (childVariant) {
  console.log(`CHILD ${JSON.stringify(child(childVariant, setName, entities, events))}`);
} else {
  console.log(`# memory-state: ${entities} entities x ${events} events, ${describeSet}; ${machineNote()}`);
  const run = (variant: Variant): ChildResult => {
    const script = fileURLToPath(import.meta.url);
    const out = spawnSync(
      process.execPath,
      [
        ...process.execArgv.filter((a) => a !== '--expose-gc'),
        '--expose-gc',
        '--max-old-space-size=8192',
        script,
        '--child',
        variant,
        '--set',
        setName,
        '--entities',
        String(entities),
        '--events',
        String(events),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = out.stdout.split('\n').find((l) => l.startsWith('CHILD '));
    if (out.status !== 0 || !line) throw new Error(`child ${variant} failed (exit ${out.status}): ${out.stdout}`);
    return JSON.parse(line.slice('CHILD '.length)) as ChildResult;
  };
  const ours = run('ours');
  const plain = run('plain');
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  for (const r of [ours, plain]) {
    console.log(
      `# ${r.variant.padEnd(5)}: retained heap ${mb(r.retainedHeapBytes)} = ` +
        `${(r.retainedHeapBytes / entities).toFixed(0)} B/entity; ` +
        `peak heapUsed ${mb(r.peakHeapUsedBytes)}; ` +
        `RSS high-water ${mb(r.maxRssBytes)} (baseline ${mb(r.baselineRssBytes)}); ` +
        `built in ${r.buildSeconds.toFixed(1)} s` +
        (r.jsonBytes === null ? '' : `; JSON ${(r.jsonBytes / entities).toFixed(0)} B/entity`),
    );
  }
  console.log(`# ${machineNote()}`);
  const label = `${set.name}, ${entities.toLocaleString('en-US')} entities x ${events} events`;
  emit({
    row: `Stream state retained heap, ${label} (ref: Map of {count,sum})`,
    ours: ours.retainedHeapBytes / entities,
    reference: plain.retainedHeapBytes / entities,
    unit: 'B/entity',
    better: 'lower',
    target: null,
    limit: 500, // issue #15: <= 500 B/entity retained heap at 1M entities
    note: `${describeSet} + expiry timer; JSON checkpoint ${(ours.jsonBytes! / entities).toFixed(0)} B/entity`,
  });
  emit({
    row: `Stream state retained heap vs its own JSON checkpoint size, ${label}`,
    ours: ours.retainedHeapBytes / entities,
    reference: ours.jsonBytes! / entities,
    unit: 'B/entity',
    better: 'lower',
    target: null,
    note: 'reference = UTF-8 bytes of JSON.stringify(state) per entity (what Redis holds)',
  });
  emit({
    row: `Stream state RSS high-water, ${label} (ref: Map of {count,sum})`,
    ours: ours.maxRssBytes / 2 ** 20,
    reference: plain.maxRssBytes / 2 ** 20,
    unit: 'MiB',
    better: 'lower',
    target: null,
    note: `process RSS high-water incl. node+tsx baseline ${mb(ours.baselineRssBytes)}`,
  });
}
