#!/usr/bin/env node
// The cost of a new feature set in the generated pipeline (templates/pipeline/src), at a git revision:
//   node scripts/feature-set-cost.mjs [rev ...]      (default: HEAD; e.g. `9970fa7 HEAD` for before/after #13)
// 1. names: distinct names imported from @rtml/* packages, in all files and in the non-test ones (what a newcomer
//    reads to find their way);
// 2. files to touch to add a second feature set with its own source: events.ts (its schema), features.ts (its
//    definition) and every other non-test file that imports the ONE set (`features`) rather than the model's
//    feature service, since each such file handles the sets one by one;
// 3. name registrations: places outside features.ts that list a feature set or model features by name
//    (`[features.name]`, `featureSets: [features.name]`, `MODEL_FEATURES`, `contextFeatureSets`).
import { execFileSync } from 'node:child_process';

const DIR = 'templates/pipeline/src';
const git = (...args) => execFileSync('git', args, { encoding: 'utf8' });

function cost(rev) {
  const files = git('ls-tree', '-r', '--name-only', rev, DIR).split('\n').filter(Boolean);
  const text = new Map(files.map((file) => [file.slice(DIR.length + 1), git('show', `${rev}:${file}`)]));
  const names = { all: new Set(), nonTest: new Set() };
  for (const [file, source] of text) {
    for (const match of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'@rtml\/[^']+'/g)) {
      for (const name of match[1]
        .split(',')
        .map((n) => n.replace(/^\s*type\s+/, '').trim())
        .filter(Boolean)) {
        names.all.add(name);
        if (!file.includes('.test.')) names.nonTest.add(name);
      }
    }
  }
  const nonTest = [...text].filter(([file]) => !file.includes('.test.'));
  const importsTheSet = (source) => /import\s+\{[^}]*\bfeatures\b[^}]*\}\s+from\s+'\.\/features\.js'/.test(source);
  const perSet = nonTest.filter(([, source]) => importsTheSet(source)).map(([file]) => file);
  const touched = ['events.ts.hbs', 'features.ts.hbs', ...perSet];
  const registration = /\[features\.name\]|featureSets:\s*\[features\.name\]|MODEL_FEATURES|contextFeatureSets/g;
  const registrations = nonTest
    .filter(([file]) => file !== 'features.ts.hbs')
    .flatMap(([file, source]) => [...source.matchAll(registration)].map((m) => `${file}: ${m[0]}`));
  return { rev, names, touched, registrations };
}

for (const rev of process.argv.length > 2 ? process.argv.slice(2) : ['HEAD']) {
  const { names, touched, registrations } = cost(rev);
  console.log(`== ${rev}`);
  console.log(`@rtml names: ${names.all.size} in all files, ${names.nonTest.size} outside tests`);
  console.log(`  ${[...names.nonTest].sort().join(', ')}`);
  const files = touched.map((f) => f.replace('.hbs', '')).join(', ');
  console.log(`files to touch for a second feature set: ${touched.length} (${files})`);
  const where = registrations.length ? ` (${registrations.join('; ')})` : '';
  console.log(`registrations by name outside features.ts: ${registrations.length}${where}`);
}
