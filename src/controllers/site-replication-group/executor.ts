/**
 * Carries out the merge's entity actions on a site: each kind of entity maps to the driver
 * calls that make the target site hold the source site's value (Put) or not hold it (Delete).
 * Buckets are deleted only when empty; object data is never deleted.
 */
import {
  type BucketConfigKind,
  type EntityKey,
  bucketOf,
  decodeKey,
  encodeKey,
} from '../../replication/entity-key.js';
import type { MergeAction } from '../../replication/merge.js';
import type { SiteClient } from '../../sites/site-client.js';
import { SiteError } from '../../sites/site-error.js';
import type { BucketMeta, SiteSnapshot } from '../../sites/snapshot.js';
import { receivesOnly } from './coverage.js';
import { mirroredPolicies, portableGroup, portablePolicies, portableUser } from './entities.js';

/** A merge action with its key decoded: what the executor switches on. */
export type EntityAction = MergeAction & { entity: EntityKey };

/** The plan's actions, typed; keys this version cannot decode are set apart. */
export function typedActions(actions: readonly MergeAction[]): {
  typed: EntityAction[];
  unknown: MergeAction[];
} {
  const typed: EntityAction[] = [];
  const unknown: MergeAction[] = [];
  for (const a of actions) {
    const entity = decodeKey(a.key);
    if (entity === undefined) unknown.push(a);
    else typed.push({ ...a, entity });
  }
  return { typed, unknown };
}

export interface ActionContext {
  target: SiteClient;
  /** What the target held when observed. */
  targetSnap: SiteSnapshot;
  /** The snapshot of the site the value comes from (Put only). */
  sourceSnap?: SiteSnapshot | undefined;
  /**
   * The fence policy every mapping written on the target keeps (a fenced secondary), so a
   * mapping copied from the primary never leaves a window where it is unfenced.
   */
  fence?: string | undefined;
  signal: AbortSignal;
}

