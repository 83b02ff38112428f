import { type KubeClient, type ResourceType, isConflict } from './kube-client.js';

export const FIELD_MANAGER = 'sitesync-operator';

/** Retries `fn` when the apiserver answers 409 Conflict, up to `attempts` times. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e: unknown) {
      if (!isConflict(e) || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 10 * 2 ** i));
    }
  }
}

/**
 * Writes `status` to the `/status` subresource as a merge patch. Lists in it (conditions,
 * sites) replace the stored ones, which is what a level-based controller computing the whole
 * status wants. Retried on conflict.
 */
export function patchStatus<T>(
  client: KubeClient,
  type: ResourceType,
  ref: { namespace?: string; name: string; signal?: AbortSignal | undefined },
  status: unknown,
): Promise<T> {
  const { signal, ...target } = ref;
  return retryOnConflict(() =>
    client.patch<T>(
      type,
      { ...target, subresource: 'status' },
      { status },
      { patchType: 'merge', fieldManager: FIELD_MANAGER, ...(signal ? { signal } : {}) },
    ),
  );
}

/** True when the two values are equal as JSON with sorted keys (to skip no-op writes). */
export function sameJSON(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

export function stableStringify(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : val,
  );
}
