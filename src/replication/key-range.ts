/**
 * Key ranges of a bucket, as a bulk copy is partitioned: `(after, until]` in S3's key order
 * (the UTF-8 bytes), so that a range starts where ListObjectVersions' `key-marker` does.
 */
import type { KeyRange } from './copy-checkpoint.js';

/** S3's key order: by the UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function inRange(key: string, range: KeyRange): boolean {
  if (range.after !== undefined && compareKeys(key, range.after) <= 0) return false;
  return range.until === undefined || compareKeys(key, range.until) <= 0;
}

/** The key is past the range's end: a listing in key order can stop. */
export const pastRange = (key: string, range: KeyRange) =>
  range.until !== undefined && compareKeys(key, range.until) > 0;

/**
 * `parts` ranges covering the whole bucket, cut at keys of `sortedKeys` (the bucket's keys in
 * S3 order, or a sample of them) so that each holds about as many of them. Fewer ranges when
 * there are fewer keys than parts.
 */
export function splitKeyRange(sortedKeys: readonly string[], parts: number): KeyRange[] {
  const n = Math.max(1, Math.min(Math.floor(parts), sortedKeys.length));
  const bounds: string[] = [];
  for (let i = 1; i < n; i++) {
    const k = sortedKeys[Math.floor((i * sortedKeys.length) / n) - 1];
    if (k !== undefined && k !== bounds.at(-1)) bounds.push(k);
  }
  const out: KeyRange[] = [];
  let after: string | undefined;
  for (const until of bounds) {
    out.push({ ...(after === undefined ? {} : { after }), until });
    after = until;
  }
  out.push(after === undefined ? {} : { after });
  return out;
}

/** `after:until` as the CLI writes a partition (either side may be empty). */
export function formatKeyRange(r: KeyRange): string {
  return `${r.after ?? ''}:${r.until ?? ''}`;
}
