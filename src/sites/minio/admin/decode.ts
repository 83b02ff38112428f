/**
 * Decoders from the JSON the MinIO admin API sends to the client's types. They check what the
 * client relies on and throw `DecodeError` (a "malformed response") otherwise; Go's `null`
 * slices and maps become empty ones. Error messages name fields, never values.
 */
import type {
  AccountStatus,
  BucketMetadataImportStatus,
  BucketReplicationMetrics,
  ReplicationDiffEntry,
  ReplicationDiffTarget,
  BucketTarget,
  GroupDescription,
  GroupPolicies,
  IAMEntities,
  IAMImportFailure,
  ImportBucketMetadataResult,
  ImportIAMResult,
  PeerSite,
  PolicyAssociationResult,
  PolicyDocument,
  PolicyEntitiesResult,
  ReplicationTargetMetrics,
  ServerInfo,
  ServiceAccountCredentials,
  ServiceAccountDetails,
  ServiceAccountInfo,
  ServiceAccountStatus,
  SiteReplicationInfo,
  SiteReplicationStatus,
  UserInfo,
} from './types.js';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** A well-formed answer of a server that is still starting: not malformed, not ready. */
export class NotReadyError extends DecodeError {}

type Obj = Readonly<Record<string, unknown>>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asObject(v: unknown, what: string): Obj {
  if (!isObject(v)) throw new DecodeError(`${what} is not a JSON object`);
  return v;
}

/** A JSON object or Go's `null` map, as an object. */
function objectOrEmpty(v: unknown, what: string): Obj {
  return v === null || v === undefined ? {} : asObject(v, what);
}

function str(o: Obj, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new DecodeError(`${what}.${key} is not a string`);
  return v;
}

function strOr(o: Obj, key: string, what: string, dflt = ''): string {
  const v = o[key];
  return v === undefined || v === null ? dflt : str(o, key, what);
}

function optStr(o: Obj, key: string, what: string): string | undefined {
  const v = strOr(o, key, what);
  return v === '' ? undefined : v;
}

function num(o: Obj, key: string, what: string): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new DecodeError(`${what}.${key} is not a number`);
  return v;
}

function bool(o: Obj, key: string, what: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new DecodeError(`${what}.${key} is not a boolean`);
  return v;
}

export function stringList(v: unknown, what: string): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new DecodeError(`${what} is not a list of strings`);
  }
  return v;
}

function list(v: unknown, what: string): readonly unknown[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new DecodeError(`${what} is not a list`);
  return v;
}

