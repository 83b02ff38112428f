/**
 * The SiteReplicationGroup reconciler: the MinIO site-replication model, declaratively.
 * load -> validate -> finalizer -> observe every site -> check prerequisites -> plan (three-way
 * merge) -> apply entity changes -> ensure peer links -> save the agreed state -> write status.
 * Every call outside runs under the reconcile's signal: once it aborts (timeout, leadership
 * lost) the pass writes nothing more.
 */
import { checkSpec, parseDuration } from '../../api/common.js';
import type { IdentityProvider } from '../../api/identity-provider.js';
import {
  ACCEPT_SITE_ANNOTATION,
  FINALIZER,
  ROTATE_CREDENTIALS_ANNOTATION,
  SRG_RESOURCE,
} from '../../api/names.js';
import {
  SRG_SPEC_RULES,
  type SiteReplicationGroup,
  type SiteReplicationGroupSpec,
  type SiteReplicationGroupStatus,
  SiteReplicationGroupSpecSchema,
} from '../../api/site-replication-group.js';
import type { AgreedState } from '../../replication/agreed-state.js';
import { type MergePlan, nextAgreed } from '../../replication/merge.js';
import {
  type DigestKey,
  digestKey as newDigestKey,
  sealAgreed,
} from '../../replication/secret-digest.js';
import type {
  ObjectRef,
  Reconcile,
  ReconcileContext,
  ReconcileResult,
} from '../../runtime/controller.js';
import { TerminalError } from '../../runtime/errors.js';
import type { Why } from '../../runtime/kstatus.js';
import type { EventRecorder } from '../../runtime/events.js';
import { addFinalizer, hasFinalizer } from '../../runtime/finalizers.js';
import type { Informer } from '../../runtime/informer.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import { INSECURE_TRANSPORT, withWarning } from '../../runtime/kstatus.js';
import { secretReader } from '../../runtime/secrets.js';
import { INSECURE_ENDPOINT, insecureRefusal, insecureSites } from '../../sites/connect.js';
import type { SiteClient, SiteConnection } from '../../sites/site-client.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import { type LinkOutcome, applyPlan, groupOwnership, linkSites } from './apply.js';
import type { ChangeDetection } from './change-detection.js';
import { coveredEntities, replicatesNatively, siteCover } from './coverage.js';
import { copyObjects, copyRoutes, withCopyProgress } from './object-copy.js';
import { ensureAccessKeys } from './access-keys.js';
import { type Entity, entitiesOf } from './entities.js';
import { Failures } from './failures.js';
import { groupPolicies, reconcileFences, renewLeasesOnly } from './fence.js';
import { DEFAULT_LEASE_TERMS, LeaseBook, type LeaseTerms, renewInMs } from './lease.js';
import { advance, leaseWaitMs, promotionOf, rolesOf } from './promotion.js';
import { divergentDue, listDivergent } from './divergent.js';
import { finalize } from './finalize.js';
import { closeObserved, observeSites, reachable } from './observe.js';
import type { Pass } from './pass.js';
import {
  leaderOf,
  planPass,
  prerequisites,
  replicatedBuckets,
  revertedOnSecondaries,
} from './plan.js';
import { ObjectProgressCache, type SiteObjects } from './progress.js';
import { CHECK_EVERY_MS, stepRecovery } from './recover.js';
import { recoverAgreed } from './recovery.js';
import { recordPassEvents } from './safety-status.js';
import {
  type Disconnected,
  disconnectRemoved,
  forgetMembers,
  memberSite,
  needsRotation,
  recordMembers,
  removedMembers,
} from './removal.js';
import { type SiteSeen, judgeIdentities, parseAccept, recordIdentities } from './site-identity.js';
import { loadAgreed, loadDigestKey, saveAgreed } from './state.js';
import {
  type PassResult,
  deriveStatus,
  groupOutcome,
  identityCheck,
  siteOutcome,
  writeStatus,
} from './status.js';
import { stepVerification } from './verify.js';

