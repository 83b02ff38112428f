/**
 * sitesync benchmark on the real local stack (issue #8): convergence against MinIO's native site
 * replication, steady-state cost, propagation latency, scaling and footprint, in one run.
 *
 *   npx tsx bench/run.ts [--quick] [--reps N] [--only convergence,steady,latency,scaling]
 *                        [--large|--no-large] [--profile|--no-profile] [--no-scale-native]
 *                        [--append bench/results/<date>.json]
 *
 * Sizes and lists can be overridden with environment variables (buckets,IAM,objects):
 *   BENCH_SMALL=20,50,1000  BENCH_LARGE=500,1000,20000  BENCH_STEADY_BUCKETS=1000
 *   BENCH_SCALE_SITES=2,3,4,6  BENCH_SCALE_BUCKETS=10,100,1000
 * Writes bench/results/<date>.json, <date>.md and <date>-scaling.svg/.png. See bench/README.md.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

import { sleep } from '../test/support/processes.js';
import { readStack, REPO_ROOT } from '../test/support/stack.js';
import { type Collected, appendTo, buildResults } from './lib/assemble.js';
import { type KdfCost, kdfCosts } from './lib/kdf.js';
import { type LatencySample, measureLatency } from './lib/latency.js';
import { type Results, writeResults } from './lib/report.js';
import { type BenchContext, type Live, type RunResult, runConvergence } from './lib/scenarios.js';
import { type SeedTemplate, type Size, seedTemplate } from './lib/seed.js';
import { round } from './lib/stats.js';
import { type SteadyWindow, measureWindow, waitQuiet } from './lib/steady.js';
import { sweepStale, Workspace } from './lib/workspace.js';

type Scenario = 'convergence' | 'steady' | 'latency' | 'scaling';

interface Plan {
  quick: boolean;
  reps: number;
  scaleReps: number;
  only: Set<Scenario>;
  small: Size;
  large: Size | undefined;
  steadyBuckets: number;
  steadyWindows: number;
  latencyReps: number;
  scaleSites: number[];
  scaleBuckets: number[];
  scaleNative: boolean;
  profile: boolean;
  timeoutMs: number;
}

/** `BENCH_X=buckets,iam,objects` or the default. */
function size(name: string, env: string | undefined, def: readonly [number, number, number]): Size {
  const v = env ? env.split(',').map(Number) : [];
  const at = (i: 0 | 1 | 2) => {
    const x = v[i];
    return x !== undefined && Number.isFinite(x) ? x : def[i];
  };
  return { name, buckets: at(0), iam: at(1), objects: at(2) };
}

const list = (env: string | undefined, def: number[]) =>
  env
    ? env
        .split(',')
        .map(Number)
        .filter((n) => n > 0)
    : def;

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A flag that defaults to on in a full run and off in a quick one. */
const fullOnly = (args: string[], quick: boolean, name: string) =>
  args.includes(`--${name}`) || (!quick && !args.includes(`--no-${name}`));

function plan(args: string[]): Plan {
  const quick = args.includes('--quick');
  const env = process.env;
  const pickQ = <T>(q: T, full: T) => (quick ? q : full);
  return {
    quick,
    reps: Number(argValue(args, '--reps') ?? pickQ(3, 5)),
    scaleReps: pickQ(1, 3),
    only: new Set(
      (argValue(args, '--only') ?? 'convergence,steady,latency,scaling').split(',') as Scenario[],
    ),
    small: size('small', env['BENCH_SMALL'], [20, 50, 1000]),
    large: fullOnly(args, quick, 'large')
      ? size('large', env['BENCH_LARGE'], [500, 1000, 20000])
      : undefined,
    steadyBuckets: Number(env['BENCH_STEADY_BUCKETS'] ?? pickQ(50, 1000)),
    steadyWindows: pickQ(3, 5),
    latencyReps: pickQ(3, 20),
    scaleSites: list(env['BENCH_SCALE_SITES'], pickQ([2, 3, 4], [2, 3, 4, 6])),
    scaleBuckets: list(env['BENCH_SCALE_BUCKETS'], pickQ([10, 50], [10, 100, 1000])),
    scaleNative: !args.includes('--no-scale-native'),
    profile: fullOnly(args, quick, 'profile'),
    timeoutMs: Number(env['BENCH_TIMEOUT_S'] ?? pickQ(300, 3600)) * 1000,
  };
}

