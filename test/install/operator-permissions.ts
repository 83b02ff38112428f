/**
 * What the operator does on the apiserver, verb by verb, with the code that does it. The chart
 * and the kustomize base must grant exactly this (no more, no less); the integration test
 * checks the rendered RBAC against it, proves each entry with `kubectl auth can-i` as the
 * chart's ServiceAccount, and records what a real operator process actually requests.
 */
export interface Permission {
  /** '' for the core group. */
  group: string;
  /** With the subresource: `sitereplicationgroups/status`. */
  resource: string;
  verb: string;
  /** Where: the namespaces the operator watches, or the Lease's namespace. */
  scope: 'watched' | 'lease';
  /** Set when the grant may be limited to one object (the Lease). */
  resourceName?: 'lease';
  why: string;
}

export const OPERATOR_PERMISSIONS: readonly Permission[] = [
  p('sitesync.io', 'sitereplicationgroups', 'list', 'runtime/informer.ts relist'),
  p('sitesync.io', 'sitereplicationgroups', 'watch', 'runtime/informer.ts watch'),
  p('sitesync.io', 'sitereplicationgroups', 'patch', 'runtime/finalizers.ts add/remove'),
  p(
    'sitesync.io',
    'sitereplicationgroups',
    'get',
    'controllers/bucket-replication/source.ts readGroup',
  ),
  p('sitesync.io', 'sitereplicationgroups/status', 'patch', 'runtime/status.ts patchStatus'),
  p('sitesync.io', 'bucketreplications', 'list', 'runtime/informer.ts relist'),
  p('sitesync.io', 'bucketreplications', 'watch', 'runtime/informer.ts watch'),
  p('sitesync.io', 'bucketreplications', 'patch', 'finalizers; bucket-replication.ts recordOwned'),
  p('sitesync.io', 'bucketreplications/status', 'patch', 'runtime/status.ts patchStatus'),
  p('sitesync.io', 'identityproviders', 'list', 'runtime/informer.ts relist'),
  p('sitesync.io', 'identityproviders', 'watch', 'runtime/informer.ts watch'),
  p('sitesync.io', 'identityproviders/status', 'patch', 'runtime/status.ts patchStatus'),
  p('', 'secrets', 'get', '_srg-observe.ts credentials, CA, replicator; IdP client secret'),
  p(
    '',
    'secrets',
    'create',
    'controllers/site-replication-group/state.ts loadReplicatorSecrets (new)',
  ),
  p(
    '',
    'secrets',
    'patch',
    'controllers/site-replication-group/state.ts loadReplicatorSecrets (site added)',
  ),
  p('', 'configmaps', 'get', 'controllers/site-replication-group.ts loadAgreed'),
  p('', 'configmaps', 'patch', 'controllers/site-replication-group.ts saveAgreed (apply)'),
  p('', 'configmaps', 'create', 'saveAgreed: server-side apply of a missing object creates it'),
  p('', 'events', 'create', 'runtime/events.ts create'),
  p('', 'events', 'patch', 'runtime/events.ts bump (a repeated event)'),
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verb: 'create',
    scope: 'lease',
    why: 'runtime/leader-election.ts first start',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verb: 'get',
    scope: 'lease',
    resourceName: 'lease',
    why: 'runtime/leader-election.ts tryAcquireOrRenew',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verb: 'patch',
    scope: 'lease',
    resourceName: 'lease',
    why: 'runtime/leader-election.ts renew, take over, release',
  },
];

function p(group: string, resource: string, verb: string, why: string): Permission {
  return { group, resource, verb, scope: 'watched', why };
}

/** `verb group/resource`, the form the tests compare and print. */
export function permissionKey(x: { verb: string; group: string; resource: string }): string {
  return `${x.verb} ${x.group === '' ? 'core' : x.group}/${x.resource}`;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Every (verb, group, resource[, resourceName]) a list of RBAC rules grants, as keys. */
export function grantedKeys(rules: readonly PolicyRule[]): string[] {
  const keys = new Set<string>();
  for (const r of rules) {
    for (const group of r.apiGroups ?? [''])
      for (const resource of r.resources ?? [])
        for (const verb of r.verbs)
          for (const name of r.resourceNames ?? [''])
            keys.add(permissionKey({ verb, group, resource }) + (name ? `#${name}` : ''));
  }
  return [...keys].sort();
}

/** The keys OPERATOR_PERMISSIONS expects in rules of `scope`, the Lease named `leaseName`. */
export function expectedKeys(scope: Permission['scope'], leaseName: string): string[] {
  return OPERATOR_PERMISSIONS.filter((x) => x.scope === scope)
    .map((x) => permissionKey(x) + (x.resourceName === 'lease' ? `#${leaseName}` : ''))
    .sort();
}
