import type { IdentityProvider } from '../../api/identity-provider.js';
import type {
  SiteReplicationGroup,
  SiteReplicationGroupSpec,
} from '../../api/site-replication-group.js';
import type { AgreedState } from '../../replication/agreed-state.js';
import type { Entity } from '../../replication/merge.js';
import type { DigestKey } from '../../replication/secret-digest.js';
import type { ObjectRef, ReconcileContext } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import type { ReplicationProgress } from '../../sites/site-client.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import type { Observed } from './observe.js';

/** What one reconcile of a group knows; the parts (plan, apply, status, ...) read it. */
export interface Pass {
  obj: SiteReplicationGroup;
  ref: ObjectRef;
  spec: SiteReplicationGroupSpec;
  ctx: ReconcileContext;
  /** The apiserver and Events under the pass's signal: nothing is written once it aborts. */
  kube: KubeClient;
  events: EventRecorder;
  /** The IdentityProvider the group references, from the cache. */
  idp: IdentityProvider | undefined;
  observed: Observed[];
  /** The last agreed state, its secret-bearing digests sealed with `digestKey`. */
  agreed: AgreedState;
  /** The group's digest key (seals the digests of users and service accounts). */
  digestKey: DigestKey;
  /** The entity map of a snapshot (computed once per snapshot and pass). */
  entities: (snap: SiteSnapshot) => Map<string, Entity>;
  /** Object replication counts per site, when collected. */
  objects?: Map<string, ReplicationProgress> | undefined;
}
