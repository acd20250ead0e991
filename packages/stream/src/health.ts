/**
 * The consumer's real state, for `/healthz` (is this process still doing its job, or must it be restarted?) and
 * `/readyz` (does it own partitions and consume them right now?).
 * - starting: connected, not yet a group member with an assignment
 * - ready: joined the group and consuming its assignment
 * - rebalancing: the group is redistributing partitions; consumption resumes after the next join
 * - restarting: kafkajs crashed with a retriable error and restarts the consumer itself
 * - failed: unrecoverable (a non-retriable consumer crash, or the online store lost its state); never recovers
 * - stopped: `stop()` was called
 */
export type ConsumerState = 'starting' | 'ready' | 'rebalancing' | 'restarting' | 'failed' | 'stopped';

export interface HealthReport {
  readonly state: ConsumerState;
  /** Why, for failed/restarting. */
  readonly reason?: string;
  /** Partitions owned since the last join. */
  readonly partitions: readonly number[];
}

/** Alive unless failed or stopped: a restarting or rebalancing consumer is expected to come back by itself. */
export function isLive(report: HealthReport): boolean {
  return report.state !== 'failed' && report.state !== 'stopped';
}

export function isReady(report: HealthReport): boolean {
  return report.state === 'ready';
}
