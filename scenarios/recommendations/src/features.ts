import {
  distinctCount,
  duration,
  featureService,
  featureSet,
  lastK,
  sliding,
  sum,
  transform,
  type FeatureValue,
} from '@rtml/features';
import { activity, item, user, type ActivityEvent } from './events.js';

const m30 = sliding(duration.minutes(30));
const h1 = sliding(duration.hours(1));
const h24 = sliding(duration.hours(24));

/** Smoothed click-through rate: a user or item with no views gets the prior, not 0/0. */
function ctr(clicks: FeatureValue, views: FeatureValue): FeatureValue {
  return typeof clicks === 'number' && typeof views === 'number' ? (clicks + 1) / (views + 20) : null;
}

function contains(list: FeatureValue, value: FeatureValue): FeatureValue {
  if (value === null) return null;
  return Array.isArray(list) && (list as readonly unknown[]).includes(value) ? 1 : 0;
}

const hourOf = (event: ActivityEvent) => new Date(event.eventTime).getUTCHours();

/** Two days old is stale (served as fallbacks, joined as NULL for training); an idle entity leaves Redis after 3. */
const lifetimes = { maxAge: duration.days(2), onlineExpiry: duration.days(3) };

/**
 * Per user, keyed by userId. The request features read the candidate impression (a `view` event for the
 * candidate item): offline the labelled impression itself, online the candidate being scored.
 */
export const userActivity = featureSet({
  name: 'user_activity',
  entity: user,
  source: activity,
  ...lifetimes,
  features: {
    views_30m: sum('view', { window: m30, default: 0 }),
    clicks_30m: sum('click', { window: m30, default: 0 }),
    views_24h: sum('view', { window: h24, default: 0 }),
    clicks_24h: sum('click', { window: h24, default: 0 }),
    categories_24h: distinctCount('category', { window: h24 }),
    last_click_categories: lastK('clickedCategory', 5),
    last_click_items: lastK('clickedItem', 5),
  },
  requestFeatures: {
    candidate_category: (event) => event.category,
    candidate_item: (event) => event.itemId,
    hour_of_day: (event) => hourOf(event),
    hour_sin: (event) => Math.sin((2 * Math.PI * hourOf(event)) / 24),
    hour_cos: (event) => Math.cos((2 * Math.PI * hourOf(event)) / 24),
  },
  transforms: {
    user_ctr_24h: transform(['clicks_24h', 'views_24h'], ctr),
    category_in_last_clicks: transform(['last_click_categories', 'candidate_category'], contains),
    item_in_last_clicks: transform(['last_click_items', 'candidate_item'], contains),
  },
});

/** Per item, keyed by itemId: popularity that drifts, so only recent windows track it. */
export const itemPopularity = featureSet({
  name: 'item_popularity',
  entity: item,
  source: activity,
  ...lifetimes,
  features: {
    item_views_1h: sum('view', { window: h1, default: 0 }),
    item_clicks_1h: sum('click', { window: h1, default: 0 }),
    item_views_24h: sum('view', { window: h24, default: 0 }),
    item_clicks_24h: sum('click', { window: h24, default: 0 }),
    item_purchases_24h: sum('purchase', { window: h24, default: 0 }),
  },
  transforms: {
    item_ctr_1h: transform(['item_clicks_1h', 'item_views_1h'], ctr),
    item_ctr_24h: transform(['item_clicks_24h', 'item_views_24h'], ctr),
  },
});

/** The ranking model's sets; its inputs, in row order, are their numeric values (strings and lists are for display). */
export const recommender = featureService({
  name: 'recommender',
  featureSets: [userActivity, itemPopularity],
  features: [
    'views_30m',
    'clicks_30m',
    'clicks_24h',
    'categories_24h',
    'user_ctr_24h',
    'category_in_last_clicks',
    'item_in_last_clicks',
    'hour_sin',
    'hour_cos',
    'item_clicks_1h',
    'item_views_1h',
    'item_ctr_1h',
    'item_ctr_24h',
    'item_purchases_24h',
  ],
});
