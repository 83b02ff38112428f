/**
 * A mixed group, end to end (built operator, real apiserver, two real MinIO servers, a real
 * moto server): the s3 site gets the buckets, their configurations and the policies through
 * the S3 and IAM APIs, and every object version and delete marker through the object copier,
 * both ways; users (without their secret keys), groups and policy mappings from the MinIO sites,
 * one way; what it cannot hold is listed in status; nothing loops.
 */
import { createHash } from 'node:crypto';

import {
  GetGroupCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ObjectCopyStatus } from '../../src/api/site-replication-group.js';
import { REPLICA_MARKER } from '../../src/replication/copy-plan.js';
import { type KubeClient, SECRETS } from '../../src/runtime/kube-client.js';
import type { Secret } from '../../src/runtime/secrets.js';
import { findCondition } from '../../src/runtime/conditions.js';
import type { ObjectOps, ObjectVersion, VersionCursor } from '../../src/sites/site-client.js';
import type { BucketMeta, SiteSnapshot } from '../../src/sites/snapshot.js';
import { eventually } from '../support/eventually.js';
import {
  applyGroup,
  getGroup,
  groupManifest,
  groupSuite,
  putCredentials,
  siteSpec,
  waitReady,
} from '../support/groups.js';
import { kubectl, mustKubectl } from '../support/kube.js';
import { type ThrowawayMinio, minioDriver, startThrowawayMinio } from '../support/minio.js';
import { type ThrowawayMoto, s3Driver, startThrowawayMoto } from '../support/moto.js';
import type { OperatorProcess } from '../support/operator.js';
import { s3For } from '../support/seed.js';
import { recordSecrets } from '../support/secret-scan.js';

let kube: KubeClient;
let ns: string;
let operator: OperatorProcess;
let a: ThrowawayMinio;
let b: ThrowawayMinio;
let moto: ThrowawayMoto;

const GROUP = 'mixed';
const BUCKET = 'photos';
const LOCKED = 'vault';

const signal = () => AbortSignal.timeout(30_000);

const motoIam = () =>
  new IAMClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: moto.accessKey, secretAccessKey: moto.secretKey },
  });

const motoS3 = () =>
  new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: moto.accessKey, secretAccessKey: moto.secretKey },
  });

async function withS3<T>(client: S3Client, f: (s3: S3Client) => Promise<T>): Promise<T> {
  try {
    return await f(client);
  } finally {
    client.destroy();
  }
}

const put = (s3: S3Client, key: string, body: string, extra: object = {}) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...extra }));
const del = (s3: S3Client, key: string) =>
  s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));

/** Every version and delete marker of the bucket, per key oldest first. */
async function versions(site: ObjectOps, bucket = BUCKET): Promise<ObjectVersion[]> {
  const out: ObjectVersion[] = [];
  let after: VersionCursor | undefined;
  do {
    const page = await site.listVersionPage(bucket, { after, maxKeys: 1000 }, signal());
    out.push(...page.versions);
    after = page.next;
  } while (after);
  // Listed newest first per key: oldest first reads as history.
  const byKey = new Map<string, ObjectVersion[]>();
  for (const v of out) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
  return [...byKey.values()].flatMap((vs) => vs.reverse());
}

/** What a version is, site-independent: key, delete marker or content digest, attributes. */
async function describeVersion(site: ObjectOps, v: ObjectVersion) {
  if (v.deleteMarker) return { key: v.key, deleteMarker: true };
  const read = await site.getObjectVersion(
    { bucket: BUCKET, key: v.key, versionId: v.versionId },
    signal(),
  );
  const hash = createHash('sha256');
  for await (const chunk of read.body) hash.update(chunk as Buffer);
  const { [REPLICA_MARKER]: _marker, ...metadata } = read.metadata;
  return {
    key: v.key,
    deleteMarker: false,
    sha256: hash.digest('hex'),
    size: read.size,
    contentType: read.contentType,
    metadata,
    tags: read.tags,
  };
}

