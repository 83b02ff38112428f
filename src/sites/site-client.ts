import type { Readable } from 'node:stream';

import type { Flavor } from '../api/common.js';
import type { TargetBacklog } from './backlog.js';
import type { ChangeFeedOps } from './change-feed.js';
import type { IdentityConfigOps } from './identity.js';
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
  /**
   * Sent as the User-Agent of every request (the operator's `OPERATOR_USER_AGENT`, so that the
   * site's reports of its own writes can be told apart); the libraries' own when absent.
   */
  userAgent?: string | undefined;
}

/**
 * What a flavor can do; the planner chooses actions by these, never by flavor name. A call the
 * flavor cannot make fails with a SiteError of kind `Unsupported`; status says so, never
 * pretends.
 */
export interface SiteCapabilities {
  /**
   * The site replicates objects itself to any S3-compatible peer once given remote targets and
   * rules (MinIO; `PeerLinkOps` work). AWS replicates only to AWS buckets: false.
   */
  nativeReplication: boolean;
  /** Users, groups, policies and their mappings can be read and written. */
  iam: boolean;
  /**
   * Users' secret keys can be read (to copy them) and set (copied from elsewhere). AWS-style
   * IAM never gives a secret key back and generates new ones itself.
   */
  secretKeys: boolean;
  /** MinIO service accounts (access keys of a user with their own session policy). */
  serviceAccounts: boolean;
  /**
   * IAM policies may use MinIO's extensions (condition keys on OpenID claims `jwt:*` and LDAP
   * attributes `ldap:*`, `admin:*` actions); elsewhere a policy using them is not mirrored.
   */
  minioPolicyExtensions: boolean;
  /** A whole site's IAM and bucket metadata can be exported in a few calls. */
  bulkExport: boolean;
  /** External identity providers can be configured through the API. */
  identityConfig: boolean;
  /**
   * Where object replication progress comes from: the site's own counters per target
   * (`counters`), per-object `x-amz-replication-status` read on a sample of versions
   * (`sampled`), or nothing (`none`).
   */
  replicationProgress: 'counters' | 'sampled' | 'none';
  /** The site reports its changes (`SiteClient.changeFeed`, sites/change-feed.ts). */
  changeFeed: boolean;
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

/**
 * Bucket-level S3 operations every flavor supports. Every call takes the caller's AbortSignal:
 * once it aborts, nothing more is sent to the site and the call rejects with its reason.
 */
export interface BucketOps {
  listBuckets(signal: AbortSignal): Promise<BucketSummary[]>;
  createBucket(name: string, opts: { objectLock?: boolean }, signal: AbortSignal): Promise<void>;
  /** Deletes the bucket only when it holds no object version; never deletes data. */
  deleteBucketIfEmpty(
    name: string,
    signal: AbortSignal,
  ): Promise<'deleted' | 'not-empty' | 'missing'>;
  bucketHasData(name: string, signal: AbortSignal): Promise<boolean>;
  getVersioning(bucket: string, signal: AbortSignal): Promise<VersioningState>;
  enableVersioning(bucket: string, signal: AbortSignal): Promise<void>;
  getBucketPolicy(bucket: string, signal: AbortSignal): Promise<string | undefined>;
  putBucketPolicy(bucket: string, policy: string, signal: AbortSignal): Promise<void>;
  deleteBucketPolicy(bucket: string, signal: AbortSignal): Promise<void>;
  getBucketTags(bucket: string, signal: AbortSignal): Promise<Record<string, string>>;
  putBucketTags(bucket: string, tags: Record<string, string>, signal: AbortSignal): Promise<void>;
  getObjectLockConfig(bucket: string, signal: AbortSignal): Promise<ObjectLockConfig>;
  putObjectLockConfig(bucket: string, config: ObjectLockConfig, signal: AbortSignal): Promise<void>;
  /** The default encryption configuration as S3 XML-equivalent JSON, or undefined. */
  getEncryption(bucket: string, signal: AbortSignal): Promise<EncryptionRule | undefined>;
  putEncryption(bucket: string, rule: EncryptionRule, signal: AbortSignal): Promise<void>;
  deleteEncryption(bucket: string, signal: AbortSignal): Promise<void>;
  /** Read only: sitesync never writes notification or lifecycle configuration. */
  getNotificationConfig(bucket: string, signal: AbortSignal): Promise<unknown>;
  getLifecycleConfig(bucket: string, signal: AbortSignal): Promise<unknown>;
  /** The replication configuration XML, or undefined when none is set. */
  getReplicationConfigXML(bucket: string, signal: AbortSignal): Promise<string | undefined>;
  /** PutBucketReplication with exactly this document (and the request headers S3 defines). */
  putReplicationConfigXML(
    bucket: string,
    xml: string,
    signal: AbortSignal,
    opts?: ReplicationPutOptions,
  ): Promise<void>;
  deleteReplicationConfig(bucket: string, signal: AbortSignal): Promise<void>;
  listObjectVersions(
    bucket: string,
    opts: { prefix?: string; max?: number },
    signal: AbortSignal,
  ): Promise<ObjectVersion[]>;
}

/** A position in a bucket's version listing: after this key, or after this version of it. */
export interface VersionCursor {
  key: string;
  versionId?: string | undefined;
}

/** One page of ListObjectVersions. */
export interface VersionPage {
  /**
   * Keys ascending; each key's versions and delete markers together, newest first, in the
   * site's own order.
   */
  versions: ObjectVersion[];
  /** Where the next page starts; undefined on the last page. */
  next?: VersionCursor | undefined;
}

/** An object version, named. */
export interface VersionRef {
  bucket: string;
  key: string;
  versionId: string;
}

export interface ObjectRetention {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  /** ISO 8601. */
  retainUntil: string;
}

/** What an object version carries besides its bytes, as a copy must reproduce it. */
export interface ObjectAttributes {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  contentDisposition?: string | undefined;
  contentLanguage?: string | undefined;
  cacheControl?: string | undefined;
  /** User metadata (`x-amz-meta-*`), names in lower case without the prefix. */
  metadata: Readonly<Record<string, string>>;
  tags: Readonly<Record<string, string>>;
  retention?: ObjectRetention | undefined;
  legalHold?: boolean | undefined;
}

export interface ObjectVersionHead extends ObjectAttributes {
  size: number;
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/** An object version being read: the body must be consumed or destroyed. */
export interface ObjectVersionRead extends ObjectVersionHead {
  body: Readable;
}

/**
 * How bodies are sent: one streamed PUT below `multipartThreshold` bytes, else parts of
 * `partSize` (more when 10 000 would not hold the object), each streamed from the body in turn.
 */
export interface UploadOptions {
  multipartThreshold: number;
  partSize: number;
}

/**
 * Object-level S3 operations, for the copier between sites that cannot replicate natively.
 * Nothing here deletes object data: a delete is a new delete marker.
 */
export interface ObjectOps {
  /** One page of versions and delete markers, `after` exclusive. */
  listVersionPage(
    bucket: string,
    opts: { after?: VersionCursor | undefined; prefix?: string | undefined; maxKeys?: number },
    signal: AbortSignal,
  ): Promise<VersionPage>;
  /** A version's size and attributes (tags included), without its body. */
  headObjectVersion(ref: VersionRef, signal: AbortSignal): Promise<ObjectVersionHead>;
  /** A version's body as a stream, with its attributes (tags included). */
  getObjectVersion(ref: VersionRef, signal: AbortSignal): Promise<ObjectVersionRead>;
  /**
   * Writes a new version from a stream of exactly `size` bytes, with these attributes, and
   * returns its version ID. Bounded memory whatever the size.
   */
  putObject(
    target: { bucket: string; key: string },
    obj: { body: Readable; size: number; attributes: ObjectAttributes },
    opts: UploadOptions,
    signal: AbortSignal,
  ): Promise<{ versionId: string }>;
  /** Makes a delete marker the key's newest version; returns its version ID. */
  putDeleteMarker(
    target: { bucket: string; key: string },
    signal: AbortSignal,
  ): Promise<{ versionId: string }>;
}

/** The optional request headers of S3's PutBucketReplication. */
export interface ReplicationPutOptions {
  /** `x-amz-expected-bucket-owner`: the account that must own the bucket (else HTTP 403). */
  expectedBucketOwner?: string | undefined;
  /** `x-amz-bucket-object-lock-token`: allows replication of an Object Lock bucket. */
  objectLockToken?: string | undefined;
}

export interface EncryptionRule {
  algorithm: 'AES256' | 'aws:kms';
  kmsKeyId?: string | undefined;
}

export type MappingKind = 'user' | 'group';

/** IAM operations: each one idempotent, each one a desired state rather than a delta. */
export interface IamOps {
  putPolicy(name: string, doc: unknown, signal: AbortSignal): Promise<void>;
  deletePolicy(name: string, signal: AbortSignal): Promise<void>;
  putUser(
    name: string,
    user: { secretKey: string; status: AccountStatus },
    signal: AbortSignal,
  ): Promise<void>;
  deleteUser(name: string, signal: AbortSignal): Promise<void>;
  /** Makes the group exist with exactly these members and this status. */
  putGroup(
    name: string,
    group: { members: readonly string[]; status: AccountStatus },
    currentMembers: readonly string[],
    signal: AbortSignal,
  ): Promise<void>;
  deleteGroup(name: string, currentMembers: readonly string[], signal: AbortSignal): Promise<void>;
  /** Replaces the policies mapped to a user or group (an empty list removes the mapping). */
  setPolicyMapping(
    kind: MappingKind,
    name: string,
    policies: readonly string[],
    signal: AbortSignal,
  ): Promise<void>;
  putServiceAccount(sa: ServiceAccountMeta, exists: boolean, signal: AbortSignal): Promise<void>;
  deleteServiceAccount(accessKey: string, signal: AbortSignal): Promise<void>;
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
  listRemoteTargets(bucket: string, signal: AbortSignal): Promise<RemoteTargetMeta[]>;
  /** Creates the target (or returns the ARN of an identical one). */
  setRemoteTarget(
    bucket: string,
    target: RemoteTargetRequest,
    signal: AbortSignal,
  ): Promise<string>;
  removeRemoteTarget(bucket: string, arn: string, signal: AbortSignal): Promise<void>;
  /**
   * Replaces the credentials (and endpoint) a target logs in to its peer with, keeping its ARN:
   * the rules that use it keep working. The peer must accept the new credentials already.
   */
  updateRemoteTargetCredentials(
    bucket: string,
    arn: string,
    target: RemoteTargetRequest,
    signal: AbortSignal,
  ): Promise<void>;
  /** Re-replicates the bucket's existing objects to one target (the rule must allow it). */
  resyncTarget(bucket: string, arn: string, signal: AbortSignal): Promise<void>;
}

/** One target's replication counters, as the source site keeps them (MinIO: since it started). */
export interface TargetCounters {
  replicatedCount: number;
  replicatedBytes: number;
  failedCount: number;
}

/** A bucket's replication queue and its counters per target ARN. */
export interface TargetReplicationCounters {
  queuedCount: number;
  targets: Readonly<Record<string, TargetCounters>>;
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
  /** What the figures are, in words, when they are less than the site's own counters. */
  measured?: string | undefined;
}

/** A bucket's replication counters on its source site, summed over the bucket's targets. */
export interface ReplicationCounters {
  /** Seconds since the site's process started: the counters below count from then. */
  uptimeSeconds: number;
  /** Versions queued for replication now, and their bytes. */
  queuedCount: number;
  queuedBytes: number;
  /** Replications that failed since the site started (retried ones included). */
  failedCount: number;
  replicatedCount: number;
  replicatedBytes: number;
}

/** A version its source site still has to replicate to at least one peer. */
export interface WaitingVersion {
  key: string;
  versionId: string;
  deleteMarker: boolean;
  /** ISO time the version was written. */
  lastModified?: string | undefined;
  /** Its replication (or its delete's) failed toward some peer; else it is pending. */
  failed: boolean;
}

/**
 * Access keys the site generates itself (AWS-style IAM: a secret key cannot be set, only
 * created). The secret of a new key is in `createAccessKey`'s answer and nowhere else.
 */
export interface AccessKeyOps {
  /** The user's access key IDs (never secrets). */
  listAccessKeys(user: string, signal: AbortSignal): Promise<string[]>;
  createAccessKey(
    user: string,
    signal: AbortSignal,
  ): Promise<{ accessKey: string; secretKey: string }>;
  deleteAccessKey(user: string, accessKey: string, signal: AbortSignal): Promise<void>;
}

/** The port every controller talks to a site through; one driver per flavor implements it. */
export interface SiteClient extends BucketOps, ObjectOps, IamOps, PeerLinkOps {
  readonly name: string;
  readonly flavor: Flavor;
  readonly capabilities: SiteCapabilities;
  /** Present when `capabilities.identityConfig`: the site's external identity provider. */
  readonly identity?: IdentityConfigOps | undefined;
  /** Present when `capabilities.changeFeed`: change hints and partial reads. */
  readonly changeFeed?: ChangeFeedOps | undefined;
  /** Present when the site has IAM but cannot take secret keys: keys it generates itself. */
  readonly accessKeys?: AccessKeyOps | undefined;
  /** A stable identity of the deployment (MinIO's deployment ID). Also a reachability probe. */
  deploymentID(signal: AbortSignal): Promise<string>;
  /** The site's whole replicated metadata, in a handful of calls. */
  snapshot(signal: AbortSignal): Promise<SiteSnapshot>;
  /** Object replication counters of one bucket, summed over its targets, and its lag. */
  replicationProgress(bucket: string, signal: AbortSignal): Promise<ReplicationProgress>;
  /**
   * Object replication counters of one bucket per remote target (by ARN), when the flavor
   * reports them per target (MinIO's replication metrics v2); undefined when it does not.
   */
  replicationTargetCounters(
    bucket: string,
    signal: AbortSignal,
  ): Promise<TargetReplicationCounters | undefined>;
  /**
   * By target ARN, what of `bucket` still waits for that target: when the oldest version was
   * written, and how many were written before `overdueBefore` (ms since the epoch); targets
   * with nothing waiting are absent. Lists the bucket's backlog on the site: for when
   * something is known to wait.
   */
  replicationBacklog(
    bucket: string,
    overdueBefore: number,
    signal: AbortSignal,
  ): Promise<Record<string, TargetBacklog>>;
  /**
   * The replication counters of one bucket (cheap: no listing); undefined when the flavor keeps
   * none.
   */
  replicationCounters(
    bucket: string,
    signal: AbortSignal,
  ): Promise<ReplicationCounters | undefined>;
  /**
   * Every version of `bucket` not yet replicated to every peer (pending, failed, or existing
   * and never replicated), handed to `onVersion` as the site lists them. The site walks the
   * whole bucket to answer: for when the counters say something waits, or to be sure.
   */
  listWaitingVersions(
    bucket: string,
    onVersion: (v: WaitingVersion) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Asks the site to retry the replication of one version now (MinIO: reading the version's
   * metadata re-queues a pending or failed replication at once). Never changes the version.
   */
  retryReplication(ref: VersionRef, signal: AbortSignal): Promise<void>;
  close(): void;
}
