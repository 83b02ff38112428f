/**
 * Peer links: for every replicated bucket, MinIO bucket replication between every pair of
 * sites — a remote target on each site for each other site, and one replication rule per
 * target (active-active, deletes, delete markers, existing objects, replica metadata). Object
 * data then flows server to server. Each site has one replication account per group
 * (sites/replication-account.ts), never root credentials, in the targets other sites hold for
 * it; a group touches only its own account, rules (`sitesync-<id>-<peer>`) and targets (those
 * logging in with its account), so groups sharing a site leave each other alone. The legacy
 * fixed account (`sitesync-replicator`, rules `sitesync-<peer>`) is adopted: its targets to
 * the group's sites are switched to the group's account in place, its rules replaced.
 */
import { sameEndpoint } from '../../api/endpoint.js';
import { RESERVED_PREFIX } from '../../api/names.js';
import type { Replicate } from '../../api/site-replication-group.js';
import { canonicalJSON } from '../../replication/digest.js';
import type { ReplicationConfig, ReplicationRule } from '../../replication/replication-config.js';
import { buildReplicationXML, parseReplicationXML } from '../../replication/xml-codec.js';
import { mapLimit } from '../../runtime/concurrency.js';
import {
  LEGACY_REPLICATOR_USER,
  type ReplicationAccountNames,
  replicationAccountNames,
  secretDigest,
} from '../../sites/replication-account.js';
import type { SiteClient } from '../../sites/site-client.js';
import type { RemoteTargetMeta, SiteSnapshot } from '../../sites/snapshot.js';

export interface PeerSite {
  name: string;
  endpoint: string;
  region: string;
  client: SiteClient;
  snap: SiteSnapshot;
  /** This site's replication account of the group (its secret lives only here and in the site). */
  replicator: { accessKey: string; secretKey: string };
}

/**
 * What a group owns on a bucket: rules with its prefix (or the legacy `sitesync-<peer>` towards
 * one of its sites) and targets logging in with its account (or with the legacy account to
 * one of its sites, past or present).
 */
export interface GroupOwnership {
  names: ReplicationAccountNames;
  /** The group's site names, current and removed: legacy rules towards them are the group's. */
  sites: readonly string[];
  /** The group's endpoints, current and removed: legacy targets to them are the group's. */
  endpoints: readonly string[];
}

/** What a group (by UID) owns, given its sites, current and removed. */
export function ownership(
  groupUid: string,
  sites: readonly { name: string; endpoint: string }[],
): GroupOwnership {
  return {
    names: replicationAccountNames(groupUid),
    sites: sites.map((s) => s.name),
    endpoints: sites.map((s) => s.endpoint),
  };
}

export function isOwnRule(id: string | undefined, own: GroupOwnership): boolean {
  if (id === undefined) return false;
  return id.startsWith(own.names.rulePrefix) || own.sites.some((s) => id === legacyRuleId(s));
}

export function isOwnTarget(t: RemoteTargetMeta, own: GroupOwnership): boolean {
  if (t.accessKey === own.names.user) return true;
  return (
    t.accessKey === LEGACY_REPLICATOR_USER && own.endpoints.some((e) => sameEndpoint(e, t.endpoint))
  );
}

const legacyRuleId = (peer: string) => `${RESERVED_PREFIX}${peer}`;
const ruleId = (own: GroupOwnership, peer: string) => `${own.names.rulePrefix}${peer}`;

export interface LinkResult {
  changes: string[];
  errors: { site: string; bucket?: string | undefined; error: unknown }[];
  /** Buckets whose links were ensured with a replication reset towards every `refill` site. */
  refilled: Set<string>;
}

interface LinkContext {
  own: GroupOwnership;
  replicate: Replicate;
  changes: string[];
  resync: boolean;
  resyncDone?: Set<string> | undefined;
  /** Sites whose objects must be sent again: every target towards them gets a reset. */
  refill: ReadonlySet<string>;
  unreachable: readonly string[];
  /** Site names in the group's order (stable rule priorities). */
  groupSites: readonly string[];
  /** PrimarySecondary: the site that replicates; every other site holds no rule of the group. */
  primary?: string | undefined;
  signal: AbortSignal;
}

/**
 * The ARN of the target on `site`/`bucket` pointing at `peer`, creating it when missing and
 * giving it the current credentials when it holds others (in place: same ARN, rules intact).
 * MinIO keeps one target per endpoint and bucket: one that is not the group's is left alone
 * and the link cannot be made.
 */
