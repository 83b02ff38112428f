/**
 * Turns a site's snapshot into the entity map the three-way merge works on: one key per
 * replicated thing, one short digest of its canonical content. What the group's `replicate`
 * switches turn off, what `buckets` excludes, and what belongs to the operator or to a site's
 * own administrators never becomes an entity.
 */
import type { BucketSelector, Replicate } from '../api/site-replication-group.js';
import { digestOf } from '../replication/digest.js';
import { canonicalPolicy } from '../replication/policy.js';
import type { BucketMeta, IamState, SiteSnapshot } from '../sites/snapshot.js';

export interface Entity {
  digest: string;
  updatedAt?: number | undefined;
}

/** Names the operator owns on every site; they are per site and never mirrored. */
export const RESERVED_PREFIX = 'sitesync-';

/** MinIO's built-in canned policies exist on every site and cannot be changed. */
export const BUILTIN_POLICIES = new Set([
  'consoleAdmin',
  'diagnostics',
  'readonly',
  'readwrite',
  'writeonly',
]);

export interface EntityScope {
  replicate: Replicate;
  buckets: BucketSelector;
  /** Access keys of the credentials the operator uses on the sites: never mirrored. */
  operatorUsers: ReadonlySet<string>;
  /**
   * The group's sites authenticate against LDAP: MinIO then refuses internal users and groups
   * (403), so only policies, LDAP DN mappings and service accounts are mirrored.
   */
  ldap?: boolean | undefined;
}

/** A glob with `*` and `?`, anchored. */
export function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

export function bucketSelected(selector: BucketSelector, name: string): boolean {
  return (
    selector.include.some((p) => globMatch(p, name)) &&
    !selector.exclude.some((p) => globMatch(p, name))
  );
}

const d = (value: unknown) => digestOf(value).slice(0, 16);

export const bucketKey = (bucket: string) => `bucket:${bucket}`;
export const BUCKET_CONFIGS = ['policy', 'tags', 'object-lock', 'encryption'] as const;
export type BucketConfigKind = (typeof BUCKET_CONFIGS)[number];

function bucketConfigValue(b: BucketMeta, kind: BucketConfigKind): unknown {
  switch (kind) {
    case 'policy':
      return b.policy === undefined ? undefined : canonicalPolicy(b.policy);
    case 'tags':
      return b.tags;
    case 'object-lock':
      return b.objectLockConfig;
    case 'encryption':
      return b.encryption;
  }
}

function configEnabled(replicate: Replicate, kind: BucketConfigKind): boolean {
  const c = replicate.bucketConfig;
  const on: Record<BucketConfigKind, boolean> = {
    policy: c.policy,
    tags: c.tags,
    'object-lock': c.objectLock,
    encryption: c.encryption,
  };
  return on[kind];
}

function addBuckets(out: Map<string, Entity>, snap: SiteSnapshot, scope: EntityScope): void {
  for (const b of snap.buckets.values()) {
    if (!bucketSelected(scope.buckets, b.name) || b.name.startsWith(RESERVED_PREFIX)) continue;
    out.set(bucketKey(b.name), { digest: d({ objectLock: b.objectLock }) });
    for (const kind of BUCKET_CONFIGS) {
      const value = bucketConfigValue(b, kind);
      if (value !== undefined && configEnabled(scope.replicate, kind)) {
        out.set(`${bucketKey(b.name)}/${kind}`, { digest: d(value) });
      }
    }
  }
}

function mirroredUser(name: string, scope: EntityScope): boolean {
  return !name.startsWith(RESERVED_PREFIX) && !scope.operatorUsers.has(name);
}

function addPoliciesAndUsers(out: Map<string, Entity>, iam: IamState, scope: EntityScope): void {
  const r = scope.replicate.iam;
  if (r.policies) {
    for (const [name, doc] of iam.policies) {
      if (!BUILTIN_POLICIES.has(name) && !name.startsWith(RESERVED_PREFIX)) {
        out.set(`policy:${name}`, { digest: d(canonicalPolicy(doc)) });
      }
    }
  }
  if (r.users && scope.ldap !== true) {
    for (const [name, u] of iam.users) {
      if (!mirroredUser(name, scope)) continue;
      // The secret is hashed into the digest, so a changed secret key propagates.
      out.set(`user:${name}`, { digest: d({ status: u.status, secret: digestOf(u.secretKey) }) });
      const m = iam.userPolicies.get(name);
      if (m) out.set(`mapping:user:${name}`, { digest: d(m.policies), updatedAt: m.updatedAt });
    }
  }
}

function addGroupsAndServiceAccounts(
  out: Map<string, Entity>,
  iam: IamState,
  scope: EntityScope,
): void {
  const r = scope.replicate.iam;
  if (r.groups && scope.ldap !== true) {
    for (const [name, g] of iam.groups) {
      if (name.startsWith(RESERVED_PREFIX)) continue;
      out.set(`group:${name}`, {
        digest: d({ status: g.status, members: g.members }),
        updatedAt: g.updatedAt,
      });
      const m = iam.groupPolicies.get(name);
      if (m) out.set(`mapping:group:${name}`, { digest: d(m.policies), updatedAt: m.updatedAt });
    }
  }
  if (r.serviceAccounts) {
    for (const [ak, sa] of iam.serviceAccounts) {
      // Service accounts of the root user (or of identities that are not mirrored users) stay.
      if (!iam.users.has(sa.parent) || !mirroredUser(sa.parent, scope)) continue;
      const { claims: _claims, secretKey, ...rest } = sa;
      out.set(`svcacct:${ak}`, { digest: d({ ...rest, secret: digestOf(secretKey) }) });
    }
  }
}

/**
 * Policy mappings of identities from an external IdP (LDAP user and group DNs): MinIO keeps the
 * users' in stsuser_mappings.json and the groups' beside internal groups' in group_mappings.json.
 * They share the `mapping:user:` / `mapping:group:` keys (a DN never looks like an access key),
 * and `set-user-or-group-policy` writes them on an LDAP site as it does internal ones.
 */
function addExternalMappings(out: Map<string, Entity>, iam: IamState, scope: EntityScope): void {
  const r = scope.replicate.iam;
  if (r.users) {
    for (const [name, m] of iam.stsPolicies) {
      if (iam.users.has(name) || !mirroredUser(name, scope)) continue;
      out.set(`mapping:user:${name}`, { digest: d(m.policies), updatedAt: m.updatedAt });
    }
  }
  if (r.groups) {
    for (const [name, m] of iam.groupPolicies) {
      if (iam.groups.has(name) || name.startsWith(RESERVED_PREFIX)) continue;
      out.set(`mapping:group:${name}`, { digest: d(m.policies), updatedAt: m.updatedAt });
    }
  }
}

/** The entity map of one site. */
export function entitiesOf(snap: SiteSnapshot, scope: EntityScope): Map<string, Entity> {
  const out = new Map<string, Entity>();
  addBuckets(out, snap, scope);
  addPoliciesAndUsers(out, snap.iam, scope);
  addGroupsAndServiceAccounts(out, snap.iam, scope);
  addExternalMappings(out, snap.iam, scope);
  return out;
}

/** The phase of an entity key: creations run in this order, deletions in reverse. */
export function keyPhase(key: string): number {
  if (key.startsWith('bucket:')) return key.includes('/') ? 1 : 0;
  if (key.startsWith('policy:')) return 2;
  if (key.startsWith('user:')) return 3;
  if (key.startsWith('group:')) return 4;
  if (key.startsWith('mapping:')) return 5;
  return 6; // svcacct:
}
