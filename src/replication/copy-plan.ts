/**
 * What the object copier does to one key, in one direction (source -> destination): a pure
 * function of both sites' listings of the key, this direction's checkpoint mark and the
 * reverse direction's. No I/O, no clock.
 *
 * - Source versions newer than the newest handled one are new. Of those, replicas the reverse
 *   direction made (its `m`) and versions that lost a conflict to its copies (its `l`) are
 *   skipped: nothing is copied back (loop-free). A new object version whose metadata names the
 *   destination as its origin is skipped too, when it is read (`SkipReplica` then).
 * - Two-way, when the destination also holds new originals of the key (versions the reverse
 *   direction has not handled, not replicas of ours), both sides wrote it since the last
 *   checkpoint: a conflict. The newest write wins (equal times: the site whose name sorts
 *   first); the winner's new versions are copied over, the loser's stay on their site as older
 *   versions (never deleted) and are not copied. The caller reports the conflict.
 * - Versions are copied oldest first, one after another, so the destination's versions of a
 *   key follow the source's order and its latest is the source's latest.
 */
import {
  type KeyMark,
  MAX_HANDLED,
  MAX_REPLICAS_ONE_WAY,
  MAX_REPLICAS_TWO_WAY,
} from './copy-checkpoint.js';

/** The user-metadata name of the replica marker (`x-amz-meta-sitesync-replica-of`). */
export const REPLICA_MARKER = 'sitesync-replica-of';

/** The marker a copy of `versionId` from `site` carries: `<site>/<versionId>`. */
export const replicaMarker = (site: string, versionId: string) => `${site}/${versionId}`;

/** The site named by a version's replica marker, if it has one. */
export function replicaOrigin(metadata: Readonly<Record<string, string>>): string | undefined {
  const m = metadata[REPLICA_MARKER];
  if (m === undefined) return undefined;
  const slash = m.indexOf('/');
  return slash > 0 ? m.slice(0, slash) : undefined;
}

/** A listed version or delete marker (structurally the sites' ObjectVersion). */
export interface ObjectVersion {
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag?: string | undefined;
  lastModified?: string | undefined;
}

export type CopyMode = 'one-way' | 'two-way';

export interface PlanContext {
  source: string;
  destination: string;
  /** one-way: the destination's own writes never stop a copy; two-way: newest wins. */
  mode: CopyMode;
}

/** Both sites' versions of one key, newest first. */
export interface KeyListing {
  key: string;
  source: readonly ObjectVersion[];
  destination: readonly ObjectVersion[];
}

export type CopyAction =
  | { kind: 'CopyObject'; version: ObjectVersion }
  | { kind: 'CopyDeleteMarker'; version: ObjectVersion }
  | { kind: 'SkipReplica'; version: ObjectVersion };

export interface ConflictSide {
  site: string;
  versionId: string;
  lastModified?: string | undefined;
}

export interface Conflict {
  key: string;
  winner: ConflictSide;
  loser: ConflictSide;
}

export interface KeyPlan {
  key: string;
  /** Oldest first; each applies only after the previous one succeeded. */
  actions: CopyAction[];
  /** This direction's mark before the actions run (conflict losers and pruning applied). */
  mark: KeyMark;
  conflict?: Conflict | undefined;
}

const time = (v: ObjectVersion) => (v.lastModified === undefined ? 0 : Date.parse(v.lastModified));

/**
 * Index (newest first) of the newest version `mark` says was handled: every version from there
 * on is handled. The list's length when none is.
 */
export function handledBoundary(versions: readonly ObjectVersion[], mark?: KeyMark): number {
  if (mark === undefined) return versions.length;
  const ids = new Set(mark.h);
  const i = versions.findIndex((v) => ids.has(v.versionId));
  if (i >= 0) return i;
  if (mark.t === undefined || mark.h.length === 0) return versions.length;
  const t = mark.t;
  const j = versions.findIndex((v) => time(v) <= t);
  return j >= 0 ? j : versions.length;
}

const emptyMark = (): KeyMark => ({ h: [] });

