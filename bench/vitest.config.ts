import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Unit tests of the bench helpers (no speed assertions): npx vitest run --config bench/vitest.config.ts */
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: { include: ['bench/lib/**/*.test.ts'], root: fileURLToPath(new URL('..', import.meta.url)) },
});
