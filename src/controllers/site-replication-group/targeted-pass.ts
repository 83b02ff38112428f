/**
 * A targeted pass: what the hints say changed is read again on every site of the group (one or
 * a few calls each: `readPart`), laid over the snapshots of the last full observation, and
 * merged by the same three-way merge restricted to the changed keys; then applied, read back
 * (the same part), linked (buckets in scope) and saved. Every site is read, not only the one
 * that reported: a stale view of a peer would let the merge overwrite a change made there
 * meanwhile without seeing the conflict. Anything unexpected (a site that fails or changed
 * identity) ends it: the caller then observes everything.
 */
import { parseDuration } from '../../api/common.js';
import { type EntityKey, decodeKey } from '../../replication/entity-key.js';
import type { AgreedState } from '../../replication/agreed-state.js';
import type { DigestKey } from '../../replication/secret-digest.js';
import { type MergePlan, nextAgreed } from '../../replication/merge.js';
import type { ReconcileResult } from '../../runtime/controller.js';
import type { PartRequest, SitePart } from '../../sites/change-feed.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import { applyPlan, linkSites } from './apply.js';
import type { PendingChanges } from './change-hints.js';
import type { Entity } from './entities.js';
import type { Reachable } from './observe.js';
import type { Pass } from './pass.js';
import { planPass } from './plan.js';
import { loadAgreed, saveAgreed } from './state.js';

/** What a full observation left for targeted passes: each site's connection and snapshot. */
export interface CachedGroup {
  uid: string;
  generation: number;
  /** The annotations a pass acts on, as they were (a new value needs a full pass). */
  annotations: string;
  /** When the full observation started (ms). */
  fullAt: number;
  sites: Map<string, Reachable>;
}

type BasePass = Omit<Pass, 'observed' | 'agreed' | 'entities' | 'identity' | 'removed'>;

export interface TargetedInput {
  pass: Omit<BasePass, 'digestKey'>;
  /** The group's digest key, read together with the sites. */
  digestKey: () => Promise<DigestKey>;
  cached: CachedGroup;
  pending: PendingChanges;
  /** The entity map of a snapshot in this pass (the reconciler's, with the operator's users). */
  entityMaps: (pass: Pass) => (snap: SiteSnapshot) => Map<string, Entity>;
  concurrency: number;
  changesApplied?: ((action: string, n: number) => void) | undefined;
  now: number;
}

export type TargetedOutcome =
  | {
      done: true;
      result: ReconcileResult;
      sites: Map<string, Reachable>;
      changes: number;
      /** The first failure of each site that had one. */
      failed: string[];
      /** Where the time went (ms): reading, planning, writing (with read-backs), saving. */
      timings: Record<string, number>;
    }
  | { done: false; why: string };

/** The request for a site: what the hints name. */
export function partRequest(pending: PendingChanges): PartRequest {
  return { iam: pending.iam, buckets: [...pending.buckets.keys()].sort() };
}

/** Whether an entity key is in what the hints name. */
export function inScope(pending: PendingChanges, key: EntityKey): boolean {
  if (key.kind === 'bucket' || key.kind === 'bucketConfig') return pending.buckets.has(key.bucket);
  return pending.iam;
}

/** A snapshot with a part read again laid over it. */
export function overlay(snap: SiteSnapshot, part: SitePart): SiteSnapshot {
  const buckets = new Map(snap.buckets);
  for (const [name, meta] of part.buckets) {
    if (meta === null) buckets.delete(name);
    else buckets.set(name, meta);
  }
  return { ...snap, deploymentID: part.deploymentID, iam: part.iam ?? snap.iam, buckets };
}

