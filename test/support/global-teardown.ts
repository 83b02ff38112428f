import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { stackDown, STACK_DIR } from './stack.js';

/** Stops the stack only if this run started it (set KEEP_STACK=1 to keep it). */
export default async function globalTeardown(): Promise<void> {
  if (existsSync(join(STACK_DIR, 'started-by-tests')) && !process.env['KEEP_STACK']) {
    await stackDown();
  }
}
