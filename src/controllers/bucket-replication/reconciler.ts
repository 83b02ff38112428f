/**
 * The BucketReplication controller: one bucket's S3 replication configuration, declaratively.
 * load -> validate (zod, cross-field rules, the source flavor's rules) -> resolve the source site
 * and its credentials -> versioning on the source -> managed destinations (bucket, versioning,
 * remote target) -> merge beside the group's `sitesync-` rules -> PUT when the document differs
 * -> resync existing objects -> drop unused targets it created -> per-rule progress -> status.
 */
import {
  BREP_KIND,
  type BucketReplication,
  type BucketReplicationSpec,
  type BucketReplicationStatus,
} from '../api/bucket-replication.js';
import type { Site } from '../api/common.js';
import { RTC_MINUTES } from '../api/replication-config.js';
import {
  type ReplicationConfig,
  resolveSiteDestinations,
} from '../replication/replication-config.js';
import { buildReplicationXML } from '../replication/xml-codec.js';
import type { ObjectRef, Reconcile, ReconcileContext } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../runtime/finalizers.js';
import type { Informer } from '../runtime/informer.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { errorMessage } from '../runtime/logger.js';
import { FIELD_MANAGER, patchStatus, sameJSON } from '../runtime/status.js';
import type { TargetBacklog } from '../sites/backlog.js';
import type { SiteClient, SiteConnection } from '../sites/site-client.js';
import { SiteError, isSiteError } from '../sites/site-error.js';
import {
  documentDigest,
  existingObjectTargets,
  foreignRules,
  groupRulesOnly,
  mergeWithGroupRules,
  parseCurrent,
  sameDocument,
  targetsToResync,
  unusedTargets,
} from './_brep-document.js';
import { type Connected, type SourceSite, connectSite, resolveSource } from './_brep-source.js';
import {
  configOf,
  conflictOf,
  formatIssue,
  parseSpec,
  type SpecIssue,
  validateForSource,
} from './_brep-spec.js';
import {
  type BrepOutcome,
  type BucketCounters,
  type RuleStatus,
  type TargetCounters,
  type Why,
  deriveStatus,
  invalidSpecStatus,
  RTC_THRESHOLD_MS,
  ruleProgress,
  singleTargetCounters,
} from './_brep-status.js';
import {
  type DestinationKey,
  destinationId,
  ensureDestinationBucket,
  ensureRemoteTarget,
  findTarget,
  removeTargets,
} from './_brep-targets.js';
import { SITE_REASONS } from './_srg-observe.js';
import { FINALIZER, RESYNC_ANNOTATION, sitesyncResource } from './_resources.js';
import { parseDuration } from './site-replication-group.js';

export const BREP_RESOURCE = sitesyncResource('bucketreplications');

/**
 * The remote targets this resource created on its source bucket (a JSON list of ARNs). Kept in
 * an annotation, not in status: status must be reconstructable, and this is what the finalizer
 * may delete. Targets that already existed are used and never listed here.
 */
export const OWNED_TARGETS_ANNOTATION = 'sitesync.io/remote-targets';

const DEFAULT_SYNC_MS = 30_000;

export interface BrepDeps {
  client: KubeClient;
  informer: Informer<BucketReplication>;
  newSite: (conn: SiteConnection) => SiteClient;
  recorder: EventRecorder;
  now?: () => Date;
  /** Per-call timeout for site calls (default 15 s). */
  siteTimeoutMs?: number;
  /** Resync period of an inline source; with groupRef, the group's syncInterval (default 30 s). */
  syncIntervalMs?: number;
}

interface Pass {
  obj: BucketReplication;
  ref: ObjectRef;
  ctx: ReconcileContext;
  spec: BucketReplicationSpec;
  config: ReplicationConfig;
  source: SourceSite;
  src: Connected;
  intervalMs: number;
  changes: string[];
  problems: Why[];
  owned: string[];
}

type Prepared =
  | { ok: true; pass: Pass }
  | { ok: false; why: Why; terminal: boolean; sourceSite?: string | undefined };