function machine(): Record<string, unknown> {
  const cpuModel =
    /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  return {
    nproc: cpus().length,
    cpuModel,
    memTotal: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    memFreeAtStart: `${(freemem() / 2 ** 30).toFixed(1)} GiB`,
    loadavgStart: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    node: process.version,
  };
}

/** Steady state kept at the end of the profiled run. */
const PROFILE_STEADY_MS = 45_000;

/** The bucket-scaling family: N buckets, 50 IAM entities, 100 objects. */
const bucketSize = (b: number): Size => ({ name: `b${b}`, buckets: b, iam: 50, objects: 100 });

const log = (m: string) => {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
};

class Bench {
  readonly seeds = new Map<string, SeedTemplate>();
  readonly runs: RunResult[] = [];
  readonly notes: string[] = [];
  steadyWindows: SteadyWindow[] = [];
  steadyError: string | undefined;
  latency: Record<string, LatencySample[]> = {};
  profileTail: { afterConvergenceSeconds: number; steadySeconds: number } | undefined;
  /** Observed seconds between resyncs while the latency changes were made (sitesync). */
  resyncPeriod: number | undefined;

  constructor(
    readonly ctx: BenchContext,
    readonly p: Plan,
  ) {}

  async seed(s: Size): Promise<SeedTemplate> {
    const key = `${s.buckets}/${s.iam}/${s.objects}`;
    const have = this.seeds.get(key);
    if (have) return have;
    log(
      `Seeding template ${s.name}: ${s.buckets} buckets, ${s.iam} IAM entities, ${s.objects} objects`,
    );
    const t = await seedTemplate(this.ctx.ws, s);
    log(`  seeded in ${t.seedSeconds.toFixed(1)} s`);
    this.seeds.set(key, t);
    return t;
  }

  async run(opts: Parameters<typeof runConvergence>[1], tag: string): Promise<RunResult> {
    const r = { ...(await runConvergence(this.ctx, opts)), tag };
    this.runs.push(r);
    return r;
  }

  /** Sitesync and native alternately, `reps` times each. */
  async sideBySide(s: Size, sites: number, reps: number, tag: string): Promise<void> {
    const seed = await this.seed(s);
    for (let k = 0; k < reps; k++) {
      await this.run({ system: 'sitesync', seed, sites }, tag);
      await this.run({ system: 'native', seed, sites }, tag);
    }
  }

  async convergence(): Promise<void> {
    log(`== 1. Convergence vs native: small × ${this.p.reps}${this.p.large ? ', large × 1' : ''}`);
    await this.sideBySide(this.p.small, 3, this.p.reps, 'convergence');
    if (this.p.large) await this.sideBySide(this.p.large, 3, 1, 'convergence');
  }