/** What the reconciler reports besides status; main wires it to Prometheus. */
export interface SrgObserver {
  siteObserved(group: ObjectRef, site: string, up: boolean): void;
  siteSynced(group: ObjectRef, site: string, outOfSync: { buckets: number; iam: number }): void;
  changesApplied(group: ObjectRef, action: string, count: number): void;
  siteCall(site: string, op: string): void;
  siteObjects(
    group: ObjectRef,
    site: string,
    progress: {
      pending: number;
      replicated: number;
      failed: number;
      lagSeconds?: number | undefined;
    },
  ): void;
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
  /** Time one pass may spend listing versions for a verification (default 20 s). */
  verifySliceMs?: number | undefined;
  /** Change hints and targeted passes (`spec.changeDetection: events`); absent: poll only. */
  changes?: ChangeDetection | undefined;
  /** The primary's write lease (PRIMARY_LEASE_MS, CLOCK_SKEW_MARGIN_MS; lease.ts). */
  lease?: LeaseTerms | undefined;
}

/** Actions in flight per site (a bucket's actions still run one after another). */
const ACTIONS_PER_SITE = 8;
/** After a pass that changed something: look again soon, to verify and continue. */
const VERIFY_AFTER_MS = 2000;
/** While object versions are on their way: count them again this soon. */
const MOVING_AFTER_MS = 2000;
/** After a forced promotion, until the old primary is reached again and fenced. */
const OLD_PRIMARY_EVERY_MS = 1000;
/** While a promotion runs: its next step. */
const PROMOTION_NEXT_MS = 500;
/** A pass meant to renew a lease comes this long after it is due (not just before). */
const RENEW_SLACK_MS = 50;
/** While a forced promotion waits for the old primary's lease: look again at least this often. */
const LEASE_WAIT_STEP_MS = 5000;
/** While a verification runs: its next slice. */
const NEXT_SLICE_MS = 200;

/** zod (defaults, shapes) then the cross-field rules; an invalid spec is terminal. */
export function validateSpec(obj: SiteReplicationGroup): SiteReplicationGroupSpec {
  const parsed = checkSpec(SiteReplicationGroupSpecSchema, obj.spec, SRG_SPEC_RULES);
  if (!parsed.ok) throw new TerminalError('InvalidSpec', parsed.message);
  return parsed.value;
}

export class SiteReplicationGroupReconciler {
  private readonly now: () => Date;
  private readonly progress: ObjectProgressCache;
  /** The write leases this process gave the primaries (a forced promotion waits for them). */
  private readonly leases: LeaseBook;
  /** When each group's primary lease is due for renewal (epoch ms), by `namespace/name`. */
  private readonly renewAt = new Map<string, number>();

  constructor(private readonly deps: SrgReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.progress = new ObjectProgressCache(deps.progressEveryMs ?? 60_000);
    this.leases = new LeaseBook(deps.lease ?? DEFAULT_LEASE_TERMS);
  }

  reconcile: Reconcile = async (ref, ctx) => {
    this.leases.started(this.now());
    const obj = this.deps.informer.get(`${ref.namespace}/${ref.name}`);
    if (!obj || obj.metadata.deletionTimestamp) this.renewAt.delete(refKey(ref));
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
    const targeted = await this.targeted({ obj, ref, ctx, kube, spec });
    if (targeted) return this.untilRenewal(ref, targeted);
    const startedAt = Date.now();
    const pass = await this.start({ obj, ref, ctx, kube, spec });
    try {
      return await this.sync(pass, startedAt);
    } finally {
      closeObserved(pass.observed);
      closeObserved(pass.removed);
    }
  };

  /** A targeted pass when change hints are pending and allow one (change-detection.ts). */
  private async targeted(p: {
    obj: SiteReplicationGroup;
    ref: ObjectRef;
    ctx: ReconcileContext;
    kube: KubeClient;
    spec: SiteReplicationGroupSpec;
  }): Promise<ReconcileResult | undefined> {
    const changes = this.deps.changes;
    if (!changes) return undefined;
    // A promotion moves one step per full pass: no targeted pass while one runs.
    if (promotionOf(p.obj, p.spec, this.now())?.step !== undefined) return undefined;
    // Nor when the primary's lease is due for renewal (a full pass renews it).
    if ((this.renewAt.get(refKey(p.ref)) ?? Infinity) <= this.now().getTime()) return undefined;
    if (p.spec.paused) {
      changes.hints.take(`${p.ref.namespace}/${p.ref.name}`);
      return undefined;
    }
    const idpName = p.spec.identityProviderRef?.name;
    const owner = { ...p.ref, uid: p.obj.metadata.uid ?? '', apiVersion: p.obj.apiVersion };
    return changes.before({
      // Only a targeted pass reads it (with the sites, at once); a full pass loads its own.
      digestKey: async () => newDigestKey(await loadDigestKey(p.kube, owner)),
      pass: {
        ...p,
        events: this.deps.recorder.withSignal(p.ctx.signal),
        idp: idpName ? this.deps.identityProviders.get(`${p.ref.namespace}/${idpName}`) : undefined,
      },
      entityMaps,
      concurrency: ACTIONS_PER_SITE,
      changesApplied: (action, n) => this.deps.observer?.changesApplied(p.ref, action, n),
    });
  }

