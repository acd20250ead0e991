import type { Json } from './accumulators.js';
import { compareEventKeys } from './order.js';
import type { Scalar } from './packed.js';

/*
 * One entity's online state as ONE flat string: what a stream task keeps in memory per entity and what its snapshot
 * is. At a million entities a string costs its characters plus 16 B, where the same state as JS arrays and objects
 * costs ~2.5x (headers, 8 B pointers, boxed numbers): packages/features/README.md, "Memory". The engine computes on
 * the decoded form (`WorkingState`) and keeps the few most recently used ones decoded (online.ts).
 *
 * The text uses no character JSON must escape (except inside ids and field values that contain one), so the JSON
 * snapshot is the text plus two quotes. Grammar (positional; the layout comes from the feature set):
 *   state    = VERSION lifetime* rows{uint} row*   (rows last: an event that arrives in time order appends a row, so
 *                                                   apply writes the lifetime part and that row, and copies the rest)
 *   row      = time id{uint length + characters} number{numeric fields} value{reference fields}
 *   time     = number (the difference to the previous row's time, the first row's to 0) | ABSOLUTE number
 *   number   = uint u: u%4 = 0: (u/4 unzigzagged)/100 (exact: checked when written); 1: null (NaN);
 *              2: raw IEEE-754 bits, high word (u-2)/4 then low word uint
 *   value    = number | NULL | TRUE | FALSE | STRING uint chars | LIST uint value* | OBJECT uint (uint chars value)*
 *              | ENTRIES uint entry*   (last/lastK: [t, id, v, ...] newest first)
 *   entry    = uint r (r > 0: the time and id of retained row r-1, 0: number uint chars) value
 *   uint     = base-32 digits, least significant first: '#'..'B' continue, ']'..'|' end
 */

/** What the engine computes on: the retained events packed row-major, and the lifetime accumulators. */
export interface WorkingState {
  /** Per retained event, in (eventTime, eventId) order: [eventTime, ...numeric fields]; a null field is NaN. */
  nums: number[];
  /** Per retained event, same order: [eventId, ...string and boolean fields]. */
  refs: (Scalar | null)[];
  /** Running accumulators of the lifetime features, by feature name. */
  lifetime: Record<string, Json>;
  /** The text this state was last read from or written to, while its rows are still a prefix of `nums`/`refs`. */
  written?: WrittenText;
}

interface WrittenText {
  readonly text: string;
  /** Where its rows start. */
  readonly rowsAt: number;
  readonly rows: number;
  readonly lastTime: number;
  readonly lastId: string;
  /** It holds characters above U+00FF (then it is written whole). */
  readonly wide: boolean;
}

export interface StateLayout {
  readonly numStride: number;
  readonly refStride: number;
  /** Lifetime features in encoding order; `entries`: a flat [t, id, v, ...] accumulator (last, lastK). */
  readonly lifetime: readonly { readonly name: string; readonly entries: boolean }[];
}

export interface StateCodec {
  encode(state: WorkingState): string;
  /** Throws a RangeError naming the problem if `text` is not a state this layout wrote. */
  decode(text: string): WorkingState;
}

const CONTINUE = 0x23; // '#': digits 0..31 continue a uint
const END = 0x5d; // ']': digits 0..31 end it
const BASE = 32;
/** Version 3 of the state layout (1 and 2 were JSON objects), the first character: an ending digit 3. */
export const TEXT_VERSION = String.fromCharCode(END + 3);
/** Value tags, outside both digit ranges: N T F S L O E. */
const TAG = { null: 0x4e, true: 0x54, false: 0x46, string: 0x53, array: 0x4c, object: 0x4f, entries: 0x45 } as const;
const CENTS = 0;
const NULL_NUMBER = 1;
const RAW = 2;
const ABSOLUTE = 3;
/** Largest |cents| whose tagged form (zigzag * 4) is still a safe integer. */
const MAX_CENTS = 2 ** 50;

