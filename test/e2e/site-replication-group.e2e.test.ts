/**
 * SiteReplicationGroup end to end: the built operator process, the real apiserver and real
 * MinIO sites. Every check lists the sites themselves; status is checked, never trusted.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { gzipSync } from 'node:zlib';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  ListBucketsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import { SRG_RESOURCE } from '../../src/api/names.js';
import {
  type SiteReplicationGroup,
  SiteReplicationGroupSpecSchema,
} from '../../src/api/site-replication-group.js';
import { entitiesOf } from '../../src/controllers/site-replication-group/entities.js';
import { digestKey, isSecretBearing } from '../../src/replication/secret-digest.js';
import { canonicalJSON } from '../../src/replication/digest.js';
import { canonicalPolicy } from '../../src/replication/policy.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { CONFIGMAPS, type KubeClient, SECRETS } from '../../src/runtime/kube-client.js';
import type { SiteSnapshot } from '../../src/sites/snapshot.js';
import { eventually } from '../support/eventually.js';
import {
  applyCrds,
  createNamespace,
  kubeClient,
  kubectl,
  mustKubectl,
  stack,
} from '../support/kube.js';
import { minioDriver, startThrowawayMinio, type ThrowawayMinio } from '../support/minio.js';
import { OperatorProcess } from '../support/operator.js';
import { configMapTexts } from '../support/secret-scan.js';
import { ensureCaSecret, siteSpec } from '../support/site-spec.js';
import { freePort } from '../support/stack.js';
import { type Seeded, s3For, seedSite, seededConfigs } from '../support/seed.js';
import { comparableVersioned } from '../support/groups.js';

let client: KubeClient;
let ns: string;
let webhook: HttpServer;
let operator: OperatorProcess;
const servers = new Map<string, ThrowawayMinio>();
const secrets: string[] = [];

const driver = (s: ThrowawayMinio, name = 'check') => minioDriver(s, { name });

async function snapshotOf(s: ThrowawayMinio): Promise<SiteSnapshot> {
  const d = driver(s);
  try {
    return await d.snapshot();
  } finally {
    d.close();
  }
}

async function addSite(name: string, env: Record<string, string> = {}): Promise<ThrowawayMinio> {
  const s = await startThrowawayMinio(`e2e-${name}`, env);
  servers.set(name, s);
  secrets.push(s.secretKey);
  await putCredentials(name, s.accessKey, s.secretKey);
  return s;
}

async function putCredentials(site: string, accessKey: string, secretKey: string) {
  await mustKubectl(
    ['apply', '-n', ns, '-f', '-'],
    stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${site}-credentials` },
      stringData: { accessKey, secretKey },
    }),
  );
}

function group(name: string, siteNames: string[], extra: object = {}) {
  return {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name },
    spec: {
      primary: siteNames[0],
      syncInterval: '2s',
      sites: siteNames.map((n) => siteSpec(n, servers.get(n)!)),
      ...extra,
    },
  };
}

async function getGroup(name: string): Promise<SiteReplicationGroup> {
  return client.get<SiteReplicationGroup>(SRG_RESOURCE, ns, name);
}

async function waitReady(name: string, timeoutMs = 120_000): Promise<SiteReplicationGroup> {
  return eventually(
    async () => {
      const g = await getGroup(name);
      const ready = findCondition(g.status?.conditions, 'Ready');
      expect({
        status: ready?.status,
        reason: ready?.reason,
        message: ready?.message,
      }).toMatchObject({ status: 'True' });
      expect(g.status?.observedGeneration).toBe(g.metadata.generation);
      return g;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

interface StoredState {
  version: number;
  digestKeyId?: string;
  sequence: number;
  joined: string[];
  entities: Record<string, string>;
  deviations: Record<string, Record<string, string>>;
}

/** The group's agreed state as its ConfigMap holds it, decompressed. */
async function agreedState(group: string): Promise<StoredState> {
  const texts = await configMapTexts(ns);
  const t = texts.find((x) => x.where.endsWith(`/${group}-sitesync-state state.json.gz`));
  if (!t) throw new Error(`no agreed state of ${group}`);
  return JSON.parse(t.text) as StoredState;
}

function heldDigests(doc: StoredState): Set<string> {
  return new Set([
    ...Object.values(doc.entities),
    ...Object.values(doc.deviations).flatMap((r) => Object.values(r)),
  ]);
}

