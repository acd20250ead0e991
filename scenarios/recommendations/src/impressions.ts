import { eventTime } from '@rtml/features';
import { activityEvent, type ActivityEvent } from './events.js';

/** A (user, item, time) impression and its ground-truth label: clicked within the label horizon. */
export interface Impression {
  readonly impressionId: string;
  readonly userId: string;
  readonly itemId: string;
  readonly category: string;
  readonly eventTime: number;
  readonly clicked: boolean;
}

/**
 * The view event an impression is: the request whose request-time features (candidate category, hour) the
 * model sees. Offline it is the labelled view; online the candidate about to be shown.
 */
export function impressionEvent(impression: Omit<Impression, 'clicked'>): ActivityEvent {
  const { impressionId, eventTime: at, ...facts } = impression;
  return {
    ...activityEvent({ ...facts, eventId: impressionId, eventTime: at, type: 'view' }),
    eventTime: eventTime(at),
  };
}
