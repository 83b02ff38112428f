/**
 * Promotion in PrimarySecondary mode: when spec.primary names another site than the primary in
 * effect (status.primary), the group moves the primary role in tracked steps, one or more
 * passes each, recorded in status.promotion:
 * FenceOldPrimary (every site refuses writes) -> WaitForSync (the old primary has nothing
 * pending, the new one holds the same metadata) -> SwitchLinks (rules from the new primary
 * only) -> UnfenceNewPrimary. At no step are two sites writable. A step that cannot end says
 * why in `waitingFor` and the pass requeues. Pure, except for the clock the caller passes.
 */
import { FORCE_PROMOTE_ANNOTATION } from '../../api/names.js';
import type {
  PromotionStatus,
  SiteReplicationGroup,
  SiteReplicationGroupSpec,
} from '../../api/site-replication-group.js';
import type { Failures } from './failures.js';
import type { Observed } from './observe.js';
import { identicalMaps } from './plan.js';
import type { Pass } from './pass.js';

type Step = PromotionStatus['steps'][number]['name'];

/** Who replicates and who refuses writes in a pass. */
export interface Roles {
  /** The site the others follow (absent: ActiveActive). */
  leader: string | undefined;
  fenced: ReadonlySet<string>;
}

const running = (p: PromotionStatus | undefined): p is PromotionStatus =>
  p !== undefined && p.step !== 'Done';

/**
 * The promotion a pass works on: the one in progress (status), or a new one when spec.primary
 * differs from the primary in effect. A spec.primary changed again while one runs waits for it
 * to finish. Not in PrimarySecondary mode (or not before): none.
 */
export function promotionOf(
  obj: SiteReplicationGroup,
  spec: SiteReplicationGroupSpec,
  now: Date,
): PromotionStatus | undefined {
  const status = obj.status;
  const current = status?.promotion;
  if (spec.mode !== 'PrimarySecondary') {
    // Switched to ActiveActive mid-promotion: it ends there, saying so.
    if (!running(current)) return undefined;
    return closed(current, now.toISOString(), 'ended: the group switched to ActiveActive');
  }
  if (running(current) && spec.sites.some((s) => s.name === current.to)) return current;
  const acting = status?.mode === 'PrimarySecondary' ? status.primary : undefined;
  const to = spec.primary;
  if (acting === undefined || to === undefined || acting === to) return undefined;
  if (!spec.sites.some((s) => s.name === acting)) return undefined;
  return {
    from: acting,
    to,
    step: 'FenceOldPrimary',
    steps: [{ name: 'FenceOldPrimary', startedAt: now.toISOString() }],
    waitingFor: '',
  };
}

/** Roles for a pass: during a promotion every site is fenced until the last step. */
export function rolesOf(
  spec: SiteReplicationGroupSpec,
  promotion: PromotionStatus | undefined,
): Roles {
  if (spec.mode !== 'PrimarySecondary') return { leader: undefined, fenced: new Set() };
  const all = spec.sites.map((s) => s.name);
  if (!running(promotion)) {
    return { leader: spec.primary, fenced: new Set(all.filter((s) => s !== spec.primary)) };
  }
  const { from, to, step } = promotion;
  switch (step) {
    case 'FenceOldPrimary':
    case 'WaitForSync':
      return { leader: from, fenced: new Set(all) };
    case 'SwitchLinks':
      return { leader: to, fenced: new Set(all) };
    case 'UnfenceNewPrimary':
    case 'Done':
      return { leader: to, fenced: new Set(all.filter((s) => s !== to)) };
  }
}

/** The order of the steps; a step's successor. */
const NEXT: Record<Step, Step | 'Done'> = {
  FenceOldPrimary: 'WaitForSync',
  WaitForSync: 'SwitchLinks',
  SwitchLinks: 'UnfenceNewPrimary',
  UnfenceNewPrimary: 'Done',
};

/** The promotion ended at its current step, which is closed with `message`. */
function closed(p: PromotionStatus, at: string, message: string): PromotionStatus {
  const steps = p.steps.map((s) => (s.endedAt === undefined ? { ...s, endedAt: at, message } : s));
  return { ...p, step: 'Done', steps, waitingFor: '' };
}

function ended(p: PromotionStatus, at: string, message?: string): PromotionStatus {
  if (p.step === 'Done') return p;
  const steps = p.steps.map((s) =>
    s.name === p.step && s.endedAt === undefined
      ? { ...s, endedAt: at, ...(message ? { message } : {}) }
      : s,
  );
  const next = NEXT[p.step];
  return {
    ...p,
    step: next,
    steps: next === 'Done' ? steps : [...steps, { name: next, startedAt: at }],
    waitingFor: '',
  };
}

/** What a pass did that decides whether the current step ended. */
export interface PassFacts {
  failures: Failures;
  /** Sites the pass fenced whole. */
  fenced: readonly string[];
  now: Date;
  /**
   * When the old primary refuses writes on its own at the latest: the last write lease the
   * operator may have given it, plus the clock-skew margin (lease.ts `LeaseBook.endsBy`).
   */
  oldLeaseEndsAt?: Date | undefined;
}

const observedSite = (pass: Pass, name: string) =>
  pass.observed.find((o) => o.site.name === name && o.ok && !pass.identity.held.has(name));

function unreachable(pass: Pass, names: readonly string[]): string | undefined {
  const down = names.filter((n) => observedSite(pass, n) === undefined);
  return down.length === 0 ? undefined : `${down.join(' and ')} not reachable`;
}

