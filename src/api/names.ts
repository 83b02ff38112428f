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
 * The prefix of every name the operator creates on a site and owns there: the replication
 * account and policy (`sitesync-replicator`, `sitesync-replication`), the peer-link rules
 * (`sitesync-<peer>`). Such names are never mirrored between sites, and a BucketReplication
 * may not use it for a rule ID. The contract between the SiteReplicationGroup and the
 * BucketReplication controllers, which share a bucket's replication configuration.
 */
export const RESERVED_PREFIX = 'sitesync-';
