import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { readStack, stackHealthy, stackUp, STACK_DIR } from './stack.js';

/** One real stack per run: reused when `make stack-up` already started it. */
export default async function globalSetup(): Promise<void> {
  const before = readStack();
  const reused = before !== undefined && (await stackHealthy(before));
  await stackUp();
  if (!reused) writeFileSync(join(STACK_DIR, 'started-by-tests'), `${process.pid}\n`);
}
