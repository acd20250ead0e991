import { afterEach, expect, it } from 'vitest';
import { startStack } from './stack.js';

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
});

it('rejects an unknown RTML_DEVSTACK_MODE, naming the valid ones', async () => {
  process.env.RTML_DEVSTACK_MODE = 'podman';
  await expect(startStack({ ignoreEnvironment: true })).rejects.toThrow(
    'RTML_DEVSTACK_MODE=podman is not a mode: use native, docker, env',
  );
});

it('env mode starts nothing and says which variables to set', async () => {
  process.env.RTML_DEVSTACK_MODE = 'env';
  delete process.env.KAFKA_BROKERS;
  delete process.env.REDIS_URL;
  await expect(startStack()).rejects.toThrow('RTML_DEVSTACK_MODE=env: set KAFKA_BROKERS and REDIS_URL');
  process.env.KAFKA_BROKERS = '127.0.0.1:1';
  process.env.REDIS_URL = 'redis://127.0.0.1:1';
  expect((await startStack()).mode).toBe('environment');
});

it('docker mode fails clearly, instead of falling back to native processes, without a Docker engine', async () => {
  process.env.RTML_DEVSTACK_MODE = 'docker';
  process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
  await expect(startStack({ ignoreEnvironment: true })).rejects.toThrow(
    'RTML_DEVSTACK_MODE=docker: no Docker engine answers',
  );
});
