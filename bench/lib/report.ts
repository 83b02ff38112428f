/** Results file (JSON), Markdown tables and the scaling chart (SVG, PNG via rsvg-convert). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { REPO_ROOT } from '../../test/support/stack.js';

import type { ProfileSummary } from '../profile-summary.js';
import { profileMarkdown } from '../profile-summary.js';
import type { KdfCost } from './kdf.js';
import type { LatencySample } from './latency.js';
import type { RunResult } from './scenarios.js';
import type { Size } from './seed.js';
import { type Summary, fmtSummary } from './stats.js';
import type { SteadyWindow } from './steady.js';

export interface ConvergenceRow {
  size: Size;
  sites: number;
  sitesync: Summary;
  native: Summary;
  sitesyncMetadata: Summary;
  nativeMetadata: Summary;
  /** sitesync median / native median (> 1: sitesync slower). */
  ratio: number;
  metadataRatio: number;
  operatorCpu: Summary;
  operatorPeakRssMiB: Summary;
  sitesyncServersCpu: Summary;
  nativeServersCpu: Summary;
  failures: number;
  /** Key derivations (argon2id) the operator ran for encrypted admin calls, per run. */
  derivations: Summary;
  /** Site calls the operator made during convergence, per run. */
  calls: Summary;
  /** Seed entities the converged sites hold with another value or not at all. */
  lostSitesync: Summary;
  lostNative: Summary;
  lostExamples: { sitesync: string[]; native: string[] };
}

export interface LatencyRow {
  system: 'sitesync' | 'native';
  kind: string;
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export interface ScalingPoint {
  x: number;
  sitesync: Summary;
  native?: Summary | undefined;
  operatorCpu: Summary;
  operatorPeakRssMiB: Summary;
}

export interface Results {
  date: string;
  mode: 'quick' | 'full';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  seeds: { size: Size; seedSeconds: number; iam: unknown }[];
  kdf: KdfCost[];
  convergence: { rows: ConvergenceRow[] };
  steady?:
    | {
        buckets: number;
        sites: number;
        syncInterval: string;
        progressIntervalMs: number;
        windows: SteadyWindow[];
        callsPerResyncPerSite: Summary;
        observeCallsPerResyncPerSite: Summary;
        cpuSecondsPerResync: Summary;
        reconcileSeconds: Summary;
        error?: string | undefined;
      }
    | undefined;
  latency?:
    | {
        syncInterval: string;
        /** Observed seconds between two resyncs of the group while changes were made. */
        resyncPeriodSeconds: number | undefined;
        rows: LatencyRow[];
        samples: Record<string, LatencySample[]>;
      }
    | undefined;
  scaling: { sites: ScalingPoint[]; buckets: ScalingPoint[]; fixed: Record<string, unknown> };
  footprint?:
    | {
        run: string;
        operatorCpuSeconds: number;
        peakRssMiB: number;
        threadCpuSeconds: Record<string, number>;
      }
    | undefined;
  profile?: ProfileSummary | { error: string } | undefined;
  /** The same profile's steady-state tail (after convergence, before the stop). */
  profileSteady?: ProfileSummary | { error: string } | undefined;
  runs: RunResult[];
  notes: string[];
  /** File name of the scaling chart (PNG, or SVG when rsvg-convert is missing). */
  chart?: string;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');

function convergenceTable(rows: ConvergenceRow[]): string {
  return [
    '| size (buckets / IAM / objects) | sites | sitesync | native | ratio | metadata only: sitesync / native (ratio) | operator CPU | operator peak RSS | MinIO CPU sitesync / native | seed entities lost sitesync / native |',
    '| --- | ---: | --- | --- | ---: | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.size.name} (${r.size.buckets} / ${r.size.iam} / ${r.size.objects}) | ${r.sites} | ${fmtSummary(r.sitesync)} | ${fmtSummary(r.native)} | **${f2(r.ratio)}×** | ${f1(r.sitesyncMetadata.median)} / ${f1(r.nativeMetadata.median)} s (${f2(r.metadataRatio)}×) | ${fmtSummary(r.operatorCpu)} | ${fmtSummary(r.operatorPeakRssMiB, 'MiB', 0)} | ${f1(r.sitesyncServersCpu.median)} / ${f1(r.nativeServersCpu.median)} s | ${lost(r.lostSitesync)} / ${lost(r.lostNative)} |`,
    ),
  ].join('\n');
}

const THREAD_LABELS: Record<string, string> = {
  main: 'main thread (JavaScript)',
  libuv: 'libuv pool (argon2, zlib, crypto)',
  v8: 'V8 helpers (GC, compiler)',
  other: 'other',
  exited: 'short-lived threads (argon2 lanes)',
};

const lost = (s: Summary) =>
  s.n === 0 ? '–' : s.max === 0 ? '0' : `${s.values.join(', ')} (per run)`;

function fidelity(rows: ConvergenceRow[]): string {
  const lines = rows.flatMap((r) =>
    (['sitesync', 'native'] as const).flatMap((sys) =>
      r.lostExamples[sys].map((e) => `- ${r.size.name}, ${sys}: \`${e}\``),
    ),
  );
  if (lines.length === 0) return 'Every converged run held exactly the seeded state.';
  return [
    'Converged means the sites agree with each other. Each run is also compared with the seed site as listed right after seeding; these seeded entities ended with another value (or none) on every site:',
    '',
    ...lines,
  ].join('\n');
}

function kdfTable(r: Results): string {
  const argon = r.kdf[0]?.wallMs ?? Number.NaN;
  const perRow = r.convergence.rows.map(
    (c) =>
      `- ${c.size.name}: ${f1(c.calls.median)} site calls, of which ${f1(c.derivations.median)} argon2id derivations in the operator ≈ ${f1((c.derivations.median * argon) / 1000)} s one after another (at ${f1(argon)} ms each), against ${f1(c.sitesyncMetadata.median)} s to metadata convergence.`,
  );
  return [
    ...perRow,
    '',
    '| key derivation per encrypted admin call | wall ms | CPU ms |',
    '| --- | ---: | ---: |',
    ...r.kdf.map((k) => `| ${k.algorithm} | ${f1(k.wallMs)} | ${f1(k.cpuMs)} |`),
  ].join('\n');
}

function steadyTable(s: NonNullable<Results['steady']>): string {
  const ops = new Map<string, number>();
  let resyncs = 0;
  for (const w of s.windows) {
    resyncs += w.reconciles;
    for (const [op, n] of Object.entries(w.ops)) ops.set(op, (ops.get(op) ?? 0) + n);
  }
  const perOp = [...ops]
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${f2(n / resyncs / s.sites)}`)
    .join(', ');
  return [
    `${s.buckets} buckets, ${s.sites} sites, syncInterval ${s.syncInterval}, ${s.windows.length} windows, ${resyncs} resyncs${s.error ? ` (error: ${s.error})` : ''}.`,
    '',
    '| measure | median (min–max) |',
    '| --- | --- |',
    `| site calls per resync per site (all) | ${fmtSummary(s.callsPerResyncPerSite, 'calls', 2)} |`,
    `| of which observation (serverInfo, ListBuckets, export-iam, export-bucket-metadata) | ${fmtSummary(s.observeCallsPerResyncPerSite, 'calls', 2)} |`,
    `| operator CPU per resync | ${fmtSummary(s.cpuSecondsPerResync, 's', 3)} |`,
    `| wall time per resync (reconcile duration) | ${fmtSummary(s.reconcileSeconds, 's', 3)} |`,
    '',
    `Calls per resync per site by operation: ${perOp}. Object replication counts are refreshed at most every ${s.progressIntervalMs / 1000} s (PROGRESS_INTERVAL_MS), one \`bucketReplicationMetrics\` call per bucket per site (${s.buckets} per site per refresh), which is what makes "all" exceed 4 when a refresh falls in a window.`,
  ].join('\n');
}

