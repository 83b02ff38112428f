/**
 * Reads MinIO's bulk exports (`export-bucket-metadata`, `export-iam`) into a SiteSnapshot's
 * parts. The files inside are the ones the server keeps per bucket and per IAM kind.
 */
import { XMLParser } from 'fast-xml-parser';

import { secretDigest } from '../replication-account.js';
import type { VersioningState } from '../site-client.js';
import {
  type AccountStatus,
  type BucketMeta,
  type RemoteTargetMeta,
  type IamState,
  type ServiceAccountMeta,
  emptyIamState,
} from '../snapshot.js';

const xml = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  isArray: (name) => name === 'Tag' || name === 'Rule' || name === 'Targets',
});

type Json = Record<string, unknown>;

const asObject = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});

/** A scalar as text ('' for anything else): XML and JSON values here are strings or numbers. */
const str = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

function parseXML(data: Buffer | undefined, root: string): Json | undefined {
  if (!data || data.length === 0) return undefined;
  const doc = asObject(xml.parse(data.toString('utf8')));
  return root in doc ? asObject(doc[root]) : undefined;
}

/**
 * An export file that is not what MinIO writes. The message names the file and where it goes
 * wrong, never its text: an IAM export holds every user's secret key, and a JSON parse error
 * quotes the text around the bad token.
 */
export class ExportFormatError extends Error {
  override readonly name = 'ExportFormatError';
}

function parseJSON(data: Buffer | undefined, name: string): unknown {
  if (!data || data.length === 0) return undefined;
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (e: unknown) {
    const at = e instanceof SyntaxError ? /at position (\d+)/.exec(e.message)?.[1] : undefined;
    const where = at === undefined ? '' : ` at byte ${at}`;
    throw new ExportFormatError(`${name} in the export is not valid JSON${where}`);
  }
}

function versioningOf(doc: Json | undefined): VersioningState {
  const s = doc?.['Status'];
  return s === 'Enabled' || s === 'Suspended' ? s : 'Unversioned';
}

function tagsOf(doc: Json | undefined): Record<string, string> | undefined {
  const tags = asObject(doc?.['TagSet'])['Tag'];
  if (!Array.isArray(tags) || tags.length === 0) return undefined;
  const entries = tags.map((t) => {
    const o = asObject(t);
    return [str(o['Key']), str(o['Value'])] as const;
  });
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The default retention of an object-lock configuration, or undefined when none is set. */
function lockRuleOf(doc: Json | undefined): unknown {
  const rules = doc?.['Rule'];
  const rule = Array.isArray(rules) ? asObject(rules[0]) : undefined;
  const d = asObject(rule?.['DefaultRetention']);
  if (d['Mode'] === undefined) return undefined;
  return {
    mode: str(d['Mode']),
    ...(d['Days'] === undefined ? {} : { days: Number(d['Days']) }),
    ...(d['Years'] === undefined ? {} : { years: Number(d['Years']) }),
  };
}

function encryptionOf(doc: Json | undefined): unknown {
  const rules = doc?.['Rule'];
  const rule = Array.isArray(rules) ? asObject(rules[0]) : undefined;
  const d = asObject(rule?.['ApplyServerSideEncryptionByDefault']);
  if (d['SSEAlgorithm'] === undefined) return undefined;
  return {
    algorithm: str(d['SSEAlgorithm']),
    ...(d['KMSMasterKeyID'] ? { kmsKeyId: str(d['KMSMasterKeyID']) } : {}),
  };
}

/**
 * Remote targets from the export (an XML document despite the file name). The export carries
 * the target credentials; only the access key and a digest of the secret are kept.
 */
function targetsOf(doc: Json | undefined): RemoteTargetMeta[] {
  const targets = doc?.['Targets'];
  if (!Array.isArray(targets)) return [];
  return targets.map((t) => {
    const o = asObject(t);
    const secure = o['Secure'] === 'true';
    const credentials = asObject(o['Credentials']);
    const secret = str(credentials['SecretAccessKey']);
    return {
      arn: str(o['Arn']),
      endpoint: `${secure ? 'https' : 'http'}://${str(o['Endpoint'])}`,
      targetBucket: str(o['TargetBucket']),
      secure,
      accessKey: str(credentials['AccessKeyId']),
      ...(secret === '' ? {} : { secretDigest: secretDigest(secret) }),
    };
  });
}

function hasNotifications(doc: Json | undefined): boolean {
  return doc !== undefined && Object.keys(doc).length > 0;
}

/** Groups a bucket-metadata export by bucket: `bucket/file` → file contents. */
function byBucket(files: Map<string, Buffer>): Map<string, Map<string, Buffer>> {
  const out = new Map<string, Map<string, Buffer>>();
  for (const [path, data] of files) {
    const slash = path.indexOf('/');
    if (slash <= 0) continue;
    const bucket = path.slice(0, slash);
    const files1 = out.get(bucket) ?? new Map<string, Buffer>();
    files1.set(path.slice(slash + 1), data);
    out.set(bucket, files1);
  }
  return out;
}

/** Parses an `export-bucket-metadata` zip (already unpacked) into bucket metadata. */
export function parseBucketExport(files: Map<string, Buffer>): Map<string, BucketMeta> {
  const out = new Map<string, BucketMeta>();
  for (const [name, f] of byBucket(files)) {
    const lock = parseXML(f.get('object-lock.xml'), 'ObjectLockConfiguration');
    out.set(name, {
      name,
      versioning: versioningOf(parseXML(f.get('versioning.xml'), 'VersioningConfiguration')),
      objectLock: lock?.['ObjectLockEnabled'] === 'Enabled',
      policy: parseJSON(f.get('policy.json'), `${name}/policy.json`),
      tags: tagsOf(parseXML(f.get('tagging.xml'), 'Tagging')),
      objectLockConfig: lockRuleOf(lock),
      encryption: encryptionOf(
        parseXML(f.get('bucket-encryption.xml'), 'ServerSideEncryptionConfiguration'),
      ),
      hasLifecycle: f.has('lifecycle.xml'),
      hasNotification: hasNotifications(
        parseXML(f.get('notification.xml'), 'NotificationConfiguration'),
      ),
      replicationXML: (f.get('replication.xml') ?? f.get('replication-config.xml'))?.toString(
        'utf8',
      ),
      targets: targetsOf(parseXML(f.get('bucket-targets.json'), 'BucketTargets')),
    });
  }
  return out;
}

const status = (v: unknown): AccountStatus =>
  v === 'disabled' || v === 'off' ? 'disabled' : 'enabled';
const time = (v: unknown): number | undefined => {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) || t <= 0 ? undefined : t;
};
const policyList = (v: unknown): string[] =>
  typeof v === 'string' && v !== ''
    ? v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .sort()
    : [];

