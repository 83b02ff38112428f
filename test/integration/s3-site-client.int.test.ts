/**
 * The s3 driver against real moto servers: the stack's (signature and IAM checks on, as AWS
 * does them) and throwaway ones. A snapshot reflects buckets, their configurations and IAM;
 * bucket and IAM operations round-trip; PutBucketReplication carries the headers of the AWS
 * reference (seen on the wire through a recording proxy) and moto's read-back rewrites are
 * exactly the listed ones; errors map to SiteError kinds.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  S3_READ_BACK_REWRITES,
  parseCurrent,
  s3ReadBackForm,
  sameDocument,
} from '../../src/controllers/bucket-replication/document.js';
import { observeSites } from '../../src/controllers/site-replication-group/observe.js';
import type { ReplicationConfig } from '../../src/replication/replication-config.js';
import { buildReplicationXML } from '../../src/replication/xml-codec.js';
import { newSiteClient } from '../../src/sites/new-site-client.js';
import type { S3SiteClient } from '../../src/sites/s3/s3-site-client.js';
import { contentMD5 } from '../../src/sites/s3-transport.js';
import { SiteError } from '../../src/sites/site-error.js';
import { stack } from '../support/kube.js';
import { s3Driver, startThrowawayMoto, type ThrowawayMoto } from '../support/moto.js';

let site: S3SiteClient;
const calls: string[] = [];
const opened: S3SiteClient[] = [];
const suffix = Math.random().toString(36).slice(2, 8);
const b = (name: string) => `${name}-${suffix}`;

const driver = (server: { endpoint: string; accessKey: string; secretKey: string }) => {
  const d = s3Driver(server);
  opened.push(d);
  return d;
};

beforeAll(() => {
  site = s3Driver(stack().moto, { name: 'aws', onCall: (op) => calls.push(op) });
});

afterAll(() => {
  site.close();
  for (const d of opened) d.close();
});

async function failure(p: Promise<unknown>): Promise<SiteError> {
  try {
    await p;
  } catch (e: unknown) {
    if (e instanceof SiteError) return e;
    throw e;
  }
  throw new Error('expected a SiteError');
}

describe('S3SiteClient on moto', () => {
  it('round-trips bucket operations', async () => {
    const bucket = b('ops');
    await site.createBucket(bucket);
    await site.createBucket(bucket); // idempotent
    expect(await site.getVersioning(bucket)).toBe('Unversioned');
    await site.enableVersioning(bucket);
    expect(await site.getVersioning(bucket)).toBe('Enabled');

    expect(await site.getBucketTags(bucket)).toEqual({});
    await site.putBucketTags(bucket, { team: 'media', tier: 'gold' });
    expect(await site.getBucketTags(bucket)).toEqual({ team: 'media', tier: 'gold' });
    await site.putBucketTags(bucket, {});
    expect(await site.getBucketTags(bucket)).toEqual({});

    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${bucket}/public/*`,
        },
      ],
    };
    expect(await site.getBucketPolicy(bucket)).toBeUndefined();
    await site.putBucketPolicy(bucket, JSON.stringify(policy));
    expect(JSON.parse((await site.getBucketPolicy(bucket)) ?? '{}')).toEqual(policy);
    await site.deleteBucketPolicy(bucket);
    expect(await site.getBucketPolicy(bucket)).toBeUndefined();

    await site.putEncryption(bucket, { algorithm: 'aws:kms', kmsKeyId: 'key-1' });
    expect(await site.getEncryption(bucket)).toEqual({ algorithm: 'aws:kms', kmsKeyId: 'key-1' });
    await site.deleteEncryption(bucket);
    expect(await site.getEncryption(bucket)).toBeUndefined();

    const locked = b('locked');
    await site.createBucket(locked, { objectLock: true });
    await site.putObjectLockConfig(locked, {
      enabled: true,
      defaultRetention: { mode: 'GOVERNANCE', days: 3 },
    });
    expect(await site.getObjectLockConfig(locked)).toEqual({
      enabled: true,
      defaultRetention: { mode: 'GOVERNANCE', days: 3 },
    });

    // Never deletes data: a bucket with a version stays; an empty one goes.
    const s3 = new S3Client({
      endpoint: stack().moto.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: stack().moto.accessKey, secretAccessKey: stack().moto.secretKey },
    });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.txt', Body: 'hello' }));
    s3.destroy();
    expect(await site.bucketHasData(bucket)).toBe(true);
    const versions = await site.listObjectVersions(bucket);
    expect(versions.map((v) => [v.key, v.size, v.isLatest])).toEqual([['a.txt', 5, true]]);
    expect(await site.deleteBucketIfEmpty(bucket)).toBe('not-empty');
    const empty = b('empty');
    await site.createBucket(empty);
    expect(await site.deleteBucketIfEmpty(empty)).toBe('deleted');
    expect(await site.deleteBucketIfEmpty(empty)).toBe('missing');
  });

  it('round-trips IAM, and refuses what AWS-style IAM cannot do', async () => {
    const policy = b('read');
    const doc = (action: string) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: [action], Resource: ['arn:aws:s3:::*'] }],
    });
    await site.putPolicy(policy, doc('s3:GetObject'));
    await site.putPolicy(policy, doc('s3:ListBucket')); // a new default version
    const [alice, bob, team] = [b('alice'), b('bob'), b('team')];
    await site.putUser(alice, { secretKey: '', status: 'enabled' });
    await site.putUser(alice, { secretKey: '', status: 'enabled' }); // idempotent
    await site.putUser(bob, { secretKey: '', status: 'enabled' });
    await site.putGroup(team, { members: [alice, bob], status: 'enabled' }, []);
    await site.putGroup(team, { members: [alice], status: 'enabled' }, [alice, bob]);
    await site.setPolicyMapping('user', alice, [policy]);
    await site.setPolicyMapping('group', team, [policy]);

    let iam = (await site.snapshot()).iam;
    expect(iam.policies.get(policy)).toEqual(doc('s3:ListBucket'));
    expect(iam.users.get(alice)).toEqual({ status: 'enabled', secretKey: '' });
    expect(iam.groups.get(team)?.members).toEqual([alice]);
    expect(iam.userPolicies.get(alice)?.policies).toEqual([policy]);
    expect(iam.groupPolicies.get(team)?.policies).toEqual([policy]);

    expect(
      await failure(site.putUser(b('carol'), { secretKey: 'carol-secret', status: 'enabled' })),
    ).toMatchObject({ kind: 'Unsupported' });
    expect(
      await failure(
        site.putServiceAccount({
          accessKey: 'svc',
          parent: alice,
          secretKey: 'x',
          status: 'enabled',
          groups: [],
        }),
      ),
    ).toMatchObject({ kind: 'Unsupported' });
    expect(await failure(site.setRemoteTarget('x', {} as never))).toMatchObject({
      kind: 'Unsupported',
    });

    await site.deleteGroup(team, [alice]);
    await site.deleteUser(alice);
    await site.deleteUser(bob);
    await site.deleteUser(bob); // already gone
    await site.deletePolicy(policy);
    iam = (await site.snapshot()).iam;
    expect([iam.users.has(alice), iam.groups.has(team), iam.policies.has(policy)]).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('snapshots buckets, configurations and IAM in one listing plus a bounded read per bucket', async () => {
    const moto = await startThrowawayMoto('snap');
    const fresh = s3Driver(moto, { onCall: (op) => calls.push(op) });
    try {
      await fresh.createBucket('photos');
      await fresh.enableVersioning('photos');
      await fresh.putBucketTags('photos', { team: 'media' });
      await fresh.putEncryption('photos', { algorithm: 'AES256' });
      await fresh.createBucket('vault', { objectLock: true });
      await fresh.putObjectLockConfig('vault', {
        enabled: true,
        defaultRetention: { mode: 'COMPLIANCE', years: 1 },
      });
      await fresh.putPolicy('read-photos', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/*' }],
      });
      await fresh.putUser('dave', { secretKey: '', status: 'enabled' });
      await fresh.putGroup('media', { members: ['dave'], status: 'enabled' }, []);
      await fresh.setPolicyMapping('group', 'media', ['read-photos']);
      calls.length = 0;
      const snap = await fresh.snapshot();
      // 1 ListBuckets + 1 GetAccountAuthorizationDetails + 8 reads per bucket.
      expect(calls.filter((c) => c === 's3:ListBuckets')).toHaveLength(1);
      expect(calls.filter((c) => c.startsWith('iam:'))).toEqual([
        'iam:GetAccountAuthorizationDetails',
      ]);
      expect(calls).toHaveLength(2 + 8 * 2);
      expect(snap.deploymentID).toMatch(/^s3-owner:\S+$/);
      expect(snap.deploymentID).toBe(await fresh.deploymentID());
      expect(snap.buckets.get('photos')).toMatchObject({
        versioning: 'Enabled',
        objectLock: false,
        tags: { team: 'media' },
        encryption: { algorithm: 'AES256' },
        hasLifecycle: false,
        hasNotification: false,
        targets: [],
      });
      expect(snap.buckets.get('vault')).toMatchObject({
        objectLock: true,
        objectLockConfig: { mode: 'COMPLIANCE', years: 1 },
      });
      const users = [...snap.iam.users.keys()].sort();
      expect(users).toEqual(['dave', 'sitesync-admin']);
      expect(snap.iam.groups.get('media')).toEqual({ status: 'enabled', members: ['dave'] });
      expect(snap.iam.groupPolicies.get('media')?.policies).toEqual(['read-photos']);
      expect(snap.iam.serviceAccounts.size).toBe(0);
    } finally {
      fresh.close();
      await moto.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// PutBucketReplication

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Forwards every request unchanged to `target` (Host kept, so signatures hold) and records it. */
function recordingProxy(
  target: string,
): Promise<{ server: Server; url: string; seen: Recorded[] }> {
  const seen: Recorded[] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const out = httpRequest(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, seen });
    });
  });
}

