/**
 * The MinIO driver against real MinIO servers: a snapshot reflects the site (buckets, configs,
 * IAM with secrets), IAM operations round-trip, and peer links made of remote targets + raw
 * replication XML really replicate objects server to server.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { buildReplicationXML } from '../../src/replication/xml-codec.js';
import type { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';
import { eventually } from '../support/eventually.js';
import { minioDriver, startThrowawayMinio } from '../support/minio.js';
import { s3For } from '../support/seed.js';

type Server = Awaited<ReturnType<typeof startThrowawayMinio>>;
let a: Server;
let b: Server;
let siteA: MinioSiteClient;
let siteB: MinioSiteClient;
const callsA: string[] = [];

const client = (s: Server, name: string, calls?: string[]) =>
  minioDriver(s, { name, ...(calls ? { onCall: (op: string) => calls.push(op) } : {}) });

beforeAll(async () => {
  [a, b] = await Promise.all([startThrowawayMinio('drv-a'), startThrowawayMinio('drv-b')]);
  siteA = client(a, 'site-a', callsA);
  siteB = client(b, 'site-b');
});

afterAll(async () => {
  siteA.close();
  siteB.close();
  await Promise.all([a.stop(), b.stop()]);
});

describe('MinioSiteClient', () => {
  it('snapshots a whole site in four calls', async () => {
    await siteA.createBucket('photos');
    await siteA.enableVersioning('photos');
    await siteA.putBucketTags('photos', { team: 'media' });
    await siteA.putEncryption('photos', { algorithm: 'AES256' });
    await siteA.createBucket('vault', { objectLock: true });
    await siteA.putObjectLockConfig('vault', {
      enabled: true,
      defaultRetention: { mode: 'GOVERNANCE', days: 1 },
    });
    await siteA.putPolicy('read-photos', {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::photos/*'] },
      ],
    });
    await siteA.putUser('alice', { secretKey: 'alice-secret-1', status: 'enabled' });
    await siteA.putUser('bob', { secretKey: 'bob-secret-12', status: 'disabled' });
    await siteA.setPolicyMapping('user', 'alice', ['read-photos']);
    await siteA.putGroup('editors', { members: ['alice', 'bob'], status: 'enabled' }, []);
    await siteA.setPolicyMapping('group', 'editors', ['readwrite']);
    await siteA.putServiceAccount(
      {
        accessKey: 'alice-app',
        parent: 'alice',
        secretKey: 'alice-app-secret',
        status: 'enabled',
        groups: [],
      },
      false,
    );

    callsA.length = 0;
    const snap = await siteA.snapshot();
    expect(callsA.sort()).toEqual(
      [
        'admin:exportBucketMetadata',
        'admin:exportIAM',
        'admin:serverInfo',
        's3:ListBuckets',
      ].sort(),
    );
    expect(snap.deploymentID).toMatch(/^[0-9a-f-]{36}$/);
    const photos = snap.buckets.get('photos');
    expect(photos).toMatchObject({
      versioning: 'Enabled',
      objectLock: false,
      tags: { team: 'media' },
      encryption: { algorithm: 'AES256' },
    });
    expect(snap.buckets.get('vault')).toMatchObject({
      objectLock: true,
      objectLockConfig: { mode: 'GOVERNANCE', days: 1 },
    });
    expect(snap.iam.users.get('alice')).toEqual({ status: 'enabled', secretKey: 'alice-secret-1' });
    expect(snap.iam.users.get('bob')?.status).toBe('disabled');
    expect(snap.iam.userPolicies.get('alice')?.policies).toEqual(['read-photos']);
    expect(snap.iam.groups.get('editors')?.members).toEqual(['alice', 'bob']);
    expect(snap.iam.groupPolicies.get('editors')?.policies).toEqual(['readwrite']);
    expect(snap.iam.serviceAccounts.get('alice-app')).toMatchObject({
      parent: 'alice',
      secretKey: 'alice-app-secret',
      status: 'enabled',
    });
    expect(snap.iam.policies.has('read-photos')).toBe(true);
  });

  it('reads part of a site: named buckets (an absent one as null), identity asked unless known', async () => {
    await siteA.createBucket('part-read');
    await siteA.putBucketTags('part-read', { team: 'parts', index: '1' });
    const signal = new AbortController().signal;
    const deploymentID = await siteA.deploymentID();
    callsA.length = 0;
    const part = await siteA.changeFeed.readPart(
      { iam: false, buckets: ['part-read', 'never-made'] },
      signal,
    );
    expect(part.deploymentID).toBe(deploymentID);
    expect(part.buckets.get('part-read')?.tags).toEqual({ team: 'parts', index: '1' });
    expect(part.buckets.get('never-made')).toBeNull();
    expect(callsA).toContain('admin:serverInfo');
    callsA.length = 0;
    const back = await siteA.changeFeed.readPart(
      { iam: true, buckets: ['part-read'], knownDeploymentID: deploymentID },
      signal,
    );
    expect(callsA.sort()).toEqual(
      ['admin:exportBucketMetadata', 'admin:exportIAM', 's3:ListBuckets'].sort(),
    );
    expect(back.deploymentID).toBe(deploymentID);
    expect(back.iam?.users).toBeInstanceOf(Map);
    expect(back.buckets.get('part-read')?.tags).toEqual({ team: 'parts', index: '1' });
  });

  it('changes group members and deletes IAM entities', async () => {
    await siteA.putGroup('editors', { members: ['bob'], status: 'disabled' }, ['alice', 'bob']);
    let snap = await siteA.snapshot();
    expect(snap.iam.groups.get('editors')).toMatchObject({ members: ['bob'], status: 'disabled' });
    await siteA.setPolicyMapping('group', 'editors', []);
    await siteA.deleteGroup('editors', ['bob']);
    await siteA.deleteServiceAccount('alice-app');
    await siteA.setPolicyMapping('user', 'alice', []);
    await siteA.deleteUser('bob');
    await siteA.deletePolicy('read-photos');
    snap = await siteA.snapshot();
    expect(snap.iam.groups.has('editors')).toBe(false);
    expect(snap.iam.serviceAccounts.has('alice-app')).toBe(false);
    expect(snap.iam.users.has('bob')).toBe(false);
    expect(snap.iam.userPolicies.has('alice')).toBe(false);
    expect(snap.iam.policies.has('read-photos')).toBe(false);
  });

  it('links two sites with a remote target and replication XML, and objects flow A -> B', async () => {
    await siteB.createBucket('photos');
    await siteB.enableVersioning('photos');
    const arn = await siteA.setRemoteTarget('photos', {
      endpoint: b.endpoint,
      targetBucket: 'photos',
      accessKey: b.accessKey,
      secretKey: b.secretKey,
    });
    expect(arn).toMatch(/^arn:minio:replication:/);
    expect((await siteA.listRemoteTargets('photos')).map((t) => t.arn)).toEqual([arn]);
    expect(await siteA.getReplicationConfigXML('photos')).toBeUndefined();

    const xml = buildReplicationXML({
      role: '',
      rules: [
        {
          id: 'to-site-b',
          status: 'Enabled',
          priority: 1,
          filter: { prefix: '' },
          deleteMarkerReplication: { status: 'Enabled' },
          deleteReplication: { status: 'Enabled' },
          existingObjectReplication: { status: 'Enabled' },
          sourceSelectionCriteria: { replicaModifications: { status: 'Enabled' } },
          destination: { bucket: arn },
        },
      ],
    });
    await siteA.putReplicationConfigXML('photos', xml);
    expect(await siteA.getReplicationConfigXML('photos')).toContain(arn);
    // The snapshot carries targets and replication XML without per-bucket calls, and no secret.
    const snap = await siteA.snapshot();
    const meta = snap.buckets.get('photos');
    expect(meta?.replicationXML).toContain(arn);
    expect(meta?.targets).toEqual([
      {
        arn,
        endpoint: b.endpoint,
        targetBucket: 'photos',
        secure: true,
        accessKey: b.accessKey,
        // Which secret the target holds, to tell a rotated one (in memory, never stored).
        secretDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    expect(JSON.stringify(meta)).not.toContain(b.secretKey);

    // Both servers serve https; a replicates to b verifying b's certificate (its certs dir
    // trusts the sites' CA).
    const s3a = s3For(a);
    await s3a.send(new PutObjectCommand({ Bucket: 'photos', Key: 'cat.jpg', Body: 'meow' }));
    await eventually(
      async () => {
        const v = await siteB.listObjectVersions('photos');
        expect(v.map((x) => x.key)).toContain('cat.jpg');
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    const s3b = s3For(b);
    const got = await s3b.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cat.jpg' }));
    expect(await got.Body?.transformToString()).toBe('meow');
    const progress = await siteA.replicationProgress('photos');
    expect(progress.failed).toBe(0);

    await siteA.deleteReplicationConfig('photos');
    await siteA.removeRemoteTarget('photos', arn);
    expect(await siteA.listRemoteTargets('photos')).toEqual([]);
    s3a.destroy();
    s3b.destroy();
  });
});