/** `mark` with `version` as the newest handled source version. */
export function markHandled(mark: KeyMark, version: ObjectVersion): KeyMark {
  return {
    ...mark,
    h: [version.versionId, ...mark.h.filter((id) => id !== version.versionId)].slice(
      0,
      MAX_HANDLED,
    ),
    t: time(version),
    ...(mark.f ? { f: mark.f.filter((id) => id !== version.versionId) } : {}),
  };
}

/** `mark` after `version` was copied as `replica`. */
export function markCopied(
  mark: KeyMark,
  version: ObjectVersion,
  replica: string,
  mode: CopyMode,
): KeyMark {
  const cap = mode === 'two-way' ? MAX_REPLICAS_TWO_WAY : MAX_REPLICAS_ONE_WAY;
  const m = [[version.versionId, replica] as [string, string], ...(mark.m ?? [])].slice(0, cap);
  return { ...markHandled(mark, version), m };
}

/** `mark` with the copies of `actions` announced as in flight (written before they start). */
export function markInFlight(mark: KeyMark, actions: readonly CopyAction[]): KeyMark {
  const ids = actions.filter((a) => a.kind !== 'SkipReplica').map((a) => a.version.versionId);
  return ids.length === 0 ? mark : { ...mark, f: [...new Set([...(mark.f ?? []), ...ids])] };
}

function tidy(mark: KeyMark): KeyMark {
  const out: KeyMark = { h: mark.h };
  if (mark.t !== undefined) out.t = mark.t;
  if (mark.m !== undefined && mark.m.length > 0) out.m = mark.m;
  if (mark.l !== undefined && mark.l.length > 0) out.l = mark.l;
  if (mark.f !== undefined && mark.f.length > 0) out.f = mark.f;
  return out;
}

/**
 * Two-way: drops the replicas and losers the reverse direction has handled since (at or below
 * its boundary on the destination) or that the destination no longer lists.
 */
function prune(mark: KeyMark, destination: readonly ObjectVersion[], revBoundary: number): KeyMark {
  const live = new Map(destination.map((v, i) => [v.versionId, i]));
  const waiting = (id: string) => {
    const i = live.get(id);
    return i !== undefined && i < revBoundary;
  };
  return {
    ...mark,
    ...(mark.m ? { m: mark.m.filter(([, d]) => waiting(d)) } : {}),
    ...(mark.l ? { l: mark.l.filter(waiting) } : {}),
  };
}

/** The steps for the new source versions, oldest first. */
function steps(fresh: readonly ObjectVersion[], rev: KeyMark | undefined): CopyAction[] {
  const replicas = new Set((rev?.m ?? []).map(([, d]) => d));
  const lost = new Set(rev?.l ?? []);
  return [...fresh].reverse().map((version): CopyAction => {
    if (replicas.has(version.versionId) || lost.has(version.versionId)) {
      return { kind: 'SkipReplica', version };
    }
    return { kind: version.deleteMarker ? 'CopyDeleteMarker' : 'CopyObject', version };
  });
}

/** The destination's new originals: not handled by the reverse direction, not our copies. */
function destinationOriginals(
  listing: KeyListing,
  own: KeyMark,
  revBoundary: number,
): ObjectVersion[] {
  const ours = new Set((own.m ?? []).map(([, d]) => d));
  const lost = new Set(own.l ?? []);
  return listing.destination
    .slice(0, revBoundary)
    .filter((v) => !ours.has(v.versionId) && !lost.has(v.versionId));
}

const side = (site: string, v: ObjectVersion): ConflictSide => ({
  site,
  versionId: v.versionId,
  ...(v.lastModified === undefined ? {} : { lastModified: v.lastModified }),
});

/** Whether the source's newest new original beats the destination's (newest write wins). */
function sourceWins(src: ObjectVersion, dst: ObjectVersion, ctx: PlanContext): boolean {
  const d = time(src) - time(dst);
  return d !== 0 ? d > 0 : ctx.source < ctx.destination;
}

