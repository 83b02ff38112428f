import { randomBytes } from 'node:crypto';

import { type Clock, systemClock } from './clock.js';
import { EVENTS, type KubeClient, isNotFound } from './kube-client.js';
import { type Logger, errorMessage, silentLogger } from './logger.js';

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

  async record(
    obj: InvolvedObject,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const clock = this.opts.clock ?? systemClock;
    const log = this.opts.log ?? silentLogger;
    const namespace = obj.metadata.namespace ?? 'default';
    const key = [obj.metadata.uid ?? obj.metadata.name, type, reason, message].join('\u0000');
    const now = new Date(clock.now()).toISOString();
    const prev = this.seen.get(key);
    try {
      if (prev && clock.now() - prev.at < (this.opts.dedupeMs ?? 600_000)) {
        prev.count++;
        prev.at = clock.now();
        try {
          await this.client.patch(
            EVENTS,
            { namespace, name: prev.name },
            { count: prev.count, lastTimestamp: now },
          );
          return;
        } catch (e: unknown) {
          if (!isNotFound(e)) throw e;
        }
      }
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
        type,
        reason,
        message: message.slice(0, 1024),
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
        reportingComponent: this.component,
      });
      this.seen.set(key, { name, namespace, count: 1, at: clock.now() });
      if (this.seen.size > 4096) this.seen.delete(this.seen.keys().next().value as string);
    } catch (e: unknown) {
      log.warn({ err: errorMessage(e), reason }, 'Could not record Event');
    }
  }
}
