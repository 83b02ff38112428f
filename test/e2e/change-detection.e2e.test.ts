/**
 * `spec.changeDetection: events` end to end: the built operator process with its change
 * receiver, the real apiserver and three real MinIO sites posting their audit entries to it.
 * syncInterval is 10m, so anything that reaches the other sites within the test came through a
 * targeted pass; passes are counted from the operator's metrics
 * (`sitesync_group_passes_total{kind}`), and every check reads the sites themselves.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, fetch as undiciFetch } from 'undici';
import { stringify } from 'yaml';

import { SRG_RESOURCE } from '../../src/api/names.js';
import type { SiteReplicationGroup } from '../../src/api/site-replication-group.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { type KubeClient, SECRETS, isNotFound } from '../../src/runtime/kube-client.js';
import type { Secret } from '../../src/runtime/secrets.js';
import { MinioAdminClient } from '../../src/sites/minio/admin/admin-client.js';
import type { SiteSnapshot } from '../../src/sites/snapshot.js';
import { eventually } from '../support/eventually.js';
import { applyCrds, createNamespace, kubeClient, mustKubectl, stack } from '../support/kube.js';
import { minioDriver, startThrowawayMinio, type ThrowawayMinio } from '../support/minio.js';
import { OperatorProcess } from '../support/operator.js';
import { ensureCaSecret, siteSpec } from '../support/site-spec.js';
import { freePort, sitesCa, STACK_DIR } from '../support/stack.js';
import { publicReadPolicy } from '../support/seed.js';

const GROUP = 'live';
const SITES = ['site-a', 'site-b', 'site-c'] as const;
/** Far longer than the test: every change that arrives came through a targeted pass. */
const SYNC_INTERVAL = '10m';
/** Long before the next full pass (10 minutes away). */
const ARRIVES_MS = 60_000;

let client: KubeClient;
let ns: string;
let operator: OperatorProcess;
let receiverURL: string;
let agent: Agent;
const servers = new Map<string, ThrowawayMinio>();

const driver = (name: string) => minioDriver(server(name), { name: 'check' });

function server(name: string): ThrowawayMinio {
  const s = servers.get(name);
  if (!s) throw new Error(`no site ${name}`);
  return s;
}

async function onSite<T>(name: string, fn: (d: ReturnType<typeof driver>) => Promise<T>) {
  const d = driver(name);
  try {
    return await fn(d);
  } finally {
    d.close();
  }
}

const snapshotOf = (name: string): Promise<SiteSnapshot> => onSite(name, (d) => d.snapshot());

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

function operatorProcess(port: number): OperatorProcess {
  return new OperatorProcess({
    KUBECONFIG: stack().kubeconfig,
    WATCH_NAMESPACE: ns,
    LOG_LEVEL: 'debug',
    SITE_TIMEOUT_MS: '5000',
    // The stack's MinIO certificate (localhost, 127.0.0.1; the sites' CA, which every site
    // trusts through its certs/CAs directory) serves the receiver too.
    CHANGE_RECEIVER_PORT: String(port),
    CHANGE_RECEIVER_HOST: '127.0.0.1',
    CHANGE_RECEIVER_CERT_FILE: `${STACK_DIR}/pki/minio.crt`,
    CHANGE_RECEIVER_KEY_FILE: `${STACK_DIR}/pki/minio.key`,
    CHANGE_RECEIVER_URL: `https://127.0.0.1:${port}`,
  });
}

/** The sum of a metric's samples whose labels include `labels`. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await operator.metrics();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const want = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (want) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const passes = (kind: 'full' | 'targeted') =>
  metric('sitesync_group_passes_total', { group: GROUP, kind });

/** The operator's log lines that say why a pass observed every site (for failure messages). */
function whyFullLines(): string[] {
  return readFileSync(operator.logFile, 'utf8')
    .split('\n')
    .filter((l) => /Observing every site|Could not run a targeted pass|"failed"/.test(l))
    .slice(-6);
}

