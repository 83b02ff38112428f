/**
 * Three-way merge of a group's replicated entities, with a base per site.
 *
 * Every replicated thing is an entity: a key (`bucket:photos`, `user:alice`, ...) and the digest
 * of its content, or absent. Per key, over the keys the reachable sites hold, the agreed state
 * holds, and the joined sites' deviations name:
 *
 * 1. A joined site's base is its deviation for the key if it has one, else the agreed digest.
 *    A site that has not joined has no base: it never votes, it only receives, so the emptiness
 *    of a new site is never read as deletions. An unreachable site neither votes nor receives
 *    and keeps its base, so its stale value is not taken for a change when it returns.
 * 2. The voters are the reachable joined sites whose value differs from their base. On an
 *    initial join (no site has joined yet) there are no bases: every reachable site that holds
 *    the key votes for its digest, and absence is no vote; but a digest an unfinished earlier
 *    initial join agreed on stands while a reachable site holds it.
 * 3. No voter: the target is the agreed digest (re-applied where a site still differs, e.g.
 *    after a failed apply). Voters that agree: their value is the target (absent = a deletion,
 *    which propagates). Voters that disagree: a conflict, won by the newest `updatedAt` when
 *    every voter has one, else by the first voter in priority (site) order.
 * 4. Every reachable site whose value differs from the target gets a `Put` (copied from the
 *    first reachable site that holds the target digest) or a `Delete`. When no reachable site
 *    holds the target digest, the key is `blocked` and gets no action.
 *
 * 5. Deletions of agreed keys that a minority of the joined sites drive, beyond the guard's
 *    bound (deletion-guard.ts), are held: no action on any joined site and no decision, so the
 *    agreed state and the deviations of those keys stay as they were and the driving sites
 *    keep voting for them until a person approves that exact plan. Sites that have not joined
 *    still receive the agreed value of a held key, so they never join without it.
 * A site that has not joined votes only when it is `addsOnly` (accepted with data of its own):
 * for its keys the agreed state lacks, never for a deletion or a change.
 * A site whose `covers` excludes a key (its flavor cannot hold that kind of entity: a user's
 * secret key on an AWS-style site) takes no part in that key: it neither votes nor receives,
 * and keeps no deviation for it; the other sites merge it as if that site were not there.
 *
 * `nextAgreed` turns a plan and its outcomes into the next agreed state: targets become the
 * agreed digests, and a joined site whose value (or, unreachable, whose base) still differs from
 * the target keeps it as a deviation. A reachable site none of whose actions failed joins;
 * `sequence` grows by the actions that succeeded. Ignored keys keep their agreed entries.
 * Pure and deterministic: output sorted by key, then site priority.
 */
import {
  ABSENT,
  type AgreedState,
  agreedBase,
  agreedDigest,
  siteDeviations,
} from './agreed-state.js';
import {
  type DeletionCandidate,
  type DeletionGuardSettings,
  type HeldDeletions,
  guardDeletions,
} from './deletion-guard.js';

export interface Entity {
  digest: string;
  /** When the site last changed it (ms since the epoch), if the site knows. */
  updatedAt?: number | undefined;
  /**
   * The part of it a site that only receives the key can hold (`MergeSite.receives`): the
   * digest to compare there (absent: `digest`); null: such a site must not hold it.
   */
  shape?: string | null | undefined;
}

export interface MergeSite {
  name: string;
  reachable: boolean;
  /** Has taken part in a merge (is in `AgreedState.joined`): only joined sites have a base. */
  joined: boolean;
  /** Not joined, accepted with data of its own: votes for its keys the agreed state lacks. */
  addsOnly?: boolean | undefined;
  /**
   * Never votes, only receives (a secondary in PrimarySecondary mode): what differs from the
   * target on it is reverted, never merged back.
   */
  follower?: boolean | undefined;
  entities: ReadonlyMap<string, Entity>;
  /** The keys this site can hold (absent: every key). */
  covers?: ((key: string) => boolean) | undefined;
  /**
   * Of the keys it covers, those it only receives (absent: none): it never votes on them and is
   * never their source; it holds the source's `shape`; it is sent a deletion only of a key the
   * group had agreed on, so what was made there alone stays there; it keeps no deviation.
   */
  receives?: ((key: string) => boolean) | undefined;
}

