/**
 * The BucketReplication reconciler: one bucket's S3 replication configuration, declaratively.
 * load -> validate (zod, cross-field rules, the source flavor's rules) -> resolve the source site
 * and its credentials -> versioning on the source -> managed destinations (bucket, versioning,
 * remote target) -> merge beside the group's `sitesync-` rules -> PUT when the document differs
 * -> resync existing objects -> drop unused targets it created -> per-rule progress -> status.
 * Every call outside runs under the reconcile's signal: once it aborts the pass writes nothing.
 */
import type { BucketReplication } from '../../api/bucket-replication.js';
import { parseDuration } from '../../api/common.js';
import { BREP_RESOURCE, FINALIZER } from '../../api/names.js';
import {
  type SpecIssue,
  configOf,
  conflictOf,
  formatIssue,
  parseSpec,
  validateForSource,
} from '../../replication/bucket-replication-spec.js';
import {
  type ReplicationConfig,
  resolveSiteDestinations,
} from '../../replication/replication-config.js';
import type {
  ObjectRef,
  Reconcile,
  ReconcileContext,
  ReconcileResult,
} from '../../runtime/controller.js';
import { TerminalError } from '../../runtime/errors.js';
import type { EventRecorder } from '../../runtime/events.js';
import { addFinalizer, hasFinalizer } from '../../runtime/finalizers.js';
import type { Informer } from '../../runtime/informer.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import type { Why } from '../../runtime/kstatus.js';
import { INSECURE_ENDPOINT, insecureRefusal, insecureTransport } from '../../sites/connect.js';
import type { SiteClient, SiteConnection } from '../../sites/site-client.js';
import {
  applyDocument,
  ensureSourceVersioning,
  ownedTargets,
  prepareDestinations,
  resyncOnRequest,
} from './apply.js';
import { targetCredentials } from './account.js';
import { finalize } from './finalize.js';
import type { Pass } from './pass.js';
import { ruleStatuses } from './progress.js';
import { type SourceSite, connect, resolveSource } from './source.js';
import { deriveStatus, report, writeStatus } from './status.js';
import { destinationId } from './targets.js';

export interface BrepReconcilerDeps {
  client: KubeClient;
  informer: Informer<BucketReplication>;
  newSite: (conn: SiteConnection) => SiteClient;
  recorder: EventRecorder;
  now?: (() => Date) | undefined;
  /** Per-call timeout for site calls (driver default 15 s). */
  siteTimeoutMs?: number | undefined;
  /** Resync period of an inline source (default 30 s); with groupRef, the group's syncInterval. */
  syncIntervalMs?: number | undefined;
  /** Accept http endpoints and unverified certificates (ALLOW_INSECURE_SITES). */
  allowInsecureSites?: boolean | undefined;
}

/** Resync period of an inline source; with groupRef, the group's syncInterval. */
const DEFAULT_SYNC_MS = 30_000;
/** After a pass that changed something: look again soon, to verify and continue. */
const VERIFY_AFTER_MS = 2000;
/** While objects wait for replication: report their progress at least this often. */
const BUSY_MS = 10_000;

/** Why a pass cannot start; it may heal from outside (the group, a Secret), so it is retried. */
interface Blocked {
  why: Why;
  sourceSite?: string | undefined;
}

/**
 * A managed destination (`destination.site`) is a remote target the source site itself
 * replicates to: a source without native replication to other sites (an s3 site) cannot have one.
 */
function managedDestinationIssues(config: ReplicationConfig, source: SiteClient): SpecIssue[] {
  if (source.capabilities.nativeReplication) return [];
  return config.rules.flatMap((r, i) =>
    r.destination.site === undefined
      ? []
      : [
          {
            path: `spec.rules[${i}].destination.site`,
            rule: r.id !== undefined && r.id !== '' ? r.id : `#${i}`,
            message: `the source site (flavor ${source.flavor}) cannot replicate to another site by itself; name the destination bucket ARN (arn:aws:s3:::<bucket>)`,
          },
        ],
  );
}

/**
 * What is insecure about the source site or a managed destination site, naming the fields;
 * terminal unless the operator allows it (ALLOW_INSECURE_SITES).
 */
function insecureSitesOf(
  source: SourceSite,
  config: ReplicationConfig,
  allowed: boolean | undefined,
): string | undefined {
  const insecure = insecureTransportOf(source, config);
  if (insecure !== undefined && allowed !== true) {
    throw new TerminalError(INSECURE_ENDPOINT, insecureRefusal(insecure));
  }
  return insecure;
}

function insecureTransportOf(source: SourceSite, config: ReplicationConfig): string | undefined {
  const used = new Set([
    source.site.name,
    ...config.rules.flatMap((r) => r.destination.site?.name ?? []),
  ]);
  if (source.group === undefined) return insecureTransport(source.site, 'spec.source.siteSpec');
  const field = `SiteReplicationGroup ${source.group.name} spec.sites`;
  const issues = source.group.spec.sites.flatMap((s, i) =>
    used.has(s.name) ? (insecureTransport(s, `${field}[${i}]`) ?? []) : [],
  );
  return issues.length === 0 ? undefined : issues.join('; ');
}

