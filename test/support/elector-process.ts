/**
 * A minimal operator process for leader-election tests: a widget controller under a Lease.
 * argv: kubeconfig, namespace, identity. Exits 0 after SIGTERM, 1 when leadership is lost.
 */
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';

import { KubeClient } from '../../src/runtime/kube-client.js';
import { kubeConfigAuth } from '../../src/runtime/kubeconfig-auth.js';
import { runManager } from '../../src/runtime/manager.js';
import { widgetController } from './widgets.js';

const [kubeconfig, namespace, identity] = process.argv.slice(2);
if (!kubeconfig || !namespace || !identity) throw new Error('usage: kubeconfig namespace identity');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const client = new KubeClient(kubeConfigAuth(kc));
const log = pino({ base: { identity } });
const { controller } = widgetController(client, { namespace, identity, log });
const stop = new AbortController();
process.on('SIGTERM', () => {
  stop.abort();
});
const exit = await runManager(
  {
    client,
    runnables: [controller],
    leaderElection: {
      namespace,
      name: 'widget-leader',
      identity,
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 500,
    },
    log,
  },
  stop.signal,
);
log.info({ exit }, 'Manager stopped');
process.exit(exit === 'stopped' ? 0 : 1);
