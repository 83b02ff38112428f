import { describe, expect, it } from '@jest/globals';

import { MerkleStream } from '../../replication/merkle.js';
import { type ListedVersion, compareUtf8, versionLeaf } from '../../replication/version-compare.js';
import type { ObjectVersion, VersionPage } from '../../sites/site-client.js';
import { SiteError } from '../../sites/site-error.js';
import {
  type BucketCheckpoint,
  type ListPage,
  rootsOf,
  verifyBucketSlice,
} from './verify-bucket.js';

const v = (key: string, versionId: string, etag = 'e', deleteMarker = false): ObjectVersion => ({
  key,
  versionId,
  etag: deleteMarker ? undefined : `"${etag}"`,
  size: deleteMarker ? 0 : 3,
  deleteMarker,
  isLatest: false,
});

/** A site's listing as S3 pages it: keys in UTF-8 order, `after` exclusive. */
function lister(
  versions: readonly ObjectVersion[],
  pageSize: number,
  calls: string[] = [],
): ListPage {
  const sorted = [...versions].sort((a, b) => compareUtf8(a.key, b.key));
  return (after) => {
    calls.push(after === undefined ? '' : `${after.key}@${after.versionId ?? ''}`);
    let start = 0;
    if (after !== undefined) {
      start = sorted.findIndex((x) =>
        after.versionId === undefined ? compareUtf8(x.key, after.key) > 0 : false,
      );
      if (after.versionId !== undefined) {
        start = sorted.findIndex((x) => x.key === after.key && x.versionId === after.versionId) + 1;
      }
      if (start < 0) start = sorted.length;
    }
    const page = sorted.slice(start, start + pageSize);
    const last = page[page.length - 1];
    const more = start + pageSize < sorted.length;
    const out: VersionPage = {
      versions: page,
      ...(more && last ? { next: { key: last.key, versionId: last.versionId } } : {}),
    };
    return Promise.resolve(out);
  };
}

/** The root a site's versions should have: leaves in key, then version-ID order. */
function expectedRoot(versions: readonly ListedVersion[]): string {
  const t = new MerkleStream();
  const sorted = [...versions].sort(
    (a, b) => compareUtf8(a.key, b.key) || compareUtf8(a.versionId, b.versionId),
  );
  for (const x of sorted) t.add(versionLeaf(x));
  return t.root();
}

const signal = new AbortController().signal;

async function runAll(
  listers: Map<string, ListPage>,
  order: string[],
  opts: { sliceEvery?: number } = {},
) {
  const findings: string[] = [];
  let checkpoint: BucketCheckpoint = { trees: {} };
  let clock = 0;
  let slices = 0;
  for (;;) {
    slices++;
    const r = await verifyBucketSlice(
      'b',
      listers,
      JSON.parse(JSON.stringify(checkpoint)) as BucketCheckpoint,
      {
        order,
        deadline: opts.sliceEvery === undefined ? Infinity : clock + opts.sliceEvery,
        now: () => ++clock,
        signal,
        onFinding: (kind, f) => findings.push(`${kind}:${f.site}:${f.key}@${f.versionId}`),
      },
    );
    checkpoint = r.checkpoint;
    if (r.done) break;
    if (slices > 1000) throw new Error('no progress');
  }
  return { roots: rootsOf(checkpoint, order), findings, slices };
}

const many = (n: number, prefix = 'k'): ObjectVersion[] =>
  Array.from({ length: n }, (_, i) => [
    v(`${prefix}${String(i).padStart(3, '0')}`, `v1-${i}`),
    v(`${prefix}${String(i).padStart(3, '0')}`, `v2-${i}`, 'x'),
  ]).flat();

