/**
 * The SiteReplicationGroup controller: the MinIO site-replication model, declaratively.
 * load -> validate -> observe every site -> check prerequisites -> plan (three-way merge)
 * -> apply entity changes -> ensure peer links -> save the agreed state -> write status.
 */
import { checkCrossFieldRules, type KubeObject } from '../api/common.js';
import type { IdentityProvider } from '../api/identity-provider.js';
import {
  SRG_KIND,
  SRG_SPEC_RULES,
  type SiteReplicationGroup,
  type SiteReplicationGroupSpec,
  SiteReplicationGroupSpecSchema,
  type SiteReplicationGroupStatus,
} from '../api/site-replication-group.js';
import {
  type AgreedState,
  decodeAgreedState,
  emptyAgreedState,
  encodeAgreedState,
} from '../replication/agreed-state.js';
import { type MergeAction, type MergePlan, nextAgreed, planMerge } from '../replication/merge.js';
import { merkleRoot } from '../replication/merkle.js';
import { settleLimit } from '../runtime/concurrency.js';
import type { ObjectRef, Reconcile, ReconcileContext } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../runtime/finalizers.js';
import type { Informer } from '../runtime/informer.js';
import { CONFIGMAPS, type KubeClient, SECRETS, isNotFound } from '../runtime/kube-client.js';
import { errorMessage } from '../runtime/logger.js';
import { FIELD_MANAGER, patchStatus, sameJSON } from '../runtime/status.js';
import type { ReplicationProgress, SiteClient, SiteConnection } from '../sites/site-client.js';
import type { SiteSnapshot } from '../sites/snapshot.js';
import { type IdentityMismatch, identityMismatch } from './_idp-check.js';
import { type Entity, bucketKey, entitiesOf, keyPhase } from './_srg-entities.js';
import { actionLane, applyEntityAction, notHeld } from './_srg-executor.js';
import { type Observed, loadReplicatorSecrets, observeSites } from './_srg-observe.js';
import {
  type PeerSite,
  REPLICATOR_USER,
  ensurePeerLinks,
  ensureReplicator,
  removePeerLinks,
} from './_srg-peer-links.js';
import {
  FINALIZER,
  RECOVER_ANNOTATION,
  RESYNC_ANNOTATION,
  sitesyncResource,
} from './_resources.js';
import { ObjectProgressCache } from './_srg-progress.js';
import { type SiteOutcome, deriveStatus, invalidSpecStatus } from './_srg-status.js';

export const SRG_RESOURCE = sitesyncResource('sitereplicationgroups');
export { FINALIZER };

/** What the controller reports besides status; main wires it to Prometheus. */
export interface SrgObserver {
  siteObserved(group: ObjectRef, site: string, up: boolean): void;
  siteSynced(group: ObjectRef, site: string, outOfSync: { buckets: number; iam: number }): void;
  changesApplied(group: ObjectRef, action: string, count: number): void;
  siteCall(site: string, op: string): void;
  siteObjects(group: ObjectRef, site: string, progress: ReplicationProgress): void;
}

export interface SrgDeps {
  client: KubeClient;
  informer: Informer<SiteReplicationGroup>;
  newSite: (conn: SiteConnection) => SiteClient;
  recorder: EventRecorder;
  /**
   * The IdentityProvider cache. Its status holds the live identity digest of every site (the
   * IdentityProvider controller reads the sites), so checking a group costs no site call.
   */
  identityProviders?: Informer<IdentityProvider & { metadata: { name: string } }> | undefined;
  observer?: SrgObserver | undefined;
  now?: () => Date;
  /** Actions in flight per site (default 8). */
  concurrency?: number;
  /** Per-call timeout for site calls (default 15 s). */
  siteTimeoutMs?: number | undefined;
  /** How often object replication counts are collected (default 60 s; one call per bucket). */
  progressEveryMs?: number | undefined;
}

interface Pass {
  /** Entity maps by snapshot, computed once per pass. */
  entityCache?: WeakMap<SiteSnapshot, Map<string, Entity>>;
  /** Object replication counts per site, when collected. */
  objects?: Map<string, ReplicationProgress> | undefined;
  obj: SiteReplicationGroup;
  ref: ObjectRef;
  spec: SiteReplicationGroupSpec;
  ctx: ReconcileContext;
  observed: Observed[];
  agreed: AgreedState;
}

