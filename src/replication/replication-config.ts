/**
 * The one internal model of an S3 replication configuration. Both sources of a
 * BucketReplication normalise to it: `spec.rules` (camelCase YAML, `normaliseRules`) and
 * `spec.configurationXML` (`parseReplicationXML` in xml-codec.ts).
 *
 * The model holds the document as written, before any semantic check: statuses are plain
 * strings (`validateReplicationConfig` says which are wrong), optional elements stay absent
 * (no defaults are filled in, so XML round-trips exactly). The one addition to the S3 document is
 * `destination.site`, a managed site the operator still has to turn into a remote-target ARN; it
 * is never written to XML.
 */
import type {
  ReplicationDestination as ApiDestination,
  ReplicationFilter as ApiFilter,
  ReplicationRule as ApiRule,
} from '../api/replication-config.js';

/** `Enabled` or `Disabled` when valid; any other string is kept for the validator to report. */
export type StatusValue = string;

export interface StatusElement {
  status: StatusValue;
}

export interface Tag {
  key: string;
  value: string;
}

export interface FilterAnd {
  prefix?: string;
  tags: Tag[];
}

/** V2 filter. Valid with at most one member; `{}` (an empty `<Filter/>`) selects every object. */
export interface Filter {
  prefix?: string;
  tag?: Tag;
  and?: FilterAnd;
}

export interface SourceSelectionCriteria {
  sseKmsEncryptedObjects?: StatusElement;
  replicaModifications?: StatusElement;
}

export interface Minutes {
  minutes: number;
}

export interface Metrics {
  status: StatusValue;
  eventThreshold?: Minutes;
}

export interface ReplicationTime {
  status: StatusValue;
  time?: Minutes;
}

/** A destination that is a site managed by sitesync. Operator metadata, never serialised. */
export interface SiteDestination {
  /** The site's name in the group. */
  name: string;
  /** The bucket on that site; absent means the source bucket's name. */
  bucket?: string;
}

export interface Destination {
  /**
   * `Destination/Bucket`: a bucket ARN (`arn:aws:s3:::name`) or a MinIO remote-target ARN
   * (`arn:minio:replication:...`). Absent only while `site` waits for its ARN.
   */
  bucket?: string;
  site?: SiteDestination;
  account?: string;
  storageClass?: string;
  accessControlTranslation?: { owner: string };
  encryptionConfiguration?: { replicaKmsKeyID?: string };
  metrics?: Metrics;
  replicationTime?: ReplicationTime;
}

export interface ReplicationRule {
  id?: string;
  priority?: number;
  status: StatusValue;
  /** V2 filter. */
  filter?: Filter;
  /** Legacy V1 rule-level prefix. */
  prefix?: string;
  deleteMarkerReplication?: StatusElement;
  /** MinIO extension: replicate versioned (permanent) deletes. */
  deleteReplication?: StatusElement;
  existingObjectReplication?: StatusElement;
  sourceSelectionCriteria?: SourceSelectionCriteria;
  destination: Destination;
}

export interface ReplicationConfig {
  /** `Role`: an IAM role ARN (S3, Zenko), empty or a legacy target ARN (MinIO). */
  role?: string;
  rules: ReplicationRule[];
}

export const S3_BUCKET_ARN_PREFIX = 'arn:aws:s3:::';
export const MINIO_TARGET_ARN_PREFIX = 'arn:minio:replication:';

/** A destination given as a plain bucket name means that bucket's ARN. */
export function bucketArn(bucketOrArn: string): string {
  return bucketOrArn.startsWith('arn:') ? bucketOrArn : `${S3_BUCKET_ARN_PREFIX}${bucketOrArn}`;
}

function _filter(f: ApiFilter): Filter {
  const out: Filter = {};
  if (f.prefix !== undefined) out.prefix = f.prefix;
  if (f.tag !== undefined) out.tag = { key: f.tag.key, value: f.tag.value };
  if (f.and !== undefined) {
    const and: FilterAnd = {
      tags: (f.and.tags ?? []).map((t) => ({ key: t.key, value: t.value })),
    };
    if (f.and.prefix !== undefined) and.prefix = f.and.prefix;
    out.and = and;
  }
  return out;
}

function _target(d: ApiDestination): Pick<Destination, 'bucket' | 'site'> {
  if (d.site !== undefined) {
    return { site: d.bucket === undefined ? { name: d.site } : { name: d.site, bucket: d.bucket } };
  }
  return d.bucket === undefined ? {} : { bucket: bucketArn(d.bucket) };
}

