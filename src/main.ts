/** Wiring only: configuration, clients, controllers, leader election, HTTP, signals. */
import { hostname } from 'node:os';

import { KubeConfig } from '@kubernetes/client-node';

import type { BucketReplication } from './api/bucket-replication.js';
import type { IdentityProvider } from './api/identity-provider.js';
import type { SiteReplicationGroup } from './api/site-replication-group.js';
import { parseConfig } from './config.js';
import { IDP_RESOURCE, IdentityProviderController } from './controllers/identity-provider.js';
import {
  BREP_RESOURCE,
  BucketReplicationController,
  bucketReplicationsOfGroup,
} from './controllers/bucket-replication.js';
import {
  SRG_RESOURCE,
  SiteReplicationGroupController,
} from './controllers/site-replication-group.js';
import { startHttpServer } from './observe/http.js';
import { newLogger } from './observe/logger.js';
import { Metrics } from './observe/metrics.js';
import { Controller } from './runtime/controller.js';
import { EventRecorder } from './runtime/events.js';
import { Informer, desiredStateChanged, objectKey } from './runtime/informer.js';
import { KubeClient } from './runtime/kube-client.js';
import type { Logger } from './runtime/logger.js';
import { runManager } from './runtime/manager.js';
import { newSiteClient } from './sites/new-site-client.js';
import { SiteClientPool } from './sites/site-client-pool.js';

