/**
 * The Kafka Streams peer (bench/kafka-streams): builds it once (build.sh caches jars and classes), runs it in one JVM
 * per variant, and checks its output against ours.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { FeatureValue, FeatureValues } from '@rtml/features';

const run = promisify(execFile);
const peerDir = resolve(fileURLToPath(new URL('../kafka-streams', import.meta.url)));

export type KafkaStreamsVariant = 'dsl' | 'processor';
export const KAFKA_STREAMS_VARIANTS: readonly KafkaStreamsVariant[] = ['dsl', 'processor'];

/** One run of the topology, as StreamsPeer.java prints it. */
export interface KafkaStreamsRun {
  readonly variant: KafkaStreamsVariant;
  readonly run: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly events: number;
  readonly outputRecords: number;
  /** The last output vector of each sampled user. */
  readonly sample: Readonly<Record<string, { readonly values: FeatureValues }>>;
}

export interface KafkaStreamsOptions {
  readonly brokers: string;
  readonly input: string;
  readonly variant: KafkaStreamsVariant;
  readonly runs: number;
  /** Prefix of every application.id and topic the peer creates (it deletes them after each run). */
  readonly id: string;
  readonly sampleUsers: readonly string[];
}

/** Jars from Maven Central and javac output, cached in ~/.cache/rtml: the Java classpath. */
export async function buildKafkaStreamsPeer(): Promise<string> {
  const { stdout } = await run('bash', [join(peerDir, 'build.sh')], { encoding: 'utf8' });
  return stdout.trim().split('\n').pop()!;
}

/** Runs `runs` topologies one after another in ONE JVM (the first is cold, the rest warm). */
export async function runKafkaStreams(classpath: string, options: KafkaStreamsOptions): Promise<KafkaStreamsRun[]> {
  const stateDir = join(peerDir, '..', '.data', 'kafka-streams-state'); // bench/.data is gitignored
  const args = [
    '--brokers',
    options.brokers,
    '--input',
    options.input,
    '--variant',
    options.variant,
    '--runs',
    String(options.runs),
    '--id',
    options.id,
    '--state-dir',
    stateDir,
    '--sample',
    options.sampleUsers.join(','),
  ];
  // A small heap: the machine is shared; RocksDB's memory is off-heap anyway.
  const jvm = ['-Xmx512m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'rtml.bench.StreamsPeer'];
  try {
    const { stdout } = await run('java', [...jvm, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    return stdout
      .split('\n')
      .filter((line) => line.startsWith('KSTREAMS '))
      .map((line) => JSON.parse(line.slice('KSTREAMS '.length)) as KafkaStreamsRun);
  } catch (error) {
    const failed = error as { stderr?: string; code?: number };
    const lastLines = (failed.stderr ?? '').split('\n').slice(-30).join('\n');
    throw new Error(`Kafka Streams peer (${options.variant}) failed with exit ${failed.code}:\n${lastLines}`, {
      cause: error,
    });
  }
}

/** Float sums may differ in the last bits if a fold order ever differs; everything else must be identical. */
function sameValue(a: FeatureValue | undefined, b: FeatureValue | undefined): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Every feature of every sampled user in `run` against ours; one line per difference (empty: they agree). */
export function compareWithOurs(run: KafkaStreamsRun, ours: ReadonlyMap<string, FeatureValues>): string[] {
  const differences: string[] = [];
  for (const [user, values] of ours) {
    const theirs = run.sample[user]?.values;
    if (!theirs) {
      differences.push(`${user}: no output vector from Kafka Streams ${run.variant} run ${run.run}`);
      continue;
    }
    for (const name of new Set([...Object.keys(values), ...Object.keys(theirs)])) {
      if (sameValue(values[name], theirs[name])) continue;
      const peer = `Kafka Streams ${run.variant} run ${run.run} ${JSON.stringify(theirs[name])}`;
      differences.push(`${user}.${name}: ours ${JSON.stringify(values[name])}, ${peer}`);
    }
  }
  return differences;
}
