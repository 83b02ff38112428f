/**
 * The Kubernetes objects a group owns besides itself: the agreed state (digests only, a
 * ConfigMap, the base of the three-way merge) and the replication accounts' secrets (a Secret,
 * one key per site). Every call goes through the pass's client, so nothing is written once the
 * pass is aborted.
 */
import { SRG_KIND } from '../../api/site-replication-group.js';
import {
  type AgreedState,
  AgreedStateDecodeError,
  agreedStateText,
  decodeAgreedStateText,
  emptyAgreedState,
  encodeAgreedState,
} from '../../replication/agreed-state.js';
import { CONFIGMAPS, type KubeClient, SECRETS, isNotFound } from '../../runtime/kube-client.js';
import { type OwnedMeta, leftByPredecessor } from '../../runtime/meta.js';
import type { Secret } from '../../runtime/secrets.js';
import { FIELD_MANAGER } from '../../runtime/status.js';
import { newReplicationSecret } from '../../sites/replication-account.js';

/** The group that owns the objects. */
export interface Owner {
  name: string;
  namespace: string;
  uid: string;
  apiVersion: string;
}

export const agreedStateName = (group: string) => `${group}-sitesync-state`;
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

interface ConfigMap extends OwnedMeta {
  metadata: {
    name: string;
    resourceVersion?: string;
    labels?: Record<string, string> | undefined;
    ownerReferences?:
      | readonly { uid: string; kind?: string | undefined; controller?: boolean | undefined }[]
      | undefined;
  };
  binaryData?: Record<string, string>;
}

/** The agreed state as stored, and what is wrong with it when it cannot be used as it is. */
export interface LoadedAgreed {
  state: AgreedState;
  /** `missing`: no ConfigMap (new group, or lost); `corrupt`: it cannot be decoded. */
  problem?: { kind: 'missing' | 'corrupt'; message: string } | undefined;
}

/**
 * The agreed state of the group whose UID is `uid`. One left by a deleted group of the same name
 * (the garbage collector, not the finalizer, removes it) is read as missing: never the base of
 * this group's merge.
 */
export async function loadAgreed(
  kube: KubeClient,
  group: { namespace: string; name: string },
  uid: string,
): Promise<LoadedAgreed> {
  const name = agreedStateName(group.name);
  const missing = (why: string) => ({
    state: emptyAgreedState(),
    problem: { kind: 'missing' as const, message: `the agreed state (ConfigMap ${name}) ${why}` },
  });
  try {
    STORED.delete(storedKey(group.namespace, name));
    const cm = await kube.get<ConfigMap>(CONFIGMAPS, group.namespace, name);
    if (leftByPredecessor(cm, uid)) return missing('belongs to a deleted group of the same name');
    const { state, text } = decodeAgreedStateText(cm.binaryData);
    if (text !== undefined && intact(cm, { group: group.name, uid })) {
      remember(storedKey(group.namespace, name), `${uid}\n${text}`);
    }
    return { state };
  } catch (e: unknown) {
    if (isNotFound(e)) return missing('does not exist');
    if (e instanceof AgreedStateDecodeError) {
      const message = `ConfigMap ${name}: ${e.message}`;
      return { state: emptyAgreedState(), problem: { kind: 'corrupt', message } };
    }
    throw e;
  }
}

/**
 * The text of the agreed state as this pass read it, by ConfigMap (`uid NL text`), when the
 * ConfigMap is whole (its labels and controller reference are ours): saving the very same
 * state again is skipped (a steady pass writes nothing to the API server, and does not gzip
 * the state at level 9 to find that out). Read afresh by every pass's loadAgreed; bounded.
 */
const STORED = new Map<string, string>();
const STORED_MAX = 256;

const storedKey = (namespace: string, name: string) => `${namespace}/${name}`;

function remember(key: string, value: string): void {
  STORED.delete(key);
  STORED.set(key, value);
  if (STORED.size > STORED_MAX) {
    const oldest = STORED.keys().next().value;
    if (oldest !== undefined) STORED.delete(oldest);
  }
}

/** The ConfigMap carries what saveAgreed writes besides the state: labels, controller ref. */
function intact(cm: ConfigMap, owner: { group: string; uid: string }): boolean {
  const want = labels(owner.group);
  const have = cm.metadata.labels ?? {};
  return (
    Object.entries(want).every(([k, v]) => have[k] === v) &&
    (cm.metadata.ownerReferences ?? []).some(
      (r) => r.uid === owner.uid && r.kind === SRG_KIND && r.controller === true,
    )
  );
}

export async function saveAgreed(kube: KubeClient, owner: Owner, state: AgreedState) {
  const name = agreedStateName(owner.name);
  const key = storedKey(owner.namespace, name);
  if (STORED.get(key) === `${owner.uid}\n${agreedStateText(state)}`) return;
  STORED.delete(key);
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

async function readSecret(kube: KubeClient, namespace: string, name: string) {
  try {
    return await kube.get<Secret>(SECRETS, namespace, name);
  } catch (e: unknown) {
    if (!isNotFound(e)) throw e;
    return undefined;
  }
}

/**
 * The secrets of `sites` and the Secret data to write: kept where there is one (unless
 * `rotate`), new where there is none; with `rotate`, keys of other sites dropped (null).
 */
function secretValues(
  data: Readonly<Record<string, string>> | undefined,
  sites: readonly string[],
  rotate: boolean,
): { values: Map<string, string>; write: Record<string, string | null> } {
  const values = new Map<string, string>();
  const write: Record<string, string | null> = {};
  for (const site of sites) {
    const existing = rotate ? undefined : decode(data?.[site]);
    const value = existing ?? newReplicationSecret();
    if (existing === undefined) write[site] = Buffer.from(value).toString('base64');
    values.set(site, value);
  }
  if (rotate)
    for (const key of Object.keys(data ?? {}))
      // The digest key is not a site's: it stays (it seals the agreed state, not a link).
      if (!sites.includes(key) && key !== DIGEST_KEY_ENTRY) write[key] = null;
  return { values, write };
}

/**
 * The replication accounts' secrets, one per site, generated for sites that have none yet;
 * with `rotate`, new ones for every site, and the keys of sites no longer listed dropped.
 */
export async function loadReplicatorSecrets(
  kube: KubeClient,
  owner: Owner,
  sites: readonly string[],
  opts: { rotate?: boolean } = {},
): Promise<Map<string, string>> {
  const name = replicatorSecretName(owner.name);
  const secret = await readSecret(kube, owner.namespace, name);
  // A deleted namesake's Secret: none of its values is this group's; all are replaced.
  const stale = secret !== undefined && leftByPredecessor(secret, owner.uid);
  const { values, write } = secretValues(
    stale ? undefined : secret?.data,
    sites,
    opts.rotate === true,
  );
  if (stale) for (const key of Object.keys(secret.data ?? {})) write[key] ??= null;
  if (Object.keys(write).length === 0) return values;
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
      data: Object.fromEntries(Object.entries(write).filter(([, v]) => v !== null)),
    });
  } else {
    await kube.patch(
      SECRETS,
      { namespace: owner.namespace, name },
      {
        metadata: {
          resourceVersion: secret.metadata.resourceVersion,
          ...(stale ? { ownerReferences: [ownerReference(owner)] } : {}),
        },
        data: write,
      },
    );
  }
  return values;
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