async function main(): Promise<number> {
  const config = parseConfig(process.env);
  const pino = newLogger(config.LOG_LEVEL);
  const log = pino as unknown as Logger;
  const kc = new KubeConfig();
  if (config.KUBECONFIG) kc.loadFromFile(config.KUBECONFIG);
  else kc.loadFromDefault();
  const client = new KubeClient(kc);
  const metrics = new Metrics();
  const sites = new SiteClientPool(newSiteClient);
  const namespace = config.WATCH_NAMESPACE === '' ? undefined : config.WATCH_NAMESPACE;

  const srgInformer = new Informer<SiteReplicationGroup & { metadata: { name: string } }>(
    client,
    SRG_RESOURCE,
    {
      ...(namespace ? { namespace } : {}),
      log,
    },
  );
  const idpInformer = new Informer<IdentityProvider & { metadata: { name: string } }>(
    client,
    IDP_RESOURCE,
    { ...(namespace ? { namespace } : {}), log },
  );
  const recorder = new EventRecorder(client, 'sitesync-operator', { log });
  const srg = new SiteReplicationGroupController({
    client,
    informer: srgInformer,
    newSite: sites.get,
    recorder,
    identityProviders: idpInformer,
    siteTimeoutMs: config.SITE_TIMEOUT_MS,
    progressEveryMs: config.PROGRESS_INTERVAL_MS,
    observer: {
      siteObserved: (g, site, up) => {
        metrics.siteUp.set({ namespace: g.namespace, group: g.name, site }, up ? 1 : 0);
      },
      siteSynced: (g, site, out) => {
        metrics.outOfSync.set(
          { namespace: g.namespace, group: g.name, site, kind: 'buckets' },
          out.buckets,
        );
        metrics.outOfSync.set(
          { namespace: g.namespace, group: g.name, site, kind: 'iam' },
          out.iam,
        );
        if (out.buckets + out.iam === 0) {
          metrics.lastSync.set({ namespace: g.namespace, group: g.name, site }, Date.now() / 1000);
        }
      },
      changesApplied: (g, action, n) => {
        metrics.appliedChanges.inc({ namespace: g.namespace, group: g.name, action }, n);
      },
      siteCall: (site, op) => {
        metrics.siteCalls.inc({ site, op });
      },
      siteObjects: (g, site, p) => {
        const labels = { namespace: g.namespace, group: g.name, site };
        metrics.objects.set({ ...labels, state: 'pending' }, p.pending);
        metrics.objects.set({ ...labels, state: 'replicated' }, p.replicated);
        metrics.objects.set({ ...labels, state: 'failed' }, p.failed);
        if (p.lagSeconds !== undefined) metrics.replicationLag.set(labels, p.lagSeconds);
      },
    },
  });
  const srgController = new Controller({
    name: 'sitereplicationgroup',
    informer: srgInformer,
    reconcile: srg.reconcile,
    workers: config.WORKERS,
    log,
    observer: metrics.observer(),
  });

  const brepInformer = new Informer<BucketReplication & { metadata: { name: string } }>(
    client,
    BREP_RESOURCE,
    { ...(namespace ? { namespace } : {}), log },
  );
  const brep = new BucketReplicationController({
    client,
    informer: brepInformer,
    newSite: sites.get,
    recorder,
    siteTimeoutMs: config.SITE_TIMEOUT_MS,
  });
  const brepController = new Controller({
    name: 'bucketreplication',
    informer: brepInformer,
    reconcile: brep.reconcile,
    workers: config.WORKERS,
    log,
    observer: metrics.observer(),
  });
  // A group's sites are its BucketReplications' sites: requeue them when the group changes.
  // (Its spec only: a group's status changes every pass.)
  srgInformer.onChange((g, change, old) => {
    if (change === 'updated' && !desiredStateChanged(old, g)) return;
    for (const key of bucketReplicationsOfGroup(brepInformer, g)) brepController.queue.add(key);
  });

  const idp = new IdentityProviderController({
    client,
    informer: idpInformer,
    groups: srgInformer,
    recorder,
    siteTimeoutMs: config.SITE_TIMEOUT_MS,
  });
  const idpController = new Controller({
    name: 'identityprovider',
    informer: idpInformer,
    reconcile: idp.reconcile,
    workers: config.WORKERS,
    log,
    observer: metrics.observer(),
  });
  // A group that changes may now reference another provider (or none): requeue the providers of
  // its namespace, so the old and the new one both report the right sites.
  srgInformer.onChange((g, change, old) => {
    if (change === 'updated' && !desiredStateChanged(old, g)) return;
    for (const p of idpInformer.list()) {
      if (p.metadata.namespace === g.metadata.namespace) idpController.queue.add(objectKey(p));
    }
  });
  // A provider whose status changed: requeue the groups that reference it, which check that
  // their sites share it (IdentityProviderMismatch).
  idpInformer.onChange((p) => {
    for (const g of srgInformer.list()) {
      const sameNs = g.metadata.namespace === p.metadata.namespace;
      if (sameNs && g.spec?.identityProviderRef?.name === p.metadata.name) {
        srgController.queue.add(objectKey(g));
      }
    }
  });

  let ready = false;
  // A replica waiting for the Lease is ready (it can take over); the leader is ready once its
  // caches have synced.
  let leading = !config.LEADER_ELECT;
  const markLeading = {
    run: () => {
      leading = true;
      return Promise.resolve();
    },
  };
  const http = await startHttpServer({
    port: config.METRICS_PORT,
    host: config.METRICS_HOST,
    metrics,
    ready: () => ready || !leading,
  });
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    log.info({ signal }, 'Received signal, draining');
    stop.abort();
  };
  process.once('SIGTERM', () => {
    onSignal('SIGTERM');
  });
  process.once('SIGINT', () => {
    onSignal('SIGINT');
  });
  void Promise.all([
    srgInformer.waitForSync(),
    brepInformer.waitForSync(),
    idpInformer.waitForSync(),
  ]).then(() => {
    ready = true;
  });
  log.info(
    { namespace: namespace ?? '(all)', leaderElection: config.LEADER_ELECT },
    'Started sitesync operator',
  );
  const identity = config.POD_NAME ?? `${hostname()}-${process.pid}`;
  const exit = await runManager(
    {
      client,
      runnables: [markLeading, srgController, brepController, idpController],
      ...(config.LEADER_ELECT
        ? {
            leaderElection: {
              namespace: config.LEASE_NAMESPACE,
              name: config.LEASE_NAME,
              identity,
            },
          }
        : {}),
      log,
    },
    stop.signal,
  );
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
