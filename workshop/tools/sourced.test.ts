import { afterEach, describe, expect, it } from 'vitest';
import { liveOrCached, trimArrays } from '../labs/lib/sourced';

// The committed result lab 2 falls back to (workshop/cache/recommendations-tiny-seed7.json, from a real run).
const CACHED = 'recommendations-tiny-seed7';
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('labs 2 and 4: live result or the committed one, and the lab says which', () => {
  it('uses the committed result, saying why, when Kafka/Redis are not configured or WORKSHOP_OFFLINE=1', async () => {
    delete process.env.KAFKA_BROKERS;
    const unset = await liveOrCached(CACHED, () => Promise.reject(new Error('must not run')));
    expect(unset.origin).toBe('committed cache');
    expect(unset.note).toMatch(/Using the cached result.* because KAFKA_BROKERS\/REDIS_URL are not set/);
    expect((unset.value as { results: unknown[] }).results).toHaveLength(3);
    process.env = { ...saved, KAFKA_BROKERS: 'x:1', REDIS_URL: 'redis://x', WORKSHOP_OFFLINE: '1' };
    expect((await liveOrCached(CACHED, () => Promise.reject(new Error('no')))).note).toMatch(/WORKSHOP_OFFLINE=1/);
  });

  it('falls back when the live run fails, naming the failure; a live success is labelled live', async () => {
    process.env = { ...saved, KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };
    delete process.env.WORKSHOP_OFFLINE;
    const refused = new Error('KAFKA_BROKERS: 127.0.0.1:1 refused\nmore');
    const failed = await liveOrCached(CACHED, () => Promise.reject(refused));
    expect(failed.origin).toBe('committed cache');
    expect(failed.note).toMatch(/because the live run failed: KAFKA_BROKERS: 127\.0\.0\.1:1 refused\.$/);
    const live = await liveOrCached(CACHED, () => Promise.resolve({ fresh: true }));
    expect(live).toMatchObject({ origin: 'live', value: { fresh: true } });
  });

  it('a missing cache file is a clear error', async () => {
    delete process.env.KAFKA_BROKERS;
    await expect(liveOrCached('no-such-run', () => Promise.resolve(1))).rejects.toThrow(
      /no cached result .*no-such-run\.json/,
    );
  });

  it('the committed file keeps summaries and drops per-request arrays', () => {
    const trimmed = trimArrays({ a: [1, 2], b: Array.from({ length: 51 }, () => 0), c: { d: 'x' } });
    expect(trimmed).toEqual({ a: [1, 2], c: { d: 'x' } });
  });
});
