/**
 * The MinIO admin client against real, throwaway MinIO servers: every method round-trips, the
 * encrypted bodies are proven both ways (a user added through the API authenticates over S3; the
 * encrypted listings decrypt), the bulk exports carry what was created and import elsewhere, and
 * the failure matrix (bad credentials, server down, garbage, silence, TLS) gives the right
 * SiteError kinds. Finally, no error message may contain any secret used here.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import {
  CreateBucketCommand,
  DeleteBucketReplicationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutBucketReplicationCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { fetch as undiciFetch } from 'undici';

import { isSiteError, type SiteError, type SiteErrorKind } from '../../src/sites/site-error.js';
import {
  MinioAdminClient,
  type MinioAdminClientOptions,
} from '../../src/sites/minio/admin/admin-client.js';
import { AdminTransport } from '../../src/sites/minio/admin/admin-transport.js';
import type { ReplicationDiffEntry } from '../../src/sites/minio/admin/types.js';
import { readZipMap, writeZip } from '../../src/sites/minio/admin/zip.js';
import { canonicalPolicy } from '../../src/replication/policy.js';
import { eventually } from '../support/eventually.js';
import { readProcessSpec, startProcess, stopProcess, waitFor } from '../support/processes.js';
import {
  type MinioServer,
  STACK_DIR,
  freePort,
  readStack,
  startMinio,
  tool,
  waitMinioReady,
} from '../support/stack.js';

const RUN = randomBytes(3).toString('hex');
const run = promisify(execFile);

/** Every secret this file uses; no SiteError message may contain any of them. */
const SECRETS: string[] = [];
/** Every SiteError this file provoked, scanned for secrets at the end. */
const ERRORS: SiteError[] = [];

const secret = (label: string): string => {
  const s = `${label}-${randomBytes(12).toString('base64url')}`;
  SECRETS.push(s);
  return s;
};

/** Awaits a rejection, checks it is a SiteError of `kind`, and records it. */
async function failure(p: Promise<unknown>, kind: SiteErrorKind): Promise<SiteError> {
  let caught: unknown;
  try {
    await p;
  } catch (e: unknown) {
    caught = e;
  }
  if (!isSiteError(caught))
    throw new Error(`expected a SiteError of kind ${kind}, got ${String(caught)}`);
  ERRORS.push(caught);
  expect(caught.kind).toBe(kind);
  return caught;
}

const started: string[] = [];

async function throwaway(name: string): Promise<MinioServer> {
  const stack = readStack();
  if (!stack) throw new Error('the shared stack is not up');
  const full = `adm-${RUN}-${name}`;
  started.push(full);
  const server = await startMinio(STACK_DIR, {
    name: full,
    secretKey: secret(`root-${name}`),
    kmsSecretKey: stack.kmsSecretKey,
    // The admin client's wire tests speak plain http (raw requests, mc joins); the https
    // describe below runs a TLS server of its own.
    tls: false,
  });
  return server;
}

async function dispose(full: string): Promise<void> {
  await stopProcess(STACK_DIR, `minio-${full}`);
  rmSync(join(STACK_DIR, `minio-${full}`), { recursive: true, force: true });
  rmSync(join(STACK_DIR, `minio-${full}-certs`), { recursive: true, force: true });
  rmSync(join(STACK_DIR, `minio-${full}.log`), { force: true });
  rmSync(join(STACK_DIR, `minio-${full}.cmd.json`), { force: true });
}

const clients: MinioAdminClient[] = [];

function admin(
  server: { name: string; endpoint: string; accessKey: string; secretKey: string },
  extra: Partial<MinioAdminClientOptions> = {},
): MinioAdminClient {
  const c = new MinioAdminClient({
    site: server.name,
    endpoint: server.endpoint,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    ...extra,
  });
  clients.push(c);
  return c;
}

function s3(
  endpoint: string,
  accessKeyId: string,
  secretAccessKey: string,
  sessionToken?: string,
): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials:
      sessionToken === undefined
        ? { accessKeyId, secretAccessKey }
        : { accessKeyId, secretAccessKey, sessionToken },
  });
}

const rootS3 = (s: MinioServer): S3Client => s3(s.endpoint, s.accessKey, s.secretKey);

async function versionedBucket(s: MinioServer, bucket: string): Promise<void> {
  const c = rootS3(s);
  await c.send(new CreateBucketCommand({ Bucket: bucket }));
  await c.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  c.destroy();
}

const policy = (actions: string[], resource = 'arn:aws:s3:::*') => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: actions, Resource: [resource] }],
});

/** A local HTTP server for the failure cases; records how many requests it saw. */
async function fakeServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server; requests: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, requests: () => n };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

let a: MinioServer;
let b: MinioServer;
let A: MinioAdminClient;
let B: MinioAdminClient;
const calls: string[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([throwaway('a'), throwaway('b')]);
  A = admin(a, { onCall: (op) => calls.push(op) });
  B = admin(b);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(started.map(dispose));
});

describe('server info', () => {
  it('reads the deployment ID, mode and node count', async () => {
    const [ia, ib] = await Promise.all([A.serverInfo(), B.serverInfo()]);
    expect(ia.deploymentID).toMatch(/^[0-9a-f-]{36}$/);
    expect(ia.deploymentID).not.toBe(ib.deploymentID);
    expect(ia.mode).toBe('online');
    expect(ia.servers).toBe(1);
    expect(ia.versions.length).toBe(1);
    expect(calls).toContain('serverInfo');
  });
});

