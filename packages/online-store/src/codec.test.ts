import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFeatureValue, encodeFeatureValue } from './codec.js';

function viaDecode(raw: string): unknown {
  try {
    return { value: decodeFeatureValue(raw, () => 'x') };
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
}

describe('feature value codec', () => {
  it('decodes numbers and strings exactly as JSON.parse does, and refuses what it refuses', () => {
    const written = fc
      .oneof(fc.double(), fc.integer(), fc.string({ unit: 'binary' }), fc.constantFrom(-0, 1e21, 5e-324, 0.1))
      .map((value) => JSON.stringify(value));
    const near = fc.oneof(
      fc.stringMatching(/^-?[0-9]{0,3}(\.[0-9]{0,3})?([eE][+-]?[0-9]{0,3})?$/),
      fc.constantFrom(
        '01',
        '1.',
        '.5',
        '+1',
        '0x10',
        ' 1',
        '1 ',
        'Infinity',
        '-',
        '1e999',
        '"a',
        '"\\u0041"',
        '"\t"',
        '"a"b"',
        '""',
      ),
    );
    fc.assert(
      fc.property(fc.oneof(written, near), (raw) => {
        const expected = (() => {
          try {
            const parsed = JSON.parse(raw) as unknown;
            return typeof parsed === 'number' && !Number.isFinite(parsed)
              ? { error: 'OnlineStoreError' }
              : { value: parsed };
          } catch {
            return { error: 'OnlineStoreError' };
          }
        })();
        expect(viaDecode(raw)).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('round-trips every kind of FeatureValue', () => {
    for (const value of [1.5, 0, 'plain', 'quote " and \\ and \n', null, true, false, [1, 2], ['a', 'b']]) {
      expect(
        decodeFeatureValue(
          encodeFeatureValue(value, () => 'x'),
          () => 'x',
        ),
      ).toEqual(value);
    }
  });
});
