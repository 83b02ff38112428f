/**
 * The post-suite secret scan (run by global-teardown.mjs after the integration and e2e tests,
 * before the stack stops): exits 1 naming where a secret was found, never the secret.
 */
import { scanAfterSuite } from './secret-scan.js';

const { hits, secrets, texts } = await scanAfterSuite();
process.stdout.write(`secret scan: ${String(secrets)} secrets in ${String(texts)} texts\n`);
if (hits.length > 0) {
  process.stderr.write(`secret scan: ${String(hits.length)} hit(s):\n${hits.join('\n')}\n`);
  process.exit(1);
}
