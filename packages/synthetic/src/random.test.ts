import { describe, expect, it } from 'vitest';
import { Random } from './random.js';

const draws = (random: Random, n: number) => Array.from({ length: n }, () => random.next());

describe('Random', () => {
  it('is reproducible per seed and differs between seeds', () => {
    expect(draws(new Random(42), 5)).toEqual(draws(new Random(42), 5));
    expect(draws(new Random(42), 5)).not.toEqual(draws(new Random(43), 5));
  });

  it('keeps the mulberry32 sequence the scenario generators were measured with', () => {
    expect(draws(new Random(1), 3).map((x) => Math.round(x * 1e9))).toEqual([627073941, 2735721, 527447040]);
  });

  it('rejects non-integer seeds', () => {
    expect(() => new Random(1.5)).toThrow(RangeError);
  });

  it('draws integers in the inclusive range, every value reachable', () => {
    const random = new Random(3);
    const seen = new Set(Array.from({ length: 2_000 }, () => random.int(2, 5)));
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
  });

  it('picks from a list and refuses an empty one', () => {
    const random = new Random(4);
    expect(['a', 'b', 'c']).toContain(random.pick(['a', 'b', 'c']));
    expect(() => random.pick([])).toThrow(RangeError);
  });

  it('has roughly the requested means', () => {
    const random = new Random(5);
    const mean = (draw: () => number) => Array.from({ length: 20_000 }, draw).reduce((s, x) => s + x, 0) / 20_000;
    expect(mean(() => random.normal(3, 2))).toBeCloseTo(3, 1);
    expect(mean(() => random.exponential(4))).toBeCloseTo(4, 0);
    expect(mean(() => random.poisson(1.5))).toBeCloseTo(1.5, 1);
    expect(mean(() => random.uniform(10, 20))).toBeCloseTo(15, 0);
    expect(mean(() => (random.chance(0.2) ? 1 : 0))).toBeCloseTo(0.2, 1);
  });

  it('draws weighted indices in proportion to their weights', () => {
    const random = new Random(6);
    const cumulative = Float64Array.from([1, 1, 4]); // weights 1, 0, 3
    const counts = [0, 0, 0];
    for (let i = 0; i < 8_000; i++) counts[random.weighted(cumulative)]!++;
    expect(counts[1]).toBe(0);
    expect(counts[2]! / counts[0]!).toBeCloseTo(3, 0);
  });
});
