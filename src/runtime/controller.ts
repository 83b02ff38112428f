import { randomUUID } from 'node:crypto';

import { type Clock, systemClock } from './clock.js';
import { TerminalError } from './errors.js';
import type { Informer } from './informer.js';
import { type ChangeKind, type MetaObject, desiredStateChanged, objectKey } from './meta.js';
import { abortableSleep } from './signals.js';
import { type Logger, errorMessage, silentLogger } from './logger.js';
import {
  ControllerRateLimiter,
  DEFAULT_BACKOFF,
  ExponentialBackoff,
  TokenBucket,
} from './rate-limiter.js';
import { WorkQueue } from './work-queue.js';
import { loggableError } from './messages.js';

export interface ObjectRef {
  namespace: string;
  name: string;
}

export interface ReconcileContext {
  signal: AbortSignal;
  log: Logger;
  reconcileID: string;
}

/**
 * What a reconcile asks for next. Throwing instead means: retry with backoff; throwing a
 * TerminalError means: do not retry until the object changes.
 */
export interface ReconcileResult {
  /** Reconcile again after this long (the steady-state period). */
  requeueAfterMs?: number | undefined;
  /**
   * Something keeps failing (a site): retry with this key's exponential backoff, capped at
   * `requeueAfterMs`. The backoff is reset by the first result without it.
   */
  backoff?: boolean | undefined;
}

export type Reconcile = (
  ref: ObjectRef,
  ctx: ReconcileContext,
) => Promise<ReconcileResult | undefined>;

/** Records in the object's status why a reconcile ended in a TerminalError. */
export type Stalled = (
  ref: ObjectRef,
  error: TerminalError,
  ctx: ReconcileContext,
) => Promise<void>;

/** Which changes of a watched object matter (controller-runtime's predicates). */
export type Predicate<T> = (obj: T, change: ChangeKind, old?: T) => boolean;

/** Observes reconciles, for metrics; the runtime knows no metric library. */
export interface ControllerObserver {
  reconciled(controller: string, result: 'success' | 'error' | 'requeue', seconds: number): void;
  queueDepth(controller: string, depth: number): void;
}

export interface ControllerOptions<T extends MetaObject> {
  name: string;
  informer: Informer<T>;
  reconcile: Reconcile;
  /** Writes the status of a TerminalError (Stalled with its reason); the same for every kind. */
  stalled?: Stalled | undefined;
  workers?: number;
  /** Each reconcile runs under an AbortSignal with this timeout (default 5 min). */
  timeoutMs?: number;
  /** Every cached object is queued again this often (default 10 min; 0 disables). */
  resyncMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  clock?: Clock;
  log?: Logger;
  observer?: ControllerObserver;
}

