/**
 * An object verification run, pure: what it covers, how far it got (a checkpoint small enough
 * for a ConfigMap: Merkle stacks, counts and the first few findings, never a list of objects),
 * when one is due, and what status says of it.
 */
import { z } from 'zod';

import type { SiteVerification, VerificationStatus } from '../../api/site-replication-group.js';
import { type MerkleState, MerkleStream } from '../../replication/merkle.js';
import {
  type Bounded,
  type VersionFinding,
  addBounded,
  bucketLeaf,
  majority,
} from '../../replication/version-compare.js';
import type { BucketCheckpoint } from './verify-bucket.js';

/** Sample versions kept per site and kind; buckets named per site. */
export const SAMPLES = 5;
export const BUCKETS_NAMED = 10;
const MAX_ITEM = 512;

export interface SiteTally {
  /** The site's tree over its buckets' roots, buckets in name order. */
  buckets: MerkleState;
  versions: number;
  bucketsDiffering: Bounded;
  missing: Bounded;
  different: Bounded;
}

export type RunPhase = 'Running' | 'Completed' | 'Failed';

export interface VerifyRun {
  v: 1;
  /** The sitesync.io/verify value it answers, or `schedule`. */
  requested: string;
  startedAt: string;
  /** Sites in priority order (ties of the comparison go to the first). */
  sites: string[];
  /** The replicated buckets when it started, sorted. */
  buckets: string[];
  /** Index of the bucket being verified. */
  next: number;
  /** Where the bucket being verified stands. */
  bucket?: BucketCheckpoint | undefined;
  tally: Record<string, SiteTally>;
  /** Versions expected in all (the last run's count), for the percentage. */
  estimate?: number | undefined;
  /** Versions listed so far, all sites together. */
  compared: number;
  phase: RunPhase;
  completedAt?: string | undefined;
  /** Why it failed, or what it waits for. */
  message?: string | undefined;
}

const MerkleStateSchema = z.object({
  n: z.number().int().min(0),
  stack: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(64),
});
const BoundedSchema = z.object({
  count: z.number().int().min(0),
  items: z.array(z.string().max(2048)).max(50),
});
const RunSchema = z.object({
  v: z.literal(1),
  requested: z.string().max(1024),
  startedAt: z.string().max(64),
  sites: z.array(z.string().max(63)).max(32),
  buckets: z.array(z.string().max(255)).max(100_000),
  next: z.number().int().min(0),
  bucket: z
    .object({
      after: z.string().max(4096).optional(),
      trees: z.record(z.string(), MerkleStateSchema),
    })
    .optional(),
  tally: z.record(
    z.string(),
    z.object({
      buckets: MerkleStateSchema,
      versions: z.number().int().min(0),
      bucketsDiffering: BoundedSchema,
      missing: BoundedSchema,
      different: BoundedSchema,
    }),
  ),
  estimate: z.number().int().min(0).optional(),
  compared: z.number().int().min(0),
  phase: z.enum(['Running', 'Completed', 'Failed']),
  completedAt: z.string().max(64).optional(),
  message: z.string().max(4096).optional(),
});

/** A run read back from its ConfigMap; undefined when it is not one this version wrote. */
export function decodeRun(text: string | undefined): VerifyRun | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = RunSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const emptyBounded = (): Bounded => ({ count: 0, items: [] });

export function newRun(p: {
  requested: string;
  sites: readonly string[];
  buckets: readonly string[];
  now: Date;
  estimate?: number | undefined;
}): VerifyRun {
  return {
    v: 1,
    requested: p.requested,
    startedAt: iso(p.now),
    sites: [...p.sites],
    buckets: [...p.buckets].sort(),
    next: 0,
    tally: Object.fromEntries(
      p.sites.map((s) => [
        s,
        {
          buckets: new MerkleStream().state(),
          versions: 0,
          bucketsDiffering: emptyBounded(),
          missing: emptyBounded(),
          different: emptyBounded(),
        },
      ]),
    ),
    ...(p.estimate === undefined || p.estimate <= 0 ? {} : { estimate: p.estimate }),
    compared: 0,
    phase: 'Running',
  };
}

export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const cutItem = (s: string) => (s.length <= MAX_ITEM ? s : `${s.slice(0, MAX_ITEM - 3)}...`);

/** Records one finding in the site's tally. */
export function noteFinding(
  tally: Record<string, SiteTally>,
  bucket: string,
  kind: 'missing' | 'different',
  f: VersionFinding,
): void {
  const t = tally[f.site];
  if (t) addBounded(t[kind], cutItem(`${bucket}/${f.key}@${f.versionId}`), SAMPLES);
}

/** Adds versions listed per site. */
export function noteListed(run: VerifyRun, listed: Readonly<Record<string, number>>): void {
  for (const [site, n] of Object.entries(listed)) {
    const t = run.tally[site];
    if (t) t.versions += n;
    run.compared += n;
  }
}

/**
 * A bucket is done: each site's bucket root goes into its tree over buckets, and a site whose
 * root differs from the one most sites hold names the bucket.
 */
export function finishBucket(run: VerifyRun, roots: ReadonlyMap<string, string>): void {
  const bucket = run.buckets[run.next];
  if (bucket === undefined) return;
  const common = majority(roots, run.sites);
  for (const site of run.sites) {
    const t = run.tally[site];
    const root = roots.get(site);
    if (!t || root === undefined) continue;
    const tree = new MerkleStream(t.buckets);
    tree.add(bucketLeaf(bucket, root));
    t.buckets = tree.state();
    if (root !== common) addBounded(t.bucketsDiffering, bucket, BUCKETS_NAMED);
  }
  run.next += 1;
  run.bucket = undefined;
}

