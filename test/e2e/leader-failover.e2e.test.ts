/**
 * Two operator processes (the built dist/main.js) under leader election, on the real apiserver
 * and real MinIO sites. The leader's lease renewals are stalled by a loopback proxy that stands
 * between it and the apiserver (its other requests pass and are recorded with their times); the
 * other replica takes the lease over. From the new leader's acquireTime on, the old one must
 * write nothing: no site write, no status, ConfigMap or Event write.
 *
 * The leader is made to be mid-pass when that happens: one site of the group is a server that
 * accepts connections and never answers (a broken peer), so observing the sites takes the whole
 * site timeout (2 min). A leader that noticed the lost lease only between passes, or that let
 * its pass run on, would write after the takeover; its pass must be aborted instead, and it
 * exits (exit code 1) long before that timeout.
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
import { STACK_DIR } from '../support/stack.js';

const LEASE = 'sitesync-failover';
const SEED_BUCKET = 'seeded-before-takeover';
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

let client: KubeClient;
let ns: string;
let proxy: RecordingProxy;
let hung: { server: Server; sockets: Set<Socket>; endpoint: string };
const sites = new Map<string, ThrowawayMinio>();
const operators: OperatorProcess[] = [];

/** A site that accepts connections and never answers. */
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
  return { server, sockets, endpoint: `http://127.0.0.1:${port}` };
}

/** A kubeconfig that reaches the apiserver through the proxy (which adds the admin's certificate). */
function proxiedKubeconfig(): string {
  const path = join(STACK_DIR, `failover-${ns}.kubeconfig`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: proxy`,
      `  cluster: {server: "${proxy.url}", certificate-authority: "${join(STACK_DIR, 'pki', 'ca.crt')}"}`,
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
      LEASE_DURATION_MS: '6000',
      RENEW_DEADLINE_MS: '4000',
      RETRY_PERIOD_MS: '500',
      SITE_TIMEOUT_MS: '120000',
      LOG_LEVEL: 'debug',
    },
    `failover-${identity}-${process.pid}`,
  );
  operators.push(op);
  return op;
}

const lease = () => client.get<Lease>(LEASES, ns, LEASE);
const group = () => client.get<SiteReplicationGroup>(SRG_RESOURCE, ns, 'g');

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('failover');
  for (const name of ['a', 'b']) {
    const s = await startThrowawayMinio(`failover-${name}`);
    sites.set(name, s);
  }
  hung = await hungSite();
  const creds: Record<string, { accessKey: string; secretKey: string }> = {
    a: sites.get('a')!,
    b: sites.get('b')!,
    c: { accessKey: 'hung', secretKey: 'hung-secret-key' },
  };
  for (const [name, c] of Object.entries(creds)) {
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
  await client.delete(SRG_RESOURCE, ns, 'g').catch(() => undefined);
  await eventually(
    async () => {
      expect((await client.list(SRG_RESOURCE, ns)).items).toHaveLength(0);
    },
    { timeoutMs: 60_000 },
  ).catch(() => undefined);
  await Promise.all(operators.map((o) => o.stop('SIGKILL')));
  for (const s of hung.sockets) s.destroy();
  hung.server.close();
  await proxy.close();
  await Promise.all([...sites.values()].map((s) => s.stop()));
}, 120_000);

describe('a leader whose lease renewals stall', () => {
  it('stops writing before the other replica takes over, mid-pass', async () => {
    const alpha = operator('alpha', proxiedKubeconfig());
    await alpha.start();
    await eventually(
      async () => {
        expect((await lease()).spec?.holderIdentity).toBe('alpha');
      },
      {
        timeoutMs: 30_000,
      },
    );
    const beta = operator('beta', stack().kubeconfig);
    await beta.start();

    await client.create(SRG_RESOURCE, ns, {
      apiVersion: 'sitesync.io/v1alpha1',
      kind: 'SiteReplicationGroup',
      metadata: { name: 'g' },
      spec: {
        primary: 'a',
        syncInterval: '2s',
        sites: [
          {
            name: 'a',
            endpoint: sites.get('a')!.endpoint,
            credentialsSecret: { name: 'a-credentials' },
          },
          {
            name: 'b',
            endpoint: sites.get('b')!.endpoint,
            credentialsSecret: { name: 'b-credentials' },
          },
          { name: 'c', endpoint: hung.endpoint, credentialsSecret: { name: 'c-credentials' } },
        ],
      },
    });
    // alpha's pass has begun (the finalizer goes on before the sites are read) and now waits
    // on site c; its lease renewals stall from here on.
    await eventually(
      async () => {
        expect((await group()).metadata.finalizers).toContain('sitesync.io/finalizer');
      },
      {
        timeoutMs: 30_000,
      },
    );
    await eventually(
      () => {
        expect(hung.sockets.size).toBeGreaterThan(0);
      },
      { timeoutMs: 30_000 },
    );
    const alphaExit = alpha.exited();
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
    expect(Number.isFinite(acquired)).toBe(true);

    // alpha gave up leading on its own (lost lease: exit code 1), its pass aborted rather than
    // run on for the site timeout.
    const exit = await alphaExit;
    expect(exit.code).toBe(1);
    expect(alpha.logs()).toContain('Lost leader lease');

    // Everything alpha asked of the apiserver went through the proxy: it did write before (the
    // finalizer), and nothing after the takeover.
    const writes = proxy.calls.filter((c) => WRITES.has(c.verb) && c.resource !== 'leases');
    expect(writes.some((c) => c.resource === 'sitereplicationgroups')).toBe(true);
    const late = writes.filter((c) => c.at >= acquired || c.doneAt >= acquired);
    expect(late).toEqual([]);

    // No site write from alpha: the seeded bucket is still only on a. Then the broken site
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
    const g = await eventually(
      async () => {
        const x = await group();
        expect(x.status?.sites?.find((s) => s.name === 'b')?.reachable).toBe(true);
        return x;
      },
      { timeoutMs: 60_000 },
    );
    expect(g.status?.sites?.find((s) => s.name === 'c')?.reachable).toBe(false);
    expect(beta.logs()).toContain('Acquired leader lease');
  }, 300_000);
});
