/**
 * The camelCase YAML form of an S3 replication configuration (PutBucketReplication, V2 schema,
 * plus MinIO's DeleteReplication and sitesync's destination.site), as a BucketReplication's
 * `spec.role` and `spec.rules[]` hold it.
 *
 * These schemas become the CRD's OpenAPI schema (`z.toJSONSchema`, openapi-3.0, io: 'input'),
 * so they use only what a structural schema allows: plain objects, arrays, strings, integers,
 * enums, optionals and defaults. Bounds the apiserver can check are .min/.max/.regex;
 * cross-field rules it can check are CEL (`x-kubernetes-validations`), each kept beside the same
 * rule in TypeScript (`holds`) so tests keep the two honest. CEL stays cheap: every string a rule
 * reads has a maxLength and the one rule over the list is linear. What needs the whole document
 * (unique IDs and priorities, one destination, flavor rules, size) is checked by the operator in
 * `src/replication/validate.ts`.
 */
import { z } from 'zod';

import { type CrossFieldRule, DNS_LABEL, celValidations } from './common.js';

export const REPLICATION_STATUSES = ['Enabled', 'Disabled'] as const;
/** S3: a configuration holds 1 to 1000 rules. */
export const MAX_REPLICATION_RULES = 1000;
/** S3, MinIO, Zenko: a rule ID is at most 255 characters. */
export const MAX_RULE_ID_LENGTH = 255;
/** An object key, hence a prefix, is at most 1024 bytes. */
export const MAX_PREFIX_LENGTH = 1024;
/** S3 object tags: key 1..128 characters, value 0..256, at most 10 tags on an object. */
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;
export const MAX_FILTER_TAGS = 10;
/** S3 Replication Time Control: the only threshold S3 accepts, in minutes. */
export const RTC_MINUTES = 15;
/** S3 takes a priority as a 32-bit integer; MinIO requires it to be >= 0. */
export const MAX_PRIORITY = 2_147_483_647;
/** The whole ReplicationConfiguration document: at most 2 MiB (MinIO reads 2 << 20 bytes). */
export const MAX_REPLICATION_DOCUMENT_BYTES = 2 * 1024 * 1024;
/** IAM ARNs are at most 2048 characters; a destination bucket ARN is far shorter. */
export const MAX_ARN_LENGTH = 2048;

export const ReplicationStatusSchema = z
  .enum(REPLICATION_STATUSES)
  // A maxLength keeps the CEL cost estimate of `status == 'Enabled'` small.
  .meta({ maxLength: 8 });
export type ReplicationStatus = z.infer<typeof ReplicationStatusSchema>;

const statusField = (what: string) =>
  ReplicationStatusSchema.describe(`Enabled or Disabled: whether ${what}.`);

const PrefixSchema = z.string().max(MAX_PREFIX_LENGTH);

export const ReplicationTagSchema = z.object({
  key: z
    .string()
    .min(1)
    .max(MAX_TAG_KEY_LENGTH)
    .describe('Tag key (1 to 128 characters) an object must carry.'),
  value: z
    .string()
    .max(MAX_TAG_VALUE_LENGTH)
    .describe('Tag value (up to 256 characters) the object tag must have.'),
});
export type ReplicationTag = z.infer<typeof ReplicationTagSchema>;

export const ReplicationFilterAndSchema = z.object({
  prefix: PrefixSchema.optional().describe('Key prefix objects must start with.'),
  tags: z
    .array(ReplicationTagSchema)
    .max(MAX_FILTER_TAGS)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['key'] })
    .describe('Tags objects must all carry (keys unique; an object has at most 10 tags).'),
});
export type ReplicationFilterAnd = z.infer<typeof ReplicationFilterAndSchema>;

interface FilterShape {
  prefix?: unknown;
  tag?: unknown;
  and?: unknown;
}

export const REPLICATION_FILTER_RULES: readonly CrossFieldRule<FilterShape>[] = [
  {
    rule: '(has(self.prefix) ? 1 : 0) + (has(self.tag) ? 1 : 0) + (has(self.and) ? 1 : 0) <= 1',
    message: 'filter takes at most one of prefix, tag and and',
    holds: (f) => [f.prefix, f.tag, f.and].filter((x) => x !== undefined).length <= 1,
  },
];

