/**
 * BucketReplication on an `s3` source (the stack's moto, which checks signatures and IAM as AWS
 * does) end to end: the controller runs in this process, set up as main.ts sets it up (a Manager
 * and `setupBucketReplication`), against the real apiserver. What moto stores is read back from
 * moto itself. moto stores a replication configuration and never replicates: these tests check
 * the document, its headers, its clean-up and what status says, not object copies.
 */
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { BucketReplication } from '../../src/api/bucket-replication.js';
import { BREP_RESOURCE } from '../../src/api/names.js';
import {
  S3_READ_BACK_REWRITES,
  parseCurrent,
  s3ReadBackForm,
  sameDocument,
} from '../../src/controllers/bucket-replication/document.js';
import { setupBucketReplication } from '../../src/controllers/bucket-replication/setup.js';
import { parseReplicationXML } from '../../src/replication/xml-codec.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { type KubeClient, SECRETS } from '../../src/runtime/kube-client.js';
import { Manager } from '../../src/runtime/manager.js';
import { newSiteClient } from '../../src/sites/new-site-client.js';
import type { S3SiteClient } from '../../src/sites/s3/s3-site-client.js';
import type { SiteConnection } from '../../src/sites/site-client.js';
import { eventually } from '../support/eventually.js';
import { applyCrds, createNamespace, kubeClient, stack } from '../support/kube.js';
import { s3Driver } from '../support/moto.js';

let client: KubeClient;
let ns: string;
let moto: S3SiteClient;
const stop = new AbortController();
let running: Promise<void> | undefined;
/** Every client the controller made, by site name; every call it sent, as `site op`. */
const connections = new Map<string, number>();
const calls: string[] = [];
const suffix = Math.random().toString(36).slice(2, 8);
const b = (name: string) => `${name}-${suffix}`;

function countingNewSite(conn: SiteConnection) {
  connections.set(conn.name, (connections.get(conn.name) ?? 0) + 1);
  return newSiteClient({ ...conn, onCall: (op) => calls.push(`${conn.name} ${op}`) });
}

async function secret(name: string, accessKey: string, secretKey: string) {
  await client.create(SECRETS, ns, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    stringData: { accessKey, secretKey },
  });
}

/**
 * A moto user allowed everything but PutBucketReplication (moto enforces IAM policies). moto
 * 5.2.5 authorizes `PUT /bucket?replication` as s3:CreateBucket (its ACTION_MAP has no entry for
 * it), where AWS checks s3:PutReplicationConfiguration: the policy denies both.
 */
async function userDeniedReplication(): Promise<{ accessKey: string; secretKey: string }> {
  const m = stack().moto;
  const iam = new IAMClient({
    endpoint: m.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: m.accessKey, secretAccessKey: m.secretKey },
  });
  try {
    const UserName = b('no-replication');
    await iam.send(new CreateUserCommand({ UserName }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName,
        PolicyName: 'all-but-replication',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: '*', Resource: '*' },
            {
              Effect: 'Deny',
              Action: ['s3:PutReplicationConfiguration', 's3:CreateBucket'],
              Resource: '*',
            },
          ],
        }),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName }))).AccessKey;
    return { accessKey: key?.AccessKeyId ?? '', secretKey: key?.SecretAccessKey ?? '' };
  } finally {
    iam.destroy();
  }
}

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('brep-s3');
  const m = stack().moto;
  moto = s3Driver(m, { name: 'check' });
  await secret('moto-credentials', m.accessKey, m.secretKey);
  await secret('moto-wrong', m.accessKey, 'not-the-secret-key');
  const limited = await userDeniedReplication();
  await secret('moto-limited', limited.accessKey, limited.secretKey);
  const manager = new Manager({
    client,
    namespace: ns,
    controllers: { workers: 2, resyncMs: 0, backoff: { baseMs: 200, maxMs: 3000 } },
  });
  setupBucketReplication(manager, {
    newSite: countingNewSite,
    siteTimeoutMs: 5000,
    syncIntervalMs: 1000,
    // moto serves plain http (the stack's MinIO sites are https): allowed here, with a warning.
    allowInsecureSites: true,
  });
  running = manager.run(stop.signal).then(() => undefined);
}, 120_000);

afterAll(async () => {
  const list = await client.list<BucketReplication>(BREP_RESOURCE, ns).catch(() => undefined);
  await Promise.all(
    (list?.items ?? []).map((x) => client.delete(BREP_RESOURCE, ns, x.metadata.name)),
  );
  await eventually(
    async () => {
      expect((await client.list(BREP_RESOURCE, ns)).items).toHaveLength(0);
    },
    { timeoutMs: 30_000 },
  ).catch(() => undefined);
  stop.abort();
  await running;
  moto.close();
}, 120_000);

// ---------------------------------------------------------------------------------------------

