/**
 * The status of a BucketReplication, derived by pure functions from what one reconcile saw and
 * did: kstatus conditions (Reconciling and Stalled abnormal-true), the applied document's digest
 * and per-rule progress mapped from the source site's per-target replication counters.
 */
import type { BucketReplicationStatus } from '../../api/bucket-replication.js';
import { BREP_RESOURCE } from '../../api/names.js';
import { RTC_MINUTES } from '../../api/replication-config.js';
import type { ReplicationConfig } from '../../replication/replication-config.js';
import { type ConditionInput, setConditions } from '../../runtime/conditions.js';
import {
  INSECURE_TRANSPORT,
  type Why,
  blockedConditions,
  passConditions,
  withWarning,
} from '../../runtime/kstatus.js';
import { INSECURE_ENDPOINT } from '../../sites/connect.js';
import { type TargetBacklog, lagSince } from '../../sites/backlog.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import { patchStatus, sameJSON } from '../../runtime/status.js';
import type { TargetCounters } from '../../sites/site-client.js';
import type { Pass } from './pass.js';
import { joinBounded } from '../../runtime/messages.js';

export type RuleStatus = NonNullable<BucketReplicationStatus['rules']>[number];

export type { Why };

/** The replication counters of the source bucket. */
export interface BucketCounters {
  /** Objects waiting to be replicated, all targets together (MinIO keeps one queue per bucket). */
  queuedCount: number;
  /** By remote-target ARN. */
  targets: Readonly<Record<string, TargetCounters>>;
  /** The source's backlog as listed at `atMs`, when it was read: see `oldestWaiting`. */
  waiting?: { atMs: number; by: Readonly<Record<string, TargetBacklog>> } | undefined;
}

/** The S3 Replication Time Control promise: replicated within 15 minutes. */
export const RTC_THRESHOLD_MS = RTC_MINUTES * 60_000;

/** How long a rule's oldest waiting version has waited; undefined when not known. */
function lagOf(counters: BucketCounters, arn: string): number | undefined {
  const w = counters.waiting;
  if (w === undefined) return counters.queuedCount === 0 ? 0 : undefined;
  const t = w.by[arn];
  return t === undefined ? 0 : lagSince(t.oldest, w.atMs);
}

/**
 * How many versions have waited for a rule's target longer than the RTC threshold (listed
 * against `atMs - RTC_THRESHOLD_MS`); undefined when not known.
 */
function overdueOf(counters: BucketCounters, arn: string): number | undefined {
  const w = counters.waiting;
  if (w === undefined) return counters.queuedCount === 0 ? 0 : undefined;
  return w.by[arn]?.overdue ?? 0;
}

const ZERO: TargetCounters = { replicatedCount: 0, replicatedBytes: 0, failedCount: 0 };

/**
 * Per-rule progress. A rule's counters are those of its destination target: MinIO counts per
 * target, not per rule, so rules sharing a destination show the same figures. `pending` is the
 * bucket's queue (MinIO does not split it by target). `lagSeconds` is how long the oldest
 * version still waiting for the rule's target (pending or failed) has waited, read from the
 * source's backlog listing; 0 when nothing waits; absent when something is queued but the
 * backlog could not be listed. `rtcThresholdBreaches`, for a rule with `replicationTime`
 * Enabled, counts the versions that have waited for its target longer than the RTC threshold
 * (15 minutes) at that listing: MinIO has no Replication Time Control, so sitesync measures
 * the promise itself.
 */
/** What waits for a rule's target: only an Enabled rule has a queue, a lag, RTC breaches. */
function waitFigures(
  rule: ReplicationConfig['rules'][number],
  counters: BucketCounters,
  arn: string,
): { pending: number; lag?: number | undefined; overdue?: number | undefined } {
  if (rule.status !== 'Enabled') return { pending: 0 };
  const rtc = rule.destination.replicationTime?.status === 'Enabled';
  return {
    pending: counters.queuedCount,
    lag: lagOf(counters, arn),
    overdue: rtc ? overdueOf(counters, arn) : undefined,
  };
}

