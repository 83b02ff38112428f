import { z } from 'zod';

import {
  type CrossFieldRule,
  ConditionsSchema,
  DNS_LABEL,
  DurationSchema,
  type KubeObject,
  LocalObjectReferenceSchema,
  SiteSchema,
  celValidations,
} from './common.js';

export const SRG_KIND = 'SiteReplicationGroup';

export const REPLICATION_MODES = ['ActiveActive', 'PrimarySecondary'] as const;

/** How changes made on a site are noticed besides the full observation every syncInterval. */
export const CHANGE_DETECTION_MODES = ['events', 'poll'] as const;
export type ChangeDetectionMode = (typeof CHANGE_DETECTION_MODES)[number];

const on = (what: string) =>
  z.boolean().default(true).describe(`Replicate ${what} (default true).`);

export const ReplicateIAMSchema = z.object({
  policies: on('canned IAM policies'),
  users: on('users with their secret keys, and their policy mappings'),
  groups: on('groups, their members and their policy mappings'),
  serviceAccounts: on('service accounts not owned by the root user'),
});

export const ReplicateBucketConfigSchema = z.object({
  policy: on('bucket policies'),
  tags: on('bucket tags'),
  objectLock: on('object-lock configuration (default retention)'),
  encryption: on('default encryption configuration'),
});

export const ReplicateSchema = z.object({
  objects: on('object data'),
  deletes: on('versioned deletes'),
  deleteMarkers: on('delete markers'),
  iam: ReplicateIAMSchema.prefault({}).describe('Which IAM entities are replicated.'),
  bucketConfig: ReplicateBucketConfigSchema.prefault({}).describe(
    'Which bucket configurations are replicated. Notification and lifecycle configurations are never replicated: they are meant to differ between sites.',
  ),
});
export type Replicate = z.infer<typeof ReplicateSchema>;

const GlobSchema = z.string().min(1).max(255);

export const BucketSelectorSchema = z.object({
  include: z
    .array(GlobSchema)
    .max(256)
    .default(['*'])
    .describe('Glob patterns of bucket names to replicate (default all: ["*"]).'),
  exclude: z
    .array(GlobSchema)
    .max(256)
    .default([])
    .describe('Glob patterns of bucket names never replicated; exclude wins over include.'),
});
export type BucketSelector = z.infer<typeof BucketSelectorSchema>;

interface SiteRuleSpec {
  sites: { name: string; endpoint: string }[];
  mode: (typeof REPLICATION_MODES)[number];
  primary?: string | undefined;
}

/** Rules across fields of the spec: CEL at admission, TypeScript in the operator. */
export const SRG_SPEC_RULES: readonly CrossFieldRule<SiteRuleSpec>[] = [
  {
    rule: '!has(self.primary) || self.sites.exists(s, s.name == self.primary)',
    message: 'spec.primary must name one of spec.sites',
    holds: (s) => s.primary === undefined || s.sites.some((site) => site.name === s.primary),
  },
  {
    rule: "!has(self.mode) || self.mode != 'PrimarySecondary' || has(self.primary)",
    message: 'spec.primary is required when spec.mode is PrimarySecondary',
    holds: (s) => s.mode !== 'PrimarySecondary' || s.primary !== undefined,
  },
  {
    rule: 'self.sites.all(a, self.sites.exists_one(b, b.endpoint == a.endpoint))',
    message: 'spec.sites[].endpoint must be unique: two sites cannot be the same server',
    holds: (s) => new Set(s.sites.map((site) => site.endpoint)).size === s.sites.length,
  },
];

