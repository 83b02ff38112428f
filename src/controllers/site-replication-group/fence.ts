/**
 * Fencing: a secondary refuses writes from every principal but the group's replication account.
 * MinIO evaluates every Deny statement of a principal's combined policy (its own and its groups'
 * mappings) before any Allow (minio/pkg `policy.Policy.IsAllowed`), service accounts and STS
 * sessions of a user are checked against their parent's policies too, and only the root
 * account skips policies. So the fence is one policy of the group (`sitesync-fence-<id>`,
 * Deny on every object and bucket write and every admin action) attached to every user, group
 * and external (LDAP) mapping of the fenced site, reconciled each pass so identities created
 * later are fenced too. The group's mirrored entities never include it (entities.ts), and a
 * mapping the executor copies onto a fenced site keeps it (executor.ts). On the primary the
 * same identities hold the group's write lease instead (the fence, in force once the lease the
 * operator renews runs out: lease.ts); one mapping write swaps the one for the other.
 */
import { RESERVED_PREFIX } from '../../api/names.js';
import { canonicalJSON } from '../../replication/digest.js';
import { decodeKey } from '../../replication/entity-key.js';
import type { MergeAction, MergePlan } from '../../replication/merge.js';
import { canonicalPolicy } from '../../replication/policy.js';
import { accountId } from '../../sites/replication-account.js';
import type { MappingKind, SiteClient } from '../../sites/site-client.js';
import type { IamState } from '../../sites/snapshot.js';
import { describeError } from '../../runtime/messages.js';
import {
  type LeaseBook,
  leaseExpiryOf,
  leasePolicy,
  leasePolicyName,
  nextExpiry,
  renewDue,
} from './lease.js';
import type { Failures } from './failures.js';
import { FENCE_POLICY } from './fence-policy.js';
import { type Reachable, reachable } from './observe.js';
import type { Pass } from './pass.js';
import { leaderOf } from './plan.js';

/** The group's fence policy on a site. */
export function fencePolicyName(groupUid: string): string {
  return `${RESERVED_PREFIX}fence-${accountId(groupUid)}`;
}

/**
 * The sites that must refuse writes in this pass: in PrimarySecondary mode every site but the
 * primary, and during a promotion what its step says (promotion.ts).
 */
export function fencedSites(pass: Pass): ReadonlySet<string> {
  if (pass.roles) return pass.roles.fenced;
  const leader = leaderOf(pass);
  return new Set(
    leader === undefined ? [] : pass.spec.sites.map((s) => s.name).filter((s) => s !== leader),
  );
}

/**
 * The group policy a mapping written on `site` must keep: the fence on a fenced site, the
 * lease on the primary, none in ActiveActive mode.
 */
export function fenceOf(pass: Pass, site: string): string | undefined {
  const role = roleOf(pass, site);
  if (role === 'open') return undefined;
  const names = groupPolicies(groupUid(pass));
  return role === 'fenced' ? names.fence : names.lease;
}

export interface FenceOutcome {
  /** Mapping or policy writes made (lease renewals not counted). */
  changes: number;
  /** Sites fenced whole in this pass (policy present, every identity holding it). */
  fenced: string[];
  /** Leased sites (the primary) and when their lease ends once the pass is done. */
  leases: Map<string, Date>;
  /** Lease renewals written. */
  renewed: number;
}

type Mappings = Map<string, string[]>;

/** A site's identities as observed, with their policies (the operator's own left out). */
function identitiesOf(iam: IamState, operator: string): { user: Mappings; group: Mappings } {
  const user: Mappings = new Map();
  const group: Mappings = new Map();
  for (const n of iam.users.keys()) user.set(n, iam.userPolicies.get(n)?.policies ?? []);
  for (const [n, m] of iam.stsPolicies) user.set(n, m.policies);
  for (const n of iam.groups.keys()) group.set(n, iam.groupPolicies.get(n)?.policies ?? []);
  for (const [n, m] of iam.groupPolicies) group.set(n, m.policies);
  const skip = (n: string) => n.startsWith(RESERVED_PREFIX) || n === operator;
  for (const m of [user, group]) for (const n of [...m.keys()]) if (skip(n)) m.delete(n);
  return { user, group };
}

/** The identities of a site once the pass's actions on it ran, with their policies. */
function identitiesAfter(
  pass: Pass,
  o: Reachable,
  done?: { plan: MergePlan | undefined; failures: Failures },
): { user: Mappings; group: Mappings } {
  const ids = identitiesOf(o.snap.iam, o.conn.accessKey);
  const mine = (done?.plan?.actions ?? []).filter(
    (a) => a.site === o.site.name && !done?.failures.hasEntity(a.site, a.key),
  );
  for (const a of mine) afterAction(ids, a);
  return ids;
}

