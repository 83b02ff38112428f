/**
 * Managed destinations (`destination.site`): the destination bucket, versioned, on that site,
 * the resource's replication account there, and a remote target on the source bucket pointing
 * at it with that account's keys. Every step is idempotent; a target to the same endpoint and
 * bucket that already exists (the user's, or a group's peer link) is used as it is and never
 * owned.
 */
import { sameEndpoint } from '../../api/endpoint.js';
import {
  type ReplicationAccount,
  credentialsFingerprint,
  pushAccountSecret,
} from '../../sites/replication-account.js';
import type { SiteClient } from '../../sites/site-client.js';
import { isSiteError } from '../../sites/site-error.js';
import type { RemoteTargetMeta } from '../../sites/snapshot.js';
import type { Connected } from './source.js';

/** A bucket on a managed site that some rule replicates to. */
export interface DestinationKey {
  site: string;
  bucket: string;
}

export const destinationId = (d: DestinationKey) => `${d.site}/${d.bucket}`;

/**
 * The bucket exists on the destination with versioning on (replication requires both). Returns
 * what it changed, in words.
 */
export async function ensureDestinationBucket(
  dest: Connected,
  bucket: string,
  signal: AbortSignal,
): Promise<string[]> {
  const where = `${dest.site.name}/${bucket}`;
  let versioning;
  try {
    versioning = await dest.client.getVersioning(bucket, signal);
  } catch (e: unknown) {
    if (!isSiteError(e, 'NotFound')) throw e;
    await dest.client.createBucket(bucket, {}, signal);
    await dest.client.enableVersioning(bucket, signal);
    return [`created bucket ${where} with versioning`];
  }
  if (versioning === 'Enabled') return [];
  await dest.client.enableVersioning(bucket, signal);
  return [`enabled versioning on ${where}`];
}

/** The existing target of the source bucket that replicates to `dest`/`bucket`, if any. */
export function findTarget(
  targets: readonly RemoteTargetMeta[],
  dest: Connected,
  bucket: string,
): RemoteTargetMeta | undefined {
  return targets.find(
    (t) => sameEndpoint(t.endpoint, dest.site.endpoint) && t.targetBucket === bucket,
  );
}

export interface TargetSource {
  client: SiteClient;
  bucket: string;
  targets: readonly RemoteTargetMeta[];
  /** The targets this resource created, and the fingerprint of the keys each was given. */
  owned: readonly string[];
  credentials: Readonly<Record<string, string>>;
}

export interface EnsuredTarget {
  arn: string;
  created: boolean;
  /** Set when the target was given the account's keys in this pass: their fingerprint. */
  credentials?: string | undefined;
}

/**
 * The ARN of the remote target on the source bucket for `dest`/`bucket`: an existing one, or one
 * created with the replication account's keys (`created: true`, the caller records it). A
 * target this resource owns that holds other keys (a rotated secret, or the destination's root
 * credentials an earlier version gave it) gets the account's keys, keeping its ARN. A target
 * it does not own is used as it is.
 */
export async function ensureRemoteTarget(
  source: TargetSource,
  dest: { connected: Connected; bucket: string; account: ReplicationAccount },
  signal: AbortSignal,
): Promise<EnsuredTarget> {
  const { site } = dest.connected;
  const { account } = dest;
  const fingerprint = credentialsFingerprint(account);
  const target = { endpoint: site.endpoint, targetBucket: dest.bucket, region: site.region };
  const existing = findTarget(source.targets, dest.connected, dest.bucket);
  if (existing !== undefined) {
    const arn = existing.arn;
    if (!source.owned.includes(arn)) return { arn, created: false };
    if (existing.accessKey === account.user && source.credentials[arn] === fingerprint) {
      return { arn, created: false };
    }
    await pushAccountSecret(source, [{ arn, target }], account, signal);
    return { arn, created: false, credentials: fingerprint };
  }
  const arn = await source.client.setRemoteTarget(
    source.bucket,
    { ...target, accessKey: account.user, secretKey: account.secretKey },
    signal,
  );
  return { arn, created: true, credentials: fingerprint };
}

/** Removes owned targets no rule uses any more; returns the ARNs removed (or already gone). */
export async function removeTargets(
  source: SiteClient,
  bucket: string,
  arns: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const removed: string[] = [];
  for (const arn of arns) {
    try {
      await source.removeRemoteTarget(bucket, arn, signal);
    } catch (e: unknown) {
      if (!isSiteError(e, 'NotFound')) throw e;
    }
    removed.push(arn);
  }
  return removed;
}
