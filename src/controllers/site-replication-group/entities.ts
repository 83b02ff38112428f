/**
 * Turns a site's snapshot into the entity map the three-way merge works on: one key per
 * replicated thing, one short digest of its canonical content. What the group's `replicate`
 * switches turn off, what `buckets` excludes, and what belongs to the operator or to a site's
 * own administrators never becomes an entity.
 */
import { RESERVED_PREFIX } from '../../api/names.js';
import type { BucketSelector, Replicate } from '../../api/site-replication-group.js';
import { digestOf } from '../../replication/digest.js';
import { globMatch } from '../../replication/glob.js';
import {
  BUCKET_CONFIGS,
  type BucketConfigKind,
  type EntityKey,
  encodeKey,
} from '../../replication/entity-key.js';
import type { Entity } from '../../replication/merge.js';
import { canonicalPolicy, minioOnlyParts } from '../../replication/policy.js';
import type { BucketMeta, IamState, SiteSnapshot } from '../../sites/snapshot.js';

export type { Entity };

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
  /**
   * Seals the digest of a secret-bearing entity (a user, a service account) with the group's
   * key (replication/secret-digest.ts), so the agreed state holds no crackable digest.
   */
  seal?: ((digest: string) => string) | undefined;
}

export function bucketSelected(selector: BucketSelector, name: string): boolean {
  return (
    selector.include.some((p) => globMatch(p, name)) &&
    !selector.exclude.some((p) => globMatch(p, name))
  );
}

const d = (value: unknown) => digestOf(value).slice(0, 16);

/**
 * Digests of parsed values, by the value itself: the export cache hands out the same parsed
 * documents (a bucket's policy, tags, a user's record) for as long as the site holds them, so a
 * steady pass digests only what changed instead of every entity of every site. Held weakly:
 * an entry lives as long as the export cache keeps its value. Such values are never changed
 * after parsing (the export cache hands out copies of the records holding them).
 */
const DIGESTS = new WeakMap<object, string>();

function memoDigest<T extends object>(value: T, digest: (v: T) => string): string {
  let out = DIGESTS.get(value);
  if (out === undefined) {
    out = digest(value);
    DIGESTS.set(value, out);
  }
  return out;
}

/** The digest of a value that may be a parsed object (memoized) or a scalar. */
const dv = (value: unknown, of: (v: unknown) => unknown = (v) => v): string =>
  typeof value === 'object' && value !== null ? memoDigest(value, (v) => d(of(v))) : d(of(value));

const OBJECT_LOCK_DIGEST = { on: d({ objectLock: true }), off: d({ objectLock: false }) };

const sealed = (scope: EntityScope, digest: string) => scope.seal?.(digest) ?? digest;

/** Sets the entity of `key` in an entity map (keyed by the encoded form the merge works on). */
function put(out: Map<string, Entity>, key: EntityKey, entity: Entity): void {
  out.set(encodeKey(key), entity);
}

/** A bucket config's digest (its value as parsed, memoized), or undefined when absent. */
function bucketConfigDigest(b: BucketMeta, kind: BucketConfigKind): string | undefined {
  const value = bucketConfigValue(b, kind);
  if (value === undefined) return undefined;
  return kind === 'policy' ? dv(value, canonicalPolicy) : dv(value);
}

function bucketConfigValue(b: BucketMeta, kind: BucketConfigKind): unknown {
  switch (kind) {
    case 'policy':
      return b.policy;
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
    const digest = b.objectLock ? OBJECT_LOCK_DIGEST.on : OBJECT_LOCK_DIGEST.off;
    put(out, { kind: 'bucket', bucket: b.name }, { digest });
    for (const config of BUCKET_CONFIGS) {
      if (!configEnabled(scope.replicate, config)) continue;
      const value = bucketConfigDigest(b, config);
      if (value !== undefined)
        put(out, { kind: 'bucketConfig', bucket: b.name, config }, { digest: value });
    }
  }
}

/**
 * A mapping's mirrored policies: the operator's own (`sitesync-`, a secondary's fence) are the
 * site's, never the group's.
 */
export const mirroredPolicies = (policies: readonly string[]): string[] =>
  policies.filter((p) => !p.startsWith(RESERVED_PREFIX));

/*
 * What a site that receives users, groups and mappings without their secrets (AWS-style IAM:
 * coverage.ts `receivesOnly`) holds of them: the entity's `shape`, and what the executor writes
 * there. A user: its existence, and only while enabled (such IAM cannot disable one); a group:
 * its enabled users as members, while enabled; a mapping: the policies that site gets (the
 * customer policies the source holds, without MinIO's extensions), while there are any.
 */

/** The source's users a receiving site holds: enabled ones. */
export const portableUser = (iam: IamState, name: string): boolean =>
  iam.users.get(name)?.status === 'enabled' && !name.startsWith(RESERVED_PREFIX);

