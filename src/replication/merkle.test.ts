import { createHash } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { merkleRoot, merkleRootsByPrefix } from './merkle.js';

const H = (...parts: (Buffer | string)[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
  return h.digest();
};
const B = (byte: number) => Buffer.from([byte]);
const leaf = (key: string, digest: string) => H(B(0), key, B(0), digest);
const node = (left: Buffer, right: Buffer) => H(B(1), left, right);

describe('merkleRoot', () => {
  it('is H("") for the empty map', () => {
    expect(merkleRoot([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('is the leaf hash for one entry', () => {
    expect(merkleRoot([['bucket:a', 'd1']])).toBe(leaf('bucket:a', 'd1').toString('hex'));
  });

  it('pairs sorted leaves and promotes the odd one', () => {
    const root = node(node(leaf('a', '1'), leaf('b', '2')), leaf('c', '3'));
    expect(
      merkleRoot([
        ['c', '3'],
        ['a', '1'],
        ['b', '2'],
      ]),
    ).toBe(root.toString('hex'));
    const five = node(
      node(node(leaf('a', '1'), leaf('b', '2')), node(leaf('c', '3'), leaf('d', '4'))),
      leaf('e', '5'),
    );
    expect(
      merkleRoot([
        ['e', '5'],
        ['d', '4'],
        ['c', '3'],
        ['b', '2'],
        ['a', '1'],
      ]),
    ).toBe(five.toString('hex'));
  });

  it('sorts keys by code point, not by UTF-16 unit', () => {
    const bmp = '\uFFFF';
    const astral = '\u{10000}'; // '\uD800\uDC00' sorts before '\uFFFF' by UTF-16 unit
    const expected = node(leaf(bmp, 'x'), leaf(astral, 'y')).toString('hex');
    expect(
      merkleRoot([
        [astral, 'y'],
        [bmp, 'x'],
      ]),
    ).toBe(expected);
  });

  it('accepts any iterable, a Map included', () => {
    const map = new Map([
      ['user:bob', 'd2'],
      ['user:alice', 'd1'],
    ]);
    expect(merkleRoot(map)).toBe(merkleRoot([...map].reverse()));
  });

  it('rejects duplicate keys, NUL in keys and lone surrogates', () => {
    expect(() =>
      merkleRoot([
        ['a', '1'],
        ['a', '2'],
      ]),
    ).toThrow(/duplicate key "a"/);
    expect(() => merkleRoot([['a\0b', '1']])).toThrow(/NUL/);
    expect(() => merkleRoot([['\uD800', '1']])).toThrow(/well-formed/);
    expect(() => merkleRoot([['a', '\uDC00']])).toThrow(/well-formed/);
  });
});

describe('merkleRoot, computed again', () => {
  it('gives the same root for the same entries, and never takes a NUL key for a pair', () => {
    const pairs: [string, string][] = [
      ['a', 'b'],
      ['c', 'd'],
    ];
    const root = merkleRoot(pairs);
    expect(merkleRoot(pairs.map(([k, v]) => [k, v] as const))).toBe(root);
    // Same text once joined with NUL ('a\0b\0c\0d'): refused, not taken from memory.
    expect(() => merkleRoot([['a\0b\0c', 'd']])).toThrow(/NUL/);
    expect(() => merkleRoot([['a', 'b\0c\0d']])).not.toThrow();
    expect(merkleRoot([['a', 'b\0c\0d']])).not.toBe(root);
  });
});

describe('merkleRootsByPrefix', () => {
  const entries: [string, string][] = [
    ['bucket:a', '1'],
    ['bucket:a/policy', '2'],
    ['policy:readonly', '3'],
    ['user:alice', '4'],
  ];

  it('gives one root per prefix over the matching keys', () => {
    const roots = merkleRootsByPrefix(entries, ['bucket:', 'policy:', 'group:', 'bucket:a/']);
    expect(roots).toEqual({
      'bucket:': merkleRoot(entries.slice(0, 2)),
      'policy:': merkleRoot([['policy:readonly', '3']]),
      'group:': merkleRoot([]),
      'bucket:a/': merkleRoot([['bucket:a/policy', '2']]),
    });
  });

  it('reads a one-shot iterable once', () => {
    function* gen() {
      yield* entries;
    }
    const roots = merkleRootsByPrefix(gen(), ['bucket:', 'user:']);
    expect(roots['user:']).toBe(merkleRoot([['user:alice', '4']]));
  });
});

describe('merkleRoot properties', () => {
  const wellFormed = (s: string) => !/\p{Cs}/u.test(s);
  const arbMap = fc
    .uniqueArray(fc.tuple(fc.string({ unit: 'binary', maxLength: 12 }), fc.string()), {
      selector: ([key]) => key,
      maxLength: 40,
    })
    .map((rows) => rows.filter(([key]) => !key.includes('\0') && wellFormed(key)));

  it('does not depend on insertion order', () => {
    fc.assert(
      fc.property(
        arbMap.chain((rows) =>
          fc.tuple(fc.constant(rows), fc.shuffledSubarray(rows, { minLength: rows.length })),
        ),
        ([rows, shuffled]) => {
          expect(merkleRoot(new Map(shuffled))).toBe(merkleRoot(rows));
        },
      ),
    );
  });

  it('changes when any digest changes, or a key comes or goes', () => {
    fc.assert(
      fc.property(arbMap, fc.nat(), fc.string(), (rows, at, other) => {
        fc.pre(rows.length > 0);
        const i = at % rows.length;
        const [key, digest] = rows[i] ?? ['', ''];
        fc.pre(digest !== other);
        const root = merkleRoot(rows);
        const changed = rows.map((row, j): [string, string] => (j === i ? [key, other] : row));
        expect(merkleRoot(changed)).not.toBe(root);
        expect(merkleRoot(rows.filter((_, j) => j !== i))).not.toBe(root);
      }),
    );
  });
});
