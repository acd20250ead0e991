import type { Consumer, Kafka } from 'kafkajs';
import { tailTopics, type TailedMessage } from './topic-tail.js';

/**
 * Follows whichever of its topics exist: dead-letter topics appear with a processor's first letter, so the set is
 * re-checked on every pipeline sample and the tail restarted from the beginning when it grows (readers dedupe).
 */
export class TopicFollower {
  private consumer: Consumer | undefined;
  private following = '';

  constructor(
    private readonly kafka: Kafka,
    private readonly purpose: string,
    private readonly onMessage: (tailed: TailedMessage) => void,
  ) {}

  async follow(existing: readonly string[]): Promise<void> {
    const wanted = [...existing].sort().join('\n');
    if (wanted === this.following) return;
    await this.stop();
    this.following = wanted;
    if (existing.length > 0) this.consumer = await tailTopics(this.kafka, this.purpose, existing, this.onMessage);
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.following = '';
    await consumer?.disconnect();
  }
}
