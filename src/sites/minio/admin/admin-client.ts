/**
 * Typed client of the MinIO admin API (`/minio/admin/v3`, community MinIO), plus the one S3
 * extension the operator reads (`GET /{bucket}?replication-metrics=2`).
 *
 * Facts it relies on are in shared/reference/minio-admin-api.md. Some request and response bodies
 * are encrypted with the signing credential's secret key. Requests use madmin's PBKDF2 envelope
 * (0x02, ~1 ms), which every server decrypts; responses come in the server's choice, argon2id
 * (~75 ms, 64 MiB): those calls are marked below and must stay off hot paths (docs/decisions.md
 * #13); mirror IAM and bucket metadata through the bulk export/import calls instead.
 *
 * Every failure is a `SiteError` naming the site and operation; no message carries a secret key,
 * a session token or a request/response body.
 */
import {
  MAX_EXPORT_BYTES,
  MAX_EXPORT_ENTRY_BYTES,
  MAX_EXPORT_UNZIPPED_BYTES,
  MAX_JSON_LINE_BYTES,
  MAX_SERVER_INFO_BYTES,
} from '../../response-limits.js';
import { SiteError } from '../../site-error.js';
import { type ZipFile, ZipError, ZipTooLargeError, listZip, readZipMap } from './zip.js';
import { PayloadAlgorithm, decryptPayload, encryptPayload } from './payload-crypto.js';
import {
  AdminTransport,
  type HttpAnswer,
  type HttpCall,
  type HttpMethod,
} from './admin-transport.js';
import { ConfigKVSyntaxError, parseConfigKV, parseKeyValues } from './config-kv.js';
import {
  DecodeError,
  NotReadyError,
  EMPTY_IAM_ENTITIES,
  decodeArn,
  decodeBucketMetadataImport,
  decodeBucketReplicationMetrics,
  decodeBucketTargets,
  decodeReplicationDiffEntry,
  decodeGroupDescription,
  decodeImportIAMResult,
  decodePolicyAssociation,
  decodePolicyDocument,
  decodePolicyEntities,
  decodePolicyMap,
  decodeServerInfo,
  decodeServiceAccountCredentials,
  decodeServiceAccountDetails,
  decodeServiceAccountList,
  decodeSiteReplicationInfo,
  decodeSiteReplicationStatus,
  decodeUserInfo,
  decodeUserMap,
  jsonLines,
  stringList,
} from './decode.js';
import type {
  AccountStatus,
  AddServiceAccountRequest,
  BucketReplicationMetrics,
  ReplicationDiffEntry,
  BucketTarget,
  ConfigChangeResult,
  ConfigKV,
  GroupDescription,
  ImportBucketMetadataResult,
  ImportIAMResult,
  PolicyAssociation,
  PolicyAssociationResult,
  PolicyDocument,
  PolicyEntitiesQuery,
  PolicyEntitiesResult,
  PolicyMappingTarget,
  RemoteTargetSpec,
  RemoteTargetUpdate,
  ServerInfo,
  ServiceAccountCredentials,
  ServiceAccountDetails,
  ServiceAccountInfo,
  SiteReplicationInfo,
  SiteReplicationStatus,
  SiteReplicationStatusOptions,
  UpdateGroupMembersRequest,
  UpdateServiceAccountRequest,
  UserInfo,
} from './types.js';

export interface MinioAdminClientOptions {
  /** The site's name, first word of every error message. */
  readonly site: string;
  /** `http(s)://host[:port]`, no path. */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly sessionToken?: string | undefined;
  /** Per HTTP request, response body included. Default 15 s. */
  readonly timeoutMs?: number | undefined;
  /** Per HTTP request of the bulk export/import calls. Default max(timeoutMs, 120 s). */
  readonly bulkTimeoutMs?: number | undefined;
  /** PEM of the CA of the server certificate (https). */
  readonly ca?: string | undefined;
  readonly insecureSkipVerify?: boolean | undefined;
  /** Called once per HTTP request sent (retries included) with the operation name. */
  readonly onCall?: ((op: string) => void) | undefined;
  /** The User-Agent of every request. */
  readonly userAgent?: string | undefined;
}

