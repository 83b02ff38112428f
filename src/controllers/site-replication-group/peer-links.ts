/**
 * Peer links: for every replicated bucket, MinIO bucket replication between every pair of
 * sites — a remote target on each site for each other site, and one replication rule per
 * target (active-active, deletes, delete markers, existing objects, replica metadata). Object
 * data then flows server to server. Every site uses its own least-privilege replication account
 * (`sitesync-replicator`), never root credentials, in the targets other sites hold for it.
 */
import { RESERVED_PREFIX } from '../../api/names.js';
import type { Replicate } from '../../api/site-replication-group.js';
import { canonicalJSON } from '../../replication/digest.js';
import { canonicalPolicy } from '../../replication/policy.js';
import type { ReplicationConfig, ReplicationRule } from '../../replication/replication-config.js';
import { buildReplicationXML, parseReplicationXML } from '../../replication/xml-codec.js';
import { mapLimit } from '../../runtime/concurrency.js';
import type { SiteClient } from '../../sites/site-client.js';
import type { RemoteTargetMeta, SiteSnapshot } from '../../sites/snapshot.js';

export const REPLICATOR_USER = `${RESERVED_PREFIX}replicator`;
export const REPLICATOR_POLICY = `${RESERVED_PREFIX}replication`;
/** Our rule towards a peer is `sitesync-<peer>`. */
const RULE_PREFIX = RESERVED_PREFIX;

/** What a replication target needs on the site that receives replicas, and nothing more. */
export const REPLICATOR_POLICY_DOC = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: [
        's3:GetReplicationConfiguration',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:GetBucketLocation',
        's3:GetBucketVersioning',
        's3:GetBucketObjectLockConfiguration',
        's3:GetEncryptionConfiguration',
      ],
      Resource: ['arn:aws:s3:::*'],
    },
    {
      Effect: 'Allow',
      Action: [
        's3:GetObject',
        's3:GetObjectVersion',
        's3:GetObjectVersionTagging',
        's3:GetObjectRetention',
        's3:GetObjectLegalHold',
        's3:PutObject',
        's3:PutObjectRetention',
        's3:PutObjectLegalHold',
        's3:DeleteObject',
        's3:AbortMultipartUpload',
        's3:ReplicateObject',
        's3:ReplicateDelete',
        's3:ReplicateTags',
      ],
      Resource: ['arn:aws:s3:::*/*'],
    },
  ],
};

export interface PeerSite {
  name: string;
  endpoint: string;
  region: string;
  client: SiteClient;
  snap: SiteSnapshot;
  /** This site's replication account (its secret lives only here and in the site). */
  replicator: { accessKey: string; secretKey: string };
}

export interface LinkResult {
  changes: string[];
  errors: { site: string; bucket?: string | undefined; error: unknown }[];
}

/** Makes `site` hold its replication account with exactly the replication policy. */
export async function ensureReplicator(site: PeerSite, signal: AbortSignal): Promise<boolean> {
  const iam = site.snap.iam;
  let changed = false;
  const policy = iam.policies.get(REPLICATOR_POLICY);
  if (
    policy === undefined ||
    canonicalJSON(canonicalPolicy(policy)) !== canonicalJSON(canonicalPolicy(REPLICATOR_POLICY_DOC))
  ) {
    await site.client.putPolicy(REPLICATOR_POLICY, REPLICATOR_POLICY_DOC, signal);
    changed = true;
  }
  const user = iam.users.get(REPLICATOR_USER);
  if (user?.secretKey !== site.replicator.secretKey || user.status !== 'enabled') {
    await site.client.putUser(
      REPLICATOR_USER,
      { secretKey: site.replicator.secretKey, status: 'enabled' },
      signal,
    );
    changed = true;
  }
  const mapped = iam.userPolicies.get(REPLICATOR_USER)?.policies ?? [];
  if (mapped.length !== 1 || mapped[0] !== REPLICATOR_POLICY) {
    await site.client.setPolicyMapping('user', REPLICATOR_USER, [REPLICATOR_POLICY], signal);
    changed = true;
  }
  return changed;
}

