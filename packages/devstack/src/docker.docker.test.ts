import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OWNER_LABEL, removeOrphanedContainers } from './docker.js';
import { isPortListening } from './process.js';
import { startStack } from './stack.js';

// Runs only in the docker suite (vitest.docker.config.ts, the docker phase of scripts/test.sh).

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
/** What a run could leave behind in the engine. */
const engineObjects = () => ({
  containers: docker('ps', '-aq'),
  networks: docker('network', 'ls', '-q'),
  volumes: docker('volume', 'ls', '-q'),
});
/** Host ports Docker published for the containers (IPv4 and IPv6 lines name the same port). */
const mappedPorts = (ids: string[]) => [
  ...new Set(ids.flatMap((id) => docker('port', id).map((line) => Number(line.split(':').at(-1))))),
];

describe('docker mode (testcontainers)', () => {
  const savedEnv = { ...process.env };
  afterEach(() => {
    process.env = { ...savedEnv };
  });

  it('starts both services with testcontainers; stop leaves no container, network, volume or open port', async () => {
    const before = engineObjects();
    const stack = await startStack({ ignoreEnvironment: true, mode: 'docker' });
    expect(stack.mode).toBe('testcontainers');
    const ids = stack.containerIds ?? [];
    expect(ids).toHaveLength(2);
    const ports = mappedPorts(ids);
    expect(ports).toHaveLength(2);
    // The advertised Kafka address is the port Docker mapped, not one we picked.
    expect(ports).toContain(Number(stack.kafkaBrokers.split(':').at(-1)));
    const host = stack.kafkaBrokers.split(':')[0] ?? '';
    for (const port of ports) expect(await isPortListening(port, host)).toBe(true);

    await stack.stop();

    expect(engineObjects()).toEqual(before);
    for (const port of ports) expect(await isPortListening(port, host)).toBe(false);
  });

  it('says what to do when an image is missing and cannot be pulled', async () => {
    process.env.RTML_KAFKA_IMAGE = 'rtml-missing/kafka:0';
    const before = engineObjects();
    await expect(startStack({ ignoreEnvironment: true, mode: 'docker' })).rejects.toThrow(
      new RegExp(
        /pulling rtml-missing\/kafka:0 failed: the image is not in the Docker engine /.source +
          /and cannot be pulled[\s\S]*scripts\/docker-images\.sh[\s\S]*RTML_KAFKA_IMAGE/.source,
      ),
    );
    expect(engineObjects()).toEqual(before);
  });

  it('removes its containers on SIGINT, and a later start removes those of a SIGKILLed process', async () => {
    const before = engineObjects();
    const interrupted = await holdStack();
    interrupted.child.kill('SIGINT');
    const [, signal] = (await once(interrupted.child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe('SIGINT');
    expect(engineObjects()).toEqual(before);

    const killed = await holdStack();
    killed.child.kill('SIGKILL');
    await once(killed.child, 'exit');
    expect(docker('ps', '-aq', '--no-trunc', '--filter', `label=${OWNER_LABEL}`)).toEqual(
      expect.arrayContaining(killed.ids),
    );
    removeOrphanedContainers(); // what the next start does first
    expect(engineObjects()).toEqual(before);
  });
});

/** A child process holding a docker stack, once its containers are up. */
async function holdStack(): Promise<{ child: ReturnType<typeof spawn>; ids: string[] }> {
  const fixture = fileURLToPath(new URL('./testing/hold-docker-stack.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', fixture], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const ready = /READY (.*)\n/.exec(output);
    if (ready?.[1]) return { child, ids: JSON.parse(ready[1]) as string[] };
  }
  throw new Error(`the fixture exited before its stack was ready: ${output}`);
}
