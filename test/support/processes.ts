import { spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A long-running server started by the stack: detached, logging to a file, pid on disk. */
export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}

export function pidFile(dir: string, name: string): string {
  return join(dir, `${name}.pid`);
}

export function readPid(dir: string, name: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(dir, name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True while the process runs. A zombie (exited, not yet reaped by its parent) counts as gone:
 * signal 0 still reaches it, so /proc tells its state.
 */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** Starts the process detached from this one, so it outlives a `make stack-up`. */
export function startProcess(dir: string, spec: ProcessSpec): number {
  const log = openSync(join(dir, `${spec.name}.log`), 'a');
  const child = spawn(spec.command, spec.args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...spec.env },
  });
  if (child.pid === undefined) throw new Error(`Could not start ${spec.name} (${spec.command})`);
  child.unref();
  writeFileSync(pidFile(dir, spec.name), `${child.pid}\n`);
  writeFileSync(join(dir, `${spec.name}.cmd.json`), JSON.stringify(spec, null, 2));
  return child.pid;
}

/** The spec a process was last started with, to start it again the same way. */
export function readProcessSpec(dir: string, name: string): ProcessSpec {
  return JSON.parse(readFileSync(join(dir, `${name}.cmd.json`), 'utf8')) as ProcessSpec;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(
  dir: string,
  name: string,
  opts: { graceMs?: number; signal?: NodeJS.Signals } = {},
): Promise<void> {
  const pid = readPid(dir, name);
  if (isAlive(pid) && pid !== undefined) {
    process.kill(pid, opts.signal ?? 'SIGTERM');
    const deadline = Date.now() + (opts.graceMs ?? 20_000);
    while (isAlive(pid) && Date.now() < deadline) await sleep(50);
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(20);
  }
  rmSync(pidFile(dir, name), { force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns true, or throws after `timeoutMs` with the last error. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (e: unknown) {
      last = e;
    }
    await sleep(opts.intervalMs ?? 100);
  }
  const why = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`Timed out waiting for ${what}${why}`);
}
