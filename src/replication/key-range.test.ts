import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { compareKeys, inRange, splitKeyRange } from './key-range.js';

describe('key ranges', () => {
  it('are (after, until]', () => {
    expect(inRange('b', { after: 'a', until: 'b' })).toBe(true);
    expect(inRange('a', { after: 'a', until: 'b' })).toBe(false);
    expect(inRange('ba', { after: 'a', until: 'b' })).toBe(false);
    expect(inRange('anything', {})).toBe(true);
  });

  it('split a bucket so that every key is in exactly one range', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string(), { maxLength: 60 }),
        fc.integer({ min: 1, max: 9 }),
        (keys, parts) => {
          const sorted = [...keys].sort(compareKeys);
          const ranges = splitKeyRange(sorted, parts);
          expect(ranges.length).toBeLessThanOrEqual(Math.max(1, parts));
          for (const k of sorted) expect(ranges.filter((r) => inRange(k, r))).toHaveLength(1);
        },
      ),
    );
  });
});
