/**
 * The object copier in a group (mixed groups: sites that cannot replicate natively). Each such
 * site is paired with one hub, the first site of the group that replicates natively
 * (`spec.primary` first), or the first site when none does; every replicated bucket is copied
 * both ways between the hub and each such site, one direction after the other (the copier's
 * two-way mode: newest wins, loop-free through the replica marker and the reverse checkpoint).
 * Native peer links then carry the copies among the hub and the other native sites. One hub,
 * never a mesh: a version reaching a site by two paths would be copied twice.
 *
 * Checkpoints are ConfigMaps owned by the group (garbage-collected with it), their names
 * scoped by the group's UID. A pass copies for at most `budgetMs`; what is left continues in
 * the next pass from the checkpoint (the copier's crash path: nothing twice, nothing lost).
 */
import { type ObjectCopyStatus } from '../../api/site-replication-group.js';
import { encodeKey } from '../../replication/entity-key.js';
import type { MergePlan } from '../../replication/merge.js';
import { mapLimit } from '../../runtime/concurrency.js';
import { describeError } from '../../runtime/messages.js';
import { kubeConfigMapApi } from '../../transfer/kube-configmap-api.js';
import { ConfigMapCheckpointStore } from '../../transfer/configmap-checkpoint-store.js';
import { ObjectCopier, type PassReport } from '../../transfer/copier.js';
import { ByteRateLimiter } from '../../transfer/throttle.js';
import { systemClock } from '../../runtime/clock.js';
import { replicatesNatively } from './coverage.js';
import type { Failures } from './failures.js';
import { type Reachable, reachable } from './observe.js';
import type { Pass } from './pass.js';
import type { SiteObjects } from './progress.js';
import { priorityOrder, replicatedBuckets } from './plan.js';

/** Buckets copied at once (each: one direction, then the other). */
const BUCKETS_AT_ONCE = 2;
/** Time a pass spends copying; the rest continues in the next pass. */
export const COPY_BUDGET_MS = 60_000;

export interface CopyRoutes {
  hub: string;
  /** The sites the copier serves, each paired with the hub. */
  spokes: string[];
}

/** The hub and the sites it copies to and from; undefined when every site replicates natively. */
export function copyRoutes(pass: Pick<Pass, 'observed' | 'spec'>): CopyRoutes | undefined {
  const order = priorityOrder(pass as Pass);
  const spokesAll = order.filter((o) => !replicatesNatively(o));
  if (spokesAll.length === 0) return undefined;
  const hub = order.find(replicatesNatively) ?? order[0];
  if (hub === undefined) return undefined;
  const spokes = spokesAll.filter((o) => o !== hub).map((o) => o.site.name);
  return spokes.length === 0 ? undefined : { hub: hub.site.name, spokes };
}

interface Route {
  bucket: string;
  source: Reachable;
  destination: Reachable;
}

const routeId = (r: { bucket: string; source: string; destination: string }) =>
  `${r.bucket}\u0000${r.source}\u0000${r.destination}`;

function previousOf(pass: Pass): Map<string, ObjectCopyStatus> {
  return new Map((pass.obj.status?.objectCopies ?? []).map((c) => [routeId(c), c] as const));
}

/** A route's status after a pass: totals carried on from the status it had. */
function afterPass(
  prev: ObjectCopyStatus | undefined,
  r: PassReport,
  at: string,
): ObjectCopyStatus {
  const first = r.failures[0];
  return {
    bucket: r.route.bucket,
    source: r.route.source,
    destination: r.route.destination,
    copied: (prev?.copied ?? 0) + r.copied + r.deleteMarkers,
    deleteMarkers: (prev?.deleteMarkers ?? 0) + r.deleteMarkers,
    bytes: (prev?.bytes ?? 0) + r.bytes,
    failed: r.failed,
    pending: r.pending,
    lagSeconds: r.lagSeconds,
    lastPassTime: at,
    ...(first
      ? { message: `${first.key}@${first.versionId}: ${first.message}`.slice(0, 1024) }
      : {}),
  };
}

const ZERO = { copied: 0, deleteMarkers: 0, bytes: 0, failed: 0, pending: 0, lagSeconds: 0 };