function latencyTable(l: NonNullable<Results['latency']>): string {
  return [
    `| change (on a non-seed site) | system | n | p50 | p95 | max |`,
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...l.rows.map(
      (r) =>
        `| ${r.kind} | ${r.system} | ${r.n} | ${f2(r.p50)} s | ${f2(r.p95)} s | ${f2(r.max)} s |`,
    ),
  ].join('\n');
}

function scalingTable(title: string, pts: ScalingPoint[]): string {
  return [
    `| ${title} | sitesync convergence | native convergence | operator CPU | operator peak RSS |`,
    '| ---: | --- | --- | --- | --- |',
    ...pts.map(
      (p) =>
        `| ${p.x} | ${fmtSummary(p.sitesync)} | ${fmtSummary(p.native)} | ${fmtSummary(p.operatorCpu)} | ${fmtSummary(p.operatorPeakRssMiB, 'MiB', 0)} |`,
    ),
  ].join('\n');
}

function profileRunLine(r: Results): string {
  const run = r.runs.filter((x) => x.tag === 'profile').at(-1);
  const op = run?.operator;
  if (!run || !op) return '';
  const threads = Object.entries(op.threadCpuSeconds)
    .map(([k, v]) => `${THREAD_LABELS[k] ?? k} ${f1(v)} s`)
    .join(', ');
  return `Profiled run: sitesync ${run.size} (${run.buckets} buckets, ${run.iam} IAM, ${run.objects} objects) × ${run.sites} sites, converged in ${f1(run.seconds)} s (not counted above: the profiler slows it). Process CPU ${f1(op.cpuSeconds)} s: ${threads}. The V8 profile below samples the main thread only; the key derivations run off it.`;
}