async function history(site: ObjectOps) {
  const out = [];
  for (const v of await versions(site)) out.push(await describeVersion(site, v));
  return out;
}

/** A bucket's replicated configuration on the s3 site equals the seed's. */
function expectSameConfigs(seed: SiteSnapshot, s3: SiteSnapshot, name: string): void {
  const configs = (m: BucketMeta | undefined) => ({
    versioning: m?.versioning,
    objectLock: m?.objectLock,
    policy: m?.policy,
    tags: m?.tags,
    lock: m?.objectLockConfig,
    encryption: m?.encryption,
  });
  expect(s3.buckets.has(name)).toBe(true);
  expect(configs(s3.buckets.get(name))).toEqual({
    ...configs(seed.buckets.get(name)),
    versioning: 'Enabled',
  });
}

const routesOf = async (): Promise<ObjectCopyStatus[]> =>
  (await getGroup(kube, ns, GROUP)).status?.objectCopies ?? [];

beforeAll(async () => {
  ({ kube, ns, operator } = await groupSuite('mixed', { ALLOW_INSECURE_SITES: 'true' }));
  a = await startThrowawayMinio('mixed-a');
  b = await startThrowawayMinio('mixed-b');
  moto = await startThrowawayMoto('mixed');
  await putCredentials(ns, 'a-credentials', a);
  await putCredentials(ns, 'b-credentials', b);
  await putCredentials(ns, 'aws-credentials', moto);
  // The seed: site a holds everything at creation.
  const da = minioDriver(a);
  await da.createBucket(BUCKET, {}, signal());
  await da.enableVersioning(BUCKET, signal());
  await da.putBucketTags(BUCKET, { team: 'media', tier: 'gold' }, signal());
  await da.putBucketPolicy(
    BUCKET,
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: ['*'] },
          Action: ['s3:GetObject'],
          Resource: [`arn:aws:s3:::${BUCKET}/public/*`],
        },
      ],
    }),
    signal(),
  );
  await da.createBucket(LOCKED, { objectLock: true }, signal());
  await da.enableVersioning(LOCKED, signal());
  await da.putObjectLockConfig(
    LOCKED,
    { enabled: true, defaultRetention: { mode: 'GOVERNANCE', days: 1 } },
    signal(),
  );
  await da.putEncryption(LOCKED, { algorithm: 'AES256' }, signal());
  await da.putPolicy(
    'readers',
    {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::*'] }],
    },
    signal(),
  );
  await da.putPolicy(
    'claims-only',
    {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetObject'],
          Resource: ['arn:aws:s3:::*'],
          Condition: { StringEquals: { 'jwt:groups': ['ops'] } },
        },
      ],
    },
    signal(),
  );
  await da.putUser('alice', { secretKey: 'alice-secret-key-1', status: 'enabled' }, signal());
  await da.setPolicyMapping('user', 'alice', ['readers'], signal());
  await da.putUser('bob', { secretKey: 'bob-secret-key-123', status: 'enabled' }, signal());
  await da.setPolicyMapping('user', 'bob', ['readers'], signal());
  await da.putGroup('staff', { members: ['bob'], status: 'enabled' }, [], signal());
  await da.putUser('dave', { secretKey: 'dave-secret-key-12', status: 'disabled' }, signal());
  await da.setPolicyMapping('group', 'staff', ['readers'], signal());
  // carol is made on the s3 site alone: no secret key a MinIO site could take.
  const dm = s3Driver(moto);
  await dm.putUser('carol', { secretKey: '', status: 'enabled' }, signal());
  dm.close();
  await withS3(s3For(a), async (s3) => {
    await put(s3, 'k1', 'first');
    await put(s3, 'k1', 'second, longer', { ContentType: 'text/plain' });
    await put(s3, 'k2', 'soon deleted');
    await del(s3, 'k2');
    await put(s3, 'k3', 'with metadata', {
      ContentType: 'application/x-test',
      Metadata: { origin: 'seed', n: '3' },
      Tagging: 'color=blue&size=s',
    });
  });
  da.close();
  await operator.start();
  await applyGroup(
    ns,
    groupManifest(
      GROUP,
      [siteSpec('a', a), siteSpec('b', b), { ...siteSpec('aws', moto), flavor: 's3' }],
      {
        accessKeys: [{ user: 'alice', secretName: 'alice-aws' }],
        objectCopier: { concurrency: 2, bytesPerSecond: 16 * 1024 * 1024 },
      },
    ),
  );
}, 240_000);

