/**
 * The status of a SiteReplicationGroup, derived by a pure function from what one reconcile saw
 * and did. Conditions follow kstatus: Reconciling and Stalled are abnormal-true; Ready is True
 * only when the generation is observed, every site is reachable and in sync, and nothing is
 * pending.
 */
import { RESYNC_ANNOTATION, SRG_RESOURCE, VERIFY_ANNOTATION } from '../../api/names.js';
import type {
  BoundedList,
  ObjectProgress,
  OutOfSyncEntities,
  RecoveryStatus,
  SiteReplicationGroupStatus,
  SiteStatus,
  SiteVerification,
  VerificationStatus,
} from '../../api/site-replication-group.js';
import type { AgreedState } from '../../replication/agreed-state.js';
import type { MergeAction, MergePlan } from '../../replication/merge.js';
import { merkleRoot } from '../../replication/merkle.js';
import { majority } from '../../replication/version-compare.js';
import { type Condition, type ConditionInput, setConditions } from '../../runtime/conditions.js';
import { type Why, blockedConditions, cond, passConditions } from '../../runtime/kstatus.js';
import { patchStatus, sameJSON } from '../../runtime/status.js';
import { minioOnlyOf, siteCover, siteReceives, unmappableEntities } from './coverage.js';
import type { Entity } from './entities.js';
import type { Failures } from './failures.js';
import { type IdentityMismatch, identityMismatch } from './identity-check.js';
import { inSyncWhy, outOfSyncEntities } from './in-sync.js';
import type { Observed, Reachable } from './observe.js';
import type { Pass } from './pass.js';
import { leaderOf, priorityOrder } from './plan.js';
import { MAX_PART_MESSAGE, bounded, joinBounded } from '../../runtime/messages.js';
import type { SiteObjects } from './progress.js';
import {
  type SafetyOutcome,
  deletionsHeldCondition,
  safetyOutcome,
  safetyStatus,
  siteSafetyStatus,
} from './safety-status.js';
import { describeOutcome } from './site-identity.js';
import { iso, siteVerifications, verificationStatus } from './verify-run.js';

export interface SiteOutcome {
  name: string;
  reachable: boolean;
  deploymentID?: string | undefined;
  /** Why the site could not be observed or synced; no secrets (SiteError messages). */
  error?: { reason: string; message: string } | undefined;
  buckets: { inSync: number; outOfSync: number };
  iam: { inSync: number; outOfSync: number };
  objects?: SiteObjects | undefined;
  /** Root of metadata and, once verified, objects (`combinedRoot`). */
  merkleRoot?: string | undefined;
  /** Root of the site's metadata alone; set when the site was observed. */
  metadataRoot?: string | undefined;
  outOfSync?: OutOfSyncEntities | undefined;
  /** Agreed entities the site's flavor cannot hold, with why (coverage.ts). */
  unmappable?: BoundedList | undefined;
  /** The site's part of the last completed object verification. */
  verification?: SiteVerification | undefined;
  inSync: boolean;
  /** Joined (votes), Joining (receives only) or Held (identity changed, holds data). */
  membership?: SiteStatus['membership'];
  /** This pass saw the site's identity change: what happened, in words. */
  identityChange?: string | undefined;
}

export interface GroupOutcome {
  generation: number;
  mode: 'ActiveActive' | 'PrimarySecondary';
  primary?: string | undefined;
  sites: SiteOutcome[];
  knownSites: string[];
  lastSequence: number;
  merkleRoot: string;
  /** Changes applied to sites in this pass. */
  changes: number;
  /** The group cannot proceed without a change by the user. */
  blocker?: { reason: string; message: string } | undefined;
  /** Sites that disagree on their identity provider (reason IdentityProviderMismatch). */
  identity?: { reason: string; message: string } | undefined;
  paused: boolean;
  /** Annotation values acted on in this pass (they stay as before when undefined). */
  lastResync?: string | undefined;
  lastRecover?: string | undefined;
  /** Held sites, held deletions, removed sites and the safety annotations acted on. */
  safety?: SafetyOutcome | undefined;
  lastVerify?: string | undefined;
  /** The InSync condition. */
  inSync?: { ok: boolean; why: Why } | undefined;
  verification?: VerificationStatus | undefined;
  recovery?: RecoveryStatus | undefined;
}

/** `site: message`, unless the message already starts with the site's name. */
function withSite(site: string, message: string): string {
  return message.startsWith(`${site}: `) ? message : `${site}: ${message}`;
}

