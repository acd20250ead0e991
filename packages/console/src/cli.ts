#!/usr/bin/env node
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  checkConnections,
  explainFailure,
  KAFKA_BROKERS,
  kafkaClient,
  readConnectionSettings,
  REDIS_URL,
  redisClient,
} from '@rtml/connections';
import type { FeatureSet, SourceEvent } from '@rtml/features';
import { environmentWithRecordedStack } from '@rtml/stream';
import { createConsoleApp } from './app.js';
import { ConsoleState, type PipelineInput } from './state.js';

interface CliOptions {
  input: string[];
  namespace: string;
  metrics: string[];
  offlineDir?: string;
  servedLog?: string;
  results: string;
  host: string;
  port: number;
  allowRedrive: boolean;
  intervalMs: number;
}

const DEFAULT_INPUT = 'transactions=packages/features/src/example.ts#userTransactionFeatures';
const DEFAULT_METRICS = 'http://127.0.0.1:9464/metrics';

const whole = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`${name} must be a whole number >= 0, got "${value}"`);
  return n;
};
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function isFeatureSet(value: unknown): value is FeatureSet<SourceEvent> {
  return typeof value === 'object' && value !== null && 'source' in value && 'aggregates' in value && 'name' in value;
}

/** `topic=path/to/module.ts#export` -> the topic and the feature set its processors run. */
async function loadInput(spec: string): Promise<PipelineInput> {
  const match = /^([^=]+)=([^#]+)#(.+)$/.exec(spec);
  if (!match) throw new InvalidArgumentError(`--input expects <topic>=<module path>#<export>, got "${spec}"`);
  const [, topic, path, name] = match as unknown as [string, string, string, string];
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidArgumentError(`--input ${spec}: cannot load ${path} (${(error as Error).message.split('\n')[0]})`);
  }
  const set = module[name];
  if (!isFeatureSet(set))
    throw new InvalidArgumentError(
      `--input ${spec}: ${path} has no feature set export "${name}" (build it with featureSet() from @rtml/features)`,
    );
  return { topic, featureSet: set };
}

async function main(options: CliOptions): Promise<void> {
  const inputs = await Promise.all((options.input.length > 0 ? options.input : [DEFAULT_INPUT]).map(loadInput));
  const connections = readConnectionSettings(await environmentWithRecordedStack());
  await checkConnections(connections);
  const kafka = kafkaClient(connections.kafka, { clientId: 'rtml-console' });
  const redis = redisClient(connections.redis);
  const admin = kafka.admin();
  await admin.connect();
  const state = new ConsoleState(kafka, redis, admin, {
    inputs,
    namespace: options.namespace,
    metricsUrls: options.metrics.length > 0 ? options.metrics : [DEFAULT_METRICS],
    intervalMs: options.intervalMs,
    ...(options.offlineDir === undefined ? {} : { offlineDir: options.offlineDir }),
    ...(options.servedLog === undefined ? {} : { servedLogTopic: options.servedLog }),
  });
  await state.start();
  const app = createConsoleApp({
    state,
    featureSets: inputs,
    resultsFile: options.results,
    allowRedrive: options.allowRedrive,
  });
  const address = await app.listen({ host: options.host, port: options.port }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE')
      throw new InvalidArgumentError(`${options.host}:${options.port} is in use: choose another --port`);
    throw error;
  });
  console.log(`rtml-console: ${address} (re-drive ${options.allowRedrive ? 'ON' : 'off; --allow-redrive enables it'})`);
  const shutdown = async () => {
    await app.close();
    await state.stop();
    await admin.disconnect();
    redis.disconnect();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

const program = new Command('rtml-console')
  .description(
    'The pipeline console: a web page showing topics, processor groups, lag, freshness and dead letters live, ' +
      "re-driving dead letters, and explaining an entity's feature values. " +
      `Reads ${KAFKA_BROKERS} and ${REDIS_URL} (or the stack of \`npm run infra:up\`).`,
  )
  .addOption(
    new Option('--input <topic=module#export>', 'an input topic and the feature set its processors run; repeatable')
      .argParser(collect)
      .default([], DEFAULT_INPUT),
  )
  .option('--namespace <ns>', 'the online store namespace the processors write (their --namespace)', 'demo')
  .addOption(
    new Option('--metrics <url>', "a processor's metrics endpoint; repeatable")
      .argParser(collect)
      .default([], DEFAULT_METRICS),
  )
  .option('--offline-dir <dir>', 'offline store directory, for offline values as of a time on the Entity page')
  .option('--served-log <topic>', "the serving endpoints' served-vector log topic, for the Entity page")
  .option(
    '--results <file>',
    'scenario results file for the Scenario page',
    resolve('.cache/scenario-results/fraud-detection.json'),
  )
  .option(
    '--host <address>',
    'address to listen on; anything but loopback exposes the console to the network',
    '127.0.0.1',
  )
  .option('--port <port>', 'port to listen on (0 = any free port)', whole('--port'), 8090)
  .option('--allow-redrive', 'enable re-driving dead letters to their source topics (the only write)', false)
  .addOption(
    new Option('--interval-ms <ms>', 'how often the pipeline is sampled')
      .argParser(whole('--interval-ms'))
      .default(2_000),
  )
  .action(main);

program.parseAsync().catch((error: unknown) => {
  const usage = error instanceof InvalidArgumentError;
  console.error(`rtml-console: ${usage ? error.message : explainFailure(error)}`);
  process.exit(usage ? 2 : 1);
});