afterAll(async () => {
  await operator.stop('SIGTERM');
  await Promise.all([a.stop(), b.stop(), moto.stop()]);
});

describe('a group of two MinIO sites and one moto site', () => {
  it('converges from the seeded MinIO site: buckets, configs, policies, every version', async () => {
    await waitReady(kube, ns, GROUP);
    const dm = s3Driver(moto);
    const da = minioDriver(a);
    const db = minioDriver(b);
    try {
      // Buckets and their configurations, through the S3 API.
      const [sa, sm] = await Promise.all([da.snapshot(signal()), dm.snapshot(signal())]);
      for (const name of [BUCKET, LOCKED]) expectSameConfigs(sa, sm, name);
      // Canned policies become customer-managed policies.
      expect(sm.iam.policies.get('readers')).toEqual(sa.iam.policies.get('readers'));
      expect(sa.iam.policies.has('claims-only')).toBe(true);
      expect(sm.iam.policies.has('claims-only')).toBe(false);
      // Every version and delete marker, in order, same content, metadata and tags.
      const want = await history(da);
      expect(want.map((v) => v.key)).toEqual(['k1', 'k1', 'k2', 'k2', 'k3']);
      await eventually(
        async () => {
          expect(await history(dm)).toEqual(want);
        },
        {
          timeoutMs: 90_000,
        },
      );
      await eventually(
        async () => {
          expect(await history(db)).toEqual(want);
        },
        {
          timeoutMs: 90_000,
        },
      );
      // What the s3 site cannot hold is named in status, with why.
      const g = await eventually(async () => {
        const grp = await getGroup(kube, ns, GROUP);
        const aws = grp.status?.sites?.find((s) => s.name === 'aws');
        const listed = aws?.unmappable?.items.join('\n') ?? '';
        expect(listed).toContain('user:bob: secret key cannot be set');
        expect(listed).toContain('user:carol: made on this site alone');
        expect(listed).not.toContain('mapping:user:bob');
        expect(listed).not.toContain('group:staff');
        expect(listed).toContain(
          'policy:claims-only: it uses what only MinIO evaluates (condition key jwt:groups)',
        );
        expect(listed).not.toContain('alice');
        return grp;
      });
      expect(g.status?.sites?.find((s) => s.name === 'a')?.unmappable).toBeUndefined();
      const route = g.status?.objectCopies?.find(
        (r) => r.bucket === BUCKET && r.source === 'a' && r.destination === 'aws',
      );
      expect(route).toMatchObject({ copied: 5, deleteMarkers: 1, failed: 0, pending: 0 });
    } finally {
      dm.close();
      da.close();
      db.close();
    }
  }, 240_000);

  it('creates the MinIO users, groups and policy mappings on the s3 site, without secret keys; leaves its own user alone', async () => {
    const iam = motoIam();
    try {
      await eventually(
        async () => {
          const users = await iam.send(new ListUsersCommand({}));
          const names = (users.Users ?? []).map((u) => u.UserName);
          expect(names).toEqual(expect.arrayContaining(['alice', 'bob', 'carol']));
          const staff = await iam.send(new GetGroupCommand({ GroupName: 'staff' }));
          expect((staff.Users ?? []).map((u) => u.UserName)).toEqual(['bob']);
          const bobs = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'bob' }));
          expect((bobs.AttachedPolicies ?? []).map((p) => p.PolicyName)).toEqual(['readers']);
          const groups = await iam.send(
            new ListAttachedGroupPoliciesCommand({ GroupName: 'staff' }),
          );
          expect((groups.AttachedPolicies ?? []).map((p) => p.PolicyName)).toEqual(['readers']);
        },
        { timeoutMs: 90_000 },
      );
      // bob got no login key: spec.accessKeys does not name him.
      const keys = await iam.send(new ListAccessKeysCommand({ UserName: 'bob' }));
      expect(keys.AccessKeyMetadata ?? []).toEqual([]);
      // dave is disabled on the MinIO sites: AWS IAM cannot disable a user, so he is not there
      // until enabled, and goes again when disabled.
      const names = async () =>
        ((await iam.send(new ListUsersCommand({}))).Users ?? []).map((u) => u.UserName);
      expect(await names()).not.toContain('dave');
      const da = minioDriver(a);
      try {
        await da.putUser('dave', { secretKey: 'dave-secret-key-12', status: 'enabled' }, signal());
        await eventually(
          async () => {
            expect(await names()).toContain('dave');
          },
          {
            timeoutMs: 60_000,
          },
        );
        await da.putUser('dave', { secretKey: 'dave-secret-key-12', status: 'disabled' }, signal());
        await eventually(
          async () => {
            expect(await names()).not.toContain('dave');
          },
          {
            timeoutMs: 60_000,
          },
        );
      } finally {
        da.close();
      }
    } finally {
      iam.destroy();
    }
    // carol, made on the s3 site, reaches neither MinIO site, over later passes too.
    const seen = (await getGroup(kube, ns, GROUP)).status?.objectCopies?.[0]?.lastPassTime;
    await eventually(async () => {
      const now = (await getGroup(kube, ns, GROUP)).status?.objectCopies?.[0]?.lastPassTime;
      expect(now).not.toBe(seen);
    });
    for (const site of [a, b]) {
      const d = minioDriver(site);
      try {
        const snap = await d.snapshot(signal());
        expect(snap.iam.users.has('carol')).toBe(false);
        expect(snap.iam.users.has('bob')).toBe(true);
      } finally {
        d.close();
      }
    }
  }, 180_000);

  it('creates a user spec.accessKeys names on the s3 site, with its policies and a key in the named Secret', async () => {
    const keys = await eventually(
      async () => {
        const secret = await kube.get<Secret>(SECRETS, ns, 'alice-aws');
        const get = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString();
        expect(get('aws.accessKey')).not.toBe('');
        recordSecrets([get('aws.accessKey'), get('aws.secretKey')]);
        return { accessKey: get('aws.accessKey'), secretKey: get('aws.secretKey') };
      },
      { timeoutMs: 60_000 },
    );
    const dm = s3Driver(moto);
    try {
      const iam = (await dm.snapshot(signal())).iam;
      expect(iam.users.has('alice')).toBe(true);
      expect(iam.userPolicies.get('alice')?.policies).toEqual(['readers']);
      expect(await dm.accessKeys.listAccessKeys('alice', signal())).toEqual([keys.accessKey]);
    } finally {
      dm.close();
    }
    // The key works on the s3 site, within the mapped policy (moto enforces IAM).
    const asAlice = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: keys.accessKey, secretAccessKey: keys.secretKey },
    });
    await withS3(asAlice, async (s3) => {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k1' }));
      expect(await got.Body?.transformToString()).toBe('second, longer');
      await expect(put(s3, 'by-alice', 'x')).rejects.toMatchObject({ name: 'AccessDenied' });
    });
    // Kept, not rotated, over later passes.
    const seen = (await getGroup(kube, ns, GROUP)).status?.objectCopies?.[0]?.lastPassTime;
    await eventually(async () => {
      const now = (await getGroup(kube, ns, GROUP)).status?.objectCopies?.[0]?.lastPassTime;
      expect(now).not.toBe(seen);
    });
    const again = await kube.get<Secret>(SECRETS, ns, 'alice-aws');
    expect(Buffer.from(again.data?.['aws.accessKey'] ?? '', 'base64').toString()).toBe(
      keys.accessKey,
    );
  }, 120_000);

  it('carries writes, overwrites, tags and deletes made on the moto site to both MinIO sites', async () => {
    await withS3(motoS3(), async (s3) => {
      await put(s3, 'k4', 'written on aws', { Metadata: { from: 'aws' } });
      await put(s3, 'k1', 'third, from aws');
      await del(s3, 'k3');
      await put(s3, 'k5', 'tagged on aws');
      await s3.send(
        new PutObjectTaggingCommand({
          Bucket: BUCKET,
          Key: 'k5',
          Tagging: { TagSet: [{ Key: 'place', Value: 'aws' }] },
        }),
      );
    });
    const dm = s3Driver(moto);
    const da = minioDriver(a);
    const db = minioDriver(b);
    try {
      const want = await history(dm);
      expect(want.filter((v) => v.key === 'k1')).toHaveLength(3);
      expect(want.find((v) => v.key === 'k5')).toMatchObject({ tags: { place: 'aws' } });
      await eventually(
        async () => {
          expect(await history(da)).toEqual(want);
        },
        {
          timeoutMs: 90_000,
        },
      );
      await eventually(
        async () => {
          expect(await history(db)).toEqual(want);
        },
        {
          timeoutMs: 90_000,
        },
      );
    } finally {
      dm.close();
      da.close();
      db.close();
    }
  }, 240_000);

  it('a bucket made on the moto site without versioning gets it, and its objects reach both MinIO sites', async () => {
    const dm = s3Driver(moto);
    const da = minioDriver(a);
    const db = minioDriver(b);
    try {
      await dm.createBucket('from-aws', {}, signal());
      await withS3(motoS3(), async (s3) => {
        await s3.send(
          new PutObjectCommand({ Bucket: 'from-aws', Key: 'before', Body: 'unversioned' }),
        );
      });
      await eventually(
        async () => {
          expect(await dm.getVersioning('from-aws', signal())).toBe('Enabled');
          for (const d of [da, db]) {
            const got = await versions(d, 'from-aws');
            expect(got.map((v) => v.key)).toEqual(['before']);
          }
        },
        { timeoutMs: 90_000 },
      );
    } finally {
      dm.close();
      da.close();
      db.close();
    }
  }, 180_000);

  it('does not loop: over several passes no site gets a new version and nothing is copied', async () => {
    const dm = s3Driver(moto);
    const da = minioDriver(a);
    const db = minioDriver(b);
    // Versions per site over every bucket of the group.
    const count = async () =>
      Promise.all(
        [da, db, dm].map(async (s) => {
          let n = 0;
          for (const bucket of [BUCKET, LOCKED, 'from-aws'])
            n += (await versions(s, bucket)).length;
          return n;
        }),
      );
    const copied = (routes: readonly ObjectCopyStatus[]) =>
      Object.fromEntries(routes.map((r) => [`${r.bucket}/${r.source}>${r.destination}`, r.copied]));
    try {
      // Settled: every route's last pass copied nothing more.
      const settled = await eventually(
        async () => {
          const before = await routesOf();
          const n = await count();
          expect(n[0]).toBe(n[2]);
          expect(n[1]).toBe(n[2]);
          expect(before.filter((r) => r.pending > 0 || r.failed > 0)).toEqual([]);
          return { routes: before, versions: n };
        },
        { timeoutMs: 90_000 },
      );
      // Copier passes on every route (their lastPassTime moves on).
      const times = new Map(
        settled.routes.map((r) => [`${r.bucket}/${r.source}>${r.destination}`, r.lastPassTime]),
      );
      const onePass = async (): Promise<readonly ObjectCopyStatus[]> => {
        const seen = new Map(times);
        return eventually(
          async () => {
            const now = await routesOf();
            for (const r of now) {
              expect(r.lastPassTime).not.toBe(seen.get(`${r.bucket}/${r.source}>${r.destination}`));
            }
            for (const r of now)
              times.set(`${r.bucket}/${r.source}>${r.destination}`, r.lastPassTime);
            return now;
          },
          { timeoutMs: 60_000 },
        );
      };
      // The baseline is taken one whole pass after the sites were equal: the pass that made the
      // last copy may have written its status after they were seen equal.
      const baseline = await onePass();
      expect(Object.keys(copied(baseline)).sort()).toEqual(
        [BUCKET, LOCKED, 'from-aws'].flatMap((b) => [`${b}/a>aws`, `${b}/aws>a`]).sort(),
      );
      for (let i = 0; i < 3; i++) await onePass();
      expect(copied(await routesOf())).toEqual(copied(baseline));
      expect(await count()).toEqual(settled.versions);
      // Nothing on its way: InSync, the s3 site counted by its copier routes.
      const g = await eventually(async () => {
        const grp = await getGroup(kube, ns, GROUP);
        const inSync = findCondition(grp.status?.conditions, 'InSync');
        expect({ status: inSync?.status, message: inSync?.message }).toMatchObject({
          status: 'True',
        });
        return grp;
      });
      expect(g.status?.sites?.find((s) => s.name === 'aws')?.objects).toMatchObject({
        pending: 0,
        failed: 0,
      });
    } finally {
      dm.close();
      da.close();
      db.close();
    }
  }, 300_000);

  it('deletes users, groups and mappings from the s3 site, with their keys, when the group deletes them', async () => {
    const da = minioDriver(a);
    const dm = s3Driver(moto);
    try {
      await da.deleteUser('alice', signal());
      await eventually(
        async () => {
          expect((await dm.snapshot(signal())).iam.users.has('alice')).toBe(false);
          const secret = await kube.get<Secret>(SECRETS, ns, 'alice-aws');
          expect(Object.keys(secret.data ?? {})).toEqual([]);
        },
        { timeoutMs: 60_000 },
      );
      // bob, his group and the mappings go from the s3 site with the group's deletion of them;
      // carol, made there alone, stays.
      await da.deleteGroup('staff', ['bob'], signal());
      await da.deleteUser('bob', signal());
      await eventually(
        async () => {
          const iam = (await dm.snapshot(signal())).iam;
          expect(iam.users.has('bob')).toBe(false);
          expect(iam.groups.has('staff')).toBe(false);
        },
        { timeoutMs: 60_000 },
      );
      const left = (await dm.snapshot(signal())).iam;
      expect(left.users.has('carol')).toBe(true);
      expect(left.policies.has('readers')).toBe(true);
      const listed = await eventually(async () => {
        const grp = await getGroup(kube, ns, GROUP);
        const items = grp.status?.sites?.find((x) => x.name === 'aws')?.unmappable?.items ?? [];
        expect(items.join('\n')).not.toContain('user:bob');
        return items;
      });
      expect(listed.join('\n')).toContain('user:carol: made on this site alone');
    } finally {
      da.close();
      dm.close();
    }
  }, 120_000);

  it('deleting the group leaves every bucket, version and policy, on the s3 site too; its checkpoints go with it', async () => {
    const dm = s3Driver(moto);
    const da = minioDriver(a);
    try {
      const before = { aws: await history(dm), a: await history(da) };
      const checkpoints = await mustKubectl([
        'get',
        'configmaps',
        '-n',
        ns,
        '-l',
        'sitesync.io/copy-checkpoint=true',
        '-o',
        'name',
      ]);
      expect(checkpoints.trim().split('\n').length).toBeGreaterThanOrEqual(4);
      const r = await kubectl(['delete', 'srg', GROUP, '-n', ns, '--wait=true', '--timeout=90s']);
      expect(r.code).toBe(0);
      const snap = await dm.snapshot(signal());
      expect([...snap.buckets.keys()].sort()).toEqual(['from-aws', BUCKET, LOCKED]);
      expect(snap.iam.policies.has('readers')).toBe(true);
      expect(await history(dm)).toEqual(before.aws);
      expect(await history(da)).toEqual(before.a);
      await eventually(async () => {
        const left = await mustKubectl([
          'get',
          'configmaps',
          '-n',
          ns,
          '-l',
          'sitesync.io/group=mixed',
          '-o',
          'name',
        ]);
        expect(left.trim()).toBe('');
      });
    } finally {
      dm.close();
      da.close();
    }
  }, 180_000);
});

