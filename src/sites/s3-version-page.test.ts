import { describe, expect, it } from '@jest/globals';

import { compareKeys, orderVersions, parseVersionPage } from './s3-version-page.js';
import { SiteError } from './site-error.js';

const v = (key: string, id: string, at: string, latest = false) =>
  `<Version><Key>${key}</Key><VersionId>${id}</VersionId><IsLatest>${String(latest)}</IsLatest><LastModified>${at}</LastModified><ETag>"e"</ETag><Size>3</Size></Version>`;
const dm = (key: string, id: string, at: string, latest = false) =>
  `<DeleteMarker><Key>${key}</Key><VersionId>${id}</VersionId><IsLatest>${String(latest)}</IsLatest><LastModified>${at}</LastModified></DeleteMarker>`;
const page = (body: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>${extra}${body}</ListVersionsResult>`;

describe('parseVersionPage', () => {
  it('keeps the interleaving of versions and delete markers as the site lists them', () => {
    const xml = page(
      v('k', '3', '2026-01-01T00:00:01.000Z', true) +
        dm('k', '2', '2026-01-01T00:00:01.000Z') +
        v('k', '1', '2026-01-01T00:00:01.000Z'),
    );
    const r = parseVersionPage(xml, 's');
    expect(r.versions.map((x) => [x.versionId, x.deleteMarker, x.isLatest])).toEqual([
      ['3', false, true],
      ['2', true, false],
      ['1', false, false],
    ]);
    expect(r.next).toBeUndefined();
  });

  it("orders moto's separate lists: key order, the latest first, then newest first", () => {
    const xml = page(
      v('a', 'a1', '2026-01-01T00:00:01.000Z') +
        v('c', 'c1', '2026-01-01T00:00:01.000Z', true) +
        dm('a', 'a2', '2026-01-01T00:00:05.000Z', true) +
        dm('b', 'b1', '2026-01-01T00:00:02.000Z', true),
    );
    expect(parseVersionPage(xml, 's').versions.map((x) => x.versionId)).toEqual([
      'a2',
      'a1',
      'b1',
      'c1',
    ]);
  });

  it('decodes url-encoded keys and markers, and gives the next page', () => {
    const xml = page(
      v('a%20b%2Bc', '1', '2026-01-01T00:00:01.000Z', true),
      '<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><NextKeyMarker>a%20b%2Bc</NextKeyMarker><NextVersionIdMarker>1</NextVersionIdMarker>',
    );
    const r = parseVersionPage(xml, 's');
    expect(r.versions[0]?.key).toBe('a b+c');
    expect(r.next).toEqual({ key: 'a b+c', versionId: '1' });
  });

  it('refuses a document of another shape, and a truncated page without a next marker', () => {
    expect(() => parseVersionPage('<Error><Code>x</Code></Error>', 's')).toThrow(SiteError);
    expect(() => parseVersionPage(page('', '<IsTruncated>true</IsTruncated>'), 's')).toThrow(
      /NextKeyMarker/,
    );
  });
});

describe('S3 key order', () => {
  it('is by UTF-8 bytes, not UTF-16 units', () => {
    const high = String.fromCodePoint(0xffff);
    const astral = String.fromCodePoint(0x1f600);
    expect(compareKeys(high, astral)).toBeLessThan(0);
    expect([astral, high].sort()).toEqual([astral, high]); // UTF-16 order differs
    expect(
      orderVersions([
        { key: astral, versionId: '1', isLatest: true, deleteMarker: false, size: 0 },
        { key: high, versionId: '2', isLatest: true, deleteMarker: false, size: 0 },
      ]).map((x) => x.key),
    ).toEqual([high, astral]);
  });
});