describe('users', () => {
  const user = `user-${RUN}`;
  const userSecret = secret('user');

  it('adds a user whose secret (sent encrypted) then authenticates over S3', async () => {
    await A.addUser(user, userSecret);
    await A.setPolicies({ user }, ['readwrite']);
    const client = s3(a.endpoint, user, userSecret);
    await client.send(new ListBucketsCommand({}));
    client.destroy();
  });

  it('lists users through the encrypted listing and reads one user', async () => {
    const users = await A.listUsers();
    expect(users[user]).toMatchObject({ status: 'enabled', policies: ['readwrite'], memberOf: [] });
    expect(await A.getUserInfo(user)).toMatchObject({ status: 'enabled', authType: 'builtin' });
  });

  it('disables and enables a user, which S3 then refuses and accepts', async () => {
    await A.setUserStatus(user, 'disabled');
    expect((await A.getUserInfo(user)).status).toBe('disabled');
    const client = s3(a.endpoint, user, userSecret);
    await expect(client.send(new ListBucketsCommand({}))).rejects.toThrow();
    await A.setUserStatus(user, 'enabled');
    await client.send(new ListBucketsCommand({}));
    client.destroy();
  });

  it('removes a user, idempotently', async () => {
    const other = `gone-${RUN}`;
    await A.addUser(other, secret('gone'));
    expect(await A.removeUser(other)).toBe(true);
    expect(await A.removeUser(other)).toBe(false);
    const e = await failure(A.getUserInfo(other), 'NotFound');
    expect(e.code).toBe('XMinioAdminNoSuchUser');
    expect(e.message).toMatch(new RegExp(`^${a.name}: getUserInfo: `));
  });
});

describe('groups', () => {
  const group = `group-${RUN}`;
  const member = `member-${RUN}`;

  it('creates a group by adding members, lists and describes it', async () => {
    await A.addUser(member, secret('member'));
    await A.updateGroupMembers({ group, members: [member], isRemove: false });
    expect(await A.listGroups()).toContain(group);
    expect(await A.getGroupDescription(group)).toMatchObject({
      name: group,
      status: 'enabled',
      members: [member],
      policies: [],
    });
    expect((await A.getUserInfo(member)).memberOf).toEqual([group]);
  });

  it('disables a group', async () => {
    await A.setGroupStatus(group, 'disabled');
    expect((await A.getGroupDescription(group)).status).toBe('disabled');
    await A.setGroupStatus(group, 'enabled');
  });

  it('refuses to remove a group with members, then removes it once empty', async () => {
    const e = await failure(A.removeGroup(group), 'Invalid');
    expect(e.code).toBe('XMinioAdminGroupNotEmpty');
    await A.updateGroupMembers({ group, members: [member], isRemove: true });
    expect((await A.getGroupDescription(group)).members).toEqual([]);
    await A.removeGroup(group);
    expect(await A.listGroups()).not.toContain(group);
    await failure(A.getGroupDescription(group), 'NotFound');
  });
});

describe('canned policies', () => {
  const name = `policy-${RUN}`;
  const doc = policy(['s3:GetObject'], `arn:aws:s3:::bucket-${RUN}/*`);

  it('adds, reads, lists and removes a policy', async () => {
    await A.addCannedPolicy(name, doc);
    expect(await A.getCannedPolicy(name)).toEqual(doc);
    const all = await A.listCannedPolicies();
    expect(all[name]).toEqual(doc);
    expect(Object.keys(all)).toEqual(
      expect.arrayContaining(['readwrite', 'readonly', 'consoleAdmin']),
    );
    await A.removeCannedPolicy(name);
    expect(Object.keys(await A.listCannedPolicies())).not.toContain(name);
    await A.removeCannedPolicy(name);
    await failure(A.getCannedPolicy(name), 'NotFound');
  });

  it('rejects a malformed policy as Invalid', async () => {
    const e = await failure(A.addCannedPolicy(name, { Statement: 'nope' }), 'Invalid');
    expect(e.status).toBe(400);
  });
});

