/** Configuration and setup calls: the manager, the three controllers, HTTP, signals. */
import { hostname } from 'node:os';

import { parseConfig } from './config.js';
import { setupBucketReplication } from './controllers/bucket-replication/setup.js';
import { setupIdentityProvider } from './controllers/identity-provider/setup.js';
import { ChangeDetection } from './controllers/site-replication-group/change-detection.js';
import { ChangeHints } from './controllers/site-replication-group/change-hints.js';
import {
  setupSiteReplicationGroup,
  srgReplicationStatus,
} from './controllers/site-replication-group/setup.js';
import { type ChangeReceiver, startChangeReceiver } from './observe/change-receiver.js';
import { startHttpServer } from './observe/http.js';
import { newLogger } from './observe/logger.js';
import { Metrics } from './observe/metrics.js';
import { KubeConfigError } from './cli/light-kube.js';
import { type KubeAuth, lightKubeAuth } from './runtime/kube-auth.js';
import { KubeClient } from './runtime/kube-client.js';
import type { Logger } from './runtime/logger.js';
import { Manager } from './runtime/manager.js';
import { decodeChangeReport } from './sites/change-reports.js';
import { newSiteClient } from './sites/new-site-client.js';
import { SiteClientPool } from './sites/site-client-pool.js';

/**
 * The apiserver and credentials: without @kubernetes/client-node where the light path serves
 * the configuration (a client certificate, a token, the service account), else with it,
 * imported only then (runtime/kube-auth.ts).
 */
async function kubeAuth(kubeconfig: string | undefined, log: Logger): Promise<KubeAuth> {
  try {
    return lightKubeAuth(process.env);
  } catch (e: unknown) {
    if (!(e instanceof KubeConfigError)) throw e;
    log.info({ reason: e.message }, 'Loading the kubeconfig with @kubernetes/client-node');
  }
  const [{ KubeConfig }, { kubeConfigAuth }] = await Promise.all([
    import('@kubernetes/client-node'),
    import('./runtime/kubeconfig-auth.js'),
  ]);
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kubeConfigAuth(kc);
}

async function main(): Promise<number> {
  const config = parseConfig(process.env);
  const log = newLogger(config.LOG_LEVEL) as unknown as Logger;
  const auth = await kubeAuth(config.KUBECONFIG, log);
  const metrics = new Metrics();
  const sites = new SiteClientPool(newSiteClient);
  const namespaces = config.WATCH_NAMESPACE.split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const identity = config.POD_NAME ?? `${hostname()}-${process.pid}`;
  const manager = new Manager({
    client: new KubeClient(auth),
    namespaces,
    log,
    controllers: { workers: config.WORKERS, observer: metrics.observer() },
    leaderElection: config.LEADER_ELECT
      ? {
          namespace: config.LEASE_NAMESPACE,
          name: config.LEASE_NAME,
          identity,
          leaseDurationMs: config.LEASE_DURATION_MS,
          renewDeadlineMs: config.RENEW_DEADLINE_MS,
          retryPeriodMs: config.RETRY_PERIOD_MS,
        }
      : undefined,
  });
  const siteTimeoutMs = config.SITE_TIMEOUT_MS;
  const hints = new ChangeHints({ observer: metrics.hintObserver() });
  const changes = new ChangeDetection({
    hints,
    receiverURL: config.CHANGE_RECEIVER_URL,
    log,
    passRan: (g, kind, reason) => {
      metrics.passRan(g, kind, reason);
    },
  });
  const allowInsecureSites = config.ALLOW_INSECURE_SITES;
  setupSiteReplicationGroup(manager, {
    newSite: sites.get,
    siteTimeoutMs,
    allowInsecureSites,
    progressEveryMs: config.PROGRESS_INTERVAL_MS,
    verifySliceMs: config.VERIFY_SLICE_MS,
    lease: { leaseMs: config.PRIMARY_LEASE_MS, skewMs: config.CLOCK_SKEW_MARGIN_MS },
    observer: metrics.groupObserver(),
    changes,
  });
  setupBucketReplication(manager, { newSite: sites.get, siteTimeoutMs, allowInsecureSites });
  setupIdentityProvider(manager, { newSite: sites.get, siteTimeoutMs, allowInsecureSites });

  // A replica waiting for the Lease is ready (it can take over); the leader is ready once its
  // caches have synced.
  let leading = !config.LEADER_ELECT;
  let synced = false;
  manager.add({
    run: async (signal) => {
      leading = true;
      synced = await manager.waitForCacheSync(signal);
      hints.activate();
    },
  });
  let receiver: ChangeReceiver | undefined;
  if (config.CHANGE_RECEIVER_CERT_FILE && config.CHANGE_RECEIVER_KEY_FILE) {
    receiver = await startChangeReceiver({
      port: config.CHANGE_RECEIVER_PORT,
      host: config.CHANGE_RECEIVER_HOST,
      certFile: config.CHANGE_RECEIVER_CERT_FILE,
      keyFile: config.CHANGE_RECEIVER_KEY_FILE,
      sink: hints,
      decode: decodeChangeReport,
      observer: metrics.receiverObserver(),
    });
    log.info({ port: receiver.port, url: config.CHANGE_RECEIVER_URL }, 'Started change receiver');
  }
  const http = await startHttpServer({
    port: config.METRICS_PORT,
    host: config.METRICS_HOST,
    metrics,
    ready: () => synced || !leading,
    status: srgReplicationStatus(manager),
  });
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'Received signal, draining');
      stop.abort();
    });
  }
  log.info(
    {
      namespaces: namespaces.length === 0 ? '(all)' : namespaces.join(','),
      leaderElection: config.LEADER_ELECT,
      identity,
      allowInsecureSites,
    },
    'Started sitesync operator',
  );
  const exit = await manager.run(stop.signal);
  await receiver?.close();
  http.close();
  sites.closeAll();
  log.info({ exit }, 'Stopped sitesync operator');
  return exit === 'stopped' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
