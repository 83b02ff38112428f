/** Turns the raw runs of a benchmark into the results document (summaries, ratios, points). */
import { summarizeProfile } from '../profile-summary.js';
import type { KdfCost } from './kdf.js';
import { CHANGE_KINDS, type LatencySample } from './latency.js';
import type { ConvergenceRow, LatencyRow, Results, ScalingPoint } from './report.js';
import type { RunResult } from './scenarios.js';
import type { Size } from './seed.js';
import { percentile, round, summarize } from './stats.js';
import type { SteadyWindow } from './steady.js';

export interface Collected {
  mode: 'quick' | 'full';
  started: Date;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  seeds: { size: Size; seedSeconds: number; iam: unknown }[];
  /** Set when runs of an earlier results file were merged in (see --append). */
  durationSeconds?: number;
  runs: RunResult[];
  steady: {
    buckets: number;
    sites: number;
    syncInterval: string;
    progressIntervalMs: number;
    windows: SteadyWindow[];
    error?: string | undefined;
  };
  latency: Record<string, LatencySample[]>;
  resyncPeriod: number | undefined;
  scaleSites: number[];
  scaleBuckets: number[];
  small: Size;
  notes: string[];
  kdf: KdfCost[];
}

/**
 * argon2id key derivations the operator runs per call of each admin operation with an encrypted
 * response body (see src/sites/minio/admin/admin-client.ts): MinIO encrypts responses with
 * argon2id. Encrypted request bodies use PBKDF2 (~1 ms, docs/decisions.md #13) and are not
 * counted; MinIO decrypts those with PBKDF2 too.
 */
export const DERIVATIONS: Record<string, number> = {
  'admin:listUsers': 1,
  'admin:listPolicyEntities': 1,
  'admin:listServiceAccounts': 1,
  'admin:addServiceAccount': 1,
  'admin:infoServiceAccount': 1,
  'admin:attachPolicies': 1,
  'admin:detachPolicies': 1,
  'admin:getConfigKV': 1,
};

export function derivationsOf(ops: Record<string, number> | undefined): number {
  return Object.entries(ops ?? {}).reduce((n, [op, c]) => n + c * (DERIVATIONS[op] ?? 0), 0);
}

const ok = (r: RunResult) => r.error === undefined && Number.isFinite(r.seconds);
const pick = (runs: RunResult[], f: (r: RunResult) => number | undefined) =>
  summarize(runs.flatMap((r) => (ok(r) && f(r) !== undefined ? [f(r) ?? 0] : [])));

function convergenceRows(c: Collected): ConvergenceRow[] {
  const conv = c.runs.filter((r) => r.tag === 'convergence');
  const sizes = [...new Map(conv.map((r) => [r.size, r])).values()];
  return sizes.map((first) => {
    const mine = conv.filter((r) => r.size === first.size);
    const ss = mine.filter((r) => r.system === 'sitesync');
    const nat = mine.filter((r) => r.system === 'native');
    const sitesync = pick(ss, (r) => r.seconds);
    const native = pick(nat, (r) => r.seconds);
    const sitesyncMetadata = pick(ss, (r) => r.metadataSeconds);
    const nativeMetadata = pick(nat, (r) => r.metadataSeconds);
    return {
      size: { name: first.size, buckets: first.buckets, iam: first.iam, objects: first.objects },
      sites: first.sites,
      sitesync,
      native,
      sitesyncMetadata,
      nativeMetadata,
      ratio: round(sitesync.median / native.median, 2),
      metadataRatio: round(sitesyncMetadata.median / nativeMetadata.median, 2),
      operatorCpu: pick(ss, (r) => r.operator?.cpuSeconds),
      operatorPeakRssMiB: pick(ss, (r) => r.operator?.peakRssMiB),
      sitesyncServersCpu: pick(ss, (r) => r.serversCpuSeconds),
      nativeServersCpu: pick(nat, (r) => r.serversCpuSeconds),
      failures: mine.filter((r) => !ok(r)).length,
      derivations: pick(ss, (r) => derivationsOf(r.operator?.ops)),
      calls: pick(ss, (r) => r.operator?.calls),
      lostSitesync: pick(ss, (r) => r.lostFromSeed),
      lostNative: pick(nat, (r) => r.lostFromSeed),
      lostExamples: {
        sitesync: [...new Set(ss.flatMap((r) => r.lostExamples ?? []))].slice(0, 6),
        native: [...new Set(nat.flatMap((r) => r.lostExamples ?? []))].slice(0, 6),
      },
    };
  });
}