/** What a dictionary attack would compare with a stored digest, for one guessed secret. */
function digestGuesses(word: string): string[] {
  const hashes = ['sha256', 'sha1', 'md5', 'sha512'].map((h) => createHash(h).update(word));
  const out = hashes.flatMap((h) => {
    const bytes = h.digest();
    return [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')];
  });
  const chained = (status: string) =>
    createHash('sha256')
      .update(canonicalJSON({ status, secret: createHash('sha256').update(word).digest('hex') }))
      .digest('hex');
  out.push(chained('enabled'), chained('disabled'), word);
  return out.flatMap((g) => [g, g.slice(0, 16)]);
}

/** The entity scope of a group with default settings, unkeyed (as the previous version had it). */
const plainScope = () => {
  const s = SiteReplicationGroupSpecSchema.parse({
    sites: [
      { name: 'x', endpoint: 'https://x', credentialsSecret: { name: 'x' } },
      { name: 'y', endpoint: 'https://y', credentialsSecret: { name: 'y' } },
    ],
  });
  return { replicate: s.replicate, buckets: s.buckets, operatorUsers: new Set<string>() };
};

/** What every site must agree on, read from the site itself. */
const comparable = comparableVersioned;

async function objectCount(s: ThrowawayMinio, bucket: string): Promise<number> {
  return (await versionsOf(s, bucket)).filter((v) => !v.endsWith('(delete marker)')).length;
}

/** Every version of every object in a bucket, as `key@versionId`. */
async function versionsOf(s: ThrowawayMinio, bucket: string): Promise<string[]> {
  const d = driver(s);
  try {
    const versions = await d.listObjectVersions(bucket);
    return versions
      .map((v) => `${v.key}@${v.versionId}${v.deleteMarker ? ' (delete marker)' : ''}`)
      .sort();
  } finally {
    d.close();
  }
}

/**
 * Sites hold the same buckets, configs and IAM, versioning is on everywhere, and (with `seeded`)
 * the seeded buckets hold the same object versions on every site: nothing lost, nothing doubled.
 */
/** Every config the seed wrote is still there, on every site (none lost on the way). */
function expectSeededConfigs(snaps: readonly SiteSnapshot[], seeded: Seeded) {
  seeded.buckets.forEach((name, i) => {
    for (const snap of snaps) {
      const b = snap.buckets.get(name);
      const held = {
        objectLockConfig: b?.objectLockConfig !== undefined,
        tags: b?.tags !== undefined,
        encryption: b?.encryption !== undefined,
        policy: b?.policy !== undefined,
      };
      expect([name, held]).toEqual([name, seededConfigs(i)]);
    }
  });
}

async function expectSitesEqual(names: string[], seeded?: Seeded) {
  const all = names.map((n) => servers.get(n)!);
  const snaps = await Promise.all(all.map((s) => snapshotOf(s)));
  const [first, ...rest] = snaps.map(comparable);
  for (const r of rest) expect(r).toBe(first);
  for (const snap of snaps) {
    for (const b of snap.buckets.values())
      expect([b.name, b.versioning]).toEqual([b.name, 'Enabled']);
  }
  if (seeded) {
    for (const b of seeded.buckets.slice(0, 10)) {
      const lists = await Promise.all(all.map((s) => versionsOf(s, b)));
      const data = (lists[0] ?? []).filter((v) => v.startsWith('data/'));
      expect(data).toHaveLength(seeded.objects / 10);
      for (const l of lists.slice(1)) expect(l).toEqual(lists[0]);
    }
  }
  return snaps;
}

/** The IAM and bucket-config changes of the post-join test, as one site holds them. */
function expectPostJoinConfigs(snap: SiteSnapshot, engineers: string[]) {
  const { iam, buckets } = snap;
  expect(iam.users.has('user-20')).toBe(false);
  expect(iam.policies.has('read-bucket-004')).toBe(false);
  expect(iam.userPolicies.get('user-9')?.policies).toEqual(['readonly']);
  expect(iam.groups.has('auditors')).toBe(false);
  expect([...(iam.groups.get('engineers')?.members ?? [])].sort()).toEqual([...engineers].sort());
  expect(iam.serviceAccounts.has('svc-user-1')).toBe(false);
  expect(iam.serviceAccounts.get('svc-made-on-c')?.parent).toBe('user-4');
  expect(buckets.get('bucket-002')?.tags).toEqual({ team: 'changed-on-c' });
  expect(buckets.get('bucket-003')?.encryption).toBeUndefined();
  expect(buckets.get('bucket-004')?.encryption).toMatchObject({ algorithm: 'AES256' });
  expect(buckets.get('bucket-005')?.objectLockConfig).toEqual({ mode: 'GOVERNANCE', days: 3 });
}

/** The object changes of the post-join test, as one site holds them. */
async function expectPostJoinObjects(s: ThrowawayMinio, until: Date) {
  const fromB = (await versionsOf(s, 'bucket-001')).filter((v) => v.startsWith('from-b.txt@'));
  expect(fromB).toEqual([]);
  const s3 = s3For(s);
  try {
    const r = await s3.send(
      new GetObjectRetentionCommand({ Bucket: 'bucket-000', Key: 'data/obj-0.txt' }),
    );
    expect(r.Retention?.RetainUntilDate?.toISOString()).toBe(until.toISOString());
    const h = await s3.send(
      new GetObjectLegalHoldCommand({ Bucket: 'bucket-000', Key: 'data/obj-10.txt' }),
    );
    expect(h.LegalHold?.Status).toBe('ON');
  } finally {
    s3.destroy();
  }
}

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('srg-e2e');
  await ensureCaSecret(ns, client);
  const hookPort = await freePort();
  webhook = createServer((req, res) => {
    req.resume();
    res.end();
  });
  await new Promise<void>((r) => webhook.listen(hookPort, '127.0.0.1', r));
  operator = new OperatorProcess({
    KUBECONFIG: stack().kubeconfig,
    WATCH_NAMESPACE: ns,
    LOG_LEVEL: 'debug',
    SITE_TIMEOUT_MS: '5000',
    PROGRESS_INTERVAL_MS: '2000',
  });
  await operator.start();
  await addSite('site-a', {
    MINIO_NOTIFY_WEBHOOK_ENABLE_PRIMARY: 'on',
    MINIO_NOTIFY_WEBHOOK_ENDPOINT_PRIMARY: `http://127.0.0.1:${hookPort}/`,
  });
  await addSite('site-b');
  await addSite('site-c');
}, 120_000);

