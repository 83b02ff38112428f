/** Bucket operations of the S3 layer against a real MinIO server. */
import { PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { S3BucketOps, newS3Client } from '../../src/sites/s3-bucket-ops.js';
import { SiteError } from '../../src/sites/site-error.js';
import type { SiteConnection } from '../../src/sites/site-client.js';
import { startThrowawayMinio } from '../support/minio.js';

let server: Awaited<ReturnType<typeof startThrowawayMinio>>;
let ops: S3BucketOps;
const calls: string[] = [];

const noReplicationXML = {
  get: () => Promise.resolve(undefined),
  put: () => Promise.reject(new Error('not used here')),
};

function connection(over: Partial<SiteConnection> = {}): SiteConnection {
  return {
    name: 'site-t',
    flavor: 'minio',
    endpoint: server.endpoint,
    region: 'us-east-1',
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    ca: server.ca,
    timeoutMs: 5000,
    onCall: (op) => calls.push(op),
    ...over,
  };
}

beforeAll(async () => {
  server = await startThrowawayMinio('s3ops');
  const conn = connection();
  ops = new S3BucketOps(conn, newS3Client(conn), noReplicationXML);
});

afterAll(async () => {
  await server.stop();
});

describe('S3BucketOps on real MinIO', () => {
  it('creates, lists and versions buckets, idempotently', async () => {
    await ops.createBucket('plain');
    await ops.createBucket('plain');
    await ops.createBucket('locked', { objectLock: true });
    const names = (await ops.listBuckets()).map((b) => b.name);
    expect(names).toEqual(expect.arrayContaining(['plain', 'locked']));
    expect(await ops.getVersioning('plain')).toBe('Unversioned');
    await ops.enableVersioning('plain');
    expect(await ops.getVersioning('plain')).toBe('Enabled');
    // Object lock implies versioning.
    expect(await ops.getVersioning('locked')).toBe('Enabled');
  });

  it('round-trips policy, tags, object lock and encryption, and reads absent ones as empty', async () => {
    expect(await ops.getBucketPolicy('plain')).toBeUndefined();
    expect(await ops.getBucketTags('plain')).toEqual({});
    expect(await ops.getEncryption('plain')).toBeUndefined();
    expect(await ops.getObjectLockConfig('plain')).toEqual({ enabled: false });

    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: ['*'] },
          Action: ['s3:GetObject'],
          Resource: ['arn:aws:s3:::plain/public/*'],
        },
      ],
    });
    await ops.putBucketPolicy('plain', policy);
    expect(JSON.parse((await ops.getBucketPolicy('plain')) ?? '{}')).toMatchObject({
      Statement: [expect.objectContaining({ Effect: 'Allow' })],
    });
    await ops.putBucketTags('plain', { team: 'storage', tier: 'gold' });
    expect(await ops.getBucketTags('plain')).toEqual({ team: 'storage', tier: 'gold' });
    await ops.putEncryption('plain', { algorithm: 'AES256' });
    expect(await ops.getEncryption('plain')).toEqual({ algorithm: 'AES256' });
    await ops.putObjectLockConfig('locked', {
      enabled: true,
      defaultRetention: { mode: 'GOVERNANCE', days: 3 },
    });
    expect(await ops.getObjectLockConfig('locked')).toEqual({
      enabled: true,
      defaultRetention: { mode: 'GOVERNANCE', days: 3 },
    });

    await ops.deleteBucketPolicy('plain');
    await ops.putBucketTags('plain', {});
    await ops.deleteEncryption('plain');
    expect(await ops.getBucketPolicy('plain')).toBeUndefined();
    expect(await ops.getBucketTags('plain')).toEqual({});
    expect(await ops.getEncryption('plain')).toBeUndefined();
  });

  it('reads notification and lifecycle configuration without writing them', async () => {
    expect(await ops.getNotificationConfig('plain')).toEqual({
      topics: [],
      queues: [],
      lambdas: [],
    });
    expect(await ops.getLifecycleConfig('plain')).toBeUndefined();
  });

  it('deletes a bucket only when it holds no object version', async () => {
    await ops.s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'k', Body: 'v' }));
    expect(await ops.bucketHasData('plain')).toBe(true);
    expect(await ops.deleteBucketIfEmpty('plain')).toBe('not-empty');
    // A delete marker is still a version: the data is kept.
    await ops.s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'k' }));
    const versions = await ops.listObjectVersions('plain');
    expect(versions.map((v) => [v.key, v.deleteMarker])).toEqual(
      expect.arrayContaining([
        ['k', false],
        ['k', true],
      ]),
    );
    expect(await ops.deleteBucketIfEmpty('plain')).toBe('not-empty');
    await ops.createBucket('empty');
    expect(await ops.deleteBucketIfEmpty('empty')).toBe('deleted');
    expect(await ops.deleteBucketIfEmpty('empty')).toBe('missing');
  });

  it('counts its calls by operation', () => {
    expect(calls).toContain('s3:ListBuckets');
    expect(calls).toContain('s3:PutBucketPolicy');
  });

  it('reports wrong credentials as AuthFailed without the secret', async () => {
    const bad = connection({ secretKey: 'definitely-wrong-secret' });
    const badOps = new S3BucketOps(bad, newS3Client(bad), noReplicationXML);
    const err = await badOps.listBuckets().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiteError);
    expect((err as SiteError).kind).toBe('AuthFailed');
    expect((err as SiteError).message).not.toContain('definitely-wrong-secret');
    expect((err as SiteError).message).toContain('site-t');
  });

  it('reports a server that is down as Unreachable, naming the endpoint', async () => {
    const down = connection({ endpoint: 'http://127.0.0.1:1' });
    const downOps = new S3BucketOps(down, newS3Client(down), noReplicationXML);
    const err = await downOps.listBuckets().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiteError);
    expect((err as SiteError).kind).toBe('Unreachable');
    expect((err as SiteError).message).toContain('http://127.0.0.1:1');
  });
});
