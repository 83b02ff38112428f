/** `make stack-up` / `make stack-down` / `make stack-status`. */
import { readStack, stackDown, stackHealthy, stackUp, STACK_DIR } from './stack.js';

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'up': {
      const info = await stackUp();
      console.log(`Stack is up: apiserver ${info.apiserverURL}`);
      for (const s of info.sites) console.log(`  site ${s.name}: ${s.endpoint}`);
      console.log(`Use it with: source ${STACK_DIR}/env`);
      return 0;
    }
    case 'down':
      await stackDown();
      console.log('Stack is down');
      return 0;
    case 'status': {
      const info = readStack();
      const ok = info !== undefined && (await stackHealthy(info));
      console.log(ok ? 'Stack is up' : 'Stack is down');
      return ok ? 0 : 1;
    }
    default:
      console.error('usage: stack-cli up|down|status');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
