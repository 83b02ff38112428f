/**
 * The MinIO driver: S3 through the AWS SDK, everything else through MinIO's admin API.
 * `snapshot()` reads a whole site in four calls (server info, bucket list, IAM export,
 * bucket-metadata export), whatever the number of buckets and users.
 */
import { S3BucketOps, newS3Client } from '../s3-bucket-ops.js';
import { HeadObjectCommand } from '@aws-sdk/client-s3';

import type {
  BucketSummary,
  MappingKind,
  RemoteTargetRequest,
  ReplicationCounters,
  ReplicationProgress,
  SiteCapabilities,
  SiteClient,
  SiteConnection,
  TargetReplicationCounters,
  VersionRef,
  WaitingVersion,
} from '../site-client.js';
import { type TargetBacklog, lagSince, noteWaiting } from '../backlog.js';
import { SiteError, isSiteError } from '../site-error.js';
import type {
  AccountStatus,
  BucketMeta,
  RemoteTargetMeta,
  ServiceAccountMeta,
  SiteSnapshot,
} from '../snapshot.js';
import { MinioAdminClient } from './admin/admin-client.js';
import { AdminTransport } from './admin/admin-transport.js';
import { ExportCache } from './export-cache.js';
import { BucketListError, parseBucketList } from './list-buckets.js';
import { MinioChangeFeed, bareBucket } from './minio-change-feed.js';
import { ExportFormatError } from './export-parser.js';
import { MinioIdentityConfig } from './minio-identity-config.js';
import { MinioServiceAdmin } from './minio-service-admin.js';

const NO_REPLICATION_CONFIG = 'ReplicationConfigurationNotFoundError';
/** Listing the backlog walks the whole bucket on the site: bounded in time of its own. */
const BACKLOG_TIMEOUT_MS = 60_000;

export const MINIO_CAPABILITIES: SiteCapabilities = {
  nativeReplication: true,
  iam: true,
  secretKeys: true,
  serviceAccounts: true,
  minioPolicyExtensions: true,
  bulkExport: true,
  identityConfig: true,
  replicationProgress: 'counters',
  changeFeed: true,
};

/** GET/PUT of the raw replication XML: the SDK's model would drop MinIO's extensions. */
class ReplicationXML {
  constructor(private readonly transport: AdminTransport) {}

  async get(bucket: string, signal?: AbortSignal): Promise<string | undefined> {
    const r = await this.transport.send({
      op: 's3:GetBucketReplication',
      method: 'GET',
      path: `/${bucket}`,
      query: { replication: '' },
      tolerate: [NO_REPLICATION_CONFIG],
      signal,
    });
    return r.code === NO_REPLICATION_CONFIG ? undefined : r.body.toString('utf8');
  }

  async put(bucket: string, xml: string, signal?: AbortSignal): Promise<void> {
    await this.transport.send({
      op: 's3:PutBucketReplication',
      method: 'PUT',
      path: `/${bucket}`,
      query: { replication: '' },
      body: Buffer.from(xml, 'utf8'),
      contentType: 'application/xml',
      signal,
    });
  }
}

/** Remote target answers remembered per site: more than a group's buckets × peers. */
const TARGETS_ANSWERED_MAX = 20_000;

export class MinioSiteClient extends S3BucketOps implements SiteClient {
  readonly name: string;
  readonly flavor = 'minio' as const;
  readonly capabilities = MINIO_CAPABILITIES;
  readonly admin: MinioAdminClient;
  readonly identity: MinioIdentityConfig;
  readonly changeFeed: MinioChangeFeed;
  /** Parsed exports by content, between passes (bounded). */
  readonly exports = new ExportCache();
  /** The ARN each remote target request was last answered with (bounded, oldest dropped). */
  private readonly targetsAnswered = new Map<string, string>();
  private readonly transport: AdminTransport;
  private readonly service: MinioServiceAdmin;

  constructor(conn: SiteConnection) {
    const transport = new AdminTransport({
      site: conn.name,
      endpoint: conn.endpoint,
      accessKey: conn.accessKey,
      secretKey: conn.secretKey,
      timeoutMs: conn.timeoutMs ?? 15_000,
      ca: conn.ca,
      insecureSkipVerify: conn.insecureSkipVerify,
      onCall: conn.onCall,
      userAgent: conn.userAgent,
    });
    super(conn, newS3Client(conn), new ReplicationXML(transport));
    this.transport = transport;
    this.name = conn.name;
    const admin = {
      site: conn.name,
      endpoint: conn.endpoint,
      accessKey: conn.accessKey,
      secretKey: conn.secretKey,
      timeoutMs: conn.timeoutMs,
      ca: conn.ca,
      insecureSkipVerify: conn.insecureSkipVerify,
      onCall: conn.onCall ? (op: string) => conn.onCall?.(`admin:${op}`) : undefined,
      userAgent: conn.userAgent,
    };
    this.admin = new MinioAdminClient(admin);
    this.service = new MinioServiceAdmin(admin);
    this.identity = new MinioIdentityConfig(this.admin, this.service);
    this.changeFeed = new MinioChangeFeed({
      admin: (signal) => this.adm(signal),
      listBuckets: (signal) => this.listBuckets(signal),
      exports: this.exports,
    });
  }

