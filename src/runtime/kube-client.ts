import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';

import { fetch } from 'undici';

import type { KubeAuth } from './kube-auth.js';

/** Where a kind of resource lives in the API. */
export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  plural: string;
  namespaced: boolean;
}

export const LEASES: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  namespaced: true,
};
export const EVENTS: ResourceType = {
  group: '',
  version: 'v1',
  plural: 'events',
  namespaced: true,
};
export const SECRETS: ResourceType = {
  group: '',
  version: 'v1',
  plural: 'secrets',
  namespaced: true,
};
export const CONFIGMAPS: ResourceType = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  namespaced: true,
};

/** An error answered by the apiserver, with its HTTP status and `Status.reason`. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeApiError && e.status === 404;
export const isConflict = (e: unknown) => e instanceof KubeApiError && e.status === 409;
export const isGone = (e: unknown) => e instanceof KubeApiError && e.status === 410;

export type PatchType = 'merge' | 'json' | 'apply' | 'strategic';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
  strategic: 'application/strategic-merge-patch+json',
};

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface ListResult<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  contentType?: string | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export function resourcePath(type: ResourceType, namespace?: string, name?: string): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const ns =
    type.namespaced && namespace !== undefined
      ? `/namespaces/${encodeURIComponent(namespace)}`
      : '';
  const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${base}${ns}/${type.plural}${tail}`;
}

type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * A small typed REST client over a KubeAuth (runtime/kube-auth.ts: the kubeconfig or the
 * service account, with or without @kubernetes/client-node): it leaves the object types to us
 * and surfaces the apiserver's status code and reason on every failure.
 */
