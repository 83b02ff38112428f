/**
 * The object copier: one bucket, one direction (source -> destination), between two sites that
 * cannot replicate to each other natively. A pass lists both sides in key order, plans each key
 * with the pure planner (replication/copy-plan.ts) and copies what is new, key by key in
 * order, a bounded number of keys at once, every body streamed.
 *
 * Crash safety: keys are handled in batches; before a batch's copies start, the checkpoint is
 * saved with them announced as in flight, and after they end it is saved with their outcome.
 * A copier started again (after a crash, SIGKILL, an operator restart) first looks on the
 * destination for the announced copies (replica markers, delete markers by order) and records
 * those it finds, so nothing is copied twice and nothing is skipped.
 */
import { pipeline } from 'node:stream';

import {
  type CopyCheckpoint,
  type CopyRoute,
  type KeyRange,
  emptyCheckpoint,
  reverseRoute,
} from '../replication/copy-checkpoint.js';
import {
  type Conflict,
  type CopyAction,
  type CopyMode,
  type KeyListing,
  type KeyPlan,
  type PlanContext,
  REPLICA_MARKER,
  markCopied,
  markHandled,
  markInFlight,
  planKey,
  recoverInFlight,
  recoveryCandidates,
  replicaMarker,
  replicaOrigin,
} from '../replication/copy-plan.js';
import { type Clock, systemClock } from '../runtime/clock.js';
import { mapLimit } from '../runtime/concurrency.js';
import type {
  BucketOps,
  ObjectAttributes,
  ObjectOps,
  ObjectVersion,
  ObjectVersionRead,
  ReplicationProgress,
} from '../sites/site-client.js';
import { SiteError, isSiteError } from '../sites/site-error.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { joinListings, keyVersions } from './key-listing.js';
import { ByteRateLimiter, MeteredStream } from './throttle.js';

/** What the copier needs of a site. */
export type CopierSite = Pick<BucketOps, 'getVersioning'> & ObjectOps & { readonly name: string };

export interface CopierOptions {
  /** one-way: a bulk copy, the source always wins; two-way: newest wins, conflicts reported. */
  mode: CopyMode;
  /** Keys copied at once (each key's versions one after another). */
  concurrency: number;
  /** Bytes per second over all transfers of this copier; undefined: no limit. */
  bytesPerSecond?: number | undefined;
  /** Objects of this size or more go in parts. */
  multipartThreshold: number;
  partSize: number;
  /** Keys planned, announced and checkpointed together. */
  batchKeys: number;
  /** ListObjectVersions page size. */
  pageSize: number;
  /**
   * Copy delete markers (default); false: a delete marker on the source is passed over, as
   * S3's `DeleteMarkerReplication: Disabled` does (a group's `replicate.deleteMarkers: false`).
   */
  deleteMarkers: boolean;
}

export const DEFAULT_COPIER_OPTIONS: CopierOptions = {
  mode: 'two-way',
  concurrency: 4,
  multipartThreshold: 64 * 1024 * 1024,
  partSize: 16 * 1024 * 1024,
  batchKeys: 100,
  pageSize: 1000,
  deleteMarkers: true,
};

export interface CopyFailure {
  key: string;
  versionId: string;
  message: string;
}

/** What one pass did. `pending`: versions known to need a copy that did not get one. */
export interface PassReport {
  route: CopyRoute;
  copied: number;
  deleteMarkers: number;
  skippedReplicas: number;
  bytes: number;
  failed: number;
  pending: number;
  /** Age of the oldest version still waiting for a copy; 0 when none waits. */
  lagSeconds: number;
  conflicts: Conflict[];
  /** The first failures (at most 20), for status and logs. */
  failures: CopyFailure[];
}

const MAX_FAILURES_KEPT = 20;
/** Destination versions read for their marker when recovering one key. */
const MAX_RECOVERY_HEADS = 64;

export interface CopierDeps {
  source: CopierSite;
  destination: CopierSite;
  bucket: string;
  range?: KeyRange | undefined;
  store: CheckpointStore;
  options?: Partial<CopierOptions> | undefined;
  clock?: Clock | undefined;
  /**
   * A rate limit shared with other copiers (all of a group's routes); when given,
   * `options.bytesPerSecond` is not used.
   */
  limiter?: ByteRateLimiter | undefined;
  /** Called after each batch with the pass so far. */
  onProgress?: ((report: PassReport) => void) | undefined;
}

