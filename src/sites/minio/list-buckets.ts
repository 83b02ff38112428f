/**
 * S3 ListBuckets for MinIO through the admin transport, read with a scan of the answer's
 * elements. The AWS SDK's deserialiser (its schema walk, a Date per bucket) and then a generic
 * XML parser (fast-xml-parser, a node per element) were each near a tenth of the operator's
 * main thread in a steady pass at 1000 buckets × 3 sites. The answer is a flat, fixed document
 * (ListAllMyBucketsResult: Owner, Buckets of Bucket{Name, CreationDate}, an optional
 * ContinuationToken): anything else in it is ignored, a document with another root is refused.
 */
import { MAX_BUCKET_NAME_LENGTH } from '../response-limits.js';
import type { BucketSummary } from '../site-client.js';

export interface BucketPage {
  buckets: BucketSummary[];
  /** Set when the server has more buckets to list. */
  continuationToken?: string | undefined;
}

/** Thrown for an answer that is not a ListAllMyBucketsResult MinIO would write. */
export class BucketListError extends Error {
  override readonly name = 'BucketListError';
}

const ROOT = /^(?:\s*<\?xml[^>]*\?>)?\s*<ListAllMyBucketsResult[\s>]/;
const NAME = /<Name>([^<]*)<\/Name>/;
const CREATED = /<CreationDate>([^<]*)<\/CreationDate>/;
const TOKEN = /<ContinuationToken>([^<]*)<\/ContinuationToken>/;
/** How S3 writes its dates (MinIO: Go's `2006-01-02T15:04:05.000Z`), as `toISOString` does. */
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ENTITY = /&(?:#(\d+)|#x([0-9a-fA-F]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/** Element text with XML's character references decoded. */
function xmlText(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(ENTITY, (_m, dec?: string, hex?: string, named?: string) => {
    if (named !== undefined) return NAMED[named] ?? '';
    const code = dec !== undefined ? Number(dec) : Number.parseInt(hex ?? '', 16);
    if (!Number.isInteger(code) || code < 0 || code > 0x10ffff) {
      throw new BucketListError('malformed response: a character reference out of range');
    }
    return String.fromCodePoint(code);
  });
}

/** A creation date as the SDK gave it (`Date#toISOString`), undefined when unreadable. */
function isoDate(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (ISO_MS.test(v)) return v;
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

/** One page of `GET /` (ListAllMyBucketsResult). */
export function parseBucketList(body: string): BucketPage {
  if (!ROOT.test(body)) {
    throw new BucketListError('malformed response: not a ListAllMyBucketsResult');
  }
  const buckets: BucketSummary[] = [];
  // indexOf, not a lazy regex: linear even for an answer full of unclosed elements.
  let at = 0;
  for (;;) {
    const open = body.indexOf('<Bucket>', at);
    if (open < 0) break;
    const close = body.indexOf('</Bucket>', open);
    if (close < 0) throw new BucketListError('malformed response: an unclosed Bucket element');
    at = close + '</Bucket>'.length;
    const inner = body.slice(open + '<Bucket>'.length, close);
    const raw = NAME.exec(inner)?.[1];
    const name = raw === undefined ? '' : xmlText(raw);
    if (name === '') continue;
    if (name.length > MAX_BUCKET_NAME_LENGTH) {
      throw new BucketListError(
        `malformed response: a bucket name of ${name.length} characters (at most ${MAX_BUCKET_NAME_LENGTH})`,
      );
    }
    buckets.push({ name, createdAt: isoDate(CREATED.exec(inner)?.[1]) });
  }
  const afterBuckets = at;
  const token = TOKEN.exec(body.slice(afterBuckets))?.[1];
  return { buckets, ...(token ? { continuationToken: xmlText(token) } : {}) };
}
