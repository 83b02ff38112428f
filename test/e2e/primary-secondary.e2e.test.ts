/**
 * PrimarySecondary, end to end (built operator, real apiserver, real MinIO): secondaries follow
 * the primary (links one way, metadata from the primary only, a change made on a secondary
 * reverted), objects and deletions made on a secondary never reach the primary.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { SRG_RESOURCE } from '../../src/api/names.js';
import { leaseExpiryOf } from '../../src/controllers/site-replication-group/lease.js';
import { type KubeClient } from '../../src/runtime/kube-client.js';
import {
  accountId as accountIdOf,
  replicationAccountNames,
} from '../../src/sites/replication-account.js';
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
import { findCondition } from '../../src/runtime/conditions.js';
import { mustKubectl } from '../support/kube.js';
import { type ThrowawayMinio, minioDriver, startThrowawayMinio } from '../support/minio.js';
import type { OperatorProcess } from '../support/operator.js';
import { s3For } from '../support/seed.js';

let kube: KubeClient;
let ns: string;
let operator: OperatorProcess;
const servers = new Map<string, ThrowawayMinio>();
const SITES = ['p', 's1', 's2'] as const;
const LEASE_MS = 15_000;
const SKEW_MS = 1000;

const site = (n: string) => {
  const s = servers.get(n);
  if (!s) throw new Error(`no site ${n}`);
  return s;
};

type Creds = { accessKey: string; secretKey: string } | undefined;

async function put(on: string, bucket: string, key: string, creds?: Creds) {
  const s3 = s3For(site(on), creds);
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  } finally {
    s3.destroy();
  }
}

async function del(on: string, bucket: string, key: string, creds?: Creds) {
  const s3 = s3For(site(on), creds);
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
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

/**
 * The keys a site stores (current versions), from its listing: MinIO proxies a GET of a key
 * missing on a site to its replication targets, so a read does not say what the site holds.
 */
async function stored(on: string, bucket: string): Promise<string[]> {
  const s3 = s3For(site(on));
  try {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    return (out.Versions ?? []).filter((v) => v.IsLatest === true).map((v) => v.Key ?? '');
  } finally {
    s3.destroy();
  }
}

/** A write or delete the site refuses with AccessDenied. */
async function refused(attempt: Promise<unknown>) {
  await expect(attempt).rejects.toMatchObject({ name: 'AccessDenied' });
}

const ALICE = { accessKey: 'alice', secretKey: 'alice-secret-1234' };
const CAROL = { accessKey: 'carol', secretKey: 'carol-secret-1234' };
const DAVE = { accessKey: 'dave', secretKey: 'dave-secret-12345' };
const ALICE_SA = { accessKey: 'alicesvc1', secretKey: 'alice-svc-secret-1' };

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

