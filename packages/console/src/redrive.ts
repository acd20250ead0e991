import { createHash, randomUUID } from 'node:crypto';
import { ensureTopics } from '@rtml/kafka';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { z } from 'zod';
import type { DeadLetterBook } from './dead-letters.js';
import { tailTopics } from './topic-tail.js';

export const DEFAULT_LEDGER_TOPIC = 'rtml-console.redrives';
/** Header on every re-driven record: which letter it re-drives (`topic:partition:offset` of the refused record). */
export const REDRIVEN_FROM_HEADER = 'rtml-redriven-from';
const SYNC_KEY = '__sync';
/**
 * Reading the ledger at start-up is one consumer join plus a read; a broker that takes longer is reported, not waited
 * for.
 */
const LEDGER_READ_TIMEOUT_MS = 60_000;

/** What one letter's re-drive did: sent now, sent before (never twice), or not sent and why. */
export type RedriveOutcome =
  | {
      readonly id: string;
      readonly status: 'redriven';
      readonly topic: string;
      readonly partition: number;
      readonly offset: string;
      readonly at: number;
    }
  | { readonly id: string; readonly status: 'already-redriven'; readonly at: number }
  | { readonly id: string; readonly status: 'refused'; readonly reason: string };

export interface RedriveRequest {
  readonly id: string;
  /**
   * The fixed record, replacing the letter's bytes (UTF-8); absent = re-drive the original bytes (the processor was
   * fixed).
   */
  readonly value?: string;
}

const ledgerEntry = z.object({
  id: z.string(),
  at: z.number(),
  sha256: z.string(),
  edited: z.boolean(),
  /** Where the re-driven record went, `topic[partition]@offset` (absent in entries of older consoles). */
  to: z.string().optional(),
});
type LedgerEntry = z.infer<typeof ledgerEntry>;

/**
 * A ledger record -> its entry; undefined for the consoles' sync records and anything else written there (a
 * follower must not stop on one bad record, and only consoles write entries).
 */
