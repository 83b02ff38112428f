/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) of the operator: where the main thread's time
 * went, by function (self time), by package or source file (self time), and inclusive time of
 * the operator's own functions (a function counted once per sample however deep it recurses).
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Cost {
  name: string;
  seconds: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  wallSeconds: number;
  /** Sampled seconds the main thread was busy (not idle). */
  busySeconds: number;
  idleSeconds: number;
  gcSeconds: number;
  selfByFunction: Cost[];
  selfByCategory: Cost[];
  inclusiveOwn: Cost[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Which package, Node subsystem or own source file a frame belongs to. */
export function category(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const url = frame.url;
  if (url === '') return '(native/V8 builtins)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] ?? ''}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] ?? url;
  const own = /\/dist\/(.+)$/.exec(url);
  if (own) return `sitesync: ${own[1] ?? ''}`;
  return url;
}

const frameKey = (f: CallFrame) => {
  const file = f.url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
};

function top(map: Map<string, number>, total: number, n: number): Cost[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({
      name,
      seconds: Math.round(us / 1e3) / 1e3,
      share: Math.round((us / total) * 1000) / 1000,
    }));
}

const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

/** The operator's own functions on the stack of a sample, each once. */
function ownFramesOnStack(
  id: number,
  byId: Map<number, ProfileNode>,
  parent: Map<number, number>,
): Set<string> {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur)?.callFrame;
    if (f?.url.includes('/dist/') && f.functionName) seen.add(frameKey(f));
  }
  return seen;
}

/**
 * Seconds before the end of the profile a sample may lie in: `[toEnd, fromEnd]` (the end is
 * when the operator exited). Without it, the whole profile.
 */
export interface ProfileWindow {
  fromEndSeconds: number;
  toEndSeconds: number;
}

interface Totals {
  selfFn: Map<string, number>;
  selfCat: Map<string, number>;
  incl: Map<string, number>;
  idle: number;
  gc: number;
  busy: number;
  wall: number;
}

function inWindow(t: number, end: number, w: ProfileWindow | undefined): boolean {
  if (!w) return true;
  const before = (end - t) / 1e6;
  return before >= w.toEndSeconds && before <= w.fromEndSeconds;
}

function tally(prof: CpuProfile, w: ProfileWindow | undefined): Totals {
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const t: Totals = {
    selfFn: new Map(),
    selfCat: new Map(),
    incl: new Map(),
    idle: 0,
    gc: 0,
    busy: 0,
    wall: 0,
  };
  let at = prof.startTime;
  prof.samples.forEach((id, i) => {
    at += prof.timeDeltas[i] ?? 0;
    const dt = prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0;
    const frame = byId.get(id)?.callFrame;
    if (!frame || !inWindow(at, prof.endTime, w)) return;
    t.wall += dt;
    if (frame.functionName === '(idle)') {
      t.idle += dt;
      return;
    }
    t.busy += dt;
    if (frame.functionName === '(garbage collector)') t.gc += dt;
    add(t.selfFn, frameKey(frame), dt);
    add(t.selfCat, category(frame), dt);
    for (const k of ownFramesOnStack(id, byId, parent)) add(t.incl, k, dt);
  });
  return t;
}

const secs = (us: number) => Math.round(us / 1e3) / 1e3;

export function summarizeProfile(file: string, n = 15, window?: ProfileWindow): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const t = tally(prof, window);
  return {
    file,
    wallSeconds: secs(window ? t.wall : prof.endTime - prof.startTime),
    busySeconds: secs(t.busy),
    idleSeconds: secs(t.idle),
    gcSeconds: secs(t.gc),
    selfByFunction: top(t.selfFn, t.busy, n),
    selfByCategory: top(t.selfCat, t.busy, n),
    inclusiveOwn: top(t.incl, t.busy, n),
  };
}

export function profileMarkdown(s: ProfileSummary, what = 'Profile'): string {
  const table = (title: string, rows: Cost[]) =>
    [
      `| ${title} | s | share of busy |`,
      '| --- | ---: | ---: |',
      ...rows.map(
        (r) => `| \`${r.name}\` | ${r.seconds.toFixed(2)} | ${(r.share * 100).toFixed(1)} % |`,
      ),
    ].join('\n');
  return [
    `${what} \`${s.file.replace(/^.*\/bench\//, 'bench/')}\`: ${s.wallSeconds.toFixed(1)} s wall, main thread busy ${s.busySeconds.toFixed(1)} s (GC ${s.gcSeconds.toFixed(1)} s), idle ${s.idleSeconds.toFixed(1)} s.`,
    '',
    table('self time by package / file', s.selfByCategory),
    '',
    table('self time by function', s.selfByFunction),
    '',
    table('inclusive time, operator functions', s.inclusiveOwn),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/profile-summary.ts FILE.cpuprofile [FROM_END_S TO_END_S]');
    process.exit(2);
  }
  const [from, to] = [process.argv[3], process.argv[4]].map(Number);
  const window =
    from !== undefined && Number.isFinite(from)
      ? { fromEndSeconds: from, toEndSeconds: to !== undefined && Number.isFinite(to) ? to : 0 }
      : undefined;
  console.log(profileMarkdown(summarizeProfile(file, 15, window)));
}
