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
import type { RemoteTargetRequest, SiteClient } from './site-client.js';
import { isSiteError } from './site-error.js';

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

/*
 * A replication account whose secret the caller holds (a BucketReplication's, on each managed
 * destination): written when a call made with its keys is refused, pushed into the targets
 * that use it when it rotates, removed with its owner.
 */

export interface ReplicationAccount {
  /** The user name, also its access key (MinIO: 3 to 20 characters). */
  user: string;
  /** The policy mapped to it, and only it. */
  policy: string;
  secretKey: string;
  /** The policy document (default: the replication actions). */
  policyDoc?: unknown;
}

/** What of the account a site does not hold as it should, read from its IAM state. */
export type AccountPart = 'policy' | 'user' | 'mapping';

/**
 * The parts of `account` that `iam` (a snapshot of the site) does not hold as they should be.
 * `samePolicy` compares policy documents as the site may rewrite them (the caller's canonical
 * form: sites depend on api only).
 */
export function accountDrift(
  iam: IamState,
  account: ReplicationAccount,
  samePolicy: (held: unknown, wanted: unknown) => boolean,
): AccountPart[] {
  const doc = account.policyDoc ?? REPLICATION_POLICY_DOC;
  const drift: AccountPart[] = [];
  const policy = iam.policies.get(account.policy);
  if (policy === undefined || !samePolicy(policy, doc)) drift.push('policy');
  const user = iam.users.get(account.user);
  if (user?.secretKey !== account.secretKey || user.status !== 'enabled') drift.push('user');
  const mapped = iam.userPolicies.get(account.user)?.policies ?? [];
  if (mapped.length !== 1 || mapped[0] !== account.policy) drift.push('mapping');
  return drift;
}

const ALL_PARTS: readonly AccountPart[] = ['policy', 'user', 'mapping'];

/**
 * Makes `site` hold the account with exactly its policy: the parts named (all three when the
 * caller does not know what the site holds). Returns what it wrote, in words.
 */
export async function ensureAccount(
  site: SiteClient,
  account: ReplicationAccount,
  signal: AbortSignal,
  parts: readonly AccountPart[] = ALL_PARTS,
): Promise<string[]> {
  const done: string[] = [];
  if (parts.includes('policy')) {
    await site.putPolicy(account.policy, account.policyDoc ?? REPLICATION_POLICY_DOC, signal);
    done.push(`policy ${account.policy}`);
  }
  if (parts.includes('user')) {
    await site.putUser(account.user, { secretKey: account.secretKey, status: 'enabled' }, signal);
    done.push(`replication account ${account.user}`);
  }
  if (parts.includes('mapping')) {
    await site.setPolicyMapping('user', account.user, [account.policy], signal);
    done.push(`policy mapping of ${account.user}`);
  }
  return done.map((d) => `${site.name}: ${d}`);
}

/**
 * Whether the account works on the site without reading its IAM: one call made with the
 * account's own keys (`asAccount`, a client of the site logged in as it), which the policy
 * allows. Refused (AuthFailed: an unknown user, another secret, a missing policy) is false;
 * any other failure is thrown (the site is down: nothing is known).
 */
export async function accountWorks(
  asAccount: SiteClient,
  bucket: string,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await asAccount.getVersioning(bucket, signal);
    return true;
  } catch (e: unknown) {
    if (isSiteError(e, 'AuthFailed')) return false;
    throw e;
  }
}

/**
 * A short fingerprint of the keys a target was given, to tell later whether it holds the
 * current secret (a target never shows its secret). The secret is 192 random bits, so its
 * fingerprint gives nothing away.
 */
export function credentialsFingerprint(account: { user: string; secretKey: string }): string {
  return createHash('sha256')
    .update(`sitesync:target-credentials:${account.user}:${account.secretKey}`, 'utf8')
    .digest('hex')
    .slice(0, 16);
}

/**
 * Puts the account's current keys into existing remote targets on `source`/`bucket` (each
 * keeps its ARN). Returns the ARNs updated.
 */
export async function pushAccountSecret(
  source: { client: SiteClient; bucket: string },
  targets: readonly { arn: string; target: Omit<RemoteTargetRequest, 'accessKey' | 'secretKey'> }[],
  account: ReplicationAccount,
  signal: AbortSignal,
): Promise<string[]> {
  const updated: string[] = [];
  for (const t of targets) {
    const request = { ...t.target, accessKey: account.user, secretKey: account.secretKey };
    await source.client.updateRemoteTargetCredentials(source.bucket, t.arn, request, signal);
    updated.push(t.arn);
  }
  return updated;
}

/** Removes the account and its policy from `site` (what is already gone is fine). */
export async function removeAccount(
  site: SiteClient,
  account: Pick<ReplicationAccount, 'user' | 'policy'>,
  signal: AbortSignal,
): Promise<void> {
  const gone = (e: unknown) => {
    if (!isSiteError(e, 'NotFound')) throw e;
  };
  await site.deleteUser(account.user, signal).catch(gone);
  await site.deletePolicy(account.policy, signal).catch(gone);
}
