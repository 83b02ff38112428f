/**
 * MinIO's audit log entries (madmin-go `logger/audit/entry.go`) as change hints. MinIO audits
 * every API call to its `audit_webhook` targets: an entry names the call (`api.name`, the
 * handler's name), its bucket, its query (`requestQuery`), who made it and the deployment, but
 * never the request body. So an entry only says "this part of the site changed": the hint.
 *
 * Most entries are object reads and writes; they are recognised from the entry's first bytes
 * (Go writes the fields in declaration order, `api.name` within the first ~200 bytes) and
 * dropped without parsing the JSON.
 */
import type { ChangeHint, ChangeScope, DecodedReport } from '../change-feed.js';
import { MAX_BUCKET_NAME_LENGTH, MAX_JSON_LINE_BYTES } from '../response-limits.js';

/** Admin API calls that change IAM (`cmd/admin-router.go`, handler names without `Handler`). */
export const IAM_CALLS: ReadonlySet<string> = new Set([
  'AddUser',
  'RemoveUser',
  'SetUserStatus',
  'AddCannedPolicy',
  'RemoveCannedPolicy',
  'SetPolicyForUserOrGroup',
  'AttachDetachPolicyBuiltin',
  'AttachDetachPolicyLDAP',
  'UpdateGroupMembers',
  'SetGroupStatus',
  'AddServiceAccount',
  'AddServiceAccountLDAP',
  'UpdateServiceAccount',
  'DeleteServiceAccount',
  'ImportIAM',
  'ImportIAMV2',
]);

/** S3 calls that change a bucket's replicated configuration or its peer links (`api.bucket`). */
export const BUCKET_CONFIG_CALLS: ReadonlySet<string> = new Set([
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutBucketTagging',
  'DeleteBucketTagging',
  'PutBucketVersioning',
  'PutBucketEncryption',
  'DeleteBucketEncryption',
  'PutBucketObjectLockConfig',
  'PutBucketReplicationConfig',
  'DeleteBucketReplicationConfig',
  'SetRemoteTarget',
  'RemoveRemoteTarget',
]);

/** Calls that create or remove a bucket. */
export const BUCKET_LIST_CALLS: ReadonlySet<string> = new Set(['PutBucket', 'DeleteBucket']);

/**
 * Calls whose effect cannot be narrowed from the entry: a bulk import of bucket metadata
 * (creates buckets without a PutBucket entry or bucket event) and the peer calls of MinIO's
 * own site replication.
 */
export const EVERYTHING_CALLS: ReadonlySet<string> = new Set([
  'ImportBucketMetadata',
  'SRPeerBucketOps',
  'SRPeerReplicateIAMItem',
  'SRPeerReplicateBucketItem',
]);

const mutating = (name: string) =>
  IAM_CALLS.has(name) ||
  BUCKET_CONFIG_CALLS.has(name) ||
  BUCKET_LIST_CALLS.has(name) ||
  EVERYTHING_CALLS.has(name);

const NAME_MARK = '"api":{"name":"';
/** How far into a line `api.name` is looked for before the JSON is parsed whole. */
const NAME_WINDOW = 1024;

/**
 * The call's name from the line's first bytes, or undefined when it is not where MinIO puts
 * it. A JSON string cannot hold an unescaped `"`, so the first match is the entry's own field.
 */
export function peekCallName(line: string): string | undefined {
  const at = line.indexOf(NAME_MARK);
  if (at < 0 || at > NAME_WINDOW) return undefined;
  const start = at + NAME_MARK.length;
  const end = line.indexOf('"', start);
  if (end < 0 || end - start > 128) return undefined;
  return line.slice(start, end);
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v.slice(0, 512) : undefined;

function scopeOf(name: string, bucket: string | undefined): ChangeScope {
  if (IAM_CALLS.has(name)) return { kind: 'iam' };
  const named = bucket !== undefined && bucket.length <= MAX_BUCKET_NAME_LENGTH;
  if (BUCKET_LIST_CALLS.has(name) && named) return { kind: 'bucket', bucket, listed: true };
  if (BUCKET_CONFIG_CALLS.has(name) && named) return { kind: 'bucket', bucket, listed: false };
  return { kind: 'everything' };
}

/** The entry's `time` (RFC 3339) in ms, or undefined. */
function timeOf(v: unknown): number | undefined {
  const t = typeof v === 'string' && v.length <= 64 ? Date.parse(v) : Number.NaN;
  return Number.isFinite(t) ? t : undefined;
}

/** One parsed entry as a hint, or undefined when it changed nothing replicated. */
export function hintOf(entry: unknown): ChangeHint | undefined | 'malformed' {
  const e = obj(entry);
  const api = obj(e['api']);
  const name = text(api['name']);
  const deploymentID = text(e['deploymentid']);
  if (name === undefined || deploymentID === undefined) return 'malformed';
  if (!mutating(name)) return undefined;
  const code = api['statusCode'];
  // A failed call changed nothing. No code at all: read again rather than miss a change.
  if (typeof code === 'number' && code !== 0 && (code < 200 || code > 299)) return undefined;
  return {
    // Admin calls name their bucket in the query (MinIO fills api.bucket from route variables).
    scope: scopeOf(name, text(api['bucket']) ?? text(obj(e['requestQuery'])['bucket'])),
    op: name,
    deploymentID,
    accessKey: text(e['accessKey']),
    parentUser: text(e['parentUser']),
    userAgent: text(e['userAgent']),
    at: timeOf(e['time']),
  };
}

/** One line of a report. */
function decodeLine(line: string, out: DecodedReport): void {
  if (line.trim() === '') return;
  if (line.length > MAX_JSON_LINE_BYTES) {
    out.malformed++;
    return;
  }
  const peeked = peekCallName(line);
  if (peeked !== undefined && !mutating(peeked)) {
    out.ignored++;
    return;
  }
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    out.malformed++;
    return;
  }
  const hint = hintOf(entry);
  if (hint === 'malformed') out.malformed++;
  else if (hint === undefined) out.ignored++;
  else out.hints.push(hint);
}

/**
 * A POST body of an audit webhook target: one JSON entry per line (`batch_size` of them).
 * Bounded by the caller (the body's size); every line is bounded here.
 */
export function decodeAuditReport(body: string): DecodedReport {
  const out: DecodedReport = { hints: [], ignored: 0, malformed: 0 };
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    decodeLine(body.slice(start, end), out);
    start = end + 1;
  }
  return out;
}
