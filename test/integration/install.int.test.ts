/**
 * Installing sitesync the ways users do, checked on the real apiserver: the Helm chart (lint,
 * values schema, kubeVersion, CRD copies, hardening, RBAC, alerts and dashboard, server dry-run
 * under the restricted Pod Security Standard, install and uninstall) and the kustomize base.
 * install-operator.int.test.ts runs the operator itself with the chart's RBAC.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from '@jest/globals';

import { OperatorConfigSchema, parseConfig } from '../../src/config.js';
import {
  CHART,
  findDoc,
  helm,
  mustHelm,
  parseDocs,
  renderChart,
  toYamlStream,
} from '../install/chart.js';
import { exportedMetricNames, metricNamesIn } from '../install/metrics.js';
import { expectedKeys, grantedKeys } from '../install/operator-permissions.js';
import {
  ALL_ON,
  MONITORING_KINDS,
  container,
  labelledNamespace,
  resolveEnv,
  rulesOf,
  suffix,
} from '../install/rendered.js';
import { OPERATOR_NODE_OPTIONS } from '../support/operator.js';
import { eventually } from '../support/eventually.js';
import {
  type CommandResult,
  applyCrds,
  createNamespace,
  kubectl,
  mustKubectl,
} from '../support/kube.js';
import { REPO_ROOT } from '../support/stack.js';

beforeAll(async () => {
  await applyCrds();
});

describe('the Helm chart', () => {
  it('passes helm lint --strict with the defaults and with every option on', async () => {
    for (const set of [
      [],
      ['--set', 'metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true'],
      ['--set', 'dashboard.enabled=true,rbac.aggregateToDefaultRoles=false'],
      ['--set', 'watch.scope=Namespace,watch.namespace=apps'],
      ['--set', 'leaderElection.enabled=false,replicaCount=1,podDisruptionBudget.enabled=false'],
      ['--set', 'changeReceiver.enabled=true,changeReceiver.tlsSecret=receiver-tls'],
    ]) {
      const r = await helm(['lint', CHART, '--strict', ...set]);
      expect({ code: r.code, out: r.stdout + r.stderr }).toMatchObject({ code: 0 });
      expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it.each([
    ['replicaCount=two', 'replicaCount'],
    ['watch.scope=Everywhere', 'watch.scope'],
    ['operator.logLevel=verbose', 'operator.logLevel'],
    ['image.digest=latest', 'image.digest'],
    ['metrics.prometheusRule.siteDownFor=soon', 'siteDownFor'],
    ['replicas=2', 'replicas'],
  ])('rejects --set %s through values.schema.json', async (set, field) => {
    const r = await helm(['template', 'x', CHART, '--set', set]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('values don');
    expect(r.stderr).toContain(field.split('.').pop());
  });

  it('refuses two replicas without leader election', async () => {
    const r = await helm(['template', 'x', CHART, '--set', 'leaderElection.enabled=false']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('replicaCount > 1 needs leaderElection.enabled');
  });

  it("accepts the stack's Kubernetes and refuses one older than its kubeVersion", async () => {
    const version = JSON.parse(await mustKubectl(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.36\./);
    const ok = await helm([
      'template',
      'x',
      CHART,
      '--kube-version',
      version.serverVersion.gitVersion,
    ]);
    expect(ok.code).toBe(0);
    const old = await helm(['template', 'x', CHART, '--kube-version', 'v1.28.9']);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain('kubeVersion');
  });

  it("carries the package's version as appVersion (the default image tag)", () => {
    const chart = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(chart).toContain(`appVersion: "${pkg.version}"`);
  });

  it('ships the CRDs of crds/ unchanged, in the chart and in the kustomize base', async () => {
    const source = readdirSync(join(REPO_ROOT, 'crds')).filter((f) => f.endsWith('.yaml'));
    expect(source.length).toBe(3);
    for (const dir of [join(CHART, 'crds'), join(REPO_ROOT, 'manifests', 'crds')]) {
      const copies = readdirSync(dir).filter((f) => f !== 'kustomization.yaml');
      // If this fails, run hack/sync-chart-crds.sh (after make crds).
      expect(copies.sort()).toEqual(source.sort());
      for (const f of source) {
        expect(readFileSync(join(dir, f), 'utf8')).toBe(
          readFileSync(join(REPO_ROOT, 'crds', f), 'utf8'),
        );
      }
    }
    const check = await new Promise<CommandResult>((resolve) => {
      execFile(
        join(REPO_ROOT, 'hack', 'sync-chart-crds.sh'),
        ['--check'],
        (err, stdout, stderr) => {
          resolve({ code: err ? 1 : 0, stdout, stderr });
        },
      );
    });
    expect(check).toMatchObject({ code: 0, stderr: '' });
  });

  it('runs two hardened replicas under leader election, with probes and resources', async () => {
    const { docs } = await renderChart({ release: 'rel', namespace: 'ops' });
    const { deployment, c } = container(docs);
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.resources.requests).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(c.resources.limits).toMatchObject({ memory: expect.any(String) });
    const env = resolveEnv(docs, 'rel-sitesync-operator-abc', 'ops');
    expect(env).toMatchObject({
      LEADER_ELECT: 'true',
      LEASE_NAMESPACE: 'ops',
      LEASE_NAME: 'rel-sitesync-operator',
      POD_NAME: 'rel-sitesync-operator-abc',
      WATCH_NAMESPACE: 'ops', // the release namespace only, by default
      METRICS_PORT: '8080',
    });
    // Every setting of src/config.ts is a chart value (KUBECONFIG: in-cluster; the change
    // receiver's: with changeReceiver.enabled, below), and they parse.
    // ... and NODE_OPTIONS, the V8 flags the tests' operator processes run with too.
    expect(Object.keys(env).sort()).toEqual(
      [
        ...Object.keys(OperatorConfigSchema.shape).filter(
          (k) => k !== 'KUBECONFIG' && !k.startsWith('CHANGE_RECEIVER_'),
        ),
        'NODE_OPTIONS',
      ].sort(),
    );
    expect(env['NODE_OPTIONS']).toBe(OPERATOR_NODE_OPTIONS);
    expect(parseConfig(env)).toMatchObject({ LEADER_ELECT: true, WORKERS: 2 });
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(pod.serviceAccountName).toBe(findDoc(docs, 'ServiceAccount').metadata.name);
    const selector = deployment.spec.selector.matchLabels;
    expect(deployment.spec.template.metadata.labels).toMatchObject(selector);
    const pdb = findDoc(docs, 'PodDisruptionBudget') as unknown as {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: selector } });
    const svc = findDoc(docs, 'Service') as unknown as {
      spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
    };
    expect(svc.spec.selector).toEqual(selector);
    expect(svc.spec.ports[0]?.targetPort).toBe('metrics');
  });

  it('serves the change receiver with its TLS Secret and a Service, and refuses it without one', async () => {
    const values = { changeReceiver: { enabled: true, tlsSecret: 'receiver-tls' } };
    const { docs } = await renderChart({ release: 'rel', namespace: 'ops', values });
    const { deployment, c } = container(docs);
    const env = resolveEnv(docs, 'rel-sitesync-operator-abc', 'ops');
    expect(Object.keys(env).sort()).toEqual(
      [
        ...Object.keys(OperatorConfigSchema.shape).filter((k) => k !== 'KUBECONFIG'),
        'NODE_OPTIONS',
      ].sort(),
    );
    expect(parseConfig(env)).toMatchObject({
      CHANGE_RECEIVER_PORT: 8443,
      CHANGE_RECEIVER_URL: 'https://rel-sitesync-operator-changes.ops.svc:8443',
      CHANGE_RECEIVER_CERT_FILE: '/etc/sitesync/receiver-tls/tls.crt',
      CHANGE_RECEIVER_KEY_FILE: '/etc/sitesync/receiver-tls/tls.key',
    });
    expect(c.ports).toContainEqual({ name: 'changes', containerPort: 8443, protocol: 'TCP' });
    const pod = deployment.spec.template.spec as unknown as {
      volumes: { name: string; secret?: { secretName: string } }[];
      containers: { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[];
    };
    expect(pod.volumes).toContainEqual({
      name: 'receiver-tls',
      secret: { secretName: 'receiver-tls' },
    });
    expect(pod.containers[0]?.volumeMounts).toContainEqual({
      name: 'receiver-tls',
      mountPath: '/etc/sitesync/receiver-tls',
      readOnly: true,
    });
    const svc = findDoc(docs, 'Service', 'rel-sitesync-operator-changes') as unknown as {
      spec: { selector: Record<string, string>; ports: object[] };
    };
    expect(svc.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(svc.spec.ports).toEqual([
      { name: 'changes', port: 8443, targetPort: 'changes', protocol: 'TCP' },
    ]);
    const url = await renderChart({
      release: 'rel',
      namespace: 'ops',
      values: { changeReceiver: { ...values.changeReceiver, url: 'https://changes.example.com' } },
    });
    expect(resolveEnv(url.docs, 'p', 'ops')['CHANGE_RECEIVER_URL']).toBe(
      'https://changes.example.com',
    );
    const none = await helm(['template', 'x', CHART, '--set', 'changeReceiver.enabled=true']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('changeReceiver.enabled needs changeReceiver.tlsSecret');
    const http = await helm([
      'template',
      'x',
      CHART,
      '--set',
      'changeReceiver.enabled=true,changeReceiver.tlsSecret=t,changeReceiver.url=http://x',
    ]);
    expect(http.code).not.toBe(0);
    expect(http.stderr).toContain('url');
    const ns = await labelledNamespace('chart-rcv');
    const dry = await renderChart({ release: `rcv-${suffix()}`, namespace: ns, values });
    const r = await kubectl(
      ['apply', '--dry-run=server', '-n', ns, '-f', '-'],
      toYamlStream(dry.docs),
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it.each(['Cluster', 'Namespace'])(
    'is accepted by the apiserver (server dry-run, restricted Pod Security) with scope %s',
    async (scope) => {
      const ns = await labelledNamespace('chart-dry');
      const { docs } = await renderChart({
        release: `dry-${suffix()}`,
        namespace: ns,
        values: { ...ALL_ON, watch: { scope, namespace: scope === 'Namespace' ? ns : '' } },
      });
      const apply = docs.filter((d) => !MONITORING_KINDS.has(d.kind));
      expect(
        docs
          .filter((d) => MONITORING_KINDS.has(d.kind))
          .map((d) => d.kind)
          .sort(),
      ).toEqual(['PrometheusRule', 'ServiceMonitor']);
      const r = await kubectl(
        ['apply', '--dry-run=server', '-n', ns, '-f', '-'],
        toYamlStream(apply),
      );
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      for (const d of apply)
        expect(r.stdout).toContain(`/${d.metadata.name} created (server dry run)`);
    },
  );

  it('grants exactly the permissions the operator uses, in either scope', async () => {
    const cluster = await renderChart({
      release: 'rel',
      namespace: 'ops',
      values: { watch: { scope: 'Cluster' } },
    });
    const lease = ['rel-sitesync-operator'];
    expect(grantedKeys(rulesOf(cluster.docs, 'ClusterRole', 'ops-rel-sitesync-operator'))).toEqual(
      expectedKeys('watched', ''),
    );
    const leaseRules = rulesOf(cluster.docs, 'Role', 'rel-sitesync-operator-leader-election');
    expect(grantedKeys(leaseRules)).toEqual(expectedKeys('lease', lease[0] ?? ''));
    const namespaced = await renderChart({
      release: 'rel',
      namespace: 'ops',
      values: { watch: { scope: 'Namespace', namespace: 'apps' } },
    });
    const role = findDoc(namespaced.docs, 'Role', 'rel-sitesync-operator');
    expect(role.metadata.namespace).toBe('apps');
    expect(grantedKeys(rulesOf(namespaced.docs, 'Role', 'rel-sitesync-operator'))).toEqual(
      expectedKeys('watched', ''),
    );
    expect(namespaced.docs.filter((d) => d.kind === 'ClusterRoleBinding')).toEqual([]);
    const binding = findDoc(namespaced.docs, 'RoleBinding', 'rel-sitesync-operator') as unknown as {
      metadata: { namespace: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    expect(binding.metadata.namespace).toBe('apps');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'rel-sitesync-operator', namespace: 'ops' },
    ]);
    expect(resolveEnv(namespaced.docs, 'p', 'ops')['WATCH_NAMESPACE']).toBe('apps');
  });

  it('offers a NetworkPolicy, off by default: ingress to the metrics port only, egress to DNS, the apiserver and the sites', async () => {
    const off = await renderChart({ release: 'rel', namespace: 'ops' });
    expect(off.docs.filter((d) => d.kind === 'NetworkPolicy')).toEqual([]);
    const refused = await helm(['template', 'rel', CHART, '--set', 'networkPolicy.enabled=true']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('cidrs');
    const on = await renderChart({
      release: 'rel',
      namespace: 'ops',
      values: {
        networkPolicy: {
          enabled: true,
          apiServer: { cidrs: ['10.0.0.1/32'] },
          sites: { ports: [9000], to: [{ ipBlock: { cidr: '10.20.0.0/16' } }] },
        },
      },
    });
    const policy = findDoc(on.docs, 'NetworkPolicy', 'rel-sitesync-operator') as unknown as {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { ports: { port: number }[]; from?: unknown }[];
        egress: { ports: { port: number; protocol: string }[]; to?: unknown[] }[];
      };
    };
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.podSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'sitesync-operator',
      'app.kubernetes.io/instance': 'rel',
    });
    expect(policy.spec.ingress).toEqual([{ ports: [{ port: 8080, protocol: 'TCP' }] }]);
    expect(policy.spec.egress).toEqual([
      {
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
      { to: [{ ipBlock: { cidr: '10.0.0.1/32' } }], ports: [{ port: 6443, protocol: 'TCP' }] },
      { ports: [{ port: 9000, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.20.0.0/16' } }] },
    ]);
  });

  it('by default watches and reaches only the release namespace; a list of namespaces gets a Role in each', async () => {
    const byDefault = await renderChart({ release: 'rel', namespace: 'ops' });
    const bound = (docs: typeof byDefault.docs, kind: string) =>
      docs
        .filter((d) => d.kind === kind)
        .map((d) => `${d.metadata.namespace ?? ''}/${d.metadata.name}`)
        .sort();
    expect(bound(byDefault.docs, 'ClusterRoleBinding')).toEqual([]);
    expect(bound(byDefault.docs, 'RoleBinding')).toEqual([
      'ops/rel-sitesync-operator',
      'ops/rel-sitesync-operator-leader-election',
    ]);
    expect(grantedKeys(rulesOf(byDefault.docs, 'Role', 'rel-sitesync-operator'))).toEqual(
      expectedKeys('watched', ''),
    );
    expect(resolveEnv(byDefault.docs, 'p', 'ops')['WATCH_NAMESPACE']).toBe('ops');
    const listed = await renderChart({
      release: 'rel',
      namespace: 'ops',
      values: { watch: { scope: 'Namespace', namespaces: ['apps', 'data'] } },
    });
    expect(bound(listed.docs, 'Role')).toEqual([
      'apps/rel-sitesync-operator',
      'data/rel-sitesync-operator',
      'ops/rel-sitesync-operator-leader-election',
    ]);
    expect(bound(listed.docs, 'RoleBinding')).toEqual([
      'apps/rel-sitesync-operator',
      'data/rel-sitesync-operator',
      'ops/rel-sitesync-operator-leader-election',
    ]);
    expect(resolveEnv(listed.docs, 'p', 'ops')['WATCH_NAMESPACE']).toBe('apps,data');
  });

  it('alerts on site down, replication lag and reconcile errors with metrics the operator exports', async () => {
    const exported = exportedMetricNames();
    const { docs } = await renderChart({ release: 'rel', namespace: 'ops', values: ALL_ON });
    const rule = findDoc(docs, 'PrometheusRule') as unknown as {
      spec: { groups: { rules: { alert: string; expr: string; for: string }[] }[] };
    };
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    const byName = new Map(alerts.map((a) => [a.alert, a]));
    expect(byName.get('SitesyncSiteDown')?.expr).toBe('sitesync_site_up == 0');
    expect(byName.get('SitesyncReplicationLagHigh')?.expr).toContain(
      'sitesync_site_replication_lag_seconds',
    );
    expect(byName.get('SitesyncReplicationLagHigh')?.expr).toContain('> 900');
    expect(byName.get('SitesyncReconcileErrors')?.expr).toContain(
      'sitesync_reconcile_total{result="error"}',
    );
    for (const a of alerts) {
      expect(a.for).toMatch(/^\d+[smh]$/);
      for (const name of metricNamesIn(a.expr))
        expect([a.alert, exported.has(name)]).toEqual([a.alert, true]);
    }
    const monitor = findDoc(docs, 'ServiceMonitor') as unknown as {
      spec: { endpoints: { port: string; path: string; honorLabels: boolean }[] };
    };
    expect(monitor.spec.endpoints[0]).toMatchObject({
      port: 'metrics',
      path: '/metrics',
      honorLabels: true,
    });
    const dashboardFile = readFileSync(join(CHART, 'dashboards', 'sitesync-operator.json'), 'utf8');
    const cm = findDoc(docs, 'ConfigMap', 'rel-sitesync-operator-dashboard') as unknown as {
      data: Record<string, string>;
      metadata: { labels: Record<string, string> };
    };
    expect(cm.metadata.labels['grafana_dashboard']).toBe('1');
    const dashboard = JSON.parse(cm.data['sitesync-operator.json'] ?? '') as {
      panels: { targets?: { expr: string }[] }[];
    };
    expect(dashboard).toEqual(JSON.parse(dashboardFile));
    const used = dashboard.panels
      .flatMap((p) => p.targets ?? [])
      .flatMap((t) => metricNamesIn(t.expr));
    expect(used.length).toBeGreaterThan(10);
    for (const name of used) expect([name, exported.has(name)]).toEqual([name, true]);
    const ours = [...exported].filter(
      (n) => !/_(process|nodejs)_/.test(n) && !n.includes('_bucket'),
    );
    const shown = new Set(used.map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    for (const name of ours.filter((n) => !/_(sum|count)$/.test(n)))
      expect([name, shown.has(name)]).toEqual([name, true]);
  });
});

describe('helm install and uninstall on the real apiserver', () => {
  it('creates every object; uninstall removes them and keeps the CRDs and user data', async () => {
    const ns = await labelledNamespace('helm-inst');
    const release = `inst-${suffix()}`;
    const out = await mustHelm([
      'install',
      release,
      CHART,
      '-n',
      ns,
      '--set',
      'dashboard.enabled=true',
    ]);
    expect(out).toContain('STATUS: deployed');
    expect(out).toContain(`sitesync-operator 0.1.0 is installed in namespace ${ns}`);
    const manifest = parseDocs(await mustHelm(['get', 'manifest', release, '-n', ns]));
    expect(manifest.map((d) => d.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRole',
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    // The default install reaches Secrets in its own namespace only: it cannot mint a token in
    // kube-system (create secrets there), nor read Secrets anywhere else.
    const sa = `system:serviceaccount:${ns}:${release}-sitesync-operator`;
    const canI = async (...args: string[]) =>
      (await kubectl(['auth', 'can-i', ...args, `--as=${sa}`])).stdout.trim();
    expect(await canI('create', 'secrets', '-n', 'kube-system')).toBe('no');
    expect(await canI('get', 'secrets', '-n', 'kube-system')).toBe('no');
    expect(await canI('get', 'secrets', '-n', 'default')).toBe('no');
    expect(await canI('create', 'secrets', '-n', ns)).toBe('yes');
    expect(await canI('get', 'secrets', '-n', ns)).toBe('yes');
    expect(await canI('list', 'secrets', '-n', ns)).toBe('no');
    // Nothing it owns is deleted by the operator: owner references, the garbage collector.
    expect(await canI('delete', 'secrets', '-n', ns)).toBe('no');
    expect(await canI('delete', 'configmaps', '-n', ns)).toBe('no');
    const stream = toYamlStream(manifest);
    const got = await mustKubectl(['get', '-n', ns, '-f', '-', '-o', 'name'], stream);
    expect(got.trim().split('\n')).toHaveLength(manifest.length);
    // User data: a group and a Secret in the release namespace.
    await mustKubectl(
      ['apply', '-n', ns, '-f', '-'],
      toYamlStream([
        {
          apiVersion: 'sitesync.io/v1alpha1',
          kind: 'SiteReplicationGroup',
          metadata: { name: 'keep-me' },
          spec: {
            sites: ['a', 'b'].map((s) => ({
              name: s,
              endpoint: `http://${s}.example:9000`,
              credentialsSecret: { name: 'creds' },
            })),
          },
        },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { a: 'b' } },
      ]),
    );
    const un = await mustHelm(['uninstall', release, '-n', ns]);
    expect(un).toContain(`release "${release}" uninstalled`);
    await eventually(async () => {
      const r = await kubectl(
        ['get', '-n', ns, '-f', '-', '-o', 'name', '--ignore-not-found'],
        stream,
      );
      expect(r.stdout.trim()).toBe('');
    });
    for (const crd of ['sitereplicationgroups', 'bucketreplications', 'identityproviders'])
      await mustKubectl(['get', 'crd', `${crd}.sitesync.io`]);
    await mustKubectl(['get', '-n', ns, 'srg/keep-me', 'secret/creds']);
  });
});

describe('the kustomize base', () => {
  it('kubectl apply -k manifests/default is accepted by the apiserver', async () => {
    const ns = 'sitesync-system';
    const exists = await kubectl(['get', 'ns', ns]);
    if (exists.code !== 0) await mustKubectl(['create', 'ns', ns]);
    const r = await kubectl(['apply', '-k', 'manifests/default', '--dry-run=server']);
    expect({ code: r.code, podSecurity: r.stderr.includes('PodSecurity') }).toEqual({
      code: 0,
      podSecurity: false,
    });
    const docs = parseDocs(await mustKubectl(['kustomize', 'manifests/default']));
    for (const d of docs) expect(r.stdout).toContain(`/${d.metadata.name} `);
    // Namespaced like the chart's default: nothing cluster-wide but the CRDs.
    expect(docs.map((d) => d.kind).sort()).toEqual([
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'Namespace',
      'PodDisruptionBudget',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    expect(grantedKeys(rulesOf(docs, 'Role', 'sitesync-operator'))).toEqual(
      expectedKeys('watched', ''),
    );
    expect(grantedKeys(rulesOf(docs, 'Role', 'sitesync-operator-leader-election'))).toEqual(
      expectedKeys('lease', 'sitesync-operator'),
    );
    const env = resolveEnv(docs, 'p', ns);
    const chartEnv = resolveEnv((await renderChart({ release: 'x', namespace: ns })).docs, 'p', ns);
    expect(Object.keys(env).sort()).toEqual(
      Object.keys(chartEnv)
        .filter(
          (k) =>
            !['WORKERS', 'SITE_TIMEOUT_MS', 'PROGRESS_INTERVAL_MS', 'VERIFY_SLICE_MS'].includes(k),
        )
        .sort(),
    );
    expect(env).toMatchObject({
      LEADER_ELECT: 'true',
      LEASE_NAMESPACE: ns,
      WATCH_NAMESPACE: ns,
      NODE_OPTIONS: OPERATOR_NODE_OPTIONS,
    });
    expect(container(docs).c.securityContext).toEqual(
      container((await renderChart({ release: 'x', namespace: ns })).docs).c.securityContext,
    );
  });

  it('accepts the samples', async () => {
    const ns = await createNamespace('kust-samples');
    const r = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', 'manifests/samples/']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