const ADMIN = '/minio/admin/v3';
const EXPORT_LIMITS = {
  maxEntryBytes: MAX_EXPORT_ENTRY_BYTES,
  maxTotalBytes: MAX_EXPORT_UNZIPPED_BYTES,
};
const OCTET_STREAM = 'application/octet-stream';
const ALREADY_APPLIED = 'XMinioAdminPolicyChangeAlreadyApplied';
const REMOTE_TARGET_NOT_FOUND = 'XMinioAdminRemoteTargetNotFoundError';
const NO_SUCH_USER = 'XMinioAdminNoSuchUser';
/** export-iam's answer while the service accounts are not in MinIO's IAM cache yet. */
const IAM_NOT_LOADED_SVCACCT = 'XMinioInvalidIAMCredentials';
/** Every file a complete `export-iam` holds (MinIO cmd/admin-handlers-users.go ExportIAM). */
export const IAM_EXPORT_ENTRIES = [
  'iam-assets/policies.json',
  'iam-assets/users.json',
  'iam-assets/groups.json',
  'iam-assets/svcaccts.json',
  'iam-assets/user_mappings.json',
  'iam-assets/group_mappings.json',
  'iam-assets/stsuser_mappings.json',
] as const;
const CONFIG_APPLIED_HEADER = 'x-minio-config-applied';
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_BULK_TIMEOUT_MS = 120_000;
const NS_PER_SECOND = 1_000_000_000;
const ZIP_MAGIC = 0x4b50; // "PK", little-endian

type Call = HttpCall;

interface RemoteTargetCall {
  readonly bucket: string;
  readonly target: Record<string, unknown>;
  readonly flags: Readonly<Record<string, string>>;
  readonly secret: string;
}

interface CallExtra {
  readonly query?: Readonly<Record<string, string | readonly string[]>>;
  readonly secrets?: readonly string[];
}

function toJSONBytes(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

function isoTime(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'string' ? t : t.toISOString();
}

/** Drops keys whose value is undefined, so JSON bodies carry only what was given. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function mappingTarget(t: PolicyMappingTarget): { name: string; isGroup: boolean } {
  return t.group === undefined
    ? { name: t.user, isGroup: false }
    : { name: t.group, isGroup: true };
}

/** Config keys whose values are secrets (`client_secret`, `lookup_bind_password`, …). */
const SECRET_CONFIG_KEY = /secret|password|passwd|token|credential|private|(^|_)key$/i;

/** Values of secret-looking keys in config text, to keep out of error messages. */
function configSecrets(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const rest = line.trim().split(' ').slice(1).join(' ');
    try {
      for (const [k, v] of parseKeyValues(rest)) if (SECRET_CONFIG_KEY.test(k)) out.push(v);
    } catch {
      // Unparseable text is the server's to reject: redact every word after the subsystem.
      out.push(...rest.split(/\s+/));
    }
  }
  return out;
}

function remoteTargetBody(
  bucket: string,
  spec: RemoteTargetSpec,
  arn?: string,
): Record<string, unknown> {
  const url = new URL(spec.endpoint);
  return compact({
    sourcebucket: bucket,
    endpoint: url.host,
    secure: url.protocol === 'https:',
    targetbucket: spec.targetBucket,
    credentials: { accessKey: spec.accessKey, secretKey: spec.secretKey },
    path: spec.path ?? 'auto',
    api: 's3v4',
    type: 'replication',
    arn,
    region: spec.region,
    replicationSync: spec.replicationSync,
    disableProxy: spec.disableProxy,
    bandwidthlimit: spec.bandwidthLimit,
    healthCheckDuration:
      spec.healthCheckSeconds === undefined
        ? undefined
        : Math.round(spec.healthCheckSeconds * NS_PER_SECOND),
    storageclass: spec.storageClass,
  });
}

export class MinioAdminClient {
  readonly site: string;
  /** The endpoint's origin, as used in error messages. */
  readonly endpoint: string;
  private readonly transport: AdminTransport;
  private readonly secretKey: string;
  private readonly bulkTimeoutMs: number;