  /**
   * Everything a pass reads before it decides: the last agreed state, every site, and the
   * sites removed from the spec that may still hold the group's links.
   */
  private async start(p: {
    obj: SiteReplicationGroup;
    ref: ObjectRef;
    ctx: ReconcileContext;
    kube: KubeClient;
    spec: SiteReplicationGroupSpec;
  }): Promise<Pass> {
    const { ref, spec, ctx } = p;
    const loaded = await loadAgreed(p.kube, ref, p.obj.metadata.uid ?? '');
    const { agreed, digestKey } = await this.sealedState(p, loaded.state);
    const observer = this.deps.observer;
    const idpName = spec.identityProviderRef?.name;
    const common = {
      readSecret: secretReader(p.kube, ref.namespace),
      newSite: this.deps.newSite,
      timeoutMs: this.deps.siteTimeoutMs,
      allowInsecure: this.deps.allowInsecureSites,
      requireNativeReplication: spec.mode === 'PrimarySecondary',
      onCall: observer
        ? (site: string, op: string) => {
            observer.siteCall(site, op);
          }
        : undefined,
      signal: ctx.signal,
    };
    const removed = removedMembers(loaded.state, spec).map(memberSite);
    const [observed, removedObserved] = await Promise.all([
      observeSites({ ...common, sites: spec.sites }),
      removed.length === 0
        ? Promise.resolve([])
        : observeSites({ ...common, sites: removed, field: (s) => `removed site ${s.name}` }),
    ]);
    const pass: Pass = {
      ...p,
      events: this.deps.recorder.withSignal(ctx.signal),
      idp: idpName ? this.deps.identityProviders.get(`${ref.namespace}/${idpName}`) : undefined,
      observed,
      removed: removedObserved,
      agreed,
      agreedProblem: loaded.problem,
      identity: { state: agreed, outcomes: [], held: new Map() },
      digestKey,
      entities: () => new Map(),
    };
    pass.entities = entityMaps(pass);
    pass.promotion = promotionOf(p.obj, spec, this.now());
    pass.roles = rolesOf(spec, pass.promotion);
    return pass;
  }

  /**
   * The group's digest key, and the stored agreed state with its secret-bearing digests sealed
   * with it: one written before digests were keyed is migrated here, on read
   * (replication/secret-digest.ts).
   */
  private async sealedState(
    p: { obj: SiteReplicationGroup; ref: ObjectRef; ctx: ReconcileContext; kube: KubeClient },
    stored: AgreedState,
  ): Promise<{ agreed: AgreedState; digestKey: DigestKey }> {
    const owner = { ...p.ref, uid: p.obj.metadata.uid ?? '', apiVersion: p.obj.apiVersion };
    const digestKey = newDigestKey(await loadDigestKey(p.kube, owner));
    const { state, outcome } = sealAgreed(stored, digestKey);
    if (outcome === 'keyChanged') {
      p.ctx.log.warn({}, 'Found the agreed state of SiteReplicationGroup sealed with another key');
    }
    return { agreed: state, digestKey };
  }

  /** Recovers a lost agreed state, then judges the sites' identities: the base of the pass. */
  private prepare(pass: Pass): Why | undefined {
    const recovery = recoverAgreed(pass);
    if (recovery.blocker) return recovery.blocker;
    if (recovery.agreed) {
      pass.agreed = recovery.agreed;
      pass.rebuilt = recovery.rebuilt;
    }
    const fallback = Object.fromEntries(
      (pass.obj.status?.sites ?? []).flatMap((s) =>
        s.deploymentID ? [[s.name, s.deploymentID] as const] : [],
      ),
    );
    pass.identity = judgeIdentities(pass.agreed, seenSites(pass), {
      accept: acceptRequested(pass),
      fallback,
    });
    pass.agreed = pass.identity.state;
    return prerequisites(pass);
  }