  /** The admin client with every request under `signal` (undefined: none). */
  private adm(signal: AbortSignal | undefined): MinioAdminClient {
    return this.admin.withSignal(signal);
  }

  /** Every bucket, through the admin transport (list-buckets.ts); pages followed. */
  override async listBuckets(signal?: AbortSignal): Promise<BucketSummary[]> {
    const out: BucketSummary[] = [];
    let token: string | undefined;
    do {
      const r = await this.transport.send({
        op: 's3:ListBuckets',
        method: 'GET',
        path: '/',
        query: {
          'max-buckets': '10000',
          ...(token === undefined ? {} : { 'continuation-token': token }),
        },
        signal,
      });
      let page;
      try {
        page = parseBucketList(r.body.toString('utf8'));
      } catch (e: unknown) {
        if (!(e instanceof BucketListError)) throw e;
        throw new SiteError(this.name, 'ListBuckets', 'Invalid', e.message);
      }
      out.push(...page.buckets);
      if (page.continuationToken !== undefined && page.continuationToken === token) {
        throw new SiteError(
          this.name,
          'ListBuckets',
          'NotReady',
          'the listing repeats its continuation token: refusing a partial listing',
        );
      }
      token = page.continuationToken;
    } while (token !== undefined);
    return out;
  }

  async deploymentID(signal?: AbortSignal): Promise<string> {
    return (await this.adm(signal).serverInfo()).deploymentID;
  }

  async snapshot(signal?: AbortSignal): Promise<SiteSnapshot> {
    // The first call to fail ends the others: a site that answers garbage to one of them
    // (an endless body, say) is not read further in that pass. The caller's signal ends all.
    const abort = new AbortController();
    const sibling = signal ? AbortSignal.any([signal, abort.signal]) : abort.signal;
    const admin = this.adm(signal);
    const failFast = <T>(p: Promise<T>): Promise<T> =>
      p.catch((e: unknown) => {
        abort.abort();
        throw e;
      });
    const [info, list, iamFiles, bucketFiles] = await Promise.all([
      failFast(admin.serverInfo({ signal: abort.signal })),
      failFast(this.listBuckets(sibling)),
      failFast(admin.exportIAMArchive({ signal: abort.signal })),
      failFast(admin.exportBucketMetadataArchive({ signal: abort.signal })),
    ]);
    const { deploymentID } = info;
    const exported = this.parsed('export-bucket-metadata', () =>
      this.exports.buckets(bucketFiles, { whole: true }),
    );
    // The export may name buckets deleted since; the bucket list is authoritative.
    const buckets = new Map<string, BucketMeta>();
    for (const b of list) {
      const meta = exported.get(b.name);
      buckets.set(b.name, meta ? { ...meta, createdAt: b.createdAt } : bareBucket(b));
    }
    const iam = this.parsed('export-iam', () => this.exports.iam(iamFiles));
    return { site: this.name, deploymentID, buckets, iam };
  }

  /** An export parsed; one that is not what MinIO writes is the site's error (Invalid). */
  private parsed<T>(op: string, parse: () => T): T {
    try {
      return parse();
    } catch (e: unknown) {
      if (!(e instanceof ExportFormatError)) throw e;
      throw new SiteError(this.name, op, 'Invalid', e.message);
    }
  }

  async replicationProgress(bucket: string, signal?: AbortSignal): Promise<ReplicationProgress> {
    const m = await this.adm(signal).bucketReplicationMetrics(bucket);
    const counts = {
      pending: m.queuedCount,
      replicated: m.replicatedCount,
      failed: m.failedCount,
      bytes: m.replicatedBytes,
    };
    // Nothing queued and nothing ever failed: nothing waits, no need to list the backlog.
    if (m.queuedCount === 0 && m.failedCount === 0) return { ...counts, lagSeconds: 0 };
    try {
      const at = Date.now();
      const backlog = Object.values(
        await this.replicationBacklog(bucket, Number.NEGATIVE_INFINITY, signal),
      );
      const oldest = Math.min(...backlog.map((t) => t.oldest));
      return { ...counts, lagSeconds: Number.isFinite(oldest) ? lagSince(oldest, at) : 0 };
    } catch {
      signal?.throwIfAborted();
      return counts; // the counters stand; the lag is unknown
    }
  }

