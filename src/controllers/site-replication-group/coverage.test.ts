import { describe, expect, it } from '@jest/globals';

import { MINIO_CAPABILITIES } from '../../sites/minio/minio-site-client.js';
import { S3_CAPABILITIES } from '../../sites/s3/s3-site-client.js';
import { coverOf, coveredEntities, unmappableEntities } from './coverage.js';
import { copyRoutes } from './object-copy.js';
import type { Pass } from './pass.js';

const AGREED = [
  'bucket:photos',
  'bucket:photos/policy',
  'policy:readers',
  'user:alice',
  'group:staff',
  'mapping:user:alice',
  'mapping:group:staff',
  'svcacct:AK1',
];

describe('what a site can hold, by its capabilities', () => {
  it('a MinIO site holds everything: no filter, nothing unmappable', () => {
    expect(coverOf(MINIO_CAPABILITIES)).toBeUndefined();
    expect(unmappableEntities(MINIO_CAPABILITIES, AGREED)).toBeUndefined();
  });

  it('an s3 site holds buckets, their configs and policies; users and what hangs on them are listed with why', () => {
    const cover = coverOf(S3_CAPABILITIES);
    expect(AGREED.filter((k) => cover?.(k) ?? true)).toEqual([
      'bucket:photos',
      'bucket:photos/policy',
      'policy:readers',
    ]);
    const listed = unmappableEntities(S3_CAPABILITIES, AGREED);
    expect(listed?.count).toBe(5);
    expect(listed?.items).toEqual([
      'group:staff: its members are users, which this site does not get',
      'mapping:group:staff: it maps policies to a group this site does not get',
      'mapping:user:alice: it maps policies to a user this site does not get',
      'svcacct:AK1: the site has no service accounts',
      "user:alice: the site's IAM cannot set a user's secret key (it generates its own), so the user is not created there",
    ]);
  });

  it('bounds the list and counts all', () => {
    const many = Array.from({ length: 50 }, (_, i) => `user:u${String(i).padStart(2, '0')}`);
    const listed = unmappableEntities(S3_CAPABILITIES, many);
    expect(listed?.count).toBe(50);
    expect(listed?.items).toHaveLength(20);
  });

  it('filters an entity map by cover', () => {
    const map = new Map(AGREED.map((k) => [k, { digest: 'd' }]));
    expect([...coveredEntities(map, coverOf(S3_CAPABILITIES)).keys()]).toHaveLength(3);
    expect(coveredEntities(map, undefined)).toBe(map);
  });
});

describe('copy routes: one hub, never a mesh', () => {
  const observed = (sites: [string, boolean][]) =>
    sites.map(([name, native]) => ({
      site: { name },
      ok: false,
      client: {
        capabilities: native ? MINIO_CAPABILITIES : S3_CAPABILITIES,
      },
    }));
  const routes = (sites: [string, boolean][], primary?: string) =>
    copyRoutes({
      observed: observed(sites),
      spec: { primary },
    } as unknown as Pass);

  it('none when every site replicates natively', () => {
    expect(
      routes([
        ['a', true],
        ['b', true],
      ]),
    ).toBeUndefined();
  });

  it('the first native site (the primary first) is the hub of every s3 site', () => {
    const sites: [string, boolean][] = [
      ['aws', false],
      ['a', true],
      ['b', true],
      ['gcs', false],
    ];
    expect(routes(sites)).toEqual({ hub: 'a', spokes: ['aws', 'gcs'] });
    expect(routes(sites, 'b')).toEqual({ hub: 'b', spokes: ['aws', 'gcs'] });
  });

  it('a group of s3 sites only: the first is the hub of the others', () => {
    expect(
      routes([
        ['x', false],
        ['y', false],
        ['z', false],
      ]),
    ).toEqual({ hub: 'x', spokes: ['y', 'z'] });
  });
});
