import type { IdentityProvider } from '../../api/identity-provider.js';
import type { PromotionStatus } from '../../api/site-replication-group.js';
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
import type { SiteSnapshot } from '../../sites/snapshot.js';
import type { Observed, Reachable } from './observe.js';
import type { IdentityJudgement } from './site-identity.js';
import type { LoadedAgreed } from './state.js';
import type { SiteObjects } from './progress.js';
import type { RecoveryStep } from './recover.js';
import type { VerifyRun } from './verify-run.js';
import type { Roles } from './promotion.js';
import type { CopyOutcome } from './object-copy.js';
import type { AccessKeyNotes } from './access-keys.js';

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
  /** Sites removed from the spec whose group links may remain: observed with what was stored. */
  removed: Observed[];
  /**
   * The agreed state this pass works from (identity changes applied, or rebuilt), its
   * secret-bearing digests sealed with `digestKey`.
   */
  agreed: AgreedState;
  /** What was wrong with the stored agreed state, if anything. */
  agreedProblem?: LoadedAgreed['problem'];
  /** The agreed state was rebuilt in this pass: how. */
  rebuilt?: { from: 'sites' | 'union'; message: string } | undefined;
  /** Joined sites seen under another identity, and what became of them. */
  identity: IdentityJudgement;
  /** The group's digest key (seals the digests of users and service accounts). */
  digestKey: DigestKey;
  /** The entity map of a snapshot (computed once per snapshot and pass). */
  entities: (snap: SiteSnapshot) => Map<string, Entity>;
  /**
   * Reads a site back after writing to it (default: a whole snapshot); a targeted pass reads
   * back only the part it changed.
   */
  readBack?: ((site: Reachable) => Promise<SiteSnapshot>) | undefined;
  /** Object replication counts per site, when collected. */
  objects?: Map<string, SiteObjects> | undefined;
  /** The object verification this pass worked on, if one is due or running. */
  verification?: VerifyRun | undefined;
  /** The retry of failed object replications this pass worked on (sitesync.io/recover). */
  recovery?: RecoveryStep | undefined;
  /** PrimarySecondary: the promotion this pass works on, if one runs. */
  promotion?: PromotionStatus | undefined;
  /** Who replicates and who is fenced in this pass (absent: from the spec alone). */
  roles?: Roles | undefined;
  /** The object copier's routes in this pass (mixed groups), when it ran. */
  copies?: CopyOutcome | undefined;
  /** What spec.accessKeys mirrored, and could not, per site it serves (when it ran). */
  accessKeys?: Map<string, AccessKeyNotes> | undefined;
}
