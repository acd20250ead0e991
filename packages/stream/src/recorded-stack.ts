type Devstack = typeof import('@rtml/devstack');

/**
 * The environment the CLI reads its settings from, with the endpoints of a stack left by `npm run infra:up`
 * filled in when `@rtml/devstack` is installed. It is an optional peer dependency, a development convenience: a
 * deployed processor reads KAFKA_BROKERS / REDIS_URL alone and installs no dev stack. `devstack` names the module
 * to load (tests pass one that is not installed).
 */
export async function environmentWithRecordedStack(devstack = '@rtml/devstack'): Promise<NodeJS.ProcessEnv> {
  let module: Devstack;
  try {
    module = (await import(devstack)) as Devstack;
  } catch (error) {
    // Only its absence is expected; a broken install (a dependency of it missing) still fails loudly.
    if (isNotFound(error, devstack)) return process.env;
    throw error;
  }
  return module.withRecordedStack();
}

function isNotFound(error: unknown, specifier: string): boolean {
  return (
    error instanceof Error &&
    (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
    error.message.includes(`'${specifier}'`)
  );
}
