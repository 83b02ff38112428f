/**
 * ListObjectVersions' XML, read in document order: S3 and MinIO interleave `Version` and
 * `DeleteMarker` elements as the versions of a key follow each other, which the SDK's model
 * loses by splitting them into two lists. moto 5 lists a page's versions, then its delete
 * markers, with times to the second: within a key, entries are put newest first (the latest
 * first, then by time, document order kept for equal times), which is a no-op on a site that
 * interleaves.
 */
import { XMLParser } from 'fast-xml-parser';

import type { ObjectVersion, VersionPage } from './site-client.js';
import { SiteError } from './site-error.js';

type OrderedNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
});

/** The children of the first element named `tag` in an ordered list. */
function childrenOf(nodes: unknown, tag: string): OrderedNode[] | undefined {
  if (!Array.isArray(nodes)) return undefined;
  for (const n of nodes as OrderedNode[]) {
    const v = n[tag];
    if (Array.isArray(v)) return v as OrderedNode[];
  }
  return undefined;
}

function textOf(nodes: OrderedNode[], tag: string): string | undefined {
  const c = childrenOf(nodes, tag);
  if (c === undefined) return undefined;
  if (c.length === 0) return '';
  const t = c[0]?.['#text'];
  return typeof t === 'string' || typeof t === 'number' ? String(t) : undefined;
}

function entry(nodes: OrderedNode[], deleteMarker: boolean, decode: (s: string) => string) {
  const key = textOf(nodes, 'Key');
  if (key === undefined) return undefined;
  const size = Number(textOf(nodes, 'Size') ?? '0');
  const etag = textOf(nodes, 'ETag');
  const lastModified = textOf(nodes, 'LastModified');
  const v: ObjectVersion = {
    key: decode(key),
    versionId: textOf(nodes, 'VersionId') ?? 'null',
    isLatest: textOf(nodes, 'IsLatest') === 'true',
    deleteMarker,
    size: Number.isFinite(size) ? size : 0,
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified: new Date(lastModified).toISOString() }),
  };
  return v;
}

const time = (v: ObjectVersion) => (v.lastModified === undefined ? 0 : Date.parse(v.lastModified));

/** S3's key order: by the UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Keys in S3's order; within each key the latest first, then newest first, equal times in
 * document order.
 */
export function orderVersions(list: readonly ObjectVersion[]): ObjectVersion[] {
  const indexed = list.map((v, i) => ({ v, i }));
  indexed.sort((a, b) => {
    if (a.v.key !== b.v.key) return compareKeys(a.v.key, b.v.key);
    if (a.v.isLatest !== b.v.isLatest) return a.v.isLatest ? -1 : 1;
    return time(b.v) - time(a.v) || a.i - b.i;
  });
  return indexed.map(({ v }) => v);
}

/** Parses one ListVersionsResult document; a document of another shape is a SiteError. */
export function parseVersionPage(xml: string, site: string): VersionPage {
  const root = childrenOf(parser.parse(xml) as unknown, 'ListVersionsResult');
  if (root === undefined) {
    throw new SiteError(site, 'ListObjectVersions', 'Internal', 'the answer is not a version list');
  }
  const url = textOf(root, 'EncodingType') === 'url';
  const decode = (s: string) => (url ? decodeURIComponent(s.replace(/\+/g, ' ')) : s);
  const versions: ObjectVersion[] = [];
  for (const node of root) {
    const [tag] = Object.keys(node);
    if (tag !== 'Version' && tag !== 'DeleteMarker') continue;
    const v = entry(node[tag] as OrderedNode[], tag === 'DeleteMarker', decode);
    if (v) versions.push(v);
  }
  return { versions: orderVersions(versions), next: nextCursor(root, site, decode) };
}

/** Where the next page starts: NextKeyMarker and NextVersionIdMarker of a truncated page. */
function nextCursor(root: OrderedNode[], site: string, decode: (s: string) => string) {
  if (textOf(root, 'IsTruncated') !== 'true') return undefined;
  const nextKey = textOf(root, 'NextKeyMarker');
  const nextVersion = textOf(root, 'NextVersionIdMarker');
  if (nextKey === undefined || nextKey === '') {
    throw new SiteError(
      site,
      'ListObjectVersions',
      'Internal',
      'a truncated page names no NextKeyMarker: the listing cannot go on',
    );
  }
  return {
    key: decode(nextKey),
    ...(nextVersion === undefined || nextVersion === '' ? {} : { versionId: nextVersion }),
  };
}
