import Fastify, { type FastifyInstance } from 'fastify';
import { createOnlineEngine, type SourceEvent } from '@rtml/features';
import { createScorer, type ServingOptions } from './scorer.js';

/**
 * POST /score: body = the raw request event (validated by the schema of the first feature set's source; 400 with
 * the reason if invalid).
 * GET /health: 200 when Redis answers a read, 503 otherwise.
 */
export function createServingApp<E extends SourceEvent>(options: ServingOptions<E>): FastifyInstance {
  const score = createScorer(options);
  const [first] = options.featureSets.featureSets;
  const engine = createOnlineEngine(first);
  const app = Fastify({ logger: false });
  app.post('/score', async (req, reply) => {
    const parsed = engine.parse(req.body);
    if (!parsed.ok) return reply.code(400).send({ error: parsed.reason });
    return score(parsed.event);
  });
  app.get('/health', async (_req, reply) => {
    try {
      await options.store.read(first.name, '__health__');
      return { status: 'ok', model: options.model.name, features: options.model.featureNames.length };
    } catch (error) {
      return reply
        .code(503)
        .send({ status: 'unavailable', error: error instanceof Error ? error.message : String(error) });
    }
  });
  return app;
}
