// Jest loads global setup outside its ESM transform, so it drives the stack CLI through tsx.
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** One real stack per run: reused when `make stack-up` already started it. */
export default function globalSetup() {
  execFileSync(
    process.execPath,
    ['node_modules/tsx/dist/cli.mjs', 'test/support/stack-cli.ts', 'test-up'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
