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

export const VerifySpecSchema = z.object({
  interval: DurationSchema.optional().describe(
    'Verify again this long after the last verification completed (e.g. 24h). Absent: only on demand (the sitesync.io/verify annotation).',
  ),
});
export type VerifySpec = z.infer<typeof VerifySpecSchema>;

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

export const ObjectCopierSpecSchema = z.object({
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('Object keys the copier copies at once, per bucket and direction (default 4).'),
  bytesPerSecond: z
    .number()
    .int()
    .min(1024)
    .optional()
    .describe(
      "Bandwidth of all of the group's object copies together, in bytes per second (object bodies; requests and listings are not counted); no limit when absent.",
    ),
});
export type ObjectCopierSpec = z.infer<typeof ObjectCopierSpecSchema>;

export const AccessKeyRequestSchema = z.object({
  user: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\w+=,.@-]+$/)
    .describe(
      "The user (as named on the group's other sites; AWS allows letters, digits and +=,.@_-).",
    ),
  secretName: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
    .describe(
      "The Secret, in the group's namespace, the operator writes the user's keys to: `<site>.accessKey` and `<site>.secretKey` for each such site. Created when absent; other keys in it are left alone. Never logged, never in status.",
    ),
});
export type AccessKeyRequest = z.infer<typeof AccessKeyRequestSchema>;

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
        'ActiveActive: writes on any site replicate to all. PrimarySecondary: the other sites follow spec.primary: objects replicate from the primary only (a secondary holds no replication rule of the group, so its own writes and deletions stay on it), IAM and bucket configuration are taken from the primary only, a change made on a secondary is reverted (event SecondaryChangeReverted), and secondaries refuse writes from every identity but the replication account (a Deny policy; the root account cannot be fenced).',
      ),
    primary: z
      .string()
      .max(63)
      .regex(DNS_LABEL)
      .optional()
      .describe(
        'The site that holds the data when the group is created (seed site): the others must be empty. In PrimarySecondary mode, the site the others follow; changing it promotes the named site in fenced steps recorded in status.promotion.',
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
      .describe(
        "Allow removing a site that has joined the group: the group's peer links and replication account are removed from it, and the remaining sites' replication credentials are rotated.",
      ),
    deletionGuard: DeletionGuardSchema.prefault({}).describe(
      'Deletions driven by a minority of the joined sites, beyond max(maxCount, maxPercent of the agreed entities) in one pass, are held (condition DeletionsHeld) until approved with the annotation sitesync.io/approve-deletions.',
    ),
    objectCopier: ObjectCopierSpecSchema.prefault({}).describe(
      'Limits of the object copier, which carries objects between the sites that cannot replicate natively (an s3 site) and the group (status.objectCopies).',
    ),
    accessKeys: z
      .array(AccessKeyRequestSchema)
      .max(100)
      .optional()
      .meta({
        description:
          'Users of the group to give an access key of their own on the sites whose IAM cannot take a secret key (flavor s3: AWS-style IAM generates keys itself). Such a site gets every enabled user of the group, with its policy mappings, but without a login key (status.sites[].unmappable says so per user); for an entry here the operator also creates one access key there and writes it to the named Secret. A user deleted from the group is deleted from those sites too, with its keys, and the Secret entries go.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['user'],
      }),
    verify: VerifySpecSchema.prefault({}).describe(
      'Object-level verification: every site lists the object versions of every replicated bucket and the per-bucket Merkle trees are compared. It runs when the sitesync.io/verify annotation takes a new value, and on a schedule when interval is set.',
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
  pending: count.describe(
    'Object versions this site still has to replicate to a peer (queued, in flight or never replicated), as the site lists them.',
  ),
  replicated: count.describe('Versions replicated since the site started (its counter).'),
  failed: count.describe(
    'Object versions whose replication to a peer failed and has not succeeded since, as the site lists them.',
  ),
  bytes: count.describe('Bytes replicated since the site started (its counter).'),
  pendingBytes: count
    .optional()
    .describe('Bytes queued for replication on this site now (its queue counter).'),
  etaSeconds: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'At the replication rate measured between the last two counts, how long until nothing is pending; absent when unknown.',
    ),
  countedAt: z
    .string()
    .optional()
    .describe('When the oldest of the bucket counts summed here was taken.'),
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
/** A bounded list: the first few items and how many there are in all. */
export const BoundedListSchema = z.object({
  count: count.describe('How many there are in all.'),
  items: z.array(z.string().max(1024)).max(20).describe('The first few of them.'),
});
export type BoundedList = z.infer<typeof BoundedListSchema>;

export const OUT_OF_SYNC_KINDS = [
  'buckets',
  'bucketConfigs',
  'policies',
  'users',
  'groups',
  'policyMappings',
  'serviceAccounts',
] as const;
export type OutOfSyncKind = (typeof OUT_OF_SYNC_KINDS)[number];

export const OutOfSyncEntitiesSchema = z
  .object(
    Object.fromEntries(OUT_OF_SYNC_KINDS.map((k) => [k, BoundedListSchema.optional()])) as Record<
      OutOfSyncKind,
      z.ZodOptional<typeof BoundedListSchema>
    >,
  )
  .describe(
    'What differs on this site from the agreed state, by kind: the first names, each marked (missing), (differs) or (extra), and the count. Kinds with nothing out of sync are absent.',
  );
export type OutOfSyncEntities = z.infer<typeof OutOfSyncEntitiesSchema>;

export const SiteVerificationSchema = z.object({
  objectsRoot: z
    .string()
    .describe(
      "Merkle root over this site's replicated buckets, each a Merkle root over its object versions (key, versionId, ETag, size, delete marker).",
    ),
  versions: count.describe('Object versions and delete markers listed on this site.'),
  bucketsDiffering: BoundedListSchema.optional().describe(
    "Buckets whose root on this site differs from the root most sites hold (ties: the primary's, then the first site's).",
  ),
  missing: BoundedListSchema.optional().describe(
    'Versions another site holds and this one lacks, as bucket/key@versionId.',
  ),
  different: BoundedListSchema.optional().describe(
    'Versions this site holds with another ETag, size or delete-marker flag than most sites.',
  ),
});
export type SiteVerification = z.infer<typeof SiteVerificationSchema>;

export const VERIFY_PHASES = ['Running', 'Completed', 'Failed'] as const;

export const VerificationStatusSchema = z.object({
  requested: z
    .string()
    .max(1024)
    .describe('What asked for it: the sitesync.io/verify value, or schedule.'),
  phase: z.enum(VERIFY_PHASES),
  startedAt: z.string(),
  completedAt: z.string().optional(),
  durationSeconds: count.optional(),
  buckets: count.describe('Buckets to verify.'),
  bucketsDone: count,
  versionsCompared: count.describe('Object versions listed so far, all sites together.'),
  percent: z.number().int().min(0).max(100).optional(),
  etaSeconds: count.optional().describe('Estimated time left, while running.'),
  equal: z
    .boolean()
    .optional()
    .describe('When completed: every site listed the same object versions in every bucket.'),
  message: z.string().max(4096).optional(),
});
export type VerificationStatus = z.infer<typeof VerificationStatusSchema>;

export const RECOVERY_PHASES = ['Retrying', 'Completed'] as const;

export const RecoveryStatusSchema = z.object({
  requested: z.string().max(1024).describe('The sitesync.io/recover value being acted on.'),
  phase: z.enum(RECOVERY_PHASES),
  startedAt: z.string(),
  completedAt: z.string().optional(),
  retried: count.describe(
    'Object versions found failed or pending, and re-queued on their source site, in the first round.',
  ),
  rounds: count.optional().describe('Rounds of re-queueing so far (a few seconds apart).'),
  remaining: count.optional().describe('Versions still failed or pending at the last count.'),
  checkedAt: z
    .string()
    .optional()
    .describe('When the retry was made or what is left last counted.'),
  message: z.string().max(4096).optional(),
});
export type RecoveryStatus = z.infer<typeof RecoveryStatusSchema>;

export const ObjectCopyStatusSchema = z.object({
  bucket: z.string(),
  source: z.string().describe('The site the versions are copied from.'),
  destination: z.string().describe('The site they are copied to.'),
  copied: count.describe(
    'Object versions copied on this route since the group started copying it (delete markers included).',
  ),
  deleteMarkers: count.describe('Of them, delete markers.'),
  bytes: count.describe('Bytes copied on this route since the group started copying it.'),
  failed: count.describe(
    "Versions whose copy failed in the route's last pass (retried every pass).",
  ),
  pending: count.describe(
    "Versions known to need a copy at the end of the route's last pass (a failed one and the later versions of its key).",
  ),
  lagSeconds: count.describe(
    'Age of the oldest version still waiting for a copy; 0 when none waits.',
  ),
  lastPassTime: z.string().optional().describe("When the route's last pass ended."),
  message: z
    .string()
    .max(1024)
    .optional()
    .describe("Why the route's last pass did not finish, or its first failure."),
});
export type ObjectCopyStatus = z.infer<typeof ObjectCopyStatusSchema>;

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
  objects: ObjectProgressSchema.optional().describe(
    "What this site still has to send to its peers: its native replication's figures (MinIO), plus the object copier's routes from it (status.objectCopies: copied versions count as replicated, the last pass's pending and failed as such).",
  ),
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
  merkleRoot: z
    .string()
    .optional()
    .describe(
      "Digest of this site's replicated state: its metadata (buckets, bucket configs, IAM) and, once a verification has completed, its object versions as of that verification.",
    ),
  metadataRoot: z
    .string()
    .optional()
    .describe("Merkle root of this site's replicated metadata alone."),
  lastSequence: count
    .optional()
    .describe("The group's lastSequence when this site was last seen in sync (Vault's last_wal)."),
  outOfSyncEntities: OutOfSyncEntitiesSchema.optional(),
  unmappable: BoundedListSchema.optional().describe(
    "What this site cannot hold as the group has it, each with why (an s3 site: users' secret keys, which AWS-style IAM cannot set, unless spec.accessKeys gives the user a key; service accounts; policies using MinIO's extensions), and users, groups and mappings made on such a site alone, which are neither copied nor deleted. They are kept on the other sites and never deleted for it.",
  ),
  verification: SiteVerificationSchema.optional().describe(
    "This site's part of the last completed object verification.",
  ),
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

export const PROMOTION_STEPS = [
  'FenceOldPrimary',
  'WaitForSync',
  'SwitchLinks',
  'UnfenceNewPrimary',
] as const;

export const PromotionStepSchema = z.object({
  name: z.enum(PROMOTION_STEPS).describe('The step.'),
  startedAt: z.string().describe('When the step started (RFC 3339).'),
  endedAt: z.string().optional().describe('When the step ended; absent while it runs.'),
  message: z
    .string()
    .max(1024)
    .optional()
    .describe('How the step ended when not as planned (skipped by a forced promotion).'),
});

export const PromotionStatusSchema = z.object({
  from: z.string().describe('The primary being demoted.'),
  to: z.string().describe('The site being promoted (spec.primary).'),
  step: z
    .enum([...PROMOTION_STEPS, 'Done'])
    .describe(
      'The step running now, Done once the new primary accepts writes. FenceOldPrimary: the fence goes on the old primary (every site refuses writes from then on); WaitForSync: until the old primary lists no object version pending or failed for any secondary and the new primary holds the same IAM and bucket configuration; SwitchLinks: replication rules run from the new primary, none from the old (after a forced promotion, also until oldLeaseEndsAt); UnfenceNewPrimary: the fence comes off the new primary.',
    ),
  steps: z
    .array(PromotionStepSchema)
    .max(4)
    .describe('Each step started so far, in order, with its start and end.'),
  waitingFor: z
    .string()
    .max(1024)
    .describe('Why the current step has not ended yet; empty when it is not waiting.'),
  forced: z
    .boolean()
    .optional()
    .describe('Promoted with sitesync.io/force-promote while the old primary was unreachable.'),
  divergent: z
    .string()
    .max(1024)
    .optional()
    .describe(
      'After a forced promotion: object versions on the old primary that its listing marks as not replicated (written before the promotion and never delivered, or after it). They are never copied to the new primary.',
    ),
  oldLeaseEndsAt: z
    .string()
    .max(64)
    .optional()
    .describe(
      'Forced promotion: when the old primary refuses every write on its own at the latest (the last write lease the operator may have given it, plus the clock-skew margin). The new primary is unfenced only after it, so no two sites accept writes at once even if the old primary returns unseen by the operator.',
    ),
});
export type PromotionStatus = z.infer<typeof PromotionStatusSchema>;

export const SiteReplicationGroupStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  conditions: ConditionsSchema.optional(),
  mode: z.enum(REPLICATION_MODES).optional(),
  primary: z
    .string()
    .optional()
    .describe(
      'The primary in effect: spec.primary, or during a promotion the site still acting as primary until the links are switched.',
    ),
  knownSites: z.array(z.string()).optional().describe('Sites that have joined the group.'),
  sites: z
    .array(SiteStatusSchema)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
  objectCopies: z
    .array(ObjectCopyStatusSchema)
    .max(1000)
    .optional()
    .describe(
      'The object copier, per bucket and direction, for the sites that cannot replicate natively (mixed groups): each such site is paired with one hub site (the first that replicates natively, spec.primary preferred), both ways.',
    ),
  sitesReachable: z.string().optional().describe('Reachable sites out of all, e.g. 3/3.'),
  sitesInSync: z
    .string()
    .optional()
    .describe('Sites whose merkleRoot equals the group merkleRoot, out of all, e.g. 3/3.'),
  lastSequence: count.optional().describe('Monotonic count of changes applied to sites.'),
  lastResync: z
    .string()
    .optional()
    .describe('The value of the sitesync.io/resync annotation last acted on.'),
  lastRecover: z
    .string()
    .optional()
    .describe(
      'The value of the sitesync.io/recover annotation whose retry has completed (see recovery).',
    ),
  merkleRoot: z
    .string()
    .optional()
    .describe(
      'Digest of the agreed replicated state: metadata and, once verified, the object versions most sites hold. A site whose merkleRoot equals it is in sync.',
    ),
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
  lastVerify: z
    .string()
    .optional()
    .describe('The value of the sitesync.io/verify annotation whose verification completed.'),
  verification: VerificationStatusSchema.optional().describe(
    'The object verification running now, or the last one.',
  ),
  recovery: RecoveryStatusSchema.optional().describe(
    'The retry of failed object replications asked by sitesync.io/recover: running or last done.',
  ),
  changeDetection: ChangeDetectionStatusSchema.optional().describe(
    'How changes on the sites are detected now (spec.changeDetection as it could be applied).',
  ),
  promotion: PromotionStatusSchema.optional().describe(
    'PrimarySecondary: the promotion of spec.primary running now, or the last one. It starts when spec.primary names another site than status.primary; at every step at most one site (the primary in effect, status.primary) accepts writes, and none between FenceOldPrimary and UnfenceNewPrimary.',
  ),
});
export type SiteReplicationGroupStatus = z.infer<typeof SiteReplicationGroupStatusSchema>;

export type SiteReplicationGroup = KubeObject<SiteReplicationGroupSpec, SiteReplicationGroupStatus>;
