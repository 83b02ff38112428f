import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { setCondition } from './conditions.js';
import { TerminalError } from './errors.js';
import {
  MAX_CONDITION_MESSAGE,
  bounded,
  describeError,
  joinBounded,
  loggableError,
} from './messages.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY';

/** An IAM export's users file with the secret key left unquoted. */
const malformed = `{"alice":{"status":"enabled","secretKey":${SECRET}}}`;

/** The error JSON.parse raises on an IAM export with a bad token right after a secret key. */
function parseFailure(): unknown {
  try {
    JSON.parse(malformed);
  } catch (e: unknown) {
    return e;
  }
  throw new Error('expected a parse error');
}

/** Every substring of `s` of `n` characters. */
const pieces = (s: string, n: number) =>
  Array.from({ length: s.length - n + 1 }, (_, i) => s.slice(i, i + n));

describe('describeError', () => {
  it('withholds the text of a runtime error that quotes its input, naming only its class', () => {
    const e = parseFailure();
    // The runtime's own message quotes the secret: that is what must not pass.
    expect((e as Error).message).toContain(SECRET.slice(0, 6));
    for (const text of [describeError(e), loggableError(e)]) {
      expect(text).toMatch(/^unexpected SyntaxError/);
      expect(pieces(SECRET, 5).filter((p) => text.includes(p))).toEqual([]);
    }
  });

  it('keeps the messages the operator wrote', () => {
    expect(describeError(new TerminalError('InvalidSpec', 'spec.sites: too few'))).toBe(
      'spec.sites: too few',
    );
    expect(describeError(new Error('no agreed state'))).toBe('no agreed state');
    expect(describeError(new TypeError('x is undefined'))).toMatch(/^unexpected TypeError/);
    expect(describeError('a string')).toMatch(/not an Error/);
  });
});

describe('bounded / joinBounded', () => {
  it('cuts to the bound and says how much was cut', () => {
    expect(bounded('short', 10)).toBe('short');
    const cut = bounded('x'.repeat(40_000), 1024);
    expect(cut.length).toBeLessThanOrEqual(1024);
    expect(cut).toMatch(/… \(\d+ more characters\)$/);
  });

  it('never exceeds the bound, nor splits a surrogate pair (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.nat(200), (s, extra) => {
        const max = 40 + extra;
        const out = bounded(s, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(out.isWellFormed()).toBe(true);
      }),
    );
  });

  it('joins whole parts first, then says how many more were left out', () => {
    const parts = Array.from({ length: 20 }, (_, i) => `site-${String(i)}: ${'e'.repeat(40_000)}`);
    const out = joinBounded(parts);
    expect(out.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE);
    expect(out).toMatch(/^site-0: e+… \(\d+ more characters\); site-1: /);
    expect(out).toMatch(/; and \d+ more$/);
    expect(joinBounded(['a', 'b'])).toBe('a; b');
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 3000 }), { maxLength: 30 }), (ps) => {
        expect(joinBounded(ps).length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE);
      }),
    );
  });

  it('bounds every condition message, so a status patch never fails for its size', () => {
    const [c] = setCondition(
      [],
      { type: 'Degraded', status: 'True', reason: 'SiteError', message: 'z'.repeat(40_000) },
      new Date(0),
    );
    expect(c?.message.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE);
  });
});
