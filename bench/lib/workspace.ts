/**
 * The benchmark's own directory of throwaway servers (under the OS temp dir, never the shared
 * stack's `.stack/`): MinIO data, logs and pid files. Everything started here is stopped by
 * `close()`, on SIGINT/SIGTERM, and — if a previous run died — by the sweep at the next start.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { isAlive, readPid, stopProcess } from '../../test/support/processes.js';
import { type MinioServer, startMinio } from '../../test/support/stack.js';

const PREFIX = 'sitesync-bench-';

export interface BenchServer extends MinioServer {
  /** Process name in the workspace (`minio-<name>`). */
  process: string;
  pid: number;
  logFile: string;
}

/** Throws when a server's process has exited (a crash), quoting the end of its log. */
export function assertAlive(servers: readonly BenchServer[]): void {
  for (const s of servers) {
    if (isAlive(s.pid)) continue;
    let tail = '';
    try {
      tail = readFileSync(s.logFile, 'utf8').split('\n').filter(Boolean).slice(-12).join(' | ');
    } catch {
      // no log
    }
    throw new Error(`MinIO server ${s.name} exited: ${tail.slice(-1500)}`);
  }
}

function pidNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pid') && f !== 'owner.pid')
    .map((f) => f.slice(0, -'.pid'.length));
}

/** Stops what earlier benchmark runs left behind (their owner process is gone). */
export async function sweepStale(): Promise<number> {
  let stopped = 0;
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    if (isAlive(readPid(dir, 'owner'))) continue;
    for (const name of pidNames(dir)) {
      if (isAlive(readPid(dir, name))) stopped++;
      await stopProcess(dir, name, { graceMs: 5000 });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return stopped;
}

export class Workspace {
  readonly dir: string;
  private readonly cleanups = new Set<() => Promise<void>>();

  constructor(readonly kmsSecretKey: string) {
    this.dir = mkdtempSync(join(tmpdir(), PREFIX));
    writeFileSync(join(this.dir, 'owner.pid'), `${process.pid}\n`);
  }

  /** Starts a MinIO server; with `dataFrom`, its drive starts as a copy of that directory. */
  async startServer(
    name: string,
    opts: { dataFrom?: string; accessKey?: string; secretKey?: string } = {},
  ): Promise<BenchServer> {
    const data = join(this.dir, `minio-${name}`);
    if (opts.dataFrom) {
      rmSync(data, { recursive: true, force: true });
      execFileSync('cp', ['-a', opts.dataFrom, data]);
    }
    mkdirSync(data, { recursive: true });
    const server = await startMinio(this.dir, {
      name,
      kmsSecretKey: this.kmsSecretKey,
      // The benchmark measures replication, not TLS: plain http, with ALLOW_INSECURE_SITES on
      // in the operator it runs (bench/lib/operator.ts).
      tls: false,
      ...(opts.accessKey ? { accessKey: opts.accessKey } : {}),
      ...(opts.secretKey ? { secretKey: opts.secretKey } : {}),
    });
    const pid = readPid(this.dir, `minio-${name}`) ?? 0;
    return {
      ...server,
      process: `minio-${name}`,
      pid,
      logFile: join(this.dir, `minio-${name}.log`),
    };
  }

  /** Stops a server; with `keepData` its drive stays (a seed template). */
  async stopServer(server: { name: string }, opts: { keepData?: boolean } = {}): Promise<void> {
    const proc = `minio-${server.name}`;
    await stopProcess(this.dir, proc);
    if (!opts.keepData) rmSync(join(this.dir, proc), { recursive: true, force: true });
  }

  /** Registers something to undo at close (an operator process, a namespace). */
  onClose(f: () => Promise<void>): () => void {
    this.cleanups.add(f);
    return () => this.cleanups.delete(f);
  }

  /** Keeps the last 256 KiB of each server's log in `dest` (after a failed run). */
  saveLogs(servers: readonly BenchServer[], dest: string): void {
    mkdirSync(dest, { recursive: true });
    for (const s of servers) {
      try {
        const text = readFileSync(s.logFile);
        writeFileSync(
          join(dest, `${s.process}.log`),
          text.subarray(Math.max(0, text.length - 262_144)),
        );
      } catch {
        // nothing to keep
      }
    }
  }

  dataDir(name: string): string {
    return join(this.dir, `minio-${name}`);
  }

  async close(): Promise<void> {
    for (const f of [...this.cleanups]) {
      try {
        await f();
      } catch (e: unknown) {
        console.error(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.cleanups.clear();
    for (const name of existsSync(this.dir) ? pidNames(this.dir) : []) {
      await stopProcess(this.dir, name, { graceMs: 5000 });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
