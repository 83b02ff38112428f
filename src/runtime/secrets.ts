import { randomBytes } from 'node:crypto';

import { type KubeClient, SECRETS, isNotFound } from './kube-client.js';
import { leftByPredecessor } from './meta.js';

export interface Secret {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    ownerReferences?: readonly { uid: string }[] | undefined;
  };
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
  /** The owner's UID: a Secret whose owner references lack it was a deleted namesake's. */
  ownerUid: string;
}

const decode = (v: string | undefined) =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

/** A new random secret: 192 bits, base64url. */
export const randomSecret = () => randomBytes(24).toString('base64url');

/**
 * The values of `keys` and the entries to write: kept where `data` has one, generated where it
 * has none; with `replace`, every value new and every other entry of `data` dropped (null).
 */
function entryValues(
  data: Readonly<Record<string, string>> | undefined,
  keys: readonly string[],
  replace: boolean,
): { values: Map<string, string>; write: Record<string, string | null> } {
  const values = new Map<string, string>();
  const write: Record<string, string | null> = {};
  if (replace) for (const key of Object.keys(data ?? {})) write[key] = null;
  for (const key of keys) {
    const existing = replace ? undefined : decode(data?.[key]);
    const value = existing ?? randomSecret();
    if (existing === undefined) write[key] = Buffer.from(value).toString('base64');
    values.set(key, value);
  }
  return { values, write };
}

async function readOwned(kube: KubeClient, owned: OwnedSecret): Promise<Secret | undefined> {
  try {
    return await kube.get<Secret>(SECRETS, owned.namespace, owned.name);
  } catch (e: unknown) {
    if (!isNotFound(e)) throw e;
    return undefined;
  }
}

/**
 * The values of `keys` in an owned Secret, each generated (`randomSecret`) and stored the first
 * time it is asked for; the Secret is created with the first one. An entry removed from the
 * Secret (or the whole Secret) is generated anew: that is how its holder rotates it. A patch
 * carries the resourceVersion read, so two writers never both generate one entry. A Secret left
 * by a deleted owner of the same name (the garbage collector removes it, in time) is replaced
 * whole: new values, this owner's reference.
 */
export async function ensureSecretEntries(
  kube: KubeClient,
  owned: OwnedSecret,
  keys: readonly string[],
): Promise<Map<string, string>> {
  const secret = await readOwned(kube, owned);
  const stale = secret !== undefined && leftByPredecessor(secret, owned.ownerUid);
  const { values, write } = entryValues(secret?.data, keys, stale);
  if (Object.keys(write).length === 0) return values;
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
      data: write,
    });
  } else {
    const metadata = {
      resourceVersion: secret.metadata.resourceVersion,
      ...(stale ? { ownerReferences: owned.ownerReferences } : {}),
    };
    await kube.patch(
      SECRETS,
      { namespace: owned.namespace, name: owned.name },
      { metadata, data: write },
    );
  }
  return values;
}
