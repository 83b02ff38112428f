/**
 * One measured run = fresh servers (the seed site a copy of the template drive, the others
 * empty), one system (sitesync or MinIO's native site replication) linking them, and the time
 * until every site is verified equal by listing it. A run can hand its live, converged group
 * to a follow-up (steady-state cost, propagation latency) before everything is torn down.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { sleep } from '../../test/support/processes.js';
import { type CallCounts, callDelta, callsByOp, totalCalls } from './operator.js';
import { cpuSecondsOf } from './proc.js';
import { replicateAdd } from './native.js';
import type { SeedTemplate } from './seed.js';
import { type SitesyncRun, prepareSitesync } from './sitesync.js';
import { round } from './stats.js';
import { type Convergence, waitConverged } from './verify.js';
import { type BenchServer, type Workspace, assertAlive } from './workspace.js';

export type System = 'sitesync' | 'native';

export interface BenchContext {
  ws: Workspace;
  kubeconfig: string;
  logDir: string;
  log: (m: string) => void;
  /** Per-run convergence timeout. */
  timeoutMs: number;
}

export interface RunResult {
  /** Which scenario the run belongs to (convergence, steady, latency, scale-sites, …). */
  tag?: string;
  system: System;
  size: string;
  buckets: number;
  iam: number;
  objects: number;
  sites: number;
  /** Seconds until buckets/configs/IAM and objects were verified equal everywhere. */
  seconds: number;
  metadataSeconds: number;
  /** Seed entities the sites agreed on with a different value or not at all (should be 0). */
  lostFromSeed?: number;
  lostExamples?: string[];
  verifySeconds: number;
  /** Native: how long `mc admin replicate add` itself took. */
  commandSeconds?: number;
  /** CPU seconds of all MinIO servers of the run during convergence. */
  serversCpuSeconds: number;
  operator?: {
    cpuSeconds: number;
    threadCpuSeconds: Record<string, number>;
    peakRssMiB: number;
    /** Site calls made during convergence, per site (seed first) and in all. */
    callsPerSite: number[];
    calls: number;
    /** Calls per operation, all sites. */
    ops: Record<string, number>;
    reconciles: number;
    profile?: string;
    /** Profiled run: seconds the operator ran after convergence, the last ones steady. */
    profileTail?: { afterConvergenceSeconds: number; steadySeconds: number };
  };
  error?: string;
  /** The steady-state or latency measurement made on this run's group failed. */
  followUpError?: string;
}

export interface Live {
  system: System;
  servers: BenchServer[];
  sitesync?: SitesyncRun;
}

let runCounter = 0;

function convFields(c: Convergence) {
  const { lostFromSeed, ...rest } = c;
  return { ...rest, lostFromSeed: lostFromSeed.length, lostExamples: lostFromSeed.slice(0, 10) };
}

/**
 * CPU per kind of thread over the run; `exited` is what threads that ended before the last
 * reading used (OpenSSL's argon2 runs its lanes on short-lived threads).
 */
function threadDelta(
  before: Record<string, number>,
  after: Record<string, number>,
  total: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  let sum = 0;
  for (const [k, v] of Object.entries(after)) {
    const d = Math.max(0, v - (before[k] ?? 0));
    out[k] = round(d, 2);
    sum += d;
  }
  out['exited'] = round(Math.max(0, total - sum), 2);
  return out;
}

async function startServers(ctx: BenchContext, seed: SeedTemplate, sites: number) {
  const k = ++runCounter;
  return Promise.all(
    Array.from({ length: sites }, (_, i) =>
      i === 0
        ? ctx.ws.startServer(`r${k}-s0`, {
            dataFrom: seed.dataDir,
            accessKey: seed.accessKey,
            secretKey: seed.secretKey,
          })
        : ctx.ws.startServer(`r${k}-s${i}`),
    ),
  );
}

function perSite(calls: CallCounts, sites: number): number[] {
  return Array.from({ length: sites }, (_, i) =>
    totalCalls(new Map([...calls].filter(([s]) => s === `site-${i}`))),
  );
}

export interface RunOptions {
  system: System;
  seed: SeedTemplate;
  sites: number;
  syncInterval?: string;
  /** Directory for a CPU profile of the operator (sitesync only). */
  cpuProfDir?: string;
  /** Runs on the live, converged group before teardown. */
  then?: (live: Live) => Promise<void>;
}

