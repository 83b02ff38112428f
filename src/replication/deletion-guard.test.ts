import { describe, expect, it } from '@jest/globals';

import { deletionBound, deletionPlanDigest, guardDeletions } from './deletion-guard.js';

const settings = { maxCount: 10, maxPercent: 10 };
const wave = (n: number, voters: string[]) =>
  Array.from({ length: n }, (_, i) => ({ key: `user:u${i}`, voters }));

describe('deletionBound', () => {
  it('is the larger of maxCount and maxPercent of the agreed entities, rounded up', () => {
    expect(deletionBound(settings, 0)).toBe(10);
    expect(deletionBound(settings, 1000)).toBe(100);
    expect(deletionBound({ maxCount: 0, maxPercent: 10 }, 15)).toBe(2);
    expect(deletionBound({ maxCount: 0, maxPercent: 0 }, 15)).toBe(0);
  });
});

describe('guardDeletions', () => {
  it('holds more minority-driven deletions than the bound, naming the sites', () => {
    const v = guardDeletions(wave(11, ['b']), { joined: 3, agreedEntities: 50, settings });
    expect(v.held).toMatchObject({ drivenBy: ['b'], bound: 10 });
    expect(v.held?.keys).toHaveLength(11);
    expect(v.held?.digest).toMatch(/^[0-9a-f]{16}$/);
  });

  it('lets the bound itself through, and anything a strict majority drives', () => {
    expect(guardDeletions(wave(10, ['b']), { joined: 3, agreedEntities: 50, settings })).toEqual(
      {},
    );
    const majority = wave(40, ['a', 'b']);
    expect(guardDeletions(majority, { joined: 3, agreedEntities: 50, settings })).toEqual({});
    // Half is not a majority: 2 of 4.
    const half = guardDeletions(majority, { joined: 4, agreedEntities: 50, settings });
    expect(half.held?.drivenBy).toEqual(['a', 'b']);
  });

  it('an approval carries out exactly that plan', () => {
    const ctx = { joined: 3, agreedEntities: 50, settings };
    const held = guardDeletions(wave(20, ['c']), ctx).held;
    const approved = { ...ctx, settings: { ...settings, approved: held?.digest } };
    expect(guardDeletions(wave(20, ['c']), approved).approved?.digest).toBe(held?.digest);
    expect(guardDeletions(wave(21, ['c']), approved).held).toBeDefined();
    expect(guardDeletions(wave(20, ['b']), approved).held).toBeDefined();
  });

  it('digests the plan whatever the order', () => {
    expect(deletionPlanDigest(['b', 'a'], ['y', 'x'])).toBe(
      deletionPlanDigest(['a', 'b'], ['x', 'y']),
    );
    expect(deletionPlanDigest(['a'], ['x'])).not.toBe(deletionPlanDigest(['a'], ['y']));
  });
});
