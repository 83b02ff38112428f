/**
 * Verifying one bucket: every site's version listing read page by page, in step, key by key,
 * each site's versions folded into its Merkle tree and compared with the other sites'. Memory
 * holds about a page per site; a slice stops at its deadline and returns a checkpoint (the last
 * key done and each site's tree state) from which the next slice, in this process or another,
 * goes on.
 */
import { type MerkleState, MerkleStream } from '../../replication/merkle.js';
import {
  type ListedVersion,
  type VersionFinding,
  compareKey,
  compareUtf8,
} from '../../replication/version-compare.js';
import { mapLimit } from '../../runtime/concurrency.js';
import type { VersionCursor, VersionPage } from '../../sites/site-client.js';
import { isSiteError } from '../../sites/site-error.js';

/** One page of a site's listing of the bucket, after a cursor. */
export type ListPage = (
  after: VersionCursor | undefined,
  signal: AbortSignal,
) => Promise<VersionPage>;

export interface BucketCheckpoint {
  /** The last key compared on every site: the next slice lists after it. */
  after?: string | undefined;
  trees: Record<string, MerkleState>;
}

export interface SliceOptions {
  /** Sites in priority order (ties of the comparison go to the first). */
  order: readonly string[];
  /** ms since the epoch: no new page is read after it. */
  deadline: number;
  now: () => number;
  signal: AbortSignal;
  onFinding: (kind: 'missing' | 'different', f: VersionFinding) => void;
  /** Sites listed at once (default 8). */
  concurrency?: number;
}

export interface SliceResult {
  done: boolean;
  checkpoint: BucketCheckpoint;
  /** Versions listed per site in this slice. */
  listed: Record<string, number>;
}

/** More versions of one key than this in one site's buffer: the bucket cannot be verified. */
export const MAX_BUFFERED_VERSIONS = 100_000;

class SiteListing {
  private buf: ListedVersion[] = [];
  private head = 0;
  private next: VersionCursor | undefined;
  exhausted = false;
  private lastSeen: string | undefined;
  listed = 0;

  constructor(
    readonly site: string,
    private readonly list: ListPage,
    after: string | undefined,
  ) {
    this.next = after === undefined ? undefined : { key: after };
    this.lastSeen = after;
  }

  private get size(): number {
    return this.buf.length - this.head;
  }

  /** The key of the last buffered version (it may go on in the next page). */
  get lastKey(): string | undefined {
    return this.buf[this.buf.length - 1]?.key;
  }

  /** Whether the buffer holds a key known to be complete (one before the last, or the end). */
  hasCompleteKey(): boolean {
    if (this.size === 0) return false;
    return this.exhausted || this.buf[this.head]?.key !== this.lastKey;
  }

  async fill(bucket: string, signal: AbortSignal): Promise<void> {
    let page: VersionPage;
    try {
      page = await this.list(this.next, signal);
    } catch (e: unknown) {
      // A bucket the site does not hold lists nothing (the metadata comparison names it).
      if (isSiteError(e, 'NotFound') && this.next === undefined && this.size === 0) {
        this.exhausted = true;
        return;
      }
      throw e;
    }
    for (const v of page.versions) {
      if (this.lastSeen !== undefined && compareUtf8(v.key, this.lastSeen) < 0) {
        throw new Error(
          `${this.site} lists ${bucket} out of key order (${JSON.stringify(v.key)} after ${JSON.stringify(this.lastSeen)}): it cannot be compared`,
        );
      }
      this.lastSeen = v.key;
    }
    if (this.head > 0) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    this.buf.push(...page.versions);
    this.next = page.next;
    if (page.next === undefined) this.exhausted = true;
    if (this.size > MAX_BUFFERED_VERSIONS) {
      throw new Error(
        `${this.site}: key ${JSON.stringify(this.buf[this.head]?.key)} of ${bucket} has more than ${MAX_BUFFERED_VERSIONS} versions; verification does not hold them`,
      );
    }
  }