export const ReplicationFilterSchema = z
  .object({
    prefix: PrefixSchema.optional().describe(
      'Replicate only objects whose key starts with this prefix ("" or no filter: all objects).',
    ),
    tag: ReplicationTagSchema.optional().describe(
      'Replicate only objects carrying this tag. deleteMarkerReplication must then be Disabled.',
    ),
    and: ReplicationFilterAndSchema.optional().describe(
      'Replicate only objects matching a prefix and/or several tags, all of them.',
    ),
  })
  .meta({ 'x-kubernetes-validations': celValidations(REPLICATION_FILTER_RULES) });
export type ReplicationFilter = z.infer<typeof ReplicationFilterSchema>;

export const DeleteMarkerReplicationSchema = z.object({
  status: statusField('delete markers are replicated (S3: Disabled with a tag filter)'),
});
export const DeleteReplicationSchema = z.object({
  status: statusField('versioned (permanent) deletes are replicated (MinIO only)'),
});
export const ExistingObjectReplicationSchema = z.object({
  status: statusField('objects that existed before the rule are replicated too'),
});
export const SseKmsEncryptedObjectsSchema = z.object({
  status: statusField('objects encrypted with SSE-KMS are replicated'),
});
export const ReplicaModificationsSchema = z.object({
  status: statusField('metadata changes made on replicas are replicated back'),
});

export const SourceSelectionCriteriaSchema = z.object({
  sseKmsEncryptedObjects: SseKmsEncryptedObjectsSchema.optional().describe(
    'Replication of SSE-KMS encrypted objects (S3); needs destination.encryptionConfiguration.replicaKmsKeyID.',
  ),
  replicaModifications: ReplicaModificationsSchema.optional().describe(
    'Replication of replica metadata changes (MinIO defaults it to Enabled, S3 to Disabled).',
  ),
});
export type SourceSelectionCriteria = z.infer<typeof SourceSelectionCriteriaSchema>;

const minutesSchema = (what: string) =>
  z
    .number()
    .int()
    .min(RTC_MINUTES)
    .max(RTC_MINUTES)
    .default(RTC_MINUTES)
    .describe(`${what}, in minutes. S3 accepts only 15 (the default).`);

export const ReplicationMetricsSchema = z.object({
  status: statusField('replication metrics and events are on (S3)'),
  eventThreshold: z
    .object({
      minutes: minutesSchema('Time after which a not yet replicated object raises an event'),
    })
    .optional()
    .describe('Threshold of the s3:Replication:OperationMissedThreshold event.'),
});
export type ReplicationMetrics = z.infer<typeof ReplicationMetricsSchema>;

export const ReplicationTimeSchema = z.object({
  status: statusField('S3 Replication Time Control is on; it needs metrics Enabled'),
  time: z
    .object({ minutes: minutesSchema('Time within which objects are replicated') })
    .prefault({})
    .describe('The replication time S3 guarantees (default 15 minutes).'),
});
export type ReplicationTime = z.infer<typeof ReplicationTimeSchema>;

// The shapes the TypeScript forms of the CEL rules read: zod's output types, loosely.
interface DestinationShape {
  bucket?: string | undefined;
  site?: string | undefined;
  account?: unknown;
  accessControlTranslation?: unknown;
  metrics?: { status: string } | undefined;
  replicationTime?: { status: string } | undefined;
}

export const REPLICATION_DESTINATION_RULES: readonly CrossFieldRule<DestinationShape>[] = [
  {
    rule: 'has(self.bucket) || has(self.site)',
    message: 'destination needs bucket (an ARN or a bucket name) or site (a managed site)',
    holds: (d) => d.bucket !== undefined || d.site !== undefined,
  },
  {
    rule: "!has(self.site) || !has(self.bucket) || !self.bucket.startsWith('arn:')",
    message: 'with destination.site, destination.bucket names the bucket on that site, not an ARN',
    holds: (d) => d.site === undefined || !(d.bucket?.startsWith('arn:') ?? false),
  },
  {
    rule:
      "!has(self.replicationTime) || self.replicationTime.status != 'Enabled' || " +
      "(has(self.metrics) && self.metrics.status == 'Enabled')",
    message: 'destination.replicationTime Enabled requires destination.metrics Enabled',
    holds: (d) => d.replicationTime?.status !== 'Enabled' || d.metrics?.status === 'Enabled',
  },
  {
    rule: '!has(self.accessControlTranslation) || has(self.account)',
    message: 'destination.accessControlTranslation requires destination.account',
    holds: (d) => d.accessControlTranslation === undefined || d.account !== undefined,
  },
];