describe('policy mappings', () => {
  const user = `mapped-${RUN}`;
  const group = `mgroup-${RUN}`;
  const p1 = `p1-${RUN}`;
  const p2 = `p2-${RUN}`;

  beforeAll(async () => {
    await A.addUser(user, secret('mapped'));
    await A.updateGroupMembers({ group, members: [user], isRemove: false });
    await A.addCannedPolicy(p1, policy(['s3:ListBucket']));
    await A.addCannedPolicy(p2, policy(['s3:GetObject']));
  });

  it('attaches policies (encrypted both ways); attaching again is a no-op success', async () => {
    expect(await A.attachPolicies({ user, policies: [p1, p2] })).toMatchObject({
      changed: [p1, p2],
      alreadyApplied: false,
    });
    expect(await A.attachPolicies({ user, policies: [p1] })).toEqual({
      changed: [],
      alreadyApplied: true,
    });
    expect([...(await A.getUserInfo(user)).policies].sort()).toEqual([p1, p2].sort());
    await A.attachPolicies({ group, policies: [p2] });
    expect((await A.getGroupDescription(group)).policies).toEqual([p2]);
  });

  it('reads the mappings through policy-entities (encrypted response)', async () => {
    const byUser = await A.listPolicyEntities({ users: [user], groups: [group] });
    expect(byUser.userMappings).toEqual([
      {
        user,
        policies: expect.arrayContaining([p1, p2]) as unknown,
        memberOfMappings: [{ group, policies: [p2] }],
      },
    ]);
    expect(byUser.groupMappings).toEqual([{ group, policies: [p2] }]);
    const byPolicy = await A.listPolicyEntities({ policies: [p2] });
    expect(byPolicy.policyMappings).toEqual([{ policy: p2, users: [user], groups: [group] }]);
  });

  it('detaches, idempotently', async () => {
    expect(await A.detachPolicies({ user, policies: [p2] })).toMatchObject({ changed: [p2] });
    expect((await A.detachPolicies({ user, policies: [p2] })).alreadyApplied).toBe(true);
    expect((await A.getUserInfo(user)).policies).toEqual([p1]);
  });

  it('replaces a whole mapping with setPolicies, and clears it', async () => {
    await A.setPolicies({ user }, [p2, 'readonly']);
    expect([...(await A.getUserInfo(user)).policies].sort()).toEqual([p2, 'readonly'].sort());
    await A.setPolicies({ group }, []);
    expect((await A.getGroupDescription(group)).policies).toEqual([]);
    await A.setPolicies({ user }, []);
    expect((await A.getUserInfo(user)).policies).toEqual([]);
  });

  it('refuses to attach a policy that does not exist', async () => {
    await failure(A.attachPolicies({ user, policies: [`missing-${RUN}`] }), 'NotFound');
  });
});

describe('service accounts', () => {
  const parent = `parent-${RUN}`;
  const parentSecret = secret('parent');
  const bucket = `svc-${RUN}`;
  const ak = `svc${RUN}key`;
  const sk = secret('svc');
  // In sorted order: the server normalises policy documents (it sorted the actions).
  const sessionPolicy = policy(['s3:GetObject', 's3:PutObject'], `arn:aws:s3:::${bucket}/*`);

  beforeAll(async () => {
    await A.addUser(parent, parentSecret);
    await A.setPolicies({ user: parent }, ['readwrite']);
    await rootS3(a).send(new CreateBucketCommand({ Bucket: bucket }));
  });

  it('creates an access key with a session policy (encrypted both ways) that works over S3', async () => {
    const creds = await A.addServiceAccount({
      targetUser: parent,
      accessKey: ak,
      secretKey: sk,
      policy: sessionPolicy,
      name: 'ci-key',
      description: 'made by the admin client test',
    });
    expect(creds).toEqual({ accessKey: ak, secretKey: sk, expiration: undefined });
    const client = s3(a.endpoint, ak, sk);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }));
    await expect(client.send(new ListBucketsCommand({}))).rejects.toThrow();
    client.destroy();
  });

  it('lists and describes it (encrypted responses)', async () => {
    const list = await A.listServiceAccounts(parent);
    expect(list).toEqual([
      {
        accessKey: ak,
        parentUser: parent,
        accountStatus: 'on',
        impliedPolicy: false,
        name: 'ci-key',
        description: 'made by the admin client test',
        expiration: undefined,
      },
    ]);
    const info = await A.infoServiceAccount(ak);
    expect(canonicalPolicy(info.policy)).toEqual(canonicalPolicy(sessionPolicy));
    expect(info.parentUser).toBe(parent);
  });

  it('updates status while keeping the session policy, then drops the policy on request', async () => {
    await A.updateServiceAccount(ak, {
      policy: sessionPolicy,
      status: 'off',
      description: 'off now',
    });
    const off = await A.infoServiceAccount(ak);
    expect(off).toMatchObject({
      accountStatus: 'off',
      impliedPolicy: false,
      description: 'off now',
    });
    expect(canonicalPolicy(off.policy)).toEqual(canonicalPolicy(sessionPolicy));
    const client = s3(a.endpoint, ak, sk);
    await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))).rejects.toThrow();
    await A.updateServiceAccount(ak, { policy: null, status: 'on' });
    const inherited = await A.infoServiceAccount(ak);
    expect(inherited).toMatchObject({ accountStatus: 'on', impliedPolicy: true });
    await client.send(new ListBucketsCommand({}));
    client.destroy();
  });

  it('lets the server generate keys, with an expiration', async () => {
    const expiration = new Date(Date.now() + 3_600_000);
    const creds = await A.addServiceAccount({ targetUser: parent, expiration });
    SECRETS.push(creds.secretKey);
    expect(creds.accessKey.length).toBeGreaterThanOrEqual(16);
    expect(Date.parse(creds.expiration ?? '')).toBe(Math.floor(expiration.getTime() / 1000) * 1000);
    await A.deleteServiceAccount(creds.accessKey);
  });

  it('deletes it', async () => {
    await A.deleteServiceAccount(ak);
    await failure(A.infoServiceAccount(ak), 'NotFound');
    expect(await A.listServiceAccounts(parent)).toEqual([]);
  });
});