const sameEndpoint = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** The ARN of the target on `site`/`bucket` pointing at `peer`, creating it when missing. */
async function ensureTarget(
  site: PeerSite,
  bucket: string,
  peer: PeerSite,
  ctx: LinkContext,
): Promise<{ arn: string; created: boolean }> {
  const existing = site.snap.buckets
    .get(bucket)
    ?.targets.find((t) => sameEndpoint(t.endpoint, peer.endpoint) && t.targetBucket === bucket);
  if (existing?.accessKey === peer.replicator.accessKey) {
    return { arn: existing.arn, created: false };
  }
  if (existing) await site.client.removeRemoteTarget(bucket, existing.arn, ctx.signal);
  const arn = await site.client.setRemoteTarget(
    bucket,
    {
      endpoint: peer.endpoint,
      targetBucket: bucket,
      accessKey: peer.replicator.accessKey,
      secretKey: peer.replicator.secretKey,
      region: peer.region,
    },
    ctx.signal,
  );
  ctx.changes.push(`${site.name}: remote target ${bucket} -> ${peer.name}`);
  return { arn, created: true };
}

function sitesyncRule(peer: string, arn: string, priority: number, r: Replicate): ReplicationRule {
  const on = (b: boolean) => ({ status: b ? 'Enabled' : 'Disabled' });
  return {
    id: `${RULE_PREFIX}${peer}`,
    status: 'Enabled',
    priority,
    filter: { prefix: '' },
    deleteMarkerReplication: on(r.deleteMarkers),
    deleteReplication: on(r.deletes),
    existingObjectReplication: on(true),
    sourceSelectionCriteria: { replicaModifications: on(true) },
    destination: { bucket: arn },
  };
}

function currentConfig(xml: string | undefined): ReplicationConfig {
  if (xml === undefined || xml.trim() === '') return { rules: [] };
  return parseReplicationXML(xml, { unknownElements: 'ignore' });
}

/** Rules sorted by ID and stripped of what the server fills in, for comparison. */
function comparable(config: ReplicationConfig): string {
  return canonicalJSON([...config.rules].sort((a, b) => ((a.id ?? '') < (b.id ?? '') ? -1 : 1)));
}

/**
 * Desired config: the bucket's own (user) rules kept, ours replaced; our rules towards group
 * sites that are unreachable right now (`keep`) stay as they are. Our rule towards a peer has a
 * stable priority: above every user rule, then the peer's place in the group.
 */
function desiredConfig(
  current: ReplicationConfig,
  arns: ReadonlyMap<string, string>,
  opts: { replicate: Replicate; keep: ReadonlySet<string>; groupSites: readonly string[] },
): ReplicationConfig {
  const isOurs = (r: ReplicationRule) => (r.id ?? '').startsWith(RULE_PREFIX);
  const userRules = current.rules.filter((r) => !isOurs(r));
  const kept = current.rules.filter((r) => isOurs(r) && opts.keep.has(r.id ?? ''));
  const base = Math.max(0, ...userRules.map((r) => r.priority ?? 0));
  const priority = (peer: string) => base + 1 + Math.max(0, opts.groupSites.indexOf(peer));
  const ours = opts.replicate.objects
    ? [...arns].map(([peer, arn]) => sitesyncRule(peer, arn, priority(peer), opts.replicate))
    : [];
  return { role: '', rules: [...userRules, ...kept, ...ours] };
}

interface LinkContext {
  replicate: Replicate;
  changes: string[];
  resync: boolean;
  unreachable: readonly string[];
  /** Site names in the group's order (stable rule priorities). */
  groupSites: readonly string[];
  signal: AbortSignal;
}

async function linkBucket(
  site: PeerSite,
  bucket: string,
  peers: readonly PeerSite[],
  ctx: LinkContext,
): Promise<void> {
  const arns = new Map<string, string>();
  const fresh: string[] = [];
  for (const peer of peers) {
    const t = await ensureTarget(site, bucket, peer, ctx);
    arns.set(peer.name, t.arn);
    if (t.created || ctx.resync) fresh.push(t.arn);
  }
  const current = currentConfig(site.snap.buckets.get(bucket)?.replicationXML);
  const keep = new Set(ctx.unreachable.map((n) => `${RULE_PREFIX}${n}`));
  const desired = desiredConfig(current, arns, {
    replicate: ctx.replicate,
    keep,
    groupSites: ctx.groupSites,
  });
  if (comparable(current) !== comparable(desired)) {
    if (desired.rules.length === 0) await site.client.deleteReplicationConfig(bucket, ctx.signal);
    else
      await site.client.putReplicationConfigXML(bucket, buildReplicationXML(desired), ctx.signal);
    ctx.changes.push(`${site.name}: replication rules of ${bucket}`);
  }
  // A new target (a new site, or a re-created link) gets the objects that already exist.
  if (!ctx.replicate.objects) return;
  for (const arn of fresh) await site.client.resyncTarget(bucket, arn, ctx.signal);
}

