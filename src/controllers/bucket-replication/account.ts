/**
 * The replication account a BucketReplication keeps on each managed destination site
 * (sites/replication-account.ts): the remote targets it creates carry this account's keys,
 * never the destination's root credentials. One account per resource (its name from the
 * resource's UID), its secret per destination site in a Secret the resource owns.
 */
import { createHash } from 'node:crypto';

import { BREP_KIND, type BucketReplication } from '../../api/bucket-replication.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import { ensureSecretEntries } from '../../runtime/secrets.js';
import type { ReplicationAccount } from '../../sites/replication-account.js';

/**
 * The target credentials each owned remote target was given last, by ARN (a fingerprint, never
 * the secret): a target whose fingerprint is not the current one gets the current keys.
 */
export const TARGET_CREDENTIALS_ANNOTATION = 'sitesync.io/remote-target-credentials';

type Owner = Pick<BucketReplication, 'apiVersion' | 'metadata'>;

const hashOf = (uid: string) => createHash('sha256').update(uid, 'utf8').digest('hex').slice(0, 10);

/** The account's user (20 characters, MinIO's limit) and policy names on every destination. */
export function accountNames(uid: string): Pick<ReplicationAccount, 'user' | 'policy'> {
  const h = hashOf(uid);
  return { user: `sitesync-r${h}`, policy: `sitesync-replication-${h}` };
}

/** The Secret holding the account's secret per destination site. */
export function accountSecretName(obj: Owner): string {
  const name = `${obj.metadata.name}-sitesync-replicator`;
  return name.length <= 253 ? name : `sitesync-brep-${hashOf(obj.metadata.uid ?? '')}`;
}

function owned(obj: Owner) {
  return {
    namespace: obj.metadata.namespace ?? '',
    name: accountSecretName(obj),
    labels: { 'app.kubernetes.io/managed-by': 'sitesync' },
    ownerUid: obj.metadata.uid ?? '',
    ownerReferences: [
      {
        apiVersion: obj.apiVersion,
        kind: BREP_KIND,
        name: obj.metadata.name,
        uid: obj.metadata.uid ?? '',
        controller: true,
      },
    ],
  };
}

/** The account on each of `sites`, its secret generated the first time a site needs one. */
export async function loadAccounts(
  kube: KubeClient,
  obj: Owner,
  sites: readonly string[],
): Promise<Map<string, ReplicationAccount>> {
  const names = accountNames(obj.metadata.uid ?? '');
  const secrets = await ensureSecretEntries(kube, owned(obj), sites);
  return new Map([...secrets].map(([site, secretKey]) => [site, { ...names, secretKey }]));
}

/** The annotation's fingerprints by ARN (empty when absent or unreadable). */
export function targetCredentials(obj: {
  metadata: { annotations?: Record<string, string> | undefined };
}): Record<string, string> {
  const raw = obj.metadata.annotations?.[TARGET_CREDENTIALS_ANNOTATION];
  if (raw === undefined) return {};
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(
      Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}