describe('bulk IAM export and import', () => {
  const user = `exported-${RUN}`;
  const userSecret = secret('exported');
  const group = `egroup-${RUN}`;
  const pol = `epolicy-${RUN}`;
  const svc = `esvc${RUN}key`;
  const svcSecret = secret('esvc');
  let zip: Buffer;

  beforeAll(async () => {
    await A.addCannedPolicy(pol, policy(['s3:ListAllMyBuckets']));
    await A.addUser(user, userSecret);
    await A.setPolicies({ user }, [pol]);
    await A.updateGroupMembers({ group, members: [user], isRemove: false });
    await A.setPolicies({ group }, ['readonly']);
    await A.addServiceAccount({ targetUser: user, accessKey: svc, secretKey: svcSecret });
  });

  it('exports a zip that contains every created entity', async () => {
    zip = await A.exportIAM();
    const files = readZipMap(zip);
    const json = (name: string): Record<string, unknown> =>
      JSON.parse(files.get(`iam-assets/${name}`)?.toString('utf8') ?? 'null') as Record<
        string,
        unknown
      >;
    expect(json('policies.json')[pol]).toEqual(policy(['s3:ListAllMyBuckets']));
    expect(json('users.json')[user]).toEqual({ secretKey: userSecret, status: 'enabled' });
    expect(json('groups.json')[group]).toMatchObject({ members: [user], status: 'enabled' });
    expect(json('svcaccts.json')[svc]).toMatchObject({ parent: user, secretKey: svcSecret });
    expect(json('user_mappings.json')[user]).toMatchObject({ policy: pol });
    expect(json('group_mappings.json')[group]).toMatchObject({ policy: 'readonly' });
  });

  it('imports it into another server (import-iam-v2) where the user then authenticates', async () => {
    const result = await B.importIAM(zip);
    expect(result.detailed).toBe(true);
    expect(result.failed).toEqual([]);
    expect(result.added.users).toContain(user);
    expect(result.added.groups).toContain(group);
    expect(result.added.serviceAccounts).toContain(svc);
    expect(result.added.policies).toContain(pol);
    expect((await B.listUsers())[user]).toMatchObject({ policies: [pol], memberOf: [group] });
    const client = s3(b.endpoint, svc, svcSecret);
    await client.send(new ListBucketsCommand({}));
    client.destroy();
  });

  it('accepts a zip written by our own writer', async () => {
    const own = `own-${RUN}`;
    const ownSecret = secret('own');
    const ownPolicy = `ownp-${RUN}`;
    const ownZip = writeZip([
      {
        name: 'iam-assets/policies.json',
        data: Buffer.from(JSON.stringify({ [ownPolicy]: policy(['s3:ListAllMyBuckets']) })),
      },
      {
        name: 'iam-assets/users.json',
        data: Buffer.from(JSON.stringify({ [own]: { secretKey: ownSecret, status: 'enabled' } })),
      },
      {
        name: 'iam-assets/user_mappings.json',
        data: Buffer.from(JSON.stringify({ [own]: { version: 1, policy: ownPolicy } })),
      },
    ]);
    const result = await B.importIAM(ownZip);
    expect(result.added).toMatchObject({
      users: [own],
      policies: [ownPolicy],
      userPolicies: [{ [own]: [ownPolicy] }],
    });
    expect((await B.getUserInfo(own)).policies).toEqual([ownPolicy]);
  });

  it('rejects a body that is not a zip as Invalid', async () => {
    const e = await failure(B.importIAM(Buffer.from('not a zip at all')), 'Invalid');
    expect(e.code).toBe('InvalidRequest');
  });
});

describe('bulk bucket metadata export and import', () => {
  const bucket = `meta-${RUN}`;
  const other = `meta2-${RUN}`;

  beforeAll(async () => {
    await versionedBucket(a, bucket);
    await rootS3(a).send(new CreateBucketCommand({ Bucket: other }));
    await rootS3(a).send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        Tagging: { TagSet: [{ Key: 'team', Value: 'storage' }] },
      }),
    );
  });

  it('exports all buckets, or one', async () => {
    const all = readZipMap(await A.exportBucketMetadata());
    expect([...all.keys()]).toEqual(
      expect.arrayContaining([
        `${bucket}/versioning.xml`,
        `${bucket}/tagging.xml`,
        `${other}/notification.xml`,
      ]),
    );
    expect(all.get(`${bucket}/versioning.xml`)?.toString()).toContain('<Status>Enabled</Status>');
    const one = readZipMap(await A.exportBucketMetadata(bucket));
    expect([...one.keys()].every((k) => k.startsWith(`${bucket}/`))).toBe(true);
    await failure(A.exportBucketMetadata(`nope-${RUN}`), 'NotFound');
  });

  it('imports into another server, creating the bucket with its versioning and tags', async () => {
    const result = await B.importBucketMetadata(await A.exportBucketMetadata(bucket));
    expect(result.errors).toEqual([]);
    expect(result.buckets[bucket]?.items['versioning']).toEqual({ isSet: true, error: undefined });
    const client = rootS3(b);
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe(
      'Enabled',
    );
    expect((await client.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet).toEqual([
      { Key: 'team', Value: 'storage' },
    ]);
    client.destroy();
  });
});

