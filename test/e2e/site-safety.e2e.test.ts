/**
 * Nothing is lost when a site restarts, is wiped, returns under another identity, deletes in
 * bulk, or when the agreed state goes: the built operator, the real apiserver, real MinIO sites.
 * Every check reads the sites themselves. The figures (passes, seconds, site calls it took to
 * settle, counts held before and after) are printed and written to .stack/figures-site-safety.json.
 */
import { writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join } from 'node:path';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { SRG_RESOURCE } from '../../src/api/names.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { CONFIGMAPS, type KubeClient } from '../../src/runtime/kube-client.js';
import type { SiteSnapshot } from '../../src/sites/snapshot.js';
import { eventually } from '../support/eventually.js';
import {
  applyGroup,
  comparable,
  counts,
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
import { mustKubectl, stack } from '../support/kube.js';
import { type ThrowawayMinio, minioDriver, startThrowawayMinio } from '../support/minio.js';
import type { OperatorProcess } from '../support/operator.js';
import { STACK_DIR, freePort, waitMinioReady } from '../support/stack.js';
import { s3For, seedSite } from '../support/seed.js';

const GROUP = 'safe';
let kube: KubeClient;
let ns: string;
let operator: OperatorProcess;
const servers = new Map<string, ThrowawayMinio>();
const figures: Record<string, unknown> = {};

/**
 * The OpenID discovery document of site-a goes through this gate. Closed, MinIO cannot load its
 * identity configuration at start, so its IAM stays not initialised (a real MinIO, held at
 * startup for as long as the test needs); open, it proxies the stack's issuer.
 */
let gate: Server;
let gateOpen = true;

const site = (n: string) => {
  const s = servers.get(n);
  if (!s) throw new Error(`no site ${n}`);
  return s;
};

async function addSite(name: string, env: Record<string, string> = {}) {
  const s = await startThrowawayMinio(`safe-${name}`, env);
  servers.set(name, s);
  await putCredentials(ns, `${name}-credentials`, s);
  return s;
}

const specOf = (names: string[]) => names.map((n) => siteSpec(n, site(n)));

/** Passes, site calls and the time now: subtract two marks to get what a scenario took. */
async function mark() {
  const m = await operator.metrics();
  return {
    at: Date.now(),
    passes: metricSum(m, 'sitesync_reconcile_total', ['controller="sitereplicationgroup"']),
    calls: metricSum(m, 'sitesync_site_calls_total'),
  };
}

type Mark = Awaited<ReturnType<typeof mark>>;

function record(name: string, from: Mark, to: Mark, extra: object = {}) {
  figures[name] = {
    passes: to.passes - from.passes,
    seconds: Math.round((to.at - from.at) / 100) / 10,
    siteCalls: to.calls - from.calls,
    ...extra,
  };
  console.log(`FIGURES ${name}: ${JSON.stringify(figures[name])}`);
}

async function snaps(names: string[]): Promise<SiteSnapshot[]> {
  return Promise.all(names.map((n) => snapshotOf(site(n))));
}

/** Every version of every object under data/ of `bucket`. */
async function versions(s: ThrowawayMinio, bucket: string): Promise<string[]> {
  const d = minioDriver(s);
  try {
    return (await d.listObjectVersions(bucket, { prefix: 'data/' }))
      .map((v) => `${v.key}@${v.versionId}${v.deleteMarker ? ' (delete marker)' : ''}`)
      .sort();
  } finally {
    d.close();
  }
}

async function expectEqual(names: string[]): Promise<SiteSnapshot[]> {
  const all = await snaps(names);
  const [first, ...rest] = all.map(comparable);
  for (const r of rest) expect(r).toBe(first);
  return all;
}

async function eventsOf(reason: string) {
  return (await groupEvents(ns, GROUP)).filter((e) => e.reason === reason);
}

beforeAll(async () => {
  ({ kube, ns, operator } = await groupSuite('safety-e2e'));
  const oidc = stack().oidc;
  if (!oidc) throw new Error('the stack has no OpenID issuer');
  const gatePort = await freePort();
  gate = createServer((req, res) => {
    req.resume();
    if (!gateOpen) {
      res.writeHead(503).end('closed');
      return;
    }
    void fetch(oidc.configURL).then(
      async (up) =>
        res.writeHead(up.status, { 'content-type': 'application/json' }).end(await up.text()),
      () => res.writeHead(502).end(),
    );
  });
  await new Promise<void>((r) => gate.listen(gatePort, '127.0.0.1', r));
  await operator.start();
  await addSite('site-a', {
    MINIO_IDENTITY_OPENID_CONFIG_URL: `http://127.0.0.1:${gatePort}/.well-known/openid-configuration`,
    MINIO_IDENTITY_OPENID_CLIENT_ID: oidc.clientID,
  });
  await addSite('site-b');
  await addSite('site-c');
}, 120_000);

afterAll(async () => {
  writeFileSync(join(STACK_DIR, 'figures-site-safety.json'), JSON.stringify(figures, null, 2));
  await operator.stop('SIGTERM');
  await Promise.all([...servers.values()].map((s) => s.stop()));
  gate.close();
});

/** Runs `fn` while the group is paused (no pass writes), then resumes it. */
async function whilePaused(fn: () => Promise<void>): Promise<void> {
  const pause = (paused: boolean) =>
    mustKubectl([
      'patch',
      'srg',
      GROUP,
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { paused } }),
    ]);
  await pause(true);
  await eventually(
    async () => {
      const g = await getGroup(kube, ns, GROUP);
      expect(g.status?.observedGeneration).toBe(g.metadata.generation);
      expect(findCondition(g.status?.conditions, 'Ready')?.reason).toBe('Paused');
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  try {
    await fn();
  } finally {
    await pause(false);
  }
}

describe('a group of three sites holding users, groups, policies, service accounts and bucket configs', () => {
  const ALL = ['site-a', 'site-b', 'site-c'];

  it('converges, each site holding objects of its own', async () => {
    const da = minioDriver(site('site-a'));
    await seedSite(da, site('site-a'), { buckets: 6, users: 20, objects: 60 });
    da.close();
    await applyGroup(ns, groupManifest(GROUP, specOf(ALL), { primary: 'site-a' }));
    await waitReady(kube, ns, GROUP, 240_000);
    // Objects written on b and c too: each site is the origin of some versions.
    for (const n of ['site-b', 'site-c']) {
      const s3 = s3For(site(n));
      for (let i = 0; i < 5; i++) {
        await s3.send(
          new PutObjectCommand({ Bucket: 'bucket-001', Key: `data/from-${n}-${i}`, Body: n }),
        );
      }
      s3.destroy();
    }
    await eventually(
      async () => {
        const lists = await Promise.all(ALL.map((n) => versions(site(n), 'bucket-001')));
        expect(lists[0]).toHaveLength(10 + 10); // 10 seeded on a, 5 written on b, 5 on c
        for (const l of lists) expect(l).toEqual(lists[0]);
        await expectEqual(ALL);
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
  }, 400_000);

  it('a site restarted while its IAM cannot load is unreachable for those passes, and nothing is lost', async () => {
    const before = (await snaps(['site-b', 'site-c'])).map(comparable);
    gateOpen = false;
    const from = await mark();
    let during: SiteSnapshot[];
    try {
      await site('site-a').restartNoWait();
      const notReady = await eventually(
        async () => {
          const g = await getGroup(kube, ns, GROUP);
          const a = g.status?.sites?.find((s) => s.name === 'site-a');
          expect(a?.reachable).toBe(false);
          expect(a?.lastError).toMatch(/^SiteNotReady: /);
          expect(findCondition(g.status?.conditions, 'Degraded')).toMatchObject({
            status: 'True',
            reason: 'SiteNotReady',
          });
          return a?.lastError ?? '';
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(notReady).toMatch(/XMinio(Server|IAM)NotInitialized/);
      // The other two keep syncing meanwhile, and hold everything they held.
      const db = minioDriver(site('site-b'));
      await db.putUser('made-during-restart', {
        secretKey: 'made-during-restart-1',
        status: 'enabled',
      });
      db.close();
      await eventually(
        async () => {
          expect((await snapshotOf(site('site-c'))).iam.users.has('made-during-restart')).toBe(
            true,
          );
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      during = await snaps(['site-b', 'site-c']);
      for (const s of during) s.iam.users.delete('made-during-restart');
      expect(during.map(comparable)).toEqual(before);
    } finally {
      gateOpen = true;
    }
    // Its IAM loads: it catches up, nothing lost anywhere.
    await waitMinioReady(site('site-a').endpoint, 120_000);
    await waitReady(kube, ns, GROUP);
    const after = await eventually(() => expectEqual(ALL), { timeoutMs: 60_000, intervalMs: 1000 });
    const to = await mark();
    expect(after[0]?.iam.users.has('made-during-restart')).toBe(true);
    record('restart, IAM not loaded until the gate opened', from, to, {
      countsBefore: counts(during[0]!),
      countsAfter: Object.fromEntries(ALL.map((n, i) => [n, counts(after[i]!)])),
    });
  }, 300_000);

  it('a wiped site rejoins as a receiving site and is refilled; the others lose nothing', async () => {
    const before = await snaps(['site-a', 'site-c']);
    const objectsBefore = await versions(site('site-a'), 'bucket-001');
    const oldID = before[0]?.deploymentID;
    const from = await mark();
    await site('site-b').wipe();
    const wiped = await snapshotOf(site('site-b'));
    expect(wiped.buckets.size).toBe(0);
    expect(wiped.deploymentID).not.toBe(oldID);
    await eventually(
      async () => {
        const g = await getGroup(kube, ns, GROUP);
        const b = g.status?.sites?.find((s) => s.name === 'site-b');
        expect(b?.lastIdentityChange).toMatch(/rejoins as a receiving site/);
        expect((await eventsOf('SiteRejoined')).length).toBeGreaterThan(0);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await waitReady(kube, ns, GROUP);
    const after = await eventually(() => expectEqual(ALL), {
      timeoutMs: 120_000,
      intervalMs: 1000,
    });
    const to = await mark();
    // Nothing lost on a and c; b holds it all again.
    expect(after.slice(0, 1).concat(after.slice(2)).map(comparable)).toEqual(
      before.map(comparable),
    );
    const g = await getGroup(kube, ns, GROUP);
    expect(g.status?.sites?.find((s) => s.name === 'site-b')?.membership).toBe('Joined');
    expect(g.status?.knownSites?.sort()).toEqual(ALL);
    // Objects: the others send every version again through the replication reset, the ones
    // first written on b itself too (the reset walks replicas as well), version IDs kept.
    await eventually(
      async () => {
        expect(await versions(site('site-b'), 'bucket-001')).toEqual(objectsBefore);
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    expect(await versions(site('site-a'), 'bucket-001')).toEqual(objectsBefore);
    expect(await versions(site('site-c'), 'bucket-001')).toEqual(objectsBefore);
    const refilled = await mark();
    record('wiped site refilled', from, to, {
      secondsUntilObjectsRefilled: Math.round((refilled.at - from.at) / 100) / 10,
      countsBefore: Object.fromEntries(['site-a', 'site-c'].map((n, i) => [n, counts(before[i]!)])),
      countsAfter: Object.fromEntries(ALL.map((n, i) => [n, counts(after[i]!)])),
      objectVersionsBefore: objectsBefore.length,
      objectVersionsOnWipedSiteAfter: (await versions(site('site-b'), 'bucket-001')).length,
    });
  }, 400_000);

  it('a site returning with data under a new identity is held; accepting it merges it', async () => {
    const x = await startThrowawayMinio('safe-x');
    servers.set('site-x', x);
    const dx = minioDriver(x);
    await dx.createBucket('from-x');
    await dx.putUser('x-user', { secretKey: 'x-user-secret-1', status: 'enabled' });
    dx.close();
    await putCredentials(ns, 'site-c-elsewhere', x);
    const before = (await snaps(['site-a', 'site-b'])).map(comparable);
    // site-c's endpoint now names another cluster holding data of its own.
    const sites = [
      ...specOf(['site-a', 'site-b']),
      siteSpec('site-c', x, { secret: 'site-c-elsewhere' }),
    ];
    await kube.patch(SRG_RESOURCE, { namespace: ns, name: GROUP }, { spec: { sites } });
    const held = await eventually(
      async () => {
        const g = await getGroup(kube, ns, GROUP);
        const degraded = findCondition(g.status?.conditions, 'Degraded');
        expect(degraded).toMatchObject({ status: 'True', reason: 'SiteIdentityChanged' });
        expect(degraded?.message).toContain('site-c');
        expect(g.status?.sites?.find((s) => s.name === 'site-c')?.membership).toBe('Held');
        return { g, at: await mark() };
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // Held: a few more passes write nothing to it and take nothing from it.
    await eventually(
      async () => {
        expect((await mark()).passes).toBeGreaterThanOrEqual(held.at.passes + 3);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const xNow = await snapshotOf(x);
    expect([...xNow.buckets.keys()]).toEqual(['from-x']);
    expect([...xNow.iam.users.keys()].filter((u) => !u.startsWith('sitesync-'))).toEqual([
      'x-user',
    ]);
    expect((await snaps(['site-a', 'site-b'])).map(comparable)).toEqual(before);
    // Accepted: it adds what the group lacks and receives the rest.
    await mustKubectl([
      'annotate',
      'srg',
      GROUP,
      '-n',
      ns,
      '--overwrite',
      `sitesync.io/accept-site=site-c`,
    ]);
    await waitReady(kube, ns, GROUP);
    servers.set('site-c-before', site('site-c'));
    servers.set('site-c', x);
    servers.delete('site-x');
    const after = await eventually(() => expectEqual(ALL), {
      timeoutMs: 120_000,
      intervalMs: 1000,
    });
    expect(after[0]?.buckets.has('from-x')).toBe(true);
    expect(after[1]?.iam.users.has('x-user')).toBe(true);
    expect(after[2]?.iam.users.has('user-7')).toBe(true);
    const g = await getGroup(kube, ns, GROUP);
    expect(g.status?.lastAcceptSite).toBe('site-c');
    expect(g.status?.sites?.find((s) => s.name === 'site-c')?.membership).toBe('Joined');
  }, 300_000);

  it('deleting 50 users on one site is held; the approved plan deletes them everywhere; a new wave needs its own approval', async () => {
    const da = minioDriver(site('site-a'));
    for (let i = 0; i < 70; i++) {
      await da.putUser(`wave-${i}`, { secretKey: `wave-secret-${i}`, status: 'enabled' });
    }
    da.close();
    await eventually(
      async () => {
        for (const s of await snaps(ALL)) expect(s.iam.users.has('wave-69')).toBe(true);
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    await waitReady(kube, ns, GROUP);
    const db = minioDriver(site('site-b'));
    // The guard judges what one pass would delete: the wave is made while the group is paused,
    // so that no pass lands in the middle of it and carries out a part below the bound.
    await whilePaused(async () => {
      for (let i = 0; i < 50; i++) await db.deleteUser(`wave-${i}`);
    });
    const first = await eventually(
      async () => {
        const g = await getGroup(kube, ns, GROUP);
        expect(findCondition(g.status?.conditions, 'DeletionsHeld')?.status).toBe('True');
        expect(g.status?.deletionsHeld).toMatchObject({ total: 50, drivenBy: ['site-b'] });
        expect(g.status?.deletionsHeld?.byKind).toEqual({ user: 50 });
        return { digest: g.status?.deletionsHeld?.digest ?? '', at: await mark() };
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect((await eventsOf('DeletionsHeld')).length).toBeGreaterThan(0);
    await eventually(
      async () => {
        expect((await mark()).passes).toBeGreaterThanOrEqual(first.at.passes + 3);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const s of await snaps(['site-a', 'site-c'])) {
      expect(Array.from({ length: 50 }, (_, i) => s.iam.users.has(`wave-${i}`))).not.toContain(
        false,
      );
    }
    const approve = (digest: string) =>
      mustKubectl([
        'annotate',
        'srg',
        GROUP,
        '-n',
        ns,
        '--overwrite',
        `sitesync.io/approve-deletions=${digest}`,
      ]);
    await approve(first.digest);
    await eventually(
      async () => {
        for (const s of await snaps(ALL)) {
          expect(s.iam.users.has('wave-0')).toBe(false);
          expect(s.iam.users.has('wave-49')).toBe(false);
          expect(s.iam.users.has('wave-50')).toBe(true);
        }
        const g = await getGroup(kube, ns, GROUP);
        expect(g.status?.lastApprovedDeletions).toBe(first.digest);
        expect(findCondition(g.status?.conditions, 'DeletionsHeld')?.status).toBe('False');
        expect(g.status?.deletionsHeld).toBeUndefined();
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    // A second wave is another plan: the first approval does not cover it.
    await whilePaused(async () => {
      for (let i = 50; i < 70; i++) await db.deleteUser(`wave-${i}`);
    });
    db.close();
    const second = await eventually(
      async () => {
        const g = await getGroup(kube, ns, GROUP);
        expect(g.status?.deletionsHeld?.total).toBe(20);
        return { digest: g.status?.deletionsHeld?.digest ?? '', at: await mark() };
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(second.digest).not.toBe(first.digest);
    await eventually(
      async () => {
        expect((await mark()).passes).toBeGreaterThanOrEqual(second.at.passes + 3);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect((await snapshotOf(site('site-a'))).iam.users.has('wave-60')).toBe(true);
    await approve(second.digest);
    await eventually(
      async () => {
        for (const s of await snaps(ALL)) expect(s.iam.users.has('wave-60')).toBe(false);
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await waitReady(kube, ns, GROUP);
  }, 400_000);

  it('the agreed-state ConfigMap deleted: the group converges again with no change to any site', async () => {
    const cm = `${GROUP}-sitesync-state`;
    const before = await getGroup(kube, ns, GROUP);
    const sitesBefore = (await snaps(ALL)).map(comparable);
    const updatesBefore = (await eventsOf('SiteUpdated')).reduce((n, e) => n + (e.count ?? 1), 0);
    await kube.delete(CONFIGMAPS, ns, cm);
    await eventually(
      async () => {
        const rebuilt = await eventsOf('AgreedStateRebuilt');
        expect(rebuilt.map((e) => e.message).join('\n')).toMatch(
          /does not exist; rebuilt from the 3 sites/,
        );
        await kube.get(CONFIGMAPS, ns, cm);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const g = await waitReady(kube, ns, GROUP);
    expect(g.status?.lastSequence).toBe(before.status?.lastSequence);
    expect(g.status?.merkleRoot).toBe(before.status?.merkleRoot);
    expect((await snaps(ALL)).map(comparable)).toEqual(sitesBefore);
    const updatesAfter = (await eventsOf('SiteUpdated')).reduce((n, e) => n + (e.count ?? 1), 0);
    expect(updatesAfter).toBe(updatesBefore);
  }, 180_000);

  it('a corrupt agreed state is reported and rebuilt when the sites agree', async () => {
    const cm = `${GROUP}-sitesync-state`;
    const sitesBefore = (await snaps(ALL)).map(comparable);
    await kube.patch(
      CONFIGMAPS,
      { namespace: ns, name: cm },
      { binaryData: { 'state.json.gz': Buffer.from('not gzip').toString('base64') } },
    );
    await eventually(
      async () => {
        const rebuilt = await eventsOf('AgreedStateRebuilt');
        expect(rebuilt.map((e) => e.message).join('\n')).toMatch(/Cannot decode the agreed state/);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await waitReady(kube, ns, GROUP);
    expect((await snaps(ALL)).map(comparable)).toEqual(sitesBefore);
  }, 180_000);
});
