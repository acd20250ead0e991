import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchPosition } from './position.js';

describe('batchPosition', () => {
  it('decides each case', () => {
    expect(batchPosition({ first: 10n, lastMessage: 19n }, 10n, undefined)).toBe('process');
    expect(batchPosition({ first: 5n, lastMessage: 19n }, 10n, undefined)).toBe('skip-redelivered');
    expect(batchPosition({ first: 5n, lastMessage: 9n }, 10n, undefined)).toBe('seek');
    expect(batchPosition({ first: 12n, lastMessage: 19n }, 10n, undefined)).toBe('seek');
    expect(batchPosition({ first: 12n, lastMessage: 19n }, 10n, 7n)).toBe('seek');
    expect(batchPosition({ first: 12n, lastMessage: 19n }, 10n, 10n)).toBe('process');
  });

  /*
   * A model of kafkajs over a partition whose log mixes data records with records it never hands to `eachBatch`
   * (transaction markers, aborted records): fetches return a few records from the position; an all-hidden fetch
   * moves the position on by itself. Whatever the consumer's starting position (before, at or after the
   * committed offset), following batchPosition processes every visible offset from the committed one exactly
   * once and in order.
   */
  it('processes every visible record from the committed offset exactly once, in order, from any fetch position', () => {
    const scenario = fc
      .record({
        visible: fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }),
        committedAt: fc.nat(),
        startAt: fc.nat(),
        fetchSizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }),
      })
      .filter(({ visible }) => visible.includes(true));
    fc.assert(
      fc.property(scenario, ({ visible, committedAt, startAt, fetchSizes }) => {
        const end = visible.length;
        const lastVisible = visible.lastIndexOf(true);
        let committed = BigInt(committedAt % (end + 1));
        // Only positions from which some visible record is still ahead: otherwise kafkajs never calls back.
        let position = startAt % (lastVisible + 1);
        const expected = visible.flatMap((shown, offset) =>
          shown && BigInt(offset) >= committed ? [BigInt(offset)] : [],
        );
        const processed: bigint[] = [];
        let lastSeek: bigint | undefined;
        for (let step = 0; position < end && step < 10 * end; step++) {
          const size = fetchSizes[step % fetchSizes.length]!;
          const offsets = Array.from({ length: Math.min(size, end - position) }, (_, i) => position + i);
          const messages = offsets.filter((offset) => visible[offset]);
          if (messages.length === 0) {
            position = offsets.at(-1)! + 1;
            continue;
          }
          const decision = batchPosition(
            { first: BigInt(offsets[0]!), lastMessage: BigInt(messages.at(-1)!) },
            committed,
            lastSeek,
          );
          if (decision === 'seek') {
            lastSeek = committed;
            position = Number(committed);
            continue;
          }
          processed.push(...messages.map(BigInt).filter((offset) => offset >= committed));
          committed = BigInt(offsets.at(-1)!) + 1n;
          position = Number(committed);
        }
        expect(processed).toEqual(expected);
      }),
      { numRuns: 2_000 },
    );
  });
});
