import type { Admin, Kafka } from 'kafkajs';
import { type FeatureSet, type SourceEvent } from '@rtml/features';
import { OnlineStore, type RedisClient } from '@rtml/online-store';
import { defaultDeadLetterTopic } from '@rtml/stream';
import { DeadLetterBook, readLetter } from './dead-letters.js';
import type { EntityLookup } from './entity.js';
import { TopicFollower } from './follower.js';
import { PipelineMonitor, type PipelineSample } from './pipeline.js';
import { DEFAULT_LEDGER_TOPIC, readLedgerEntry, Redriver } from './redrive.js';
import { ServedVectorIndex } from './served-vectors.js';

/** One input topic and the feature set its processors run. */
export interface PipelineInput {
  readonly topic: string;
  readonly featureSet: FeatureSet<SourceEvent>;
}

export interface ConsoleSettings {
  readonly inputs: readonly PipelineInput[];
  /** The online store namespace the processors write (their `--namespace`). */
  readonly namespace: string;
  /** The processors' Prometheus endpoints (`rtml-stream run --metrics-port`). */
  readonly metricsUrls: readonly string[];
  readonly offlineDir?: string;
  readonly servedLogTopic?: string;
  readonly ledgerTopic?: string;
  /** How often the pipeline is sampled and pushed to open pages. */
  readonly intervalMs: number;
}

/** A typed feature set as an input: the console reads only its description, whatever its event type. */
export function pipelineInput<E extends SourceEvent>(topic: string, featureSet: FeatureSet<E>): PipelineInput {
  return { topic, featureSet };
}

const OWN_GROUP_PREFIX = 'rtml-console-';

/**
 * Everything the console reads, kept current by one sampling loop: Kafka offsets and groups, the processors'
 * metrics, the dead letters and the served-vector log (followed as their topics appear). It writes nothing,
 * except through the Redriver, which only produces to the letters' source topics.
 */
export class ConsoleState {
  readonly letters = new DeadLetterBook();
  readonly served = new ServedVectorIndex();
  readonly monitor: PipelineMonitor;
  readonly redriver: Redriver;
  private readonly listeners = new Set<(sample: PipelineSample) => void>();
  private readonly deadLetterTail: TopicFollower;
  private readonly servedTail: TopicFollower;
  /** The re-drive ledger, read only to show which letters were re-driven (by this console or any other). */
  private readonly ledgerTail: TopicFollower;
  private readonly ledgerTopic: string;
  private readonly online: OnlineStore;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    kafka: Kafka,
    redis: RedisClient,
    private readonly admin: Admin,
    private readonly settings: ConsoleSettings,
  ) {
    const deadLetterTopics = settings.inputs.map((i) => defaultDeadLetterTopic(i.topic));
    this.monitor = new PipelineMonitor({
      admin,
      inputTopics: settings.inputs.map((i) => i.topic),
      deadLetterTopics,
      metricsUrls: settings.metricsUrls,
      deadLetterCounts: () => this.letters.countsByReason(),
      ignoreGroupPrefix: OWN_GROUP_PREFIX,
    });
    this.deadLetterTail = new TopicFollower(kafka, 'dead-letters', (tailed) => {
      const letter = readLetter(tailed);
      if (letter) this.letters.add(letter);
    });
    this.servedTail = new TopicFollower(kafka, 'served', (tailed) => this.served.add(tailed));
    this.ledgerTopic = settings.ledgerTopic ?? DEFAULT_LEDGER_TOPIC;
    this.ledgerTail = new TopicFollower(kafka, 'redrive-ledger', ({ message }) => {
      const entry = readLedgerEntry(message);
      if (entry) this.letters.noteRedrive(entry.id, entry);
    });
    this.redriver = new Redriver(kafka, this.letters, this.ledgerTopic);
    this.online = new OnlineStore(redis, {
      namespace: settings.namespace,
      featureSets: settings.inputs.map(({ featureSet }) => featureSet),
    });
  }

  /** Samples once (so the first page load has numbers), then every interval. */
  async start(): Promise<void> {
    await this.tick();
  }

  onSample(listener: (sample: PipelineSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  entityLookup(): EntityLookup {
    return {
      online: this.online,
      featureSets: this.settings.inputs.map((i) => i.featureSet),
      ...(this.settings.offlineDir === undefined ? {} : { offlineDir: this.settings.offlineDir }),
      served: (id) => this.served.of(id),
    };
  }

  describe() {
    const { inputs, namespace, metricsUrls, offlineDir, servedLogTopic } = this.settings;
    return {
      namespace,
      inputs: inputs.map((i) => ({ topic: i.topic, featureSet: i.featureSet.name })),
      metricsUrls,
      offlineDir: offlineDir ?? null,
      servedLogTopic: servedLogTopic ?? null,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([
      this.deadLetterTail.stop(),
      this.servedTail.stop(),
      this.ledgerTail.stop(),
      this.redriver.close(),
    ]);
  }

  private async tick(): Promise<void> {
    const sample = await this.monitor.sample();
    await this.followTopics(sample).catch((error: unknown) =>
      console.error(`rtml-console: cannot follow topics: ${(error as Error).message}`),
    );
    for (const listener of this.listeners) listener(sample);
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.settings.intervalMs);
  }

  private async followTopics(sample: PipelineSample): Promise<void> {
    if (sample.error !== undefined || this.stopped) return;
    await this.deadLetterTail.follow(sample.topics.filter((t) => t.role === 'dead-letters').map((t) => t.topic));
    const existing = new Set(await this.admin.listTopics());
    const served = this.settings.servedLogTopic;
    if (served !== undefined) await this.servedTail.follow(existing.has(served) ? [served] : []);
    await this.ledgerTail.follow(existing.has(this.ledgerTopic) ? [this.ledgerTopic] : []);
  }
}
