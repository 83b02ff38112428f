/**
 * The document a BucketReplication puts on its source bucket, planned without I/O: its own rules
 * (site destinations resolved to remote-target ARNs) merged beside the `sitesync-<peer>` rules a
 * SiteReplicationGroup keeps on the same bucket, compared in the form the server reads it back,
 * and what must follow a PUT (existing-object resyncs, remote targets no rule uses any more).
 */
import type { Flavor } from '../../api/common.js';
import { canonicalJSON, digestOf } from '../../replication/digest.js';
import {
  type ReplicationConfig,
  type ReplicationRule,
  activeRules,
  documentOf,
} from '../../replication/replication-config.js';
import { parseReplicationXML } from '../../replication/xml-codec.js';
import { RESERVED_PREFIX } from '../../api/names.js';

/** A rule a SiteReplicationGroup owns (its peer links); a BucketReplication never touches it. */
export const isGroupRule = (r: ReplicationRule): boolean =>
  (r.id ?? '').startsWith(RESERVED_PREFIX);

/** The configuration on the bucket, as read back (elements this model lacks are ignored). */
export function parseCurrent(xml: string | undefined): ReplicationConfig {
  if (xml === undefined || xml.trim() === '') return { rules: [] };
  return parseReplicationXML(xml, { unknownElements: 'ignore' });
}

/** MinIO compares priorities with an absent one counting as 0. */
const priorityOf = (r: ReplicationRule) => r.priority ?? 0;

/**
 * The document to put: `own` (resolved, as the S3 document) first, then the group's
 * `sitesync-` rules found in `current`, kept as they are. Only when one of them shares a
 * priority with an own rule (MinIO wants priorities unique) are the group's rules moved above
 * ours, in their order — what the SiteReplicationGroup itself does with rules it does not own,
 * so the two controllers converge instead of fighting. Other rules found on the bucket are not
 * kept: the BucketReplication declares the bucket's configuration.
 */
export function mergeWithGroupRules(
  own: ReplicationConfig,
  current: ReplicationConfig,
): ReplicationConfig {
  const group = current.rules.filter(isGroupRule);
  const used = new Set(own.rules.map(priorityOf));
  const collides = group.some((r) => used.has(priorityOf(r)));
  const base = Math.max(0, ...own.rules.map(priorityOf));
  const kept = collides ? group.map((r, i) => ({ ...r, priority: base + i + 1 })) : group;
  const doc = documentOf(own);
  return { ...doc, rules: [...doc.rules, ...kept] };
}

/** What is left on the bucket once a BucketReplication's rules are gone (the finalizer). */
export function groupRulesOnly(current: ReplicationConfig): ReplicationConfig {
  return { ...current, rules: current.rules.filter(isGroupRule) };
}

/** Rules in `current` neither ours (declared) nor the group's: replaced by the first PUT. */
export function foreignRules(current: ReplicationConfig, own: ReplicationConfig): string[] {
  const ids = new Set(own.rules.map((r) => r.id));
  return current.rules
    .filter((r) => !isGroupRule(r) && !ids.has(r.id))
    .map((r, i) => r.id ?? `#${i}`);
}

const ENABLED = { status: 'Enabled' };
const DISABLED = { status: 'Disabled' };

const _emptyFilter = (r: ReplicationRule) =>
  r.filter === undefined ||
  (r.filter.tag === undefined &&
    r.filter.and === undefined &&
    (r.filter.prefix === undefined || r.filter.prefix === ''));

/**
 * A rule as MinIO stores and returns it (internal/bucket/replication): its defaults filled,
 * and without `metrics` and `replicationTime`, which MinIO drops (sitesync measures RTC).
 */
function minioRule(r: ReplicationRule): ReplicationRule {
  const { prefix: _legacy, ...rest } = r;
  const { metrics: _m, replicationTime: _rtc, ...destination } = r.destination;
  return {
    ...rest,
    destination,
    priority: priorityOf(r),
    filter: _emptyFilter(r) ? { prefix: '' } : (r.filter ?? {}),
    deleteReplication: r.deleteReplication ?? DISABLED,
    existingObjectReplication: r.existingObjectReplication ?? DISABLED,
    sourceSelectionCriteria: {
      ...r.sourceSelectionCriteria,
      replicaModifications: r.sourceSelectionCriteria?.replicaModifications ?? ENABLED,
    },
  };
}

/**
 * The document as the source site reads it back, in a canonical order: what we put and what we
 * read compare equal exactly when the server holds what we meant.
 */
export function serverForm(config: ReplicationConfig, flavor: Flavor): ReplicationConfig {
  const doc = documentOf(config);
  const rules = flavor === 'minio' ? doc.rules.map(minioRule) : doc.rules;
  const sorted = [...rules].sort(
    (a, b) =>
      priorityOf(b) - priorityOf(a) ||
      (canonicalJSON(a) < canonicalJSON(b) ? -1 : canonicalJSON(a) > canonicalJSON(b) ? 1 : 0),
  );
  return { role: doc.role ?? '', rules: sorted };
}

/** The digest of a document in its server form (`status.appliedDigest`). */
export function documentDigest(config: ReplicationConfig, flavor: Flavor): string {
  return digestOf(serverForm(config, flavor));
}

export function sameDocument(a: ReplicationConfig, b: ReplicationConfig, flavor: Flavor): boolean {
  return documentDigest(a, flavor) === documentDigest(b, flavor);
}

