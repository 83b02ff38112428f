/**
 * The shapes the MinIO admin client returns and takes. Field names follow what the server sends
 * (madmin-go v3 JSON tags) where that is readable; Go's null slices arrive as `[]`, and
 * comma-separated policy lists are also given split.
 */

import type { SubsysConfig } from './config-kv.js';

export type AccountStatus = 'enabled' | 'disabled';

/** An IAM policy document (`{"Version": "2012-10-17", "Statement": [...]}`). */
export type PolicyDocument = Readonly<Record<string, unknown>>;

export interface ServerInfo {
  readonly deploymentID: string;
  /** Empty when the server has no region configured. */
  readonly region: string;
  /** `online`, `initializing`, … */
  readonly mode: string;
  /** Number of server nodes in the deployment. */
  readonly servers: number;
  /** Distinct server versions reported by the nodes. */
  readonly versions: readonly string[];
  /** `Erasure`, `FS`, … when reported. */
  readonly backendType: string;
}

export interface UserInfo {
  readonly status: AccountStatus;
  /** Mapped policies, split from `policyName`. */
  readonly policies: readonly string[];
  readonly memberOf: readonly string[];
  /** `builtin` or `ldap`. */
  readonly authType: string;
  readonly updatedAt?: string | undefined;
}

export interface GroupDescription {
  readonly name: string;
  readonly status: AccountStatus;
  readonly members: readonly string[];
  /** Mapped policies, split from `policy`. */
  readonly policies: readonly string[];
  readonly updatedAt?: string | undefined;
}

export interface UpdateGroupMembersRequest {
  readonly group: string;
  readonly members: readonly string[];
  /** false: add (creating the group if needed); true: remove (empty members = delete group). */
  readonly isRemove: boolean;
}

/** Exactly one of `user` / `group`. */
export type PolicyMappingTarget =
  | { readonly user: string; readonly group?: undefined }
  | { readonly group: string; readonly user?: undefined };

export type PolicyAssociation = PolicyMappingTarget & { readonly policies: readonly string[] };

export interface PolicyAssociationResult {
  /** Policies that were actually attached or detached. */
  readonly changed: readonly string[];
  /** The server said nothing changed (XMinioAdminPolicyChangeAlreadyApplied). */
  readonly alreadyApplied: boolean;
  readonly updatedAt?: string | undefined;
}

export interface PolicyEntitiesQuery {
  readonly users?: readonly string[] | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly policies?: readonly string[] | undefined;
}

export interface GroupPolicies {
  readonly group: string;
  readonly policies: readonly string[];
}

export interface UserPolicies {
  readonly user: string;
  readonly policies: readonly string[];
  readonly memberOfMappings: readonly GroupPolicies[];
}

export interface PolicyEntitiesResult {
  readonly timestamp: string;
  readonly userMappings: readonly UserPolicies[];
  readonly groupMappings: readonly GroupPolicies[];
  readonly policyMappings: readonly {
    readonly policy: string;
    readonly users: readonly string[];
    readonly groups: readonly string[];
  }[];
}

/** `on` / `off` as the server stores service accounts. */
export type ServiceAccountStatus = 'on' | 'off';

export interface ServiceAccountInfo {
  readonly accessKey: string;
  readonly parentUser: string;
  readonly accountStatus: ServiceAccountStatus;
  /** True when the account has no session policy and inherits its parent's. */
  readonly impliedPolicy: boolean;
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  readonly expiration?: string | undefined;
}

export interface ServiceAccountDetails extends ServiceAccountInfo {
  /** The session policy, or the parent's effective policy when `impliedPolicy`. */
  readonly policy?: PolicyDocument | undefined;
}

