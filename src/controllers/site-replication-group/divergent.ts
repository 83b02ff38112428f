/**
 * After a forced promotion, the old primary's object versions that never reached the others:
 * what its replication listing marks PENDING or FAILED when it is first reached again (before
 * its rules are removed, while the listing still answers). Listed in status, never copied.
 */
import type { PromotionStatus } from '../../api/site-replication-group.js';
import { mapLimit } from '../../runtime/concurrency.js';
import { describeError } from '../../runtime/messages.js';
import type { Pass } from './pass.js';

/** Keys named in the status line. */
const SHOWN = 5;

/** The forced promotion whose old primary's divergent versions are still to be listed. */
export function divergentDue(pass: Pass): PromotionStatus | undefined {
  const p = pass.promotion ?? pass.obj.status?.promotion;
  if (p?.forced !== true || p.divergent !== undefined) return undefined;
  if (p.step !== 'Done' && p.step !== 'UnfenceNewPrimary' && p.step !== 'SwitchLinks') {
    return undefined;
  }
  return p;
}

/**
 * Lists the old primary's waiting versions in `buckets` once it is reachable; returns the
 * promotion with `divergent` set, or undefined while the old primary is out of reach.
 */
export async function listDivergent(
  pass: Pass,
  p: PromotionStatus,
  buckets: readonly string[],
): Promise<PromotionStatus | undefined> {
  const old = pass.observed.find((o) => o.site.name === p.from);
  if (old?.ok !== true) return undefined;
  const keys: string[] = [];
  const errors: string[] = [];
  await mapLimit(buckets, 4, async (bucket) => {
    try {
      await old.client.listWaitingVersions(
        bucket,
        (v) => keys.push(`${bucket}/${v.key}`),
        pass.ctx.signal,
      );
    } catch (e: unknown) {
      pass.ctx.signal.throwIfAborted();
      // A bucket without replication rules has nothing waiting.
      if (!/not.*(found|configured)/i.test(describeError(e))) errors.push(bucket);
    }
  });
  keys.sort();
  const shown = keys.slice(0, SHOWN).join(', ');
  const more = keys.length > SHOWN ? ` and ${String(keys.length - SHOWN)} more` : '';
  const unknown = errors.length === 0 ? '' : `; not listable: ${errors.slice(0, SHOWN).join(', ')}`;
  const divergent =
    keys.length === 0
      ? `none found on ${p.from}${unknown}`
      : `${String(keys.length)} object version(s) on ${p.from} never replicated: ${shown}${more}${unknown}`;
  return { ...p, divergent: divergent.slice(0, 1024) };
}