  async steady(): Promise<void> {
    const s = bucketSize(this.p.steadyBuckets);
    log(`== 2. Steady state: ${s.buckets} buckets, 3 sites, syncInterval 2s`);
    const seed = await this.seed(s);
    // BENCH_STEADY_CPU_PROF=1: this run under --cpu-prof (summarise its steady part with
    // `bench/profile-summary.ts FILE <seconds logged> 0`).
    const profDir =
      process.env['BENCH_STEADY_CPU_PROF'] === '1'
        ? join(REPO_ROOT, 'bench', 'results', 'profiles', `steady-${String(Date.now())}`)
        : undefined;
    if (profDir) mkdirSync(profDir, { recursive: true });
    await this.run(
      {
        system: 'sitesync',
        seed,
        sites: 3,
        syncInterval: '2s',
        ...(profDir ? { cpuProfDir: profDir } : {}),
        then: async (live: Live) => {
          const op = live.sitesync?.operator;
          if (!op) return;
          try {
            await waitQuiet(op, 600_000);
            const quietAt = performance.now();
            for (let w = 0; w < this.p.steadyWindows; w++) {
              const win = await measureWindow(op, 3, 5);
              log(
                `    window ${w + 1}: ${win.callsPerResyncPerSite} calls/resync/site, ${win.cpuSecondsPerResync} s CPU/resync, ${win.reconcileSeconds} s/resync`,
              );
              this.steadyWindows.push(win);
            }
            if (profDir) {
              const secs = ((performance.now() - quietAt) / 1000).toFixed(1);
              log(`    profile in ${profDir}: the steady windows are its last ${secs} s`);
            }
          } catch (e: unknown) {
            this.steadyError = e instanceof Error ? e.message : String(e);
            log(`    steady state failed: ${this.steadyError}`);
          }
        },
      },
      'steady',
    );
  }

  async latencyScenario(): Promise<void> {
    log(
      `== 3. Propagation latency: ${this.p.latencyReps} changes of each kind, sitesync syncInterval 5s`,
    );
    const seed = await this.seed(this.p.small);
    for (const system of ['sitesync', 'native'] as const) {
      await this.run(
        {
          system,
          seed,
          sites: 3,
          syncInterval: '5s',
          then: async (live) => {
            const op = live.sitesync?.operator;
            if (op) await waitQuiet(op, 300_000);
            const before = await op?.counters();
            const t0 = performance.now();
            this.latency[system] = await measureLatency(live.servers, {
              reps: this.p.latencyReps,
              maxDelayMs: 5000,
              timeoutMs: 120_000,
              log,
            });
            const after = await op?.counters();
            if (before && after) {
              const n = after.reconciles - before.reconciles;
              this.resyncPeriod = round((performance.now() - t0) / 1000 / Math.max(1, n), 2);
              log(`    ${n} resyncs during the latency phase: one every ${this.resyncPeriod} s`);
            }
          },
        },
        'latency',
      );
    }
  }

  async scaling(): Promise<void> {
    log(
      `== 4. Scaling: sites ${this.p.scaleSites.join(',')}; buckets ${this.p.scaleBuckets.join(',')}`,
    );
    const reps = this.p.scaleReps;
    const native = this.p.scaleNative ? reps : 0;
    for (const n of this.p.scaleSites) {
      // The convergence runs (small, 3 sites) are the 3-site point.
      if (n === 3 && this.p.only.has('convergence')) continue;
      await this.scalePoint(this.p.small, n, { sitesync: reps, native });
    }
    for (const b of this.p.scaleBuckets) {
      // The steady-state group is a sitesync run of this very size: count it, add native.
      const steadyRan = this.p.only.has('steady') && b === this.p.steadyBuckets;
      await this.scalePoint(bucketSize(b), 3, {
        sitesync: steadyRan ? 0 : reps,
        native: steadyRan ? Math.min(native, 1) : native,
      });
    }
  }

  private async scalePoint(
    s: Size,
    sites: number,
    reps: { sitesync: number; native: number },
  ): Promise<void> {
    const seed = await this.seed(s);
    const tag = s === this.p.small ? 'scale-sites' : 'scale-buckets';
    for (let k = 0; k < Math.max(reps.sitesync, reps.native); k++) {
      if (k < reps.sitesync) await this.run({ system: 'sitesync', seed, sites }, tag);
      if (k < reps.native) await this.run({ system: 'native', seed, sites }, tag);
    }
  }

