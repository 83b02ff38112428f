import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import {
  BUCKET_CONFIGS,
  type EntityKey,
  bucketOf,
  decodeKey,
  encodeKey,
  keyFamily,
} from './entity-key.js';

const name = fc.string({ minLength: 1, maxLength: 40 });
const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,40}$/);
const key: fc.Arbitrary<EntityKey> = fc.oneof(
  bucket.map((b) => ({ kind: 'bucket' as const, bucket: b })),
  fc
    .tuple(bucket, fc.constantFrom(...BUCKET_CONFIGS))
    .map(([b, config]) => ({ kind: 'bucketConfig' as const, bucket: b, config })),
  name.map((n) => ({ kind: 'policy' as const, name: n })),
  name.map((n) => ({ kind: 'user' as const, name: n })),
  name.map((n) => ({ kind: 'group' as const, name: n })),
  name.map((n) => ({ kind: 'userMapping' as const, name: n })),
  name.map((n) => ({ kind: 'groupMapping' as const, name: n })),
  name.map((n) => ({ kind: 'serviceAccount' as const, accessKey: n })),
);

describe('entity keys', () => {
  it('keep the string form the agreed state stores today', () => {
    const stored: [string, EntityKey][] = [
      ['bucket:photos', { kind: 'bucket', bucket: 'photos' }],
      [
        'bucket:photos/object-lock',
        { kind: 'bucketConfig', bucket: 'photos', config: 'object-lock' },
      ],
      ['policy:readers', { kind: 'policy', name: 'readers' }],
      ['user:alice', { kind: 'user', name: 'alice' }],
      ['group:ops', { kind: 'group', name: 'ops' }],
      ['mapping:user:alice', { kind: 'userMapping', name: 'alice' }],
      [
        'mapping:user:uid=bob,ou=people,dc=x:y',
        { kind: 'userMapping', name: 'uid=bob,ou=people,dc=x:y' },
      ],
      ['mapping:group:cn=ops,dc=x', { kind: 'groupMapping', name: 'cn=ops,dc=x' }],
      ['svcacct:AKIA1', { kind: 'serviceAccount', accessKey: 'AKIA1' }],
    ];
    for (const [text, k] of stored) {
      expect(decodeKey(text)).toEqual(k);
      expect(encodeKey(k)).toBe(text);
    }
  });

  it('decode what they encode, for any name', () => {
    fc.assert(
      fc.property(key, (k) => {
        expect(decodeKey(encodeKey(k))).toEqual(k);
      }),
    );
  });

  it('refuse what this version does not know', () => {
    for (const text of [
      '',
      'bucket:',
      'bucket:b/lifecycle',
      'widget:x',
      'user:',
      'mapping:x:y',
      'policy',
    ]) {
      expect(decodeKey(text)).toBeUndefined();
    }
  });

  it('name their family and their bucket', () => {
    expect(keyFamily({ kind: 'groupMapping', name: 'g' })).toBe('mapping');
    expect(keyFamily({ kind: 'bucketConfig', bucket: 'b', config: 'tags' })).toBe('bucket');
    expect(keyFamily({ kind: 'serviceAccount', accessKey: 'a' })).toBe('svcacct');
    expect(bucketOf({ kind: 'bucketConfig', bucket: 'b', config: 'tags' })).toBe('b');
    expect(bucketOf({ kind: 'user', name: 'b' })).toBeUndefined();
  });
});
