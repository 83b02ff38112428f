/**
 * The `s3` driver: an AWS-compatible site (AWS S3, or a server that speaks its API, such as
 * moto) through `@aws-sdk/client-s3` and `@aws-sdk/client-iam`. AWS has no bulk export, so
 * `snapshot()` is one ListBuckets, then each bucket's configuration read with a bound on the
 * buckets read at once, and the account's IAM in one paged GetAccountAuthorizationDetails beside
 * it. What the flavor cannot do is in its capabilities and fails as `Unsupported`.
 */
import {
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
} from '@aws-sdk/client-s3';

import type { TargetBacklog } from '../backlog.js';
import { lagSince } from '../backlog.js';
import { S3BucketOps, newS3Client } from '../s3-bucket-ops.js';
import type {
  AccessKeyOps,
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
} from '../site-client.js';
import { SiteError } from '../site-error.js';
import type {
  AccountStatus,
  BucketMeta,
  RemoteTargetMeta,
  ServiceAccountMeta,
  SiteSnapshot,
} from '../snapshot.js';
import { S3Iam, newIamClient } from './s3-iam.js';
import { S3ReplicationXML } from './s3-replication-xml.js';
import { S3Transport, unsupported } from '../s3-transport.js';
import { mapLimit } from '../map-limit.js';

export const S3_CAPABILITIES: SiteCapabilities = {
  nativeReplication: false,
  iam: true,
  secretKeys: false,
  serviceAccounts: false,
  minioPolicyExtensions: false,
  bulkExport: false,
  identityConfig: false,
  replicationProgress: 'sampled',
  changeFeed: false,
};

/** Buckets whose configuration is read at once (each bucket: 8 calls at once). */
const BUCKET_CONCURRENCY = 4;
/** Object versions whose replication status is read per progress sample. */
export const PROGRESS_SAMPLE = 32;
const HEAD_CONCURRENCY = 4;

const NOT_PEERS =
  'an s3 site cannot replicate to other sites by itself (AWS replicates only to AWS buckets, through a replication configuration)';

export class S3SiteClient extends S3BucketOps implements SiteClient {
  readonly name: string;
  readonly flavor = 's3' as const;
  readonly capabilities = S3_CAPABILITIES;
  readonly identity = undefined;
  readonly accessKeys: AccessKeyOps;
  private readonly iamOps: S3Iam;
  private readonly transport: S3Transport;

  constructor(conn: SiteConnection) {
    const transport = new S3Transport(conn);
    super(conn, newS3Client(conn), new S3ReplicationXML(transport), transport);
    this.transport = transport;
    this.name = conn.name;
    this.iamOps = new S3Iam(conn, newIamClient(conn));
    this.accessKeys = this.iamOps;
  }

  /** ListBuckets with the owner: the account's canonical ID is the site's identity. */
  private async bucketsAndOwner(
    signal?: AbortSignal,
    max = 10_000,
  ): Promise<{ owner: string; buckets: BucketSummary[] }> {
    return this.call('ListBuckets', signal, async () => {
      const buckets: BucketSummary[] = [];
      let owner = '';
      let token: string | undefined;
      do {
        const r = await this.s3.send(
          new ListBucketsCommand({ ContinuationToken: token, MaxBuckets: max }),
          signal ? { abortSignal: signal } : {},
        );
        owner = r.Owner?.ID ?? owner;
        for (const b of r.Buckets ?? []) {
          if (b.Name) buckets.push({ name: b.Name, createdAt: b.CreationDate?.toISOString() });
        }
        token = max === 1 ? undefined : r.ContinuationToken;
      } while (token);
      return { owner, buckets };
    });
  }

  /**
   * The account's canonical user ID (ListBuckets' Owner), which every bucket of the account
   * shares. Two servers of one account (or two moto servers, which all report one fixed ID)
   * look alike: the identity says which account, not which server.
   */
  async deploymentID(signal?: AbortSignal): Promise<string> {
    const { owner } = await this.bucketsAndOwner(signal, 1);
    if (owner === '') {
      throw new SiteError(this.name, 'ListBuckets', 'Internal', 'the answer names no owner');
    }
    return `s3-owner:${owner}`;
  }

