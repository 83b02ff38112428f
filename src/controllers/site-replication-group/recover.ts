/**
 * `sitesync.io/recover`: every object replication that failed (or waits) is retried now, and
 * what is left is counted. MinIO retries a failed replication by itself only a few times, 5 to
 * 11 minutes apart (its MRF queue), then leaves it to the scanner, which may take hours. A HEAD
 * of the version on its source re-queues it at once, with its retry count reset; a bucket with
 * very many waiting versions is listed instead (a listing re-queues every pending or failed
 * version it passes). MinIO's own `replication/mrf` listing is never called: it empties the
 * retry queue it lists.
 *
 * A peer that just came back is taken for offline by its source for a few seconds (MinIO
 * checks its targets' health every few seconds): a retry then fails again. So the retry runs in
 * rounds a few seconds apart, each listing what still waits and re-queueing it, until nothing
 * waits or MAX_ROUNDS have run. Status records the request as acted on (`lastRecover`) only
 * then, with the count of what is left.
 */
import { RECOVER_ANNOTATION } from '../../api/names.js';
import type { RecoveryStatus } from '../../api/site-replication-group.js';
import { mapLimit } from '../../runtime/concurrency.js';
import { errorMessage } from '../../runtime/logger.js';
import type { SiteClient, VersionRef } from '../../sites/site-client.js';
import { replicatesNatively } from './coverage.js';
import { type Reachable, reachable } from './observe.js';
import type { Pass } from './pass.js';
import { iso } from './verify-run.js';

/** Waiting versions of one bucket re-queued one by one; beyond, the bucket is listed. */
export const HEAD_LIMIT = 2000;
const HEADS_AT_ONCE = 16;
/** Time between rounds. */
export const CHECK_EVERY_MS = 3000;
/** Rounds before what still waits is reported as left. */
export const MAX_ROUNDS = 5;

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

/** Re-queues the waiting versions of one bucket on one site; returns how many there were. */
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

/** One round on every reachable site and bucket: what waits, re-queued. */
async function retryRound(
  pass: Pass,
  buckets: readonly string[],
): Promise<{ waiting: number; errors: string[] }> {
  let waiting = 0;
  const errors: string[] = [];
  await Promise.all(
    reachable(pass.observed)
      .filter(replicatesNatively)
      .map((o) =>
        mapLimit(buckets, 4, async (b) => {
          try {
            waiting += await retryBucket(o, b, pass.ctx.signal);
          } catch (e: unknown) {
            pass.ctx.signal.throwIfAborted();
            errors.push(`${o.site.name}/${b}: ${errorMessage(e)}`);
          }
        }),
      ),
  );
  return { waiting, errors };
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

const retryFailures = (errors: string[]) =>
  errors.length > 0 ? `could not retry ${errors.slice(0, 3).join('; ')}` : undefined;

const leftNote = (done: boolean, waiting: number, rounds: number) =>
  done && waiting > 0
    ? `${String(waiting)} version(s) still wait after ${String(rounds)} rounds; their peer may be down or refuse them`
    : undefined;

interface Round {
  requested: string;
  prev: RecoveryStatus | undefined;
  now: Date;
  waiting: number;
  errors: string[];
}

/**
 * The status after a round: done when nothing waits and every site answered, or after
 * MAX_ROUNDS (what still waits, or could not be listed, is then reported as left).
 */
function afterRound(pass: Pass, r: Round): RecoveryStep {
  const { prev, now, waiting, errors } = r;
  const rounds = (prev?.rounds ?? 0) + 1;
  const done = (waiting === 0 && errors.length === 0) || rounds >= MAX_ROUNDS;
  return {
    status: {
      requested: r.requested,
      phase: done ? 'Completed' : 'Retrying',
      startedAt: prev?.startedAt ?? iso(now),
      ...(done ? { completedAt: iso(now) } : {}),
      retried: prev?.retried ?? waiting,
      rounds,
      remaining: waiting,
      checkedAt: iso(now),
      ...notes(retryFailures(errors), unreachableNote(pass), leftNote(done, waiting, rounds)),
    },
    done,
  };
}

/**
 * Works on a pending sitesync.io/recover request; undefined when there is none. A round runs
 * when the last is CHECK_EVERY_MS old. `now` is the pass's clock.
 */
export async function stepRecovery(
  pass: Pass,
  buckets: readonly string[],
  now: Date,
): Promise<RecoveryStep | undefined> {
  const requested = recoverRequested(pass);
  if (requested === undefined) return undefined;
  const found = pass.obj.status?.recovery;
  const prev = found?.requested === requested ? found : undefined;
  if (prev?.phase === 'Completed') return { status: prev, done: true };
  const last = prev?.checkedAt === undefined ? NaN : Date.parse(prev.checkedAt);
  if (prev && now.getTime() - last < CHECK_EVERY_MS) return { status: prev, done: false };
  const { waiting, errors } = await retryRound(pass, buckets);
  return afterRound(pass, { requested, prev, now, waiting, errors });
}