/** Every element of the AWS reference, on two rules (one V2 with And, one legacy V1). */
const FULL: ReplicationConfig = {
  role: 'arn:aws:iam::123456789012:role/replication',
  rules: [
    {
      id: 'tax',
      priority: 2,
      status: 'Enabled',
      filter: { and: { prefix: 'TaxDocs', tags: [{ key: 'k1', value: 'v1' }] } },
      deleteMarkerReplication: { status: 'Disabled' },
      existingObjectReplication: { status: 'Enabled' },
      sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
      destination: {
        bucket: 'arn:aws:s3:::exampletargetbucket',
        account: '210987654321',
        storageClass: 'STANDARD_IA',
        accessControlTranslation: { owner: 'Destination' },
        encryptionConfiguration: { replicaKmsKeyID: 'arn:aws:kms:us-east-1:210987654321:key/k' },
        metrics: { status: 'Enabled', eventThreshold: { minutes: 15 } },
        replicationTime: { status: 'Enabled', time: { minutes: 15 } },
      },
    },
    {
      status: 'Disabled',
      prefix: 'legacy/',
      destination: { bucket: 'arn:aws:s3:::exampletargetbucket' },
    },
  ],
};

describe('PutBucketReplication on moto', () => {
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let viaProxy: S3SiteClient;

  beforeAll(async () => {
    proxy = await recordingProxy(stack().moto.endpoint);
    viaProxy = driver({ ...stack().moto, endpoint: proxy.url });
  });

  afterAll(async () => {
    await new Promise((r) => proxy.server.close(r));
  });

  it('sends the document with Content-MD5, the expected owner and the object-lock token', async () => {
    const bucket = b('repl');
    await site.createBucket(bucket);
    await site.enableVersioning(bucket);
    const xml = buildReplicationXML(FULL);
    await viaProxy.putReplicationConfigXML(bucket, xml, AbortSignal.timeout(10_000), {
      expectedBucketOwner: '123456789012',
      objectLockToken: 'lock-token-1',
    });
    const put = proxy.seen.find((r) => r.method === 'PUT' && r.url.endsWith('?replication'));
    expect(put?.body.toString('utf8')).toBe(xml);
    expect(put?.headers).toMatchObject({
      'content-md5': contentMD5(Buffer.from(xml)),
      'x-amz-expected-bucket-owner': '123456789012',
      'x-amz-bucket-object-lock-token': 'lock-token-1',
      'content-type': 'application/xml',
    });
    // Every header we add is signed: moto checks the signature and accepted it.
    const auth = String(put?.headers['authorization']);
    expect(auth).toMatch(/SignedHeaders=[^,]*content-md5/);
    expect(auth).toMatch(/SignedHeaders=[^,]*x-amz-bucket-object-lock-token/);
    expect(auth).toMatch(/SignedHeaders=[^,]*x-amz-expected-bucket-owner/);
  });

  it('reads the document back with exactly the listed rewrites, and deletes it', async () => {
    const bucket = b('readback');
    await site.createBucket(bucket);
    await site.enableVersioning(bucket);
    await site.putReplicationConfigXML(bucket, buildReplicationXML(FULL));
    const current = parseCurrent(await site.getReplicationConfigXML(bucket));
    // Without normalising, the documents differ...
    expect(sameDocument(current, FULL, 's3')).toBe(false);
    // ...and with moto's rewrites applied to ours, they are equal: nothing else was changed.
    const { config, rewrites } = s3ReadBackForm(FULL, current);
    expect(current).toEqual(config);
    expect(rewrites.sort()).toEqual(Object.keys(S3_READ_BACK_REWRITES).sort());
    await site.deleteReplicationConfig(bucket);
    expect(await site.getReplicationConfigXML(bucket)).toBeUndefined();
  });

  it('surfaces the S3 error code and message', async () => {
    const unversioned = b('unversioned');
    await site.createBucket(unversioned);
    const e = await failure(site.putReplicationConfigXML(unversioned, buildReplicationXML(FULL)));
    expect(e).toMatchObject({ kind: 'Invalid', code: 'InvalidRequest', status: 400 });
    expect(e.message).toContain("Versioning must be 'Enabled' on the bucket");
    const missing = await failure(site.getReplicationConfigXML(b('nosuchbucket')));
    expect(missing).toMatchObject({ kind: 'NotFound', code: 'NoSuchBucket' });
  });

  it('accepts an expected owner that does not own the bucket (AWS answers 403 AccessDenied)', async () => {
    const bucket = b('owner');
    await site.createBucket(bucket);
    await site.enableVersioning(bucket);
    await site.putReplicationConfigXML(bucket, buildReplicationXML(FULL), undefined, {
      expectedBucketOwner: '999999999999',
    });
    expect(await site.getReplicationConfigXML(bucket)).toContain('<Role>');
  });
});

