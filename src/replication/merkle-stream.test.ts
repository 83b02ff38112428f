import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { type MerkleState, MerkleStream, entryLeaf, leafHash, merkleRoot } from './merkle.js';

const sortedEntries = (entries: [string, string][]) =>
  [...new Map(entries)].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('MerkleStream', () => {
  it('builds the tree merkleRoot builds, for any number of leaves', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.string()), { maxLength: 70 }),
        (raw) => {
          const entries = sortedEntries(raw.filter(([k]) => !k.includes('\0')));
          const s = new MerkleStream();
          for (const [k, d] of entries) s.add(entryLeaf(k, d));
          expect(s.root()).toBe(merkleRoot(entries));
          expect(s.count).toBe(entries.length);
        },
      ),
    );
  });

  it('resumes from its state as if never stopped', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.nat(300), (a, b) => {
        const whole = new MerkleStream();
        const first = new MerkleStream();
        for (let i = 0; i < a; i++) {
          whole.add(leafHash(String(i)));
          first.add(leafHash(String(i)));
        }
        const resumed = new MerkleStream(JSON.parse(JSON.stringify(first.state())) as MerkleState);
        for (let i = a; i < a + b; i++) {
          whole.add(leafHash(String(i)));
          resumed.add(leafHash(String(i)));
        }
        expect(resumed.root()).toBe(whole.root());
        expect(first.state().stack.length).toBeLessThanOrEqual(9);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a state whose stack does not match its count', () => {
    const s = new MerkleStream();
    s.add(leafHash('x'));
    s.add(leafHash('y'));
    expect(() => new MerkleStream({ n: 3, stack: s.state().stack })).toThrow(/does not match/);
  });

  it('gives the empty tree the empty root, and differs when one leaf differs', () => {
    expect(new MerkleStream().root()).toBe(merkleRoot([]));
    const a = new MerkleStream();
    const b = new MerkleStream();
    for (const x of ['k1', 'k2', 'k3']) a.add(leafHash(x, 'v'));
    for (const x of ['k1', 'k2', 'k3']) b.add(leafHash(x, x === 'k2' ? 'w' : 'v'));
    expect(a.root()).not.toBe(b.root());
  });

  it('length-prefixes leaf parts, so parts cannot run into each other', () => {
    expect(leafHash('ab', 'c').equals(leafHash('a', 'bc'))).toBe(false);
  });
});
