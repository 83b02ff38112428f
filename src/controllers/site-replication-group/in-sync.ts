/**
 * What the InSync condition promises, derived without I/O: every site reachable and holding
 * the agreed metadata, and no object version that any site still has to replicate to a peer
 * (pending, failed, or existing and never replicated), as the sites listed it. Its message
 * says what is still moving. Also the bounded lists of what differs on each site.
 */
import type {
  BoundedList,
  OutOfSyncEntities,
  OutOfSyncKind,
} from '../../api/site-replication-group.js';
import { type EntityKind, decodeKey } from '../../replication/entity-key.js';
import type { MergeAction } from '../../replication/merge.js';
import type { Why } from '../../runtime/kstatus.js';
import type { SiteObjects } from './progress.js';

/** Names listed per kind and site. */
export const NAMES_LISTED = 10;

const KIND_OF: Record<EntityKind, OutOfSyncKind> = {
  bucket: 'buckets',
  bucketConfig: 'bucketConfigs',
  policy: 'policies',
  user: 'users',
  group: 'groups',
  userMapping: 'policyMappings',
  groupMapping: 'policyMappings',
  serviceAccount: 'serviceAccounts',
};

/** The entity's name as people know it (`photos/tags`, `user:alice` for a mapping). */
function nameOf(key: string): { kind: OutOfSyncKind; name: string } | undefined {
  const k = decodeKey(key);
  if (k === undefined) return undefined;
  switch (k.kind) {
    case 'bucket':
      return { kind: KIND_OF.bucket, name: k.bucket };
    case 'bucketConfig':
      return { kind: KIND_OF.bucketConfig, name: `${k.bucket}/${k.config}` };
    case 'serviceAccount':
      return { kind: KIND_OF.serviceAccount, name: k.accessKey };
    case 'userMapping':
      return { kind: KIND_OF.userMapping, name: `user:${k.name}` };
    case 'groupMapping':
      return { kind: KIND_OF.groupMapping, name: `group:${k.name}` };
    case 'policy':
    case 'user':
    case 'group':
      return { kind: KIND_OF[k.kind], name: k.name };
  }
}

/**
 * What still differs on a site, from the actions not (yet) applied to it: an entity to put is
 * `(missing)` there or `(differs)`, one to delete is `(extra)`.
 */