export class CopierPreconditionError extends Error {
  override readonly name = 'CopierPreconditionError';
}

interface PassState {
  checkpoint: CopyCheckpoint;
  reverse: CopyCheckpoint | undefined;
  report: PassReport;
  /** Versions still waiting at the end of the batch, for `pending` and the lag. */
  waiting: ObjectVersion[];
}

const versionTime = (v: ObjectVersion) =>
  v.lastModified === undefined ? undefined : Date.parse(v.lastModified);

export class ObjectCopier {
  readonly route: CopyRoute;
  readonly options: CopierOptions;
  private readonly clock: Clock;
  private readonly limiter: ByteRateLimiter | undefined;
  private readonly ctx: PlanContext;

  constructor(private readonly deps: CopierDeps) {
    this.options = { ...DEFAULT_COPIER_OPTIONS, ...deps.options };
    validateOptions(this.options);
    this.clock = deps.clock ?? systemClock;
    this.route = {
      bucket: deps.bucket,
      source: deps.source.name,
      destination: deps.destination.name,
      range: { ...deps.range },
    };
    if (deps.source.name === deps.destination.name) {
      throw new CopierPreconditionError(
        `source and destination are both named ${deps.source.name}`,
      );
    }
    this.limiter =
      deps.limiter ??
      (this.options.bytesPerSecond === undefined
        ? undefined
        : new ByteRateLimiter(this.options.bytesPerSecond, this.clock));
    this.ctx = {
      source: deps.source.name,
      destination: deps.destination.name,
      mode: this.options.mode,
    };
  }

  /** Both buckets must keep versions: a delete marker on an unversioned bucket deletes data. */
  private async preflight(signal: AbortSignal): Promise<void> {
    const { source, destination, bucket } = this.deps;
    const [s, d] = await Promise.all([
      source.getVersioning(bucket, signal),
      destination.getVersioning(bucket, signal),
    ]);
    for (const [site, state] of [
      [source.name, s],
      [destination.name, d],
    ] as const) {
      if (state !== 'Enabled') {
        throw new CopierPreconditionError(
          `bucket ${bucket} on site ${site} has versioning ${state}: the copier needs it Enabled on both sites`,
        );
      }
    }
  }

  /** One pass over the bucket (or its key range). Rejects only on a failure of the pass itself. */
  async runPass(signal: AbortSignal): Promise<PassReport> {
    await this.preflight(signal);
    const { store } = this.deps;
    const state: PassState = {
      checkpoint: (await store.load(this.route, signal)) ?? emptyCheckpoint(this.route),
      reverse:
        this.options.mode === 'two-way'
          ? await store.load(reverseRoute(this.route), signal)
          : undefined,
      report: emptyReport(this.route),
      waiting: [],
    };
    const listing = { bucket: this.route.bucket, range: this.route.range, signal };
    const keys = joinListings(
      keyVersions(this.deps.source, { ...listing, pageSize: this.options.pageSize }),
      keyVersions(this.deps.destination, { ...listing, pageSize: this.options.pageSize }),
    );
    const seen = new Set<string>();
    let batch: KeyListing[] = [];
    for await (const kl of keys) {
      seen.add(kl.key);
      if (kl.source.length === 0) continue;
      batch.push(kl);
      if (batch.length >= this.options.batchKeys) {
        await this.runBatch(batch, state, signal);
        batch = [];
      }
    }
    await this.runBatch(batch, state, signal);
    forgetGoneKeys(state.checkpoint, seen);
    state.checkpoint.totals.passes++;
    state.checkpoint.lastPassAt = new Date(this.clock.now()).toISOString();
    await store.save(state.checkpoint, signal);
    return finishReport(state, this.clock.now());
  }

