/**
 * Sites are joined under an identity (MinIO: the deployment ID, which a wipe of the drives
 * changes; s3: the account). A joined site seen under another identity is not the site that
 * agreed: its emptiness is not a deletion and its data is not the group's. Pure.
 *
 * - No identity recorded yet (a group from before identities were kept): the one seen now is
 *   adopted (from `status.sites[].deploymentID` when the status has one: a wipe that happened
 *   across the upgrade is still seen).
 * - Changed, and the site holds nothing the group mirrors: it is no longer joined and rejoins
 *   as a receiving site (event SiteRejoined): the others refill it, objects included.
 * - Changed, and it holds data: held. No votes, no writes, no links, until a person accepts it
 *   (`sitesync.io/accept-site: <site>` or `<site>:<deployment ID>`, once per value); accepted,
 *   it rejoins and adds what the group lacks, never deleting or changing what it agreed.
 */
import { type AgreedState, recordedIdentity } from '../../replication/agreed-state.js';

/** A site observed whole in this pass. */
export interface SiteSeen {
  name: string;
  identity: string;
  /** Entities the group mirrors that the site holds. */
  entities: number;
}

export type IdentityOutcome =
  | { site: string; kind: 'rejoined'; was: string; now: string }
  | { site: string; kind: 'accepted'; was: string; now: string; entities: number }
  | { site: string; kind: 'held'; was: string; now: string; entities: number };

/** A parsed `sitesync.io/accept-site` value. */
export interface AcceptRequest {
  value: string;
  site: string;
  /** Accept only under this identity. */
  identity?: string | undefined;
}

export function parseAccept(value: string | undefined): AcceptRequest | undefined {
  const v = value?.trim();
  if (v === undefined || v === '') return undefined;
  const colon = v.indexOf(':');
  if (colon < 0) return { value: v, site: v };
  return { value: v, site: v.slice(0, colon), identity: v.slice(colon + 1) };
}

export interface IdentityJudgement {
  /** The agreed state with changed sites un-joined and new identities recorded. */
  state: AgreedState;
  outcomes: IdentityOutcome[];
  /** Sites held this pass, by name. */
  held: Map<string, Extract<IdentityOutcome, { kind: 'held' }>>;
}

const without = <T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> =>
  Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));

const withName = (list: readonly string[] | undefined, name: string): string[] =>
  [...new Set([...(list ?? []), name])].sort();

/** The state once `site` no longer counts as joined, under its new identity. */
function unjoin(state: AgreedState, site: string, now: string, adopting: boolean): AgreedState {
  return {
    ...state,
    joined: state.joined.filter((s) => s !== site),
    deviations: without(state.deviations, site),
    identities: { ...state.identities, [site]: now },
    refill: withName(state.refill, site),
    adopting: adopting ? withName(state.adopting, site) : state.adopting,
  };
}

function accepts(accept: AcceptRequest | undefined, site: SiteSeen): boolean {
  return (
    accept?.site === site.name &&
    (accept.identity === undefined || accept.identity === site.identity)
  );
}

/** Judges every site seen whole against the identity it joined under. */
export function judgeIdentities(
  agreed: AgreedState,
  seen: readonly SiteSeen[],
  opts: { accept?: AcceptRequest | undefined; fallback?: Readonly<Record<string, string>> } = {},
): IdentityJudgement {
  let state = agreed;
  const outcomes: IdentityOutcome[] = [];
  const held = new Map<string, Extract<IdentityOutcome, { kind: 'held' }>>();
  for (const site of seen) {
    if (!agreed.joined.includes(site.name) || site.identity === '') continue;
    const fallback = opts.fallback?.[site.name];
    const was = recordedIdentity(agreed, site.name) ?? fallback;
    if (was === undefined || was === site.identity) {
      state = { ...state, identities: { ...state.identities, [site.name]: site.identity } };
      continue;
    }
    const change = { site: site.name, was, now: site.identity };
    if (site.entities === 0) {
      state = unjoin(state, site.name, site.identity, false);
      outcomes.push({ ...change, kind: 'rejoined' });
    } else if (accepts(opts.accept, site)) {
      state = unjoin(state, site.name, site.identity, true);
      outcomes.push({ ...change, kind: 'accepted', entities: site.entities });
    } else {
      // Keep the identity it joined under recorded: the status shows the new one.
      state = { ...state, identities: { ...state.identities, [site.name]: was } };
      const h = { ...change, kind: 'held' as const, entities: site.entities };
      held.set(site.name, h);
      outcomes.push(h);
    }
  }
  return { state, outcomes, held };
}

/**
 * After a pass: every joined site seen whole (and not held) is recorded under the identity it
 * was seen with (a site that joined in this pass gets its first), and the sites accepted with
 * data that have joined are done adopting. `seen` identities are the pass's observations.
 */
export function recordIdentities(
  state: AgreedState,
  seen: readonly SiteSeen[],
  held: ReadonlySet<string>,
): AgreedState {
  const identities = { ...state.identities };
  for (const s of seen) {
    if (state.joined.includes(s.name) && !held.has(s.name) && s.identity !== '') {
      identities[s.name] = s.identity;
    }
  }
  const adopting = (state.adopting ?? []).filter((s) => !state.joined.includes(s));
  return { ...state, identities, adopting };
}

/** In words, for events, conditions and `status.sites[].lastIdentityChange`. */
export function describeOutcome(o: IdentityOutcome): string {
  const change = `${o.site}: deployment ID changed from ${o.was} to ${o.now}`;
  switch (o.kind) {
    case 'rejoined':
      return `${change} and the site holds nothing: it rejoins as a receiving site and is refilled from the others`;
    case 'accepted':
      return `${change}; accepted with its ${o.entities} entities: it rejoins, adding what the group lacks and receiving the rest`;
    case 'held':
      return `${change} and the site holds ${o.entities} entities: it is held (no votes, no writes) until annotated sitesync.io/accept-site=${o.site}`;
  }
}
