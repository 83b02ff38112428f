/**
 * The status of a SiteReplicationGroup, derived by a pure function from what one reconcile saw
 * and did. Conditions follow kstatus: Reconciling and Stalled are abnormal-true; Ready is True
 * only when the generation is observed, every site is reachable and in sync, and nothing is
 * pending.
 */
import type {
  ObjectProgress,
  SiteReplicationGroupStatus,
  SiteStatus,
} from '../api/site-replication-group.js';
import { type Condition, type ConditionInput, setConditions } from '../runtime/conditions.js';
import { type Why, blockedConditions, cond, passConditions } from './_kstatus.js';

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
    ...(s.error ? { lastError: `${s.error.reason}: ${s.error.message}`.slice(0, 1024) } : {}),
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
    ? { reason: o.identity.reason, message: [o.identity.message, ...failures].join('; ') }
    : failing.length === 0
      ? undefined
      : { reason: failing[0]?.error?.reason ?? 'SiteError', message: failures.join('; ') };
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

/** The status for a spec the operator cannot act on (terminal until the generation changes). */
export function invalidSpecStatus(
  prev: SiteReplicationGroupStatus | undefined,
  generation: number,
  message: string,
  now: Date,
): SiteReplicationGroupStatus {
  return {
    ...prev,
    observedGeneration: generation,
    conditions: setConditions(
      prev?.conditions,
      [
        cond('Ready', false, { reason: 'InvalidSpec', message }, generation),
        cond('Stalled', true, { reason: 'InvalidSpec', message }, generation),
        cond('Reconciling', false, { reason: 'InvalidSpec', message: '' }, generation),
      ],
      now,
    ),
  };
}
