import { DEAD_LETTER_HEADERS } from '@rtml/stream';
import type { IHeaders } from 'kafkajs';
import type { TailedMessage } from './topic-tail.js';

/** Characters of a letter's body shown in lists: enough to recognise the record, bounded however large it is. */
export const PREVIEW_CHARS = 2_000;
/**
 * Bodies up to this size are kept whole in memory so they can be re-driven; larger ones are shown as a preview only.
 * With the book's 2,000 letters that bounds the console's memory for letters to ~128 MiB.
 */
export const MAX_KEPT_BODY_BYTES = 64 * 1024;

/** One dead letter as the console shows it: why, where the record came from, and its bytes. */
export interface LetterView {
  /** `topic:partition:offset` of the refused input record: the letter's identity (also its Kafka key). */
  readonly id: string;
  readonly reason: string;
  readonly detail: string;
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  readonly sourceOffset: string;
  readonly deadLetterTopic: string;
  /** When the processor sent the letter (epoch ms, the record's timestamp). */
  readonly time: number;
  readonly key: string | null;
  readonly size: number;
  /** The body as UTF-8, cut at PREVIEW_CHARS; the page renders it as text, never as HTML. */
  readonly preview: string;
  readonly previewCut: boolean;
  /** The processor stored only the first bytes (letter too large for its topic), or the console did not keep them. */
  readonly bodyIncomplete: boolean;
}

/** A letter's entry in the re-drive ledger: when it was re-driven, and whether with an edited record. */
export interface RedriveNote {
  readonly at: number;
  readonly edited: boolean;
  /** Where the re-driven record went, `topic[partition]@offset`, when the ledger says. */
  readonly to?: string;
}

/** A letter as listed: its view, and whether it was re-driven already (by this or any other console). */
export interface ListedLetter extends LetterView {
  readonly redriven: RedriveNote | null;
}

export interface StoredLetter {
  readonly view: LetterView;
  /** The original bytes when complete, for re-drive. */
  readonly body: Buffer | null;
  readonly key: Buffer | null;
}

const headerText = (headers: IHeaders | undefined, name: string): string | undefined => {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
};

const headerBytes = (headers: IHeaders | undefined, name: string): Buffer | null => {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  return Buffer.isBuffer(first) ? first : Buffer.from(first);
};

/**
 * A dead-letter record -> what the console keeps; undefined for records that are not the stream processor's letters.
 */
export function readLetter({ topic, message }: TailedMessage): StoredLetter | undefined {
  const h = message.headers;
  const reason = headerText(h, DEAD_LETTER_HEADERS.reason);
  const sourceTopic = headerText(h, DEAD_LETTER_HEADERS.topic);
  const sourcePartition = Number(headerText(h, DEAD_LETTER_HEADERS.partition));
  const sourceOffset = headerText(h, DEAD_LETTER_HEADERS.offset);
  if (
    reason === undefined ||
    sourceTopic === undefined ||
    !Number.isInteger(sourcePartition) ||
    sourceOffset === undefined
  )
    return undefined;
  const value = message.value ?? Buffer.alloc(0);
  const truncated = headerText(h, DEAD_LETTER_HEADERS.truncated) === 'true';
  const size = truncated ? Number(headerText(h, DEAD_LETTER_HEADERS.originalSize)) : value.length;
  const text = value.subarray(0, PREVIEW_CHARS * 4).toString('utf8');
  const kept = !truncated && value.length <= MAX_KEPT_BODY_BYTES;
  const key = headerBytes(h, DEAD_LETTER_HEADERS.originalKey);
  return {
    view: {
      id: `${sourceTopic}:${sourcePartition}:${sourceOffset}`,
      reason,
      detail: headerText(h, DEAD_LETTER_HEADERS.detail) ?? '',
      sourceTopic,
      sourcePartition,
      sourceOffset,
      deadLetterTopic: topic,
      time: Number(message.timestamp),
      key: key?.toString('utf8') ?? null,
      size,
      preview: text.slice(0, PREVIEW_CHARS),
      previewCut: text.length > PREVIEW_CHARS || value.length > PREVIEW_CHARS * 4,
      bodyIncomplete: !kept,
    },
    body: kept ? Buffer.from(value) : null,
    key,
  };
}

/**
 * The dead letters seen so far, newest last, bounded to `capacity` letters (the oldest are dropped from the list;
 * counts by reason stay exact). A duplicate letter (the processor re-sent it after a crash) replaces the earlier one.
 */
export class DeadLetterBook {
  private readonly letters = new Map<string, StoredLetter>();
  private readonly counts = new Map<string, number>();
  /** From the re-drive ledger, which spans every pipeline on the cluster: bounded like the letters, oldest out. */
  private readonly redrives = new Map<string, RedriveNote>();

  constructor(private readonly capacity = 2_000) {}

  noteRedrive(id: string, { at, edited, to }: RedriveNote): void {
    this.redrives.delete(id);
    this.redrives.set(id, { at, edited, ...(to === undefined ? {} : { to }) });
    if (this.redrives.size > this.capacity * 10) this.redrives.delete(this.redrives.keys().next().value!);
  }

  add(letter: StoredLetter): void {
    const { id, reason } = letter.view;
    if (!this.letters.has(id)) this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.letters.delete(id);
    this.letters.set(id, letter);
    if (this.letters.size > this.capacity) this.letters.delete(this.letters.keys().next().value!);
  }

  get(id: string): StoredLetter | undefined {
    return this.letters.get(id);
  }

  countsByReason(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Newest first, optionally of one reason, at most `limit`. */
  list(options: { reason?: string; limit?: number } = {}): ListedLetter[] {
    const views = [...this.letters.values()]
      .map((l) => l.view)
      .filter((v) => options.reason === undefined || v.reason === options.reason);
    return views
      .reverse()
      .slice(0, options.limit ?? 200)
      .map((view) => ({ ...view, redriven: this.redrives.get(view.id) ?? null }));
  }
}