/** No full pass since `before` (else: which ones came, and why, from the operator's log). */
async function expectNoFullPass(before: Record<string, number>) {
  const now = await fullPasses();
  if (JSON.stringify(now) !== JSON.stringify(before)) {
    throw new Error(
      `full passes ran: ${JSON.stringify(before)} -> ${JSON.stringify(now)}\n${whyFullLines().join('\n')}`,
    );
  }
}

/** The group's full passes by why they were full (a failure shows which one came). */
async function fullPasses(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await operator.metrics()).split('\n')) {
    if (!line.startsWith('sitesync_group_passes_total{')) continue;
    if (!line.includes(`group="${GROUP}"`) || !line.includes('kind="full"')) continue;
    const reason = /reason="([^"]*)"/.exec(line)?.[1] ?? '';
    out[reason] = (out[reason] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

async function getGroup(): Promise<SiteReplicationGroup> {
  return client.get<SiteReplicationGroup>(SRG_RESOURCE, ns, GROUP);
}

async function groupToken(): Promise<string> {
  const s = await client.get<Secret>(SECRETS, ns, `${GROUP}-sitesync-hints`);
  return Buffer.from(s.data?.['token'] ?? '', 'base64').toString('utf8');
}

/** What must be equal on every site for this test's changes. */
function comparable(s: SiteSnapshot) {
  const mine = (n: string) => !n.startsWith('sitesync-');
  return JSON.stringify({
    buckets: [...s.buckets.values()].map((b) => [b.name, b.policy ?? null, b.tags ?? null]).sort(),
    users: [...s.iam.users.keys()].filter(mine).sort(),
    policies: [...s.iam.policies.keys()].filter(mine).sort(),
    userPolicies: [...s.iam.userPolicies]
      .filter(([n]) => mine(n))
      .map(([n, m]) => [n, m.policies])
      .sort(),
    groups: [...s.iam.groups].map(([n, g]) => [n, [...g.members].sort()]).sort(),
  });
}

async function expectEqualSites() {
  const snaps = await Promise.all(SITES.map((n) => snapshotOf(n)));
  const [first, ...rest] = snaps.map(comparable);
  for (const r of rest) expect(r).toBe(first);
  return snaps;
}

/** A condition on sites a and c, read with their own clients, within ARRIVES_MS. */
async function arrives(what: string, check: (s: SiteSnapshot) => void) {
  await eventually(
    async () => {
      for (const n of ['site-a', 'site-c']) {
        const snap = await snapshotOf(n);
        try {
          check(snap);
        } catch (e: unknown) {
          throw new Error(`${what} not on ${n} yet: ${e instanceof Error ? e.message : ''}`);
        }
      }
    },
    { timeoutMs: ARRIVES_MS, intervalMs: 100 },
  );
}

const readOnly = (bucket: string) => ({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
  ],
});