async function ensureTarget(
  site: PeerSite,
  bucket: string,
  peer: PeerSite,
  ctx: LinkContext,
): Promise<{ arn: string; created: boolean }> {
  const existing = site.snap.buckets
    .get(bucket)
    ?.targets.find((t) => sameEndpoint(t.endpoint, peer.endpoint) && t.targetBucket === bucket);
  const request = {
    endpoint: peer.endpoint,
    targetBucket: bucket,
    accessKey: peer.replicator.accessKey,
    secretKey: peer.replicator.secretKey,
    region: peer.region,
  };
  if (existing === undefined) {
    const arn = await site.client.setRemoteTarget(bucket, request, ctx.signal);
    ctx.changes.push(`${site.name}: remote target ${bucket} -> ${peer.name}`);
    return { arn, created: true };
  }
  if (!isOwnTarget(existing, ctx.own)) {
    throw new Error(
      `${site.name}: bucket ${bucket} has a remote target to ${peer.name} that is not this group's (access key ${existing.accessKey ?? 'unknown'}); MinIO keeps one target per endpoint, so the group cannot link it`,
    );
  }
  const current =
    existing.accessKey === request.accessKey &&
    (existing.secretDigest === undefined || existing.secretDigest === replicatorDigest(peer));
  if (!current) {
    await site.client.updateRemoteTargetCredentials(bucket, existing.arn, request, ctx.signal);
    ctx.changes.push(`${site.name}: credentials of remote target ${bucket} -> ${peer.name}`);
  }
  return { arn: existing.arn, created: false };
}

/** The digest of a peer's replication secret, once per pass (not per bucket). */
const REPLICATOR_DIGESTS = new WeakMap<PeerSite['replicator'], string>();

function replicatorDigest(peer: PeerSite): string {
  let out = REPLICATOR_DIGESTS.get(peer.replicator);
  if (out === undefined) {
    out = secretDigest(peer.replicator.secretKey);
    REPLICATOR_DIGESTS.set(peer.replicator, out);
  }
  return out;
}

