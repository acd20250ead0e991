import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isoOrEpochMs, processingTime } from '@rtml/features';
import type { OnlineStore } from '@rtml/online-store';
import type { Fallbacks } from '@rtml/ml';
import { createMultiEntityScorer, type ScoreResponse, type ScoringModel, type ServedLog } from '@rtml/serving';
import { recommender } from './features.js';
import { impressionEvent } from './impressions.js';

/** POST /recommend: score a user's candidate items at `eventTime` (epoch ms or ISO with offset). */
export const recommendRequest = z.object({
  requestId: z.string().min(1),
  eventTime: isoOrEpochMs,
  userId: z.string().min(1),
  candidates: z.array(z.object({ itemId: z.string().min(1), category: z.string().min(1) })).min(1),
});
export type RecommendRequest = z.input<typeof recommendRequest>;

export interface RankedCandidate extends ScoreResponse {
  readonly itemId: string;
}

export interface RecommendResponse {
  readonly requestId: string;
  readonly userId: string;
  /** Highest score first; every candidate with its feature values, freshness and fallbacks. */
  readonly ranked: readonly RankedCandidate[];
}

export interface RecommendationAppOptions {
  readonly store: OnlineStore;
  readonly model: ScoringModel;
  readonly fallbacks: Fallbacks;
  readonly log?: ServedLog;
  /** Read features as of the request's event time (replays) instead of the wall clock. */
  readonly replayClock?: boolean;
}

export function createRecommendationApp(options: RecommendationAppOptions): FastifyInstance {
  const score = createMultiEntityScorer({ ...options, featureSets: recommender });
  const app = Fastify({ logger: false });
  app.post('/recommend', async (req, reply): Promise<RecommendResponse | undefined> => {
    const parsed = recommendRequest.safeParse(req.body);
    if (!parsed.success)
      return reply
        .code(400)
        .send({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    const { requestId, eventTime, userId, candidates } = parsed.data;
    // Each candidate is scored as the view it would become: the same request event the training rows used.
    const requests = candidates.map((c) =>
      impressionEvent({
        impressionId: `${requestId}:${c.itemId}`,
        userId,
        itemId: c.itemId,
        category: c.category,
        eventTime,
      }),
    );
    const scored = await score(requests, options.replayClock ? processingTime(eventTime) : processingTime(Date.now()));
    const ranked = scored.map((s, i) => ({ ...s, itemId: candidates[i]!.itemId })).sort((a, b) => b.score - a.score);
    return { requestId, userId, ranked };
  });
  app.get('/health', async () => ({
    status: 'ok',
    model: options.model.name,
    features: options.model.featureNames.length,
  }));
  return app;
}