export function readLedgerEntry(message: KafkaMessage): LedgerEntry | undefined {
  const key = message.key?.toString();
  if (key === undefined || key === SYNC_KEY || !message.value) return undefined;
  try {
    const parsed = ledgerEntry.safeParse(JSON.parse(message.value.toString()));
    return parsed.success && parsed.data.id === key ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

interface Prepared {
  readonly request: RedriveRequest;
  readonly topic: string;
  readonly key: Buffer | null;
  readonly body: Buffer;
}

/**
 * Re-drives dead letters to their source topics, each letter at most once, ever.
 *
 * Why this is exactly once: the re-driven record and its ledger entry (compacted topic, key = letter id) are sent
 * in ONE Kafka transaction, and the processors read `read_committed`, so a record is applied iff its ledger entry
 * exists. All re-drives use one transactional id: a console that connects fences every earlier one (its commits
 * then fail), and its own start-up commits a sync record to the one-partition ledger and reads the ledger up to
 * it, so the ledger it checks against holds every committed re-drive. Re-drives in one process run one at a time.
 */
export class Redriver {
  private ready: Promise<{ producer: Producer; ledger: Map<string, LedgerEntry> }> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly book: DeadLetterBook,
    private readonly ledgerTopic = DEFAULT_LEDGER_TOPIC,
    private readonly transactionalId = 'rtml-console-redrive',
  ) {}

  redrive(requests: readonly RedriveRequest[]): Promise<RedriveOutcome[]> {
    const run = this.queue.then(() => this.redriveNow(requests));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const ready = this.ready;
    this.ready = undefined;
    if (ready) await (await ready.catch(() => undefined))?.producer.disconnect();
  }

  private async redriveNow(requests: readonly RedriveRequest[]): Promise<RedriveOutcome[]> {
    this.ready ??= this.connect();
    const { producer, ledger } = await this.ready.catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    const outcomes = new Map<string, RedriveOutcome>();
    const prepared: Prepared[] = [];
    for (const request of new Map(requests.map((r) => [r.id, r])).values()) {
      const refusal = this.check(request, ledger);
      if (refusal) outcomes.set(request.id, refusal);
      else prepared.push(this.prepare(request));
    }
    if (prepared.length > 0)
      for (const outcome of await this.send(producer, ledger, prepared)) outcomes.set(outcome.id, outcome);
    const answered = new Set<string>();
    return requests.map((request) => {
      const outcome = outcomes.get(request.id)!;
      if (!answered.has(request.id)) return (answered.add(request.id), outcome);
      return alreadyInThisRequest(outcome);
    });
  }

  private prepare(request: RedriveRequest): Prepared {
    const letter = this.book.get(request.id)!;
    const body = request.value === undefined ? letter.body! : Buffer.from(request.value, 'utf8');
    return { request, topic: letter.view.sourceTopic, key: letter.key, body };
  }

  private check(request: RedriveRequest, ledger: ReadonlyMap<string, LedgerEntry>): RedriveOutcome | undefined {
    const done = ledger.get(request.id);
    if (done) return { id: request.id, status: 'already-redriven', at: done.at };
    const letter = this.book.get(request.id);
    if (!letter)
      return {
        id: request.id,
        status: 'refused',
        reason: 'no such dead letter (not among the letters the console has read)',
      };
    if (request.value === undefined && letter.body === null) {
      return {
        id: request.id,
        status: 'refused',
        reason: 'the console holds only the first bytes of the record: re-drive it with a fixed value',
      };
    }
    // A fix edited from a cut preview would silently drop the rest of the record.
    if (request.value !== undefined && letter.view.previewCut) {
      return {
        id: request.id,
        status: 'refused',
        reason: 'the record is longer than its preview: fix it at the source and produce it again',
      };
    }
    return undefined;
  }

  /** One transaction: every record to its source topic plus its ledger entry; nothing is visible unless all commit. */
  private async send(
    producer: Producer,
    ledger: Map<string, LedgerEntry>,
    prepared: readonly Prepared[],
  ): Promise<RedriveOutcome[]> {
    const at = Date.now();
    const transaction = await producer.transaction();
    try {
      const sent = await Promise.all(
        prepared.map(({ request, topic, key, body }) =>
          transaction.send({
            topic,
            messages: [{ key, value: body, headers: { [REDRIVEN_FROM_HEADER]: request.id } }],
          }),
        ),
      );
      const entries = prepared.map(({ request, topic, body }, i): LedgerEntry => {
        const { partition, baseOffset } = sent[i]![0]!;
        const to = `${topic}[${partition}]@${baseOffset ?? '?'}`;
        return { id: request.id, at, sha256: sha256(body), edited: request.value !== undefined, to };
      });
      await transaction.send({
        topic: this.ledgerTopic,
        messages: entries.map((e) => ({ key: e.id, value: JSON.stringify(e) })),
      });
      await transaction.commit();
      for (const entry of entries) {
        ledger.set(entry.id, entry);
        this.book.noteRedrive(entry.id, entry);
      }
      return prepared.map(({ request, topic }, i) => {
        const meta = sent[i]![0]!;
        return {
          id: request.id,
          status: 'redriven',
          topic,
          partition: meta.partition,
          offset: meta.baseOffset ?? '?',
          at,
        };
      });
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      // Fenced by a newer console, or a broken connection: start again (fence, reload the ledger) on the next call.
      await this.close();
      throw error;
    }
  }

  private async connect(): Promise<{ producer: Producer; ledger: Map<string, LedgerEntry> }> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        { topic: this.ledgerTopic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      ]);
    } finally {
      await admin.disconnect();
    }
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      return { producer, ledger: await this.readLedger(producer) };
    } catch (error) {
      await producer.disconnect();
      throw error;
    }
  }

  /** Commits a sync record, then reads the ledger up to it: everything committed before this console took over. */
  private async readLedger(producer: Producer): Promise<Map<string, LedgerEntry>> {
    const sync = randomUUID();
    const transaction = await producer.transaction();
    await transaction.send({ topic: this.ledgerTopic, messages: [{ key: SYNC_KEY, value: sync }] });
    await transaction.commit();
    const ledger = new Map<string, LedgerEntry>();
    let reached!: () => void;
    const done = new Promise<void>((resolve) => (reached = resolve));
    const consumer = await tailTopics(this.kafka, 'ledger', [this.ledgerTopic], ({ message }) => {
      if (message.key?.toString() === SYNC_KEY && message.value?.toString() === sync) reached();
      const entry = readLedgerEntry(message);
      if (entry) ledger.set(entry.id, entry);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`the re-drive ledger ${this.ledgerTopic} was not read within ${LEDGER_READ_TIMEOUT_MS / 1000} s`),
          ),
        LEDGER_READ_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
      await consumer.disconnect();
    }
    return ledger;
  }
}

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/** The same letter named twice in one request: the first is sent, the second reports it. */
function alreadyInThisRequest(first: RedriveOutcome): RedriveOutcome {
  return first.status === 'redriven' ? { id: first.id, status: 'already-redriven', at: first.at } : first;
}
