import type { Flavor } from '../api/common.js';
import type { TargetBacklog } from './backlog.js';
import type {
  AccountStatus,
  RemoteTargetMeta,
  ServiceAccountMeta,
  SiteSnapshot,
} from './snapshot.js';

/** What the operator needs to reach one site. Secrets stay in memory, never in logs. */
export interface SiteConnection {
  name: string;
  flavor: Flavor;
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  /** PEM CA bundle for https endpoints signed by a private CA. */
  ca?: string | undefined;
  insecureSkipVerify?: boolean | undefined;
  /** Per-call timeout (default 15 s). */
  timeoutMs?: number | undefined;
  /** Called once per outgoing call with its operation name (metrics, benchmarks). */
  onCall?: ((op: string) => void) | undefined;
}

/** What a flavor can do; the planner chooses actions by these, never by flavor name. */
export interface SiteCapabilities {
  /** The site replicates objects itself once given remote targets + rules (MinIO). */
  nativeReplication: boolean;
  /** Users, groups, canned policies, service accounts can be read and written. */
  iam: boolean;
  /** A whole site's IAM and bucket metadata can be exported in a few calls. */
  bulkExport: boolean;
  /** External identity providers can be configured through the API. */
  identityConfig: boolean;
}

export type VersioningState = 'Enabled' | 'Suspended' | 'Unversioned';

export interface ObjectLockConfig {
  enabled: boolean;
  /** Default retention applied to new objects, if any. */
  defaultRetention?:
    { mode: 'GOVERNANCE' | 'COMPLIANCE'; days?: number; years?: number } | undefined;
}

export interface BucketSummary {
  name: string;
  createdAt?: string | undefined;
}

export interface ObjectVersion {
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/** Bucket-level S3 operations every flavor supports. */
export interface BucketOps {
  listBuckets(signal?: AbortSignal): Promise<BucketSummary[]>;
  createBucket(name: string, opts?: { objectLock?: boolean }): Promise<void>;
  /** Deletes the bucket only when it holds no object version; never deletes data. */
  deleteBucketIfEmpty(name: string): Promise<'deleted' | 'not-empty' | 'missing'>;
  bucketHasData(name: string): Promise<boolean>;
  getVersioning(bucket: string): Promise<VersioningState>;
  enableVersioning(bucket: string): Promise<void>;
  getBucketPolicy(bucket: string): Promise<string | undefined>;
  putBucketPolicy(bucket: string, policy: string): Promise<void>;
  deleteBucketPolicy(bucket: string): Promise<void>;
  getBucketTags(bucket: string): Promise<Record<string, string>>;
  putBucketTags(bucket: string, tags: Record<string, string>): Promise<void>;
  getObjectLockConfig(bucket: string): Promise<ObjectLockConfig>;
  putObjectLockConfig(bucket: string, config: ObjectLockConfig): Promise<void>;
  /** The default encryption configuration as S3 XML-equivalent JSON, or undefined. */
  getEncryption(bucket: string): Promise<EncryptionRule | undefined>;
  putEncryption(bucket: string, rule: EncryptionRule): Promise<void>;
  deleteEncryption(bucket: string): Promise<void>;
  /** Read only: sitesync never writes notification or lifecycle configuration. */
  getNotificationConfig(bucket: string): Promise<unknown>;
  getLifecycleConfig(bucket: string): Promise<unknown>;
  /** The replication configuration XML, or undefined when none is set. */
  getReplicationConfigXML(bucket: string): Promise<string | undefined>;
  putReplicationConfigXML(bucket: string, xml: string): Promise<void>;
  deleteReplicationConfig(bucket: string): Promise<void>;
  listObjectVersions(
    bucket: string,
    opts?: { prefix?: string; max?: number },
  ): Promise<ObjectVersion[]>;
}

export interface EncryptionRule {
  algorithm: 'AES256' | 'aws:kms';
  kmsKeyId?: string | undefined;
}

export type MappingKind = 'user' | 'group';

/** IAM operations: each one idempotent, each one a desired state rather than a delta. */
export interface IamOps {
  putPolicy(name: string, doc: unknown): Promise<void>;
  deletePolicy(name: string): Promise<void>;
  putUser(name: string, user: { secretKey: string; status: AccountStatus }): Promise<void>;
  deleteUser(name: string): Promise<void>;
  /** Makes the group exist with exactly these members and this status. */
  putGroup(
    name: string,
    group: { members: readonly string[]; status: AccountStatus },
    currentMembers: readonly string[],
  ): Promise<void>;
  deleteGroup(name: string, currentMembers: readonly string[]): Promise<void>;
  /** Replaces the policies mapped to a user or group (an empty list removes the mapping). */
  setPolicyMapping(kind: MappingKind, name: string, policies: readonly string[]): Promise<void>;
  putServiceAccount(sa: ServiceAccountMeta, exists: boolean): Promise<void>;
  deleteServiceAccount(accessKey: string): Promise<void>;
}

export interface RemoteTargetRequest {
  endpoint: string;
  targetBucket: string;
  accessKey: string;
  secretKey: string;
  region?: string | undefined;
}

/** Native server-to-server replication links (MinIO remote targets). */
export interface PeerLinkOps {
  listRemoteTargets(bucket: string): Promise<RemoteTargetMeta[]>;
  /** Creates the target (or returns the ARN of an identical one). */
  setRemoteTarget(bucket: string, target: RemoteTargetRequest): Promise<string>;
  removeRemoteTarget(bucket: string, arn: string): Promise<void>;
  /** Re-replicates the bucket's existing objects to one target (the rule must allow it). */
  resyncTarget(bucket: string, arn: string): Promise<void>;
}

export interface ReplicationProgress {
  pending: number;
  replicated: number;
  failed: number;
  bytes: number;
  /**
   * How long the oldest version still waiting for replication (pending or failed, any target)
   * has waited; 0 when nothing waits; undefined when it could not be listed.
   */
  lagSeconds?: number | undefined;
}

/** The port every controller talks to a site through; one driver per flavor implements it. */
export interface SiteClient extends BucketOps, IamOps, PeerLinkOps {
  readonly name: string;
  readonly flavor: Flavor;
  readonly capabilities: SiteCapabilities;
  /** A stable identity of the deployment (MinIO's deployment ID). Also a reachability probe. */
  deploymentID(): Promise<string>;
  /** The site's whole replicated metadata, in a handful of calls. */
  snapshot(): Promise<SiteSnapshot>;
  /** Object replication counters of one bucket, summed over its targets, and its lag. */
  replicationProgress(bucket: string): Promise<ReplicationProgress>;
  /**
   * By target ARN, what of `bucket` still waits for that target: when the oldest version was
   * written, and how many were written before `overdueBefore` (ms since the epoch); targets
   * with nothing waiting are absent. Lists the bucket's backlog on the site: for when
   * something is known to wait.
   */
  replicationBacklog(
    bucket: string,
    overdueBefore?: number,
  ): Promise<Record<string, TargetBacklog>>;
  close(): void;
}
