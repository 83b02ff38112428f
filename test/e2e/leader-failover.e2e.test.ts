/**
 * Two operator processes (the built dist/main.js) under leader election, on the real apiserver
 * and real MinIO sites. The leader's lease renewals are stalled by a loopback proxy between it
 * and the apiserver (its other requests pass, recorded with their times); the other replica
 * takes the lease over. From the new leader's acquireTime on, the old one must write nothing:
 * no site write, no status, ConfigMap or Event write.
 *
 * The old leader is kept busy both ways a deposed leader could do harm:
 * - group `steady` (two healthy sites) is reconciled every sync interval, each pass refreshing
 *   its status: a leader that did not notice in time that its renewals failed would go on
 *   writing it;
 * - group `g` has a site that accepts connections and never answers (a broken peer), so its
 *   pass waits the whole site timeout (2 min) observing, then would copy a seeded bucket and
 *   write status: a leader that let an in-flight pass run on would write after the takeover.
 */
import { writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { SRG_RESOURCE } from '../../src/api/names.js';
import type { SiteReplicationGroup } from '../../src/api/site-replication-group.js';
import { type KubeClient, LEASES, SECRETS } from '../../src/runtime/kube-client.js';
import type { Lease } from '../../src/runtime/leader-election.js';
import { type RecordingProxy, startRecordingProxy } from '../install/recording-proxy.js';
import { eventually } from '../support/eventually.js';
import { applyCrds, createNamespace, kubeClient, kubeConfig, stack } from '../support/kube.js';
import { type ThrowawayMinio, minioDriver, startThrowawayMinio } from '../support/minio.js';
import { OperatorProcess } from '../support/operator.js';
import { ensureCaSecret, siteSpec } from '../support/site-spec.js';
import { STACK_DIR } from '../support/stack.js';

const LEASE = 'sitesync-failover';
const SEED_BUCKET = 'seeded-before-takeover';
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
/** Renewals fail for 3 s: the leader stops. Unchanged for 8 s: another takes over. */
const LEASE_ENV = { LEASE_DURATION_MS: '8000', RENEW_DEADLINE_MS: '3000', RETRY_PERIOD_MS: '500' };

let client: KubeClient;
let ns: string;
let proxy: RecordingProxy;
let hung: { server: Server; sockets: Set<Socket>; endpoint: string };
const sites = new Map<string, ThrowawayMinio>();
const operators: OperatorProcess[] = [];

/** A site that accepts connections and never answers (not even the TLS handshake). */
async function hungSite() {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { server, sockets, endpoint: `https://127.0.0.1:${port}` };
}

/** A kubeconfig that reaches the apiserver through the proxy (which adds the admin's certificate). */
function proxiedKubeconfig(): string {
  const path = join(STACK_DIR, `failover-${ns}.kubeconfig`);
  const ca = join(STACK_DIR, 'pki', 'ca.crt');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: proxy`,
      `  cluster: {server: "${proxy.url}", certificate-authority: "${ca}"}`,
      'users:',
      '- name: via-proxy',
      '  user: {}',
      'contexts:',
      '- name: operator',
      '  context: {cluster: proxy, user: via-proxy}',
      'current-context: operator',
      '',
    ].join('\n'),
  );
  return path;
}

function operator(identity: string, kubeconfig: string): OperatorProcess {
  const op = new OperatorProcess(
    {
      KUBECONFIG: kubeconfig,
      WATCH_NAMESPACE: ns,
      LEADER_ELECT: 'true',
      LEASE_NAMESPACE: ns,
      LEASE_NAME: LEASE,
      POD_NAME: identity,
      ...LEASE_ENV,
      SITE_TIMEOUT_MS: '120000',
      LOG_LEVEL: 'debug',
    },
    `failover-${identity}-${process.pid}`,
  );
  operators.push(op);
  return op;
}

const site = (name: string, endpoint: string) => siteSpec(name, { endpoint });

function groupOf(name: string, members: { name: string; endpoint: string }[]) {
  return {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name },
    spec: {
      primary: members[0]?.name,
      syncInterval: '2s',
      sites: members.map((m) => site(m.name, m.endpoint)),
    },
  };
}

const lease = () => client.get<Lease>(LEASES, ns, LEASE);
const getGroup = (name: string) => client.get<SiteReplicationGroup>(SRG_RESOURCE, ns, name);
const endpointOf = (name: string) => sites.get(name)?.endpoint ?? '';

/** When the operator logged `msg` first (its log's `time`), in ms since the epoch. */
function loggedAt(op: OperatorProcess, msg: string): number | undefined {
  for (const line of op.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; time?: number | string };
    if (entry.msg !== msg || entry.time === undefined) continue;
    return typeof entry.time === 'number' ? entry.time : Date.parse(entry.time);
  }
  return undefined;
}

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('failover');
  await ensureCaSecret(ns, client);
  const started = await Promise.all(
    ['a', 'b', 'd', 'e'].map((n) => startThrowawayMinio(`failover-${n}`)),
  );
  ['a', 'b', 'd', 'e'].forEach((n, i) => sites.set(n, started[i]!));
  hung = await hungSite();
  const creds = new Map<string, { accessKey: string; secretKey: string }>(sites);
  creds.set('c', { accessKey: 'hung', secretKey: 'hung-secret-key' });
  for (const [name, c] of creds) {
    await client.create(SECRETS, ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-credentials` },
      stringData: { accessKey: c.accessKey, secretKey: c.secretKey },
    });
  }
  const seed = minioDriver(sites.get('a')!);
  await seed.createBucket(SEED_BUCKET);
  seed.close();
  proxy = await startRecordingProxy(kubeConfig(), join(STACK_DIR, 'pki'));
}, 120_000);