/** A group's members as a receiving site holds them; undefined: it does not hold the group. */
export function portableGroup(iam: IamState, name: string): string[] | undefined {
  const g = iam.groups.get(name);
  if (g?.status !== 'enabled') return undefined;
  return g.members.filter((m) => portableUser(iam, m));
}

/** A mapping's policies as a receiving site holds them; undefined: it holds no mapping. */
export function portablePolicies(
  iam: IamState,
  key: { kind: 'userMapping' | 'groupMapping'; name: string },
): string[] | undefined {
  const owner =
    key.kind === 'userMapping' ? portableUser(iam, key.name) : portableGroup(iam, key.name);
  const m = (key.kind === 'userMapping' ? iam.userPolicies : iam.groupPolicies).get(key.name);
  if (owner === false || owner === undefined || m === undefined) return undefined;
  const policies = mirroredPolicies(m.policies).filter((p) => {
    const doc: unknown = iam.policies.get(p);
    return doc !== undefined && !BUILTIN_POLICIES.has(p) && minioOnlyParts(doc).length === 0;
  });
  return policies.length === 0 ? undefined : [...policies].sort();
}

/** A mapping's entity; none when it holds only the operator's own policies. */
function putMapping(
  out: Map<string, Entity>,
  key: EntityKey & { kind: 'userMapping' | 'groupMapping' },
  iam: IamState,
  m: { policies: string[]; updatedAt?: number | undefined } | undefined,
): void {
  if (m === undefined) return;
  const policies = mirroredPolicies(m.policies);
  if (policies.length === 0 && m.policies.length > 0) return;
  const portable = portablePolicies(iam, key);
  const shape = portable === undefined ? null : d(portable);
  put(out, key, { digest: memoDigest(m, () => d(policies)), updatedAt: m.updatedAt, shape });
}

function mirroredUser(name: string, scope: EntityScope): boolean {
  return !name.startsWith(RESERVED_PREFIX) && !scope.operatorUsers.has(name);
}

function addPoliciesAndUsers(out: Map<string, Entity>, iam: IamState, scope: EntityScope): void {
  const r = scope.replicate.iam;
  if (r.policies) {
    for (const [name, doc] of iam.policies) {
      if (!BUILTIN_POLICIES.has(name) && !name.startsWith(RESERVED_PREFIX)) {
        put(out, { kind: 'policy', name }, { digest: dv(doc, canonicalPolicy) });
      }
    }
  }
  if (r.users && scope.ldap !== true) {
    for (const [name, u] of iam.users) {
      if (!mirroredUser(name, scope)) continue;
      // The secret is hashed into the digest, so a changed secret key propagates; sealed.
      const plain = memoDigest(u, () => d({ status: u.status, secret: digestOf(u.secretKey) }));
      const digest = sealed(scope, plain);
      const shape = portableUser(iam, name)
        ? sealed(scope, d({ status: 'enabled', secret: digestOf('') }))
        : null;
      put(out, { kind: 'user', name }, { digest, shape });
      putMapping(out, { kind: 'userMapping', name }, iam, iam.userPolicies.get(name));
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
      const digest = memoDigest(g, () => d({ status: g.status, members: g.members }));
      const members = portableGroup(iam, name);
      const shape = members === undefined ? null : d({ status: 'enabled', members });
      put(out, { kind: 'group', name }, { digest, updatedAt: g.updatedAt, shape });
      putMapping(out, { kind: 'groupMapping', name }, iam, iam.groupPolicies.get(name));
    }
  }
  if (r.serviceAccounts) {
    for (const [ak, sa] of iam.serviceAccounts) {
      // Service accounts of the root user (or of identities that are not mirrored users) stay.
      if (!iam.users.has(sa.parent) || !mirroredUser(sa.parent, scope)) continue;
      const plain = memoDigest(sa, () => {
        const { claims: _claims, secretKey, ...rest } = sa;
        return d({ ...rest, secret: digestOf(secretKey) });
      });
      const digest = sealed(scope, plain);
      put(out, { kind: 'serviceAccount', accessKey: ak }, { digest });
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
      putMapping(out, { kind: 'userMapping', name }, iam, m);
    }
  }
  if (r.groups) {
    for (const [name, m] of iam.groupPolicies) {
      if (iam.groups.has(name) || name.startsWith(RESERVED_PREFIX)) continue;
      putMapping(out, { kind: 'groupMapping', name }, iam, m);
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

/** The phase of an entity: creations run in this order, deletions in reverse. */
export function keyPhase(key: EntityKey): number {
  switch (key.kind) {
    case 'bucket':
      return 0;
    case 'bucketConfig':
      return 1;
    case 'policy':
      return 2;
    case 'user':
      return 3;
    case 'group':
      return 4;
    case 'userMapping':
    case 'groupMapping':
      return 5;
    case 'serviceAccount':
      return 6;
  }
}
