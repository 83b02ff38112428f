/**
 * What each site of a mixed group can hold, by its capability flags (never by flavor name):
 * the entities a site cannot hold take no part in the merge on that site (merge.ts `covers`),
 * and status lists them per site as unmappable, with why, so nothing is dropped in silence.
 *
 * - buckets and their configurations (policy, tags, object lock, encryption): every flavor;
 * - policies: sites with IAM (AWS-style IAM keeps them as customer-managed policies);
 * - users, groups and policy mappings: sites with IAM. Where secret keys cannot be set
 *   (`secretKeys` false: AWS-style IAM generates its own) the site only receives them
 *   (`receivesOnly`, merge.ts `receives`): a user without its secret key, so without a login
 *   key unless `spec.accessKeys` asks for one; they never flow from such a site (a user made
 *   there has no secret a MinIO site could take), and what was made there alone is left there;
 * - service accounts: `serviceAccounts`.
 */
import { type EntityKey, decodeKey, encodeKey } from '../../replication/entity-key.js';
import { minioOnlyParts } from '../../replication/policy.js';
import type { SiteCapabilities } from '../../sites/site-client.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import { type Observed, reachable } from './observe.js';

/** Policies (by entity key) using MinIO's extensions, with what in them is MinIO's. */
export type MinioOnlyPolicies = ReadonlyMap<string, string>;

const iamReason = (c: SiteCapabilities) =>
  c.iam || c.secretKeys ? undefined : 'the site has no IAM';

/** Per kind: why a site with these capabilities cannot hold it, or undefined. */
const REASONS: Record<EntityKey['kind'], (caps: SiteCapabilities) => string | undefined> = {
  bucket: () => undefined,
  bucketConfig: () => undefined,
  policy: (c) => (c.iam ? undefined : 'the site has no IAM'),
  user: iamReason,
  group: iamReason,
  userMapping: iamReason,
  groupMapping: iamReason,
  serviceAccount: (c) => (c.serviceAccounts ? undefined : 'the site has no service accounts'),
};

const RECEIVED_KINDS: ReadonlySet<EntityKey['kind']> = new Set([
  'user',
  'group',
  'userMapping',
  'groupMapping',
]);

/**
 * Whether a site with these capabilities only receives the entity: users (without their secret
 * key), groups and mappings on an IAM that cannot take secret keys.
 */
export const receivesOnly = (caps: SiteCapabilities, key: EntityKey): boolean =>
  !caps.secretKeys && caps.iam && RECEIVED_KINDS.has(key.kind);

/** The merge's `receives` of a site (undefined: none). */
export function receivesOf(caps: SiteCapabilities): ((key: string) => boolean) | undefined {
  if (caps.secretKeys || !caps.iam) return undefined;
  return (key) => {
    const k = decodeKey(key);
    return k !== undefined && receivesOnly(caps, k);
  };
}

/** What a receiving site holds of a user, said per user in status (unless spec.accessKeys). */
export const NO_SECRET_KEY =
  "secret key cannot be set on this site's IAM (it makes its own): the user exists here without a login key; spec.accessKeys gives it one";

/** Why a user, group or mapping made on a receiving site alone stays there, said in status. */
export const SITE_ONLY =
  'made on this site alone: users, groups and their mappings flow only from sites that can set secret keys, so it is neither copied nor deleted';

/** Why a site cannot hold an entity, or undefined when it can. */
export function unmappableReason(
  caps: SiteCapabilities,
  key: EntityKey,
  minioOnly?: MinioOnlyPolicies,
): string | undefined {
  const why = REASONS[key.kind](caps);
  if (why !== undefined || key.kind !== 'policy' || caps.minioPolicyExtensions) return why;
  const parts = minioOnly?.get(encodeKey(key));
  return parts === undefined
    ? undefined
    : `it uses what only MinIO evaluates (${parts}); this site's IAM would never match it`;
}

/**
 * The policies, on the sites that understand MinIO's extensions, that use them (what a site
 * without them must not get): read from the snapshots of the pass.
 */
export function minioOnlyPolicies(
  sites: readonly { snap: SiteSnapshot; client: { capabilities: SiteCapabilities } }[],
): MinioOnlyPolicies {
  const out = new Map<string, string>();
  for (const o of sites) {
    if (!o.client.capabilities.minioPolicyExtensions) continue;
    for (const [name, doc] of o.snap.iam.policies) {
      const parts = minioOnlyParts(doc);
      const key = encodeKey({ kind: 'policy', name });
      if (parts.length > 0 && !out.has(key)) out.set(key, parts.join(', '));
    }
  }
  return out;
}

