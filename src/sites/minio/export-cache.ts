/**
 * Parsed exports, cached by content between passes. MinIO writes every export zip afresh (each
 * entry stamped with the time), but an unchanged file compresses to the same bytes: a bucket
 * whose files' compressed bytes are those already parsed is neither inflated nor parsed again;
 * an IAM export whose files are all unchanged is reused whole. Bounded: the bucket entries are
 * replaced by those of each whole export (plus what single-bucket reads add, up to a cap), and
 * one IAM state is kept.
 *
 * Some files of an unchanged bucket do not come back byte for byte: MinIO keeps a bucket's tags
 * in a Go map and writes `tagging.xml` in map order, which changes from one export to the next
 * (minio-go pkg/tags). Such a bucket is parsed again, and when it parses to the same meaning
 * the digest of its files is remembered with the entry (a few per bucket): the next export that
 * writes the same tags in an order already seen is a hit.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

import type { BucketMeta, IamState } from '../snapshot.js';
import type { ZipFile } from './admin/zip.js';
import { parseBucketExport, parseIamExport } from './export-parser.js';

/** Bucket entries kept at most (MinIO's exports are capped at 64 MiB unzipped anyway). */
const MAX_BUCKET_ENTRIES = 20_000;
/**
 * Other byte forms of the same meaning kept per bucket (tag orders: 2 tags have 2, 3 have 6);
 * a bucket with more orders than this is parsed whenever its order was not kept.
 */
const MAX_VARIANTS = 8;

/** The identity of some files' contents: names, methods and compressed bytes. */
function contentKey(files: readonly ZipFile[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f.name);
    h.update(`\0${f.method}\0${f.size}\0`);
    h.update(f.raw);
  }
  return h.digest('base64url');
}

/** The files of an export grouped by bucket (`bucket/file`), in order. */
function byBucket(files: readonly ZipFile[]): Map<string, ZipFile[]> {
  const out = new Map<string, ZipFile[]>();
  for (const f of files) {
    const slash = f.name.indexOf('/');
    if (slash <= 0) continue;
    const bucket = f.name.slice(0, slash);
    const list = out.get(bucket);
    if (list) list.push(f);
    else out.set(bucket, [f]);
  }
  return out;
}

const copyIam = (iam: IamState): IamState => ({
  policies: new Map(iam.policies),
  users: new Map(iam.users),
  groups: new Map(iam.groups),
  userPolicies: new Map(iam.userPolicies),
  groupPolicies: new Map(iam.groupPolicies),
  stsPolicies: new Map(iam.stsPolicies),
  serviceAccounts: new Map(iam.serviceAccounts),
});

export interface ExportCacheStats {
  bucketHits: number;
  bucketMisses: number;
  /** Misses whose bucket parsed to the cached meaning (files in another order). */
  bucketReordered: number;
  iamHits: number;
  iamMisses: number;
}

/** What a bucket's cached entry was parsed from: its files' names, methods and compressed bytes. */
interface BucketEntry {
  files: readonly { name: string; method: number; size: number; raw: Buffer }[];
  meta: BucketMeta;
  /** contentKey() of other files seen to parse to `meta` (at most MAX_VARIANTS, oldest first). */
  variants: string[];
}

/**
 * Whether a bucket's files are those of its entry: compared byte for byte (cheaper than a
 * digest per bucket: a steady pass checks every bucket of every site).
 */
function sameFiles(entry: BucketEntry, files: readonly ZipFile[]): boolean {
  if (entry.files.length !== files.length) return false;
  return entry.files.every((e, i) => {
    const f = files[i];
    return e.name === f?.name && e.method === f.method && e.size === f.size && e.raw.equals(f.raw);
  });
}

export class ExportCache {
  /** By bucket name. */
  private bucketEntries = new Map<string, BucketEntry>();
  private iamEntry: { key: string; iam: IamState } | undefined;
  readonly stats: ExportCacheStats = {
    bucketHits: 0,
    bucketMisses: 0,
    bucketReordered: 0,
    iamHits: 0,
    iamMisses: 0,
  };

  constructor(private readonly maxBucketEntries = MAX_BUCKET_ENTRIES) {}

  /**
   * The buckets of an export (whole: `whole` replaces the cache's entries with this export's;
   * a single bucket's read adds to them). Each call returns fresh objects.
   */
  buckets(files: readonly ZipFile[], opts: { whole: boolean }): Map<string, BucketMeta> {
    const next = opts.whole ? new Map<string, BucketEntry>() : this.bucketEntries;
    const out = new Map<string, BucketMeta>();
    for (const [bucket, own] of byBucket(files)) {
      const entry = this.lookup(bucket, own);
      if (entry === undefined) continue;
      this.remember(next, bucket, entry);
      out.set(bucket, { ...entry.meta });
    }
    this.bucketEntries = next;
    return out;
  }

  /** The entry for a bucket's files: the cached one when they mean the same, else parsed. */
  private lookup(bucket: string, own: readonly ZipFile[]): BucketEntry | undefined {
    const known = this.bucketEntries.get(bucket);
    if (known && sameFiles(known, own)) {
      this.stats.bucketHits++;
      return known;
    }
    const key = known ? contentKey(own) : undefined;
    if (known && key !== undefined && known.variants.includes(key)) {
      this.stats.bucketHits++;
      return known;
    }
    this.stats.bucketMisses++;
    const inflated = new Map(own.map((f) => [f.name, f.data()] as const));
    const meta = parseBucketExport(inflated).get(bucket);
    if (meta === undefined) return undefined;
    if (known && key !== undefined && isDeepStrictEqual(meta, known.meta)) {
      this.stats.bucketReordered++;
      known.variants.push(key);
      if (known.variants.length > MAX_VARIANTS) known.variants.shift();
      return known;
    }
    // Copies: a slice would keep the whole export's buffer alive.
    const kept = own.map((f) => ({
      name: f.name,
      method: f.method,
      size: f.size,
      raw: Buffer.from(f.raw),
    }));
    return { files: kept, meta, variants: [] };
  }

  private remember(into: Map<string, BucketEntry>, key: string, meta: BucketEntry): void {
    into.delete(key);
    into.set(key, meta);
    while (into.size > this.maxBucketEntries) {
      const oldest = into.keys().next().value;
      if (oldest === undefined) break;
      into.delete(oldest);
    }
  }

  /** The IAM state of an export; the same export as last time is not parsed again. */
  iam(files: readonly ZipFile[]): IamState {
    const key = contentKey(files);
    if (this.iamEntry?.key === key) {
      this.stats.iamHits++;
      return copyIam(this.iamEntry.iam);
    }
    this.stats.iamMisses++;
    const iam = parseIamExport(new Map(files.map((f) => [f.name, f.data()] as const)));
    this.iamEntry = { key, iam };
    return copyIam(iam);
  }

  /** How many bucket entries are held (tests). */
  get size(): number {
    return this.bucketEntries.size;
  }
}