/** A route that did not run (or not to the end) in this pass: its figures kept, and why. */
function notDone(
  prev: ObjectCopyStatus | undefined,
  r: { bucket: string; source: string; destination: string },
  message: string,
): ObjectCopyStatus {
  return {
    ...ZERO,
    ...prev,
    bucket: r.bucket,
    source: r.source,
    destination: r.destination,
    message: message.slice(0, 1024),
  };
}

/** The routes between a hub and a site that could not run: kept, saying who was away. */
function unreachableRoutes(
  prev: ReadonlyMap<string, ObjectCopyStatus>,
  pair: { hub: string; spoke: string },
  away: string,
): ObjectCopyStatus[] {
  const sites = new Set([pair.hub, pair.spoke]);
  return [...prev.values()]
    .filter((c) => sites.has(c.source) && sites.has(c.destination))
    .map((c) => notDone(c, c, `${away} is not reachable (or held): nothing copied this pass`));
}

export interface CopyOutcome {
  routes: ObjectCopyStatus[];
  /** Something is left to copy (pending, failed, or the pass ran out of time). */
  moving: boolean;
}

/** The buckets both sites of a route hold now (or got in this pass). */
function bucketsOf(plan: MergePlan, failures: Failures, sites: readonly Reachable[]): string[] {
  const has = (o: Reachable, b: string) =>
    o.snap.buckets.has(b) ||
    !failures.hasEntity(o.site.name, encodeKey({ kind: 'bucket', bucket: b }));
  return replicatedBuckets(plan).filter((b) => sites.every((o) => has(o, b)));
}

function storeOf(pass: Pass): ConfigMapCheckpointStore {
  const uid = pass.obj.metadata.uid ?? pass.ref.name;
  return new ConfigMapCheckpointStore(
    kubeConfigMapApi(pass.kube),
    pass.ref.namespace,
    { 'app.kubernetes.io/managed-by': 'sitesync', 'sitesync.io/group': pass.ref.name },
    {
      scope: uid,
      reference: {
        apiVersion: pass.obj.apiVersion,
        kind: 'SiteReplicationGroup',
        name: pass.ref.name,
        uid,
        controller: true,
      },
    },
  );
}

/** Switches versioning on where a site holds the bucket without it (never turns it off). */
async function versioned(
  bucket: string,
  sites: readonly Reachable[],
  signal: AbortSignal,
): Promise<void> {
  for (const o of sites) {
    const state = o.snap.buckets.get(bucket)?.versioning;
    if (state !== undefined && state !== 'Enabled') {
      await o.client.enableVersioning(bucket, signal).catch(() => undefined);
    }
  }
}

/** One direction of one bucket; a failure of the pass itself becomes the route's message. */
async function copyOne(
  pass: Pass,
  route: Route,
  ctx: {
    store: ConfigMapCheckpointStore;
    signal: AbortSignal;
    prev: Map<string, ObjectCopyStatus>;
    limiter: ByteRateLimiter | undefined;
  },
): Promise<{ status: ObjectCopyStatus; moving: boolean }> {
  const id = {
    bucket: route.bucket,
    source: route.source.site.name,
    destination: route.destination.site.name,
  };
  const prev = ctx.prev.get(routeId(id));
  try {
    const copier = new ObjectCopier({
      source: route.source.client,
      destination: route.destination.client,
      bucket: route.bucket,
      store: ctx.store,
      limiter: ctx.limiter,
      options: {
        mode: 'two-way',
        concurrency: pass.spec.objectCopier.concurrency,
        deleteMarkers: pass.spec.replicate.deleteMarkers,
      },
    });
    const report = await copier.runPass(ctx.signal);
    for (const c of report.conflicts) {
      await pass.events.record(
        pass.obj,
        'Warning',
        'CopyConflict',
        `${route.bucket}/${c.key} was written on ${c.winner.site} and ${c.loser.site} since the last copy; ${c.winner.site}'s newer version ${c.winner.versionId} wins, ${c.loser.site}'s ${c.loser.versionId} stays there as an older version`,
      );
    }
    const status = afterPass(prev, report, new Date().toISOString());
    return { status, moving: report.pending > 0 || report.failed > 0 || report.copied > 0 };
  } catch (e: unknown) {
    pass.ctx.signal.throwIfAborted();
    const why = ctx.signal.aborted
      ? `the pass's copy time (${COPY_BUDGET_MS / 1000} s) ran out; the next pass continues from the checkpoint`
      : describeError(e);
    return { status: notDone(prev, id, why), moving: true };
  }
}