function siteStatus(
  s: SiteOutcome,
  prev: SiteStatus | undefined,
  now: string,
  seq: number,
): SiteStatus {
  return {
    name: s.name,
    ...(s.deploymentID
      ? { deploymentID: s.deploymentID }
      : prev?.deploymentID
        ? { deploymentID: prev.deploymentID }
        : {}),
    reachable: s.reachable,
    ...(s.inSync
      ? { lastSyncTime: now }
      : prev?.lastSyncTime
        ? { lastSyncTime: prev.lastSyncTime }
        : {}),
    ...(s.error
      ? { lastError: bounded(`${s.error.reason}: ${s.error.message}`, MAX_PART_MESSAGE) }
      : {}),
    buckets: s.buckets,
    iam: s.iam,
    ...(s.objects
      ? { objects: objectStatus(s.objects) }
      : prev?.objects
        ? { objects: prev.objects }
        : {}),
    ...(s.merkleRoot ? { merkleRoot: s.merkleRoot } : {}),
    ...siteSafetyStatus(s, prev, now),
    ...siteExtras(s, prev, seq),
  };
}

/** `{ [key]: value }`, the fresh value else the previous one; nothing when neither is set. */
function either<K extends string, V>(
  key: K,
  fresh: V | undefined,
  prev: V | undefined,
): Partial<Record<K, V>> {
  const v = fresh ?? prev;
  return (v === undefined ? {} : { [key]: v }) as Partial<Record<K, V>>;
}

/** What issue #16 added to a site's status: roots, Vault's last_wal, what differs. */
function siteExtras(s: SiteOutcome, prev: SiteStatus | undefined, seq: number) {
  return {
    ...either('metadataRoot', s.metadataRoot, undefined),
    ...either('lastSequence', s.inSync ? seq : undefined, prev?.lastSequence),
    ...either('outOfSyncEntities', s.outOfSync, undefined),
    ...either('unmappable', s.unmappable, undefined),
    ...either('verification', s.verification, prev?.verification),
  };
}

/** A site's object counts as status holds them. */
function objectStatus(o: SiteObjects): ObjectProgress {
  const { unknown: _unknown, countedAt, ...rest } = o;
  return { ...rest, countedAt: iso(new Date(countedAt)) };
}

/** Why the group is or is not Ready, most pressing first: degraded, progressing, paused, behind. */
function readiness(o: GroupOutcome, degraded: Why | undefined, reconciling: Why | undefined): Why {
  if (degraded) return degraded;
  if (reconciling) return reconciling;
  if (o.paused) return { reason: 'Paused', message: 'spec.paused is true: observing only' };
  const held = o.safety?.deletionsHeld;
  if (held) {
    return { reason: 'DeletionsHeld', message: `${held.total} deletions are held for approval` };
  }
  const behind = o.sites.filter((s) => !s.inSync).map((s) => s.name);
  if (behind.length > 0)
    return { reason: 'OutOfSync', message: `Not in sync: ${behind.join(', ')}` };
  return { reason: 'Synced', message: `${o.sites.length} sites in sync` };
}

/** What is failing, most telling first. */
function degradedOf(o: GroupOutcome): Why | undefined {
  // The most telling reason first: a site that cannot be reached or logged into.
  const severity = (s: SiteOutcome) => (s.error?.reason === 'ApplyFailed' ? 1 : 0);
  const failing = o.sites.filter((s) => s.error).sort((x, y) => severity(x) - severity(y));
  const failures = failing.map((s) => withSite(s.name, s.error?.message ?? ''));
  // A site on another identity provider is named first: its users cannot log in alike; then
  // a site held because its identity changed.
  const first = o.identity ?? o.safety?.heldSites;
  if (first) return { reason: first.reason, message: joinBounded([first.message, ...failures]) };
  if (failing.length === 0) return undefined;
  return { reason: failing[0]?.error?.reason ?? 'SiteError', message: joinBounded(failures) };
}

/** The kstatus conditions, and InSync when the outcome says. */
function conditionsOf(o: GroupOutcome): ConditionInput[] {
  const base = kstatusConditions(o);
  if (!o.inSync) return base;
  return [...base, cond('InSync', o.inSync.ok, o.inSync.why, o.generation)];
}

function kstatusConditions(o: GroupOutcome): ConditionInput[] {
  const g = o.generation;
  if (o.blocker) return blockedConditions(o.blocker, g);
  const degraded = degradedOf(o);
  const reconciling: Why | undefined =
    o.changes > 0 && !o.paused
      ? { reason: 'Progressing', message: `Applied ${o.changes} changes; verifying` }
      : undefined;
  const ready = readiness(o, degraded, reconciling);
  return [
    ...passConditions({ ready, isReady: ready.reason === 'Synced', reconciling, degraded }, g),
    deletionsHeldCondition(o.safety?.deletionsHeld, g, o.safety?.group),
  ];
}

