/**
 * The group's links and accounts, end to end (built operator, real apiserver, real MinIO):
 * groups sharing a site leave each other alone, a removed site is disconnected both ways, and
 * one endpoint spelled two ways is one endpoint.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { SRG_RESOURCE } from '../../src/api/names.js';
import { type KubeClient, SECRETS } from '../../src/runtime/kube-client.js';
import { replicationAccountNames } from '../../src/sites/replication-account.js';
import { eventually } from '../support/eventually.js';
import {
  applyGroup,
  getGroup,
  groupEvents,
  groupManifest,
  metricSum,
  putCredentials,
  siteSpec,
  snapshotOf,
  waitReady,
  groupSuite,
} from '../support/groups.js';
import { mustKubectl } from '../support/kube.js';
import { type ThrowawayMinio, minioDriver, startThrowawayMinio } from '../support/minio.js';
import type { OperatorProcess } from '../support/operator.js';
import { s3For } from '../support/seed.js';

let kube: KubeClient;
let ns: string;
let operator: OperatorProcess;
const servers = new Map<string, ThrowawayMinio>();

const site = (n: string) => {
  const s = servers.get(n);
  if (!s) throw new Error(`no site ${n}`);
  return s;
};

async function addSite(name: string) {
  const s = await startThrowawayMinio(`links-${name}`);
  servers.set(name, s);
  await putCredentials(ns, `${name}-credentials`, s);
  return s;
}

async function put(on: string, bucket: string, key: string, body = key) {
  const s3 = s3For(site(on));
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  } finally {
    s3.destroy();
  }
}

/** The object's body on a site, or undefined when it has none (or a delete marker). */
async function read(on: string, bucket: string, key: string): Promise<string | undefined> {
  const s3 = s3For(site(on));
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await got.Body?.transformToString();
  } catch {
    return undefined;
  } finally {
    s3.destroy();
  }
}

