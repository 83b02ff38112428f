import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Stops the stack only if this run started it (KEEP_STACK=1 keeps it). */
export default function globalTeardown() {
  if (process.env.KEEP_STACK) return;
  execFileSync(
    process.execPath,
    ['node_modules/tsx/dist/cli.mjs', 'test/support/stack-cli.ts', 'test-down'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