export function deriveStatus(
  prev: SiteReplicationGroupStatus | undefined,
  o: GroupOutcome,
  now: Date,
): SiteReplicationGroupStatus {
  const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const prevSites = new Map((prev?.sites ?? []).map((s) => [s.name, s]));
  const conditions: Condition[] = setConditions(prev?.conditions, conditionsOf(o), now);
  return {
    observedGeneration: o.generation,
    conditions,
    mode: o.mode,
    ...(o.primary ? { primary: o.primary } : {}),
    knownSites: o.knownSites,
    sites: o.sites.map((s) => siteStatus(s, prevSites.get(s.name), ts, o.lastSequence)),
    sitesReachable: `${o.sites.filter((s) => s.reachable).length}/${o.sites.length}`,
    sitesInSync: `${o.sites.filter((s) => s.merkleRoot === o.merkleRoot).length}/${o.sites.length}`,
    lastSequence: o.lastSequence,
    merkleRoot: o.merkleRoot,
    ...pick('lastResync', o.lastResync ?? prev?.lastResync),
    ...pick('lastRecover', o.lastRecover ?? prev?.lastRecover),
    ...safetyStatus(o.safety, prev),
    ...either('lastVerify', o.lastVerify, prev?.lastVerify),
    ...either('verification', o.verification, prev?.verification),
    ...either('recovery', o.recovery, prev?.recovery),
  };
}

/**
 * The root of a replicated state: its metadata's root alone until object versions have been
 * verified, then the root over both.
 */
export function combinedRoot(metadata: string, objects: string | undefined): string {
  return objects === undefined
    ? metadata
    : merkleRoot([
        ['metadata', metadata],
        ['objects', objects],
      ]);
}

function pick<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

// ---------------------------------------------------------------------------------------------
// From a pass to its outcome, and the one status write

/** What a pass did, for the status. */
export interface PassResult {
  plan: MergePlan | undefined;
  failures: Failures;
  changes: number;
  state: AgreedState;
  blocker?: Why | undefined;
  /** Removed sites that still hold something of the group. */
  removedLeft?: { name: string; message: string }[] | undefined;
  /** Removed sites cleaned of the group in this pass. */
  disconnected?: { name: string; removed: string[] }[] | undefined;
  /** The rotate-credentials annotation value acted on in this pass. */
  rotated?: string | undefined;
  /** The replication credentials were rotated in this pass (by the annotation or a removal). */
  credentialsRotated?: boolean | undefined;
  /** The pass's clock (progress and ETA of a verification). */
  now?: Date | undefined;
}

/** What a site holds after the actions that succeeded on it. */
function heldAfter(
  observed: ReadonlyMap<string, Entity>,
  applied: readonly MergeAction[],
): Map<string, Entity> {
  const held = new Map(observed);
  for (const a of applied) {
    if (a.kind === 'Put') held.set(a.key, { digest: a.digest });
    else held.delete(a.key);
  }
  return held;
}

/** Reasons for which a site counts as not reachable (observed only in part is not reachable). */
const UNREACHABLE = new Set(['SiteUnreachable', 'CredentialsNotFound', 'SiteNotReady']);

const EMPTY = { inSync: 0, outOfSync: 0 };

const membershipOf = (r: PassResult, name: string) =>
  r.state.joined.includes(name) ? ('Joined' as const) : ('Joining' as const);

/** A site not observed, or observed only in part. */
function unobservedOutcome(o: Extract<Observed, { ok: false }>, r: PassResult): SiteOutcome {
  return {
    name: o.site.name,
    reachable: !UNREACHABLE.has(o.reason),
    error: { reason: o.reason, message: o.message },
    buckets: EMPTY,
    iam: EMPTY,
    inSync: false,
    membership: membershipOf(r, o.site.name),
  };
}

/** A site held because its identity changed while it holds data. */
function heldOutcome(pass: Pass, o: Reachable): SiteOutcome | undefined {
  const name = o.site.name;
  const held = pass.identity.held.get(name);
  if (held === undefined) return undefined;
  return {
    name,
    reachable: true,
    deploymentID: o.snap.deploymentID,
    error: { reason: 'SiteIdentityChanged', message: describeOutcome(held) },
    buckets: EMPTY,
    iam: EMPTY,
    inSync: false,
    membership: 'Held',
    identityChange: describeOutcome(held),
  };
}