export interface MergeInput {
  /** In priority order: the primary first. Names are unique. */
  sites: readonly MergeSite[];
  agreed: AgreedState;
  /** Keys the merge leaves alone: no action, and their agreed entries are carried over. */
  ignore?: ((key: string) => boolean) | undefined;
  /** Hold deletion waves a minority of the joined sites drive (absent: no guard). */
  guard?: DeletionGuardSettings | undefined;
}

/** Copy the entity `key` with digest `digest` from site `from` to site `site`. */
export interface PutEntity {
  kind: 'Put';
  key: string;
  site: string;
  from: string;
  /** With `shape`, the source's shape the receiving site is to hold. */
  digest: string;
  /** The site only receives the key: it gets the part of the entity it can hold. */
  shape?: true | undefined;
}

/** Delete the entity `key` on site `site`. */
export interface DeleteEntity {
  kind: 'Delete';
  key: string;
  site: string;
}

export type MergeAction = PutEntity | DeleteEntity;

export interface ConflictCandidate {
  site: string;
  /** null: the site deleted the entity. */
  digest: string | null;
}

export type ConflictReason = 'newest' | 'priority';

export interface MergeConflict {
  key: string;
  /** The changed sites, in priority order. */
  candidates: readonly ConflictCandidate[];
  winner: string;
  reason: ConflictReason;
}

/** A key whose target digest no reachable site holds (it lives on an unreachable site only). */
export interface BlockedKey {
  key: string;
  digest: string;
}

/** `unchanged`: no site changed the key; `changed`: the changed sites agreed; `conflict`. */
export type DecisionCause = 'unchanged' | 'changed' | 'conflict';

export interface MergeDecision {
  key: string;
  /** The digest every site should hold; null: absent everywhere. */
  target: string | null;
  cause: DecisionCause;
  /** The sites whose votes made the target (none when unchanged). */
  voters: readonly string[];
}

export interface MergePlan {
  /** No site had joined: an initial join, where presence votes and absence does not. */
  bootstrap: boolean;
  /** One per key considered (ignored keys are not), sorted by key. */
  decisions: readonly MergeDecision[];
  /** Sorted by key, then site priority. */
  actions: readonly MergeAction[];
  conflicts: readonly MergeConflict[];
  blocked: readonly BlockedKey[];
  /** Deletions held by the guard: they have no decision and no action on joined sites. */
  held?: HeldDeletions | undefined;
  /** A held plan carried out because it was approved. */
  approved?: HeldDeletions | undefined;
  /** What the plan was made from; `nextAgreed` reads it. */
  basis: { sites: readonly MergeSite[]; agreed: AgreedState };
}

/** What became of a planned action; `{ ...action, ok }` is one. */
export interface ActionOutcome {
  site: string;
  key: string;
  ok: boolean;
}

interface _Context {
  sites: readonly MergeSite[];
  reachable: readonly MergeSite[];
  agreed: AgreedState;
  bootstrap: boolean;
}

interface _Vote {
  site: string;
  value: string | null;
  updatedAt: number | undefined;
}

interface _Decided {
  decision: MergeDecision;
  conflict?: MergeConflict | undefined;
}

const _compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const _covers = (site: MergeSite, key: string): boolean => site.covers?.(key) ?? true;

const _receives = (site: MergeSite, key: string): boolean =>
  _covers(site, key) && (site.receives?.(key) ?? false);

/** The site takes full part in the key: votes, receives, may be its source. */
const _full = (site: MergeSite, key: string): boolean =>
  _covers(site, key) && !(site.receives?.(key) ?? false);

function _valueOf(site: MergeSite, key: string): string | null {
  return site.entities.get(key)?.digest ?? null;
}