/** Ends the run when every bucket is done. */
export function completeIfDone(run: VerifyRun, now: Date): void {
  if (run.phase !== 'Running' || run.next < run.buckets.length) return;
  run.phase = 'Completed';
  run.completedAt = iso(now);
  run.message = undefined;
}

export function failRun(run: VerifyRun, message: string, now: Date): void {
  run.phase = 'Failed';
  run.completedAt = iso(now);
  run.message = message.slice(0, 4096);
}

/** Percent done and seconds left: by versions when the last run's count is known, else by buckets. */
export function runProgress(
  run: VerifyRun,
  now: Date,
): { percent: number; etaSeconds?: number | undefined } {
  if (run.phase !== 'Running') return { percent: 100 };
  const total = run.buckets.length;
  const raw =
    run.estimate !== undefined
      ? (run.compared / run.estimate) * 100
      : total === 0
        ? 100
        : (run.next / total) * 100;
  const percent = Math.max(0, Math.min(99, Math.floor(raw)));
  const elapsed = (now.getTime() - Date.parse(run.startedAt)) / 1000;
  if (percent <= 0 || !Number.isFinite(elapsed)) return { percent };
  return { percent, etaSeconds: Math.max(0, Math.round((elapsed * (100 - percent)) / percent)) };
}

/** Every site's tree over buckets has the same root. */
function allEqual(run: VerifyRun): boolean {
  const roots = run.sites.map((s) => {
    const t = run.tally[s];
    return t ? new MerkleStream(t.buckets).root() : '';
  });
  return new Set(roots).size <= 1;
}

/** The group's `status.verification`. */
export function verificationStatus(run: VerifyRun, now: Date): VerificationStatus {
  const ended = run.phase !== 'Running';
  const progress = runProgress(run, now);
  const end = run.completedAt === undefined ? undefined : Date.parse(run.completedAt);
  return {
    requested: run.requested,
    phase: run.phase,
    startedAt: run.startedAt,
    ...(run.completedAt === undefined ? {} : { completedAt: run.completedAt }),
    ...(end === undefined
      ? {}
      : { durationSeconds: Math.max(0, Math.round((end - Date.parse(run.startedAt)) / 1000)) }),
    buckets: run.buckets.length,
    bucketsDone: Math.min(run.next, run.buckets.length),
    versionsCompared: run.compared,
    percent: progress.percent,
    ...(progress.etaSeconds === undefined || ended ? {} : { etaSeconds: progress.etaSeconds }),
    ...(run.phase === 'Completed' ? { equal: allEqual(run) } : {}),
    ...(run.message === undefined ? {} : { message: run.message }),
  };
}

/** `{ [key]: list }` when the list holds something, else nothing. */
function nonEmpty<K extends string>(key: K, b: Bounded): Partial<Record<K, Bounded>> {
  return (b.count === 0 ? {} : { [key]: { count: b.count, items: [...b.items] } }) as Partial<
    Record<K, Bounded>
  >;
}

/** Each site's part of a completed run (undefined for a run that did not complete). */
export function siteVerifications(run: VerifyRun): Map<string, SiteVerification> | undefined {
  if (run.phase !== 'Completed') return undefined;
  const out = new Map<string, SiteVerification>();
  for (const site of run.sites) {
    const t = run.tally[site];
    if (!t) continue;
    out.set(site, {
      objectsRoot: new MerkleStream(t.buckets).root(),
      versions: t.versions,
      ...nonEmpty('bucketsDiffering', t.bucketsDiffering),
      ...nonEmpty('missing', t.missing),
      ...nonEmpty('different', t.different),
    });
  }
  return out;
}

export type VerifyDue =
  | { kind: 'annotation'; requested: string }
  | { kind: 'continue'; requested: string }
  | { kind: 'schedule'; requested: 'schedule' };

/**
 * Whether a verification should run now: a sitesync.io/verify value not yet acted on, the one
 * status says is running, or the schedule's turn.
 */
export function verifyDue(p: {
  annotation: string | undefined;
  lastVerify: string | undefined;
  intervalMs: number | undefined;
  last: VerificationStatus | undefined;
  now: Date;
}): VerifyDue | undefined {
  if (p.annotation !== undefined && p.annotation !== p.lastVerify) {
    return { kind: 'annotation', requested: p.annotation };
  }
  if (p.last?.phase === 'Running') return { kind: 'continue', requested: p.last.requested };
  if (p.intervalMs === undefined) return undefined;
  const since = p.last?.completedAt ?? p.last?.startedAt;
  const at = since === undefined ? NaN : Date.parse(since);
  if (Number.isFinite(at) && p.now.getTime() - at < p.intervalMs) return undefined;
  return { kind: 'schedule', requested: 'schedule' };
}

/** Whether `run` (from the checkpoint) is the one `due` asks for, or a new one must start. */
export function sameRun(
  run: VerifyRun | undefined,
  due: VerifyDue,
  sites: readonly string[],
): run is VerifyRun {
  if (run?.requested !== due.requested) return false;
  if ([...run.sites].sort().join(',') !== [...sites].sort().join(',')) return false;
  // A schedule's turn after a run that ended is a new run; an annotation's is that run.
  return run.phase === 'Running' || due.kind !== 'schedule';
}