export const ReplicationDestinationSchema = z
  .object({
    bucket: z
      .string()
      .min(1)
      .max(MAX_ARN_LENGTH)
      .optional()
      .describe(
        'The destination: a bucket ARN (arn:aws:s3:::name), a MinIO remote-target ARN ' +
          '(arn:minio:replication:...) or a bucket name (taken as arn:aws:s3:::name). ' +
          'With site: the bucket name on that site (default: the source bucket name).',
      ),
    site: z
      .string()
      .min(1)
      .max(63)
      .regex(DNS_LABEL)
      .optional()
      .describe(
        'A site managed by sitesync to replicate to; the operator creates the remote target and fills in its ARN.',
      ),
    account: z
      .string()
      .length(12)
      .regex(/^[0-9]{12}$/)
      .optional()
      .describe('AWS account ID (12 digits) that owns the destination bucket (S3).'),
    storageClass: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe(
        'Storage class of the replicas (S3 classes such as STANDARD; MinIO: STANDARD or ' +
          'REDUCED_REDUNDANCY; Zenko: location names). Default: that of the source object.',
      ),
    accessControlTranslation: z
      .object({
        owner: z
          .enum(['Destination'])
          .meta({ maxLength: 11 })
          .describe('Who owns the replicas: Destination (the account that owns the bucket).'),
      })
      .optional()
      .describe(
        'Give replicas to the destination bucket owner (S3, cross-account; needs account).',
      ),
    encryptionConfiguration: z
      .object({
        replicaKmsKeyID: z
          .string()
          .min(1)
          .max(MAX_ARN_LENGTH)
          .optional()
          .describe('ID or ARN of the KMS key that encrypts replicas in the destination.'),
      })
      .optional()
      .describe('Encryption of the replicas (S3; needed with sseKmsEncryptedObjects).'),
    metrics: ReplicationMetricsSchema.optional().describe(
      'Replication metrics and events (S3; required by replicationTime).',
    ),
    replicationTime: ReplicationTimeSchema.optional().describe(
      'S3 Replication Time Control: replicate 99.99% of objects within 15 minutes.',
    ),
  })
  .meta({ 'x-kubernetes-validations': celValidations(REPLICATION_DESTINATION_RULES) });
export type ReplicationDestination = z.infer<typeof ReplicationDestinationSchema>;

interface RuleShape {
  filter?: { tag?: unknown } | undefined;
  prefix?: unknown;
  priority?: unknown;
  deleteMarkerReplication?: { status: string } | undefined;
  sourceSelectionCriteria?: { sseKmsEncryptedObjects?: { status: string } | undefined } | undefined;
  destination: { encryptionConfiguration?: { replicaKmsKeyID?: unknown } | undefined };
}

export const REPLICATION_RULE_RULES: readonly CrossFieldRule<RuleShape>[] = [
  {
    rule: '!(has(self.filter) && has(self.prefix))',
    message: 'a rule takes filter (V2) or the legacy prefix (V1), not both',
    holds: (r) => r.filter === undefined || r.prefix === undefined,
  },
  {
    rule: '!has(self.filter) || (has(self.priority) && has(self.deleteMarkerReplication))',
    message: 'a rule with a filter needs priority and deleteMarkerReplication',
    holds: (r) =>
      r.filter === undefined ||
      (r.priority !== undefined && r.deleteMarkerReplication !== undefined),
  },
  {
    rule:
      '!(has(self.filter) && has(self.filter.tag) && has(self.deleteMarkerReplication) && ' +
      "self.deleteMarkerReplication.status == 'Enabled')",
    message: 'deleteMarkerReplication must be Disabled when filter.tag is used',
    holds: (r) => r.filter?.tag === undefined || r.deleteMarkerReplication?.status !== 'Enabled',
  },
  {
    rule:
      '!(has(self.sourceSelectionCriteria) && ' +
      'has(self.sourceSelectionCriteria.sseKmsEncryptedObjects) && ' +
      "self.sourceSelectionCriteria.sseKmsEncryptedObjects.status == 'Enabled') || " +
      '(has(self.destination.encryptionConfiguration) && ' +
      'has(self.destination.encryptionConfiguration.replicaKmsKeyID))',
    message:
      'sourceSelectionCriteria.sseKmsEncryptedObjects Enabled requires destination.encryptionConfiguration.replicaKmsKeyID',
    holds: (r) =>
      r.sourceSelectionCriteria?.sseKmsEncryptedObjects?.status !== 'Enabled' ||
      r.destination.encryptionConfiguration?.replicaKmsKeyID !== undefined,
  },
];

