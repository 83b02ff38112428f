/**
 * What can be said about a BucketReplication's spec without touching a site: the zod schema,
 * the cross-field rules of src/api (the same ones the apiserver runs as CEL), the one model of
 * the configuration (from `spec.rules` or `spec.configurationXML`), and the rules of S3, MinIO
 * and Zenko (`validateReplicationConfig`). Pure; shared by the controller and the offline
 * validator (`sitesync validate`). Every issue names the field, and the rule when it is one.
 */
import type { z } from 'zod';

import {
  BREP_SOURCE_RULES,
  BREP_SPEC_RULES,
  type BucketReplicationSpec,
  BucketReplicationSpecSchema,
  BucketSourceSchema,
} from '../api/bucket-replication.js';
import type { CrossFieldRule } from '../api/common.js';
import { normalizeEndpoint } from '../api/endpoint.js';
import { RESERVED_PREFIX } from '../api/names.js';
import {
  REPLICATION_DESTINATION_RULES,
  REPLICATION_FILTER_RULES,
  REPLICATION_RULE_RULES,
  REPLICATION_RULES_RULES,
  type ReplicationRule as ApiRule,
} from '../api/replication-config.js';
import { type ReplicationConfig, normaliseRules } from './replication-config.js';
import { type DestinationFlavor, validateReplicationConfig } from './validate.js';
import { ReplicationXMLError, parseReplicationXML } from './xml-codec.js';

export interface SpecIssue {
  /** Field path, e.g. `spec.rules[1].priority` or `spec.configurationXML.rules[0].id`. */
  path: string;
  /** The rule at fault, by ID or `#<index>`, when the issue is about one rule. */
  rule?: string | undefined;
  message: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; issues: SpecIssue[] };

/** `path: rule "id": message` — the form used in conditions and by the CLI. */
export function formatIssue(issue: SpecIssue): string {
  const rule = issue.rule === undefined ? '' : `rule ${quoteRule(issue.rule)}: `;
  return `${issue.path}: ${rule}${issue.message}`;
}

const quoteRule = (label: string) => (label.startsWith('#') ? label : `"${label}"`);

/** A zod issue path as Kubernetes writes field paths: `spec.rules[0].filter.prefix`. */
export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : `${acc}.${String(k)}`),
    root,
  );
}

/** The label of the rule a path points into (`<root>.rules[i]...`), from the raw rules. */
function ruleLabelAt(path: string, root: string, rules: unknown): string | undefined {
  const m = new RegExp(`^${root.replace(/\./g, '\\.')}\\.rules\\[(\\d+)\\]`).exec(path);
  if (m === null || !Array.isArray(rules)) return undefined;
  const index = Number(m[1]);
  const rule: unknown = rules[index];
  const id = typeof rule === 'object' && rule !== null ? (rule as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id !== '' ? id : `#${index}`;
}

export function zodIssues(error: z.ZodError, root: string, rawRules?: unknown): SpecIssue[] {
  return error.issues.map((i) => {
    const path = fieldPath(root, i.path);
    return { path, rule: ruleLabelAt(path, root, rawRules), message: i.message };
  });
}

function crossField<T>(
  value: T,
  rules: readonly CrossFieldRule<T>[],
  path: string,
  rule?: string,
): SpecIssue[] {
  return rules.filter((r) => !r.holds(value)).map((r) => ({ path, rule, message: r.message }));
}

const label = (r: { id?: string | undefined }, i: number) =>
  r.id !== undefined && r.id !== '' ? r.id : `#${i}`;

function ruleCrossField(rules: readonly ApiRule[]): SpecIssue[] {
  const issues = crossField(rules, REPLICATION_RULES_RULES, 'spec.rules');
  rules.forEach((r, i) => {
    const path = `spec.rules[${i}]`;
    const l = label(r, i);
    issues.push(...crossField(r, REPLICATION_RULE_RULES, path, l));
    if (r.filter !== undefined) {
      issues.push(...crossField(r.filter, REPLICATION_FILTER_RULES, `${path}.filter`, l));
    }
    issues.push(
      ...crossField(r.destination, REPLICATION_DESTINATION_RULES, `${path}.destination`, l),
    );
  });
  return issues;
}

/**
 * zod (shapes, bounds, defaults) then every cross-field rule of src/api, each at the path it
 * hangs on. What the apiserver already checked at admission is checked again: the CLI has no
 * apiserver, and objects stored before a CRD upgrade were checked against older rules.
 */
export function parseSpec(raw: unknown): Checked<BucketReplicationSpec> {
  const rawRules = (raw as { rules?: unknown } | undefined)?.rules;
  const parsed = BucketReplicationSpecSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error, 'spec', rawRules) };
  const spec = parsed.data;
  const issues = [
    ...crossField(spec, BREP_SPEC_RULES, 'spec'),
    ...crossField(spec.source, BREP_SOURCE_RULES, 'spec.source'),
    ...(spec.rules === undefined ? [] : ruleCrossField(spec.rules)),
  ];
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: spec };
}

