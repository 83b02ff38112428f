/**
 * The status of a SiteReplicationGroup, derived by a pure function from what one reconcile saw
 * and did. Conditions follow kstatus: Reconciling and Stalled are abnormal-true; Ready is True
 * only when the generation is observed, every site is reachable and in sync, and nothing is
 * pending.
 */
import { RECOVER_ANNOTATION, RESYNC_ANNOTATION, SRG_RESOURCE } from '../../api/names.js';
import type {
  ObjectProgress,
  SiteReplicationGroupStatus,
  SiteStatus,
} from '../../api/site-replication-group.js';
import type { AgreedState } from '../../replication/agreed-state.js';
import type { MergeAction, MergePlan } from '../../replication/merge.js';
import { merkleRoot } from '../../replication/merkle.js';
import { type Condition, type ConditionInput, setConditions } from '../../runtime/conditions.js';
import { type Why, blockedConditions, passConditions } from '../../runtime/kstatus.js';
import { patchStatus, sameJSON } from '../../runtime/status.js';
import type { Entity } from './entities.js';
import type { Failures } from './failures.js';
import { type IdentityMismatch, identityMismatch } from './identity-check.js';
import type { Observed } from './observe.js';
import type { Pass } from './pass.js';
import { priorityOrder } from './plan.js';
import { MAX_PART_MESSAGE, bounded, joinBounded } from '../../runtime/messages.js';

export interface SiteOutcome {
  name: string;
  reachable: boolean;
  deploymentID?: string | undefined;
  /** Why the site could not be observed or synced; no secrets (SiteError messages). */
  error?: { reason: string; message: string } | undefined;
  buckets: { inSync: number; outOfSync: number };
  iam: { inSync: number; outOfSync: number };
  objects?: ObjectProgress | undefined;
  merkleRoot?: string | undefined;
  inSync: boolean;
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
}

/** `site: message`, unless the message already starts with the site's name. */
function withSite(site: string, message: string): string {
  return message.startsWith(`${site}: `) ? message : `${site}: ${message}`;
}

function siteStatus(s: SiteOutcome, prev: SiteStatus | undefined, now: string): SiteStatus {
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
    ...(s.objects ? { objects: s.objects } : prev?.objects ? { objects: prev.objects } : {}),
    ...(s.merkleRoot ? { merkleRoot: s.merkleRoot } : {}),
  };
}

/** Why the group is or is not Ready, most pressing first: degraded, progressing, paused, behind. */
function readiness(o: GroupOutcome, degraded: Why | undefined, reconciling: Why | undefined): Why {
  if (degraded) return degraded;
  if (reconciling) return reconciling;
  if (o.paused) return { reason: 'Paused', message: 'spec.paused is true: observing only' };
  const behind = o.sites.filter((s) => !s.inSync).map((s) => s.name);
  if (behind.length > 0)
    return { reason: 'OutOfSync', message: `Not in sync: ${behind.join(', ')}` };
  return { reason: 'Synced', message: `${o.sites.length} sites in sync` };
}

function conditionsOf(o: GroupOutcome): ConditionInput[] {
  const g = o.generation;
  if (o.blocker) return blockedConditions(o.blocker, g);
  // The most telling reason first: a site that cannot be reached or logged into.
  const severity = (s: SiteOutcome) => (s.error?.reason === 'ApplyFailed' ? 1 : 0);
  const failing = o.sites.filter((s) => s.error).sort((x, y) => severity(x) - severity(y));
  const failures = failing.map((s) => withSite(s.name, s.error?.message ?? ''));
  // A site on another identity provider is named first: its users cannot log in alike.
  const degraded: Why | undefined = o.identity
    ? { reason: o.identity.reason, message: joinBounded([o.identity.message, ...failures]) }
    : failing.length === 0
      ? undefined
      : { reason: failing[0]?.error?.reason ?? 'SiteError', message: joinBounded(failures) };
  const reconciling: Why | undefined =
    o.changes > 0 && !o.paused
      ? { reason: 'Progressing', message: `Applied ${o.changes} changes; verifying` }
      : undefined;
  const ready = readiness(o, degraded, reconciling);
  return passConditions({ ready, isReady: ready.reason === 'Synced', reconciling, degraded }, g);
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
    sites: o.sites.map((s) => siteStatus(s, prevSites.get(s.name), ts)),
    sitesReachable: `${o.sites.filter((s) => s.reachable).length}/${o.sites.length}`,
    sitesInSync: `${o.sites.filter((s) => s.inSync).length}/${o.sites.length}`,
    lastSequence: o.lastSequence,
    merkleRoot: o.merkleRoot,
    ...pick('lastResync', o.lastResync ?? prev?.lastResync),
    ...pick('lastRecover', o.lastRecover ?? prev?.lastRecover),
  };
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

const UNREACHABLE = new Set(['SiteUnreachable', 'CredentialsNotFound']);

export function siteOutcome(pass: Pass, o: Observed, r: PassResult): SiteOutcome {
  if (!o.ok) {
    const empty = { inSync: 0, outOfSync: 0 };
    return {
      name: o.site.name,
      reachable: !UNREACHABLE.has(o.reason),
      error: { reason: o.reason, message: o.message },
      buckets: empty,
      iam: empty,
      inSync: false,
    };
  }
  const name = o.site.name;
  const mine = r.plan?.actions.filter((a) => a.site === name) ?? [];
  const applied = pass.spec.paused ? [] : mine.filter((a) => !r.failures.hasEntity(name, a.key));
  const pending = mine.filter((a) => !applied.includes(a));
  const failure = r.failures.first(name);
  const held = heldAfter(pass.entities(o.snap), applied);
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
    merkleRoot: merkleRoot([...held].map(([k, e]) => [k, e.digest] as const)),
    objects: pass.objects?.get(name),
    inSync: r.plan !== undefined && pending.length === 0 && failure === undefined,
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
  return {
    identity,
    generation: pass.obj.metadata.generation ?? 0,
    mode: pass.spec.mode,
    primary: pass.spec.primary,
    sites,
    knownSites: r.state.joined,
    lastSequence: r.state.sequence,
    merkleRoot: merkleRoot(Object.entries(r.state.entities)),
    changes: r.changes,
    blocker: r.blocker,
    paused: pass.spec.paused,
    ...(r.plan && !r.blocker && r.failures.size === 0
      ? {
          lastResync: annotations?.[RESYNC_ANNOTATION],
          lastRecover: annotations?.[RECOVER_ANNOTATION],
        }
      : {}),
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
  await patchStatus(pass.kube, SRG_RESOURCE, pass.ref, status);
}
