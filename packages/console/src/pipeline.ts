import { AssignerProtocol, type Admin } from 'kafkajs';
import { bucketDelta, histogramBuckets, histogramQuantile, parsePrometheus, sumOf } from './prometheus.js';

export interface PartitionView {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

export interface TopicView {
  readonly topic: string;
  readonly role: 'input' | 'dead-letters';
  readonly partitions: readonly PartitionView[];
}

export interface MemberView {
  readonly memberId: string;
  readonly clientId: string;
  readonly host: string;
  /** topic -> partitions assigned to this member. */
  readonly assignment: Readonly<Record<string, readonly number[]>>;
}

export interface GroupView {
  readonly group: string;
  readonly state: string;
  readonly members: readonly MemberView[];
  readonly lag: readonly { topic: string; partition: number; committed: number | null; high: number; lag: number }[];
  readonly totalLag: number;
}

export interface ProcessorScrape {
  readonly url: string;
  readonly up: boolean;
  readonly error?: string;
  readonly eventsTotal?: number;
}

/** One look at the pipeline: what the Pipeline page shows and the SSE stream sends every interval. */
export interface PipelineSample {
  readonly at: number;
  readonly topics: readonly TopicView[];
  readonly groups: readonly GroupView[];
  readonly processors: readonly ProcessorScrape[];
  /** Records appended to the input topics per second since the previous sample. */
  readonly producedPerSecond: number | null;
  /**
   * Records the processors handled per second (their `rtml_stream_events_total`), or group offsets when no metrics
   * answer.
   */
  readonly processedPerSecond: number | null;
  /** Event time -> visible in Redis, over the events of this interval (processors' histograms), seconds. */
  readonly freshnessP50Seconds: number | null;
  readonly freshnessP99Seconds: number | null;
  /** The histogram's largest finite bucket: a quantile equal to it means "at least this" (the +Inf bucket). */
  readonly freshnessCapSeconds: number | null;
  readonly deadLettersByReason: Readonly<Record<string, number>>;
  /** Configured input topics Kafka does not have (yet): no processor has created them, nothing was produced. */
  readonly missingInputTopics: readonly string[];
  /** Set when Kafka did not answer: the page shows it instead of stale numbers. */
  readonly error?: string;
}

interface Counters {
  readonly at: number;
  readonly produced: number;
  readonly processed: number;
  readonly freshness: Map<number, number>;
}

export interface PipelineMonitorOptions {
  readonly admin: Admin;
  readonly inputTopics: readonly string[];
  readonly deadLetterTopics: readonly string[];
  readonly metricsUrls: readonly string[];
  readonly deadLetterCounts: () => Record<string, number>;
  /** Our own consumer groups are not processors. */
  readonly ignoreGroupPrefix: string;
}

/**
 * Samples the pipeline from Kafka's admin API (offsets, groups) and the processors' /metrics, keeping a bounded
 * history.
 */
export class PipelineMonitor {
  private previous: Counters | undefined;
  readonly history: PipelineSample[] = [];

  constructor(
    private readonly options: PipelineMonitorOptions,
    private readonly historyLength = 300,
  ) {}

  async sample(): Promise<PipelineSample> {
    const at = Date.now();
    const deadLettersByReason = this.options.deadLetterCounts();
    let sample: PipelineSample;
    try {
      sample = await this.sampleKafka(at, deadLettersByReason);
    } catch (error) {
      sample = {
        at,
        topics: [],
        groups: [],
        processors: [],
        producedPerSecond: null,
        processedPerSecond: null,
        freshnessP50Seconds: null,
        freshnessP99Seconds: null,
        freshnessCapSeconds: null,
        deadLettersByReason,
        missingInputTopics: [],
        error: `Kafka: ${(error as Error).message}`,
      };
    }
    this.history.push(sample);
    if (this.history.length > this.historyLength) this.history.shift();
    return sample;
  }

