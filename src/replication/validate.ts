/**
 * What S3, MinIO or Zenko would say about a replication configuration, said before it is sent
 * and naming the rule and field: the rules of the AWS PutBucketReplication and Zenko PUT Bucket
 * Replication seeds, and MinIO's server-side validation (shared/reference/minio-admin-api.md §4).
 *
 * Pure and total: any model, however wrong, gives a list of issues; nothing throws.
 */
import {
  MAX_FILTER_TAGS,
  MAX_PREFIX_LENGTH,
  MAX_PRIORITY,
  MAX_REPLICATION_DOCUMENT_BYTES,
  MAX_REPLICATION_RULES,
  MAX_RULE_ID_LENGTH,
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  RTC_MINUTES,
} from '../api/replication-config.js';
import {
  type Destination,
  type Filter,
  MINIO_TARGET_ARN_PREFIX,
  type ReplicationConfig,
  type ReplicationRule,
  S3_BUCKET_ARN_PREFIX,
  type StatusElement,
  type Tag,
  documentOf,
} from './replication-config.js';
import { buildReplicationXML, invalidXmlCharIndex } from './xml-codec.js';

export { activeRules } from './replication-config.js';

export type DestinationFlavor = 'minio' | 's3' | 'zenko';

export interface ValidationIssue {
  /** Field path in the YAML form, e.g. `spec.rules[2].priority`. */
  path: string;
  /** The rule at fault: its ID, or `#<index>` when it has none. */
  rule?: string;
  message: string;
}

export interface ValidateReplicationOptions {
  /** What the destination runs: its rules differ (see the module comment). */
  destinationFlavor: DestinationFlavor;
  /** Path of the object holding `role` and `rules` (default `spec`). */
  root?: string;
  /** Zenko: the location names `storageClass` may use. Without it, any well-formed name. */
  locations?: readonly string[];
}

/** Storage classes S3 takes for replicas (PutBucketReplication `Destination/StorageClass`). */
export const S3_REPLICA_STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
] as const;
/** MinIO accepts only these two (internal/bucket/replication/destination.go). */
export const MINIO_STORAGE_CLASSES = ['STANDARD', 'REDUCED_REDUNDANCY'] as const;
/** Zenko takes these S3 classes, or location names (Arsenal ReplicationConfiguration). */
export const ZENKO_STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'REDUCED_REDUNDANCY'] as const;

const _STATUSES: readonly string[] = ['Enabled', 'Disabled'];
const _BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const _S3_BUCKET_ARN = /^arn:aws(?:-[a-z]+)*:s3:::(.*)$/;
const _IAM_ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::(?:\*|[^:\s]{2,}):role\/\S+$/;
const _ZENKO_LOCATION = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Stands in for a remote-target ARN not known yet, to size the document. */
const _PLACEHOLDER_ARN = `${MINIO_TARGET_ARN_PREFIX}:00000000-0000-0000-0000-000000000000:`;

const _utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');
/** Length in Unicode code points (a surrogate pair is one character). */
const _charLength = (s: string) => s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '_').length;
const _quote = (s: string) => `'${s.length > 80 ? `${s.slice(0, 80)}...` : s}'`;
const _label = (rule: ReplicationRule, index: number) =>
  typeof rule.id === 'string' && rule.id !== '' ? rule.id : `#${index}`;

class _Report {
  readonly issues: ValidationIssue[] = [];

  add(path: string, message: string, rule?: string): void {
    this.issues.push(rule === undefined ? { path, message } : { path, rule, message });
  }
}

/** Checks of one rule: paths under `spec.rules[i]`, issues labelled with the rule. */
class _RuleReport {
  readonly label: string;
  readonly path: string;

  constructor(
    private readonly report: _Report,
    root: string,
    readonly rule: ReplicationRule,
    readonly index: number,
  ) {
    this.label = _label(rule, index);
    this.path = `${root}.rules[${index}]`;
  }

