import process from 'node:process';

import { runStackCli } from './stack-run.mjs';

/** Stops the stack only if this run started it (KEEP_STACK=1 keeps it). */
export default function globalTeardown() {
  if (process.env.KEEP_STACK) return Promise.resolve();
  return runStackCli('test-down');
}
