import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { EventTime } from '@rtml/features';
import { TimerIndex } from './timers.js';

type Op =
  | { readonly kind: 'set'; readonly id: string; readonly at: number | undefined }
  | { readonly kind: 'due'; readonly time: number }
  | { readonly kind: 'checkpoint' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    id: fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `e${i}`)),
    at: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('due' as const), time: fc.integer({ min: -1, max: 55 }) }),
  fc.record({ kind: fc.constant('checkpoint' as const) }),
);

it('finds exactly the due timers of a plain map, and its dirty-shard checkpoints restore the same timers', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 200 }), fc.integer({ min: 1, max: 5 }), (ops, shards) => {
      const index = new TimerIndex(shards);
      const naive = new Map<string, number>();
      // What Redis would hold: the latest written value of every shard key.
      const persisted = new Map<number, string>();
      for (const op of ops) {
        if (op.kind === 'set') {
          index.set(op.id, op.at as EventTime | undefined);
          if (op.at === undefined) naive.delete(op.id);
          else naive.set(op.id, op.at);
        } else if (op.kind === 'due') {
          const expected = [...naive]
            .filter(([, at]) => at <= op.time)
            .map(([id]) => id)
            .sort();
          expect(index.dueBy(op.time).sort()).toEqual(expected);
        } else {
          for (const { shard, value } of index.takeDirtyShards()) persisted.set(shard, value);
          const restored = new TimerIndex(shards);
          restored.load(persisted.values());
          expect(restored.size).toBe(naive.size);
          for (const [id, at] of naive) expect(restored.get(id)).toBe(at);
        }
        expect(index.size).toBe(naive.size);
      }
    }),
    { numRuns: 300 },
  );
});

it('a checkpoint rewrites only the shards whose timers changed', () => {
  const index = new TimerIndex(64);
  for (let i = 0; i < 1000; i++) index.set(`user${i}`, (1000 + i) as EventTime);
  expect(index.takeDirtyShards().length).toBe(64);
  index.set('user7', 5000 as EventTime);
  index.set('user7', undefined);
  index.set('user8', 1008 as EventTime); // unchanged: not dirty
  expect(index.takeDirtyShards().map((s) => s.shard)).toEqual([index.shardOf('user7')]);
});