  /** MinIO's replication metrics v2 count per target. */
  async replicationTargetCounters(
    bucket: string,
    signal?: AbortSignal,
  ): Promise<TargetReplicationCounters> {
    const m = await this.adm(signal).bucketReplicationMetrics(bucket);
    return { queuedCount: m.queuedCount, targets: m.targets };
  }

  async replicationBacklog(
    bucket: string,
    overdueBefore = Number.NEGATIVE_INFINITY,
    signal?: AbortSignal,
  ): Promise<Record<string, TargetBacklog>> {
    const by: Record<string, TargetBacklog> = {};
    await this.adm(signal).replicationDiff(bucket, { timeoutMs: BACKLOG_TIMEOUT_MS }, (e) => {
      noteWaiting(by, e, overdueBefore);
    });
    return by;
  }

  async replicationCounters(bucket: string, signal?: AbortSignal): Promise<ReplicationCounters> {
    const m = await this.adm(signal).bucketReplicationMetrics(bucket);
    return {
      uptimeSeconds: m.uptimeSeconds,
      queuedCount: m.queuedCount,
      queuedBytes: m.queuedBytes,
      failedCount: m.failedCount,
      replicatedCount: m.replicatedCount,
      replicatedBytes: m.replicatedBytes,
    };
  }

  /**
   * `replication/diff`: without `verbose` MinIO lists only versions not replicated to every
   * target (pending, failed, or existing ones never replicated yet: no target status at all).
   */
  async listWaitingVersions(
    bucket: string,
    onVersion: (v: WaitingVersion) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.adm(signal).replicationDiff(bucket, { timeoutMs: BACKLOG_TIMEOUT_MS }, (e) => {
      const failed = Object.values(e.targets).some(
        (t) => t.status === 'FAILED' || t.deleteStatus === 'FAILED',
      );
      onVersion({
        key: e.object,
        versionId: e.versionId === '' ? 'null' : e.versionId,
        deleteMarker: e.deleteMarker,
        lastModified: e.lastModified,
        failed,
      });
    });
  }