function point(x: number, runs: RunResult[]): ScalingPoint {
  const ss = runs.filter((r) => r.system === 'sitesync');
  const nat = runs.filter((r) => r.system === 'native');
  return {
    x,
    sitesync: pick(ss, (r) => r.seconds),
    native: nat.length > 0 ? pick(nat, (r) => r.seconds) : undefined,
    operatorCpu: pick(ss, (r) => r.operator?.cpuSeconds),
    operatorPeakRssMiB: pick(ss, (r) => r.operator?.peakRssMiB),
  };
}

function scaling(c: Collected): Results['scaling'] {
  const sites = c.scaleSites.map((n) =>
    point(
      n,
      c.runs.filter(
        (r) =>
          (r.tag === 'scale-sites' && r.sites === n) ||
          (n === 3 && r.tag === 'convergence' && r.size === c.small.name),
      ),
    ),
  );
  const buckets = c.scaleBuckets.map((b) =>
    point(
      b,
      c.runs.filter(
        (r) =>
          (r.tag === 'scale-buckets' || r.tag === 'steady') && r.buckets === b && r.sites === 3,
      ),
    ),
  );
  return {
    sites: sites.filter((p) => p.sitesync.n > 0),
    buckets: buckets.filter((p) => p.sitesync.n > 0),
    fixed: {
      sitesScaling: `${c.small.buckets} buckets, ${c.small.iam} IAM, ${c.small.objects} objects`,
      bucketScaling: '3 sites, 50 IAM, 100 objects',
      syncInterval: '2s',
    },
  };
}

function latency(c: Collected): Results['latency'] {
  const rows: LatencyRow[] = [];
  for (const kind of CHANGE_KINDS) {
    for (const system of ['sitesync', 'native'] as const) {
      const xs = (c.latency[system] ?? []).filter((s) => s.kind === kind).map((s) => s.seconds);
      if (xs.length === 0) continue;
      rows.push({
        system,
        kind,
        n: xs.length,
        p50: percentile(xs, 50),
        p95: percentile(xs, 95),
        max: Math.max(...xs),
      });
    }
  }
  return rows.length > 0
    ? { syncInterval: '5s', resyncPeriodSeconds: c.resyncPeriod, rows, samples: c.latency }
    : undefined;
}

function steady(c: Collected): Results['steady'] {
  const w = c.steady.windows;
  if (w.length === 0 && c.steady.error === undefined) return undefined;
  return {
    ...c.steady,
    callsPerResyncPerSite: summarize(w.map((x) => x.callsPerResyncPerSite)),
    observeCallsPerResyncPerSite: summarize(w.map((x) => x.observeCallsPerResyncPerSite)),
    cpuSecondsPerResync: summarize(w.map((x) => x.cpuSecondsPerResync)),
    reconcileSeconds: summarize(w.map((x) => x.reconcileSeconds)),
  };
}

/** The largest sitesync convergence that was measured (not the profiled one). */
function footprint(c: Collected): Results['footprint'] {
  const candidates = c.runs
    .filter((r) => r.system === 'sitesync' && r.tag !== 'profile' && ok(r) && r.operator)
    .sort(
      (a, b) => b.buckets * 1e6 + b.objects - (a.buckets * 1e6 + a.objects) || b.sites - a.sites,
    );
  const top = candidates[0];
  if (!top?.operator) return undefined;
  const same = candidates.filter(
    (r) => r.buckets === top.buckets && r.objects === top.objects && r.sites === top.sites,
  );
  const worst = same.reduce((a, b) =>
    (b.operator?.peakRssMiB ?? 0) > (a.operator?.peakRssMiB ?? 0) ? b : a,
  );
  return {
    run: `${worst.size}: ${worst.buckets} buckets, ${worst.iam} IAM, ${worst.objects} objects, ${worst.sites} sites, converged in ${worst.seconds.toFixed(1)} s`,
    operatorCpuSeconds: worst.operator?.cpuSeconds ?? Number.NaN,
    peakRssMiB: worst.operator?.peakRssMiB ?? Number.NaN,
    threadCpuSeconds: worst.operator?.threadCpuSeconds ?? {},
  };
}