async function convergeSitesync(
  ctx: BenchContext,
  servers: BenchServer[],
  opts: RunOptions,
  base: RunResult,
) {
  const run = await prepareSitesync(ctx.ws, servers, {
    kubeconfig: ctx.kubeconfig,
    cpuProfDir: opts.cpuProfDir,
    logDir: ctx.logDir,
  });
  try {
    await sleep(1000);
    const op = run.operator;
    const before = await op.counters();
    const cpu0 = op.cpuSeconds();
    const threads0 = op.threadCpu();
    const serverPids = servers.map((s) => s.pid);
    const servers0 = cpuSecondsOf(serverPids);
    const t0 = performance.now();
    await run.apply(opts.syncInterval ?? '2s');
    const conv = await waitConverged(servers, opts.seed, {
      t0,
      timeoutMs: ctx.timeoutMs,
      log: ctx.log,
    });
    const after = await op.counters();
    const threads1 = op.threadCpu();
    const calls = callDelta(after.calls, before.calls);
    const result: RunResult = {
      ...base,
      ...convFields(conv),
      serversCpuSeconds: round(cpuSecondsOf(serverPids) - servers0, 2),
      operator: {
        cpuSeconds: round(op.cpuSeconds() - cpu0, 2),
        threadCpuSeconds: threadDelta(threads0, threads1, op.cpuSeconds() - cpu0),
        peakRssMiB: round(op.memoryMiB().peakRss, 1),
        callsPerSite: perSite(calls, servers.length),
        calls: totalCalls(calls),
        ops: callsByOp(calls),
        reconciles: after.reconciles - before.reconciles,
      },
    };
    await followUp(ctx, opts, { system: 'sitesync', servers, sitesync: run }, result);
    return result;
  } finally {
    // Stopping the operator also writes its CPU profile, when one was asked for.
    await run.close();
  }
}

async function convergeNative(
  ctx: BenchContext,
  servers: BenchServer[],
  opts: RunOptions,
  base: RunResult,
) {
  const serverPids = servers.map((s) => s.pid);
  const servers0 = cpuSecondsOf(serverPids);
  const t0 = performance.now();
  await replicateAdd(servers, { workDir: ctx.ws.dir, timeoutMs: ctx.timeoutMs });
  const commandSeconds = (performance.now() - t0) / 1000;
  const conv = await waitConverged(servers, opts.seed, {
    t0,
    timeoutMs: ctx.timeoutMs,
    log: ctx.log,
  });
  const result: RunResult = {
    ...base,
    ...convFields(conv),
    commandSeconds: round(commandSeconds),
    serversCpuSeconds: round(cpuSecondsOf(serverPids) - servers0, 2),
  };
  await followUp(ctx, opts, { system: 'native', servers }, result);
  return result;
}

/** Runs the follow-up on the live group; its failure is noted, the convergence still counts. */
async function followUp(ctx: BenchContext, opts: RunOptions, live: Live, result: RunResult) {
  if (!opts.then) return;
  try {
    await opts.then(live);
    assertAlive(live.servers);
  } catch (e: unknown) {
    result.followUpError = e instanceof Error ? e.message : String(e);
    ctx.log(`    follow-up failed: ${result.followUpError}`);
    ctx.ws.saveLogs(live.servers, join(ctx.logDir, `failed-${live.servers[0]?.name ?? 'run'}`));
  }
}

/** One measured convergence; failures are recorded in the result, never thrown. */
export async function runConvergence(ctx: BenchContext, opts: RunOptions): Promise<RunResult> {
  const { seed, sites, system } = opts;
  const base: RunResult = {
    system,
    size: seed.size.name,
    buckets: seed.size.buckets,
    iam: seed.size.iam,
    objects: seed.size.objects,
    sites,
    seconds: Number.NaN,
    metadataSeconds: Number.NaN,
    verifySeconds: Number.NaN,
    serversCpuSeconds: Number.NaN,
  };
  const label = `${system} ${seed.size.name} (${seed.size.buckets} buckets, ${seed.size.iam} IAM, ${seed.size.objects} objects) × ${sites} sites`;
  ctx.log(`  ${label} …`);
  const servers = await startServers(ctx, seed, sites);
  try {
    const r =
      system === 'sitesync'
        ? await convergeSitesync(ctx, servers, opts, base)
        : await convergeNative(ctx, servers, opts, base);
    if (opts.cpuProfDir && r.operator) {
      const prof = readdirSync(opts.cpuProfDir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()
        .pop();
      if (prof) r.operator.profile = join(opts.cpuProfDir, prof);
    }
    const op = r.operator
      ? `, operator CPU ${r.operator.cpuSeconds.toFixed(1)} s, peak RSS ${r.operator.peakRssMiB.toFixed(0)} MiB, ${r.operator.calls} calls`
      : '';
    const lost = r.lostFromSeed
      ? `; ${r.lostFromSeed} seed entities LOST/changed, e.g. ${(r.lostExamples ?? []).slice(0, 3).join(', ')}`
      : '';
    ctx.log(
      `    ${r.seconds.toFixed(1)} s (metadata ${r.metadataSeconds.toFixed(1)} s)${op}${lost}`,
    );
    return r;
  } catch (e: unknown) {
    const error = e instanceof Error ? e.message : String(e);
    ctx.log(`    FAILED: ${error}`);
    ctx.ws.saveLogs(servers, join(ctx.logDir, `failed-${servers[0]?.name ?? 'run'}`));
    return { ...base, error };
  } finally {
    await Promise.all(servers.map((s) => ctx.ws.stopServer(s)));
  }
}
