/**
 * Object replication progress per site, summed over the group's buckets from each site's own
 * replication metrics. One call per bucket per site, so it is collected at most once per
 * `everyMs` per group (default one minute) and served from memory in between: the steady-state
 * resync stays at a handful of calls per site.
 */
import { settleLimit } from '../runtime/concurrency.js';
import type { ReplicationProgress, SiteClient } from '../sites/site-client.js';

export interface ProgressSite {
  name: string;
  client: SiteClient;
}

const zero = (): ReplicationProgress => ({ pending: 0, replicated: 0, failed: 0, bytes: 0 });

export class ObjectProgressCache {
  private readonly cache = new Map<
    string,
    { at: number; sites: Map<string, ReplicationProgress> }
  >();

  constructor(
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The latest progress of each site; refreshed when older than `everyMs` or `force`. */
  async get(
    group: string,
    sites: readonly ProgressSite[],
    buckets: readonly string[],
    force = false,
  ): Promise<Map<string, ReplicationProgress>> {
    const hit = this.cache.get(group);
    if (hit && !force && this.now() - hit.at < this.everyMs) return hit.sites;
    const fresh = new Map<string, ReplicationProgress>();
    await Promise.all(
      sites.map(async (site) => {
        const results = await settleLimit(buckets, 8, (b) => site.client.replicationProgress(b));
        // A bucket whose metrics cannot be read counts as nothing rather than failing the pass.
        const sum = zero();
        for (const r of results) {
          if (!r.ok) continue;
          sum.pending += r.value.pending;
          sum.replicated += r.value.replicated;
          sum.failed += r.value.failed;
          sum.bytes += r.value.bytes;
        }
        fresh.set(site.name, sum);
      }),
    );
    this.cache.set(group, { at: this.now(), sites: fresh });
    return fresh;
  }

  forget(group: string): void {
    this.cache.delete(group);
  }
}