function _checkNames(sites: readonly MergeSite[]): void {
  const seen = new Set<string>();
  for (const { name } of sites) {
    if (seen.has(name)) throw new Error(`planMerge: site ${JSON.stringify(name)} is listed twice`);
    seen.add(name);
  }
}

function _keys(input: MergeInput): string[] {
  const keys = new Set(Object.keys(input.agreed.entities));
  for (const site of input.sites) {
    if (site.reachable) {
      for (const key of site.entities.keys()) if (_full(site, key)) keys.add(key);
    }
    if (site.joined) {
      for (const key of Object.keys(siteDeviations(input.agreed, site.name))) keys.add(key);
    }
  }
  return [...keys].filter((key) => !input.ignore?.(key)).sort(_compare);
}

function _isVote(ctx: _Context, site: MergeSite, key: string, value: string | null): boolean {
  if (site.follower === true) return false;
  if (ctx.bootstrap) return value !== null;
  if (site.joined) return value !== agreedBase(ctx.agreed, site.name, key);
  return site.addsOnly === true && value !== null && agreedDigest(ctx.agreed, key) === null;
}

function _votes(ctx: _Context, key: string): _Vote[] {
  const votes: _Vote[] = [];
  for (const site of ctx.reachable) {
    if (!_full(site, key)) continue;
    const entity = site.entities.get(key);
    const value = entity?.digest ?? null;
    if (!_isVote(ctx, site, key, value)) continue;
    const at = entity?.updatedAt;
    votes.push({ site: site.name, value, updatedAt: Number.isFinite(at) ? at : undefined });
  }
  return votes;
}

/** The vote with the newest timestamp (the first such in priority order), if all have one. */
function _newest(votes: readonly _Vote[]): _Vote | undefined {
  let newest: _Vote | undefined;
  for (const vote of votes) {
    if (vote.updatedAt === undefined) return undefined;
    if (newest?.updatedAt === undefined || vote.updatedAt > newest.updatedAt) newest = vote;
  }
  return newest;
}

function _conflict(key: string, votes: readonly _Vote[], first: _Vote): _Decided {
  const newest = _newest(votes);
  const winner = newest ?? first;
  const voters = votes.filter((v) => v.value === winner.value).map((v) => v.site);
  return {
    decision: { key, target: winner.value, cause: 'conflict', voters },
    conflict: {
      key,
      candidates: votes.map(({ site, value }) => ({ site, digest: value })),
      winner: winner.site,
      reason: newest === undefined ? 'priority' : 'newest',
    },
  };
}

/**
 * On an initial join that an earlier round left unfinished (no site could join), the digest that
 * round agreed on stands while a reachable site holds it: partial progress never flips it.
 */
function _standing(ctx: _Context, key: string): MergeDecision | undefined {
  const agreed = agreedDigest(ctx.agreed, key);
  if (!ctx.bootstrap || agreed === null) return undefined;
  if (!ctx.reachable.some((site) => _full(site, key) && _valueOf(site, key) === agreed)) {
    return undefined;
  }
  return { key, target: agreed, cause: 'unchanged', voters: [] };
}

function _decide(ctx: _Context, key: string): _Decided {
  const standing = _standing(ctx, key);
  if (standing !== undefined) return { decision: standing };
  const votes = _votes(ctx, key);
  const first = votes[0];
  if (first === undefined) {
    const target = agreedDigest(ctx.agreed, key);
    return { decision: { key, target, cause: 'unchanged', voters: [] } };
  }
  if (votes.every((vote) => vote.value === first.value)) {
    const voters = votes.map((v) => v.site);
    return { decision: { key, target: first.value, cause: 'changed', voters } };
  }
  return _conflict(key, votes, first);
}

/** The source's shape of the target (null: none; undefined: no full site holds it). */
function _wanted(
  decision: { key: string; target: string | null },
  from: MergeSite | undefined,
): string | null | undefined {
  if (decision.target === null) return null;
  const source = from?.entities.get(decision.key);
  if (source === undefined) return undefined;
  return source.shape === undefined ? decision.target : source.shape;
}

