/**
 * MinIO's change hints (`SiteClient.changeFeed`): a named `audit_webhook` target (a dynamic
 * config subsystem: set-config-kv applies it without a restart and says so with
 * `x-minio-config-applied: true`), and reading part of a site again (`export-iam`,
 * `export-bucket-metadata?bucket=`, ListBuckets).
 *
 * Not used: the cluster-wide ListenNotification stream (bucket creation and removal, outbound).
 * On the pinned MinIO it sends its headers and events only once about 4 KiB are buffered (a
 * dozen bucket events; its `ping` lines and keep-alives stay in the buffer), so it reports
 * nothing promptly (docs/decisions.md, 21).
 */
import type { ChangeFeedOps, ChangeFeedTarget, PartRequest, SitePart } from '../change-feed.js';
import type { BucketSummary } from '../site-client.js';
import type { BucketMeta } from '../snapshot.js';
import type { MinioAdminClient } from './admin/admin-client.js';
import { formatConfigLine } from './admin/config-kv.js';
import type { ExportCache } from './export-cache.js';
import { mapLimit } from '../map-limit.js';

const AUDIT_SUBSYS = 'audit_webhook';
/** A failed delivery is retried this often (MinIO's default 3 s; at most 1 m). */
const RETRY_INTERVAL = '1s';
/** Buckets read again at once. */
const BUCKET_READS = 4;

/** The `set-config-kv` line of a target (keys sorted: equal targets give equal text). */
export function auditTargetConfig(target: ChangeFeedTarget): string {
  return formatConfigLine(AUDIT_SUBSYS, target.name, {
    enable: 'on',
    endpoint: target.endpoint,
    auth_token: `Bearer ${target.token}`,
    batch_size: '1',
    retry_interval: RETRY_INTERVAL,
  });
}

export interface MinioChangeFeedDeps {
  admin: (signal: AbortSignal) => MinioAdminClient;
  listBuckets: (signal: AbortSignal) => Promise<BucketSummary[]>;
  exports: ExportCache;
}

/** A bucket the listing holds but the export does not (no config yet): its defaults. */
export function bareBucket(b: BucketSummary): BucketMeta {
  return {
    name: b.name,
    createdAt: b.createdAt,
    versioning: 'Unversioned',
    objectLock: false,
    hasLifecycle: false,
    hasNotification: false,
    targets: [],
  };
}

export class MinioChangeFeed implements ChangeFeedOps {
  constructor(private readonly deps: MinioChangeFeedDeps) {}

  async subscribe(target: ChangeFeedTarget, signal: AbortSignal): Promise<{ applied: boolean }> {
    const result = await this.deps.admin(signal).setConfigKV(auditTargetConfig(target));
    return { applied: !result.restartRequired };
  }

  async unsubscribe(name: string, signal: AbortSignal): Promise<void> {
    await this.deps.admin(signal).deleteConfigKV(`${AUDIT_SUBSYS}:${name}`);
  }

  async readPart(request: PartRequest, signal: AbortSignal): Promise<SitePart> {
    // As in snapshot(): the first call to fail ends the others.
    const abort = new AbortController();
    const sibling = AbortSignal.any([signal, abort.signal]);
    const failFast = <T>(p: Promise<T>): Promise<T> =>
      p.catch((e: unknown) => {
        abort.abort();
        throw e;
      });
    const admin = this.deps.admin(sibling);
    const wanted = [...new Set(request.buckets)];
    const known = request.knownDeploymentID;
    // The bucket exports start with the listing (one round trip, not two); the listing decides
    // which buckets exist, and only the export of a listed bucket may fail the read.
    const exports = mapLimit(wanted, BUCKET_READS, (bucket) =>
      admin.exportBucketMetadataArchive({ bucket, signal: sibling }).then(
        (files) => ({ files }),
        (error: unknown) => ({ error }),
      ),
    );
    const [deploymentID, iamFiles, list] = await Promise.all([
      known ?? failFast(admin.serverInfo({ signal: sibling })).then((i) => i.deploymentID),
      request.iam ? failFast(admin.exportIAMArchive({ signal: sibling })) : undefined,
      wanted.length > 0 ? failFast(this.deps.listBuckets(sibling)) : undefined,
    ]);
    const listed = new Map((list ?? []).map((b) => [b.name, b] as const));
    const reads = await exports;
    const buckets = new Map<string, BucketMeta | null>(wanted.map((b) => [b, null]));
    wanted.forEach((name, i) => {
      const read = reads[i];
      const summary = listed.get(name);
      if (!read || !summary) return;
      if ('error' in read) {
        abort.abort();
        throw read.error;
      }
      const meta =
        this.deps.exports.buckets(read.files, { whole: false }).get(name) ?? bareBucket(summary);
      buckets.set(name, { ...meta, createdAt: summary.createdAt });
    });
    return {
      deploymentID,
      ...(iamFiles ? { iam: this.deps.exports.iam(iamFiles) } : {}),
      buckets,
    };
  }
}