export class KubeClient {
  constructor(
    readonly config: KubeAuth,
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  private async prepare(path: string, method: HttpMethod, opts: RequestOptions) {
    const url = new URL(this.config.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const auth = await this.config.authenticate(url, method);
    const headers = { ...auth.headers };
    const dispatcher = auth.dispatcher;
    headers['accept'] = 'application/json';
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    return { url, headers, dispatcher };
  }

  /** The request's own signal, the view's, and the timeout, as one. */
  private requestSignal(opts: RequestOptions): AbortSignal {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.defaultTimeoutMs);
    const signals = [opts.signal, this.bound].filter((s) => s !== undefined);
    return signals.length > 0 ? AbortSignal.any([...signals, timeout]) : timeout;
  }

  /** Set on a view from `withSignal`: every request of the view carries it. */
  private readonly bound: AbortSignal | undefined;

  /**
   * This client with every request made under `signal` as well (a reconcile's): once it
   * aborts, nothing more is sent and requests reject with its reason. Shares the kubeconfig.
   */
  withSignal(signal: AbortSignal): KubeClient {
    return Object.create(this, { bound: { value: signal } }) as KubeClient;
  }

  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    this.bound?.throwIfAborted();
    const { url, headers, dispatcher } = await this.prepare(path, method, opts);
    this.bound?.throwIfAborted();
    const signal = this.requestSignal(opts);
    const body =
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string'
          ? opts.body
          : JSON.stringify(opts.body);
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal,
        ...(dispatcher ? { dispatcher } : {}),
      });
    } catch (e: unknown) {
      this.bound?.throwIfAborted();
      throw e;
    }
    const text = await res.text();
    if (!res.ok) throw toApiError(res.status, text, `${method} ${path}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  get<T>(type: ResourceType, namespace: string | undefined, name: string, signal?: AbortSignal) {
    return this.request<T>('GET', resourcePath(type, namespace, name), { signal });
  }

  list<T>(
    type: ResourceType,
    namespace: string | undefined,
    query: RequestOptions['query'] = {},
    signal?: AbortSignal,
  ) {
    return this.request<ListResult<T>>('GET', resourcePath(type, namespace), {
      query,
      signal,
    });
  }

  create<T>(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    signal?: AbortSignal,
  ) {
    return this.request<T>('POST', resourcePath(type, namespace), { body, signal });
  }

  patch<T>(
    type: ResourceType,
    ref: { namespace?: string | undefined; name: string; subresource?: 'status' },
    patch: unknown,
    opts: {
      patchType?: PatchType;
      fieldManager?: string;
      force?: boolean;
      signal?: AbortSignal | undefined;
    } = {},
  ) {
    const path =
      resourcePath(type, ref.namespace, ref.name) + (ref.subresource ? `/${ref.subresource}` : '');
    return this.request<T>('PATCH', path, {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[opts.patchType ?? 'merge'],
      query: { fieldManager: opts.fieldManager, force: opts.force },
      signal: opts.signal,
    });
  }

  delete(type: ResourceType, namespace: string | undefined, name: string, signal?: AbortSignal) {
    return this.request<unknown>('DELETE', resourcePath(type, namespace, name), {
      signal,
    });
  }

  /**
   * Streams a watch. Resolves when the server closes the stream or `signal` aborts; rejects on
   * a transport error or when no byte (events or bookmarks) arrives for `idleTimeoutMs`.
   */
  async watch<T>(type: ResourceType, opts: WatchOptions, onEvent: (ev: WatchEvent<T>) => void) {
    const path = resourcePath(type, opts.namespace);
    const { url, headers, dispatcher } = await this.prepare(path, 'GET', {
      query: { ...opts.query, watch: true, allowWatchBookmarks: true },
    });
    const local = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, local.signal]) : local.signal;
    const idle = new IdleTimer(local, opts.idleTimeoutMs ?? 120_000, type.plural);
    try {
      const res = await fetch(url, { headers, signal, ...(dispatcher ? { dispatcher } : {}) });
      if (!res.ok || !res.body) throw toApiError(res.status, await res.text(), `WATCH ${path}`);
      await readEvents(Readable.fromWeb(res.body), idle, onEvent);
    } catch (e: unknown) {
      if (opts.signal?.aborted) return;
      throw local.signal.reason instanceof Error ? local.signal.reason : e;
    } finally {
      idle.stop();
    }
  }
}

/**
 * Feeds each line of a watch stream to `onEvent` until the stream ends, then closes it. Stream
 * errors end the loop; those our own teardown causes afterwards are expected and absorbed.
 */
async function readEvents<T>(
  input: Readable,
  idle: IdleTimer,
  onEvent: (ev: WatchEvent<T>) => void,
): Promise<void> {
  let streamError: Error | undefined;
  input.on('error', (e) => (streamError ??= e));
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      idle.touch();
      if (line.trim() !== '') onEvent(parseWatchLine<T>(line));
    }
    if (streamError !== undefined && !idle.fired()) throw streamError;
  } finally {
    input.destroy();
  }
}

export interface WatchOptions {
  namespace?: string | undefined;
  query?: RequestOptions['query'];
  signal?: AbortSignal | undefined;
  idleTimeoutMs?: number | undefined;
}

/** Aborts `controller` when `touch` has not been called for `ms`. */
class IdleTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly controller: AbortController,
    private readonly ms: number,
    private readonly what: string,
  ) {
    this.touch();
  }

  /** The idle timeout has aborted the watch. */
  fired(): boolean {
    return this.controller.signal.aborted;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.controller.abort(new Error(`Watch of ${this.what} was idle for ${this.ms} ms`));
    }, this.ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

function parseWatchLine<T>(line: string): WatchEvent<T> {
  const ev = JSON.parse(line) as WatchEvent<T>;
  if (ev.type === 'ERROR') {
    const st = ev.object as { code?: number; reason?: string; message?: string };
    throw new KubeApiError(st.code ?? 500, st.reason ?? 'Unknown', st.message ?? 'watch error');
  }
  return ev;
}

function toApiError(status: number, text: string, what: string): KubeApiError {
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeApiError(
      status,
      st.reason ?? 'Unknown',
      st.message ?? `${what}: HTTP ${status}`,
    );
  } catch {
    return new KubeApiError(status, 'Unknown', `${what}: HTTP ${status}`);
  }
}