afterAll(async () => {
  await operator.stop('SIGTERM');
  await Promise.all([...servers.values()].map((s) => s.stop()));
  webhook.close();
});

describe('a group refused at creation', () => {
  it('two sites holding data: Ready=False naming both, nothing written to any site', async () => {
    const x = await addSite('site-x');
    const y = await addSite('site-y');
    const dx = driver(x);
    const dy = driver(y);
    await dx.createBucket('x-data');
    await dy.createBucket('y-data');
    dx.close();
    dy.close();
    await mustKubectl(
      ['apply', '-n', ns, '-f', '-'],
      stringify(group('refused', ['site-x', 'site-y'], { primary: undefined })),
    );
    const g = await eventually(async () => {
      const r = await getGroup('refused');
      expect(findCondition(r.status?.conditions, 'Ready')?.reason).toBe('MultipleSitesWithData');
      return r;
    });
    const ready = findCondition(g.status?.conditions, 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.message).toContain('site-x');
    expect(ready?.message).toContain('site-y');
    expect(findCondition(g.status?.conditions, 'Stalled')?.status).toBe('True');
    for (const s of [x, y]) {
      const snap = await snapshotOf(s);
      expect(snap.buckets.size).toBe(1);
      expect(snap.iam.users.size).toBe(0);
      expect(snap.iam.policies.has('sitesync-replication')).toBe(false);
    }
    await mustKubectl(['delete', 'srg', 'refused', '-n', ns, '--wait=true', '--timeout=60s']);
  }, 120_000);
  it('a primary that is not the seed: PrimaryNotSeed; corrected, the group forms, and a site joining with data of its own is refused with NewSiteNotEmpty', async () => {
    const z = await addSite('site-z');
    await mustKubectl(
      ['apply', '-n', ns, '-f', '-'],
      stringify(group('wrong-primary', ['site-z', 'site-x'])),
    );
    const why = await eventually(async () => {
      const r = await getGroup('wrong-primary');
      const ready = findCondition(r.status?.conditions, 'Ready');
      expect(ready?.reason).toBe('PrimaryNotSeed');
      return ready;
    });
    expect(why?.status).toBe('False');
    expect(why?.message).toContain('site-x');
    expect((await snapshotOf(z)).buckets.size).toBe(0);
    // x seeds z once it is the primary.
    await client.patch(
      SRG_RESOURCE,
      { namespace: ns, name: 'wrong-primary' },
      { spec: { primary: 'site-x' } },
    );
    await waitReady('wrong-primary');
    expect((await snapshotOf(z)).buckets.has('x-data')).toBe(true);
    // y holds a bucket of its own: it may not join.
    const sites = group('wrong-primary', ['site-x', 'site-z', 'site-y']).spec.sites;
    await client.patch(SRG_RESOURCE, { namespace: ns, name: 'wrong-primary' }, { spec: { sites } });
    const refused = await eventually(async () => {
      const r = await getGroup('wrong-primary');
      const ready = findCondition(r.status?.conditions, 'Ready');
      expect(ready?.reason).toBe('NewSiteNotEmpty');
      return ready;
    });
    expect(refused?.message).toContain('site-y');
    const y = await snapshotOf(servers.get('site-y')!);
    expect([...y.buckets.keys()]).toEqual(['y-data']);
    expect(y.iam.policies.has('sitesync-replication')).toBe(false);
    await mustKubectl(['delete', 'srg', 'wrong-primary', '-n', ns, '--wait=true', '--timeout=60s']);
  }, 180_000);
});

