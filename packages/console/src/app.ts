import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ConsoleState, PipelineInput } from './state.js';
import { explainEntity } from './entity.js';
import { describeFeatureSet } from './feature-sets.js';
import { readScenarioResults } from './scenario-results.js';

const STATIC_DIR = new URL('../static/', import.meta.url);
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/** Nothing but our own files may run or load: a payload that slipped past escaping still could not execute. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

const redriveBody = z.object({
  letters: z
    .array(z.object({ id: z.string().min(1), value: z.string().optional() }))
    .min(1)
    .max(500),
});

export interface ConsoleAppOptions {
  readonly state: ConsoleState;
  readonly featureSets: readonly PipelineInput[];
  readonly resultsFile: string;
  readonly allowRedrive: boolean;
}

export function createConsoleApp(options: ConsoleAppOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const { state } = options;
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  app.get('/', (_request, reply) => sendAsset(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/static/:file', (request, reply) => sendAsset(reply, request.params.file));

  app.get('/api/config', async () => ({ allowRedrive: options.allowRedrive, ...state.describe() }));
  app.get('/api/pipeline', async () => ({ history: state.monitor.history }));
  // Open event streams would hold app.close() forever: they are ended first.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });
  app.get('/api/events', (request, reply) => streamSamples(request, reply, state, streams));
  app.get<{ Querystring: { reason?: string; limit?: string } }>('/api/dead-letters', async (request) => ({
    counts: state.letters.countsByReason(),
    letters: state.letters.list({
      reason: request.query.reason || undefined,
      limit: Math.min(1_000, Number(request.query.limit ?? 200) || 200),
    }),
  }));
  app.post('/api/redrive', async (request, reply) => redrive(request, reply, options));
  app.get<{ Params: { id: string }; Querystring: { asOf?: string } }>('/api/entity/:id', async (request, reply) => {
    const asOf = parseTime(request.query.asOf);
    if (asOf === undefined)
      return reply.code(400).send({ error: `asOf must be an ISO-8601 time or epoch ms, got "${request.query.asOf}"` });
    return explainEntity(state.entityLookup(), request.params.id, asOf);
  });
  app.get('/api/feature-sets', async () =>
    options.featureSets.map(({ topic, featureSet }) => describeFeatureSet(featureSet, topic)),
  );
  app.get('/api/scenario', async () => readScenarioResults(options.resultsFile));
  return app;
}

async function sendAsset(reply: FastifyReply, file: string): Promise<FastifyReply> {
  const type = ASSETS[file];
  if (type === undefined) return reply.code(404).send({ error: 'not found' });
  return reply.type(type).send(await readFile(new URL(file, STATIC_DIR)));
}

/** `asOf` from the query: absent = now; ISO-8601 or epoch ms; undefined = malformed. */
export function parseTime(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return Date.now();
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Server-sent events: the history once, then every new sample until the page goes away. */
function streamSamples(
  request: FastifyRequest,
  reply: FastifyReply,
  state: ConsoleState,
  streams: Set<ServerResponse>,
): void {
  reply.hijack();
  const raw: ServerResponse = reply.raw;
  streams.add(raw);
  raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    ...SECURITY_HEADERS,
  });
  raw.write(`event: history\ndata: ${JSON.stringify(state.monitor.history)}\n\n`);
  const unsubscribe = state.onSample((sample) => raw.write(`event: sample\ndata: ${JSON.stringify(sample)}\n\n`));
  request.raw.on('close', () => {
    unsubscribe();
    streams.delete(raw);
  });
}

async function redrive(request: FastifyRequest, reply: FastifyReply, options: ConsoleAppOptions): Promise<unknown> {
  if (!options.allowRedrive)
    return reply.code(403).send({ error: 're-drive is off: start the console with --allow-redrive to enable it' });
  // A page of another site may POST to a loopback port: only our own page may write.
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${request.headers.host}`)
    return reply.code(403).send({ error: `re-drive refused from origin ${origin}` });
  const body = redriveBody.safeParse(request.body);
  if (!body.success) return reply.code(400).send({ error: z.prettifyError(body.error) });
  try {
    return { outcomes: await options.state.redriver.redrive(body.data.letters) };
  } catch (error) {
    return reply.code(502).send({ error: `re-drive failed, nothing was sent: ${(error as Error).message}` });
  }
}
