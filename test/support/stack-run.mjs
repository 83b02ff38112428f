// Runs the stack CLI (through tsx) for Jest's global setup and teardown, which Jest loads
// outside its ESM transform. Asynchronous on purpose: a synchronous child would block Jest's
// own event loop, so Jest could not reap the servers it restarted and they would stay zombies.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export function runStackCli(command) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['node_modules/tsx/dist/cli.mjs', 'test/support/stack-cli.ts', command],
      { cwd: root, stdio: 'inherit' },
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`stack-cli ${command} exited with ${code}`));
    });
  });
}

/** The post-suite secret scan (test/support/secret-scan-cli.ts); rejects when it finds one. */
export function runSecretScan() {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['node_modules/tsx/dist/cli.mjs', 'test/support/secret-scan-cli.ts'],
      { cwd: root, stdio: 'inherit' },
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error('the secret scan found secrets (see above)'));
    });
  });
}
