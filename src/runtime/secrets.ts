import { type KubeClient, SECRETS, isNotFound } from './kube-client.js';

export interface Secret {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

/** Reads Secrets of one namespace: their `data`, or undefined when the Secret does not exist. */
export function secretReader(
  client: KubeClient,
  namespace: string,
  signal?: AbortSignal,
): (name: string) => Promise<Record<string, string> | undefined> {
  return async (name) => {
    try {
      return (await client.get<Secret>(SECRETS, namespace, name, signal)).data ?? {};
    } catch (e: unknown) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
}
