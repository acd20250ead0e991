/**
 * zod, as the SAME instance the compiled packages use.
 *
 * tslab runs notebook code as CommonJS, so a plain `import { z } from "zod"` loads zod's CommonJS build, while
 * @rtml/features (ESM) loads zod's ESM build: two copies of every class, and the package's `instanceof z.ZodString`
 * checks fail on schemas built in a notebook. Loading zod's ESM entry by file path (Node 20's require(esm))
 * gives the notebook the package's copy.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const req = createRequire(join(process.cwd(), 'notebook.js'));
const esmEntry = join(dirname(req.resolve('zod/package.json')), 'index.js');
export const z: typeof import('zod').z = req(esmEntry).z;
