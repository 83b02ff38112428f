/**
 * Names the sitesync API defines beyond its schemas: where each kind lives on the apiserver,
 * the finalizer, the annotations users set, and the prefix reserved for what the operator
 * creates on the sites. Controllers, the CLI and the tests take them from here.
 */
import { GROUP, VERSION } from './common.js';

/** Where a namespaced sitesync kind lives (the shape of runtime's `ResourceType`). */
export interface SitesyncResource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: true;
}

function sitesyncResource(plural: string): SitesyncResource {
  return { group: GROUP, version: VERSION, plural, namespaced: true };
}

export const SRG_RESOURCE = sitesyncResource('sitereplicationgroups');
export const BREP_RESOURCE = sitesyncResource('bucketreplications');
export const IDP_RESOURCE = sitesyncResource('identityproviders');

/** The finalizer every sitesync controller puts on what it manages. */
export const FINALIZER = 'sitesync.io/finalizer';

/** Any new value asks the controller to replicate existing objects again (once per value). */
export const RESYNC_ANNOTATION = 'sitesync.io/resync';
/** Any new value asks the controller to retry everything that failed (once per value). */
export const RECOVER_ANNOTATION = 'sitesync.io/recover';
/** Any new value asks the controller to verify object versions site by site (once per value). */
export const VERIFY_ANNOTATION = 'sitesync.io/verify';

/**
 * `<site>` or `<site>:<deployment ID>`: accept a site held because its identity changed while
 * it holds data (acted on once per value; status.lastAcceptSite records it).
 */
export const ACCEPT_SITE_ANNOTATION = 'sitesync.io/accept-site';
/** The digest of a held deletion plan (status.deletionsHeld.digest): carry out exactly that plan. */
export const APPROVE_DELETIONS_ANNOTATION = 'sitesync.io/approve-deletions';
/** Any new value asks for new replication-account credentials on every site (once per value). */
export const ROTATE_CREDENTIALS_ANNOTATION = 'sitesync.io/rotate-credentials';
/**
 * Any new value rebuilds a lost or unreadable agreed state from what the sites hold when they
 * differ: the union (an initial join, which deletes nothing; conflicts go to the primary).
 */
/**
 * PrimarySecondary: promote the named site (spec.primary) without the old primary, which is
 * unreachable; its writes not yet replicated may be lost (they are listed as divergent).
 */
export const FORCE_PROMOTE_ANNOTATION = 'sitesync.io/force-promote';
export const REBUILD_STATE_ANNOTATION = 'sitesync.io/rebuild-agreed-state';

/**
 * The prefix of every name the operator creates on a site and owns there: a group's replication
 * account and policy (`sitesync-<id>`, `sitesync-replication-<id>`), its peer-link rules
 * (`sitesync-<id>-<peer>`; see sites/replication-account.ts). Such names are never mirrored between sites, and a BucketReplication
 * may not use it for a rule ID. The contract between the SiteReplicationGroup and the
 * BucketReplication controllers, which share a bucket's replication configuration.
 */
export const RESERVED_PREFIX = 'sitesync-';
