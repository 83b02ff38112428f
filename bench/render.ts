/**
 * Re-renders a results document after a change of the report code, without running anything:
 * reads `bench/results/<date>.json`, recomputes what is derived from the raw runs (the key
 * derivations per convergence row) and writes the `.json`, `.md` and chart again.
 *
 *   npx tsx bench/render.ts bench/results/2026-11-23.json
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { derivationsOf } from './lib/assemble.js';
import { type Results, writeResults } from './lib/report.js';
import { summarize } from './lib/stats.js';

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: tsx bench/render.ts bench/results/<date>.json');
  process.exit(2);
}
const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
for (const row of r.convergence.rows) {
  const runs = r.runs.filter(
    (x) => x.tag === 'convergence' && x.system === 'sitesync' && x.size === row.size.name,
  );
  row.derivations = summarize(
    runs.flatMap((x) => (x.error === undefined ? [derivationsOf(x.operator?.ops)] : [])),
  );
}
console.log(`Wrote ${writeResults(r, dirname(file)).join(', ')}`);
