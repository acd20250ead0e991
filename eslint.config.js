// ESLint for the whole monorepo: `npm run lint` (scripts/test.sh runs it after the type check). The rules are the
// generated projects' (templates/lib/eslint-config.js); this file says which files and which TypeScript program.
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { pipelineLintRules } from './templates/lib/eslint-config.js';

export default defineConfig(
  // .hbs templates are not TypeScript: what they generate is linted by the generator tests (`npm run lint` there).
  {
    ignores: [
      '**/dist/',
      '**/node_modules/',
      'coverage/',
      '.cache/',
      '.devstack/',
      '**/.venv/', // Python environments (Jupyter, the Feast reference of the bench)
      'bench/.results/',
      '**/.data/',
    ],
  },
  pipelineLintRules,
  {
    // The workspace packages are this repository's own code: import cycles through them count too.
    settings: { 'import-x/internal-regex': '^@rtml/' },
    languageOptions: {
      globals: globals.node,
      // The type check's program (sources, tests, benches, the generator test): one program for every linted .ts file.
      parserOptions: { project: './tsconfig.tests.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // Plain JavaScript and the notebooks' and labs' helpers (compiled by the tslab kernel with its own TypeScript and
    // module resolution, outside that program) are linted without type information.
    files: ['**/*.js', '**/*.mjs', 'notebooks/lib/**/*.ts', 'workshop/labs/lib/**/*.ts'],
    languageOptions: { parserOptions: { project: false } },
    extends: [tseslint.configs.disableTypeChecked],
  },
  // The workshop's tools have their own program (bundler resolution, as the kernel's lab helpers they import).
  {
    files: ['workshop/tools/**/*.ts'],
    languageOptions: { parserOptions: { project: './workshop/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
  },
  // Pages' scripts run in the browser.
  { files: ['packages/*/static/**/*.js'], languageOptions: { globals: globals.browser } },
);
