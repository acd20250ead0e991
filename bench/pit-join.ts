/**
 * Point-in-time join throughput of @rtml/offline-store, next to references measured in the SAME run on the same data
 * (bench/lib/pit-data.ts: deterministic Parquet, labels never tie with feature times):
 *   - PIT join:   buildTrainingSet, DuckDB ASOF JOIN, feature time strictly before label time
 *   - naive join: buildTrainingSet strategy 'naive-latest' (latest row per entity, look-ahead biased),
 *     same output shape
 *   - hash join:  a plain equi-join of the same labels x the same history producing one row per label (no time logic):
 *                 the floor any join of these sizes pays in this DuckDB
 *   - window PIT: the classic hand-written PIT join without ASOF (range join + row_number), cross-checked row by row
 *                 against ours; skip with --no-window
 * It also audits both training sets with checkLeakage: the workshop's "how much does the naive join leak" number.
 *
 *   npx tsx --conditions=source bench/pit-join.ts                                   # CI size: 10k labels x 100k rows
 *   npx tsx --conditions=source bench/pit-join.ts --labels 1000000 --rows 10000000  # full size (or --full)
 *   options: --entities E, --runs R (best of R timed runs per join after one warm-up, default 1),
 *            --no-warmup, --no-window
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfflineStore } from '@rtml/offline-store';
import {
  benchCommand,
  emit,
  ensurePitDataset,
  machineNote,
  parseCommand,
  PIT_FEATURE_COLUMNS,
  pitLabel,
  pitSizeFromArgs,
  pitSizeOptions,
  timeMs,
  type PitSize,
} from './lib/index.js';

const args = parseCommand(
  pitSizeOptions(
    benchCommand(
      'pit-join',
      'Point-in-time join (buildTrainingSet) vs a plain hash join and a hand-written window PIT, same data, same run',
    ),
  )
    .option('--rows <n>', 'feature rows (same as --feature-rows)')
    .option('--runs <n>', 'best of R timed runs per join', '1')
    .option('--no-warmup', 'skip the untimed warm-up run')
    .option('--no-window', 'skip the hand-written window-function reference'),
);
const preset = pitSizeFromArgs(args);
const size: PitSize = { ...preset, featureRows: args.number('rows', preset.featureRows) };
const runs = Math.max(1, args.number('runs', 1));
const warmups = args.has('no-warmup') ? 0 : 1;

console.log(`# pit-join: ${pitLabel(size)}, best of ${runs} after ${warmups} warm-up; ${machineNote()}`);
const data = await ensurePitDataset(size);
const work = await mkdtemp(join(tmpdir(), 'rtml-pit-join-'));
const store = await OfflineStore.open({ dir: join(work, 'store') });
try {
  const ingest = await timeMs(() => store.appendHistory('pit', { parquet: data.featuresParquet }));
  console.log(
    `# ingest: ${ingest.result.rowsWritten} history rows -> Parquet part in ${seconds(ingest.ms)} s ` +
      '(not part of the join times)',
  );

  const labels = { parquet: data.labelsParquet };
  const pit = await bestOf(() => store.buildTrainingSet({ labels, featureSets: [{ name: 'pit' }], into: 'pit_ts' }));
  const naive = await bestOf(() =>
    store.buildTrainingSet({ labels, featureSets: [{ name: 'pit' }], into: 'naive_ts', strategy: 'naive-latest' }),
  );
  // One history row per label by construction: feature times are a permutation of the even seconds, labels sit 1 s
  // after one.
  const features = PIT_FEATURE_COLUMNS.map((c) => `h.${c}`).join(', ');
  const hash = await bestOf(() =>
    store.connection.run(
      `CREATE OR REPLACE TABLE hash_ts AS SELECT l.*, h.event_time, ${features}
       FROM read_parquet('${data.labelsParquet}') l JOIN fs__pit h ON h.event_time = l.label_time - INTERVAL 1 SECOND`,
    ),
  );
  const window = args.has('no-window') ? undefined : await windowReference(features);
  const [counts] = await store.query(
    `SELECT (SELECT count(*) FROM pit_ts)::DOUBLE AS pit,
            (SELECT count(*) FROM pit_ts WHERE pit__f0 IS NOT NULL)::DOUBLE AS pit_with_features,
            (SELECT count(*) FROM hash_ts)::DOUBLE AS hash`,
  );
  if (counts?.['pit'] !== size.labels || counts['hash'] !== size.labels)
    throw new Error(`unexpected row counts ${JSON.stringify(counts)}`);

  report('PIT join (ASOF, strictly before)', pit, null);
  report('naive latest-value join', naive, pit);
  report('plain hash join, same sizes', hash, pit);
  if (window !== undefined) report('hand-written PIT (window function)', window, pit);

  const pitAudit = await timeMs(() => store.checkLeakage({ table: 'pit_ts' }, { maxLeaks: 10 }));
  const naiveAudit = await timeMs(() => store.checkLeakage({ table: 'naive_ts' }, { maxLeaks: 10 }));
  if (pitAudit.result.leakingRows !== 0)
    throw new Error(`PIT training set leaks: ${JSON.stringify(pitAudit.result.bySet)}`);
  const naiveLeaks = naiveAudit.result.leakingRows;
  console.log(
    `# leakage check: PIT ${pitAudit.result.leakingRows} leaking rows (${seconds(pitAudit.ms)} s); ` +
      `naive ${naiveLeaks} of ${size.labels} rows leak (${percent(naiveLeaks)}) (${seconds(naiveAudit.ms)} s)`,
  );
  console.log(`# PIT rows with features: ${Number(counts['pit_with_features'])} of ${size.labels}; ${machineNote()}`);

  emit({
    row: `PIT join vs plain hash join: ${pitLabel(size)}`,
    ours: pit.ms / 1000,
    reference: hash.ms / 1000,
    unit: 's',
    better: 'lower',
    target: null,
    note:
      `${Math.round(size.labels / (pit.ms / 1000))} rows/s; CPU ${seconds(pit.cpuMs)} s vs ${seconds(hash.cpuMs)} s; ` +
      `naive latest join ${seconds(naive.ms)} s; naive set leaks ${percent(naiveLeaks)} of rows`,
  });
  if (window !== undefined) {
    const note = `CPU ${seconds(pit.cpuMs)} s vs ${seconds(window.cpuMs)} s`;
    emit({
      row: `PIT join vs hand-written window PIT: ${pitLabel(size)}`,
      ours: pit.ms / 1000,
      reference: window.ms / 1000,
      unit: 's',
      better: 'lower',
      target: null,
      note,
    });
  }
} finally {
  store.close();
  await rm(work, { recursive: true, force: true });
}

/** Times the window-function PIT join and fails the run if any label gets other feature values than ours. */
async function windowReference(features: string): Promise<Timing> {
  const timing = await bestOf(() =>
    store.connection.run(
      `CREATE OR REPLACE TABLE window_ts AS SELECT l.*, h.event_time, ${features}
       FROM read_parquet('${data.labelsParquet}') l
       LEFT JOIN fs__pit h ON h.entity_id = l.entity_id AND h.event_time < l.label_time
       QUALIFY row_number() OVER (PARTITION BY l.label_id ORDER BY h.event_time DESC) = 1`,
    ),
  );
  const differs = PIT_FEATURE_COLUMNS.map((c) => `p.pit__${c} IS DISTINCT FROM w.${c}`).join(' OR ');
  const [check] = await store.query(
    `SELECT count(*)::DOUBLE AS n, count(*) FILTER (WHERE ${differs})::DOUBLE AS mismatched
     FROM pit_ts p JOIN window_ts w USING (label_id)`,
  );
  if (check?.['n'] !== size.labels || check['mismatched'] !== 0)
    throw new Error(`PIT join and window reference disagree: ${JSON.stringify(check)}`);
  console.log(
    `# cross-check: all ${size.labels} labels get identical features from the ASOF join and the window reference`,
  );
  return timing;
}

