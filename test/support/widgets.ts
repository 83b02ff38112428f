/**
 * A tiny CRD and controller used to test the generic runtime on the real apiserver,
 * independent of sitesync's own kinds.
 */
import { type Condition, setCondition } from '../../src/runtime/conditions.js';
import { Controller, type Reconcile } from '../../src/runtime/controller.js';
import { Informer } from '../../src/runtime/informer.js';
import type { KubeClient, ResourceType } from '../../src/runtime/kube-client.js';
import type { Logger } from '../../src/runtime/logger.js';
import { patchStatus } from '../../src/runtime/status.js';

export const WIDGETS: ResourceType = {
  group: 'test.sitesync.io',
  version: 'v1',
  plural: 'widgets',
  namespaced: true,
};

export const WIDGET_CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.test.sitesync.io}
spec:
  group: test.sitesync.io
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;

export interface Widget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; resourceVersion?: string };
  spec?: { value?: string; fail?: boolean; slowMs?: number };
  status?: { observedGeneration?: number; conditions?: Condition[]; handledBy?: string };
}

export function widget(namespace: string, name: string, spec: Widget['spec'] = {}): Widget {
  return { apiVersion: 'test.sitesync.io/v1', kind: 'Widget', metadata: { name, namespace }, spec };
}

/** A reconcile that marks a widget Ready with its generation and who handled it. */
export function widgetReconcile(
  client: KubeClient,
  informer: Informer<Widget>,
  identity: string,
  hooks: { onReconcile?: (key: string) => Promise<void> | void } = {},
): Reconcile {
  return async ({ namespace, name }, { signal }) => {
    await hooks.onReconcile?.(`${namespace}/${name}`);
    const obj = informer.get(`${namespace}/${name}`);
    if (!obj) return undefined;
    if (obj.spec?.fail) throw new Error(`widget ${name} is set to fail`);
    const conditions = setCondition(
      obj.status?.conditions,
      {
        type: 'Ready',
        status: 'True',
        reason: 'Reconciled',
        message: `value=${obj.spec?.value ?? ''}`,
        ...(obj.metadata.generation === undefined
          ? {}
          : { observedGeneration: obj.metadata.generation }),
      },
      new Date(),
    );
    await patchStatus(
      client,
      WIDGETS,
      { namespace, name, signal },
      { observedGeneration: obj.metadata.generation, conditions, handledBy: identity },
    );
    return undefined;
  };
}

export function widgetController(
  client: KubeClient,
  opts: {
    namespace?: string;
    identity: string;
    log?: Logger;
    backoff?: { baseMs: number; maxMs: number };
    onReconcile?: (key: string) => Promise<void> | void;
  },
) {
  const informer = new Informer<Widget>(client, WIDGETS, {
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    maxBackoffMs: 2000,
  });
  const controller = new Controller<Widget>({
    name: 'widget',
    informer,
    reconcile: widgetReconcile(client, informer, opts.identity, opts),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    resyncMs: 0,
  });
  return { informer, controller };
}