export function siteOutcome(pass: Pass, o: Observed, r: PassResult): SiteOutcome {
  if (!o.ok) return unobservedOutcome(o, r);
  const heldSite = heldOutcome(pass, o);
  if (heldSite) return heldSite;
  const name = o.site.name;
  const membership = membershipOf(r, name);
  const change = pass.identity.outcomes.find((x) => x.site === name);
  const identity = change ? { identityChange: describeOutcome(change) } : {};
  const mine = r.plan?.actions.filter((a) => a.site === name) ?? [];
  const applied = pass.spec.paused ? [] : mine.filter((a) => !r.failures.hasEntity(name, a.key));
  const pending = mine.filter((a) => !applied.includes(a));
  const failure = r.failures.first(name);
  const observedEntities = pass.entities(o.snap);
  const held = heldAfter(observedEntities, applied);
  const isBucket = (key: string) => key.startsWith('bucket:');
  const count = (buckets: boolean) => {
    const total = [...held.keys()].filter((k) => isBucket(k) === buckets).length;
    const out = pending.filter((a) => isBucket(a.key) === buckets).length;
    return { inSync: Math.max(0, total - out), outOfSync: out };
  };
  return {
    name,
    reachable: true,
    deploymentID: o.snap.deploymentID,
    ...(failure ? { error: { reason: 'ApplyFailed', message: failure } } : {}),
    buckets: count(true),
    iam: count(false),
    ...roots(pass, name, merkleRoot(rootEntries(pass, held, o, { r, pending }))),
    objects: pass.objects?.get(name),
    outOfSync: outOfSyncEntities(pending, new Set(observedEntities.keys())),
    unmappable: unmappableEntities(o.client.capabilities, Object.keys(r.state.entities), {
      ...pass.accessKeys?.get(name),
      minioOnly: minioOnlyOf(pass),
      held: observedEntities.keys(),
    }),
    inSync: r.plan !== undefined && pending.length === 0 && failure === undefined,
    membership,
    ...identity,
  };
}

/**
 * What a site's metadata root is made of: what it holds, and for a site that cannot hold some
 * kinds of entity (coverage.ts), the agreed value of those (listed as unmappable instead), so
 * that it is in sync when it holds everything it can. What it only receives counts as the
 * agreed value while no action on it is pending (it holds a part of it: `shape`), and what was
 * made there alone does not count.
 */
