/**
 * The built operator run as users run it: two replicas under leader election, with the
 * environment the chart's Deployment gives it, as the chart's ServiceAccount (a kubeconfig
 * `as:` user, through a proxy that records every request) against throwaway MinIO sites on
 * the real apiserver. It must do its whole job with exactly the chart's RBAC and use all of it;
 * its metrics, logs, the kubectl plugin and the GitOps health checks are checked on the way.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import { BREP_RESOURCE, IDP_RESOURCE, SRG_RESOURCE } from '../../src/api/names.js';
import type { BucketReplication } from '../../src/api/bucket-replication.js';
import type { IdentityProvider } from '../../src/api/identity-provider.js';
import type { SiteReplicationGroup } from '../../src/api/site-replication-group.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { Informer } from '../../src/runtime/informer.js';
import { type KubeClient, LEASES, SECRETS } from '../../src/runtime/kube-client.js';
import type { Lease } from '../../src/runtime/leader-election.js';
import { argoHealth } from '../install/argocd-health.js';
import {
  CHART,
  type KubeDoc,
  findDoc,
  helm,
  mustHelm,
  parseDocs,
  toYamlStream,
} from '../install/chart.js';
import { kstatus } from '../install/kstatus.js';
import { luaBinary, runArgoLua } from '../install/lua.js';
import { exportedMetricNames, parseMetrics } from '../install/metrics.js';
import {
  OPERATOR_PERMISSIONS,
  type Permission,
  type PolicyRule,
  expectedKeys,
  grantedKeys,
  permissionKey,
} from '../install/operator-permissions.js';
import {
  type RecordingProxy,
  impersonatingKubeconfig,
  startRecordingProxy,
} from '../install/recording-proxy.js';
import { labelledNamespace, resolveEnv, suffix } from '../install/rendered.js';
import { eventually } from '../support/eventually.js';
import {
  type CommandResult,
  applyCrds,
  createNamespace,
  kubeClient,
  kubeConfig,
  kubectl,
  mustKubectl,
  stack,
} from '../support/kube.js';
import { type ThrowawayMinio, minioDriver, startThrowawayMinio } from '../support/minio.js';
import { OperatorProcess } from '../support/operator.js';
import { s3For } from '../support/seed.js';
import { ensureCaSecret, siteSpec } from '../support/site-spec.js';
import { REPO_ROOT, STACK_DIR, tool } from '../support/stack.js';

let client: KubeClient;

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
});

/** `kubectl auth can-i` for every permission, as `user`; returns the denied ones. */
async function deniedPermissions(
  user: string,
  perms: readonly Permission[],
  where: { watched: string; lease: string; leaseName: string },
): Promise<string[]> {
  const denied: string[] = [];
  for (const x of perms) {
    const [resource, sub] = x.resource.split('/');
    const type = `${resource ?? ''}${x.group ? `.${x.group}` : ''}`;
    const target = x.resourceName === 'lease' ? `${type}/${where.leaseName}` : type;
    const ns = x.scope === 'lease' ? where.lease : where.watched;
    const args = ['auth', 'can-i', x.verb, target, '-n', ns, `--as=${user}`];
    if (sub) args.push(`--subresource=${sub}`);
    const r = await kubectl(args);
    if (r.stdout.trim() !== 'yes') denied.push(permissionKey(x));
  }
  return denied;
}

/** Permissions the operator does not use; the chart must deny them all. */
const NOT_NEEDED: Permission[] = [
  ['sitesync.io', 'sitereplicationgroups', 'update'],
  ['sitesync.io', 'sitereplicationgroups', 'delete'],
  ['sitesync.io', 'bucketreplications', 'get'],
  ['sitesync.io', 'bucketreplications', 'create'],
  ['sitesync.io', 'identityproviders', 'patch'],
  ['', 'secrets', 'list'],
  ['', 'secrets', 'watch'],
  // What the operator creates carries an owner reference: the garbage collector removes it.
  ['', 'secrets', 'delete'],
  ['', 'configmaps', 'list'],
  ['', 'configmaps', 'delete'],
  ['', 'pods', 'get'],
  ['', 'namespaces', 'list'],
  ['coordination.k8s.io', 'leases', 'list'],
].map(([group = '', resource = '', verb = '']) => ({
  group,
  resource,
  verb,
  scope: 'watched' as const,
  why: 'not used',
}));