const siteSpec = (name: string, credentials = 'moto-credentials') => ({
  name,
  endpoint: stack().moto.endpoint,
  flavor: 's3',
  credentialsSecret: { name: credentials },
});

function brep(name: string, spec: object): BucketReplication {
  return {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'BucketReplication',
    metadata: { name, namespace: ns },
    spec: spec as NonNullable<BucketReplication['spec']>,
  };
}

const getBrep = (name: string) => client.get<BucketReplication>(BREP_RESOURCE, ns, name);

const condition = async (name: string, type: string) =>
  findCondition((await getBrep(name)).status?.conditions, type);

/** The AWS reference's sample (RTC variant), with two distinct tags and every other element. */
const DOCUMENT = `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Role>arn:aws:iam::123456789012:role/CrossRegionReplicationRoleForS3</Role>
  <Rule>
    <ID>rule1</ID><Status>Enabled</Status><Priority>1</Priority>
    <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
    <Filter><And><Prefix>TaxDocs</Prefix>
      <Tag><Key>key1</Key><Value>value1</Value></Tag>
      <Tag><Key>key2</Key><Value>value2</Value></Tag>
    </And></Filter>
    <ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication>
    <Destination>
      <Bucket>arn:aws:s3:::exampletargetbucket</Bucket>
      <StorageClass>STANDARD_IA</StorageClass>
      <Metrics><Status>Enabled</Status><EventThreshold><Minutes>15</Minutes></EventThreshold></Metrics>
      <ReplicationTime><Status>Enabled</Status><Time><Minutes>15</Minutes></Time></ReplicationTime>
    </Destination>
  </Rule>
  <Rule>
    <ID>rule2</ID><Status>Disabled</Status><Priority>2</Priority>
    <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
    <Filter><Prefix>archive/</Prefix></Filter>
    <Destination><Bucket>arn:aws:s3:::exampletargetbucket</Bucket></Destination>
  </Rule>
</ReplicationConfiguration>`;