  constructor(opts: MinioAdminClientOptions) {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.transport = new AdminTransport({ ...opts, timeoutMs });
    this.site = opts.site;
    this.endpoint = this.transport.origin;
    this.secretKey = opts.secretKey;
    this.bulkTimeoutMs = opts.bulkTimeoutMs ?? Math.max(timeoutMs, DEFAULT_BULK_TIMEOUT_MS);
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  /** Set on a view from `withSignal`: every request of the view carries it. */
  private readonly signal: AbortSignal | undefined;

  /**
   * This client with every request made under `signal` (a reconcile's): once it aborts,
   * nothing more is sent and its reason is thrown. A view sharing the connections.
   */
  withSignal(signal: AbortSignal | undefined): MinioAdminClient {
    if (signal === undefined) return this;
    return Object.create(this, { signal: { value: signal } }) as MinioAdminClient;
  }

  /** Sends under the view's signal and the call's own (e.g. a failed sibling call's), both. */
  private send(call: HttpCall): Promise<HttpAnswer> {
    const signals = [this.signal, call.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    return this.transport.send(signal ? { ...call, signal } : call);
  }

  // ------------------------------------------------------------------------------------------
  // Server

  /** `GET /info`: deployment ID, region, mode, number of nodes. Cheap, plain. */
  async serverInfo(opts: { signal?: AbortSignal } = {}): Promise<ServerInfo> {
    const call = this.get('serverInfo', '/info', { metrics: 'false' });
    return this.plainJSON(
      { ...call, signal: opts.signal, maxBytes: MAX_SERVER_INFO_BYTES },
      decodeServerInfo,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Users (built-in IDP)

  /** `GET /list-users`, all users by access key. Encrypted response. */
  async listUsers(): Promise<Record<string, UserInfo>> {
    return this.encryptedJSON(this.get('listUsers', '/list-users'), decodeUserMap);
  }

  /** `GET /user-info`. Plain. */
  async getUserInfo(accessKey: string): Promise<UserInfo> {
    return this.plainJSON(this.get('getUserInfo', '/user-info', { accessKey }), (v) =>
      decodeUserInfo(v),
    );
  }

  /** `PUT /add-user`: creates or overwrites the user, enabled. Encrypted request. */
  async addUser(accessKey: string, secretKey: string): Promise<void> {
    const call = this.put('addUser', '/add-user', { accessKey }, [secretKey]);
    const body = await this.encrypt(call, toJSONBytes({ secretKey, status: 'enabled' }));
    await this.send({ ...call, body });
  }

  /** `PUT /set-user-status`. Plain. */
  async setUserStatus(accessKey: string, status: AccountStatus): Promise<void> {
    await this.send(this.put('setUserStatus', '/set-user-status', { accessKey, status }));
  }

  /**
   * `DELETE /remove-user`, with the user's service accounts and mappings: true if removed, false
   * if there was no such user. Plain.
   */
  async removeUser(accessKey: string): Promise<boolean> {
    const call: Call = {
      ...this.call('removeUser', 'DELETE', '/remove-user', { query: { accessKey } }),
      tolerate: [NO_SUCH_USER],
    };
    return (await this.send(call)).code === undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Groups

  /** `GET /groups`. Plain. */
  async listGroups(): Promise<string[]> {
    return this.plainJSON(this.get('listGroups', '/groups'), (v) => stringList(v, 'groups'));
  }

  /** `GET /group`. Plain. */
  async getGroupDescription(name: string): Promise<GroupDescription> {
    return this.plainJSON(
      this.get('getGroupDescription', '/group', { group: name }),
      decodeGroupDescription,
    );
  }

  /** `PUT /update-group-members`: adds (creating the group) or removes members. Plain. */
  async updateGroupMembers(
    req: UpdateGroupMembersRequest,
    op = 'updateGroupMembers',
  ): Promise<void> {
    const body = toJSONBytes({
      group: req.group,
      members: [...req.members],
      groupStatus: '',
      isRemove: req.isRemove,
    });
    await this.send({
      ...this.put(op, '/update-group-members'),
      body,
      contentType: OCTET_STREAM,
    });
  }

  /** `PUT /set-group-status`. Plain. */
  async setGroupStatus(name: string, status: AccountStatus): Promise<void> {
    await this.send(this.put('setGroupStatus', '/set-group-status', { group: name, status }));
  }

  /** Deletes an empty group (fails with Invalid/XMinioAdminGroupNotEmpty while it has members). */
  async removeGroup(name: string): Promise<void> {
    await this.updateGroupMembers({ group: name, members: [], isRemove: true }, 'removeGroup');
  }

  // ------------------------------------------------------------------------------------------
  // Canned policies

  /** `GET /list-canned-policies`: every policy (built-ins included) by name. Plain. */
  async listCannedPolicies(): Promise<Record<string, PolicyDocument>> {
    return this.plainJSON(this.get('listCannedPolicies', '/list-canned-policies'), decodePolicyMap);
  }

  /** `GET /info-canned-policy`. Plain. */
  async getCannedPolicy(name: string): Promise<PolicyDocument> {
    return this.plainJSON(this.get('getCannedPolicy', '/info-canned-policy', { name }), (v) =>
      decodePolicyDocument(v),
    );
  }

  /** `PUT /add-canned-policy`: creates or replaces. Plain. */
  async addCannedPolicy(name: string, policy: PolicyDocument | string): Promise<void> {
    const body = Buffer.from(typeof policy === 'string' ? policy : JSON.stringify(policy), 'utf8');
    await this.send({
      ...this.put('addCannedPolicy', '/add-canned-policy', { name }),
      body,
    });
  }

  /** `DELETE /remove-canned-policy`; removing a missing policy succeeds. Plain. */
  async removeCannedPolicy(name: string): Promise<void> {
    await this.send(
      this.call('removeCannedPolicy', 'DELETE', '/remove-canned-policy', { query: { name } }),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Policy mappings

  /** `POST /idp/builtin/policy/attach`; "already applied" is success. Encrypted both ways. */
  async attachPolicies(req: PolicyAssociation): Promise<PolicyAssociationResult> {
    return this.associatePolicies('attachPolicies', 'attach', req);
  }

  /** `POST /idp/builtin/policy/detach`; "already applied" is success. Encrypted both ways. */
  async detachPolicies(req: PolicyAssociation): Promise<PolicyAssociationResult> {
    return this.associatePolicies('detachPolicies', 'detach', req);
  }

  /**
   * `PUT /set-user-or-group-policy`: replaces the whole mapping (empty list removes it). Plain, so
   * the cheap way to converge a mapping.
   */
  async setPolicies(target: PolicyMappingTarget, policies: readonly string[]): Promise<void> {
    const { name, isGroup } = mappingTarget(target);
    const query = { policyName: policies.join(','), userOrGroup: name, isGroup: String(isGroup) };
    await this.send(this.put('setPolicies', '/set-user-or-group-policy', query));
  }

  /** `GET /idp/builtin/policy-entities`: mappings by user, group or policy. Encrypted response. */
  async listPolicyEntities(query: PolicyEntitiesQuery = {}): Promise<PolicyEntitiesResult> {
    const q = { user: query.users ?? [], group: query.groups ?? [], policy: query.policies ?? [] };
    return this.encryptedJSON(
      this.get('listPolicyEntities', '/idp/builtin/policy-entities', q),
      decodePolicyEntities,
    );
  }

  private async associatePolicies(
    op: string,
    action: 'attach' | 'detach',
    req: PolicyAssociation,
  ): Promise<PolicyAssociationResult> {
    const call: Call = {
      ...this.call(op, 'POST', `/idp/builtin/policy/${action}`),
      contentType: OCTET_STREAM,
      tolerate: [ALREADY_APPLIED],
    };
    const payload = compact({ policies: [...req.policies], user: req.user, group: req.group });
    const body = await this.encrypt(call, toJSONBytes(payload));
    const answer = await this.send({ ...call, body });
    if (answer.code === ALREADY_APPLIED) return { changed: [], alreadyApplied: true };
    if (answer.body.length === 0) return { changed: [], alreadyApplied: false };
    return this.parseJSON(call, await this.decrypt(call, answer.body), decodePolicyAssociation);
  }

  // ------------------------------------------------------------------------------------------
  // Service accounts (access keys)

  /** `GET /list-service-accounts` of a user (default: the caller). Encrypted response. */
  async listServiceAccounts(user = ''): Promise<ServiceAccountInfo[]> {
    return this.encryptedJSON(
      this.get('listServiceAccounts', '/list-service-accounts', { user }),
      decodeServiceAccountList,
    );
  }

  /** `PUT /add-service-account`. Encrypted both ways. */
  async addServiceAccount(req: AddServiceAccountRequest): Promise<ServiceAccountCredentials> {
    const { call, answer } = await this.sendAddServiceAccount(req);
    return this.parseJSON(
      call,
      await this.decrypt(call, answer.body),
      decodeServiceAccountCredentials,
    );
  }

  /**
   * `PUT /add-service-account` with both keys given: the answer only restates them, encrypted
   * with argon2id (64 MiB and tens to hundreds of ms of CPU per derivation), so it is not read.
   */
  async createServiceAccount(
    req: AddServiceAccountRequest & { accessKey: string; secretKey: string },
  ): Promise<void> {
    await this.sendAddServiceAccount(req);
  }

  private async sendAddServiceAccount(req: AddServiceAccountRequest) {
    const call = this.put(
      'addServiceAccount',
      '/add-service-account',
      {},
      req.secretKey === undefined ? [] : [req.secretKey],
    );
    const payload = compact({
      policy: req.policy,
      targetUser: req.targetUser,
      accessKey: req.accessKey,
      secretKey: req.secretKey,
      name: req.name,
      description: req.description,
      expiration: isoTime(req.expiration),
    });
    const body = await this.encrypt(call, toJSONBytes(payload));
    return { call, answer: await this.send({ ...call, body }) };
  }

  /** `GET /info-service-account`, with its policy parsed. Encrypted response. */
  async infoServiceAccount(accessKey: string): Promise<ServiceAccountDetails> {
    return this.encryptedJSON(
      this.get('infoServiceAccount', '/info-service-account', { accessKey }),
      (v) => decodeServiceAccountDetails(v, accessKey),
    );
  }

  /** `POST /update-service-account`; always restates the session policy. Encrypted request. */
  async updateServiceAccount(accessKey: string, req: UpdateServiceAccountRequest): Promise<void> {
    const secrets = req.secretKey === undefined ? [] : [req.secretKey];
    const call = this.call('updateServiceAccount', 'POST', '/update-service-account', {
      query: { accessKey },
      secrets,
    });
    const payload = compact({
      newPolicy: req.policy ?? undefined,
      newSecretKey: req.secretKey,
      newStatus: req.status,
      newName: req.name,
      newDescription: req.description,
      newExpiration: isoTime(req.expiration),
    });
    const body = await this.encrypt(call, toJSONBytes(payload));
    await this.send({ ...call, body });
  }

  /** `DELETE /delete-service-account`. Plain. */
  async deleteServiceAccount(accessKey: string): Promise<void> {
    await this.send(
      this.call('deleteServiceAccount', 'DELETE', '/delete-service-account', {
        query: { accessKey },
      }),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Bulk export / import (the cheap path: plain, one call for the whole site)

  /** `GET /export-iam`: a zip of policies, users (with secrets!), groups, service accounts, mappings. */
  async exportIAM(): Promise<Buffer> {
    return this.getZip(this.exportIAMCall());
  }

  /**
   * The files of `export-iam`, unzipped within the caps of response-limits.ts, all seven of
   * them: MinIO always writes every file of a complete export (an empty set as `{}`), so a
   * missing one is a partial answer (IAM still loading, a stream cut short) and the site is
   * not ready; so is the "service account not found" MinIO answers while it loads IAM.
   */
  async exportIAMFiles(opts: { signal?: AbortSignal } = {}): Promise<Map<string, Buffer>> {
    const call = { ...this.exportIAMCall(), signal: opts.signal };
    const files = this.unzip(call, await this.iamZip(call));
    this.requireWholeIAM(call, new Set(files.keys()));
    return files;
  }

  /**
   * The files of `export-iam`, checked against the caps but not inflated: a cache keyed on
   * their compressed bytes inflates only what changed. `data()` throws a SiteError. Complete
   * or NotReady, as `exportIAMFiles`.
   */
  async exportIAMArchive(opts: { signal?: AbortSignal } = {}): Promise<ZipFile[]> {
    const call = { ...this.exportIAMCall(), signal: opts.signal };
    const files = this.list(call, await this.iamZip(call));
    this.requireWholeIAM(call, new Set(files.map((f) => f.name)));
    return files;
  }

  /** The `export-iam` zip; MinIO's "service account not found" while IAM loads is NotReady. */
  private async iamZip(call: Call): Promise<Buffer> {
    try {
      return await this.getZip(call);
    } catch (e: unknown) {
      if (e instanceof SiteError && e.code === IAM_NOT_LOADED_SVCACCT) {
        const why = `${call.method} ${call.path}: HTTP 404 ${IAM_NOT_LOADED_SVCACCT}: a service account is not loaded yet (IAM still loading)`;
        throw this.transport.error(call, 'NotReady', why, { code: e.code, status: 404 });
      }
      throw e;
    }
  }

  /** Every file of a complete export is there, or the site is NotReady (never an absence). */
  private requireWholeIAM(call: Call, names: ReadonlySet<string>): void {
    const missing = IAM_EXPORT_ENTRIES.filter((name) => !names.has(name));
    if (missing.length > 0) {
      const why = `export-iam answered without ${missing.join(', ')}: a partial export (IAM still loading?) is never read as absence`;
      throw this.transport.error(call, 'NotReady', why);
    }
  }

  private exportIAMCall(): Call {
    return { ...this.get('exportIAM', '/export-iam'), timeoutMs: this.bulkTimeoutMs };
  }

  /**
   * `PUT /import-iam-v2` with a per-entity report; on servers without it, `PUT /import-iam`
   * (`detailed: false`).
   */
  async importIAM(zip: Uint8Array): Promise<ImportIAMResult> {
    const call: Call = {
      ...this.put('importIAM', '/import-iam-v2'),
      body: zip,
      timeoutMs: this.bulkTimeoutMs,
    };
    try {
      const answer = await this.send(call);
      return this.parseJSON(call, answer.body, decodeImportIAMResult);
    } catch (e: unknown) {
      if (!(e instanceof SiteError && e.status === 426)) throw e;
    }
    await this.send({ ...call, path: `${ADMIN}/import-iam` });
    const none = EMPTY_IAM_ENTITIES;
    return { detailed: false, added: none, skipped: none, removed: none, failed: [] };
  }

  /** `GET /export-bucket-metadata`: a zip of `<bucket>/<config file>` for one or all buckets. */
  async exportBucketMetadata(bucket = ''): Promise<Buffer> {
    return this.getZip(this.exportBucketMetadataCall(bucket));
  }

  /** The files of `export-bucket-metadata`, unzipped within the caps of response-limits.ts. */
  async exportBucketMetadataFiles(
    opts: { bucket?: string; signal?: AbortSignal } = {},
  ): Promise<Map<string, Buffer>> {
    const call = { ...this.exportBucketMetadataCall(opts.bucket ?? ''), signal: opts.signal };
    return this.unzip(call, await this.getZip(call));
  }

  /** The files of `export-bucket-metadata`, not inflated (see `exportIAMArchive`). */
  async exportBucketMetadataArchive(
    opts: { bucket?: string; signal?: AbortSignal } = {},
  ): Promise<ZipFile[]> {
    const call = { ...this.exportBucketMetadataCall(opts.bucket ?? ''), signal: opts.signal };
    return this.list(call, await this.getZip(call));
  }

  private exportBucketMetadataCall(bucket: string): Call {
    const call = this.get('exportBucketMetadata', '/export-bucket-metadata', { bucket });
    return { ...call, timeoutMs: this.bulkTimeoutMs };
  }

  /** `PUT /import-bucket-metadata`: applies a metadata zip, creating missing buckets. */
  async importBucketMetadata(zip: Uint8Array): Promise<ImportBucketMetadataResult> {
    const call: Call = {
      ...this.put('importBucketMetadata', '/import-bucket-metadata'),
      body: zip,
      timeoutMs: this.bulkTimeoutMs,
    };
    const answer = await this.send(call);
    return this.parseJSON(call, answer.body, decodeBucketMetadataImport);
  }

  private async getZip(call: Call): Promise<Buffer> {
    const answer = await this.send({ ...call, maxBytes: MAX_EXPORT_BYTES });
    if (answer.body.length < 22 || answer.body.readUInt16LE(0) !== ZIP_MAGIC) {
      throw this.malformed(
        call,
        `expected a zip, got ${answer.body.length} bytes of something else`,
      );
    }
    return answer.body;
  }

  /** An export's files; past a cap "response too large", else "malformed response". */
  private unzip(call: Call, zip: Buffer): Map<string, Buffer> {
    try {
      return readZipMap(zip, EXPORT_LIMITS);
    } catch (e: unknown) {
      throw this.zipError(call, e);
    }
  }

  /** The export's files, checked, each inflated (and its errors mapped) when read. */
  private list(call: Call, zip: Buffer): ZipFile[] {
    let files: ZipFile[];
    try {
      files = listZip(zip, EXPORT_LIMITS);
    } catch (e: unknown) {
      throw this.zipError(call, e);
    }
    return files.map((f) => ({
      ...f,
      data: () => {
        try {
          return f.data();
        } catch (e: unknown) {
          throw this.zipError(call, e);
        }
      },
    }));
  }

  private zipError(call: Call, e: unknown): unknown {
    if (e instanceof ZipTooLargeError) {
      const why = `response too large: ${call.method} ${call.path} unzipped: ${e.message}`;
      return this.transport.error(call, 'Invalid', why);
    }
    if (e instanceof ZipError) return this.malformed(call, e.message);
    return e;
  }

  // ------------------------------------------------------------------------------------------
  // Bucket remote targets

  /** `GET /list-remote-targets`; a bucket without targets gives `[]`. Plain. */
  async listRemoteTargets(bucket: string, type = 'replication'): Promise<BucketTarget[]> {
    const call: Call = {
      ...this.get('listRemoteTargets', '/list-remote-targets', { bucket, type }),
      tolerate: [REMOTE_TARGET_NOT_FOUND],
    };
    const answer = await this.send(call);
    if (answer.code === REMOTE_TARGET_NOT_FOUND) return [];
    return this.parseJSON(call, answer.body, decodeBucketTargets);
  }

  /**
   * `PUT /set-remote-target`: registers a replication target and returns its ARN (the existing
   * ARN for an identical target). Both buckets need versioning. Encrypted request.
   */
  async setRemoteTarget(bucket: string, spec: RemoteTargetSpec): Promise<string> {
    return this.sendRemoteTarget('setRemoteTarget', {
      bucket,
      target: remoteTargetBody(bucket, spec),
      flags: {},
      secret: spec.secretKey,
    });
  }

  /** `PUT /set-remote-target?update=true` with the given fields to change. Encrypted request. */
  async updateRemoteTarget(
    bucket: string,
    arn: string,
    spec: RemoteTargetSpec,
    updates: readonly RemoteTargetUpdate[],
  ): Promise<string> {
    const flags: Record<string, string> = { update: 'true' };
    for (const u of updates) flags[u] = 'true';
    return this.sendRemoteTarget('updateRemoteTarget', {
      bucket,
      target: remoteTargetBody(bucket, spec, arn),
      flags,
      secret: spec.secretKey,
    });
  }

  /**
   * `DELETE /remove-remote-target`: true if removed, false if there was no such target. Refused
   * (Invalid, XMinioAdminRemoteRemoveDisallowed) while a replication rule still uses the ARN.
   * Note that deleting a bucket's replication configuration removes all its targets too.
   */
  async removeRemoteTarget(bucket: string, arn: string): Promise<boolean> {
    const call: Call = {
      ...this.call('removeRemoteTarget', 'DELETE', '/remove-remote-target', {
        query: { bucket, arn },
      }),
      tolerate: [REMOTE_TARGET_NOT_FOUND],
    };
    const answer = await this.send(call);
    return answer.code === undefined;
  }

  private async sendRemoteTarget(
    op: string,
    { bucket, target, flags, secret }: RemoteTargetCall,
  ): Promise<string> {
    const call = this.put(op, '/set-remote-target', { bucket, ...flags }, [secret]);
    const body = await this.encrypt(call, toJSONBytes(target));
    const answer = await this.send({ ...call, body });
    return this.parseJSON(call, answer.body, decodeArn);
  }

  // ------------------------------------------------------------------------------------------
  // Server configuration (identity_openid, identity_ldap, …)

  /**
   * `GET /get-config-kv?key=` (`subsys`, `subsys:` or `subsys:target`). Secret values are never
   * returned by the server. Encrypted response.
   */
  async getConfigKV(key: string): Promise<ConfigKV> {
    const call = this.get('getConfigKV', '/get-config-kv', { key });
    const answer = await this.send(call);
    const text = (await this.decrypt(call, answer.body)).toString('utf8');
    try {
      return { text, subsystems: parseConfigKV(text) };
    } catch (e: unknown) {
      if (e instanceof ConfigKVSyntaxError) throw this.malformed(call, e.message);
      throw e;
    }
  }

  /** `PUT /set-config-kv` with lines `subsys[:target] k=v …` (merged). Encrypted request. */
  async setConfigKV(text: string): Promise<ConfigChangeResult> {
    return this.changeConfig(
      this.put('setConfigKV', '/set-config-kv', {}, configSecrets(text)),
      text,
    );
  }

  /** `DELETE /del-config-kv` with `subsys[:target]` (resets to defaults). Encrypted request. */
  async deleteConfigKV(text: string): Promise<ConfigChangeResult> {
    return this.changeConfig(
      this.call('deleteConfigKV', 'DELETE', '/del-config-kv', { secrets: configSecrets(text) }),
      text,
    );
  }

  private async changeConfig(call: Call, text: string): Promise<ConfigChangeResult> {
    const body = await this.encrypt(call, Buffer.from(text, 'utf8'));
    const answer = await this.send({ ...call, body });
    return { restartRequired: answer.headers.get(CONFIG_APPLIED_HEADER) !== 'true' };
  }

  // ------------------------------------------------------------------------------------------
  // Site replication (read only) and replication metrics

  /** `GET /site-replication/info`; `{enabled: false}` when not configured. Plain. */
  async siteReplicationInfo(): Promise<SiteReplicationInfo> {
    return this.plainJSON(
      this.get('siteReplicationInfo', '/site-replication/info'),
      decodeSiteReplicationInfo,
    );
  }

  /** `GET /site-replication/status`; no option = buckets, users, groups, policies. Plain. */
  async siteReplicationStatus(
    opts: SiteReplicationStatusOptions = {},
  ): Promise<SiteReplicationStatus> {
    const flag = (b: boolean | undefined): string => String(b === true);
    const query: Record<string, string> = {
      buckets: flag(opts.buckets),
      policies: flag(opts.policies),
      users: flag(opts.users),
      groups: flag(opts.groups),
      metrics: flag(opts.metrics),
      'ilm-expiry-rules': flag(opts.ilmExpiryRules),
      'peer-state': flag(opts.peerState),
    };
    if (opts.entity !== undefined) {
      query['entity'] = opts.entity.type;
      query['entityvalue'] = opts.entity.name;
    }
    return this.plainJSON(
      this.get('siteReplicationStatus', '/site-replication/status', query),
      decodeSiteReplicationStatus,
    );
  }

  /**
   * S3 extension `GET /{bucket}?replication-metrics=2`. The bucket needs a replication
   * configuration (else NotFound). Plain, cheap.
   */
  async bucketReplicationMetrics(bucket: string): Promise<BucketReplicationMetrics> {
    const call: Call = {
      op: 'bucketReplicationMetrics',
      method: 'GET',
      path: `/${bucket}`,
      query: { 'replication-metrics': '2' },
    };
    return this.plainJSON(call, decodeBucketReplicationMetrics);
  }

  /**
   * `POST /replication/diff?bucket=`: the versions of `bucket` not yet replicated to every
   * target (pending or failed), handed to `onEntry` as they stream in; with `arn`, toward that
   * target only. MinIO walks the whole bucket to answer, so this is for when something is
   * known to be waiting. Plain JSON lines, with spaces as keep-alive.
   */
  async replicationDiff(
    bucket: string,
    opts: { arn?: string; timeoutMs?: number },
    onEntry: (entry: ReplicationDiffEntry) => void,
  ): Promise<void> {
    const query: Record<string, string> = { bucket };
    if (opts.arn !== undefined) query['arn'] = opts.arn;
    const call: Call = {
      ...this.call('replicationDiff', 'POST', '/replication/diff', { query }),
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      consume: async (body) => {
        try {
          for await (const line of jsonLines(body, MAX_JSON_LINE_BYTES)) {
            onEntry(decodeReplicationDiffEntry(line));
          }
        } catch (e: unknown) {
          if (e instanceof DecodeError) throw this.malformed(call, e.message);
          throw e;
        }
      },
    };
    await this.send(call);
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing

  private call(op: string, method: HttpMethod, path: string, extra: CallExtra = {}): Call {
    return {
      op,
      method,
      path: `${ADMIN}${path}`,
      query: extra.query ?? {},
      secrets: extra.secrets ?? [],
    };
  }

  private get(
    op: string,
    path: string,
    query: Readonly<Record<string, string | readonly string[]>> = {},
  ): Call {
    return this.call(op, 'GET', path, { query });
  }

  private put(
    op: string,
    path: string,
    query: Readonly<Record<string, string>> = {},
    secrets: readonly string[] = [],
  ): Call {
    return this.call(op, 'PUT', path, { query, secrets });
  }

  private async plainJSON<T>(call: Call, decode: (v: unknown) => T): Promise<T> {
    const answer = await this.send(call);
    return this.parseJSON(call, answer.body, decode);
  }

  private async encryptedJSON<T>(call: Call, decode: (v: unknown) => T): Promise<T> {
    const answer = await this.send(call);
    return this.parseJSON(call, await this.decrypt(call, answer.body), decode);
  }

  private parseJSON<T>(call: Call, bytes: Buffer, decode: (v: unknown) => T): T {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw this.malformed(call, `expected JSON, got ${bytes.length} bytes that do not parse`);
    }
    try {
      return decode(value);
    } catch (e: unknown) {
      if (e instanceof NotReadyError) throw this.transport.error(call, 'NotReady', e.message);
      if (e instanceof DecodeError) throw this.malformed(call, e.message);
      throw e;
    }
  }

  private async decrypt(call: Call, body: Buffer): Promise<Buffer> {
    try {
      return await decryptPayload(body, this.secretKey);
    } catch {
      throw this.malformed(
        call,
        `expected an encrypted payload, got ${body.length} bytes that do not decrypt`,
      );
    }
  }

  private async encrypt(call: Call, plaintext: Buffer): Promise<Buffer> {
    try {
      return await encryptPayload(plaintext, this.secretKey, {
        algorithm: PayloadAlgorithm.Pbkdf2AesGcm,
      });
    } catch (e: unknown) {
      throw this.transport.error(call, 'Internal', 'could not encrypt the request body', {
        cause: e,
      });
    } finally {
      plaintext.fill(0);
    }
  }

  private malformed(call: Call, why: string) {
    return this.transport.error(
      call,
      'Invalid',
      `malformed response from ${call.method} ${call.path}: ${why}`,
    );
  }
}