export const SiteReplicationGroupSpecSchema = z
  .object({
    sites: z
      .array(SiteSchema)
      .min(2)
      .max(32)
      .meta({
        description: 'The peer sites kept as replicas of each other (2 to 32).',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    mode: z
      .enum(REPLICATION_MODES)
      .default('ActiveActive')
      .describe(
        'ActiveActive: writes on any site replicate to all. PrimarySecondary: one primary, the other sites are read-only replicas.',
      ),
    primary: z
      .string()
      .max(63)
      .regex(DNS_LABEL)
      .optional()
      .describe(
        'The site that holds the data when the group is created (seed site). In PrimarySecondary mode it is the primary; changing it promotes that site.',
      ),
    identityProviderRef: LocalObjectReferenceSchema.optional().describe(
      'The IdentityProvider every site must share.',
    ),
    buckets: BucketSelectorSchema.prefault({}).describe('Which buckets are replicated.'),
    replicate: ReplicateSchema.prefault({}).describe('What is replicated; everything by default.'),
    syncInterval: DurationSchema.default('30s').describe(
      'How often every site is re-observed to detect drift (default 30s).',
    ),
    changeDetection: z
      .enum(CHANGE_DETECTION_MODES)
      .default('events')
      .describe(
        "events (default): each site reports its changes to the operator (MinIO: a named audit_webhook target posting to the operator's HTTPS change receiver), and only what changed is read again and applied; where that cannot work (no receiver configured, a site that cannot configure it) the group falls back to poll and status.changeDetection says why. poll: only the full observation every syncInterval. The full observation every syncInterval runs in both modes.",
      ),
    paused: z.boolean().default(false).describe('Stop acting on the sites; keep reporting.'),
    allowSiteRemoval: z
      .boolean()
      .default(false)
      .describe('Allow removing a site that has joined the group (its peer links are removed).'),
  })
  .meta({ 'x-kubernetes-validations': celValidations(SRG_SPEC_RULES) });
export type SiteReplicationGroupSpec = z.infer<typeof SiteReplicationGroupSpecSchema>;

const count = z.number().int().min(0);

export const SyncCountsSchema = z.object({
  inSync: count.describe('Entities equal on this site and in the agreed state.'),
  outOfSync: count.describe('Entities that differ, are missing or are extra on this site.'),
});

export const ObjectProgressSchema = z.object({
  pending: count,
  replicated: count,
  failed: count,
  bytes: count.describe('Bytes replicated.'),
  lagSeconds: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'How long the oldest object still waiting for replication has waited; 0 when none waits.',
    ),
});
export type ObjectProgress = z.infer<typeof ObjectProgressSchema>;

export const SiteStatusSchema = z.object({
  name: z.string(),
  deploymentID: z.string().optional(),
  reachable: z.boolean(),
  lastSyncTime: z.string().optional().describe('When this site was last seen in sync.'),
  lastError: z
    .string()
    .optional()
    .describe('The last error talking to this site, without secrets.'),
  buckets: SyncCountsSchema.optional(),
  iam: SyncCountsSchema.optional(),
  objects: ObjectProgressSchema.optional(),
  merkleRoot: z.string().optional().describe("Digest of this site's replicated state."),
});
export type SiteStatus = z.infer<typeof SiteStatusSchema>;

export const ChangeDetectionStatusSchema = z.object({
  mode: z
    .enum(CHANGE_DETECTION_MODES)
    .describe('events: every site reports its changes; poll: changes are found by observation.'),
  sites: z
    .array(z.string())
    .optional()
    .describe('With mode events: the sites whose change reports reached the operator.'),
  message: z
    .string()
    .optional()
    .describe('Why events are not in effect (or only on some sites), naming the site or setting.'),
});
export type ChangeDetectionStatus = z.infer<typeof ChangeDetectionStatusSchema>;

export const SiteReplicationGroupStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  conditions: ConditionsSchema.optional(),
  mode: z.enum(REPLICATION_MODES).optional(),
  primary: z.string().optional(),
  knownSites: z.array(z.string()).optional().describe('Sites that have joined the group.'),
  sites: z
    .array(SiteStatusSchema)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
  sitesReachable: z.string().optional().describe('Reachable sites out of all, e.g. 3/3.'),
  sitesInSync: z.string().optional().describe('Sites whose merkle root equals the group root.'),
  lastSequence: count.optional().describe('Monotonic count of changes applied to sites.'),
  lastResync: z
    .string()
    .optional()
    .describe('The value of the sitesync.io/resync annotation last acted on.'),
  lastRecover: z
    .string()
    .optional()
    .describe('The value of the sitesync.io/recover annotation last acted on.'),
  merkleRoot: z.string().optional().describe('Digest of the agreed replicated state.'),
  changeDetection: ChangeDetectionStatusSchema.optional().describe(
    'How changes on the sites are detected now (spec.changeDetection as it could be applied).',
  ),
});
export type SiteReplicationGroupStatus = z.infer<typeof SiteReplicationGroupStatusSchema>;

export type SiteReplicationGroup = KubeObject<SiteReplicationGroupSpec, SiteReplicationGroupStatus>;
