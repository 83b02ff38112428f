import { describe, expect, it } from '@jest/globals';

import { parseBucketList } from './list-buckets.js';

const answer = (buckets: string, more = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</ID><DisplayName>minio</DisplayName></Owner><Buckets>${buckets}</Buckets>${more}</ListAllMyBucketsResult>`;

describe('parseBucketList', () => {
  it('reads names and creation dates as the SDK gave them', () => {
    const page = parseBucketList(
      answer(
        '<Bucket><Name>photos</Name><CreationDate>2026-12-08T00:21:28.51Z</CreationDate></Bucket>' +
          '<Bucket><Name>123</Name><CreationDate>not a date</CreationDate></Bucket>',
      ),
    );
    expect(page).toEqual({
      buckets: [
        { name: 'photos', createdAt: '2026-12-08T00:21:28.510Z' },
        { name: '123', createdAt: undefined },
      ],
    });
  });

  it('decodes character references in names', () => {
    const page = parseBucketList(
      answer('<Bucket><Name>a&amp;b&#46;c&#x2d;d</Name><CreationDate>x</CreationDate></Bucket>'),
    );
    expect(page.buckets.map((b) => b.name)).toEqual(['a&b.c-d']);
  });

  it('reads an empty list, and a continuation token', () => {
    expect(parseBucketList(answer(''))).toEqual({ buckets: [] });
    const one = '<Bucket><Name>a</Name><CreationDate>2026-01-01T00:00:00Z</CreationDate></Bucket>';
    expect(
      parseBucketList(answer(one, '<ContinuationToken>next</ContinuationToken>')),
    ).toMatchObject({ buckets: [{ name: 'a' }], continuationToken: 'next' });
  });

  it('refuses what is not a bucket list, and names past the S3 bound', () => {
    expect(() => parseBucketList('<Error><Code>AccessDenied</Code></Error>')).toThrow(
      /not a ListAllMyBucketsResult/,
    );
    expect(() =>
      parseBucketList(answer(`<Bucket><Name>${'a'.repeat(256)}</Name></Bucket>`)),
    ).toThrow(/256 characters/);
    expect(() => parseBucketList(answer('<Bucket><Name>a</Name>'))).toThrow(/unclosed/);
  });
});