/** Go-style duration (e.g. 30s, 1m30s, 500ms) in milliseconds. */
export function parseDuration(d: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of d.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * (units[m[2] ?? 's'] ?? 1000);
  }
  return total;
}

function agreedConfigMapName(group: string): string {
  return `${group}-sitesync-state`;
}

interface ConfigMap {
  metadata: { name: string; resourceVersion?: string };
  binaryData?: Record<string, string>;
}

export class SiteReplicationGroupController {
  private readonly now: () => Date;
  private readonly progress: ObjectProgressCache;

  constructor(private readonly deps: SrgDeps) {
    this.now = deps.now ?? (() => new Date());
    this.progress = new ObjectProgressCache(deps.progressEveryMs ?? 60_000);
  }

  reconcile: Reconcile = async (ref, ctx) => {
    const obj = this.deps.informer.get(`${ref.namespace}/${ref.name}`);
    if (!obj) return undefined;
    if (obj.metadata.deletionTimestamp) {
      await this.finalize(obj, ref, ctx);
      return undefined;
    }
    const spec = this.validate(obj);
    if (typeof spec === 'string') {
      await this.writeStatus(
        obj,
        ref,
        invalidSpecStatus(obj.status, obj.metadata.generation ?? 0, spec, this.now()),
      );
      ctx.log.info(
        { reason: 'InvalidSpec', message: spec },
        'Rejected spec of SiteReplicationGroup',
      );
      return undefined;
    }
    if (!hasFinalizer(obj, FINALIZER))
      await addFinalizer(this.deps.client, SRG_RESOURCE, obj, FINALIZER);
    const pass: Pass = {
      obj,
      ref,
      spec,
      ctx,
      observed: await this.observe(ref, spec),
      agreed: await this.loadAgreed(ref),
    };
    try {
      return await this.sync(pass);
    } finally {
      for (const o of pass.observed) o.client?.close();
    }
  };