export interface AddServiceAccountRequest {
  /** Parent user; defaults to the caller. */
  readonly targetUser?: string | undefined;
  /** Omit both keys to let the server generate them. */
  readonly accessKey?: string | undefined;
  readonly secretKey?: string | undefined;
  /** Session policy; omit to inherit the parent's policy. */
  readonly policy?: PolicyDocument | undefined;
  /** ≤ 32 chars, starts with a letter, [A-Za-z0-9_-]. */
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  /** Must be in the future; truncated to whole seconds by the server. */
  readonly expiration?: Date | string | undefined;
}

export interface ServiceAccountCredentials {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly expiration?: string | undefined;
}

export interface UpdateServiceAccountRequest {
  /**
   * Required on purpose: the server drops an existing session policy when an update carries none,
   * so every update restates it. `null` means "no session policy, inherit the parent's".
   */
  readonly policy: PolicyDocument | null;
  readonly secretKey?: string | undefined;
  readonly status?: ServiceAccountStatus | AccountStatus | undefined;
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  readonly expiration?: Date | string | undefined;
}

export interface IAMEntities {
  readonly policies: readonly string[];
  readonly users: readonly string[];
  readonly groups: readonly string[];
  readonly serviceAccounts: readonly string[];
  readonly userPolicies: readonly Readonly<Record<string, readonly string[]>>[];
  readonly groupPolicies: readonly Readonly<Record<string, readonly string[]>>[];
  readonly stsPolicies: readonly Readonly<Record<string, readonly string[]>>[];
}

export interface IAMImportFailure {
  /** `policies`, `users`, `groups`, `serviceAccounts`, `userPolicies`, … */
  readonly entity: string;
  readonly name: string;
  readonly policies?: readonly string[] | undefined;
  /** The server marshals a Go error value, usually as `{}`: often empty. */
  readonly error: string;
}

export interface ImportIAMResult {
  /** False when the server only has the older `import-iam` (no per-entity report). */
  readonly detailed: boolean;
  readonly added: IAMEntities;
  readonly skipped: IAMEntities;
  readonly removed: IAMEntities;
  readonly failed: readonly IAMImportFailure[];
}

export interface BucketMetadataImportStatus {
  /** Per config file (`olock`, `versioning`, `policy`, `tagging`, `sse`, `lifecycle`, …). */
  readonly items: Readonly<
    Record<string, { readonly isSet: boolean; readonly error?: string | undefined }>
  >;
  readonly error?: string | undefined;
}

export interface ImportBucketMetadataResult {
  readonly buckets: Readonly<Record<string, BucketMetadataImportStatus>>;
  /** `bucket/item: error` for every failed item, for quick reporting. */
  readonly errors: readonly string[];
}

export type RemoteTargetPathStyle = 'auto' | 'on' | 'off';

/** What to register as a remote target of a bucket (replication destination). */
export interface RemoteTargetSpec {
  /** `http(s)://host[:port]` of the target site, no path. */
  readonly endpoint: string;
  readonly targetBucket: string;
  /** Credentials valid on the target site. */
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region?: string | undefined;
  readonly replicationSync?: boolean | undefined;
  readonly disableProxy?: boolean | undefined;
  /** Bytes per second; 0 = unlimited, else ≥ 100,000,000. */
  readonly bandwidthLimit?: number | undefined;
  readonly healthCheckSeconds?: number | undefined;
  readonly storageClass?: string | undefined;
  readonly path?: RemoteTargetPathStyle | undefined;
}

export type RemoteTargetUpdate = 'creds' | 'sync' | 'proxy' | 'bandwidth' | 'healthcheck' | 'path';

export interface BucketTarget {
  readonly arn: string;
  readonly sourceBucket: string;
  /** `host[:port]` as stored by the server. */
  readonly endpoint: string;
  readonly secure: boolean;
  /** `http(s)://host[:port]`. */
  readonly url: string;
  readonly targetBucket: string;
  /** The target credential's access key (the server never returns the secret). */
  readonly accessKey: string;
  readonly type: string;
  readonly region: string;
  readonly replicationSync: boolean;
  readonly disableProxy: boolean;
  readonly bandwidthLimit: number;
  readonly healthCheckSeconds: number;
  readonly storageClass: string;
  readonly path: string;
  readonly deploymentID: string;
  readonly isOnline?: boolean | undefined;
}

