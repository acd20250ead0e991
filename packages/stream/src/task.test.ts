import { afterAll, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { eventTime } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { checkpoint } from './batch.js';
import { checkpointKeys } from './keys.js';
import { Task } from './task.js';
import { countingProcessor, type CountingState } from './testing/counting-processor.js';
import { uniqueName } from './testing/harness.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());
const processor = countingProcessor(60_000);

it('a checkpoint writes only what changed since the last one and loads back to the same image', async () => {
  const namespace = uniqueName('task');
  const store = new OnlineStore(redis, { namespace, featureSets: [] });
  const keys = checkpointKeys(namespace, 'g', 0);
  const task = await Task.load<CountingState>(store, 0, keys);
  task.offsets = { t: '5' };
  task.streamTime = eventTime(1_000);
  for (const id of ['a', 'b']) {
    task.entities.set(id, { count: 1, sum: 1, recent: [[1_000, 1]] });
    task.timers.set(id, eventTime(61_000));
    task.dirty.add(id);
  }
  expect(await checkpoint(task, processor, store, 100)).toBe('done');
  // Only b changes; a zombie holding the old fence writes nothing.
  task.offsets = { t: '9' };
  task.entities.set('b', { count: 0, sum: 0, recent: [] });
  task.dirty.add('b');
  const delta = task.checkpointWrite({ ...processor, isEmpty: (state) => state.count === 0 });
  expect(delta.states).toEqual([{ field: 'b', value: null }]);
  expect(delta.timers).toEqual([]);
  expect(await store.writeCheckpoint(keys, { ...delta, expected: null })).toBe(false);
  expect(await store.writeCheckpoint(keys, delta)).toBe(true);
  const reloaded = await Task.load<CountingState>(store, 0, keys);
  expect([reloaded.offsets, reloaded.streamTime, reloaded.timers.get('a'), reloaded.timers.get('b')]).toEqual([
    { t: '9' },
    1_000,
    61_000,
    61_000,
  ]);
  await reloaded.loadEntities(store, processor, ['a', 'b']);
  expect(reloaded.entities.get('a')).toEqual({ count: 1, sum: 1, recent: [[1_000, 1]] });
  expect(reloaded.entities.get('b')).toEqual(processor.initialState());
  await redis.del(keys.fence, keys.meta, keys.timers, keys.states);
});