/** The policies a mapping gets on the target: the source's own, and the target's fence. */
function mappingPolicies(policies: readonly string[], ctx: ActionContext): string[] {
  const own = mirroredPolicies(policies);
  return ctx.fence === undefined ? own : [...own, ctx.fence];
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} vanished from the source snapshot`);
  return value;
}

async function putBucket(bucket: string, ctx: ActionContext): Promise<void> {
  const src = need(ctx.sourceSnap?.buckets.get(bucket), `bucket ${bucket}`);
  const existing = ctx.targetSnap.buckets.get(bucket);
  if (existing && existing.objectLock !== src.objectLock) {
    throw new SiteError(
      ctx.target.name,
      'CreateBucket',
      'Conflict',
      `bucket ${bucket} exists with object lock ${existing.objectLock ? 'on' : 'off'}; it can only be set at creation`,
    );
  }
  await ctx.target.createBucket(bucket, { objectLock: src.objectLock }, ctx.signal);
  await ctx.target.enableVersioning(bucket, ctx.signal);
}

async function deleteBucket(bucket: string, ctx: ActionContext): Promise<void> {
  const result = await ctx.target.deleteBucketIfEmpty(bucket, ctx.signal);
  if (result === 'not-empty') {
    throw new SiteError(
      ctx.target.name,
      'DeleteBucket',
      'Conflict',
      `bucket ${bucket} was deleted on another site but still holds data here; it was kept`,
    );
  }
}

async function putBucketConfig(bucket: string, kind: BucketConfigKind, ctx: ActionContext) {
  const src: BucketMeta = need(ctx.sourceSnap?.buckets.get(bucket), `bucket ${bucket}`);
  const { target: t, signal } = ctx;
  switch (kind) {
    case 'policy':
      await t.putBucketPolicy(bucket, JSON.stringify(src.policy), signal);
      return;
    case 'tags':
      await t.putBucketTags(bucket, src.tags ?? {}, signal);
      return;
    case 'object-lock':
      await t.putObjectLockConfig(
        bucket,
        {
          enabled: true,
          defaultRetention: src.objectLockConfig as {
            mode: 'GOVERNANCE' | 'COMPLIANCE';
            days?: number;
          },
        },
        signal,
      );
      return;
    case 'encryption':
      await t.putEncryption(bucket, src.encryption as { algorithm: 'AES256' | 'aws:kms' }, signal);
      return;
  }
}

async function deleteBucketConfig(bucket: string, kind: BucketConfigKind, ctx: ActionContext) {
  const { target: t, signal } = ctx;
  switch (kind) {
    case 'policy':
      await t.deleteBucketPolicy(bucket, signal);
      return;
    case 'tags':
      await t.putBucketTags(bucket, {}, signal);
      return;
    case 'object-lock':
      await t.putObjectLockConfig(bucket, { enabled: true }, signal);
      return;
    case 'encryption':
      await t.deleteEncryption(bucket, signal);
      return;
  }
}

type IamKey = Exclude<EntityKey, { kind: 'bucket' } | { kind: 'bucketConfig' }>;

/**
 * A user, group or mapping on a site that receives them without secrets (entities.ts
 * `portable*`): the user without its secret key, the group with its enabled members, the
 * mapping with the policies that site gets.
 */
async function putPortable(key: PortableKey, ctx: ActionContext): Promise<void> {
  const src = need(ctx.sourceSnap, 'source').iam;
  const { target: t, signal } = ctx;
  switch (key.kind) {
    case 'user':
      if (!portableUser(src, key.name)) throw new Error(`user ${key.name} is not enabled`);
      return t.putUser(key.name, { secretKey: '', status: 'enabled' }, signal);
    case 'group': {
      const members = need(portableGroup(src, key.name), `enabled group ${key.name}`);
      const current = ctx.targetSnap.iam.groups.get(key.name)?.members ?? [];
      return t.putGroup(key.name, { members, status: 'enabled' }, current, signal);
    }
    case 'userMapping':
    case 'groupMapping': {
      const policies = need(portablePolicies(src, key), `mapping ${key.name}`);
      return t.setPolicyMapping(
        key.kind === 'userMapping' ? 'user' : 'group',
        key.name,
        policies,
        signal,
      );
    }
  }
}

type PortableKey = IamKey & { kind: 'user' | 'group' | 'userMapping' | 'groupMapping' };

const isPortable = (key: IamKey): key is PortableKey =>
  key.kind !== 'policy' && key.kind !== 'serviceAccount';

async function putIam(key: IamKey, ctx: ActionContext): Promise<void> {
  if (isPortable(key) && receivesOnly(ctx.target.capabilities, key)) return putPortable(key, ctx);
  const src = need(ctx.sourceSnap, 'source').iam;
  const { target: t, signal } = ctx;
  const current = ctx.targetSnap.iam;
  switch (key.kind) {
    case 'policy':
      return t.putPolicy(key.name, need(src.policies.get(key.name), `policy ${key.name}`), signal);
    case 'user':
      return t.putUser(key.name, need(src.users.get(key.name), `user ${key.name}`), signal);
    case 'group':
      return t.putGroup(
        key.name,
        need(src.groups.get(key.name), `group ${key.name}`),
        current.groups.get(key.name)?.members ?? [],
        signal,
      );
    case 'serviceAccount':
      return t.putServiceAccount(
        need(src.serviceAccounts.get(key.accessKey), `service account ${key.accessKey}`),
        current.serviceAccounts.has(key.accessKey),
        signal,
      );
    case 'userMapping': {
      // An internal user's mapping, or an LDAP user DN's (MinIO keeps those as STS mappings).
      const m = src.userPolicies.get(key.name) ?? src.stsPolicies.get(key.name);
      const policies = need(m, `mapping ${key.name}`).policies;
      return t.setPolicyMapping('user', key.name, mappingPolicies(policies, ctx), signal);
    }
    case 'groupMapping': {
      const m = need(src.groupPolicies.get(key.name), `mapping ${key.name}`);
      return t.setPolicyMapping('group', key.name, mappingPolicies(m.policies, ctx), signal);
    }
  }
}

async function deleteIam(key: IamKey, ctx: ActionContext): Promise<void> {
  const { target: t, signal } = ctx;
  switch (key.kind) {
    case 'policy':
      return t.deletePolicy(key.name, signal);
    case 'user':
      return t.deleteUser(key.name, signal);
    case 'group':
      return t.deleteGroup(
        key.name,
        ctx.targetSnap.iam.groups.get(key.name)?.members ?? [],
        signal,
      );
    case 'serviceAccount':
      return t.deleteServiceAccount(key.accessKey, signal);
    case 'userMapping':
      return t.setPolicyMapping('user', key.name, mappingPolicies([], ctx), signal);
    case 'groupMapping':
      return t.setPolicyMapping('group', key.name, mappingPolicies([], ctx), signal);
  }
}

/**
 * Actions in one lane are applied one after another. MinIO keeps a bucket's configs in one
 * record it rewrites whole (read, modify, save, no lock), so concurrent writes of two configs
 * of one bucket can lose one: a bucket's actions share a lane. Other keys have their own.
 */
export function actionLane(key: EntityKey): string {
  const bucket = bucketOf(key);
  return bucket === undefined ? encodeKey(key) : encodeKey({ kind: 'bucket', bucket });
}

/** The applied actions whose effect a site, read back afterwards, does not show. */
export function notHeld<A extends MergeAction>(
  applied: readonly A[],
  held: ReadonlyMap<string, { digest: string; shape?: string | null | undefined }>,
): A[] {
  return applied.filter((a) => {
    const e = held.get(a.key);
    const now = a.kind === 'Put' && a.shape === true ? (e?.shape ?? e?.digest) : e?.digest;
    return a.kind === 'Put' ? now !== a.digest : now !== undefined;
  });
}

/** Applies one merge action to its target site. Throws a SiteError on failure. */
export async function applyEntityAction(action: EntityAction, ctx: ActionContext): Promise<void> {
  const key = action.entity;
  const put = action.kind === 'Put';
  if (key.kind === 'bucket') {
    await (put ? putBucket(key.bucket, ctx) : deleteBucket(key.bucket, ctx));
  } else if (key.kind === 'bucketConfig') {
    await (put
      ? putBucketConfig(key.bucket, key.config, ctx)
      : deleteBucketConfig(key.bucket, key.config, ctx));
  } else {
    await (put ? putIam(key, ctx) : deleteIam(key, ctx));
  }
}