export interface ConfigKV {
  /** The decrypted `get-config-kv` text (the server never includes secret values). */
  readonly text: string;
  /** The text parsed, one entry per subsystem target. */
  readonly subsystems: readonly SubsysConfig[];
}

export interface ConfigChangeResult {
  /** The server did not apply the change live (no `x-minio-config-applied: true`). */
  readonly restartRequired: boolean;
}

export interface PeerSite {
  readonly name: string;
  readonly endpoint: string;
  readonly deploymentID: string;
  readonly sync: string;
  readonly replicateILMExpiry: boolean;
  readonly bandwidthLimitPerBucket: number;
}

export interface SiteReplicationInfo {
  readonly enabled: boolean;
  readonly name: string;
  readonly sites: readonly PeerSite[];
  readonly serviceAccountAccessKey: string;
  readonly apiVersion: string;
}

export interface SiteReplicationStatusOptions {
  readonly buckets?: boolean | undefined;
  readonly policies?: boolean | undefined;
  readonly users?: boolean | undefined;
  readonly groups?: boolean | undefined;
  readonly metrics?: boolean | undefined;
  readonly ilmExpiryRules?: boolean | undefined;
  readonly peerState?: boolean | undefined;
  readonly entity?:
    | {
        readonly type: 'bucket' | 'user' | 'group' | 'policy' | 'ilm-expiry-rule';
        readonly name: string;
      }
    | undefined;
}

export interface SiteReplicationStatus {
  readonly enabled: boolean;
  readonly maxBuckets: number;
  readonly maxUsers: number;
  readonly maxGroups: number;
  readonly maxPolicies: number;
  /** By deployment ID. */
  readonly sites: Readonly<Record<string, PeerSite>>;
  /** Per deployment ID, the server's counters (`ReplicatedBuckets`, `TotalBucketsCount`, …). */
  readonly statsSummary: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Mismatch reports as the server sends them (PascalCase), by entity name then deployment ID. */
  readonly bucketStats: Readonly<Record<string, unknown>>;
  readonly policyStats: Readonly<Record<string, unknown>>;
  readonly userStats: Readonly<Record<string, unknown>>;
  readonly groupStats: Readonly<Record<string, unknown>>;
}

export interface ReplicationTargetMetrics {
  readonly replicatedBytes: number;
  readonly replicatedCount: number;
  readonly failedCount: number;
  readonly failedBytes: number;
  readonly bandwidthLimitBytesPerSecond: number;
  readonly currentBandwidthBytesPerSecond: number;
}

/** Replication state of one version toward one target (`PENDING`, `FAILED`, `COMPLETED`, ...). */
export interface ReplicationDiffTarget {
  readonly status: string;
  /** State of a version delete's replication, when one is under way. */
  readonly deleteStatus: string;
}

/** One object version `replication/diff` reports as not (yet) replicated everywhere. */
export interface ReplicationDiffEntry {
  readonly object: string;
  readonly versionId: string;
  /** ISO time the version was written. */
  readonly lastModified: string | undefined;
  readonly deleteMarker: boolean;
  /** By target ARN: only the targets it is not replicated to (all, with `verbose`). */
  readonly targets: Readonly<Record<string, ReplicationDiffTarget>>;
}

export interface BucketReplicationMetrics {
  readonly uptimeSeconds: number;
  readonly replicatedBytes: number;
  readonly replicatedCount: number;
  readonly replicaBytes: number;
  readonly replicaCount: number;
  /** Failures since the server started. */
  readonly failedCount: number;
  readonly failedBytes: number;
  /** Objects currently queued for replication. */
  readonly queuedCount: number;
  readonly queuedBytes: number;
  /** By target ARN. */
  readonly targets: Readonly<Record<string, ReplicationTargetMetrics>>;
}