interface Timing {
  /** Wall-clock ms. */
  readonly ms: number;
  /** CPU ms of this process, DuckDB's threads included: robust to other load on a shared box, unlike wall time. */
  readonly cpuMs: number;
}

/** Best (by wall time) of `runs` timed runs after one untimed warm-up: no join pays for caches others then enjoy. */
async function bestOf(fn: () => Promise<unknown>): Promise<Timing> {
  for (let i = 0; i < warmups; i++) await fn();
  let best: Timing = { ms: Infinity, cpuMs: Infinity };
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const { ms } = await timeMs(fn);
    const used = process.cpuUsage(cpu);
    if (ms < best.ms) best = { ms, cpuMs: (used.user + used.system) / 1000 };
  }
  return best;
}

function report(name: string, timing: Timing, reference: Timing | null): void {
  const times = (of: (t: Timing) => number) =>
    reference === null ? '' : `${(of(timing) / of(reference)).toFixed(2)}x`;
  const ratio = reference === null ? '' : `  (${times((t) => t.ms)} PIT wall, ${times((t) => t.cpuMs)} PIT CPU)`;
  const rate = Math.round(size.labels / (timing.ms / 1000)).toLocaleString('en-US');
  const wallAndCpu = `${seconds(timing.ms).padStart(8)} s wall ${seconds(timing.cpuMs).padStart(8)} s CPU`;
  console.log(`${name.padEnd(34)} ${wallAndCpu} ${rate.padStart(10)} labels/s${ratio}`);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function percent(rows: number): string {
  return `${((100 * rows) / size.labels).toFixed(1)}%`;
}
