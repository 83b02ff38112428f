/**
 * The deletion guard: a wave of deletions that one site (or a minority of the joined sites)
 * would drive through the whole group in one pass is held, not done. A wiped volume that kept
 * its identity, an account that sees less, a site restored from an old backup: each looks like
 * "this site deleted everything", and the three-way merge alone would carry that out
 * everywhere. A person approves exactly the plan held (its digest); a different wave needs its
 * own approval.
 *
 * A deletion counts when the group agreed the key was present and the merge's target is absent.
 * It is driven by a minority when the sites that voted for it are not a strict majority of the
 * joined sites (reachable or not). When more minority-driven deletions than
 * max(maxCount, ceil(maxPercent % of the agreed entities)) would happen, all of them are held.
 * Pure.
 */
import { digestOf } from './digest.js';

export interface DeletionGuardSettings {
  maxCount: number;
  maxPercent: number;
  /** The digest of a held plan a person approved (`sitesync.io/approve-deletions`). */
  approved?: string | undefined;
}

/** A deletion the merge decided, and the sites whose votes decided it. */
export interface DeletionCandidate {
  key: string;
  voters: readonly string[];
}

/** A wave of deletions held for approval. */
export interface HeldDeletions {
  /** Digest of exactly this plan (its keys and driving sites). */
  digest: string;
  /** Sorted. */
  keys: readonly string[];
  /** The sites whose deletions these are, sorted. */
  drivenBy: readonly string[];
  /** The bound the wave is over. */
  bound: number;
}

export interface GuardVerdict {
  /** Held: the caller plans no action for these keys and leaves their agreed state alone. */
  held?: HeldDeletions | undefined;
  /** Carried out because `settings.approved` is this plan's digest. */
  approved?: HeldDeletions | undefined;
}

const _compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The most minority-driven deletions one pass may make. */
export function deletionBound(settings: DeletionGuardSettings, agreedEntities: number): number {
  const percent = Math.ceil((settings.maxPercent * agreedEntities) / 100);
  return Math.max(settings.maxCount, percent);
}

/** The digest a person approves: of the keys and the driving sites, nothing else. */
export function deletionPlanDigest(keys: readonly string[], drivenBy: readonly string[]): string {
  const plan = { keys: [...keys].sort(_compare), drivenBy: [...drivenBy].sort(_compare) };
  return digestOf(plan).slice(0, 16);
}

/**
 * Judges the deletions of one pass. `joined` is the number of joined sites, `agreedEntities`
 * the number of keys the group agreed on.
 */
export function guardDeletions(
  candidates: readonly DeletionCandidate[],
  ctx: { joined: number; agreedEntities: number; settings: DeletionGuardSettings },
): GuardVerdict {
  const minority = candidates.filter((c) => c.voters.length * 2 <= ctx.joined);
  const bound = deletionBound(ctx.settings, ctx.agreedEntities);
  if (minority.length <= bound) return {};
  const keys = minority.map((c) => c.key).sort(_compare);
  const drivenBy = [...new Set(minority.flatMap((c) => c.voters))].sort(_compare);
  const plan: HeldDeletions = { digest: deletionPlanDigest(keys, drivenBy), keys, drivenBy, bound };
  return plan.digest === ctx.settings.approved ? { approved: plan } : { held: plan };
}