/** An identity as one applied action leaves it. */
function afterAction(ids: { user: Mappings; group: Mappings }, a: MergeAction): void {
  const key = decodeKey(a.key);
  const put = a.kind === 'Put';
  // A mapping the executor wrote already is as it must be (fence kept on a fenced site).
  if (key?.kind === 'userMapping') ids.user.delete(key.name);
  else if (key?.kind === 'groupMapping') ids.group.delete(key.name);
  else if (key?.kind === 'user') changeIdentity(ids.user, key.name, put);
  else if (key?.kind === 'group') changeIdentity(ids.group, key.name, put);
}

function changeIdentity(m: Mappings, name: string, put: boolean): void {
  if (!put) m.delete(name);
  else if (!m.has(name)) m.set(name, []);
}

const groupUid = (pass: Pass) => pass.obj.metadata.uid ?? pass.ref.name;

/** What a site is in this pass: a fenced secondary, the leased primary, or open (ActiveActive). */
export type SiteRole = 'fenced' | 'leased' | 'open';

/** The role of `site`: fenced as fencedSites says; in PrimarySecondary mode the rest leased. */
export function roleOf(pass: Pass, site: string): SiteRole {
  if (fencedSites(pass).has(site)) return 'fenced';
  return pass.spec.mode === 'PrimarySecondary' ? 'leased' : 'open';
}

/** The lease a pass gives its primary: the operator's book of leases, and the pass's clock. */
export interface LeaseContext {
  book: LeaseBook;
  now: Date;
}

interface SiteFence {
  changes: number;
  /** The leased site's expiry once the pass is done. */
  expiresAt?: Date | undefined;
  renewed: boolean;
}

/**
 * The lease on a leased site, renewed when due (lease.ts): the book records the expiry before
 * it is sent, so a write whose answer is lost still counts for a forced promotion's wait.
 */
async function ensureLease(
  pass: Pass,
  o: Reachable,
  lease: LeaseContext,
): Promise<{ expiresAt: Date; created: boolean; renewed: boolean }> {
  const name = leasePolicyName(groupUid(pass));
  const held = o.snap.iam.policies.get(name);
  const current = held === undefined ? undefined : leaseExpiryOf(held);
  if (current !== undefined && !renewDue(current, lease.now, lease.book.terms)) {
    return { expiresAt: current, created: false, renewed: false };
  }
  const expiresAt = nextExpiry(lease.now, lease.book.terms);
  lease.book.wrote(groupUid(pass), o.site.name, expiresAt);
  await o.client.putPolicy(name, leasePolicy(expiresAt), pass.ctx.signal);
  return { expiresAt, created: held === undefined, renewed: held !== undefined };
}

