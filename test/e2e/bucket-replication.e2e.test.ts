/**
 * BucketReplication end to end: the controller runs in this process, set up as main.ts sets it
 * up (a Manager and `setupBucketReplication`), against the real apiserver and throwaway MinIO
 * servers. What
 * replicated is checked on the destination servers themselves; status is checked against them.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { BucketReplication } from '../../src/api/bucket-replication.js';
import { BREP_RESOURCE, SRG_RESOURCE } from '../../src/api/names.js';
import {
  TARGET_CREDENTIALS_ANNOTATION,
  accountNames,
} from '../../src/controllers/bucket-replication/account.js';
import { OWNED_TARGETS_ANNOTATION } from '../../src/controllers/bucket-replication/apply.js';
import { setupBucketReplication } from '../../src/controllers/bucket-replication/setup.js';
import { parseReplicationXML } from '../../src/replication/xml-codec.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { EVENTS, type KubeClient, SECRETS, isNotFound } from '../../src/runtime/kube-client.js';
import { Manager } from '../../src/runtime/manager.js';
import type { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';
import { newSiteClient } from '../../src/sites/new-site-client.js';
import { eventually } from '../support/eventually.js';
import { applyCrds, createNamespace, kubeClient } from '../support/kube.js';
import { minioDriver, startThrowawayMinio, type ThrowawayMinio } from '../support/minio.js';
import { s3For } from '../support/seed.js';
import { ensureCaSecret, siteSpec } from '../support/site-spec.js';

const GROUP = 'grp';
const SITES = ['src', 'd1', 'd2'] as const;
type SiteName = (typeof SITES)[number];

let client: KubeClient;
let ns: string;
const servers = new Map<SiteName, ThrowawayMinio>();
const drivers = new Map<SiteName, MinioSiteClient>();
const s3s = new Map<SiteName, S3Client>();
const stop = new AbortController();
let running: Promise<void> | undefined;

let clockAheadMs = 0;

const server = (s: SiteName) => servers.get(s)!;
const driver = (s: SiteName) => drivers.get(s)!;
const s3 = (s: SiteName) => s3s.get(s)!;

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('brep');
  await ensureCaSecret(ns, client);
  const started = await Promise.all(SITES.map((s) => startThrowawayMinio(`brep-${s}`)));
  SITES.forEach((s, i) => {
    const m = started[i]!;
    servers.set(s, m);
    drivers.set(s, minioDriver(m, { name: `check-${s}` }));
    s3s.set(s, s3For(m));
  });
  for (const s of SITES) {
    await client.create(SECRETS, ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${s}-credentials` },
      stringData: { accessKey: server(s).accessKey, secretKey: server(s).secretKey },
    });
  }
  // Only its spec is read: no SiteReplicationGroup controller runs here (paused to be sure).
  await client.create(SRG_RESOURCE, ns, {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name: GROUP },
    spec: {
      syncInterval: '2s',
      paused: true,
      sites: SITES.map((s) => siteSpec(s, server(s))),
    },
  });
  const manager = new Manager({
    client,
    namespace: ns,
    controllers: { workers: 4, resyncMs: 0, backoff: { baseMs: 200, maxMs: 3000 } },
  });
  setupBucketReplication(manager, {
    newSite: newSiteClient,
    siteTimeoutMs: 5000,
    // The RTC test moves the controller's clock ahead rather than wait 15 minutes.
    now: () => new Date(Date.now() + clockAheadMs),
  });
  running = manager.run(stop.signal).then(() => undefined);
}, 120_000);

afterAll(async () => {
  // Let the finalizers run while the controller still does.
  const list = await client.list<BucketReplication>(BREP_RESOURCE, ns).catch(() => undefined);
  await Promise.all(
    (list?.items ?? []).map((b) => client.delete(BREP_RESOURCE, ns, b.metadata.name)),
  );
  await eventually(
    async () => {
      expect((await client.list(BREP_RESOURCE, ns)).items).toHaveLength(0);
    },
    { timeoutMs: 30_000 },
  ).catch(() => undefined);
  stop.abort();
  await running;
  for (const d of drivers.values()) d.close();
  for (const c of s3s.values()) c.destroy();
  await Promise.all([...servers.values()].map((s) => s.stop()));
}, 120_000);

// ---------------------------------------------------------------------------------------------
// Helpers

function brep(name: string, spec: object): BucketReplication {
  return {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'BucketReplication',
    metadata: { name, namespace: ns },
    spec: spec as NonNullable<BucketReplication['spec']>,
  };
}

const fromGroup = (bucket: string) => ({ bucket, groupRef: { name: GROUP }, site: 'src' });

/** One rule replicating the whole bucket (delete markers too) to `destination`. */
const wholeBucket = (id: string, destination: object) => ({
  id,
  priority: 1,
  filter: { prefix: '' },
  deleteMarkerReplication: { status: 'Enabled' },
  destination,
});