const arrives = (on: string, bucket: string, key: string) =>
  eventually(
    async () => {
      expect(await read(on, bucket, key)).toBe(key);
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );

async function passes(): Promise<number> {
  return metricSum(await operator.metrics(), 'sitesync_reconcile_total', [
    'controller="sitereplicationgroup"',
  ]);
}

const uidOf = async (group: string) => (await getGroup(kube, ns, group)).metadata.uid ?? '';

beforeAll(async () => {
  ({ kube, ns, operator } = await groupSuite('links-e2e'));
  await operator.start();
}, 120_000);

afterAll(async () => {
  await operator.stop('SIGTERM');
  await Promise.all([...servers.values()].map((s) => s.stop()));
});

describe('two groups sharing a site', () => {
  it('both replicate objects after 5 passes each; deleting one leaves the other working', async () => {
    for (const n of ['shared', 'p', 'q']) await addSite(n);
    const ds = minioDriver(site('shared'));
    await ds.createBucket('common');
    ds.close();
    const sites = (n: string) => [siteSpec('shared', site('shared')), siteSpec(n, site(n))];
    await applyGroup(ns, groupManifest('g-one', sites('p'), { primary: 'shared' }));
    await applyGroup(ns, groupManifest('g-two', sites('q'), { primary: 'shared' }));
    await waitReady(kube, ns, 'g-one');
    await waitReady(kube, ns, 'g-two');
    const start = await passes();
    await eventually(
      async () => {
        expect(await passes()).toBeGreaterThanOrEqual(start + 10);
      },
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    await waitReady(kube, ns, 'g-one');
    await waitReady(kube, ns, 'g-two');
    // Objects flow on both groups' links, in both directions.
    await put('shared', 'common', 'from-shared');
    await put('p', 'common', 'from-p');
    await put('q', 'common', 'from-q');
    await arrives('p', 'common', 'from-shared');
    await arrives('q', 'common', 'from-shared');
    await arrives('shared', 'common', 'from-p');
    await arrives('shared', 'common', 'from-q');
    // Each group has its own account on the shared site.
    const one = replicationAccountNames(await uidOf('g-one'));
    const two = replicationAccountNames(await uidOf('g-two'));
    expect(one.user).not.toBe(two.user);
    expect(one.user.length).toBeLessThanOrEqual(20);
    const shared = await snapshotOf(site('shared'));
    expect(shared.iam.users.has(one.user)).toBe(true);
    expect(shared.iam.users.has(two.user)).toBe(true);
    expect(shared.iam.users.has('sitesync-replicator')).toBe(false);
    const xml = shared.buckets.get('common')?.replicationXML ?? '';
    expect(xml).toContain(`${one.rulePrefix}p`);
    expect(xml).toContain(`${two.rulePrefix}q`);

    await mustKubectl(['delete', 'srg', 'g-one', '-n', ns, '--wait=true', '--timeout=90s']);
    const after = await snapshotOf(site('shared'));
    expect(after.iam.users.has(one.user)).toBe(false);
    expect(after.iam.users.has(two.user)).toBe(true);
    expect(after.buckets.get('common')?.replicationXML ?? '').not.toContain(one.rulePrefix);
    expect(after.buckets.get('common')?.replicationXML ?? '').toContain(`${two.rulePrefix}q`);
    expect(after.buckets.get('common')?.targets.map((t) => t.accessKey)).toEqual([two.user]);
    await put('shared', 'common', 'after-one-went');
    await put('q', 'common', 'from-q-after');
    await arrives('q', 'common', 'after-one-went');
    await arrives('shared', 'common', 'from-q-after');
    await waitReady(kube, ns, 'g-two');
    await mustKubectl(['delete', 'srg', 'g-two', '-n', ns, '--wait=true', '--timeout=90s']);
  }, 600_000);
});

describe('a site removed from a group', () => {
  it('is disconnected both ways: nothing written or deleted on it reaches the others', async () => {
    for (const n of ['ra', 'rb', 'rc']) await addSite(n);
    const da = minioDriver(site('ra'));
    await da.createBucket('kept');
    da.close();
    const spec = (names: string[]) => names.map((n) => siteSpec(n, site(n)));
    await applyGroup(ns, groupManifest('trio', spec(['ra', 'rb', 'rc']), { primary: 'ra' }));
    await waitReady(kube, ns, 'trio');
    await put('ra', 'kept', 'before-removal');
    for (const n of ['rb', 'rc']) await arrives(n, 'kept', 'before-removal');
    const secretBefore = (
      await kube.get<{ data: Record<string, string> }>(SECRETS, ns, 'trio-sitesync-replicator')
    ).data;
    const names = replicationAccountNames(await uidOf('trio'));

    // rc is down when it is removed: its cleanup waits, the others' credentials are rotated.
    await site('rc').stop();
    await kube.patch(
      SRG_RESOURCE,
      { namespace: ns, name: 'trio' },
      { spec: { sites: spec(['ra', 'rb']), allowSiteRemoval: true } },
    );
    await eventually(
      async () => {
        const g = await getGroup(kube, ns, 'trio');
        const left = g.status?.removedSites?.find((r) => r.name === 'rc');
        expect(left?.message).toContain(`account ${names.user}`);
        expect(g.status?.knownSites?.sort()).toEqual(['ra', 'rb']);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const secretAfter = (
      await kube.get<{ data: Record<string, string> }>(SECRETS, ns, 'trio-sitesync-replicator')
    ).data;
    expect(secretAfter['ra']).not.toBe(secretBefore['ra']);
    expect(secretAfter['rb']).not.toBe(secretBefore['rb']);
    expect(secretAfter['rc']).toBeUndefined();
    // The remaining link works with the new credentials.
    await put('ra', 'kept', 'after-rotation');
    await arrives('rb', 'kept', 'after-rotation');

    // rc is back: the group's links and account are removed from it.
    await site('rc').restart();
    await eventually(
      async () => {
        const g = await getGroup(kube, ns, 'trio');
        expect(g.status?.removedSites ?? []).toEqual([]);
        const disconnected = (await groupEvents(ns, 'trio')).filter(
          (e) => e.reason === 'SiteDisconnected',
        );
        expect(disconnected.map((e) => e.message).join()).toContain('rc: removed');
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const rc = await snapshotOf(site('rc'));
    expect(rc.buckets.get('kept')?.targets).toEqual([]);
    expect(rc.buckets.get('kept')?.replicationXML ?? '').not.toContain('sitesync-');
    expect(rc.iam.users.has(names.user)).toBe(false);
    // rc keeps its data; what is written or deleted there stays there.
    expect(await read('rc', 'kept', 'before-removal')).toBe('before-removal');
    await put('rc', 'kept', 'written-on-removed');
    const s3 = s3For(site('rc'));
    await s3.send(new DeleteObjectCommand({ Bucket: 'kept', Key: 'before-removal' }));
    s3.destroy();
    // A write on ra still reaches rb: once it has, rc's changes had their chance too.
    await put('ra', 'kept', 'control');
    await arrives('rb', 'kept', 'control');
    const start = await passes();
    await eventually(
      async () => {
        expect(await passes()).toBeGreaterThanOrEqual(start + 3);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    for (const n of ['ra', 'rb']) {
      expect(await read(n, 'kept', 'written-on-removed')).toBeUndefined();
      expect(await read(n, 'kept', 'before-removal')).toBe('before-removal');
    }
    await waitReady(kube, ns, 'trio');

    // Rotation on demand: new secrets for every account, pushed to the targets using them.
    const readSecret = async () =>
      (await kube.get<{ data: Record<string, string> }>(SECRETS, ns, 'trio-sitesync-replicator'))
        .data;
    const beforeRotation = await readSecret();
    await mustKubectl([
      'annotate',
      'srg',
      'trio',
      '-n',
      ns,
      '--overwrite',
      'sitesync.io/rotate-credentials=on-demand-1',
    ]);
    await eventually(
      async () => {
        expect((await getGroup(kube, ns, 'trio')).status?.lastRotateCredentials).toBe(
          'on-demand-1',
        );
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const afterRotation = await readSecret();
    expect(afterRotation['ra']).not.toBe(beforeRotation['ra']);
    expect(afterRotation['rb']).not.toBe(beforeRotation['rb']);
    await put('ra', 'kept', 'after-on-demand-rotation');
    await put('rb', 'kept', 'from-rb-after-rotation');
    await arrives('rb', 'kept', 'after-on-demand-rotation');
    await arrives('ra', 'kept', 'from-rb-after-rotation');
    await waitReady(kube, ns, 'trio');
    await mustKubectl(['delete', 'srg', 'trio', '-n', ns, '--wait=true', '--timeout=90s']);
  }, 600_000);
});

describe('one endpoint spelled two ways', () => {
  it('https://LOCALHOST:port/ and https://LocalHost:port are one endpoint: no new target, no reset', async () => {
    for (const n of ['ex', 'ey']) await addSite(n);
    const dx = minioDriver(site('ex'));
    await dx.createBucket('spelled');
    dx.close();
    const port = (n: string) => new URL(site(n).endpoint).port;
    const sites = [
      siteSpec('ex', site('ex'), { endpoint: `https://LOCALHOST:${port('ex')}/` }),
      siteSpec('ey', site('ey'), { endpoint: `https://LocalHost:${port('ey')}` }),
    ];
    await applyGroup(ns, groupManifest('spelled', sites, { primary: 'ex' }));
    await waitReady(kube, ns, 'spelled');
    const resets = async () =>
      metricSum(await operator.metrics(), 'sitesync_site_calls_total', [
        'op="s3:ResetBucketReplication"',
      ]);
    const linkEvents = async () =>
      (await groupEvents(ns, 'spelled'))
        .filter((e) => e.reason === 'PeerLinksUpdated')
        .reduce((n, e) => n + (e.count ?? 1), 0);
    const before = { resets: await resets(), links: await linkEvents(), passes: await passes() };
    await eventually(
      async () => {
        expect(await passes()).toBeGreaterThanOrEqual(before.passes + 4);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    await waitReady(kube, ns, 'spelled');
    expect(await resets()).toBe(before.resets);
    expect(await linkEvents()).toBe(before.links);
    for (const n of ['ex', 'ey']) {
      expect((await snapshotOf(site(n))).buckets.get('spelled')?.targets).toHaveLength(1);
    }
    await put('ey', 'spelled', 'across');
    await arrives('ex', 'spelled', 'across');
    await mustKubectl(['delete', 'srg', 'spelled', '-n', ns, '--wait=true', '--timeout=90s']);
  }, 300_000);
});
