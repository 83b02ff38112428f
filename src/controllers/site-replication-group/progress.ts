/**
 * Object replication progress per site, summed over the group's buckets from each site's own
 * replication metrics. One call per bucket per site, so it is collected at most once per
 * `everyMs` per group (default one minute) and served from memory in between: the steady-state
 * resync stays at a handful of calls per site.
 */
import { settleLimit } from '../../runtime/concurrency.js';
import type { ReplicationProgress, SiteClient } from '../../sites/site-client.js';

export interface ProgressSite {
  name: string;
  client: SiteClient;
}

/**
 * A site's progress over its buckets: counts summed, the lag the longest of the buckets'.
 * A bucket whose metrics could not be read is left out rather than failing the pass; the lag
 * is unknown only when no bucket's lag is known.
 */
export function sumProgress(buckets: readonly ReplicationProgress[]): ReplicationProgress {
  const sum: ReplicationProgress = { pending: 0, replicated: 0, failed: 0, bytes: 0 };
  for (const p of buckets) {
    sum.pending += p.pending;
    sum.replicated += p.replicated;
    sum.failed += p.failed;
    sum.bytes += p.bytes;
    if (p.lagSeconds !== undefined) sum.lagSeconds = Math.max(sum.lagSeconds ?? 0, p.lagSeconds);
  }
  return sum;
}

export class ObjectProgressCache {
  private readonly cache = new Map<
    string,
    { at: number; sites: Map<string, ReplicationProgress> }
  >();

  constructor(
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The latest progress of each site; refreshed when older than `everyMs`. An aborted refresh
   * throws and keeps what was cached.
   */
  async get(
    group: string,
    sites: readonly ProgressSite[],
    buckets: readonly string[],
    signal: AbortSignal,
  ): Promise<Map<string, ReplicationProgress>> {
    const hit = this.cache.get(group);
    if (hit && this.now() - hit.at < this.everyMs) return hit.sites;
    const fresh = new Map<string, ReplicationProgress>();
    await Promise.all(
      sites.map(async (site) => {
        const results = await settleLimit(buckets, 8, (b) =>
          site.client.replicationProgress(b, signal),
        );
        fresh.set(site.name, sumProgress(results.flatMap((r) => (r.ok ? [r.value] : []))));
      }),
    );
    signal.throwIfAborted();
    this.cache.set(group, { at: this.now(), sites: fresh });
    return fresh;
  }
}