describe('BucketReplication on an s3 source (moto)', () => {
  it('puts the document moto then stores, equal to the spec within moto’s listed rewrites, once; the finalizer removes it', async () => {
    const bucket = b('taxes');
    await moto.createBucket(bucket);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('taxes', {
        source: { bucket, siteSpec: siteSpec('aws'), expectedBucketOwner: '123456789012' },
        objectLockToken: 'token-1',
        configurationXML: DOCUMENT,
      }),
    );
    const ready = await eventually(
      async () => {
        const r = await getBrep('taxes');
        const c = findCondition(r.status?.conditions, 'Ready');
        expect({ status: c?.status, reason: c?.reason }).toEqual({
          status: 'True',
          reason: 'Applied',
        });
        return { obj: r, message: c?.message ?? '' };
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    // The controller turned versioning on (replication requires it).
    expect(await moto.getVersioning(bucket)).toBe('Enabled');

    const spec = parseReplicationXML(DOCUMENT);
    const stored = parseCurrent(await moto.getReplicationConfigXML(bucket));
    expect(sameDocument(stored, spec, 's3')).toBe(false); // moto did rewrite it...
    const { config, rewrites } = s3ReadBackForm(spec, stored);
    expect(stored).toEqual(config); // ...with the listed rewrites, and nothing else.
    expect(rewrites).toEqual(['existingObjectReplication', 'filter']);
    // Status says what cannot be verified on this site, and where progress comes from.
    for (const k of rewrites) expect(ready.message).toContain(S3_READ_BACK_REWRITES[k]);
    expect(ready.obj.status?.sourceSite).toBe('aws');
    // Allowed (ALLOW_INSECURE_SITES), never silently: a warning condition naming the field.
    expect(findCondition(ready.obj.status?.conditions, 'InsecureTransport')).toMatchObject({
      status: 'True',
      reason: 'InsecureEndpoint',
    });
    expect(findCondition(ready.obj.status?.conditions, 'InsecureTransport')?.message).toMatch(
      /^spec\.source\.siteSpec\.endpoint: http:\/\/127\.0\.0\.1:\d+ is not https/,
    );
    expect(ready.obj.status?.appliedDigest).toMatch(/\S+/);
    expect(ready.obj.status?.progressMeasured).toContain('x-amz-replication-status');
    expect(ready.obj.status?.progressMeasured).toContain('no object version');
    expect(ready.obj.status?.rules?.map((r) => [r.id, r.destination])).toEqual([
      ['rule1', 'arn:aws:s3:::exampletargetbucket'],
      ['rule2', 'arn:aws:s3:::exampletargetbucket'],
    ]);

    // Later passes read the document back and find nothing to change: one PUT in all.
    const reads = () => calls.filter((c) => c === 'aws s3:GetBucketReplication').length;
    const seen = reads();
    await eventually(
      () => {
        expect(reads()).toBeGreaterThanOrEqual(seen + 3);
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    expect(calls.filter((c) => c === 'aws s3:PutBucketReplication')).toHaveLength(1);

    await client.delete(BREP_RESOURCE, ns, 'taxes');
    await eventually(
      async () => {
        expect(
          (await client.list<BucketReplication>(BREP_RESOURCE, ns)).items.map(
            (x) => x.metadata.name,
          ),
        ).not.toContain('taxes');
      },
      { timeoutMs: 30_000 },
    );
    expect(await moto.getReplicationConfigXML(bucket)).toBeUndefined();
    expect((await moto.listBuckets()).map((x) => x.name)).toContain(bucket);
  });

  it('refuses a document AWS would refuse before any call to the site (InvalidSpec)', async () => {
    const bucket = b('invalid');
    await moto.createBucket(bucket);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('invalid', {
        source: { bucket, siteSpec: siteSpec('aws-invalid') },
        role: 'arn:aws:iam::123456789012:role/replication',
        rules: [
          {
            id: 'a',
            priority: 1,
            filter: { prefix: 'a/' },
            deleteMarkerReplication: { status: 'Disabled' },
            destination: { bucket: 'one' },
          },
          {
            id: 'b',
            priority: 1,
            filter: { prefix: 'b/' },
            deleteMarkerReplication: { status: 'Disabled' },
            // A MinIO extension, which S3 refuses.
            deleteReplication: { status: 'Enabled' },
            destination: { bucket: 'two', storageClass: 'GOLD' },
          },
        ],
      }),
    );
    const stalled = await eventually(
      async () => {
        const c = await condition('invalid', 'Stalled');
        expect({ status: c?.status, reason: c?.reason }).toEqual({
          status: 'True',
          reason: 'InvalidSpec',
        });
        return c?.message ?? '';
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    expect(stalled).toContain('spec.rules[1].priority: rule "b": priority 1 is already used');
    expect(stalled).toContain(
      'spec.rules[1].deleteReplication: rule "b": deleteReplication is a MinIO extension that S3 does not take',
    );
    expect(stalled).toContain('spec.rules[1].destination.storageClass: rule "b"');
    expect(stalled).toContain('spec.rules[1].destination: rule "b": all rules must replicate');
    expect(connections.get('aws-invalid')).toBeUndefined();
    expect(calls.filter((c) => c.startsWith('aws-invalid '))).toEqual([]);
    expect(await moto.getReplicationConfigXML(bucket)).toBeUndefined();
    expect(await moto.getVersioning(bucket)).toBe('Unversioned');
  });

  it('refuses a managed destination site on an s3 source (it cannot replicate to other sites)', async () => {
    const bucket = b('managed');
    await moto.createBucket(bucket);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('managed', {
        source: { bucket, siteSpec: siteSpec('aws-managed') },
        role: 'arn:aws:iam::123456789012:role/replication',
        rules: [
          {
            id: 'to-site',
            priority: 1,
            filter: { prefix: '' },
            deleteMarkerReplication: { status: 'Disabled' },
            destination: { site: 'elsewhere' },
          },
        ],
      }),
    );
    const message = await eventually(
      async () => {
        const c = await condition('managed', 'Stalled');
        expect(c?.reason).toBe('InvalidSpec');
        return c?.message ?? '';
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    expect(message).toContain('spec.rules[0].destination.site');
    expect(await moto.getReplicationConfigXML(bucket)).toBeUndefined();
  });

  it('surfaces the S3 error code and message of a refused PutBucketReplication, and of bad credentials', async () => {
    const bucket = b('denied');
    await moto.createBucket(bucket);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('denied', {
        source: { bucket, siteSpec: siteSpec('aws-limited', 'moto-limited') },
        configurationXML: DOCUMENT,
      }),
    );
    const denied = await eventually(
      async () => {
        const c = await condition('denied', 'Degraded');
        expect({ status: c?.status, reason: c?.reason }).toEqual({
          status: 'True',
          reason: 'SiteAuthFailed',
        });
        return c?.message ?? '';
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    expect(denied).toContain('PutBucketReplication on aws-limited/');
    expect(denied).toContain('AccessDenied (HTTP 403)');
    expect(await moto.getReplicationConfigXML(bucket)).toBeUndefined();

    const other = b('wrongkey');
    await moto.createBucket(other);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('wrongkey', {
        source: { bucket: other, siteSpec: siteSpec('aws-wrong', 'moto-wrong') },
        configurationXML: DOCUMENT,
      }),
    );
    const wrong = await eventually(
      async () => {
        const c = await condition('wrongkey', 'Degraded');
        expect(c?.reason).toBe('SiteAuthFailed');
        return c?.message ?? '';
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    expect(wrong).toContain('SignatureDoesNotMatch (HTTP 403)');
    expect(wrong).not.toContain('not-the-secret-key');
  });
});
