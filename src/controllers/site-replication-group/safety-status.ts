/**
 * What the safety rules (docs/operations.md, "Safety rules") add to a group's status and
 * events: sites held because their identity changed, deletions held by the guard, removed sites
 * that still hold the group's links, a rebuilt agreed state, and the annotations acted on.
 * Derived without I/O, except `recordPassEvents`, which records the pass's events.
 */
import {
  ACCEPT_SITE_ANNOTATION,
  APPROVE_DELETIONS_ANNOTATION,
  REBUILD_STATE_ANNOTATION,
  ROTATE_CREDENTIALS_ANNOTATION,
} from '../../api/names.js';
import type {
  DeletionsHeld,
  SiteReplicationGroupStatus,
  SiteStatus,
} from '../../api/site-replication-group.js';
import { decodeKey } from '../../replication/entity-key.js';
import type { ConditionInput } from '../../runtime/conditions.js';
import { type Why, cond } from '../../runtime/kstatus.js';
import type { Pass } from './pass.js';
import { describeOutcome } from './site-identity.js';
import type { PassResult, SiteOutcome } from './status.js';

export interface SafetyOutcome {
  /** The group's name (the approval command names it). */
  group: string;
  /** Joined sites whose identity changed while they hold data (reason SiteIdentityChanged). */
  heldSites?: Why | undefined;
  deletionsHeld?: DeletionsHeld | undefined;
  removedSites: { name: string; message: string }[];
  /** Annotation values acted on in this pass. */
  lastAcceptSite?: string | undefined;
  lastApprovedDeletions?: string | undefined;
  lastRotateCredentials?: string | undefined;
  lastRebuild?: string | undefined;
}

