/**
 * The SiteReplicationGroup controller, set up with a manager (kubebuilder's SetupWithManager):
 * its informer, the IdentityProviders it watches, its reconciler and its terminal-error report.
 */
import type { IdentityProvider } from '../../api/identity-provider.js';
import { IDP_RESOURCE, SRG_RESOURCE } from '../../api/names.js';
import type { SiteReplicationGroup } from '../../api/site-replication-group.js';
import type { Controller } from '../../runtime/controller.js';
import { objectKey } from '../../runtime/meta.js';
import type { Manager } from '../../runtime/manager.js';
import { SiteReplicationGroupReconciler, type SrgReconcilerDeps } from './reconciler.js';
import { vaultReplicationStatus } from './vault-status.js';

type Named<T> = T & { metadata: { name: string } };

export type SrgSetupDeps = Omit<
  SrgReconcilerDeps,
  'client' | 'informer' | 'recorder' | 'identityProviders'
>;

/** The groups of `idp`'s namespace that reference it. */
function groupsReferencing(
  groups: readonly SiteReplicationGroup[],
  idp: { metadata: { name: string; namespace?: string | undefined } },
): string[] {
  return groups
    .filter(
      (g) =>
        g.metadata.namespace === idp.metadata.namespace &&
        g.spec?.identityProviderRef?.name === idp.metadata.name,
    )
    .map((g) => objectKey(g));
}

export function setupSiteReplicationGroup(
  manager: Manager,
  deps: SrgSetupDeps,
): Controller<Named<SiteReplicationGroup>> {
  const informer = manager.informer<Named<SiteReplicationGroup>>(SRG_RESOURCE);
  const identityProviders = manager.informer<Named<IdentityProvider>>(IDP_RESOURCE);
  const reconciler = new SiteReplicationGroupReconciler({
    ...deps,
    client: manager.client,
    informer,
    recorder: manager.recorder,
    identityProviders,
  });
  // A provider's status holds the sites' live identity digests: any change of it may change
  // whether the groups that reference it are Degraded (IdentityProviderMismatch).
  return manager
    .controller({
      name: 'sitereplicationgroup',
      resource: SRG_RESOURCE,
      informer,
      reconcile: reconciler.reconcile,
      now: deps.now,
    })
    .watches(identityProviders, (p) => groupsReferencing(informer.list(), p));
}

/**
 * The groups' replication status in Vault's shape (`GET /v1/replication/status`), from the
 * manager's cache; undefined until the cache has synced (a replica that is not the leader
 * runs no informer, and answers that it has no status).
 */
export function srgReplicationStatus(manager: Manager): { replicationStatus(): unknown } {
  const informer = manager.informer<Named<SiteReplicationGroup>>(SRG_RESOURCE);
  return {
    replicationStatus: () =>
      informer.hasSynced() ? vaultReplicationStatus(informer.list()) : undefined,
  };
}