/** The targeted passes reach `n` (a pass is counted once it ends, after its writes). */
async function targetedReach(n: number) {
  await eventually(
    async () => {
      const targeted = await passes('targeted');
      // On failure, the full passes say what took the change instead.
      if (targeted < n) {
        throw new Error(
          `${String(targeted)} targeted passes, not ${String(n)}; full passes: ${JSON.stringify(await fullPasses())}\n${whyFullLines().join('\n')}`,
        );
      }
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

let barriers = 0;

/** A reconcile's start, end and, when it asked for one soon, when its requeue came due. */
function reconcileEnd(line: string): { start: number; end: number; due: number | undefined } {
  const r = JSON.parse(line) as { time: string; startedAt?: string; nextAt?: string };
  const end = Date.parse(r.time);
  const start = r.startedAt === undefined ? end : Date.parse(r.startedAt);
  // A failure or a backoff is due at once; a requeue at the sync interval is not waited for.
  if (!line.includes('"msg":"Reconciled"') || line.includes('"backoff":true')) {
    return { start, end, due: end };
  }
  const next = r.nextAt === undefined ? Infinity : Date.parse(r.nextAt);
  return { start, end, due: next - end < 60_000 ? next : undefined };
}

/** The log lines of the group's reconciles' ends, since the operator process last started. */
function groupReconcileLines(): string[] {
  let out: string[] = [];
  for (const line of readFileSync(operator.logFile, 'utf8').split('\n')) {
    if (!line.includes('"controller":"sitereplicationgroup"')) continue;
    // A restarted operator (the same log file) starts afresh: the old one's timers went with it.
    if (line.includes('"msg":"Caches synced, starting workers"')) out = [];
    if (!line.includes(`"namespace":"${ns}"`) || !line.includes(`"name":"${GROUP}"`)) continue;
    if (line.includes('retrying with backoff') || line.includes('"msg":"Reconciled"')) {
      out.push(line);
    }
  }
  return out;
}

/**
 * Whether a requeue the operator scheduled for the group has not run yet: a pass that wrote
 * verifies 2 s later, a verification goes on in slices, a failure retries with backoff. Each
 * reconcile's end is logged (`Reconciled`, with its start and requeue). Replayed as the
 * operator's work queue keeps them: one timer per key, the earliest kept, spent by the first
 * reconcile that starts once it is due.
 */
function requeuePending(): boolean {
  const events: { at: number; due?: number | undefined }[] = [];
  for (const line of groupReconcileLines()) {
    const r = reconcileEnd(line);
    events.push({ at: r.start }, { at: r.end, due: r.due });
  }
  let waiting: number | undefined;
  for (const e of events.sort((a, b) => a.at - b.at)) {
    if (e.due === undefined && waiting !== undefined && waiting <= e.at) waiting = undefined;
    if (e.due !== undefined && (waiting === undefined || e.due < waiting)) waiting = e.due;
  }
  return waiting !== undefined;
}

/**
 * Changes made on b as barriers, until one arrives by a targeted pass alone and no requeue is
 * pending: every full pass asked for before (each site's first report asks for one, a pass
 * that wrote verifies) has run.
 */
async function settle() {
  await eventually(
    async () => {
      expect(requeuePending()).toBe(false);
      const full = await passes('full');
      const targeted = await passes('targeted');
      const name = `barrier-${String(barriers++)}`;
      await onSite('site-b', (d) => d.putPolicy(name, readOnly(name)));
      await arrives(name, (s) => {
        expect(s.iam.policies.has(name)).toBe(true);
      });
      await targetedReach(targeted + 1);
      expect(await passes('full')).toBe(full);
      expect(requeuePending()).toBe(false);
    },
    { timeoutMs: 90_000, intervalMs: 100 },
  );
}

/** POSTs a report to the receiver as a site would (trusting the sites' CA). */
function post(path: string, headers: Record<string, string>, body: string) {
  return undiciFetch(`${receiverURL}${path}`, {
    method: 'POST',
    headers,
    body,
    dispatcher: agent,
  });
}

/** An audit entry as MinIO writes it (field order as Go marshals madmin-go's audit.Entry). */
function auditEntry(deployment: string, name: string, bucket: string, i: number): string {
  return JSON.stringify({
    version: '1',
    deploymentid: deployment,
    time: new Date().toISOString(),
    event: '',
    trigger: 'incoming',
    api: { name, bucket, object: `data/obj-${i}.txt`, status: 'OK', statusCode: 200 },
    remotehost: '127.0.0.1',
    requestID: `req-${i}`,
    userAgent: 'aws-sdk-js/3',
    requestQuery: {},
    requestHeader: { 'User-Agent': 'aws-sdk-js/3' },
    accessKey: 'someone',
  });
}

async function auditTargets(name: string): Promise<string[]> {
  const s = server(name);
  const admin = new MinioAdminClient({
    site: name,
    endpoint: s.endpoint,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    ca: sitesCa(),
  });
  try {
    const kv = await admin.getConfigKV('audit_webhook');
    return kv.subsystems
      .filter((x) => x.values['endpoint'] !== undefined && x.values['endpoint'] !== '')
      .map((x) => x.target)
      .sort();
  } finally {
    await admin.close();
  }
}

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('cd-e2e');
  await ensureCaSecret(ns, client);
  agent = new Agent({ connect: { ca: sitesCa() } });
  for (const n of SITES) {
    const s = await startThrowawayMinio(`e2e-${n}`);
    servers.set(n, s);
    await putCredentials(n, s.accessKey, s.secretKey);
  }
  const port = await freePort();
  receiverURL = `https://127.0.0.1:${port}`;
  operator = operatorProcess(port);
  await operator.start();
}, 120_000);

afterAll(async () => {
  await operator.stop('SIGTERM');
  await Promise.all([...servers.values()].map((s) => s.stop()));
  await agent.close();
});

describe('a group with change detection on and syncInterval 10m', () => {
  it('configures a named audit target on every site and hears from each', async () => {
    await mustKubectl(
      ['apply', '-n', ns, '-f', '-'],
      stringify({
        apiVersion: 'sitesync.io/v1alpha1',
        kind: 'SiteReplicationGroup',
        metadata: { name: GROUP },
        spec: {
          primary: 'site-a',
          syncInterval: SYNC_INTERVAL,
          changeDetection: 'events',
          sites: SITES.map((n) => siteSpec(n, server(n))),
        },
      }),
    );
    const g = await eventually(
      async () => {
        const now = await getGroup();
        expect(findCondition(now.status?.conditions, 'Ready')?.status).toBe('True');
        return now;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const target = `sitesync-${g.metadata.uid ?? ''}`;
    for (const n of SITES) expect(await auditTargets(n)).toContain(target);
    // Every site's reports reach the receiver (the full pass's own reads are audited too),
    // and a full pass after that says so.
    await eventually(
      async () => {
        const now = await getGroup();
        expect(now.status?.changeDetection).toEqual({
          mode: 'events',
          sites: [...SITES],
          message: 'Every site reports its changes to the operator',
        });
        expect(findCondition(now.status?.conditions, 'Ready')?.status).toBe('True');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await settle();
  }, 180_000);

  it('brings a user, a policy, a membership, a bucket policy, a bucket and its removal from b to a and c by targeted passes', async () => {
    const fullBefore = await fullPasses();
    const targetedBefore = await passes('targeted');
    /** Mutating calls made on b (each is reported). */
    let calls = 0;
    /** A change on b (`n` calls), read on a and c, and the end of the pass that brought it. */
    const step = async (
      what: string,
      change: (d: ReturnType<typeof driver>) => Promise<void>,
      check: (s: SiteSnapshot) => void,
      n = 1,
    ) => {
      const before = await passes('targeted');
      calls += n;
      await onSite('site-b', change);
      await arrives(what, check);
      await targetedReach(before + 1);
    };

    await step(
      'the user',
      (d) => d.putUser('live-user', { secretKey: 'live-user-secret-1', status: 'enabled' }),
      (s) => {
        expect(s.iam.users.has('live-user')).toBe(true);
      },
    );
    const doc = JSON.parse(publicReadPolicy('live-bucket', 'pub/')) as unknown;
    await step(
      'the policy',
      (d) => d.putPolicy('live-policy', doc),
      (s) => {
        expect(s.iam.policies.has('live-policy')).toBe(true);
      },
    );
    await step(
      'the membership',
      (d) => d.putGroup('live-team', { members: ['live-user'], status: 'enabled' }, []),
      (s) => {
        expect(s.iam.groups.get('live-team')?.members).toEqual(['live-user']);
      },
      // UpdateGroupMembers then SetGroupStatus: the 10 ms quiet time may make them two passes.
      2,
    );
    await step(
      'the bucket',
      (d) => d.createBucket('live-bucket'),
      (s) => {
        expect(s.buckets.has('live-bucket')).toBe(true);
      },
    );
    await step(
      'the bucket policy',
      (d) => d.putBucketPolicy('live-bucket', publicReadPolicy('live-bucket', 'pub/')),
      (s) => {
        expect(s.buckets.get('live-bucket')?.policy).toBeDefined();
      },
    );
    // Its pass ends (links made on every site) before it goes: a removal while the links are
    // made would be a failed write, which the next full pass takes over.
    await step(
      'the second bucket',
      (d) => d.createBucket('live-gone'),
      (s) => {
        expect(s.buckets.has('live-gone')).toBe(true);
      },
    );
    await step(
      'the bucket removal',
      async (d) => {
        await d.deleteBucketIfEmpty('live-gone');
      },
      (s) => {
        expect(s.buckets.has('live-gone')).toBe(false);
      },
    );

    await expectEqualSites();
    // No full pass ran: all of it came through targeted passes.
    await expectNoFullPass(fullBefore);
    const targeted = (await passes('targeted')) - targetedBefore;
    // The operator's own writes on a and c are reported and dropped: at most one pass per
    // call made on b (an echo would add one for every write it made on a and c).
    expect(targeted).toBeLessThanOrEqual(calls);
    expect(await metric('sitesync_change_entries_total', { kind: 'own' })).toBeGreaterThan(0);

    // A last change as a barrier: the reports of every earlier write were posted before it.
    await step(
      'the barrier',
      (d) => d.putBucketTags('live-bucket', { barrier: '1' }),
      (s) => {
        expect(s.buckets.get('live-bucket')?.tags).toEqual({ barrier: '1' });
      },
    );
    await expectNoFullPass(fullBefore);
    expect((await passes('targeted')) - targetedBefore).toBeLessThanOrEqual(calls);
  }, 240_000);
});

describe('the change receiver', () => {
  it("refuses reports without the group's token and from deployments not in the group", async () => {
    const g = await getGroup();
    const uid = g.metadata.uid ?? '';
    const token = await groupToken();
    const b = await snapshotOf('site-b');
    const body = auditEntry(b.deploymentID, 'AddUser', '', 0);
    const path = `/v1/hints/${uid}`;
    const site = { 'x-minio-deployment-id': b.deploymentID };

    expect((await post(path, site, body)).status).toBe(401);
    expect(
      (await post(path, { ...site, authorization: 'Bearer not-the-token' }, body)).status,
    ).toBe(401);
    const foreign = { 'x-minio-deployment-id': 'not-a-site', authorization: `Bearer ${token}` };
    expect((await post(path, foreign, body)).status).toBe(403);
    // Another group's token does not open this one.
    expect(
      (await post('/v1/hints/no-such-group', { ...site, authorization: `Bearer ${token}` }, body))
        .status,
    ).toBe(404);

    // An entry that names another deployment than the site posting it is not taken.
    const hintsBefore = await metric('sitesync_change_entries_total', { kind: 'hint' });
    const mixed = await post(
      path,
      { ...site, authorization: `Bearer ${token}` },
      auditEntry('another-deployment', 'AddUser', '', 1),
    );
    expect(mixed.status).toBe(200);
    expect(await mixed.text()).toContain('foreign entries');
    expect(await metric('sitesync_change_entries_total', { kind: 'hint' })).toBe(hintsBefore);
  });

  it('discards 10 000 GetObject entries without a pass', async () => {
    const uid = (await getGroup()).metadata.uid ?? '';
    const token = await groupToken();
    const b = await snapshotOf('site-b');
    const headers = {
      'x-minio-deployment-id': b.deploymentID,
      authorization: `Bearer ${token}`,
    };
    const full = await passes('full');
    const targeted = await passes('targeted');
    const hints = await metric('sitesync_change_entries_total', { kind: 'hint' });
    const ignored = await metric('sitesync_change_entries_total', { kind: 'ignored' });
    const [posts, perPost] = [100, 100];
    for (let p = 0; p < posts; p++) {
      const lines = Array.from({ length: perPost }, (_, i) =>
        auditEntry(b.deploymentID, 'GetObject', 'live-bucket', p * perPost + i),
      );
      const res = await post(`/v1/hints/${uid}`, headers, lines.join('\n'));
      expect(res.status).toBe(200);
      await res.text();
    }
    // The site's own reports (the check's reads) count as ignored too: at least the flood.
    expect(
      (await metric('sitesync_change_entries_total', { kind: 'ignored' })) - ignored,
    ).toBeGreaterThanOrEqual(posts * perPost);
    expect(await metric('sitesync_change_entries_total', { kind: 'hint' })).toBe(hints);
    // A real change after the flood: it arrives, and it is the only pass since.
    await onSite('site-b', (d) => d.putBucketTags('live-bucket', { after: 'flood' }));
    await arrives('the change after the flood', (s) => {
      expect(s.buckets.get('live-bucket')?.tags).toEqual({ after: 'flood' });
    });
    await targetedReach(targeted + 1);
    expect(await passes('full')).toBe(full);
    expect((await passes('targeted')) - targeted).toBe(1);
  }, 120_000);
});

describe('a report the receiver cannot read', () => {
  it('is answered 200 (MinIO would retry it forever) and makes the next pass a full one', async () => {
    const uid = (await getGroup()).metadata.uid ?? '';
    const token = await groupToken();
    const b = await snapshotOf('site-b');
    const full = await passes('full');
    const lines: string[] = [];
    // Past the 1 MiB cap: the body is drained unread.
    for (let i = 0; lines.join('\n').length <= 1024 * 1024; i++) {
      lines.push(auditEntry(b.deploymentID, 'PutObject', 'live-bucket', i));
    }
    const res = await post(
      `/v1/hints/${uid}`,
      { 'x-minio-deployment-id': b.deploymentID, authorization: `Bearer ${token}` },
      lines.join('\n'),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('lost');
    await eventually(
      async () => {
        expect(await passes('full')).toBeGreaterThan(full);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  });
});

describe('a receiver that was down', () => {
  it('delivers what changed meanwhile through the catch-up pass, then takes reports again', async () => {
    const port = Number(new URL(receiverURL).port);
    await operator.stop('SIGTERM');
    await onSite('site-b', (d) =>
      d.putUser('while-down', { secretKey: 'while-down-secret-1', status: 'enabled' }),
    );
    await onSite('site-b', (d) => d.createBucket('while-down-bucket'));
    operator = operatorProcess(port);
    await operator.start();
    await arrives('the changes made while the receiver was down', (s) => {
      expect(s.iam.users.has('while-down')).toBe(true);
      expect(s.buckets.has('while-down-bucket')).toBe(true);
    });
    // Reports are taken again: changes arrive by targeted passes alone.
    await settle();
    await expectEqualSites();
  }, 240_000);
});

describe('deleting the group', () => {
  it('removes its audit target from every site and its token Secret', async () => {
    const uid = (await getGroup()).metadata.uid ?? '';
    await mustKubectl(['delete', 'srg', GROUP, '-n', ns, '--wait=true', '--timeout=90s']);
    for (const n of SITES) expect(await auditTargets(n)).not.toContain(`sitesync-${uid}`);
    // The token Secret carries the group's owner reference: the garbage collector removes it.
    await eventually(
      async () => {
        const gone = await client.get(SECRETS, ns, `${GROUP}-sitesync-hints`).then(
          () => false,
          (e: unknown) => isNotFound(e),
        );
        expect(gone).toBe(true);
      },
      { timeoutMs: 60_000 },
    );
  }, 150_000);
});
