/**
 * `kubectl sitesync status`: a SiteReplicationGroup's status as a per-site table, in the spirit
 * of `mc admin replicate status`. Pure: the clock is passed in.
 */
import type { Condition } from '../api/common.js';
import type {
  SiteReplicationGroup,
  SiteReplicationGroupSpec,
  SiteReplicationGroupStatus,
  SiteStatus,
} from '../api/site-replication-group.js';

export interface RenderOptions {
  now: Date;
  /** Show whole error messages instead of cutting them to `errorWidth`. */
  wide?: boolean;
  errorWidth?: number;
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
  return ['Ready', 'Reconciling', 'Degraded', 'Stalled'].flatMap((type) => {
    const c = conditions?.find((x) => x.type === type);
    return c && (type === 'Ready' || c.status === 'True') ? [conditionLine(c, opts)] : [];
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

/** The whole `kubectl sitesync status` output. */
export function renderStatus(group: SiteReplicationGroup, opts: RenderOptions): string {
  const table = formatTable([[...HEADERS], ...siteRows(group, opts)]);
  return `${summaryLines(group, opts).join('\n')}\n\n${table}\n`;
}