/** `site/bucket`, how messages name the source bucket. */
const whereOf = (p: Pass) => `${p.src.site.name}/${p.spec.source.bucket}`;

function siteProblem(e: unknown, context: string): Why {
  const reason = e instanceof SiteError ? SITE_REASONS[e.kind] : 'SiteError';
  return { reason, message: `${context}: ${errorMessage(e)}` };
}

export function ownedTargets(obj: BucketReplication): string[] {
  const raw = obj.metadata.annotations?.[OWNED_TARGETS_ANNOTATION];
  if (raw === undefined) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** A driver that reports counters per remote target (MinIO's replication metrics v2). */
interface PerTargetMetrics {
  admin: {
    bucketReplicationMetrics(bucket: string): Promise<{
      queuedCount: number;
      targets: Readonly<Record<string, TargetCounters>>;
    }>;
  };
}

function hasPerTargetMetrics(c: SiteClient): c is SiteClient & PerTargetMetrics {
  const admin = (c as Partial<PerTargetMetrics>).admin;
  return typeof admin?.bucketReplicationMetrics === 'function';
}

async function bucketCounters(
  client: SiteClient,
  bucket: string,
  config: ReplicationConfig,
  atMs: number,
): Promise<BucketCounters | undefined> {
  if (hasPerTargetMetrics(client)) {
    const m = await client.admin.bucketReplicationMetrics(bucket);
    const counters: BucketCounters = { queuedCount: m.queuedCount, targets: m.targets };
    // Something queued or once failed: list what still waits, for the lag.
    if (m.queuedCount === 0 && Object.values(m.targets).every((t) => t.failedCount === 0)) {
      return counters;
    }
    let by: Record<string, TargetBacklog>;
    try {
      by = await client.replicationBacklog(bucket, atMs - RTC_THRESHOLD_MS);
    } catch {
      return counters; // the counters stand; the lag is then unknown while something is queued
    }
    return { ...counters, waiting: { atMs, by } };
  }
  return singleTargetCounters(config, await client.replicationProgress(bucket));
}

/**
 * The keys of the BucketReplications whose source names `group`: what to requeue when a
 * SiteReplicationGroup changes (`controller.watches(groupInformer, ...)`).
 */
export function bucketReplicationsOfGroup(
  informer: Informer<BucketReplication>,
  group: { metadata: { name: string; namespace?: string | undefined } },
): string[] {
  return informer
    .list()
    .filter(
      (b) =>
        b.metadata.namespace === group.metadata.namespace &&
        (b.spec as { source?: { groupRef?: { name?: unknown } } } | undefined)?.source?.groupRef
          ?.name === group.metadata.name,
    )
    .map((b) => `${b.metadata.namespace ?? ''}/${b.metadata.name}`);
}

/**
 * One message per rule whose RTC breaches grew since the last status: the analogue of S3's
 * `s3:Replication:OperationMissedThreshold` event, as a Kubernetes event.
 */
function newlyMissed(
  before: readonly RuleStatus[] | undefined,
  after: readonly RuleStatus[] | undefined,
): string[] {
  return (after ?? []).flatMap((r) => {
    const now = r.rtcThresholdBreaches ?? 0;
    const was = before?.find((b) => b.id === r.id)?.rtcThresholdBreaches ?? 0;
    if (now <= was) return [];
    const to = r.destination === undefined ? '' : ` for ${r.destination}`;
    return [
      `rule ${r.id}: ${now} object(s) have waited longer than the ${RTC_MINUTES}-minute replication time${to}`,
    ];
  });
}

export class BucketReplicationController {
  private readonly now: () => Date;

  constructor(private readonly deps: BrepDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  reconcile: Reconcile = async (ref, ctx) => {
    const obj = this.deps.informer.get(`${ref.namespace}/${ref.name}`);
    if (!obj) return undefined;
    if (obj.metadata.deletionTimestamp) {
      await this.finalize(obj, ref, ctx);
      return undefined;
    }
    const prepared = await this.prepare(obj, ref, ctx);
    if (!prepared.ok) return this.blocked(obj, ref, prepared);
    const { pass } = prepared;
    try {
      if (!hasFinalizer(obj, FINALIZER))
        await addFinalizer(this.deps.client, BREP_RESOURCE, obj, FINALIZER);
      return await this.sync(pass);
    } finally {
      pass.src.client.close();
    }
  };

  // -------------------------------------------------------------------------------------------
  // Load and validate

  /** Everything that must hold before any site is written to. */
  private async prepare(
    obj: BucketReplication,
    ref: ObjectRef,
    ctx: ReconcileContext,
  ): Promise<Prepared> {
    const invalid = (issues: SpecIssue[]): Extract<Prepared, { ok: false }> => ({
      ok: false,
      terminal: true,
      why: { reason: 'InvalidSpec', message: issues.map(formatIssue).join('; ') },
    });
    const spec = parseSpec(obj.spec);
    if (!spec.ok) return invalid(spec.issues);
    const config = configOf(spec.value);
    if (!config.ok) return invalid(config.issues);
    const rival = conflictOf(obj, this.deps.informer.list());
    if (rival !== undefined) {
      return {
        ok: false,
        terminal: false,
        why: {
          reason: 'BucketConflict',
          message: `spec.source: BucketReplication ${rival} already manages the replication configuration of bucket ${spec.value.source.bucket} on this site`,
        },
      };
    }
    const source = await resolveSource(this.deps.client, ref.namespace, spec.value);
    if (!source.ok) return { ok: false, terminal: false, why: source.why };
    const { site, group } = source.value;
    const issues = validateForSource(spec.value, config.value, {
      flavor: site.flavor,
      siteName: site.name,
      groupSites: group?.spec.sites.map((s) => s.name),
    });
    // Issues about managed sites depend on the group too: look again when it may have changed.
    if (issues.length > 0) {
      return { ...invalid(issues), terminal: group === undefined, sourceSite: site.name };
    }
    const src = await this.connect(ref, source.value, site);
    if (!src.ok) return { ok: false, terminal: false, why: src.why, sourceSite: site.name };
    return {
      ok: true,
      pass: {
        obj,
        ref,
        ctx,
        spec: spec.value,
        config: config.value,
        source: source.value,
        src: src.value,
        intervalMs:
          group === undefined
            ? (this.deps.syncIntervalMs ?? DEFAULT_SYNC_MS)
            : parseDuration(group.spec.syncInterval),
        changes: [],
        problems: [],
        owned: ownedTargets(obj),
      },
    };
  }

  private connect(ref: ObjectRef, source: SourceSite, site: Site) {
    return connectSite(
      { client: this.deps.client, newSite: this.deps.newSite, timeoutMs: this.deps.siteTimeoutMs },
      ref.namespace,
      source,
      site,
    );
  }

  private async blocked(
    obj: BucketReplication,
    ref: ObjectRef,
    b: Extract<Prepared, { ok: false }>,
  ): Promise<{ requeueAfterMs: number } | undefined> {
    const generation = obj.metadata.generation ?? 0;
    const status =
      b.why.reason === 'InvalidSpec'
        ? invalidSpecStatus(obj.status, generation, b.why.message, this.now())
        : deriveStatus(
            obj.status,
            { generation, sourceSite: b.sourceSite, blocker: b.why, problems: [], changes: [] },
            this.now(),
          );
    await this.writeStatus(obj, ref, status);
    await this.deps.recorder.record(obj, 'Warning', b.why.reason, b.why.message);
    // An invalid spec waits for a new generation; anything else may heal from outside.
    return b.terminal ? undefined : { requeueAfterMs: DEFAULT_SYNC_MS };
  }

  // -------------------------------------------------------------------------------------------
  // Act

  private async sync(pass: Pass): Promise<{ requeueAfterMs: number }> {
    const versioning = await this.ensureSourceVersioning(pass);
    if (typeof versioning === 'object') {
      await this.report(pass, { blocker: versioning });
      return { requeueAfterMs: pass.intervalMs };
    }
    const arns = await this.prepareDestinations(pass);
    const bucket = pass.spec.source.bucket;
    const own = resolveSiteDestinations(pass.config, (site) =>
      arns.get(destinationId({ site: site.name, bucket: site.bucket ?? bucket })),
    );
    // MinIO refuses a replication configuration on a bucket without versioning.
    const applied = versioning ? await this.apply(pass, own) : undefined;
    const resynced = applied ? await this.resyncOnRequest(pass, own) : undefined;
    const rules = applied ? await this.progress(pass, own) : undefined;
    await this.report(pass, { applied, rules, resynced });
    if (pass.changes.length > 0) return { requeueAfterMs: 2000 };
    if (pass.problems.length > 0) return { requeueAfterMs: Math.min(pass.intervalMs, 15_000) };
    const busy = rules?.some((r) => r.pending > 0) ?? false;
    return { requeueAfterMs: busy ? Math.min(pass.intervalMs, 10_000) : pass.intervalMs };
  }

  /**
   * Replication needs versioning on the source: enable it, or say why it cannot be. Returns
   * whether it is on, or a blocker when the bucket does not exist.
   */
  private async ensureSourceVersioning(pass: Pass): Promise<Why | boolean> {
    const { client } = pass.src;
    const bucket = pass.spec.source.bucket;
    try {
      if ((await client.getVersioning(bucket)) === 'Enabled') return true;
    } catch (e: unknown) {
      if (!isSiteError(e, 'NotFound')) {
        pass.problems.push(siteProblem(e, `source ${whereOf(pass)}`));
        return false;
      }
      return {
        reason: 'BucketNotFound',
        message: `spec.source.bucket: bucket ${bucket} does not exist on site ${pass.src.site.name}; the operator never creates a source bucket`,
      };
    }
    try {
      await client.enableVersioning(bucket);
      pass.changes.push(`enabled versioning on ${whereOf(pass)}`);
      return true;
    } catch (e: unknown) {
      pass.problems.push({
        reason: 'VersioningUnavailable',
        message: `versioning cannot be enabled on ${whereOf(pass)}, and replication requires it: ${errorMessage(e)}`,
      });
      return false;
    }
  }

  /** The managed destinations every rule names, each bucket on each site once. */
  private destinations(pass: Pass): Map<string, DestinationKey[]> {
    const bySite = new Map<string, DestinationKey[]>();
    for (const r of pass.config.rules) {
      const site = r.destination.site;
      if (site === undefined) continue;
      const key = { site: site.name, bucket: site.bucket ?? pass.spec.source.bucket };
      const list = bySite.get(site.name) ?? [];
      if (!list.some((k) => k.bucket === key.bucket)) list.push(key);
      bySite.set(site.name, list);
    }
    return bySite;
  }

  /** Destination buckets and remote targets; returns the ARN of each destination it could make. */
  private async prepareDestinations(pass: Pass): Promise<Map<string, string>> {
    const arns = new Map<string, string>();
    const bySite = this.destinations(pass);
    if (bySite.size === 0) return arns;
    const bucket = pass.spec.source.bucket;
    let targets;
    try {
      targets = await pass.src.client.listRemoteTargets(bucket);
    } catch (e: unknown) {
      pass.problems.push(siteProblem(e, `remote targets of ${whereOf(pass)}`));
      return arns;
    }
    const created: string[] = [];
    for (const [name, keys] of bySite) {
      const site = pass.source.group?.spec.sites.find((s) => s.name === name);
      if (site === undefined) continue; // validateForSource made sure it is in the group
      const dest = await this.connect(pass.ref, pass.source, site);
      if (!dest.ok) {
        pass.problems.push(dest.why);
        continue;
      }
      try {
        for (const key of keys) {
          const arn = await this.prepareDestination(pass, dest.value, key, targets);
          if (arn === undefined) continue;
          arns.set(destinationId(key), arn.arn);
          if (arn.created) created.push(arn.arn);
        }
      } finally {
        dest.value.client.close();
      }
    }
    if (created.length > 0) await this.recordOwned(pass, [...pass.owned, ...created]);
    return arns;
  }

  private async prepareDestination(
    pass: Pass,
    dest: Connected,
    key: DestinationKey,
    targets: Awaited<ReturnType<SiteClient['listRemoteTargets']>>,
  ): Promise<{ arn: string; created: boolean } | undefined> {
    const id = destinationId(key);
    try {
      pass.changes.push(...(await ensureDestinationBucket(dest, key.bucket)));
      const t = await ensureRemoteTarget(pass.src.client, pass.spec.source.bucket, targets, {
        connected: dest,
        bucket: key.bucket,
      });
      if (t.created) pass.changes.push(`created remote target on ${whereOf(pass)} for ${id}`);
      return t;
    } catch (e: unknown) {
      pass.problems.push(siteProblem(e, `destination ${id}`));
      // The link exists and the destination is down: keep the rule (the source queues and
      // retries), and keep reporting what waits.
      const existing = findTarget(targets, dest, key.bucket);
      return existing === undefined ? undefined : { arn: existing.arn, created: false };
    }
  }

  /**
   * Puts the merged document when the bucket holds anything else, then resyncs and drops
   * unused targets. Returns what is applied, or undefined when it could not be.
   */
  private async apply(pass: Pass, own: ReplicationConfig): Promise<BrepOutcome['applied']> {
    const missing = own.rules.filter((r) => r.destination.bucket === undefined).length;
    if (missing > 0) return undefined; // the problems say which destination failed
    const { client, site } = pass.src;
    const bucket = pass.spec.source.bucket;
    let current: ReplicationConfig;
    try {
      current = parseCurrent(await client.getReplicationConfigXML(bucket));
    } catch (e: unknown) {
      pass.problems.push(siteProblem(e, `replication configuration of ${whereOf(pass)}`));
      return undefined;
    }
    const desired = mergeWithGroupRules(own, current);
    if (!sameDocument(current, desired, site.flavor)) {
      try {
        await this.put(pass, current, own, desired);
      } catch (e: unknown) {
        pass.problems.push(siteProblem(e, `PutBucketReplication on ${whereOf(pass)}`));
        return undefined;
      }
    }
    await this.dropUnusedTargets(pass, desired);
    return {
      digest: documentDigest(desired, site.flavor),
      rules: own.rules.length,
      where: whereOf(pass),
    };
  }

  private async put(
    pass: Pass,
    current: ReplicationConfig,
    own: ReplicationConfig,
    desired: ReplicationConfig,
  ): Promise<void> {
    const bucket = pass.spec.source.bucket;
    await pass.src.client.putReplicationConfigXML(bucket, buildReplicationXML(desired));
    const replaced = foreignRules(current, own);
    pass.changes.push(
      `put replication configuration (${own.rules.length} rule(s)) on ${whereOf(pass)}` +
        (replaced.length > 0
          ? `, replacing rule(s) not declared here: ${replaced.join(', ')}`
          : ''),
    );
    pass.ctx.log.info(
      { site: pass.src.site.name, bucket, rules: own.rules.length },
      'Applied replication configuration of BucketReplication',
    );
    for (const arn of targetsToResync(current, own)) {
      try {
        await pass.src.client.resyncTarget(bucket, arn);
        pass.changes.push(`started replication of existing objects to ${arn}`);
      } catch (e: unknown) {
        pass.problems.push({
          reason: 'ResyncFailed',
          message: `existing objects of ${whereOf(pass)} were not queued for ${arn} (MinIO's scanner will still replicate them, later): ${errorMessage(e)}`,
        });
      }
    }
  }

  /**
   * The `sitesync.io/resync` annotation with a value not acted on yet: a replication reset of
   * every target an Enabled rule with ExistingObjectReplication reaches, so MinIO replicates
   * again every object version the destinations lack. Returns the value once all started.
   */
  private async resyncOnRequest(pass: Pass, own: ReplicationConfig): Promise<string | undefined> {
    const value = pass.obj.metadata.annotations?.[RESYNC_ANNOTATION];
    if (value === undefined || value === pass.obj.status?.lastResync) return undefined;
    const targets = [...existingObjectTargets(own)].sort();
    if (targets.length === 0) {
      pass.problems.push({
        reason: 'ResyncNotPossible',
        message: `${RESYNC_ANNOTATION}: no Enabled rule has existingObjectReplication Enabled, which MinIO requires to replicate existing objects again`,
      });
      return undefined;
    }
    const bucket = pass.spec.source.bucket;
    for (const arn of targets) {
      try {
        await pass.src.client.resyncTarget(bucket, arn);
      } catch (e: unknown) {
        pass.problems.push({
          reason: 'ResyncFailed',
          message: `${RESYNC_ANNOTATION}: replication of the existing objects of ${whereOf(pass)} to ${arn} did not start: ${errorMessage(e)}`,
        });
        return undefined;
      }
    }
    pass.changes.push(
      `resync ${JSON.stringify(value)}: replicating the existing objects of ${whereOf(pass)} again to ${targets.length} target(s)`,
    );
    return value;
  }

  private async dropUnusedTargets(pass: Pass, desired: ReplicationConfig): Promise<void> {
    const unused = unusedTargets(pass.owned, desired);
    if (unused.length === 0) return;
    try {
      const removed = await removeTargets(pass.src.client, pass.spec.source.bucket, unused);
      await this.recordOwned(
        pass,
        pass.owned.filter((a) => !removed.includes(a)),
      );
      pass.changes.push(`removed ${removed.length} remote target(s) no rule uses`);
    } catch (e: unknown) {
      pass.problems.push(siteProblem(e, `remote targets of ${whereOf(pass)}`));
    }
  }

  private async recordOwned(pass: Pass, arns: string[]): Promise<void> {
    const next = [...new Set(arns)].sort();
    if (sameJSON(next, [...pass.owned].sort())) return;
    await this.deps.client.patch(
      BREP_RESOURCE,
      pass.ref,
      {
        metadata: {
          annotations: {
            [OWNED_TARGETS_ANNOTATION]: next.length > 0 ? JSON.stringify(next) : null,
          },
        },
      },
      { patchType: 'merge', fieldManager: FIELD_MANAGER },
    );
    pass.owned = next;
  }

  // -------------------------------------------------------------------------------------------
  // Observe and report

  private async progress(pass: Pass, own: ReplicationConfig): Promise<RuleStatus[] | undefined> {
    const bucket = pass.spec.source.bucket;
    try {
      const counters = await bucketCounters(pass.src.client, bucket, own, this.now().getTime());
      return counters === undefined ? undefined : ruleProgress(own, counters, bucket);
    } catch (e: unknown) {
      pass.ctx.log.warn(
        { err: errorMessage(e) },
        'Failed to read replication metrics of BucketReplication',
      );
      return undefined;
    }
  }

  private async report(
    pass: Pass,
    r: {
      blocker?: Why;
      applied?: BrepOutcome['applied'];
      rules?: RuleStatus[] | undefined;
      resynced?: string | undefined;
    },
  ): Promise<void> {
    const status = deriveStatus(
      pass.obj.status,
      {
        generation: pass.obj.metadata.generation ?? 0,
        sourceSite: pass.src.site.name,
        blocker: r.blocker,
        problems: pass.problems,
        changes: pass.changes,
        applied: r.applied,
        rules: r.rules,
        resynced: r.resynced,
      },
      this.now(),
    );
    await this.writeStatus(pass.obj, pass.ref, status);
    const { obj } = pass;
    if (r.blocker)
      await this.deps.recorder.record(obj, 'Warning', r.blocker.reason, r.blocker.message);
    if (pass.changes.length > 0) {
      await this.deps.recorder.record(obj, 'Normal', 'Applied', pass.changes.join('; '));
    }
    for (const missed of newlyMissed(obj.status?.rules, r.rules)) {
      await this.deps.recorder.record(obj, 'Warning', 'ReplicationThresholdMissed', missed);
    }
    const [first] = pass.problems;
    if (first) {
      await this.deps.recorder.record(
        obj,
        'Warning',
        first.reason,
        pass.problems.map((p) => p.message).join('; '),
      );
    }
  }

  private async writeStatus(
    obj: BucketReplication,
    ref: ObjectRef,
    status: BucketReplicationStatus,
  ) {
    if (sameJSON(obj.status, status)) return;
    await patchStatus(this.deps.client, BREP_RESOURCE, ref, status);
  }

  // -------------------------------------------------------------------------------------------
  // Delete

  /**
   * Removes what this resource applied: its rules (never the group's `sitesync-` rules) and the
   * remote targets it created and no remaining rule uses. Never buckets or objects. A source
   * that can no longer be found (group or Secret deleted) is reported and let go; a site that
   * does not answer is retried with backoff (remove the finalizer by hand to give up).
   */
  private async finalize(obj: BucketReplication, ref: ObjectRef, ctx: ReconcileContext) {
    if (!hasFinalizer(obj, FINALIZER)) return;
    const skipped = await this.cleanUp(obj, ref, ctx);
    if (skipped !== undefined) {
      ctx.log.warn({ reason: skipped }, 'Skipped clean-up of BucketReplication');
      await this.deps.recorder.record(obj, 'Warning', 'CleanupSkipped', skipped);
    }
    await removeFinalizer(this.deps.client, BREP_RESOURCE, obj, FINALIZER);
  }

  /** Returns why nothing was cleaned up, or undefined when it was. */
  private async cleanUp(
    obj: BucketReplication,
    ref: ObjectRef,
    ctx: ReconcileContext,
  ): Promise<string | undefined> {
    const owned = ownedTargets(obj);
    const applied = obj.status?.appliedDigest !== undefined;
    if (!applied && owned.length === 0) return undefined;
    const spec = parseSpec(obj.spec);
    if (!spec.ok)
      return `the spec is invalid (${formatIssue(spec.issues[0] ?? { path: 'spec', message: '' })}); the replication configuration was left on the bucket`;
    const rival = conflictOf(obj, this.deps.informer.list());
    if (rival !== undefined)
      return `BucketReplication ${rival} manages the bucket now; left it as it is`;
    const source = await resolveSource(this.deps.client, ref.namespace, spec.value);
    if (!source.ok)
      return `${source.why.message}; the replication configuration was left on the bucket`;
    const src = await this.connect(ref, source.value, source.value.site);
    if (!src.ok) return `${src.why.message}; the replication configuration was left on the bucket`;
    try {
      await this.removeApplied(src.value, spec.value.source.bucket, { applied, owned });
    } catch (e: unknown) {
      // The bucket is gone, and its replication configuration and targets with it.
      if (!isSiteError(e, 'NotFound')) throw e;
    } finally {
      src.value.client.close();
    }
    ctx.log.info(
      { bucket: spec.value.source.bucket },
      'Removed replication configuration of BucketReplication',
    );
    return undefined;
  }

  private async removeApplied(
    src: Connected,
    bucket: string,
    what: { applied: boolean; owned: readonly string[] },
  ): Promise<void> {
    const current = parseCurrent(await src.client.getReplicationConfigXML(bucket));
    const remaining = what.applied ? groupRulesOnly(current) : current;
    if (remaining.rules.length !== current.rules.length) {
      // MinIO deletes every remote target of the bucket with its replication configuration.
      if (remaining.rules.length === 0) await src.client.deleteReplicationConfig(bucket);
      else await src.client.putReplicationConfigXML(bucket, buildReplicationXML(remaining));
    }
    await removeTargets(src.client, bucket, unusedTargets(what.owned, remaining));
  }
}

export { BREP_KIND };
