/**
 * The operator as a real process (the built dist/main.js) for end-to-end tests: its logs go to a
 * file the test can scan, and it can be stopped politely (SIGTERM) or killed (SIGKILL). Its last
 * /metrics text is kept in a file next to the log (read on every `metrics()` and just before the
 * process is stopped), so the post-suite secret scan reads the metrics of every operator run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { waitFor } from './processes.js';
import { freePort, REPO_ROOT, STACK_DIR } from './stack.js';

/**
 * The V8 flags the chart and the kustomize base give the operator (env NODE_OPTIONS; install.int
 * checks both render it): the processes the tests start run with them too.
 */
export const OPERATOR_NODE_OPTIONS = '--max-semi-space-size=2';

/** Every operator process the tests started: its log and metrics files, one JSON line each. */
export const OPERATOR_RECORD = join(STACK_DIR, 'operators.jsonl');

export class OperatorProcess {
  private proc: ChildProcess | undefined;
  readonly logFile: string;
  /** The last /metrics text read from the process (`operator-*.metrics.txt`). */
  readonly metricsFile: string;
  metricsPort = 0;

  constructor(
    private readonly env: Record<string, string>,
    name = `operator-${process.pid}-${Date.now()}`,
  ) {
    this.logFile = join(STACK_DIR, `${name}.log`);
    this.metricsFile = join(STACK_DIR, `${name}.metrics.txt`);
  }

  async start(): Promise<void> {
    const main = join(REPO_ROOT, 'dist', 'main.js');
    if (!existsSync(main)) throw new Error('dist/main.js is missing: run make build');
    this.metricsPort = await freePort();
    appendFileSync(
      OPERATOR_RECORD,
      `${JSON.stringify({ log: this.logFile, metrics: this.metricsFile })}\n`,
    );
    const fd = openSync(this.logFile, 'a');
    this.proc = spawn(process.execPath, ['--enable-source-maps', main], {
      env: {
        ...process.env,
        NODE_OPTIONS: OPERATOR_NODE_OPTIONS,
        ...this.env,
        METRICS_PORT: String(this.metricsPort),
        METRICS_HOST: '127.0.0.1',
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    await waitFor(
      'the operator to serve /healthz',
      async () => {
        if (this.proc?.exitCode !== null)
          throw new Error(`the operator exited: see ${this.logFile}`);
        return (await fetch(`http://127.0.0.1:${this.metricsPort}/healthz`)).ok;
      },
      { timeoutMs: 30_000 },
    );
  }

  /**
   * SIGTERM (drain, release the lease) or SIGKILL (a crash); resolves with the exit code. The
   * metrics are saved first (for the post-suite secret scan) while the process still serves them.
   */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | null> {
    const p = this.proc;
    if (p?.exitCode !== null || p.signalCode !== null) {
      this.proc = undefined;
      return p?.exitCode ?? null;
    }
    await this.saveMetrics();
    this.proc = undefined;
    return new Promise((resolve) => {
      p.once('exit', (code) => {
        resolve(code);
      });
      p.kill(signal);
    });
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The peak resident set size so far (VmHWM of /proc/<pid>/status), in bytes. */
  peakRssBytes(): number {
    const pid = this.pid;
    if (pid === undefined) throw new Error('the operator is not running');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    if (kib === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
    return Number(kib) * 1024;
  }

  /** Resolves when the process exits by itself: its exit code, and when (ms since the epoch). */
  exited(): Promise<{ code: number | null; at: number }> {
    const p = this.proc;
    if (!p) return Promise.resolve({ code: null, at: Date.now() });
    if (p.exitCode !== null || p.signalCode !== null) {
      return Promise.resolve({ code: p.exitCode, at: Date.now() });
    }
    return new Promise((resolve) => {
      p.once('exit', (code) => {
        resolve({ code, at: Date.now() });
      });
    });
  }

  logs(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** The /metrics text; kept in `metricsFile` as the last one seen. */
  async metrics(): Promise<string> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
    writeFileSync(this.metricsFile, text);
    return text;
  }

  /** Reads /metrics into `metricsFile`; a process that no longer answers keeps the last one. */
  private async saveMetrics(): Promise<void> {
    try {
      await this.metrics();
    } catch {
      // Not serving (still starting, or wedged): the last text read, if any, stays.
    }
  }
}
