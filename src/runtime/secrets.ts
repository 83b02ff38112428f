import { randomBytes } from 'node:crypto';

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

/** A Secret the operator owns: where it lives and what marks it as its own. */
export interface OwnedSecret {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ownerReferences: readonly object[];
}

const decode = (v: string | undefined) =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

/** A new random secret: 192 bits, base64url. */
export const randomSecret = () => randomBytes(24).toString('base64url');

/**
 * The values of `keys` in an owned Secret, each generated (`randomSecret`) and stored the first
 * time it is asked for; the Secret is created with the first one. An entry removed from the
 * Secret (or the whole Secret) is generated anew: that is how its holder rotates it. A patch
 * carries the resourceVersion read, so two writers never both generate one entry.
 */
export async function ensureSecretEntries(
  kube: KubeClient,
  owned: OwnedSecret,
  keys: readonly string[],
): Promise<Map<string, string>> {
  let secret: Secret | undefined;
  try {
    secret = await kube.get<Secret>(SECRETS, owned.namespace, owned.name);
  } catch (e: unknown) {
    if (!isNotFound(e)) throw e;
  }
  const out = new Map<string, string>();
  const missing: Record<string, string> = {};
  for (const key of keys) {
    const existing = decode(secret?.data?.[key]);
    const value = existing ?? randomSecret();
    if (existing === undefined) missing[key] = Buffer.from(value).toString('base64');
    out.set(key, value);
  }
  if (Object.keys(missing).length === 0) return out;
  if (secret === undefined) {
    await kube.create(SECRETS, owned.namespace, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: owned.name,
        namespace: owned.namespace,
        labels: owned.labels,
        ownerReferences: owned.ownerReferences,
      },
      type: 'Opaque',
      data: missing,
    });
  } else {
    await kube.patch(
      SECRETS,
      { namespace: owned.namespace, name: owned.name },
      { metadata: { resourceVersion: secret.metadata.resourceVersion }, data: missing },
    );
  }
  return out;
}
