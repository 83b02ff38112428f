/**
 * Applying a plan: the entity actions on every reachable site (per site in phase order, a
 * bucket's actions in one lane), each write read back, then the replication accounts and peer
 * links for the buckets every site holds. What fails is recorded, never thrown; an aborted
 * pass is thrown.
 */
import { sameEndpoint } from '../../api/endpoint.js';
import { RESYNC_ANNOTATION } from '../../api/names.js';
import { canonicalJSON } from '../../replication/digest.js';
import { encodeKey, keyFamily } from '../../replication/entity-key.js';
import type { MergePlan } from '../../replication/merge.js';
import { canonicalPolicy } from '../../replication/policy.js';
import { settleLimit } from '../../runtime/concurrency.js';
import {
  LEGACY_REPLICATOR_POLICY,
  LEGACY_REPLICATOR_USER,
  ensureReplicationAccount,
  removeReplicationAccount,
} from '../../sites/replication-account.js';
import {
  type EntityAction,
  actionLane,
  applyEntityAction,
  notHeld,
  typedActions,
} from './executor.js';
import { Failures } from './failures.js';
import { fenceOf } from './fence.js';
import { type Reachable, reachable } from './observe.js';
import type { Pass } from './pass.js';
import { type GroupOwnership, type PeerSite, ensurePeerLinks, ownership } from './peer-links.js';
import { leaderOf, phases, replicatedBuckets } from './plan.js';
import { memberSite, removedMembers } from './removal.js';
import { loadReplicatorSecrets } from './state.js';
import { describeError, loggableError } from '../../runtime/messages.js';

export interface ApplyOptions {
  /** Actions in flight per site. */
  concurrency: number;
  /** Counts applied changes by action and entity family (metrics). */
  changesApplied?: ((action: string, count: number) => void) | undefined;
}

const verb = (a: EntityAction) => (a.kind === 'Put' ? 'put' : 'deleted');

/**
 * Reads the site back after writing to it: a write the site accepted but does not hold (lost
 * to a concurrent writer) becomes a failure, so the merge re-applies it instead of taking the
 * site's value for a change made there. Returns how many writes did not persist.
 */
async function verifyApplied(
  pass: Pass,
  target: Reachable,
  done: readonly EntityAction[],
  failures: Failures,
): Promise<number> {
  if (done.length === 0) return 0;
  let held;
  try {
    const back = pass.readBack ?? ((o: Reachable) => o.client.snapshot(pass.ctx.signal));
    held = pass.entities(await back(target));
  } catch (e: unknown) {
    pass.ctx.signal.throwIfAborted();
    pass.ctx.log.warn(
      { site: target.site.name, err: loggableError(e) },
      'Could not read the site back after writing; the next pass will',
    );
    return 0;
  }
  const lost = notHeld(done, held);
  for (const a of lost) {
    failures.entity(
      target.site.name,
      a.key,
      `${target.site.name}: ${a.kind === 'Put' ? 'put' : 'delete'} of ${a.key} was accepted but the site does not hold it (a concurrent write?); it will be re-applied`,
    );
  }
  return lost.length;
}

