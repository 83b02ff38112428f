import { GROUP, VERSION } from '../api/common.js';
import type { ResourceType } from '../runtime/kube-client.js';

/** A namespaced kind of the sitesync.io API. */
export function sitesyncResource(plural: string): ResourceType {
  return { group: GROUP, version: VERSION, plural, namespaced: true };
}

/** The finalizer every sitesync controller puts on what it manages. */
export const FINALIZER = 'sitesync.io/finalizer';
