/**
 * Object replication progress per site, summed over the group's buckets, and true: what a site
 * still has to replicate is what it lists as not replicated (pending, failed, or existing and
 * never replicated), not what its counters say since it started.
 *
 * Listing walks the bucket on the site, so it is skipped when it cannot tell anything new: the
 * bucket's last listing found nothing waiting, and since then its counters show nothing queued,
 * no new failure and no restart, and its replication targets are the same. Each bucket is
 * counted at most once per `everyMs` (default one minute); a bucket with versions on their way
 * is counted again on every pass, so the counts follow it closely until it is done.
 */
import type { ObjectProgress } from '../../api/site-replication-group.js';
import { settleLimit } from '../../runtime/concurrency.js';
import { errorMessage } from '../../runtime/logger.js';
import type { ReplicationCounters, SiteClient } from '../../sites/site-client.js';
import { isSiteError } from '../../sites/site-error.js';

export interface ProgressSite {
  name: string;
  client: SiteClient;
  /** What identifies the bucket's replication targets on this site now (e.g. their ARNs). */
  targetsOf: (bucket: string) => string;
}

/** One bucket of one site, as last counted. */
export interface BucketCount {
  pending: number;
  failed: number;
  /** ms since the epoch of the oldest waiting version, when any waits. */
  oldest?: number | undefined;
  replicated: number;
  bytes: number;
  pendingBytes: number;
  /** Why it could not be counted (then the counts above are not known). */
  unknown?: string | undefined;
  at: number;
}

/** A site's objects as status reports them, and what could not be counted. */
export interface SiteObjects extends Omit<ObjectProgress, 'countedAt'> {
  /** Buckets whose waiting versions could not be counted, with why (first few). */
  unknown: string[];
  /** ms since the epoch of the oldest count summed in. */
  countedAt: number;
}

interface Mark {
  uptime: number;
  failedCount: number;
  targets: string;
}

interface GroupEntry {
  fullAt: number;
  buckets: Map<string, BucketCount>;
  marks: Map<string, Mark>;
  rates: Map<string, { at: number; replicated: number; perSecond?: number | undefined }>;
}

/** Buckets counted at once per site. */
const BUCKETS_AT_ONCE = 8;

const slot = (site: string, bucket: string) => `${site}\u0000${bucket}`;

export const isMoving = (c: BucketCount | undefined): boolean =>
  c !== undefined && c.unknown === undefined && c.pending > 0;

/** Nothing new can wait: the last listing found nothing, and the counters say so still. */
export function listingNeedless(
  counters: ReplicationCounters | undefined,
  mark: Mark | undefined,
  targets: string,
): boolean {
  if (counters === undefined || mark === undefined) return false;
  return (
    counters.queuedCount === 0 &&
    counters.failedCount === mark.failedCount &&
    counters.uptimeSeconds >= mark.uptime &&
    targets === mark.targets
  );
}

/** What the site lists as waiting in the bucket: counts and the oldest version's time. */
async function listWaiting(site: ProgressSite, bucket: string, signal: AbortSignal) {
  const out = { pending: 0, failed: 0, oldest: Infinity };
  await site.client.listWaitingVersions(
    bucket,
    (v) => {
      if (v.failed) out.failed++;
      else out.pending++;
      const t = v.lastModified === undefined ? NaN : Date.parse(v.lastModified);
      if (Number.isFinite(t)) out.oldest = Math.min(out.oldest, t);
    },
    signal,
  );
  return out;
}

const nothing = { pending: 0, failed: 0, replicated: 0, bytes: 0, pendingBytes: 0 };

const countersOf = (c: ReplicationCounters | undefined) => ({
  replicated: c?.replicatedCount ?? 0,
  bytes: c?.replicatedBytes ?? 0,
  pendingBytes: c?.queuedBytes ?? 0,
});

/** Counts one bucket of one site. */
async function countBucket(
  site: ProgressSite,
  bucket: string,
  marks: Map<string, Mark>,
  ctx: { now: () => number; signal: AbortSignal },
): Promise<BucketCount> {
  const at = ctx.now();
  let counters: ReplicationCounters | undefined;
  try {
    counters = await site.client.replicationCounters(bucket, ctx.signal);
  } catch (e: unknown) {
    ctx.signal.throwIfAborted();
    const why = isSiteError(e, 'NotFound') ? 'not linked to its peers yet' : errorMessage(e);
    return { ...nothing, unknown: why, at };
  }
  const base = { ...nothing, ...countersOf(counters), at };
  const key = slot(site.name, bucket);
  const targets = site.targetsOf(bucket);
  if (listingNeedless(counters, marks.get(key), targets)) return base;
  marks.delete(key);
  let listed;
  try {
    listed = await listWaiting(site, bucket, ctx.signal);
  } catch (e: unknown) {
    ctx.signal.throwIfAborted();
    return { ...base, unknown: errorMessage(e) };
  }
  if (listed.pending + listed.failed === 0 && counters !== undefined) {
    marks.set(key, { uptime: counters.uptimeSeconds, failedCount: counters.failedCount, targets });
  }
  const { oldest, ...counts } = listed;
  return { ...base, ...counts, ...(Number.isFinite(oldest) ? { oldest } : {}) };
}