export function outOfSyncEntities(
  pending: readonly MergeAction[],
  held: ReadonlySet<string>,
): OutOfSyncEntities | undefined {
  const out: Partial<Record<OutOfSyncKind, BoundedList>> = {};
  for (const a of pending) {
    const n = nameOf(a.key);
    if (!n) continue;
    const mark = a.kind === 'Delete' ? 'extra' : held.has(a.key) ? 'differs' : 'missing';
    const list = out[n.kind] ?? { count: 0, items: [] };
    list.count += 1;
    if (list.items.length < NAMES_LISTED) list.items.push(`${n.name} (${mark})`.slice(0, 1024));
    out[n.kind] = list;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** What InSync reads of a site. */
export interface InSyncSite {
  name: string;
  /** The site was read whole in this pass. */
  observed: boolean;
  error?: { reason: string; message: string } | undefined;
  /** The site holds the agreed metadata (nothing pending or failed on it). */
  inSync: boolean;
  buckets: { outOfSync: number };
  iam: { outOfSync: number };
  objects?: SiteObjects | undefined;
}

export interface InSyncInput {
  sites: readonly InSyncSite[];
  blocker?: Why | undefined;
  /** Objects are replicated by the group (spec.replicate.objects). */
  objects: boolean;
  /** The pass could not plan (nothing known of the metadata). */
  planned: boolean;
  now: number;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${String(n)} B` : `${v.toFixed(1)} ${units[u] ?? ''}`;
}

export function formatSeconds(s: number): string {
  if (s < 120) return `${String(s)}s`;
  if (s < 7200) return `${String(Math.round(s / 60))}m`;
  return `${String(Math.round(s / 3600))}h`;
}

/** `site-a: 12 pending (3.4 MiB queued), 2 failed, oldest waiting 42s, about 10s left`. */
export function movingText(site: string, o: SiteObjects): string {
  const queued = o.pendingBytes ?? 0;
  const parts = [
    `${String(o.pending)} pending${queued > 0 ? ` (${formatBytes(queued)} queued)` : ''}`,
  ];
  if (o.failed > 0) parts.push(`${String(o.failed)} failed`);
  if ((o.lagSeconds ?? 0) > 0) parts.push(`oldest waiting ${formatSeconds(o.lagSeconds ?? 0)}`);
  if (o.pending > 0 && o.etaSeconds !== undefined && o.etaSeconds > 0) {
    parts.push(`about ${formatSeconds(o.etaSeconds)} left`);
  }
  return `${site}: ${parts.join(', ')}`;
}

function metadataWhy(sites: readonly InSyncSite[]): Why | undefined {
  const down = sites.filter((s) => !s.observed);
  if (down.length > 0) {
    return {
      reason: down[0]?.error?.reason ?? 'SiteUnreachable',
      message: `Not known to hold the agreed state: ${down.map((s) => `${s.name} (${s.error?.reason ?? 'unreachable'})`).join(', ')}`,
    };
  }
  const behind = sites.filter((s) => !s.inSync);
  if (behind.length === 0) return undefined;
  const text = behind.map(
    (s) =>
      `${s.name} (${String(s.buckets.outOfSync)} bucket entities, ${String(s.iam.outOfSync)} IAM entities${s.error ? `; ${s.error.reason}` : ''})`,
  );
  return { reason: 'MetadataOutOfSync', message: `Metadata differs on ${text.join(', ')}` };
}

function objectsWhy(sites: readonly InSyncSite[]): Why | undefined {
  const uncounted = sites.filter((s) => s.objects === undefined);
  if (uncounted.length > 0) {
    return {
      reason: 'ObjectsNotCounted',
      message: `Object replication not counted yet on ${uncounted.map((s) => s.name).join(', ')}`,
    };
  }
  const unknown = sites.flatMap((s) => (s.objects?.unknown ?? []).map((u) => `${s.name}: ${u}`));
  const moving = sites.filter((s) => (s.objects?.pending ?? 0) + (s.objects?.failed ?? 0) > 0);
  if (moving.length === 0 && unknown.length === 0) return undefined;
  const failed = moving.some((s) => (s.objects?.failed ?? 0) > 0);
  const text = moving.flatMap((s) => (s.objects ? [movingText(s.name, s.objects)] : []));
  if (unknown.length > 0) text.push(`not counted: ${unknown.slice(0, 3).join('; ')}`);
  return {
    reason: failed ? 'ObjectsFailed' : moving.length > 0 ? 'ObjectsPending' : 'ObjectsNotCounted',
    message: `Object versions still to replicate: ${text.join('; ')}`,
  };
}

/** The InSync condition: True only when nothing differs and nothing is on its way. */
export function inSyncWhy(input: InSyncInput): { ok: boolean; why: Why } {
  if (input.blocker) return { ok: false, why: input.blocker };
  if (!input.planned) {
    return { ok: false, why: { reason: 'NotObserved', message: 'The sites are not observed yet' } };
  }
  const meta = metadataWhy(input.sites);
  if (meta) return { ok: false, why: meta };
  const objects = input.objects ? objectsWhy(input.sites) : undefined;
  if (objects) return { ok: false, why: objects };
  const counted = Math.min(...input.sites.map((s) => s.objects?.countedAt ?? input.now));
  const when = new Date(Number.isFinite(counted) ? counted : input.now)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  const message = input.objects
    ? `${String(input.sites.length)} sites hold the agreed metadata; no object version pending or failed (counted at ${when})`
    : `${String(input.sites.length)} sites hold the agreed metadata (objects are not replicated by this group)`;
  return { ok: true, why: { reason: 'InSync', message } };
}
