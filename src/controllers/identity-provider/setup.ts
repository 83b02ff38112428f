/**
 * The IdentityProvider controller, set up with a manager (kubebuilder's SetupWithManager): its
 * informer, the SiteReplicationGroups it watches (they say which sites use which provider), its
 * reconciler and its terminal-error report.
 */
import type { IdentityProvider } from '../../api/identity-provider.js';
import { IDP_RESOURCE, SRG_RESOURCE } from '../../api/names.js';
import type { SiteReplicationGroup } from '../../api/site-replication-group.js';
import type { Controller } from '../../runtime/controller.js';
import { desiredStateChanged, objectKey } from '../../runtime/meta.js';
import type { Manager } from '../../runtime/manager.js';
import { IdentityProviderReconciler, type IdpReconcilerDeps } from './reconciler.js';

type Named<T> = T & { metadata: { name: string } };

export type IdpSetupDeps = Omit<IdpReconcilerDeps, 'client' | 'informer' | 'groups' | 'recorder'>;

export function setupIdentityProvider(
  manager: Manager,
  deps: IdpSetupDeps,
): Controller<Named<IdentityProvider>> {
  const informer = manager.informer<Named<IdentityProvider>>(IDP_RESOURCE);
  const groups = manager.informer<Named<SiteReplicationGroup>>(SRG_RESOURCE);
  const reconciler = new IdentityProviderReconciler({
    ...deps,
    client: manager.client,
    informer,
    groups,
    recorder: manager.recorder,
  });
  // A group whose spec changes may now reference another provider (or none): the providers of
  // its namespace are queued, so the old and the new one both report the right sites.
  return manager
    .controller({
      name: 'identityprovider',
      resource: IDP_RESOURCE,
      informer,
      reconcile: reconciler.reconcile,
      now: deps.now,
    })
    .watches(
      groups,
      (g) =>
        informer
          .list()
          .filter((p) => p.metadata.namespace === g.metadata.namespace)
          .map((p) => objectKey(p)),
      (g, change, old) => change !== 'updated' || desiredStateChanged(old, g),
    );
}