/** `"p1,p2"` → `["p1","p2"]`; empty → `[]`. */
export function splitPolicies(s: string): string[] {
  return s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

function accountStatus(o: Obj, key: string, what: string): AccountStatus {
  const v = str(o, key, what);
  if (v !== 'enabled' && v !== 'disabled')
    throw new DecodeError(`${what}.${key} is not enabled/disabled`);
  return v;
}

/** Go's zero time, and the Unix epoch MinIO uses for "no expiration". */
const UNSET_TIMES = ['0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z'];

/** A time field, undefined when absent or one of the "unset" values. */
function optTime(o: Obj, key: string, what: string): string | undefined {
  const v = optStr(o, key, what);
  return v === undefined || UNSET_TIMES.includes(v) ? undefined : v;
}

export function decodeServerInfo(v: unknown): ServerInfo {
  const o = asObject(v, 'info');
  // MinIO leaves the ID out until its drives' format is loaded: unknown, never "changed".
  const deploymentID = strOr(o, 'deploymentID', 'info');
  if (deploymentID === '') {
    throw new NotReadyError(
      'the server reports no deployment ID yet (its drives are still loading)',
    );
  }
  const servers = list(o['servers'], 'info.servers').map((s) => asObject(s, 'info.servers[]'));
  const versions = [
    ...new Set(servers.map((s) => strOr(s, 'version', 'server')).filter((x) => x !== '')),
  ];
  const backend = objectOrEmpty(o['backend'], 'info.backend');
  return {
    deploymentID,
    region: strOr(o, 'region', 'info'),
    mode: strOr(o, 'mode', 'info'),
    servers: servers.length,
    versions,
    backendType: strOr(backend, 'backendType', 'info.backend'),
  };
}

export function decodeUserInfo(v: unknown, what = 'user'): UserInfo {
  const o = asObject(v, what);
  const auth = objectOrEmpty(o['userAuthInfo'], `${what}.userAuthInfo`);
  return {
    status: accountStatus(o, 'status', what),
    policies: splitPolicies(strOr(o, 'policyName', what)),
    memberOf: stringList(o['memberOf'], `${what}.memberOf`),
    authType: strOr(auth, 'type', `${what}.userAuthInfo`, 'builtin'),
    updatedAt: optTime(o, 'updatedAt', what),
  };
}

export function decodeUserMap(v: unknown): Record<string, UserInfo> {
  const o = objectOrEmpty(v, 'users');
  const out: Record<string, UserInfo> = {};
  for (const [name, info] of Object.entries(o)) out[name] = decodeUserInfo(info, 'users[]');
  return out;
}

export function decodeGroupDescription(v: unknown): GroupDescription {
  const o = asObject(v, 'group');
  return {
    name: str(o, 'name', 'group'),
    status: accountStatus(o, 'status', 'group'),
    members: stringList(o['members'], 'group.members'),
    policies: splitPolicies(strOr(o, 'policy', 'group')),
    updatedAt: optTime(o, 'updatedAt', 'group'),
  };
}

export function decodePolicyDocument(v: unknown, what = 'policy'): PolicyDocument {
  return asObject(v, what);
}

export function decodePolicyMap(v: unknown): Record<string, PolicyDocument> {
  const o = objectOrEmpty(v, 'policies');
  const out: Record<string, PolicyDocument> = {};
  for (const [name, doc] of Object.entries(o)) out[name] = decodePolicyDocument(doc, 'policies[]');
  return out;
}

export function decodePolicyAssociation(v: unknown): PolicyAssociationResult {
  const o = asObject(v, 'policy association');
  const attached = stringList(o['policiesAttached'], 'policiesAttached');
  const detached = stringList(o['policiesDetached'], 'policiesDetached');
  return {
    changed: [...attached, ...detached],
    alreadyApplied: false,
    updatedAt: optTime(o, 'updatedAt', 'policy association'),
  };
}

function decodeGroupPolicies(v: unknown, what: string): GroupPolicies {
  const o = asObject(v, what);
  return { group: str(o, 'group', what), policies: stringList(o['policies'], `${what}.policies`) };
}

export function decodePolicyEntities(v: unknown): PolicyEntitiesResult {
  const o = asObject(v, 'policy entities');
  return {
    timestamp: strOr(o, 'timestamp', 'policy entities'),
    userMappings: list(o['userMappings'], 'userMappings').map((u) => {
      const m = asObject(u, 'userMappings[]');
      return {
        user: str(m, 'user', 'userMappings[]'),
        policies: stringList(m['policies'], 'userMappings[].policies'),
        memberOfMappings: list(m['memberOfMappings'], 'memberOfMappings').map((g) =>
          decodeGroupPolicies(g, 'memberOfMappings[]'),
        ),
      };
    }),
    groupMappings: list(o['groupMappings'], 'groupMappings').map((g) =>
      decodeGroupPolicies(g, 'groupMappings[]'),
    ),
    policyMappings: list(o['policyMappings'], 'policyMappings').map((p) => {
      const m = asObject(p, 'policyMappings[]');
      return {
        policy: str(m, 'policy', 'policyMappings[]'),
        users: stringList(m['users'], 'policyMappings[].users'),
        groups: stringList(m['groups'], 'policyMappings[].groups'),
      };
    }),
  };
}

function serviceAccountStatus(o: Obj, what: string): ServiceAccountStatus {
  const v = str(o, 'accountStatus', what);
  if (v !== 'on' && v !== 'off') throw new DecodeError(`${what}.accountStatus is not on/off`);
  return v;
}

function decodeServiceAccountBase(o: Obj, accessKey: string, what: string): ServiceAccountInfo {
  return {
    accessKey,
    parentUser: str(o, 'parentUser', what),
    accountStatus: serviceAccountStatus(o, what),
    impliedPolicy: bool(o, 'impliedPolicy', what),
    name: optStr(o, 'name', what),
    description: optStr(o, 'description', what),
    expiration: optTime(o, 'expiration', what),
  };
}

export function decodeServiceAccountList(v: unknown): ServiceAccountInfo[] {
  const o = asObject(v, 'service accounts');
  return list(o['accounts'], 'accounts').map((a) => {
    const m = asObject(a, 'accounts[]');
    return decodeServiceAccountBase(m, str(m, 'accessKey', 'accounts[]'), 'accounts[]');
  });
}

export function decodeServiceAccountDetails(v: unknown, accessKey: string): ServiceAccountDetails {
  const o = asObject(v, 'service account');
  const base = decodeServiceAccountBase(o, accessKey, 'service account');
  const text = strOr(o, 'policy', 'service account');
  if (text.trim() === '') return base;
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    throw new DecodeError('service account.policy is not a JSON document');
  }
  return { ...base, policy: policy === null ? undefined : decodePolicyDocument(policy) };
}