describe('remote targets and replication metrics', () => {
  const bucket = `repl-${RUN}`;
  let arn = '';
  const spec = () => ({
    endpoint: b.endpoint,
    targetBucket: bucket,
    accessKey: b.accessKey,
    secretKey: b.secretKey,
  });

  beforeAll(async () => {
    await Promise.all([versionedBucket(a, bucket), versionedBucket(b, bucket)]);
  });

  it('lists no targets for a fresh bucket', async () => {
    expect(await A.listRemoteTargets(bucket)).toEqual([]);
    await failure(A.listRemoteTargets(`nope-${RUN}`), 'NotFound');
  });

  it('sets a target (encrypted request), idempotently, and lists it', async () => {
    arn = await A.setRemoteTarget(bucket, spec());
    expect(arn).toMatch(new RegExp(`^arn:minio:replication::[0-9a-f-]+:${bucket}$`));
    expect(await A.setRemoteTarget(bucket, spec())).toBe(arn);
    const [t, ...rest] = await A.listRemoteTargets(bucket);
    expect(rest).toEqual([]);
    expect(t).toMatchObject({
      arn,
      sourceBucket: bucket,
      url: b.endpoint,
      secure: false,
      targetBucket: bucket,
      accessKey: b.accessKey,
      type: 'replication',
      replicationSync: false,
    });
    expect((await A.listRemoteTargets('')).map((x) => x.arn)).toContain(arn);
  });

  it('updates a target', async () => {
    await A.updateRemoteTarget(
      bucket,
      arn,
      { ...spec(), replicationSync: true, healthCheckSeconds: 30 },
      ['sync', 'healthcheck'],
    );
    expect(await A.listRemoteTargets(bucket)).toMatchObject([
      { arn, replicationSync: true, healthCheckSeconds: 30 },
    ]);
  });

  it('reads replication metrics once a rule uses the target', async () => {
    await failure(A.bucketReplicationMetrics(bucket), 'NotFound');
    const client = rootS3(a);
    await client.send(
      new PutBucketReplicationCommand({
        Bucket: bucket,
        ReplicationConfiguration: {
          Role: '',
          Rules: [
            {
              ID: 'to-b',
              Status: 'Enabled',
              Priority: 1,
              Filter: { Prefix: '' },
              DeleteMarkerReplication: { Status: 'Enabled' },
              Destination: { Bucket: arn },
            },
          ],
        },
      }),
    );
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'replicated', Body: 'hello' }));
    const metrics = await eventually(
      async () => {
        const m = await A.bucketReplicationMetrics(bucket);
        expect(m.replicatedCount).toBeGreaterThanOrEqual(1);
        return m;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(metrics.replicatedBytes).toBeGreaterThanOrEqual(5);
    expect(metrics.targets[arn]?.replicatedCount).toBeGreaterThanOrEqual(1);
    expect(metrics.uptimeSeconds).toBeGreaterThan(0);
    const e = await failure(A.removeRemoteTarget(bucket, arn), 'Invalid');
    expect(e.code).toBe('XMinioAdminRemoteRemoveDisallowed');
    client.destroy();
  });

  it('lists the versions still waiting for a target that is down (replication diff, streamed)', async () => {
    // A second bucket whose only target is a server that is then stopped.
    const down = await throwaway('down');
    const lagging = `lag-${RUN}`;
    await Promise.all([versionedBucket(a, lagging), versionedBucket(down, lagging)]);
    const downArn = await A.setRemoteTarget(lagging, {
      endpoint: down.endpoint,
      targetBucket: lagging,
      accessKey: down.accessKey,
      secretKey: down.secretKey,
    });
    const client = rootS3(a);
    await client.send(
      new PutBucketReplicationCommand({
        Bucket: lagging,
        ReplicationConfiguration: {
          Role: '',
          Rules: [
            {
              ID: 'to-down',
              Status: 'Enabled',
              Priority: 1,
              Filter: { Prefix: '' },
              DeleteMarkerReplication: { Status: 'Enabled' },
              Destination: { Bucket: downArn },
            },
          ],
        },
      }),
    );
    const none: ReplicationDiffEntry[] = [];
    await A.replicationDiff(lagging, {}, (e) => none.push(e));
    expect(none).toEqual([]);
    await dispose(`adm-${RUN}-down`);
    const before = Date.now();
    for (const key of ['one', 'two', 'three']) {
      await client.send(new PutObjectCommand({ Bucket: lagging, Key: key, Body: key }));
    }
    client.destroy();
    const waiting = await eventually(
      async () => {
        const seen: ReplicationDiffEntry[] = [];
        await A.replicationDiff(lagging, { arn: downArn }, (e) => seen.push(e));
        expect(seen.map((e) => e.object).sort()).toEqual(['one', 'three', 'two']);
        return seen;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    for (const e of waiting) {
      expect(['PENDING', 'FAILED']).toContain(e.targets[downArn]?.status);
      expect(e.versionId).not.toBe('');
      expect(Date.parse(e.lastModified ?? '')).toBeGreaterThanOrEqual(before - 1000);
      expect(e.deleteMarker).toBe(false);
    }
    await failure(
      A.replicationDiff(`nope-${RUN}`, {}, () => undefined),
      'NotFound',
    );
  });

  it('removes a target; deleting the replication config removes targets too', async () => {
    const client = rootS3(a);
    await client.send(new DeleteBucketReplicationCommand({ Bucket: bucket }));
    client.destroy();
    expect(await A.listRemoteTargets(bucket)).toEqual([]);
    const again = await A.setRemoteTarget(bucket, spec());
    expect(await A.removeRemoteTarget(bucket, again)).toBe(true);
    expect(await A.removeRemoteTarget(bucket, again)).toBe(false);
    expect(await A.listRemoteTargets(bucket)).toEqual([]);
  });
});

describe('site replication (read only)', () => {
  it('reports it disabled on a lone server', async () => {
    expect(await A.siteReplicationInfo()).toMatchObject({ enabled: false, sites: [] });
    expect((await A.siteReplicationStatus()).enabled).toBe(false);
  });

  it('reports both sites once mc has joined two servers', async () => {
    const [c, d] = await Promise.all([throwaway('sr1'), throwaway('sr2')]);
    const host = (s: MinioServer) =>
      `http://${s.accessKey}:${s.secretKey}@${s.endpoint.replace('http://', '')}`;
    const mcDir = mkdtempSync(join(tmpdir(), 'sitesync-mc-'));
    try {
      await run(tool('mc'), ['admin', 'replicate', 'add', 'sr1', 'sr2'], {
        env: { ...process.env, MC_CONFIG_DIR: mcDir, MC_HOST_sr1: host(c), MC_HOST_sr2: host(d) },
      });
    } finally {
      rmSync(mcDir, { recursive: true, force: true });
    }
    const C = admin(c);
    const [infoC, infoD] = await Promise.all([C.serverInfo(), admin(d).serverInfo()]);
    const info = await C.siteReplicationInfo();
    expect(info).toMatchObject({
      enabled: true,
      name: 'sr1',
      serviceAccountAccessKey: 'site-replicator-0',
    });
    expect(info.sites.map((s) => s.deploymentID).sort()).toEqual(
      [infoC.deploymentID, infoD.deploymentID].sort(),
    );
    const status = await C.siteReplicationStatus({ users: true, policies: true });
    expect(status.enabled).toBe(true);
    expect(Object.keys(status.sites).sort()).toEqual(
      [infoC.deploymentID, infoD.deploymentID].sort(),
    );
    expect(status.statsSummary[infoC.deploymentID]?.['TotalIAMPoliciesCount']).toBeGreaterThan(0);
    expect(
      (await C.siteReplicationStatus({ entity: { type: 'policy', name: 'readwrite' } })).enabled,
    ).toBe(true);
  });
});

describe('credentials', () => {
  it('works with temporary credentials (session token signed, response decrypted with the temporary secret)', async () => {
    const user = `sts-${RUN}`;
    const userSecret = secret('sts-user');
    await A.addUser(user, userSecret);
    await A.setPolicies({ user }, ['consoleAdmin']);
    const body = 'Action=AssumeRole&Version=2011-06-15&DurationSeconds=900';
    const url = new URL(a.endpoint);
    const signer = new SignatureV4({
      credentials: { accessKeyId: user, secretAccessKey: userSecret },
      region: 'us-east-1',
      service: 'sts',
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      path: '/',
      query: {},
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    const headers = Object.fromEntries(
      Object.entries(signed.headers).filter(([k]) => k !== 'host'),
    );
    const res = await undiciFetch(`${a.endpoint}/`, { method: 'POST', headers, body });
    const xml = await res.text();
    expect(res.status).toBe(200);
    const pick = (tag: string): string =>
      new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1] ?? '';
    const sts = {
      accessKey: pick('AccessKeyId'),
      secretKey: pick('SecretAccessKey'),
      sessionToken: pick('SessionToken'),
    };
    SECRETS.push(sts.secretKey, sts.sessionToken);
    const stsServer = {
      name: a.name,
      endpoint: a.endpoint,
      accessKey: sts.accessKey,
      secretKey: sts.secretKey,
    };
    const client = admin(stsServer, { sessionToken: sts.sessionToken });
    expect(Object.keys(await client.listUsers())).toContain(user);
    const bad = admin(stsServer, { sessionToken: `${sts.sessionToken}x` });
    await failure(bad.serverInfo(), 'AuthFailed');
  });

  it('maps a wrong secret key and an unknown access key to AuthFailed', async () => {
    const wrong = admin({ ...a, secretKey: secret('wrong') });
    const e1 = await failure(wrong.serverInfo(), 'AuthFailed');
    expect(e1.code).toBe('SignatureDoesNotMatch');
    await failure(wrong.listUsers(), 'AuthFailed');
    await failure(wrong.addUser(`x-${RUN}`, secret('never-added')), 'AuthFailed');
    const unknown = admin({ ...a, accessKey: `nobody-${RUN}` });
    expect((await failure(unknown.serverInfo(), 'AuthFailed')).code).toBe('InvalidAccessKeyId');
  });

  it('maps a user without admin rights to AuthFailed', async () => {
    const user = `plain-${RUN}`;
    const userSecret = secret('plain');
    await A.addUser(user, userSecret);
    const plain = admin({
      name: a.name,
      endpoint: a.endpoint,
      accessKey: user,
      secretKey: userSecret,
    });
    expect((await failure(plain.listUsers(), 'AuthFailed')).code).toBe('AccessDenied');
  });
});

describe('transport failures', () => {
  it('answers 426 for a request shape no admin route matches → Unsupported', async () => {
    const t = new AdminTransport({
      site: a.name,
      endpoint: a.endpoint,
      accessKey: a.accessKey,
      secretKey: a.secretKey,
      timeoutMs: 5000,
    });
    try {
      const e = await failure(
        t.send({
          op: 'listRemoteTargets',
          method: 'GET',
          path: '/minio/admin/v3/list-remote-targets',
          query: { bucket: 'x' },
        }),
        'Unsupported',
      );
      expect(e.status).toBe(426);
      expect(e.message).toMatch(/no admin API route matched/);
    } finally {
      await t.close();
    }
  });

  it('reports a stopped server as Unreachable, naming the endpoint; retries reads once, never writes', async () => {
    const dead = await throwaway('dead');
    await dispose(`adm-${RUN}-dead`);
    const seen: string[] = [];
    const client = admin(dead, { onCall: (op) => seen.push(op) });
    const e = await failure(client.serverInfo(), 'Unreachable');
    expect(e.message).toContain(dead.endpoint);
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(seen).toEqual(['serverInfo', 'serverInfo']);
    await failure(client.setUserStatus('x', 'enabled'), 'Unreachable');
    await failure(client.addUser('x', secret('unreachable')), 'Unreachable');
    expect(seen.slice(2)).toEqual(['setUserStatus', 'addUser']);
  });

  it('reports garbage as Invalid "malformed response", without echoing it', async () => {
    const garbage = 'GARBAGE-BODY <html>definitely not json';
    const fake = await fakeServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(garbage);
    });
    try {
      const client = admin({
        name: 'garbage',
        endpoint: fake.url,
        accessKey: 'k',
        secretKey: secret('garbage'),
      });
      for (const p of [
        client.serverInfo(),
        client.listUsers(),
        client.exportIAM(),
        client.listGroups(),
      ]) {
        const e = await failure(p, 'Invalid');
        expect(e.message).toMatch(
          /^garbage: \w+: malformed response from GET \/minio\/admin\/v3\//,
        );
        expect(e.message).not.toContain('GARBAGE');
      }
    } finally {
      await closeServer(fake.server);
    }
  });

  it('maps error statuses without a parsable body, and retries a throttled read once', async () => {
    let status = 500;
    const fake = await fakeServer((_req, res) => {
      res.statusCode = status;
      if (status === 503)
        res.end('{"Code":"SlowDown","Message":"Please reduce your request rate."}');
      else if (status === 426)
        res.end(
          '{"Code":"XMinioAdminVersionMismatch","Message":"This is not the API you are looking for"}',
        );
      else res.end('oops, no error body');
    });
    try {
      const client = admin({
        name: 'errors',
        endpoint: fake.url,
        accessKey: 'k',
        secretKey: secret('errors'),
      });
      const e500 = await failure(client.serverInfo(), 'Internal');
      expect(e500.message).toMatch(/HTTP 500 without an error body/);
      status = 503;
      const before = fake.requests();
      const e503 = await failure(client.listGroups(), 'Throttled');
      expect(e503.code).toBe('SlowDown');
      expect(fake.requests() - before).toBe(2);
      status = 426;
      const e426 = await failure(client.importIAM(writeZip([])), 'Unsupported');
      expect(e426.status).toBe(426);
      expect(fake.requests() - before).toBe(4);
    } finally {
      await closeServer(fake.server);
    }
  });

  it('gives up on a server that never answers with Timeout after timeoutMs, without retrying', async () => {
    const fake = await fakeServer(() => {
      // Accept, read, never answer.
    });
    try {
      const client = admin(
        { name: 'silent', endpoint: fake.url, accessKey: 'k', secretKey: secret('silent') },
        { timeoutMs: 1000 },
      );
      const t0 = performance.now();
      const e = await failure(client.serverInfo(), 'Timeout');
      const elapsed = performance.now() - t0;
      // Not before the deadline; that it did not retry is the request count below.
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(e.message).toContain(fake.url);
      expect(e.message).toMatch(/within 1000 ms/);
      expect(fake.requests()).toBe(1);
    } finally {
      await closeServer(fake.server);
    }
  });

  it('times out on a body that stalls after the headers', async () => {
    const fake = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/zip' });
      res.write('PK');
    });
    try {
      const client = admin(
        { name: 'stall', endpoint: fake.url, accessKey: 'k', secretKey: secret('stall') },
        { timeoutMs: 1000, bulkTimeoutMs: 1000 },
      );
      const t0 = performance.now();
      await failure(client.exportIAM(), 'Timeout');
      expect(performance.now() - t0).toBeLessThan(2500);
    } finally {
      await closeServer(fake.server);
    }
  });
});