  private async runBatch(batch: KeyListing[], state: PassState, signal: AbortSignal) {
    if (batch.length === 0) return;
    const keys = state.checkpoint.keys;
    const work: KeyPlan[] = [];
    for (const kl of batch) {
      await this.recover(kl, state, signal);
      const plan = planKey(kl, keys[kl.key], state.reverse?.keys[kl.key], this.ctx);
      keys[kl.key] = plan.mark;
      if (plan.conflict) {
        state.report.conflicts.push(plan.conflict);
        state.checkpoint.totals.conflicts++;
      }
      if (plan.actions.length > 0) work.push(plan);
    }
    if (work.length === 0) return;
    for (const plan of work) keys[plan.key] = markInFlight(plan.mark, plan.actions);
    await this.deps.store.save(state.checkpoint, signal);
    await mapLimit(work, this.options.concurrency, (plan) => this.runKey(plan, state, signal));
    await this.deps.store.save(state.checkpoint, signal);
    this.deps.onProgress?.(finishReport(state, this.clock.now()));
  }

  /** Records the copies announced before a crash that did reach the destination. */
  private async recover(kl: KeyListing, state: PassState, signal: AbortSignal) {
    const own = state.checkpoint.keys[kl.key];
    if (own?.f === undefined || own.f.length === 0) return;
    const rev = state.reverse?.keys[kl.key];
    const candidates = recoveryCandidates(kl, own, rev).slice(0, MAX_RECOVERY_HEADS);
    const markers = new Map<string, string | undefined>();
    for (const c of candidates) {
      if (c.deleteMarker) continue;
      const ref = { bucket: this.route.bucket, key: kl.key, versionId: c.versionId };
      try {
        const head = await this.deps.destination.headObjectVersion(ref, signal);
        markers.set(c.versionId, head.metadata[REPLICA_MARKER]);
      } catch (e: unknown) {
        if (!isSiteError(e, 'NotFound')) throw e;
      }
    }
    state.checkpoint.keys[kl.key] = recoverInFlight(kl, own, { candidates, markers }, this.ctx);
  }

  /** A key's actions, in order; the first failure stops the key (its later versions wait). */
  private async runKey(plan: KeyPlan, state: PassState, signal: AbortSignal): Promise<void> {
    for (const [i, action] of plan.actions.entries()) {
      try {
        await this.apply(plan.key, action, state, signal);
      } catch (e: unknown) {
        signal.throwIfAborted();
        noteFailure(state, action.version, e);
        state.waiting.push(...plan.actions.slice(i).map((a) => a.version));
        return;
      }
    }
  }

  private async apply(key: string, action: CopyAction, state: PassState, signal: AbortSignal) {
    const keys = state.checkpoint.keys;
    const mark = keys[key] ?? { h: [] };
    const { version } = action;
    switch (action.kind) {
      case 'SkipReplica':
        keys[key] = markHandled(mark, version);
        state.report.skippedReplicas++;
        return;
      case 'CopyDeleteMarker': {
        if (!this.options.deleteMarkers) {
          keys[key] = markHandled(mark, version);
          return;
        }
        const r = await this.deps.destination.putDeleteMarker(
          { bucket: this.route.bucket, key },
          signal,
        );
        keys[key] = markCopied(mark, version, r.versionId, this.options.mode);
        state.report.deleteMarkers++;
        state.checkpoint.totals.deleteMarkers++;
        return;
      }
      case 'CopyObject': {
        const r = await this.copyObject(version, signal);
        if (r === 'replica' || r === 'gone') {
          keys[key] = markHandled(mark, version);
          if (r === 'replica') state.report.skippedReplicas++;
          return;
        }
        keys[key] = markCopied(mark, version, r.versionId, this.options.mode);
        state.report.copied++;
        state.report.bytes += r.bytes;
        state.checkpoint.totals.copied++;
        state.checkpoint.totals.bytes += r.bytes;
        return;
      }
    }
  }