export function ruleProgress(
  config: ReplicationConfig,
  counters: BucketCounters,
  sourceBucket: string,
): RuleStatus[] {
  return config.rules.map((rule, i) => {
    const { site, bucket } = rule.destination;
    const arn = bucket ?? '';
    const c = counters.targets[arn] ?? ZERO;
    const { pending, lag, overdue } = waitFigures(rule, counters, arn);
    const destination = site === undefined ? bucket : `${site.name}/${site.bucket ?? sourceBucket}`;
    return {
      id: rule.id !== undefined && rule.id !== '' ? rule.id : `#${i}`,
      ...(destination === undefined ? {} : { destination }),
      pending,
      replicated: c.replicatedCount,
      failed: c.failedCount,
      bytes: c.replicatedBytes,
      ...(lag === undefined ? {} : { lagSeconds: lag }),
      ...(overdue === undefined ? {} : { rtcThresholdBreaches: overdue }),
    };
  });
}

/** Counters summed over a bucket's targets (a driver without per-target figures). */
export function singleTargetCounters(
  config: ReplicationConfig,
  total: { pending: number; replicated: number; failed: number; bytes: number },
): BucketCounters | undefined {
  const arns = new Set(config.rules.flatMap((r) => r.destination.bucket ?? []));
  const [arn] = [...arns];
  if (arns.size !== 1 || arn === undefined) return undefined;
  return {
    queuedCount: total.pending,
    targets: {
      [arn]: {
        replicatedCount: total.replicated,
        replicatedBytes: total.bytes,
        failedCount: total.failed,
      },
    },
  };
}

/** What one reconcile saw and did. */
export interface BrepOutcome {
  generation: number;
  sourceSite?: string | undefined;
  /** The resource cannot proceed until something outside it changes (spec, group, Secret). */
  blocker?: Why | undefined;
  /** Partial failures (a site unreachable, a target not created); each names the site. */
  problems: readonly Why[];
  /** What this pass changed, in words (for the Reconciling message). */
  changes: readonly string[];
  /**
   * The document is on the source bucket now: its digest and where, and the rewrites the site
   * reads it back with (elements whose presence on the site cannot be verified).
   */
  applied?:
    | { digest: string; rules: number; where: string; unverified?: readonly string[] | undefined }
    | undefined;
  /** Where the per-rule progress figures come from, when it is worth saying. */
  progressMeasured?: string | undefined;
  /** The resync annotation value acted on in full this pass, if any. */
  resynced?: string | undefined;
  /** Per-rule progress; undefined keeps the previous figures. */
  rules?: RuleStatus[] | undefined;
}

const unverifiedNote = (rewrites: readonly string[] | undefined) =>
  rewrites === undefined || rewrites.length === 0
    ? ''
    : `; the site reads the document back rewritten (${rewrites.join('; ')}), so those elements cannot be verified there`;

function conditionsOf(o: BrepOutcome): ConditionInput[] {
  const g = o.generation;
  if (o.blocker) return blockedConditions(o.blocker, g);
  const degraded: Why | undefined =
    o.problems.length === 0
      ? undefined
      : {
          reason: o.problems[0]?.reason ?? 'SiteError',
          message: joinBounded(o.problems.map((p) => p.message)),
        };
  const reconciling: Why | undefined =
    o.changes.length > 0
      ? { reason: 'Progressing', message: `${o.changes.join('; ')}; verifying` }
      : undefined;
  const ready: Why =
    degraded ??
    reconciling ??
    (o.applied
      ? {
          reason: 'Applied',
          message: `${o.applied.rules} rule(s) applied to ${o.applied.where}${unverifiedNote(o.applied.unverified)}`,
        }
      : { reason: 'NotApplied', message: 'The replication configuration is not applied yet' });
  return passConditions({ ready, isReady: ready.reason === 'Applied', reconciling, degraded }, g);
}

/** Where the rules' figures come from: this pass's, or the previous one kept with its figures. */
const measuredOf = (prev: BucketReplicationStatus | undefined, o: BrepOutcome) =>
  o.rules === undefined ? prev?.progressMeasured : o.progressMeasured;

