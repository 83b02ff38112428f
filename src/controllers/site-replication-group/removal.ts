/**
 * Removing a site disconnects it both ways. The agreed state remembers every member's endpoint
 * and credentials Secret (`members`), so after a site leaves the spec the operator still knows
 * where it is: while it can be reached, the group's rules, targets and replication account are
 * removed from it (retried every pass while it cannot; `status.removedSites` says what is
 * left); and once, the remaining sites' replication credentials are rotated, so the targets
 * the removed site still holds (with the old credentials) can write nothing into the group.
 */
import type { Site } from '../../api/common.js';
import type { SiteReplicationGroupSpec } from '../../api/site-replication-group.js';
import type { AgreedState, MemberRecord } from '../../replication/agreed-state.js';
import { errorMessage } from '../../runtime/logger.js';
import {
  type ReplicationAccountNames,
  removeReplicationAccount,
} from '../../sites/replication-account.js';
import { removeFence } from './fence.js';
import type { Observed } from './observe.js';
import { type GroupOwnership, linksLeft, removePeerLinks } from './peer-links.js';

/** A site the agreed state knows that the spec no longer lists. */
export interface RemovedMember {
  name: string;
  member: MemberRecord;
}

export function removedMembers(
  state: AgreedState,
  spec: SiteReplicationGroupSpec,
): RemovedMember[] {
  const inSpec = new Set(spec.sites.map((s) => s.name));
  return Object.entries(state.members ?? {})
    .filter(([name]) => !inSpec.has(name))
    .map(([name, member]) => ({ name, member }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** A removed member as a site to connect to. */
export function memberSite(r: RemovedMember): Site {
  const { removed: _removed, ...site } = r.member;
  return { name: r.name, ...site };
}

/** The removed members the remaining sites' credentials have not been rotated for yet. */
export const needsRotation = (removed: readonly RemovedMember[]): boolean =>
  removed.some((r) => r.member.removed !== true);

/**
 * The state with every spec site recorded as a member (as the spec says it now), and the
 * removed ones marked rotated when `rotated`. Removed members stay until they are cleaned.
 */
export function recordMembers(
  state: AgreedState,
  spec: SiteReplicationGroupSpec,
  rotated: boolean,
): AgreedState {
  const members: Record<string, MemberRecord> = {};
  for (const [name, m] of Object.entries(state.members ?? {})) {
    members[name] = rotated ? { ...m, removed: true } : m;
  }
  for (const { name, ...site } of spec.sites) members[name] = site;
  return { ...state, members };
}

/** The state without the members whose cleanup is done. */
export function forgetMembers(state: AgreedState, cleaned: readonly string[]): AgreedState {
  if (cleaned.length === 0) return state;
  const drop = (r: Readonly<Record<string, unknown>> | undefined) =>
    Object.fromEntries(Object.entries(r ?? {}).filter(([k]) => !cleaned.includes(k)));
  return {
    ...state,
    members: drop(state.members) as Record<string, MemberRecord>,
    identities: drop(state.identities) as Record<string, string>,
  };
}

export interface Disconnected {
  /** Removed sites now clean of the group. */
  cleaned: { name: string; removed: string[] }[];
  /** Removed sites that still hold something of the group, and why. */
  left: { name: string; message: string }[];
}

interface CleanContext {
  own: GroupOwnership;
  names: ReplicationAccountNames;
  /** The group's fence and lease policies (a removed secondary is unfenced, a primary unleased). */
  fence?: string | readonly string[] | undefined;
  signal: AbortSignal;
}

async function cleanOne(o: Extract<Observed, { ok: true }>, ctx: CleanContext): Promise<string[]> {
  const removed = await removePeerLinks(
    { name: o.site.name, client: o.client, snap: o.snap },
    ctx.own,
    ctx.signal,
  );
  removed.push(...(await removeReplicationAccount(o.client, o.snap.iam, ctx.names, ctx.signal)));
  if (
    ctx.fence !== undefined &&
    (await removeFence(o.client, o.snap.iam, ctx.fence, ctx.signal)) > 0
  ) {
    removed.push(`fence ${[ctx.fence].flat().join(', ')}`);
  }
  return removed;
}

/** Removes the group from every removed site it can reach; says what is left elsewhere. */
export async function disconnectRemoved(
  removed: readonly Observed[],
  ctx: CleanContext,
): Promise<Disconnected> {
  const out: Disconnected = { cleaned: [], left: [] };
  const what = `the group's peer links and account ${ctx.names.user}`;
  for (const o of removed) {
    const name = o.site.name;
    if (!o.ok) {
      out.left.push({ name, message: `${o.message}; left there: ${what} (retried every pass)` });
      continue;
    }
    try {
      out.cleaned.push({ name, removed: await cleanOne(o, ctx) });
    } catch (e: unknown) {
      ctx.signal.throwIfAborted();
      const buckets = linksLeft(o.snap, ctx.own);
      const left = buckets.length > 0 ? `links on ${buckets.length} bucket(s)` : what;
      out.left.push({ name, message: `${errorMessage(e)}; left there: ${left} (retried)` });
    }
  }
  return out;
}
