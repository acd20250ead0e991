// Test fixture: starts a docker-mode stack, prints its container ids, then waits to be signalled or killed
// (docker.test.ts checks what each way of ending leaves behind).
import { startStack } from '../stack.js';

const stack = await startStack({ ignoreEnvironment: true, mode: 'docker' });
process.stdout.write(`READY ${JSON.stringify(stack.containerIds)}\n`);
setInterval(() => undefined, 60_000);