  add(field: string, message: string): void {
    this.report.add(field === '' ? this.path : `${this.path}.${field}`, message, this.label);
  }

  status(field: string, s: StatusElement | undefined): void {
    if (s !== undefined && !_STATUSES.includes(s.status)) {
      this.add(field, `${field} must be Enabled or Disabled, not ${_quote(s.status)}`);
    }
  }
}

const _isV2 = (r: ReplicationRule) => r.filter !== undefined;
const _isV1 = (r: ReplicationRule) => r.prefix !== undefined;
const _enabled = (s: StatusElement | undefined) => s?.status === 'Enabled';
const _filterTags = (f: Filter | undefined): Tag[] =>
  f === undefined ? [] : [...(f.tag === undefined ? [] : [f.tag]), ...(f.and?.tags ?? [])];

// ---------------------------------------------------------------------------------------------
// One rule

function _checkId(r: _RuleReport, flavor: DestinationFlavor): void {
  const { id } = r.rule;
  if (id === undefined) return;
  // MinIO counts bytes (Go's len); S3 and Zenko count characters.
  const length = flavor === 'minio' ? _utf8Length(id) : _charLength(id);
  if (length > MAX_RULE_ID_LENGTH) {
    const unit = flavor === 'minio' ? 'bytes (MinIO counts UTF-8 bytes)' : 'characters';
    r.add('id', `id must be at most ${MAX_RULE_ID_LENGTH} ${unit}, not ${length}`);
  }
}

function _checkPriority(r: _RuleReport): void {
  const { priority } = r.rule;
  if (priority === undefined) {
    if (_isV2(r.rule)) r.add('priority', 'priority is required when filter is used');
    return;
  }
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
    r.add('priority', `priority must be an integer from 0 to ${MAX_PRIORITY}, not ${priority}`);
  }
}

function _checkPrefix(r: _RuleReport, field: string, prefix: string | undefined): void {
  if (prefix === undefined) return;
  const bytes = _utf8Length(prefix);
  if (bytes > MAX_PREFIX_LENGTH) {
    r.add(
      field,
      `${field} must be at most ${MAX_PREFIX_LENGTH} bytes (an object key), not ${bytes}`,
    );
  }
}

function _checkTag(r: _RuleReport, field: string, tag: Tag): void {
  const keyLength = _charLength(tag.key);
  if (keyLength < 1 || keyLength > MAX_TAG_KEY_LENGTH) {
    r.add(
      `${field}.key`,
      `tag key must be 1 to ${MAX_TAG_KEY_LENGTH} characters, not ${keyLength}`,
    );
  }
  const valueLength = _charLength(tag.value);
  if (valueLength > MAX_TAG_VALUE_LENGTH) {
    r.add(
      `${field}.value`,
      `tag value must be at most ${MAX_TAG_VALUE_LENGTH} characters, not ${valueLength}`,
    );
  }
}

function _checkFilter(r: _RuleReport): void {
  const { filter } = r.rule;
  if (filter === undefined) return;
  const members = [filter.prefix, filter.tag, filter.and].filter((m) => m !== undefined).length;
  if (members > 1) r.add('filter', 'filter takes at most one of prefix, tag and and');
  _checkPrefix(r, 'filter.prefix', filter.prefix);
  if (filter.tag !== undefined) _checkTag(r, 'filter.tag', filter.tag);
  if (filter.and === undefined) return;
  _checkPrefix(r, 'filter.and.prefix', filter.and.prefix);
  const { tags } = filter.and;
  if (tags.length > MAX_FILTER_TAGS) {
    r.add(
      'filter.and.tags',
      `filter.and.tags holds at most ${MAX_FILTER_TAGS} tags (an object carries at most ${MAX_FILTER_TAGS}), not ${tags.length}`,
    );
  }
  const seen = new Set<string>();
  tags.forEach((tag, i) => {
    _checkTag(r, `filter.and.tags[${i}]`, tag);
    if (seen.has(tag.key)) {
      r.add(
        `filter.and.tags[${i}].key`,
        `tag key ${_quote(tag.key)} appears twice; keys must be unique`,
      );
    }
    seen.add(tag.key);
  });
}