const invalid = (issues: readonly SpecIssue[]) =>
  new TerminalError('InvalidSpec', issues.map(formatIssue).join('; '));

export class BucketReplicationReconciler {
  private readonly now: () => Date;

  constructor(private readonly deps: BrepReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  reconcile: Reconcile = async (ref, ctx) => {
    const obj = this.deps.informer.get(`${ref.namespace}/${ref.name}`);
    if (!obj) return undefined;
    const kube = this.deps.client.withSignal(ctx.signal);
    const events = this.deps.recorder.withSignal(ctx.signal);
    if (obj.metadata.deletionTimestamp) {
      const all = () => this.deps.informer.list();
      await finalize(obj, ref, ctx, { ...this.connectDeps(kube), events, all });
      return undefined;
    }
    const prepared = await this.prepare(obj, { ref, ctx, kube, events });
    if ('why' in prepared) return this.blocked(obj, kube, events, prepared);
    try {
      if (!hasFinalizer(obj, FINALIZER)) await addFinalizer(kube, BREP_RESOURCE, obj, FINALIZER);
      return await this.sync(prepared);
    } finally {
      prepared.src.client.close();
    }
  };

  private connectDeps(kube: KubeClient) {
    return {
      kube,
      newSite: this.deps.newSite,
      timeoutMs: this.deps.siteTimeoutMs,
      allowInsecure: this.deps.allowInsecureSites,
    };
  }

  /** Everything that must hold before any site is written to. */
  private async prepare(
    obj: BucketReplication,
    p: { ref: ObjectRef; ctx: ReconcileContext; kube: KubeClient; events: EventRecorder },
  ): Promise<Pass | Blocked> {
    const spec = parseSpec(obj.spec);
    if (!spec.ok) throw invalid(spec.issues);
    const config = configOf(spec.value);
    if (!config.ok) throw invalid(config.issues);
    const rival = conflictOf(obj, this.deps.informer.list());
    if (rival !== undefined) {
      const message = `spec.source: BucketReplication ${rival} already manages the replication configuration of bucket ${spec.value.source.bucket} on this site`;
      return { why: { reason: 'BucketConflict', message } };
    }
    const source = await resolveSource(p.kube, p.ref.namespace, spec.value);
    if (!source.ok) return { why: source.why };
    const { site, group } = source.value;
    // Issues about managed sites depend on the group too: its changes queue this resource.
    const issues = validateForSource(spec.value, config.value, {
      flavor: site.flavor,
      siteName: site.name,
      groupSites: group?.spec.sites.map((s) => s.name),
    });
    if (issues.length > 0) throw invalid(issues);
    const insecure = insecureSitesOf(source.value, config.value, this.deps.allowInsecureSites);
    const src = await connect(this.connectDeps(p.kube), p.ref.namespace, source.value, site);
    if (!src.ok) return { why: src.why, sourceSite: site.name };
    const unreachable = managedDestinationIssues(config.value, src.value.client);
    if (unreachable.length > 0) {
      src.value.client.close();
      throw invalid(unreachable);
    }
    return {
      ...p,
      obj,
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
      credentials: targetCredentials(obj),
      insecure,
    };
  }

  private async blocked(
    obj: BucketReplication,
    kube: KubeClient,
    events: EventRecorder,
    b: Blocked,
  ): Promise<ReconcileResult> {
    const generation = obj.metadata.generation ?? 0;
    const outcome = {
      generation,
      sourceSite: b.sourceSite,
      blocker: b.why,
      problems: [],
      changes: [],
    };
    await writeStatus(kube, obj, deriveStatus(obj.status, outcome, this.now()));
    await events.record(obj, 'Warning', b.why.reason, b.why.message);
    return { requeueAfterMs: DEFAULT_SYNC_MS, backoff: true };
  }

  private async sync(pass: Pass): Promise<ReconcileResult> {
    const versioning = await ensureSourceVersioning(pass);
    if (typeof versioning === 'object') {
      await report(pass, { blocker: versioning }, this.now());
      return { requeueAfterMs: pass.intervalMs };
    }
    const arns = await prepareDestinations(pass, this.connectDeps(pass.kube));
    const bucket = pass.spec.source.bucket;
    const own = resolveSiteDestinations(pass.config, (site) =>
      arns.get(destinationId({ site: site.name, bucket: site.bucket ?? bucket })),
    );
    // MinIO refuses a replication configuration on a bucket without versioning.
    const applied = versioning ? await applyDocument(pass, own) : undefined;
    const resynced = applied ? await resyncOnRequest(pass, own) : undefined;
    const progress = applied ? await ruleStatuses(pass, own, this.now().getTime()) : undefined;
    const rules = progress?.rules;
    await report(
      pass,
      { applied, rules, progressMeasured: progress?.measured, resynced },
      this.now(),
    );
    if (pass.changes.length > 0) return { requeueAfterMs: VERIFY_AFTER_MS };
    // A site that keeps failing is retried with this resource's exponential backoff.
    if (pass.problems.length > 0) return { requeueAfterMs: pass.intervalMs, backoff: true };
    const busy = rules?.some((r) => r.pending > 0) ?? false;
    return { requeueAfterMs: busy ? Math.min(pass.intervalMs, BUSY_MS) : pass.intervalMs };
  }
}