function sitesyncRule(id: string, arn: string, priority: number, r: Replicate): ReplicationRule {
  const on = (b: boolean) => ({ status: b ? 'Enabled' : 'Disabled' });
  return {
    id,
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

/** Rules sorted by ID and stripped of what the server fills in, for comparison. */
function comparable(config: ReplicationConfig): string {
  return canonicalJSON([...config.rules].sort((a, b) => ((a.id ?? '') < (b.id ?? '') ? -1 : 1)));
}

interface ParsedConfig {
  config: ReplicationConfig;
  comparable: string;
  /**
   * linkKey() of the contexts in which this document was found to be the desired one (at most
   * IN_ORDER_MAX, oldest out): a steady pass then neither builds nor compares it again.
   */
  inOrder: string[];
}

const IN_ORDER_MAX = 8;

/** Everything besides the current document that desiredConfig() depends on. */
function linkKey(arns: ReadonlyMap<string, string>, ctx: LinkContext): string {
  return JSON.stringify([
    [...arns],
    ctx.own.names.rulePrefix,
    ctx.own.sites,
    ctx.replicate.objects,
    ctx.replicate.deletes,
    ctx.replicate.deleteMarkers,
    ctx.unreachable,
    ctx.primary ?? null,
    ctx.groupSites,
  ]);
}

/**
 * Replication documents parsed, by their text: every pass checks every bucket's rules on every
 * site, and they rarely change (1000 buckets × 3 sites were 3000 XML parses per pass). Frozen,
 * so a caller that changed one would fail loudly; bounded (oldest out).
 */
const PARSED_CONFIGS = new Map<string, ParsedConfig>();
const MAX_PARSED_CONFIGS = 8192;
const NO_CONFIG: ParsedConfig = {
  config: Object.freeze({ rules: [] }),
  comparable: comparable({ rules: [] }),
  inOrder: [],
};

function freezeConfig(config: ReplicationConfig): ReplicationConfig {
  for (const rule of config.rules) Object.freeze(rule);
  Object.freeze(config.rules);
  return Object.freeze(config);
}

/** The rules a site holds for a bucket (its document parsed once per distinct text). */
export function currentConfig(xml: string | undefined): ParsedConfig {
  if (xml === undefined || xml.trim() === '') return NO_CONFIG;
  const known = PARSED_CONFIGS.get(xml);
  if (known) return known;
  const config = freezeConfig(parseReplicationXML(xml, { unknownElements: 'ignore' }));
  const parsed = { config, comparable: comparable(config), inOrder: [] };
  PARSED_CONFIGS.set(xml, parsed);
  if (PARSED_CONFIGS.size > MAX_PARSED_CONFIGS) {
    const oldest = PARSED_CONFIGS.keys().next().value;
    if (oldest !== undefined) PARSED_CONFIGS.delete(oldest);
  }
  return parsed;
}

/**
 * Priorities for the group's rules: above every rule of the bucket's own (not `sitesync-`),
 * unique among all rules of the bucket (MinIO demands it), and stable: a rule keeps the
 * priority it has while nobody else holds it, so two groups on one bucket never renumber each
 * other. A new rule takes the first free priority from its peer's place in the group up.
 */
function priorities(
  current: ReplicationConfig,
  others: readonly ReplicationRule[],
  peers: readonly string[],
  ctx: { own: GroupOwnership; groupSites: readonly string[] },
): Map<string, number> {
  const userRules = current.rules.filter((r) => !(r.id ?? '').startsWith(RESERVED_PREFIX));
  const base = Math.max(0, ...userRules.map((r) => r.priority ?? 0));
  const taken = new Set(others.map((r) => r.priority ?? 0));
  const out = new Map<string, number>();
  const byId = new Map(current.rules.map((r) => [r.id ?? '', r.priority ?? 0]));
  for (const peer of peers) {
    const p = byId.get(ruleId(ctx.own, peer));
    if (p !== undefined && p > base && !taken.has(p)) {
      out.set(peer, p);
      taken.add(p);
    }
  }
  for (const peer of peers) {
    if (out.has(peer)) continue;
    let p = base + 1 + Math.max(0, ctx.groupSites.indexOf(peer));
    while (taken.has(p)) p++;
    out.set(peer, p);
    taken.add(p);
  }
  return out;
}

/**
 * Desired config: every rule that is not the group's kept as it is (the bucket's own, other
 * groups'), the group's replaced; its rules towards group sites that are unreachable right
 * now stay as they are (under the current or the legacy ID).
 */
function desiredConfig(
  current: ReplicationConfig,
  arns: ReadonlyMap<string, string>,
  ctx: LinkContext,
): ReplicationConfig {
  // A secondary keeps no rule of the group, towards reachable sites or not.
  const follows = ctx.primary !== undefined && arns.size === 0;
  const keep = new Set(
    follows ? [] : ctx.unreachable.flatMap((n) => [ruleId(ctx.own, n), legacyRuleId(n)]),
  );
  const others = current.rules.filter((r) => !isOwnRule(r.id, ctx.own));
  const kept = current.rules.filter((r) => isOwnRule(r.id, ctx.own) && keep.has(r.id ?? ''));
  if (!ctx.replicate.objects) return { role: '', rules: [...others, ...kept] };
  const prio = priorities(current, [...others, ...kept], [...arns.keys()], ctx);
  const ours = [...arns].map(([peer, arn]) =>
    sitesyncRule(ruleId(ctx.own, peer), arn, prio.get(peer) ?? 0, ctx.replicate),
  );
  return { role: '', rules: [...others, ...kept, ...ours] };
}

/**
 * Starts a replication reset; one already running for the target counts as started. `done`
 * (resets asked by the annotation alone) skips targets already reset for the same request.
 */
async function resync(
  site: PeerSite,
  target: { bucket: string; arn: string },
  ctx: LinkContext,
  done: Set<string> | undefined,
) {
  const id = `${site.name}|${target.bucket}|${target.arn}`;
  if (done?.has(id)) return;
  try {
    await site.client.resyncTarget(target.bucket, target.arn, ctx.signal);
  } catch (e: unknown) {
    ctx.signal.throwIfAborted();
    if (!(e instanceof Error && /already in progress/i.test(e.message))) throw e;
  }
  done?.add(id);
}

async function linkBucket(
  site: PeerSite,
  bucket: string,
  peers: readonly PeerSite[],
  ctx: LinkContext,
): Promise<void> {
  const arns = new Map<string, string>();
  const fresh: { arn: string; asked: boolean }[] = [];
  for (const peer of peers) {
    const t = await ensureTarget(site, bucket, peer, ctx);
    arns.set(peer.name, t.arn);
    const needed = t.created || ctx.refill.has(peer.name);
    if (needed || ctx.resync) fresh.push({ arn: t.arn, asked: !needed });
  }
  const parsed = currentConfig(site.snap.buckets.get(bucket)?.replicationXML);
  const key = linkKey(arns, ctx);
  if (!parsed.inOrder.includes(key)) {
    const desired = desiredConfig(parsed.config, arns, ctx);
    if (parsed.comparable === comparable(desired)) {
      parsed.inOrder.push(key);
      if (parsed.inOrder.length > IN_ORDER_MAX) parsed.inOrder.shift();
    } else {
      if (desired.rules.length === 0) await site.client.deleteReplicationConfig(bucket, ctx.signal);
      else
        await site.client.putReplicationConfigXML(bucket, buildReplicationXML(desired), ctx.signal);
      ctx.changes.push(`${site.name}: replication rules of ${bucket}`);
    }
  }
  // A new target (a new site, a re-created link, a refilled site) gets the objects that exist.
  if (ctx.replicate.objects) await resyncFresh(site, bucket, fresh, ctx);
}

async function resyncFresh(
  site: PeerSite,
  bucket: string,
  fresh: readonly { arn: string; asked: boolean }[],
  ctx: LinkContext,
) {
  if (fresh.length === 0) return;
  // An empty bucket has nothing to send (what is written from now on follows the rules just
  // put), and MinIO's resync of a bucket that was just created, started once per target, can
  // corrupt its resync record (docs/decisions.md, "No reset of an empty bucket").
  if (!(await site.client.bucketHasData(bucket, ctx.signal))) return;
  for (const f of fresh) {
    await resync(site, { bucket, arn: f.arn }, ctx, f.asked ? ctx.resyncDone : undefined);
  }
}

/**
 * Removes the group's targets that point at sites no longer in the group. A site that is only
 * unreachable keeps its links: MinIO queues what it could not replicate and retries.
 */
async function unlinkRemoved(
  site: PeerSite,
  bucket: string,
  opts: { own: GroupOwnership; groupEndpoints: readonly string[]; signal: AbortSignal },
) {
  const stale: RemoteTargetMeta[] = (site.snap.buckets.get(bucket)?.targets ?? []).filter(
    (t) =>
      isOwnTarget(t, opts.own) && !opts.groupEndpoints.some((e) => sameEndpoint(e, t.endpoint)),
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

export interface PeerLinkOptions {
  own: GroupOwnership;
  replicate: Replicate;
  resync: boolean;
  /**
   * Targets already reset for the resync value being acted on (`site|bucket|arn`), kept by
   * the caller across passes: a pass that fails part-way does not start them all again.
   */
  resyncDone?: Set<string> | undefined;
  /** Sites whose objects the others must send again (a wiped site that rejoined). */
  refill: ReadonlySet<string>;
  /** The endpoints of the sites in the group now. */
  groupEndpoints: readonly string[];
  groupSites: readonly string[];
  /**
   * PrimarySecondary: links run one way, from this site to every other; the others hold no
   * rule of the group (absent: ActiveActive, every pair both ways).
   */
  primary?: string | undefined;
  /** Group sites not reachable now: their links are left as they are. */
  unreachable: readonly string[];
  signal: AbortSignal;
}

/**
 * Buckets found linked as desired (no write needed), by the targets list of their parsed
 * export: the export cache hands out the same list while the bucket's export is unchanged, so
 * a steady pass skips them. Each entry holds the replication document it was seen with and the
 * context (linkedContext) it was checked in; at most LINKED_MAX per list, held weakly.
 */
const LINKED = new WeakMap<readonly RemoteTargetMeta[], { xml: string; context: string }[]>();
const LINKED_MAX = 4;

/**
 * Everything besides a bucket's own targets and rules that linking it depends on, for one
 * site; undefined when the pass resets targets (resync, refill): nothing is skipped then.
 */
function linkedContext(
  site: PeerSite,
  peers: readonly PeerSite[],
  opts: PeerLinkOptions,
): string | undefined {
  if (opts.resync || opts.refill.size > 0) return undefined;
  return JSON.stringify([
    site.name,
    peers.map((p) => [p.name, p.endpoint, p.region, p.replicator.accessKey, replicatorDigest(p)]),
    opts.own,
    opts.replicate,
    opts.unreachable,
    opts.primary ?? null,
    opts.groupSites,
    opts.groupEndpoints,
  ]);
}

function isLinked(site: PeerSite, bucket: string, context: string | undefined): boolean {
  const meta = site.snap.buckets.get(bucket);
  if (context === undefined || meta === undefined) return false;
  const xml = meta.replicationXML ?? '';
  return (LINKED.get(meta.targets) ?? []).some((e) => e.xml === xml && e.context === context);
}

function markLinked(site: PeerSite, bucket: string, context: string | undefined): void {
  const meta = site.snap.buckets.get(bucket);
  if (context === undefined || meta === undefined) return;
  const seen = LINKED.get(meta.targets) ?? [];
  seen.push({ xml: meta.replicationXML ?? '', context });
  if (seen.length > LINKED_MAX) seen.shift();
  LINKED.set(meta.targets, seen);
}

/** The sites `site` replicates to: every other one, or in PrimarySecondary only the primary's. */
function peersOf(site: PeerSite, sites: readonly PeerSite[], primary: string | undefined) {
  if (primary !== undefined && site.name !== primary) return [];
  return sites.filter((p) => p !== site);
}

/** Ensures peer links for `buckets` on every site, each site and bucket independently. */
export async function ensurePeerLinks(
  sites: readonly PeerSite[],
  buckets: readonly string[],
  opts: PeerLinkOptions,
): Promise<LinkResult> {
  const result: LinkResult = { changes: [], errors: [], refilled: new Set() };
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
  const failed = new Set<string>(unversioned);
  await Promise.all(
    sites.map((site) => {
      const peers = peersOf(site, sites, opts.primary);
      const context = linkedContext(site, peers, opts);
      const linkable = buckets.filter((b) => !unversioned.has(b) && !isLinked(site, b, context));
      return mapLimit(linkable, BUCKETS_IN_PARALLEL, async (bucket) => {
        const changes: string[] = [];
        try {
          await linkBucket(site, bucket, peers, { ...opts, changes });
          const removed = await unlinkRemoved(site, bucket, opts);
          if (removed > 0) {
            changes.push(`${site.name}: removed ${removed} stale target(s) of ${bucket}`);
          }
          if (changes.length === 0) markLinked(site, bucket, context);
        } catch (error: unknown) {
          opts.signal.throwIfAborted();
          failed.add(bucket);
          result.errors.push({ site: site.name, bucket, error });
        } finally {
          result.changes.push(...changes);
        }
      });
    }),
  );
  for (const b of buckets) if (!failed.has(b)) result.refilled.add(b);
  return result;
}

/**
 * Removes the group's peer links from one site: its rules (the bucket's other rules stay), then
 * its targets. Returns what it removed, in words. The finalizer and the cleanup of a removed
 * site run it; the replication account goes separately.
 */
export async function removePeerLinks(
  site: { name: string; client: SiteClient; snap: SiteSnapshot },
  own: GroupOwnership,
  signal: AbortSignal,
): Promise<string[]> {
  const removed: string[] = [];
  for (const [bucket, meta] of site.snap.buckets) {
    const current = currentConfig(meta.replicationXML).config;
    const rest = current.rules.filter((r) => !isOwnRule(r.id, own));
    if (rest.length !== current.rules.length) {
      // Without rules MinIO drops the whole configuration, and every target of the bucket.
      if (rest.length === 0) await site.client.deleteReplicationConfig(bucket, signal);
      else
        await site.client.putReplicationConfigXML(
          bucket,
          buildReplicationXML({ role: '', rules: rest }),
          signal,
        );
      removed.push(`rules of ${bucket}`);
    }
    for (const t of meta.targets) {
      if (!isOwnTarget(t, own)) continue;
      await site.client.removeRemoteTarget(bucket, t.arn, signal);
      removed.push(`target ${bucket} -> ${t.endpoint}`);
    }
  }
  return removed;
}

/** What of the group is still on a site: its rules and targets, by bucket. */
export function linksLeft(snap: SiteSnapshot, own: GroupOwnership): string[] {
  const left: string[] = [];
  for (const [bucket, meta] of snap.buckets) {
    const rules = currentConfig(meta.replicationXML).config.rules.filter((r) =>
      isOwnRule(r.id, own),
    );
    const targets = meta.targets.filter((t) => isOwnTarget(t, own));
    if (rules.length + targets.length > 0) left.push(bucket);
  }
  return left;
}