/**
 * Copies the replicated buckets between the hub and each site it serves, both ways; returns
 * every route's status (routes that could not run this pass keep their figures, with why).
 */
export async function copyObjects(
  pass: Pass,
  plan: MergePlan,
  failures: Failures,
  budgetMs = COPY_BUDGET_MS,
): Promise<CopyOutcome | undefined> {
  if (!pass.spec.replicate.objects) return undefined;
  const routes = copyRoutes(pass);
  if (!routes) return undefined;
  const ok = new Map(
    reachable(pass.observed)
      .filter((o) => !pass.identity.held.has(o.site.name))
      .map((o) => [o.site.name, o] as const),
  );
  const prev = previousOf(pass);
  const signal = AbortSignal.any([pass.ctx.signal, AbortSignal.timeout(budgetMs)]);
  const store = storeOf(pass);
  // One budget of bandwidth for all of the pass's routes.
  const rate = pass.spec.objectCopier.bytesPerSecond;
  const limiter = rate === undefined ? undefined : new ByteRateLimiter(rate, systemClock);
  const out: ObjectCopyStatus[] = [];
  let moving = false;
  const hub = ok.get(routes.hub);
  for (const name of routes.spokes) {
    const spoke = ok.get(name);
    if (!hub || !spoke) {
      out.push(
        ...unreachableRoutes(prev, { hub: routes.hub, spoke: name }, hub ? name : routes.hub),
      );
      continue;
    }
    const buckets = bucketsOf(plan, failures, [hub, spoke]);
    const done = await mapLimit(buckets, BUCKETS_AT_ONCE, async (bucket) => {
      // Every replicated bucket keeps versions on every site (peer links do it for MinIO's).
      await versioned(bucket, [hub, spoke], signal);
      const ctx = { store, signal, prev, limiter };
      const there = await copyOne(pass, { bucket, source: hub, destination: spoke }, ctx);
      const back = await copyOne(pass, { bucket, source: spoke, destination: hub }, ctx);
      return [there, back];
    });
    for (const r of done.flat()) {
      out.push(r.status);
      moving ||= r.moving;
    }
  }
  out.sort((a, b) => routeId(a).localeCompare(routeId(b)));
  return { routes: out.slice(0, 1000), moving };
}

/**
 * The copier's routes added to each site's object progress, as the site that has to send
 * them (a route's source): what InSync and status read for a site the copier serves. A route
 * that did not finish its last pass makes the counts unknown, with why.
 */
export function withCopyProgress(
  objects: ReadonlyMap<string, SiteObjects> | undefined,
  routes: readonly ObjectCopyStatus[],
  now: number,
): Map<string, SiteObjects> | undefined {
  if (routes.length === 0) return objects === undefined ? undefined : new Map(objects);
  const out = new Map(objects ?? []);
  for (const r of routes) {
    const base: SiteObjects = out.get(r.source) ?? {
      pending: 0,
      failed: 0,
      replicated: 0,
      bytes: 0,
      unknown: [],
      countedAt: now,
    };
    const at = r.lastPassTime === undefined ? now : Date.parse(r.lastPassTime);
    const unfinished = r.message !== undefined && r.failed === 0;
    out.set(r.source, {
      ...base,
      pending: base.pending + r.pending,
      failed: base.failed + r.failed,
      replicated: base.replicated + r.copied,
      bytes: base.bytes + r.bytes,
      lagSeconds: Math.max(base.lagSeconds ?? 0, r.lagSeconds),
      countedAt: Math.min(base.countedAt, Number.isNaN(at) ? now : at),
      unknown: unfinished
        ? [...base.unknown, `copy ${r.bucket} to ${r.destination}: ${r.message ?? ''}`]
        : base.unknown,
    });
  }
  return out;
}
