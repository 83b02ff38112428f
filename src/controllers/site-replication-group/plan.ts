/**
 * Planning a pass, without I/O: MinIO's rules that must hold before anything is written, the
 * three-way merge of the reachable sites' entities against the last agreed state, and the
 * order actions run in.
 */
import { APPROVE_DELETIONS_ANNOTATION } from '../../api/names.js';
import { type EntityKey, decodeKey } from '../../replication/entity-key.js';
import {
  type Entity,
  type MergeAction,
  type MergePlan,
  planMerge,
} from '../../replication/merge.js';
import type { Why } from '../../runtime/kstatus.js';
import { siteCover, siteReceives } from './coverage.js';
import { keyPhase } from './entities.js';
import type { EntityAction } from './executor.js';
import type { Observed } from './observe.js';
import type { Pass } from './pass.js';

/** The sites, the primary first: it wins ties in the merge and in the identity check. */
export function priorityOrder(pass: Pass): Observed[] {
  const primary = pass.spec.primary;
  return [...pass.observed].sort(
    (a, b) => Number(b.site.name === primary) - Number(a.site.name === primary),
  );
}

/**
 * The site whose metadata and objects the others follow: `spec.primary` in PrimarySecondary
 * mode, none in ActiveActive.
 */
export function leaderOf(pass: Pick<Pass, 'spec' | 'roles'>): string | undefined {
  if (pass.roles) return pass.roles.leader;
  return pass.spec.mode === 'PrimarySecondary' ? pass.spec.primary : undefined;
}

/**
 * A site joining an existing group must be empty: it only receives, so anything of its own
 * would be overwritten. What it holds that equals the agreed state (a partial earlier copy)
 * is fine, and so is a site a person accepted with its data (it adds what the group lacks).
 */
/**
 * What a site brings to the group: its entities but those it only receives (coverage.ts), which
 * never flow from it and are never overwritten unless the group holds them too.
 */
export function ownEntities(pass: Pass, o: Observed & { ok: true }): Map<string, Entity> {
  const map = pass.entities(o.snap);
  const receives = siteReceives(o);
  return receives === undefined ? map : new Map([...map].filter(([k]) => !receives(k)));
}

function newSitesEmpty(pass: Pass): Why | undefined {
  const { agreed } = pass;
  const adopting = new Set(agreed.adopting ?? []);
  const foreign = pass.observed.filter(
    (o) =>
      o.ok &&
      !agreed.joined.includes(o.site.name) &&
      !adopting.has(o.site.name) &&
      [...ownEntities(pass, o)].some(([k, e]) => agreed.entities[k] !== e.digest),
  );
  if (foreign.length === 0) return undefined;
  const names = foreign.map((o) => o.site.name).join(', ');
  return {
    reason: 'NewSiteNotEmpty',
    message: `A site joining the group must be empty, but ${names} holds buckets or IAM entities of its own`,
  };
}

/** The entity maps of these sites are equal (same keys, same digests). */
export function identicalMaps(maps: readonly ReadonlyMap<string, Entity>[]): boolean {
  const [first, ...rest] = maps;
  if (first === undefined) return true;
  return rest.every(
    (m) => m.size === first.size && [...m].every(([k, e]) => first.get(k)?.digest === e.digest),
  );
}

/** MinIO's rules for a group: what must hold before anything is written. */
export function prerequisites(pass: Pass): Why | undefined {
  const { spec, agreed, observed } = pass;
  const removed = agreed.joined.filter((s) => !spec.sites.some((x) => x.name === s));
  if (removed.length > 0 && !spec.allowSiteRemoval) {
    return {
      reason: 'SiteRemovalNotAllowed',
      message: `spec.sites: joined site(s) ${removed.join(', ')} were removed; set spec.allowSiteRemoval to allow it`,
    };
  }
  if (agreed.joined.length > 0) return newSitesEmpty(pass);
  if (pass.rebuilt?.from === 'union') return undefined;
  const holding = observed.filter((o) => o.ok && ownEntities(pass, o).size > 0);
  const withData = holding.map((o) => o.site.name);
  // Sites that hold exactly the same are no conflict: they join as they are.
  const same = identicalMaps(holding.map((o) => (o.ok ? ownEntities(pass, o) : new Map())));
  if (withData.length > 1 && !same) {
    return {
      reason: 'MultipleSitesWithData',
      message: `At creation at most one site may hold data, but ${withData.join(' and ')} do; empty all but one (the seed)`,
    };
  }
  const seed = withData[0];
  if (seed && withData.length === 1 && spec.primary && seed !== spec.primary) {
    return {
      reason: 'PrimaryNotSeed',
      message: `spec.primary is ${spec.primary} but only ${seed} holds data; name ${seed} as primary or empty it`,
    };
  }
  return undefined;
}

/**
 * The three-way merge of every site against the agreed state: unreachable and held sites keep
 * their base (neither vote nor receive), sites accepted with data add what the group lacks,
 * and deletion waves past `spec.deletionGuard` are held unless approved; keys `ignore` names
 * keep their agreed entries and get no action (a targeted pass).
 */
export function planPass(pass: Pass, ignore?: (key: string) => boolean): MergePlan {
  const { agreed } = pass;
  const adopting = new Set(agreed.adopting ?? []);
  const approved = pass.obj.metadata.annotations?.[APPROVE_DELETIONS_ANNOTATION];
  const leader = leaderOf(pass);
  return planMerge({
    ignore,
    sites: priorityOrder(pass).map((o) => {
      const seen = o.ok && !pass.identity.held.has(o.site.name);
      return {
        name: o.site.name,
        reachable: seen,
        joined: agreed.joined.includes(o.site.name),
        addsOnly: adopting.has(o.site.name),
        follower: leader !== undefined && o.site.name !== leader,
        entities: seen ? pass.entities(o.snap) : new Map<string, Entity>(),
        covers: siteCover(pass, o),
        receives: siteReceives(o),
      };
    }),
    agreed,
    guard: { ...pass.spec.deletionGuard, approved: approved?.trim() },
  });
}

/** The buckets the plan keeps (every site should hold them): what gets peer links. */
export function replicatedBuckets(plan: MergePlan): string[] {
  return plan.decisions.flatMap((d) => {
    const key: EntityKey | undefined = d.target === null ? undefined : decodeKey(d.key);
    return key?.kind === 'bucket' ? [key.bucket] : [];
  });
}

/**
 * In PrimarySecondary mode, the actions on secondaries that undo a change made there (the
 * primary did not change the key): what the status and an event call reverted.
 */
export function revertedOnSecondaries(pass: Pass, plan: MergePlan): MergeAction[] {
  const leader = leaderOf(pass);
  if (leader === undefined || plan.bootstrap) return [];
  const unchanged = new Set(
    plan.decisions.filter((d) => d.cause === 'unchanged').map((d) => d.key),
  );
  return plan.actions.filter(
    (a) => a.site !== leader && unchanged.has(a.key) && pass.agreed.joined.includes(a.site),
  );
}

/** Creations by ascending phase, then deletions by descending phase. */
export function phases(actions: readonly EntityAction[]): EntityAction[][] {
  const puts = new Map<number, EntityAction[]>();
  const dels = new Map<number, EntityAction[]>();
  for (const a of actions) {
    const m = a.kind === 'Put' ? puts : dels;
    const p = keyPhase(a.entity);
    m.set(p, [...(m.get(p) ?? []), a]);
  }
  const asc = (m: Map<number, EntityAction[]>) =>
    [...m.entries()].sort(([x], [y]) => x - y).map(([, v]) => v);
  return [...asc(puts), ...asc(dels).reverse()];
}