const bits = new DataView(new ArrayBuffer(8));

/**
 * Reused by every encode (single-threaded, not re-entered): a state is written once per applied event. Characters
 * go to a byte buffer, read out as one flat Latin-1 string (1 B a character in V8); a character above U+00FF (in an id
 * or value) switches to 16-bit units for that state only.
 */
class Writer {
  private bytes = Buffer.alloc(1024);
  private units: Uint16Array | undefined;
  private length = 0;

  reset(): this {
    this.length = 0;
    this.units = undefined;
    return this;
  }

  private put(code: number): void {
    if (this.length === this.bytes.length || (this.units && this.length === this.units.length)) this.grow();
    if (this.units) this.units[this.length++] = code;
    else if (code <= 0xff) this.bytes[this.length++] = code;
    else {
      this.units = Uint16Array.from(this.bytes);
      this.units[this.length++] = code;
    }
  }

  private grow(): void {
    if (this.units) {
      const units = new Uint16Array(this.units.length * 2);
      units.set(this.units);
      this.units = units;
    } else {
      const bytes = Buffer.alloc(this.bytes.length * 2);
      this.bytes.copy(bytes);
      this.bytes = bytes;
    }
  }

  uint(value: number): void {
    if (value < 2 ** 31) {
      let rest = value;
      while (rest >= BASE) {
        this.put(CONTINUE + (rest & (BASE - 1)));
        rest >>>= 5;
      }
      return this.put(END + rest);
    }
    let rest = value;
    while (rest >= BASE) {
      this.put(CONTINUE + (rest % BASE));
      rest = Math.floor(rest / BASE);
    }
    this.put(END + rest);
  }

  number(value: number): void {
    if (Number.isNaN(value)) return this.uint(NULL_NUMBER);
    const cents = Math.round(value * 100);
    // -0 takes the raw form: cents cannot tell it from 0.
    if (Math.abs(cents) <= MAX_CENTS && Object.is(cents / 100, value) && !Object.is(value, -0))
      return this.uint(zigzag(cents) * 4 + CENTS);
    bits.setFloat64(0, value);
    this.uint(bits.getUint32(0) * 4 + RAW);
    this.uint(bits.getUint32(4));
  }

  chars(text: string): void {
    this.uint(text.length);
    for (let i = 0; i < text.length; i++) this.put(text.charCodeAt(i));
  }

  tag(code: number): void {
    this.put(code);
  }

  get position(): number {
    return this.length;
  }

  get wide(): boolean {
    return this.units !== undefined;
  }

  /** Copies `text` from `from` on; only while narrow, and only a Latin-1 text (checked by the caller). */
  copyLatin1(text: string, from: number): void {
    while (this.length + text.length - from > this.bytes.length) this.grow();
    this.length += this.bytes.write(text.substring(from), this.length, 'latin1');
  }

  /** One flat string (a `+=` chain would leave a tree of cons strings, larger than the text). */
  finish(): string {
    if (!this.units) return this.bytes.toString('latin1', 0, this.length);
    const parts: string[] = [];
    for (let from = 0; from < this.length; from += 8192) {
      parts.push(
        String.fromCharCode.apply(
          null,
          this.units.subarray(from, Math.min(this.length, from + 8192)) as unknown as number[],
        ),
      );
    }
    return parts.join('');
  }
}

class Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new RangeError(
      `malformed online state at character ${this.at} (${what}): ${JSON.stringify(this.text.slice(0, 80))}`,
    );
  }

  peek(): number {
    return this.text.charCodeAt(this.at);
  }

  skip(): void {
    this.at++;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const code = this.text.charCodeAt(this.at++);
      if (code >= END && code < END + BASE) return value + (code - END) * scale;
      if (!(code >= CONTINUE && code < CONTINUE + BASE)) this.fail('expected a digit');
      value += (code - CONTINUE) * scale;
      scale *= BASE;
    }
  }

  number(): number {
    return this.taggedNumber(this.uint());
  }

  taggedNumber(tagged: number): number {
    switch (tagged % 4) {
      case CENTS:
        return unzigzag(tagged / 4) / 100;
      case NULL_NUMBER:
        return NaN;
      case RAW:
        bits.setUint32(0, (tagged - RAW) / 4);
        bits.setUint32(4, this.uint());
        return bits.getFloat64(0);
      default:
        return this.fail('unexpected number tag');
    }
  }

  chars(): string {
    const length = this.uint();
    const from = this.at;
    this.at += length;
    if (this.at > this.text.length) this.fail('text ends inside a string');
    return this.text.slice(from, this.at);
  }

  atEnd(): boolean {
    return this.at === this.text.length;
  }

  get position(): number {
    return this.at;
  }
}

function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

