import { z } from 'zod';

import {
  type CrossFieldRule,
  ConditionsSchema,
  DNS_LABEL,
  type KubeObject,
  LocalObjectReferenceSchema,
  SiteSchema,
  celValidations,
} from './common.js';
import {
  MAX_REPLICATION_DOCUMENT_BYTES,
  ReplicationRoleSchema,
  ReplicationRulesSchema,
} from './replication-config.js';

export const BREP_KIND = 'BucketReplication';

/** S3's bucket naming rules: 3..63 lower-case letters, digits, dots and hyphens. */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

interface SourceShape {
  groupRef?: unknown;
  site?: unknown;
  siteSpec?: unknown;
}

/** Rules across the fields of `spec.source`: CEL at admission, TypeScript in the operator. */
export const BREP_SOURCE_RULES: readonly CrossFieldRule<SourceShape>[] = [
  {
    rule: 'has(self.groupRef) != has(self.siteSpec)',
    message: 'spec.source needs exactly one of groupRef (with site) and siteSpec',
    holds: (s) => (s.groupRef === undefined) !== (s.siteSpec === undefined),
  },
  {
    rule: 'has(self.groupRef) == has(self.site)',
    message: 'spec.source.site names the site inside spec.source.groupRef; give both or neither',
    holds: (s) => (s.groupRef === undefined) === (s.site === undefined),
  },
];

export const BucketSourceSchema = z
  .object({
    bucket: z.string().min(3).max(63).regex(BUCKET_NAME).describe('The source bucket.'),
    groupRef: LocalObjectReferenceSchema.optional().describe(
      'The SiteReplicationGroup that declares the source site (use with site).',
    ),
    site: z
      .string()
      .max(63)
      .regex(DNS_LABEL)
      .optional()
      .describe('Name of the source site inside groupRef.'),
    siteSpec: SiteSchema.optional().describe('The source site declared inline, as in a group.'),
    expectedBucketOwner: z
      .string()
      .regex(/^[0-9]{12}$/)
      .optional()
      .describe(
        'The AWS account that must own the source bucket (x-amz-expected-bucket-owner on PutBucketReplication; S3 answers 403 when another account owns it). s3 sources only.',
      ),
  })
  .meta({ 'x-kubernetes-validations': celValidations(BREP_SOURCE_RULES) });
export type BucketSource = z.infer<typeof BucketSourceSchema>;

interface BrepRuleSpec {
  rules?: unknown;
  configurationXML?: unknown;
}

export const BREP_SPEC_RULES: readonly CrossFieldRule<BrepRuleSpec>[] = [
  {
    rule: 'has(self.rules) != has(self.configurationXML)',
    message: 'exactly one of spec.rules and spec.configurationXML must be set',
    holds: (s) => (s.rules === undefined) !== (s.configurationXML === undefined),
  },
];

export const BucketReplicationSpecSchema = z
  .object({
    source: BucketSourceSchema.describe('The bucket whose objects are replicated, and its site.'),
    role: ReplicationRoleSchema.optional(),
    objectLockToken: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe(
        'Sent as x-amz-bucket-object-lock-token on PutBucketReplication (replication of an S3 Object Lock bucket). s3 sources only.',
      ),
    rules: ReplicationRulesSchema.optional(),
    configurationXML: z
      .string()
      .min(1)
      .max(MAX_REPLICATION_DOCUMENT_BYTES)
      .optional()
      .describe('The raw ReplicationConfiguration XML document exactly as S3 takes it.'),
  })
  .meta({ 'x-kubernetes-validations': celValidations(BREP_SPEC_RULES) });
export type BucketReplicationSpec = z.infer<typeof BucketReplicationSpecSchema>;

const count = z.number().int().min(0);

export const RuleStatusSchema = z.object({
  id: z.string(),
  destination: z.string().optional(),
  pending: count,
  replicated: count,
  failed: count,
  bytes: count,
  lagSeconds: z
    .number()
    .min(0)
    .optional()
    .describe('How long the oldest object still waiting for this rule has waited; 0: none waits.'),
  rtcThresholdBreaches: count
    .optional()
    .describe(
      'With replicationTime Enabled: objects that have waited longer than its 15 minutes (measured by sitesync).',
    ),
});

export const BucketReplicationStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  conditions: ConditionsSchema.optional(),
  appliedDigest: z.string().optional().describe('Digest of the document applied to the source.'),
  sourceSite: z.string().optional(),
  rules: z.array(RuleStatusSchema).optional(),
  progressMeasured: z
    .string()
    .optional()
    .describe(
      "Where the rules' progress figures come from: the source site's own counters, a sample of objects' x-amz-replication-status, or nothing.",
    ),
  lastResync: z
    .string()
    .optional()
    .describe('The value of the sitesync.io/resync annotation last acted on.'),
});
export type BucketReplicationStatus = z.infer<typeof BucketReplicationStatusSchema>;

export type BucketReplication = KubeObject<BucketReplicationSpec, BucketReplicationStatus>;
