/**
 * The BucketReplication controller, set up with a manager (kubebuilder's SetupWithManager): its
 * informer, the SiteReplicationGroups it watches (a group's sites are its sources and managed
 * destinations), its reconciler and its terminal-error report.
 */
import type { BucketReplication } from '../../api/bucket-replication.js';
import { BREP_RESOURCE, SRG_RESOURCE } from '../../api/names.js';
import type { SiteReplicationGroup } from '../../api/site-replication-group.js';
import type { Controller } from '../../runtime/controller.js';
import { desiredStateChanged, objectKey } from '../../runtime/meta.js';
import type { Manager } from '../../runtime/manager.js';
import { BucketReplicationReconciler, type BrepReconcilerDeps } from './reconciler.js';

type Named<T> = T & { metadata: { name: string } };

export type BrepSetupDeps = Omit<BrepReconcilerDeps, 'client' | 'informer' | 'recorder'>;

/** The BucketReplications whose source names `group`. */
export function bucketReplicationsOfGroup(
  all: readonly BucketReplication[],
  group: { metadata: { name: string; namespace?: string | undefined } },
): string[] {
  return all
    .filter(
      (b) =>
        b.metadata.namespace === group.metadata.namespace &&
        (b.spec as { source?: { groupRef?: { name?: unknown } } } | undefined)?.source?.groupRef
          ?.name === group.metadata.name,
    )
    .map((b) => objectKey(b));
}

export function setupBucketReplication(
  manager: Manager,
  deps: BrepSetupDeps,
): Controller<Named<BucketReplication>> {
  const informer = manager.informer<Named<BucketReplication>>(BREP_RESOURCE);
  const groups = manager.informer<Named<SiteReplicationGroup>>(SRG_RESOURCE);
  const reconciler = new BucketReplicationReconciler({
    ...deps,
    client: manager.client,
    informer,
    recorder: manager.recorder,
  });
  // A group's spec (not its status, which changes every pass) says what its sites are.
  return manager
    .controller({
      name: 'bucketreplication',
      resource: BREP_RESOURCE,
      informer,
      reconcile: reconciler.reconcile,
      now: deps.now,
    })
    .watches(
      groups,
      (g) => bucketReplicationsOfGroup(informer.list(), g),
      (_g, change, old) => change !== 'updated' || desiredStateChanged(old, _g),
    );
}