/** Whether a site with these capabilities holds every kind of entity. */
export const coversAll = (caps: SiteCapabilities): boolean =>
  caps.iam && caps.secretKeys && caps.serviceAccounts && caps.minioPolicyExtensions;

/** The merge's `covers` of a site (undefined: every key). */
export function coverOf(
  caps: SiteCapabilities,
  minioOnly?: MinioOnlyPolicies,
): ((key: string) => boolean) | undefined {
  if (coversAll(caps)) return undefined;
  return (key) => {
    const k = decodeKey(key);
    return k !== undefined && unmappableReason(caps, k, minioOnly) === undefined;
  };
}

/** An entity map without what a site cannot hold. */
export function coveredEntities<T>(
  map: Map<string, T>,
  cover: ((key: string) => boolean) | undefined,
): Map<string, T> {
  if (cover === undefined) return map;
  return new Map([...map].filter(([k]) => cover(k)));
}

/** At most this many unmappable entities are named per site; the count has them all. */
const MAX_LISTED = 20;

/**
 * The agreed entities a site cannot hold, each named with why (the first `MAX_LISTED`), and
 * how many there are; `mirrored` are keys mirrored there by other means (spec.accessKeys), and
 * `notes` what those could not mirror.
 */
export function unmappableEntities(
  caps: SiteCapabilities,
  agreedKeys: Iterable<string>,
  more: {
    mirrored?: ReadonlySet<string> | undefined;
    notes?: readonly string[] | undefined;
    minioOnly?: MinioOnlyPolicies | undefined;
    /** The keys the site holds (its own are named when it only receives them). */
    held?: Iterable<string> | undefined;
  } = {},
): { count: number; items: string[] } | undefined {
  const all: string[] = [];
  if (!coversAll(caps)) {
    const agreed = new Set(agreedKeys);
    for (const key of [...agreed].sort()) {
      const why = more.mirrored?.has(key) === true ? undefined : heldReason(caps, key, more);
      if (why !== undefined) all.push(`${key}: ${why}`);
    }
    all.push(...siteOnly(caps, agreed, more.held ?? []));
  }
  all.push(...(more.notes ?? []));
  if (all.length === 0) return undefined;
  return { count: all.length, items: all.slice(0, MAX_LISTED).map((i) => i.slice(0, 1024)) };
}

/** Why a site does not hold an agreed entity as the group has it, or undefined. */
function heldReason(
  caps: SiteCapabilities,
  key: string,
  more: { minioOnly?: MinioOnlyPolicies | undefined },
): string | undefined {
  const k = decodeKey(key);
  if (k === undefined) return undefined;
  const why = unmappableReason(caps, k, more.minioOnly);
  return why ?? (k.kind === 'user' && receivesOnly(caps, k) ? NO_SECRET_KEY : undefined);
}

/** The entities a receiving site holds that the group never agreed on: made there alone. */
function siteOnly(caps: SiteCapabilities, agreed: ReadonlySet<string>, held: Iterable<string>) {
  return [...held]
    .filter((key) => {
      const k = decodeKey(key);
      return !agreed.has(key) && k !== undefined && receivesOnly(caps, k);
    })
    .sort()
    .map((key) => `${key}: ${SITE_ONLY}`);
}

/**
 * The site replicates objects itself (peer links, its own progress counters, version IDs kept
 * across sites); a site observed without a client counts as one until seen otherwise.
 */
export const replicatesNatively = (o: {
  client?: { capabilities: SiteCapabilities } | undefined;
}): boolean => o.client?.capabilities.nativeReplication ?? true;

const MINIO_ONLY = new WeakMap<readonly Observed[], MinioOnlyPolicies>();

/** The pass's MinIO-only policies (computed once per pass's observations). */
export function minioOnlyOf(pass: { observed: readonly Observed[] }): MinioOnlyPolicies {
  let m = MINIO_ONLY.get(pass.observed);
  if (m === undefined) {
    m = minioOnlyPolicies(reachable(pass.observed));
    MINIO_ONLY.set(pass.observed, m);
  }
  return m;
}

/** The merge's `receives` of a site observed in a pass (undefined: none). */
export const siteReceives = (o: {
  client?: { capabilities: SiteCapabilities } | undefined;
}): ((key: string) => boolean) | undefined =>
  o.client ? receivesOf(o.client.capabilities) : undefined;

/** The merge's `covers` of a site observed in a pass (undefined: every key). */
export const siteCover = (
  pass: { observed: readonly Observed[] },
  o: { client?: { capabilities: SiteCapabilities } | undefined },
): ((key: string) => boolean) | undefined =>
  o.client ? coverOf(o.client.capabilities, minioOnlyOf(pass)) : undefined;
