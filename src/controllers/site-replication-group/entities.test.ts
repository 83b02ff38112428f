import { describe, expect, it } from '@jest/globals';

import { SiteReplicationGroupSpecSchema } from '../../api/site-replication-group.js';
import { decodeKey } from '../../replication/entity-key.js';
import { emptyIamState, type SiteSnapshot } from '../../sites/snapshot.js';
import { globMatch } from '../../replication/glob.js';
import { digestKey, isSecretBearing } from '../../replication/secret-digest.js';
import { bucketSelected, entitiesOf, keyPhase } from './entities.js';

const spec = (extra: object = {}) =>
  SiteReplicationGroupSpecSchema.parse({
    sites: [
      { name: 'a', endpoint: 'http://a:9000', credentialsSecret: { name: 'a' } },
      { name: 'b', endpoint: 'http://b:9000', credentialsSecret: { name: 'b' } },
    ],
    ...extra,
  });

function snapshot(): SiteSnapshot {
  const iam = emptyIamState();
  iam.policies.set('readonly', { Statement: [] });
  iam.policies.set('team', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'] }],
  });
  iam.policies.set('sitesync-replication', { Statement: [] });
  iam.users.set('alice', { status: 'enabled', secretKey: 'alice-secret' });
  iam.users.set('sitesync-replicator', { status: 'enabled', secretKey: 'x' });
  iam.users.set('operator', { status: 'enabled', secretKey: 'y' });
  iam.userPolicies.set('alice', { policies: ['team'] });
  iam.groups.set('devs', { status: 'enabled', members: ['alice'] });
  iam.serviceAccounts.set('svc1', {
    accessKey: 'svc1',
    parent: 'alice',
    secretKey: 's1',
    status: 'enabled',
    groups: [],
  });
  iam.serviceAccounts.set('rootsvc', {
    accessKey: 'rootsvc',
    parent: 'root-admin',
    secretKey: 's2',
    status: 'enabled',
    groups: [],
  });
  const bucket = (name: string, extra: object = {}) => ({
    name,
    versioning: 'Enabled' as const,
    objectLock: false,
    hasLifecycle: true,
    hasNotification: true,
    targets: [],
    ...extra,
  });
  return {
    site: 'a',
    deploymentID: 'd',
    iam,
    buckets: new Map([
      ['photos', bucket('photos', { tags: { t: '1' }, policy: { Statement: [] } })],
      ['scratch-1', bucket('scratch-1')],
    ]),
  };
}

const scope = (extra: object = {}) => {
  const s = spec(extra);
  return { replicate: s.replicate, buckets: s.buckets, operatorUsers: new Set(['operator']) };
};

describe('entitiesOf', () => {
  it("leaves a secondary's fence out of mappings: fenced and unfenced sites hold equal entities", () => {
    const plain = entitiesOf(snapshot(), scope());
    const fenced = snapshot();
    fenced.iam.userPolicies.set('alice', { policies: ['team', 'sitesync-fence-0123456789'] });
    fenced.iam.groupPolicies.set('devs', { policies: ['sitesync-fence-0123456789'] });
    fenced.iam.userPolicies.set('bob', { policies: ['sitesync-fence-0123456789'] });
    fenced.iam.users.set('bob', { status: 'enabled', secretKey: 'bob-secret' });
    const withFence = entitiesOf(fenced, scope());
    withFence.delete('user:bob');
    expect([...withFence]).toEqual([...plain]);
  });

  it('mirrors the policy mappings of LDAP users and groups (DNs) as mappings', () => {
    const snap = snapshot();
    snap.iam.stsPolicies.set('uid=dillon,ou=people,dc=min,dc=io', { policies: ['readonly'] });
    snap.iam.groupPolicies.set('cn=projecta,ou=swengg,dc=min,dc=io', { policies: ['team'] });
    const keys = [...entitiesOf(snap, scope()).keys()];
    expect(keys).toContain('mapping:user:uid=dillon,ou=people,dc=min,dc=io');
    expect(keys).toContain('mapping:group:cn=projecta,ou=swengg,dc=min,dc=io');
    const off = entitiesOf(snap, scope({ replicate: { iam: { users: false, groups: false } } }));
    expect([...off.keys()].filter((k) => k.includes('dc=min'))).toEqual([]);
  });

  it('lists replicated entities and leaves out what is per site', () => {
    const keys = [...entitiesOf(snapshot(), scope()).keys()].sort();
    expect(keys).toEqual([
      'bucket:photos',
      'bucket:photos/policy',
      'bucket:photos/tags',
      'bucket:scratch-1',
      'group:devs',
      'mapping:user:alice',
      'policy:team',
      'svcacct:svc1',
      'user:alice',
    ]);
  });

  it('honours the bucket selector and the replicate switches', () => {
    const keys = [
      ...entitiesOf(
        snapshot(),
        scope({
          buckets: { exclude: ['scratch-*'] },
          replicate: {
            bucketConfig: { tags: false },
            iam: { serviceAccounts: false, groups: false },
          },
        }),
      ).keys(),
    ];
    expect(keys).not.toContain('bucket:scratch-1');
    expect(keys).not.toContain('bucket:photos/tags');
    expect(keys).not.toContain('svcacct:svc1');
    expect(keys).not.toContain('group:devs');
    expect(keys).toContain('bucket:photos/policy');
  });

  it('changes a user digest when the secret key changes, and never carries the secret', () => {
    const a = snapshot();
    const b = snapshot();
    b.iam.users.set('alice', { status: 'enabled', secretKey: 'rotated' });
    const ea = entitiesOf(a, scope());
    const eb = entitiesOf(b, scope());
    expect(ea.get('user:alice')?.digest).not.toBe(eb.get('user:alice')?.digest);
    expect(JSON.stringify([...ea])).not.toContain('alice-secret');
  });

  it('seals the digests of users and service accounts with the group key, and only those', () => {
    const key = digestKey('group-key-'.repeat(3));
    const plain = entitiesOf(snapshot(), scope());
    const sealed = entitiesOf(snapshot(), { ...scope(), seal: key.seal });
    for (const [k, e] of sealed) {
      const want = isSecretBearing(k) ? key.seal(plain.get(k)?.digest ?? '') : plain.get(k)?.digest;
      expect([k, e.digest]).toEqual([k, want]);
    }
    expect(sealed.get('user:alice')?.digest).not.toBe(plain.get('user:alice')?.digest);
    expect(sealed.get('svcacct:svc1')?.digest).not.toBe(plain.get('svcacct:svc1')?.digest);
  });

  it('gives equal digests to policies that differ only in action order', () => {
    const a = snapshot();
    const b = snapshot();
    b.iam.policies.set('team', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetObject'] }],
    });
    expect(entitiesOf(a, scope()).get('policy:team')).toEqual(
      entitiesOf(b, scope()).get('policy:team'),
    );
  });
});

