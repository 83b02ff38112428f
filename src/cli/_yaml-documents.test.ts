import { describe, expect, it } from '@jest/globals';

import { MAX_DEPTH, readYamlDocuments } from './_yaml-documents.js';

const one = (text: string) => {
  const [d, ...rest] = readYamlDocuments(text);
  expect(rest).toEqual([]);
  if (d === undefined) throw new Error('no document');
  return d;
};
const value = (text: string) => {
  const d = one(text);
  if (!d.ok) throw new Error(JSON.stringify(d.issues));
  return d.value;
};
const issues = (text: string) => {
  const d = one(text);
  return d.ok ? [] : d.issues;
};

describe('readYamlDocuments: scalars as kubectl reads them (Go, YAML 1.1)', () => {
  it.each([
    ['yes', true],
    ['Y', true],
    ['on', true],
    ['TRUE', true],
    ['no', false],
    ['n', false],
    ['Off', false],
    ['1_000', 1000],
    ['0b101', 5],
    ['0o17', 15],
    ['017', 15],
    ['0x1F', 31],
    ['-0x10', -16],
    ['+12', 12],
    ['0', 0],
    ['0789', 789],
    ['1:20', '1:20'],
    ['2001-12-14', '2001-12-14'],
    ['~', null],
    ['yes please', 'yes please'],
    ["'yes'", 'yes'],
    ['_1', '_1'],
    ['0b', '0b'],
  ])('%s', (scalar, expected) => {
    expect(value(`v: ${scalar}`)).toEqual({ v: expected });
  });

  it('keeps the last of repeated keys, and honours merge keys', () => {
    expect(value('a: 1\na: 2')).toEqual({ a: 2 });
    expect(value('base: &b {p: 1, q: 2}\nc: {<<: *b, q: 3}')).toEqual({
      base: { p: 1, q: 2 },
      c: { p: 1, q: 3 },
    });
  });

  it('turns keys that are booleans or integers into their JSON text, as kubectl does', () => {
    // kubectl: `data: {y: a, on: b, 0x10: c, n: d}` becomes {"16":"c","false":"d","true":"b"}.
    expect(value('{y: a, on: b, 0x10: c, n: d}')).toEqual({ true: 'b', false: 'd', 16: 'c' });
  });

  it('numbers documents and reports syntax errors with their position', () => {
    const docs = readYamlDocuments('a: 1\n---\nb: [\n---\nc: 3\n');
    expect(docs.map((d) => [d.index, d.ok])).toEqual([
      [0, true],
      [1, false],
      [2, true],
    ]);
    const bad = docs[1];
    expect(bad?.ok === false && bad.issues[0]?.path).toMatch(/^line \d+, column \d+$/);
  });
});

describe('readYamlDocuments: aliases resolved within bounds', () => {
  it('reads 1001 aliases of one anchor (a legitimate list of rules)', () => {
    const text = `rules:\n  - &r {id: x, destination: {bucket: b}}\n${'  - *r\n'.repeat(1000)}`;
    const v = value(text) as { rules: unknown[] };
    expect(v.rules).toHaveLength(1001);
    expect(v.rules[1000]).toEqual({ id: 'x', destination: { bucket: 'b' } });
  });

  it('refuses a billion laughs, quickly, by the size it would have', () => {
    const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 40; i++) {
      lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
    }
    expect(issues(lines.join('\n'))).toEqual([
      {
        path: '(document)',
        message:
          'with its aliases resolved the document would be far more than 3 MiB of JSON; the apiserver takes at most 3 MiB per object',
      },
    ]);
  });

  it('refuses a document over 3 MiB once its aliases are resolved', () => {
    const big = 'x'.repeat(100_000);
    const text = `a: &a "${big}"\nb: [${Array.from({ length: 40 }, () => '*a').join(',')}]`;
    expect(issues(text)[0]?.message).toMatch(/would be about 3\.9 MiB of JSON/);
  });

  it('refuses an alias inside the node it names', () => {
    for (const text of ['&a [ *a ]', 'a: &a {b: *a}']) {
      expect(issues(text)).toEqual([
        { path: '(document)', message: 'an alias refers to a node that contains it' },
      ]);
    }
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} levels`, () => {
    const deep = `${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`;
    expect(issues(deep)).toEqual([
      { path: '(document)', message: `the document nests deeper than ${MAX_DEPTH} levels` },
    ]);
    expect(issues(`${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`)).toEqual([]);
  });
});
