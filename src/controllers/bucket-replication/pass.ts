import type { BucketReplication, BucketReplicationSpec } from '../../api/bucket-replication.js';
import type { ReplicationConfig } from '../../replication/replication-config.js';
import type { ObjectRef, ReconcileContext } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import type { Why } from '../../runtime/kstatus.js';
import type { Connected, SourceSite } from './source.js';

/** What one reconcile of a BucketReplication knows and has done so far. */
export interface Pass {
  obj: BucketReplication;
  ref: ObjectRef;
  ctx: ReconcileContext;
  /** The apiserver and Events under the pass's signal: nothing is written once it aborts. */
  kube: KubeClient;
  events: EventRecorder;
  spec: BucketReplicationSpec;
  config: ReplicationConfig;
  source: SourceSite;
  src: Connected;
  intervalMs: number;
  /** What this pass changed, in words. */
  changes: string[];
  /** Partial failures, each naming the site. */
  problems: Why[];
  /** The remote targets this resource created (its annotation). */
  owned: string[];
  /** The fingerprint of the keys each owned target was given (its annotation), by ARN. */
  credentials: Record<string, string>;
  /** What is insecure about the sites it reaches (only with ALLOW_INSECURE_SITES), by field. */
  insecure?: string | undefined;
}

/** `site/bucket`, how messages name the source bucket. */
export const whereOf = (p: Pass) => `${p.src.site.name}/${p.spec.source.bucket}`;