function _checkDeleteMarkers(r: _RuleReport, flavor: DestinationFlavor): void {
  const { deleteMarkerReplication: dmr, filter } = r.rule;
  if (dmr === undefined) {
    if (flavor === 'minio') {
      r.add('deleteMarkerReplication', 'deleteMarkerReplication is required by MinIO');
    } else if (_isV2(r.rule)) {
      r.add('deleteMarkerReplication', 'deleteMarkerReplication is required when filter is used');
    }
    return;
  }
  // MinIO refuses it with a single Tag filter; S3 with any tag-based filter.
  const tagged = flavor === 'minio' ? filter?.tag !== undefined : _filterTags(filter).length > 0;
  if (_enabled(dmr) && tagged && flavor !== 'zenko') {
    r.add(
      'deleteMarkerReplication.status',
      'deleteMarkerReplication must be Disabled when the filter selects by tag: delete markers carry no tags',
    );
  }
}

function _checkStatuses(r: _RuleReport): void {
  const { rule } = r;
  if (!_STATUSES.includes(rule.status)) {
    r.add('status', `status must be Enabled or Disabled, not ${_quote(rule.status)}`);
  }
  r.status('deleteMarkerReplication.status', rule.deleteMarkerReplication);
  r.status('deleteReplication.status', rule.deleteReplication);
  r.status('existingObjectReplication.status', rule.existingObjectReplication);
  const ssc = rule.sourceSelectionCriteria;
  r.status('sourceSelectionCriteria.sseKmsEncryptedObjects.status', ssc?.sseKmsEncryptedObjects);
  r.status('sourceSelectionCriteria.replicaModifications.status', ssc?.replicaModifications);
  r.status('destination.metrics.status', rule.destination.metrics);
  r.status('destination.replicationTime.status', rule.destination.replicationTime);
}

function _checkMinutes(r: _RuleReport, field: string, minutes: number | undefined): void {
  if (minutes !== undefined && minutes !== RTC_MINUTES) {
    r.add(
      field,
      `${field} must be ${RTC_MINUTES} (S3 accepts only ${RTC_MINUTES}), not ${minutes}`,
    );
  }
}

function _checkReplicationTime(r: _RuleReport, flavor: DestinationFlavor): void {
  const { replicationTime: rtc, metrics } = r.rule.destination;
  _checkMinutes(r, 'destination.metrics.eventThreshold.minutes', metrics?.eventThreshold?.minutes);
  if (rtc === undefined) return;
  if (rtc.time === undefined) {
    r.add('destination.replicationTime.time', 'destination.replicationTime.time is required');
  }
  _checkMinutes(r, 'destination.replicationTime.time.minutes', rtc.time?.minutes);
  if (_enabled(rtc) && !_enabled(metrics)) {
    r.add(
      'destination.metrics',
      'destination.replicationTime Enabled requires destination.metrics Enabled',
    );
  }
  if (flavor === 's3' && !_isV2(r.rule)) {
    r.add(
      'destination.replicationTime',
      'destination.replicationTime needs a V2 rule (with filter instead of the legacy prefix)',
    );
  }
}

function _checkEncryption(r: _RuleReport): void {
  const sse = r.rule.sourceSelectionCriteria?.sseKmsEncryptedObjects;
  if (_enabled(sse) && r.rule.destination.encryptionConfiguration?.replicaKmsKeyID === undefined) {
    r.add(
      'destination.encryptionConfiguration.replicaKmsKeyID',
      'destination.encryptionConfiguration.replicaKmsKeyID is required when sourceSelectionCriteria.sseKmsEncryptedObjects is Enabled',
    );
  }
}

