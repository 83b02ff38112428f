import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { globMatch } from './glob.js';

const LINE_TERMINATORS = new Set(['\n', '\r', '\u2028', '\u2029']);

/** The reference: a memoised recursion over (pattern index, name index). */
function referenceMatch(p: string, s: string): boolean {
  const memo = new Map<number, boolean>();
  // Whether a wildcard may take the name's character j.
  const wild = (j: number) => j < s.length && !LINE_TERMINATORS.has(s[j] ?? '');
  const step = (i: number, j: number): boolean => {
    if (i === p.length) return j === s.length;
    if (p[i] === '*') return at(i + 1, j) || (wild(j) && at(i, j + 1));
    if (p[i] === '?') return wild(j) && at(i + 1, j + 1);
    return j < s.length && p[i] === s[j] && at(i + 1, j + 1);
  };
  const at = (i: number, j: number): boolean => {
    const key = i * (s.length + 1) + j;
    let r = memo.get(key);
    if (r === undefined) {
      r = step(i, j);
      memo.set(key, r);
    }
    return r;
  };
  return at(0, 0);
}

/** The regular expression the operator used before; only for short inputs. */
function legacyMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

// A small alphabet makes matches likely; regex specials and line terminators check escaping.
const CHARS = ['a', 'b', '-', '.', '*', '?', '\\', '$', '(', '[', '\n', '\u2028', '\uD83D'];
const patternArb = fc.array(fc.constantFrom(...CHARS), { maxLength: 14 }).map((a) => a.join(''));
const nameArb = fc
  .array(fc.constantFrom(...CHARS.filter((c) => c !== '*' && c !== '?'), 'x'), { maxLength: 14 })
  .map((a) => a.join(''));

describe('globMatch', () => {
  it('matches whole names with * and ?', () => {
    expect(globMatch('logs-*', 'logs-2026')).toBe(true);
    expect(globMatch('logs-?', 'logs-1')).toBe(true);
    expect(globMatch('logs-?', 'logs-10')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('?', '')).toBe(false);
    expect(globMatch('a*b*c', 'abxxbc')).toBe(true);
    expect(globMatch('a*b*c', 'abxxbcd')).toBe(false);
    expect(globMatch('*.tmp', 'x.tmp.tmp')).toBe(true);
    expect(globMatch('\\*', '\\x')).toBe(true); // no escapes: the backslash is literal
  });

  it('never lets a wildcard match a line terminator, as the regular expression did', () => {
    expect(globMatch('a*b', 'a\nb')).toBe(false);
    expect(globMatch('a?b', 'a\rb')).toBe(false);
    expect(globMatch('a*\n*b', 'ax\nyb')).toBe(true);
    expect(globMatch('a\n*', 'a\u2028x')).toBe(false);
  });

  it('answers a pattern of many stars without backtracking over them', () => {
    // The regular expression took 152 s on this one. Measured here (tsx, 2 cores, 2026-12-07):
    // 1 µs; the slowest shape found, '*' + 30 'a' + 'b' against 63 'a', 7 µs.
    expect(globMatch('*a'.repeat(12) + '*b', 'a'.repeat(63))).toBe(false);
    expect(globMatch('*a'.repeat(12) + '*b', 'a'.repeat(62) + 'b')).toBe(true);
    // The longest pattern the CRD admits against the longest bucket name.
    expect(globMatch('*?'.repeat(127) + '*', 'a'.repeat(63))).toBe(false);
    expect(globMatch('*a'.repeat(31) + '*', 'a'.repeat(63))).toBe(true);
  });

  it('agrees with a reference matcher on random patterns', () => {
    fc.assert(
      fc.property(patternArb, nameArb, (p, s) => globMatch(p, s) === referenceMatch(p, s)),
      { numRuns: 20_000 },
    );
  });

  it('agrees with the regular expression it replaces', () => {
    fc.assert(
      fc.property(patternArb, nameArb, (p, s) => globMatch(p, s) === legacyMatch(p, s)),
      { numRuns: 20_000 },
    );
  });

  it('agrees with the reference when the name is built to match', () => {
    // Names drawn from the pattern itself (wildcards replaced) exercise the true branch.
    const matching = patternArb.chain((p) =>
      fc
        .array(fc.constantFrom('', 'a', 'ab', '.'), { minLength: p.length, maxLength: p.length })
        .map((fill) => {
          let name = '';
          for (let i = 0; i < p.length; i++) {
            const c = p.charAt(i); // code units, as the matcher reads them
            name += c === '*' ? (fill[i] ?? '') : c === '?' ? 'q' : c;
          }
          return [p, name] as const;
        }),
    );
    fc.assert(
      fc.property(matching, ([p, s]) => {
        expect(globMatch(p, s)).toBe(referenceMatch(p, s));
        expect(globMatch(p, s)).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });
});