export function decodeServiceAccountCredentials(v: unknown): ServiceAccountCredentials {
  const o = asObject(v, 'add service account');
  const c = asObject(o['credentials'], 'credentials');
  const accessKey = str(c, 'accessKey', 'credentials');
  const secretKey = str(c, 'secretKey', 'credentials');
  if (accessKey === '' || secretKey === '') throw new DecodeError('credentials are empty');
  return { accessKey, secretKey, expiration: optTime(c, 'expiration', 'credentials') };
}

function decodeIAMEntities(v: unknown, what: string): IAMEntities {
  const o = objectOrEmpty(v, what);
  const mappings = (key: string): Readonly<Record<string, readonly string[]>>[] =>
    list(o[key], `${what}.${key}`).map((m) => {
      const entry = asObject(m, `${what}.${key}[]`);
      const out: Record<string, readonly string[]> = {};
      for (const [name, pols] of Object.entries(entry))
        out[name] = stringList(pols, `${what}.${key}[]`);
      return out;
    });
  return {
    policies: stringList(o['policies'], `${what}.policies`),
    users: stringList(o['users'], `${what}.users`),
    groups: stringList(o['groups'], `${what}.groups`),
    serviceAccounts: stringList(o['serviceAccounts'], `${what}.serviceAccounts`),
    userPolicies: mappings('userPolicies'),
    groupPolicies: mappings('groupPolicies'),
    stsPolicies: mappings('stsPolicies'),
  };
}

/** Go marshals an `error` value as `{}` (or a string when it implements Marshaler). */
function errorText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (isObject(v)) {
    const msg = v['Message'] ?? v['message'] ?? v['Err'];
    if (typeof msg === 'string') return msg;
  }
  return '';
}

const FAILED_KEYS = [
  'policies',
  'users',
  'groups',
  'serviceAccounts',
  'userPolicies',
  'groupPolicies',
  'stsPolicies',
] as const;

function decodeImportFailures(v: unknown): IAMImportFailure[] {
  const o = objectOrEmpty(v, 'failed');
  const out: IAMImportFailure[] = [];
  for (const entity of FAILED_KEYS) {
    for (const item of list(o[entity], `failed.${entity}`)) {
      const m = asObject(item, `failed.${entity}[]`);
      const policies =
        m['policies'] === undefined ? undefined : stringList(m['policies'], 'policies');
      out.push({
        entity,
        name: strOr(m, 'name', 'failed'),
        policies,
        error: errorText(m['error']),
      });
    }
  }
  return out;
}

export function decodeImportIAMResult(v: unknown): ImportIAMResult {
  const o = asObject(v, 'import result');
  return {
    detailed: true,
    added: decodeIAMEntities(o['added'], 'added'),
    skipped: decodeIAMEntities(o['skipped'], 'skipped'),
    removed: decodeIAMEntities(o['removed'], 'removed'),
    failed: decodeImportFailures(o['failed']),
  };
}

export const EMPTY_IAM_ENTITIES: IAMEntities = decodeIAMEntities({}, 'empty');

function decodeBucketImportStatus(
  v: unknown,
  bucket: string,
  errors: string[],
): BucketMetadataImportStatus {
  const o = asObject(v, 'buckets[]');
  const items: Record<string, { isSet: boolean; error?: string | undefined }> = {};
  for (const [key, item] of Object.entries(o)) {
    if (key === 'error') continue;
    const m = asObject(item, `buckets[].${key}`);
    const error = optStr(m, 'error', `buckets[].${key}`);
    items[key] = { isSet: bool(m, 'isSet', `buckets[].${key}`), error };
    if (error !== undefined) errors.push(`${bucket}/${key}: ${error}`);
  }
  const error = optStr(o, 'error', 'buckets[]');
  if (error !== undefined) errors.push(`${bucket}: ${error}`);
  return { items, error };
}

