/** What the plugin touches on the apiserver, without loading the controllers. */
import { GROUP, VERSION } from '../api/common.js';
import type { ResourceType } from '../runtime/kube-client.js';

export const SRG_API: ResourceType = {
  group: GROUP,
  version: VERSION,
  plural: 'sitereplicationgroups',
  namespaced: true,
};

/** The annotations the SiteReplicationGroup controller acts on (a unit test pins them). */
export const ANNOTATIONS = {
  resync: 'sitesync.io/resync',
  recover: 'sitesync.io/recover',
  verify: 'sitesync.io/verify',
} as const;

/** The status field that records the annotation value last acted on. */
export const LAST_ACTED = {
  resync: 'lastResync',
  recover: 'lastRecover',
  verify: 'lastVerify',
} as const;
