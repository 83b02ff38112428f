import { describe, expect, it } from '@jest/globals';

import { listZip, writeZip } from './admin/zip.js';
import { ExportCache } from './export-cache.js';

const policy = (bucket: string, action: string) =>
  Buffer.from(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: [action],
          Resource: [`arn:aws:s3:::${bucket}/*`],
        },
      ],
    }),
  );
const versioning = Buffer.from(
  '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
);

function bucketExport(buckets: Record<string, string>, mtime: Date) {
  const entries = Object.entries(buckets).flatMap(([b, action]) => [
    { name: `${b}/policy.json`, data: policy(b, action) },
    { name: `${b}/versioning.xml`, data: versioning },
  ]);
  return listZip(writeZip(entries, mtime));
}

const counting = (files: ReturnType<typeof listZip>) => {
  let inflated = 0;
  return {
    files: files.map((f) => ({
      ...f,
      data: () => {
        inflated++;
        return f.data();
      },
    })),
    inflated: () => inflated,
  };
};

describe('ExportCache', () => {
  it('parses a bucket again only when its files changed, whatever the zip timestamps', () => {
    const cache = new ExportCache();
    const first = cache.buckets(
      bucketExport({ a: 's3:GetObject', b: 's3:GetObject' }, new Date(2026, 0, 1)),
      {
        whole: true,
      },
    );
    expect(first.get('a')?.versioning).toBe('Enabled');
    const again = counting(
      bucketExport({ a: 's3:GetObject', b: 's3:PutObject' }, new Date(2026, 5, 1)),
    );
    const second = cache.buckets(again.files, { whole: true });
    expect(again.inflated()).toBe(2); // only b's two files
    expect(cache.stats).toMatchObject({ bucketHits: 1, bucketMisses: 3 });
    expect(second.get('b')?.policy).toMatchObject({ Statement: [{ Action: ['s3:PutObject'] }] });
    expect(second.get('a')).toEqual(first.get('a'));
  });

  it('remembers a tag order it has seen (MinIO writes tags in Go map order)', () => {
    const tagging = (tags: [string, string][]) =>
      Buffer.from(
        `<Tagging><TagSet>${tags.map(([k, v]) => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`).join('')}</TagSet></Tagging>`,
      );
    const zip = (tags: [string, string][]) =>
      counting(
        listZip(
          writeZip(
            [
              { name: 'a/versioning.xml', data: versioning },
              { name: 'a/tagging.xml', data: tagging(tags) },
            ],
            new Date(),
          ),
        ),
      );
    const cache = new ExportCache();
    const ab: [string, string][] = [
      ['team', 't0'],
      ['index', '6'],
    ];
    const ba = [...ab].reverse();
    cache.buckets(zip(ab).files, { whole: true });
    const reordered = zip(ba);
    expect(cache.buckets(reordered.files, { whole: true }).get('a')?.tags).toEqual({
      team: 't0',
      index: '6',
    });
    expect(reordered.inflated()).toBe(2); // parsed once to learn the order means the same
    expect(cache.stats).toMatchObject({ bucketMisses: 2, bucketReordered: 1, bucketHits: 0 });
    for (const order of [ab, ba, ab]) {
      const again = zip(order);
      cache.buckets(again.files, { whole: true });
      expect(again.inflated()).toBe(0);
    }
    expect(cache.stats.bucketHits).toBe(3);
    // Another value is a change, whatever the order.
    const changed = zip([
      ['index', '7'],
      ['team', 't0'],
    ]);
    expect(cache.buckets(changed.files, { whole: true }).get('a')?.tags).toEqual({
      index: '7',
      team: 't0',
    });
    expect(cache.stats).toMatchObject({ bucketMisses: 3, bucketReordered: 1 });
  });

  it('hands out copies: a caller changing one does not change the cache', () => {
    const cache = new ExportCache();
    const files = bucketExport({ a: 's3:GetObject' }, new Date());
    const one = cache.buckets(files, { whole: true }).get('a');
    if (one) one.createdAt = 'changed';
    expect(cache.buckets(files, { whole: true }).get('a')?.createdAt).toBeUndefined();
  });

  it('keeps only the buckets of the last whole export, plus single reads up to its cap', () => {
    const cache = new ExportCache(3);
    cache.buckets(bucketExport({ a: 'x', b: 'x', c: 'x' }, new Date()), { whole: true });
    expect(cache.size).toBe(3);
    cache.buckets(bucketExport({ a: 'x' }, new Date()), { whole: true });
    expect(cache.size).toBe(1);
    for (const b of ['d', 'e', 'f', 'g'])
      cache.buckets(bucketExport({ [b]: 'x' }, new Date()), { whole: false });
    expect(cache.size).toBe(3);
  });

  it('reuses an unchanged IAM export whole, as a fresh copy', () => {
    const cache = new ExportCache();
    // A whole export: every file present (a missing one is a partial export, refused).
    const others = [
      'policies.json',
      'groups.json',
      'user_mappings.json',
      'group_mappings.json',
      'stsuser_mappings.json',
      'svcaccts.json',
    ].map((n) => ({ name: `iam-assets/${n}`, data: Buffer.from('{}') }));
    const zip = (users: string) =>
      listZip(
        writeZip(
          [{ name: 'iam-assets/users.json', data: Buffer.from(users) }, ...others],
          new Date(),
        ),
      );
    const u = JSON.stringify({ alice: { secretKey: 's1', status: 'enabled' } });
    const one = cache.iam(zip(u));
    one.users.delete('alice');
    const two = cache.iam(zip(u));
    expect(two.users.get('alice')).toEqual({ secretKey: 's1', status: 'enabled' });
    expect(cache.stats).toMatchObject({ iamHits: 1, iamMisses: 1 });
    cache.iam(zip(JSON.stringify({ bob: { secretKey: 's2', status: 'enabled' } })));
    expect(cache.stats.iamMisses).toBe(2);
  });
});