export function decodeBucketMetadataImport(v: unknown): ImportBucketMetadataResult {
  const o = asObject(v, 'import result');
  const buckets: Record<string, BucketMetadataImportStatus> = {};
  const errors: string[] = [];
  for (const [bucket, st] of Object.entries(objectOrEmpty(o['buckets'], 'buckets'))) {
    buckets[bucket] = decodeBucketImportStatus(st, bucket, errors);
  }
  return { buckets, errors };
}

const NS_PER_SECOND = 1e9;

function decodeBucketTarget(v: unknown): BucketTarget {
  const o = asObject(v, 'target');
  const creds = objectOrEmpty(o['credentials'], 'target.credentials');
  const secure = bool(o, 'secure', 'target');
  const endpoint = str(o, 'endpoint', 'target');
  return {
    arn: str(o, 'arn', 'target'),
    sourceBucket: strOr(o, 'sourcebucket', 'target'),
    endpoint,
    secure,
    url: `${secure ? 'https' : 'http'}://${endpoint}`,
    targetBucket: str(o, 'targetbucket', 'target'),
    accessKey: strOr(creds, 'accessKey', 'target.credentials'),
    type: strOr(o, 'type', 'target'),
    region: strOr(o, 'region', 'target'),
    replicationSync: bool(o, 'replicationSync', 'target'),
    disableProxy: bool(o, 'disableProxy', 'target'),
    bandwidthLimit: num(o, 'bandwidthlimit', 'target'),
    healthCheckSeconds: num(o, 'healthCheckDuration', 'target') / NS_PER_SECOND,
    storageClass: strOr(o, 'storageclass', 'target'),
    path: strOr(o, 'path', 'target'),
    deploymentID: strOr(o, 'deploymentID', 'target'),
    isOnline: typeof o['isOnline'] === 'boolean' ? o['isOnline'] : undefined,
  };
}

export function decodeBucketTargets(v: unknown): BucketTarget[] {
  return list(v, 'targets').map(decodeBucketTarget);
}

export function decodeArn(v: unknown): string {
  if (typeof v !== 'string' || !v.startsWith('arn:'))
    throw new DecodeError('the answer is not an ARN');
  return v;
}

function decodePeerSite(v: unknown, what: string): PeerSite {
  const o = asObject(v, what);
  const bw = objectOrEmpty(o['defaultbandwidth'], `${what}.defaultbandwidth`);
  return {
    name: strOr(o, 'name', what),
    endpoint: strOr(o, 'endpoint', what),
    deploymentID: strOr(o, 'deploymentID', what),
    sync: strOr(o, 'sync', what),
    replicateILMExpiry: bool(o, 'replicate-ilm-expiry', what),
    bandwidthLimitPerBucket: num(bw, 'bandwidthLimitPerBucket', what),
  };
}

export function decodeSiteReplicationInfo(v: unknown): SiteReplicationInfo {
  const o = asObject(v, 'site replication info');
  return {
    enabled: bool(o, 'enabled', 'site replication info'),
    name: strOr(o, 'name', 'site replication info'),
    sites: list(o['sites'], 'sites').map((s) => decodePeerSite(s, 'sites[]')),
    serviceAccountAccessKey: strOr(o, 'serviceAccountAccessKey', 'site replication info'),
    apiVersion: strOr(o, 'apiVersion', 'site replication info'),
  };
}

function numberMap(v: unknown, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(objectOrEmpty(v, what))) {
    if (typeof x === 'number') out[k] = x;
  }
  return out;
}

export function decodeSiteReplicationStatus(v: unknown): SiteReplicationStatus {
  const o = asObject(v, 'site replication status');
  const what = 'site replication status';
  const sites: Record<string, PeerSite> = {};
  for (const [id, s] of Object.entries(objectOrEmpty(o['Sites'], 'Sites')))
    sites[id] = decodePeerSite(s, 'Sites[]');
  const statsSummary: Record<string, Record<string, number>> = {};
  for (const [id, s] of Object.entries(objectOrEmpty(o['StatsSummary'], 'StatsSummary'))) {
    statsSummary[id] = numberMap(s, 'StatsSummary[]');
  }
  return {
    enabled: bool(o, 'Enabled', what),
    maxBuckets: num(o, 'MaxBuckets', what),
    maxUsers: num(o, 'MaxUsers', what),
    maxGroups: num(o, 'MaxGroups', what),
    maxPolicies: num(o, 'MaxPolicies', what),
    sites,
    statsSummary,
    bucketStats: objectOrEmpty(o['BucketStats'], 'BucketStats'),
    policyStats: objectOrEmpty(o['PolicyStats'], 'PolicyStats'),
    userStats: objectOrEmpty(o['UserStats'], 'UserStats'),
    groupStats: objectOrEmpty(o['GroupStats'], 'GroupStats'),
  };
}

