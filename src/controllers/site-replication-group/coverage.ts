/**
 * What each site of a mixed group can hold, by its capability flags (never by flavor name):
 * the entities a site cannot hold take no part in the merge on that site (merge.ts `covers`),
 * and status lists them per site as unmappable, with why, so nothing is dropped in silence.
 *
 * - buckets and their configurations (policy, tags, object lock, encryption): every flavor;
 * - policies: sites with IAM (AWS-style IAM keeps them as customer-managed policies);
 * - users: only where secret keys can be set (`secretKeys`): AWS-style IAM generates its own,
 *   so a user copied there could not log in with the credentials it has elsewhere;
 * - groups and policy mappings: where users are (a group's members, a mapping's user);
 * - service accounts: `serviceAccounts`.
 */
import { type EntityKey, decodeKey, encodeKey } from '../../replication/entity-key.js';
import { minioOnlyParts } from '../../replication/policy.js';
import type { SiteCapabilities } from '../../sites/site-client.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import { type Observed, reachable } from './observe.js';

/** Policies (by entity key) using MinIO's extensions, with what in them is MinIO's. */
export type MinioOnlyPolicies = ReadonlyMap<string, string>;

const NO_SECRET_KEYS =
  "the site's IAM cannot set a user's secret key (it generates its own), so the user is not created there";

/** Per kind: why a site with these capabilities cannot hold it, or undefined. */
const REASONS: Record<EntityKey['kind'], (caps: SiteCapabilities) => string | undefined> = {
  bucket: () => undefined,
  bucketConfig: () => undefined,
  policy: (c) => (c.iam ? undefined : 'the site has no IAM'),
  user: (c) => (c.secretKeys ? undefined : NO_SECRET_KEYS),
  group: (c) => (c.secretKeys ? undefined : 'its members are users, which this site does not get'),
  userMapping: (c) =>
    c.secretKeys ? undefined : 'it maps policies to a user this site does not get',
  groupMapping: (c) =>
    c.secretKeys ? undefined : 'it maps policies to a group this site does not get',
  serviceAccount: (c) => (c.serviceAccounts ? undefined : 'the site has no service accounts'),
};

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
  } = {},
): { count: number; items: string[] } | undefined {
  const all: string[] = [];
  if (!coversAll(caps)) {
    for (const key of [...agreedKeys].sort()) {
      const k = decodeKey(key);
      const why = k === undefined ? undefined : unmappableReason(caps, k, more.minioOnly);
      if (why !== undefined && more.mirrored?.has(key) !== true) all.push(`${key}: ${why}`);
    }
  }
  all.push(...(more.notes ?? []));
  if (all.length === 0) return undefined;
  return { count: all.length, items: all.slice(0, MAX_LISTED).map((i) => i.slice(0, 1024)) };
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

/** The merge's `covers` of a site observed in a pass (undefined: every key). */
export const siteCover = (
  pass: { observed: readonly Observed[] },
  o: { client?: { capabilities: SiteCapabilities } | undefined },
): ((key: string) => boolean) | undefined =>
  o.client ? coverOf(o.client.capabilities, minioOnlyOf(pass)) : undefined;
