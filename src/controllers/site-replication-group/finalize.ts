/**
 * Deleting a group removes only what the operator created for it: its peer links and
 * replication account and, PrimarySecondary, the fence of its secondaries and the write lease of
 * its primary on every reachable site (removed sites still pending cleanup included), never
 * buckets, objects, users or policies, and nothing of another group sharing a site. An
 * unreachable site keeps its links, fence or lease (logged); the finalizer goes anyway. Its ConfigMaps (agreed state, verification checkpoint)
 * and Secrets (replicator, change-report token) carry the group's owner reference: the garbage
 * collector removes them, the operator needs no `delete`.
 */
import { FINALIZER, SRG_RESOURCE } from '../../api/names.js';
import {
  type SiteReplicationGroup,
  SiteReplicationGroupSpecSchema,
} from '../../api/site-replication-group.js';
import type { ObjectRef, ReconcileContext } from '../../runtime/controller.js';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import { secretReader } from '../../runtime/secrets.js';
import { removeReplicationAccount } from '../../sites/replication-account.js';
import type { SiteClient, SiteConnection } from '../../sites/site-client.js';
import type { ChangeDetection } from './change-detection.js';
import { groupPolicies, removeFence } from './fence.js';
import { closeObserved, observeSites, reachable } from './observe.js';
import { ownership, removePeerLinks } from './peer-links.js';
import { memberSite, removedMembers } from './removal.js';
import { loadAgreed } from './state.js';

export interface FinalizeDeps {
  /** The apiserver under the pass's signal. */
  kube: KubeClient;
  newSite: (conn: SiteConnection) => SiteClient;
  siteTimeoutMs?: number | undefined;
  changes?: ChangeDetection | undefined;
  allowInsecureSites?: boolean | undefined;
}

export async function finalize(
  obj: SiteReplicationGroup,
  ref: ObjectRef,
  ctx: ReconcileContext,
  deps: FinalizeDeps,
): Promise<void> {
  if (!hasFinalizer(obj, FINALIZER)) return;
  const spec = SiteReplicationGroupSpecSchema.safeParse(obj.spec);
  if (spec.success) {
    const { state } = await loadAgreed(deps.kube, ref, obj.metadata.uid ?? '');
    const sites = [...spec.data.sites, ...removedMembers(state, spec.data).map(memberSite)];
    const own = ownership(obj.metadata.uid ?? ref.name, sites);
    const { fence, lease } = groupPolicies(obj.metadata.uid ?? ref.name);
    const observed = await observeSites({
      readSecret: secretReader(deps.kube, ref.namespace),
      sites,
      newSite: deps.newSite,
      timeoutMs: deps.siteTimeoutMs,
      allowInsecure: deps.allowInsecureSites,
      signal: ctx.signal,
    });
    try {
      const unreachable = observed.filter((o) => !o.ok).map((o) => o.site.name);
      if (unreachable.length > 0) {
        ctx.log.warn({ sites: unreachable }, 'Could not clean up peer links on unreachable sites');
      }
      await Promise.all(
        reachable(observed).map(async (o) => {
          const site = { name: o.site.name, client: o.client, snap: o.snap };
          await removePeerLinks(site, own, ctx.signal);
          await removeReplicationAccount(o.client, o.snap.iam, own.names, ctx.signal);
          await removeFence(o.client, o.snap.iam, [fence, lease], ctx.signal);
        }),
      );
      await deps.changes?.finalize(
        { ref, uid: obj.metadata.uid ?? '' },
        reachable(observed),
        deps.kube,
        ctx.signal,
      );
    } finally {
      closeObserved(observed);
    }
  }
  await removeFinalizer(deps.kube, SRG_RESOURCE, obj, FINALIZER);
  ctx.log.info({}, 'Removed peer links and finalizer of SiteReplicationGroup');
}
