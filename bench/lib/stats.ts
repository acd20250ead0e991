/** Latency / sample statistics shared by the bench scripts. Pure functions, no I/O. */

/** Nearest-rank percentile (p in [0, 100]) of an ascending-sorted array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[sorted.length - 1]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** Summary of unsorted samples (the input is not modified). */
export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  let total = 0;
  for (let i = 0; i < sorted.length; i++) total += sorted[i]!;
  return {
    n: sorted.length,
    min: sorted.length ? sorted[0]! : Number.NaN,
    mean: sorted.length ? total / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/**
 * Records latencies in milliseconds (exact samples in a growable Float64Array: fine up to tens of millions).
 * `const stop = rec.start(); ...; stop();` or `rec.record(ms)`; `await rec.time(() => fn())`.
 */
export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private size = 0;

  record(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
  }

  /** Starts a timer; the returned function records the elapsed ms and returns it. */
  start(): () => number {
    const t0 = process.hrtime.bigint();
    return () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      this.record(ms);
      return ms;
    };
  }

  async time<T>(fn: () => Promise<T> | T): Promise<T> {
    const stop = this.start();
    try {
      return await fn();
    } finally {
      stop();
    }
  }

  get count(): number {
    return this.size;
  }

  summary(): Summary {
    return summarize(this.samples.subarray(0, this.size));
  }

  reset(): void {
    this.size = 0;
  }
}

/** Wall-clock ms of one call (high-resolution). */
export async function timeMs<T>(fn: () => Promise<T> | T): Promise<{ ms: number; result: T }> {
  const t0 = process.hrtime.bigint();
  const result = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, result };
}

/** Best (minimum) and median of `runs` timed calls after `warmup` untimed ones. */
export async function repeatMs(
  fn: () => unknown,
  runs: number,
  warmup = 1,
): Promise<{ best: number; median: number; all: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const all: number[] = [];
  for (let i = 0; i < runs; i++) all.push((await timeMs(fn)).ms);
  const sorted = [...all].sort((a, b) => a - b);
  return { best: sorted[0]!, median: percentile(sorted, 50), all };
}