/** Creates a BucketReplication of `bucket` on the group's source site. */
const createFromGroup = (name: string, bucket: string, rules: object[]) =>
  client.create(BREP_RESOURCE, ns, brep(name, { source: fromGroup(bucket), rules }));

const getBrep = (name: string) => client.get<BucketReplication>(BREP_RESOURCE, ns, name);

async function waitReady(name: string, timeoutMs = 60_000): Promise<BucketReplication> {
  return eventually(
    async () => {
      const b = await getBrep(name);
      const ready = findCondition(b.status?.conditions, 'Ready');
      expect({
        status: ready?.status,
        reason: ready?.reason,
        message: ready?.message,
      }).toMatchObject({
        status: 'True',
      });
      expect(b.status?.observedGeneration).toBe(b.metadata.generation);
      return b;
    },
    { timeoutMs, intervalMs: 300 },
  );
}

async function makeBucket(site: SiteName, bucket: string, versioned = true): Promise<void> {
  await driver(site).createBucket(bucket);
  if (versioned) await driver(site).enableVersioning(bucket);
}

async function put(bucket: string, key: string, tags?: string): Promise<void> {
  await s3('src').send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `body of ${key}`,
      ...(tags === undefined ? {} : { Tagging: tags }),
    }),
  );
}

async function remove(bucket: string, key: string): Promise<void> {
  await s3('src').send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

const size = (key: string) => Buffer.byteLength(`body of ${key}`);

/** Every version a site holds: `key`, or `key (delete marker)`; sorted. */
async function held(site: SiteName, bucket: string): Promise<string[]> {
  try {
    const versions = await driver(site).listObjectVersions(bucket);
    return versions.map((v) => (v.deleteMarker ? `${v.key} (delete marker)` : v.key)).sort();
  } catch (e: unknown) {
    if ((e as { kind?: string }).kind === 'NotFound') return [];
    throw e;
  }
}

async function replicationStatus(bucket: string, key: string): Promise<string | undefined> {
  const r = await s3('src').send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return r.ReplicationStatus;
}

/** Until the objects are replicated and the source's queue is empty (status, not a sleep). */
async function settled(name: string, keysReplicated: readonly [string, string][]) {
  return eventually(
    async () => {
      for (const [bucket, key] of keysReplicated) {
        expect([key, await replicationStatus(bucket, key)]).toEqual([key, 'COMPLETED']);
      }
      const b = await getBrep(name);
      expect(b.status?.rules?.map((r) => r.pending)).toEqual(b.status?.rules?.map(() => 0));
      return b;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

const ruleStatus = (b: BucketReplication, id: string) => b.status?.rules?.find((r) => r.id === id);

// ---------------------------------------------------------------------------------------------

describe('BucketReplication on real MinIO servers', () => {
  it('replicates only objects matching a prefix + tag filter, beside the group rules, and cleans up only its own', async () => {
    const bucket = 'photos';
    await makeBucket('src', bucket);
    await makeBucket('d2', bucket);
    // What a SiteReplicationGroup would already hold on this bucket: a target and its rule.
    const groupArn = await driver('src').setRemoteTarget(bucket, {
      endpoint: server('d2').endpoint,
      targetBucket: bucket,
      accessKey: server('d2').accessKey,
      secretKey: server('d2').secretKey,
    });
    const groupRule = `<Rule><ID>sitesync-d2</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>never/</Prefix></Filter><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>${groupArn}</Bucket></Destination></Rule>`;
    await driver('src').putReplicationConfigXML(
      bucket,
      `<ReplicationConfiguration><Role></Role>${groupRule}</ReplicationConfiguration>`,
    );

    await client.create(
      BREP_RESOURCE,
      ns,
      brep('filtered', {
        source: fromGroup(bucket),
        rules: [
          {
            id: 'raw',
            priority: 1,
            filter: { and: { prefix: 'raw/', tags: [{ key: 'replicate', value: 'yes' }] } },
            deleteMarkerReplication: { status: 'Disabled' },
            destination: { site: 'd1' },
          },
        ],
      }),
    );
    const ready = await waitReady('filtered');
    expect(ready.status?.sourceSite).toBe('src');
    expect(ready.metadata.finalizers).toContain('sitesync.io/finalizer');

    // The destination bucket was created with versioning; a remote target points at it.
    expect(await driver('d1').getVersioning(bucket)).toBe('Enabled');
    const targets = await driver('src').listRemoteTargets(bucket);
    const mine = targets.find((t) => t.endpoint === server('d1').endpoint);
    expect(mine).toBeDefined();
    expect(JSON.parse(ready.metadata.annotations?.[OWNED_TARGETS_ANNOTATION] ?? '[]')).toEqual([
      mine!.arn,
    ]);
    // Ours beside the group's rule, which moved above ours because the priorities collided.
    const applied = parseReplicationXML((await driver('src').getReplicationConfigXML(bucket))!, {
      unknownElements: 'ignore',
    });
    expect(applied.rules.map((r) => [r.id, r.priority, r.destination.bucket])).toEqual([
      ['raw', 1, mine!.arn],
      ['sitesync-d2', 2, groupArn],
    ]);

    await put(bucket, 'raw/match.jpg', 'replicate=yes');
    await put(bucket, 'raw/untagged.jpg');
    await put(bucket, 'raw/other-tag.jpg', 'replicate=no');
    await put(bucket, 'elsewhere/match.jpg', 'replicate=yes');
    await settled('filtered', [[bucket, 'raw/match.jpg']]);
    // MinIO decides at write time: objects the rules do not select are never queued.
    for (const key of ['raw/untagged.jpg', 'raw/other-tag.jpg', 'elsewhere/match.jpg']) {
      expect([key, await replicationStatus(bucket, key)]).toEqual([key, undefined]);
    }
    expect(await held('d1', bucket)).toEqual(['raw/match.jpg']);
    // The status follows within a pass or two (the group's syncInterval is 2s).
    await eventually(
      async () => {
        expect(ruleStatus(await getBrep('filtered'), 'raw')).toEqual({
          id: 'raw',
          destination: `d1/${bucket}`,
          pending: 0,
          replicated: 1,
          failed: 0,
          bytes: size('raw/match.jpg'),
          lagSeconds: 0,
        });
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const events = await client.list<{ reason: string; involvedObject: { name: string } }>(
      EVENTS,
      ns,
    );
    expect(
      events.items.some((e) => e.involvedObject.name === 'filtered' && e.reason === 'Applied'),
    ).toBe(true);

    // Deleting the resource removes its rule and its target; the group's stay; data stays.
    await client.delete(BREP_RESOURCE, ns, 'filtered');
    await eventually(
      async () => {
        await expect(getBrep('filtered')).rejects.toHaveProperty('status', 404);
      },
      { timeoutMs: 30_000 },
    );
    const left = parseReplicationXML((await driver('src').getReplicationConfigXML(bucket))!, {
      unknownElements: 'ignore',
    });
    expect(left.rules.map((r) => r.id)).toEqual(['sitesync-d2']);
    expect((await driver('src').listRemoteTargets(bucket)).map((t) => t.arn)).toEqual([groupArn]);
    expect(await held('d1', bucket)).toEqual(['raw/match.jpg']);
  });

  it('replicates to a managed site with a least-privilege account of its own, never the root keys; rotates and removes it', async () => {
    const bucket = 'least';
    await makeBucket('src', bucket);
    await createFromGroup('least', bucket, [wholeBucket('all', { site: 'd1' })]);
    const ready = await waitReady('least');
    const account = accountNames(ready.metadata.uid ?? '');
    await put(bucket, 'one.txt');
    await settled('least', [[bucket, 'one.txt']]);
    expect(await held('d1', bucket)).toEqual(['one.txt']);

    // The source's bucket metadata export: no remote target holds a destination's root key.
    const roots = SITES.filter((s) => s !== 'src').map((s) => server(s).accessKey);
    const exported = await driver('src').snapshot();
    const targets = [...exported.buckets.values()]
      .filter((b) => b.name !== 'photos') // that test made a group-like target itself, by hand
      .flatMap((b) => b.targets.map((t) => ({ bucket: b.name, accessKey: t.accessKey })));
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((t) => roots.includes(t.accessKey ?? ''))).toEqual([]);
    expect(exported.buckets.get(bucket)?.targets.map((t) => t.accessKey)).toEqual([account.user]);

    // On d1 the account has exactly the replication policy: it cannot create or delete buckets.
    const d1 = await driver('d1').snapshot();
    expect(d1.iam.userPolicies.get(account.user)?.policies).toEqual([account.policy]);
    const secret = await client.get<{ data?: Record<string, string> }>(
      SECRETS,
      ns,
      'least-sitesync-replicator',
    );
    const key = Buffer.from(secret.data?.['d1'] ?? '', 'base64').toString();
    expect(d1.iam.users.get(account.user)?.secretKey).toBe(key);
    const asAccount = s3For(server('d1'), { accessKey: account.user, secretKey: key });
    try {
      await expect(asAccount.send(new DeleteBucketCommand({ Bucket: bucket }))).rejects.toThrow(
        /Access Denied/,
      );
      await expect(
        asAccount.send(new CreateBucketCommand({ Bucket: 'not-allowed' })),
      ).rejects.toThrow(/Access Denied/);
    } finally {
      asAccount.destroy();
    }

    // Rotation: the entry removed from the Secret, a new secret reaches d1 and the target.
    await client.patch(
      SECRETS,
      { namespace: ns, name: 'least-sitesync-replicator' },
      { data: { d1: null } },
    );
    const rotated = await eventually(
      async () => {
        const s = await client.get<{ data?: Record<string, string> }>(
          SECRETS,
          ns,
          'least-sitesync-replicator',
        );
        const k = Buffer.from(s.data?.['d1'] ?? '', 'base64').toString();
        expect(k).not.toBe('');
        expect(k).not.toBe(key);
        expect((await driver('d1').snapshot()).iam.users.get(account.user)?.secretKey).toBe(k);
        const b = await getBrep('least');
        expect(b.metadata.annotations?.[TARGET_CREDENTIALS_ANNOTATION]).not.toBe(
          ready.metadata.annotations?.[TARGET_CREDENTIALS_ANNOTATION],
        );
        return k;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(rotated).not.toBe(key);
    await put(bucket, 'two.txt');
    await settled('least', [[bucket, 'two.txt']]);
    expect(await held('d1', bucket)).toEqual(['one.txt', 'two.txt']);

    // Deleted: its target and its account go; the objects and the bucket stay.
    await client.delete(BREP_RESOURCE, ns, 'least');
    await eventually(
      async () => {
        const names = (await client.list<BucketReplication>(BREP_RESOURCE, ns)).items.map(
          (b) => b.metadata.name,
        );
        expect(names).not.toContain('least');
      },
      { timeoutMs: 60_000 },
    );
    const after = await driver('d1').snapshot();
    expect(after.iam.users.has(account.user)).toBe(false);
    expect(after.iam.policies.has(account.policy)).toBe(false);
    expect(await driver('src').listRemoteTargets(bucket)).toEqual([]);
    expect(await held('d1', bucket)).toEqual(['one.txt', 'two.txt']);
    // Its account Secret goes with it: an owner reference, the garbage collector.
    await eventually(async () => {
      const gone = await client.get(SECRETS, ns, 'least-sitesync-replicator').then(
        () => false,
        (e: unknown) => isNotFound(e),
      );
      expect(gone).toBe(true);
    });
  }, 180_000);

  it('gives overlapping rules what S3 says: the higher priority wins per destination; counts match the destinations', async () => {
    const bucket = 'prio';
    await makeBucket('src', bucket);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('priorities', {
        source: fromGroup(bucket),
        rules: [
          {
            id: 'keep',
            priority: 3,
            filter: { prefix: 'keep/' },
            deleteMarkerReplication: { status: 'Disabled' },
            destination: { site: 'd1' },
          },
          {
            id: 'all',
            priority: 1,
            filter: { prefix: '' },
            deleteMarkerReplication: { status: 'Enabled' },
            destination: { site: 'd1' },
          },
          {
            id: 'logs',
            priority: 2,
            filter: { prefix: 'keep/logs/' },
            deleteMarkerReplication: { status: 'Disabled' },
            destination: { site: 'd2', bucket: 'prio-logs' },
          },
        ],
      }),
    );
    await waitReady('priorities');
    const keys = ['keep/a.txt', 'other/b.txt', 'keep/logs/c.txt'];
    for (const k of keys) await put(bucket, k);
    await settled(
      'priorities',
      keys.map((k) => [bucket, k]),
    );
    expect(await held('d1', bucket)).toEqual([...keys].sort());
    // A different destination is a separate replication: MinIO (like S3's multi-destination
    // replication) sends an object that matches rules to two targets to both.
    expect(await held('d2', 'prio-logs')).toEqual(['keep/logs/c.txt']);

    // Same destination: keep/ (priority 3, delete markers Disabled) beats all (priority 1).
    await remove(bucket, 'keep/a.txt');
    await remove(bucket, 'other/b.txt');
    await eventually(
      async () => {
        expect(await held('d1', bucket)).toContain('other/b.txt (delete marker)');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await settled('priorities', []);
    expect(await held('d1', bucket)).not.toContain('keep/a.txt (delete marker)');
    expect(await held('src', bucket)).toContain('keep/a.txt (delete marker)');

    // Per-rule counts are those of the rule's destination, and match what it holds.
    const onD1 = (await held('d1', bucket)).filter((v) => !v.endsWith('(delete marker)'));
    const onD2 = (await held('d2', 'prio-logs')).filter((v) => !v.endsWith('(delete marker)'));
    await eventually(
      async () => {
        const b = await getBrep('priorities');
        for (const id of ['keep', 'all']) {
          expect(ruleStatus(b, id)).toMatchObject({
            destination: `d1/${bucket}`,
            pending: 0,
            replicated: onD1.length,
            bytes: onD1.reduce((n, k) => n + size(k), 0),
            failed: 0,
          });
        }
        expect(ruleStatus(b, 'logs')).toMatchObject({
          destination: 'd2/prio-logs',
          pending: 0,
          replicated: onD2.length,
          bytes: onD2.reduce((n, k) => n + size(k), 0),
          failed: 0,
        });
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  it('keeps delete markers on the source with DeleteMarkerReplication Disabled, replicates them with Enabled, and enables versioning', async () => {
    const bucket = 'markers';
    await makeBucket('src', bucket, false);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('markers', {
        source: fromGroup(bucket),
        rules: [
          {
            id: 'off',
            priority: 1,
            filter: { prefix: 'off/' },
            deleteMarkerReplication: { status: 'Disabled' },
            destination: { site: 'd2' },
          },
          {
            id: 'on',
            priority: 2,
            filter: { prefix: 'on/' },
            deleteMarkerReplication: { status: 'Enabled' },
            destination: { site: 'd2' },
          },
        ],
      }),
    );
    await waitReady('markers');
    expect(await driver('src').getVersioning(bucket)).toBe('Enabled');
    await put(bucket, 'off/a');
    await put(bucket, 'on/a');
    await settled('markers', [
      [bucket, 'off/a'],
      [bucket, 'on/a'],
    ]);
    await remove(bucket, 'off/a');
    await remove(bucket, 'on/a');
    await eventually(
      async () => {
        expect(await held('d2', bucket)).toContain('on/a (delete marker)');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await settled('markers', []);
    expect(await held('d2', bucket)).toEqual(['off/a', 'on/a', 'on/a (delete marker)']);
    expect(await held('src', bucket)).toEqual([
      'off/a',
      'off/a (delete marker)',
      'on/a',
      'on/a (delete marker)',
    ]);
  });

  it('replicates objects written before the rule with ExistingObjectReplication Enabled, and only then', async () => {
    const bucket = 'existing';
    await makeBucket('src', bucket);
    for (const k of ['old/1', 'old/2', 'old2/1']) await put(bucket, k);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('existing', {
        source: fromGroup(bucket),
        rules: [
          {
            id: 'with-existing',
            priority: 1,
            filter: { prefix: 'old/' },
            deleteMarkerReplication: { status: 'Disabled' },
            existingObjectReplication: { status: 'Enabled' },
            destination: { site: 'd1' },
          },
          {
            id: 'new-only',
            priority: 2,
            filter: { prefix: 'old2/' },
            deleteMarkerReplication: { status: 'Disabled' },
            destination: { site: 'd2' },
          },
        ],
      }),
    );
    await waitReady('existing');
    await eventually(
      async () => {
        expect(await held('d1', bucket)).toEqual(['old/1', 'old/2']);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    await put(bucket, 'old2/new');
    await settled('existing', [[bucket, 'old2/new']]);
    expect(await held('d2', bucket)).toEqual(['old2/new']);

    // d1 loses an object (every version of it); the resync annotation brings it back, once.
    for (const v of await driver('d1').listObjectVersions(bucket, { prefix: 'old/1' })) {
      await s3('d1').send(
        new DeleteObjectCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId }),
      );
    }
    expect(await held('d1', bucket)).toEqual(['old/2']);
    await client.patch(
      BREP_RESOURCE,
      { namespace: ns, name: 'existing' },
      { metadata: { annotations: { 'sitesync.io/resync': 'after-loss' } } },
      { patchType: 'merge' },
    );
    await eventually(
      async () => {
        expect(await held('d1', bucket)).toEqual(['old/1', 'old/2']);
        expect((await getBrep('existing')).status?.lastResync).toBe('after-loss');
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    const events = await client.list<{
      reason: string;
      message: string;
      involvedObject: { name: string };
    }>(EVENTS, ns);
    const resyncs = events.items.filter(
      (e) => e.involvedObject.name === 'existing' && e.message.includes('resync "after-loss"'),
    );
    expect(resyncs).toHaveLength(1);
  });

  it('applies the same document from YAML rules and from the equivalent raw XML', async () => {
    const bucket = 'docs';
    await makeBucket('src', bucket);
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('same-doc', {
        source: fromGroup(bucket),
        rules: [
          {
            id: 'public-docs',
            priority: 1,
            filter: { and: { prefix: 'docs/', tags: [{ key: 'class', value: 'public' }] } },
            deleteMarkerReplication: { status: 'Disabled' },
            existingObjectReplication: { status: 'Enabled' },
            destination: { site: 'd2', storageClass: 'STANDARD' },
          },
          {
            id: 'misc',
            priority: 2,
            filter: { prefix: 'misc/' },
            deleteMarkerReplication: { status: 'Enabled' },
            deleteReplication: { status: 'Enabled' },
            sourceSelectionCriteria: { replicaModifications: { status: 'Disabled' } },
            destination: { site: 'd2' },
          },
        ],
      }),
    );
    const fromRules = await waitReady('same-doc');
    const xmlFromRules = await driver('src').getReplicationConfigXML(bucket);
    const arn = parseReplicationXML(xmlFromRules!, { unknownElements: 'ignore' }).rules[0]
      ?.destination.bucket;
    expect(arn).toMatch(/^arn:minio:replication:/);

    // The same configuration, written as a person would for S3: namespace, indentation, the
    // element order of the AWS documentation, no MinIO defaults.
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule>
    <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
    <Destination><Bucket>${arn}</Bucket><StorageClass>STANDARD</StorageClass></Destination>
    <ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication>
    <Filter><And><Prefix>docs/</Prefix><Tag><Key>class</Key><Value>public</Value></Tag></And></Filter>
    <ID>public-docs</ID>
    <Priority>1</Priority>
    <Status>Enabled</Status>
  </Rule>
  <Rule>
    <ID>misc</ID>
    <Priority>2</Priority>
    <Status>Enabled</Status>
    <Filter><Prefix>misc/</Prefix></Filter>
    <DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>
    <DeleteReplication><Status>Enabled</Status></DeleteReplication>
    <SourceSelectionCriteria><ReplicaModifications><Status>Disabled</Status></ReplicaModifications></SourceSelectionCriteria>
    <Destination><Bucket>${arn}</Bucket></Destination>
  </Rule>
</ReplicationConfiguration>`;
    await client.patch(
      BREP_RESOURCE,
      { namespace: ns, name: 'same-doc' },
      {
        spec: { rules: null, configurationXML: xml },
      },
    );
    const fromXml = await eventually(
      async () => {
        const b = await waitReady('same-doc');
        expect(b.metadata.generation).toBe((fromRules.metadata.generation ?? 0) + 1);
        return b;
      },
      { timeoutMs: 30_000 },
    );
    expect(await driver('src').getReplicationConfigXML(bucket)).toBe(xmlFromRules);
    expect(fromXml.status?.appliedDigest).toBe(fromRules.status?.appliedDigest);
    // Same digest, so no second PutBucketReplication (it would have bumped the event's count).
    const puts = await client.list<{
      reason: string;
      message: string;
      count?: number;
      involvedObject: { name: string };
    }>(EVENTS, ns);
    const putEvents = puts.items.filter(
      (e) =>
        e.involvedObject.name === 'same-doc' && e.message.includes('put replication configuration'),
    );
    expect(putEvents.reduce((n, e) => n + (e.count ?? 1), 0)).toBe(1);
    // The target it created is still its own, and still used (by the XML's ARN).
    expect(fromXml.metadata.annotations?.[OWNED_TARGETS_ANNOTATION]).toBe(JSON.stringify([arn]));
    expect((await driver('src').listRemoteTargets(bucket)).map((t) => t.arn)).toEqual([arn]);
  });

  it('reports an invalid resource as Stalled/InvalidSpec naming the rule and the field, and touches nothing', async () => {
    const bucket = 'untouched';
    await makeBucket('src', bucket);
    await makeBucket('src', `${bucket}-xml`);
    const inline = (b: string) => ({
      bucket: b,
      siteSpec: siteSpec('src', server('src')),
    });
    const rule = (id: string) => ({
      id,
      priority: 1,
      filter: { prefix: `${id}/` },
      deleteMarkerReplication: { status: 'Disabled' },
      destination: { bucket: 'arn:minio:replication::0f4a4c9e-3a1b-4c6e-9b8f-1d2e3f4a5b6c:x' },
    });
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('invalid', { source: inline(bucket), rules: [rule('a'), rule('b')] }),
    );
    const xml = `<ReplicationConfiguration><Rule><ID>lonely</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>p/</Prefix></Filter><Destination><Bucket>arn:minio:replication::0f4a4c9e-3a1b-4c6e-9b8f-1d2e3f4a5b6c:x</Bucket></Destination></Rule></ReplicationConfiguration>`;
    await client.create(
      BREP_RESOURCE,
      ns,
      brep('invalid-xml', { source: inline(`${bucket}-xml`), configurationXML: xml }),
    );
    const expectStalled = async (name: string, message: string) =>
      eventually(
        async () => {
          const b = await getBrep(name);
          expect(findCondition(b.status?.conditions, 'Stalled')).toMatchObject({
            status: 'True',
            reason: 'InvalidSpec',
            message,
          });
          expect(findCondition(b.status?.conditions, 'Ready')).toMatchObject({
            status: 'False',
            reason: 'InvalidSpec',
          });
          expect(b.status?.observedGeneration).toBe(b.metadata.generation);
          expect(b.metadata.finalizers ?? []).toEqual([]);
        },
        { timeoutMs: 30_000 },
      );
    await expectStalled(
      'invalid',
      'spec.rules[1].priority: rule "b": priority 1 is already used by rules[0]; priorities must be unique',
    );
    await expectStalled(
      'invalid-xml',
      'spec.configurationXML.rules[0].deleteMarkerReplication: rule "lonely": deleteMarkerReplication is required by MinIO',
    );
    expect(await driver('src').getReplicationConfigXML(bucket)).toBeUndefined();
    expect(await driver('src').getReplicationConfigXML(`${bucket}-xml`)).toBeUndefined();
  });

  it('reports how long the oldest object has waited while its destination is down, and 0 once it caught up', async () => {
    const bucket = 'laggy';
    await makeBucket('src', bucket);
    await createFromGroup('laggy', bucket, [wholeBucket('all', { site: 'd2' })]);
    await waitReady('laggy');
    await put(bucket, 'before.txt');
    await settled('laggy', [[bucket, 'before.txt']]);

    await server('d2').stop();
    const wroteAt = Date.now();
    await put(bucket, 'while-down.txt');
    // Degraded naming d2; the lag is the waiting object's age, read from the source's backlog.
    const seen = await eventually(
      async () => {
        const b = await getBrep('laggy');
        const lag = ruleStatus(b, 'all')?.lagSeconds ?? -1;
        expect(lag).toBeGreaterThanOrEqual(5);
        return { b, lag, at: Date.now() };
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(seen.lag).toBeLessThanOrEqual(Math.ceil((seen.at - wroteAt) / 1000) + 1);
    const ready = findCondition(seen.b.status?.conditions, 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.message).toContain('d2');
    // The rule stayed in place while d2 was down.
    expect(await driver('src').getReplicationConfigXML(bucket)).toContain('<ID>all</ID>');

    await server('d2').restart();
    await eventually(
      async () => {
        expect(await held('d2', bucket)).toEqual(['before.txt', 'while-down.txt']);
        const r = ruleStatus(await getBrep('laggy'), 'all');
        expect([r?.pending, r?.lagSeconds]).toEqual([0, 0]);
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
  }, 300_000);

  it('measures the RTC promise MinIO does not make: objects waiting past 15 minutes are counted and raise an event', async () => {
    const bucket = 'timed';
    await makeBucket('src', bucket);
    await createFromGroup('timed', bucket, [
      wholeBucket('rtc', {
        site: 'd1',
        metrics: { status: 'Enabled', eventThreshold: { minutes: 15 } },
        replicationTime: { status: 'Enabled', time: { minutes: 15 } },
      }),
    ]);
    const ready = await waitReady('timed');
    // MinIO took the document and dropped the RTC elements; the resource still counts as applied.
    const xml = (await driver('src').getReplicationConfigXML(bucket)) ?? '';
    expect(xml).toContain('<ID>rtc</ID>');
    expect(xml).not.toContain('ReplicationTime');
    expect(ruleStatus(ready, 'rtc')?.rtcThresholdBreaches).toBe(0);

    await server('d1').stop();
    try {
      await put(bucket, 'late-1.txt');
      await put(bucket, 'late-2.txt');
      // Nothing has waited 15 minutes yet.
      await eventually(
        async () => {
          const r = ruleStatus(await getBrep('timed'), 'rtc');
          expect(r?.lagSeconds ?? -1).toBeGreaterThanOrEqual(1);
          expect(r?.rtcThresholdBreaches).toBe(0);
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      // 16 minutes later, as far as the controller knows: both have missed the threshold.
      clockAheadMs = 16 * 60_000;
      await eventually(
        async () => {
          const r = ruleStatus(await getBrep('timed'), 'rtc');
          expect(r?.rtcThresholdBreaches).toBe(2);
          expect(r?.lagSeconds ?? 0).toBeGreaterThanOrEqual(16 * 60);
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      const events = await client.list<{
        reason: string;
        type: string;
        message: string;
        involvedObject: { name: string };
      }>(EVENTS, ns);
      const missed = events.items.find(
        (e) => e.involvedObject.name === 'timed' && e.reason === 'ReplicationThresholdMissed',
      );
      expect(missed?.type).toBe('Warning');
      expect(missed?.message).toContain('rule rtc: 2 object(s) have waited longer than');
      expect(missed?.message).toContain(`d1/${bucket}`);
    } finally {
      clockAheadMs = 0;
      await server('d1').restart();
    }
    await eventually(
      async () => {
        expect(await held('d1', bucket)).toEqual(['late-1.txt', 'late-2.txt']);
        const r = ruleStatus(await getBrep('timed'), 'rtc');
        expect([r?.pending, r?.lagSeconds, r?.rtcThresholdBreaches]).toEqual([0, 0, 0]);
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
  }, 400_000);
});