export function parseKey(key: string): ObjectRef {
  const i = key.indexOf('/');
  return i < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * Level-based controller: changes of the primary kind (and of watched secondaries, mapped to
 * primary keys) put keys on a queue; N workers reconcile them, one key at a time.
 */
export class Controller<T extends MetaObject> {
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly secondaries: Informer<MetaObject>[] = [];
  /** Aborts in-flight reconciles: leadership lost. */
  private lost: AbortSignal = new AbortController().signal;
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: ControllerOptions<T>) {
    const clock = opts.clock ?? systemClock;
    const backoff = new ExponentialBackoff({ ...DEFAULT_BACKOFF, ...opts.backoff });
    this.queue = new WorkQueue(
      clock,
      new ControllerRateLimiter(backoff, new TokenBucket(10, 100, clock)),
    );
    this.log = (opts.log ?? silentLogger).child({ controller: opts.name });
    // Its own status writes do not queue an object again: the requeue after a pass does.
    opts.informer.onChange((obj, change, old) => {
      if (change === 'updated' && !desiredStateChanged(old, obj)) return;
      this.queue.add(objectKey(obj));
    });
  }

  /**
   * Queues the primary keys `map` returns whenever an object of another kind changes (and
   * `predicate` says the change matters); the workers wait for its cache too.
   */
  watches<S extends MetaObject>(
    informer: Informer<S>,
    map: (obj: S) => string[],
    predicate: Predicate<S> = () => true,
  ): this {
    informer.onChange((obj, change, old) => {
      if (!predicate(obj, change, old)) return;
      for (const key of map(obj)) this.queue.add(key);
    });
    this.secondaries.push(informer as unknown as Informer<MetaObject>);
    return this;
  }

  /**
   * Runs informers and workers until `signal` aborts, then drains in-flight reconciles. When
   * `lost` aborts (leadership lost) in-flight reconciles are aborted too: their signal carries
   * its reason, and they write nothing more.
   */
  async run(signal: AbortSignal, lost?: AbortSignal): Promise<void> {
    if (lost) this.lost = lost;
    const informers = [this.opts.informer as unknown as Informer<MetaObject>, ...this.secondaries];
    const informerRuns = informers.map((i) => i.run(signal));
    await Promise.race([
      Promise.all(informers.map((i) => i.waitForSync())),
      abortableSleep(2 ** 31 - 1, signal),
    ]);
    if (!signal.aborted) this.log.info({}, 'Caches synced, starting workers');
    const stopResync = this.startResync(signal);
    signal.addEventListener(
      'abort',
      () => {
        this.queue.shutDown();
      },
      { once: true },
    );
    if (signal.aborted) this.queue.shutDown();
    const workers = Array.from({ length: this.opts.workers ?? 2 }, () => this.worker());
    await Promise.all(workers);
    stopResync();
    await Promise.all(informerRuns);
    this.log.info({}, 'Stopped controller');
  }

  /** Resolves when no reconcile is running and the queue is empty (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Nothing running, nothing queued, no key handed to a worker that has not started it. */
  private isIdle(): boolean {
    return this.running === 0 && this.queue.len() === 0 && this.queue.inFlight() === 0;
  }

  private startResync(signal: AbortSignal): () => void {
    const every = this.opts.resyncMs ?? 600_000;
    if (every <= 0) return () => undefined;
    const timer = setInterval(() => {
      if (signal.aborted) return;
      for (const obj of this.opts.informer.list()) this.queue.add(objectKey(obj));
    }, every);
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.running++;
      try {
        await this.processOne(key);
      } finally {
        this.running--;
        this.queue.done(key);
        this.opts.observer?.queueDepth(this.opts.name, this.queue.len());
        if (this.isIdle()) {
          for (const w of this.idleWaiters.splice(0)) w();
        }
      }
    }
  }

  private async processOne(key: string): Promise<void> {
    const reconcileID = randomUUID();
    const ref = parseKey(key);
    const log = this.log.child({ namespace: ref.namespace, name: ref.name, reconcileID });
    const signal = AbortSignal.any([
      AbortSignal.timeout(this.opts.timeoutMs ?? 300_000),
      this.lost,
    ]);
    const ctx: ReconcileContext = { signal, log, reconcileID };
    const started = performance.now();
    const startedAt = Date.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const result = await this.opts.reconcile(ref, ctx);
      const requeuedAt = Date.now();
      this.requeue(key, result);
      const after = result?.requeueAfterMs;
      log.debug(
        {
          seconds: seconds(),
          startedAt: new Date(startedAt).toISOString(),
          // When the key is queued again at the earliest (a backoff: at once or later).
          nextAt:
            after !== undefined && after > 0 && result?.backoff !== true
              ? new Date(requeuedAt + after).toISOString()
              : undefined,
          backoff: result?.backoff === true,
        },
        'Reconciled',
      );
      this.opts.observer?.reconciled(this.opts.name, 'success', seconds());
    } catch (e: unknown) {
      await this.failed(key, ctx, e);
      this.opts.observer?.reconciled(this.opts.name, 'error', seconds());
    }
  }

  private requeue(key: string, result: ReconcileResult | undefined): void {
    const after = result?.requeueAfterMs;
    if (result?.backoff === true) {
      this.queue.addRateLimited(key, after);
      return;
    }
    this.queue.forget(key);
    if (after !== undefined && after > 0) this.queue.addAfter(key, after);
  }

  /**
   * A reconcile that threw: aborted because leadership was lost (nothing to do: the queue is
   * shutting down), terminal (status says why, no retry), or anything else (retry with
   * backoff; a timeout is one of those).
   */
  private async failed(key: string, ctx: ReconcileContext, e: unknown): Promise<void> {
    if (this.lost.aborted) {
      ctx.log.info({ err: errorMessage(e) }, 'Aborted reconcile: leadership lost');
      return;
    }
    if (e instanceof TerminalError) {
      this.queue.forget(key);
      ctx.log.info(
        { reason: e.reason, err: e.message },
        'Reconcile failed terminally, not retrying',
      );
      try {
        await this.opts.stalled?.(parseKey(key), e, ctx);
      } catch (err: unknown) {
        ctx.log.error({ err: errorMessage(err) }, 'Could not report a terminal error in status');
        this.queue.addRateLimited(key);
      }
      return;
    }
    const retries = this.queue.numRequeues(key);
    const why = ctx.signal.aborted ? 'Reconcile timed out' : 'Reconcile failed';
    ctx.log.error({ err: loggableError(e), retries }, `${why}, retrying with backoff`);
    this.queue.addRateLimited(key);
  }
}
