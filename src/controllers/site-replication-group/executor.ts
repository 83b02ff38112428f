/**
 * Carries out the merge's entity actions on a site: each key kind maps to the driver calls that
 * make the target site hold the source site's value (Put) or not hold it (Delete). Buckets are
 * deleted only when empty; object data is never deleted.
 */
import type { MergeAction } from '../replication/merge.js';
import type { SiteClient } from '../sites/site-client.js';
import { SiteError } from '../sites/site-error.js';
import type { BucketMeta, SiteSnapshot } from '../sites/snapshot.js';
import type { BucketConfigKind } from './_srg-entities.js';

export interface ActionContext {
  target: SiteClient;
  /** What the target held when observed. */
  targetSnap: SiteSnapshot;
  /** The snapshot of the site the value comes from (Put only). */
  sourceSnap?: SiteSnapshot | undefined;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} vanished from the source snapshot`);
  return value;
}

/** `bucket:name` or `bucket:name/kind` */
function splitBucketKey(key: string): { bucket: string; kind?: BucketConfigKind } {
  const rest = key.slice('bucket:'.length);
  const slash = rest.indexOf('/');
  return slash < 0
    ? { bucket: rest }
    : { bucket: rest.slice(0, slash), kind: rest.slice(slash + 1) as BucketConfigKind };
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
  await ctx.target.createBucket(bucket, { objectLock: src.objectLock });
  await ctx.target.enableVersioning(bucket);
}

async function deleteBucket(bucket: string, ctx: ActionContext): Promise<void> {
  const result = await ctx.target.deleteBucketIfEmpty(bucket);
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
  const t = ctx.target;
  switch (kind) {
    case 'policy':
      await t.putBucketPolicy(bucket, JSON.stringify(src.policy));
      return;
    case 'tags':
      await t.putBucketTags(bucket, src.tags ?? {});
      return;
    case 'object-lock':
      await t.putObjectLockConfig(bucket, {
        enabled: true,
        defaultRetention: src.objectLockConfig as {
          mode: 'GOVERNANCE' | 'COMPLIANCE';
          days?: number;
        },
      });
      return;
    case 'encryption':
      await t.putEncryption(bucket, src.encryption as { algorithm: 'AES256' | 'aws:kms' });
      return;
  }
}

async function deleteBucketConfig(bucket: string, kind: BucketConfigKind, ctx: ActionContext) {
  const t = ctx.target;
  switch (kind) {
    case 'policy':
      await t.deleteBucketPolicy(bucket);
      return;
    case 'tags':
      await t.putBucketTags(bucket, {});
      return;
    case 'object-lock':
      await t.putObjectLockConfig(bucket, { enabled: true });
      return;
    case 'encryption':
      await t.deleteEncryption(bucket);
      return;
  }
}

async function applyBucketAction(action: MergeAction, ctx: ActionContext): Promise<void> {
  const { bucket, kind } = splitBucketKey(action.key);
  if (kind === undefined) {
    await (action.kind === 'Put' ? putBucket(bucket, ctx) : deleteBucket(bucket, ctx));
  } else if (action.kind === 'Put') {
    await putBucketConfig(bucket, kind, ctx);
  } else {
    await deleteBucketConfig(bucket, kind, ctx);
  }
}

async function putIam(kind: string, name: string, ctx: ActionContext): Promise<void> {
  const src = need(ctx.sourceSnap, 'source').iam;
  const t = ctx.target;
  const current = ctx.targetSnap.iam;
  switch (kind) {
    case 'policy':
      return t.putPolicy(name, need(src.policies.get(name), `policy ${name}`));
    case 'user':
      return t.putUser(name, need(src.users.get(name), `user ${name}`));
    case 'group':
      return t.putGroup(
        name,
        need(src.groups.get(name), `group ${name}`),
        current.groups.get(name)?.members ?? [],
      );
    case 'svcacct':
      return t.putServiceAccount(
        need(src.serviceAccounts.get(name), `service account ${name}`),
        current.serviceAccounts.has(name),
      );
    case 'mapping:user':
      // An internal user's mapping, or an LDAP user DN's (MinIO keeps those as STS mappings).
      return t.setPolicyMapping(
        'user',
        name,
        need(src.userPolicies.get(name) ?? src.stsPolicies.get(name), `mapping ${name}`).policies,
      );
    case 'mapping:group':
      return t.setPolicyMapping(
        'group',
        name,
        need(src.groupPolicies.get(name), `mapping ${name}`).policies,
      );
    default:
      throw new Error(`unknown entity kind ${kind}`);
  }
}

async function deleteIam(kind: string, name: string, ctx: ActionContext): Promise<void> {
  const t = ctx.target;
  switch (kind) {
    case 'policy':
      return t.deletePolicy(name);
    case 'user':
      return t.deleteUser(name);
    case 'group':
      return t.deleteGroup(name, ctx.targetSnap.iam.groups.get(name)?.members ?? []);
    case 'svcacct':
      return t.deleteServiceAccount(name);
    case 'mapping:user':
      return t.setPolicyMapping('user', name, []);
    case 'mapping:group':
      return t.setPolicyMapping('group', name, []);
    default:
      throw new Error(`unknown entity kind ${kind}`);
  }
}

/** `policy:x` → ['policy', 'x']; `mapping:user:x` → ['mapping:user', 'x']. */
function splitIamKey(key: string): [string, string] {
  const first = key.indexOf(':');
  const head = key.slice(0, first);
  if (head !== 'mapping') return [head, key.slice(first + 1)];
  const second = key.indexOf(':', first + 1);
  return [key.slice(0, second), key.slice(second + 1)];
}

/**
 * Actions in one lane are applied one after another. MinIO keeps a bucket's configs in one
 * record it rewrites whole (read, modify, save, no lock), so concurrent writes of two configs
 * of one bucket can lose one: a bucket's actions share a lane. Other keys have their own.
 */
export function actionLane(key: string): string {
  return key.startsWith('bucket:') ? `bucket:${splitBucketKey(key).bucket}` : key;
}

/** The applied actions whose effect a site, read back afterwards, does not show. */
export function notHeld(
  applied: readonly MergeAction[],
  held: ReadonlyMap<string, { digest: string }>,
): MergeAction[] {
  return applied.filter((a) => {
    const now = held.get(a.key)?.digest;
    return a.kind === 'Put' ? now !== a.digest : now !== undefined;
  });
}

/** Applies one merge action to its target site. Throws a SiteError on failure. */
export async function applyEntityAction(action: MergeAction, ctx: ActionContext): Promise<void> {
  if (action.key.startsWith('bucket:')) {
    await applyBucketAction(action, ctx);
    return;
  }
  const [kind, name] = splitIamKey(action.key);
  await (action.kind === 'Put' ? putIam(kind, name, ctx) : deleteIam(kind, name, ctx));
}