/** A site's buckets summed: counts added, the oldest waiting version of all. */
export function sumBuckets(
  counts: readonly (readonly [string, BucketCount])[],
  now: number,
): Omit<SiteObjects, 'etaSeconds'> {
  const out: Omit<SiteObjects, 'etaSeconds'> = {
    pending: 0,
    replicated: 0,
    failed: 0,
    bytes: 0,
    pendingBytes: 0,
    lagSeconds: 0,
    unknown: [],
    countedAt: now,
  };
  let oldest = Infinity;
  for (const [bucket, c] of counts) {
    out.countedAt = Math.min(out.countedAt, c.at);
    if (c.unknown !== undefined) {
      if (out.unknown.length < 5) out.unknown.push(`${bucket}: ${c.unknown}`.slice(0, 300));
      continue;
    }
    out.pending += c.pending;
    out.failed += c.failed;
    out.replicated += c.replicated;
    out.bytes += c.bytes;
    out.pendingBytes = (out.pendingBytes ?? 0) + c.pendingBytes;
    if (c.oldest !== undefined) oldest = Math.min(oldest, c.oldest);
  }
  out.lagSeconds = Number.isFinite(oldest) ? Math.max(0, Math.round((now - oldest) / 1000)) : 0;
  return out;
}

export class ObjectProgressCache {
  private readonly groups = new Map<string, GroupEntry>();

  constructor(
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The next pass counts every bucket again (after a recover, say). */
  invalidate(group: string): void {
    const g = this.groups.get(group);
    if (g) g.fullAt = -Infinity;
  }

  /** Whether a bucket of the group had versions on their way at its last count. */
  moving(group: string): boolean {
    const g = this.groups.get(group);
    return g !== undefined && [...g.buckets.values()].some(isMoving);
  }

  forget(group: string): void {
    this.groups.delete(group);
  }

  /**
   * Each site's objects: every bucket counted when the last full count is older than
   * `everyMs`, else only the buckets with versions on their way. An aborted count throws and
   * keeps what was known.
   */
  async get(
    group: string,
    sites: readonly ProgressSite[],
    buckets: readonly string[],
    signal: AbortSignal,
  ): Promise<Map<string, SiteObjects>> {
    const g: GroupEntry = this.groups.get(group) ?? {
      fullAt: -Infinity,
      buckets: new Map(),
      marks: new Map(),
      rates: new Map(),
    };
    const now = this.now();
    const full = now - g.fullAt >= this.everyMs;
    const ctx = { now: this.now, signal };
    const fresh = new Map<string, BucketCount>();
    await Promise.all(
      sites.map(async (site) => {
        const todo = buckets.filter((b) => {
          const last = g.buckets.get(slot(site.name, b));
          return full || last === undefined || isMoving(last);
        });
        const results = await settleLimit(todo, BUCKETS_AT_ONCE, (b) =>
          countBucket(site, b, g.marks, ctx),
        );
        todo.forEach((b, i) => {
          const r = results[i];
          if (r?.ok) fresh.set(slot(site.name, b), r.value);
        });
      }),
    );
    signal.throwIfAborted();
    const kept = new Map<string, BucketCount>();
    for (const site of sites) {
      for (const b of buckets) {
        const k = slot(site.name, b);
        const c = fresh.get(k) ?? g.buckets.get(k);
        if (c) kept.set(k, c);
      }
    }
    g.buckets = kept;
    if (full) g.fullAt = now;
    this.groups.set(group, g);
    return new Map(sites.map((s) => [s.name, this.siteObjects(g, s.name, buckets, now)]));
  }

  private siteObjects(
    g: GroupEntry,
    site: string,
    buckets: readonly string[],
    now: number,
  ): SiteObjects {
    const counts = buckets.flatMap((b) => {
      const c = g.buckets.get(slot(site, b));
      return c ? [[b, c] as const] : [];
    });
    const sum = sumBuckets(counts, now);
    const prev = g.rates.get(site);
    let perSecond = prev?.perSecond;
    if (prev !== undefined && now > prev.at && sum.replicated > prev.replicated) {
      perSecond = ((sum.replicated - prev.replicated) * 1000) / (now - prev.at);
    }
    if (sum.replicated !== prev?.replicated) {
      g.rates.set(site, { at: now, replicated: sum.replicated, perSecond });
    }
    const eta =
      sum.pending === 0
        ? 0
        : perSecond !== undefined && perSecond > 0
          ? Math.round(sum.pending / perSecond)
          : undefined;
    return { ...sum, ...(eta === undefined ? {} : { etaSeconds: eta }) };
  }
}
