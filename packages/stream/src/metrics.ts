import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeadLetterReason } from './dead-letter.js';
import { isLive, isReady, type HealthReport } from './health.js';

/**
 * Keeps the most recent samples for percentiles in progress lines and benchmarks (Prometheus gets histograms).
 * A ring buffer: `add` runs once per event, so it must not shift the whole array when full.
 */
export class RecentSamples {
  private readonly values: number[] = [];
  private next = 0;
  constructor(private readonly capacity = 10_000) {}

  add(value: number): void {
    if (this.values.length < this.capacity) this.values.push(value);
    else this.values[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
  }

  percentile(p: number): number | undefined {
    if (this.values.length === 0) return undefined;
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }

  get count(): number {
    return this.values.length;
  }

  clear(): void {
    this.values.length = 0;
    this.next = 0;
  }
}

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Prometheus metrics of one processor instance, in its own registry (two instances can share a process). */
export class StreamMetrics {
  readonly registry = new Registry();
  readonly events = new Counter({
    name: 'rtml_stream_events_total',
    help: 'Input records handled, by outcome',
    labelNames: ['topic', 'outcome'],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'rtml_stream_dead_letters_total',
    help: 'Records sent to the dead-letter topic, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly lag = new Gauge({
    name: 'rtml_stream_consumer_lag',
    help: 'High watermark minus next offset committed to Redis',
    labelNames: ['topic', 'partition'],
    registers: [this.registry],
  });
  readonly batchLatency = new Histogram({
    name: 'rtml_stream_batch_latency_seconds',
    help: 'From batch received to committed in Redis',
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  readonly freshness = new Histogram({
    name: 'rtml_stream_freshness_seconds',
    help: 'Event time to value visible in Redis',
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  readonly fenceRejections = new Counter({
    name: 'rtml_stream_fence_rejections_total',
    help: 'Commits refused because another instance advanced the partition',
    registers: [this.registry],
  });
  readonly timerEmits = new Counter({
    name: 'rtml_stream_timer_emits_total',
    help: 'Vectors re-emitted by event-time timers (window expiry)',
    registers: [this.registry],
  });

  /** Since the last progress line. */
  readonly recentFreshnessMs = new RecentSamples();
  readonly recentBatchMs = new RecentSamples();
  /** Never reset by progress lines: for benchmarks, which clear it themselves between phases. */
  readonly runFreshnessMs = new RecentSamples(200_000);
  private readonly lagByPartition = new Map<string, number>();
  private applied = 0;
  private dead = 0;
  private lastReport = Date.now();
  private lastLine = -Infinity;
  private lastLag = 0;

  recordCommit(topic: string, applied: number, batchMs: number, freshnessMs: readonly number[]): void {
    this.events.inc({ topic, outcome: 'applied' }, applied);
    this.applied += applied;
    this.batchLatency.observe(batchMs / 1000);
    this.recentBatchMs.add(batchMs);
    for (const ms of freshnessMs) {
      this.freshness.observe(ms / 1000);
      this.recentFreshnessMs.add(ms);
      this.runFreshnessMs.add(ms);
    }
  }

  recordDeadLetter(topic: string, reason: DeadLetterReason): void {
    this.events.inc({ topic, outcome: 'dead_letter' });
    this.deadLetters.inc({ reason });
    this.dead += 1;
  }

  recordLag(topic: string, partition: number, lag: number): void {
    this.lag.set({ topic, partition: String(partition) }, lag);
    this.lagByPartition.set(`${topic}/${partition}`, lag);
  }

  forgetLag(): void {
    this.lag.reset();
    this.lagByPartition.clear();
  }

  /**
   * One line summarising the interval since the previous call (and resetting it), or undefined when nothing
   * happened since and the last line is younger than `quietForMs`: an idle processor prints a heartbeat, not a
   * `0 ev/s` line every few seconds.
   */
  progressLine(name: string, quietForMs = 60_000): string | undefined {
    const now = Date.now();
    const lag = [...this.lagByPartition.values()].reduce((a, b) => a + b, 0);
    const idle = this.applied === 0 && this.dead === 0 && lag === this.lastLag;
    if (idle && now - this.lastLine < quietForMs) return undefined;
    const seconds = Math.max(0.001, (now - this.lastReport) / 1000);
    const where = `lag ${lag} over ${this.lagByPartition.size} partitions`;
    const line = idle
      ? `[stream ${name}] idle | ${where}`
      : `[stream ${name}] ${Math.round(this.applied / seconds)} ev/s | ${where} | batch p50 ` +
        `${humanMs(this.recentBatchMs.percentile(50))} | ` +
        `freshness p50 ${humanMs(this.recentFreshnessMs.percentile(50))} p99 ` +
        `${humanMs(this.recentFreshnessMs.percentile(99))} | dead letters ${this.dead}`;
    this.applied = 0;
    this.dead = 0;
    this.lastLag = lag;
    this.lastReport = now;
    this.lastLine = now;
    this.recentBatchMs.clear();
    this.recentFreshnessMs.clear();
    return line;
  }
}

/** 182ms, 4.2s, 12.5min, 11.9h, 498d: freshness of backdated events spans all of these. */
export function humanMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1_000],
  ];
  for (const [unit, size] of units) if (Math.abs(ms) >= size) return `${(ms / size).toFixed(1)}${unit}`;
  return `${Math.round(ms)}ms`;
}

/**
 * Serves `GET /metrics` in Prometheus text format, and with `health`, `GET /healthz` (200 while the consumer is
 * alive, 503 once it failed or stopped) and `GET /readyz` (200 only while it consumes an assignment), both with the
 * JSON health report as body. Resolves once listening; port 0 picks a free port (read it from `server.address()`).
 */
export async function serveMetrics(registry: Registry, port: number, health?: () => HealthReport): Promise<Server> {
  const server = createServer((request, response) => {
    const probe = health && { '/healthz': isLive, '/readyz': isReady }[request.url ?? ''];
    if (probe && health) {
      const report = health();
      response
        .writeHead(probe(report) ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify(report)}\n`);
      return;
    }
    if (request.url !== '/metrics') {
      response.writeHead(404).end(`not found; try /metrics${health ? ', /healthz or /readyz' : ''}\n`);
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  return server;
}
