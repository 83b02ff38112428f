import { describe, expect, it } from '@jest/globals';

import { sumProgress } from './progress.js';

describe('sumProgress', () => {
  it('sums the counts and takes the longest lag of the buckets whose lag is known', () => {
    expect(
      sumProgress([
        { pending: 2, replicated: 10, failed: 1, bytes: 100, lagSeconds: 40 },
        { pending: 0, replicated: 5, failed: 0, bytes: 50, lagSeconds: 0 },
        { pending: 3, replicated: 0, failed: 0, bytes: 0 },
      ]),
    ).toEqual({ pending: 5, replicated: 15, failed: 1, bytes: 150, lagSeconds: 40 });
  });

  it('leaves the lag unknown when no bucket knows it, and is zero for no buckets', () => {
    expect(sumProgress([{ pending: 1, replicated: 0, failed: 0, bytes: 0 }])).toEqual({
      pending: 1,
      replicated: 0,
      failed: 0,
      bytes: 0,
    });
    expect(sumProgress([])).toEqual({ pending: 0, replicated: 0, failed: 0, bytes: 0 });
  });
});