/**
 * Removes our targets that point at sites no longer in the group. A site that is only
 * unreachable keeps its links: MinIO queues what it could not replicate and retries.
 */
async function unlinkRemoved(
  site: PeerSite,
  bucket: string,
  opts: { groupEndpoints: readonly string[]; signal: AbortSignal },
) {
  const stale: RemoteTargetMeta[] = (site.snap.buckets.get(bucket)?.targets ?? []).filter(
    (t) =>
      t.accessKey === REPLICATOR_USER &&
      !opts.groupEndpoints.some((e) => sameEndpoint(e, t.endpoint)),
  );
  for (const t of stale) await site.client.removeRemoteTarget(bucket, t.arn, opts.signal);
  return stale.length;
}

/** Versioning on for every replicated bucket on every site (replication requires it). */
async function ensureVersioning(
  site: PeerSite,
  bucket: string,
  ctx: { changes: string[]; signal: AbortSignal },
): Promise<void> {
  if (site.snap.buckets.get(bucket)?.versioning === 'Enabled') return;
  await site.client.enableVersioning(bucket, ctx.signal);
  ctx.changes.push(`${site.name}: versioning on ${bucket}`);
}

/**
 * Buckets of one site linked at a time. One bucket's writes stay in sequence: MinIO rewrites a
 * bucket's whole metadata record on every config write (docs/decisions.md #13).
 */
const BUCKETS_IN_PARALLEL = 4;

/** Ensures peer links for `buckets` on every site, each site and bucket independently. */
export async function ensurePeerLinks(
  sites: readonly PeerSite[],
  buckets: readonly string[],
  opts: {
    replicate: Replicate;
    resync: boolean;
    groupEndpoints: readonly string[];
    groupSites: readonly string[];
    /** Group sites not reachable now: their links are left as they are. */
    unreachable: readonly string[];
    signal: AbortSignal;
  },
): Promise<LinkResult> {
  const result: LinkResult = { changes: [], errors: [] };
  const unversioned = new Set<string>();
  await Promise.all(
    sites.map((site) =>
      mapLimit(buckets, BUCKETS_IN_PARALLEL, async (bucket) => {
        try {
          await ensureVersioning(site, bucket, { changes: result.changes, signal: opts.signal });
        } catch (error: unknown) {
          opts.signal.throwIfAborted();
          unversioned.add(bucket);
          result.errors.push({ site: site.name, bucket, error });
        }
      }),
    ),
  );
  await Promise.all(
    sites.map((site) => {
      const peers = sites.filter((p) => p !== site);
      const linkable = buckets.filter((b) => !unversioned.has(b));
      return mapLimit(linkable, BUCKETS_IN_PARALLEL, async (bucket) => {
        try {
          await linkBucket(site, bucket, peers, { ...opts, changes: result.changes });
          const removed = await unlinkRemoved(site, bucket, opts);
          if (removed > 0) {
            result.changes.push(`${site.name}: removed ${removed} stale target(s) of ${bucket}`);
          }
        } catch (error: unknown) {
          opts.signal.throwIfAborted();
          result.errors.push({ site: site.name, bucket, error });
        }
      });
    }),
  );
  return result;
}

/** Removes every peer link and the replication account the operator created (finalizer). */
export async function removePeerLinks(site: PeerSite, signal: AbortSignal): Promise<void> {
  for (const [bucket, meta] of site.snap.buckets) {
    const current = currentConfig(meta.replicationXML);
    const userRules = current.rules.filter((r) => !(r.id ?? '').startsWith(RULE_PREFIX));
    if (userRules.length !== current.rules.length) {
      const xml = buildReplicationXML({ role: '', rules: userRules });
      if (userRules.length === 0) await site.client.deleteReplicationConfig(bucket, signal);
      else await site.client.putReplicationConfigXML(bucket, xml, signal);
    }
    for (const t of meta.targets) {
      if (t.accessKey !== REPLICATOR_USER) continue;
      await site.client.removeRemoteTarget(bucket, t.arn, signal);
    }
  }
  const { users, policies } = site.snap.iam;
  if (users.has(REPLICATOR_USER)) await site.client.deleteUser(REPLICATOR_USER, signal);
  if (policies.has(REPLICATOR_POLICY)) await site.client.deletePolicy(REPLICATOR_POLICY, signal);
}