describe('https', () => {
  const name = `adm-${RUN}-tls`;
  let endpoint = '';
  const tlsSecret = secret('tls-root');
  let ca = '';

  beforeAll(async () => {
    const pki = join(STACK_DIR, 'pki');
    const certs = join(STACK_DIR, `minio-${name}-certs`);
    mkdirSync(certs, { recursive: true });
    copyFileSync(join(pki, 'apiserver.crt'), join(certs, 'public.crt'));
    copyFileSync(join(pki, 'apiserver.key'), join(certs, 'private.key'));
    ca = readFileSync(join(pki, 'ca.crt'), 'utf8');
    const port = await freePort();
    endpoint = `https://127.0.0.1:${port}`;
    const data = join(STACK_DIR, `minio-${name}`);
    mkdirSync(data, { recursive: true });
    started.push(name);
    startProcess(STACK_DIR, {
      name: `minio-${name}`,
      command: tool('minio'),
      args: ['server', data, '--address', `127.0.0.1:${port}`, '--certs-dir', certs, '--quiet'],
      env: {
        MINIO_ROOT_USER: 'tls-admin',
        MINIO_ROOT_PASSWORD: tlsSecret,
        MINIO_BROWSER: 'off',
        MINIO_CI_CD: '1',
        MINIO_UPDATE: 'off',
      },
    });
    const probe = admin(
      { name: 'tls', endpoint, accessKey: 'tls-admin', secretKey: tlsSecret },
      { ca, timeoutMs: 2000 },
    );
    await waitFor('MinIO over TLS', async () => (await probe.serverInfo()).mode === 'online', {
      timeoutMs: 60_000,
    });
  });

  afterAll(() => {
    rmSync(join(STACK_DIR, `minio-${name}-certs`), { recursive: true, force: true });
  });

  it('verifies the server with the given CA, on an IP and on a host name', async () => {
    const creds = { name: 'tls', accessKey: 'tls-admin', secretKey: tlsSecret };
    expect(await admin({ ...creds, endpoint }, { ca }).listUsers()).toEqual({});
    const byName = endpoint.replace('127.0.0.1', 'localhost');
    expect((await admin({ ...creds, endpoint: byName }, { ca }).serverInfo()).mode).toBe('online');
  });

  it('refuses an unverifiable certificate, unless told to skip verification', async () => {
    const creds = { name: 'tls', accessKey: 'tls-admin', secretKey: tlsSecret, endpoint };
    const e = await failure(admin(creds).serverInfo(), 'Unreachable');
    expect(e.message).toContain(endpoint);
    expect(e.message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|CERT/);
    expect((await admin(creds, { insecureSkipVerify: true }).serverInfo()).mode).toBe('online');
  });
});

