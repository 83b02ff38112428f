import type { KubeClient, ResourceType } from './kube-client.js';
import { FIELD_MANAGER } from './status.js';

interface Finalizable {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    finalizers?: string[];
  };
}

export function hasFinalizer(obj: Finalizable, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/**
 * Adds `finalizer` with a JSON patch guarded by the resourceVersion we read, so a concurrent
 * writer makes it fail (409/422) instead of losing either change.
 */
export async function addFinalizer<T>(
  client: KubeClient,
  type: ResourceType,
  obj: Finalizable,
  finalizer: string,
): Promise<T | undefined> {
  if (hasFinalizer(obj, finalizer)) return undefined;
  const ops: unknown[] = [
    { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
  ];
  ops.push(
    obj.metadata.finalizers
      ? { op: 'add', path: '/metadata/finalizers/-', value: finalizer }
      : { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
  );
  return client.patch<T>(type, obj.metadata, ops, {
    patchType: 'json',
    fieldManager: FIELD_MANAGER,
  });
}

/** Removes `finalizer`, guarded by a `test` of the entry being removed. */
export async function removeFinalizer<T>(
  client: KubeClient,
  type: ResourceType,
  obj: Finalizable,
  finalizer: string,
): Promise<T | undefined> {
  const i = obj.metadata.finalizers?.indexOf(finalizer) ?? -1;
  if (i < 0) return undefined;
  return client.patch<T>(
    type,
    obj.metadata,
    [
      { op: 'test', path: `/metadata/finalizers/${i}`, value: finalizer },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ],
    { patchType: 'json', fieldManager: FIELD_MANAGER },
  );
}
