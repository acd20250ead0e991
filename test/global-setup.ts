import type { TestProject } from 'vitest/node';
import { startStack, type RunningStack } from '@rtml/devstack';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    redisUrl: string;
  }
}

let stack: RunningStack | undefined;

/** Vitest global setup: one stack per test run, shared by every test file, stopped at the end. */
export async function setup(project: TestProject): Promise<void> {
  stack = await startStack();
  // Workers inherit the environment, so code that resolves endpoints itself finds the same stack.
  process.env.KAFKA_BROKERS = stack.kafkaBrokers;
  process.env.REDIS_URL = stack.redisUrl;
  project.provide('kafkaBrokers', stack.kafkaBrokers);
  project.provide('redisUrl', stack.redisUrl);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
}