// Last before the scan: it restarts server A with OpenID configured.
describe('server configuration', () => {
  let oidc: Awaited<ReturnType<typeof fakeServer>>;

  beforeAll(async () => {
    oidc = await fakeServer((req, res) => {
      const base = `http://${req.headers.host ?? ''}`;
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') {
        res.end(
          JSON.stringify({
            issuer: base,
            authorization_endpoint: `${base}/auth`,
            token_endpoint: `${base}/token`,
            jwks_uri: `${base}/jwks`,
            userinfo_endpoint: `${base}/userinfo`,
            response_types_supported: ['code'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
          }),
        );
      } else if (req.url === '/jwks') res.end('{"keys":[]}');
      else {
        res.statusCode = 404;
        res.end();
      }
    });
  });

  afterAll(async () => {
    await closeServer(oidc.server);
  });

  it('reads identity_openid and identity_ldap (encrypted responses)', async () => {
    const openid = await A.getConfigKV('identity_openid');
    expect(openid.subsystems).toMatchObject([{ subsystem: 'identity_openid', target: '_' }]);
    expect(Object.keys(openid.subsystems[0]?.values ?? {})).toEqual(
      expect.arrayContaining(['config_url', 'client_id', 'claim_name', 'scopes']),
    );
    const ldap = await A.getConfigKV('identity_ldap');
    expect(ldap.subsystems[0]?.values['server_addr']).toBe('');
  });

  it('sets and resets a dynamic subsystem without a restart', async () => {
    expect(await A.setConfigKV('api requests_max=1234')).toEqual({ restartRequired: false });
    expect((await A.getConfigKV('api')).subsystems[0]?.values['requests_max']).toBe('1234');
    expect(await A.deleteConfigKV('api')).toEqual({ restartRequired: false });
    expect((await A.getConfigKV('api')).subsystems[0]?.values['requests_max']).toBe('0');
  });

  it('sets identity_openid, which needs a restart; its secret never comes back', async () => {
    const clientSecret = secret('oidc');
    const configURL = `${oidc.url}/.well-known/openid-configuration`;
    const result = await A.setConfigKV(
      `identity_openid config_url="${configURL}" client_id=minio-app client_secret=${clientSecret} scopes="openid,email"`,
    );
    expect(result).toEqual({ restartRequired: true });
    // get-config-kv reports the running configuration: unchanged until the restart.
    expect((await A.getConfigKV('identity_openid')).subsystems[0]?.values['config_url']).toBe('');
    const full = `adm-${RUN}-a`;
    const spec = readProcessSpec(STACK_DIR, `minio-${full}`);
    await stopProcess(STACK_DIR, `minio-${full}`);
    startProcess(STACK_DIR, spec);
    await waitMinioReady(a.endpoint);
    const after = await A.getConfigKV('identity_openid');
    expect(after.subsystems[0]?.values).toMatchObject({
      config_url: configURL,
      client_id: 'minio-app',
    });
    expect(after.text).not.toContain(clientSecret);
    expect(await A.deleteConfigKV('identity_openid')).toEqual({ restartRequired: true });
  });

  it('reports a configuration the server cannot validate as Invalid, without its secrets', async () => {
    const password = secret('ldap');
    const e = await failure(
      A.setConfigKV(
        `identity_ldap server_addr=127.0.0.1:1 lookup_bind_dn="cn=admin" lookup_bind_password=${password}`,
      ),
      'Invalid',
    );
    expect(e.message).toMatch(/LDAP/);
  });
});

describe('error messages', () => {
  it('never contain a secret key, session token or password used in this file', () => {
    expect(ERRORS.length).toBeGreaterThan(25);
    expect(SECRETS.length).toBeGreaterThan(20);
    for (const e of ERRORS) {
      const texts = [e.message, e.stack ?? ''];
      for (let c: unknown = e.cause; c instanceof Error; c = c.cause) texts.push(c.message);
      for (const text of texts) for (const s of SECRETS) expect(text).not.toContain(s);
      expect(e.message.startsWith(`${e.site}: ${e.op}: `)).toBe(true);
    }
  });
});
