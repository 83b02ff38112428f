/**
 * `kubectl sitesync status`: a SiteReplicationGroup's status as a per-site table, in the spirit
 * of `mc admin replicate status`. Pure: the clock is passed in.
 */
import type { Condition } from '../api/common.js';
import {
  type BoundedList,
  OUT_OF_SYNC_KINDS,
  type OutOfSyncKind,
  type SiteReplicationGroup,
  type SiteReplicationGroupSpec,
  type SiteReplicationGroupStatus,
  type SiteStatus,
} from '../api/site-replication-group.js';

/** The sections of `kubectl sitesync status` below the site table. */
export const SECTIONS = [
  'objects',
  'copies',
  'entities',
  'unmappable',
  'verification',
  'recovery',
] as const;
export type Section = (typeof SECTIONS)[number];

export interface RenderOptions {
  now: Date;
  /** Show whole error messages instead of cutting them to `errorWidth`. */
  wide?: boolean;
  errorWidth?: number;
  /**
   * Only these kinds in the out-of-sync section (like `mc admin replicate status --buckets`),
   * and only the sections they belong to; all when undefined.
   */
  only?: readonly (OutOfSyncKind | 'objects')[] | undefined;
}

const HEADERS = [
  'SITE',
  'REACHABLE',
  'BUCKETS IN SYNC/OUT',
  'IAM IN SYNC/OUT',
  'OBJECTS PENDING/FAILED',
  'LAST SYNC',
  'ERROR',
] as const;

/** kubectl's HumanDuration: 45s, 3m12s, 25m, 4h10m, 30h, 3d4h, 12d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  return `${d}d`;
}

function age(time: string | undefined, now: Date): string {
  if (time === undefined) return 'never';
  const t = Date.parse(time);
  return Number.isNaN(t) ? time : `${humanDuration(now.getTime() - t)} ago`;
}

const pair = (c: { inSync: number; outOfSync: number } | undefined) =>
  c === undefined ? '-' : `${c.inSync}/${c.outOfSync}`;

function cut(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, Math.max(1, width - 3))}...`;
}

/** `pending/failed`, and how long the oldest waiting object has waited when it has. */
function objectsCell(o: SiteStatus['objects']): string {
  if (o === undefined) return '-';
  const lag = o.lagSeconds ?? 0;
  return `${o.pending}/${o.failed}${lag > 0 ? ` (oldest ${humanDuration(lag * 1000)})` : ''}`;
}

/** One row per site: the spec's sites in order, with what the status says of each. */
export function siteRows(group: SiteReplicationGroup, opts: RenderOptions): string[][] {
  const reported = new Map((group.status?.sites ?? []).map((s) => [s.name, s]));
  const names = group.spec?.sites.map((s) => s.name) ?? [...reported.keys()];
  for (const name of reported.keys()) if (!names.includes(name)) names.push(name);
  return names.map((name) => siteRow(name, reported.get(name), opts));
}

function siteRow(name: string, s: SiteStatus | undefined, opts: RenderOptions): string[] {
  if (s === undefined) return [name, 'unknown', '-', '-', '-', 'never', 'not observed yet'];
  // The row names the site already: `Reason: site-b: message` reads `Reason: message`.
  const error = (s.lastError ?? '-').replace(`: ${name}: `, ': ');
  return [
    name,
    s.reachable ? 'yes' : 'NO',
    pair(s.buckets),
    pair(s.iam),
    objectsCell(s.objects),
    age(s.lastSyncTime, opts.now),
    opts.wide ? error : cut(error, opts.errorWidth ?? 60),
  ];
}

/** Left-aligned columns separated by three spaces, like kubectl's tables. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

function conditionLine(c: Condition, opts: RenderOptions): string {
  const why = c.message === '' ? c.reason : `${c.reason}: ${c.message}`;
  return `${c.type}=${c.status} (${opts.wide ? why : cut(why, 3 * (opts.errorWidth ?? 60))})`;
}

function modeLine(group: SiteReplicationGroup): string {
  const st: SiteReplicationGroupStatus = group.status ?? {};
  const spec: Partial<SiteReplicationGroupSpec> = group.spec ?? {};
  const primary = st.primary ?? spec.primary;
  return [
    `Mode: ${st.mode ?? spec.mode ?? 'ActiveActive'}`,
    ...(primary ? [`Primary: ${primary}`] : []),
    `Sites reachable: ${st.sitesReachable ?? '-'}`,
    `In sync: ${st.sitesInSync ?? '-'}`,
    `Last sequence: ${st.lastSequence ?? 0}`,
  ].join('   ');
}

function generationLine(group: SiteReplicationGroup): string[] {
  const gen = group.metadata.generation ?? 0;
  const observed = group.status?.observedGeneration;
  if (observed === gen) return [];
  return [`Generation ${gen} not observed yet (status is of generation ${observed ?? 'none'})`];
}

/** Ready always; the abnormal-true conditions only when they are true. */
function conditionLines(
  conditions: readonly Condition[] | undefined,
  opts: RenderOptions,
): string[] {
  return ['Ready', 'InSync', 'Reconciling', 'Degraded', 'Stalled'].flatMap((type) => {
    const c = conditions?.find((x) => x.type === type);
    const always = type === 'Ready' || type === 'InSync';
    return c && (always || c.status === 'True') ? [conditionLine(c, opts)] : [];
  });
}