  private async sync(pass: Pass, startedAt: number): Promise<ReconcileResult> {
    const { spec } = pass;
    const interval = parseDuration(spec.syncInterval);
    const observer = this.deps.observer;
    if (observer) for (const o of pass.observed) observer.siteObserved(pass.ref, o.site.name, o.ok);
    const afterFull = (clean: boolean) => this.deps.changes?.afterFull(pass, { clean, startedAt });
    const blocker = this.prepare(pass);
    const plan = blocker ? undefined : planPass(pass);
    if (!plan || spec.paused) {
      await afterFull(false);
      return this.observeOnly(pass, { blocker, plan }, interval);
    }
    this.deps.changes?.keepReadBacks(pass);
    const { failures, changes, outcomes, fences } = await this.applyAll(pass, plan);
    const { links, gone, rotateValue } = await this.connect(pass, plan, failures);
    pass.accessKeys = await ensureAccessKeys(pass, plan, failures);
    pass.copies = await copyObjects(pass, plan, failures);
    const state = settleState(pass, nextAgreed(plan, outcomes), { links, gone });
    await this.followObjects(pass, replicatedBuckets(plan), changes + links.changes > 0);
    this.stepPromotion(pass, failures, fences.fenced);
    await saveAgreed(pass.kube, this.owner(pass), { ...state, digestKeyId: pass.digestKey.id });
    const total = changes + links.changes + gone.cleaned.length + fences.changes;
    // A site that keeps failing is retried with this group's exponential backoff.
    const failing = pass.observed.some((o) => !o.ok) || failures.size > 0 || gone.left.length > 0;
    await afterFull(!failing && cleanPass(pass, plan, { links, gone }));
    await this.report(
      pass,
      {
        plan,
        failures,
        changes: total,
        state,
        removedLeft: gone.left,
        rotated: links.rotated ? rotateValue : undefined,
        credentialsRotated: links.rotated,
        disconnected: gone.cleaned,
      },
      interval,
    );
    const next = this.nextPass(pass, { total, failing, interval });
    return this.beforeRenewal(pass.ref, next, fences.leases);
  }

  /**
   * The next pass comes before the primary's lease is due for renewal (lease.ts): when that
   * is, remembered for the group (a targeted pass does not renew; targeted()).
   */
  private beforeRenewal(
    ref: ObjectRef,
    next: ReconcileResult,
    leases: ReadonlyMap<string, Date>,
  ): ReconcileResult {
    const now = this.now();
    const terms = this.leases.terms;
    const due = Math.min(...[...leases.values()].map((e) => renewInMs(e, now, terms)));
    if (Number.isFinite(due)) this.renewAt.set(refKey(ref), now.getTime() + due);
    else this.renewAt.delete(refKey(ref));
    return this.untilRenewal(ref, next);
  }

  /** A result that looks again no later than the group's lease renewal. */
  private untilRenewal(ref: ObjectRef, next: ReconcileResult): ReconcileResult {
    const at = this.renewAt.get(refKey(ref));
    if (at === undefined || next.requeueAfterMs === undefined) return next;
    const due = Math.max(at - this.now().getTime(), 0) + RENEW_SLACK_MS;
    return next.requeueAfterMs <= due ? next : { ...next, requeueAfterMs: due };
  }

  /** When to look again: soon while a promotion runs or after changes. */
  private nextPass(
    pass: Pass,
    r: { total: number; failing: boolean; interval: number },
  ): ReconcileResult {
    if (promoting(pass)) {
      // A forced promotion waiting for the old primary's lease looks again when it ends.
      const wait = pass.promotion ? leaseWaitMs(pass.promotion, this.now()) : 0;
      return { requeueAfterMs: Math.min(Math.max(wait, PROMOTION_NEXT_MS), LEASE_WAIT_STEP_MS) };
    }
    // The old primary of a forced promotion is fenced the first pass that reaches it.
    if (divergentDue(pass)) return { requeueAfterMs: OLD_PRIMARY_EVERY_MS };
    if (r.total > 0 || pass.copies?.moving === true) return { requeueAfterMs: VERIFY_AFTER_MS };
    return { requeueAfterMs: this.soon(pass, r.interval), backoff: r.failing };
  }

