/**
 * Fencing: a secondary refuses writes from every principal but the group's replication account.
 * MinIO evaluates every Deny statement of a principal's combined policy (its own and its groups'
 * mappings) before any Allow (minio/pkg `policy.Policy.IsAllowed`), service accounts and STS
 * sessions of a user are checked against their parent's policies too, and only the root
 * account skips policies. So the fence is one policy of the group (`sitesync-fence-<id>`,
 * Deny on every object and bucket write and every admin action) attached to every user, group
 * and external (LDAP) mapping of the fenced site, reconciled each pass so identities created
 * later are fenced too. The group's mirrored entities never include it (entities.ts), and a
 * mapping the executor copies onto a fenced site keeps it (executor.ts).
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
import type { Failures } from './failures.js';
import { type Reachable, reachable } from './observe.js';
import type { Pass } from './pass.js';
import { leaderOf } from './plan.js';

/** The group's fence policy on a site. */
export function fencePolicyName(groupUid: string): string {
  return `${RESERVED_PREFIX}fence-${accountId(groupUid)}`;
}

/** Every write a principal could make to a site's objects, buckets or IAM, denied. */
export const FENCE_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Deny',
      Action: [
        's3:Put*',
        's3:Delete*',
        's3:AbortMultipartUpload',
        's3:CreateBucket',
        's3:ForceDeleteBucket',
        's3:RestoreObject',
        's3:BypassGovernanceRetention',
        's3:ReplicateObject',
        's3:ReplicateDelete',
        's3:ReplicateTags',
      ],
      Resource: ['arn:aws:s3:::*'],
    },
    { Effect: 'Deny', Action: ['admin:*'] },
  ],
} as const;

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

/** The fence policy a mapping written on `site` must keep, if the site is fenced. */
export function fenceOf(pass: Pass, site: string): string | undefined {
  return fencedSites(pass).has(site) ? fencePolicyName(groupUid(pass)) : undefined;
}

export interface FenceOutcome {
  /** Mapping or policy writes made. */
  changes: number;
  /** Sites fenced whole in this pass (policy present, every identity holding it). */
  fenced: string[];
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

/** Fences (or unfences) one site; returns the writes made. */
async function fenceSite(
  pass: Pass,
  o: Reachable,
  ids: { user: Mappings; group: Mappings },
  fenced: boolean,
): Promise<number> {
  const fence = fencePolicyName(groupUid(pass));
  const signal = pass.ctx.signal;
  const held = o.snap.iam.policies.get(fence);
  let changes = 0;
  if (fenced && !samePolicy(held, FENCE_POLICY)) {
    await o.client.putPolicy(fence, FENCE_POLICY, signal);
    changes++;
  }
  for (const kind of ['user', 'group'] as const satisfies readonly MappingKind[]) {
    for (const [name, policies] of ids[kind]) {
      const has = policies.includes(fence);
      if (has === fenced) continue;
      const next = fenced ? [...policies, fence] : policies.filter((p) => p !== fence);
      await o.client.setPolicyMapping(kind, name, next, signal);
      changes++;
    }
  }
  if (!fenced && held !== undefined) {
    await o.client.deletePolicy(fence, signal);
    changes++;
  }
  return changes;
}

/**
 * Takes the group's fence off a site (the group is deleted): detached from every mapping that
 * holds it, then the policy deleted. Returns how many writes it made.
 */
export async function removeFence(
  client: SiteClient,
  iam: IamState,
  fence: string,
  signal: AbortSignal,
): Promise<number> {
  let changes = 0;
  const all = [
    ...[...iam.userPolicies, ...iam.stsPolicies].map(([n, m]) => ['user', n, m] as const),
    ...[...iam.groupPolicies].map(([n, m]) => ['group', n, m] as const),
  ];
  for (const [kind, name, m] of all) {
    if (!m.policies.includes(fence)) continue;
    await client.setPolicyMapping(
      kind,
      name,
      m.policies.filter((p) => p !== fence),
      signal,
    );
    changes++;
  }
  if (iam.policies.has(fence)) {
    await client.deletePolicy(fence, signal);
    changes++;
  }
  return changes;
}

const samePolicy = (a: unknown, b: unknown) =>
  a !== undefined && canonicalJSON(canonicalPolicy(a)) === canonicalJSON(canonicalPolicy(b));

/**
 * Every reachable site fenced or unfenced as `fenced` says, after the pass's actions: the
 * fence policy put, attached to every user, group and external mapping (or detached and
 * removed). What fails is recorded per site.
 */
export async function reconcileFences(
  pass: Pass,
  opts: { fenced: ReadonlySet<string>; failures: Failures; plan?: MergePlan | undefined },
): Promise<FenceOutcome> {
  const out: FenceOutcome = { changes: 0, fenced: [] };
  const sites = reachable(pass.observed).filter((o) => !pass.identity.held.has(o.site.name));
  await Promise.all(
    sites.map(async (o) => {
      const fenced = opts.fenced.has(o.site.name);
      try {
        const ids = identitiesAfter(pass, o, { plan: opts.plan, failures: opts.failures });
        out.changes += await fenceSite(pass, o, ids, fenced);
        if (fenced) out.fenced.push(o.site.name);
      } catch (e: unknown) {
        pass.ctx.signal.throwIfAborted();
        opts.failures.other(o.site.name, `fence: ${describeError(e)}`);
      }
    }),
  );
  return out;
}
