/** `make crds`: writes crds/*.yaml from the zod schemas in src/api. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CRDS, crdFileName, renderCrdYaml } from './crd.js';

const outDirs = process.argv.slice(2);
for (const dir of outDirs.length > 0 ? outDirs : ['crds']) {
  mkdirSync(dir, { recursive: true });
  for (const def of CRDS) {
    writeFileSync(join(dir, crdFileName(def)), renderCrdYaml(def));
    console.log(`Wrote ${join(dir, crdFileName(def))}`);
  }
}