/** `TimedErrStats.totals` (`{count, bytes}`) since the server started. */
function failedTotals(v: unknown, what: string): { count: number; bytes: number } {
  const o = objectOrEmpty(v, what);
  const totals = objectOrEmpty(o['totals'], `${what}.totals`);
  return { count: num(totals, 'count', what), bytes: num(totals, 'bytes', what) };
}

function decodeTargetMetrics(v: unknown): ReplicationTargetMetrics {
  const o = asObject(v, 'Stats[]');
  const failed = failedTotals(o['failed'], 'Stats[].failed');
  return {
    replicatedBytes: num(o, 'completedReplicationSize', 'Stats[]'),
    replicatedCount: num(o, 'replicationCount', 'Stats[]'),
    failedCount: failed.count,
    failedBytes: failed.bytes,
    bandwidthLimitBytesPerSecond: num(o, 'limitInBits', 'Stats[]'),
    currentBandwidthBytesPerSecond: num(o, 'currentBandwidth', 'Stats[]'),
  };
}

/**
 * Parses a JSON-lines stream one value at a time. Blank space between lines (MinIO's keep-alive)
 * is dropped as it arrives; a line longer than `maxLine` characters is refused with a
 * DecodeError rather than held in memory.
 */
export async function* jsonLines(
  body: AsyncIterable<Uint8Array>,
  maxLine = Number.POSITIVE_INFINITY,
): AsyncGenerator {
  const text = new TextDecoder();
  let pending = '';
  const parse = (line: string): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      throw new DecodeError(`a line of ${line.length} characters is not JSON`);
    }
  };
  const tooLong = () => new DecodeError(`a line is longer than ${maxLine} characters`);
  for await (const chunk of body) {
    pending += text.decode(chunk, { stream: true });
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line.length > maxLine) throw tooLong();
      if (line !== '') yield parse(line);
      nl = pending.indexOf('\n');
    }
    pending = pending.trimStart();
    if (pending.length > maxLine) throw tooLong();
  }
  const last = (pending + text.decode()).trim();
  if (last.length > maxLine) throw tooLong();
  if (last !== '') yield parse(last);
}

/** One line of `replication/diff` (madmin `DiffInfo`). */
export function decodeReplicationDiffEntry(v: unknown): ReplicationDiffEntry {
  const what = 'replication diff entry';
  const o = asObject(v, what);
  const targets: Record<string, ReplicationDiffTarget> = {};
  for (const [arn, t] of Object.entries(objectOrEmpty(o['targets'], `${what} targets`))) {
    const tt = asObject(t, `${what} target`);
    targets[arn] = { status: strOr(tt, 'rStatus', what), deleteStatus: strOr(tt, 'dStatus', what) };
  }
  return {
    object: str(o, 'object', what),
    versionId: strOr(o, 'versionId', what),
    lastModified: optTime(o, 'lastModified', what),
    deleteMarker: o['deletemarker'] === true,
    targets,
  };
}

export function decodeBucketReplicationMetrics(v: unknown): BucketReplicationMetrics {
  const o = asObject(v, 'replication metrics');
  const cur = asObject(o['currStats'], 'currStats');
  const failed = failedTotals(cur['failed'], 'currStats.failed');
  const queued = objectOrEmpty(objectOrEmpty(cur['queued'], 'queued')['curr'], 'queued.curr');
  const targets: Record<string, ReplicationTargetMetrics> = {};
  for (const [arn, st] of Object.entries(objectOrEmpty(cur['Stats'], 'Stats')))
    targets[arn] = decodeTargetMetrics(st);
  return {
    uptimeSeconds: num(o, 'uptime', 'replication metrics'),
    replicatedBytes: num(cur, 'completedReplicationSize', 'currStats'),
    replicatedCount: num(cur, 'replicationCount', 'currStats'),
    replicaBytes: num(cur, 'replicaSize', 'currStats'),
    replicaCount: num(cur, 'replicaCount', 'currStats'),
    failedCount: failed.count,
    failedBytes: failed.bytes,
    queuedCount: num(queued, 'count', 'queued.curr'),
    queuedBytes: num(queued, 'bytes', 'queued.curr'),
    targets,
  };
}