afterAll(async () => {
  for (const s of hung.sockets) s.destroy();
  hung.server.close();
  await Promise.all(
    ['g', 'steady'].map((g) => client.delete(SRG_RESOURCE, ns, g).catch(() => undefined)),
  );
  await eventually(
    async () => {
      expect((await client.list(SRG_RESOURCE, ns)).items).toHaveLength(0);
    },
    { timeoutMs: 60_000 },
  ).catch(() => undefined);
  await Promise.all(operators.map((o) => o.stop('SIGKILL')));
  await proxy.close();
  await Promise.all([...sites.values()].map((s) => s.stop()));
}, 120_000);

describe('a leader whose lease renewals stall', () => {
  it('stops every write before the other replica takes over, mid-pass included', async () => {
    const alpha = operator('alpha', proxiedKubeconfig());
    await alpha.start();
    await eventually(
      async () => {
        expect((await lease()).spec?.holderIdentity).toBe('alpha');
      },
      { timeoutMs: 30_000 },
    );
    const beta = operator('beta', stack().kubeconfig);
    await beta.start();

    // alpha keeps `steady` in sync, refreshing its status every pass...
    await client.create(
      SRG_RESOURCE,
      ns,
      groupOf('steady', [
        { name: 'd', endpoint: endpointOf('d') },
        { name: 'e', endpoint: endpointOf('e') },
      ]),
    );
    await eventually(
      async () => {
        const s = await getGroup('steady');
        expect(s.status?.sites?.every((x) => x.lastSyncTime !== undefined)).toBe(true);
      },
      { timeoutMs: 60_000 },
    );
    // ... and is in the middle of a pass of `g`: the finalizer went on before the sites are
    // read, and it now waits on site c.
    await client.create(
      SRG_RESOURCE,
      ns,
      groupOf('g', [
        { name: 'a', endpoint: endpointOf('a') },
        { name: 'b', endpoint: endpointOf('b') },
        { name: 'c', endpoint: hung.endpoint },
      ]),
    );
    await eventually(
      async () => {
        expect((await getGroup('g')).metadata.finalizers).toContain('sitesync.io/finalizer');
        expect(hung.sockets.size).toBeGreaterThan(0);
      },
      { timeoutMs: 30_000 },
    );
    const alphaExit = alpha.exited();
    const held = Date.now();
    proxy.hold(/\/leases\//);

    const taken = await eventually(
      async () => {
        const l = await lease();
        expect(l.spec?.holderIdentity).toBe('beta');
        return l;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const acquired = Date.parse(taken.spec?.acquireTime ?? '');
    expect(acquired).toBeGreaterThan(held);

    // alpha gave up leading on its own before beta took over (lost lease: exit code 1), and its
    // pass of `g` was aborted rather than left to run for the site timeout.
    const exit = await Promise.race([
      alphaExit,
      new Promise<never>((_, reject) =>
        setTimeout(() => {
          reject(new Error('alpha did not exit within 60 s of the takeover'));
        }, 60_000).unref(),
      ),
    ]);
    expect(exit.code).toBe(1);
    // Everything alpha asked of the apiserver went through the proxy: it wrote `steady`'s
    // status before, and nothing at all after the takeover.
    const writes = proxy.calls.filter((c) => WRITES.has(c.verb) && c.resource !== 'leases');
    expect(writes.some((c) => c.resource === 'sitereplicationgroups/status')).toBe(true);
    expect(writes.filter((c) => c.at >= acquired || c.doneAt >= acquired)).toEqual([]);
    // It knew it had lost the lease before the takeover, and aborted the pass in flight.
    const lost = loggedAt(alpha, 'Lost leader lease');
    expect(lost).toBeDefined();
    expect(lost).toBeLessThan(acquired);
    expect(loggedAt(alpha, 'Aborted reconcile: leadership lost')).toBeDefined();

    // No site write of `g` by alpha: the seeded bucket is still only on a. Then the broken site
    // fails fast, and beta, the leader now, does the work alpha never finished.
    const b = minioDriver(sites.get('b')!);
    try {
      expect((await b.listBuckets()).map((x) => x.name)).not.toContain(SEED_BUCKET);
      for (const s of hung.sockets) s.destroy();
      hung.server.close();
      await eventually(
        async () => {
          expect((await b.listBuckets()).map((x) => x.name)).toContain(SEED_BUCKET);
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    } finally {
      b.close();
    }
    await eventually(
      async () => {
        const g = await getGroup('g');
        expect(g.status?.sites?.find((s) => s.name === 'b')?.reachable).toBe(true);
        expect(g.status?.sites?.find((s) => s.name === 'c')?.reachable).toBe(false);
      },
      { timeoutMs: 60_000 },
    );
    expect(beta.logs()).toContain('Acquired leader lease');
  }, 300_000);
});
