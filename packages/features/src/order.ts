/**
 * The one total order of events: (eventTime, eventId). Event ids compare by Unicode code point, which is the
 * order DuckDB uses for VARCHAR (UTF-8 bytes); JavaScript's `<` compares UTF-16 units and would disagree on
 * characters above U+FFFF, breaking offline/online parity for ties.
 */
export function compareEventIds(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (code points >= U+10000) must sort after U+E000..U+FFFF; shift the ranges so they do. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

export function compareEventKeys(aTime: number, aId: string, bTime: number, bId: string): number {
  return aTime !== bTime ? aTime - bTime : compareEventIds(aId, bId);
}