interface Scenario {
  releaseNs: string;
  appsNs: string;
  release: string;
  docs: KubeDoc[];
  user: string;
  leaseName: string;
  proxy: RecordingProxy;
  operators: { op: OperatorProcess; pod: string }[];
  sites: Map<string, ThrowawayMinio>;
  seen: SiteReplicationGroup[];
  stopWatch: AbortController;
  secrets: string[];
  pluginPath: string;
}

let sc: Scenario;
const GROUP = 'europe';

async function putCredentials(ns: string, name: string, s: ThrowawayMinio) {
  await mustKubectl(
    ['apply', '-n', ns, '-f', '-'],
    stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-credentials` },
      stringData: { accessKey: s.accessKey, secretKey: s.secretKey },
    }),
  );
}

async function addSite(name: string): Promise<ThrowawayMinio> {
  const s = await startThrowawayMinio(`inst-${name}`);
  sc.sites.set(name, s);
  sc.secrets.push(s.secretKey);
  await putCredentials(sc.appsNs, name, s);
  return s;
}

function sitesOf(names: string[]) {
  return names.map((n) => siteSpec(n, sc.sites.get(n)!));
}

async function getGroup(): Promise<SiteReplicationGroup> {
  return client.get<SiteReplicationGroup>(SRG_RESOURCE, sc.appsNs, GROUP);
}

async function patchSpec(spec: object): Promise<void> {
  await client.patch(SRG_RESOURCE, { namespace: sc.appsNs, name: GROUP }, { spec });
}

/** Waits until the group's condition `type` is `status` for its current generation. */
async function waitCondition(type: string, status: string, timeoutMs = 120_000) {
  return eventually(
    async () => {
      const g = await getGroup();
      const c = findCondition(g.status?.conditions, type);
      expect({ type, status: c?.status, reason: c?.reason, message: c?.message }).toMatchObject({
        status,
      });
      expect(g.status?.observedGeneration).toBe(g.metadata.generation);
      return g;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

async function leaseHolder(): Promise<string | null | undefined> {
  const lease = await client.get<Lease>(LEASES, sc.releaseNs, sc.leaseName);
  return lease.spec?.holderIdentity;
}

/** The running operator that holds the Lease. */
async function leader(): Promise<OperatorProcess> {
  return eventually(async () => {
    const holder = await leaseHolder();
    const found = sc.operators.find((o) => o.pod === holder);
    expect({ holder, running: sc.operators.map((o) => o.pod) }).toMatchObject({
      holder: found?.pod,
    });
    if (!found) throw new Error('no leader');
    return found.op;
  });
}

const podName = (i: number) => `${sc.release}-sitesync-operator-${i}`;

function runPlugin(args: string[]): Promise<CommandResult> {
  const env = {
    ...process.env,
    KUBECONFIG: stack().kubeconfig,
    PATH: `${sc.pluginPath}:${process.env['PATH'] ?? ''}`,
  };
  return new Promise((resolve) => {
    execFile(tool('kubectl'), ['sitesync', ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the operator run with exactly the chart RBAC (namespace scope, 2 replicas)', () => {
  beforeAll(async () => {
    const releaseNs = await labelledNamespace('sitesync-sys');
    const appsNs = await createNamespace('sitesync-apps');
    await ensureCaSecret(appsNs, client);
    const release = `op-${suffix()}`;
    await mustHelm([
      'install',
      release,
      CHART,
      '-n',
      releaseNs,
      // The CRDs are those of crds/ (applied above); the chart's copies are tested elsewhere.
      '--skip-crds',
      '--set',
      `watch.scope=Namespace,watch.namespace=${appsNs}`,
    ]);
    const docs = parseDocs(await mustHelm(['get', 'manifest', release, '-n', releaseNs]));
    const sa = findDoc(docs, 'ServiceAccount').metadata.name;
    const pluginPath = mkdtempSync(join(tmpdir(), 'kubectl-plugin-'));
    writeFileSync(
      join(pluginPath, 'kubectl-sitesync'),
      `#!/bin/sh\nexec "${process.execPath}" "${join(REPO_ROOT, 'dist', 'cli', 'kubectl-sitesync.js')}" "$@"\n`,
    );
    chmodSync(join(pluginPath, 'kubectl-sitesync'), 0o755);
    sc = {
      releaseNs,
      appsNs,
      release,
      docs,
      user: `system:serviceaccount:${releaseNs}:${sa}`,
      leaseName: resolveEnv(docs, 'x', releaseNs)['LEASE_NAME'] ?? '',
      proxy: await startRecordingProxy(kubeConfig(), join(STACK_DIR, 'pki')),
      operators: [],
      sites: new Map(),
      seen: [],
      stopWatch: new AbortController(),
      secrets: [],
      pluginPath,
    };
    sc.secrets.push(...stack().sites.map((s) => s.secretKey));
    // An informer, not a bare watch: it retries and relists, so no status write is missed even
    // when the stack has just started.
    const informer = new Informer<SiteReplicationGroup & { metadata: { name: string } }>(
      client,
      SRG_RESOURCE,
      { namespace: appsNs, maxBackoffMs: 500 },
    );
    informer.onChange((obj, change) => {
      if (change !== 'deleted') sc.seen.push(obj);
    });
    void informer.run(sc.stopWatch.signal);
    await informer.waitForSync();
  }, 60_000);

  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- beforeAll may fail
    if (!sc) return;
    sc.stopWatch.abort();
    await Promise.all(sc.operators.map((o) => o.op.stop('SIGTERM')));
    await sc.proxy.close();
    await Promise.all([...sc.sites.values()].map((s) => s.stop()));
    await helm(['uninstall', sc.release, '-n', sc.releaseNs]);
  }, 60_000);

  it('kubectl auth can-i: the ServiceAccount may do everything the operator does, and no more', async () => {
    const where = { watched: sc.appsNs, lease: sc.releaseNs, leaseName: sc.leaseName };
    expect(await deniedPermissions(sc.user, OPERATOR_PERMISSIONS, where)).toEqual([]);
    const all = (perms: readonly Permission[]) => perms.map(permissionKey);
    expect(await deniedPermissions(sc.user, NOT_NEEDED, where)).toEqual(all(NOT_NEEDED));
    // Namespace scope: nothing outside the watched namespace, nothing but the Lease in its own.
    const watched = OPERATOR_PERMISSIONS.filter((x) => x.scope === 'watched');
    for (const elsewhere of ['default', sc.releaseNs]) {
      expect(await deniedPermissions(sc.user, watched, { ...where, watched: elsewhere })).toEqual(
        all(watched),
      );
    }
    // Only the operator's own Lease can be read or renewed.
    const leaseOps = OPERATOR_PERMISSIONS.filter((x) => x.resourceName === 'lease');
    expect(
      await deniedPermissions(sc.user, leaseOps, { ...where, leaseName: 'someone-else' }),
    ).toEqual(all(leaseOps));
  });

  it('the same check catches a Role missing one verb', async () => {
    const role = findDoc(sc.docs, 'Role', `${sc.release}-sitesync-operator`) as KubeDoc & {
      rules: PolicyRule[];
    };
    const broken = {
      ...role,
      metadata: { name: 'broken', namespace: sc.appsNs },
      rules: role.rules.map((r) =>
        r.resources?.includes('secrets')
          ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') }
          : r,
      ),
    };
    await mustKubectl(
      ['apply', '-f', '-'],
      toYamlStream([
        {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'broken', namespace: sc.releaseNs },
        },
        broken,
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'broken', namespace: sc.appsNs },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'broken' },
          subjects: [{ kind: 'ServiceAccount', name: 'broken', namespace: sc.releaseNs }],
        },
      ]),
    );
    const user = `system:serviceaccount:${sc.releaseNs}:broken`;
    const watched = OPERATOR_PERMISSIONS.filter((x) => x.scope === 'watched');
    expect(
      await deniedPermissions(user, watched, {
        watched: sc.appsNs,
        lease: sc.releaseNs,
        leaseName: '',
      }),
    ).toEqual(['patch core/secrets']);
    // And the static comparison names it too.
    expect(
      expectedKeys('watched', '').filter((k) => !grantedKeys(broken.rules).includes(k)),
    ).toEqual(['patch core/secrets']);
  });

  it('two replicas as the ServiceAccount: one leads and makes a group of two sites Ready', async () => {
    const a = await addSite('a');
    await addSite('b');
    const seed = minioDriver(a, { name: 'seed' });
    await seed.createBucket('photos');
    seed.close();
    await s3For(a).send(new PutObjectCommand({ Bucket: 'photos', Key: 'one.txt', Body: 'one' }));
    const kubeconfig = join(STACK_DIR, `${sc.release}.kubeconfig`);
    mkdirSync(STACK_DIR, { recursive: true });
    writeFileSync(
      kubeconfig,
      impersonatingKubeconfig(sc.proxy.url, join(STACK_DIR, 'pki', 'ca.crt'), sc.user),
    );
    for (const i of [0, 1]) {
      const op = new OperatorProcess(
        {
          ...resolveEnv(sc.docs, podName(i), sc.releaseNs),
          KUBECONFIG: kubeconfig,
          LOG_LEVEL: 'debug',
        },
        `${sc.release}-${i}`,
      );
      await op.start();
      sc.operators.push({ op, pod: podName(i) });
    }
    await mustKubectl(
      ['apply', '-n', sc.appsNs, '-f', '-'],
      stringify({
        apiVersion: 'sitesync.io/v1alpha1',
        kind: 'SiteReplicationGroup',
        metadata: { name: GROUP },
        spec: {
          primary: 'a',
          syncInterval: '2s',
          sites: sitesOf(['a', 'b']),
          // Buckets a BucketReplication manages below are not the group's.
          buckets: { exclude: ['brep-*'] },
        },
      }),
    );
    const g = await waitCondition('Ready', 'True');
    expect(g.status?.sites?.map((s) => [s.name, s.reachable, s.buckets?.outOfSync])).toEqual([
      ['a', true, 0],
      ['b', true, 0],
    ]);
    expect(g.status?.sites?.[1]?.buckets?.inSync).toBeGreaterThan(0);
    expect([podName(0), podName(1)]).toContain(await leaseHolder());
    // The kubeconfig impersonates (`as:`): read by @kubernetes/client-node, not the light path.
    for (const { op } of sc.operators)
      expect(op.logs()).toContain('Loading the kubeconfig with @kubernetes/client-node');
  }, 180_000);

  it('adds a site', async () => {
    await addSite('c');
    await patchSpec({ sites: sitesOf(['a', 'b', 'c']) });
    const g = await waitCondition('Ready', 'True');
    expect(g.status?.sitesInSync).toBe('3/3');
    const secret = await client.get<{ data: Record<string, string> }>(
      SECRETS,
      sc.appsNs,
      `${GROUP}-sitesync-replicator`,
    );
    // A replication secret per site, and the key of the group's keyed digests.
    expect(Object.keys(secret.data).sort()).toEqual(['.digest-key', 'a', 'b', 'c']);
    sc.secrets.push(...Object.values(secret.data).map((v) => Buffer.from(v, 'base64').toString()));
  }, 180_000);

  it('reports on an IdentityProvider no group uses yet', async () => {
    await mustKubectl(
      ['apply', '-n', sc.appsNs, '-f', '-'],
      toYamlStream([
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'sso-client' },
          stringData: { clientSecret: 'sso-client-secret-value' },
        },
        {
          apiVersion: 'sitesync.io/v1alpha1',
          kind: 'IdentityProvider',
          metadata: { name: 'sso' },
          spec: {
            openid: {
              configURL: 'https://sso.invalid/.well-known/openid-configuration',
              clientID: 'minio',
              clientSecret: { name: 'sso-client', key: 'clientSecret' },
            },
          },
        },
      ]),
    );
    sc.secrets.push('sso-client-secret-value');
    await eventually(
      async () => {
        const idp = await client.get<IdentityProvider>(IDP_RESOURCE, sc.appsNs, 'sso');
        expect(idp.status?.observedGeneration).toBe(idp.metadata.generation);
        expect(findCondition(idp.status?.conditions, 'Ready')).toBeDefined();
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await mustKubectl(['delete', 'idp', 'sso', '-n', sc.appsNs]);
  }, 120_000);

  it('runs a BucketReplication from a site of the group to another', async () => {
    const a = sc.sites.get('a');
    if (!a) throw new Error('no site a');
    const seed = minioDriver(a, { name: 'seed' });
    try {
      await seed.createBucket('brep-src');
      await seed.enableVersioning('brep-src');
    } finally {
      seed.close();
    }
    await mustKubectl(
      ['apply', '-n', sc.appsNs, '-f', '-'],
      stringify({
        apiVersion: 'sitesync.io/v1alpha1',
        kind: 'BucketReplication',
        metadata: { name: 'copy' },
        spec: {
          source: { bucket: 'brep-src', groupRef: { name: GROUP }, site: 'a' },
          rules: [
            {
              id: 'all',
              status: 'Enabled',
              priority: 1,
              filter: { prefix: '' },
              deleteMarkerReplication: { status: 'Disabled' },
              destination: { site: 'b', bucket: 'brep-dst' },
            },
          ],
        },
      }),
    );
    await eventually(
      async () => {
        const b = await client.get<BucketReplication>(BREP_RESOURCE, sc.appsNs, 'copy');
        const ready = findCondition(b.status?.conditions, 'Ready');
        expect({ status: ready?.status, message: ready?.message }).toMatchObject({
          status: 'True',
        });
        expect(b.status?.observedGeneration).toBe(b.metadata.generation);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    await mustKubectl(['delete', 'brep', 'copy', '-n', sc.appsNs, '--wait=false']);
    await eventually(
      async () => {
        const r = await kubectl(['get', 'brep', '-n', sc.appsNs, '-o', 'name']);
        expect(r.stdout.trim()).toBe('');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }, 180_000);

  it('reports a spec it must not act on as Stalled, with a repeated Event', async () => {
    await patchSpec({ sites: sitesOf(['a', 'b']) });
    const g = await waitCondition('Stalled', 'True');
    expect(findCondition(g.status?.conditions, 'Stalled')?.reason).toBe('SiteRemovalNotAllowed');
    await eventually(
      async () => {
        const events = JSON.parse(
          await mustKubectl([
            'get',
            'events',
            '-n',
            sc.appsNs,
            '--field-selector',
            'reason=SiteRemovalNotAllowed',
            '-o',
            'json',
          ]),
        ) as { items: { count: number; involvedObject: { name: string } }[] };
        expect(Math.max(0, ...events.items.map((e) => e.count))).toBeGreaterThanOrEqual(2);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await patchSpec({ sites: sitesOf(['a', 'b', 'c']) });
    await waitCondition('Ready', 'True');
  }, 180_000);

  it('reports a site that is down as Degraded and in sitesync_site_up, then recovers', async () => {
    const b = sc.sites.get('b');
    if (!b) throw new Error('no site b');
    await b.stop();
    try {
      const g = await waitCondition('Degraded', 'True');
      expect(findCondition(g.status?.conditions, 'Degraded')?.message).toContain('b');
      const op = await leader();
      await eventually(async () => {
        const up = parseMetrics(await op.metrics()).filter((m) => m.name === 'sitesync_site_up');
        const down = up.filter((m) => m.value === 0).map((m) => m.labels);
        // The SitesyncSiteDown alert's expression, evaluated on what the operator exports.
        expect(down).toEqual([{ namespace: sc.appsNs, group: GROUP, site: 'b' }]);
      });
    } finally {
      await b.restart();
    }
    await waitCondition('Ready', 'True');
  }, 180_000);

  it('kubectl sitesync status and resync work as a kubectl plugin', async () => {
    const status = await runPlugin(['status', GROUP, '-n', sc.appsNs]);
    expect(status).toMatchObject({ code: 0, stderr: '' });
    const lines = status.stdout.split('\n');
    expect(lines[0]).toBe(`SiteReplicationGroup ${sc.appsNs}/${GROUP}`);
    expect(status.stdout).toContain('Ready=True (Synced: 3 sites in sync)');
    const header = lines.findIndex((l) => l.startsWith('SITE '));
    const rows = lines.slice(header + 1, header + 4).map((l) => l.split(/\s{3,}/));
    const reported = (await getGroup()).status?.sites ?? [];
    expect(rows.map((r) => r.slice(0, 4))).toEqual(
      reported.map((s) => [
        s.name,
        'yes',
        `${s.buckets?.inSync ?? 0}/0`,
        `${s.iam?.inSync ?? 0}/0`,
      ]),
    );
    expect(rows.map((r) => r[6])).toEqual(['-', '-', '-']);
    const resync = await runPlugin([
      'resync',
      GROUP,
      '-n',
      sc.appsNs,
      '--wait',
      '--timeout',
      '120',
    ]);
    expect(resync).toMatchObject({ code: 0, stderr: '' });
    const value = /sitesync\.io\/resync=(\S+)/.exec(resync.stdout)?.[1];
    expect(resync.stdout).toContain('resync done');
    const g = await getGroup();
    expect(g.metadata.annotations?.['sitesync.io/resync']).toBe(value);
    expect(g.status?.lastResync).toBe(value);
    const missing = await runPlugin(['status', 'nope', '-n', sc.appsNs]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('sitereplicationgroups.sitesync.io "nope" not found');
  }, 180_000);

  it('exposes the documented metrics with namespace/group/site labels on the leader', async () => {
    const op = await leader();
    const text = await op.metrics();
    const series = parseMetrics(text);
    const has = (name: string, labels: Record<string, string>) =>
      series.some(
        (m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v),
      );
    const site = { namespace: sc.appsNs, group: GROUP };
    for (const s of ['a', 'b', 'c']) {
      expect(has('sitesync_site_up', { ...site, site: s })).toBe(true);
      expect(has('sitesync_site_last_sync_timestamp_seconds', { ...site, site: s })).toBe(true);
      expect(has('sitesync_site_entities_out_of_sync', { ...site, site: s, kind: 'buckets' })).toBe(
        true,
      );
      expect(has('sitesync_site_entities_out_of_sync', { ...site, site: s, kind: 'iam' })).toBe(
        true,
      );
      expect(has('sitesync_site_calls_total', { site: s })).toBe(true);
    }
    const ctl = { controller: 'sitereplicationgroup' };
    expect(has('sitesync_reconcile_total', { ...ctl, result: 'success' })).toBe(true);
    expect(has('sitesync_reconcile_duration_seconds_bucket', ctl)).toBe(true);
    expect(has('sitesync_workqueue_depth', ctl)).toBe(true);
    expect(has('sitesync_group_changes_applied_total', site)).toBe(true);
    expect(has('sitesync_process_resident_memory_bytes', {})).toBe(true);
    // Declared for the object-progress work (HELP/TYPE lines), sampled once it reports them.
    for (const name of exportedMetricNames())
      if (!/_(bucket|sum|count)$/.test(name)) expect(text).toContain(`# TYPE ${name} `);
    for (const secret of sc.secrets) expect(text).not.toContain(secret);
  });

  it('serves /healthz on both replicas and /readyz on the leader', async () => {
    const op = await leader();
    for (const { op: o } of sc.operators) {
      const r = await fetch(`http://127.0.0.1:${o.metricsPort}/healthz`);
      expect(r.status).toBe(200);
    }
    expect((await fetch(`http://127.0.0.1:${op.metricsPort}/readyz`)).status).toBe(200);
  });

  // Expected to fail until src/main.ts marks a standby ready: with /readyz tied to the cache
  // sync, a standby never becomes ready, which stalls a rolling update of the Deployment.
  it('reports the standby replica ready too (readiness must not wait for the lease)', async () => {
    const op = await leader();
    const standby = sc.operators.find((o) => o.op !== op)?.op;
    const r = await fetch(`http://127.0.0.1:${standby?.metricsPort ?? 0}/readyz`);
    expect(r.status).toBe(200);
  });

  it('reports spec.paused and hands over the lease on SIGTERM', async () => {
    await patchSpec({ paused: true });
    const g = await waitCondition('Ready', 'False');
    expect(findCondition(g.status?.conditions, 'Ready')?.reason).toBe('Paused');
    await patchSpec({ paused: false });
    await waitCondition('Ready', 'True');
    const old = await leader();
    const stopped = sc.operators.find((o) => o.op === old);
    expect(await old.stop('SIGTERM')).toBe(0);
    sc.operators = sc.operators.filter((o) => o.op !== old);
    const standby = sc.operators[0];
    await eventually(
      async () => {
        expect(await leaseHolder()).toBe(standby?.pod);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(standby?.pod).not.toBe(stopped?.pod);
    await eventually(async () => {
      const r = await fetch(`http://127.0.0.1:${standby?.op.metricsPort ?? 0}/readyz`);
      expect(r.status).toBe(200);
    });
    // The new leader keeps the group Ready.
    await waitCondition('Ready', 'True');
  }, 120_000);

  it('removes only what it created when the group is deleted', async () => {
    await mustKubectl(['delete', 'srg', GROUP, '-n', sc.appsNs, '--wait=false']);
    await eventually(
      async () => {
        const r = await kubectl([
          'get',
          'srg',
          GROUP,
          '-n',
          sc.appsNs,
          '--ignore-not-found',
          '-o',
          'name',
        ]);
        expect(r.stdout.trim()).toBe('');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const left = await mustKubectl(['get', 'secret,configmap', '-n', sc.appsNs, '-o', 'name']);
    expect(left.trim().split('\n').sort()).toEqual([
      'secret/a-credentials',
      'secret/b-credentials',
      'secret/c-credentials',
      'secret/sites-ca',
      'secret/sso-client',
    ]);
    const a = sc.sites.get('a');
    if (!a) throw new Error('no site a');
    const check = minioDriver(a);
    try {
      const snap = await check.snapshot();
      expect([...snap.buckets.keys()].sort()).toEqual(['brep-src', 'photos']);
    } finally {
      check.close();
    }
  }, 120_000);

  it('used exactly the permissions the chart grants, was never refused, and logged no secret', async () => {
    await Promise.all(sc.operators.map((o) => o.op.stop('SIGTERM')));
    const calls = sc.proxy.calls;
    expect(calls.length).toBeGreaterThan(20);
    expect(new Set(calls.map((c) => c.user))).toEqual(new Set([sc.user]));
    expect(calls.filter((c) => c.status === 401 || c.status === 403)).toEqual([]);
    const used = [...new Set(calls.map((c) => permissionKey(c)))].sort();
    const granted = [...expectedKeys('watched', ''), ...expectedKeys('lease', '')]
      .map((k) => k.replace(/#.*$/, ''))
      .sort();
    expect(used).toEqual(granted);
    for (const c of calls) {
      const lease = c.resource === 'leases';
      expect([c.verb, c.resource, c.namespace]).toEqual([
        c.verb,
        c.resource,
        lease ? sc.releaseNs : sc.appsNs,
      ]);
      if (lease && c.verb !== 'create') expect(c.name).toBe(sc.leaseName);
    }
    const logs = [0, 1]
      .map((i) => readFileSync(join(STACK_DIR, `${sc.release}-${i}.log`), 'utf8'))
      .join('\n');
    expect(logs).toContain('Acquired leader lease');
    for (const secret of sc.secrets) expect(logs).not.toContain(secret);
    for (const line of logs.split('\n').filter((l) => l.startsWith('{'))) {
      const entry = JSON.parse(line) as { level: string; msg: string; component: string };
      expect(entry).toMatchObject({ component: 'sitesync-operator', level: expect.any(String) });
    }
  }, 60_000);

  describe('GitOps health of the status objects the operator wrote', () => {
    const shapes = () => sc.seen.filter((o) => o.metadata.name === GROUP);
    const cond = (o: SiteReplicationGroup, t: string) =>
      findCondition(o.status?.conditions, t)?.status;
    const current = (o: SiteReplicationGroup) =>
      o.status?.observedGeneration === o.metadata.generation;

    it('kstatus and the Argo CD check agree with the conditions on every object', () => {
      const objs = shapes();
      expect(objs.length).toBeGreaterThan(10);
      const seen = new Set<string>();
      for (const o of objs) {
        const k = kstatus(o).status;
        const a = argoHealth(o).status;
        seen.add(`${k}/${a}`);
        if (o.metadata.deletionTimestamp) expect(k).toBe('Terminating');
        else if (o.status === undefined) expect([k, a]).toEqual(['Current', 'Progressing']);
        else if (!current(o)) expect([k, a]).toEqual(['InProgress', 'Progressing']);
        else if (cond(o, 'Stalled') === 'True') expect([k, a]).toEqual(['Failed', 'Degraded']);
        else if (cond(o, 'Degraded') === 'True') expect([k, a]).toEqual(['Current', 'Degraded']);
        else if (cond(o, 'Reconciling') === 'True')
          expect([k, a]).toEqual(['InProgress', 'Progressing']);
        else if (cond(o, 'Ready') === 'True') expect([k, a]).toEqual(['Current', 'Healthy']);
        else if (o.spec?.paused) expect([k, a]).toEqual(['Current', 'Suspended']);
        else expect([k, a]).toEqual(['Current', 'Progressing']);
      }
      // Every shape the operator can produce was produced and judged.
      for (const s of [
        'InProgress/Progressing',
        'Failed/Degraded',
        'Current/Degraded',
        'Current/Healthy',
        'Current/Suspended',
      ])
        expect([s, seen.has(s)]).toEqual([s, true]);
      expect([...seen].some((s) => s.startsWith('Terminating/'))).toBe(true);
      const reconciling = objs.filter((o) => current(o) && cond(o, 'Reconciling') === 'True');
      expect(reconciling.length).toBeGreaterThan(0);
      expect(reconciling.map((o) => kstatus(o).status)).toContain('InProgress');
    });

    it('docs/argocd-health.lua run by lua5.4 says the same', () => {
      const lua = luaBinary();
      for (const o of shapes()) {
        const ts = argoHealth(o);
        expect([o.metadata.resourceVersion, runArgoLua(lua, o)]).toEqual([
          o.metadata.resourceVersion,
          ts,
        ]);
      }
    });
  });
});
