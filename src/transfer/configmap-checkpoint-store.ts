/**
 * Copier checkpoints in ConfigMaps, one per route (bucket, direction, key range): gzipped JSON
 * in `binaryData`, written by server-side apply. The name is a digest of the route
 * (`sitesync-copy-<16 hex>`); labels and annotations say which route it is. A checkpoint that
 * would not fit a ConfigMap is refused with a message that says to partition the bucket.
 *
 * The apiserver is reached through a two-call port (`ConfigMapApi`): the operator adapts its
 * KubeClient (`kube-configmap-api.ts`); `sitesync copy` uses a small client of its own
 * (cli/light-kube.ts) so that a copy Job does not load @kubernetes/client-node (~50 MiB).
 */
import { createHash } from 'node:crypto';

import {
  CHECKPOINT_KEY,
  type CopyCheckpoint,
  type CopyRoute,
  decodeCheckpoint,
  describeRoute,
  encodeCheckpoint,
} from '../replication/copy-checkpoint.js';
import type { CheckpointStore } from './checkpoint-store.js';

/** Kubernetes refuses objects over 1 MiB; leave room for metadata. */
export const MAX_CHECKPOINT_BYTES = 900 * 1024;

export const COPY_LABEL = 'sitesync.io/copy-checkpoint';

export interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
  binaryData?: Record<string, string>;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Where a store's checkpoints belong: an owner (garbage-collected with it) and a scope. */
export interface CheckpointOwner {
  /** The owner (the group): its checkpoints go when it goes. */
  reference: OwnerReference;
  /** Mixed into the names, so that two owners' routes of the same names never share one. */
  scope: string;
}

/** What the store needs of the apiserver. */
export interface ConfigMapApi {
  /** The ConfigMap, or undefined when there is none. */
  get(namespace: string, name: string, signal: AbortSignal): Promise<ConfigMap | undefined>;
  /** Creates or replaces it (server-side apply, sitesync's field manager). */
  apply(cm: ConfigMap & { metadata: { namespace: string } }, signal: AbortSignal): Promise<void>;
}

export class CheckpointTooLargeError extends Error {
  override readonly name = 'CheckpointTooLargeError';
}

/** The ConfigMap name of a route's checkpoint. */
export function checkpointName(route: CopyRoute, scope?: string): string {
  const parts: unknown[] = [route.bucket, route.source, route.destination, route.range];
  if (scope !== undefined) parts.push(scope);
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  return `sitesync-copy-${digest.slice(0, 16)}`;
}

export class ConfigMapCheckpointStore implements CheckpointStore {
  constructor(
    private readonly api: ConfigMapApi,
    private readonly namespace: string,
    /** Extra labels (the owning group's, when the operator writes them). */
    private readonly labels: Readonly<Record<string, string>> = {},
    private readonly owner?: CheckpointOwner,
  ) {}

  async load(route: CopyRoute, signal: AbortSignal): Promise<CopyCheckpoint | undefined> {
    const cm = await this.api.get(this.namespace, checkpointName(route, this.owner?.scope), signal);
    const data = cm?.binaryData?.[CHECKPOINT_KEY];
    if (data === undefined) return undefined;
    return decodeCheckpoint(Buffer.from(data, 'base64'), route);
  }

  async save(checkpoint: CopyCheckpoint, signal: AbortSignal): Promise<void> {
    const encoded = encodeCheckpoint(checkpoint);
    if (encoded.length > MAX_CHECKPOINT_BYTES) {
      throw new CheckpointTooLargeError(
        `The copier checkpoint of ${describeRoute(checkpoint)} takes ${encoded.length} bytes, more than a ConfigMap holds (${MAX_CHECKPOINT_BYTES}): copy the bucket in key ranges (sitesync copy --partition)`,
      );
    }
    const name = checkpointName(checkpoint, this.owner?.scope);
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { ...this.labels, [COPY_LABEL]: 'true' },
        annotations: {
          'sitesync.io/copy-route': describeRoute(checkpoint),
        },
        ...(this.owner ? { ownerReferences: [this.owner.reference] } : {}),
      },
      binaryData: { [CHECKPOINT_KEY]: encoded.toString('base64') },
    };
    await this.api.apply(cm, signal);
  }
}