/** A mapping's policies as the role wants them: the fence or the lease, never both. */
function policiesFor(policies: readonly string[], role: SiteRole, names: GroupPolicies): string[] {
  const own = policies.filter((p) => p !== names.fence && p !== names.lease);
  if (role === 'fenced') return [...own, names.fence];
  return role === 'leased' ? [...own, names.lease] : own;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((p) => b.includes(p));

interface GroupPolicies {
  fence: string;
  lease: string;
}

/** The group's own policies on its sites: the fence and the lease. */
export function groupPolicies(uid: string): GroupPolicies {
  return { fence: fencePolicyName(uid), lease: leasePolicyName(uid) };
}

/** Fences, leases or opens one site; returns the writes made. */
async function fenceSite(
  pass: Pass,
  o: Reachable,
  ids: { user: Mappings; group: Mappings },
  want: { role: SiteRole; lease: LeaseContext },
): Promise<SiteFence> {
  const names = groupPolicies(groupUid(pass));
  const { role } = want;
  const signal = pass.ctx.signal;
  const held = (n: string) => o.snap.iam.policies.get(n);
  let changes = 0;
  if (role === 'fenced' && !samePolicy(held(names.fence), FENCE_POLICY)) {
    await o.client.putPolicy(names.fence, FENCE_POLICY, signal);
    changes++;
  }
  const lease = role === 'leased' ? await ensureLease(pass, o, want.lease) : undefined;
  if (lease?.created === true) changes++;
  for (const kind of ['user', 'group'] as const satisfies readonly MappingKind[]) {
    for (const [name, policies] of ids[kind]) {
      const next = policiesFor(policies, role, names);
      if (sameSet(next, policies)) continue;
      await o.client.setPolicyMapping(kind, name, next, signal);
      changes++;
    }
  }
  changes += await dropUnused(o, role, names, signal);
  return { changes, expiresAt: lease?.expiresAt, renewed: lease?.renewed === true };
}

/** The group policies the role does not use, deleted once the mappings above dropped them. */
async function dropUnused(
  o: Reachable,
  role: SiteRole,
  names: GroupPolicies,
  signal: AbortSignal,
): Promise<number> {
  const unused = [
    ...(role === 'fenced' ? [] : [names.fence]),
    ...(role === 'leased' ? [] : [names.lease]),
  ].filter((n) => o.snap.iam.policies.has(n));
  for (const n of unused) await o.client.deletePolicy(n, signal);
  return unused.length;
}

/**
 * Takes the group's fence (and lease) off a site (the group is deleted): detached from every
 * mapping that holds it, then the policy deleted. Returns how many writes it made.
 */
export async function removeFence(
  client: SiteClient,
  iam: IamState,
  fence: string | readonly string[],
  signal: AbortSignal,
): Promise<number> {
  const names: readonly string[] = typeof fence === 'string' ? [fence] : fence;
  let changes = 0;
  const all = [
    ...[...iam.userPolicies, ...iam.stsPolicies].map(([n, m]) => ['user', n, m] as const),
    ...[...iam.groupPolicies].map(([n, m]) => ['group', n, m] as const),
  ];
  for (const [kind, name, m] of all) {
    if (!m.policies.some((p) => names.includes(p))) continue;
    await client.setPolicyMapping(
      kind,
      name,
      m.policies.filter((p) => !names.includes(p)),
      signal,
    );
    changes++;
  }
  for (const n of names) {
    if (!iam.policies.has(n)) continue;
    await client.deletePolicy(n, signal);
    changes++;
  }
  return changes;
}

const samePolicy = (a: unknown, b: unknown) =>
  a !== undefined && canonicalJSON(canonicalPolicy(a)) === canonicalJSON(canonicalPolicy(b));

/**
 * Every reachable site fenced, leased or opened as its role says (roleOf), after the pass's
 * actions: the fence (or the lease) put, attached to every user, group and external mapping,
 * the other detached and removed. What fails is recorded per site.
 */
export async function reconcileFences(
  pass: Pass,
  opts: { lease: LeaseContext; failures: Failures; plan?: MergePlan | undefined },
): Promise<FenceOutcome> {
  const out: FenceOutcome = { changes: 0, fenced: [], leases: new Map(), renewed: 0 };
  const sites = reachable(pass.observed).filter((o) => !pass.identity.held.has(o.site.name));
  await Promise.all(
    sites.map(async (o) => {
      const role = roleOf(pass, o.site.name);
      try {
        const ids = identitiesAfter(pass, o, { plan: opts.plan, failures: opts.failures });
        const done = await fenceSite(pass, o, ids, { role, lease: opts.lease });
        out.changes += done.changes;
        if (done.renewed) out.renewed++;
        if (done.expiresAt !== undefined) out.leases.set(o.site.name, done.expiresAt);
        if (role === 'fenced') out.fenced.push(o.site.name);
      } catch (e: unknown) {
        pass.ctx.signal.throwIfAborted();
        opts.failures.other(o.site.name, `fence: ${describeError(e)}`);
      }
    }),
  );
  return out;
}

/**
 * A pass that writes nothing else (paused, or blocked) still renews the lease its primary
 * holds, so pausing a group never turns its primary read-only; nothing is attached or created.
 * Returns the leases in force.
 */
export async function renewLeasesOnly(
  pass: Pass,
  opts: { lease: LeaseContext; failures: Failures },
): Promise<Map<string, Date>> {
  const leases = new Map<string, Date>();
  const name = leasePolicyName(groupUid(pass));
  const sites = reachable(pass.observed).filter(
    (o) =>
      !pass.identity.held.has(o.site.name) &&
      o.snap.iam.policies.has(name) &&
      roleOf(pass, o.site.name) === 'leased',
  );
  await Promise.all(
    sites.map(async (o) => {
      try {
        leases.set(o.site.name, (await ensureLease(pass, o, opts.lease)).expiresAt);
      } catch (e: unknown) {
        pass.ctx.signal.throwIfAborted();
        opts.failures.other(o.site.name, `lease: ${describeError(e)}`);
      }
    }),
  );
  return leases;
}
