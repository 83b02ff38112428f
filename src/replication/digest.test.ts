import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { canonicalJSON, digestOf, digestReplicationConfig } from './digest.js';
import type { ReplicationConfig } from './replication-config.js';

/** The same JSON value with its object keys in another order, at every depth. */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v: unknown) => reorder(v, seed));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const rotated = entries.map((_, i) => entries[(i + seed) % entries.length]);
  return Object.fromEntries(
    [...rotated].reverse().map((e) => [e?.[0], reorder(e?.[1], seed)] as const),
  );
}

describe('canonicalJSON', () => {
  it('sorts object keys at every depth and drops what JSON drops', () => {
    expect(
      canonicalJSON({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null }, u: undefined }),
    ).toBe('{"a":{"c":null,"d":[3,{"z":1}]},"b":1}');
  });

  it('follows JSON.stringify for scalars, arrays and toJSON', () => {
    expect(canonicalJSON([undefined, NaN, Infinity, () => 1, 'x"y', true])).toBe(
      '[null,null,null,null,"x\\"y",true]',
    );
    expect(canonicalJSON(new Date('2026-01-01T00:00:00Z'))).toBe('"2026-01-01T00:00:00.000Z"');
    expect(canonicalJSON(undefined)).toBe('null');
  });

  it('refuses bigints and cycles', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => canonicalJSON(1n)).toThrow(TypeError);
    expect(() => canonicalJSON(cyclic)).toThrow('digestOf: the value is cyclic');
    const shared = { a: 1 };
    expect(canonicalJSON([shared, shared])).toBe('[{"a":1},{"a":1}]');
  });

  it('is JSON that parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJSON(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('digestOf', () => {
  it('is the SHA-256 hex of the canonical JSON', () => {
    // sha256('{"a":1}')
    expect(digestOf({ a: 1 })).toBe(
      '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862',
    );
  });

  it('does not depend on key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(10), (value, seed) => {
        expect(digestOf(reorder(value, seed))).toBe(digestOf(value));
      }),
    );
  });

  it('tells different values apart', () => {
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: '1' }));
    expect(digestOf([1, 2])).not.toBe(digestOf([2, 1]));
  });
});

describe('digestReplicationConfig', () => {
  const config: ReplicationConfig = {
    role: '',
    rules: [
      {
        id: 'to-b',
        status: 'Enabled',
        priority: 1,
        destination: { bucket: 'arn:minio:replication::x:photos' },
      },
    ],
  };

  it('is stable and changes with the document', () => {
    expect(digestReplicationConfig(config)).toMatch(/^[0-9a-f]{64}$/);
    expect(digestReplicationConfig(structuredClone(config))).toBe(digestReplicationConfig(config));
    const disabled = { ...config, rules: [{ ...config.rules[0], status: 'Disabled' }] };
    expect(digestReplicationConfig(disabled as ReplicationConfig)).not.toBe(
      digestReplicationConfig(config),
    );
  });

  it('leaves the operator-only site out, so desired and read-back documents digest alike', () => {
    const [rule] = config.rules;
    if (rule === undefined) throw new Error('no rule');
    const withSite: ReplicationConfig = {
      ...config,
      rules: [{ ...rule, destination: { ...rule.destination, site: { name: 'site-b' } } }],
    };
    expect(digestReplicationConfig(withSite)).toBe(digestReplicationConfig(config));
  });
});
