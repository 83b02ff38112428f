/**
 * `sitesync.io/recover`: every object replication that failed (or waits) is retried now, then
 * what is left is counted. MinIO retries a failed replication by itself only a few times, 5 to
 * 11 minutes apart (its MRF queue), then leaves it to the scanner, which may take hours. A HEAD
 * of the version on its source re-queues it at once, with its retry count reset; a bucket with
 * very many waiting versions is listed instead (a listing re-queues every pending or failed
 * version it passes). MinIO's own `replication/mrf` listing is never called: it empties the
 * retry queue it lists.
 *
 * Across passes: Retrying (the re-queue, one pass), then Checking (counts a few seconds apart,
 * until nothing is left or the count stops falling), then Completed; status records the request
 * as acted on (`lastRecover`) only then.
 */
import { RECOVER_ANNOTATION } from '../../api/names.js';
import type { RecoveryStatus } from '../../api/site-replication-group.js';
import { mapLimit } from '../../runtime/concurrency.js';
import { errorMessage } from '../../runtime/logger.js';
import type { SiteClient, VersionRef } from '../../sites/site-client.js';
import { type Reachable, reachable } from './observe.js';
import type { Pass } from './pass.js';
import { iso } from './verify-run.js';

/** Waiting versions of one bucket re-queued one by one; beyond, the bucket is listed. */
export const HEAD_LIMIT = 2000;
const HEADS_AT_ONCE = 16;
/** How long after the retry the first count is taken, and between counts. */
export const CHECK_EVERY_MS = 3000;

export interface RecoveryStep {
  status: RecoveryStatus;
  /** Status may record the request as acted on. */
  done: boolean;
}

/** The recover value not yet acted on, if any. */
export function recoverRequested(pass: Pass): string | undefined {
  const v = pass.obj.metadata.annotations?.[RECOVER_ANNOTATION];
  return v !== undefined && v !== pass.obj.status?.lastRecover ? v : undefined;
}

/** Lists a whole bucket's versions: MinIO re-queues every waiting version the listing passes. */
async function listWhole(client: SiteClient, bucket: string, signal: AbortSignal): Promise<void> {
  let after: { key: string; versionId?: string | undefined } | undefined;
  do {
    const page = await client.listVersionPage(bucket, { after, maxKeys: 1000 }, signal);
    after = page.next;
  } while (after !== undefined);
}

/** Re-queues the waiting versions of one bucket on one site; returns how many. */
async function retryBucket(o: Reachable, bucket: string, signal: AbortSignal): Promise<number> {
  const refs: VersionRef[] = [];
  let total = 0;
  await o.client.listWaitingVersions(
    bucket,
    (v) => {
      total++;
      if (refs.length < HEAD_LIMIT) refs.push({ bucket, key: v.key, versionId: v.versionId });
    },
    signal,
  );
  if (total > HEAD_LIMIT) await listWhole(o.client, bucket, signal);
  else await mapLimit(refs, HEADS_AT_ONCE, (r) => o.client.retryReplication(r, signal));
  return total;
}

/** Counts what every reachable site still lists as waiting. */
async function countWaiting(
  pass: Pass,
  buckets: readonly string[],
): Promise<{ remaining: number; errors: string[] }> {
  let remaining = 0;
  const errors: string[] = [];
  await Promise.all(
    reachable(pass.observed).map((o) =>
      mapLimit(buckets, 4, async (b) => {
        try {
          await o.client.listWaitingVersions(
            b,
            () => {
              remaining++;
            },
            pass.ctx.signal,
          );
        } catch (e: unknown) {
          pass.ctx.signal.throwIfAborted();
          errors.push(`${o.site.name}/${b}: ${errorMessage(e)}`);
        }
      }),
    ),
  );
  return { remaining, errors };
}

async function retryAll(
  pass: Pass,
  buckets: readonly string[],
): Promise<{ retried: number; errors: string[] }> {
  let retried = 0;
  const errors: string[] = [];
  await Promise.all(
    reachable(pass.observed).map((o) =>
      mapLimit(buckets, 4, async (b) => {
        try {
          retried += await retryBucket(o, b, pass.ctx.signal);
        } catch (e: unknown) {
          pass.ctx.signal.throwIfAborted();
          errors.push(`${o.site.name}/${b}: ${errorMessage(e)}`);
        }
      }),
    ),
  );
  return { retried, errors };
}

function unreachableNote(pass: Pass): string | undefined {
  const away = pass.observed.filter((o) => !o.ok).map((o) => o.site.name);
  return away.length === 0
    ? undefined
    : `${away.join(', ')} not reachable: versions waiting for or on it stay as they are`;
}

const notes = (...parts: (string | undefined)[]) => {
  const text = parts.filter((x) => x !== undefined).join('; ');
  return text === '' ? {} : { message: text.slice(0, 4096) };
};

/** The retry itself (again, when a site could not be retried in an earlier pass). */
async function retryStep(
  pass: Pass,
  buckets: readonly string[],
  p: { requested: string; prev: RecoveryStatus | undefined; now: Date },
): Promise<RecoveryStep> {
  const same = p.prev?.requested === p.requested ? p.prev : undefined;
  const { retried, errors } = await retryAll(pass, buckets);
  const failed = errors.length > 0 ? `could not retry ${errors.slice(0, 3).join('; ')}` : undefined;
  return {
    status: {
      requested: p.requested,
      phase: errors.length > 0 ? 'Retrying' : 'Checking',
      startedAt: same?.startedAt ?? iso(p.now),
      retried: (same?.retried ?? 0) + retried,
      checkedAt: iso(p.now),
      ...notes(failed, unreachableNote(pass)),
    },
    done: false,
  };
}

/** Counting what is left: done when nothing is, or when the count no longer falls. */
async function checkStep(
  pass: Pass,
  buckets: readonly string[],
  p: { prev: RecoveryStatus; now: Date },
): Promise<RecoveryStep> {
  const { prev, now } = p;
  const last = prev.checkedAt === undefined ? NaN : Date.parse(prev.checkedAt);
  if (now.getTime() - last < CHECK_EVERY_MS) return { status: prev, done: false };
  const { remaining, errors } = await countWaiting(pass, buckets);
  const settled =
    errors.length === 0 &&
    (remaining === 0 || (prev.remaining !== undefined && remaining >= prev.remaining));
  const left =
    settled && remaining > 0
      ? `${String(remaining)} version(s) still wait; their peer may be down or refuse them (see each site's objects)`
      : undefined;
  const { message: _m, ...rest } = prev;
  return {
    status: {
      ...rest,
      phase: settled ? 'Completed' : 'Checking',
      ...(settled ? { completedAt: iso(now) } : {}),
      remaining,
      checkedAt: iso(now),
      ...notes(
        errors.length > 0 ? `could not count ${errors.slice(0, 3).join('; ')}` : undefined,
        unreachableNote(pass),
        left,
      ),
    },
    done: settled,
  };
}

/**
 * Works on a pending sitesync.io/recover request; undefined when there is none. `now` is the
 * pass's clock.
 */
export async function stepRecovery(
  pass: Pass,
  buckets: readonly string[],
  now: Date,
): Promise<RecoveryStep | undefined> {
  const requested = recoverRequested(pass);
  if (requested === undefined) return undefined;
  const prev = pass.obj.status?.recovery;
  if (prev?.requested === requested && prev.phase === 'Completed')
    return { status: prev, done: true };
  if (prev?.requested === requested && prev.phase === 'Checking') {
    return checkStep(pass, buckets, { prev, now });
  }
  return retryStep(pass, buckets, { requested, prev, now });
}
