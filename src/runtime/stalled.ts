import type { ObjectRef, Stalled } from './controller.js';
import type { EventRecorder } from './events.js';
import type { Informer } from './informer.js';
import type { KubeClient, ResourceType } from './kube-client.js';
import { type ConditionedStatus, stalledStatus } from './kstatus.js';
import { patchStatus, sameJSON } from './status.js';

/** What the stalled hook needs of an object. */
export interface StallableObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
  };
  status?: ConditionedStatus | undefined;
}

/**
 * The `stalled` hook every kind uses: a TerminalError becomes `Stalled=True`, `Ready=False`
 * with its reason and message in the status (written only when it changes), and one Warning
 * Event. Under the reconcile's signal, like the rest of the pass.
 */
export function stalledReporter<T extends StallableObject>(opts: {
  resource: ResourceType;
  informer: Informer<T>;
  client: KubeClient;
  recorder: EventRecorder;
  now?: (() => Date) | undefined;
}): Stalled {
  return async (ref: ObjectRef, error, ctx) => {
    const obj = opts.informer.get(`${ref.namespace}/${ref.name}`);
    if (!obj) return;
    const why = { reason: error.reason, message: error.message };
    const now = opts.now?.() ?? new Date();
    const status = stalledStatus(obj.status, obj.metadata.generation ?? 0, why, now);
    if (!sameJSON(obj.status, status)) {
      await patchStatus(opts.client.withSignal(ctx.signal), opts.resource, ref, status);
    }
    await opts.recorder.withSignal(ctx.signal).record(obj, 'Warning', why.reason, why.message);
  };
}
