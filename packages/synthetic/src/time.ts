/**
 * Formats epoch ms as ISO-8601 in a fixed UTC offset, e.g. `2024-03-01T09:30:00.000+05:30`
 * (Date#toISOString only writes UTC). Generators use it so event times carry the producer's local offset,
 * which the feature package must normalise; offset 0 is written `+00:00`, not `Z`.
 */
export function isoWithOffset(epochMs: number, offsetMinutes: number): string {
  const local = new Date(epochMs + offsetMinutes * 60_000).toISOString().slice(0, -1);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