describe('verifyBucketSlice', () => {
  it('equal sites: equal roots, no finding, whatever the page sizes', async () => {
    const versions = [...many(20), v('é', 'a'), v('z', 'b', 'e', true), v('\u{1F600}', 'c')];
    const { roots, findings } = await runAll(
      new Map([
        ['a', lister(versions, 3)],
        ['b', lister(versions, 7)],
        ['c', lister(versions, 1000)],
      ]),
      ['a', 'b', 'c'],
    );
    expect(findings).toEqual([]);
    expect(new Set(roots.values()).size).toBe(1);
    expect(roots.get('a')).toBe(expectedRoot(versions));
  });

  it('one version missing on one site: its root differs, the version is named', async () => {
    const all = many(10);
    const lacking = all.filter((x) => !(x.key === 'k004' && x.versionId === 'v2-4'));
    const { roots, findings } = await runAll(
      new Map([
        ['a', lister(all, 4)],
        ['b', lister(lacking, 4)],
      ]),
      ['a', 'b'],
    );
    expect(findings).toEqual(['missing:b:k004@v2-4']);
    expect(roots.get('a')).not.toBe(roots.get('b'));
    expect(roots.get('b')).toBe(expectedRoot(lacking));
  });

  it('another ETag on one site of three: only that site differs', async () => {
    const all = many(5);
    const changed = all.map((x) =>
      x.key === 'k002' && x.versionId === 'v1-2' ? { ...x, etag: '"zz"' } : x,
    );
    const { findings } = await runAll(
      new Map([
        ['a', lister(all, 2)],
        ['b', lister(changed, 2)],
        ['c', lister(all, 2)],
      ]),
      ['a', 'b', 'c'],
    );
    expect(findings).toEqual(['different:b:k002@v1-2']);
  });

  it('a site without the bucket lists nothing: every version is missing there', async () => {
    const notFound: ListPage = () =>
      Promise.reject(new SiteError('b', 'ListObjectVersions', 'NotFound', 'NoSuchBucket'));
    const { findings, roots } = await runAll(
      new Map([
        ['a', lister(many(2), 10)],
        ['b', notFound],
      ]),
      ['a', 'b'],
    );
    expect(findings).toHaveLength(4);
    expect(roots.get('b')).toBe(new MerkleStream().root());
  });

  it('stopped at every deadline and resumed from the checkpoint, it ends as one pass does', async () => {
    const all = many(30);
    const lacking = all.filter((x) => x.key !== 'k017');
    const listers = () =>
      new Map([
        ['a', lister(all, 5)],
        ['b', lister(lacking, 3)],
      ]);
    const once = await runAll(listers(), ['a', 'b']);
    const sliced = await runAll(listers(), ['a', 'b'], { sliceEvery: 1 });
    expect(sliced.slices).toBeGreaterThan(5);
    expect(sliced.roots).toEqual(once.roots);
    expect(sliced.findings).toEqual(once.findings);
    expect(once.findings).toEqual(['missing:b:k017@v1-17', 'missing:b:k017@v2-17']);
  });

  it('a slice always gets past at least one key, even with a page of one version', async () => {
    const all = many(4);
    const { findings, roots, slices } = await runAll(
      new Map([
        ['a', lister(all, 1)],
        ['b', lister(all, 1)],
      ]),
      ['a', 'b'],
      { sliceEvery: 0 },
    );
    expect(findings).toEqual([]);
    expect(roots.get('a')).toBe(roots.get('b'));
    expect(slices).toBeLessThanOrEqual(5);
  });

  it('keys with more versions than a page are compared whole', async () => {
    const hot = Array.from({ length: 25 }, (_, i) => v('hot', `v${String(i).padStart(2, '0')}`));
    const all = [v('a', '1'), ...hot, v('zz', '1')];
    const { findings, roots } = await runAll(
      new Map([
        ['a', lister(all, 4)],
        ['b', lister(all, 9)],
      ]),
      ['a', 'b'],
    );
    expect(findings).toEqual([]);
    expect(roots.get('a')).toBe(roots.get('b'));
  });

  it('refuses a listing out of key order', async () => {
    const bad: ListPage = () => Promise.resolve({ versions: [v('b', '1'), v('a', '1')] });
    await expect(
      verifyBucketSlice(
        'b',
        new Map([['a', bad]]),
        { trees: {} },
        {
          order: ['a'],
          deadline: Infinity,
          now: () => 0,
          signal,
          onFinding: () => undefined,
        },
      ),
    ).rejects.toThrow(/out of key order/);
  });
});