  private async bucketMeta(b: BucketSummary, signal?: AbortSignal): Promise<BucketMeta> {
    const [versioning, lock, policy, tags, encryption, lifecycle, notification, replicationXML] =
      await Promise.all([
        this.getVersioning(b.name, signal),
        this.getObjectLockConfig(b.name, signal),
        this.getBucketPolicy(b.name, signal),
        this.getBucketTags(b.name, signal),
        this.getEncryption(b.name, signal),
        this.getLifecycleConfig(b.name, signal),
        this.getNotificationConfig(b.name, signal),
        this.getReplicationConfigXML(b.name, signal),
      ]);
    const n = notification as Record<string, unknown[]>;
    return {
      name: b.name,
      createdAt: b.createdAt,
      versioning,
      objectLock: lock.enabled,
      policy: policy === undefined ? undefined : (JSON.parse(policy) as unknown),
      tags: Object.keys(tags).length === 0 ? undefined : tags,
      objectLockConfig: lock.defaultRetention,
      encryption,
      hasLifecycle: lifecycle !== undefined,
      hasNotification: Object.values(n).some((list) => list.length > 0),
      replicationXML,
      targets: [],
    };
  }

  async snapshot(signal?: AbortSignal): Promise<SiteSnapshot> {
    const [{ owner, buckets: list }, iam] = await Promise.all([
      this.bucketsAndOwner(signal),
      this.iamOps.snapshot(signal),
    ]);
    const metas = await mapLimit(list, BUCKET_CONCURRENCY, (b) => this.bucketMeta(b, signal));
    return {
      site: this.name,
      deploymentID: `s3-owner:${owner}`,
      buckets: new Map(metas.map((m) => [m.name, m])),
      iam,
    };
  }

