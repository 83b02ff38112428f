/** `make stack-up` / `make stack-down` / `make stack-status`, and Jest's global setup. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { readStack, stackDown, stackHealthy, stackUp, STACK_DIR } from './stack.js';

const MARK = () => join(STACK_DIR, 'started-by-tests');

async function up(): Promise<number> {
  const info = await stackUp();
  console.log(`Stack is up: apiserver ${info.apiserverURL}`);
  for (const s of info.sites) console.log(`  site ${s.name}: ${s.endpoint}`);
  console.log(`  moto (flavor s3): ${info.moto.endpoint}`);
  console.log(`  the sites' CA: ${info.sitesCaFile}`);
  console.log(`Use it with: source ${STACK_DIR}/env`);
  return 0;
}

async function isUp(): Promise<boolean> {
  const info = readStack();
  return info !== undefined && (await stackHealthy(info));
}

const COMMANDS: Record<string, () => Promise<number>> = {
  up,
  down: async () => {
    await stackDown();
    console.log('Stack is down');
    return 0;
  },
  status: async () => {
    const ok = await isUp();
    console.log(ok ? 'Stack is up' : 'Stack is down');
    return ok ? 0 : 1;
  },
  /** Reuses a running stack; otherwise starts one and marks it as the tests' own. */
  'test-up': async () => {
    const reused = await isUp();
    await stackUp();
    if (!reused) writeFileSync(MARK(), `${process.pid}\n`);
    console.log(reused ? 'Reusing the running stack' : 'Started the stack for this test run');
    return 0;
  },
  'test-down': async () => {
    if (existsSync(MARK())) {
      await stackDown();
      console.log('Stopped the stack this test run started');
    }
    return 0;
  },
};

const command = COMMANDS[process.argv[2] ?? ''];
if (!command) {
  console.error(`usage: stack-cli ${Object.keys(COMMANDS).join('|')}`);
  process.exit(2);
}
command().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