export function markdown(r: Results): string {
  const parts = [
    `# sitesync benchmark ${r.date} (${r.mode})`,
    '',
    `Machine: ${String(r.machine['cpuModel'])}, ${String(r.machine['nproc'])} CPUs, ${String(r.machine['memTotal'])} RAM; load average at start ${String(r.machine['loadavgStart'])}, at end ${String(r.machine['loadavgEnd'])}. Run took ${(r.durationSeconds / 60).toFixed(1)} min. Shared machine: other test suites were running, figures are noisy.`,
    '',
    '## 1. Convergence vs MinIO native site replication',
    '',
    'Time from `kubectl apply` of the SiteReplicationGroup (operator already running) or from the start of `mc admin replicate add` until every site, listed independently, holds the same buckets, bucket configs, IAM and object versions. "metadata only" stops the clock when buckets, configs and IAM are equal (objects may still be in flight).',
    '',
    convergenceTable(r.convergence.rows),
    '',
    fidelity(r.convergence.rows),
    '',
    'Encrypted admin bodies derive a key per body. The operator encrypts its requests (add-user, set-remote-target, …) with PBKDF2 (envelope 0x02, about 1 ms; docs/decisions.md #13); MinIO encrypts its responses (list-users, add-service-account, …) with argon2id, which the operator then derives one at a time, like madmin:',
    '',
    kdfTable(r),
  ];
  if (r.steady)
    parts.push('', '## 2. Steady-state cost (converged group)', '', steadyTable(r.steady));
  if (r.latency) {
    const period = r.latency.resyncPeriodSeconds;
    parts.push(
      '',
      `## 3. Propagation latency (sitesync syncInterval ${r.latency.syncInterval}${period ? `, observed one resync every ${f2(period)} s` : ''})`,
      '',
      latencyTable(r.latency),
    );
  }
  parts.push(
    '',
    '## 4. Scaling',
    '',
    `Fixed: ${JSON.stringify(r.scaling.fixed)}.`,
    '',
    scalingTable('sites', r.scaling.sites),
    '',
    scalingTable('buckets (3 sites)', r.scaling.buckets),
    '',
    `![scaling](${r.chart ?? 'scaling.svg'})`,
  );
  if (r.footprint) {
    const t = Object.entries(r.footprint.threadCpuSeconds)
      .map(([k, v]) => `${THREAD_LABELS[k] ?? k} ${f1(v)} s`)
      .join(', ');
    parts.push(
      '',
      '## 5. Footprint',
      '',
      `Largest convergence (${r.footprint.run}): operator CPU ${f1(r.footprint.operatorCpuSeconds)} s (threads: ${t}), peak RSS (VmHWM) ${r.footprint.peakRssMiB.toFixed(0)} MiB.`,
    );
  }
  if (r.profile) {
    parts.push(
      '',
      '## CPU profile of the operator',
      '',
      profileRunLine(r),
      '',
      'error' in r.profile
        ? `Profile failed: ${r.profile.error}`
        : profileMarkdown(r.profile, 'Convergence part of'),
    );
    if (r.profileSteady && !('error' in r.profileSteady)) {
      parts.push(
        '',
        '### Steady-state part (the same operator, converged, resyncing every 2 s)',
        '',
        profileMarkdown(r.profileSteady, 'Steady tail of'),
      );
    }
  }
  if (r.notes.length > 0) parts.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return parts.join('\n') + '\n';
}

interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  pts: { x: number; y: Summary | undefined }[];
}

/** 0, step, 2·step, … up to at least `max`, with step 1, 2 or 5 × 10^k (about 5 ticks). */
function niceTicks(max: number): number[] {
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow;
  const ticks: number[] = [];
  for (let y = 0; y < max + step; y += step) ticks.push(Number(y.toPrecision(6)));
  return ticks;
}