// ---------------------------------------------------------------------------------------------
// Errors

describe('S3SiteClient errors', () => {
  let open: ThrowawayMoto | undefined;

  afterAll(async () => {
    await open?.stop();
  });

  it('a wrong secret key or an unknown access key is AuthFailed, on S3 and on IAM', async () => {
    const { moto } = stack();
    const wrongSecret = driver({ ...moto, secretKey: 'not-the-secret' });
    const unknownKey = driver({ ...moto, accessKey: 'AKIAUNKNOWN000000000' });
    expect(await failure(wrongSecret.listBuckets())).toMatchObject({
      kind: 'AuthFailed',
      code: 'SignatureDoesNotMatch',
      status: 403,
    });
    expect(await failure(unknownKey.listBuckets())).toMatchObject({
      kind: 'AuthFailed',
      code: 'InvalidAccessKeyId',
    });
    expect(await failure(wrongSecret.snapshot())).toMatchObject({ kind: 'AuthFailed' });
    const iamOnly = await failure(unknownKey.putPolicy('p', { Version: '2012-10-17' }));
    expect(iamOnly).toMatchObject({ kind: 'AuthFailed', code: 'InvalidClientTokenId' });
    const messages = [iamOnly.message, (await failure(wrongSecret.listBuckets())).message];
    for (const m of messages) expect(m).not.toContain('not-the-secret');
  });

  it('moto started without authentication accepts any credentials', async () => {
    open = await startThrowawayMoto('noauth', { auth: false });
    const anyone = driver({ ...open, accessKey: 'anyone', secretKey: 'anything' });
    await anyone.createBucket('open');
    expect((await anyone.listBuckets()).map((x) => x.name)).toEqual(['open']);
  });

  it('a stopped server is Unreachable, naming the endpoint', async () => {
    const moto = await startThrowawayMoto('down');
    const d = driver(moto);
    expect((await d.listBuckets()).length).toBe(0);
    await moto.stop();
    const e = await failure(d.listBuckets());
    expect(e.kind).toBe('Unreachable');
    expect(e.message).toContain(moto.endpoint);
    const raw = await failure(d.getReplicationConfigXML('any'));
    expect(raw.kind).toBe('Unreachable');
    expect(raw.message).toContain(moto.endpoint);
  });
});

