import { runStackCli } from './stack-run.mjs';

/** One real stack per run: reused when `make stack-up` already started it. */
export default function globalSetup() {
  return runStackCli('test-up');
}