/**
 * The action bringing a site that only receives the key to the part of the target it holds
 * (the shape of `from`, the full site holding the target), if it lacks it.
 */
function _receiving(
  ctx: _Context,
  site: MergeSite,
  decision: { key: string; target: string | null },
  from: MergeSite | undefined,
): MergeAction | undefined {
  const { key, target } = decision;
  const entity = site.entities.get(key);
  const now = entity === undefined ? null : (entity.shape ?? entity.digest);
  const want = _wanted(decision, from);
  if (want === undefined || now === want) return undefined;
  if (want !== null && from !== undefined) {
    return { kind: 'Put', key, site: site.name, from: from.name, digest: want, shape: true };
  }
  // Only what the group had agreed on is deleted: what was made on this site alone stays.
  const agreed = target !== null || agreedDigest(ctx.agreed, key) !== null;
  return agreed ? { kind: 'Delete', key, site: site.name } : undefined;
}

/** Actions bringing `to` (default: every reachable site) to the target, or a blocked key. */
function _act(
  ctx: _Context,
  decision: { key: string; target: string | null },
  to: readonly MergeSite[] = ctx.reachable,
): MergeAction[] | BlockedKey {
  const { key, target } = decision;
  const from =
    target === null
      ? undefined
      : ctx.reachable.find((site) => _full(site, key) && _valueOf(site, key) === target);
  const behind = to.filter((site) => _full(site, key) && _valueOf(site, key) !== target);
  if (target !== null && from === undefined && behind.length > 0) return { key, digest: target };
  return to.flatMap((site): MergeAction[] => {
    if (_receives(site, key)) {
      const a = _receiving(ctx, site, decision, from);
      return a === undefined ? [] : [a];
    }
    if (!behind.includes(site)) return [];
    if (target === null || from === undefined) return [{ kind: 'Delete', key, site: site.name }];
    return [{ kind: 'Put', key, site: site.name, from: from.name, digest: target }];
  });
}

/** Deletions of keys the group agreed were present, with the sites that voted for them. */
function _deletions(ctx: _Context, decided: readonly _Decided[]): DeletionCandidate[] {
  return decided.flatMap(({ decision: d }) =>
    d.target === null && d.voters.length > 0 && agreedDigest(ctx.agreed, d.key) !== null
      ? [{ key: d.key, voters: d.voters }]
      : [],
  );
}

function _guard(input: MergeInput, ctx: _Context, decided: readonly _Decided[]) {
  if (input.guard === undefined || ctx.bootstrap) return {};
  return guardDeletions(_deletions(ctx, decided), {
    joined: input.sites.filter((site) => site.joined).length,
    agreedEntities: Object.keys(input.agreed.entities).length,
    settings: input.guard,
  });
}

/** Plans the actions that bring every reachable site to the merged state. Pure. */
export function planMerge(input: MergeInput): MergePlan {
  _checkNames(input.sites);
  const ctx: _Context = {
    sites: input.sites,
    reachable: input.sites.filter((site) => site.reachable),
    agreed: input.agreed,
    bootstrap: !input.sites.some((site) => site.joined),
  };
  const decided = _keys(input).map((key) => _decide(ctx, key));
  const { held, approved } = _guard(input, ctx, decided);
  const heldKeys = new Set(held?.keys ?? []);
  const receivers = ctx.reachable.filter((site) => !site.joined);
  const decisions: MergeDecision[] = [];
  const actions: MergeAction[] = [];
  const conflicts: MergeConflict[] = [];
  const blocked: BlockedKey[] = [];
  for (const { decision, conflict } of decided) {
    const isHeld = heldKeys.has(decision.key);
    if (!isHeld) decisions.push(decision);
    if (conflict !== undefined && !isHeld) conflicts.push(conflict);
    const acted = isHeld
      ? _act(ctx, { key: decision.key, target: agreedDigest(ctx.agreed, decision.key) }, receivers)
      : _act(ctx, decision);
    if (Array.isArray(acted)) actions.push(...acted);
    else blocked.push(acted);
  }
  const basis = { sites: input.sites, agreed: input.agreed };
  return {
    bootstrap: ctx.bootstrap,
    decisions,
    actions,
    conflicts,
    blocked,
    ...(held ? { held } : {}),
    ...(approved ? { approved } : {}),
    basis,
  };
}