  /** zod (defaults, shapes) then the cross-field rules; returns the spec or a message. */
  private validate(obj: SiteReplicationGroup): SiteReplicationGroupSpec | string {
    const parsed = SiteReplicationGroupSpecSchema.safeParse(obj.spec);
    if (!parsed.success) {
      return parsed.error.issues
        .map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`)
        .join('; ');
    }
    const broken = checkCrossFieldRules(parsed.data, SRG_SPEC_RULES);
    return broken.length > 0 ? broken.join('; ') : parsed.data;
  }

  private observe(ref: ObjectRef, spec: SiteReplicationGroupSpec): Promise<Observed[]> {
    const observer = this.deps.observer;
    return observeSites({
      client: this.deps.client,
      namespace: ref.namespace,
      sites: spec.sites,
      newSite: this.deps.newSite,
      timeoutMs: this.deps.siteTimeoutMs,
      onCall: observer
        ? (site, op) => {
            observer.siteCall(site, op);
          }
        : undefined,
    });
  }

  private async loadAgreed(ref: ObjectRef): Promise<AgreedState> {
    try {
      const cm = await this.deps.client.get<ConfigMap>(
        CONFIGMAPS,
        ref.namespace,
        agreedConfigMapName(ref.name),
      );
      return decodeAgreedState(cm.binaryData);
    } catch (e: unknown) {
      if (isNotFound(e)) return emptyAgreedState();
      throw e;
    }
  }

  private async saveAgreed(pass: Pass, state: AgreedState): Promise<void> {
    const { obj, ref } = pass;
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: agreedConfigMapName(ref.name),
        namespace: ref.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'sitesync', 'sitesync.io/group': ref.name },
        ownerReferences: [
          {
            apiVersion: obj.apiVersion,
            kind: SRG_KIND,
            name: ref.name,
            uid: obj.metadata.uid,
            controller: true,
          },
        ],
      },
      binaryData: encodeAgreedState(state),
    };
    await this.deps.client.patch(
      CONFIGMAPS,
      { namespace: ref.namespace, name: cm.metadata.name },
      cm,
      { patchType: 'apply', fieldManager: FIELD_MANAGER, force: true },
    );
  }

  private async sync(pass: Pass): Promise<{ requeueAfterMs: number }> {
    const { spec, observed, agreed } = pass;
    const interval = parseDuration(spec.syncInterval);
    for (const o of observed) this.deps.observer?.siteObserved(pass.ref, o.site.name, o.ok);
    const blocker = this.prerequisites(pass);
    if (blocker) {
      await this.report(pass, {
        blocker,
        plan: undefined,
        failures: new Map(),
        changes: 0,
        state: agreed,
      });
      return { requeueAfterMs: interval };
    }
    const ok = observed.filter((o): o is Extract<Observed, { ok: true }> => o.ok);
    const entities = new Map(ok.map((o) => [o.site.name, this.entities(pass, o.snap)]));
    const plan = planMerge({
      sites: this.priorityOrder(pass).map((o) => ({
        name: o.site.name,
        reachable: o.ok,
        joined: agreed.joined.includes(o.site.name),
        entities: entities.get(o.site.name) ?? new Map<string, Entity>(),
      })),
      agreed,
    });
    if (spec.paused) {
      await this.report(pass, { plan, failures: new Map(), changes: 0, state: agreed });
      return { requeueAfterMs: interval };
    }
    const { failures, changes } = await this.apply(pass, plan);
    const state = nextAgreed(
      plan,
      plan.actions.map((a) => ({ site: a.site, key: a.key, ok: !failures.has(actionId(a)) })),
    );
    const links = await this.link(pass, plan, failures);
    pass.objects = await this.collectProgress(pass, plan);
    await this.saveAgreed(pass, state);
    const total = changes + links;
    await this.report(pass, { plan, failures, changes: total, state });
    const degraded = observed.some((o) => !o.ok) || failures.size > 0;
    return { requeueAfterMs: total > 0 ? 2000 : degraded ? Math.min(interval, 15_000) : interval };
  }

  private priorityOrder(pass: Pass): Observed[] {
    const primary = pass.spec.primary;
    return [...pass.observed].sort(
      (a, b) => Number(b.site.name === primary) - Number(a.site.name === primary),
    );
  }

  private entities(pass: Pass, snap: SiteSnapshot): Map<string, Entity> {
    pass.entityCache ??= new WeakMap();
    const cached = pass.entityCache.get(snap);
    if (cached) return cached;
    const computed = this.computeEntities(pass, snap);
    pass.entityCache.set(snap, computed);
    return computed;
  }

  private computeEntities(pass: Pass, snap: SiteSnapshot): Map<string, Entity> {
    const operatorUsers = new Set(
      pass.observed.flatMap((o) => (o.ok ? [o.conn.accessKey] : [])).concat(REPLICATOR_USER),
    );
    const idpName = pass.spec.identityProviderRef?.name;
    const idp = idpName
      ? this.deps.identityProviders?.get(`${pass.ref.namespace}/${idpName}`)
      : undefined;
    return entitiesOf(snap, {
      replicate: pass.spec.replicate,
      buckets: pass.spec.buckets,
      operatorUsers,
      ldap: idp?.spec?.ldap !== undefined,
    });
  }

  /**
   * Do the group's sites share its identity provider? Read from the IdentityProvider's status
   * (per-site live digests, refreshed by its controller), once it reflects its current spec.
   */
  private identityCheck(pass: Pass): IdentityMismatch | undefined {
    const name = pass.spec.identityProviderRef?.name;
    if (name === undefined) return undefined;
    const idp = this.deps.identityProviders?.get(`${pass.ref.namespace}/${name}`);
    const status = idp?.status;
    if (status?.digest === undefined || status.observedGeneration !== idp?.metadata.generation) {
      return undefined;
    }
    const sites = this.priorityOrder(pass).map((o) => ({
      name: o.site.name,
      digest: status.sites?.find((s) => s.group === pass.ref.name && s.site === o.site.name)
        ?.digest,
    }));
    return identityMismatch(sites, status.digest);
  }

  /** MinIO's rules for a group: what must hold before anything is written. */
  private prerequisites(pass: Pass): { reason: string; message: string } | undefined {
    const { spec, agreed, observed } = pass;
    const removed = agreed.joined.filter((s) => !spec.sites.some((x) => x.name === s));
    if (removed.length > 0 && !spec.allowSiteRemoval) {
      return {
        reason: 'SiteRemovalNotAllowed',
        message: `spec.sites: joined site(s) ${removed.join(', ')} were removed; set spec.allowSiteRemoval to allow it`,
      };
    }
    if (agreed.joined.length > 0) return this.newSitesEmpty(pass);
    const withData = observed
      .filter((o) => o.ok && this.entities(pass, o.snap).size > 0)
      .map((o) => o.site.name);
    if (withData.length > 1) {
      return {
        reason: 'MultipleSitesWithData',
        message: `At creation at most one site may hold data, but ${withData.join(' and ')} do; empty all but one (the seed)`,
      };
    }
    const seed = withData[0];
    if (seed && spec.primary && seed !== spec.primary) {
      return {
        reason: 'PrimaryNotSeed',
        message: `spec.primary is ${spec.primary} but only ${seed} holds data; name ${seed} as primary or empty it`,
      };
    }
    return undefined;
  }

  /**
   * A site joining an existing group must be empty: it only receives, so anything of its own
   * would be overwritten. What it holds that equals the agreed state (a partial earlier copy)
   * is fine.
   */
  private newSitesEmpty(pass: Pass): { reason: string; message: string } | undefined {
    const { agreed } = pass;
    const foreign = pass.observed.filter(
      (o) =>
        o.ok &&
        !agreed.joined.includes(o.site.name) &&
        [...this.entities(pass, o.snap)].some(([k, e]) => agreed.entities[k] !== e.digest),
    );
    if (foreign.length === 0) return undefined;
    const names = foreign.map((o) => o.site.name).join(', ');
    return {
      reason: 'NewSiteNotEmpty',
      message: `A site joining the group must be empty, but ${names} holds buckets or IAM entities of its own`,
    };
  }

  /** Applies the plan: per target site in phase order (creations, then deletions reversed). */
  private async apply(
    pass: Pass,
    plan: MergePlan,
  ): Promise<{ failures: Map<string, string>; changes: number }> {
    const failures = new Map<string, string>();
    const snaps = new Map(pass.observed.flatMap((o) => (o.ok ? [[o.site.name, o] as const] : [])));
    let changes = 0;
    await Promise.all(
      [...snaps.values()].map(async (target) => {
        const mine = plan.actions.filter((a) => a.site === target.site.name);
        for (const batch of phases(mine)) {
          const results = await settleLimit(
            batch,
            this.deps.concurrency ?? 8,
            (a) =>
              applyEntityAction(a, {
                target: target.client,
                targetSnap: target.snap,
                sourceSnap: a.kind === 'Put' ? snaps.get(a.from)?.snap : undefined,
              }),
            (a) => actionLane(a.key),
          );
          batch.forEach((a, i) => {
            const r = results[i];
            if (r?.ok) changes++;
            else failures.set(actionId(a), errorMessage(r?.error));
          });
        }
        if (mine.length === 0) return;
        changes -= await this.verifyApplied(pass, target, mine, failures);
        await this.recordApplied(pass, target.site.name, mine, failures);
      }),
    );
    for (const c of plan.conflicts) {
      await this.deps.recorder.record(
        pass.obj,
        'Warning',
        'ConflictResolved',
        `${c.key} changed on ${c.candidates.map((x) => x.site).join(' and ')}; ${c.winner} won (${c.reason})`,
      );
    }
    return { failures, changes };
  }

  /**
   * Reads the site back after writing to it: a write the site accepted but does not hold (lost
   * to a concurrent writer) becomes a failure, so the merge re-applies it instead of taking the
   * site's value for a change made there. Returns how many writes did not persist.
   */
  private async verifyApplied(
    pass: Pass,
    target: Extract<Observed, { ok: true }>,
    actions: readonly MergeAction[],
    failures: Map<string, string>,
  ): Promise<number> {
    const done = actions.filter((a) => !failures.has(actionId(a)));
    if (done.length === 0) return 0;
    let held: Map<string, Entity>;
    try {
      held = this.entities(pass, await target.client.snapshot());
    } catch (e: unknown) {
      pass.ctx.log.warn(
        { site: target.site.name, err: errorMessage(e) },
        'Could not read the site back after writing; the next pass will',
      );
      return 0;
    }
    const lost = notHeld(done, held);
    for (const a of lost) {
      failures.set(
        actionId(a),
        `${target.site.name}: ${a.kind === 'Put' ? 'put' : 'delete'} of ${a.key} was accepted but the site does not hold it (a concurrent write?); it will be re-applied`,
      );
    }
    return lost.length;
  }

  private async recordApplied(
    pass: Pass,
    site: string,
    actions: MergeAction[],
    failures: Map<string, string>,
  ) {
    const done = actions.filter((a) => !failures.has(actionId(a)));
    const failed = actions.filter((a) => failures.has(actionId(a)));
    for (const [kind, n] of countBy(done.map((a) => `${a.kind}:${a.key.split(':')[0] ?? ''}`))) {
      this.deps.observer?.changesApplied(pass.ref, kind, n);
    }
    if (done.length > 0) {
      const sample = done
        .slice(0, 5)
        .map((a) => `${a.kind === 'Put' ? 'put' : 'deleted'} ${a.key}`)
        .join(', ');
      const more = done.length > 5 ? ` and ${done.length - 5} more` : '';
      await this.deps.recorder.record(
        pass.obj,
        'Normal',
        'SiteUpdated',
        `${site}: ${sample}${more}`,
      );
    }
    if (failed.length > 0) {
      const first = failed[0] ? (failures.get(actionId(failed[0])) ?? '') : '';
      await this.deps.recorder.record(
        pass.obj,
        'Warning',
        'ApplyFailed',
        `${site}: ${failed.length} change(s) failed; first: ${first}`,
      );
    }
    pass.ctx.log.info(
      { site, applied: done.length, failed: failed.length },
      'Applied changes to site',
    );
  }

  /** Replication accounts and peer links for the buckets every reachable site holds now. */
  private async link(pass: Pass, plan: MergePlan, failures: Map<string, string>): Promise<number> {
    const ok = pass.observed.filter((o): o is Extract<Observed, { ok: true }> => o.ok);
    if (ok.length < 2) return 0;
    const secrets = await loadReplicatorSecrets(
      this.deps.client,
      {
        ...pass.ref,
        uid: pass.obj.metadata.uid ?? '',
        apiVersion: pass.obj.apiVersion,
        kind: SRG_KIND,
      },
      pass.spec.sites.map((s) => s.name),
    );
    const peers: PeerSite[] = ok.map((o) => ({
      name: o.site.name,
      endpoint: o.site.endpoint,
      region: o.site.region,
      client: o.client,
      snap: o.snap,
      replicator: { accessKey: REPLICATOR_USER, secretKey: secrets.get(o.site.name) ?? '' },
    }));
    let changes = 0;
    for (const p of peers) {
      try {
        if (await ensureReplicator(p)) changes++;
      } catch (e: unknown) {
        failures.set(`${p.name}\u0000replicator`, errorMessage(e));
      }
    }
    const buckets = plan.decisions
      .filter((d) => d.target !== null && /^bucket:[^/]+$/.test(d.key))
      .map((d) => d.key.slice('bucket:'.length))
      .filter((b) =>
        ok.every(
          (o) => o.snap.buckets.has(b) || !failures.has(`${o.site.name}\u0000${bucketKey(b)}`),
        ),
      );
    const result = await ensurePeerLinks(peers, buckets, {
      replicate: pass.spec.replicate,
      resync: resyncRequested(pass.obj),
      groupEndpoints: pass.spec.sites.map((s) => s.endpoint),
      groupSites: pass.spec.sites.map((s) => s.name),
      unreachable: pass.observed.filter((o) => !o.ok).map((o) => o.site.name),
    });
    for (const e of result.errors)
      failures.set(`${e.site}\u0000link:${e.bucket ?? ''}`, errorMessage(e.error));
    if (result.changes.length > 0) {
      await this.deps.recorder.record(
        pass.obj,
        'Normal',
        'PeerLinksUpdated',
        `${result.changes.length} peer link change(s): ${result.changes.slice(0, 3).join('; ')}`,
      );
    }
    return changes + result.changes.length;
  }

  private async collectProgress(pass: Pass, plan: MergePlan) {
    if (!pass.spec.replicate.objects) return undefined;
    const ok = pass.observed.filter((o): o is Extract<Observed, { ok: true }> => o.ok);
    const buckets = plan.decisions
      .filter((d) => d.target !== null && /^bucket:[^/]+$/.test(d.key))
      .map((d) => d.key.slice('bucket:'.length));
    const sites = ok.map((o) => ({ name: o.site.name, client: o.client }));
    const progress = await this.progress.get(
      `${pass.ref.namespace}/${pass.ref.name}`,
      sites,
      buckets,
    );
    for (const [site, p] of progress) this.deps.observer?.siteObjects(pass.ref, site, p);
    return progress;
  }

  private async report(
    pass: Pass,
    r: {
      plan: MergePlan | undefined;
      failures: Map<string, string>;
      changes: number;
      state: AgreedState;
      blocker?: { reason: string; message: string };
    },
  ): Promise<void> {
    const sites = pass.observed.map((o) => this.siteOutcome(pass, o, r));
    for (const s of sites) {
      this.deps.observer?.siteSynced(pass.ref, s.name, {
        buckets: s.buckets.outOfSync,
        iam: s.iam.outOfSync,
      });
    }
    const identity = this.identityCheck(pass);
    const status = deriveStatus(
      pass.obj.status,
      {
        identity,
        generation: pass.obj.metadata.generation ?? 0,
        mode: pass.spec.mode,
        primary: pass.spec.primary,
        sites,
        knownSites: r.state.joined,
        lastSequence: r.state.sequence,
        merkleRoot: merkleRoot(Object.entries(r.state.entities)),
        changes: r.changes,
        blocker: r.blocker,
        paused: pass.spec.paused,
        ...(r.plan && !r.blocker && r.failures.size === 0
          ? {
              lastResync: pass.obj.metadata.annotations?.[RESYNC_ANNOTATION],
              lastRecover: pass.obj.metadata.annotations?.[RECOVER_ANNOTATION],
            }
          : {}),
      },
      this.now(),
    );
    await this.writeStatus(pass.obj, pass.ref, status);
    if (r.blocker) {
      await this.deps.recorder.record(pass.obj, 'Warning', r.blocker.reason, r.blocker.message);
    }
    if (identity) {
      await this.deps.recorder.record(pass.obj, 'Warning', identity.reason, identity.message);
    }
  }

  private siteOutcome(
    pass: Pass,
    o: Observed,
    r: { plan: MergePlan | undefined; failures: Map<string, string> },
  ): SiteOutcome {
    if (!o.ok) {
      const empty = { inSync: 0, outOfSync: 0 };
      return {
        name: o.site.name,
        reachable: o.reason !== 'SiteUnreachable' && o.reason !== 'CredentialsNotFound',
        error: { reason: o.reason, message: o.message },
        buckets: empty,
        iam: empty,
        inSync: false,
      };
    }
    const name = o.site.name;
    const mine = r.plan?.actions.filter((a) => a.site === name) ?? [];
    const applied = pass.spec.paused ? [] : mine.filter((a) => !r.failures.has(actionId(a)));
    const pending = mine.filter((a) => !applied.includes(a));
    const failure = [...r.failures.entries()].find(([k]) => k.startsWith(`${name}\u0000`))?.[1];
    const held = heldAfter(this.entities(pass, o.snap), applied);
    const count = (isBucket: boolean) => {
      const total = [...held.keys()].filter((k) => k.startsWith('bucket:') === isBucket).length;
      const out = pending.filter((a) => a.key.startsWith('bucket:') === isBucket).length;
      return { inSync: Math.max(0, total - out), outOfSync: out };
    };
    return {
      name,
      reachable: true,
      deploymentID: o.snap.deploymentID,
      ...(failure ? { error: { reason: 'ApplyFailed', message: failure } } : {}),
      buckets: count(true),
      iam: count(false),
      merkleRoot: merkleRoot([...held].map(([k, e]) => [k, e.digest] as const)),
      objects: pass.objects?.get(name),
      inSync: r.plan !== undefined && pending.length === 0 && failure === undefined,
    };
  }

  private async writeStatus(
    obj: SiteReplicationGroup,
    ref: ObjectRef,
    status: SiteReplicationGroupStatus,
  ) {
    if (sameJSON(stripTimes(obj.status), stripTimes(status))) return;
    await patchStatus(this.deps.client, SRG_RESOURCE, ref, status);
  }

  /** Removes only what the operator created: peer links, replication accounts, its own objects. */
  private async finalize(
    obj: SiteReplicationGroup,
    ref: ObjectRef,
    ctx: ReconcileContext,
  ): Promise<void> {
    if (!hasFinalizer(obj, FINALIZER)) return;
    const spec = SiteReplicationGroupSpecSchema.safeParse(obj.spec);
    if (spec.success) {
      const observed = await this.observe(ref, spec.data);
      try {
        const unreachable = observed.filter((o) => !o.ok).map((o) => o.site.name);
        if (unreachable.length > 0) {
          ctx.log.warn(
            { sites: unreachable },
            'Could not clean up peer links on unreachable sites',
          );
        }
        await Promise.all(
          observed.map(async (o) => {
            if (!o.ok) return;
            await removePeerLinks({
              name: o.site.name,
              endpoint: o.site.endpoint,
              region: o.site.region,
              client: o.client,
              snap: o.snap,
              replicator: { accessKey: REPLICATOR_USER, secretKey: '' },
            });
          }),
        );
      } finally {
        for (const o of observed) o.client?.close();
      }
    }
    for (const [type, name] of [
      [CONFIGMAPS, agreedConfigMapName(ref.name)],
      [SECRETS, `${ref.name}-sitesync-replicator`],
    ] as const) {
      await this.deps.client.delete(type, ref.namespace, name).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
    await removeFinalizer(this.deps.client, SRG_RESOURCE, obj, FINALIZER);
    ctx.log.info({}, 'Removed peer links and finalizer of SiteReplicationGroup');
  }
}

/** The resync annotation holds a value not yet acted on (status.lastResync records it). */
function resyncRequested(obj: SiteReplicationGroup): boolean {
  const v = obj.metadata.annotations?.[RESYNC_ANNOTATION];
  return v !== undefined && v !== obj.status?.lastResync;
}

function actionId(a: { site: string; key: string }): string {
  return `${a.site}\u0000${a.key}`;
}

/** What a site holds after the actions that succeeded on it. */
function heldAfter(
  observed: Map<string, Entity>,
  applied: readonly MergeAction[],
): Map<string, Entity> {
  const held = new Map(observed);
  for (const a of applied) {
    if (a.kind === 'Put') held.set(a.key, { digest: a.digest });
    else held.delete(a.key);
  }
  return held;
}

/** Creations by ascending phase, then deletions by descending phase. */
function phases(actions: readonly MergeAction[]): MergeAction[][] {
  const puts = new Map<number, MergeAction[]>();
  const dels = new Map<number, MergeAction[]>();
  for (const a of actions) {
    const m = a.kind === 'Put' ? puts : dels;
    const p = keyPhase(a.key);
    m.set(p, [...(m.get(p) ?? []), a]);
  }
  const asc = (m: Map<number, MergeAction[]>) =>
    [...m.entries()].sort(([x], [y]) => x - y).map(([, v]) => v);
  return [...asc(puts), ...asc(dels).reverse()];
}

function countBy(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

/** Status without timestamps that change every pass, to skip writes that change nothing. */
function stripTimes(s: SiteReplicationGroupStatus | undefined): unknown {
  if (!s) return s;
  return { ...s, sites: s.sites?.map(({ lastSyncTime: _t, ...rest }) => rest) };
}

export type { KubeObject };