  /** Takes the buffered versions of keys before `frontier` (all when undefined). */
  takeBefore(frontier: string | undefined, into: Map<string, Map<string, ListedVersion[]>>) {
    while (this.head < this.buf.length) {
      const v = this.buf[this.head];
      if (v === undefined) break;
      if (frontier !== undefined && compareUtf8(v.key, frontier) >= 0) break;
      let bySite = into.get(v.key);
      if (!bySite) {
        bySite = new Map();
        into.set(v.key, bySite);
      }
      const list = bySite.get(this.site) ?? [];
      list.push(v);
      bySite.set(this.site, list);
      this.head++;
      this.listed++;
    }
  }
}

/**
 * The smallest last key of the sites still listing: keys before it are complete everywhere
 * (undefined: every site is done, all keys are). Null while a site still listing has nothing
 * buffered: nothing is known complete until it has.
 */
function frontierOf(sites: readonly SiteListing[]): string | undefined | null {
  let min: string | undefined;
  for (const s of sites) {
    if (s.exhausted) continue;
    const k = s.lastKey;
    if (k === undefined) return null;
    if (min === undefined || compareUtf8(k, min) < 0) min = k;
  }
  return min;
}

/** Compares the keys taken in one round, in order; returns the last one. */
function compareRound(
  keys: ReadonlyMap<string, Map<string, ListedVersion[]>>,
  trees: ReadonlyMap<string, MerkleStream>,
  opts: SliceOptions,
): string | undefined {
  let last: string | undefined;
  for (const key of [...keys.keys()].sort(compareUtf8)) {
    const cmp = compareKey(key, keys.get(key) ?? new Map(), opts.order);
    for (const [site, leaves] of cmp.leaves) for (const l of leaves) trees.get(site)?.add(l);
    for (const f of cmp.missing) opts.onFinding('missing', f);
    for (const f of cmp.different) opts.onFinding('different', f);
    last = key;
  }
  return last;
}

/**
 * One slice of a bucket's verification: from `checkpoint` on, until the listing ends (done) or
 * the deadline passes. Findings go to `onFinding` as they are made; the trees in the returned
 * checkpoint hold everything compared so far.
 */
export async function verifyBucketSlice(
  bucket: string,
  listers: ReadonlyMap<string, ListPage>,
  checkpoint: BucketCheckpoint,
  opts: SliceOptions,
): Promise<SliceResult> {
  const trees = new Map(opts.order.map((s) => [s, new MerkleStream(checkpoint.trees[s])] as const));
  const sites = opts.order.map((s) => {
    const list = listers.get(s);
    if (!list) throw new Error(`no listing for site ${s}`);
    return new SiteListing(s, list, checkpoint.after);
  });
  let after = checkpoint.after;
  let done = false;
  let progressed = false;
  for (;;) {
    const needs = sites.filter((s) => !s.exhausted && !s.hasCompleteKey());
    await mapLimit(needs, opts.concurrency ?? 8, (s) => s.fill(bucket, opts.signal));
    opts.signal.throwIfAborted();
    const frontier = frontierOf(sites);
    const keys = new Map<string, Map<string, ListedVersion[]>>();
    if (frontier !== null) for (const s of sites) s.takeBefore(frontier, keys);
    const last = compareRound(keys, trees, opts);
    if (last !== undefined) {
      after = last;
      progressed = true;
    }
    if (sites.every((s) => s.exhausted && !s.hasCompleteKey())) {
      done = true;
      break;
    }
    // A slice ends at its deadline once it has compared a key: the next one resumes after it.
    if (progressed && opts.now() >= opts.deadline) break;
  }
  return {
    done,
    checkpoint: {
      ...(after === undefined ? {} : { after }),
      trees: Object.fromEntries([...trees].map(([s, t]) => [s, t.state()])),
    },
    listed: Object.fromEntries(sites.map((s) => [s.site, s.listed])),
  };
}

/** The roots of a checkpoint's trees. */
export function rootsOf(
  checkpoint: BucketCheckpoint,
  order: readonly string[],
): Map<string, string> {
  return new Map(order.map((s) => [s, new MerkleStream(checkpoint.trees[s]).root()] as const));
}