/** Why the old primary's object versions are not all delivered yet, or nothing. */
function objectGap(pass: Pass, p: PromotionStatus): string | undefined {
  if (!pass.spec.replicate.objects) return undefined;
  const started = Date.parse(p.steps.at(-1)?.startedAt ?? '');
  const o = pass.objects?.get(p.from);
  if (o === undefined || o.countedAt < started) {
    return `object versions of ${p.from} not counted since the fence`;
  }
  if (o.unknown.length > 0) {
    return `object versions of ${p.from} not countable: ${o.unknown.slice(0, 2).join('; ')}`;
  }
  if (o.pending + o.failed > 0) {
    return `${p.from} has ${String(o.pending)} object version(s) pending and ${String(o.failed)} failed`;
  }
  return undefined;
}

/** Why the old primary and the new one are not in sync yet, or nothing. */
function syncGap(pass: Pass, p: PromotionStatus): string | undefined {
  const [from, to] = [observedSite(pass, p.from), observedSite(pass, p.to)];
  if (from?.ok !== true || to?.ok !== true) return unreachable(pass, [p.from, p.to]);
  const gaps: string[] = [];
  if (!identicalMaps([pass.entities(from.snap), pass.entities(to.snap)])) {
    gaps.push(`${p.to} does not hold the IAM and bucket configuration of ${p.from} yet`);
  }
  const objects = objectGap(pass, p);
  if (objects !== undefined) gaps.push(objects);
  return gaps.length === 0 ? undefined : gaps.join('; ');
}

/** The forced-promotion annotation names this promotion's target, and the old primary is down. */
function forcedNow(pass: Pass, p: PromotionStatus): boolean {
  const v = pass.obj.metadata.annotations?.[FORCE_PROMOTE_ANNOTATION]?.trim();
  return v === p.to && observedSite(pass, p.from) === undefined;
}

function failuresOn(facts: PassFacts, site: string): string | undefined {
  return facts.failures.first(site);
}

/** Why the current step cannot end in this pass, or nothing (it ends). */
type StepCheck = (pass: Pass, p: PromotionStatus, facts: PassFacts) => string | undefined;

const CHECKS: Record<Step, StepCheck> = {
  FenceOldPrimary: (pass, p, facts) => {
    if (observedSite(pass, p.from) === undefined) {
      return `${p.from} (the old primary) not reachable; to promote ${p.to} without it, annotate ${FORCE_PROMOTE_ANNOTATION}=${p.to} (its writes not replicated yet stay behind)`;
    }
    const failed = failuresOn(facts, p.from);
    if (!facts.fenced.includes(p.from) || failed !== undefined) {
      return `fence on ${p.from}: ${failed ?? 'not in place yet'}`;
    }
    return undefined;
  },
  WaitForSync: (pass, p) => syncGap(pass, p),
  SwitchLinks: (pass, p, facts) => {
    const down = unreachable(pass, [p.to, ...(p.forced === true ? [] : [p.from])]);
    if (down !== undefined) return down;
    const failed = facts.failures.size > 0 ? firstFailure(pass, facts) : undefined;
    if (failed !== undefined) return `links not switched: ${failed}`;
    return leaseWaitMs(p, facts.now) > 0 ? leaseWait(p) : undefined;
  },
  UnfenceNewPrimary: (pass, p, facts) => {
    if (observedSite(pass, p.to) === undefined) return `${p.to} not reachable`;
    const failed = failuresOn(facts, p.to);
    return failed === undefined ? undefined : `unfence ${p.to}: ${failed}`;
  },
};

/** The promotion once this pass is done: the current step ended, or why it waits. */
export function advance(pass: Pass, p: PromotionStatus, facts: PassFacts): PromotionStatus {
  if (p.step === 'Done') return p;
  const at = facts.now.toISOString();
  if ((p.step === 'FenceOldPrimary' || p.step === 'WaitForSync') && forcedNow(pass, p)) {
    const why = `skipped: forced with ${FORCE_PROMOTE_ANNOTATION} while ${p.from} was unreachable`;
    // Not fenced by the operator: the new primary waits until its lease has ended for certain.
    const leaseEnd =
      p.step === 'FenceOldPrimary' && facts.oldLeaseEndsAt !== undefined
        ? { oldLeaseEndsAt: facts.oldLeaseEndsAt.toISOString() }
        : {};
    let q: PromotionStatus = { ...p, forced: true, ...leaseEnd };
    while (q.step === 'FenceOldPrimary' || q.step === 'WaitForSync') q = ended(q, at, why);
    return q;
  }
  const why = CHECKS[p.step](pass, p, facts);
  return why === undefined ? ended(p, at) : { ...p, waitingFor: why.slice(0, 1024) };
}

/**
 * How long a forced promotion must still wait before the new primary may accept writes: until
 * the old primary's write lease has ended for certain (0: it has, or no wait applies).
 */
export function leaseWaitMs(p: PromotionStatus, now: Date): number {
  if (p.forced !== true || p.oldLeaseEndsAt === undefined || p.step !== 'SwitchLinks') return 0;
  const end = Date.parse(p.oldLeaseEndsAt);
  return Number.isNaN(end) ? 0 : Math.max(0, end - now.getTime());
}

function leaseWait(p: PromotionStatus): string {
  return `the write lease of ${p.from} (the old primary, not fenced by the operator) to end at ${p.oldLeaseEndsAt ?? ''} (its last lease plus the clock-skew margin): ${p.to} accepts writes only once ${p.from} refuses them`;
}

function firstFailure(pass: Pass, facts: PassFacts): string | undefined {
  for (const o of pass.observed as readonly Observed[]) {
    const f = facts.failures.first(o.site.name);
    if (f !== undefined) return `${o.site.name}: ${f}`;
  }
  return undefined;
}
