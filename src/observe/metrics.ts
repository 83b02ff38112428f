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
  readonly passes: Counter<'namespace' | 'group' | 'kind' | 'reason'>;
  readonly changeReports: Counter<'result'>;
  readonly changeEntries: Counter<'kind'>;

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
    this.passes = new Counter({
      name: 'sitesync_group_passes_total',
      help: 'Passes of a group: full (every site observed) or targeted (what change hints named), and why a pass was full',
      labelNames: ['namespace', 'group', 'kind', 'reason'],
      registers,
    });
    this.changeReports = new Counter({
      name: 'sitesync_change_reports_total',
      help: 'Change reports (POSTs) the change receiver answered, by result',
      labelNames: ['result'],
      registers,
    });
    this.changeEntries = new Counter({
      name: 'sitesync_change_entries_total',
      help: "Entries of change reports: hint (read again), own (the operator's writes), ignored (reads, ...), malformed",
      labelNames: ['kind'],
      registers,
    });
  }

  /**
   * Passes of a group: `full` (every site observed) or `targeted` (what hints named). `reason`
   * is one of a fixed few (why a pass was full; `hints` for a targeted one).
   */
  passRan(g: { namespace: string; name: string }, kind: 'full' | 'targeted', reason: string): void {
    this.passes.inc({ namespace: g.namespace, group: g.name, kind, reason });
  }

  /** The change receiver's ReceiverObserver. */
  receiverObserver() {
    return {
      report: (result: string) => {
        this.changeReports.inc({ result });
      },
    };
  }

  /** The change hints' HintObserver. */
  hintObserver() {
    return {
      entries: (kind: string, n: number) => {
        if (n > 0) this.changeEntries.inc({ kind }, n);
      },
    };
  }

  /**
   * What the SiteReplicationGroup reconciler reports (its `SrgObserver`), as metrics. The last
   * sync time is set when a site has nothing out of sync.
   */
  groupObserver() {
    interface Group {
      namespace: string;
      name: string;
    }
    const labels = (g: Group, site: string) => ({ namespace: g.namespace, group: g.name, site });
    return {
      siteObserved: (g: Group, site: string, up: boolean) => {
        this.siteUp.set(labels(g, site), up ? 1 : 0);
      },
      siteSynced: (g: Group, site: string, out: { buckets: number; iam: number }) => {
        this.outOfSync.set({ ...labels(g, site), kind: 'buckets' }, out.buckets);
        this.outOfSync.set({ ...labels(g, site), kind: 'iam' }, out.iam);
        if (out.buckets + out.iam === 0) this.lastSync.set(labels(g, site), Date.now() / 1000);
      },
      changesApplied: (g: Group, action: string, n: number) => {
        this.appliedChanges.inc({ namespace: g.namespace, group: g.name, action }, n);
      },
      siteCall: (site: string, op: string) => {
        this.siteCalls.inc({ site, op });
      },
      siteObjects: (
        g: Group,
        site: string,
        p: { pending: number; replicated: number; failed: number; lagSeconds?: number | undefined },
      ) => {
        const l = labels(g, site);
        this.objects.set({ ...l, state: 'pending' }, p.pending);
        this.objects.set({ ...l, state: 'replicated' }, p.replicated);
        this.objects.set({ ...l, state: 'failed' }, p.failed);
        if (p.lagSeconds !== undefined) this.replicationLag.set(l, p.lagSeconds);
      },
    };
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
