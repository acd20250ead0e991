import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Unit tests of the bench helpers and command lines (no speed assertions, no services):
 *   npx vitest run --config bench/vitest.config.ts
 */
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: ['bench/**/*.test.ts'],
    exclude: ['bench/.venv/**', 'bench/.data/**'],
    testTimeout: 60_000,
    root: fileURLToPath(new URL('..', import.meta.url)),
  },
});