  /**
   * Sampled: the replication status (`x-amz-replication-status`) of the first
   * `PROGRESS_SAMPLE` object versions in key order. S3 keeps no per-bucket counters, so these
   * are counts over the sample, not over the bucket, and `measured` says so.
   */
  async replicationProgress(bucket: string, signal?: AbortSignal): Promise<ReplicationProgress> {
    const listed = await this.call('ListObjectVersions', signal, () =>
      this.s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: PROGRESS_SAMPLE }),
        signal ? { abortSignal: signal } : {},
      ),
    );
    const versions = (listed.Versions ?? []).slice(0, PROGRESS_SAMPLE);
    const statuses = await mapLimit(versions, HEAD_CONCURRENCY, (v) =>
      this.call('HeadObject', signal, async () => {
        const h = await this.s3.send(
          new HeadObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }),
          signal ? { abortSignal: signal } : {},
        );
        return { status: h.ReplicationStatus, size: v.Size ?? 0, at: v.LastModified };
      }),
    );
    const p = { pending: 0, replicated: 0, failed: 0, bytes: 0 };
    let oldest = Number.POSITIVE_INFINITY;
    let reported = 0;
    for (const s of statuses) {
      if (s.status === undefined) continue;
      reported++;
      if (s.status === 'COMPLETED') {
        p.replicated++;
        p.bytes += s.size;
      } else if (s.status === 'PENDING' || s.status === 'FAILED') {
        if (s.status === 'PENDING') p.pending++;
        else p.failed++;
        oldest = Math.min(oldest, s.at?.getTime() ?? oldest);
      }
    }
    const now = Date.now();
    return {
      ...p,
      lagSeconds: Number.isFinite(oldest) ? lagSince(oldest, now) : 0,
      measured: describeSample(versions.length, reported, listed.IsTruncated === true),
    };
  }

  /** S3 keeps no per-target counters. */
  replicationTargetCounters(): Promise<TargetReplicationCounters | undefined> {
    return Promise.resolve(undefined);
  }

  replicationCounters(): Promise<ReplicationCounters | undefined> {
    return Promise.resolve(undefined);
  }

  listWaitingVersions(): Promise<void> {
    return Promise.reject(
      unsupported(this.name, 'listWaitingVersions', 'S3 cannot list a replication backlog'),
    );
  }

  retryReplication(ref: VersionRef): Promise<void> {
    return Promise.reject(
      unsupported(this.name, 'retryReplication', `${ref.bucket}: S3 retries by itself`),
    );
  }

  replicationBacklog(): Promise<Record<string, TargetBacklog>> {
    return Promise.reject(
      unsupported(this.name, 'replicationBacklog', 'S3 cannot list a replication backlog'),
    );
  }

  // IAM ----------------------------------------------------------------------------------------

  putPolicy(name: string, doc: unknown, signal?: AbortSignal): Promise<void> {
    return this.iamOps.putPolicy(name, doc, signal);
  }

  deletePolicy(name: string, signal?: AbortSignal): Promise<void> {
    return this.iamOps.deletePolicy(name, signal);
  }

  putUser(
    name: string,
    user: { secretKey: string; status: AccountStatus },
    signal?: AbortSignal,
  ): Promise<void> {
    return this.iamOps.putUser(name, user, signal);
  }

  deleteUser(name: string, signal?: AbortSignal): Promise<void> {
    return this.iamOps.deleteUser(name, signal);
  }

  putGroup(
    name: string,
    group: { members: readonly string[]; status: AccountStatus },
    currentMembers: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    return this.iamOps.putGroup(name, group, currentMembers, signal);
  }

  deleteGroup(name: string, currentMembers: readonly string[], signal?: AbortSignal) {
    return this.iamOps.deleteGroup(name, currentMembers, signal);
  }

  setPolicyMapping(
    kind: MappingKind,
    name: string,
    policies: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    return this.iamOps.setPolicyMapping(kind, name, policies, signal);
  }

  putServiceAccount(sa: ServiceAccountMeta): Promise<void> {
    return Promise.reject(
      unsupported(
        this.name,
        'putServiceAccount',
        `service account ${sa.accessKey}: AWS-style IAM has no service accounts`,
      ),
    );
  }

  deleteServiceAccount(accessKey: string): Promise<void> {
    return Promise.reject(
      unsupported(
        this.name,
        'deleteServiceAccount',
        `service account ${accessKey}: AWS-style IAM has no service accounts`,
      ),
    );
  }

  // Peer links: none ---------------------------------------------------------------------------

  /** An s3 bucket has no remote targets: the empty list is the whole answer. */
  listRemoteTargets(): Promise<RemoteTargetMeta[]> {
    return Promise.resolve([]);
  }

  setRemoteTarget(bucket: string, target: RemoteTargetRequest): Promise<string> {
    return Promise.reject(
      unsupported(this.name, 'setRemoteTarget', `${bucket} -> ${target.endpoint}: ${NOT_PEERS}`),
    );
  }

  removeRemoteTarget(bucket: string): Promise<void> {
    return Promise.reject(unsupported(this.name, 'removeRemoteTarget', `${bucket}: ${NOT_PEERS}`));
  }

  updateRemoteTargetCredentials(bucket: string): Promise<void> {
    return Promise.reject(
      unsupported(this.name, 'updateRemoteTargetCredentials', `${bucket}: ${NOT_PEERS}`),
    );
  }

  resyncTarget(bucket: string): Promise<void> {
    return Promise.reject(unsupported(this.name, 'resyncTarget', `${bucket}: ${NOT_PEERS}`));
  }

  close(): void {
    this.s3.destroy();
    this.iamOps.iam.destroy();
    this.transport.close();
  }
}

/** What a progress sample measured, in words for status. */
export function describeSample(sampled: number, reported: number, more: boolean): string {
  const of = more
    ? `the first ${sampled} object versions (key order)`
    : `all ${sampled} object versions`;
  if (sampled === 0) return 'sampled x-amz-replication-status: the bucket holds no object version';
  if (reported === 0) {
    return `sampled x-amz-replication-status of ${of}: none carries it, so the site reports no replication progress`;
  }
  return `sampled x-amz-replication-status of ${of}: ${reported} carry it; counts are of the sample, not the bucket`;
}
