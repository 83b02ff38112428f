/**
 * Per-rule progress from the source site: its replication counters per target (or summed, for
 * a flavor that does not split them), and when something waits, the backlog listing that
 * gives the lag and the RTC breaches.
 */
import type { ReplicationConfig } from '../../replication/replication-config.js';
import { errorMessage } from '../../runtime/logger.js';
import type { TargetBacklog } from '../../sites/backlog.js';
import type { SiteClient, TargetReplicationCounters } from '../../sites/site-client.js';
import type { Pass } from './pass.js';
import {
  type BucketCounters,
  RTC_THRESHOLD_MS,
  type RuleStatus,
  ruleProgress,
  singleTargetCounters,
} from './status.js';

/** What the figures of a site that keeps counters per target are. */
export const COUNTERS_MEASURED =
  "the source site's own replication counters per destination, since it started";

async function bucketCounters(
  client: SiteClient,
  bucket: string,
  config: ReplicationConfig,
  at: { ms: number; signal: AbortSignal },
): Promise<{ counters: BucketCounters | undefined; measured: string }> {
  const { signal } = at;
  const perTarget = await client.replicationTargetCounters(bucket, signal);
  if (perTarget === undefined) {
    const progress = await client.replicationProgress(bucket, signal);
    const measured = progress.measured ?? COUNTERS_MEASURED;
    return { counters: singleTargetCounters(config, progress), measured };
  }
  return {
    counters: await withBacklog(client, bucket, perTarget, at),
    measured: COUNTERS_MEASURED,
  };
}

async function withBacklog(
  client: SiteClient,
  bucket: string,
  perTarget: TargetReplicationCounters,
  at: { ms: number; signal: AbortSignal },
): Promise<BucketCounters> {
  const { signal } = at;
  const counters: BucketCounters = { ...perTarget };
  // Something queued or once failed: list what still waits, for the lag.
  const targets = Object.values(perTarget.targets);
  if (perTarget.queuedCount === 0 && targets.every((t) => t.failedCount === 0)) return counters;
  let by: Record<string, TargetBacklog>;
  try {
    by = await client.replicationBacklog(bucket, at.ms - RTC_THRESHOLD_MS, signal);
  } catch {
    signal.throwIfAborted();
    return counters; // the counters stand; the lag is then unknown while something is queued
  }
  return { ...counters, waiting: { atMs: at.ms, by } };
}

/**
 * The progress of every rule of `own`, and where the figures come from; undefined when the
 * counters cannot be read.
 */
export async function ruleStatuses(
  pass: Pass,
  own: ReplicationConfig,
  nowMs: number,
): Promise<{ rules: RuleStatus[]; measured: string } | undefined> {
  const bucket = pass.spec.source.bucket;
  const { signal } = pass.ctx;
  try {
    const at = { ms: nowMs, signal };
    const { counters, measured } = await bucketCounters(pass.src.client, bucket, own, at);
    return counters === undefined
      ? undefined
      : { rules: ruleProgress(own, counters, bucket), measured };
  } catch (e: unknown) {
    signal.throwIfAborted();
    pass.ctx.log.warn(
      { err: errorMessage(e) },
      'Failed to read replication metrics of BucketReplication',
    );
    return undefined;
  }
}