function profileRun(c: Collected): RunResult | undefined {
  return c.runs.filter((r) => r.tag === 'profile').at(-1);
}

/**
 * Which seconds before the operator exited belong to a part of the profiled run. The operator
 * drains its last pass on SIGTERM, so the final seconds are left out of the steady part.
 */
function profileWindow(tail: ProfileTail | undefined, part: 'convergence' | 'steady') {
  if (!tail) return undefined;
  return part === 'steady'
    ? { fromEndSeconds: tail.steadySeconds + 3, toEndSeconds: 3 }
    : { fromEndSeconds: Number.POSITIVE_INFINITY, toEndSeconds: tail.afterConvergenceSeconds + 3 };
}

/** The profiled convergence (the steady tail left out), or the steady tail alone. */
function profile(c: Collected, part: 'convergence' | 'steady') {
  const run = profileRun(c);
  if (!run) return undefined;
  const file = run.operator?.profile;
  if (!file) return { error: run.error ?? 'no .cpuprofile was written' };
  const tail = run.operator?.profileTail;
  if (part === 'steady' && !tail) return undefined;
  try {
    return summarizeProfile(file, 15, profileWindow(tail, part));
  } catch (e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

type ProfileTail = NonNullable<NonNullable<RunResult['operator']>['profileTail']>;

export function buildResults(c: Collected): Results {
  const failures = c.runs.filter((r) => !ok(r));
  const notes = [...c.notes];
  for (const f of failures) {
    notes.push(`FAILED ${f.tag ?? ''} ${f.system} ${f.size} × ${f.sites}: ${f.error ?? ''}`);
  }
  for (const f of c.runs.filter((r) => r.followUpError)) {
    notes.push(
      `${f.tag ?? ''} measurement on ${f.system} ${f.size} failed: ${f.followUpError ?? ''}`,
    );
  }
  return {
    date: c.started.toISOString().slice(0, 10),
    mode: c.mode,
    startedAt: c.started.toISOString(),
    durationSeconds: c.durationSeconds ?? round((Date.now() - c.started.getTime()) / 1000, 0),
    machine: c.machine,
    settings: c.settings,
    seeds: c.seeds.map((s) => ({ size: s.size, seedSeconds: round(s.seedSeconds, 1), iam: s.iam })),
    kdf: c.kdf,
    convergence: { rows: convergenceRows(c) },
    steady: steady(c),
    latency: latency(c),
    scaling: scaling(c),
    footprint: footprint(c),
    profile: profile(c, 'convergence'),
    profileSteady: profile(c, 'steady'),
    runs: c.runs,
    notes,
  };
}

/**
 * This run's data merged into an earlier results document (same date and mode): its runs,
 * steady-state windows and latency samples are kept, this run's are added.
 */
export function appendTo(prev: Results, c: Collected): Collected {
  const settings = prev.settings as {
    scaleSites?: number[];
    scaleBuckets?: number[];
    small?: Size;
  };
  const thisRun = (Date.now() - c.started.getTime()) / 1000;
  return {
    ...c,
    mode: prev.mode,
    started: new Date(prev.startedAt),
    durationSeconds: round(prev.durationSeconds + thisRun, 0),
    machine: { ...prev.machine, appendedRun: c.machine },
    settings: { ...prev.settings, appended: c.settings },
    seeds: [...prev.seeds, ...c.seeds],
    runs: [...prev.runs, ...c.runs],
    steady:
      c.steady.windows.length > 0 || !prev.steady
        ? c.steady
        : { ...prev.steady, windows: prev.steady.windows },
    latency: Object.keys(c.latency).length > 0 ? c.latency : (prev.latency?.samples ?? {}),
    resyncPeriod: c.resyncPeriod ?? prev.latency?.resyncPeriodSeconds,
    scaleSites: settings.scaleSites ?? c.scaleSites,
    scaleBuckets: settings.scaleBuckets ?? c.scaleBuckets,
    small: settings.small ?? c.small,
    kdf: prev.kdf.length > 0 ? prev.kdf : c.kdf,
  };
}
