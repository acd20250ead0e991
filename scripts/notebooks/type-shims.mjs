// tslab type-checks notebook cells with TypeScript 5.0 and `moduleResolution: node10`, which ignores
// package.json "exports". Our workspace packages declare their types only under "exports", so
// `import { x } from "@rtml/features"` would not type-check inside a notebook (it runs fine: Node
// resolves "exports" -> dist/index.js). For every @rtml/* workspace package, this writes
// notebooks/node_modules/@rtml/<name>.d.ts (and workshop/node_modules/…, for the labs) re-exporting the package's
// dist/index.d.ts, which node10
// resolution finds first. Generated, gitignored (node_modules/). Unneeded once each package.json has a
// top-level "types": "./dist/index.d.ts".
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const written = [];
for (const dir of ['notebooks', 'workshop'])
  if (existsSync(join(root, dir))) writeShims(join(root, dir, 'node_modules', '@rtml'));
console.error(`[notebooks] type shims for ${[...new Set(written)].join(', ')}`);

function writeShims(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const ws of ['packages', 'scenarios']) {
    const base = join(root, ws);
    if (!existsSync(base)) continue;
    for (const dir of readdirSync(base)) {
      const pj = join(base, dir, 'package.json');
      if (!existsSync(pj)) continue;
      const { name } = JSON.parse(readFileSync(pj, 'utf8'));
      if (!name?.startsWith('@rtml/')) continue;
      const short = name.slice('@rtml/'.length);
      const target = relative(outDir, join(base, dir, 'dist', 'index.js'));
      writeFileSync(join(outDir, `${short}.d.ts`), `export * from ${JSON.stringify(target)};\n`);
      written.push(name);
    }
  }
  // `import * as tslab from "tslab"` (display helpers): the kernel hooks require("tslab") itself; the types
  // come from the kernel's own install in scripts/notebooks/kernel.
  const tslabTypes = join(root, 'scripts', 'notebooks', 'kernel', 'node_modules', 'tslab', 'dist', 'public.js');
  writeFileSync(
    join(outDir, '..', 'tslab.d.ts'),
    `export * from ${JSON.stringify(relative(join(outDir, '..'), tslabTypes))};\n`,
  );
}
