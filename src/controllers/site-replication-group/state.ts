/**
 * The Kubernetes objects a group owns besides itself: the agreed state (digests only, a
 * ConfigMap, the base of the three-way merge) and the replication accounts' secrets (a Secret,
 * one key per site). Every call goes through the pass's client, so nothing is written once the
 * pass is aborted.
 */
import { randomBytes } from 'node:crypto';

import { SRG_KIND } from '../../api/site-replication-group.js';
import {
  type AgreedState,
  decodeAgreedState,
  emptyAgreedState,
  encodeAgreedState,
} from '../../replication/agreed-state.js';
import { CONFIGMAPS, type KubeClient, SECRETS, isNotFound } from '../../runtime/kube-client.js';
import type { Secret } from '../../runtime/secrets.js';
import { FIELD_MANAGER } from '../../runtime/status.js';

/** The group that owns the objects. */
export interface Owner {
  name: string;
  namespace: string;
  uid: string;
  apiVersion: string;
}

const agreedStateName = (group: string) => `${group}-sitesync-state`;
const replicatorSecretName = (group: string) => `${group}-sitesync-replicator`;

const labels = (group: string) => ({
  'app.kubernetes.io/managed-by': 'sitesync',
  'sitesync.io/group': group,
});

const ownerReference = (o: Owner) => ({
  apiVersion: o.apiVersion,
  kind: SRG_KIND,
  name: o.name,
  uid: o.uid,
  controller: true,
});

interface ConfigMap {
  metadata: { name: string; resourceVersion?: string };
  binaryData?: Record<string, string>;
}

export async function loadAgreed(
  kube: KubeClient,
  group: { namespace: string; name: string },
): Promise<AgreedState> {
  try {
    const cm = await kube.get<ConfigMap>(CONFIGMAPS, group.namespace, agreedStateName(group.name));
    return decodeAgreedState(cm.binaryData);
  } catch (e: unknown) {
    if (isNotFound(e)) return emptyAgreedState();
    throw e;
  }
}

export async function saveAgreed(kube: KubeClient, owner: Owner, state: AgreedState) {
  const name = agreedStateName(owner.name);
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: owner.namespace,
      labels: labels(owner.name),
      ownerReferences: [ownerReference(owner)],
    },
    binaryData: encodeAgreedState(state),
  };
  await kube.patch(CONFIGMAPS, { namespace: owner.namespace, name }, cm, {
    patchType: 'apply',
    fieldManager: FIELD_MANAGER,
    force: true,
  });
}

const decode = (v: string | undefined) =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

/** The replication accounts' secrets, one per site, generated for sites that have none yet. */
export async function loadReplicatorSecrets(
  kube: KubeClient,
  owner: Owner,
  sites: readonly string[],
): Promise<Map<string, string>> {
  const name = replicatorSecretName(owner.name);
  let secret: Secret | undefined;
  try {
    secret = await kube.get<Secret>(SECRETS, owner.namespace, name);
  } catch (e: unknown) {
    if (!isNotFound(e)) throw e;
  }
  const out = new Map<string, string>();
  const missing: Record<string, string> = {};
  for (const site of sites) {
    const existing = decode(secret?.data?.[site]);
    const value = existing ?? randomBytes(24).toString('base64url');
    if (existing === undefined) missing[site] = Buffer.from(value).toString('base64');
    out.set(site, value);
  }
  if (Object.keys(missing).length === 0) return out;
  if (secret === undefined) {
    await kube.create(SECRETS, owner.namespace, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: owner.namespace,
        labels: labels(owner.name),
        ownerReferences: [ownerReference(owner)],
      },
      type: 'Opaque',
      data: missing,
    });
  } else {
    await kube.patch(
      SECRETS,
      { namespace: owner.namespace, name },
      { metadata: { resourceVersion: secret.metadata.resourceVersion }, data: missing },
    );
  }
  return out;
}

/**
 * The entry of the replicator Secret that holds the group's digest key (not a DNS label, so it
 * never clashes with a site's entry): created with the Secret, replaced with it.
 */
export const DIGEST_KEY_ENTRY = '.digest-key';

/** The group's digest key (replication/secret-digest.ts), generated on first use. */
export async function loadDigestKey(kube: KubeClient, owner: Owner): Promise<string> {
  const secrets = await loadReplicatorSecrets(kube, owner, [DIGEST_KEY_ENTRY]);
  const key = secrets.get(DIGEST_KEY_ENTRY);
  if (key === undefined) throw new Error(`no ${DIGEST_KEY_ENTRY} in the replicator Secret`);
  return key;
}

/** Deletes the ConfigMap and the Secret (the finalizer; owner references would do it later). */
export async function deleteOwnedObjects(
  kube: KubeClient,
  group: { namespace: string; name: string },
): Promise<void> {
  for (const [type, name] of [
    [CONFIGMAPS, agreedStateName(group.name)],
    [SECRETS, replicatorSecretName(group.name)],
  ] as const) {
    await kube.delete(type, group.namespace, name).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }
}
