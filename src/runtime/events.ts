import { randomBytes } from 'node:crypto';

import { type Clock, systemClock } from './clock.js';
import { aborted } from './signals.js';
import { EVENTS, type KubeClient, isNotFound } from './kube-client.js';
import { type Logger, errorMessage, silentLogger } from './logger.js';
import { MAX_EVENT_MESSAGE, bounded } from './messages.js';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

/**
 * Records Kubernetes Events (core/v1, what `kubectl describe` shows). The same event (object,
 * type, reason, message) within `dedupeMs` bumps the count of the existing Event instead of
 * creating another. Never throws: an event that cannot be written is logged.
 */
export class EventRecorder {
  private readonly seen = new Map<string, Recorded>();

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly opts: { clock?: Clock; log?: Logger; dedupeMs?: number } = {},
  ) {}

  /** Set on a view from `withSignal`. */
  private readonly signal: AbortSignal | undefined;

  /**
   * This recorder writing under `signal` (a reconcile's): once it aborts, no Event is written.
   * The view shares the de-duplication of this one.
   */
  withSignal(signal: AbortSignal): EventRecorder {
    return Object.create(this, {
      client: { value: this.client.withSignal(signal) },
      signal: { value: signal },
    }) as EventRecorder;
  }

  async record(obj: InvolvedObject, type: EventType, reason: string, text: string): Promise<void> {
    if (this.signal?.aborted === true) return;
    const message = bounded(text, MAX_EVENT_MESSAGE);
    const key = JSON.stringify([obj.metadata.uid ?? obj.metadata.name, type, reason, message]);
    try {
      if (await this.bump(key)) return;
      await this.create(key, obj, { type, reason, message });
    } catch (e: unknown) {
      if (this.signal && aborted(this.signal)) return;
      (this.opts.log ?? silentLogger).warn(
        { err: errorMessage(e), reason },
        'Could not record Event',
      );
    }
  }

  private now(): number {
    return (this.opts.clock ?? systemClock).now();
  }

  /** Counts a repeat of a recent event on the existing Event; false if there is none. */
  private async bump(key: string): Promise<boolean> {
    const prev = this.seen.get(key);
    if (!prev || this.now() - prev.at >= (this.opts.dedupeMs ?? 600_000)) return false;
    prev.count++;
    prev.at = this.now();
    try {
      await this.client.patch(
        EVENTS,
        { namespace: prev.namespace, name: prev.name },
        { count: prev.count, lastTimestamp: new Date(this.now()).toISOString() },
      );
      return true;
    } catch (e: unknown) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  private async create(
    key: string,
    obj: InvolvedObject,
    ev: { type: EventType; reason: string; message: string },
  ): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const now = new Date(this.now()).toISOString();
    const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
    await this.client.create(EVENTS, namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type: ev.type,
      reason: ev.reason,
      message: ev.message.slice(0, 1024),
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component },
      reportingComponent: this.component,
    });
    this.seen.set(key, { name, namespace, count: 1, at: this.now() });
    const oldest = this.seen.keys().next();
    if (this.seen.size > 4096 && !oldest.done) this.seen.delete(oldest.value);
  }
}
