import Fastify, { type FastifyInstance } from 'fastify';
import { createScorer, type ServingOptions } from './scorer.js';
import type { SourceEvent } from '@rtml/features';

/**
 * POST /score: body = the raw request event (validated by the engine's schema; 400 with the reason if invalid).
 * GET /health: 200 when Redis answers a read, 503 otherwise.
 */
export function createServingApp<E extends SourceEvent>(options: ServingOptions<E>): FastifyInstance {
  const score = createScorer(options);
  const app = Fastify({ logger: false });
  app.post('/score', async (req, reply) => {
    const parsed = options.engine.parse(req.body);
    if (!parsed.ok) return reply.code(400).send({ error: parsed.reason });
    return score(parsed.event);
  });
  app.get('/health', async (_req, reply) => {
    try {
      await options.store.read(options.engine.featureSet.name, '__health__');
      return { status: 'ok', model: options.model.name, features: options.model.featureNames.length };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', error: error instanceof Error ? error.message : String(error) });
    }
  });
  return app;
}