function panel(
  title: string,
  series: Series[],
  opts: { x0: number; log: boolean; xlabel: string },
): string {
  const W = 440;
  const H = 300;
  const m = { l: 55, r: 15, t: 30, b: 45 };
  const xs = series.flatMap((s) => s.pts.map((p) => p.x));
  const ys = series.flatMap((s) => s.pts.flatMap((p) => (p.y ? [p.y.max] : [])));
  const tx = (x: number) => (opts.log ? Math.log10(x) : x);
  const xmin = Math.min(...xs.map(tx));
  const xmax = Math.max(...xs.map(tx));
  const ymax = niceTicks(Math.max(1, ...ys) * 1.05).at(-1) ?? 1;
  const sx = (x: number) =>
    opts.x0 + m.l + ((tx(x) - xmin) / Math.max(1e-9, xmax - xmin)) * (W - m.l - m.r);
  const sy = (y: number) => m.t + (1 - y / ymax) * (H - m.t - m.b);
  const out: string[] = [
    `<text x="${opts.x0 + W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>`,
    `<line x1="${opts.x0 + m.l}" y1="${sy(0)}" x2="${opts.x0 + W - m.r}" y2="${sy(0)}" stroke="#333"/>`,
    `<line x1="${opts.x0 + m.l}" y1="${m.t}" x2="${opts.x0 + m.l}" y2="${sy(0)}" stroke="#333"/>`,
    `<text x="${opts.x0 + W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${opts.xlabel}</text>`,
    `<text x="${opts.x0 + 14}" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${opts.x0 + 14} ${H / 2})">seconds</text>`,
  ];
  for (const y of niceTicks(ymax)) {
    out.push(
      `<text x="${opts.x0 + m.l - 5}" y="${sy(y) + 4}" text-anchor="end" font-size="10">${y}</text>`,
      `<line x1="${opts.x0 + m.l}" y1="${sy(y)}" x2="${opts.x0 + W - m.r}" y2="${sy(y)}" stroke="#ddd"/>`,
    );
  }
  for (const x of [...new Set(xs)]) {
    out.push(
      `<text x="${sx(x)}" y="${sy(0) + 15}" text-anchor="middle" font-size="10">${x}</text>`,
    );
  }
  series.forEach((s, i) => {
    const pts = s.pts.filter(
      (p): p is { x: number; y: Summary } => p.y !== undefined && Number.isFinite(p.y.median),
    );
    if (pts.length === 0) return;
    const dash = s.dashed ? ' stroke-dasharray="5,4"' : '';
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts.map((p) => `${sx(p.x)},${sy(p.y.median)}`).join(' ')}"/>`,
    );
    for (const p of pts) {
      out.push(
        `<line x1="${sx(p.x)}" y1="${sy(p.y.min)}" x2="${sx(p.x)}" y2="${sy(p.y.max)}" stroke="${s.color}"/>`,
        `<circle cx="${sx(p.x)}" cy="${sy(p.y.median)}" r="3" fill="${s.color}"/>`,
      );
    }
    out.push(
      `<line x1="${opts.x0 + m.l + 10}" y1="${m.t + 8 + i * 16}" x2="${opts.x0 + m.l + 30}" y2="${m.t + 8 + i * 16}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${opts.x0 + m.l + 35}" y="${m.t + 12 + i * 16}" font-size="11">${s.label}</text>`,
    );
  });
  return out.join('\n');
}

function seriesOf(pts: ScalingPoint[]): Series[] {
  return [
    {
      label: 'sitesync convergence',
      color: '#1f77b4',
      pts: pts.map((p) => ({ x: p.x, y: p.sitesync })),
    },
    {
      label: 'native convergence',
      color: '#d62728',
      pts: pts.map((p) => ({ x: p.x, y: p.native })),
    },
    {
      label: 'operator CPU',
      color: '#2ca02c',
      dashed: true,
      pts: pts.map((p) => ({ x: p.x, y: p.operatorCpu })),
    },
  ];
}

export function scalingSvg(r: Results): string {
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="300" font-family="sans-serif">',
    '<rect width="900" height="300" fill="white"/>',
    panel('Convergence vs number of sites', seriesOf(r.scaling.sites), {
      x0: 0,
      log: false,
      xlabel: 'sites',
    }),
    panel('Convergence vs number of buckets (3 sites)', seriesOf(r.scaling.buckets), {
      x0: 450,
      log: true,
      xlabel: 'buckets (log scale)',
    }),
    '</svg>',
    '',
  ].join('\n');
}

/** Writes the SVG and, when rsvg-convert is installed, the PNG; returns what was written. */
export function writeChart(r: Results, svgPath: string, pngPath: string): string[] {
  writeFileSync(svgPath, scalingSvg(r));
  try {
    execFileSync('rsvg-convert', ['-f', 'png', '-o', pngPath, svgPath], { stdio: 'pipe' });
    return [svgPath, pngPath];
  } catch {
    return [svgPath];
  }
}

/** `<dir>/<date>[-quick].json|.md` and the chart; returns the paths written. */
export function writeResults(r: Results, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${r.date}${r.mode === 'quick' ? '-quick' : ''}`);
  const chart = writeChart(r, `${base}-scaling.svg`, `${base}-scaling.png`);
  r.chart = basename(chart[chart.length - 1] ?? '');
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 2) + '\n');
  try {
    // The repository's prettier checks JSON too: write it in prettier's layout.
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/prettier/bin/prettier.cjs'), '--write', `${base}.json`],
      { stdio: 'pipe' },
    );
  } catch {
    // formatting is cosmetic
  }
  writeFileSync(`${base}.md`, markdown(r));
  return [`${base}.json`, `${base}.md`, ...chart];
}
