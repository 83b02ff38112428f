import { type KubeClient, type ResourceType, isGone } from './kube-client.js';
import { type Logger, errorMessage, silentLogger } from './logger.js';
import { type ChangeHandler, type ChangeKind, type MetaObject, objectKey } from './meta.js';
import { abortableSleep, aborted } from './signals.js';

export type { ChangeHandler, ChangeKind, MetaObject } from './meta.js';
export { desiredStateChanged, objectKey } from './meta.js';

export interface InformerOptions {
  namespace?: string;
  /** Several namespaces, each listed and watched on its own (instead of `namespace`). */
  namespaces?: readonly string[];
  labelSelector?: string;
  /** A full relist this often, to heal any missed event (default 5 min). */
  relistMs?: number;
  /** A watch silent this long (not even a bookmark) is restarted (default 2 min). */
  idleTimeoutMs?: number;
  /** Backoff after a failed list or watch: from 1 s doubling to this cap (default 30 s). */
  maxBackoffMs?: number;
  log?: Logger;
}

/**
 * List + watch into a cache. Survives apiserver restarts (reconnects with backoff and jitter),
 * expired resource versions (410 Gone: relists at once) and silent connections (idle timeout);
 * relists periodically. Handlers get every change seen, including those a relist discovers.
 */
export class Informer<T extends MetaObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private synced = false;
  /** The namespaces (or all: undefined) listed at least once. */
  private readonly listed = new Set<string | undefined>();
  private syncWaiters: (() => void)[] = [];
  private readonly log: Logger;

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly opts: InformerOptions = {},
  ) {
    this.log = (opts.log ?? silentLogger).child({ informer: type.plural });
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /**
   * Runs until `signal` aborts. Never throws. Several controllers may share an informer: a call
   * while it runs joins the run in progress.
   */
  run(signal: AbortSignal): Promise<void> {
    const scopes = this.opts.namespaces ?? [this.opts.namespace];
    this.running ??= Promise.all(scopes.map((ns) => this.loop(ns, signal))).then(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private running: Promise<void> | undefined;

  private async loop(namespace: string | undefined, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const rv = await this.relist(namespace, signal);
        failures = 0;
        await this.watchUntilRelist(namespace, rv, signal);
      } catch (e: unknown) {
        if (aborted(signal)) break;
        if (isGone(e)) {
          this.log.info({}, 'Resource version expired, relisting');
          continue;
        }
        failures++;
        const cap = this.opts.maxBackoffMs ?? 30_000;
        const delay =
          Math.min(cap, 1000 * 2 ** Math.min(failures - 1, 10)) * (0.8 + 0.4 * Math.random());
        this.log.warn(
          { err: errorMessage(e), retryInMs: Math.round(delay) },
          'List or watch failed',
        );
        await abortableSleep(delay, signal);
      }
    }
  }

  private async relist(namespace: string | undefined, signal: AbortSignal): Promise<string> {
    const seen = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list<T>(
        this.type,
        namespace,
        { labelSelector: this.opts.labelSelector, limit: 500, continue: cont },
        signal,
      );
      for (const item of page.items) seen.set(objectKey(item), item);
      cont = page.metadata.continue === '' ? undefined : page.metadata.continue;
      rv = page.metadata.resourceVersion ?? '';
    } while (cont);
    this.replaceListed(namespace, seen);
    return rv;
  }

  /** The cache of `namespace` (or all) replaced by a list of it; synced once all were listed. */
  private replaceListed(namespace: string | undefined, seen: Map<string, T>): void {
    for (const [key, old] of this.cache) {
      const mine = namespace === undefined || old.metadata.namespace === namespace;
      if (mine && !seen.has(key)) {
        this.cache.delete(key);
        this.emit(old, 'deleted');
      }
    }
    for (const [key, obj] of seen) this.upsert(key, obj);
    this.listed.add(namespace);
    const scopes = this.opts.namespaces ?? [this.opts.namespace];
    if (!this.synced && scopes.every((ns) => this.listed.has(ns))) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchUntilRelist(
    namespace: string | undefined,
    startRV: string,
    signal: AbortSignal,
  ): Promise<void> {
    let rv = startRV;
    const relistAt = Date.now() + (this.opts.relistMs ?? 300_000);
    while (!signal.aborted && Date.now() < relistAt) {
      await this.client.watch<T>(
        this.type,
        {
          namespace,
          query: {
            resourceVersion: rv,
            labelSelector: this.opts.labelSelector,
            timeoutSeconds: Math.max(1, Math.ceil((relistAt - Date.now()) / 1000)),
          },
          signal,
          idleTimeoutMs: this.opts.idleTimeoutMs ?? 120_000,
        },
        (ev) => {
          const objRV = ev.object.metadata.resourceVersion;
          if (objRV) rv = objRV;
          if (ev.type === 'BOOKMARK') return;
          const key = objectKey(ev.object);
          if (ev.type === 'DELETED') {
            this.cache.delete(key);
            this.emit(ev.object, 'deleted');
          } else {
            this.upsert(key, ev.object);
          }
        },
      );
    }
  }

  private upsert(key: string, obj: T): void {
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) this.emit(obj, 'added');
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
      this.emit(obj, 'updated', old);
  }

  private emit(obj: T, change: ChangeKind, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(obj, change, old);
      } catch (e: unknown) {
        this.log.error({ err: errorMessage(e) }, 'Change handler failed');
      }
    }
  }
}
