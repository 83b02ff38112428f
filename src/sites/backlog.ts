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

/**
 * By target ARN, when the oldest version still waiting for it (pending or failed, a write or
 * a version delete) was written, in ms since the epoch. Targets with nothing waiting are absent.
 */
export function oldestWaiting(entries: Iterable<BacklogEntry>): Record<string, number> {
  const oldest: Record<string, number> = {};
  for (const e of entries) noteWaiting(oldest, e);
  return oldest;
}

/** Folds one listed version into `oldest` (see `oldestWaiting`). */
export function noteWaiting(oldest: Record<string, number>, e: BacklogEntry): void {
  const at = e.lastModified === undefined ? NaN : Date.parse(e.lastModified);
  if (!Number.isFinite(at)) return;
  for (const [arn, t] of Object.entries(e.targets)) {
    if (!WAITING.has(t.status) && !WAITING.has(t.deleteStatus)) continue;
    const prev = oldest[arn];
    if (prev === undefined || at < prev) oldest[arn] = at;
  }
}

/** Whole seconds from `oldestMs` to `atMs`, never negative (clocks of two machines). */
export function lagSince(oldestMs: number, atMs: number): number {
  return Math.max(0, Math.round((atMs - oldestMs) / 1000));
}