function heldDeletions(r: PassResult): DeletionsHeld | undefined {
  const held = r.plan?.held;
  if (held === undefined) return undefined;
  const byKind: Record<string, number> = {};
  for (const key of held.keys) {
    const kind = decodeKey(key)?.kind ?? 'unknown';
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return {
    digest: held.digest,
    total: held.keys.length,
    byKind,
    drivenBy: [...held.drivenBy],
    bound: held.bound,
  };
}

export function safetyOutcome(pass: Pass, r: PassResult): SafetyOutcome {
  const annotations = pass.obj.metadata.annotations ?? {};
  const held = [...pass.identity.held.values()];
  const acted = r.blocker === undefined && !pass.spec.paused;
  const accept = annotations[ACCEPT_SITE_ANNOTATION];
  return {
    group: pass.ref.name,
    ...(held.length > 0
      ? {
          heldSites: {
            reason: 'SiteIdentityChanged',
            message: held.map((h) => describeOutcome(h)).join('; '),
          },
        }
      : {}),
    deletionsHeld: heldDeletions(r),
    removedSites: r.removedLeft ?? [],
    lastAcceptSite: acted && accept !== pass.obj.status?.lastAcceptSite ? accept : undefined,
    lastApprovedDeletions: r.plan?.approved?.digest,
    lastRotateCredentials: r.rotated,
    lastRebuild: pass.rebuilt?.from === 'union' ? annotations[REBUILD_STATE_ANNOTATION] : undefined,
  };
}

const kinds = (byKind: Readonly<Record<string, number>>) =>
  Object.entries(byKind)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');

/** In words: what is held, who drove it, and how to approve exactly it. */
export function deletionsHeldMessage(h: DeletionsHeld, group: string): string {
  return `${h.total} deletions (${kinds(h.byKind)}) made on ${h.drivenBy.join(', ')} only are held: more than the bound of ${h.bound} (spec.deletionGuard). Check the site; to carry out exactly these deletions everywhere: kubectl annotate srg ${group} --overwrite ${APPROVE_DELETIONS_ANNOTATION}=${h.digest}`;
}

/** `DeletionsHeld`: True while the guard holds a plan (its digest is in the message). */
export function deletionsHeldCondition(
  held: DeletionsHeld | undefined,
  gen: number,
  group = '<group>',
): ConditionInput {
  if (held === undefined) {
    return cond('DeletionsHeld', false, { reason: 'NoneHeld', message: '' }, gen);
  }
  return cond(
    'DeletionsHeld',
    true,
    { reason: 'DeletionsHeld', message: deletionsHeldMessage(held, group) },
    gen,
  );
}

/** `{ [key]: value }` of the value now, else the one before; nothing when neither. */
function keep(key: string, now: string | undefined, prev: string | undefined) {
  const value = now ?? prev;
  return value === undefined ? {} : { [key]: value };
}

type Annotated =
  'lastAcceptSite' | 'lastApprovedDeletions' | 'lastRotateCredentials' | 'lastRebuild';
const ANNOTATED: readonly Annotated[] = [
  'lastAcceptSite',
  'lastApprovedDeletions',
  'lastRotateCredentials',
  'lastRebuild',
];

/** The safety parts of a group's status; annotation values acted on before are kept. */
export function safetyStatus(
  s: SafetyOutcome | undefined,
  prev: SiteReplicationGroupStatus | undefined,
): Partial<SiteReplicationGroupStatus> {
  const out: Partial<SiteReplicationGroupStatus> = {};
  if (s?.deletionsHeld) out.deletionsHeld = s.deletionsHeld;
  if (s?.removedSites.length) out.removedSites = s.removedSites;
  for (const key of ANNOTATED) Object.assign(out, keep(key, s?.[key], prev?.[key]));
  return out;
}

/** A site's membership, and its last identity change (kept from before when none now). */
export function siteSafetyStatus(
  s: SiteOutcome,
  prev: SiteStatus | undefined,
  now: string,
): Partial<SiteStatus> {
  const change = s.identityChange ? `${now}: ${s.identityChange}`.slice(0, 1024) : undefined;
  return {
    ...(s.membership ? { membership: s.membership } : {}),
    ...keep('lastIdentityChange', change, prev?.lastIdentityChange),
  };
}

type Record3 = (type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;

async function identityEvents(pass: Pass, r: PassResult, rec: Record3): Promise<void> {
  const mutable = r.blocker === undefined && !pass.spec.paused;
  for (const o of pass.identity.outcomes) {
    if (o.kind === 'held') await rec('Warning', 'SiteIdentityChanged', describeOutcome(o));
    else if (o.kind === 'rejoined' && mutable)
      await rec('Warning', 'SiteRejoined', describeOutcome(o));
    else if (mutable) await rec('Normal', 'SiteAccepted', describeOutcome(o));
  }
  const accept = safetyOutcome(pass, r).lastAcceptSite;
  const accepted = pass.identity.outcomes.some((o) => o.kind === 'accepted');
  if (accept !== undefined && !accepted) {
    await rec(
      'Warning',
      'AcceptSiteIgnored',
      `${ACCEPT_SITE_ANNOTATION}=${accept} names no site held with that identity; nothing was accepted`,
    );
  }
}

async function planEvents(pass: Pass, r: PassResult, rec: Record3): Promise<void> {
  const held = heldDeletions(r);
  if (held) await rec('Warning', 'DeletionsHeld', deletionsHeldMessage(held, pass.ref.name));
  const approved = r.plan?.approved;
  if (approved) {
    await rec(
      'Normal',
      'DeletionsApproved',
      `carrying out the approved plan ${approved.digest}: ${approved.keys.length} deletions made on ${approved.drivenBy.join(', ')}`,
    );
  }
}

async function membershipEvents(r: PassResult, rec: Record3): Promise<void> {
  for (const c of r.disconnected ?? []) {
    const what =
      c.removed.length > 0
        ? `removed ${c.removed.slice(0, 5).join(', ')}${c.removed.length > 5 ? ', ...' : ''}`
        : 'nothing of the group was left there';
    await rec('Normal', 'SiteDisconnected', `${c.name}: ${what}`);
  }
  if (r.credentialsRotated === true) {
    const why =
      r.rotated === undefined
        ? 'a site was removed from the group'
        : `${ROTATE_CREDENTIALS_ANNOTATION}=${r.rotated}`;
    await rec(
      'Normal',
      'CredentialsRotated',
      `every site's replication account of the group has new credentials (${why})`,
    );
  }
}

/** The events of a pass: what a person cares about that the status alone would not tell. */
export async function recordPassEvents(pass: Pass, r: PassResult): Promise<void> {
  const rec: Record3 = (type, reason, message) =>
    pass.events.record(pass.obj, type, reason, message);
  if (r.blocker) await rec('Warning', r.blocker.reason, r.blocker.message);
  if (pass.rebuilt) await rec('Warning', 'AgreedStateRebuilt', pass.rebuilt.message);
  await identityEvents(pass, r, rec);
  await planEvents(pass, r, rec);
  await membershipEvents(r, rec);
}
