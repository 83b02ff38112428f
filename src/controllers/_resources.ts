import { GROUP, VERSION } from '../api/common.js';
import type { ResourceType } from '../runtime/kube-client.js';

/** A namespaced kind of the sitesync.io API. */
export function sitesyncResource(plural: string): ResourceType {
  return { group: GROUP, version: VERSION, plural, namespaced: true };
}

/** The finalizer every sitesync controller puts on what it manages. */
export const FINALIZER = 'sitesync.io/finalizer';

/** Any new value asks the controller to replicate existing objects again (once per value). */
export const RESYNC_ANNOTATION = 'sitesync.io/resync';
/** Any new value asks the controller to retry everything that failed (once per value). */
export const RECOVER_ANNOTATION = 'sitesync.io/recover';
