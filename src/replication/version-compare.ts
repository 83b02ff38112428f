/**
 * Comparing object versions across sites, pure: what one key holds on each site, as leaves of
 * each site's Merkle tree, and what differs. A version is the same on two sites when its key,
 * version ID, ETag, size and delete-marker flag are: MinIO's replication keeps the version ID,
 * the ETag (multipart and SSE-S3 objects included) and the size. Times are left out: they are
 * kept too, but a site's clock is no part of what a version holds.
 */
import { leafHash } from './merkle.js';

/** A version as a site lists it (the fields compared). */
export interface ListedVersion {
  key: string;
  versionId: string;
  etag?: string | undefined;
  size: number;
  deleteMarker: boolean;
}

/** Keys in S3's listing order: by their UTF-8 bytes (not by UTF-16 units, as `<` compares). */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** What a version holds, as one string: the ETag without quotes, in lower case, and the size. */
export function versionDigest(v: ListedVersion): string {
  if (v.deleteMarker) return 'delete-marker';
  const etag = (v.etag ?? '').replace(/^"|"$/g, '').toLowerCase();
  return `${etag}|${String(v.size)}`;
}

/** The Merkle leaf of a version (bucket roots are built from these, in key then ID order). */
export function versionLeaf(v: ListedVersion): Buffer {
  return leafHash(v.key, v.versionId, versionDigest(v));
}

/** The Merkle leaf of a bucket in a site's tree over buckets. */
export function bucketLeaf(bucket: string, root: string): Buffer {
  return leafHash(bucket, Buffer.from(root, 'hex'));
}

/**
 * The value most sites hold; a tie goes to the value of the site first in `order` (the
 * primary first, then the spec's order) among those tied.
 */
export function majority(
  values: ReadonlyMap<string, string>,
  order: readonly string[],
): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  let bestCount = 0;
  for (const site of order) {
    const v = values.get(site);
    if (v === undefined) continue;
    const c = counts.get(v) ?? 0;
    if (c > bestCount) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}

/** One version out of line on one site. */
export interface VersionFinding {
  site: string;
  key: string;
  versionId: string;
}

export interface KeyComparison {
  /** Each site's leaves for the key, in version-ID order. */
  leaves: Map<string, Buffer[]>;
  /** Versions another site holds and this site lacks. */
  missing: VersionFinding[];
  /** Versions this site holds with another digest than most sites that hold them. */
  different: VersionFinding[];
}

/** A site's versions of one key by version ID (a version listed twice counts once). */
function byVersion(versions: readonly ListedVersion[]): Map<string, ListedVersion> {
  const m = new Map<string, ListedVersion>();
  for (const v of versions) if (!m.has(v.versionId)) m.set(v.versionId, v);
  return m;
}

/**
 * Compares what every site of `order` lists for one key (a site absent from `bySite` lists
 * nothing for it).
 */
export function compareKey(
  key: string,
  bySite: ReadonlyMap<string, readonly ListedVersion[]>,
  order: readonly string[],
): KeyComparison {
  const maps = new Map(order.map((s) => [s, byVersion(bySite.get(s) ?? [])] as const));
  const ids = new Set<string>();
  for (const m of maps.values()) for (const id of m.keys()) ids.add(id);
  const sortedIds = [...ids].sort(compareUtf8);
  const out: KeyComparison = { leaves: new Map(), missing: [], different: [] };
  for (const site of order) {
    const m = maps.get(site) ?? new Map<string, ListedVersion>();
    out.leaves.set(
      site,
      sortedIds.flatMap((id) => {
        const v = m.get(id);
        return v === undefined ? [] : [versionLeaf({ ...v, key })];
      }),
    );
  }
  for (const id of sortedIds) {
    const digests = new Map<string, string>();
    for (const [site, m] of maps) {
      const v = m.get(id);
      if (v === undefined) out.missing.push({ site, key, versionId: id });
      else digests.set(site, versionDigest(v));
    }
    const common = majority(digests, order);
    for (const [site, d] of digests) {
      if (d !== common) out.different.push({ site, key, versionId: id });
    }
  }
  return out;
}

/** A list kept to its first `max` items, with the count of all. */
export interface Bounded {
  count: number;
  items: string[];
}

export function addBounded(list: Bounded, item: string, max: number): void {
  list.count += 1;
  if (list.items.length < max) list.items.push(item);
}
