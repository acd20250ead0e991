// Generators for rtml pipelines:
//   npx plop --plopfile templates/plopfile.js <project|scenario|feature> [-- --name value ...]
// Answers come from flags after `--`, a JSON file (`-- --answers answers.json`) or prompts; all are validated before
// any file is written, so a bad answer leaves nothing behind.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectAnswers, validateAnswers } from './lib/answers.js';
import {
  AGGREGATIONS,
  FEATURES_MARKER,
  aggregateExpression,
  checkFeatureTarget,
  checkField,
  checkWindow,
  existingFeatureNames,
  featuresFile,
} from './lib/features-file.js';
import {
  camelCase,
  checkFree,
  checkKebabName,
  checkSnakeName,
  kebabCase,
  pascalCase,
  snakeCase,
  workspaceNames,
} from './lib/names.js';

const TEMPLATES = dirname(fileURLToPath(import.meta.url));
const REPO = dirname(TEMPLATES);
/**
 * The packages a project links (devstack for its test setup), including the ones they depend on (kafka, synthetic):
 * npm would look for those in the registry otherwise.
 */
export const RTML_PACKAGES = [
  'connections',
  'devstack',
  'kafka',
  'synthetic',
  'features',
  'ml',
  'offline-store',
  'online-store',
  'serving',
  'stream',
];

const checkCheckout = (dir) =>
  existsSync(join(dir, 'packages', 'features', 'package.json'))
    ? true
    : `${dir} is not an rtml checkout (no packages/features/package.json)`;

const entityQuestion = {
  name: 'entity',
  message: 'Entity the features are keyed by (snake_case)',
  default: 'user',
  validate: checkSnakeName,
};

/** Where the user ran the command: npm scripts run in the package root, INIT_CWD keeps the caller's folder. */
const callerDir = () => process.env.INIT_CWD ?? process.cwd();
/** The caller's folder, unless that is this checkout (or inside it): then next to the checkout, never into it. */
const defaultProjectDir = () => (relative(REPO, callerDir()).startsWith('..') ? callerDir() : dirname(REPO));
const checkDir = (dir) => (existsSync(dir) && !statSync(dir).isDirectory() ? `${dir} is a file, not a folder` : true);

const projectQuestions = [
  // Relative folders resolve against the caller's folder; missing ones are created with the project.
  {
    name: 'dir',
    message: 'Folder to create the project in (created if missing)',
    default: () => defaultProjectDir(),
    validate: (dir) => checkDir(resolve(callerDir(), dir)),
  },
  {
    name: 'name',
    message: 'Project name (kebab-case)',
    default: 'my-pipeline',
    validate: (name, a) => {
      const ok = checkKebabName(name);
      return ok !== true ? ok : checkFree(resolve(callerDir(), a.dir, name));
    },
  },
  entityQuestion,
  {
    name: 'rtml',
    message: 'rtml checkout to link the packages from',
    default: REPO,
    hidden: true,
    validate: checkCheckout,
  },
];

const scenarioQuestions = [
  { name: 'root', message: 'Monorepo root', default: REPO, hidden: true, validate: checkCheckout },
  {
    name: 'name',
    message: 'Scenario name (kebab-case)',
    default: 'my-scenario',
    validate: (name, a) => {
      const ok = checkKebabName(name);
      if (ok !== true) return ok;
      if (workspaceNames(a.root).includes(name))
        return `a workspace named "${name}" already exists (packages/ or scenarios/)`;
      return checkFree(join(a.root, 'scenarios', name));
    },
  },
  entityQuestion,
];

const featureTargetOf = (a) => (/[/\\.]/.test(a.into) ? resolve(a.into) : join(a.root, 'scenarios', a.into));
const featureQuestions = [
  { name: 'root', message: 'Monorepo root', default: REPO, hidden: true, validate: checkCheckout },
  {
    name: 'into',
    message: 'Scenario name (or path of a generated project)',
    validate: (into, a) => checkFeatureTarget(featureTargetOf({ ...a, into })),
  },
  {
    name: 'name',
    message: 'Feature name (snake_case)',
    validate: (name, a) => {
      const ok = checkSnakeName(name);
      if (ok !== true) return ok;
      return existingFeatureNames(featureTargetOf(a)).has(name)
        ? `feature "${name}" already exists in ${featuresFile(featureTargetOf(a))}`
        : true;
    },
  },
  { name: 'aggregation', message: 'Aggregation', type: 'list', choices: AGGREGATIONS, default: 'count' },
  {
    name: 'field',
    message: 'Event field to aggregate',
    when: (a) => a.aggregation !== 'count',
    default: 'amount',
    validate: (field, a) => checkField(featureTargetOf(a), a.aggregation, field),
  },
  {
    name: 'k',
    message: 'How many latest values to keep',
    type: 'number',
    when: (a) => a.aggregation === 'lastK',
    default: 3,
    validate: (k) => (Number.isSafeInteger(k) && k >= 1 && k <= 100 ? true : 'must be a whole number from 1 to 100'),
  },
  { name: 'window', message: 'Window: lifetime or a sliding size (30m, 2h, 7d)', default: '1h', validate: checkWindow },
];

/** First action of every generator: re-checks the complete answers, so nothing is written when any is bad. */
const validationAction = (generator, questions) => async (answers) => {
  await validateAnswers(generator, questions, answers);
  return 'answers are valid';
};

/** Last action of a generator: what to run next, printed by plop after the files it wrote. */
const nextSteps = (lines) => () => `next steps:\n${lines.map((line) => `    ${line}`).join('\n')}`;

