/**
 * The SiteReplicationGroup reconciler: the MinIO site-replication model, declaratively.
 * load -> validate -> finalizer -> observe every site -> check prerequisites -> plan (three-way
 * merge) -> apply entity changes -> ensure peer links -> save the agreed state -> write status.
 * Every call outside runs under the reconcile's signal: once it aborts (timeout, leadership
 * lost) the pass writes nothing more.
 */
import { checkSpec, parseDuration } from '../../api/common.js';
import type { IdentityProvider } from '../../api/identity-provider.js';
import { FINALIZER, SRG_RESOURCE } from '../../api/names.js';
import {
  SRG_SPEC_RULES,
  type SiteReplicationGroup,
  type SiteReplicationGroupSpec,
  SiteReplicationGroupSpecSchema,
} from '../../api/site-replication-group.js';
import { nextAgreed } from '../../replication/merge.js';
import { digestKey as newDigestKey, sealAgreed } from '../../replication/secret-digest.js';
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
import { INSECURE_TRANSPORT, withWarning } from '../../runtime/kstatus.js';
import { secretReader } from '../../runtime/secrets.js';
import { INSECURE_ENDPOINT, insecureRefusal, insecureSites } from '../../sites/connect.js';
import type { ReplicationProgress, SiteClient, SiteConnection } from '../../sites/site-client.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import { applyPlan, linkSites } from './apply.js';
import { type Entity, entitiesOf } from './entities.js';
import { Failures } from './failures.js';
import { finalize } from './finalize.js';
import { closeObserved, observeSites, reachable } from './observe.js';
import type { Pass } from './pass.js';
import { REPLICATOR_USER } from './peer-links.js';
import { planPass, prerequisites, replicatedBuckets } from './plan.js';
import { ObjectProgressCache } from './progress.js';
import { loadAgreed, loadDigestKey, saveAgreed } from './state.js';
import {
  type PassResult,
  deriveStatus,
  groupOutcome,
  identityCheck,
  siteOutcome,
  writeStatus,
} from './status.js';

/** What the reconciler reports besides status; main wires it to Prometheus. */
export interface SrgObserver {
  siteObserved(group: ObjectRef, site: string, up: boolean): void;
  siteSynced(group: ObjectRef, site: string, outOfSync: { buckets: number; iam: number }): void;
  changesApplied(group: ObjectRef, action: string, count: number): void;
  siteCall(site: string, op: string): void;
  siteObjects(group: ObjectRef, site: string, progress: ReplicationProgress): void;
}

export interface SrgReconcilerDeps {
  client: KubeClient;
  informer: Informer<SiteReplicationGroup>;
  newSite: (conn: SiteConnection) => SiteClient;
  recorder: EventRecorder;
  /**
   * The IdentityProvider cache. Its status holds the live identity digest of every site (the
   * IdentityProvider controller reads the sites), so checking a group costs no site call.
   */
  identityProviders: Informer<IdentityProvider & { metadata: { name: string } }>;
  observer?: SrgObserver | undefined;
  now?: (() => Date) | undefined;
  /** Per-call timeout for site calls (driver default 15 s). */
  siteTimeoutMs?: number | undefined;
  /** Accept http endpoints and unverified certificates (ALLOW_INSECURE_SITES). */
  allowInsecureSites?: boolean | undefined;
  /** How often object replication counts are collected (default 60 s; one call per bucket). */
  progressEveryMs?: number | undefined;
}

/** Actions in flight per site (a bucket's actions still run one after another). */
const ACTIONS_PER_SITE = 8;
/** After a pass that changed something: look again soon, to verify and continue. */
const VERIFY_AFTER_MS = 2000;

/** zod (defaults, shapes) then the cross-field rules; an invalid spec is terminal. */
export function validateSpec(obj: SiteReplicationGroup): SiteReplicationGroupSpec {
  const parsed = checkSpec(SiteReplicationGroupSpecSchema, obj.spec, SRG_SPEC_RULES);
  if (!parsed.ok) throw new TerminalError('InvalidSpec', parsed.message);
  return parsed.value;
}

