// The lint rules of pipeline code, defined once: the monorepo's eslint.config.js builds on `pipelineLintRules`, and
// the project generator copies this file as it is into each generated project, where it is the eslint.config.js.
// Rules that catch bugs, not style (Prettier owns the layout): ESLint's and typescript-eslint's recommended sets with
// type information, plus no import cycles. One layout rule: max-len, for the lines Prettier cannot wrap.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** @type {import('eslint').Linter.Config[]} */
export const pipelineLintRules = defineConfig(
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    // A disable comment that no longer silences anything fails too, so none outlives its reason.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Sources import `./x.js` for `./x.ts` (NodeNext) and workspace packages through their "source" export.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.js'],
          extensionAlias: { '.js': ['.ts', '.js'] },
          conditionNames: ['source', 'types', 'import', 'node', 'default'],
        }),
      ],
    },
    rules: {
      // Prettier's printWidth (.prettierrc.json) holds for what it cannot wrap too: strings, template literals,
      // regexes, comments. Split those by hand (concatenated parts, named pieces). Core rule, deprecated in favour of
      // @stylistic/eslint-plugin's twin but kept until ESLint 11.
      'max-len': ['error', { code: 120 }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // kafkajs and fastify take Promise-returning callbacks; `async` without `await` is the plain way to write one.
      // A missed `await` (the bug this rule is after) is no-floating-promises' and no-misused-promises' job.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Vitest's asymmetric matchers (expect.stringMatching, expect.any, ...) are typed `any` so they fit any field.
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
);

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', '.devstack/'] },
  pipelineLintRules,
  {
    languageOptions: {
      // tsconfig.json covers src/; test/ and vitest.config.ts are linted with its compiler options.
      parserOptions: {
        projectService: { allowDefaultProject: ['*.ts', 'test/*.ts'], defaultProject: 'tsconfig.json' },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  // This file itself: plain JavaScript, linted without type information.
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
);
