/**
 * Start-up time of the dev stack per mode: time until Kafka answers a metadata request and Redis a PING, and the
 * time `stop()` takes. Not part of bench/run.sh (the docker mode needs an engine; see packages/devstack/README.md).
 *
 *   npx tsx --conditions=source bench/devstack-start.ts --mode native --runs 3
 *   DOCKER_HOST=... RTML_REDIS_IMAGE=... RTML_KAFKA_IMAGE=... \
 *     npx tsx --conditions=source bench/devstack-start.ts --mode docker
 */
import { startStack, MODE_SETTINGS, type ModeSetting } from '@rtml/devstack';
import { Option } from 'commander';
import { benchCommand, parseCommand } from './lib/args.js';

const command = benchCommand(
  'Start-up and stop time of the dev stack per mode (starts and stops its own stacks)',
  '  DOCKER_HOST, RTML_REDIS_IMAGE, RTML_KAFKA_IMAGE  for --mode docker',
)
  .addOption(
    new Option('--mode <mode>', 'where the services come from')
      .choices(MODE_SETTINGS.filter((m) => m !== 'env'))
      .default('native'),
  )
  .option('--runs <n>', 'stacks started one after another', '3');
const args = parseCommand(command);
const mode = args.string('mode') ?? 'native';
const runs = args.size('runs', 3, 3);

const seconds = (ms: number) => (ms / 1000).toFixed(1);
for (let run = 1; run <= runs; run++) {
  const started = performance.now();
  const stack = await startStack({ ignoreEnvironment: true, mode: mode as ModeSetting });
  const ready = performance.now();
  await stack.stop();
  console.log(
    `${mode} run ${run}: ready in ${seconds(ready - started)} s, stopped in ${seconds(performance.now() - ready)} s`,
  );
}