/** The lines above the table: identity, mode, the summary counts and the conditions. */
export function summaryLines(group: SiteReplicationGroup, opts: RenderOptions): string[] {
  const title = `SiteReplicationGroup ${group.metadata.namespace ?? 'default'}/${group.metadata.name}`;
  if (group.status === undefined)
    return [title, 'No status yet: is the sitesync operator running?'];
  return [
    title,
    modeLine(group),
    ...generationLine(group),
    ...conditionLines(group.status.conditions, opts),
    ...(group.spec?.paused ? ['Paused: spec.paused is true (observing only)'] : []),
  ];
}

const bytes = (n: number | undefined): string => {
  if (n === undefined || n === 0) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${String(n)} B` : `${v.toFixed(1)} ${units[u] ?? ''}`;
};

const seconds = (s: number | undefined) =>
  s === undefined ? '-' : s === 0 ? '0s' : humanDuration(s * 1000);

/** What each site still has to replicate to its peers (as the site lists it). */
export function objectLines(group: SiteReplicationGroup, opts: RenderOptions): string[] {
  const sites = (group.status?.sites ?? []).filter((s) => s.objects !== undefined);
  if (sites.length === 0) return [];
  const rows = sites.map((s) => {
    const o = s.objects;
    return [
      s.name,
      String(o?.pending ?? 0),
      String(o?.failed ?? 0),
      bytes(o?.pendingBytes),
      seconds(o?.lagSeconds),
      (o?.pending ?? 0) === 0 ? '-' : seconds(o?.etaSeconds),
      age(o?.countedAt, opts.now),
    ];
  });
  const head = ['SITE', 'PENDING', 'FAILED', 'QUEUED', 'OLDEST WAITING', 'ETA', 'COUNTED'];
  return ['Objects each site still has to replicate:', formatTable([head, ...rows])];
}

/** The object copier's routes (mixed groups), per bucket and direction. */
export function copyLines(group: SiteReplicationGroup, opts: RenderOptions): string[] {
  const routes = group.status?.objectCopies ?? [];
  if (routes.length === 0) return [];
  const rows = routes.map((r) => [
    r.bucket,
    `${r.source} -> ${r.destination}`,
    String(r.copied),
    String(r.deleteMarkers),
    bytes(r.bytes),
    String(r.pending),
    String(r.failed),
    seconds(r.lagSeconds),
    age(r.lastPassTime, opts.now),
    r.message === undefined ? '-' : opts.wide ? r.message : cut(r.message, opts.errorWidth ?? 60),
  ]);
  const head = [
    'BUCKET',
    'ROUTE',
    'COPIED',
    'DELETE MARKERS',
    'BYTES',
    'PENDING',
    'FAILED',
    'OLDEST WAITING',
    'LAST PASS',
    'MESSAGE',
  ];
  return [
    'Objects the copier carries (sites without native replication):',
    formatTable([head, ...rows]),
  ];
}

/** Per site, the agreed entities its flavor cannot hold, with why. */
export function unmappableLines(group: SiteReplicationGroup): string[] {
  const sites = (group.status?.sites ?? []).filter((s) => s.unmappable !== undefined);
  if (sites.length === 0) return [];
  return [
    'Not mirrored to a site whose flavor cannot hold them (kept on the other sites):',
    ...sites.flatMap((s) => {
      const l = s.unmappable;
      if (l === undefined) return [];
      const more =
        l.count > l.items.length ? [`  and ${String(l.count - l.items.length)} more`] : [];
      return [`${s.name} (${String(l.count)}):`, ...l.items.map((i) => `  ${i}`), ...more];
    }),
  ];
}

const KIND_TITLE: Record<OutOfSyncKind, string> = {
  buckets: 'Buckets',
  bucketConfigs: 'Bucket configs',
  policies: 'Policies',
  users: 'Users',
  groups: 'Groups',
  policyMappings: 'Policy mappings',
  serviceAccounts: 'Service accounts',
};

const listText = (l: BoundedList) =>
  `${l.items.join(', ')}${l.count > l.items.length ? ` and ${String(l.count - l.items.length)} more` : ''}`;

/** Per kind, what differs on which site (first names, with the count of all). */
export function entityLines(group: SiteReplicationGroup, opts: RenderOptions): string[] {
  const kinds = OUT_OF_SYNC_KINDS.filter((k) => opts.only === undefined || opts.only.includes(k));
  const sites = group.status?.sites ?? [];
  const lines: string[] = [];
  for (const kind of kinds) {
    const rows = sites.flatMap((s) => {
      const l = s.outOfSyncEntities?.[kind];
      return l ? [[s.name, String(l.count), listText(l)]] : [];
    });
    if (rows.length > 0) {
      lines.push(
        `${KIND_TITLE[kind]} out of sync:`,
        formatTable([['SITE', 'COUNT', 'WHAT'], ...rows]),
      );
    } else if (opts.only !== undefined) {
      lines.push(`${KIND_TITLE[kind]}: in sync on every site`);
    }
  }
  return lines;
}

const root = (r: string | undefined) => (r === undefined ? '-' : r.slice(0, 12));
const bounded = (l: BoundedList | undefined) =>
  l === undefined ? '-' : `${String(l.count)}: ${listText(l)}`;

/** The last object verification: its state and, per site, its root and what differs. */
export function verificationLines(group: SiteReplicationGroup, opts: RenderOptions): string[] {
  const v = group.status?.verification;
  if (v === undefined) return [];
  const head =
    v.phase === 'Running'
      ? `Verification (${v.requested}): running, ${String(v.percent ?? 0)}%, ${String(v.bucketsDone)}/${String(v.buckets)} buckets, ${String(v.versionsCompared)} versions compared${v.etaSeconds === undefined ? '' : `, about ${seconds(v.etaSeconds)} left`}`
      : `Verification (${v.requested}): ${v.phase} ${age(v.completedAt, opts.now)} in ${seconds(v.durationSeconds)}, ${String(v.buckets)} buckets, ${String(v.versionsCompared)} versions compared${v.equal === undefined ? '' : v.equal ? ': every site holds the same versions' : ': sites differ'}`;
  const lines = [head, ...(v.message ? [`  ${v.message}`] : [])];
  const sites = (group.status?.sites ?? []).filter((s) => s.verification !== undefined);
  if (sites.length === 0) return lines;
  const rows = sites.map((s) => {
    const x = s.verification;
    return [
      s.name,
      root(x?.objectsRoot),
      String(x?.versions ?? 0),
      bounded(x?.bucketsDiffering),
      bounded(x?.missing),
      bounded(x?.different),
    ];
  });
  const cols = ['SITE', 'OBJECTS ROOT', 'VERSIONS', 'BUCKETS DIFFERING', 'MISSING', 'DIFFERENT'];
  return [...lines, formatTable([cols, ...rows])];
}

export function recoveryLines(group: SiteReplicationGroup): string[] {
  const r = group.status?.recovery;
  if (r === undefined) return [];
  const left = r.remaining === undefined ? '' : `, ${String(r.remaining)} left`;
  return [
    `Recovery (${r.requested}): ${r.phase}, retried ${String(r.retried)}${left}${r.message ? ` (${r.message})` : ''}`,
  ];
}

function sections(group: SiteReplicationGroup, opts: RenderOptions): string[][] {
  const only = opts.only;
  const wants = (s: Section) =>
    only === undefined ||
    (s === 'objects' && only.includes('objects')) ||
    (s === 'entities' && only.some((k) => k !== 'objects'));
  return [
    wants('objects') ? objectLines(group, opts) : [],
    wants('objects') ? copyLines(group, opts) : [],
    wants('entities') ? entityLines(group, opts) : [],
    wants('entities') ? unmappableLines(group) : [],
    wants('verification') ? verificationLines(group, opts) : [],
    wants('recovery') ? recoveryLines(group) : [],
  ].filter((s) => s.length > 0);
}

/** The whole `kubectl sitesync status` output. */
export function renderStatus(group: SiteReplicationGroup, opts: RenderOptions): string {
  const table = formatTable([[...HEADERS], ...siteRows(group, opts)]);
  const more = sections(group, opts).map((s) => `\n${s.join('\n')}\n`);
  return `${summaryLines(group, opts).join('\n')}\n\n${table}\n${more.join('')}`;
}
