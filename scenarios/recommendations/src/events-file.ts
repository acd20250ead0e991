import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { RawActivityEvent } from './events.js';

/** Streams events to NDJSON (the format DuckDB reads and Kafka carries), honouring backpressure. */
export async function writeEventsFile(events: Iterable<RawActivityEvent>, path: string): Promise<number> {
  const out = createWriteStream(path);
  let count = 0;
  for (const event of events) {
    count++;
    if (!out.write(`${JSON.stringify(event)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return count;
}

/** Reads an event-time-ordered NDJSON file forward in slices: "everything before t", then the next t. */
export class EventCursor {
  private readonly lines: AsyncIterator<string>;
  private lookahead: RawActivityEvent | undefined;
  private done = false;

  constructor(path: string) {
    this.lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity })[Symbol.asyncIterator]();
  }

  /** The next events with eventTime < t, in file order. */
  async takeBefore(t: number): Promise<RawActivityEvent[]> {
    const taken: RawActivityEvent[] = [];
    for (;;) {
      const next = this.lookahead ?? (await this.read());
      this.lookahead = undefined;
      if (next === undefined) return taken;
      if (next.eventTime >= t) {
        this.lookahead = next;
        return taken;
      }
      taken.push(next);
    }
  }

  private async read(): Promise<RawActivityEvent | undefined> {
    if (this.done) return undefined;
    const line = await this.lines.next();
    if (line.done === true) {
      this.done = true;
      return undefined;
    }
    return JSON.parse(line.value) as RawActivityEvent;
  }
}