/** The plan for one key. */
export function planKey(
  listing: KeyListing,
  own: KeyMark | undefined,
  rev: KeyMark | undefined,
  ctx: PlanContext,
): KeyPlan {
  let mark = own ?? emptyMark();
  const revBoundary = handledBoundary(listing.destination, rev);
  if (ctx.mode === 'two-way' && rev !== undefined) {
    mark = prune(mark, listing.destination, revBoundary);
  }
  const fresh = listing.source.slice(0, handledBoundary(listing.source, own));
  const actions = steps(fresh, rev);
  const originals = actions.filter((a) => a.kind !== 'SkipReplica').map((a) => a.version);
  const newestOriginal = originals.at(-1);
  if (ctx.mode === 'one-way' || newestOriginal === undefined) {
    return { key: listing.key, actions, mark: tidy(mark) };
  }
  const theirs = destinationOriginals(listing, mark, revBoundary);
  const newestTheirs = theirs[0];
  if (newestTheirs === undefined) return { key: listing.key, actions, mark: tidy(mark) };
  if (sourceWins(newestOriginal, newestTheirs, ctx)) {
    const l = [...new Set([...theirs.map((v) => v.versionId), ...(mark.l ?? [])])];
    return {
      key: listing.key,
      actions,
      mark: tidy({ ...mark, l: l.slice(0, MAX_REPLICAS_TWO_WAY) }),
      conflict: {
        key: listing.key,
        winner: side(ctx.source, newestOriginal),
        loser: side(ctx.destination, newestTheirs),
      },
    };
  }
  // The destination's write is newer: ours are handled without a copy (they stay on the source).
  const newestFresh = fresh[0];
  return {
    key: listing.key,
    actions: [],
    mark: tidy(newestFresh === undefined ? mark : markHandled(mark, newestFresh)),
    conflict: {
      key: listing.key,
      winner: side(ctx.destination, newestTheirs),
      loser: side(ctx.source, newestOriginal),
    },
  };
}

/**
 * After a crash, the destination's versions that may be copies this direction made but did
 * not record: those newer than every version already accounted for. Object versions among
 * them are read for their replica marker (`recoverInFlight`).
 */
export function recoveryCandidates(
  listing: KeyListing,
  own: KeyMark,
  rev: KeyMark | undefined,
): ObjectVersion[] {
  if (own.f === undefined || own.f.length === 0) return [];
  const known = new Set([...(own.m ?? []).map(([, d]) => d), ...(own.l ?? []), ...(rev?.h ?? [])]);
  const out: ObjectVersion[] = [];
  for (const v of listing.destination) {
    if (known.has(v.versionId)) break;
    out.push(v);
  }
  return out;
}

/**
 * Records the in-flight copies that did reach the destination: an object whose replica marker
 * names it, a delete marker by order (the destination's unaccounted delete markers, oldest
 * first, are the copies of the in-flight delete markers, oldest first). Stops at the first
 * in-flight copy not found: the later ones had not started (a key's copies run in order).
 * The rest of `f` is cleared: those versions are new again.
 */
export function recoverInFlight(
  listing: KeyListing,
  own: KeyMark,
  found: {
    candidates: readonly ObjectVersion[];
    markers: ReadonlyMap<string, string | undefined>;
  },
  ctx: PlanContext,
): KeyMark {
  const inFlight = new Set(own.f ?? []);
  const pending = listing.source.filter((v) => inFlight.has(v.versionId)).reverse();
  const byMarker = new Map<string, string>();
  const { candidates, markers } = found;
  for (const c of candidates) {
    const m = markers.get(c.versionId);
    if (!c.deleteMarker && m !== undefined) byMarker.set(m, c.versionId);
  }
  const markersLeft = candidates.filter((c) => c.deleteMarker).reverse();
  let mark: KeyMark = { ...own, f: [] };
  for (const v of pending) {
    const replica = v.deleteMarker
      ? markersLeft.shift()?.versionId
      : byMarker.get(replicaMarker(ctx.source, v.versionId));
    if (replica === undefined) break;
    mark = markCopied(mark, v, replica, ctx.mode);
  }
  return tidy({ ...mark, f: [] });
}