  /**
   * Fences, then the plan's entity actions (a returning old primary refuses writes before
   * anything else is done to it); changes reverted on secondaries are reported.
   */
  private async applyAll(pass: Pass, plan: MergePlan) {
    const fenceFailures = new Failures();
    const fences = await reconcileFences(pass, {
      lease: { book: this.leases, now: this.now() },
      failures: fenceFailures,
    });
    if (fences.renewed > 0) {
      this.deps.observer?.changesApplied(pass.ref, 'RenewLease', fences.renewed);
    }
    await this.divergent(pass, replicatedBuckets(plan));
    const { failures, changes } = await applyPlan(pass, plan, {
      concurrency: ACTIONS_PER_SITE,
      changesApplied: (action, n) => this.deps.observer?.changesApplied(pass.ref, action, n),
    });
    const outcomes = plan.actions.map((a) => ({
      site: a.site,
      key: a.key,
      ok: !failures.hasEntity(a.site, a.key),
    }));
    failures.merge(fenceFailures);
    await recordReverted(pass, plan, failures);
    return { failures, changes, outcomes, fences };
  }

  /**
   * A pass that writes nothing to a site: blocked (status says why), or paused (counts and
   * verification read).
   */
  private async observeOnly(
    pass: Pass,
    why: { blocker: Why | undefined; plan: MergePlan | undefined },
    interval: number,
  ): Promise<ReconcileResult> {
    const none = { failures: new Failures(), changes: 0, state: pass.agreed };
    const leases = await renewLeasesOnly(pass, {
      lease: { book: this.leases, now: this.now() },
      failures: none.failures,
    });
    if (why.blocker || !why.plan) {
      await this.report(pass, { ...none, blocker: why.blocker, plan: undefined }, interval);
      return this.beforeRenewal(pass.ref, { requeueAfterMs: interval }, leases);
    }
    const buckets = replicatedBuckets(why.plan);
    pass.objects = this.withCopies(pass, await this.collectProgress(pass, buckets));
    pass.verification = await this.verify(pass, buckets);
    await this.report(pass, { ...none, plan: why.plan }, interval);
    return this.beforeRenewal(pass.ref, { requeueAfterMs: this.soon(pass, interval) }, leases);
  }

  /** Peer links of the pass's sites, and removed sites disconnected from the group. */
  private async connect(pass: Pass, plan: MergePlan, failures: Failures) {
    const removed = removedMembers(pass.agreed, pass.spec);
    const rotateValue = rotateRequested(pass);
    // A forced promotion gives every reachable site a new secret: the old primary's targets,
    // out of reach, keep the old one and cannot deliver its writes when it returns.
    const forced = pass.promotion?.forced === true && pass.promotion.step === 'SwitchLinks';
    const links = await linkSites(pass, plan, failures, {
      rotate: needsRotation(removed) || rotateValue !== undefined || forced,
    });
    const own = groupOwnership(pass);
    const gone = await disconnectRemoved(pass.removed, {
      own,
      names: own.names,
      fence: Object.values(groupPolicies(pass.obj.metadata.uid ?? pass.ref.name)),
      signal: pass.ctx.signal,
    });
    return { links, gone, rotateValue };
  }

  /** A forced promotion's old primary, reached again: what it holds that never replicated. */
  private async divergent(pass: Pass, buckets: readonly string[]): Promise<void> {
    const due = divergentDue(pass);
    if (!due) return;
    const listed = await listDivergent(pass, due, buckets);
    if (listed)
      pass.promotion = pass.promotion ? { ...pass.promotion, divergent: listed.divergent } : listed;
  }

  /** The promotion's current step ended, or why it waits (promotion.ts). */
  private stepPromotion(pass: Pass, failures: Failures, fenced: readonly string[]): void {
    if (!pass.promotion) return;
    const now = this.now();
    const uid = pass.obj.metadata.uid ?? pass.ref.name;
    const oldLeaseEndsAt = this.leases.endsBy(uid, pass.promotion.from, now);
    pass.promotion = advance(pass, pass.promotion, { failures, fenced, now, oldLeaseEndsAt });
  }