describe('an s3 site in a SiteReplicationGroup', () => {
  const observeAws = (requireNativeReplication: boolean) => {
    const { moto } = stack();
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    return observeSites({
      readSecret: () =>
        Promise.resolve({ accessKey: b64(moto.accessKey), secretKey: b64(moto.secretKey) }),
      sites: [
        {
          name: 'aws',
          endpoint: moto.endpoint,
          flavor: 's3',
          region: 'us-east-1',
          credentialsSecret: { name: 'x', accessKeyKey: 'accessKey', secretKeyKey: 'secretKey' },
        },
      ],
      newSite: newSiteClient,
      // moto serves plain http (the stack's MinIO sites are https).
      allowInsecure: true,
      requireNativeReplication,
      signal: AbortSignal.timeout(10_000),
    });
  };

  it('is observed whole in an ActiveActive group (the object copier serves it)', async () => {
    const [aws] = await observeAws(false);
    aws?.client?.close();
    expect(aws).toMatchObject({ ok: true });
    expect(aws?.ok === true ? aws.snap.deploymentID : '').toMatch(/^s3-owner:/);
  });

  it('is reported SiteUnsupported in a PrimarySecondary group (no fencing, no peer links), not half-synced', async () => {
    const [aws] = await observeAws(true);
    aws?.client?.close();
    expect(aws).toMatchObject({ ok: false, reason: 'SiteUnsupported' });
    expect(aws?.ok === false ? aws.message : '').toContain(
      'spec.sites[0]: site aws is of flavor s3, which cannot replicate objects by itself; PrimarySecondary groups',
    );
  });
});