export class SiteReplicationGroupReconciler {
  private readonly now: () => Date;
  private readonly progress: ObjectProgressCache;

  constructor(private readonly deps: SrgReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.progress = new ObjectProgressCache(deps.progressEveryMs ?? 60_000);
  }

  reconcile: Reconcile = async (ref, ctx) => {
    const obj = this.deps.informer.get(`${ref.namespace}/${ref.name}`);
    if (!obj) return undefined;
    const kube = this.deps.client.withSignal(ctx.signal);
    if (obj.metadata.deletionTimestamp) {
      await finalize(obj, ref, ctx, { ...this.deps, kube });
      return undefined;
    }
    const spec = validateSpec(obj);
    const insecure = insecureSites(spec.sites);
    if (insecure !== undefined && this.deps.allowInsecureSites !== true) {
      throw new TerminalError(INSECURE_ENDPOINT, insecureRefusal(insecure));
    }
    if (!hasFinalizer(obj, FINALIZER)) await addFinalizer(kube, SRG_RESOURCE, obj, FINALIZER);
    const pass = await this.start({ obj, ref, ctx, kube, spec });
    try {
      return await this.sync(pass);
    } finally {
      closeObserved(pass.observed);
    }
  };

  /** Everything a pass reads before it decides: every site, and the last agreed state. */
  private async start(p: {
    obj: SiteReplicationGroup;
    ref: ObjectRef;
    ctx: ReconcileContext;
    kube: KubeClient;
    spec: SiteReplicationGroupSpec;
  }): Promise<Pass> {
    const { ref, spec, ctx } = p;
    const observer = this.deps.observer;
    const idpName = spec.identityProviderRef?.name;
    const observed = await observeSites({
      readSecret: secretReader(p.kube, ref.namespace),
      sites: spec.sites,
      newSite: this.deps.newSite,
      timeoutMs: this.deps.siteTimeoutMs,
      allowInsecure: this.deps.allowInsecureSites,
      onCall: observer
        ? (site, op) => {
            observer.siteCall(site, op);
          }
        : undefined,
      signal: ctx.signal,
    });
    const pass: Pass = {
      ...p,
      events: this.deps.recorder.withSignal(ctx.signal),
      idp: idpName ? this.deps.identityProviders.get(`${ref.namespace}/${idpName}`) : undefined,
      observed,
      ...(await this.loadState(p).catch((e: unknown) => {
        closeObserved(observed);
        throw e;
      })),
      entities: () => new Map(),
    };
    pass.entities = entityMaps(pass);
    return pass;
  }

  /**
   * The last agreed state with its secret-bearing digests sealed with the group's key: one
   * written before digests were keyed is migrated here, on read (replication/secret-digest.ts).
   */
  private async loadState(p: {
    obj: SiteReplicationGroup;
    ref: ObjectRef;
    ctx: ReconcileContext;
    kube: KubeClient;
  }): Promise<Pick<Pass, 'agreed' | 'digestKey'>> {
    const owner = { ...p.ref, uid: p.obj.metadata.uid ?? '', apiVersion: p.obj.apiVersion };
    const digestKey = newDigestKey(await loadDigestKey(p.kube, owner));
    const { state, outcome } = sealAgreed(await loadAgreed(p.kube, p.ref), digestKey);
    if (outcome === 'keyChanged') {
      p.ctx.log.warn({}, 'Found the agreed state of SiteReplicationGroup sealed with another key');
    }
    return { agreed: state, digestKey };
  }