  private async sampleKafka(at: number, deadLettersByReason: Record<string, number>): Promise<PipelineSample> {
    const { inputTopics, deadLetterTopics } = this.options;
    const all = new Set(await this.options.admin.listTopics());
    const exists = (topic: string) => all.has(topic);
    const topics = [
      ...(await Promise.all(inputTopics.filter(exists).map((t) => this.topic(t, 'input')))),
      ...(await Promise.all(deadLetterTopics.filter(exists).map((t) => this.topic(t, 'dead-letters')))),
    ];
    const groups = await this.groups(topics.filter((t) => t.role === 'input'));
    const scrapes = await Promise.all(this.options.metricsUrls.map((url) => scrape(url)));
    const processors = scrapes.map((s) => s.view);
    const counters: Counters = {
      at,
      produced: topics
        .filter((t) => t.role === 'input')
        .flatMap((t) => t.partitions)
        .reduce((n, p) => n + p.high, 0),
      processed: scrapes.some((s) => s.view.up)
        ? sumOf(
            scrapes.flatMap((s) => s.samples),
            'rtml_stream_events_total',
          )
        : groups.flatMap((g) => g.lag).reduce((n, l) => n + (l.committed ?? 0), 0),
      freshness: histogramBuckets(
        scrapes.flatMap((s) => s.samples),
        'rtml_stream_freshness_seconds',
      ),
    };
    const before = this.previous;
    this.previous = counters;
    const seconds = before ? (at - before.at) / 1000 : 0;
    const rate = (now: number, then: number | undefined) =>
      then === undefined || seconds <= 0 ? null : Math.max(0, now - then) / seconds;
    const fresh = bucketDelta(counters.freshness, before?.freshness);
    return {
      at,
      topics,
      groups,
      processors,
      producedPerSecond: rate(counters.produced, before?.produced),
      processedPerSecond: rate(counters.processed, before?.processed),
      freshnessP50Seconds: histogramQuantile(0.5, fresh),
      freshnessP99Seconds: histogramQuantile(0.99, fresh),
      freshnessCapSeconds: Math.max(0, ...[...fresh.keys()].filter(Number.isFinite)) || null,
      deadLettersByReason,
      missingInputTopics: inputTopics.filter((t) => !exists(t)),
    };
  }

  private async topic(topic: string, role: TopicView['role']): Promise<TopicView> {
    const offsets = await this.options.admin.fetchTopicOffsets(topic);
    const partitions = offsets
      .map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
      .sort((a, b) => a.partition - b.partition);
    return { topic, role, partitions };
  }

  /** Consumer groups that have members on, or committed offsets for, an input topic: the processors. */
  private async groups(inputs: readonly TopicView[]): Promise<GroupView[]> {
    const { admin, ignoreGroupPrefix } = this.options;
    const ids = (await admin.listGroups()).groups
      .filter((g) => g.protocolType === 'consumer' && !g.groupId.startsWith(ignoreGroupPrefix))
      .map((g) => g.groupId);
    if (ids.length === 0 || inputs.length === 0) return [];
    const described = (await admin.describeGroups(ids)).groups;
    const views = await Promise.all(described.map((g) => this.group(g.groupId, g.state, g.members, inputs)));
    return views.filter((v): v is GroupView => v !== undefined).sort((a, b) => a.group.localeCompare(b.group));
  }

  private async group(
    group: string,
    state: string,
    members: readonly { memberId: string; clientId: string; clientHost: string; memberAssignment: Buffer }[],
    inputs: readonly TopicView[],
  ): Promise<GroupView | undefined> {
    const names = new Set(inputs.map((t) => t.topic));
    const memberViews = members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.clientHost,
      assignment: decodeAssignment(m.memberAssignment, names),
    }));
    const committed = await this.options.admin.fetchOffsets({ groupId: group, topics: [...names] });
    const lag = committed.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset }) => {
        const high =
          inputs.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === partition)?.high ?? 0;
        const at = Number(offset) >= 0 ? Number(offset) : null;
        return { topic, partition, committed: at, high, lag: high - (at ?? 0) };
      }),
    );
    const active =
      memberViews.some((m) => Object.keys(m.assignment).length > 0) || lag.some((l) => l.committed !== null);
    if (!active) return undefined;
    return { group, state, members: memberViews, lag, totalLag: lag.reduce((n, l) => n + l.lag, 0) };
  }
}

function decodeAssignment(raw: Buffer, topics: ReadonlySet<string>): Record<string, number[]> {
  if (raw.length === 0) return {};
  const decoded = AssignerProtocol.MemberAssignment.decode(raw);
  const assigned = Object.entries(decoded?.assignment ?? {}).filter(([topic]) => topics.has(topic));
  return Object.fromEntries(assigned.map(([topic, partitions]) => [topic, [...partitions].sort((a, b) => a - b)]));
}

async function scrape(url: string): Promise<{ view: ProcessorScrape; samples: ReturnType<typeof parsePrometheus> }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_500) });
    if (!response.ok) return { view: { url, up: false, error: `HTTP ${response.status}` }, samples: [] };
    const samples = parsePrometheus(await response.text());
    return { view: { url, up: true, eventsTotal: sumOf(samples, 'rtml_stream_events_total') }, samples };
  } catch (error) {
    return {
      view: {
        url,
        up: false,
        error:
          (error as Error).cause instanceof Error
            ? ((error as Error).cause as Error).message
            : (error as Error).message,
      },
      samples: [],
    };
  }
}