describe('a group of three sites', () => {
  let seeded: Seeded;

  it('makes b and c equal to the seeded site a, and reports Ready with equal merkle roots', async () => {
    const a = servers.get('site-a')!;
    const da = driver(a);
    seeded = await seedSite(da, a, {
      buckets: 20,
      users: 30,
      objects: 1000,
      notificationArn: 'arn:minio:sqs::PRIMARY:webhook',
    });
    await da.createBucket('empty-bucket');
    da.close();
    for (const u of seeded.users) secrets.push(u.secretKey);
    for (const sa of seeded.serviceAccounts) secrets.push(sa.secretKey);

    await mustKubectl(
      ['apply', '-n', ns, '-f', '-'],
      stringify(group('trio', ['site-a', 'site-b', 'site-c'])),
    );
    const g = await waitReady('trio', 180_000);
    const roots = (g.status?.sites ?? []).map((s) => s.merkleRoot);
    expect(roots).toHaveLength(3);
    expect(new Set(roots).size).toBe(1);
    expect(roots[0]).toBe(g.status?.merkleRoot);
    expect(g.status?.sitesInSync).toBe('3/3');
    expect(g.status?.knownSites?.sort()).toEqual(['site-a', 'site-b', 'site-c']);

    const snaps = await eventually(() => expectSitesEqual(['site-a', 'site-b', 'site-c'], seeded), {
      timeoutMs: 120_000,
      intervalMs: 2000,
    });
    const [sa, sb, sc] = snaps as [SiteSnapshot, SiteSnapshot, SiteSnapshot];
    expectSeededConfigs(snaps, seeded);
    expect(sa.buckets.size).toBe(21);
    expect(sa.iam.users.has('user-29')).toBe(true);
    // Notification and lifecycle stay on a only.
    const hasOwn = (s: SiteSnapshot, f: 'hasLifecycle' | 'hasNotification') =>
      [...s.buckets.values()].some((b) => b[f]);
    expect(hasOwn(sa, 'hasLifecycle')).toBe(true);
    expect(hasOwn(sa, 'hasNotification')).toBe(true);
    for (const s of [sb, sc]) {
      expect(hasOwn(s, 'hasLifecycle')).toBe(false);
      expect(hasOwn(s, 'hasNotification')).toBe(false);
    }
    // Object replication counts come from the sites' own metrics.
    await eventually(
      async () => {
        const now = await getGroup('trio');
        const a = now.status?.sites?.find((x) => x.name === 'site-a')?.objects;
        expect(a?.replicated).toBeGreaterThanOrEqual(seeded.objects);
        expect(a?.failed).toBe(0);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    // A mirrored user logs in on c with the keys it has on a.
    const u = seeded.users[7] as { name: string; secretKey: string };
    const s3c = s3For(servers.get('site-c')!, {
      accessKey: u.name,
      secretKey: u.secretKey,
    });
    const list = await s3c.send(new ListBucketsCommand({}));
    expect(list.Buckets?.length).toBeGreaterThan(0);
    s3c.destroy();
  }, 400_000);

  it('holds no digest in its agreed state that a word list of the secret keys finds', async () => {
    const doc = await agreedState('trio');
    expect(doc.version).toBe(2);
    expect(doc.digestKeyId).toMatch(/^[0-9a-f]{16}$/);
    const held = heldDigests(doc);
    const users = Object.keys(doc.entities).filter((k) => k.startsWith('user:'));
    expect(users.length).toBeGreaterThanOrEqual(seeded.users.length);
    // The attacker's word list holds every real secret key, and guesses each the ways the old
    // code (a SHA-256 chain) and plain hashing would have stored it, in hex and base64, whole
    // and cut to the stored length; plus the exact unkeyed entity digests of every site.
    const words = [
      ...seeded.users.map((u) => u.secretKey),
      ...seeded.serviceAccounts.map((sa) => sa.secretKey),
      'minio123',
      'password',
    ];
    const guesses = words.flatMap(digestGuesses);
    const snapA = await snapshotOf(servers.get('site-a')!);
    for (const [k, e] of entitiesOf(snapA, plainScope())) {
      if (isSecretBearing(k)) guesses.push(e.digest);
    }
    expect(guesses.length).toBeGreaterThan(words.length * 10);
    const text = JSON.stringify(doc);
    const found = guesses.filter((g) => held.has(g) || text.includes(g.slice(0, 16)));
    expect(found).toEqual([]);
  });

  it('migrates an agreed state written before digests were keyed, with no change on any site', async () => {
    const before = await agreedState('trio');
    const sequence = (await getGroup('trio')).status?.lastSequence;
    // The state as the previous version stored it: the same, with unkeyed digests.
    const plain = entitiesOf(await snapshotOf(servers.get('site-a')!), plainScope());
    const unseal = (r: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          isSecretBearing(k) && v !== '-' ? (plain.get(k)?.digest ?? v) : v,
        ]),
      );
    const legacy = {
      version: 1,
      sequence: before.sequence,
      joined: before.joined,
      entities: unseal(before.entities),
      deviations: Object.fromEntries(
        Object.entries(before.deviations).map(([s, r]) => [s, unseal(r)]),
      ),
    };
    // The stored digests are the HMAC of exactly those, under the key in the group's Secret.
    const secret = await client.get<{ data?: Record<string, string> }>(
      SECRETS,
      ns,
      'trio-sitesync-replicator',
    );
    const key = digestKey(Buffer.from(secret.data?.['.digest-key'] ?? '', 'base64').toString());
    expect(key.id).toBe(before.digestKeyId);
    for (const [k, v] of Object.entries(before.entities)) {
      if (isSecretBearing(k)) expect([k, key.seal(legacy.entities[k] ?? '')]).toEqual([k, v]);
    }
    // Paused, the group writes no agreed state: the legacy one is what the next pass reads.
    await client.patch(SRG_RESOURCE, { namespace: ns, name: 'trio' }, { spec: { paused: true } });
    await eventually(async () => {
      const g = await getGroup('trio');
      expect(g.status?.observedGeneration).toBe(g.metadata.generation);
      expect(findCondition(g.status?.conditions, 'Ready')?.reason).toBe('Paused');
    });
    const gz = gzipSync(Buffer.from(JSON.stringify(legacy))).toString('base64');
    await client.patch(
      CONFIGMAPS,
      { namespace: ns, name: 'trio-sitesync-state' },
      { binaryData: { 'state.json.gz': gz } },
    );
    expect((await agreedState('trio')).version).toBe(1);
    await client.patch(SRG_RESOURCE, { namespace: ns, name: 'trio' }, { spec: { paused: false } });
    const after = await eventually(async () => {
      const doc = await agreedState('trio');
      expect(doc.version).toBe(2);
      return doc;
    });
    expect(after.entities).toEqual(before.entities);
    expect(after.digestKeyId).toBe(before.digestKeyId);
    const g = await waitReady('trio');
    expect(g.status?.lastSequence).toBe(sequence);
  }, 120_000);

  it('replicates changes made on any site', async () => {
    const [a, b, c] = ['site-a', 'site-b', 'site-c'].map((n) => servers.get(n)!) as [
      ThrowawayMinio,
      ThrowawayMinio,
      ThrowawayMinio,
    ];
    // An object written to b appears on a and c.
    const s3b = s3For(b);
    await s3b.send(
      new PutObjectCommand({ Bucket: 'bucket-001', Key: 'from-b.txt', Body: 'written on b' }),
    );
    for (const s of [a, c]) {
      await eventually(
        async () => {
          const got = await s3For(s).send(
            new GetObjectCommand({ Bucket: 'bucket-001', Key: 'from-b.txt' }),
          );
          expect(await got.Body?.transformToString()).toBe('written on b');
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    }
    // A delete on c becomes a delete marker on a and b.
    await s3For(c).send(new DeleteObjectCommand({ Bucket: 'bucket-001', Key: 'from-b.txt' }));
    for (const s of [a, b]) {
      await eventually(
        async () => {
          const d = driver(s);
          const versions = await d.listObjectVersions('bucket-001', { prefix: 'from-b.txt' });
          d.close();
          expect(versions.find((v) => v.isLatest)?.deleteMarker).toBe(true);
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    }
    // A user created on c logs in on a with the same keys.
    const dc = driver(c);
    await dc.putUser('made-on-c', { secretKey: 'made-on-c-secret', status: 'enabled' });
    await dc.setPolicyMapping('user', 'made-on-c', ['readonly']);
    secrets.push('made-on-c-secret');
    // A bucket policy changed on b reaches a and c.
    const db = driver(b);
    const newPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: ['*'] },
          Action: ['s3:GetObject'],
          Resource: ['arn:aws:s3:::bucket-002/shared/*'],
        },
      ],
    };
    await db.putBucketPolicy('bucket-002', JSON.stringify(newPolicy));
    // An empty bucket deleted on a disappears from b and c.
    const da = driver(a);
    expect(await da.deleteBucketIfEmpty('empty-bucket')).toBe('deleted');
    // A new bucket created on c appears on a and b with versioning on.
    await dc.createBucket('made-on-c');
    for (const d of [dc, db, da]) d.close();

    await eventually(
      async () => {
        const login = await s3For(a, {
          accessKey: 'made-on-c',
          secretKey: 'made-on-c-secret',
        }).send(new ListBucketsCommand({}));
        expect(login.Buckets).toBeDefined();
        for (const s of [a, c]) {
          const snap = await snapshotOf(s);
          expect(canonicalPolicy(snap.buckets.get('bucket-002')?.policy)).toEqual(
            canonicalPolicy(newPolicy),
          );
        }
        for (const s of [b, c])
          expect((await snapshotOf(s)).buckets.has('empty-bucket')).toBe(false);
        for (const s of [a, b])
          expect((await snapshotOf(s)).buckets.get('made-on-c')?.versioning).toBe('Enabled');
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await waitReady('trio');
    await expectSitesEqual(['site-a', 'site-b', 'site-c']);
  }, 300_000);

  it('post-join changes on b and c reach every site: IAM deletions, membership, service accounts, bucket configs, versioned deletes, retention and legal hold', async () => {
    const [a, b, c] = ['site-a', 'site-b', 'site-c'].map((n) => servers.get(n)!) as [
      ThrowawayMinio,
      ThrowawayMinio,
      ThrowawayMinio,
    ];
    const [db, dc] = [driver(b), driver(c)];
    // IAM on b: a user deleted, a policy deleted once nobody maps it, a group deleted, a
    // group's members changed, a service account deleted.
    await db.deleteUser('user-20');
    for (const u of ['user-9', 'user-19', 'user-29'])
      await db.setPolicyMapping('user', u, ['readonly']);
    await db.deletePolicy('read-bucket-004');
    await db.deleteGroup('auditors', ['user-10', 'user-11', 'user-12', 'user-13', 'user-14']);
    const engineers = [...Array.from({ length: 9 }, (_, i) => `user-${i}`), 'user-25'];
    await db.putGroup('engineers', { members: engineers, status: 'enabled' }, [
      ...Array.from({ length: 10 }, (_, i) => `user-${i}`),
    ]);
    await db.deleteServiceAccount('svc-user-1');
    // On c: a service account created, bucket tags, encryption and object-lock changed.
    await dc.putServiceAccount(
      {
        accessKey: 'svc-made-on-c',
        secretKey: 'svc-made-on-c-secret',
        parent: 'user-4',
        status: 'enabled',
        groups: [],
      },
      false,
    );
    secrets.push('svc-made-on-c-secret');
    await dc.putBucketTags('bucket-002', { team: 'changed-on-c' });
    await dc.deleteEncryption('bucket-003');
    await dc.putEncryption('bucket-004', { algorithm: 'AES256' });
    await dc.putObjectLockConfig('bucket-005', {
      enabled: true,
      defaultRetention: { mode: 'GOVERNANCE', days: 3 },
    });
    db.close();
    dc.close();
    // Objects on a: the versions of from-b.txt (an object and its delete marker) deleted for
    // good; a retention extended and a legal hold set in the object-lock bucket-000.
    const s3a = s3For(a);
    const fromB = await versionsOf(a, 'bucket-001');
    const doomed = fromB.filter((v) => v.startsWith('from-b.txt@'));
    expect(doomed).toHaveLength(2);
    for (const v of doomed) {
      const versionId = (v.split('@')[1] ?? '').replace(' (delete marker)', '');
      await s3a.send(
        new DeleteObjectCommand({ Bucket: 'bucket-001', Key: 'from-b.txt', VersionId: versionId }),
      );
    }
    const until = new Date(Date.now() + 3 * 86_400_000);
    until.setUTCMilliseconds(0);
    await s3a.send(
      new PutObjectRetentionCommand({
        Bucket: 'bucket-000',
        Key: 'data/obj-0.txt',
        Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until },
      }),
    );
    await s3a.send(
      new PutObjectLegalHoldCommand({
        Bucket: 'bucket-000',
        Key: 'data/obj-10.txt',
        LegalHold: { Status: 'ON' },
      }),
    );
    s3a.destroy();

    await eventually(
      async () => {
        for (const s of [a, b, c]) {
          expectPostJoinConfigs(await snapshotOf(s), engineers);
          await expectPostJoinObjects(s, until);
        }
      },
      { timeoutMs: 120_000, intervalMs: 2000 },
    );
    // The service account made on c logs in on a with the same keys.
    const login = s3For(a, { accessKey: 'svc-made-on-c', secretKey: 'svc-made-on-c-secret' });
    expect((await login.send(new ListBucketsCommand({}))).Buckets).toBeDefined();
    login.destroy();
    await waitReady('trio');
    await expectSitesEqual(['site-a', 'site-b', 'site-c']);
  }, 300_000);

  it('a fourth site added to the group converges', async () => {
    await addSite('site-d');
    const g = await getGroup('trio');
    const spec = group('trio', ['site-a', 'site-b', 'site-c', 'site-d']).spec;
    await client.patch(
      SRG_RESOURCE,
      { namespace: ns, name: 'trio' },
      { spec: { sites: spec.sites } },
    );
    await eventually(async () => {
      const now = await getGroup('trio');
      expect(now.metadata.generation).toBeGreaterThan(g.metadata.generation ?? 0);
    });
    await waitReady('trio', 180_000);
    await eventually(() => expectSitesEqual(['site-a', 'site-b', 'site-c', 'site-d'], seeded), {
      timeoutMs: 120_000,
      intervalMs: 2000,
    });
  }, 400_000);

  it('wrong credentials for one site: Degraded naming it, the others keep syncing', async () => {
    await putCredentials('site-d', servers.get('site-d')?.accessKey ?? '', 'wrong-secret-for-d');
    secrets.push('wrong-secret-for-d');
    const g = await eventually(
      async () => {
        const r = await getGroup('trio');
        const degraded = findCondition(r.status?.conditions, 'Degraded');
        expect(degraded?.status).toBe('True');
        expect(degraded?.reason).toBe('SiteAuthFailed');
        return r;
      },
      { timeoutMs: 60_000 },
    );
    expect(findCondition(g.status?.conditions, 'Degraded')?.message).toContain('site-d');
    const da = driver(servers.get('site-a')!);
    await da.createBucket('while-d-is-locked-out');
    da.close();
    await eventually(
      async () => {
        expect(
          (await snapshotOf(servers.get('site-b')!)).buckets.has('while-d-is-locked-out'),
        ).toBe(true);
      },
      { timeoutMs: 60_000 },
    );
    const d = servers.get('site-d')!;
    await putCredentials('site-d', d.accessKey, d.secretKey);
    await waitReady('trio', 120_000);
    expect((await snapshotOf(d)).buckets.has('while-d-is-locked-out')).toBe(true);
  }, 300_000);

  it('a site stopped mid-sync makes the group Degraded; restarted, it converges with nothing lost', async () => {
    const c = servers.get('site-c')!;
    await c.stop();
    const da = driver(servers.get('site-a')!);
    await da.createBucket('while-c-is-down');
    await da.putUser('while-c-is-down', { secretKey: 'while-c-is-down-secret', status: 'enabled' });
    secrets.push('while-c-is-down-secret');
    da.close();
    // An object written on a now waits for c: a's lag is its age, in status and in the gauge.
    const wroteAt = Date.now();
    await s3For(servers.get('site-a')!).send(
      new PutObjectCommand({ Bucket: 'bucket-003', Key: 'waits-for-c.txt', Body: 'late' }),
    );
    const lag = await eventually(
      async () => {
        const objects = (await getGroup('trio')).status?.sites?.find(
          (s) => s.name === 'site-a',
        )?.objects;
        expect(objects?.lagSeconds ?? -1).toBeGreaterThanOrEqual(3);
        const gauge = (await operator.metrics())
          .split('\n')
          .find(
            (l) =>
              l.startsWith('sitesync_site_replication_lag_seconds{') && l.includes('site="site-a"'),
          );
        expect(Number(gauge?.split(' ').at(-1))).toBeGreaterThanOrEqual(3);
        return { seconds: objects?.lagSeconds ?? 0, at: Date.now() };
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(lag.seconds).toBeLessThanOrEqual(Math.ceil((lag.at - wroteAt) / 1000) + 1);
    await eventually(
      async () => {
        const r = await getGroup('trio');
        expect(findCondition(r.status?.conditions, 'Degraded')).toMatchObject({
          status: 'True',
          reason: 'SiteUnreachable',
        });
        expect(findCondition(r.status?.conditions, 'Degraded')?.message).toContain('site-c');
        expect(r.status?.sites?.find((s) => s.name === 'site-c')?.reachable).toBe(false);
      },
      { timeoutMs: 60_000 },
    );
    await c.restart();
    await waitReady('trio', 180_000);
    await eventually(() => expectSitesEqual(['site-a', 'site-b', 'site-c', 'site-d'], seeded), {
      timeoutMs: 120_000,
      intervalMs: 2000,
    });
    expect((await snapshotOf(c)).buckets.has('while-c-is-down')).toBe(true);
  }, 400_000);

  it('the operator killed mid-sync and restarted converges, nothing lost or duplicated', async () => {
    const db = driver(servers.get('site-b')!);
    for (let i = 0; i < 10; i++) await db.createBucket(`burst-${i}`);
    db.close();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await operator.stop('SIGKILL')).toBeNull();
    await operator.start();
    // Ready may still be the status written before the crash: check the sites themselves.
    await eventually(
      async () => {
        const snaps = await expectSitesEqual(['site-a', 'site-b', 'site-c', 'site-d'], seeded);
        for (const s of snaps) {
          expect([...s.buckets.keys()].filter((b) => b.startsWith('burst-'))).toHaveLength(10);
          // One replication rule and one target per peer: nothing duplicated by the crash.
          const xml = s.buckets.get('burst-3')?.replicationXML ?? '';
          expect((xml.match(/<Rule>/g) ?? []).length).toBe(3);
          expect(s.buckets.get('burst-3')?.targets).toHaveLength(3);
        }
      },
      { timeoutMs: 120_000, intervalMs: 2000 },
    );
    await waitReady('trio', 60_000);
  }, 400_000);

  it('paused: stops acting and keeps reporting; unpaused: catches up', async () => {
    await client.patch(SRG_RESOURCE, { namespace: ns, name: 'trio' }, { spec: { paused: true } });
    await eventually(async () => {
      const g = await getGroup('trio');
      expect(findCondition(g.status?.conditions, 'Ready')?.reason).toBe('Paused');
    });
    const da = driver(servers.get('site-a')!);
    await da.createBucket('while-paused');
    da.close();
    const g = await eventually(async () => {
      const r = await getGroup('trio');
      expect(r.status?.sites?.find((x) => x.name === 'site-b')?.buckets?.outOfSync).toBe(1);
      return r;
    });
    expect(findCondition(g.status?.conditions, 'Ready')?.status).toBe('False');
    expect((await snapshotOf(servers.get('site-b')!)).buckets.has('while-paused')).toBe(false);
    await client.patch(SRG_RESOURCE, { namespace: ns, name: 'trio' }, { spec: { paused: false } });
    await eventually(
      async () => {
        expect((await snapshotOf(servers.get('site-b')!)).buckets.has('while-paused')).toBe(true);
      },
      { timeoutMs: 60_000 },
    );
    await waitReady('trio');
  }, 180_000);

  it('a joined site is removed only with allowSiteRemoval, and only its peer links go', async () => {
    const three = group('trio', ['site-a', 'site-b', 'site-c']).spec.sites;
    await client.patch(SRG_RESOURCE, { namespace: ns, name: 'trio' }, { spec: { sites: three } });
    await eventually(async () => {
      const g = await getGroup('trio');
      expect(findCondition(g.status?.conditions, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'SiteRemovalNotAllowed',
      });
      expect(findCondition(g.status?.conditions, 'Ready')?.message).toContain('site-d');
    });
    await client.patch(
      SRG_RESOURCE,
      { namespace: ns, name: 'trio' },
      { spec: { allowSiteRemoval: true } },
    );
    await waitReady('trio', 120_000);
    const d = servers.get('site-d')!;
    await eventually(
      async () => {
        const a = await snapshotOf(servers.get('site-a')!);
        const toD = a.buckets.get('bucket-001')?.targets.filter((t) => t.endpoint === d.endpoint);
        expect(toD).toEqual([]);
        expect(a.buckets.get('bucket-001')?.replicationXML ?? '').not.toContain('-site-d<');
      },
      { timeoutMs: 60_000 },
    );
    // site-d keeps everything it had: nothing is deleted there.
    const snapD = await snapshotOf(d);
    expect(snapD.buckets.has('bucket-001')).toBe(true);
    expect(snapD.iam.users.has('user-3')).toBe(true);
    const g = await getGroup('trio');
    expect(g.status?.knownSites?.sort()).toEqual(['site-a', 'site-b', 'site-c']);
  }, 240_000);

  it('acts on the resync and recover annotations once per new value', async () => {
    const stamp = `t-${Date.now()}`;
    await mustKubectl([
      'annotate',
      'srg',
      'trio',
      '-n',
      ns,
      '--overwrite',
      `sitesync.io/resync=${stamp}`,
      `sitesync.io/recover=${stamp}`,
    ]);
    const g = await eventually(
      async () => {
        const r = await getGroup('trio');
        const degraded = findCondition(r.status?.conditions, 'Degraded');
        // The Degraded message is in the comparison so a failure says why.
        expect({
          resync: r.status?.lastResync,
          recover: r.status?.lastRecover,
          degraded: degraded?.status === 'True' ? degraded.message : 'False',
        }).toEqual({ resync: stamp, recover: stamp, degraded: 'False' });
        return r;
      },
      { timeoutMs: 60_000 },
    );
    expect(findCondition(g.status?.conditions, 'Degraded')?.status).toBe('False');
    await waitReady('trio');
  }, 120_000);

  it('leaves no secret in status, events, logs or metrics', async () => {
    const replicator = await client.get<{ data?: Record<string, string> }>(
      SECRETS,
      ns,
      'trio-sitesync-replicator',
    );
    for (const v of Object.values(replicator.data ?? {}))
      secrets.push(Buffer.from(v, 'base64').toString());
    const texts = [
      await mustKubectl(['get', 'srg', '-n', ns, '-o', 'yaml']),
      await mustKubectl(['get', 'events', '-n', ns, '-o', 'yaml']),
      await mustKubectl(['get', 'configmaps', '-n', ns, '-o', 'yaml']),
      operator.logs(),
      await operator.metrics(),
    ];
    expect(texts[3]?.length).toBeGreaterThan(1000);
    for (const secret of secrets) {
      for (const t of texts) expect(t.includes(secret) ? secret : 'absent').toBe('absent');
    }
  });

  it('deleting the group removes peer links and replication accounts, never buckets, objects or users', async () => {
    const r = await kubectl(['delete', 'srg', 'trio', '-n', ns, '--wait=true', '--timeout=90s']);
    expect(r.code).toBe(0);
    for (const n of ['site-a', 'site-b', 'site-c']) {
      const snap = await snapshotOf(servers.get(n)!);
      expect(snap.buckets.has('bucket-001')).toBe(true);
      expect(snap.iam.users.has('user-3')).toBe(true);
      expect([...snap.iam.users.keys()].filter((u) => u.startsWith('sitesync-'))).toEqual([]);
      expect(snap.buckets.get('bucket-001')?.targets).toEqual([]);
      expect(snap.buckets.get('bucket-001')?.replicationXML ?? '').not.toContain('sitesync-');
    }
    expect(await objectCount(servers.get('site-d')!, 'bucket-001')).toBeGreaterThan(0);
    // Its ConfigMaps and Secret go with it: owner references, the garbage collector.
    await eventually(async () => {
      const left = await mustKubectl([
        'get',
        'configmaps,secrets',
        '-n',
        ns,
        '-l',
        'sitesync.io/group=trio',
        '-o',
        'name',
      ]);
      expect(left.trim()).toBe('');
    });
  }, 180_000);
});