/** Template data shared by the project and scenario templates. */
function pipelineData(a) {
  const entity = snakeCase(a.entity);
  return {
    featureSetName: `${snakeCase(a.name)}_${entity}`,
    entityKey: `${camelCase(entity)}Id`,
    eventTypeName: `${pascalCase(a.name)}Event`,
    // events.* / processor.* / dlq.* fit the secure devstack's least-privilege ACLs
    // (packages/devstack README, "Secure mode").
    topic: `events.${a.name}`,
    namespace: a.name,
  };
}

const files = (destination, base) => ({
  type: 'addMany',
  destination,
  base,
  templateFiles: `${base}/**/*`,
  globOptions: { dot: true },
  stripExtensions: ['hbs'],
  abortOnFail: true,
});

/** Adds `scenarios/<name>` to the root tsconfig.json references, so `npm run build` (tsc -b) builds it. */
function addReference(a) {
  const file = join(a.root, 'tsconfig.json');
  if (!existsSync(file)) return 'no root tsconfig.json: nothing to reference';
  const config = JSON.parse(readFileSync(file, 'utf8'));
  const path = `scenarios/${a.name}`;
  config.references = [...(config.references ?? []).filter((r) => r.path !== path), { path }];
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return `${file}: references ${path}`;
}

export default function (plop) {
  plop.setHelper('kebabCase', kebabCase);
  plop.setHelper('snakeCase', snakeCase);
  plop.setHelper('camelCase', camelCase);
  plop.setHelper('pascalCase', pascalCase);
  plop.setHelper('json', (value) => JSON.stringify(value));
  plop.setHelper('eq', (x, y) => x === y);
  plop.setHelper('concat', (...parts) => parts.slice(0, -1).join(''));
  for (const file of readdirSync(join(TEMPLATES, 'partials'))) {
    plop.setPartial(file.replace(/\.hbs$/, ''), readFileSync(join(TEMPLATES, 'partials', file), 'utf8'));
  }

  plop.setGenerator('project', {
    description: "a standalone pipeline project (own package.json linking this checkout's packages)",
    prompts: async (inquirer) => collectAnswers('project', projectQuestions, inquirer),
    actions: (a) => {
      const target = resolve(callerDir(), a.dir, a.name);
      const rtml = resolve(a.rtml);
      const data = { ...pipelineData(a), kind: 'project', target, rtml, rtmlPackages: RTML_PACKAGES };
      return [
        validationAction('project', projectQuestions),
        { ...files(target, join(TEMPLATES, 'pipeline')), data },
        { ...files(target, join(TEMPLATES, 'project')), data },
        // The monorepo's lint rules, one file: the project's eslint.config.js (`npm run lint`).
        {
          type: 'add',
          path: join(target, 'eslint.config.js'),
          templateFile: join(TEMPLATES, 'lib', 'eslint-config.js'),
          abortOnFail: true,
        },
        nextSteps([
          `cd ${target}`,
          `(cd ${rtml} && npm run setup)   # once: builds the @rtml packages this project installs`,
          'npm install',
          'npm test    # end to end on real Kafka + Redis',
          'npm start   # train, produce, stream (Ctrl-C stops)',
          'see README.md for each script and a /score request',
        ]),
      ];
    },
  });

  plop.setGenerator('scenario', {
    description: 'a scenarios/<name> workspace: events, features, stream, training, serving and an end-to-end test',
    prompts: async (inquirer) => collectAnswers('scenario', scenarioQuestions, inquirer),
    actions: (a) => {
      const target = join(resolve(a.root), 'scenarios', a.name);
      const data = { ...pipelineData(a), kind: 'scenario', target };
      return [
        validationAction('scenario', scenarioQuestions),
        { ...files(target, join(TEMPLATES, 'pipeline')), data },
        { ...files(target, join(TEMPLATES, 'scenario')), data },
        { type: 'addReference', abortOnFail: true },
        nextSteps([
          'npm install   # links the new workspace',
          `npx vitest run scenarios/${a.name}   # its end-to-end test (needs the stack: npm run infra:up)`,
          `scenarios/${a.name}/README.md: run it, serve it, add features`,
        ]),
      ];
    },
  });
  plop.setActionType('addReference', (a) => addReference({ ...a, root: resolve(a.root) }));

  plop.setGenerator('feature', {
    description: "a feature added to a scenario's (or project's) feature set, with its offline/online parity test",
    prompts: async (inquirer) => collectAnswers('feature', featureQuestions, inquirer),
    actions: (a) => {
      const target = featureTargetOf(a);
      const parityTest = join(target, 'src', 'parity', `${a.name}.test.ts`);
      const data = { expression: aggregateExpression(a), marker: FEATURES_MARKER };
      return [
        validationAction('feature', featureQuestions),
        {
          type: 'add',
          path: parityTest,
          templateFile: join(TEMPLATES, 'feature', 'parity.test.ts.hbs'),
          data,
          abortOnFail: true,
        },
        {
          type: 'modify',
          path: featuresFile(target),
          pattern: new RegExp(`^([ \\t]*)(${FEATURES_MARKER.replace(/[/]/g, '\\/')})`, 'm'),
          template: `$1${'{{{name}}}'}: {{{expression}}},\n$1$2`,
          data,
          abortOnFail: true,
        },
        nextSteps([
          `npx vitest run ${relative(callerDir(), join(target, 'src', 'parity', `${a.name}.test.ts`)) || '.'}` +
            `   # its offline/online parity test`,
          `list "${a.name}" in modelFeatures' features (${relative(callerDir(), featuresFile(target))}) to ` +
            `feed it to the model`,
        ]),
      ];
    },
  });
}