function _checkOwnership(r: _RuleReport, flavor: DestinationFlavor): void {
  const { account, accessControlTranslation: act } = r.rule.destination;
  if (act !== undefined) {
    if (act.owner !== 'Destination') {
      r.add(
        'destination.accessControlTranslation.owner',
        `destination.accessControlTranslation.owner must be Destination, not ${_quote(act.owner)}`,
      );
    }
    if (account === undefined) {
      r.add(
        'destination.account',
        'destination.account is required with destination.accessControlTranslation',
      );
    }
  }
  if (account !== undefined && flavor === 's3' && !/^[0-9]{12}$/.test(account)) {
    r.add(
      'destination.account',
      `destination.account must be a 12-digit AWS account ID, not ${_quote(account)}`,
    );
  }
}

function _checkStorageClass(r: _RuleReport, options: ValidateReplicationOptions): void {
  const sc = r.rule.destination.storageClass;
  if (sc === undefined) return;
  const field = 'destination.storageClass';
  switch (options.destinationFlavor) {
    case 's3':
      if (!(S3_REPLICA_STORAGE_CLASSES as readonly string[]).includes(sc)) {
        r.add(
          field,
          `${field} must be one of ${S3_REPLICA_STORAGE_CLASSES.join(', ')}, not ${_quote(sc)}`,
        );
      }
      return;
    case 'minio':
      if (!(MINIO_STORAGE_CLASSES as readonly string[]).includes(sc)) {
        r.add(field, `${field} must be STANDARD or REDUCED_REDUNDANCY on MinIO, not ${_quote(sc)}`);
      }
      return;
    case 'zenko':
      _checkZenkoLocations(r, sc, options.locations);
  }
}

function _checkZenkoLocations(r: _RuleReport, sc: string, locations?: readonly string[]): void {
  const field = 'destination.storageClass';
  for (const name of sc.split(',')) {
    if ((ZENKO_STORAGE_CLASSES as readonly string[]).includes(name)) continue;
    if (locations === undefined ? _ZENKO_LOCATION.test(name) : locations.includes(name)) continue;
    const known = locations === undefined ? '' : ` (known locations: ${locations.join(', ')})`;
    r.add(
      field,
      `${field} names a storage class or Zenko location that does not exist: ${_quote(name)}${known}`,
    );
  }
}

function _checkBucketArn(r: _RuleReport, flavor: DestinationFlavor, bucket: string): void {
  const field = 'destination.bucket';
  if (flavor === 'minio') {
    if (!bucket.startsWith(S3_BUCKET_ARN_PREFIX) && !bucket.startsWith(MINIO_TARGET_ARN_PREFIX)) {
      r.add(
        field,
        `${field} must be a remote-target ARN (${MINIO_TARGET_ARN_PREFIX}...) or ${S3_BUCKET_ARN_PREFIX}<bucket> on MinIO, not ${_quote(bucket)}`,
      );
    }
    return;
  }
  const m = _S3_BUCKET_ARN.exec(bucket);
  const name = m?.[1];
  if (name === undefined || !_BUCKET_NAME.test(name)) {
    r.add(
      field,
      `${field} must be a bucket ARN ${S3_BUCKET_ARN_PREFIX}<bucket name>, not ${_quote(bucket)}`,
    );
  }
}

function _checkDestination(r: _RuleReport, options: ValidateReplicationOptions): void {
  const { bucket, site } = r.rule.destination;
  if (bucket === undefined && site === undefined) {
    r.add(
      'destination',
      'destination needs bucket (an ARN or a bucket name) or site (a managed site)',
    );
  }
  if (bucket !== undefined) _checkBucketArn(r, options.destinationFlavor, bucket);
  _checkStorageClass(r, options);
  _checkOwnership(r, options.destinationFlavor);
  _checkReplicationTime(r, options.destinationFlavor);
  _checkEncryption(r);
}