/** Waits for `n` more passes: a point after which anything the group would copy was copied. */
async function morePasses(n: number) {
  const start = await passes();
  await eventually(
    async () => {
      expect(await passes()).toBeGreaterThanOrEqual(start + n);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** The group's fence and lease policy names. */
async function groupPolicyNames(group: string) {
  const id = accountIdOf((await getGroup(kube, ns, group)).metadata.uid ?? '');
  return { fence: `sitesync-fence-${id}`, lease: `sitesync-lease-${id}` };
}

const rulesOf = async (on: string, bucket: string) =>
  (await snapshotOf(site(on))).buckets.get(bucket)?.replicationXML ?? '';

beforeAll(async () => {
  // A short write lease, so a primary the operator does not renew fences itself within seconds.
  ({ kube, ns, operator } = await groupSuite('ps-e2e', {
    PRIMARY_LEASE_MS: String(LEASE_MS),
    CLOCK_SKEW_MARGIN_MS: String(SKEW_MS),
  }));
  for (const n of SITES) {
    const s = await startThrowawayMinio(`ps-${n}`);
    servers.set(n, s);
    await putCredentials(ns, `${n}-credentials`, s);
  }
  await operator.start();
}, 180_000);

afterAll(async () => {
  await operator.stop('SIGTERM');
  await Promise.all([...servers.values()].map((s) => s.stop()));
});

describe('PrimarySecondary: secondaries follow the primary', () => {
  it('links run one way, a secondary change is reverted, its objects and deletions stay there', async () => {
    const dp = minioDriver(site('p'));
    await dp.createBucket('data');
    await dp.putUser('alice', { secretKey: 'alice-secret-1234', status: 'enabled' });
    await dp.setPolicyMapping('user', 'alice', ['readwrite']);
    dp.close();
    const spec = SITES.map((n) => siteSpec(n, site(n)));
    await applyGroup(ns, groupManifest('ps', spec, { mode: 'PrimarySecondary', primary: 'p' }));
    await waitReady(kube, ns, 'ps');
    const { rulePrefix } = replicationAccountNames(
      (await getGroup(kube, ns, 'ps')).metadata.uid ?? '',
    );

    // Links one way: the primary's bucket replicates to each secondary, the secondaries hold none.
    await eventually(
      async () => {
        const primary = await rulesOf('p', 'data');
        expect(primary).toContain(`${rulePrefix}s1`);
        expect(primary).toContain(`${rulePrefix}s2`);
        for (const s of ['s1', 's2']) expect(await rulesOf(s, 'data')).not.toContain(rulePrefix);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );

    // Secondaries have no rules, and nothing on its way: the group is InSync.
    await eventually(
      async () => {
        const g = await getGroup(kube, ns, 'ps');
        const inSync = g.status?.conditions?.find((c) => c.type === 'InSync');
        expect({ status: inSync?.status, message: inSync?.message }).toMatchObject({
          status: 'True',
        });
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );

    // Objects and IAM made on the primary reach every secondary.
    await put('p', 'data', 'from-primary');
    for (const s of ['s1', 's2']) await arrives(s, 'data', 'from-primary');
    const dp2 = minioDriver(site('p'));
    await dp2.putUser('bob', { secretKey: 'bob-secret-12345', status: 'enabled' });
    dp2.close();
    await eventually(
      async () => {
        for (const s of ['s1', 's2'])
          expect((await snapshotOf(site(s))).iam.users.has('bob')).toBe(true);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );

    // A user made on a secondary by its root, and a bucket tag there, are reverted.
    const ds = minioDriver(site('s1'));
    await ds.putUser('mallory', { secretKey: 'mallory-secret-1', status: 'enabled' });
    await ds.putBucketTags('data', { owner: 's1' }, AbortSignal.timeout(10_000));
    ds.close();
    await eventually(
      async () => {
        const s1 = await snapshotOf(site('s1'));
        expect(s1.iam.users.has('mallory')).toBe(false);
        expect(s1.buckets.get('data')?.tags).toBeUndefined();
        const events = await groupEvents(ns, 'ps');
        const reverted = events.filter((e) => e.reason === 'SecondaryChangeReverted');
        expect(reverted.map((e) => e.message).join('\n')).toContain('s1: removed user:mallory');
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const p = await snapshotOf(site('p'));
    expect(p.iam.users.has('mallory')).toBe(false);
    expect(p.buckets.get('data')?.tags).toBeUndefined();

    // An object written on a secondary, and a deletion there, never reach the primary.
    await put('s1', 'data', 'from-secondary');
    await del('s2', 'data', 'from-primary');
    await put('p', 'data', 'marker');
    for (const s of ['s1', 's2']) await arrives(s, 'data', 'marker');
    await morePasses(3);
    expect((await stored('p', 'data')).sort()).toEqual(['from-primary', 'marker']);
    expect((await stored('s1', 'data')).sort()).toEqual([
      'from-primary',
      'from-secondary',
      'marker',
    ]);
    expect((await stored('s2', 'data')).sort()).toEqual(['marker']);
  }, 600_000);
});

describe('PrimarySecondary: fencing', () => {
  it("secondaries refuse every principal's writes but the group's replication; the primary accepts them", async () => {
    const { fence, lease } = await groupPolicyNames('ps');
    // Identities created on the primary after the group formed: a user, a group member, a
    // service account of alice.
    const dp = minioDriver(site('p'));
    await dp.putUser('carol', { secretKey: CAROL.secretKey, status: 'enabled' });
    await dp.setPolicyMapping('user', 'carol', ['readwrite']);
    await dp.putUser('dave', { secretKey: DAVE.secretKey, status: 'enabled' });
    await dp.putGroup('writers', { members: ['dave'], status: 'enabled' }, []);
    await dp.setPolicyMapping('group', 'writers', ['readwrite']);
    dp.close();
    await eventually(
      async () => {
        for (const s of ['s1', 's2']) {
          const snap = await snapshotOf(site(s));
          expect(snap.iam.userPolicies.get('alice')?.policies.sort()).toEqual(
            [fence, 'readwrite'].sort(),
          );
          expect(snap.iam.userPolicies.get('carol')?.policies.sort()).toEqual(
            [fence, 'readwrite'].sort(),
          );
          expect(snap.iam.userPolicies.get('dave')?.policies).toEqual([fence]);
          expect(snap.iam.groupPolicies.get('writers')?.policies.sort()).toEqual(
            [fence, 'readwrite'].sort(),
          );
        }
        // The primary's writers hold its write lease instead (in force once it runs out).
        const p = await snapshotOf(site('p'));
        expect(p.iam.policies.has(fence)).toBe(false);
        expect(p.iam.userPolicies.get('alice')?.policies.sort()).toEqual(
          [lease, 'readwrite'].sort(),
        );
        expect(p.iam.userPolicies.get('dave')?.policies).toEqual([lease]);
        expect(p.iam.groupPolicies.get('writers')?.policies.sort()).toEqual(
          [lease, 'readwrite'].sort(),
        );
        for (const s of ['s1', 's2']) {
          expect((await snapshotOf(site(s))).iam.policies.has(lease)).toBe(false);
        }
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );

    // On the primary every one of them writes and deletes; what they write reaches the
    // secondaries (the replication account is not fenced).
    for (const [who, creds] of [
      ['alice', ALICE],
      ['carol', CAROL],
      ['dave', DAVE],
    ] as const) {
      await put('p', 'data', `by-${who}`, creds);
    }
    await del('p', 'data', 'by-dave', DAVE);
    for (const s of ['s1', 's2']) await arrives(s, 'data', 'by-carol');

    // On a secondary each is refused, for writes and for deletes of what is there.
    for (const s of ['s1', 's2']) {
      for (const creds of [ALICE, CAROL, DAVE]) {
        await refused(put(s, 'data', `refused-${creds.accessKey}`, creds));
        await refused(del(s, 'data', 'by-carol', creds));
      }
    }
    expect(await read('s1', 'data', 'by-carol')).toBe('by-carol');

    // A service account of alice's, created on the primary later, inherits the fence.
    const admin = minioDriver(site('p'));
    await admin.putServiceAccount(
      {
        accessKey: ALICE_SA.accessKey,
        secretKey: ALICE_SA.secretKey,
        parent: 'alice',
        status: 'enabled',
        groups: [],
      },
      false,
      AbortSignal.timeout(10_000),
    );
    admin.close();
    await eventually(
      async () => {
        expect((await snapshotOf(site('s1'))).iam.serviceAccounts.has(ALICE_SA.accessKey)).toBe(
          true,
        );
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    await put('p', 'data', 'by-alice-sa', ALICE_SA);
    await refused(put('s1', 'data', 'by-alice-sa', ALICE_SA));

    // A user created on a secondary by its root is removed by the next pass (the root is not
    // fenced: docs/operations.md).
    const ds = minioDriver(site('s2'));
    await ds.putUser('eve', { secretKey: 'eve-secret-123456', status: 'enabled' });
    await ds.setPolicyMapping('user', 'eve', ['readwrite']);
    ds.close();
    await eventually(
      async () => {
        expect((await snapshotOf(site('s2'))).iam.users.has('eve')).toBe(false);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  }, 600_000);
});

interface Attempt {
  site: string;
  key: string;
  start: number;
  end: number;
  ok: boolean;
}

/** Writes as alice on every site every 100 ms until `stop` says so; every attempt recorded. */
async function writeEverywhere(stop: () => Promise<boolean>): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const clients = new Map(SITES.map((n) => [n, s3For(site(n), ALICE)]));
  try {
    for (let i = 0; ; i++) {
      const round = Date.now();
      await Promise.all(
        SITES.map(async (n) => {
          const key = `load/${n}/${String(i)}`;
          const start = Date.now();
          let ok = true;
          try {
            await clients
              .get(n)
              ?.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: key }));
          } catch {
            ok = false;
          }
          attempts.push({ site: n, key, start, end: Date.now(), ok });
        }),
      );
      if (await stop()) return attempts;
      const rest = 100 - (Date.now() - round);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  } finally {
    for (const c of clients.values()) c.destroy();
  }
}

/** One write of `key` to bucket `data` on `on` through `s3`, timed, accepted or not. */
async function writeOnce(s3: S3Client, on: string, key: string): Promise<Attempt> {
  const start = Date.now();
  let ok = true;
  try {
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: key }));
  } catch {
    ok = false;
  }
  return { site: on, key, start, end: Date.now(), ok };
}

/** Writes as alice on `on` every 200 ms until one is accepted; every attempt recorded. */
async function writeUntilAccepted(on: string): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const s3 = s3For(site(on), ALICE);
  try {
    for (let i = 0; i < 1500; i++) {
      const attempt = await writeOnce(s3, on, `until-accepted/${String(i)}`);
      attempts.push(attempt);
      if (attempt.ok) return attempts;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${on} accepted no write in ${String(attempts.length)} attempts`);
  } finally {
    s3.destroy();
  }
}

/**
 * No instant where two sites accepted: every write the old primary acknowledged ended before
 * the first one the new primary accepted started, and no other site accepted any.
 */
function oneWriterAtATime(attempts: readonly Attempt[], from: string, to: string): Attempt[] {
  const acked = attempts.filter((a) => a.ok);
  const on = (n: string) => acked.filter((a) => a.site === n);
  expect(on(from).length).toBeGreaterThan(0);
  expect(on(to).length).toBeGreaterThan(0);
  expect(acked.filter((a) => a.site !== from && a.site !== to)).toEqual([]);
  const lastOld = Math.max(...on(from).map((a) => a.end));
  const firstNew = Math.min(...on(to).map((a) => a.start));
  expect(lastOld).toBeLessThan(firstNew);
  return acked;
}

/** status.promotion shows every step, in order, with its timings. */
async function expectPromoted(from: string, to: string) {
  const g = await getGroup(kube, ns, 'ps');
  expect(g.status?.primary).toBe(to);
  const promotion = g.status?.promotion;
  if (!promotion) throw new Error('no status.promotion');
  expect(promotion).toMatchObject({ from, to, step: 'Done', waitingFor: '' });
  expect(promotion.steps.map((s) => s.name)).toEqual([
    'FenceOldPrimary',
    'WaitForSync',
    'SwitchLinks',
    'UnfenceNewPrimary',
  ]);
  const times = promotion.steps.map((s) => [Date.parse(s.startedAt), Date.parse(s.endedAt ?? '')]);
  for (const [start, end] of times) expect(end).toBeGreaterThanOrEqual(start ?? NaN);
  const took = (times.at(-1)?.[1] ?? NaN) - (times[0]?.[0] ?? NaN);
  console.log(`promotion ${from} -> ${to} took ${String(took)} ms`);
}

/** The expiry of the lease `on` holds (it must hold one). */
async function leaseOn(on: string, lease: string): Promise<Date> {
  const expiresAt = leaseExpiryOf((await snapshotOf(site(on))).iam.policies.get(lease));
  if (expiresAt === undefined) throw new Error(`${on} holds no lease ${lease}`);
  return expiresAt;
}

/** Writes as alice on `on` every 500 ms until `done` says so; every attempt recorded. */
async function writesUntil(on: string, done: () => Promise<boolean>): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const s3 = s3For(site(on), ALICE);
  try {
    for (let i = 0; i < 600; i++) {
      attempts.push(await writeOnce(s3, on, `writes-until/${String(i)}`));
      if (await done()) return attempts;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`not done after ${String(attempts.length)} writes on ${on}`);
  } finally {
    s3.destroy();
  }
}

describe('PrimarySecondary: the primary write lease', () => {
  it('a primary the operator no longer renews refuses writes once its lease ends, on its own; renewed, it accepts them again', async () => {
    const { fence, lease } = await groupPolicyNames('ps');
    await operator.stop('SIGTERM');
    try {
      // The lease as the primary holds it, now that nobody renews it.
      const expiresAt = leaseExpiryOf((await snapshotOf(site('p'))).iam.policies.get(lease));
      if (expiresAt === undefined) throw new Error(`p holds no lease ${lease}`);
      await put('p', 'data', 'lease-running', ALICE);
      expect(Date.now()).toBeLessThan(expiresAt.getTime());
      // Refused once it has ended (MinIO compares whole seconds): by the site alone.
      let n = 0;
      let refusedAt = 0;
      await eventually(
        async () => {
          n++;
          await refused(put('p', 'data', `lease-ended-${String(n)}`, ALICE));
          refusedAt = Date.now();
        },
        { timeoutMs: LEASE_MS * 6, intervalMs: 250 },
      );
      expect(refusedAt).toBeGreaterThanOrEqual(expiresAt.getTime());
      await refused(del('p', 'data', 'lease-running', ALICE));
      await refused(put('p', 'data', 'lease-ended-dave', DAVE));
      const p = await snapshotOf(site('p'));
      expect(p.iam.userPolicies.get('alice')?.policies).not.toContain(fence);
      expect(p.iam.policies.has(fence)).toBe(false);
    } finally {
      await operator.start();
    }
    // The operator back: the lease renewed, the primary writable, its writes replicated.
    await eventually(
      async () => {
        await put('p', 'data', 'lease-renewed', ALICE);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const s of ['s1', 's2']) await arrives(s, 'data', 'lease-renewed');

    // A paused group still renews the lease its primary holds, on time even when its
    // syncInterval is far longer than the lease: past the expiry it held once the pause was in
    // effect, the primary accepted every write.
    const pause = (paused: boolean, syncInterval: string) =>
      kube.patch(SRG_RESOURCE, { namespace: ns, name: 'ps' }, { spec: { paused, syncInterval } });
    await pause(true, '10m');
    try {
      await eventually(async () => {
        const g = await getGroup(kube, ns, 'ps');
        expect(findCondition(g.status?.conditions, 'Ready')?.reason).toBe('Paused');
      });
      const atPause = await leaseOn('p', lease);
      const attempts = await writesUntil('p', async () => {
        const now = await leaseOn('p', lease);
        return now.getTime() > atPause.getTime() && Date.now() > atPause.getTime() + 1000;
      });
      expect(attempts.filter((a) => !a.ok)).toEqual([]);
      expect(attempts.some((a) => a.start > atPause.getTime() + 1000)).toBe(true);
    } finally {
      await pause(false, '2s');
    }
  }, 300_000);
});

describe('PrimarySecondary: promotion', () => {
  it('moves the primary in tracked steps under load: never two writable sites, no acknowledged write lost', async () => {
    const { rulePrefix } = replicationAccountNames(
      (await getGroup(kube, ns, 'ps')).metadata.uid ?? '',
    );
    let done = false;
    let doneAt = Infinity;
    const load = writeEverywhere(async () => {
      if (!done) {
        const g = await getGroup(kube, ns, 'ps');
        if (g.status?.promotion?.step === 'Done' && g.status.primary === 's1') {
          done = true;
          doneAt = Date.now();
        }
      }
      return done && Date.now() - doneAt > 1500;
    });
    await kube.patch(SRG_RESOURCE, { namespace: ns, name: 'ps' }, { spec: { primary: 's1' } });
    const attempts = await load;

    const acked = oneWriterAtATime(attempts, 'p', 's1');
    await expectPromoted('p', 's1');

    // Every acknowledged write is on the new primary; links now run from it.
    const held = new Set(await stored('s1', 'data'));
    expect(acked.filter((a) => !held.has(a.key)).map((a) => a.key)).toEqual([]);
    await eventually(
      async () => {
        const rules = await rulesOf('s1', 'data');
        expect(rules).toContain(`${rulePrefix}p`);
        expect(rules).toContain(`${rulePrefix}s2`);
        expect(await rulesOf('p', 'data')).not.toContain(rulePrefix);
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    await put('s1', 'data', 'after-promotion', ALICE);
    for (const s of ['p', 's2']) await arrives(s, 'data', 'after-promotion');
    await refused(put('p', 'data', 'old-primary', ALICE));
  }, 600_000);
});

/** A forced promotion's new primary unfenced after oldLeaseEndsAt, no write accepted before. */
async function unfencedAfterOldLease(attempts: readonly Attempt[]): Promise<number> {
  const promotion = (await getGroup(kube, ns, 'ps')).status?.promotion;
  if (!promotion) throw new Error('no status.promotion');
  const leaseEndsAt = Date.parse(promotion.oldLeaseEndsAt ?? '');
  expect(leaseEndsAt).toBeGreaterThan(0);
  const step = (name: string) => promotion.steps.find((s) => s.name === name)?.startedAt ?? '';
  console.log(
    `forced promotion: links switched from ${step('SwitchLinks')}, old lease ends ${promotion.oldLeaseEndsAt ?? ''}, new primary unfenced ${step('UnfenceNewPrimary')}`,
  );
  expect(Date.parse(step('UnfenceNewPrimary'))).toBeGreaterThanOrEqual(leaseEndsAt);
  expect(attempts.filter((a) => a.ok && a.end < leaseEndsAt)).toEqual([]);
  expect(attempts.some((a) => a.ok)).toBe(true);
  return leaseEndsAt;
}

describe('PrimarySecondary: forced promotion', () => {
  it('promotes without the stopped primary only when annotated; the returning old primary is fenced and its unreplicated write listed as divergent', async () => {
    // s1 is the primary now. A write on it that cannot replicate (its secondaries are down),
    // then s1 stops.
    await Promise.all([site('p').stop(), site('s2').stop()]);
    await put('s1', 'data', 'unreplicated', ALICE);
    await site('s1').stop();
    await Promise.all([site('p').restart(), site('s2').restart()]);

    await kube.patch(SRG_RESOURCE, { namespace: ns, name: 'ps' }, { spec: { primary: 'p' } });
    // Without the annotation the promotion waits at its first step and says why.
    await eventually(
      async () => {
        const promotion = (await getGroup(kube, ns, 'ps')).status?.promotion;
        expect(promotion).toMatchObject({ from: 's1', to: 'p', step: 'FenceOldPrimary' });
        expect(promotion?.waitingFor).toContain('sitesync.io/force-promote=p');
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await refused(put('p', 'data', 'not-yet', ALICE));
    await kube.patch(
      SRG_RESOURCE,
      { namespace: ns, name: 'ps' },
      { metadata: { annotations: { 'sitesync.io/force-promote': 'p' } } },
    );
    // Writes on the new primary from the annotation on, until one is accepted.
    const attempts = await writeUntilAccepted('p');
    await eventually(
      async () => {
        const g = await getGroup(kube, ns, 'ps');
        expect(g.status?.primary).toBe('p');
        expect(g.status?.promotion).toMatchObject({
          from: 's1',
          to: 'p',
          step: 'Done',
          forced: true,
        });
        expect(g.status?.promotion?.steps[0]?.message).toContain('skipped');
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    // The new primary was unfenced only once the old primary's lease had ended, and accepted no
    // write that ended before that.
    const leaseEndsAt = await unfencedAfterOldLease(attempts);
    await put('p', 'data', 'on-new-primary', ALICE);
    await refused(put('s2', 'data', 'on-secondary', ALICE));

    // The old primary comes back while no operator runs: its lease has ended, so its very first
    // write is refused, by the site alone (its writers hold the lease, not the fence), and the
    // lease it holds ended before the new primary was unfenced (with the skew margin).
    const { fence, lease } = await groupPolicyNames('ps');
    await operator.stop('SIGTERM');
    try {
      await site('s1').restart();
      await refused(put('s1', 'data', 'first-after-return', ALICE));
      await refused(del('s1', 'data', 'unreplicated', ALICE));
      const back = await snapshotOf(site('s1'));
      expect(back.iam.userPolicies.get('alice')?.policies.sort()).toEqual(
        [lease, 'readwrite'].sort(),
      );
      expect(back.iam.policies.has(fence)).toBe(false);
      const held = leaseExpiryOf(back.iam.policies.get(lease));
      if (held === undefined) throw new Error(`s1 holds no lease ${lease}`);
      expect(held.getTime() + SKEW_MS).toBeLessThanOrEqual(leaseEndsAt);
    } finally {
      await operator.start();
    }

    // The operator fences it, lists its unreplicated write, never copies it.
    await eventually(
      async () => {
        const promotion = (await getGroup(kube, ns, 'ps')).status?.promotion;
        expect(promotion?.divergent).toContain('data/unreplicated');
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    await refused(put('s1', 'data', 'after-return', ALICE));
    await arrives('s1', 'data', 'on-new-primary');
    expect(await stored('p', 'data')).not.toContain('unreplicated');
    expect(await stored('s2', 'data')).not.toContain('unreplicated');
    expect(await stored('s1', 'data')).toContain('unreplicated');
  }, 600_000);
});

describe('PrimarySecondary: update-primary (sites reached at new endpoints)', () => {
  it('the primary and a secondary moved in spec: links follow, the primary stays leased and writable, the secondary fenced', async () => {
    const { fence, lease } = await groupPolicyNames('ps');
    const primary = (await getGroup(kube, ns, 'ps')).status?.primary ?? '';
    expect(SITES).toContain(primary);
    const secondary = SITES.find((n) => n !== primary && n !== 's1') ?? '';
    // The same servers under another name their certificates hold (localhost, not 127.0.0.1).
    const moved = (n: string) => site(n).endpoint.replace('127.0.0.1', 'localhost');
    const sites = SITES.map((n) =>
      siteSpec(n, site(n), n === primary || n === secondary ? { endpoint: moved(n) } : {}),
    );
    await kube.patch(SRG_RESOURCE, { namespace: ns, name: 'ps' }, { spec: { sites } });
    const port = new URL(site(secondary).endpoint).port;
    await eventually(
      async () => {
        const targets = (await snapshotOf(site(primary))).buckets.get('data')?.targets ?? [];
        const towards = targets.map((t) => t.endpoint).filter((e) => e.endsWith(`:${port}`));
        expect(towards).toEqual([moved(secondary)]);
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await waitReady(kube, ns, 'ps');
    await put(primary, 'data', 'after-move', ALICE);
    for (const n of SITES.filter((x) => x !== primary)) await arrives(n, 'data', 'after-move');
    await refused(put(secondary, 'data', 'moved-secondary', ALICE));
    const [p, s] = await Promise.all([snapshotOf(site(primary)), snapshotOf(site(secondary))]);
    expect(p.iam.userPolicies.get('alice')?.policies).toContain(lease);
    expect(leaseExpiryOf(p.iam.policies.get(lease))?.getTime()).toBeGreaterThan(Date.now());
    expect(s.iam.userPolicies.get('alice')?.policies).toContain(fence);
  }, 300_000);
});

describe('PrimarySecondary: deleting the group', () => {
  it('takes the fence off its secondaries and keeps every object', async () => {
    const { fence, lease } = await groupPolicyNames('ps');
    const before = await stored('s2', 'data');
    expect((await snapshotOf(site('s2'))).iam.policies.has(fence)).toBe(true);
    expect((await snapshotOf(site('p'))).iam.policies.has(lease)).toBe(true);
    await mustKubectl(['delete', 'srg', 'ps', '-n', ns, '--wait=true', '--timeout=90s']);
    for (const n of SITES) {
      const snap = await snapshotOf(site(n));
      expect(snap.iam.policies.has(fence)).toBe(false);
      expect(snap.iam.policies.has(lease)).toBe(false);
      expect(snap.iam.userPolicies.get('alice')?.policies).toEqual(['readwrite']);
    }
    expect(await stored('s2', 'data')).toEqual(before);
    await put('s2', 'data', 'after-delete', ALICE);
  }, 300_000);
});

/** Every version a site stores, as `key@versionId` (delete markers too). */
async function versions(on: string, bucket: string): Promise<string[]> {
  const s3 = s3For(site(on));
  try {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    return [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])]
      .map((v) => `${v.Key ?? ''}@${v.VersionId ?? ''}`)
      .sort();
  } finally {
    s3.destroy();
  }
}

describe('ActiveActive -> PrimarySecondary -> ActiveActive on a live group', () => {
  it('moves no data, and links and fences end as the mode says', async () => {
    for (const n of ['fx', 'fy']) {
      const s = await startThrowawayMinio(`ps-${n}`);
      servers.set(n, s);
      await putCredentials(ns, `${n}-credentials`, s);
    }
    const dfx = minioDriver(site('fx'));
    await dfx.createBucket('flip');
    await dfx.putUser('alice', { secretKey: ALICE.secretKey, status: 'enabled' });
    await dfx.setPolicyMapping('user', 'alice', ['readwrite']);
    dfx.close();
    const sites = ['fx', 'fy'].map((n) => siteSpec(n, site(n)));
    await applyGroup(ns, groupManifest('flip', sites, { primary: 'fx' }));
    await waitReady(kube, ns, 'flip');
    const { rulePrefix } = replicationAccountNames(
      (await getGroup(kube, ns, 'flip')).metadata.uid ?? '',
    );
    const { fence, lease } = await groupPolicyNames('flip');
    await put('fx', 'flip', 'from-x', ALICE);
    await put('fy', 'flip', 'from-y', ALICE);
    await arrives('fy', 'flip', 'from-x');
    await arrives('fx', 'flip', 'from-y');
    await eventually(
      async () => {
        expect(await versions('fx', 'flip')).toEqual(await versions('fy', 'flip'));
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const before = await versions('fx', 'flip');

    const mode = (m: string) =>
      kube.patch(SRG_RESOURCE, { namespace: ns, name: 'flip' }, { spec: { mode: m } });
    await mode('PrimarySecondary');
    await eventually(
      async () => {
        expect(await rulesOf('fx', 'flip')).toContain(`${rulePrefix}fy`);
        expect(await rulesOf('fy', 'flip')).not.toContain(rulePrefix);
        const y = await snapshotOf(site('fy'));
        expect(y.iam.userPolicies.get('alice')?.policies).toContain(fence);
        const x = await snapshotOf(site('fx'));
        expect(x.iam.userPolicies.get('alice')?.policies).toContain(lease);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    await refused(put('fy', 'flip', 'refused', ALICE));
    await waitReady(kube, ns, 'flip');
    expect(await versions('fx', 'flip')).toEqual(before);
    expect(await versions('fy', 'flip')).toEqual(before);

    await mode('ActiveActive');
    await eventually(
      async () => {
        expect(await rulesOf('fx', 'flip')).toContain(`${rulePrefix}fy`);
        expect(await rulesOf('fy', 'flip')).toContain(`${rulePrefix}fx`);
        const y = await snapshotOf(site('fy'));
        expect(y.iam.userPolicies.get('alice')?.policies).toEqual(['readwrite']);
        expect(y.iam.policies.has(fence)).toBe(false);
        const x = await snapshotOf(site('fx'));
        expect(x.iam.userPolicies.get('alice')?.policies).toEqual(['readwrite']);
        expect(x.iam.policies.has(lease)).toBe(false);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    await waitReady(kube, ns, 'flip');
    expect(await versions('fx', 'flip')).toEqual(before);
    expect(await versions('fy', 'flip')).toEqual(before);
    await put('fy', 'flip', 'from-y-again', ALICE);
    await arrives('fx', 'flip', 'from-y-again');
  }, 600_000);
});