function unzigzag(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

const writer = new Writer();
// eslint-disable-next-line no-control-regex -- the range starts at U+0000 on purpose: any character outside Latin-1
const WIDE = /[^\u0000-\u00ff]/;

export function createStateCodec(layout: StateLayout): StateCodec {
  const { numStride, refStride } = layout;

  /** The retained row holding exactly (time, id), or -1: last/lastK entries usually are one. */
  function rowOf(state: WorkingState, time: number, id: string): number {
    let lo = 0;
    let hi = state.nums.length / numStride;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const order = compareEventKeys(state.nums[mid * numStride]!, state.refs[mid * refStride] as string, time, id);
      if (order === 0) return mid;
      if (order < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  function writeValue(out: Writer, value: Json): void {
    if (value === null) out.tag(TAG.null);
    else if (value === true) out.tag(TAG.true);
    else if (value === false) out.tag(TAG.false);
    else if (typeof value === 'number') out.number(value);
    else if (typeof value === 'string') {
      out.tag(TAG.string);
      out.chars(value);
    } else if (Array.isArray(value)) {
      out.tag(TAG.array);
      out.uint(value.length);
      for (const item of value) writeValue(out, item);
    } else {
      const keys = Object.keys(value);
      out.tag(TAG.object);
      out.uint(keys.length);
      for (const key of keys) {
        out.chars(key);
        writeValue(out, value[key]!);
      }
    }
  }

  function writeEntries(out: Writer, state: WorkingState, entries: Json[]): void {
    out.tag(TAG.entries);
    out.uint(entries.length / 3);
    for (let at = 0; at < entries.length; at += 3) {
      const time = entries[at] as number;
      const id = entries[at + 1] as string;
      const row = rowOf(state, time, id);
      out.uint(row + 1);
      if (row < 0) {
        out.number(time);
        out.chars(id);
      }
      writeValue(out, entries[at + 2]!);
    }
  }

  /** Rows of `state.written` that can be copied as they are: all of them when the only change is one row appended. */
  function reusableRows(state: WorkingState, out: Writer): number {
    const written = state.written;
    const rows = state.nums.length / numStride;
    if (!written || written.wide || out.wide || rows !== written.rows + 1 || written.rows === 0) return 0;
    const last = (written.rows - 1) * numStride;
    return state.nums[last] === written.lastTime && state.refs[(written.rows - 1) * refStride] === written.lastId
      ? written.rows
      : 0;
  }

  function writeRows(out: Writer, state: WorkingState, from: number): void {
    const { nums, refs } = state;
    const rows = nums.length / numStride;
    let previous = from === 0 ? 0 : nums[(from - 1) * numStride]!;
    for (let row = from; row < rows; row++) {
      const time = nums[row * numStride]!;
      const delta = time - previous;
      // A difference is exact for integer times; any other time is written as it is.
      if (Object.is(previous + delta, time)) out.number(delta);
      else {
        out.uint(ABSOLUTE);
        out.number(time);
      }
      previous = time;
      out.chars(refs[row * refStride] as string);
      for (let column = 1; column < numStride; column++) out.number(nums[row * numStride + column]!);
      for (let column = 1; column < refStride; column++) writeValue(out, refs[row * refStride + column] ?? null);
    }
  }

  function encode(state: WorkingState): string {
    const out = writer.reset();
    out.tag(TEXT_VERSION.charCodeAt(0));
    for (const { name, entries } of layout.lifetime) {
      const acc = state.lifetime[name] ?? null;
      if (entries && Array.isArray(acc)) writeEntries(out, state, acc);
      else writeValue(out, acc);
    }
    out.uint(state.nums.length / numStride);
    const rowsAt = out.position;
    const reused = reusableRows(state, out);
    if (reused > 0) out.copyLatin1(state.written!.text, state.written!.rowsAt);
    writeRows(out, state, reused);
    const text = out.finish();
    remember(state, text, rowsAt, out.wide);
    return text;
  }

  function remember(state: WorkingState, text: string, rowsAt: number, wide: boolean): void {
    const rows = state.nums.length / numStride;
    state.written = {
      text,
      rowsAt,
      rows,
      lastTime: state.nums[(rows - 1) * numStride] ?? NaN,
      lastId: (state.refs[(rows - 1) * refStride] as string | undefined) ?? '',
      wide,
    };
  }

  /** Entries name rows decoded after them: [entries, index of the time, row]. */
  type RowLinks = [Json[], number, number][];

  function readValue(input: Reader, links: RowLinks): Json {
    const code = input.peek();
    switch (code) {
      case TAG.null:
      case TAG.true:
      case TAG.false:
        input.skip();
        return code === TAG.null ? null : code === TAG.true;
      case TAG.string:
        input.skip();
        return input.chars();
      case TAG.array: {
        input.skip();
        const length = input.uint();
        const items: Json[] = [];
        for (let i = 0; i < length; i++) items.push(readValue(input, links));
        return items;
      }
      case TAG.object: {
        input.skip();
        const size = input.uint();
        const object: Record<string, Json> = {};
        for (let i = 0; i < size; i++) {
          const key = input.chars();
          object[key] = readValue(input, links);
        }
        return object;
      }
      case TAG.entries:
        input.skip();
        return readEntries(input, links);
      default:
        return input.number();
    }
  }

  function readEntries(input: Reader, links: RowLinks): Json[] {
    const count = input.uint();
    const entries: Json[] = [];
    for (let i = 0; i < count; i++) {
      const row = input.uint() - 1;
      if (row >= 0) {
        links.push([entries, entries.length, row]);
        entries.push(0, '');
      } else entries.push(input.number(), input.chars());
      entries.push(readValue(input, links));
    }
    return entries;
  }

  function decode(text: string): WorkingState {
    if (text[0] !== TEXT_VERSION)
      throw new RangeError(`not an online state of layout version 3: ${JSON.stringify(text.slice(0, 80))}`);
    const input = new Reader(text);
    input.skip();
    const state: WorkingState = { nums: [], refs: [], lifetime: {} };
    const links: RowLinks = [];
    for (const { name } of layout.lifetime) state.lifetime[name] = readValue(input, links);
    const rows = input.uint();
    const rowsAt = input.position;
    let previous = 0;
    for (let row = 0; row < rows; row++) {
      const tagged = input.uint();
      const time = tagged === ABSOLUTE ? input.number() : previous + input.taggedNumber(tagged);
      previous = time;
      state.nums.push(time);
      state.refs.push(input.chars());
      for (let column = 1; column < numStride; column++) state.nums.push(input.number());
      for (let column = 1; column < refStride; column++) state.refs.push(readValue(input, links) as Scalar | null);
    }
    for (const [entries, at, row] of links) {
      if (row * numStride >= state.nums.length) input.fail(`an entry names row ${row}, which does not exist`);
      entries[at] = state.nums[row * numStride]!;
      entries[at + 1] = state.refs[row * refStride]!;
    }
    if (!input.atEnd()) input.fail('text continues after the last row');
    remember(state, text, rowsAt, WIDE.test(text));
    return state;
  }

  return { encode, decode };
}
