import { createHash } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { ABSENT, type AgreedState } from './agreed-state.js';
import { digestKey, isSecretBearing, sealAgreed } from './secret-digest.js';

const key = digestKey('k'.repeat(32));
const other = digestKey('o'.repeat(32));

const legacy: AgreedState = {
  entities: { 'user:alice': 'aaaa111122223333', 'svcacct:app': 'bbbb', 'policy:p': 'cccc' },
  deviations: { b: { 'user:alice': 'dddd', 'user:bob': ABSENT, 'bucket:x': 'eeee' } },
  joined: ['a', 'b'],
  sequence: 3,
};

describe('digest keys', () => {
  it('seal a digest into 16 hex digits, differently under another key, with an id that is not the seal of anything', () => {
    expect(key.seal('aaaa')).toMatch(/^[0-9a-f]{16}$/);
    expect(key.seal('aaaa')).toBe(key.seal('aaaa'));
    expect(key.seal('aaaa')).not.toBe(other.seal('aaaa'));
    expect(key.id).not.toBe(other.id);
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
    expect(() => digestKey('short')).toThrow(/16 characters/);
  });

  it('know which entities carry a secret', () => {
    expect(
      ['user:a', 'svcacct:k', 'mapping:user:a', 'group:g', 'policy:p'].map(isSecretBearing),
    ).toEqual([true, true, false, false, false]);
  });
});

describe('sealAgreed', () => {
  it('migrates an unkeyed state: seals users and service accounts everywhere, leaves the rest and ABSENT', () => {
    const { state, outcome } = sealAgreed(legacy, key);
    expect(outcome).toBe('migrated');
    expect(state).toEqual({
      ...legacy,
      digestKeyId: key.id,
      entities: {
        'user:alice': key.seal('aaaa111122223333'),
        'svcacct:app': key.seal('bbbb'),
        'policy:p': 'cccc',
      },
      deviations: { b: { 'user:alice': key.seal('dddd'), 'user:bob': ABSENT, 'bucket:x': 'eeee' } },
    });
  });

  it('gives a migrated entry exactly the digest the same site value has now (no spurious change)', () => {
    // Any digest but ABSENT ('-'), which stays ABSENT (the test above).
    const digest = fc.string().filter((v) => v !== ABSENT);
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), digest, (name, plain) => {
        const old: AgreedState = { ...legacy, entities: { [`user:${name}`]: plain } };
        expect(sealAgreed(old, key).state.entities[`user:${name}`]).toBe(key.seal(plain));
      }),
    );
  });

  it('leaves a state sealed with the current key as it is, and flags another key', () => {
    const current = sealAgreed(legacy, key).state;
    expect(sealAgreed(current, key)).toEqual({ state: current, outcome: 'current' });
    const changed = sealAgreed(current, other);
    expect(changed.outcome).toBe('keyChanged');
    expect(changed.state).toEqual({ ...current, digestKeyId: other.id });
  });

  it('never holds the plain digest of a secret: an HMAC, not a hash chain of it', () => {
    const secret = 'secret-of-user-7';
    const plain = createHash('sha256').update(secret).digest('hex');
    const sealed = sealAgreed({ ...legacy, entities: { 'user:u': plain.slice(0, 16) } }, key);
    expect(JSON.stringify(sealed.state)).not.toContain(plain.slice(0, 16));
  });
});
