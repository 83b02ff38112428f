import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { identityMismatch } from './identity-check.js';

const A = 'sha256:aaaaaaaaaaaaaaaa';
const B = 'sha256:bbbbbbbbbbbbbbbb';
const C = 'sha256:cccccccccccccccc';

describe('identityMismatch', () => {
  it('is undefined when every site holds the declared digest', () => {
    const sites = [
      { name: 'a', digest: A },
      { name: 'b', digest: A },
    ];
    expect(identityMismatch(sites, A)).toBeUndefined();
    expect(identityMismatch(sites)).toBeUndefined();
    expect(identityMismatch([])).toBeUndefined();
  });

  it('names the one site that differs from the declared configuration', () => {
    const m = identityMismatch(
      [
        { name: 'a', digest: A },
        { name: 'b', digest: B },
        { name: 'c', digest: A },
      ],
      A,
    );
    expect(m).toEqual({
      reason: 'IdentityProviderMismatch',
      message:
        'site b has an identity provider configuration other than the declared one (aaaaaaaa; found b bbbbbbbb)',
    });
  });

  it('names every differing site, even when they agree with each other', () => {
    const m = identityMismatch(
      [
        { name: 'a', digest: B },
        { name: 'b', digest: B },
        { name: 'c', digest: A },
      ],
      A,
    );
    expect(m?.message).toBe(
      'sites a and b have an identity provider configuration other than the declared one (aaaaaaaa; found a bbbbbbbb, b bbbbbbbb)',
    );
  });

  it('without a declared digest, names the sites that disagree with the majority', () => {
    const m = identityMismatch([
      { name: 'a', digest: A },
      { name: 'b', digest: A },
      { name: 'c', digest: C },
    ]);
    expect(m?.message).toBe(
      'site c has an identity provider configuration other than a and b (aaaaaaaa; found c cccccccc)',
    );
  });

  it('breaks a tie in favour of the site listed first (the primary)', () => {
    const m = identityMismatch([
      { name: 'p', digest: B },
      { name: 'q', digest: A },
    ]);
    expect(m?.message).toContain('site q has');
  });

  it('does not judge sites whose digest is unknown', () => {
    expect(
      identityMismatch(
        [
          { name: 'a', digest: A },
          { name: 'b', digest: undefined },
        ],
        A,
      ),
    ).toBeUndefined();
    expect(identityMismatch([{ name: 'b', digest: undefined }])).toBeUndefined();
  });

  it('names exactly the sites whose digest is not the declared one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(A, B, C, undefined), { minLength: 1, maxLength: 8 }),
        (digests) => {
          const sites = digests.map((digest, i) => ({ name: `s${i}`, digest }));
          const m = identityMismatch(sites, A);
          const odd = sites.filter((s) => s.digest !== undefined && s.digest !== A);
          expect(m === undefined).toBe(odd.length === 0);
          for (const s of sites) {
            const named = new RegExp(`\\b${s.name} [bc]{8}\\b`).test(m?.message ?? '');
            expect(named).toBe(odd.includes(s));
          }
        },
      ),
    );
  });
});
