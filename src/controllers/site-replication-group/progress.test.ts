import { describe, expect, it } from '@jest/globals';

import type { ReplicationCounters, SiteClient, WaitingVersion } from '../../sites/site-client.js';
import { ObjectProgressCache, type ProgressSite, sumBuckets } from './progress.js';

/** The two calls the cache makes, on a site whose state the test sets. */
class FakeSite {
  counters: ReplicationCounters = {
    uptimeSeconds: 100,
    queuedCount: 0,
    queuedBytes: 0,
    failedCount: 0,
    replicatedCount: 0,
    replicatedBytes: 0,
  };
  waiting: WaitingVersion[] = [];
  listings = 0;
  counts = 0;
  targets = 'arn-1';

  site(name = 'a'): ProgressSite {
    const client = {
      replicationCounters: () => {
        this.counts++;
        return Promise.resolve({ ...this.counters });
      },
      listWaitingVersions: (_b: string, on: (v: WaitingVersion) => void) => {
        this.listings++;
        for (const v of this.waiting) on(v);
        return Promise.resolve();
      },
    } as unknown as SiteClient;
    return { name, client, targetsOf: () => this.targets };
  }
}

const signal = new AbortController().signal;
const waiting = (failed: boolean, lastModified: string): WaitingVersion => ({
  key: 'k',
  versionId: 'v',
  deleteMarker: false,
  lastModified,
  failed,
});

describe('sumBuckets', () => {
  it('adds the counts, takes the oldest waiting version and names what was not counted', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const sum = sumBuckets(
      [
        [
          'b1',
          {
            pending: 2,
            failed: 1,
            replicated: 10,
            bytes: 100,
            pendingBytes: 5,
            oldest: now - 40_000,
            at: now - 1000,
          },
        ],
        ['b2', { pending: 0, failed: 0, replicated: 5, bytes: 50, pendingBytes: 0, at: now }],
        [
          'b3',
          {
            pending: 0,
            failed: 0,
            replicated: 0,
            bytes: 0,
            pendingBytes: 0,
            unknown: 'timeout',
            at: now,
          },
        ],
      ],
      now,
    );
    expect(sum).toEqual({
      pending: 2,
      failed: 1,
      replicated: 15,
      bytes: 150,
      pendingBytes: 5,
      lagSeconds: 40,
      unknown: ['b3: timeout'],
      countedAt: now - 1000,
    });
  });
});

describe('ObjectProgressCache', () => {
  it('counts what the site lists as waiting, not its counters', async () => {
    const fake = new FakeSite();
    fake.counters.failedCount = 7; // failures since start, retried since
    fake.waiting = [waiting(true, '2026-01-01T00:00:00Z'), waiting(false, '2026-01-01T00:00:30Z')];
    const cache = new ObjectProgressCache(60_000, () => Date.parse('2026-01-01T00:01:00Z'));
    const got = (await cache.get('g', [fake.site()], ['b'], signal)).get('a');
    expect(got).toMatchObject({ pending: 1, failed: 1, lagSeconds: 60, unknown: [] });
  });

  it('lists again only when the counters or targets could hide something new', async () => {
    const fake = new FakeSite();
    let now = 0;
    const cache = new ObjectProgressCache(1000, () => now);
    const count = async () => {
      now += 1000;
      return (await cache.get('g', [fake.site()], ['b'], signal)).get('a');
    };
    await count();
    expect(fake.listings).toBe(1);
    fake.counters.uptimeSeconds += 10;
    await count();
    expect(fake.listings).toBe(1); // nothing queued, no new failure, same process, same targets
    fake.counters.failedCount = 1;
    await count();
    expect(fake.listings).toBe(2); // a new failure
    await count();
    expect(fake.listings).toBe(2);
    fake.counters.uptimeSeconds = 5;
    await count();
    expect(fake.listings).toBe(3); // restarted: its queue and counters are gone
    fake.targets = 'arn-1,arn-2';
    await count();
    expect(fake.listings).toBe(4); // a new peer: existing versions must reach it
    fake.counters.queuedCount = 3;
    fake.waiting = [waiting(false, '2026-01-01T00:00:00Z')];
    expect((await count())?.pending).toBe(1);
    expect(fake.listings).toBe(5);
  });

  it('counts a bucket with versions on their way on every call, the others every everyMs', async () => {
    const quiet = new FakeSite();
    const busy = new FakeSite();
    busy.counters.queuedCount = 2;
    busy.waiting = [waiting(false, '2026-01-01T00:00:00Z')];
    let now = 0;
    const cache = new ObjectProgressCache(60_000, () => now);
    const sites = [quiet.site('quiet'), busy.site('busy')];
    await cache.get('g', sites, ['b'], signal);
    expect(cache.moving('g')).toBe(true);
    now += 2000;
    await cache.get('g', sites, ['b'], signal);
    expect([quiet.counts, busy.counts]).toEqual([1, 2]);
    busy.counters.queuedCount = 0;
    busy.waiting = [];
    now += 2000;
    await cache.get('g', sites, ['b'], signal);
    expect(cache.moving('g')).toBe(false);
    now += 2000;
    await cache.get('g', sites, ['b'], signal);
    expect([quiet.counts, busy.counts]).toEqual([1, 3]);
    cache.invalidate('g');
    await cache.get('g', sites, ['b'], signal);
    expect([quiet.counts, busy.counts]).toEqual([2, 4]);
  });

  it('estimates the time left from the replication rate between counts', async () => {
    const fake = new FakeSite();
    fake.counters.queuedCount = 10;
    fake.waiting = Array.from({ length: 10 }, () => waiting(false, '2026-01-01T00:00:00Z'));
    let now = 0;
    const cache = new ObjectProgressCache(60_000, () => now);
    await cache.get('g', [fake.site()], ['b'], signal);
    now += 2000;
    fake.counters.replicatedCount = 4; // 2 per second
    const got = (await cache.get('g', [fake.site()], ['b'], signal)).get('a');
    expect(got?.etaSeconds).toBe(5);
  });

  it('a bucket that cannot be counted is named, not taken for nothing waiting', async () => {
    const fake = new FakeSite();
    const site = fake.site();
    (site.client as unknown as { listWaitingVersions: () => Promise<void> }).listWaitingVersions =
      () => Promise.reject(new Error('the listing timed out'));
    const cache = new ObjectProgressCache();
    const got = (await cache.get('g', [site], ['b'], signal)).get('a');
    expect(got?.unknown).toEqual(['b: the listing timed out']);
  });
});