  /**
   * Streams one version to the destination with its attributes and the replica marker.
   * `replica`: the version is itself a copy from the destination; `gone`: deleted meanwhile.
   */
  private async copyObject(
    version: ObjectVersion,
    signal: AbortSignal,
  ): Promise<{ versionId: string; bytes: number } | 'replica' | 'gone'> {
    const ref = { bucket: this.route.bucket, key: version.key, versionId: version.versionId };
    let read: ObjectVersionRead;
    try {
      read = await this.deps.source.getObjectVersion(ref, signal);
    } catch (e: unknown) {
      if (isSiteError(e, 'NotFound')) return 'gone';
      throw e;
    }
    if (replicaOrigin(read.metadata) === this.route.destination) {
      read.body.destroy();
      return 'replica';
    }
    const metered = new MeteredStream(this.limiter, this.clock);
    const body = pipeline(read.body, metered, () => undefined);
    try {
      const r = await this.deps.destination.putObject(
        { bucket: this.route.bucket, key: version.key },
        { body, size: read.size, attributes: this.replicaAttributes(read, version) },
        this.options,
        signal,
      );
      if (metered.bytes !== read.size) {
        throw new SiteError(
          this.route.source,
          'GetObject',
          'Internal',
          `${this.route.bucket}/${version.key}@${version.versionId}: read ${metered.bytes} of ${read.size} bytes`,
        );
      }
      return { versionId: r.versionId, bytes: metered.bytes };
    } finally {
      read.body.destroy();
      metered.destroy();
    }
  }

  /** The source's attributes, the replica marker added; a retention already past is left out. */
  private replicaAttributes(read: ObjectVersionRead, version: ObjectVersion): ObjectAttributes {
    const { retention } = read;
    const live = retention !== undefined && Date.parse(retention.retainUntil) > this.clock.now();
    return {
      contentType: read.contentType,
      contentEncoding: read.contentEncoding,
      contentDisposition: read.contentDisposition,
      contentLanguage: read.contentLanguage,
      cacheControl: read.cacheControl,
      metadata: {
        ...read.metadata,
        [REPLICA_MARKER]: replicaMarker(this.route.source, version.versionId),
      },
      tags: read.tags,
      retention: live ? retention : undefined,
      legalHold: read.legalHold,
    };
  }
}

function validateOptions(o: CopierOptions): void {
  const positive: (keyof CopierOptions)[] = [
    'concurrency',
    'multipartThreshold',
    'partSize',
    'batchKeys',
    'pageSize',
  ];
  for (const k of positive) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new RangeError(`copier option ${k} must be a positive integer`);
    }
  }
  if (o.partSize < 5 * 1024 * 1024) throw new RangeError('copier option partSize must be >= 5 MiB');
  if (o.bytesPerSecond !== undefined && !(o.bytesPerSecond >= 1024)) {
    throw new RangeError('copier option bytesPerSecond must be at least 1024');
  }
}

function emptyReport(route: CopyRoute): PassReport {
  return {
    route,
    copied: 0,
    deleteMarkers: 0,
    skippedReplicas: 0,
    bytes: 0,
    failed: 0,
    pending: 0,
    lagSeconds: 0,
    conflicts: [],
    failures: [],
  };
}

function noteFailure(state: PassState, version: ObjectVersion, e: unknown): void {
  state.report.failed++;
  if (state.report.failures.length >= MAX_FAILURES_KEPT) return;
  state.report.failures.push({
    key: version.key,
    versionId: version.versionId,
    message: e instanceof Error ? e.message : String(e),
  });
}

/** Drops the marks of keys neither side lists any more (the listing was complete). */
function forgetGoneKeys(checkpoint: CopyCheckpoint, seen: ReadonlySet<string>): void {
  for (const key of Object.keys(checkpoint.keys)) {
    if (!seen.has(key)) Reflect.deleteProperty(checkpoint.keys, key);
  }
}

function finishReport(state: PassState, now: number): PassReport {
  const times = state.waiting.map(versionTime).filter((t) => t !== undefined);
  const oldest = times.length === 0 ? undefined : Math.min(...times);
  return {
    ...state.report,
    conflicts: [...state.report.conflicts],
    failures: [...state.report.failures],
    pending: state.waiting.length,
    lagSeconds: oldest === undefined ? 0 : Math.max(0, Math.round((now - oldest) / 1000)),
  };
}

/** A pass as a replication link's progress, like a native link's in status. */
export function passProgress(report: PassReport): ReplicationProgress {
  return {
    pending: report.pending,
    replicated: report.copied + report.deleteMarkers,
    failed: report.failed,
    bytes: report.bytes,
    lagSeconds: report.lagSeconds,
    measured: 'counted by the object copier over its last pass',
  };
}