/** Where a spec's configuration lives: the path the validator's issues start with. */
export function configRoot(spec: BucketReplicationSpec): string {
  return spec.configurationXML === undefined ? 'spec' : 'spec.configurationXML';
}

function reservedIds(config: ReplicationConfig, root: string): SpecIssue[] {
  return config.rules.flatMap((r, i) =>
    (r.id ?? '').startsWith(RESERVED_PREFIX)
      ? [
          {
            path: `${root}.rules[${i}].id`,
            rule: label(r, i),
            message: `rule IDs starting with ${RESERVED_PREFIX} are reserved for the peer links of a SiteReplicationGroup`,
          },
        ]
      : [],
  );
}

/** The one model of the configuration, from `spec.rules` or from `spec.configurationXML`. */
export function configOf(spec: BucketReplicationSpec): Checked<ReplicationConfig> {
  let config: ReplicationConfig;
  if (spec.configurationXML === undefined) {
    config = normaliseRules(spec.rules ?? [], spec.role);
  } else {
    if (spec.role !== undefined) {
      return {
        ok: false,
        issues: [
          {
            path: 'spec.role',
            message:
              'with spec.configurationXML, give the role as <Role> inside the document, not in spec.role',
          },
        ],
      };
    }
    try {
      config = parseReplicationXML(spec.configurationXML);
    } catch (e: unknown) {
      if (!(e instanceof ReplicationXMLError)) throw e;
      const rule = /Rule\[(\d+)\]/.exec(e.element ?? e.message)?.[1];
      const issue: SpecIssue = { path: 'spec.configurationXML', message: e.message };
      if (rule !== undefined) issue.rule = `#${rule}`;
      return { ok: false, issues: [issue] };
    }
  }
  const issues = reservedIds(config, configRoot(spec));
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: config };
}

export interface SourceFacts {
  /** What the source site runs: the validator's destination flavor. */
  flavor: DestinationFlavor;
  /** The source site's name (group site, or siteSpec.name). */
  siteName: string;
  /** Sites of the source's group; undefined when the source is inline or the group unknown. */
  groupSites?: readonly string[] | undefined;
}

/** Managed destinations (`destination.site`) must be sites of the source's group. */
function siteDestinationIssues(
  spec: BucketReplicationSpec,
  config: ReplicationConfig,
  facts: SourceFacts,
): SpecIssue[] {
  const issues: SpecIssue[] = [];
  config.rules.forEach((r, i) => {
    const site = r.destination.site;
    if (site === undefined) return;
    const path = `spec.rules[${i}].destination.site`;
    const rule = label(r, i);
    if (spec.source.groupRef === undefined) {
      issues.push({
        path,
        rule,
        message:
          'a managed destination site needs spec.source.groupRef: sites are found in the group',
      });
    } else if (facts.groupSites !== undefined && !facts.groupSites.includes(site.name)) {
      issues.push({
        path,
        rule,
        message: `site ${site.name} is not a site of SiteReplicationGroup ${spec.source.groupRef.name} (sites: ${facts.groupSites.join(', ')})`,
      });
    } else if (
      site.name === facts.siteName &&
      (site.bucket ?? spec.source.bucket) === spec.source.bucket
    ) {
      issues.push({
        path,
        rule,
        message: `the rule replicates bucket ${spec.source.bucket} on site ${site.name} to itself; name another site or destination.bucket`,
      });
    }
  });
  return issues;
}