describe('a group of s3 sites only (two moto servers)', () => {
  it('copies through the first site as hub: versions and delete markers both ways, nothing twice', async () => {
    // One after the other: two servers started at once could be handed the same free port.
    const m1 = await startThrowawayMoto('s3only-1');
    const m2 = await startThrowawayMoto('s3only-2');
    expect(m2.endpoint).not.toBe(m1.endpoint);
    const d1 = s3Driver(m1);
    const d2 = s3Driver(m2);
    try {
      await putCredentials(ns, 'cloud1-credentials', m1);
      await putCredentials(ns, 'cloud2-credentials', m2);
      await d1.createBucket(BUCKET, {}, signal());
      await d1.enableVersioning(BUCKET, signal());
      await d1.putBucketTags(BUCKET, { from: 'cloud1' }, signal());
      const s3of = (m: ThrowawayMoto) =>
        new S3Client({
          endpoint: m.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          maxAttempts: 1,
          credentials: { accessKeyId: m.accessKey, secretAccessKey: m.secretKey },
        });
      await withS3(s3of(m1), async (s3) => {
        await put(s3, 'x', 'one');
        await put(s3, 'x', 'two');
        await del(s3, 'x');
      });
      await applyGroup(
        ns,
        groupManifest('clouds', [
          { ...siteSpec('cloud1', m1), flavor: 's3' },
          { ...siteSpec('cloud2', m2), flavor: 's3' },
        ]),
      );
      await waitReady(kube, ns, 'clouds');
      await eventually(
        async () => {
          expect((await d2.snapshot(signal())).buckets.get(BUCKET)?.tags).toEqual({
            from: 'cloud1',
          });
          expect(await history(d2)).toEqual(await history(d1));
        },
        { timeoutMs: 60_000 },
      );
      await withS3(s3of(m2), async (s3) => put(s3, 'y', 'from cloud2'));
      await eventually(
        async () => {
          expect(await history(d1)).toEqual(await history(d2));
        },
        {
          timeoutMs: 60_000,
        },
      );
      const routes = (await getGroup(kube, ns, 'clouds')).status?.objectCopies ?? [];
      expect(routes.map((r) => `${r.source}>${r.destination}`).sort()).toEqual([
        'cloud1>cloud2',
        'cloud2>cloud1',
      ]);
      // Each version crossed once: 3 from cloud1 (2 versions, 1 marker), 1 from cloud2.
      await eventually(async () => {
        const now = (await getGroup(kube, ns, 'clouds')).status?.objectCopies ?? [];
        expect(now.find((r) => r.source === 'cloud1')?.copied).toBe(3);
        expect(now.find((r) => r.source === 'cloud2')?.copied).toBe(1);
      });
      expect((await versions(d1)).length).toBe(4);
      expect((await versions(d2)).length).toBe(4);
    } finally {
      await kubectl(['delete', 'srg', 'clouds', '-n', ns, '--wait=true', '--timeout=60s']);
      d1.close();
      d2.close();
      await Promise.all([m1.stop(), m2.stop()]);
    }
  }, 240_000);
});
