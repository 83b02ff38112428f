import process from 'node:process';

import { runSecretScan, runStackCli } from './stack-run.mjs';

/**
 * Scans the stack for secrets the tests created (statuses, Events, ConfigMaps decompressed,
 * operator logs and metrics), then stops the stack only if this run started it (KEEP_STACK=1 keeps it).
 * A hit fails the run, after the stack is stopped.
 */
export default async function globalTeardown() {
  let scan;
  try {
    await runSecretScan();
  } catch (e) {
    scan = e;
  }
  if (!process.env.KEEP_STACK) await runStackCli('test-down');
  if (scan) throw scan;
}
