import { describe, expect, it } from '@jest/globals';

import { MINIO_CAPABILITIES } from '../../sites/minio/minio-site-client.js';
import { S3_CAPABILITIES } from '../../sites/s3/s3-site-client.js';
import {
  NO_SECRET_KEY,
  SITE_ONLY,
  coverOf,
  coveredEntities,
  minioOnlyPolicies,
  receivesOf,
  unmappableEntities,
} from './coverage.js';
import { copyRoutes, withCopyProgress } from './object-copy.js';
import type { Pass } from './pass.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';

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

  it('an s3 site holds every kind but service accounts; users, groups and mappings it only receives; each user is named for its secret key', () => {
    const cover = coverOf(S3_CAPABILITIES);
    expect(AGREED.filter((k) => cover?.(k) ?? true)).toEqual(AGREED.slice(0, -1));
    const receives = receivesOf(S3_CAPABILITIES);
    expect(AGREED.filter((k) => receives?.(k) ?? false)).toEqual([
      'user:alice',
      'group:staff',
      'mapping:user:alice',
      'mapping:group:staff',
    ]);
    expect(receivesOf(MINIO_CAPABILITIES)).toBeUndefined();
    const listed = unmappableEntities(S3_CAPABILITIES, AGREED);
    expect(listed?.items).toEqual([
      'svcacct:AK1: the site has no service accounts',
      `user:alice: ${NO_SECRET_KEY}`,
    ]);
  });

  it('an s3 site names what was made there alone, in the direction it cannot go', () => {
    const listed = unmappableEntities(S3_CAPABILITIES, ['user:alice'], {
      held: ['user:alice', 'user:carol', 'group:local', 'bucket:b'],
    });
    expect(listed?.items).toEqual([
      `user:alice: ${NO_SECRET_KEY}`,
      `group:local: ${SITE_ONLY}`,
      `user:carol: ${SITE_ONLY}`,
    ]);
    // A MinIO site holds and sends everything: nothing of its own is named.
    expect(unmappableEntities(MINIO_CAPABILITIES, [], { held: ['user:carol'] })).toBeUndefined();
  });

  it('a site without IAM holds no IAM entity', () => {
    const none = { ...S3_CAPABILITIES, iam: false };
    expect(coverOf(none)?.('user:alice')).toBe(false);
    expect(receivesOf(none)).toBeUndefined();
  });

  it('bounds the list and counts all', () => {
    const many = Array.from({ length: 50 }, (_, i) => `user:u${String(i).padStart(2, '0')}`);
    const listed = unmappableEntities(S3_CAPABILITIES, many);
    expect(listed?.count).toBe(50);
    expect(listed?.items).toHaveLength(20);
  });

  it('filters an entity map by cover', () => {
    const map = new Map(AGREED.map((k) => [k, { digest: 'd' }]));
    expect([...coveredEntities(map, coverOf(S3_CAPABILITIES)).keys()]).toHaveLength(7);
    expect(coveredEntities(map, undefined)).toBe(map);
  });
});

describe('policies using what only MinIO evaluates', () => {
  const snap = (policies: Record<string, unknown>) =>
    ({ iam: { policies: new Map(Object.entries(policies)) } }) as unknown as SiteSnapshot;
  const claims = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: ['arn:aws:s3:::*'],
        Condition: { StringEquals: { 'jwt:groups': 'ops' } },
      },
    ],
  };
  const plain = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*' }] };

  it('are found on the MinIO sites, and stay off the s3 site with why', () => {
    const minioOnly = minioOnlyPolicies([
      { snap: snap({ claims, plain }), client: { capabilities: MINIO_CAPABILITIES } },
      // An s3 site's own policies are not read for MinIO's extensions.
      { snap: snap({ other: claims }), client: { capabilities: S3_CAPABILITIES } },
    ]);
    expect([...minioOnly]).toEqual([['policy:claims', 'condition key jwt:groups']]);
    const cover = coverOf(S3_CAPABILITIES, minioOnly);
    expect(cover?.('policy:plain')).toBe(true);
    expect(cover?.('policy:claims')).toBe(false);
    expect(coverOf(MINIO_CAPABILITIES, minioOnly)).toBeUndefined();
    expect(
      unmappableEntities(S3_CAPABILITIES, ['policy:claims', 'policy:plain'], { minioOnly })?.items,
    ).toEqual([
      "policy:claims: it uses what only MinIO evaluates (condition key jwt:groups); this site's IAM would never match it",
    ]);
  });

  it('a user mirrored by spec.accessKeys is not listed; what could not be mirrored is', () => {
    const listed = unmappableEntities(S3_CAPABILITIES, ['user:alice', 'mapping:user:alice'], {
      mirrored: new Set(['user:alice', 'mapping:user:alice']),
      notes: ['mapping:user:alice: policies readwrite are not mirrored'],
    });
    expect(listed).toEqual({
      count: 1,
      items: ['mapping:user:alice: policies readwrite are not mirrored'],
    });
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

describe("the copier in the sites' object progress", () => {
  const route = (source: string, destination: string, extra: object = {}) => ({
    bucket: 'photos',
    source,
    destination,
    copied: 10,
    deleteMarkers: 1,
    bytes: 100,
    failed: 0,
    pending: 0,
    lagSeconds: 0,
    lastPassTime: '2026-12-08T00:00:00Z',
    ...extra,
  });
  const now = Date.parse('2026-12-08T00:01:00Z');

  it('counts a route for its source: a site the copier serves gets counts of its own', () => {
    const native = new Map([
      ['a', { pending: 2, failed: 0, replicated: 5, bytes: 50, unknown: [], countedAt: now }],
    ]);
    const out = withCopyProgress(
      native,
      [route('a', 'aws', { pending: 3, lagSeconds: 7 }), route('aws', 'a', { failed: 1 })],
      now,
    );
    expect(out?.get('a')).toMatchObject({ pending: 5, replicated: 15, bytes: 150, lagSeconds: 7 });
    expect(out?.get('a')?.countedAt).toBe(Date.parse('2026-12-08T00:00:00Z'));
    expect(out?.get('aws')).toMatchObject({ pending: 0, failed: 1, replicated: 10, unknown: [] });
  });

  it('a route whose last pass did not finish leaves its source uncounted, saying why', () => {
    const out = withCopyProgress(
      undefined,
      [route('aws', 'a', { message: 'a is not reachable' })],
      now,
    );
    expect(out?.get('aws')?.unknown).toEqual(['copy photos to a: a is not reachable']);
  });
});