/** Elements MinIO's server does not model: accepted, dropped, never read back. */
function _checkMinioIgnores(r: _RuleReport): void {
  const { rule } = r;
  if (rule.prefix !== undefined) {
    r.add(
      'prefix',
      'MinIO ignores the legacy rule-level prefix and would replicate the whole bucket; use filter.prefix',
    );
  }
  const ignored: [string, unknown][] = [
    [
      'sourceSelectionCriteria.sseKmsEncryptedObjects',
      rule.sourceSelectionCriteria?.sseKmsEncryptedObjects,
    ],
    ['destination.account', rule.destination.account],
    ['destination.accessControlTranslation', rule.destination.accessControlTranslation],
    ['destination.encryptionConfiguration', rule.destination.encryptionConfiguration],
    // metrics and replicationTime are kept: MinIO drops them, and sitesync measures RTC itself.
  ];
  for (const [field, value] of ignored) {
    if (value !== undefined) {
      r.add(field, `MinIO ignores ${field} (it drops it and never reports it back); remove it`);
    }
  }
}

function _checkFlavorSpecifics(r: _RuleReport, flavor: DestinationFlavor): void {
  const { rule } = r;
  if (flavor === 'minio') {
    _checkMinioIgnores(r);
    return;
  }
  const name = flavor === 's3' ? 'S3' : 'Zenko';
  if (rule.deleteReplication !== undefined) {
    r.add('deleteReplication', `deleteReplication is a MinIO extension that ${name} does not take`);
  }
  if (flavor === 'zenko') {
    if (rule.filter !== undefined) {
      r.add('filter', 'Zenko does not support filter; use the rule-level prefix');
    }
    if (rule.prefix === undefined) {
      r.add('prefix', "prefix is required by Zenko ('' selects every object)");
    }
  }
}

function _checkStrings(r: _RuleReport): void {
  const visit = (value: unknown, field: string): void => {
    if (typeof value === 'string') {
      const bad = invalidXmlCharIndex(value);
      if (bad >= 0) {
        const code = (value.codePointAt(bad) ?? 0).toString(16).toUpperCase().padStart(4, '0');
        r.add(field, `${field} holds the character U+${code}, which an XML document cannot carry`);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v: unknown, i) => {
        visit(v, `${field}[${i}]`);
      });
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) visit(v, field === '' ? k : `${field}.${k}`);
    }
  };
  visit(r.rule, '');
}

function _checkRule(r: _RuleReport, options: ValidateReplicationOptions): void {
  const flavor = options.destinationFlavor;
  _checkId(r, flavor);
  _checkStatuses(r);
  _checkPriority(r);
  if (r.rule.filter !== undefined && r.rule.prefix !== undefined) {
    r.add('prefix', 'a rule takes filter (V2) or the legacy prefix (V1), not both');
  }
  _checkPrefix(r, 'prefix', r.rule.prefix);
  _checkFilter(r);
  _checkDeleteMarkers(r, flavor);
  _checkDestination(r, options);
  _checkFlavorSpecifics(r, flavor);
  _checkStrings(r);
}

// ---------------------------------------------------------------------------------------------
// Across rules

function _checkUniqueIds(rules: readonly _RuleReport[]): void {
  const first = new Map<string, number>();
  for (const r of rules) {
    const { id } = r.rule;
    if (id === undefined) continue;
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, r.index);
    else
      r.add('id', `id ${_quote(id)} is already used by rules[${earlier}]; rule IDs must be unique`);
  }
}

function _checkUniquePriorities(rules: readonly _RuleReport[], flavor: DestinationFlavor): void {
  const first = new Map<number, number>();
  for (const r of rules) {
    // MinIO compares every rule, an absent priority counting as 0; S3 compares V2 rules.
    if (flavor !== 'minio' && !_isV2(r.rule)) continue;
    const priority = r.rule.priority ?? (flavor === 'minio' ? 0 : undefined);
    if (priority === undefined) continue;
    const earlier = first.get(priority);
    if (earlier === undefined) first.set(priority, r.index);
    else {
      r.add(
        'priority',
        `priority ${priority} is already used by rules[${earlier}]; priorities must be unique`,
      );
    }
  }
}

