import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric the operator exports, on one registry. Names: sitesync_<area>_<name>_<unit>. */
export class Metrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly queueDepth: Gauge<'controller'>;
  readonly siteUp: Gauge<'namespace' | 'group' | 'site'>;
  readonly siteCalls: Counter<'site' | 'op'>;
  readonly lastSync: Gauge<'namespace' | 'group' | 'site'>;
  readonly outOfSync: Gauge<'namespace' | 'group' | 'site' | 'kind'>;
  readonly objects: Gauge<'namespace' | 'group' | 'site' | 'state'>;
  readonly replicationLag: Gauge<'namespace' | 'group' | 'site'>;
  readonly appliedChanges: Counter<'namespace' | 'group' | 'action'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'sitesync_' });
    this.reconcileTotal = new Counter({
      name: 'sitesync_reconcile_total',
      help: 'Reconciles by controller and result (success, error)',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'sitesync_reconcile_duration_seconds',
      help: 'Time spent in one reconcile',
      labelNames: ['controller'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'sitesync_workqueue_depth',
      help: 'Keys waiting in the work queue',
      labelNames: ['controller'],
      registers,
    });
    this.siteUp = new Gauge({
      name: 'sitesync_site_up',
      help: '1 when the site answered the last observation with valid credentials',
      labelNames: ['namespace', 'group', 'site'],
      registers,
    });
    this.siteCalls = new Counter({
      name: 'sitesync_site_calls_total',
      help: 'Calls the operator made to a site, by operation (S3 and admin API)',
      labelNames: ['site', 'op'],
      registers,
    });
    this.lastSync = new Gauge({
      name: 'sitesync_site_last_sync_timestamp_seconds',
      help: 'When the site was last seen fully in sync',
      labelNames: ['namespace', 'group', 'site'],
      registers,
    });
    this.outOfSync = new Gauge({
      name: 'sitesync_site_entities_out_of_sync',
      help: 'Entities (buckets, bucket configs, IAM) that differ from the agreed state',
      labelNames: ['namespace', 'group', 'site', 'kind'],
      registers,
    });
    this.objects = new Gauge({
      name: 'sitesync_site_objects',
      help: 'Object replication counts reported by the site (pending, failed, replicated)',
      labelNames: ['namespace', 'group', 'site', 'state'],
      registers,
    });
    this.replicationLag = new Gauge({
      name: 'sitesync_site_replication_lag_seconds',
      help: 'Age of the oldest object still pending replication from the site, when known',
      labelNames: ['namespace', 'group', 'site'],
      registers,
    });
    this.appliedChanges = new Counter({
      name: 'sitesync_group_changes_applied_total',
      help: 'Changes applied to sites, by action',
      labelNames: ['namespace', 'group', 'action'],
      registers,
    });
  }

  /** The runtime's ControllerObserver. */
  observer() {
    return {
      reconciled: (controller: string, result: string, seconds: number) => {
        this.reconcileTotal.inc({ controller, result });
        this.reconcileDuration.observe({ controller }, seconds);
      },
      queueDepth: (controller: string, depth: number) => {
        this.queueDepth.set({ controller }, depth);
      },
    };
  }
}
