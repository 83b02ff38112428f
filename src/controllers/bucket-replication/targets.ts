/**
 * Managed destinations (`destination.site`): the destination bucket, versioned, on that site,
 * and a remote target on the source bucket pointing at it. Every step is idempotent; a target to
 * the same endpoint and bucket that already exists (the user's, or a group's peer link) is used
 * as it is and never owned.
 */
import { sameEndpoint } from '../../api/endpoint.js';
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

/**
 * The ARN of the remote target on the source bucket for `dest`/`bucket`: an existing one, or one
 * created with the destination site's credentials (`created: true`, the caller records it).
 */
export async function ensureRemoteTarget(
  source: { client: SiteClient; bucket: string; targets: readonly RemoteTargetMeta[] },
  dest: { connected: Connected; bucket: string },
  signal: AbortSignal,
): Promise<{ arn: string; created: boolean }> {
  const existing = findTarget(source.targets, dest.connected, dest.bucket);
  if (existing !== undefined) return { arn: existing.arn, created: false };
  const { site, accessKey, secretKey } = dest.connected;
  const arn = await source.client.setRemoteTarget(
    source.bucket,
    {
      endpoint: site.endpoint,
      targetBucket: dest.bucket,
      accessKey,
      secretKey,
      region: site.region,
    },
    signal,
  );
  return { arn, created: true };
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
