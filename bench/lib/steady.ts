/**
 * Steady-state cost of a converged group: site calls per resync per site and operator CPU per
 * resync, from deltas of the operator's own counters (`sitesync_site_calls_total`,
 * `sitesync_reconcile_total`) and /proc, over windows aligned on finished reconciles.
 */
import { sleep } from '../../test/support/processes.js';
import { type BenchOperator, callDelta, callsByOp, totalCalls } from './operator.js';
import { round } from './stats.js';

/** The four observation calls of decision 8. */
const OBSERVE = new Set([
  'admin:serverInfo',
  's3:ListBuckets',
  'admin:exportIAM',
  'admin:exportBucketMetadata',
]);
/** Object replication counts: one call per bucket per site, at most every PROGRESS_INTERVAL_MS. */
const PROGRESS = 'admin:bucketReplicationMetrics';

export interface SteadyWindow {
  reconciles: number;
  seconds: number;
  /** Calls per resync per site, all operations. */
  callsPerResyncPerSite: number;
  /** The same without the per-minute object-progress refresh. */
  observeCallsPerResyncPerSite: number;
  progressCalls: number;
  /** Calls that change something (should be 0 when converged). */
  writeCalls: number;
  cpuSecondsPerResync: number;
  /** Wall time of one reconcile (from the operator's histogram). */
  reconcileSeconds: number;
  ops: Record<string, number>;
}

/**
 * How often the operator's /metrics is read while waiting. Each read costs the operator CPU
 * (prom-client renders every series): at 50 ms it was about a sixth of the main thread's busy
 * time in a steady-state profile (200 buckets), counted in the CPU per resync. Prometheus
 * scrapes every 15-60 s.
 */
const POLL_MS = 250;

async function waitReconciles(op: BenchOperator, from: number, n: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await op.counters();
    if (c.reconciles >= from + n) return c;
    if (Date.now() > deadline)
      throw new Error(`only ${c.reconciles - from}/${n} reconciles in ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

/** Waits until a few resyncs in a row write nothing to any site. */
export async function waitQuiet(op: BenchOperator, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let before = await op.counters();
  for (;;) {
    const after = await waitReconciles(op, before.reconciles, 3, timeoutMs);
    const writes = totalCalls(
      callDelta(after.calls, before.calls),
      (o) => !OBSERVE.has(o) && o !== PROGRESS,
    );
    if (writes === 0) return;
    if (Date.now() > deadline) throw new Error('the group did not settle');
    before = after;
  }
}

/** One window of `resyncs` reconciles, starting right after a reconcile ends. */
export async function measureWindow(
  op: BenchOperator,
  sites: number,
  resyncs: number,
): Promise<SteadyWindow> {
  const start = await op.counters();
  const aligned = await waitReconciles(op, start.reconciles, 1, 120_000);
  const cpu0 = op.cpuSeconds();
  const t0 = performance.now();
  const end = await waitReconciles(op, aligned.reconciles, resyncs, 600_000);
  const cpu = op.cpuSeconds() - cpu0;
  const seconds = (performance.now() - t0) / 1000;
  const d = callDelta(end.calls, aligned.calls);
  const n = end.reconciles - aligned.reconciles;
  const all = totalCalls(d);
  const observe = totalCalls(d, (o) => OBSERVE.has(o));
  const progress = totalCalls(d, (o) => o === PROGRESS);
  return {
    reconciles: n,
    seconds: round(seconds, 2),
    callsPerResyncPerSite: round(all / n / sites, 2),
    observeCallsPerResyncPerSite: round(observe / n / sites, 2),
    progressCalls: progress,
    writeCalls: all - observe - progress,
    cpuSecondsPerResync: round(cpu / n, 3),
    reconcileSeconds: round((end.durationSum - aligned.durationSum) / n, 3),
    ops: callsByOp(d),
  };
}
