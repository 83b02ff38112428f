/**
 * The built operator (dist/main.js) as a child process of the benchmark, optionally under
 * `node --cpu-prof`, with its CPU time and memory read from /proc and its Prometheus metrics
 * (per-site call counters, reconcile counts) read from its own /metrics endpoint.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';

import { waitFor } from '../../test/support/processes.js';
import { freePort, REPO_ROOT } from '../../test/support/stack.js';
import { cpuSeconds, memoryMiB, threadCpu } from './proc.js';

export interface OperatorOptions {
  kubeconfig: string;
  namespace: string;
  logFile: string;
  /** Write a V8 CPU profile into this directory when the operator exits. */
  cpuProfDir?: string | undefined;
  env?: Record<string, string>;
}

/** One Prometheus sample: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] ?? ''] = l[2] ?? '';
    }
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

/** Calls per site and operation, from `sitesync_site_calls_total`. */
export type CallCounts = Map<string, Map<string, number>>;

export class BenchOperator {
  private proc: ChildProcess | undefined;
  metricsPort = 0;

  constructor(private readonly opts: OperatorOptions) {}

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  async start(): Promise<void> {
    const main = join(REPO_ROOT, 'dist', 'main.js');
    if (!existsSync(main)) throw new Error('dist/main.js is missing: run make build');
    this.metricsPort = await freePort();
    const prof = this.opts.cpuProfDir
      ? ['--cpu-prof', `--cpu-prof-dir=${this.opts.cpuProfDir}`]
      : [];
    const fd = openSync(this.opts.logFile, 'a');
    const proc = spawn(process.execPath, [...prof, '--enable-source-maps', main], {
      env: {
        ...process.env,
        KUBECONFIG: this.opts.kubeconfig,
        WATCH_NAMESPACE: this.opts.namespace,
        LOG_LEVEL: 'info',
        METRICS_PORT: String(this.metricsPort),
        METRICS_HOST: '127.0.0.1',
        // The benchmark's MinIO servers serve plain http (bench/lib/workspace.ts).
        ALLOW_INSECURE_SITES: 'true',
        ...this.opts.env,
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.proc = proc;
    await waitFor(
      'the operator to serve /readyz',
      async () => {
        if (proc.exitCode !== null) throw new Error(`the operator exited: ${this.opts.logFile}`);
        return (await fetch(`http://127.0.0.1:${this.metricsPort}/readyz`)).ok;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  /** SIGTERM and wait (the CPU profile is written on the way out); SIGKILL after 30 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p?.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      p.once('exit', () => {
        resolve();
      });
    });
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  threadCpu(): Record<string, number> {
    return threadCpu(this.pid);
  }

  memoryMiB(): { peakRss: number; rss: number } {
    return memoryMiB(this.pid);
  }

  async samples(): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return parsePrometheus(await res.text());
  }

  /** Calls per site and op, and finished SiteReplicationGroup reconciles. */
  async counters(): Promise<{ calls: CallCounts; reconciles: number; durationSum: number }> {
    const samples = await this.samples();
    const calls: CallCounts = new Map();
    let reconciles = 0;
    let durationSum = 0;
    const srg = (s: Sample) => s.labels['controller'] === 'sitereplicationgroup';
    for (const s of samples) {
      if (s.name === 'sitesync_site_calls_total') {
        const site = s.labels['site'] ?? '';
        const bySite = calls.get(site) ?? new Map<string, number>();
        bySite.set(s.labels['op'] ?? '', s.value);
        calls.set(site, bySite);
      } else if (s.name === 'sitesync_reconcile_total' && srg(s)) {
        reconciles += s.value;
      } else if (s.name === 'sitesync_reconcile_duration_seconds_sum' && srg(s)) {
        durationSum += s.value;
      }
    }
    return { calls, reconciles, durationSum };
  }
}

/** after − before, per site and op (ops with no change left out). */
export function callDelta(after: CallCounts, before: CallCounts): CallCounts {
  const out: CallCounts = new Map();
  for (const [site, ops] of after) {
    const d = new Map<string, number>();
    for (const [op, v] of ops) {
      const diff = v - (before.get(site)?.get(op) ?? 0);
      if (diff > 0) d.set(op, diff);
    }
    out.set(site, d);
  }
  return out;
}

export function totalCalls(c: CallCounts, filter: (op: string) => boolean = () => true): number {
  let n = 0;
  for (const ops of c.values()) for (const [op, v] of ops) if (filter(op)) n += v;
  return n;
}

/** Calls per operation, summed over sites. */
export function callsByOp(c: CallCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ops of c.values()) for (const [op, v] of ops) out[op] = (out[op] ?? 0) + v;
  return out;
}