async function readSite(
  o: Reachable,
  request: PartRequest,
  signal: AbortSignal,
): Promise<Reachable | string> {
  const feed = o.client.changeFeed;
  if (!feed) return `${o.site.name} cannot be read in part`;
  try {
    const part = await feed.readPart(request, signal);
    if (part.deploymentID !== o.snap.deploymentID) {
      return `${o.site.name} changed identity (${o.snap.deploymentID} -> ${part.deploymentID})`;
    }
    return { ...o, snap: overlay(o.snap, part) };
  } catch (e: unknown) {
    signal.throwIfAborted();
    return `${o.site.name}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

const hasBuckets = (plan: MergePlan) =>
  plan.decisions.some((d) => {
    const k = decodeKey(d.key);
    return k?.kind === 'bucket';
  });

/**
 * Every site's part and the agreed state, or why a full pass must decide: a site not observed
 * or not read, a lost or corrupt agreed state, a site not (yet) joined or adopted.
 */
async function readAll(
  input: TargetedInput,
  request: PartRequest,
): Promise<{ observed: Reachable[]; agreed: AgreedState; base: BasePass } | string> {
  const { cached } = input;
  const sites = input.pass.spec.sites.map((s) => cached.sites.get(s.name));
  const known = sites.filter((o): o is Reachable => o !== undefined);
  if (known.length !== sites.length) return 'a site was not observed';
  // The sites, the agreed state and the key at once: each is a round trip.
  const [reads, loaded, digestKey] = await Promise.all([
    Promise.all(known.map((o) => readSite(o, request, input.pass.ctx.signal))),
    loadAgreed(input.pass.kube, input.pass.ref, input.pass.obj.metadata.uid ?? ''),
    input.digestKey(),
  ]);
  const base: BasePass = { ...input.pass, digestKey };
  const failed = reads.find((r): r is string => typeof r === 'string');
  if (failed !== undefined) return failed;
  if (loaded.problem) return `agreed state ${loaded.problem.kind}`;
  // Digests sealed with another key (or not yet): a full pass migrates them.
  if (loaded.state.digestKeyId !== base.digestKey.id) return 'agreed state not sealed with the key';
  const agreed = loaded.state;
  const unjoined = base.spec.sites.find((s) => !agreed.joined.includes(s.name));
  if (unjoined) return `${unjoined.name} has not joined`;
  if ((agreed.adopting ?? []).length > 0) return 'a site is adopted';
  return { observed: reads as Reachable[], agreed, base };
}

/** Runs a targeted pass; `done: false` when the group must be observed whole instead. */
export async function targetedPass(input: TargetedInput): Promise<TargetedOutcome> {
  const { cached, pending } = input;
  const signal = input.pass.ctx.signal;
  const request = partRequest(pending);
  const timings: Record<string, number> = {};
  let mark = performance.now();
  const lap = (phase: string) => {
    const t = performance.now();
    timings[phase] = Math.round(t - mark);
    mark = t;
  };
  const read = await readAll(input, request);
  lap('readMs');
  if (typeof read === 'string') return { done: false, why: read };
  const { agreed, base } = read;
  const observed = read.observed;
  const backs = new Map<string, Reachable>();
  const pass: Pass = {
    ...base,
    observed,
    removed: [],
    // Every site kept its identity (readSite) since a full pass that held none.
    identity: { state: agreed, outcomes: [], held: new Map() },
    agreed,
    entities: () => new Map(),
    readBack: async (target) => {
      // Its identity was read at the start of this pass; the next pass reads it again.
      const known = { ...request, knownDeploymentID: target.snap.deploymentID };
      const back = await readSite(target, known, signal);
      if (typeof back === 'string') throw new Error(back);
      backs.set(target.site.name, back);
      return back.snap;
    },
  };
  pass.entities = input.entityMaps(pass);
  const plan = planPass(pass, (key) => {
    const k = decodeKey(key);
    return k === undefined || !inScope(pending, k);
  });
  // A held deletion wave needs the full pass's status and approval path.
  if (plan.held) return { done: false, why: 'deletions held' };
  lap('planMs');
  const { failures, changes } = await applyPlan(pass, plan, {
    concurrency: input.concurrency,
    changesApplied: input.changesApplied,
  });
  lap('applyMs');
  const state = nextAgreed(
    plan,
    plan.actions.map((a) => ({ site: a.site, key: a.key, ok: !failures.hasEntity(a.site, a.key) })),
  );
  const links = hasBuckets(plan)
    ? (await linkSites(pass, plan, failures, { rotate: false })).changes
    : 0;
  lap('linkMs');
  if (changes + links > 0 || plan.actions.length > 0) {
    const owner = {
      ...base.ref,
      uid: base.obj.metadata.uid ?? '',
      apiVersion: base.obj.apiVersion,
    };
    await saveAgreed(base.kube, owner, { ...state, digestKeyId: base.digestKey.id });
  }
  lap('saveMs');
  let after = new Map(observed.map((o) => [o.site.name, backs.get(o.site.name) ?? o] as const));
  // Links changed what the read-backs saw (targets, replication rules): read the part again.
  if (links > 0 && failures.size === 0) {
    const again = await Promise.all(
      [...after.values()].map((o) =>
        readSite(o, { ...request, knownDeploymentID: o.snap.deploymentID }, signal),
      ),
    );
    const unread = again.find((r): r is string => typeof r === 'string');
    if (unread !== undefined) failures.other(base.spec.sites[0]?.name ?? '', unread);
    else after = new Map((again as Reachable[]).map((o) => [o.site.name, o] as const));
  }
  lap('rereadMs');
  const remaining = cached.fullAt + parseDuration(base.spec.syncInterval) - input.now;
  return {
    done: true,
    sites: after,
    changes: changes + links,
    timings,
    failed: observed
      .map((o) => {
        const f = failures.first(o.site.name);
        return f === undefined ? undefined : `${o.site.name}: ${f}`;
      })
      .filter((f): f is string => f !== undefined),
    result: { requeueAfterMs: Math.max(1, remaining), backoff: failures.size > 0 },
  };
}