  /**
   * A HEAD of the version: MinIO re-queues a pending or failed replication of the version it
   * serves (with its retry count reset); a delete marker answers 405 and is queued all the same.
   */
  async retryReplication(ref: VersionRef, signal?: AbortSignal): Promise<void> {
    const head = new HeadObjectCommand({
      Bucket: ref.bucket,
      Key: ref.key,
      ...(ref.versionId === 'null' ? {} : { VersionId: ref.versionId }),
    });
    await this.call('HeadObject', signal, async () => {
      try {
        await this.s3.send(head, signal ? { abortSignal: signal } : {});
      } catch (e: unknown) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        // 405: a delete marker (queued all the same); 404: gone since it was listed.
        if (status !== 405 && status !== 404) throw e;
      }
    });
  }

  // IAM ----------------------------------------------------------------------------------------

  async putPolicy(name: string, doc: unknown, signal?: AbortSignal): Promise<void> {
    await this.adm(signal).addCannedPolicy(name, JSON.stringify(doc));
  }

  async deletePolicy(name: string, signal?: AbortSignal): Promise<void> {
    await this.adm(signal).removeCannedPolicy(name);
  }

  async putUser(
    name: string,
    user: { secretKey: string; status: AccountStatus },
    signal?: AbortSignal,
  ): Promise<void> {
    const admin = this.adm(signal);
    await admin.addUser(name, user.secretKey);
    if (user.status === 'disabled') await admin.setUserStatus(name, 'disabled');
  }

  async deleteUser(name: string, signal?: AbortSignal): Promise<void> {
    await this.adm(signal).removeUser(name);
  }

  async putGroup(
    name: string,
    group: { members: readonly string[]; status: AccountStatus },
    currentMembers: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const admin = this.adm(signal);
    const extra = currentMembers.filter((m) => !group.members.includes(m));
    const missing = group.members.filter((m) => !currentMembers.includes(m));
    // Adding (even no one) creates the group when it does not exist yet.
    if (missing.length > 0 || currentMembers.length === 0) {
      await admin.updateGroupMembers({ group: name, members: missing, isRemove: false });
    }
    if (extra.length > 0) {
      await admin.updateGroupMembers({ group: name, members: extra, isRemove: true });
    }
    await admin.setGroupStatus(name, group.status);
  }

  async deleteGroup(
    name: string,
    currentMembers: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const admin = this.adm(signal);
    if (currentMembers.length > 0) {
      await admin.updateGroupMembers({
        group: name,
        members: [...currentMembers],
        isRemove: true,
      });
    }
    await admin.removeGroup(name);
  }

  async setPolicyMapping(
    kind: MappingKind,
    name: string,
    policies: readonly string[],
    signal?: AbortSignal,
  ) {
    await this.adm(signal).setPolicies(
      kind === 'user' ? { user: name } : { group: name },
      policies,
    );
  }

  async putServiceAccount(
    sa: ServiceAccountMeta,
    exists: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const admin = this.adm(signal);
    const policy = (sa.sessionPolicy ?? undefined) as Record<string, unknown> | undefined;
    if (!exists) {
      // Both keys are ours: the answer (argon2id-encrypted) would only restate them.
      await admin.createServiceAccount({
        targetUser: sa.parent,
        accessKey: sa.accessKey,
        secretKey: sa.secretKey,
        policy,
        name: sa.name,
        description: sa.description,
        expiration: sa.expiration,
      });
      if (sa.status === 'enabled') return;
    }
    await admin.updateServiceAccount(sa.accessKey, {
      policy: policy ?? null,
      secretKey: sa.secretKey,
      status: sa.status,
      name: sa.name,
      description: sa.description,
      expiration: sa.expiration,
    });
  }

  async deleteServiceAccount(accessKey: string, signal?: AbortSignal): Promise<void> {
    await this.adm(signal).deleteServiceAccount(accessKey);
  }

  // Peer links ---------------------------------------------------------------------------------

  async listRemoteTargets(bucket: string, signal?: AbortSignal): Promise<RemoteTargetMeta[]> {
    try {
      const targets = await this.adm(signal).listRemoteTargets(bucket);
      return targets.map((t) => ({
        arn: t.arn,
        endpoint: t.url,
        targetBucket: t.targetBucket,
        secure: t.secure,
        accessKey: t.accessKey,
      }));
    } catch (e: unknown) {
      if (isSiteError(e, 'NotFound')) return [];
      throw e;
    }
  }

  /**
   * Callers ask only for a target the site's bucket metadata lacks. MinIO answers an ARN it
   * already holds in memory at once, without saving it again (`SetRemoteTargetHandler`: "return
   * pre-existing ARN"); when its earlier save was lost (another config write of the bucket at the
   * same moment rewrote the metadata record without it, docs/decisions.md §13: two groups sharing
   * a site), the target would stay in memory only, and every pass would ask again. So the second
   * answer of the same ARN for the same target is followed by an update, which saves MinIO's
   * whole in-memory list of the bucket's targets.
   */
  async setRemoteTarget(
    bucket: string,
    target: RemoteTargetRequest,
    signal?: AbortSignal,
  ): Promise<string> {
    const adm = this.adm(signal);
    const arn = await adm.setRemoteTarget(bucket, target);
    const key = [bucket, target.endpoint, target.targetBucket, target.accessKey].join('\n');
    if (this.targetsAnswered.get(key) === arn) {
      await adm.updateRemoteTarget(bucket, arn, target, ['creds']);
    }
    this.targetsAnswered.delete(key);
    this.targetsAnswered.set(key, arn);
    if (this.targetsAnswered.size > TARGETS_ANSWERED_MAX) {
      const oldest = this.targetsAnswered.keys().next();
      if (oldest.done !== true) this.targetsAnswered.delete(oldest.value);
    }
    return arn;
  }

  async removeRemoteTarget(bucket: string, arn: string, signal?: AbortSignal): Promise<void> {
    await this.adm(signal).removeRemoteTarget(bucket, arn);
  }

  async updateRemoteTargetCredentials(
    bucket: string,
    arn: string,
    target: RemoteTargetRequest,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.adm(signal).updateRemoteTarget(bucket, arn, target, ['creds']);
  }

  /** `PUT /{bucket}?replication-reset&arn=`: replicate existing objects to that target again. */
  async resyncTarget(bucket: string, arn: string, signal?: AbortSignal): Promise<void> {
    await this.transport.send({
      op: 's3:ResetBucketReplication',
      method: 'PUT',
      path: `/${bucket}`,
      query: { 'replication-reset': '', arn },
      signal,
    });
  }

  close(): void {
    this.s3.destroy();
    this.raw.close();
    void this.admin.close();
    void this.service.close();
    void this.transport.close();
  }
}