describe('entitiesOf on LDAP sites', () => {
  it('mirrors no internal users or groups (MinIO refuses them), but policies and mappings', () => {
    const keys = [...entitiesOf(snapshot(), { ...scope(), ldap: true }).keys()];
    expect(keys.filter((k) => k.startsWith('user:') || k.startsWith('group:'))).toEqual([]);
    expect(keys).toContain('policy:team');
  });
});

describe('bucket selection', () => {
  it('matches globs, and exclude wins', () => {
    expect(globMatch('logs-*', 'logs-2026')).toBe(true);
    expect(globMatch('logs-?', 'logs-10')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(bucketSelected({ include: ['*'], exclude: ['tmp-*'] }, 'tmp-1')).toBe(false);
    expect(bucketSelected({ include: ['prod-*'], exclude: [] }, 'dev-1')).toBe(false);
  });
});

describe('keyPhase', () => {
  it('orders buckets before their configs, policies before users, users before mappings', () => {
    const keys = [
      'svcacct:x',
      'mapping:user:u',
      'group:g',
      'user:u',
      'policy:p',
      'bucket:b/tags',
      'bucket:b',
    ];
    const phase = (k: string) => keyPhase(decodeKey(k)!);
    expect([...keys].sort((x, y) => phase(x) - phase(y))).toEqual([...keys].reverse());
  });
});

describe('what a site that only receives users, groups and mappings holds of them (shape)', () => {
  const scope = {
    replicate: spec().replicate,
    buckets: spec().buckets,
    operatorUsers: new Set<string>(),
  };
  const entity = (snap: SiteSnapshot, key: string) => entitiesOf(snap, scope).get(key);

  it('a user without its secret, a group with its enabled members, a mapping with its portable policies', () => {
    const snap = snapshot();
    snap.iam.users.set('bob', { status: 'disabled', secretKey: 'bob-secret' });
    snap.iam.groups.set('devs', { status: 'enabled', members: ['alice', 'bob'] });
    snap.iam.userPolicies.set('alice', { policies: ['team', 'readonly'] });
    // The same users on an AWS-style site: no secret, all enabled, only alice.
    const aws = snapshot();
    aws.iam.users.set('alice', { status: 'enabled', secretKey: '' });
    aws.iam.groups.set('devs', { status: 'enabled', members: ['alice'] });
    aws.iam.userPolicies.set('alice', { policies: ['team'] });
    for (const key of ['user:alice', 'group:devs', 'mapping:user:alice']) {
      expect(entity(snap, key)?.shape).toBeDefined();
      expect(entity(snap, key)?.shape).toBe(entity(aws, key)?.shape);
    }
    expect(entity(snap, 'user:alice')?.digest).not.toBe(entity(aws, 'user:alice')?.digest);
    // A disabled user is not held there at all, nor its mapping.
    snap.iam.userPolicies.set('bob', { policies: ['team'] });
    expect(entity(snap, 'user:bob')?.shape).toBeNull();
    expect(entity(snap, 'mapping:user:bob')?.shape).toBeNull();
    snap.iam.groups.set('off', { status: 'disabled', members: [] });
    expect(entity(snap, 'group:off')?.shape).toBeNull();
  });

  it('a mapping of built-in or MinIO-only policies only is not held there', () => {
    const snap = snapshot();
    snap.iam.policies.set('claims', {
      Statement: [{ Effect: 'Allow', Action: 'admin:*', Resource: '*' }],
    });
    snap.iam.userPolicies.set('alice', { policies: ['readonly', 'claims'] });
    expect(entity(snap, 'mapping:user:alice')?.shape).toBeNull();
  });
});
