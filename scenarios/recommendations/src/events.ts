import { z } from 'zod';
import { entity, isoOrEpochMs, source } from '@rtml/features';

export const EVENT_TYPES = ['view', 'click', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * One clickstream event. `view` / `click` / `purchase` (0 or 1) and `clickedCategory` / `clickedItem` (null
 * unless a click) are derived from `type`: the feature DSL has no per-aggregate filter, so "clicks in 30 min"
 * is `sum('click')` and "last clicked categories" is `lastK('clickedCategory')` (lastK skips nulls).
 * Build events with `activityEvent` only, which derives them, so they cannot disagree with `type`.
 */
const activitySchema = z.object({
  eventId: z.string().min(1),
  eventTime: isoOrEpochMs,
  type: z.enum(EVENT_TYPES),
  userId: z.string().min(1),
  itemId: z.string().min(1),
  category: z.string().min(1),
  view: z.number().int().min(0).max(1),
  click: z.number().int().min(0).max(1),
  purchase: z.number().int().min(0).max(1),
  clickedCategory: z.string().nullable(),
  clickedItem: z.string().nullable(),
});

/** One stream of events, two entities: the feature sets are per user (the request's) and per item (the candidate's). */
export const activity = source('activity', activitySchema);
export const user = entity({ name: 'user', key: 'userId' });
export const item = entity({ name: 'item', key: 'itemId' });

export type ActivityEvent = z.output<typeof activitySchema>;
/** What is sent over Kafka and written to the events file: event time as epoch ms. */
export type RawActivityEvent = z.input<typeof activitySchema> & { readonly eventTime: number };

export interface ActivityFacts {
  readonly eventId: string;
  readonly eventTime: number;
  readonly type: EventType;
  readonly userId: string;
  readonly itemId: string;
  readonly category: string;
}

export function activityEvent(facts: ActivityFacts): RawActivityEvent {
  const isClick = facts.type === 'click';
  return {
    ...facts,
    view: facts.type === 'view' ? 1 : 0,
    click: isClick ? 1 : 0,
    purchase: facts.type === 'purchase' ? 1 : 0,
    clickedCategory: isClick ? facts.category : null,
    clickedItem: isClick ? facts.itemId : null,
  };
}
