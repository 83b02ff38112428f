/**
 * Where the copier keeps its checkpoints: a small port, so the operator keeps them in
 * ConfigMaps (`ConfigMapCheckpointStore`), a Job in the same ConfigMaps, and tests in memory.
 */
import {
  type CopyCheckpoint,
  type CopyRoute,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../replication/copy-checkpoint.js';

export interface CheckpointStore {
  /** The checkpoint of `route`, or undefined when none was saved yet. */
  load(route: CopyRoute, signal: AbortSignal): Promise<CopyCheckpoint | undefined>;
  /** Replaces the checkpoint of its route. */
  save(checkpoint: CopyCheckpoint, signal: AbortSignal): Promise<void>;
}

const routeKey = (r: CopyRoute) =>
  JSON.stringify([r.bucket, r.source, r.destination, r.range.after, r.range.until]);

/** Checkpoints in memory, stored encoded as the ConfigMap store does (a save is a copy). */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly data = new Map<string, Buffer>();
  /** Saves so far (tests count them). */
  saves = 0;

  load(route: CopyRoute): Promise<CopyCheckpoint | undefined> {
    const b = this.data.get(routeKey(route));
    return Promise.resolve(b === undefined ? undefined : decodeCheckpoint(b, route));
  }

  save(checkpoint: CopyCheckpoint): Promise<void> {
    this.saves++;
    this.data.set(routeKey(checkpoint), encodeCheckpoint(checkpoint));
    return Promise.resolve();
  }
}