  /** Recovery, object counts and verification of the replicated buckets. */
  private async followObjects(pass: Pass, buckets: string[], changed: boolean): Promise<void> {
    const group = `${pass.ref.namespace}/${pass.ref.name}`;
    // A promotion waiting for the old primary's backlog counts it every pass.
    if (changed || pass.promotion?.step === 'WaitForSync') this.progress.invalidate(group);
    pass.recovery = await stepRecovery(pass, buckets, this.now());
    if (pass.recovery) this.progress.invalidate(group);
    pass.objects = this.withCopies(pass, await this.collectProgress(pass, buckets));
    pass.verification = await this.verify(pass, buckets);
  }

  /** The object copier's routes (this pass's, else the last ones) in the sites' progress. */
  private withCopies(pass: Pass, objects: Map<string, SiteObjects> | undefined) {
    return withCopyProgress(objects, currentCopies(pass), this.now().getTime());
  }

  /** The next pass: soon while a verification, a recovery or object versions are under way. */
  private soon(pass: Pass, interval: number): number {
    let after = interval;
    if (pass.verification?.phase === 'Running') after = Math.min(after, NEXT_SLICE_MS);
    if (pass.recovery && !pass.recovery.done) after = Math.min(after, CHECK_EVERY_MS);
    if (this.progress.moving(`${pass.ref.namespace}/${pass.ref.name}`)) {
      after = Math.min(after, MOVING_AFTER_MS);
    }
    return after;
  }

  private verify(pass: Pass, buckets: readonly string[]) {
    if (!pass.spec.replicate.objects) return Promise.resolve(undefined);
    return stepVerification(pass, buckets, {
      sliceMs: this.deps.verifySliceMs ?? 20_000,
      now: this.now,
    });
  }

  private owner(pass: Pass) {
    return { ...pass.ref, uid: pass.obj.metadata.uid ?? '', apiVersion: pass.obj.apiVersion };
  }

  private async collectProgress(pass: Pass, buckets: readonly string[]) {
    if (!pass.spec.replicate.objects) return undefined;
    // PrimarySecondary: only the primary replicates; a secondary has nothing on its way.
    const leader = leaderOf(pass);
    const followers = reachable(pass.observed).filter(
      (o) => leader !== undefined && o.site.name !== leader,
    );
    // The object copier's progress is its own (status.objectCopies).
    const sites = reachable(pass.observed)
      .filter((o) => !followers.includes(o) && replicatesNatively(o))
      .map((o) => ({
        name: o.site.name,
        client: o.client,
        targetsOf: (b: string) =>
          (o.snap.buckets.get(b)?.targets ?? [])
            .map((t) => t.arn)
            .sort()
            .join(','),
      }));
    const key = `${pass.ref.namespace}/${pass.ref.name}`;
    const progress = await this.progress.get(key, sites, buckets, pass.ctx.signal);
    for (const o of followers) progress.set(o.site.name, nothingOnItsWay(this.now()));
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
    const status = deriveStatus(
      pass.obj.status,
      groupOutcome(pass, { ...r, now }, sites, identity),
      now,
    );
    // Only reached with ALLOW_INSECURE_SITES: the group says so, every pass.
    const insecure = insecureSites(pass.spec.sites);
    const warning =
      insecure === undefined ? undefined : { reason: INSECURE_ENDPOINT, message: insecure };
    status.conditions = withWarning(
      status.conditions,
      { type: INSECURE_TRANSPORT, why: warning, generation: pass.obj.metadata.generation ?? 0 },
      now,
    );
    if (this.deps.changes) status.changeDetection = this.deps.changes.status(pass);
    copyStatus(pass, status);
    const promotion = pass.promotion ?? pass.obj.status?.promotion;
    if (promotion) status.promotion = promotion;
    await writeStatus(pass, status, { now, refreshMs: intervalMs / 2 });
    if (warning) await pass.events.record(pass.obj, 'Warning', warning.reason, warning.message);
    await recordPassEvents(pass, r);
    if (identity) {
      await pass.events.record(pass.obj, 'Warning', identity.reason, identity.message);
    }
  }
}

/**
 * The object copier's routes (mixed groups): this pass's, else those of the last pass that ran
 * them; none once the group has no site the copier serves (or copies no objects).
 */
function currentCopies(pass: Pass) {
  if (!pass.spec.replicate.objects || copyRoutes(pass) === undefined) return [];
  return pass.copies?.routes ?? pass.obj.status?.objectCopies ?? [];
}

function copyStatus(pass: Pass, status: SiteReplicationGroupStatus): void {
  const copies = currentCopies(pass);
  if (copies.length > 0) status.objectCopies = copies;
}