  async profileRun(): Promise<void> {
    const s =
      this.p.large ??
      [...this.seeds.values()].map((t) => t.size).sort((a, b) => b.buckets - a.buckets)[0] ??
      this.p.small;
    log(
      `== CPU profile: one more sitesync convergence of ${s.name} under --cpu-prof (not counted)`,
    );
    const dir = join(REPO_ROOT, 'bench', 'results', 'profiles');
    mkdirSync(dir, { recursive: true });
    const profDir = join(dir, `run-${Date.now()}`);
    mkdirSync(profDir, { recursive: true });
    const run = await this.run(
      {
        system: 'sitesync',
        seed: await this.seed(s),
        sites: 3,
        cpuProfDir: profDir,
        // Then some steady state in the same profile: its last seconds are summarised apart.
        then: async (live) => {
          const op = live.sitesync?.operator;
          if (!op) return;
          const t0 = performance.now();
          await waitQuiet(op, 600_000);
          const t1 = performance.now();
          await sleep(PROFILE_STEADY_MS);
          const end = performance.now();
          this.profileTail = {
            afterConvergenceSeconds: round((end - t0) / 1000, 1),
            steadySeconds: round((end - t1) / 1000, 1),
          };
        },
      },
      'profile',
    );
    if (run.operator && this.profileTail) run.operator.profileTail = this.profileTail;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const p = plan(args);
  const started = new Date();
  const info = readStack();
  if (!info) throw new Error('The local stack is not up: run make stack-up (or make bench)');
  const swept = await sweepStale();
  if (swept > 0) log(`Stopped ${swept} server(s) left by an earlier benchmark run`);
  const ws = new Workspace(info.kmsSecretKey);
  // Operator logs are kept (git ignores *.log) so a slow or failed run can be read afterwards.
  const logDir = join(
    REPO_ROOT,
    'bench',
    'results',
    'logs',
    started.toISOString().replace(/[:.]/g, '-'),
  );
  mkdirSync(logDir, { recursive: true });
  const onSignal = (sig: string) => {
    log(`${sig}: stopping everything this run started`);
    void ws.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => {
    onSignal('SIGINT');
  });
  process.once('SIGTERM', () => {
    onSignal('SIGTERM');
  });
  const ctx: BenchContext = {
    ws,
    kubeconfig: info.kubeconfig,
    logDir,
    log,
    timeoutMs: p.timeoutMs,
  };
  const bench = new Bench(ctx, p);
  const mach = machine();
  log(
    `sitesync benchmark (${p.quick ? 'quick' : 'full'}) in ${ws.dir}; ${String(mach['nproc'])} CPUs, load ${String(mach['loadavgStart'])}`,
  );
  let kdf: KdfCost[] = [];
  try {
    log('Key derivation cost of one encrypted admin call (argon2id vs PBKDF2)');
    kdf = await kdfCosts();
    for (const k of kdf) log(`  ${k.algorithm}: ${k.wallMs} ms wall, ${k.cpuMs} ms CPU`);
    if (p.only.has('convergence')) await bench.convergence();
    if (p.only.has('steady')) await bench.steady();
    if (p.only.has('latency')) await bench.latencyScenario();
    if (p.only.has('scaling')) await bench.scaling();
    if (p.profile) await bench.profileRun();
  } finally {
    await ws.close();
  }
  mach['loadavgEnd'] = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const collected: Collected = {
    mode: p.quick ? 'quick' : 'full',
    started,
    machine: mach,
    settings: { ...p, only: [...p.only] },
    seeds: [...bench.seeds.values()].map((t) => ({
      size: t.size,
      seedSeconds: t.seedSeconds,
      iam: t.iam,
    })),
    runs: bench.runs,
    steady: {
      buckets: p.steadyBuckets,
      sites: 3,
      syncInterval: '2s',
      progressIntervalMs: 60_000,
      windows: bench.steadyWindows,
      error: bench.steadyError,
    },
    latency: bench.latency,
    resyncPeriod: bench.resyncPeriod,
    scaleSites: p.scaleSites,
    scaleBuckets: p.scaleBuckets,
    small: p.small,
    notes: bench.notes,
    kdf,
  };
  const append = argValue(args, '--append');
  const results = buildResults(
    append ? appendTo(JSON.parse(readFileSync(append, 'utf8')) as Results, collected) : collected,
  );
  const written = writeResults(results, join(REPO_ROOT, 'bench', 'results'));
  log(`Wrote ${written.join(', ')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