const _enabled = (s: { status: string } | undefined) => s?.status === 'Enabled';

/** The targets an Enabled rule with ExistingObjectReplication Enabled reaches. */
export function existingObjectTargets(config: ReplicationConfig): Set<string> {
  return new Set(
    activeRules(config).flatMap((r) =>
      _enabled(r.existingObjectReplication) && r.destination.bucket !== undefined
        ? [r.destination.bucket]
        : [],
    ),
  );
}

/**
 * Targets whose existing objects must be replicated now: an active rule with
 * ExistingObjectReplication Enabled reaches them in `after` and none did in `before`. MinIO's
 * scanner would get there eventually; a replication reset does it at once.
 */
export function targetsToResync(before: ReplicationConfig, after: ReplicationConfig): string[] {
  const had = existingObjectTargets(before);
  return [...existingObjectTargets(after)].filter((arn) => !had.has(arn)).sort();
}

/** Every remote-target ARN a document uses (rule destinations and a legacy Role). */
export function referencedTargets(config: ReplicationConfig): Set<string> {
  const arns = config.rules.flatMap((r) =>
    r.destination.bucket === undefined ? [] : [r.destination.bucket],
  );
  if (config.role !== undefined && config.role !== '') arns.push(config.role);
  return new Set(arns);
}

/** Owned targets no rule uses any more: the ones to remove after a PUT. */
export function unusedTargets(owned: readonly string[], config: ReplicationConfig): string[] {
  const used = referencedTargets(config);
  return owned.filter((arn) => !used.has(arn));
}

// ---------------------------------------------------------------------------------------------
// What an AWS-compatible source reads back

/**
 * The rewrites an AWS-compatible server is known to make to a replication document it stores,
 * as they show in GetBucketReplication. All observed on moto 5.2.5 (moto/s3/responses.py
 * `get_bucket_replication`, moto/s3/models.py `put_bucket_replication`), which reads every
 * rule back with only its ID, Priority, Status and Destination (Destination and Role verbatim).
 * AWS itself reads a document back as it was put, except an ID it assigns when none is given.
 */
export const S3_READ_BACK_REWRITES = {
  filter: 'filter read back as {prefix: ""} whatever was put',
  deleteMarkerReplication: 'deleteMarkerReplication read back as Disabled',
  prefix: 'the legacy rule-level prefix dropped',
  existingObjectReplication: 'existingObjectReplication dropped',
  sourceSelectionCriteria: 'sourceSelectionCriteria dropped',
  priority: 'an absent priority read back as 1',
  id: 'an absent ID read back as one the server made up',
} as const;

export type S3Rewrite = keyof typeof S3_READ_BACK_REWRITES;

const _sameJSON = (a: unknown, b: unknown) => canonicalJSON(a) === canonicalJSON(b);

/** The rule as a server that keeps only ID, Priority, Status and Destination reads it back. */
function _rewritten(r: ReplicationRule, id: string | undefined): ReplicationRule {
  const { prefix: _p, existingObjectReplication: _e, sourceSelectionCriteria: _s, ...rest } = r;
  return {
    ...rest,
    ...(id === undefined ? {} : { id }),
    priority: r.priority ?? 1,
    filter: { prefix: '' },
    deleteMarkerReplication: DISABLED,
  };
}

/** The rewrites that turn `before` into `after`, by name. */
function _changed(before: ReplicationRule, after: ReplicationRule): S3Rewrite[] {
  return (Object.keys(S3_READ_BACK_REWRITES) as S3Rewrite[]).filter(
    (k) => !_sameJSON(before[k], after[k]),
  );
}

/** A read-back rule that carries the marks of the rewrites: nothing but the four elements. */
const _inRewrittenForm = (r: ReplicationRule) =>
  _sameJSON(r.filter, { prefix: '' }) &&
  r.deleteMarkerReplication?.status === 'Disabled' &&
  r.prefix === undefined &&
  r.existingObjectReplication === undefined &&
  r.sourceSelectionCriteria === undefined;

/**
 * `desired` as an AWS-compatible source would read it back, given what it does read back
 * (`current`): a rule whose read-back counterpart (same ID; for a rule without ID, the rule at
 * the same place whose ID no desired rule declares) carries the marks of the known rewrites is
 * compared rewritten, and the rewrites that changed it are listed, so status can say what the
 * site does not let sitesync verify. Only those rewrites are normalised, and only where the site
 * shows them: a server that reads documents back faithfully (AWS) is compared element by element.
 */
export function s3ReadBackForm(
  desired: ReplicationConfig,
  current: ReplicationConfig,
): { config: ReplicationConfig; rewrites: S3Rewrite[] } {
  const declared = new Set(desired.rules.flatMap((r) => (r.id ? [r.id] : [])));
  const rewrites = new Set<S3Rewrite>();
  const rules = desired.rules.map((rule, i) => {
    const twin =
      rule.id !== undefined && rule.id !== ''
        ? current.rules.find((c) => c.id === rule.id)
        : current.rules.filter((c) => !declared.has(c.id ?? ''))[
            desired.rules.slice(0, i).filter((r) => !r.id).length
          ];
    if (twin === undefined || !_inRewrittenForm(twin)) return rule;
    const after = _rewritten(rule, rule.id ?? twin.id);
    for (const k of _changed(rule, after)) rewrites.add(k);
    return after;
  });
  return { config: { ...desired, rules }, rewrites: [...rewrites].sort() };
}
