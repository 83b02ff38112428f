/**
 * Deleting a BucketReplication removes what it applied: its rules (never the group's
 * `sitesync-` rules) and the remote targets it created and no remaining rule uses. Never
 * buckets or objects. A source that can no longer be found (group or Secret deleted) is
 * reported and let go; a site that does not answer is retried with backoff (remove the
 * finalizer by hand to give up).
 */
import type { BucketReplication } from '../../api/bucket-replication.js';
import { BREP_RESOURCE, FINALIZER } from '../../api/names.js';
import type { BucketReplicationSpec } from '../../api/bucket-replication.js';
import {
  configOf,
  conflictOf,
  formatIssue,
  parseSpec,
} from '../../replication/bucket-replication-spec.js';
import { removeAccount } from '../../sites/replication-account.js';
import { accountNames } from './account.js';
import type { ObjectRef, ReconcileContext } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.js';
import { isSiteError } from '../../sites/site-error.js';
import { buildReplicationXML } from '../../replication/xml-codec.js';
import { ownedTargets } from './apply.js';
import { groupRulesOnly, parseCurrent, unusedTargets } from './document.js';
import {
  type ConnectDeps,
  type Connected,
  type SourceSite,
  connect,
  resolveSource,
} from './source.js';
import { removeTargets } from './targets.js';

export interface FinalizeDeps extends ConnectDeps {
  /** Events under the pass's signal. */
  events: EventRecorder;
  /** Every BucketReplication (who manages the bucket now). */
  all: () => BucketReplication[];
}

async function removeApplied(
  src: Connected,
  bucket: string,
  what: { applied: boolean; owned: readonly string[]; signal: AbortSignal },
): Promise<void> {
  const { signal } = what;
  const current = parseCurrent(await src.client.getReplicationConfigXML(bucket, signal));
  const remaining = what.applied ? groupRulesOnly(current) : current;
  if (remaining.rules.length !== current.rules.length) {
    // MinIO deletes every remote target of the bucket with its replication configuration.
    if (remaining.rules.length === 0) await src.client.deleteReplicationConfig(bucket, signal);
    else await src.client.putReplicationConfigXML(bucket, buildReplicationXML(remaining), signal);
  }
  await removeTargets(src.client, bucket, unusedTargets(what.owned, remaining), signal);
}

const LEFT = 'the replication configuration was left on the bucket';

/** Returns why nothing was cleaned up, or undefined when it was. */
async function cleanUp(
  obj: BucketReplication,
  ref: ObjectRef,
  ctx: ReconcileContext,
  deps: FinalizeDeps,
): Promise<string | undefined> {
  const owned = ownedTargets(obj);
  const applied = obj.status?.appliedDigest !== undefined;
  if (!applied && owned.length === 0) return undefined;
  const spec = parseSpec(obj.spec);
  if (!spec.ok) {
    const first = formatIssue(spec.issues[0] ?? { path: 'spec', message: '' });
    return `the spec is invalid (${first}); ${LEFT}`;
  }
  const rival = conflictOf(obj, deps.all());
  if (rival !== undefined)
    return `BucketReplication ${rival} manages the bucket now; left it as it is`;
  const source = await resolveSource(deps.kube, ref.namespace, spec.value);
  if (!source.ok) return `${source.why.message}; ${LEFT}`;
  const src = await connect(deps, ref.namespace, source.value, source.value.site);
  if (!src.ok) return `${src.why.message}; ${LEFT}`;
  const bucket = spec.value.source.bucket;
  try {
    await removeApplied(src.value, bucket, { applied, owned, signal: ctx.signal });
  } catch (e: unknown) {
    // The bucket is gone, and its replication configuration and targets with it.
    if (!isSiteError(e, 'NotFound')) throw e;
  } finally {
    src.value.client.close();
  }
  ctx.log.info({ bucket }, 'Removed replication configuration of BucketReplication');
  return removeAccounts(obj, { ...deps, ctx, source: source.value, spec: spec.value });
}

/**
 * Its targets gone, no target uses the resource's replication account any more: removed from
 * every managed destination site (its Secret is deleted by `finalize`, as the group deletes
 * its own; the owner reference covers an operator that is gone).
 * Returns what could not be removed, or undefined.
 */
async function removeAccounts(
  obj: BucketReplication,
  p: FinalizeDeps & { ctx: ReconcileContext; source: SourceSite; spec: BucketReplicationSpec },
): Promise<string | undefined> {
  const config = configOf(p.spec);
  if (!config.ok) return undefined;
  const names = new Set(config.value.rules.flatMap((r) => r.destination.site?.name ?? []));
  const account = accountNames(obj.metadata.uid ?? '');
  const left: string[] = [];
  for (const name of names) {
    const site = p.source.group?.spec.sites.find((s) => s.name === name);
    if (site === undefined) continue;
    const dest = await connect(p, obj.metadata.namespace ?? '', p.source, site);
    if (!dest.ok) {
      left.push(`${name} (${dest.why.message})`);
      continue;
    }
    try {
      await removeAccount(dest.value.client, account, p.ctx.signal);
    } finally {
      dest.value.client.close();
    }
  }
  if (left.length === 0) return undefined;
  return `the replication account ${account.user} was left on ${left.join(', ')}`;
}

export async function finalize(
  obj: BucketReplication,
  ref: ObjectRef,
  ctx: ReconcileContext,
  deps: FinalizeDeps,
): Promise<void> {
  if (!hasFinalizer(obj, FINALIZER)) return;
  const skipped = await cleanUp(obj, ref, ctx, deps);
  if (skipped !== undefined) {
    ctx.log.warn({ reason: skipped }, 'Skipped clean-up of BucketReplication');
    await deps.events.record(obj, 'Warning', 'CleanupSkipped', skipped);
  }
  await removeFinalizer(deps.kube, BREP_RESOURCE, obj, FINALIZER);
}
