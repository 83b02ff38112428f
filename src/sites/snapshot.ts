import type { VersioningState } from './site-client.js';

/**
 * One site's replicated metadata, read in a few calls (MinIO: IAM export + bucket-metadata
 * export + bucket list). Secret keys of users and service accounts are held here in memory only,
 * to copy them to other sites; they never leave this object except into a site's API.
 */
export interface SiteSnapshot {
  site: string;
  deploymentID: string;
  buckets: Map<string, BucketMeta>;
  iam: IamState;
}

export interface BucketMeta {
  name: string;
  createdAt?: string | undefined;
  versioning: VersioningState;
  /** Object lock is enabled (it can only be set when the bucket is created). */
  objectLock: boolean;
  /** Replicated configurations, as canonical documents; undefined when absent. */
  policy?: unknown;
  tags?: Record<string, string> | undefined;
  objectLockConfig?: unknown;
  encryption?: unknown;
  /** Never replicated: observed only so status can prove they were left alone. */
  hasLifecycle: boolean;
  hasNotification: boolean;
  /** The raw replication configuration XML, when set. */
  replicationXML?: string | undefined;
  /** Remote targets as the site reports them (no credentials). */
  targets: RemoteTargetMeta[];
}

export interface RemoteTargetMeta {
  arn: string;
  endpoint: string;
  targetBucket: string;
  secure: boolean;
  /** The access key of the credentials stored in the target (never the secret). */
  accessKey?: string | undefined;
  /**
   * `secretDigest` of the secret stored in the target, when the site reveals it (MinIO's
   * bucket-metadata export does): tells whether the target holds the current credentials.
   */
  secretDigest?: string | undefined;
}

export type AccountStatus = 'enabled' | 'disabled';

export interface IamState {
  policies: Map<string, unknown>;
  users: Map<string, { status: AccountStatus; secretKey: string }>;
  groups: Map<string, { status: AccountStatus; members: string[]; updatedAt?: number | undefined }>;
  userPolicies: Map<string, { policies: string[]; updatedAt?: number | undefined }>;
  groupPolicies: Map<string, { policies: string[]; updatedAt?: number | undefined }>;
  /** Policy mappings of users from an external IdP (STS), kept as MinIO site replication does. */
  stsPolicies: Map<string, { policies: string[]; updatedAt?: number | undefined }>;
  serviceAccounts: Map<string, ServiceAccountMeta>;
}

export interface ServiceAccountMeta {
  accessKey: string;
  parent: string;
  secretKey: string;
  status: AccountStatus;
  groups: string[];
  sessionPolicy?: unknown;
  name?: string | undefined;
  description?: string | undefined;
  expiration?: string | undefined;
  /** The raw claims object, kept to write the service account back unchanged. */
  claims?: Record<string, unknown> | undefined;
}

export function emptyIamState(): IamState {
  return {
    policies: new Map(),
    users: new Map(),
    groups: new Map(),
    userPolicies: new Map(),
    groupPolicies: new Map(),
    stsPolicies: new Map(),
    serviceAccounts: new Map(),
  };
}