function _timing(d: ApiDestination): Pick<Destination, 'metrics' | 'replicationTime'> {
  const out: Pick<Destination, 'metrics' | 'replicationTime'> = {};
  if (d.metrics !== undefined) {
    const { status, eventThreshold } = d.metrics;
    out.metrics =
      eventThreshold === undefined
        ? { status }
        : { status, eventThreshold: { minutes: eventThreshold.minutes } };
  }
  if (d.replicationTime !== undefined) {
    const { status, time } = d.replicationTime;
    out.replicationTime = { status, time: { minutes: time.minutes } };
  }
  return out;
}

function _destination(d: ApiDestination): Destination {
  const out: Destination = { ..._target(d) };
  if (d.account !== undefined) out.account = d.account;
  if (d.storageClass !== undefined) out.storageClass = d.storageClass;
  if (d.accessControlTranslation !== undefined) {
    out.accessControlTranslation = { owner: d.accessControlTranslation.owner };
  }
  if (d.encryptionConfiguration !== undefined) {
    const { replicaKmsKeyID } = d.encryptionConfiguration;
    out.encryptionConfiguration = replicaKmsKeyID === undefined ? {} : { replicaKmsKeyID };
  }
  return { ...out, ..._timing(d) };
}

const _status = (s: { status: string } | undefined): StatusElement | undefined =>
  s === undefined ? undefined : { status: s.status };

function _sourceSelection(s: ApiRule['sourceSelectionCriteria']) {
  if (s === undefined) return undefined;
  const out: SourceSelectionCriteria = {};
  const sse = _status(s.sseKmsEncryptedObjects);
  const replica = _status(s.replicaModifications);
  if (sse !== undefined) out.sseKmsEncryptedObjects = sse;
  if (replica !== undefined) out.replicaModifications = replica;
  return out;
}

function _rule(r: ApiRule): ReplicationRule {
  const out: ReplicationRule = { status: r.status, destination: _destination(r.destination) };
  if (r.id !== undefined) out.id = r.id;
  if (r.priority !== undefined) out.priority = r.priority;
  if (r.filter !== undefined) out.filter = _filter(r.filter);
  if (r.prefix !== undefined) out.prefix = r.prefix;
  const dmr = _status(r.deleteMarkerReplication);
  if (dmr !== undefined) out.deleteMarkerReplication = dmr;
  const dr = _status(r.deleteReplication);
  if (dr !== undefined) out.deleteReplication = dr;
  const eor = _status(r.existingObjectReplication);
  if (eor !== undefined) out.existingObjectReplication = eor;
  const ssc = _sourceSelection(r.sourceSelectionCriteria);
  if (ssc !== undefined) out.sourceSelectionCriteria = ssc;
  return out;
}

/**
 * The model of `spec.rules` (parsed by zod, so defaults are in) and `spec.role`. A plain bucket
 * name becomes its `arn:aws:s3:::` ARN; `destination.site` (with `bucket` naming the bucket on
 * that site) is kept as `destination.site` for the operator to resolve. Checks nothing: run
 * `validateReplicationConfig` on the result.
 */
export function normaliseRules(rules: readonly ApiRule[], role?: string): ReplicationConfig {
  const config: ReplicationConfig = { rules: rules.map(_rule) };
  if (role !== undefined) config.role = role;
  return config;
}

/**
 * Fills `destination.bucket` of every rule whose destination is a managed site, with the ARN
 * `arnOf` returns (the remote target the operator created). Rules whose ARN is not known yet
 * (`undefined`) are left as they are. Pure: returns a new model.
 */
export function resolveSiteDestinations(
  config: ReplicationConfig,
  arnOf: (site: SiteDestination, rule: ReplicationRule) => string | undefined,
): ReplicationConfig {
  return {
    ...config,
    rules: config.rules.map((rule) => {
      const { site } = rule.destination;
      if (site === undefined) return rule;
      const arn = arnOf(site, rule);
      return arn === undefined
        ? rule
        : { ...rule, destination: { ...rule.destination, bucket: arn } };
    }),
  };
}

/** Rules that act: S3, MinIO and Zenko ignore a rule whose status is not `Enabled`. */
export function activeRules(config: ReplicationConfig): ReplicationRule[] {
  return config.rules.filter((r) => r.status === 'Enabled');
}

/** The model as the S3 document sees it: operator-only metadata (`destination.site`) left out. */
export function documentOf(config: ReplicationConfig): ReplicationConfig {
  return {
    ...config,
    rules: config.rules.map((rule) => {
      if (rule.destination.site === undefined) return rule;
      const destination = { ...rule.destination };
      delete destination.site;
      return { ...rule, destination };
    }),
  };
}