function _checkVersionsNotMixed(rules: readonly _RuleReport[]): void {
  if (!rules.some((r) => _isV2(r.rule))) return;
  for (const r of rules) {
    if (_isV1(r.rule) && !_isV2(r.rule)) {
      r.add(
        'prefix',
        'rules cannot mix the legacy rule-level prefix (V1) with filter (V2); use filter.prefix',
      );
    }
  }
}

const _destinationKey = (d: Destination) =>
  d.bucket ??
  (d.site === undefined
    ? ''
    : `site ${d.site.name}${d.site.bucket === undefined ? '' : `/${d.site.bucket}`}`);

function _checkOneDestination(rules: readonly _RuleReport[], flavor: DestinationFlavor): void {
  if (flavor === 'minio') return;
  const [first] = rules;
  if (first === undefined) return;
  const target = _destinationKey(first.rule.destination);
  const name = flavor === 's3' ? 'S3' : 'Zenko';
  for (const r of rules.slice(1)) {
    if (_destinationKey(r.rule.destination) !== target) {
      r.add(
        'destination',
        `all rules must replicate to the destination of rules[0] (${_quote(target)}): ${name} takes one destination bucket`,
      );
    }
  }
}

/** Zenko: "Overlapping prefixes are not supported." After sorting, an overlap is adjacent. */
function _checkZenkoPrefixes(rules: readonly _RuleReport[]): void {
  const withPrefix = rules
    .filter((r) => r.rule.prefix !== undefined)
    .sort((a, b) => ((a.rule.prefix ?? '') < (b.rule.prefix ?? '') ? -1 : 1));
  for (let i = 1; i < withPrefix.length; i++) {
    const a = withPrefix[i - 1];
    const b = withPrefix[i];
    if (a === undefined || b === undefined) continue;
    const [pa, pb] = [a.rule.prefix ?? '', b.rule.prefix ?? ''];
    if (pb.startsWith(pa)) {
      const [later, earlier] = a.index < b.index ? [b, a] : [a, b];
      later.add(
        'prefix',
        `prefix ${_quote(later.rule.prefix ?? '')} overlaps prefix ${_quote(earlier.rule.prefix ?? '')} of rules[${earlier.index}]; Zenko does not support overlapping prefixes`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The document

function _checkRole(
  report: _Report,
  config: ReplicationConfig,
  flavor: DestinationFlavor,
  root: string,
): void {
  const path = `${root}.role`;
  if (config.role !== undefined && invalidXmlCharIndex(config.role) >= 0) {
    report.add(path, 'role holds a character an XML document cannot carry');
  }
  if (flavor === 'minio') _checkMinioRole(report, config, root);
  else _checkIamRole(report, config.role ?? '', flavor, path);
}

function _checkIamRole(report: _Report, role: string, flavor: 's3' | 'zenko', path: string): void {
  if (role === '') {
    const name = flavor === 's3' ? 'S3' : 'Zenko';
    report.add(path, `role is required by ${name}: the ARN of the IAM role that replicates`);
    return;
  }
  const roles = role.split(',');
  if (flavor === 'zenko' && roles.length > 2) {
    report.add(
      path,
      'role holds one IAM role ARN, or two separated by a comma (source,destination)',
    );
  }
  if (flavor === 's3' && roles.length > 1) {
    report.add(path, 'role holds one IAM role ARN; it may not contain a comma');
  }
  for (const arn of roles) {
    if (!_IAM_ROLE_ARN.test(arn)) {
      report.add(
        path,
        `role must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), not ${_quote(arn)}`,
      );
    }
  }
}

function _checkMinioRole(report: _Report, config: ReplicationConfig, root: string): void {
  const role = config.role ?? '';
  const path = `${root}.role`;
  const resolved = config.rules.flatMap((r, i) =>
    r.destination.bucket === undefined ? [] : [[r, i] as const],
  );
  if (role === '') {
    for (const [rule, i] of resolved) {
      // A legacy arn:aws:s3::: destination needs the target ARN in role; other forms are
      // reported by _checkBucketArn.
      if ((rule.destination.bucket ?? '').startsWith(S3_BUCKET_ARN_PREFIX)) {
        report.add(
          `${root}.rules[${i}].destination.bucket`,
          `${S3_BUCKET_ARN_PREFIX}<bucket> needs the legacy form (role = remote-target ARN); with an empty role, MinIO needs a remote-target ARN (${MINIO_TARGET_ARN_PREFIX}...) or destination.site here`,
          _label(rule, i),
        );
      }
    }
    return;
  }
  if (!role.startsWith(MINIO_TARGET_ARN_PREFIX)) {
    report.add(
      path,
      `role must be empty on MinIO (each rule names its remote target), or a remote-target ARN (${MINIO_TARGET_ARN_PREFIX}...) in the legacy form`,
    );
  }
  const targets = new Set(config.rules.map((r) => _destinationKey(r.destination)));
  if (targets.size > 1) {
    report.add(path, 'role must be empty when rules replicate to several targets (MinIO)');
  }
}

function _documentBytes(config: ReplicationConfig): number | undefined {
  const sized: ReplicationConfig = {
    ...config,
    rules: config.rules.map((r) => {
      const { site, bucket } = r.destination;
      if (bucket !== undefined || site === undefined) return r;
      const placeholder = `${_PLACEHOLDER_ARN}${site.bucket ?? 'x'.repeat(63)}`;
      return { ...r, destination: { ...r.destination, bucket: placeholder } };
    }),
  };
  try {
    return _utf8Length(buildReplicationXML(documentOf(sized)));
  } catch {
    return undefined; // What XML cannot carry is reported rule by rule.
  }
}

function _checkCount(report: _Report, config: ReplicationConfig, path: string): void {
  const count = config.rules.length;
  if (count === 0) report.add(path, 'a replication configuration needs at least one rule');
  if (count > MAX_REPLICATION_RULES) {
    report.add(
      path,
      `a replication configuration holds at most ${MAX_REPLICATION_RULES} rules, not ${count}`,
    );
  }
}

/**
 * Every issue S3 (`s3`), MinIO (`minio`) or Zenko (`zenko`) would raise about `config`, or that
 * would make it act differently from what it says, in document order. Empty means valid.
 */
export function validateReplicationConfig(
  config: ReplicationConfig,
  options: ValidateReplicationOptions,
): ValidationIssue[] {
  const root = options.root ?? 'spec';
  const report = new _Report();
  const rulesPath = `${root}.rules`;
  _checkCount(report, config, rulesPath);
  _checkRole(report, config, options.destinationFlavor, root);
  const bytes = _documentBytes(config);
  if (bytes !== undefined && bytes > MAX_REPLICATION_DOCUMENT_BYTES) {
    report.add(
      root,
      `the replication document is ${bytes} bytes; at most ${MAX_REPLICATION_DOCUMENT_BYTES} (2 MiB) are allowed`,
    );
  }
  const rules = config.rules.map((rule, i) => new _RuleReport(report, root, rule, i));
  _checkVersionsNotMixed(rules);
  _checkUniqueIds(rules);
  _checkUniquePriorities(rules, options.destinationFlavor);
  _checkOneDestination(rules, options.destinationFlavor);
  if (options.destinationFlavor === 'zenko') _checkZenkoPrefixes(rules);
  for (const r of rules) _checkRule(r, options);
  return _sortByRule(report.issues, root);
}

/** Document-level issues first, then each rule's, in rule order; stable otherwise. */
function _sortByRule(issues: ValidationIssue[], root: string): ValidationIssue[] {
  const prefix = `${root}.rules[`;
  const indexOf = (i: ValidationIssue) =>
    i.path.startsWith(prefix)
      ? Number(i.path.slice(prefix.length, i.path.indexOf(']', prefix.length)))
      : -1;
  return issues
    .map((issue, order) => ({ issue, order, index: indexOf(issue) }))
    .sort((a, b) => a.index - b.index || a.order - b.order)
    .map((x) => x.issue);
}
