/**
 * The key of a replicated entity, typed: one variant per kind of thing a group mirrors. The
 * merge and the agreed state (a ConfigMap) work on its encoded string form, which is readable
 * and stable: `bucket:photos`, `bucket:photos/tags`, `policy:p`, `user:u`, `group:g`,
 * `mapping:user:u`, `mapping:group:g`, `svcacct:AK`. `encodeKey` and `decodeKey` are the only
 * code that knows that form.
 */

/** A bucket's replicated configurations; notification and lifecycle never are. */
export const BUCKET_CONFIGS = ['policy', 'tags', 'object-lock', 'encryption'] as const;
export type BucketConfigKind = (typeof BUCKET_CONFIGS)[number];

export type EntityKey =
  | { kind: 'bucket'; bucket: string }
  | { kind: 'bucketConfig'; bucket: string; config: BucketConfigKind }
  | { kind: 'policy'; name: string }
  | { kind: 'user'; name: string }
  | { kind: 'group'; name: string }
  /** Policies mapped to a user: an internal one, or an external (LDAP) user DN. */
  | { kind: 'userMapping'; name: string }
  | { kind: 'groupMapping'; name: string }
  | { kind: 'serviceAccount'; accessKey: string };

export type EntityKind = EntityKey['kind'];

export function encodeKey(k: EntityKey): string {
  switch (k.kind) {
    case 'bucket':
      return `bucket:${k.bucket}`;
    case 'bucketConfig':
      return `bucket:${k.bucket}/${k.config}`;
    case 'policy':
      return `policy:${k.name}`;
    case 'user':
      return `user:${k.name}`;
    case 'group':
      return `group:${k.name}`;
    case 'userMapping':
      return `mapping:user:${k.name}`;
    case 'groupMapping':
      return `mapping:group:${k.name}`;
    case 'serviceAccount':
      return `svcacct:${k.accessKey}`;
  }
}

const isBucketConfig = (s: string): s is BucketConfigKind =>
  (BUCKET_CONFIGS as readonly string[]).includes(s);

/** A bucket name never holds `/`, so the first one ends it. */
function decodeBucket(rest: string): EntityKey | undefined {
  const slash = rest.indexOf('/');
  if (slash < 0) return rest === '' ? undefined : { kind: 'bucket', bucket: rest };
  const bucket = rest.slice(0, slash);
  const config = rest.slice(slash + 1);
  return bucket !== '' && isBucketConfig(config)
    ? { kind: 'bucketConfig', bucket, config }
    : undefined;
}

const NAMED = {
  policy: 'policy',
  user: 'user',
  group: 'group',
  'mapping:user': 'userMapping',
  'mapping:group': 'groupMapping',
} as const satisfies Record<string, EntityKind>;

/** The key an encoded string stands for; undefined when it is not one this version knows. */
export function decodeKey(s: string): EntityKey | undefined {
  if (s.startsWith('bucket:')) return decodeBucket(s.slice('bucket:'.length));
  if (s.startsWith('svcacct:')) {
    const accessKey = s.slice('svcacct:'.length);
    return accessKey === '' ? undefined : { kind: 'serviceAccount', accessKey };
  }
  const end = s.startsWith('mapping:') ? s.indexOf(':', 'mapping:'.length) : s.indexOf(':');
  if (end < 0) return undefined;
  const prefix = s.slice(0, end);
  const name = s.slice(end + 1);
  if (!Object.hasOwn(NAMED, prefix) || name === '') return undefined;
  return { kind: NAMED[prefix as keyof typeof NAMED], name };
}

/** The family of a key, as metrics and events name it: bucket, policy, user, ..., mapping. */
export function keyFamily(k: EntityKey): string {
  return encodeKey(k).split(':')[0] ?? '';
}

/** A bucket or one of its configurations: what MinIO keeps in one record per bucket. */
export function bucketOf(k: EntityKey): string | undefined {
  return k.kind === 'bucket' || k.kind === 'bucketConfig' ? k.bucket : undefined;
}
