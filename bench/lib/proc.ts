/** CPU time and memory of a process from /proc (Linux), including every thread. */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux x86-64

/** utime + stime of a `stat` line, in seconds, and the thread/process name. */
function parseStat(line: string): { comm: string; cpu: number } {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  const comm = line.slice(open + 1, close);
  const fields = line.slice(close + 2).split(' ');
  // After "pid (comm) ": state is field 3, utime is field 14, stime field 15 (1-based).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { comm, cpu: (utime + stime) / TICKS_PER_SECOND };
}

/** CPU seconds (user + system) the process has used so far, all threads; NaN when gone. */
export function cpuSeconds(pid: number): number {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpu;
  } catch {
    return Number.NaN;
  }
}

/** Sum of cpuSeconds over several processes. */
export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/**
 * CPU seconds per kind of thread: `main` (JavaScript), `libuv` (thread pool: argon2, zlib,
 * crypto, DNS), `v8` (GC and compiler helpers), `other`.
 */
export function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = { main: 0, libuv: 0, v8: 0, other: 0 };
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const { comm, cpu } = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      const kind =
        tid === String(pid)
          ? 'main'
          : comm.startsWith('libuv')
            ? 'libuv'
            : comm.startsWith('V8') || comm.includes('Worker')
              ? 'v8'
              : 'other';
      out[kind] = (out[kind] ?? 0) + cpu;
    } catch {
      // the thread ended while we read
    }
  }
  return out;
}

/** Peak and current resident set size in MiB (VmHWM, VmRSS). */
export function memoryMiB(pid: number): { peakRss: number; rss: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
    return { peakRss: kib('VmHWM') / 1024, rss: kib('VmRSS') / 1024 };
  } catch {
    return { peakRss: Number.NaN, rss: Number.NaN };
  }
}