/** The sites observed whole in this pass, with their identity and how much they hold. */
function seenSites(pass: Pass): SiteSeen[] {
  return reachable(pass.observed).map((o) => ({
    name: o.site.name,
    identity: o.snap.deploymentID,
    entities: pass.entities(o.snap).size,
  }));
}

/** A site that replicates nothing (a secondary): nothing pending, nothing failed. */
function nothingOnItsWay(now: Date): SiteObjects {
  return { pending: 0, failed: 0, replicated: 0, bytes: 0, unknown: [], countedAt: now.getTime() };
}

const refKey = (ref: ObjectRef) => `${ref.namespace}/${ref.name}`;

const promoting = (pass: Pass) => pass.promotion !== undefined && pass.promotion.step !== 'Done';

/** Changes made on a secondary that this pass undid: one Warning event naming them. */
async function recordReverted(pass: Pass, plan: MergePlan, failures: Failures): Promise<void> {
  const done = revertedOnSecondaries(pass, plan).filter((a) => !failures.hasEntity(a.site, a.key));
  if (done.length === 0) return;
  const shown = done
    .slice(0, 10)
    .map((a) => `${a.site}: ${a.kind === 'Put' ? 'restored' : 'removed'} ${a.key}`);
  const more = done.length > shown.length ? ` and ${done.length - shown.length} more` : '';
  await pass.events.record(
    pass.obj,
    'Warning',
    'SecondaryChangeReverted',
    `Reverted ${done.length} change(s) made on a secondary to the primary's state: ${shown.join('; ')}${more}`,
  );
}

/** An accept-site annotation value not acted on yet. */
function acceptRequested(pass: Pass) {
  const v = pass.obj.metadata.annotations?.[ACCEPT_SITE_ANNOTATION];
  return v === pass.obj.status?.lastAcceptSite ? undefined : parseAccept(v);
}

/** A rotate-credentials annotation value not acted on yet. */
function rotateRequested(pass: Pass): string | undefined {
  const v = pass.obj.metadata.annotations?.[ROTATE_CREDENTIALS_ANNOTATION];
  return v !== undefined && v !== pass.obj.status?.lastRotateCredentials ? v : undefined;
}

/**
 * The agreed state to save after a pass: joined sites under the identities they were seen
 * with, every spec site a member (removed ones marked once the credentials were rotated, and
 * forgotten once clean), refilled sites no longer pending.
 */
/**
 * Whether a pass that wrote leaves a base for targeted passes: every write held, no link
 * changed, nothing held back or left over.
 */
function cleanPass(
  pass: Pass,
  plan: MergePlan,
  done: { links: LinkOutcome; gone: Disconnected },
): boolean {
  return (
    done.links.changes === 0 &&
    plan.blocked.length === 0 &&
    plan.held === undefined &&
    pass.identity.held.size === 0 &&
    done.gone.cleaned.length === 0
  );
}

function settleState(
  pass: Pass,
  next: AgreedState,
  done: { links: LinkOutcome; gone: Disconnected },
): AgreedState {
  const held = new Set(pass.identity.held.keys());
  let state = recordIdentities(next, seenSites(pass), held);
  state = recordMembers(state, pass.spec, done.links.rotated);
  state = forgetMembers(
    state,
    done.gone.cleaned.map((c) => c.name),
  );
  const refill = (state.refill ?? []).filter(
    (s) => !done.links.refilled.includes(s) && pass.spec.sites.some((x) => x.name === s),
  );
  return { ...state, refill };
}

/**
 * The entity map of each snapshot of the pass, computed once: what the group mirrors, without
 * the operator's own accounts (its login on each site, the replication account).
 */
function entityMaps(pass: Pass): (snap: SiteSnapshot) => Map<string, Entity> {
  const cache = new WeakMap<SiteSnapshot, Map<string, Entity>>();
  const operatorUsers = new Set(reachable(pass.observed).map((o) => o.conn.accessKey));
  // A site's map holds only what its flavor can hold (coverage.ts).
  const covers = new Map(
    [...pass.observed, ...pass.removed].flatMap((o) =>
      o.client ? [[o.site.name, siteCover(pass, o)] as const] : [],
    ),
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
      map = coveredEntities(entitiesOf(snap, scope), covers.get(snap.site));
      cache.set(snap, map);
    }
    return map;
  };
}
