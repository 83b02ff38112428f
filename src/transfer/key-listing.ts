/**
 * Both sites' versions of a bucket, key by key, in S3's key order: two ListObjectVersions
 * walks (a page at a time, so memory holds a page and one key's versions) joined on the key.
 */
import type { KeyRange } from '../replication/copy-checkpoint.js';
import type { KeyListing } from '../replication/copy-plan.js';
import { compareKeys, inRange, pastRange } from '../replication/key-range.js';
import type { ObjectOps, ObjectVersion, VersionCursor } from '../sites/site-client.js';

interface KeyVersions {
  key: string;
  versions: ObjectVersion[];
}

export interface ListingOptions {
  bucket: string;
  range: KeyRange;
  pageSize: number;
  signal: AbortSignal;
}

/** One site's versions grouped by key, within the range. */
export async function* keyVersions(
  site: Pick<ObjectOps, 'listVersionPage'>,
  opts: ListingOptions,
): AsyncGenerator<KeyVersions> {
  let after: VersionCursor | undefined =
    opts.range.after === undefined ? undefined : { key: opts.range.after };
  let current: KeyVersions | undefined;
  for (;;) {
    const page = await site.listVersionPage(
      opts.bucket,
      { after, maxKeys: opts.pageSize },
      opts.signal,
    );
    for (const v of page.versions) {
      if (pastRange(v.key, opts.range)) {
        if (current) yield current;
        return;
      }
      if (!inRange(v.key, opts.range)) continue;
      if (current?.key === v.key) current.versions.push(v);
      else {
        if (current) yield current;
        current = { key: v.key, versions: [v] };
      }
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  if (current) yield current;
}

/** Both sides' listings joined on the key: every key either side holds, once, in order. */
export async function* joinListings(
  source: AsyncGenerator<KeyVersions>,
  destination: AsyncGenerator<KeyVersions>,
): AsyncGenerator<KeyListing> {
  let s = await source.next();
  let d = await destination.next();
  while (!s.done || !d.done) {
    const order = s.done ? 1 : d.done ? -1 : compareKeys(s.value.key, d.value.key);
    if (order === 0 && !s.done && !d.done) {
      yield { key: s.value.key, source: s.value.versions, destination: d.value.versions };
      [s, d] = await Promise.all([source.next(), destination.next()]);
    } else if (order < 0 && !s.done) {
      yield { key: s.value.key, source: s.value.versions, destination: [] };
      s = await source.next();
    } else if (!d.done) {
      yield { key: d.value.key, source: [], destination: d.value.versions };
      d = await destination.next();
    }
  }
}