async function recordApplied(
  pass: Pass,
  on: { site: string; actions: readonly EntityAction[] },
  failures: Failures,
  opts: ApplyOptions,
): Promise<void> {
  const { site, actions } = on;
  const done = actions.filter((a) => !failures.hasEntity(site, a.key));
  const failed = actions.filter((a) => failures.hasEntity(site, a.key));
  const counts = new Map<string, number>();
  for (const a of done) {
    const label = `${a.kind}:${keyFamily(a.entity)}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  for (const [label, n] of counts) opts.changesApplied?.(label, n);
  if (done.length > 0) {
    const sample = done
      .slice(0, 5)
      .map((a) => `${verb(a)} ${a.key}`)
      .join(', ');
    const more = done.length > 5 ? ` and ${done.length - 5} more` : '';
    await pass.events.record(pass.obj, 'Normal', 'SiteUpdated', `${site}: ${sample}${more}`);
  }
  const [first] = failed;
  if (first) {
    const why = failures.entityMessage(site, first.key) ?? '';
    await pass.events.record(
      pass.obj,
      'Warning',
      'ApplyFailed',
      `${site}: ${failed.length} change(s) failed; first: ${why}`,
    );
  }
  pass.ctx.log.info(
    { site, applied: done.length, failed: failed.length },
    'Applied changes to site',
  );
}

/** The actions on one site, phase by phase; returns how many were applied and held. */
async function applyToSite(
  pass: Pass,
  target: Reachable,
  mine: readonly EntityAction[],
  ctx: { failures: Failures; opts: ApplyOptions; snaps: ReadonlyMap<string, Reachable> },
): Promise<number> {
  const { failures, opts, snaps } = ctx;
  let changes = 0;
  for (const batch of phases(mine)) {
    const results = await settleLimit(
      batch,
      opts.concurrency,
      (a) =>
        applyEntityAction(a, {
          target: target.client,
          targetSnap: target.snap,
          sourceSnap: a.kind === 'Put' ? snaps.get(a.from)?.snap : undefined,
          fence: fenceOf(pass, target.site.name),
          signal: pass.ctx.signal,
        }),
      (a) => actionLane(a.entity),
    );
    pass.ctx.signal.throwIfAborted();
    batch.forEach((a, i) => {
      const r = results[i];
      if (r?.ok) changes++;
      else failures.entity(target.site.name, a.key, describeError(r?.error));
    });
  }
  if (mine.length === 0) return 0;
  const done = mine.filter((a) => !failures.hasEntity(target.site.name, a.key));
  changes -= await verifyApplied(pass, target, done, failures);
  await recordApplied(pass, { site: target.site.name, actions: mine }, failures, opts);
  return changes;
}

/** Applies the plan on every reachable site; returns what failed and how many changes held. */
export async function applyPlan(
  pass: Pass,
  plan: MergePlan,
  opts: ApplyOptions,
): Promise<{ failures: Failures; changes: number }> {
  const failures = new Failures();
  const snaps = new Map(reachable(pass.observed).map((o) => [o.site.name, o] as const));
  const { typed, unknown } = typedActions(plan.actions);
  for (const a of unknown) failures.entity(a.site, a.key, `unknown entity key ${a.key}`);
  const counts = await Promise.all(
    [...snaps.values()].map((target) =>
      applyToSite(
        pass,
        target,
        typed.filter((a) => a.site === target.site.name),
        { failures, opts, snaps },
      ),
    ),
  );
  for (const c of plan.conflicts) {
    await pass.events.record(
      pass.obj,
      'Warning',
      'ConflictResolved',
      `${c.key} changed on ${c.candidates.map((x) => x.site).join(' and ')}; ${c.winner} won (${c.reason})`,
    );
  }
  return { failures, changes: counts.reduce((a, b) => a + b, 0) };
}

/** The resync annotation holds a value not yet acted on (status.lastResync records it). */
function resyncRequested(pass: Pass): boolean {
  const v = pass.obj.metadata.annotations?.[RESYNC_ANNOTATION];
  return v !== undefined && v !== pass.obj.status?.lastResync;
}

/**
 * Targets reset so far for each group's pending resync value (`uid|value`), across passes
 * until status.lastResync records it: a pass failing on one target does not reset the others
 * again. In memory (a restarted operator resets them once more, which is harmless); the
 * latest 64 requests are kept.
 */
const RESYNC_PROGRESS = new Map<string, Set<string>>();
const RESYNC_PROGRESS_MAX = 64;

function resyncProgress(pass: Pass): Set<string> | undefined {
  if (!resyncRequested(pass)) return undefined;
  const value = pass.obj.metadata.annotations?.[RESYNC_ANNOTATION] ?? '';
  const key = `${pass.obj.metadata.uid ?? pass.ref.name}|${value}`;
  let done = RESYNC_PROGRESS.get(key);
  if (!done) {
    done = new Set();
    RESYNC_PROGRESS.set(key, done);
    for (const oldest of RESYNC_PROGRESS.keys()) {
      if (RESYNC_PROGRESS.size <= RESYNC_PROGRESS_MAX) break;
      RESYNC_PROGRESS.delete(oldest);
    }
  }
  return done;
}

/** The group's account names and what it owns on the sites, current and removed members. */
export function groupOwnership(pass: Pass): GroupOwnership {
  const removed = removedMembers(pass.agreed, pass.spec).map(memberSite);
  return ownership(pass.obj.metadata.uid ?? pass.ref.name, [...pass.spec.sites, ...removed]);
}

const samePolicy = (a: unknown, b: unknown) =>
  canonicalJSON(canonicalPolicy(a)) === canonicalJSON(canonicalPolicy(b));

async function peerSites(
  pass: Pass,
  ok: readonly Reachable[],
  opts: { rotate: boolean; user: string },
): Promise<PeerSite[]> {
  const secrets = await loadReplicatorSecrets(
    pass.kube,
    { ...pass.ref, uid: pass.obj.metadata.uid ?? '', apiVersion: pass.obj.apiVersion },
    pass.spec.sites.map((s) => s.name),
    { rotate: opts.rotate },
  );
  return ok.map((o) => ({
    name: o.site.name,
    endpoint: o.site.endpoint,
    region: o.site.region,
    client: o.client,
    snap: o.snap,
    replicator: { accessKey: opts.user, secretKey: secrets.get(o.site.name) ?? '' },
  }));
}

/** Each site's replication account of the group, with its current secret. */
async function ensureAccounts(
  pass: Pass,
  peers: readonly PeerSite[],
  ctx: { own: GroupOwnership; failures: Failures; changes: string[] },
): Promise<void> {
  const signal = pass.ctx.signal;
  for (const p of peers) {
    try {
      const changed = await ensureReplicationAccount(p.client, p.snap.iam, {
        names: ctx.own.names,
        secretKey: p.replicator.secretKey,
        samePolicy,
        signal,
      });
      for (const c of changed) ctx.changes.push(`${p.name}: ${c}`);
    } catch (e: unknown) {
      signal.throwIfAborted();
      ctx.failures.other(p.name, describeError(e));
    }
  }
}

/**
 * The legacy shared account (`sitesync-replicator`) goes from a site once no target of the
 * group's sites logs in to it with it any more (they were switched to the group's account in
 * an earlier pass). Only when every site is seen: a site not seen may still use it.
 */
async function cleanLegacyAccounts(
  pass: Pass,
  peers: readonly PeerSite[],
  ctx: { failures: Failures; changes: string[] },
): Promise<void> {
  const native = pass.observed.filter((o) => o.client?.capabilities.nativeReplication !== false);
  if (peers.length !== native.length) return;
  const usesLegacy = (p: PeerSite) =>
    peers.some((q) =>
      [...q.snap.buckets.values()].some((b) =>
        b.targets.some(
          (t) => t.accessKey === LEGACY_REPLICATOR_USER && sameEndpoint(t.endpoint, p.endpoint),
        ),
      ),
    );
  for (const p of peers) {
    const iam = p.snap.iam;
    if (!iam.users.has(LEGACY_REPLICATOR_USER) && !iam.policies.has(LEGACY_REPLICATOR_POLICY))
      continue;
    if (usesLegacy(p)) continue;
    try {
      const legacy = { user: LEGACY_REPLICATOR_USER, policy: LEGACY_REPLICATOR_POLICY };
      const removed = await removeReplicationAccount(p.client, iam, legacy, pass.ctx.signal);
      for (const r of removed) ctx.changes.push(`${p.name}: removed legacy ${r}`);
    } catch (e: unknown) {
      pass.ctx.signal.throwIfAborted();
      ctx.failures.other(p.name, describeError(e));
    }
  }
}

export interface LinkOutcome {
  changes: number;
  /** The replication credentials were rotated (a new Secret written) in this pass. */
  rotated: boolean;
  /** Sites to refill whose every replicated bucket got its replication reset in this pass. */
  refilled: string[];
}

/**
 * Replication accounts and peer links for the buckets every reachable site holds now; a held
 * site (identity changed) gets none. With `rotate`, every site's replication credentials are
 * new, and pushed to every target that uses them.
 */
export async function linkSites(
  pass: Pass,
  plan: MergePlan,
  failures: Failures,
  opts: { rotate: boolean },
): Promise<LinkOutcome> {
  // Peer links join only the sites that replicate natively; the object copier serves the others.
  const ok = reachable(pass.observed).filter(
    (o) => !pass.identity.held.has(o.site.name) && o.client.capabilities.nativeReplication,
  );
  // One site alone needs no account, unless its credentials must change (a peer was removed).
  if (ok.length === 0 || (ok.length < 2 && !opts.rotate)) {
    return { changes: 0, rotated: false, refilled: [] };
  }
  const signal = pass.ctx.signal;
  const own = groupOwnership(pass);
  const peers = await peerSites(pass, ok, { rotate: opts.rotate, user: own.names.user });
  const changes: string[] = [];
  await ensureAccounts(pass, peers, { own, failures, changes });
  if (ok.length < 2) return { changes: changes.length, rotated: opts.rotate, refilled: [] };
  const created = (site: string, b: string) =>
    !failures.hasEntity(site, encodeKey({ kind: 'bucket', bucket: b }));
  const wanted = replicatedBuckets(plan);
  const buckets = wanted.filter((b) =>
    ok.every((o) => o.snap.buckets.has(b) || created(o.site.name, b)),
  );
  const refill = new Set(
    (pass.agreed.refill ?? []).filter((s) => ok.some((o) => o.site.name === s)),
  );
  const result = await ensurePeerLinks(peers, buckets, {
    own,
    replicate: pass.spec.replicate,
    resync: resyncRequested(pass),
    resyncDone: resyncProgress(pass),
    refill,
    groupEndpoints: pass.spec.sites.map((s) => s.endpoint),
    groupSites: pass.spec.sites.map((s) => s.name),
    primary: leaderOf(pass),
    unreachable: pass.observed
      .filter((o) => !o.ok || pass.identity.held.has(o.site.name))
      .map((o) => o.site.name),
    signal,
  });
  for (const e of result.errors) failures.other(e.site, describeError(e.error));
  changes.push(...result.changes);
  await cleanLegacyAccounts(pass, peers, { failures, changes });
  if (changes.length > 0) {
    await pass.events.record(
      pass.obj,
      'Normal',
      'PeerLinksUpdated',
      `${changes.length} peer link change(s): ${changes.slice(0, 3).join('; ')}`,
    );
  }
  const complete = buckets.length === wanted.length && wanted.every((b) => result.refilled.has(b));
  return { changes: changes.length, rotated: opts.rotate, refilled: complete ? [...refill] : [] };
}
