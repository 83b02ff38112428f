// Prints the total of the Jest JSON results in a folder as one plain closing line:
// "N passed, N failed". A suite that could not run counts as one failure, and so does each
// `<step>.failed` marker (a step such as lint that failed) and each expected result file that
// is missing (the runner crashed before writing it).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.test-results';
let passed = 0;
let failed = 0;
for (const name of ['unit.json', 'integration.json']) {
  const file = join(dir, name);
  if (!existsSync(file)) {
    console.error(`No Jest results in ${file}`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
}
for (const marker of existsSync(dir) ? readdirSync(dir) : []) {
  if (marker.endsWith('.failed')) {
    console.error(`Step failed: ${marker.replace(/\.failed$/, '')}`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
