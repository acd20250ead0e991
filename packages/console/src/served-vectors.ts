import type { ServedRecord } from '@rtml/serving';
import type { TailedMessage } from './topic-tail.js';

/** The last served vectors per entity from the serving endpoints' log topic, bounded per entity and in entities. */
export class ServedVectorIndex {
  private readonly byEntity = new Map<string, ServedRecord[]>();

  constructor(
    private readonly perEntity = 20,
    private readonly maxEntities = 100_000,
  ) {}

  add({ message }: TailedMessage): void {
    if (!message.value) return;
    let record: ServedRecord;
    try {
      record = JSON.parse(message.value.toString()) as ServedRecord;
    } catch {
      return; // not a served-vector record: the log topic is the serving endpoints' own, nothing to show
    }
    // A multi-entity request is logged as `u7|i12`: it belongs to each of its entities.
    for (const id of String(record.entityId).split('|')) this.remember(id, record);
  }

  /** Newest first. */
  of(entityId: string): ServedRecord[] {
    return [...(this.byEntity.get(entityId) ?? [])].reverse();
  }

  private remember(id: string, record: ServedRecord): void {
    const list = this.byEntity.get(id) ?? [];
    this.byEntity.delete(id); // re-inserted last: the Map's order is least recently served first
    list.push(record);
    if (list.length > this.perEntity) list.shift();
    this.byEntity.set(id, list);
    if (this.byEntity.size > this.maxEntities) this.byEntity.delete(this.byEntity.keys().next().value!);
  }
}
