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
  parseDuration,
} from './common.js';
import { normalizeEndpoint } from './endpoint.js';

export const SRG_KIND = 'SiteReplicationGroup';

export const REPLICATION_MODES = ['ActiveActive', 'PrimarySecondary'] as const;

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
  syncInterval?: string | undefined;
}

/** The shortest `syncInterval`: each pass reads every site whole (exports included). */
export const MIN_SYNC_INTERVAL = '1s';

/**
 * An endpoint in CEL nearly as `normalizeEndpoint` writes it (api/endpoint.ts): in lower case,
 * without the trailing slash and the scheme's default port. (CEL's url() library is too costly
 * for the apiserver's budget over 32 × 32 pairs.) `x` is a CEL expression of a URL string.
 */
function celEndpoint(x: string): string {
  const lower = `${x}.lowerAscii()`;
  const y = `(${lower}.endsWith('/') ? ${lower}.substring(0, ${x}.size() - 1) : ${lower})`;
  return `((${y}.startsWith('https://') && ${y}.endsWith(':443')) ? ${y}.substring(0, ${y}.size() - 4) : (${y}.startsWith('http://') && ${y}.endsWith(':80')) ? ${y}.substring(0, ${y}.size() - 3) : ${y})`;
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
    rule: `self.sites.all(a, self.sites.exists_one(b, ${celEndpoint('b.endpoint')} == ${celEndpoint('a.endpoint')}))`,
    message:
      'spec.sites[].endpoint must be unique: two sites cannot be the same server (endpoints are compared without case, default port or trailing slash)',
    holds: (s) =>
      new Set(s.sites.map((site) => normalizeEndpoint(site.endpoint))).size === s.sites.length,
  },
  {
    rule: `!has(self.syncInterval) || duration(self.syncInterval) >= duration('${MIN_SYNC_INTERVAL}')`,
    message: `spec.syncInterval must be at least ${MIN_SYNC_INTERVAL}: each pass reads every site whole`,
    holds: (s) =>
      s.syncInterval === undefined ||
      parseDuration(s.syncInterval) >= parseDuration(MIN_SYNC_INTERVAL),
  },
];

export const DeletionGuardSchema = z.object({
  maxCount: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(10)
    .describe(
      'Deletions one pass may make because of a minority of sites before they are held (default 10).',
    ),
  maxPercent: z
    .number()
    .int()
    .min(0)
    .max(100)
    .default(10)
    .describe(
      "The same bound as a percentage of the group's agreed entities (default 10); the larger of the two applies.",
    ),
});
export type DeletionGuard = z.infer<typeof DeletionGuardSchema>;

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
    paused: z.boolean().default(false).describe('Stop acting on the sites; keep reporting.'),
    allowSiteRemoval: z
      .boolean()
      .default(false)
      .describe(
        "Allow removing a site that has joined the group: the group's peer links and replication account are removed from it, and the remaining sites' replication credentials are rotated.",
      ),
    deletionGuard: DeletionGuardSchema.prefault({}).describe(
      'Deletions driven by a minority of the joined sites, beyond max(maxCount, maxPercent of the agreed entities) in one pass, are held (condition DeletionsHeld) until approved with the annotation sitesync.io/approve-deletions.',
    ),
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

export const SITE_MEMBERSHIPS = ['Joined', 'Joining', 'Held'] as const;

export const DeletionsHeldSchema = z.object({
  digest: z
    .string()
    .describe('The digest of exactly this plan: approve it with sitesync.io/approve-deletions.'),
  total: count.describe('Deletions held.'),
  byKind: z.record(z.string(), count).describe('Deletions held, by kind of entity.'),
  drivenBy: z.array(z.string()).describe('The sites whose deletions make up the plan.'),
  bound: count.describe('The bound the plan is over (spec.deletionGuard).'),
});
export type DeletionsHeld = z.infer<typeof DeletionsHeldSchema>;

export const RemovedSiteSchema = z.object({
  name: z.string(),
  message: z.string().max(1024).describe('What is left on the removed site, and why.'),
});

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
  membership: z
    .enum(SITE_MEMBERSHIPS)
    .optional()
    .describe(
      'Joined: votes in the merge. Joining: only receives until it holds the agreed state (a new or rejoining site). Held: its identity changed while it holds data; no votes, no writes until accepted (annotation sitesync.io/accept-site).',
    ),
  lastIdentityChange: z
    .string()
    .max(1024)
    .optional()
    .describe("The last change of this site's identity (deployment ID) and what the operator did."),
});
export type SiteStatus = z.infer<typeof SiteStatusSchema>;

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
  deletionsHeld: DeletionsHeldSchema.optional().describe(
    'Deletions driven by a minority of sites, over spec.deletionGuard, held until approved.',
  ),
  removedSites: z
    .array(RemovedSiteSchema)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
    .describe(
      'Sites removed from the group whose own peer links or replication account could not be removed yet (retried every pass).',
    ),
  lastAcceptSite: z
    .string()
    .optional()
    .describe('The value of the sitesync.io/accept-site annotation last acted on.'),
  lastApprovedDeletions: z
    .string()
    .optional()
    .describe('The last plan digest approved with sitesync.io/approve-deletions and carried out.'),
  lastRotateCredentials: z
    .string()
    .optional()
    .describe('The value of the sitesync.io/rotate-credentials annotation last acted on.'),
  lastRebuild: z
    .string()
    .optional()
    .describe('The value of the sitesync.io/rebuild-agreed-state annotation last acted on.'),
});
export type SiteReplicationGroupStatus = z.infer<typeof SiteReplicationGroupStatusSchema>;

export type SiteReplicationGroup = KubeObject<SiteReplicationGroupSpec, SiteReplicationGroupStatus>;