export const ReplicationRuleSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(MAX_RULE_ID_LENGTH)
      .optional()
      .describe('Unique ID of the rule, up to 255 characters; error messages name it.'),
    priority: z
      .number()
      .int()
      .min(0)
      .max(MAX_PRIORITY)
      .optional()
      .describe(
        'Which rule wins when several match an object (higher wins); unique. Required with filter.',
      ),
    status: ReplicationStatusSchema.default('Enabled').describe(
      'Enabled (default) or Disabled; only Enabled rules replicate.',
    ),
    filter: ReplicationFilterSchema.optional().describe(
      'Which objects the rule replicates (V2): one of prefix, tag and and. Needs priority and deleteMarkerReplication.',
    ),
    prefix: PrefixSchema.optional().describe(
      'Legacy V1 key prefix of the objects to replicate; prefer filter. Not mixed with V2 rules; ignored by MinIO.',
    ),
    deleteMarkerReplication: DeleteMarkerReplicationSchema.optional().describe(
      'Whether delete markers are replicated. Required with filter, and always on MinIO.',
    ),
    deleteReplication: DeleteReplicationSchema.optional().describe(
      'Whether versioned deletes are replicated (MinIO extension; default Disabled).',
    ),
    existingObjectReplication: ExistingObjectReplicationSchema.optional().describe(
      'Whether objects that existed before the rule are replicated (default Disabled).',
    ),
    sourceSelectionCriteria: SourceSelectionCriteriaSchema.optional().describe(
      'Extra selection of source objects: SSE-KMS encrypted objects, replica modifications.',
    ),
    destination: ReplicationDestinationSchema.describe(
      'Where the rule replicates to, and how the replicas are stored.',
    ),
  })
  .meta({ 'x-kubernetes-validations': celValidations(REPLICATION_RULE_RULES) });
export type ReplicationRule = z.infer<typeof ReplicationRuleSchema>;
export type ReplicationRuleInput = z.input<typeof ReplicationRuleSchema>;

type RulesShape = readonly { filter?: unknown; prefix?: unknown }[];

export const REPLICATION_RULES_RULES: readonly CrossFieldRule<RulesShape>[] = [
  {
    // Linear in the number of rules: two passes over at most 1000 items.
    rule: '!(self.exists(r, has(r.filter)) && self.exists(r, has(r.prefix)))',
    message: 'rules cannot mix filter (V2) and the legacy rule-level prefix (V1)',
    holds: (rs) =>
      !(rs.some((r) => r.filter !== undefined) && rs.some((r) => r.prefix !== undefined)),
  },
];

/** `spec.rules`: 1 to 1000 rules, V1 and V2 not mixed. */
export const ReplicationRulesSchema = z
  .array(ReplicationRuleSchema)
  .min(1)
  .max(MAX_REPLICATION_RULES)
  .meta({ 'x-kubernetes-validations': celValidations(REPLICATION_RULES_RULES) })
  .describe('Replication rules, as in PutBucketReplication (1 to 1000).');
export type ReplicationRules = z.infer<typeof ReplicationRulesSchema>;

/** `spec.role`. */
export const ReplicationRoleSchema = z
  .string()
  .max(MAX_ARN_LENGTH)
  .describe(
    'IAM role S3 assumes to replicate (AWS, Zenko). Left out for MinIO, where each rule names its remote target.',
  );

/** The whole configuration in YAML form: what `spec.role` and `spec.rules` hold together. */
export const ReplicationConfigurationSchema = z.object({
  role: ReplicationRoleSchema.optional(),
  rules: ReplicationRulesSchema,
});
export type ReplicationConfiguration = z.infer<typeof ReplicationConfigurationSchema>;
