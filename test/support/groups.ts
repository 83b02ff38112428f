/**
 * Helpers for end-to-end tests of SiteReplicationGroups on throwaway MinIO sites: site specs
 * (built in one place, so switching the sites to TLS is one change), credentials Secrets,
 * waiting for conditions, what every site must agree on, the operator's metrics and events.
 */
import { expect } from '@jest/globals';
import { stringify } from 'yaml';

import { SRG_RESOURCE } from '../../src/api/names.js';
import type { SiteReplicationGroup } from '../../src/api/site-replication-group.js';
import { canonicalJSON } from '../../src/replication/digest.js';
import { canonicalPolicy } from '../../src/replication/policy.js';
import { findCondition } from '../../src/runtime/conditions.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import type { SiteSnapshot } from '../../src/sites/snapshot.js';
import { eventually } from './eventually.js';
import { applyCrds, createNamespace, kubeClient, mustKubectl, stack } from './kube.js';
import { minioDriver } from './minio.js';
import { OperatorProcess } from './operator.js';
import { ensureCaSecret, siteSpec as stackSiteSpec } from './site-spec.js';

/**
 * A site entry of a group's spec (https with the stack's CA, see `site-spec.ts`), with the
 * credentials Secret or the endpoint's spelling overridden.
 */
export function siteSpec(
  name: string,
  server: { endpoint: string },
  opts: { secret?: string; endpoint?: string } = {},
) {
  const base = stackSiteSpec(
    name,
    server,
    opts.secret === undefined ? {} : { credentials: opts.secret },
  );
  return { ...base, endpoint: opts.endpoint ?? base.endpoint };
}

/**
 * A group e2e file's start: the CRDs, a fresh namespace holding the sites' CA, and an operator
 * watching it with the suites' settings (`env` adds or overrides), not started yet.
 */
export async function groupSuite(
  prefix: string,
  env: Record<string, string> = {},
): Promise<{ kube: KubeClient; ns: string; operator: OperatorProcess }> {
  const kube = kubeClient();
  await applyCrds();
  const ns = await createNamespace(prefix);
  await ensureCaSecret(ns, kube);
  const operator = new OperatorProcess({
    KUBECONFIG: stack().kubeconfig,
    WATCH_NAMESPACE: ns,
    LOG_LEVEL: 'debug',
    SITE_TIMEOUT_MS: '5000',
    PROGRESS_INTERVAL_MS: '2000',
    ...env,
  });
  return { kube, ns, operator };
}

export async function putCredentials(
  ns: string,
  secret: string,
  server: { accessKey: string; secretKey: string },
): Promise<void> {
  await mustKubectl(
    ['apply', '-n', ns, '-f', '-'],
    stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secret },
      stringData: { accessKey: server.accessKey, secretKey: server.secretKey },
    }),
  );
}

export function groupManifest(name: string, sites: object[], extra: object = {}) {
  return {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name },
    spec: { syncInterval: '2s', sites, ...extra },
  };
}

export async function applyGroup(ns: string, manifest: object): Promise<void> {
  await mustKubectl(['apply', '-n', ns, '-f', '-'], stringify(manifest));
}

export function getGroup(kube: KubeClient, ns: string, name: string) {
  return kube.get<SiteReplicationGroup>(SRG_RESOURCE, ns, name);
}

export async function waitReady(
  kube: KubeClient,
  ns: string,
  name: string,
  timeoutMs = 180_000,
): Promise<SiteReplicationGroup> {
  return eventually(
    async () => {
      const g = await getGroup(kube, ns, name);
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

export async function snapshotOf(server: {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  ca?: string | undefined;
}): Promise<SiteSnapshot> {
  const d = minioDriver(server, { name: 'check' });
  try {
    return await d.snapshot();
  } finally {
    d.close();
  }
}

const mine = (n: string) => !n.startsWith('sitesync-');

/**
 * What every site of a group must agree on, read from the site itself (with `versioning`, each
 * bucket's versioning state too).
 */
function comparableOf(s: SiteSnapshot, opts: { versioning: boolean }): string {
  const buckets = [...s.buckets.values()]
    .map((b) => ({
      name: b.name,
      ...(opts.versioning ? { versioning: b.versioning } : {}),
      objectLock: b.objectLock,
      policy: b.policy === undefined ? undefined : canonicalPolicy(b.policy),
      tags: b.tags,
      lock: b.objectLockConfig,
      encryption: b.encryption,
    }))
    .sort((x, y) => (x.name < y.name ? -1 : 1));
  const iam = {
    policies: [...s.iam.policies]
      .filter(([n]) => mine(n))
      .map(([n, d]) => [n, canonicalPolicy(d)])
      .sort(),
    users: [...s.iam.users].filter(([n]) => mine(n)).sort(),
    groups: [...s.iam.groups].map(([n, g]) => [n, g.status, g.members]).sort(),
    userPolicies: [...s.iam.userPolicies]
      .filter(([n]) => mine(n))
      .map(([n, m]) => [n, m.policies])
      .sort(),
    groupPolicies: [...s.iam.groupPolicies].map(([n, m]) => [n, m.policies]).sort(),
    serviceAccounts: [...s.iam.serviceAccounts]
      .filter(([, sa]) => s.iam.users.has(sa.parent) && mine(sa.parent))
      .map(([ak, sa]) => [ak, sa.parent, sa.status, sa.secretKey])
      .sort(),
  };
  return canonicalJSON({ buckets, iam });
}

export const comparable = (s: SiteSnapshot) => comparableOf(s, { versioning: false });
export const comparableVersioned = (s: SiteSnapshot) => comparableOf(s, { versioning: true });

/** How much of each kind a site holds: the counts that show nothing was lost. */
export function counts(s: SiteSnapshot) {
  const configs = [...s.buckets.values()].reduce(
    (n, b) =>
      n +
      [b.policy, b.tags, b.objectLockConfig, b.encryption].filter((c) => c !== undefined).length,
    0,
  );
  return {
    buckets: s.buckets.size,
    bucketConfigs: configs,
    policies: [...s.iam.policies.keys()].filter(mine).length,
    users: [...s.iam.users.keys()].filter(mine).length,
    groups: s.iam.groups.size,
    userMappings: [...s.iam.userPolicies.keys()].filter(mine).length,
    serviceAccounts: [...s.iam.serviceAccounts.values()].filter(
      (sa) => s.iam.users.has(sa.parent) && mine(sa.parent),
    ).length,
  };
}

/** The sum of a metric family's samples whose labels contain every `match` (`k="v"`). */
export function metricSum(text: string, family: string, match: readonly string[] = []): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${family}{`) || l.startsWith(`${family} `))
    .filter((l) => match.every((m) => l.includes(m)))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

interface KubeEvent {
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  involvedObject?: { name?: string };
  lastTimestamp?: string;
  eventTime?: string;
}

/** The events recorded for a group. */
export async function groupEvents(ns: string, group: string): Promise<KubeEvent[]> {
  const out = await mustKubectl([
    'get',
    'events',
    '-n',
    ns,
    '--field-selector',
    `involvedObject.name=${group}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(out) as { items: KubeEvent[] }).items;
}
