/**
 * Replication accounts: the least-privilege users a site's peers put in their remote targets
 * to write replicas into it, never root. Flavor-neutral (it speaks `SiteClient`'s IAM ops), so
 * every controller that links sites uses the same account logic.
 *
 * An account belongs to one owner (a SiteReplicationGroup, by its UID), so owners sharing a
 * site never touch each other's account, policy, rules or targets: the user is
 * `sitesync-<id>`, its policy `sitesync-replication-<id>`, the owner's replication rules
 * `sitesync-<id>-<peer>`, where `<id>` is 10 hex digits of the SHA-256 of the owner's UID
 * (19 characters: MinIO access keys are 3 to 20 characters). Earlier versions used one fixed
 * account per site for every group (`sitesync-replicator`, policy `sitesync-replication`,
 * rules `sitesync-<peer>`): those legacy names are adopted (targets switched over in place)
 * and then cleaned up.
 */
import { createHash, randomBytes } from 'node:crypto';

import { RESERVED_PREFIX } from '../api/names.js';
import type { IamState } from './snapshot.js';
import type { SiteClient } from './site-client.js';

/** The fixed account of versions before per-group accounts. */
export const LEGACY_REPLICATOR_USER = `${RESERVED_PREFIX}replicator`;
export const LEGACY_REPLICATOR_POLICY = `${RESERVED_PREFIX}replication`;

/** The names one owner's replication account and links use on every site. */
export interface ReplicationAccountNames {
  /** `sitesync-<id>`: the access key of the account. */
  user: string;
  /** `sitesync-replication-<id>`. */
  policy: string;
  /** `sitesync-<id>-`: the owner's replication rule towards `peer` is this plus the peer. */
  rulePrefix: string;
}

/** 10 hex digits of the SHA-256 of the owner's UID. */
export function accountId(ownerUid: string): string {
  return createHash('sha256').update(ownerUid, 'utf8').digest('hex').slice(0, 10);
}

export function replicationAccountNames(ownerUid: string): ReplicationAccountNames {
  const id = accountId(ownerUid);
  return {
    user: `${RESERVED_PREFIX}${id}`,
    policy: `${RESERVED_PREFIX}replication-${id}`,
    rulePrefix: `${RESERVED_PREFIX}${id}-`,
  };
}

/** A new secret key: 32 URL-safe characters (MinIO takes 8 to 40). */
export function newReplicationSecret(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * A digest of a credential's secret, to tell whether a remote target holds the current one
 * without keeping the secret: in memory only, never written anywhere.
 */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(`sitesync-target-secret:${secret}`, 'utf8').digest('hex');
}

/** What a replication target needs on the site that receives replicas, and nothing more. */
export const REPLICATION_POLICY_DOC = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: [
        's3:GetReplicationConfiguration',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:GetBucketLocation',
        's3:GetBucketVersioning',
        's3:GetBucketObjectLockConfiguration',
        's3:GetEncryptionConfiguration',
      ],
      Resource: ['arn:aws:s3:::*'],
    },
    {
      Effect: 'Allow',
      Action: [
        's3:GetObject',
        's3:GetObjectVersion',
        's3:GetObjectVersionTagging',
        's3:GetObjectRetention',
        's3:GetObjectLegalHold',
        's3:PutObject',
        's3:PutObjectRetention',
        's3:PutObjectLegalHold',
        's3:DeleteObject',
        's3:AbortMultipartUpload',
        's3:ReplicateObject',
        's3:ReplicateDelete',
        's3:ReplicateTags',
      ],
      Resource: ['arn:aws:s3:::*/*'],
    },
  ],
};

export interface EnsureAccountOptions {
  names: ReplicationAccountNames;
  secretKey: string;
  /** Whether the site's stored policy document says what `REPLICATION_POLICY_DOC` says. */
  samePolicy: (stored: unknown, wanted: unknown) => boolean;
  signal: AbortSignal;
}

/**
 * Makes the site hold the account, enabled, with `secretKey` and exactly its policy; `iam` is
 * what the site held when observed. Returns what it changed, in words (empty: nothing).
 */
export async function ensureReplicationAccount(
  client: SiteClient,
  iam: IamState,
  opts: EnsureAccountOptions,
): Promise<string[]> {
  const { names, signal } = opts;
  const changed: string[] = [];
  const policy = iam.policies.get(names.policy);
  if (policy === undefined || !opts.samePolicy(policy, REPLICATION_POLICY_DOC)) {
    await client.putPolicy(names.policy, REPLICATION_POLICY_DOC, signal);
    changed.push(`policy ${names.policy}`);
  }
  const user = iam.users.get(names.user);
  if (user?.secretKey !== opts.secretKey || user.status !== 'enabled') {
    await client.putUser(names.user, { secretKey: opts.secretKey, status: 'enabled' }, signal);
    changed.push(user === undefined ? `account ${names.user}` : `credentials of ${names.user}`);
  }
  const mapped = iam.userPolicies.get(names.user)?.policies ?? [];
  if (mapped.length !== 1 || mapped[0] !== names.policy) {
    await client.setPolicyMapping('user', names.user, [names.policy], signal);
    changed.push(`policy mapping of ${names.user}`);
  }
  return changed;
}

/** Removes an account and its policy from a site, where the site holds them. */
export async function removeReplicationAccount(
  client: SiteClient,
  iam: IamState,
  account: { user: string; policy: string },
  signal: AbortSignal,
): Promise<string[]> {
  const removed: string[] = [];
  if (iam.users.has(account.user)) {
    await client.deleteUser(account.user, signal);
    removed.push(`account ${account.user}`);
  }
  if (iam.policies.has(account.policy)) {
    await client.deletePolicy(account.policy, signal);
    removed.push(`policy ${account.policy}`);
  }
  return removed;
}