/** The PutBucketReplication request headers a resource may ask for: S3's, not MinIO's. */
function requestHeaderIssues(spec: BucketReplicationSpec, facts: SourceFacts): SpecIssue[] {
  if (facts.flavor !== 'minio') return [];
  const issues: SpecIssue[] = [];
  if (spec.source.expectedBucketOwner !== undefined) {
    issues.push({
      path: 'spec.source.expectedBucketOwner',
      message:
        'MinIO has no bucket-owner accounts and ignores x-amz-expected-bucket-owner; remove it',
    });
  }
  if (spec.objectLockToken !== undefined) {
    issues.push({
      path: 'spec.objectLockToken',
      message: 'MinIO ignores x-amz-bucket-object-lock-token; remove it',
    });
  }
  return issues;
}

/**
 * Everything the destination flavor's server would refuse or silently drop (S3, MinIO, Zenko
 * rules), plus the managed-destination rules. Empty means the configuration can be applied.
 */
export function validateForSource(
  spec: BucketReplicationSpec,
  config: ReplicationConfig,
  facts: SourceFacts,
): SpecIssue[] {
  const root = configRoot(spec);
  const validated = validateReplicationConfig(config, {
    destinationFlavor: facts.flavor,
    root,
  }).map((i) => ({ path: i.path, rule: i.rule, message: i.message }));
  return [
    ...validated,
    ...siteDestinationIssues(spec, config, facts),
    ...requestHeaderIssues(spec, facts),
  ];
}

/** All of the above in one call (the offline validator). */
export function checkBucketReplication(
  raw: unknown,
  facts: SourceFacts | ((spec: BucketReplicationSpec) => SourceFacts),
): Checked<{ spec: BucketReplicationSpec; config: ReplicationConfig }> {
  const spec = parseSpec(raw);
  if (!spec.ok) return spec;
  const config = configOf(spec.value);
  if (!config.ok) return config;
  const f = typeof facts === 'function' ? facts(spec.value) : facts;
  const issues = validateForSource(spec.value, config.value, f);
  return issues.length > 0
    ? { ok: false, issues }
    : { ok: true, value: { spec: spec.value, config: config.value } };
}

// ---------------------------------------------------------------------------------------------
// One bucket, one BucketReplication

/** What conflict detection needs of a BucketReplication (the spec is not trusted). */
export interface Claimant {
  metadata: {
    name: string;
    namespace?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec?: unknown;
}

/** The source bucket a resource claims, as a comparable key, or undefined if unreadable. */
export function sourceKey(namespace: string, rawSpec: unknown): string | undefined {
  const raw = (rawSpec as { source?: unknown } | undefined)?.source;
  const parsed = BucketSourceSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const s = parsed.data;
  if (s.siteSpec !== undefined) return `${normalizeEndpoint(s.siteSpec.endpoint)} ${s.bucket}`;
  if (s.groupRef === undefined || s.site === undefined) return undefined;
  return `${namespace}/${s.groupRef.name}/${s.site} ${s.bucket}`;
}

const _id = (c: Claimant) => `${c.metadata.namespace ?? ''}/${c.metadata.name}`;
const _age = (c: Claimant) => `${c.metadata.creationTimestamp ?? ''}\u0000${_id(c)}`;

/**
 * The older resource (not being deleted) that claims the same source bucket, as `ns/name`: two
 * resources declaring one bucket's configuration would overwrite each other on every pass, so
 * the older one wins and the newer one waits. Group sites are compared by group and site name,
 * inline sites by endpoint; a group site and an inline site naming the same server are not seen.
 */
export function conflictOf(obj: Claimant, all: readonly Claimant[]): string | undefined {
  const ns = obj.metadata.namespace ?? '';
  const key = sourceKey(ns, obj.spec);
  if (key === undefined) return undefined;
  const rivals = all
    .filter(
      (o) =>
        _id(o) !== _id(obj) &&
        o.metadata.deletionTimestamp === undefined &&
        _age(o) < _age(obj) &&
        sourceKey(o.metadata.namespace ?? '', o.spec) === key,
    )
    .sort((a, b) => (_age(a) < _age(b) ? -1 : 1));
  const [first] = rivals;
  return first === undefined ? undefined : _id(first).replace(/^\//, '');
}