  private async sync(pass: Pass): Promise<ReconcileResult> {
    const { spec, agreed } = pass;
    const interval = parseDuration(spec.syncInterval);
    for (const o of pass.observed) this.deps.observer?.siteObserved(pass.ref, o.site.name, o.ok);
    const blocker = prerequisites(pass);
    const none = { failures: new Failures(), changes: 0, state: agreed };
    if (blocker) {
      await this.report(pass, { ...none, blocker, plan: undefined }, interval);
      return { requeueAfterMs: interval };
    }
    const plan = planPass(pass);
    if (spec.paused) {
      await this.report(pass, { ...none, plan }, interval);
      return { requeueAfterMs: interval };
    }
    const { failures, changes } = await applyPlan(pass, plan, {
      concurrency: ACTIONS_PER_SITE,
      changesApplied: (action, n) => this.deps.observer?.changesApplied(pass.ref, action, n),
    });
    const state = nextAgreed(
      plan,
      plan.actions.map((a) => ({
        site: a.site,
        key: a.key,
        ok: !failures.hasEntity(a.site, a.key),
      })),
    );
    const links = await linkSites(pass, plan, failures);
    pass.objects = await this.collectProgress(pass, replicatedBuckets(plan));
    await saveAgreed(pass.kube, this.owner(pass), { ...state, digestKeyId: pass.digestKey.id });
    const total = changes + links;
    await this.report(pass, { plan, failures, changes: total, state }, interval);
    if (total > 0) return { requeueAfterMs: VERIFY_AFTER_MS };
    // A site that keeps failing is retried with this group's exponential backoff.
    const failing = pass.observed.some((o) => !o.ok) || failures.size > 0;
    return { requeueAfterMs: interval, backoff: failing };
  }

  private owner(pass: Pass) {
    return { ...pass.ref, uid: pass.obj.metadata.uid ?? '', apiVersion: pass.obj.apiVersion };
  }

  private async collectProgress(pass: Pass, buckets: readonly string[]) {
    if (!pass.spec.replicate.objects) return undefined;
    const sites = reachable(pass.observed).map((o) => ({ name: o.site.name, client: o.client }));
    const key = `${pass.ref.namespace}/${pass.ref.name}`;
    const progress = await this.progress.get(key, sites, buckets, pass.ctx.signal);
    for (const [site, p] of progress) this.deps.observer?.siteObjects(pass.ref, site, p);
    return progress;
  }

  private async report(pass: Pass, r: PassResult, intervalMs: number): Promise<void> {
    const sites = pass.observed.map((o) => siteOutcome(pass, o, r));
    for (const s of sites) {
      const out = { buckets: s.buckets.outOfSync, iam: s.iam.outOfSync };
      this.deps.observer?.siteSynced(pass.ref, s.name, out);
    }
    const identity = identityCheck(pass);
    const now = this.now();
    const status = deriveStatus(pass.obj.status, groupOutcome(pass, r, sites, identity), now);
    // Only reached with ALLOW_INSECURE_SITES: the group says so, every pass.
    const insecure = insecureSites(pass.spec.sites);
    const warning =
      insecure === undefined ? undefined : { reason: INSECURE_ENDPOINT, message: insecure };
    status.conditions = withWarning(
      status.conditions,
      { type: INSECURE_TRANSPORT, why: warning, generation: pass.obj.metadata.generation ?? 0 },
      now,
    );
    await writeStatus(pass, status, { now, refreshMs: intervalMs / 2 });
    if (warning) await pass.events.record(pass.obj, 'Warning', warning.reason, warning.message);
    if (r.blocker) {
      await pass.events.record(pass.obj, 'Warning', r.blocker.reason, r.blocker.message);
    }
    if (identity) {
      await pass.events.record(pass.obj, 'Warning', identity.reason, identity.message);
    }
  }
}

/**
 * The entity map of each snapshot of the pass, computed once: what the group mirrors, without
 * the operator's own accounts (its login on each site, the replication account).
 */
function entityMaps(pass: Pass): (snap: SiteSnapshot) => Map<string, Entity> {
  const cache = new WeakMap<SiteSnapshot, Map<string, Entity>>();
  const operatorUsers = new Set(
    reachable(pass.observed)
      .map((o) => o.conn.accessKey)
      .concat(REPLICATOR_USER),
  );
  const scope = {
    replicate: pass.spec.replicate,
    buckets: pass.spec.buckets,
    operatorUsers,
    ldap: pass.idp?.spec?.ldap !== undefined,
    seal: pass.digestKey.seal,
  };
  return (snap) => {
    let map = cache.get(snap);
    if (!map) {
      map = entitiesOf(snap, scope);
      cache.set(snap, map);
    }
    return map;
  };
}