/** site -> key -> whether the planned action succeeded (no outcome = failed). */
function _results(
  actions: readonly MergeAction[],
  outcomes: Iterable<ActionOutcome>,
): Map<string, Map<string, boolean>> {
  const succeeded = new Set<string>();
  for (const o of outcomes) if (o.ok) succeeded.add(JSON.stringify([o.site, o.key]));
  const results = new Map<string, Map<string, boolean>>();
  for (const { site, key } of actions) {
    const bySite = results.get(site) ?? new Map<string, boolean>();
    bySite.set(key, succeeded.has(JSON.stringify([site, key])));
    results.set(site, bySite);
  }
  return results;
}

function _sortedRecord(entries: Iterable<[string, string]>): Record<string, string> {
  return Object.fromEntries([...entries].sort(([a], [b]) => _compare(a, b)));
}

function _entities(plan: MergePlan, decided: ReadonlySet<string>): Record<string, string> {
  const carried = Object.entries(plan.basis.agreed.entities).filter(([key]) => !decided.has(key));
  for (const { key, target } of plan.decisions) if (target !== null) carried.push([key, target]);
  return _sortedRecord(carried);
}

/** A site's value once the outcomes are in; for an unreachable site, its unchanged base. */
function _valueAfter(
  plan: MergePlan,
  site: MergeSite,
  decision: MergeDecision,
  results: ReadonlyMap<string, boolean> | undefined,
): string | null {
  if (!site.reachable) return agreedBase(plan.basis.agreed, site.name, decision.key);
  if (results?.get(decision.key) === true) return decision.target;
  return _valueOf(site, decision.key);
}

function _deviations(
  plan: MergePlan,
  site: MergeSite,
  results: ReadonlyMap<string, boolean> | undefined,
  decided: ReadonlySet<string>,
): Record<string, string> {
  const previous = site.joined ? siteDeviations(plan.basis.agreed, site.name) : {};
  const carried = Object.entries(previous).filter(([key]) => !decided.has(key));
  // A loop, not flatMap: a steady pass has thousands of decisions and nearly no deviation.
  for (const decision of plan.decisions) {
    if (!_full(site, decision.key)) continue;
    const after = _valueAfter(plan, site, decision, results);
    if (after !== decision.target) carried.push([decision.key, after ?? ABSENT]);
  }
  return _sortedRecord(carried);
}

/**
 * The agreed state after `plan` was executed with `outcomes` (an action without an outcome
 * counts as failed). A site joins once it was reachable and none of its actions failed.
 */
export function nextAgreed(plan: MergePlan, outcomes: Iterable<ActionOutcome>): AgreedState {
  const results = _results(plan.actions, outcomes);
  const failed = (site: MergeSite) => [...(results.get(site.name)?.values() ?? [])].includes(false);
  const joined = plan.basis.sites.filter(
    (site) => site.joined || (site.reachable && !failed(site)),
  );
  const decided = new Set(plan.decisions.map(({ key }) => key));
  const deviations = joined
    .map((site): [string, Record<string, string>] => [
      site.name,
      _deviations(plan, site, results.get(site.name), decided),
    ])
    .filter(([, record]) => Object.keys(record).length > 0);
  const applied = [...results.values()].reduce(
    (n, bySite) => n + [...bySite.values()].filter(Boolean).length,
    0,
  );
  return {
    ...plan.basis.agreed,
    entities: _entities(plan, decided),
    deviations: Object.fromEntries(deviations),
    joined: joined.map(({ name }) => name),
    sequence: plan.basis.agreed.sequence + applied,
  };
}