/**
 * The whole status. What this pass did not learn (the digest while blocked, progress when the
 * counters could not be read) keeps its previous value: the configuration stays on the bucket.
 */
export function deriveStatus(
  prev: BucketReplicationStatus | undefined,
  o: BrepOutcome,
  now: Date,
): BucketReplicationStatus {
  const kept: Partial<BucketReplicationStatus> = {
    appliedDigest: o.applied?.digest ?? prev?.appliedDigest,
    sourceSite: o.sourceSite ?? prev?.sourceSite,
    rules: o.rules ?? prev?.rules,
    progressMeasured: measuredOf(prev, o),
    lastResync: o.resynced ?? prev?.lastResync,
  };
  return {
    observedGeneration: o.generation,
    conditions: setConditions(prev?.conditions, conditionsOf(o), now),
    ...(Object.fromEntries(
      Object.entries(kept).filter(([, v]) => v !== undefined),
    ) as Partial<BucketReplicationStatus>),
  };
}

// ---------------------------------------------------------------------------------------------
// The one status write of a pass, and the events that go with it

/**
 * One message per rule whose RTC breaches grew since the last status: the analogue of S3's
 * `s3:Replication:OperationMissedThreshold` event, as a Kubernetes event.
 */
export function newlyMissed(
  before: readonly RuleStatus[] | undefined,
  after: readonly RuleStatus[] | undefined,
): string[] {
  return (after ?? []).flatMap((r) => {
    const now = r.rtcThresholdBreaches ?? 0;
    const was = before?.find((b) => b.id === r.id)?.rtcThresholdBreaches ?? 0;
    if (now <= was) return [];
    const to = r.destination === undefined ? '' : ` for ${r.destination}`;
    return [
      `rule ${r.id}: ${now} object(s) have waited longer than the ${RTC_MINUTES}-minute replication time${to}`,
    ];
  });
}

/** Writes `status` when it differs from the object's (one merge patch to /status). */
export async function writeStatus(
  kube: KubeClient,
  obj: { metadata: { name: string; namespace?: string }; status?: BucketReplicationStatus },
  status: BucketReplicationStatus,
): Promise<void> {
  if (sameJSON(obj.status, status)) return;
  const ref = { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name };
  await patchStatus(kube, BREP_RESOURCE, ref, status);
}

/** What a pass reports beyond its problems and changes. */
export interface Report {
  blocker?: Why | undefined;
  applied?: BrepOutcome['applied'];
  rules?: RuleStatus[] | undefined;
  progressMeasured?: string | undefined;
  resynced?: string | undefined;
}

export async function report(pass: Pass, r: Report, now: Date): Promise<void> {
  const { obj, events } = pass;
  const status = deriveStatus(
    obj.status,
    {
      generation: obj.metadata.generation ?? 0,
      sourceSite: pass.src.site.name,
      problems: pass.problems,
      changes: pass.changes,
      ...r,
    },
    now,
  );
  // Only with ALLOW_INSECURE_SITES: the resource says so, every pass.
  const warning =
    pass.insecure === undefined ? undefined : { reason: INSECURE_ENDPOINT, message: pass.insecure };
  const generation = obj.metadata.generation ?? 0;
  status.conditions = withWarning(
    status.conditions,
    { type: INSECURE_TRANSPORT, why: warning, generation },
    now,
  );
  await writeStatus(pass.kube, obj, status);
  if (warning) await events.record(obj, 'Warning', warning.reason, warning.message);
  if (r.blocker) await events.record(obj, 'Warning', r.blocker.reason, r.blocker.message);
  if (pass.changes.length > 0) {
    await events.record(obj, 'Normal', 'Applied', pass.changes.join('; '));
  }
  for (const missed of newlyMissed(obj.status?.rules, r.rules)) {
    await events.record(obj, 'Warning', 'ReplicationThresholdMissed', missed);
  }
  const [first] = pass.problems;
  if (first) {
    const all = joinBounded(pass.problems.map((p) => p.message));
    await events.record(obj, 'Warning', first.reason, all);
  }
}
