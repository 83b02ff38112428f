/**
 * A source's replication backlog: the versions it still has to replicate, and per target when
 * the oldest of them was written (the lag). Pure; drivers list the entries.
 */

/** One version a source lists as not yet replicated, with its state per target. */
export interface BacklogEntry {
  lastModified?: string | undefined;
  targets: Readonly<Record<string, { status: string; deleteStatus: string }>>;
}

const WAITING = new Set(['PENDING', 'FAILED']);

/** What waits for one target: when the oldest version was written, and how many are overdue. */
export interface TargetBacklog {
  /** ms since the epoch. */
  oldest: number;
  /** Versions written before the `overdueBefore` the listing was made with. */
  overdue: number;
}

/**
 * Folds one listed version into `by`: per target ARN, what waits for it (pending or failed, a
 * write or a version delete). Targets with nothing waiting stay absent.
 */
export function noteWaiting(
  by: Record<string, TargetBacklog>,
  e: BacklogEntry,
  overdueBefore: number,
): void {
  const at = e.lastModified === undefined ? NaN : Date.parse(e.lastModified);
  if (!Number.isFinite(at)) return;
  for (const [arn, t] of Object.entries(e.targets)) {
    if (!WAITING.has(t.status) && !WAITING.has(t.deleteStatus)) continue;
    const prev = by[arn] ?? { oldest: at, overdue: 0 };
    by[arn] = {
      oldest: Math.min(prev.oldest, at),
      overdue: prev.overdue + (at < overdueBefore ? 1 : 0),
    };
  }
}

/** Whole seconds from `oldestMs` to `atMs`, never negative (clocks of two machines). */
export function lagSince(oldestMs: number, atMs: number): number {
  return Math.max(0, Math.round((atMs - oldestMs) / 1000));
}