function mappings(doc: unknown) {
  const out = new Map<string, { policies: string[]; updatedAt?: number | undefined }>();
  for (const [name, m] of Object.entries(asObject(doc))) {
    const o = asObject(m);
    const policies = policyList(o['policy']);
    if (policies.length > 0) out.set(name, { policies, updatedAt: time(o['updatedAt']) });
  }
  return out;
}

const optionalText = (v: unknown): string | undefined => (str(v) === '' ? undefined : str(v));

function serviceAccount(accessKey: string, o: Json): ServiceAccountMeta {
  const exp = typeof o['expiration'] === 'string' ? o['expiration'] : undefined;
  return {
    accessKey,
    parent: str(o['parent']),
    secretKey: str(o['secretKey']),
    status: o['status'] === 'off' ? 'disabled' : 'enabled',
    groups: Array.isArray(o['groups']) ? o['groups'].map(str).sort() : [],
    sessionPolicy: o['sessionPolicy'] ?? undefined,
    name: optionalText(o['name']),
    description: optionalText(o['description']),
    expiration: exp && !exp.startsWith('1970-01-01') ? exp : undefined,
    claims: asObject(o['claims']),
  };
}

/**
 * Parses an `export-iam` zip (already unpacked) into the IAM state. Every file must be there:
 * a missing `users.json` is a partial export, never "no users" (the admin client refuses such
 * an export first; this is the second line).
 */
export function parseIamExport(files: Map<string, Buffer>): IamState {
  const iam = emptyIamState();
  const file = (n: string) => {
    const data = files.get(`iam-assets/${n}`);
    if (data === undefined) throw new Error(`export-iam: iam-assets/${n} is missing`);
    return parseJSON(data, `iam-assets/${n}`);
  };
  for (const [name, doc] of Object.entries(asObject(file('policies.json'))))
    iam.policies.set(name, doc);
  for (const [name, u] of Object.entries(asObject(file('users.json')))) {
    const o = asObject(u);
    iam.users.set(name, { status: status(o['status']), secretKey: str(o['secretKey']) });
  }
  for (const [name, g] of Object.entries(asObject(file('groups.json')))) {
    const o = asObject(g);
    const members = Array.isArray(o['members']) ? o['members'].map(String).sort() : [];
    iam.groups.set(name, { status: status(o['status']), members, updatedAt: time(o['updatedAt']) });
  }
  iam.userPolicies = mappings(file('user_mappings.json'));
  iam.groupPolicies = mappings(file('group_mappings.json'));
  iam.stsPolicies = mappings(file('stsuser_mappings.json'));
  for (const [ak, sa] of Object.entries(asObject(file('svcaccts.json')))) {
    iam.serviceAccounts.set(ak, serviceAccount(ak, asObject(sa)));
  }
  return iam;
}