function rootEntries(
  pass: Pass,
  held: ReadonlyMap<string, Entity>,
  o: Reachable,
  at: { r: PassResult; pending: readonly { key: string }[] },
): (readonly [string, string])[] {
  const cover = siteCover(pass, o);
  if (cover === undefined) return [...held].map(([k, e]) => [k, e.digest] as const);
  const receives = siteReceives(o) ?? (() => false);
  const agreed = at.r.state.entities;
  const pending = new Set(at.pending.map((a) => a.key));
  const entries = [...held].filter(([k]) => !receives(k)).map(([k, e]) => [k, e.digest] as const);
  const received = Object.entries(agreed).flatMap(([k, value]): (readonly [string, string])[] => {
    if (!cover(k) || !receives(k)) return [];
    if (!pending.has(k)) return [[k, value]];
    const now = held.get(k);
    return now === undefined ? [] : [[k, now.digest]];
  });
  const uncovered = Object.entries(agreed).filter(([k]) => !cover(k));
  return [...entries, ...received, ...uncovered].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A site's roots: metadata, and with its last verification, both. */
function roots(pass: Pass, site: string, metadataRoot: string) {
  const fresh = pass.verification ? siteVerifications(pass.verification)?.get(site) : undefined;
  const verification = fresh ?? pass.obj.status?.sites?.find((s) => s.name === site)?.verification;
  return {
    metadataRoot,
    merkleRoot: combinedRoot(metadataRoot, verification?.objectsRoot),
    verification,
  };
}

/**
 * Do the group's sites share its identity provider? Read from the IdentityProvider's status
 * (per-site live digests, refreshed by its controller), once it reflects its current spec.
 */
export function identityCheck(pass: Pass): IdentityMismatch | undefined {
  const status = pass.idp?.status;
  if (status?.digest === undefined || status.observedGeneration !== pass.idp?.metadata.generation) {
    return undefined;
  }
  const sites = priorityOrder(pass).map((o) => ({
    name: o.site.name,
    digest: status.sites?.find((s) => s.group === pass.ref.name && s.site === o.site.name)?.digest,
  }));
  return identityMismatch(sites, status.digest);
}

/** The outcome of the whole group. */
export function groupOutcome(
  pass: Pass,
  r: PassResult,
  sites: SiteOutcome[],
  identity: IdentityMismatch | undefined,
): GroupOutcome {
  const annotations = pass.obj.metadata.annotations;
  const order = priorityOrder(pass).map((o) => o.site.name);
  const objectRoots = new Map(
    sites.flatMap((s) => (s.verification ? [[s.name, s.verification.objectsRoot] as const] : [])),
  );
  return {
    identity,
    generation: pass.obj.metadata.generation ?? 0,
    mode: pass.spec.mode,
    primary: leaderOf(pass) ?? pass.spec.primary,
    sites,
    knownSites: r.state.joined,
    lastSequence: r.state.sequence,
    merkleRoot: combinedRoot(
      merkleRoot(Object.entries(r.state.entities)),
      majority(objectRoots, order),
    ),
    changes: r.changes,
    blocker: r.blocker,
    paused: pass.spec.paused,
    ...(r.plan && !r.blocker && r.failures.size === 0
      ? { lastResync: annotations?.[RESYNC_ANNOTATION] }
      : {}),
    safety: safetyOutcome(pass, r),
    ...operationsOutcome(pass, r.now ?? new Date()),
    inSync: inSyncWhy({
      sites: sites.map((s) => ({ ...s, observed: s.metadataRoot !== undefined })),
      blocker: r.blocker,
      objects: pass.spec.replicate.objects,
      planned: r.plan !== undefined,
      now: (r.now ?? new Date()).getTime(),
    }),
  };
}

/** What the recover and verify requests of the pass came to. */
function operationsOutcome(pass: Pass, now: Date): Partial<GroupOutcome> {
  const run = pass.verification;
  const verify = pass.obj.metadata.annotations?.[VERIFY_ANNOTATION];
  const ended = run !== undefined && run.phase !== 'Running';
  return {
    ...(pass.recovery?.done ? { lastRecover: pass.recovery.status.requested } : {}),
    ...(ended && run.requested === verify ? { lastVerify: run.requested } : {}),
    ...(run ? { verification: verificationStatus(run, now) } : {}),
    ...(pass.recovery ? { recovery: pass.recovery.status } : {}),
  };
}

/** Status without timestamps that change every pass, to skip writes that change nothing. */
function stripTimes(s: SiteReplicationGroupStatus | undefined): unknown {
  if (!s) return s;
  return { ...s, sites: s.sites?.map(({ lastSyncTime: _t, ...rest }) => rest) };
}

/**
 * Whether `next` must be written: it says something new, or a site in sync would otherwise
 * keep a `lastSyncTime` older than `refreshMs` (in steady state it is refreshed about once
 * per sync interval, so it tells when the sites were last seen in sync).
 */
export function statusDue(
  prev: SiteReplicationGroupStatus | undefined,
  next: SiteReplicationGroupStatus,
  now: Date,
  refreshMs: number,
): boolean {
  if (!sameJSON(stripTimes(prev), stripTimes(next))) return true;
  const before = new Map((prev?.sites ?? []).map((s) => [s.name, s.lastSyncTime]));
  return (next.sites ?? []).some((s) => {
    const was = before.get(s.name);
    if (s.lastSyncTime === undefined || s.lastSyncTime === was) return false;
    return was === undefined || now.getTime() - Date.parse(was) >= refreshMs;
  });
}

/** Writes `status` (one merge patch to /status) when it is due; under the pass's signal. */
export async function writeStatus(
  pass: Pass,
  status: SiteReplicationGroupStatus,
  opts: { now: Date; refreshMs: number },
): Promise<void> {
  if (!statusDue(pass.obj.status, status, opts.now, opts.refreshMs)) return;
  await patchStatus(pass.kube, SRG_RESOURCE, pass.ref, statusPatch(pass.obj.status, status));
}

/** Status fields a pass may drop: a merge patch keeps what it omits, so they are set to null. */
const CLEARABLE = ['deletionsHeld', 'removedSites', 'primary', 'objectCopies'] as const;

/** The merge patch that turns `prev` into `next`: `next`, with dropped fields set to null. */
export function statusPatch(
  prev: SiteReplicationGroupStatus | undefined,
  next: SiteReplicationGroupStatus,
): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const key of CLEARABLE) {
    if (next[key] === undefined && prev?.[key] !== undefined) patch[key] = null;
  }
  return patch;
}
